// Connection and server commands: PING ECHO HELLO SELECT QUIT RESET TIME COMMAND
// CLIENT INFO CONFIG. Values that legitimately differ between servers (ids, versions,
// command counts) are checked by shape; everything else is Redis 7 byte for byte.

import t from 'tap';
import { isRedis, useTarget } from '../helpers/cluster.js';
import { RespClient, err, expectReplies, rawSend, type RespValue } from '../helpers/run.js';

const { target, run, runRaw } = await useTarget(t);

const arity = (cmd: string) => err(`ERR wrong number of arguments for '${cmd}' command`);

/** A fresh connection for tests that change connection state; closed in teardown. */
async function fresh(tt: { teardown(fn: () => unknown): void }): Promise<RespClient> {
  const c = await RespClient.connect(target.port);
  tt.teardown(() => c.close());
  return c;
}

/** Flat RESP2 key/value array → object. */
function pairs(v: RespValue): Record<string, RespValue> {
  const out: Record<string, RespValue> = {};
  if (!Array.isArray(v)) return out;
  for (let i = 0; i + 1 < v.length; i += 2) out[String(v[i])] = v[i + 1] ?? null;
  return out;
}

t.test('PING ECHO', async (t) => {
  t.equal((await runRaw(['PING'])).toString(), '+PONG\r\n');
  t.equal((await runRaw(['PING', 'hi'])).toString(), '$2\r\nhi\r\n');
  t.equal((await runRaw(['ECHO', 'x y'])).toString(), '$3\r\nx y\r\n');
  t.equal((await runRaw(['ECHO', ''])).toString(), '$0\r\n\r\n');
  await expectReplies(t, run, [
    [['ping'], 'PONG'],
    [['PiNg', 'a'], 'a'],
    [['PING', 'a', 'b'], arity('ping')],
    [['ECHO'], arity('echo')],
    [['ECHO', 'a', 'b'], arity('echo')],
  ]);
});

t.test('HELLO 2 and HELLO 3', async (t) => {
  const c = await fresh(t);
  const h2 = await c.run(['HELLO', '2']);
  t.ok(Array.isArray(h2) && h2.length === 14, 'HELLO 2 is a flat array of 7 pairs');
  const m2 = pairs(h2);
  t.same(Object.keys(m2), ['server', 'version', 'proto', 'id', 'mode', 'role', 'modules']);
  t.equal(m2['proto'], 2);
  t.equal(m2['role'], 'master');
  t.type(m2['id'], 'number');
  t.type(m2['version'], 'string');
  t.same(m2['modules'], []);

  const h3 = await c.run(['HELLO', '3', 'SETNAME', 'conn3']);
  t.ok(h3 instanceof Map, 'HELLO 3 replies with a RESP3 map');
  if (h3 instanceof Map) {
    t.same([...h3.keys()], ['server', 'version', 'proto', 'id', 'mode', 'role', 'modules']);
    t.equal(h3.get('proto'), 3);
  }
  t.equal((await c.runRaw(['GET', 'hello:missing'])).toString(), '_\r\n', 'RESP3 null');
  t.equal((await c.runRaw(['CONFIG', 'GET', 'appendonly'])).toString(), '%1\r\n$10\r\nappendonly\r\n$2\r\nno\r\n', 'RESP3 map');
  t.equal(await c.run(['CLIENT', 'GETNAME']), 'conn3');
  t.equal((await c.runRaw(['SET', 'hello:k', 'v'])).toString(), '+OK\r\n');
  t.equal((await c.runRaw(['INCR', 'hello:n'])).toString(), ':1\r\n');

  t.ok(Array.isArray(await c.run(['HELLO', '2'])), 'back to RESP2');
  t.equal((await c.runRaw(['GET', 'hello:missing'])).toString(), '$-1\r\n');
  t.ok(Array.isArray(await c.run(['HELLO'])), 'HELLO without a version keeps the protocol');

  await expectReplies(t, c.run.bind(c), [
    [['HELLO', '4'], err('NOPROTO unsupported protocol version')],
    [['HELLO', '1'], err('NOPROTO unsupported protocol version')],
    [['HELLO', 'abc'], err('ERR Protocol version is not an integer or out of range')],
    [['HELLO', '2', 'FOO'], err("ERR Syntax error in HELLO option 'FOO'")],
    // No password is configured: the default user takes any password, other users none.
    [['HELLO', '2', 'AUTH', 'nosuchuser', 'pw'], err('WRONGPASS invalid username-password pair or user is disabled.')],
    [['HELLO', '2', 'SETNAME'], err("ERR Syntax error in HELLO option 'SETNAME'")],
  ]);
  t.equal((await c.runRaw(['GET', 'hello:missing'])).toString(), '$-1\r\n', 'failed HELLO leaves RESP2');
});

