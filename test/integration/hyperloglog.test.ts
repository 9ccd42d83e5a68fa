// HyperLogLog: PFADD / PFCOUNT / PFMERGE, compared byte for byte with a real
// redis-server started by this file (when `redis-server` is installed): for the same
// inputs, every reply and the GET bytes of every HLL (sparse and dense, cached
// cardinality included) must be equal. Runs against the Shoal proxy by default, or a
// redis-server with SHOAL_TEST_TARGET=redis (then it compares Redis with Redis).
// Multi-key commands use one hash tag ({h}) so they work on any target.

import { createHash } from 'node:crypto';
import t from 'tap';
import { Redis } from 'ioredis';
import { isShoal, keySlot, startRedis, useTarget, type Target } from '../helpers/cluster.js';
import { RespClient, err, expectReplies, type RespValue } from '../helpers/run.js';
import { rng } from '../helpers/random.js';

const { target, client, run } = await useTarget(t);

let ref: Target | undefined;
let refClient: RespClient | undefined;
try {
  ref = await startRedis();
  t.teardown(() => ref!.stop());
  refClient = await RespClient.connect(ref.port);
  t.teardown(() => refClient!.close());
} catch {
  ref = undefined;
}

const HLL_WRONGTYPE = err('WRONGTYPE Key is not a valid HyperLogLog string value.');
const INVALIDOBJ = err('INVALIDOBJ Corrupted HLL object detected');
const WRONGTYPE = err('WRONGTYPE Operation against a key holding the wrong kind of value');
const arity = (cmd: string) => err(`ERR wrong number of arguments for '${cmd}' command`);

/** n elements of a given mix: distinct names, random binary, repeated numbers, long strings. */
function elements(n: number, seed: number, mix: number): Buffer[] {
  const r = rng(seed * 7919 + mix);
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    switch (mix % 4) {
      case 0:
        out.push(Buffer.from(`el:${seed}:${i}`));
        break;
      case 1: {
        const b = Buffer.alloc(r() % 25);
        for (let j = 0; j < b.length; j++) b[j] = r() & 0xff;
        out.push(b);
        break;
      }
      case 2:
        out.push(Buffer.from(String(r() % Math.max(1, Math.floor(n * 0.7)))));
        break;
      default:
        out.push(Buffer.from(`${'x'.repeat(100 + (r() % 200))}:${r()}`));
    }
  }
  return out;
}

/** Runs commands pipelined (chunks of 500) with binary replies. */
async function pipe(c: RespClient, cmds: readonly (readonly (string | Buffer)[])[]): Promise<RespValue[]> {
  const out: RespValue[] = [];
  for (let i = 0; i < cmds.length; i += 500) {
    out.push(...(await Promise.all(cmds.slice(i, i + 500).map((a) => c.run(a, { buffers: true })))));
  }
  return out;
}

const show = (v: RespValue): string => (Buffer.isBuffer(v) ? `<${v.length} bytes ${v.subarray(0, 6).toString('hex')}…>` : JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? String(x) : x)));

/**
 * Sends the same commands to the target and the reference redis and asserts every
 * reply is equal (one failure line per mismatch, at most 10). Returns the target's replies.
 */
type TT = { fail(m: string): unknown; equal(a: unknown, b: unknown, m: string): unknown; ok(v: unknown, m: string): unknown };

async function same(tt: TT, cmds: readonly (readonly (string | Buffer)[])[], what: string): Promise<RespValue[]> {
  const mine = await pipe(client, cmds);
  if (refClient === undefined) return mine;
  const theirs = await pipe(refClient, cmds);
  let bad = 0;
  for (let i = 0; i < cmds.length; i++) {
    const a = mine[i]!;
    const b = theirs[i]!;
    if (!sameValue(a, b)) {
      bad++;
      if (bad <= 10) tt.fail(`${what}: ${cmds[i]!.map((x) => (Buffer.isBuffer(x) ? `<${x.length}b>` : x)).join(' ').slice(0, 80)} → ${show(a)} vs redis ${show(b)}`);
    }
  }
  tt.equal(bad, 0, `${what}: ${cmds.length} replies equal to redis-server's`);
  return mine;
}

