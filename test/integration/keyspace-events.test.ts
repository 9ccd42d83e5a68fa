// Keyspace notifications (notify-keyspace-events) through the proxy, against Shoal and
// redis-server: CONFIG GET's normal form and CONFIG SET's error, and the events of
// set, del, expire, expired, evicted and of string, list, hash, set and zset commands
// on `__keyspace@0__:<key>` / `__keyevent@0__:<event>` channels and patterns.

import t from 'tap';
import { Redis } from 'ioredis';
import { useTarget } from '../helpers/cluster.js';
import { sleep } from '../helpers/run.js';

const { target, run } = await useTarget(t);
const port = target.port;

function ioredis(): Redis {
  return new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, retryStrategy: () => null });
}

async function waitFor(cond: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end && !cond()) await sleep(20);
  return cond();
}

t.teardown(() => run(['CONFIG', 'SET', 'notify-keyspace-events', '']));

t.test('CONFIG GET / SET notify-keyspace-events', async (t) => {
  const cases: Array<[string, string]> = [['KEA', 'AKE'], ['Kg', 'gK'], ['g', 'g'], ['Ex', 'xE'], ['AKEmn', 'AKEm'], ['El$shz', '$lshzE'], ['', '']];
  for (const [set, want] of cases) {
    t.equal(await run(['CONFIG', 'SET', 'notify-keyspace-events', set]), 'OK');
    t.same(await run(['CONFIG', 'GET', 'notify-keyspace-events']), ['notify-keyspace-events', want], `${set} reads as ${want}`);
  }
  t.same(await run(['CONFIG', 'SET', 'notify-keyspace-events', 'Kq']), {
    error: "ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'.",
  });
});

t.test('events of set, del, expire, expired and data-type commands', async (t) => {
  await run(['FLUSHALL']);
  t.equal(await run(['CONFIG', 'SET', 'notify-keyspace-events', 'KEA']), 'OK');
  const sub = ioredis();
  t.teardown(() => sub.disconnect());
  const space: string[] = [];
  const event: string[] = [];
  sub.on('pmessage', (p: string, ch: string, m: string) => {
    if (p === '__keyspace@0__:*') space.push(`${ch.slice('__keyspace@0__:'.length)} ${m}`);
    else event.push(`${ch.slice('__keyevent@0__:'.length)} ${m}`);
  });
  const keyGot: string[] = [];
  sub.on('message', (ch: string, m: string) => keyGot.push(`${ch} ${m}`));
  await sub.psubscribe('__keyspace@0__:*', '__keyevent@0__:*');
  await sub.subscribe('__keyspace@0__:watched', '__keyevent@0__:expired');
  const c = ioredis();
  t.teardown(() => c.disconnect());
  await c.set('watched', '1');
  await c.set('k1', 'v', 'EX', 100);
  await c.setnx('k1', 'no'); // nothing happens: no event
  await c.del('k1', 'missing');
  await c.expire('watched', 100);
  await c.persist('watched');
  await c.incr('n');
  await c.append('n', '0');
  await c.rpush('l', 'a', 'b');
  await c.lpop('l');
  await c.lpop('l'); // empties it: lpop then del
  await c.hset('h', 'f', 'v');
  await c.hdel('h', 'nope'); // nothing removed: no event
  await c.sadd('s', 'x');
  await c.zadd('z', 1, 'm');
  await c.zincrby('z', 2, 'm');
  await c.pexpire('watched', 50);
  const expected = [
    'watched set', 'k1 set', 'k1 expire', 'k1 del', 'watched expire', 'watched persist', 'n incrby', 'n append',
    'l rpush', 'l lpop', 'l lpop', 'l del', 'h hset', 's sadd', 'z zadd', 'z zincr', 'watched expire', 'watched expired',
  ];
  t.ok(await waitFor(() => space.length >= expected.length && event.length >= expected.length, 5000), `got ${space.length} keyspace events`);
  // Keys live on different workers in Shoal: events are ordered per key, not across keys.
  const perKey = (list: string[], keyAt: 0 | 1): Map<string, string[]> => {
    const m = new Map<string, string[]>();
    for (const e of list) {
      const parts = e.split(' ');
      const k = parts[keyAt]!;
      m.set(k, [...(m.get(k) ?? []), e]);
    }
    return m;
  };
  t.same(perKey(space, 0), perKey(expected, 0), 'keyspace channel events, in order per key');
  t.same(perKey(event, 1), perKey(expected.map((e) => e.split(' ').reverse().join(' ')), 1), 'keyevent channel events, in order per key');
  t.equal(space.length, expected.length);
  t.equal(event.length, expected.length);
  t.same(keyGot, ['__keyspace@0__:watched set', '__keyspace@0__:watched expire', '__keyspace@0__:watched persist', '__keyspace@0__:watched expire',
    '__keyspace@0__:watched expired', '__keyevent@0__:expired watched'], 'plain channel subscriptions too (keyspace before keyevent)');
  t.equal(keyGot.length, 6);
});