t.test('SELECT', async (t) => {
  await expectReplies(t, run, [
    [['SELECT', '0'], 'OK'],
    [['SELECT', 'abc'], err('ERR value is not an integer or out of range')],
    [['SELECT', '-1'], err('ERR DB index is out of range')],
    [['SELECT', '99'], err('ERR DB index is out of range')],
    [['SELECT'], arity('select')],
  ]);
});

t.test('QUIT replies +OK and closes', async (t) => {
  const r = await rawSend(target.port, '*1\r\n$4\r\nQUIT\r\n');
  t.equal(r.data.toString(), '+OK\r\n');
  t.equal(r.closed, true, 'connection closed by the server');
  t.equal(await run(['PING']), 'PONG', 'other connections unaffected');
});

t.test('RESET', async (t) => {
  const c = await fresh(t);
  await c.run(['CLIENT', 'SETNAME', 'before-reset']);
  await c.run(['HELLO', '3']);
  t.equal((await c.runRaw(['RESET'])).toString(), '+RESET\r\n');
  t.equal(await c.run(['CLIENT', 'GETNAME']), null, 'name cleared');
  t.equal((await c.runRaw(['GET', 'reset:missing'])).toString(), '$-1\r\n', 'back to RESP2');
  t.equal(await c.run(['PING']), 'PONG');
});

t.test('TIME', async (t) => {
  const reply = await run(['TIME']);
  t.ok(Array.isArray(reply) && reply.length === 2, 'two elements');
  const [s, us] = Array.isArray(reply) ? reply : [];
  t.ok(typeof s === 'string' && /^\d+$/.test(s), 'seconds is a bulk string of digits');
  t.ok(typeof us === 'string' && /^\d+$/.test(us) && Number(us) < 1_000_000, 'microseconds < 1e6');
  t.ok(Math.abs(Number(s) - Date.now() / 1000) < 5, 'seconds close to now');
  t.same(await run(['TIME', 'x']), arity('time'));
});

t.test('COMMAND COUNT INFO DOCS GETKEYS', async (t) => {
  const count = await run(['COMMAND', 'COUNT']);
  t.ok(typeof count === 'number' && count > 20, `COMMAND COUNT ${String(count)}`);
  const info = await run(['COMMAND', 'INFO', 'get', 'SET', 'nosuch']);
  t.ok(Array.isArray(info) && info.length === 3, 'one entry per name');
  if (Array.isArray(info)) {
    const [get, set, none] = info as RespValue[][];
    t.same(get?.slice(0, 7), ['get', 2, ['readonly', 'fast'], 1, 1, 1, ['@read', '@string', '@fast']]);
    t.same(set?.slice(0, 7), ['set', -3, ['write', 'denyoom'], 1, 1, 1, ['@write', '@string', '@slow']]);
    t.equal(none, null);
  }
  const docs = await run(['COMMAND', 'DOCS', 'get']);
  t.ok(Array.isArray(docs) && docs[0] === 'get', 'COMMAND DOCS get names the command');
  if (Array.isArray(docs)) {
    const doc = pairs(docs[1] ?? null);
    // Redis 7.0 wording, or 7.2+ wording.
    t.match(String(doc['summary']), /^(Get the value of a key|Returns the string value of a key\.)$/);
    t.equal(doc['group'], 'string');
    t.equal(doc['since'], '1.0.0');
  }
  await expectReplies(t, run, [
    [['COMMAND', 'GETKEYS', 'SET', 'a', 'b'], ['a']],
    [['COMMAND', 'GETKEYS', 'MSET', 'a', '1', 'b', '2'], ['a', 'b']],
    [['COMMAND', 'GETKEYS', 'LCS', 'a', 'b'], ['a', 'b']],
    [['COMMAND', 'GETKEYS', 'COPY', 'a', 'b', 'REPLACE'], ['a', 'b']],
    [['COMMAND', 'GETKEYS', 'SET', 'a'], err('ERR Invalid number of arguments specified for command')],
    [['COMMAND', 'GETKEYS', 'nosuch', 'a'], err('ERR Invalid command specified')],
    [['COMMAND', 'GETKEYS', 'GET'], err("ERR wrong number of arguments for 'command|getkeys' command")],
    [['COMMAND', 'FOO'], err("ERR unknown subcommand 'FOO'. Try COMMAND HELP.")],
  ]);
});