function sameValue(a: RespValue, b: RespValue): boolean {
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b)) return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b);
  return JSON.stringify(a, (_k, x) => (typeof x === 'bigint' ? String(x) : x)) === JSON.stringify(b, (_k, x) => (typeof x === 'bigint' ? String(x) : x));
}

async function flushBoth(): Promise<void> {
  await run(['FLUSHALL']);
  await refClient?.run(['FLUSHALL']);
}

/** A key of a non-string type: a list where lists exist, else (Shoal only) a bloom filter. */
async function nonString(tt: TT, key: string): Promise<void> {
  const r = await run(['LPUSH', key, 'x']);
  if (r === 1) return;
  tt.ok(isShoal, 'LPUSH is only missing while the list commands are being written');
  tt.equal(await run(['BF.RESERVE', key, '0.01', '100']), 'OK', 'a bloom filter stands in for a list');
}

t.beforeEach(flushBoth);

t.test('reference redis-server', async (tt) => {
  tt.pass(ref ? `comparing with redis-server on port ${ref.port}` : 'redis-server not installed: only the fixed expectations run');
});

t.test('basic replies, arity and errors', async (tt) => {
  await expectReplies(tt, run, [
    [['PFADD'], arity('pfadd')],
    [['PFCOUNT'], arity('pfcount')],
    [['PFMERGE'], arity('pfmerge')],
    [['PFCOUNT', 'nokey'], 0],
    [['PFCOUNT', '{h}nokey', '{h}other'], 0],
    [['PFADD', 'h'], 1],
    [['PFADD', 'h'], 0],
    [['EXISTS', 'h'], 1],
    [['TYPE', 'h'], 'string'],
    [['PFCOUNT', 'h'], 0],
    [['PFADD', 'h', 'a', 'b', 'c'], 1],
    [['PFADD', 'h', 'a', 'b', 'c'], 0],
    [['PFADD', 'h', 'a', 'd'], 1],
    [['PFCOUNT', 'h'], 4],
    [['OBJECT', 'ENCODING', 'h'], 'raw'],
    [['SET', 's', 'hello world, not an HLL'], 'OK'],
    [['PFADD', 's', 'x'], HLL_WRONGTYPE],
    [['PFCOUNT', 's'], HLL_WRONGTYPE],
    [['SET', 'i', '12345'], 'OK'],
    [['PFCOUNT', 'i'], HLL_WRONGTYPE],
    [['PFMERGE', 'i', 'h'], HLL_WRONGTYPE],
    [['PFMERGE', '{h}d', '{h}s'], 'OK'],
    [['PFCOUNT', '{h}d'], 0],
    [['PFMERGE', '{h}d2'], 'OK'],
    [['TYPE', '{h}d2'], 'string'],
  ]);
  await nonString(tt, 'l');
  tt.same(await run(['PFADD', 'l', 'x']), WRONGTYPE);
  tt.same(await run(['PFCOUNT', 'l']), WRONGTYPE);
  await run(['PFADD', '{h}x', 'a']);
  await nonString(tt, '{h}l');
  tt.same(await run(['PFCOUNT', '{h}x', '{h}l']), WRONGTYPE);
  tt.same(await run(['PFMERGE', '{h}x', '{h}l']), WRONGTYPE);
  tt.same(await run(['PFMERGE', '{h}l', '{h}x']), WRONGTYPE);
});

t.test('known answers (recorded from redis-server 7.0)', async (tt) => {
  const golden: [number, number, number, string][] = [
    [10, 10, 48, 'aec1d29682abfa65'],
    [100, 100, 289, 'afa9e93d9f433717'],
    [1000, 999, 1892, 'b6b8b2bad8824cfb'],
    [5000, 4959, 12304, '672a5d106ac2908a'],
    [20000, 20030, 12304, '13881eacaf082686'],
  ];
  for (const [n, card, len, sha] of golden) {
    await run(['DEL', 'g']);
    const cmds: string[][] = [];
    for (let i = 0; i < n; i += 500) {
      const c = ['PFADD', 'g'];
      for (let j = i; j < Math.min(n, i + 500); j++) c.push(`el:${j}`);
      cmds.push(c);
    }
    await pipe(client, cmds);
    tt.equal(await run(['PFCOUNT', 'g']), card, `PFCOUNT of ${n} elements`);
    tt.equal(await run(['STRLEN', 'g']), len, `${len <= 3000 ? 'sparse' : 'dense'} size of ${n} elements`);
    const bytes = (await client.run(['GET', 'g'], { buffers: true })) as Buffer;
    tt.equal(createHash('sha256').update(bytes).digest('hex').slice(0, 16), sha, `GET bytes of ${n} elements`);
  }
});

