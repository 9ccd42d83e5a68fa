// CLIENT through the proxy, checked against Redis 7: reply shapes, exact errors, KILL
// filters, PAUSE (WRITE lets reads through and holds writes until UNPAUSE or the
// timeout; ALL holds everything), REPLY OFF/SKIP, NO-EVICT, and INFO clients.
// Redis 7.2+ additions Shoal has (SETINFO, NO-TOUCH, KILL MAXAGE) are checked on
// Shoal only. Several proxy processes: test/integration/multi-process.test.ts.

import t from 'tap';
import { useTarget, isShoal } from '../helpers/cluster.js';
import { RespClient, expectReplies, err, info, pollUntil, rawSend, sleep } from '../helpers/run.js';

const { target } = await useTarget(t);
const port = target.port;

/** A connection closed when test `tt` ends. */
async function open(tt: { teardown(fn: () => unknown): void }): Promise<RespClient> {
  const c = await RespClient.connect(port);
  tt.teardown(() => c.close());
  return c;
}

/** Redis 7.0's CLIENT LIST fields, in order (Shoal appends 7.2's lib-name lib-ver). */
const FIELDS = ['id', 'addr', 'laddr', 'fd', 'name', 'age', 'idle', 'flags', 'db', 'sub', 'psub', 'ssub', 'multi', 'qbuf', 'qbuf-free',
  'argv-mem', 'multi-mem', 'rbs', 'rbp', 'obl', 'oll', 'omem', 'tot-mem', 'events', 'cmd', 'user', 'redir', 'resp'];

function fields(line: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const kv of line.trim().split(' ')) {
    const eq = kv.indexOf('=');
    m.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  return m;
}

function lines(reply: unknown): string[] {
  return typeof reply === 'string' ? reply.split('\n').filter((l) => l !== '') : [];
}

t.test('ID, INFO, SETNAME, GETNAME: shapes and errors', async (t) => {
  const c = await open(t);
  const id = await c.run(['CLIENT', 'ID']);
  t.type(id, 'number');
  const infoLine = (await c.run(['CLIENT', 'INFO'])) as string;
  t.ok(infoLine.endsWith('\n'), 'CLIENT INFO ends with a newline');
  const f = fields(infoLine);
  t.same([...f.keys()].slice(0, FIELDS.length), FIELDS, 'Redis 7 fields in order');
  t.equal(f.get('id'), String(id));
  t.equal(f.get('cmd'), 'client|info');
  t.equal(f.get('flags'), 'N');
  t.equal(f.get('user'), 'default');
  t.equal(f.get('laddr')?.endsWith(`:${port}`), true, 'laddr is the client port');
  await expectReplies(t, c.run.bind(c), [
    [['CLIENT', 'GETNAME'], null],
    [['CLIENT', 'SETNAME', 'worker-1'], 'OK'],
    [['CLIENT', 'GETNAME'], 'worker-1'],
    [['CLIENT', 'SETNAME', 'a b'], err('ERR Client names cannot contain spaces, newlines or special characters.')],
    [['CLIENT', 'SETNAME'], err("ERR wrong number of arguments for 'client|setname' command")],
    [['CLIENT', 'GETNAME', 'x'], err("ERR wrong number of arguments for 'client|getname' command")],
    [['CLIENT', 'ID', 'x'], err("ERR wrong number of arguments for 'client|id' command")],
    [['CLIENT', 'INFO', 'x'], err("ERR wrong number of arguments for 'client|info' command")],
    [['CLIENT', 'UNPAUSE', 'x'], err("ERR wrong number of arguments for 'client|unpause' command")],
    [['CLIENT', 'HELP', 'x'], err("ERR wrong number of arguments for 'client|help' command")],
    [['CLIENT', 'FOO'], err("ERR unknown subcommand 'FOO'. Try CLIENT HELP.")],
    [['CLIENT'], err("ERR wrong number of arguments for 'client' command")],
    [['CLIENT', 'REPLY'], err("ERR wrong number of arguments for 'client|reply' command")],
    [['CLIENT', 'REPLY', 'maybe'], err('ERR syntax error')],
    [['CLIENT', 'NO-EVICT'], err("ERR wrong number of arguments for 'client|no-evict' command")],
    [['CLIENT', 'NO-EVICT', 'maybe'], err('ERR syntax error')],
    [['CLIENT', 'NO-EVICT', 'on'], 'OK'],
  ]);
  t.equal(fields((await c.run(['CLIENT', 'INFO'])) as string).get('flags'), 'e', 'NO-EVICT shows flag e');
  t.equal(await c.run(['CLIENT', 'NO-EVICT', 'off']), 'OK');
  t.equal(fields((await c.run(['CLIENT', 'INFO'])) as string).get('name'), 'worker-1');
  const help = await c.run(['CLIENT', 'HELP']);
  t.ok(Array.isArray(help) && help.every((l) => typeof l === 'string'), 'HELP is an array of strings');
  t.equal((help as string[])[0], 'CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:');
  t.ok((help as string[]).some((l) => l.startsWith('PAUSE <timeout>')), 'HELP lists PAUSE');
});