t.test('only enabled classes: Eg publishes generic keyevents only', async (t) => {
  await run(['FLUSHALL']);
  t.equal(await run(['CONFIG', 'SET', 'notify-keyspace-events', 'Eg']), 'OK');
  const sub = ioredis();
  t.teardown(() => sub.disconnect());
  const got: string[] = [];
  sub.on('pmessage', (_p: string, ch: string, m: string) => got.push(`${ch} ${m}`));
  await sub.psubscribe('__key*');
  const c = ioredis();
  t.teardown(() => c.disconnect());
  await c.set('a', '1');
  await c.del('a');
  await c.sadd('s', '1');
  await c.expire('s', 100);
  t.ok(await waitFor(() => got.length >= 2, 3000));
  await sleep(100);
  t.same(got, ['__keyevent@0__:del a', '__keyevent@0__:expire s']);
});

t.test('evicted events under maxmemory', async (t) => {
  await run(['FLUSHALL']);
  t.equal(await run(['CONFIG', 'SET', 'notify-keyspace-events', 'Ee']), 'OK');
  const sub = ioredis();
  t.teardown(() => sub.disconnect());
  const evicted: string[] = [];
  sub.on('message', (_ch: string, key: string) => evicted.push(key));
  await sub.subscribe('__keyevent@0__:evicted');
  t.equal(await run(['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-random']), 'OK');
  // 4 MB for data above what the empty server already uses (Shoal counts its runtime in used_memory: docs/memory.md).
  const mem = String(await run(['INFO', 'memory']));
  const used = Number(/used_memory:(\d+)/.exec(mem)?.[1]);
  t.ok(Number.isFinite(used), `used_memory ${used}`);
  t.equal(await run(['CONFIG', 'SET', 'maxmemory', String(used + 4 * 1024 * 1024)]), 'OK');
  t.teardown(async () => {
    await run(['CONFIG', 'SET', 'maxmemory', '0']);
    await run(['CONFIG', 'SET', 'maxmemory-policy', 'noeviction']);
  });
  const c = ioredis();
  t.teardown(() => c.disconnect());
  const value = 'v'.repeat(1000);
  for (let i = 0; i < 20_000; i += 500) {
    const p = c.pipeline();
    for (let j = i; j < i + 500; j++) p.set(`ev:${j}`, value);
    await p.exec();
  }
  t.ok(await waitFor(() => evicted.length > 0, 5000), `evicted events (${evicted.length})`);
  t.ok(evicted.every((k) => k.startsWith('ev:')), 'each names an evicted key');
  const left = (await run(['DBSIZE'])) as number;
  t.ok(left < 20_000, `keys were evicted (${left} left)`);
  await sleep(200);
  t.equal(evicted.length, 20_000 - left, 'one event per evicted key');
});