t.test('PFADD/PFCOUNT/GET equal to redis for 0..200000 elements, several seeds and mixes', async (tt) => {
  if (refClient === undefined) return void tt.pass('skipped: no redis-server');
  const cases: [number, number, number][] = [];
  for (const n of [0, 1, 10, 100, 1000, 20000]) for (const seed of [1, 2, 3]) for (const mix of [0, 1, 2, 3]) if (n <= 1000 || mix === seed) cases.push([n, seed, mix]);
  cases.push([200000, 9, 0], [200000, 11, 1]);
  const r = rng(4242);
  for (const [n, seed, mix] of cases) {
    const key = `h:${n}:${seed}:${mix}`;
    const els = elements(n, seed, mix);
    const cmds: (string | Buffer)[][] = [['PFADD', key]];
    let sinceGet = 0;
    for (let i = 0; i < els.length; ) {
      const step = n > 20000 ? 64 : 1 + (r() % 12);
      cmds.push(['PFADD', key, ...els.slice(i, i + step)]);
      i += step;
      // Every edit while sparse (the opcode stream is the delicate part), then now and then.
      if (n <= 1000 || ++sinceGet >= 40) {
        cmds.push(['GET', key]);
        sinceGet = 0;
      }
      if (r() % 25 === 0) cmds.push(['PFCOUNT', key], ['GET', key]);
    }
    cmds.push(['GET', key], ['PFCOUNT', key], ['GET', key], ['PFADD', key, 'one-more'], ['GET', key], ['PFCOUNT', key]);
    await same(tt, cmds, `n=${n} seed=${seed} mix=${mix}`);
  }
});

t.test('PFMERGE and multi-key PFCOUNT equal to redis', async (tt) => {
  if (refClient === undefined) return void tt.pass('skipped: no redis-server');
  const sizes = [0, 3, 50, 400, 2000, 30000];
  const cmds: (string | Buffer)[][] = [];
  sizes.forEach((n, i) => {
    const els = elements(n, 100 + i, i);
    for (let j = 0; j < els.length; j += 200) cmds.push(['PFADD', `{h}s${i}`, ...els.slice(j, j + 200)]);
    if (n === 0) cmds.push(['PFADD', `{h}s${i}`]);
  });
  await same(tt, cmds, 'sources');
  const merges: (string | Buffer)[][] = [];
  for (let a = 0; a < sizes.length; a++) {
    for (let b = 0; b < sizes.length; b++) {
      merges.push(['PFCOUNT', `{h}s${a}`, `{h}s${b}`]);
      merges.push(['PFMERGE', `{h}m${a}_${b}`, `{h}s${a}`, `{h}s${b}`], ['GET', `{h}m${a}_${b}`], ['PFCOUNT', `{h}m${a}_${b}`], ['GET', `{h}m${a}_${b}`]);
    }
  }
  merges.push(['PFCOUNT', '{h}s0', '{h}s1', '{h}s2', '{h}s3', '{h}s4', '{h}s5', '{h}missing']);
  // Into an existing destination that is also a source; a missing source; sparse stays sparse.
  merges.push(['PFMERGE', '{h}s1', '{h}s2', '{h}missing'], ['GET', '{h}s1'], ['PFCOUNT', '{h}s1']);
  merges.push(['PFMERGE', '{h}s2', '{h}s5'], ['GET', '{h}s2'], ['PFCOUNT', '{h}s2']);
  merges.push(['PFMERGE', '{h}s5', '{h}s3'], ['GET', '{h}s5'], ['PFCOUNT', '{h}s5']);
  merges.push(['PFMERGE', '{h}only', '{h}only'], ['GET', '{h}only']);
  await same(tt, merges, 'merges');
});