t.test('CLIENT SETNAME GETNAME ID INFO', async (t) => {
  const c = await fresh(t);
  const r = c.run.bind(c);
  const id = await r(['CLIENT', 'ID']);
  t.type(id, 'number');
  await expectReplies(t, r, [
    [['CLIENT', 'GETNAME'], null],
    [['CLIENT', 'SETNAME', 'tester'], 'OK'],
    [['CLIENT', 'GETNAME'], 'tester'],
    [['CLIENT', 'SETNAME', 'a b'], err('ERR Client names cannot contain spaces, newlines or special characters.')],
    [['CLIENT', 'SETNAME', 'a\nb'], err('ERR Client names cannot contain spaces, newlines or special characters.')],
    [['CLIENT', 'GETNAME'], 'tester'],
    [['CLIENT', 'SETNAME'], arity('client|setname')],
    [['CLIENT', 'FOO'], err("ERR unknown subcommand 'FOO'. Try CLIENT HELP.")],
  ]);
  const info = await r(['CLIENT', 'INFO']);
  t.type(info, 'string');
  const line = String(info);
  t.match(line, new RegExp(`^id=${String(id)} `), 'CLIENT INFO starts with the CLIENT ID');
  t.match(line, / name=tester /);
  t.match(line, / db=0 /);
  t.match(line, / resp=2/);
  t.ok(line.endsWith('\n'), 'ends with a newline');
  await expectReplies(t, r, [
    [['CLIENT', 'SETNAME', ''], 'OK'],
    [['CLIENT', 'GETNAME'], null],
  ]);
  t.not(await run(['CLIENT', 'ID']), id, 'ids differ per connection');
});

t.test('CLIENT SETINFO (Redis 7.2)', async (t) => {
  const c = await fresh(t);
  const first = await c.run(['CLIENT', 'SETINFO', 'lib-name', 'shoal-tests']);
  if (isRedis && typeof first === 'object' && first !== null && 'error' in first && /unknown subcommand 'SETINFO'/.test(first.error)) {
    t.plan(0, 'this redis-server predates CLIENT SETINFO (7.2)');
    return;
  }
  t.equal(first, 'OK');
  await expectReplies(t, c.run.bind(c), [
    [['CLIENT', 'SETINFO', 'LIB-VER', '1.2.3'], 'OK'],
    [['CLIENT', 'SETINFO', 'lib-name', 'a b'], err('ERR lib-name cannot contain spaces, newlines or special characters.')],
    [['CLIENT', 'SETINFO', 'nosuch', 'x'], err("ERR Unrecognized option 'nosuch'")],
  ]);
  const line = String(await c.run(['CLIENT', 'INFO']));
  t.match(line, / lib-name=shoal-tests /);
  t.match(line, / lib-ver=1\.2\.3/);
});