t.test('Redis 7.2 additions (Shoal): SETINFO, NO-TOUCH', { skip: !isShoal && 'Redis 7.0 lacks them' }, async (t) => {
  const c = await open(t);
  await expectReplies(t, c.run.bind(c), [
    [['CLIENT', 'SETINFO', 'LIB-NAME', 'mylib'], 'OK'],
    [['CLIENT', 'SETINFO', 'lib-ver', '1.2.3'], 'OK'],
    [['CLIENT', 'SETINFO', 'lib-name', 'a b'], err('ERR lib-name cannot contain spaces, newlines or special characters.')],
    [['CLIENT', 'SETINFO', 'foo', 'bar'], err("ERR Unrecognized option 'foo'")],
    [['CLIENT', 'SETINFO', 'lib-name'], err("ERR wrong number of arguments for 'client|setinfo' command")],
    [['CLIENT', 'NO-TOUCH', 'on'], 'OK'],
    [['CLIENT', 'NO-TOUCH', 'maybe'], err('ERR syntax error')],
  ]);
  const f = fields((await c.run(['CLIENT', 'INFO'])) as string);
  t.equal(f.get('lib-name'), 'mylib');
  t.equal(f.get('lib-ver'), '1.2.3');
  t.equal(f.get('flags'), 'T', 'NO-TOUCH shows flag T');
});

t.test('NO-TOUCH (Shoal): reads leave LFU counters alone, TOUCH still counts', { skip: !isShoal && 'Redis 7.0 lacks it' }, async (t) => {
  const c = await open(t);
  const freq = async (k: string): Promise<unknown> => c.run(['OBJECT', 'FREQ', k]);
  await c.run(['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lfu']);
  try {
    await c.run(['MSET', 'nt:a', '1', 'nt:b', '2', 'nt:c', '3']);
    t.equal(await freq('nt:a'), 5, 'a new key starts at LFU_INIT_VAL');
    t.equal(await c.run(['CLIENT', 'NO-TOUCH', 'on']), 'OK');
    for (let i = 0; i < 3; i++) t.equal(await c.run(['GET', 'nt:a']), '1');
    t.same(await c.run(['MGET', 'nt:a', 'nt:b']), ['1', '2'], 'MGET split over workers');
    t.equal(await freq('nt:a'), 5, 'GET and MGET did not count');
    t.equal(await freq('nt:b'), 5);
    t.equal(await c.run(['TOUCH', 'nt:c']), 1);
    t.equal(await freq('nt:c'), 6, 'TOUCH counts even with NO-TOUCH on');
    t.equal(await c.run(['CLIENT', 'NO-TOUCH', 'off']), 'OK');
    t.equal(await c.run(['GET', 'nt:a']), '1');
    t.equal(await freq('nt:a'), 6, 'a read counts again');
  } finally {
    await c.run(['CONFIG', 'SET', 'maxmemory-policy', 'noeviction']);
  }
});