t.test('HLL strings produced by redis-server are accepted (SET bytes, then PFCOUNT/PFADD)', async (tt) => {
  if (refClient === undefined) return void tt.pass('skipped: no redis-server');
  const sizes = [1, 30, 700, 3000, 50000];
  for (const n of sizes) {
    const els = elements(n, 77, n % 4);
    for (let j = 0; j < els.length; j += 300) await refClient.run(['PFADD', 'src', ...els.slice(j, j + 300)]);
    const bytes = (await refClient.run(['GET', 'src'], { buffers: true })) as Buffer;
    for (const withCache of [false, true]) {
      if (withCache) await refClient.run(['PFCOUNT', 'src']);
      const b = withCache ? ((await refClient.run(['GET', 'src'], { buffers: true })) as Buffer) : bytes;
      await same(tt, [
        ['SET', 'copy', b], ['PFCOUNT', 'copy'], ['GET', 'copy'], ['PFADD', 'copy', 'new1', 'new2', 'new3'], ['GET', 'copy'],
        ['PFCOUNT', 'copy'], ['GET', 'copy'], ['SET', '{h}c1', b], ['PFADD', '{h}c2', 'z'], ['PFMERGE', '{h}c2', '{h}c1'], ['GET', '{h}c2'],
        ['PFCOUNT', '{h}c1', '{h}c2'],
      ], `redis HLL of ${n} elements${withCache ? ' with cached cardinality' : ''}`);
    }
    await refClient.run(['DEL', 'src']);
  }
});

/** An HLL header: "HYLL", encoding, 3 zero bytes, 8 cache bytes (stale unless given). */
function header(enc: number, card = -1): Buffer {
  const h = Buffer.alloc(16);
  h.write('HYLL', 0, 'latin1');
  h[4] = enc;
  if (card >= 0) h.writeUInt32LE(card, 8);
  else h[15] = 0x80;
  return h;
}

/** A dense HLL whose 16384 registers all hold v (6 bits each, least significant first). */
function denseAll(v: number): Buffer {
  const regs = Buffer.alloc(12288);
  for (let i = 0; i < 16384; i++) {
    const bit = i * 6;
    const byte = bit >> 3;
    const fb = bit & 7;
    regs[byte] = regs[byte]! | ((v << fb) & 0xff);
    if (fb > 2) regs[byte + 1] = regs[byte + 1]! | (v >> (8 - fb));
  }
  return Buffer.concat([header(0), regs]);
}

t.test('malformed and corrupted HLL strings', async (tt) => {
  const xzero = (n: number) => Buffer.from([0x40 | ((n - 1) >> 8), (n - 1) & 0xff]);
  const cases: [string, Buffer][] = [
    ['short', Buffer.from('HYLL')],
    ['bad magic', Buffer.concat([Buffer.from('HYLX'), Buffer.alloc(12), xzero(16384)])],
    ['encoding 2', Buffer.concat([header(2), xzero(16384)])],
    ['dense too short', Buffer.concat([header(0), Buffer.alloc(12287)])],
    ['dense too long', Buffer.concat([header(0), Buffer.alloc(12289)])],
    ['sparse without opcodes', header(1)],
    ['sparse short of 16384', Buffer.concat([header(1), xzero(16383)])],
    ['sparse over 16384', Buffer.concat([header(1), xzero(16384), Buffer.from([0x80])])],
    ['sparse VAL past the end', Buffer.concat([header(1), xzero(16383), Buffer.from([0x83])])],
    ['corrupt body, valid cache', Buffer.concat([header(1, 42), xzero(100)])],
    ['dense, registers all 40', denseAll(40)],
    ['dense, registers all 51', denseAll(51)],
    ['dense, registers all 63', denseAll(63)],
  ];
  const expected = [HLL_WRONGTYPE, HLL_WRONGTYPE, HLL_WRONGTYPE, HLL_WRONGTYPE, HLL_WRONGTYPE, INVALIDOBJ, INVALIDOBJ, INVALIDOBJ, INVALIDOBJ, 42,
    12994641697113596n, -9223372036854775808n, -9223372036854775808n];
  for (let i = 0; i < cases.length; i++) {
    const [name, bytes] = cases[i]!;
    await run(['SET', 'bad', bytes]);
    tt.same(await run(['PFCOUNT', 'bad']), expected[i], `PFCOUNT: ${name}`);
    const cmds: (string | Buffer)[][] = [
      ['SET', 'bad', bytes], ['PFCOUNT', 'bad'], ['PFADD', 'bad', 'a', 'b', 'c', 'd', 'e'], ['GET', 'bad'], ['PFCOUNT', 'bad'],
      ['SET', '{h}bad', bytes], ['PFADD', '{h}ok', 'q'], ['PFCOUNT', '{h}ok', '{h}bad'], ['PFMERGE', '{h}ok', '{h}bad'], ['GET', '{h}ok'],
      ['PFMERGE', '{h}bad', '{h}ok'], ['GET', '{h}bad'],
    ];
    await same(tt, cmds, name);
    await flushBoth();
  }
  await run(['SET', '{h}bad', Buffer.concat([header(1), xzero(16383)])]);
  tt.same(await run(['PFCOUNT', '{h}bad', '{h}none']), INVALIDOBJ);
  tt.same(await run(['PFMERGE', '{h}dst', '{h}bad']), INVALIDOBJ);
  tt.equal(await run(['EXISTS', '{h}dst']), 0, 'a failed merge creates nothing');
});

