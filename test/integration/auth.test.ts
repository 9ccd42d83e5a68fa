// AUTH, HELLO AUTH, requirepass and the limits before AUTH, against the target
// (SHOAL_TEST_TARGET=redis runs the same file against redis-server 7.0.15, the spec).
// Real clients: raw RESP, ioredis (username/password) and node-redis (RESP2 and RESP3).

import t, { type Test } from 'tap';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { useTarget, startTarget } from '../helpers/cluster.js';
import { RespClient, rawSend, err, expectReplies, pollUntil, type RespValue } from '../helpers/run.js';

const { target, run } = await useTarget(t);
const port = target.port;

const NOAUTH = err('NOAUTH Authentication required.');
const WRONGPASS = err('WRONGPASS invalid username-password pair or user is disabled.');
const NO_DEFAULT_PASSWORD = err('ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?');
const NOAUTH_HELLO = err('NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time');

/** A fresh raw connection, closed when the test ends. */
async function fresh(t: Test): Promise<RespClient> {
  const c = await RespClient.connect(port);
  t.teardown(() => c.close());
  return c;
}

// The main connection was opened while the default user had no password, so it stays
// authenticated whatever requirepass becomes (Redis's c->authenticated).
t.afterEach(async () => {
  await run(['CONFIG', 'SET', 'requirepass', '']);
  const users = (await run(['ACL', 'USERS'])) as string[];
  const extra = users.filter((u) => u !== 'default');
  if (extra.length > 0) await run(['ACL', 'DELUSER', ...extra]);
  await run(['ACL', 'LOG', 'RESET']);
});

t.test('AUTH without a password configured', async (t) => {
  const c = await fresh(t);
  await expectReplies(t, c.run.bind(c), [
    [['AUTH', 'foo'], NO_DEFAULT_PASSWORD],
    [['AUTH', 'default', 'anything'], 'OK'],
    [['AUTH', 'nouser', 'foo'], WRONGPASS],
    [['AUTH', 'a', 'b', 'c'], err('ERR syntax error')],
    [['AUTH'], err("ERR wrong number of arguments for 'auth' command")],
    [['ACL', 'WHOAMI'], 'default'],
    [['ACL', 'SAVE'], err('ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.')],
  ]);
});