t.test('LIST: every connection, TYPE and ID filters, errors', async (t) => {
  const a = await open(t);
  const b = await open(t);
  const [ida, idb] = [await a.run(['CLIENT', 'ID']), await b.run(['CLIENT', 'ID'])];
  const all = lines(await a.run(['CLIENT', 'LIST']));
  const ids = all.map((l) => fields(l).get('id'));
  t.ok(ids.includes(String(ida)) && ids.includes(String(idb)), 'both connections listed');
  const mine = all.find((l) => fields(l).get('id') === String(ida))!;
  t.equal(fields(mine).get('cmd'), 'client|list', "the caller's own line shows CLIENT LIST");
  t.same(lines(await a.run(['CLIENT', 'LIST', 'TYPE', 'normal'])).length, all.length, 'TYPE normal: all of them');
  t.equal(await a.run(['CLIENT', 'LIST', 'TYPE', 'pubsub']), '', 'TYPE pubsub: none');
  t.equal(await a.run(['CLIENT', 'LIST', 'TYPE', 'master']), '');
  const byId = lines(await a.run(['CLIENT', 'LIST', 'ID', String(idb), '999999', String(ida)]));
  t.same(byId.map((l) => fields(l).get('id')), [String(idb), String(ida)], 'ID: the known ids, in the order asked');
  await expectReplies(t, a.run.bind(a), [
    [['CLIENT', 'LIST', 'TYPE', 'foo'], err("ERR Unknown client type 'foo'")],
    [['CLIENT', 'LIST', 'ID', 'abc'], err('ERR Invalid client ID')],
    [['CLIENT', 'LIST', 'ID', '1', 'abc'], err('ERR Invalid client ID')],
    [['CLIENT', 'LIST', 'ID'], err('ERR syntax error')],
    [['CLIENT', 'LIST', 'foo'], err('ERR syntax error')],
    [['CLIENT', 'LIST', 'TYPE', 'normal', 'x'], err('ERR syntax error')],
  ]);
});

t.test('KILL: old form, filters, SKIPME, errors', async (t) => {
  const k = await open(t);
  await expectReplies(t, k.run.bind(k), [
    [['CLIENT', 'KILL'], err("ERR wrong number of arguments for 'client|kill' command")],
    [['CLIENT', 'KILL', '1.2.3.4:5'], err('ERR No such client')],
    [['CLIENT', 'KILL', 'id'], err('ERR No such client')],
    [['CLIENT', 'KILL', 'ID', '0'], err('ERR client-id should be greater than 0')],
    [['CLIENT', 'KILL', 'ID', 'abc'], err('ERR client-id should be greater than 0')],
    [['CLIENT', 'KILL', 'ID', '999999'], 0],
    [['CLIENT', 'KILL', 'TYPE', 'foo'], err("ERR Unknown client type 'foo'")],
    [['CLIENT', 'KILL', 'USER', 'nobody'], err("ERR No such user 'nobody'")],
    [['CLIENT', 'KILL', 'SKIPME', 'maybe'], err('ERR syntax error')],
    [['CLIENT', 'KILL', 'foo', 'bar'], err('ERR syntax error')],
    [['CLIENT', 'KILL', 'ADDR', '1.1.1.1:1', 'ID'], err('ERR syntax error')],
  ]);
  const myId = await k.run(['CLIENT', 'ID']);

  // Old form by address: +OK, and the victim's connection is gone.
  const v1 = await RespClient.connect(port);
  const addr1 = fields((await v1.run(['CLIENT', 'INFO'])) as string).get('addr')!;
  t.equal(await k.run(['CLIENT', 'KILL', addr1]), 'OK');
  t.ok((await pollUntil(async () => v1.closed, (c) => c, 3000)).ok, 'old-form victim disconnected');

  // ID; ADDR; LADDR + a mismatching filter matches nothing (every filter must match).
  const v2 = await RespClient.connect(port);
  const v3 = await RespClient.connect(port);
  t.teardown(() => Promise.all([v2.close(), v3.close()]));
  const id2 = await v2.run(['CLIENT', 'ID']);
  const f3 = fields((await v3.run(['CLIENT', 'INFO'])) as string);
  t.equal(await k.run(['CLIENT', 'KILL', 'ID', String(id2), 'ADDR', f3.get('addr')!]), 0, 'ID and ADDR of different clients: no match');
  t.equal(await k.run(['CLIENT', 'KILL', 'ID', String(id2)]), 1);
  t.equal(await k.run(['CLIENT', 'KILL', 'ADDR', f3.get('addr')!, 'LADDR', f3.get('laddr')!]), 1);
  t.ok((await pollUntil(async () => v2.closed && v3.closed, (c) => c, 3000)).ok, 'ID and ADDR victims disconnected');

  // SKIPME yes (default) spares the caller; USER default and TYPE normal match the others.
  const v4 = await RespClient.connect(port);
  t.teardown(() => v4.close());
  await v4.run(['PING']);
  t.equal(await k.run(['CLIENT', 'KILL', 'ID', String(myId)]), 0, 'SKIPME yes by default: not myself');
  const others = lines(await k.run(['CLIENT', 'LIST'])).length - 1;
  t.equal(await k.run(['CLIENT', 'KILL', 'TYPE', 'normal', 'USER', 'default']), others, 'every other normal client');
  t.ok((await pollUntil(async () => v4.closed, (c) => c, 3000)).ok);
  t.equal(await k.run(['PING']), 'PONG', 'the caller survives');

  // SKIPME no on itself: the reply arrives, then the connection closes.
  const self = await RespClient.connect(port);
  const selfId = await self.run(['CLIENT', 'ID']);
  t.equal(await self.run(['CLIENT', 'KILL', 'ID', String(selfId), 'SKIPME', 'no']), 1);
  t.ok((await pollUntil(async () => self.closed, (c) => c, 3000)).ok, 'self-kill closes after the reply');
});