t.test('promotion sparse -> dense at 3000 bytes', async (tt) => {
  // Adding distinct elements one by one grows the sparse form until an edit would pass 3000 bytes.
  let last = 0;
  let promotedAt = -1;
  for (let i = 0; i < 5000 && promotedAt < 0; i += 50) {
    const c = ['PFADD', 'p'];
    for (let j = i; j < i + 50; j++) c.push(`p${j}`);
    await run(c);
    const len = (await run(['STRLEN', 'p'])) as number;
    if (len === 12304) promotedAt = i;
    else {
      tt.ok(len <= 3000, `sparse stays within 3000 bytes (${len})`);
      last = len;
    }
  }
  tt.ok(promotedAt > 0 && last > 2500, `promoted to dense after ${promotedAt} elements at ${last} sparse bytes`);
  const bytes = (await client.run(['GET', 'p'], { buffers: true })) as Buffer;
  tt.equal(bytes[4], 0, 'encoding byte says dense');
  // (A register value above 32, which no sparse VAL can hold, promotes too: see test/shard/sketches.test.ts.)
});

t.test('TTL, type, encoding, rename and copy across workers, memory usage', async (tt) => {
  await run(['PFADD', 'ttl', 'a']);
  await run(['EXPIRE', 'ttl', '1000']);
  await run(['PFADD', 'ttl', 'b', 'c']);
  for (let i = 0; i < 5000; i += 500) await run(['PFADD', 'ttl', ...Array.from({ length: 500 }, (_, j) => `t${i + j}`)]);
  tt.equal(await run(['STRLEN', 'ttl']), 12304, 'promoted to dense');
  const ttl = (await run(['TTL', 'ttl'])) as number;
  tt.ok(ttl > 990 && ttl <= 1000, `TTL survives PFADD and promotion (${ttl})`);
  const card = (await run(['PFCOUNT', 'ttl'])) as number;
  tt.ok(Math.abs(card - 5003) < 100, `PFCOUNT ${card} near 5003`);
  tt.ok(((await run(['TTL', 'ttl'])) as number) > 990, 'TTL survives PFCOUNT caching');
  tt.equal(await run(['OBJECT', 'ENCODING', 'ttl']), 'raw');
  const before = (await client.run(['GET', 'ttl'], { buffers: true })) as Buffer;
  // Keys without a common tag: on Shoal they live on different workers.
  let other = 'renamed';
  for (let i = 0; keySlot(other) < 8192 === keySlot('ttl') < 8192; i++) other = `renamed${i}`;
  tt.equal(await run(['RENAME', 'ttl', other]), 'OK');
  tt.same(await client.run(['GET', other], { buffers: true }), before, 'RENAME keeps the bytes');
  tt.equal(await run(['PFCOUNT', other]), card);
  tt.ok(((await run(['TTL', other])) as number) > 990, 'RENAME keeps the TTL');
  tt.equal(await run(['COPY', other, 'ttl']), 1);
  tt.equal(await run(['PFADD', 'ttl', ...Array.from({ length: 200 }, (_, i) => `more${i}`)]), 1);
  tt.equal(await run(['PFCOUNT', other]), card, 'the copy is independent');
  const small = (await run(['PFADD', 'small', 'x'])) as number;
  tt.equal(small, 1);
  const mSmall = (await run(['MEMORY', 'USAGE', 'small'])) as number;
  const mBig = (await run(['MEMORY', 'USAGE', 'ttl'])) as number;
  tt.ok(mBig > mSmall + 12000, `MEMORY USAGE grows: ${mSmall} -> ${mBig}`);
  tt.equal(await run(['DEL', 'ttl', other, 'small']), 3);
  tt.equal(await run(['EXISTS', 'ttl']), 0);
  tt.equal(await run(['DBSIZE']), 0, 'nothing left');
});

