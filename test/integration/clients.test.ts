// Real client libraries through the proxy: ioredis, node-redis and redis-cli. These
// exercise each library's connection handshake (INFO ready check, CLIENT SETINFO,
// HELLO), auto-pipelining and reply parsing against the target.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import t from 'tap';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { useTarget } from '../helpers/cluster.js';

const execFileP = promisify(execFile);
const { target, run } = await useTarget(t);
const port = target.port;

t.beforeEach(async () => {
  await run(['FLUSHALL']);
});

function ioredis(): Redis {
  const r = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, retryStrategy: () => null, connectTimeout: 5000 });
  return r;
}

async function quitIo(r: Redis): Promise<void> {
  try {
    await r.quit();
  } catch {
    r.disconnect();
  }
}

t.test('ioredis: every string command', async (t) => {
  const r = ioredis();
  t.teardown(() => quitIo(r));
  t.equal(await r.set('k', 'v'), 'OK');
  t.equal(await r.get('k'), 'v');
  t.equal(await r.get('missing'), null);
  t.equal(await r.set('k', 'v2', 'EX', 100), 'OK');
  t.equal(await r.ttl('k'), 100);
  t.equal(await r.set('k', 'v3', 'NX'), null);
  t.equal(await r.set('k', 'v3', 'XX', 'GET'), 'v2');
  t.equal(await r.set('k', 'v4', 'KEEPTTL'), 'OK');
  t.equal(await r.setnx('k', 'x'), 0);
  t.equal(await r.setnx('n1', 'x'), 1);
  t.equal(await r.setex('se', 100, 'v'), 'OK');
  t.equal(await r.psetex('pse', 100_000, 'v'), 'OK');
  t.equal(await r.getset('k', 'v5'), 'v4');
  t.equal(await r.getdel('k'), 'v5');
  t.equal(await r.getdel('k'), null);
  t.equal(await r.getex('se', 'EX', 200), 'v');
  t.equal(await r.ttl('se'), 200);
  t.equal(await r.getex('se', 'PERSIST'), 'v');
  t.equal(await r.ttl('se'), -1);
  t.equal(await r.mset('a', '1', 'b', '2', 'c', '3'), 'OK');
  t.equal(await r.mset({ d: '4', e: '5' }), 'OK');
  t.same(await r.mget('a', 'b', 'nope', 'c', 'd', 'e'), ['1', '2', null, '3', '4', '5']);
  // MSETNX keys share a hash tag: Shoal refuses cross-worker MSETNX with CROSSSLOT.
  t.equal(await r.msetnx('{m}f', '6', '{m}g', '7'), 1);
  t.equal(await r.msetnx('{m}g', 'x', '{m}h', 'y'), 0);
  t.equal(await r.exists('{m}h'), 0);
  t.equal(await r.append('ap', 'hello'), 5);
  t.equal(await r.append('ap', ' world'), 11);
  t.equal(await r.strlen('ap'), 11);
  t.equal(await r.incr('n'), 1);
  t.equal(await r.decr('n'), 0);
  t.equal(await r.incrby('n', 10), 10);
  t.equal(await r.decrby('n', 3), 7);
  t.equal(await r.incrbyfloat('n', '0.5'), '7.5');
  t.equal(await r.incrbyfloat('n', '5.0e3'), '5007.5');
  t.equal(await r.getrange('ap', 0, 4), 'hello');
  t.equal(await r.setrange('ap', 6, 'Redis'), 11);
  t.equal(await r.get('ap'), 'hello Redis');
  t.equal(await r.substr('ap', -5, -1), 'Redis');
  await r.mset('key1', 'ohmytext', 'key2', 'mynewtext');
  t.equal(await r.lcs('key1', 'key2'), 'mytext');
  t.equal(await r.lcs('key1', 'key2', 'LEN'), 6);
  await t.rejects(r.incr('ap'), { message: 'ERR value is not an integer or out of range' });
  await t.rejects(r.set('k', 'v', 'EX', 0), { message: "ERR invalid expire time in 'set' command" });
  const buf = Buffer.from([0, 255, 13, 10, 1]);
  t.equal(await r.set('bin', buf), 'OK');
  t.same(await r.getBuffer('bin'), buf);
});

t.test('ioredis: pipeline of 1,000 mixed commands replies in order', async (t) => {
  const r = ioredis();
  t.teardown(() => quitIo(r));
  const pipe = r.pipeline();
  const expected: unknown[] = [];
  const model = new Map<string, string>();
  for (let i = 0; i < 1000; i++) {
    const key = `p:${i % 37}`;
    const cur = model.get(key);
    switch (i % 7) {
      case 0:
        pipe.set(key, `v${i}`);
        model.set(key, `v${i}`);
        expected.push('OK');
        break;
      case 1:
        pipe.get(key);
        expected.push(cur ?? null);
        break;
      case 2: {
        pipe.append(key, 'x');
        const next = (cur ?? '') + 'x';
        model.set(key, next);
        expected.push(next.length);
        break;
      }
      case 3:
        pipe.strlen(key);
        expected.push(cur?.length ?? 0);
        break;
      case 4:
        pipe.exists(key);
        expected.push(cur === undefined ? 0 : 1);
        break;
      case 5:
        pipe.incr(`cnt:${i % 5}`);
        model.set(`cnt:${i % 5}`, String(Number(model.get(`cnt:${i % 5}`) ?? '0') + 1));
        expected.push(Number(model.get(`cnt:${i % 5}`)));
        break;
      default:
        pipe.del(key);
        expected.push(cur === undefined ? 0 : 1);
        model.delete(key);
    }
  }
  const results = await pipe.exec();
  t.ok(results !== null && results.length === 1000, '1,000 results');
  t.equal(results?.filter(([e]) => e !== null).length, 0, 'no errors');
  t.same(results?.map(([, v]) => v), expected, 'every reply in order');
});