t.test('KILL MAXAGE (Redis 7.4, Shoal)', { skip: !isShoal && 'Redis 7.0 lacks MAXAGE' }, async (t) => {
  const k = await open(t);
  const old = await RespClient.connect(port);
  t.teardown(() => old.close());
  await old.run(['PING']);
  t.equal(await k.run(['CLIENT', 'KILL', 'MAXAGE', '3600']), 0, 'nobody is an hour old');
  t.same(await k.run(['CLIENT', 'KILL', 'MAXAGE', 'x']), err('ERR maxage is not an integer or out of range'));
  await sleep(1100);
  const young = await RespClient.connect(port);
  t.teardown(() => young.close());
  await young.run(['PING']);
  // Older than 0 s and that id: only `old` (the young one was not named).
  const n = await k.run(['CLIENT', 'KILL', 'MAXAGE', '0', 'ID', String(await old.run(['CLIENT', 'ID']))]);
  t.equal(n, 1);
  t.ok((await pollUntil(async () => old.closed, (c) => c, 3000)).ok);
  t.equal(young.closed, false, 'the young connection stays');
});

t.test('PAUSE WRITE: reads pass, writes wait for UNPAUSE', async (t) => {
  const admin = await open(t);
  const c = await open(t);
  await c.run(['SET', 'pk', 'v0']);
  t.equal(await admin.run(['CLIENT', 'PAUSE', '10000', 'WRITE']), 'OK');
  t.teardown(() => admin.run(['CLIENT', 'UNPAUSE']).catch(() => undefined));
  const t0 = Date.now();
  t.equal(await c.run(['GET', 'pk'], { timeoutMs: 3000 }), 'v0', 'GET passes under WRITE');
  t.equal(await c.run(['PING'], { timeoutMs: 3000 }), 'PONG');
  t.ok(Date.now() - t0 < 2000, 'reads are not held');
  let setDone = false;
  const set = c.run(['SET', 'pk', 'v1'], { timeoutMs: 10_000 }).then((r) => {
    setDone = true;
    return r;
  });
  await sleep(400);
  t.equal(setDone, false, 'SET is held');
  t.equal(await admin.run(['GET', 'pk']), 'v0', 'not applied while paused');
  t.equal(await admin.run(['CLIENT', 'UNPAUSE']), 'OK');
  t.equal(await set, 'OK', 'SET runs after UNPAUSE');
  t.equal(await admin.run(['GET', 'pk']), 'v1');
});