t.test('RESP3 and a real client (ioredis)', async (tt) => {
  const c3 = await RespClient.connect(target.port);
  tt.teardown(() => c3.close());
  await c3.run(['HELLO', '3']);
  tt.equal(await c3.run(['PFADD', '{h}r3', 'a', 'b']), 1);
  tt.equal(await c3.run(['PFCOUNT', '{h}r3']), 2);
  tt.equal(await c3.run(['PFMERGE', '{h}r4', '{h}r3']), 'OK');
  tt.equal((await c3.runRaw(['PFCOUNT', '{h}r3', '{h}r4'])).toString(), ':2\r\n');
  const r = new Redis({ host: '127.0.0.1', port: target.port, maxRetriesPerRequest: 1, retryStrategy: () => null });
  tt.teardown(() => r.quit().catch(() => r.disconnect()));
  tt.equal(await r.pfadd('io', 'a', 'b', 'c'), 1);
  tt.equal(await r.pfadd('io', 'a'), 0);
  tt.equal(await r.pfcount('io'), 3);
  tt.equal(await r.pfadd('{io}x', 'x', 'y'), 1);
  tt.equal(await r.pfadd('{io}y', 'y', 'z'), 1);
  tt.equal(await r.pfmerge('{io}z', '{io}x', '{io}y'), 'OK');
  tt.equal(await r.pfcount('{io}z'), 3);
  tt.equal(await r.pfcount('{io}x', '{io}y'), 3);
  const raw = await r.getBuffer('io');
  tt.equal(raw?.subarray(0, 4).toString(), 'HYLL');
});

/** Two key names owned by different workers of a 2-worker Shoal (any two keys on redis). */
function onTwoWorkers(prefix: string): [string, string] {
  const a = `${prefix}:a`;
  for (let i = 0; ; i++) {
    const b = `${prefix}:b${i}`;
    if (keySlot(a) < 8192 !== keySlot(b) < 8192) return [a, b];
  }
}

t.test('PFCOUNT and PFMERGE with keys on different workers', async (tt) => {
  const [a, b] = onTwoWorkers('x');
  const [c] = onTwoWorkers('y');
  const cmds: (string | Buffer)[][] = [
    ['PFADD', a, ...elements(300, 5, 0)], ['PFADD', b, ...elements(5000, 6, 1)], ['PFADD', c, 'z'],
  ];
  // One command at a time: each result is awaited before the next command is sent.
  for (const cmd of cmds) await same(tt, [cmd], 'sources');
  for (const cmd of [['PFCOUNT', a, b], ['PFCOUNT', b, a, 'nothing'], ['PFMERGE', c, a, b], ['GET', c], ['PFCOUNT', c], ['GET', c], ['PFMERGE', a, b], ['GET', a]]) {
    await same(tt, [cmd], cmd.slice(0, 2).join(' '));
  }
  tt.equal(await run(['DBSIZE']), 3, 'no temporary keys left');
});

t.test('directly on a worker', async (tt) => {
  if (!isShoal) return void tt.pass('skipped: Shoal workers only');
  const port = target.workerPorts[0]!;
  const w = await RespClient.connect(port);
  tt.teardown(() => w.close());
  let key = 'w';
  for (let i = 0; keySlot(key) >= 8192; i++) key = `w${i}`;
  tt.equal(await w.run(['PFADD', key, 'a', 'b', 'c']), 1);
  tt.equal(await w.run(['PFCOUNT', key]), 3);
  tt.equal(await w.run(['PFMERGE', key, key]), 'OK');
  tt.equal(await w.run(['PFCOUNT', key]), 3);
  tt.equal(await run(['PFCOUNT', key]), 3, 'the proxy sees the same key');
});