t.test('ioredis: 50 concurrent clients × 200 SET/GET on their own keys', async (t) => {
  const clients = Array.from({ length: 50 }, () => ioredis());
  t.teardown(() => Promise.all(clients.map(quitIo)));
  let mismatches = 0;
  await Promise.all(
    clients.map(async (c, ci) => {
      for (let j = 0; j < 200; j++) {
        const key = `c${ci}:k${j}`;
        const value = `${ci}-${j}-${'z'.repeat(j % 50)}`;
        if ((await c.set(key, value)) !== 'OK') mismatches++;
        if ((await c.get(key)) !== value) mismatches++;
      }
    }),
  );
  t.equal(mismatches, 0, 'every GET saw its own SET');
  t.equal(await run(['DBSIZE']), 50 * 200);
  t.same(await run(['MGET', 'c0:k0', 'c49:k199']), ['0-0-', `49-199-${'z'.repeat(199 % 50)}`]);
});

t.test('node-redis: every string command', async (t) => {
  const c = createClient({ socket: { host: '127.0.0.1', port, reconnectStrategy: false, connectTimeout: 5000 } });
  c.on('error', () => {
    // surfaced through the rejected commands
  });
  await c.connect();
  t.teardown(() => c.close());
  t.equal(await c.set('k', 'v'), 'OK');
  t.equal(await c.get('k'), 'v');
  t.equal(await c.get('missing'), null);
  t.equal(await c.set('k', 'v2', { expiration: { type: 'EX', value: 100 } }), 'OK');
  t.equal(await c.ttl('k'), 100);
  t.equal(await c.set('k', 'v3', { condition: 'NX' }), null);
  t.equal(await c.set('k', 'v3', { condition: 'XX', GET: true }), 'v2');
  t.equal(await c.setNX('k', 'x'), 0);
  t.equal(await c.setEx('se', 100, 'v'), 'OK');
  t.equal(await c.pSetEx('pse', 100_000, 'v'), 'OK');
  t.equal(await c.getSet('k', 'v5'), 'v3');
  t.equal(await c.getDel('k'), 'v5');
  t.equal(await c.getEx('se', { type: 'EX', value: 200 }), 'v');
  t.equal(await c.ttl('se'), 200);
  t.equal(await c.getEx('se', { type: 'PERSIST' }), 'v');
  t.equal(await c.mSet({ a: '1', b: '2', c: '3' }), 'OK');
  t.same(await c.mGet(['a', 'nope', 'b', 'c']), ['1', null, '2', '3']);
  t.equal(await c.mSetNX({ '{m}f': '6', '{m}g': '7' }), 1);
  t.equal(await c.mSetNX({ '{m}g': 'x', '{m}h': 'y' }), 0);
  t.equal(await c.append('ap', 'hello'), 5);
  t.equal(await c.strLen('ap'), 5);
  t.equal(await c.incr('n'), 1);
  t.equal(await c.decr('n'), 0);
  t.equal(await c.incrBy('n', 10), 10);
  t.equal(await c.decrBy('n', 3), 7);
  t.equal(await c.incrByFloat('n', 0.5), '7.5');
  t.equal(await c.getRange('ap', 1, 3), 'ell');
  t.equal(await c.setRange('ap', 0, 'J'), 5);
  t.equal(await c.sendCommand(['SUBSTR', 'ap', '0', '-1']), 'Jello');
  await c.mSet({ key1: 'ohmytext', key2: 'mynewtext' });
  t.equal(await c.lcs('key1', 'key2'), 'mytext');
  t.equal(await c.lcsLen('key1', 'key2'), 6);
  await t.rejects(c.incr('ap'), { message: 'ERR value is not an integer or out of range' });
  // Concurrent commands are auto-pipelined; replies still match requests.
  const keys = Array.from({ length: 500 }, (_, i) => `np:${i}`);
  await Promise.all(keys.map((k, i) => c.set(k, String(i))));
  const values = await Promise.all(keys.map((k) => c.get(k)));
  t.same(values, keys.map((_, i) => String(i)));
});

t.test('node-redis: RESP3 connection', async (t) => {
  const c = createClient({ RESP: 3, socket: { host: '127.0.0.1', port, reconnectStrategy: false, connectTimeout: 5000 } });
  c.on('error', () => {
    // surfaced through the rejected commands
  });
  await c.connect();
  t.teardown(() => c.close());
  t.equal(await c.set('r3', 'v'), 'OK');
  t.equal(await c.get('r3'), 'v');
  t.equal(await c.get('missing'), null);
  t.equal(await c.incr('r3n'), 1);
  t.same(await c.mGet(['r3', 'missing']), ['v', null]);
});

async function haveRedisCli(): Promise<boolean> {
  try {
    await execFileP('redis-cli', ['--version'], { timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

t.test('redis-cli', { skip: !(await haveRedisCli()) && 'redis-cli not installed' }, async (t) => {
  const cli = async (...args: string[]): Promise<string> =>
    (await execFileP('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 10_000 })).stdout;
  t.equal(await cli('SET', 'a', 'b'), 'OK\n');
  t.equal(await cli('--raw', 'GET', 'a'), 'b\n');
  t.equal(await cli('GET', 'nokey'), '\n');
  t.equal(await cli('INCR', 'n'), '1\n');
  t.equal(await cli('MGET', 'a', 'nokey'), 'b\n\n');
  t.equal(await cli('foo', 'x'), "ERR unknown command 'foo', with args beginning with: 'x' \n\n");
  t.equal(await cli('PING'), 'PONG\n');
});