t.test('requirepass: NOAUTH until AUTH; unknown commands and arity are checked first', async (t) => {
  t.equal(await run(['CONFIG', 'SET', 'requirepass', 's3cret']), 'OK');
  t.same(await run(['CONFIG', 'GET', 'requirepass']), ['requirepass', 's3cret']);
  const list = (await run(['ACL', 'LIST'])) as string[];
  t.match(list.find((l) => l.startsWith('user default ')), /^user default on #[0-9a-f]{64} ~\* &\* \+@all$/, 'a hash, never the password');
  const c = await fresh(t);
  await expectReplies(t, c.run.bind(c), [
    [['PING'], NOAUTH],
    [['GET', 'a'], NOAUTH],
    [['ACL', 'WHOAMI'], NOAUTH],
    [['CONFIG', 'GET', 'requirepass'], NOAUTH],
    [['NOSUCHCMD'], err("ERR unknown command 'NOSUCHCMD', with args beginning with: ")],
    [['GET'], err("ERR wrong number of arguments for 'get' command")],
    [['HELLO'], NOAUTH_HELLO],
    [['HELLO', '3'], NOAUTH_HELLO],
    [['RESET'], 'RESET'],
    [['MULTI'], NOAUTH],
    [['AUTH', 'wrong'], WRONGPASS],
    [['AUTH', 'default', 'wrong'], WRONGPASS],
    [['PING'], NOAUTH],
    [['AUTH', 's3cret'], 'OK'],
    [['PING'], 'PONG'],
    [['ACL', 'WHOAMI'], 'default'],
  ]);
  const quit = await rawSend(port, '*1\r\n$4\r\nQUIT\r\n');
  t.equal(quit.data.toString(), '+OK\r\n', 'QUIT needs no AUTH');
  t.ok(quit.closed);
  t.equal(await run(['PING']), 'PONG', 'a connection authenticated before requirepass keeps working');

  t.equal(await run(['CONFIG', 'SET', 'requirepass', '']), 'OK');
  const d = await fresh(t);
  t.equal(await d.run(['PING']), 'PONG', 'requirepass "" = no password again');
  t.same(await d.run(['AUTH', 'x']), NO_DEFAULT_PASSWORD);
});

t.test('limits on requests before AUTH', async (t) => {
  await run(['CONFIG', 'SET', 'requirepass', 's3cret']);
  const many = await rawSend(port, '*11\r\n');
  t.equal(many.data.toString(), '-ERR Protocol error: unauthenticated multibulk length\r\n');
  t.ok(many.closed, 'closed after the protocol error');
  const big = await rawSend(port, '*2\r\n$4\r\nECHO\r\n$16385\r\n');
  t.equal(big.data.toString(), '-ERR Protocol error: unauthenticated bulk length\r\n');
  t.ok(big.closed);
  const tenArgs = await rawSend(port, `*10\r\n$4\r\nPING\r\n${'$1\r\nx\r\n'.repeat(9)}`);
  t.equal(tenArgs.data.toString(), '-NOAUTH Authentication required.\r\n', '10 arguments are allowed');
  t.notOk(tenArgs.closed);
  const justFits = await rawSend(port, `*2\r\n$4\r\nECHO\r\n$16384\r\n${'x'.repeat(16384)}\r\n`);
  t.equal(justFits.data.toString(), '-NOAUTH Authentication required.\r\n', '16384 bytes are allowed');
  // AUTH then large requests in the same write: the limits end with the AUTH.
  const value = 'v'.repeat(20_000);
  const after = await rawSend(port, `*2\r\n$4\r\nAUTH\r\n$6\r\ns3cret\r\n*3\r\n$3\r\nSET\r\n$4\r\nbigk\r\n$${value.length}\r\n${value}\r\n*12\r\n$4\r\nPING\r\n${'$1\r\nx\r\n'.repeat(11)}`);
  t.equal(after.data.toString(), "+OK\r\n+OK\r\n-ERR wrong number of arguments for 'ping' command\r\n");
  t.equal(await run(['STRLEN', 'bigk']), 20_000);
  await run(['DEL', 'bigk']);
});

t.test('HELLO AUTH user pass SETNAME', async (t) => {
  t.equal(await run(['ACL', 'SETUSER', 'hu', 'on', '>hpw', '+@all', '~*']), 'OK');
  const c = await fresh(t);
  const hello = await c.run(['HELLO', '3', 'AUTH', 'hu', 'hpw', 'SETNAME', 'conn1']);
  t.ok(hello instanceof Map, 'a RESP3 map');
  const m = hello as Map<RespValue, RespValue>;
  t.equal(m.get('server'), 'redis');
  t.equal(m.get('proto'), 3);
  t.equal(await c.run(['CLIENT', 'GETNAME']), 'conn1');
  t.equal(await c.run(['ACL', 'WHOAMI']), 'hu');
  const d = await fresh(t);
  await expectReplies(t, d.run.bind(d), [
    [['HELLO', '3', 'AUTH', 'hu', 'wrong'], WRONGPASS],
    [['HELLO', '3', 'SETNAME', 'bad name', 'AUTH', 'hu', 'hpw'], err('ERR Client names cannot contain spaces, newlines or special characters.')],
    [['ACL', 'WHOAMI'], 'default'],
    // Redis 7.0 logs in as it meets AUTH, before checking the options after it.
    [['HELLO', '3', 'AUTH', 'hu', 'hpw', 'SETNAME', 'bad name'], err('ERR Client names cannot contain spaces, newlines or special characters.')],
    [['ACL', 'WHOAMI'], 'hu'],
    [['CLIENT', 'GETNAME'], null],
    [['AUTH', 'default', 'x'], 'OK'],
    [['HELLO', '3', 'AUTH', 'hu'], err("ERR Syntax error in HELLO option 'AUTH'")],
    [['HELLO', '4', 'AUTH', 'hu', 'hpw'], err('NOPROTO unsupported protocol version')],
  ]);
  const hello2 = await d.run(['HELLO', '2', 'AUTH', 'hu', 'hpw']);
  t.ok(Array.isArray(hello2), 'RESP2: a flat array');
  t.equal(await d.run(['ACL', 'WHOAMI']), 'hu');

  // With requirepass, HELLO AUTH logs in an unauthenticated connection.
  await run(['CONFIG', 'SET', 'requirepass', 's3cret']);
  const e = await fresh(t);
  t.same(await e.run(['PING']), NOAUTH);
  t.ok((await e.run(['HELLO', '3', 'AUTH', 'default', 's3cret'])) instanceof Map);
  t.equal(await e.run(['PING']), 'PONG');
});

t.test('RESET logs out to the default user', async (t) => {
  await run(['ACL', 'SETUSER', 'ru', 'on', '>rpw', '+@all', '~*']);
  const c = await fresh(t);
  await expectReplies(t, c.run.bind(c), [
    [['AUTH', 'ru', 'rpw'], 'OK'],
    [['ACL', 'WHOAMI'], 'ru'],
    [['RESET'], 'RESET'],
    [['ACL', 'WHOAMI'], 'default'],
  ]);
  await run(['CONFIG', 'SET', 'requirepass', 's3cret']);
  await expectReplies(t, c.run.bind(c), [
    [['AUTH', 'ru', 'rpw'], 'OK'],
    [['RESET'], 'RESET'],
    [['ACL', 'WHOAMI'], NOAUTH],
  ]);
});

t.test('a disabled user cannot log in; its open connections go on (as Redis)', async (t) => {
  await run(['ACL', 'SETUSER', 'du', 'on', '>dpw', '+@all', '~*']);
  const c = await fresh(t);
  t.equal(await c.run(['AUTH', 'du', 'dpw']), 'OK');
  t.equal(await run(['ACL', 'SETUSER', 'du', 'off']), 'OK');
  t.equal(await c.run(['ACL', 'WHOAMI']), 'du');
  const d = await fresh(t);
  t.same(await d.run(['AUTH', 'du', 'dpw']), WRONGPASS);
  await run(['ACL', 'SETUSER', 'du', 'on', 'resetpass', '>new']);
  t.same(await d.run(['AUTH', 'du', 'dpw']), WRONGPASS, 'the old password is gone');
  t.equal(await d.run(['AUTH', 'du', 'new']), 'OK');
  t.equal(await run(['ACL', 'SETUSER', 'nopassuser', 'on', 'nopass', '+@all']), 'OK');
  t.equal(await d.run(['AUTH', 'nopassuser', 'whatever']), 'OK', 'nopass: any password');
});

t.test('AUTH failures go to ACL LOG', async (t) => {
  const c = await fresh(t);
  t.same(await c.run(['AUTH', 'nouser', 'x']), WRONGPASS);
  t.same(await c.run(['AUTH', 'nouser', 'y']), WRONGPASS);
  t.same(await c.run(['auth', 'nouser', 'y']), WRONGPASS);
  const log = (await run(['ACL', 'LOG'])) as RespValue[][];
  t.equal(log.length, 2, 'like denials are grouped; the object is the command as sent');
  t.same(log[1]!.slice(0, 10), ['count', 2, 'reason', 'auth', 'context', 'toplevel', 'object', 'AUTH', 'username', 'nouser']);
  const e = log[0]!;
  t.same(e.slice(0, 10), ['count', 1, 'reason', 'auth', 'context', 'toplevel', 'object', 'auth', 'username', 'nouser']);
  t.equal(e[10], 'age-seconds');
  t.match(String(e[11]), /^\d+(\.\d+)?$/);
  t.equal(e[12], 'client-info');
  t.match(String(e[13]), /^id=\d+ addr=127\.0\.0\.1:\d+ .* cmd=auth user=default /);
  await expectReplies(t, c.run.bind(c), [
    [['MULTI'], 'OK'],
    [['AUTH', 'nouser', 'z'], 'QUEUED'],
    [['EXEC'], [WRONGPASS]],
  ]);
  const multi = ((await run(['ACL', 'LOG', '1'])) as RespValue[][])[0]!;
  t.same(multi.slice(0, 10), ['count', 1, 'reason', 'auth', 'context', 'multi', 'object', 'AUTH', 'username', 'nouser']);
});

t.test('ioredis with username and password', async (t) => {
  await run(['ACL', 'SETUSER', 'io', 'on', '>iopw', '+@all', '~*']);
  const r = new Redis({ host: '127.0.0.1', port, username: 'io', password: 'iopw', maxRetriesPerRequest: 1, retryStrategy: () => null });
  t.teardown(() => r.disconnect());
  t.equal(await r.set('io:k', 'v'), 'OK');
  t.equal(await r.call('ACL', 'WHOAMI'), 'io');
  const bad = new Redis({ host: '127.0.0.1', port, username: 'io', password: 'nope', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  const errors: string[] = [];
  bad.on('error', (e: Error) => errors.push(e.message));
  t.teardown(() => bad.disconnect());
  await t.rejects(bad.connect());
  t.match(errors[0], /WRONGPASS invalid username-password pair or user is disabled/);

  // requirepass: the password-only form.
  await run(['CONFIG', 'SET', 'requirepass', 's3cret']);
  const p = new Redis({ host: '127.0.0.1', port, password: 's3cret', maxRetriesPerRequest: 1, retryStrategy: () => null });
  t.teardown(() => p.disconnect());
  t.equal(await p.get('io:k'), 'v');
  await r.del('io:k');
});

t.test('node-redis, RESP2 and RESP3, with username and password', async (t) => {
  await run(['ACL', 'SETUSER', 'nr', 'on', '>nrpw', '+@all', '~*']);
  for (const RESP of [2, 3] as const) {
    const c = createClient({ socket: { host: '127.0.0.1', port, reconnectStrategy: false }, username: 'nr', password: 'nrpw', RESP });
    c.on('error', () => {});
    await c.connect();
    t.equal(await c.sendCommand(['ACL', 'WHOAMI']), 'nr', `RESP${RESP}`);
    t.equal(await c.set(`nr:${RESP}`, 'v'), 'OK');
    t.equal(await c.get(`nr:${RESP}`), 'v');
    await c.del(`nr:${RESP}`);
    c.destroy();
    const bad = createClient({ socket: { host: '127.0.0.1', port, reconnectStrategy: false }, username: 'nr', password: 'bad', RESP });
    bad.on('error', () => {});
    await t.rejects(bad.connect(), /WRONGPASS/, `RESP${RESP}: wrong password`);
  }
});

t.test('requirepass at start', async (t) => {
  const boot = await startTarget({ env: { SHOAL_REQUIREPASS: 'boot' }, redisArgs: ['--requirepass', 'boot'] });
  t.teardown(() => boot.stop());
  const c = await RespClient.connect(boot.port);
  t.teardown(() => c.close());
  t.same(await c.run(['PING']), NOAUTH);
  t.equal(await c.run(['AUTH', 'boot']), 'OK');
  t.equal(await c.run(['PING']), 'PONG');
  const polled = await pollUntil(() => c.run(['ACL', 'WHOAMI']), (v) => v === 'default', 1000);
  t.ok(polled.ok);
});