t.test('PAUSE WRITE holds an EXEC with writes; ALL holds everything until the timeout', async (t) => {
  const admin = await open(t);
  const c = await open(t);
  await expectReplies(t, admin.run.bind(admin), [
    [['CLIENT', 'PAUSE'], err("ERR wrong number of arguments for 'client|pause' command")],
    [['CLIENT', 'PAUSE', 'abc'], err('ERR timeout is not an integer or out of range')],
    [['CLIENT', 'PAUSE', '-1'], err('ERR timeout is negative')],
    [['CLIENT', 'PAUSE', '10', 'foo'], err('ERR CLIENT PAUSE mode must be WRITE or ALL')],
    [['CLIENT', 'PAUSE', '10', 'write', 'x'], err("ERR unknown subcommand or wrong number of arguments for 'PAUSE'. Try CLIENT HELP.")],
    [['CLIENT', 'pause', '10', 'write', 'x'], err("ERR unknown subcommand or wrong number of arguments for 'pause'. Try CLIENT HELP.")],
  ]);
  await sleep(50);
  t.equal(await c.run(['MULTI']), 'OK');
  t.equal(await c.run(['INCR', 'px']), 'QUEUED');
  t.equal(await admin.run(['CLIENT', 'PAUSE', '700', 'WRITE']), 'OK');
  let t0 = Date.now();
  t.same(await c.run(['EXEC'], { timeoutMs: 5000 }), [1]);
  t.ok(Date.now() - t0 >= 500, `EXEC with a write waited for the pause to end (${Date.now() - t0} ms)`);

  t.equal(await admin.run(['CLIENT', 'PAUSE', '700', 'ALL']), 'OK');
  t0 = Date.now();
  t.equal(await c.run(['GET', 'px'], { timeoutMs: 5000 }), '1');
  t.ok(Date.now() - t0 >= 500, `GET waited under ALL (${Date.now() - t0} ms)`);
  t.equal(await c.run(['PING']), 'PONG', 'served again after the timeout');
});

t.test('CLIENT inside MULTI', async (t) => {
  const c = await open(t);
  const id = await c.run(['CLIENT', 'ID']);
  await expectReplies(t, c.run.bind(c), [
    [['MULTI'], 'OK'],
    [['CLIENT', 'ID'], 'QUEUED'],
    [['CLIENT', 'LIST', 'TYPE', 'pubsub'], 'QUEUED'],
    [['CLIENT', 'KILL', 'ID', '999999'], 'QUEUED'],
    [['CLIENT', 'SETNAME', 'in-multi'], 'QUEUED'],
    [['EXEC'], [id, '', 0, 'OK']],
    [['CLIENT', 'GETNAME'], 'in-multi'],
  ]);
});

t.test('REPLY OFF / SKIP / ON', async (t) => {
  const script = [
    'CLIENT REPLY OFF', 'SET a 1', 'GET a', 'NOSUCH', 'CLIENT REPLY ON', 'GET a',
    'CLIENT REPLY SKIP', 'GET a', 'PING',
    'CLIENT REPLY SKIP', 'CLIENT REPLY SKIP', 'PING x', 'PING y',
    'CLIENT REPLY SKIP', 'MGET a b c', 'ECHO end',
  ].map((l) => `${l}\r\n`).join('');
  const { data } = await rawSend(port, script, { quietMs: 500 });
  t.equal(data.toString(), '+OK\r\n$1\r\n1\r\n+PONG\r\n$1\r\ny\r\n$3\r\nend\r\n');
});

t.test('INFO clients: Redis 7.0 fields; connected_clients counts connections', async (t) => {
  // A connection of its own: the KILL test above killed the suite's `run` connection.
  const c = await open(t);
  const run = c.run.bind(c);
  const m = await info(run, 'clients');
  t.same([...m.keys()], ['connected_clients', 'cluster_connections', 'maxclients', 'client_recent_max_input_buffer',
    'client_recent_max_output_buffer', 'blocked_clients', 'tracking_clients', 'clients_in_timeout_table']);
  const before = Number(m.get('connected_clients'));
  const extra = await Promise.all([0, 1, 2].map(() => open(t)));
  for (const c of extra) await c.run(['PING']);
  t.equal(Number((await info(run, 'clients')).get('connected_clients')), before + 3);
  const infoAll = await run(['INFO']);
  t.match(infoAll, /# Clients\r\nconnected_clients:\d+\r\n/, 'INFO (default) has the clients section');
});