t.test('INFO sections', async (t) => {
  await run(['FLUSHALL']);
  t.equal(await run(['INFO', 'keyspace']), '# Keyspace\r\n', 'empty keyspace section');
  await run(['MSET', 'i:a', '1', 'i:b', '2']);
  await run(['SET', 'i:c', '3', 'EX', '100']);
  t.match(String(await run(['INFO', 'keyspace'])), /^# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=\d+\r\n$/);
  const all = String(await run(['INFO']));
  for (const section of ['Server', 'Clients', 'Memory', 'Persistence', 'Stats', 'Replication', 'CPU', 'Keyspace']) {
    t.match(all, new RegExp(`# ${section}\r\n`), `INFO has # ${section}`);
  }
  const server = String(await run(['INFO', 'server']));
  t.match(server, /^# Server\r\n/);
  t.match(server, /\r\nredis_version:\d+\.\d+\.\d+\r\n/);
  t.match(server, /\r\ntcp_port:\d+\r\n/);
  t.notMatch(server, /# Clients/);
  const two = String(await run(['INFO', 'clients', 'memory']));
  t.match(two, /^# Clients\r\nconnected_clients:\d+\r\n/);
  t.match(two, /\r\n# Memory\r\nused_memory:\d+\r\n/);
  t.match(String(await run(['INFO', 'stats'])), /\r\ntotal_commands_processed:\d+\r\n/);
  t.equal(await run(['INFO', 'nosuch']), '');
});

t.test('CONFIG GET SET', async (t) => {
  await expectReplies(t, run, [
    [['CONFIG', 'SET', 'save', ''], 'OK'],
    [['CONFIG', 'GET', 'save'], ['save', '']],
    // Redis lets a redis-server without persistence turn it on; so does Shoal (docs/persistence.md).
    ...(isRedis
      ? ([
        [['CONFIG', 'SET', 'save', '900 1 300 10'], 'OK'],
        [['CONFIG', 'GET', 'save'], ['save', '900 1 300 10']],
        [['CONFIG', 'SET', 'save', ''], 'OK'],
        [['CONFIG', 'GET', 'appendonly'], ['appendonly', 'no']],
        [['CONFIG', 'SET', 'appendonly', 'yes'], 'OK'],
        [['CONFIG', 'GET', 'appendonly'], ['appendonly', 'yes']],
      ] as const)
      : ([
        // Snapshots exist (docs/persistence.md): as Redis.
        [['CONFIG', 'SET', 'save', '900 1 300 10'], 'OK'],
        [['CONFIG', 'GET', 'save'], ['save', '900 1 300 10']],
        [['CONFIG', 'SET', 'save', ''], 'OK'],
        // The append-only log exists (docs/persistence.md): as Redis.
        [['CONFIG', 'SET', 'appendonly', 'yes'], 'OK'],
        [['CONFIG', 'GET', 'appendonly'], ['appendonly', 'yes']],
      ] as const)),
    [['CONFIG', 'SET', 'appendonly', 'no'], 'OK'],
    [['CONFIG', 'GET', 'appendonly'], ['appendonly', 'no']],
    [['CONFIG', 'GET', 'appendonl?'], ['appendonly', 'no']],
    [['CONFIG', 'SET', 'maxmemory', '10mb'], 'OK'],
    [['CONFIG', 'GET', 'maxmemory'], ['maxmemory', '10485760']],
    [['CONFIG', 'SET', 'maxmemory', '0', 'appendonly', 'no'], 'OK'],
    [['CONFIG', 'GET', 'maxmemory'], ['maxmemory', '0']],
    [['CONFIG', 'GET', 'nosuch'], []],
    [
      ['CONFIG', 'SET', 'appendonly', 'maybe'],
      err("ERR CONFIG SET failed (possibly related to argument 'appendonly') - argument must be 'yes' or 'no'"),
    ],
    [['CONFIG', 'SET', 'save', 'abc'], err("ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters")],
    [['CONFIG', 'SET', 'nosuch', '1'], err("ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'")],
    [
      ['CONFIG', 'SET', 'maxmemory', '0', 'maxmemory', '1'],
      err("ERR CONFIG SET failed (possibly related to argument 'maxmemory') - duplicate parameter"),
    ],
    [['CONFIG', 'SET', 'maxmemory'], arity('config|set')],
    [['CONFIG', 'GET'], arity('config|get')],
    [['CONFIG', 'FOO'], err("ERR unknown subcommand 'FOO'. Try CONFIG HELP.")],
  ]);
  const bulk = await run(['CONFIG', 'GET', 'proto-max-bulk-len']);
  t.same(bulk, ['proto-max-bulk-len', '536870912']);
});
