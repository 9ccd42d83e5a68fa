// Replication between one primary worker and its replica, as real processes
// (test/helpers/replication.ts: two Shoal shard processes on a topology with a replica
// set, or with SHOAL_TEST_TARGET=redis a Redis Cluster primary + replica, the spec):
// every data type and command family replicates (scripted, then a seeded random
// workload of 20,000 commands), absolute expiry times replicate and keys the primary
// expires reach the replica as DELs, replicas refuse writes (MOVED to the primary;
// READONLY reads; keyless writes -READONLY), ROLE and INFO replication have Redis's
// fields, keys the primary evicts reach the replica as DELs, WAIT counts acks and
// min-replicas-to-write refuses writes with -NOREPLICAS when the replica stops acking
// (never while it is healthy). Shoal only: two workers per process = two groups.
//
// After writes, every comparison first waits for WAIT 1 and for the replica's
// slave_repl_offset to reach the primary's master_repl_offset (bounded), then reads
// both keyspaces (test/helpers/keyspace-diff.ts).

import t, { type Test } from 'tap';
import { ReplPair, hasCommand, infoOf, once, useReplPair } from '../helpers/replication.js';
import { diffKeyspaces, readKeyspace } from '../helpers/keyspace-diff.js';
import { BLOOM_UNIVERSE, replicationWorkload } from '../helpers/repl-workload.js';
import { keySlot } from '../helpers/cluster.js';
import { RespClient, sleep, type RespValue } from '../helpers/run.js';

// When the pair cannot start with its link up, that is the one failure to report and
// every test below is skipped with it (they would all fail for the same reason).
let pair!: ReplPair;
let primary!: RespClient;
let replica!: RespClient;
let hasBloom = false;
let startError: string | null = null;
try {
  pair = await useReplPair(t);
  primary = await RespClient.connect(pair.primaryPort);
  replica = await RespClient.connect(pair.replicaPort);
  t.teardown(() => primary.close());
  t.teardown(() => replica.close());
  hasBloom = await hasCommand(pair.primaryPort, 'BF.ADD');
  t.comment(`target: ${pair.kind}, primary :${pair.primaryPort} (pid ${pair.primary.pid}), replica :${pair.replicaPort} (pid ${pair.replica?.pid}), bloom filters: ${hasBloom}`);
} catch (e) {
  startError = `primary + replica did not start with the replication link up: ${(e as Error).message}`;
  t.fail(startError);
}
const test = (name: string, fn: (t: Test) => Promise<void>): void => {
  t.test(name, startError === null ? {} : { skip: 'the pair did not start (see the failure above)' }, fn);
};

const isErr = (v: RespValue): v is { error: string } => v !== null && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v) && 'error' in v;

/** Runs scripted writes on the primary; every reply must be a non-error. */
async function writeAll(t: Test, cmds: readonly (readonly (string | Buffer)[])[]): Promise<void> {
  const errors: string[] = [];
  for (const c of cmds) {
    const r = await primary.run(c);
    if (isErr(r)) errors.push(`${c.map(String).join(' ').slice(0, 80)} → ${r.error}`);
  }
  t.same(errors, [], `${cmds.length} scripted writes answered without errors`);
}

/** WAIT 1 on the primary, then the replica offset catch-up; both bounded. */
async function synced(t: Test, timeoutMs = 20_000): Promise<void> {
  const acked = await primary.run(['WAIT', '1', String(timeoutMs)], { timeoutMs: timeoutMs + 5000 });
  t.equal(acked, 1, 'WAIT 1 → 1 replica acknowledged');
  await pair.waitCaughtUp(timeoutMs);
}

async function compareKeyspaces(t: Test, ttlToleranceMs: number): Promise<number> {
  const want = await readKeyspace(pair.primaryPort, { bloomProbe: BLOOM_UNIVERSE });
  // Reading the primary may expire keys lazily (DELs into the stream): catch up again.
  await pair.waitCaughtUp(20_000);
  const got = await readKeyspace(pair.replicaPort, { bloomProbe: BLOOM_UNIVERSE });
  t.same(diffKeyspaces(want, got, ttlToleranceMs), [], `replica keyspace equals the primary's (${want.size} keys on the primary, ${got.size} on the replica)`);
  return want.size;
}

const readOnReplica = async (argv: string[]): Promise<RespValue> => {
  await replica.run(['READONLY']);
  return replica.run(argv);
};

test('every data type replicates (scripted), then FLUSHALL', async (t) => {
  await primary.run(['FLUSHALL']);
  await writeAll(t, [
    // strings
    ['SET', '{r}plain', 'hello'],
    ['SET', '{r}ex', 'v', 'EX', '1000'],
    ['SET', 's:px', 'v', 'PX', '2000000'],
    ['SET', 's:keep', 'v1', 'EX', '1500'],
    ['SET', 's:keep', 'v2', 'KEEPTTL'],
    ['INCRBYFLOAT', 's:float', '10.5'],
    ['INCRBYFLOAT', 's:float', '0.25'],
    ['INCRBYFLOAT', 's:float', '5.0e3'],
    ['APPEND', 's:app', 'foo'],
    ['APPEND', 's:app', 'bar'],
    ['SETRANGE', 's:range', '5', 'xyz'],
    ['SETRANGE', '{r}plain', '0', 'J'],
    ['INCR', 's:counter'],
    ['INCRBY', 's:counter', '41'],
    ['SET', 's:big', 'x'.repeat(2_000_000)],
    ['APPEND', 's:big', 'tail'],
    ['SET', 's:gone', 'v'],
    ['EXPIRE', 's:gone', '-1'],
    ['SET', 's:persisted', 'v', 'EX', '100'],
    ['GETEX', 's:persisted', 'PERSIST'],
    // lists
    ['RPUSH', '{l}a', '1', '2', '3', '4', '5'],
    ['LMOVE', '{l}a', '{l}b', 'LEFT', 'RIGHT'],
    ['LMOVE', '{l}a', '{l}b', 'RIGHT', 'LEFT'],
    ['LPUSH', '{l}b', 'head'],
    ['LSET', '{l}b', '-1', 'tail'],
    ['LINSERT', '{l}a', 'BEFORE', '3', 'ins'],
    ['RPOP', '{l}a'],
    // hashes
    ['HSET', 'h', 'f1', 'v1', 'f2', 'v2', 'f3', 'v3'],
    ['HINCRBYFLOAT', 'h', 'fl', '1.5'],
    ['HINCRBYFLOAT', 'h', 'fl', '2.25'],
    ['HINCRBY', 'h', 'n', '7'],
    ['HDEL', 'h', 'f2'],
    // sets
    ['SADD', 'set', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'],
    ['SPOP', 'set', '3'],
    ['SPOP', 'set'],
    ['SREM', 'set', 'a'],
    ['SADD', '{s}x', '1', '2', '3'],
    ['SADD', '{s}y', '2', '3', '4'],
    ['SINTERSTORE', '{s}i', '{s}x', '{s}y'],
    // sorted sets
    ['ZADD', '{z}a', '1', 'a', '2', 'b', '3', 'c', '4', 'd', '5.5', 'e'],
    ['ZADD', '{z}b', '10', 'c', '20', 'x', '-inf', 'low'],
    ['ZPOPMIN', '{z}a'],
    ['ZPOPMAX', '{z}a'],
    ['ZINCRBY', '{z}a', '0.25', 'b'],
    ['ZUNIONSTORE', '{z}u', '2', '{z}a', '{z}b', 'WEIGHTS', '2', '1'],
    ['ZINTERSTORE', '{z}i', '2', '{z}a', '{z}b', 'AGGREGATE', 'MAX'],
    // bitmaps
    ['SETBIT', '{b}x', '7', '1'],
    ['SETBIT', '{b}x', '100', '1'],
    ['SETBIT', '{b}y', '3', '1'],
    ['BITOP', 'OR', '{b}or', '{b}x', '{b}y'],
    ['BITOP', 'NOT', '{b}not', '{b}x'],
    ['BITFIELD', '{b}f', 'SET', 'u8', '0', '200', 'INCRBY', 'u8', '0', '100', 'OVERFLOW', 'SAT', 'INCRBY', 'i8', '8', '200'],
    // HyperLogLog
    ['PFADD', '{p}a', 'a', 'b', 'c'],
    ['PFADD', '{p}b', 'c', 'd', 'e', 'f'],
    ['PFMERGE', '{p}m', '{p}a', '{p}b'],
    // TTLs on every type
    ['EXPIRE', 'h', '1000'],
    ['PEXPIRE', '{l}b', '3000000'],
    ['EXPIREAT', 'set', String(Math.floor(Date.now() / 1000) + 5000)],
    ['PEXPIREAT', '{z}u', String(Date.now() + 4_000_000)],
    // a transaction
    ['MULTI'], ['INCR', '{t}c'], ['LPUSH', '{t}l', 'a'], ['HSET', '{t}h', 'a', '1'], ['SET', '{t}s', 'x', 'EX', '900'], ['EXEC'],
    // renames and copies (TTL travels along)
    ['RENAME', '{r}plain', '{r}renamed'],
    ['COPY', '{l}b', '{l}b-copy'],
    ['COPY', '{r}ex', '{r}ex-copy'],
    ['RENAME', '{z}i', '{z}i2'],
  ]);
  // Binary keys and values with CR, LF, NUL and RESP markers: the stream must frame them by length.
  const binKey = Buffer.from('bin:\r\n*3\r\n$3\0key', 'latin1');
  const binValue = Buffer.from([0, 13, 10, 36, 42, 0xff, 0x80, 13, 10, 0]);
  t.equal(await primary.run(['SET', binKey, binValue]), 'OK', 'SET of a binary key and value');
  t.equal(await primary.run(['HSET', 'h:bin', binValue, binKey]), 1, 'HSET with a binary field and value');
  if (hasBloom) {
    await writeAll(t, [
      ['BF.ADD', 'bf', 'apple'],
      ['BF.MADD', 'bf', 'pear', 'm1', 'm2'],
      ['BF.RESERVE', 'bf2', '0.001', '500'],
      ['BF.INSERT', 'bf2', 'ITEMS', 'm3', 'm4', 'm5'],
      ['BF.INSERT', 'bf3', 'CAPACITY', '10', 'ERROR', '0.1', 'ITEMS', ...BLOOM_UNIVERSE.slice(0, 50)],
    ]);
  }

  // Blocking pops served later: the pop happens when the push arrives; the replica
  // must see the list after the pop, not the push alone.
  const blocker = await RespClient.connect(pair.primaryPort);
  t.teardown(() => blocker.close());
  const blpop = blocker.run(['BLPOP', '{l}wait', '10'], { timeoutMs: 15_000 });
  await sleep(100);
  t.equal(await primary.run(['RPUSH', '{l}wait', 'x', 'y']), 2, 'RPUSH while a client blocks');
  t.same(await blpop, ['{l}wait', 'x'], 'the blocked BLPOP is served');
  const blmove = blocker.run(['BLMOVE', '{l}src', '{l}dst', 'LEFT', 'RIGHT', '10'], { timeoutMs: 15_000 });
  await sleep(100);
  t.equal(await primary.run(['LPUSH', '{l}src', 'q']), 1, 'LPUSH while a client blocks in BLMOVE');
  t.equal(await blmove, 'q', 'the blocked BLMOVE is served');
  const bzpop = blocker.run(['BZPOPMIN', '{z}wait', '10'], { timeoutMs: 15_000 });
  await sleep(100);
  await primary.run(['ZADD', '{z}wait', '1', 'one', '2', 'two']);
  t.same(await bzpop, ['{z}wait', 'one', '1'], 'the blocked BZPOPMIN is served');

  await synced(t);
  const keys = await compareKeyspaces(t, 0);
  t.ok(keys >= 35, `the comparison covered ${keys} keys`);

  // Spot checks on the replica itself (a comparison of two empty keyspaces would pass).
  t.equal(await readOnReplica(['GET', 's:float']), '5010.75', 'INCRBYFLOAT result on the replica');
  t.equal(await readOnReplica(['GET', '{r}renamed']), 'Jello', 'SETRANGE + RENAME on the replica');
  t.equal(await readOnReplica(['GET', 's:range']), '\0\0\0\0\0xyz', 'SETRANGE zero-pads on the replica');
  t.equal(await readOnReplica(['GET', 's:keep']), 'v2', 'SET KEEPTTL value');
  t.equal(await readOnReplica(['STRLEN', 's:big']), 2_000_004, 'a 2 MB string (+ APPEND) on the replica');
  t.equal(await readOnReplica(['EXISTS', 's:gone']), 0, 'EXPIRE with a negative time deleted the key on the replica');
  t.equal(await readOnReplica(['TTL', 's:persisted']), -1, 'GETEX PERSIST on the replica');
  t.same(await replica.run(['GET', binKey], { buffers: true }), binValue, 'the binary key and value on the replica');
  t.ok(Number(await readOnReplica(['TTL', 's:keep'])) > 1400, 'SET KEEPTTL kept the TTL on the replica');
  t.same(await readOnReplica(['LRANGE', '{l}wait', '0', '-1']), ['y'], 'the list after the served BLPOP');
  t.same(await readOnReplica(['LRANGE', '{l}dst', '0', '-1']), ['q'], 'BLMOVE destination on the replica');
  t.equal(await readOnReplica(['EXISTS', '{l}src']), 0, 'BLMOVE emptied its source on the replica');
  t.same(await readOnReplica(['ZRANGE', '{z}wait', '0', '-1']), ['two'], 'the zset after the served BZPOPMIN');
  t.equal(await readOnReplica(['HGET', 'h', 'fl']), '3.75', 'HINCRBYFLOAT on the replica');
  const members = async (c: Promise<RespValue>): Promise<string[]> => ((await c) as string[]).slice().sort();
  const left = await members(readOnReplica(['SMEMBERS', 'set']));
  t.ok(left.length === 5 || left.length === 6, `SPOP x4 + SREM: ${left.length} members left on the replica`);
  t.same(left, await members(primary.run(['SMEMBERS', 'set'])), 'SPOP removed the same members on both sides');
  t.equal(await readOnReplica(['PFCOUNT', '{p}m']), 6, 'PFMERGE on the replica');
  t.equal(await readOnReplica(['GETBIT', '{b}or', '3']), 1, 'BITOP OR on the replica');
  await replica.run(['READONLY']);
  const bf = (await replica.run(['GET', '{b}f'], { buffers: true })) as Buffer;
  t.same([...bf], [44, 127], 'BITFIELD wrap (u8 200+100 = 44) and saturation (i8 → 127) on the replica');
  t.same(await readOnReplica(['LRANGE', '{t}l', '0', '-1']), ['a'], 'MULTI/EXEC effects on the replica');
  t.equal(await readOnReplica(['GET', '{t}c']), '1', 'MULTI/EXEC INCR on the replica');
  if (hasBloom) {
    t.same(await readOnReplica(['BF.MEXISTS', 'bf', 'apple', 'pear', 'm1', 'm2']), [1, 1, 1, 1], 'BF.ADD/BF.MADD items on the replica');
    t.same(await readOnReplica(['BF.EXISTS', 'bf2', 'm4']), 1, 'BF.RESERVE + BF.INSERT on the replica');
  }

  t.equal(await primary.run(['FLUSHALL']), 'OK', 'FLUSHALL on the primary');
  await synced(t);
  t.equal(await readOnReplica(['DBSIZE']), 0, 'FLUSHALL replicated: the replica is empty');
});

test('TTLs: the same absolute expiry on the replica; keys the primary expires arrive as DEL', async (t) => {
  await primary.run(['FLUSHALL']);
  const at = Date.now() + 3_600_000;
  await writeAll(t, [
    ['SET', 'ttl:expire', 'v'], ['EXPIRE', 'ttl:expire', '1000'],
    ['SET', 'ttl:ex', 'v', 'EX', '2000'],
    ['SET', 'ttl:px', 'v', 'PX', '2500000'],
    ['SET', 'ttl:pxat', 'v', 'PXAT', String(at)],
    ['SET', 'ttl:getex', 'v'], ['GETEX', 'ttl:getex', 'EX', '3000'],
    ['SET', 'ttl:setex', 'v'], ['SETEX', 'ttl:setex', '4000', 'w'],
    ['RPUSH', 'ttl:list', 'a'], ['PEXPIRE', 'ttl:list', '5000000'],
    ['SET', 'ttl:persist', 'v', 'EX', '100'], ['PERSIST', 'ttl:persist'],
  ]);
  await synced(t);
  for (const k of ['ttl:expire', 'ttl:ex', 'ttl:px', 'ttl:pxat', 'ttl:getex', 'ttl:setex', 'ttl:list', 'ttl:persist']) {
    const p = await primary.run(['PEXPIRETIME', k]);
    const r = await readOnReplica(['PEXPIRETIME', k]);
    t.equal(r, p, `PEXPIRETIME ${k}: replica ${String(r)} = primary ${String(p)}`);
  }
  t.equal(await readOnReplica(['PEXPIRETIME', 'ttl:pxat']), at, 'PXAT exact on the replica');
  t.equal(await readOnReplica(['PEXPIRETIME', 'ttl:persist']), -1, 'PERSIST replicated');

  // Keys that expire while the primary is stopped: the replica never deletes them on its
  // own (DBSIZE still counts them) but answers reads as if they were gone; once the
  // primary runs again, its DELs (lazy on access, active for the untouched key) arrive.
  await primary.run(['FLUSHALL']);
  await writeAll(t, [['SET', 'e:lazy', 'v', 'PX', '300'], ['SET', 'e:active', 'v', 'PX', '300'], ['SET', 'e:keep', 'v']]);
  await synced(t);
  t.equal(await readOnReplica(['DBSIZE']), 3, 'replica holds the 3 keys');
  await pair.primary.freeze();
  try {
    await sleep(600);
    t.equal(await readOnReplica(['GET', 'e:lazy']), null, 'a logically expired key reads as nil on the replica');
    t.equal(await readOnReplica(['EXISTS', 'e:active']), 0, 'EXISTS of a logically expired key is 0 on the replica');
    t.equal(await readOnReplica(['DBSIZE']), 3, 'the replica did not delete expired keys on its own (DBSIZE 3 while the primary is stopped)');
  } finally {
    pair.primary.signalPid('SIGCONT');
  }
  t.equal(await primary.run(['GET', 'e:lazy']), null, 'GET on the primary expires e:lazy');
  let size: RespValue = -1;
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    size = await readOnReplica(['DBSIZE']);
    if (size === 1) break;
    await sleep(50);
  }
  t.equal(size, 1, 'the primary\'s DELs reached the replica (lazy and active expiry): DBSIZE 1 within 5 s');
  t.equal(await readOnReplica(['GET', 'e:keep']), 'v', 'the key without TTL is still there');
});

test('a seeded random workload of 20,000 commands over every type: the replica equals the primary', async (t) => {
  await primary.run(['FLUSHALL']);
  const seed = Number(process.env['SHOAL_REPL_SEED'] ?? 0x5eed);
  const cmds = replicationWorkload({ seed, count: 20_000, bloom: hasBloom });
  t.comment(`seed ${seed} (SHOAL_REPL_SEED replays it), ${cmds.length} commands`);
  const started = Date.now();
  const errors = new Map<string, number>();
  const CHUNK = 500;
  for (let i = 0; i < cmds.length; i += CHUNK) {
    const replies = await Promise.all(cmds.slice(i, i + CHUNK).map((c) => primary.run(c, { timeoutMs: 30_000 })));
    for (const r of replies) {
      if (isErr(r)) {
        const kind = r.error.split(' ')[0] ?? r.error;
        errors.set(kind, (errors.get(kind) ?? 0) + 1);
      }
    }
  }
  const errorCount = [...errors.values()].reduce((a, b) => a + b, 0);
  t.comment(`workload ran in ${Date.now() - started} ms; error replies by kind: ${JSON.stringify(Object.fromEntries(errors))}`);
  t.ok(errorCount < cmds.length * 0.05, `fewer than 5% error replies (${errorCount}): the workload mostly writes`);
  t.notOk(errors.has('CROSSSLOT') || errors.has('MOVED'), 'no CROSSSLOT / MOVED: the workload keeps to one slot per command');
  // Let the short TTLs (≤ 400 ms) run out so both sides agree on which keys exist.
  await sleep(500);
  await synced(t, 30_000);
  const keys = await compareKeyspaces(t, 100);
  t.ok(keys > 300, `the workload left ${keys} keys to compare`);
});

test('replicas reject writes: MOVED to the primary; READONLY lets a direct client read', async (t) => {
  await primary.run(['FLUSHALL']);
  await writeAll(t, [['SET', 'ro:key', 'value'], ['RPUSH', 'ro:list', 'a', 'b']]);
  await synced(t);
  const c = await RespClient.connect(pair.replicaPort);
  t.teardown(() => c.close());
  const moved = (key: string): { error: string } => ({ error: `MOVED ${keySlot(key)} 127.0.0.1:${pair.primaryPort}` });
  t.same(await c.run(['SET', 'ro:key', 'other']), moved('ro:key'), 'SET on the replica → MOVED to the primary');
  t.same(await c.run(['GET', 'ro:key']), moved('ro:key'), 'GET on the replica without READONLY → MOVED');
  t.equal(await c.run(['READONLY']), 'OK', 'READONLY → +OK');
  t.equal(await c.run(['GET', 'ro:key']), 'value', 'GET after READONLY is served by the replica');
  t.same(await c.run(['LRANGE', 'ro:list', '0', '-1']), ['a', 'b'], 'LRANGE after READONLY is served by the replica');
  t.same(await c.run(['SET', 'ro:key', 'other']), moved('ro:key'), 'SET after READONLY is still MOVED');
  t.same(await c.run(['DEL', 'ro:key']), moved('ro:key'), 'DEL after READONLY is MOVED');
  t.same(await c.run(['INCR', 'ro:n']), moved('ro:n'), 'INCR after READONLY is MOVED');
  t.equal(await c.run(['READWRITE']), 'OK', 'READWRITE → +OK');
  t.same(await c.run(['GET', 'ro:key']), moved('ro:key'), 'GET after READWRITE → MOVED again');
  t.equal(await primary.run(['GET', 'ro:key']), 'value', 'the refused writes did not reach the primary');
  // Keyless writes cannot be redirected: the replica refuses them and keeps its data.
  const readonlyErr = { error: "READONLY You can't write against a read only replica." };
  t.same(await c.run(['FLUSHALL']), readonlyErr, 'FLUSHALL on the replica → -READONLY');
  t.same(await c.run(['FLUSHDB']), readonlyErr, 'FLUSHDB on the replica → -READONLY');
  await c.run(['READONLY']);
  t.equal(await c.run(['DBSIZE']), 2, 'the replica still holds its 2 keys');
  // A transaction with a redirected write is discarded, as Redis Cluster does.
  t.equal(await c.run(['MULTI']), 'OK', 'MULTI on the replica');
  t.same(await c.run(['SET', 'ro:key', 'in-multi']), moved('ro:key'), 'SET inside MULTI → MOVED');
  t.same(await c.run(['EXEC']), { error: 'EXECABORT Transaction discarded because of previous errors.' }, 'EXEC → EXECABORT');
  await c.run(['READWRITE']);
  const replicaof = { error: 'ERR REPLICAOF not allowed in cluster mode.' };
  t.same(await c.run(['REPLICAOF', 'NO', 'ONE']), replicaof, 'REPLICAOF NO ONE refused on the replica');
  t.same(await c.run(['SLAVEOF', '127.0.0.1', '1']), replicaof, 'SLAVEOF refused on the replica');
  t.same(await primary.run(['REPLICAOF', '127.0.0.1', String(pair.replicaPort)]), replicaof, 'REPLICAOF refused on the primary');
  const wait = await c.run(['WAIT', '1', '100']);
  t.ok(isErr(wait) && wait.error.startsWith('ERR WAIT cannot be used with replica instances'), `WAIT on a replica is an error (${JSON.stringify(wait)})`);
});

test('ROLE and INFO replication on both sides, with the fields of a redis primary/replica pair', async (t) => {
  await primary.run(['SET', 'role:k', 'v']);
  await synced(t);
  const pRole = (await primary.run(['ROLE'])) as RespValue[];
  t.equal(pRole?.[0], 'master', 'ROLE on the primary: master');
  t.type(pRole?.[1], 'number', 'ROLE on the primary: its offset');
  const replicas = pRole?.[2] as RespValue[][] | undefined;
  t.equal(replicas?.length, 1, 'ROLE on the primary lists 1 replica');
  t.equal(replicas?.[0]?.[0], '127.0.0.1', 'replica ip');
  t.equal(replicas?.[0]?.[1], String(pair.replicaPort), 'replica port (a string, as Redis)');
  t.match(replicas?.[0]?.[2], /^\d+$/, 'replica offset (a string, as Redis)');

  const rRole = (await replica.run(['ROLE'])) as RespValue[];
  t.same(rRole?.slice(0, 4), ['slave', '127.0.0.1', pair.primaryPort, 'connected'], 'ROLE on the replica: slave, primary host/port, connected');
  t.type(rRole?.[4], 'number', 'ROLE on the replica: its offset');

  const pi = await infoOf(pair.primaryPort, 'replication');
  const ri = await infoOf(pair.replicaPort, 'replication');
  t.equal(pi.get('role'), 'master', 'primary role:master');
  t.equal(pi.get('connected_slaves'), '1', 'primary connected_slaves:1');
  t.match(pi.get('slave0'), new RegExp(`^ip=127\\.0\\.0\\.1,port=${pair.replicaPort},state=online,offset=\\d+,lag=\\d+$`), 'primary slave0 line');
  t.match(pi.get('master_replid'), /^[0-9a-f]{40}$/, 'master_replid: 40 hex chars');
  t.match(pi.get('master_replid2'), /^[0-9a-f]{40}$/, 'master_replid2: 40 hex chars');
  t.equal(pi.get('master_failover_state'), 'no-failover', 'master_failover_state:no-failover');
  t.equal(pi.get('repl_backlog_active'), '1', 'repl_backlog_active:1 with a replica');
  t.ok(Number(pi.get('master_repl_offset')) > 0, 'master_repl_offset > 0 after writes');
  t.ok(Number(pi.get('repl_backlog_histlen')) > 0, 'repl_backlog_histlen > 0');
  t.equal(ri.get('role'), 'slave', 'replica role:slave');
  t.equal(ri.get('master_host'), '127.0.0.1', 'replica master_host');
  t.equal(ri.get('master_port'), String(pair.primaryPort), 'replica master_port');
  t.equal(ri.get('master_link_status'), 'up', 'replica master_link_status:up');
  t.equal(ri.get('master_sync_in_progress'), '0', 'replica master_sync_in_progress:0');
  t.equal(ri.get('slave_read_only'), '1', 'replica slave_read_only:1');
  t.equal(ri.get('master_replid'), pi.get('master_replid'), 'replica and primary share master_replid');
  t.equal(ri.get('connected_slaves'), '0', 'replica connected_slaves:0');
  t.ok(Number(ri.get('slave_repl_offset')) > 0, 'slave_repl_offset > 0');
  const stats = await infoOf(pair.primaryPort, 'stats');
  for (const f of ['sync_full', 'sync_partial_ok', 'sync_partial_err']) t.match(stats.get(f), /^\d+$/, `INFO stats ${f} on the primary`);
  t.ok(Number(stats.get('sync_full')) >= 1, 'sync_full ≥ 1: the replica did a full sync at start');
  if (pair.kind === 'shoal') {
    for (const f of ['shoal_epoch', 'shoal_lease_ms_left']) {
      t.ok(pi.has(f), `primary INFO replication has ${f}`);
      t.ok(ri.has(f), `replica INFO replication has ${f}`);
    }
    // The spec: field names of a real redis primary/replica pair (Shoal may add shoal_*).
    const ref = await ReplPair.start({ kind: 'redis' });
    try {
      for (const [side, shoal, port] of [['primary', pi, ref.primaryPort], ['replica', ri, ref.replicaPort]] as const) {
        const redis = await infoOf(port, 'replication');
        t.same([...redis.keys()].filter((k) => !shoal.has(k)), [], `${side}: every redis INFO replication field is present`);
        t.same([...shoal.keys()].filter((k) => !redis.has(k) && !k.startsWith('shoal_')), [], `${side}: no fields redis lacks (besides shoal_*)`);
      }
      const redisRole = (await once(ref.replicaPort, ['ROLE'])) as RespValue[];
      t.equal(rRole?.length, redisRole.length, `ROLE on the replica has ${redisRole.length} elements, as redis`);
    } finally {
      await ref.stop();
    }
  }
});

test('keys the primary evicts under maxmemory reach the replica as DELs; the replica never evicts on its own', async (t) => {
  await primary.run(['FLUSHALL']);
  t.teardown(async () => {
    await primary.run(['CONFIG', 'SET', 'maxmemory', '0']);
    await primary.run(['CONFIG', 'SET', 'maxmemory-policy', 'noeviction']);
  });
  const replicaEvictedBefore = Number((await infoOf(pair.replicaPort, 'stats')).get('evicted_keys'));
  const used = Number((await infoOf(pair.primaryPort, 'memory')).get('used_memory'));
  t.equal(await primary.run(['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-random']), 'OK', 'maxmemory-policy allkeys-random on the primary');
  t.equal(await primary.run(['CONFIG', 'SET', 'maxmemory', String(used + 4 * 1024 * 1024)]), 'OK', `maxmemory = used_memory + 4 MB on the primary (${used} + 4 MB)`);
  const value = 'e'.repeat(2000);
  for (let i = 0; i < 6000; i += 200) {
    const replies = await Promise.all(Array.from({ length: 200 }, (_, j) => primary.run(['SET', `ev:${i + j}`, value])));
    const bad = replies.filter((r) => r !== 'OK');
    if (bad.length > 0) {
      t.fail(`SETs refused under allkeys-random: ${JSON.stringify(bad[0])}`);
      break;
    }
  }
  const evicted = Number((await infoOf(pair.primaryPort, 'stats')).get('evicted_keys'));
  t.ok(evicted > 0, `the primary evicted ${evicted} keys (12 MB written into 4 MB)`);
  // Lift the limit before reading, so the comparison itself cannot evict.
  await primary.run(['CONFIG', 'SET', 'maxmemory', '0']);
  await synced(t);
  const keys = await compareKeyspaces(t, 0);
  t.ok(keys > 0 && keys < 6000, `${keys} of 6,000 keys survived on both sides`);
  t.equal(Number((await infoOf(pair.replicaPort, 'stats')).get('evicted_keys')), replicaEvictedBefore, 'the replica evicted nothing itself (INFO stats evicted_keys unchanged)');
});

test('WAIT counts acking replicas; min-replicas-to-write refuses writes with -NOREPLICAS while the replica is stopped', async (t) => {
  await primary.run(['SET', 'w:k', '1']);
  t.equal(await primary.run(['WAIT', '1', '5000']), 1, 'WAIT 1 5000 → 1');
  await primary.run(['INCR', 'w:n0']);
  t.equal(await primary.run(['WAIT', '1', '0'], { timeoutMs: 5000 }), 1, 'WAIT 1 0 (no timeout) → 1 once the replica acks');
  const t0 = Date.now();
  t.equal(await primary.run(['WAIT', '2', '300']), 1, 'WAIT 2 300 → 1 (only one replica exists)');
  t.ok(Date.now() - t0 >= 250, `WAIT 2 300 waited for its timeout (${Date.now() - t0} ms)`);

  // A healthy replica acks at least every second: with max-lag 1 it must count as good
  // all the time, idle or not (no write refused while nothing is wrong).
  t.equal(await primary.run(['CONFIG', 'SET', 'min-replicas-max-lag', '1']), 'OK', 'CONFIG SET min-replicas-max-lag 1');
  t.equal(await primary.run(['CONFIG', 'SET', 'min-replicas-to-write', '1']), 'OK', 'CONFIG SET min-replicas-to-write 1 (replica running)');
  const refusedWhileHealthy: string[] = [];
  // Idle gaps longer than the lag limit between writes: an idle replica still acks every second.
  for (const idleMs of [0, 1300, 150, 1700, 100, 900]) {
    await sleep(idleMs);
    const r = await primary.run(['SET', 'w:healthy', String(idleMs)]);
    if (r !== 'OK') refusedWhileHealthy.push(`after ${idleMs} ms idle: ${JSON.stringify(r)}`);
  }
  t.same(refusedWhileHealthy, [], 'no write refused while the replica runs, even after idle gaps (it acks within min-replicas-max-lag)');
  t.equal(await primary.run(['CONFIG', 'SET', 'min-replicas-to-write', '0']), 'OK', 'min-replicas-to-write 0 again');

  await pair.replica!.freeze();
  t.teardown(() => pair.replica?.signalPid('SIGCONT'));
  try {
    await primary.run(['SET', 'w:k', '2']);
    t.equal(await primary.run(['WAIT', '1', '400']), 0, 'WAIT 1 400 → 0 while the replica is stopped');
    t.equal(await primary.run(['CONFIG', 'SET', 'min-replicas-max-lag', '1']), 'OK', 'CONFIG SET min-replicas-max-lag 1');
    t.equal(await primary.run(['CONFIG', 'SET', 'min-replicas-to-write', '1']), 'OK', 'CONFIG SET min-replicas-to-write 1');
    t.same(await primary.run(['CONFIG', 'GET', 'min-replicas-to-write']), ['min-replicas-to-write', '1'], 'CONFIG GET min-replicas-to-write');
    let reply: RespValue = null;
    const started = Date.now();
    while (Date.now() - started < 10_000) {
      reply = await primary.run(['SET', 'w:k', 'refused?']);
      if (isErr(reply)) break;
      await sleep(100);
    }
    t.same(reply, { error: 'NOREPLICAS Not enough good replicas to write.' }, `SET refused with -NOREPLICAS ${Date.now() - started} ms after the settings (replica stopped)`);
    const before = await primary.run(['GET', 'w:k']);
    t.same(await primary.run(['INCR', 'w:n']), { error: 'NOREPLICAS Not enough good replicas to write.' }, 'INCR refused too');
    t.equal(await primary.run(['GET', 'w:k']), before, 'reads still served; the refused write left no trace');
    t.equal(await primary.run(['EXISTS', 'w:n']), 0, 'the refused INCR was not applied');
  } finally {
    pair.replica!.signalPid('SIGCONT');
  }
  let reply: RespValue = null;
  const resumed = Date.now();
  while (Date.now() - resumed < 10_000) {
    reply = await primary.run(['SET', 'w:k', 'accepted']);
    if (reply === 'OK') break;
    await sleep(100);
  }
  t.equal(reply, 'OK', `writes accepted again ${Date.now() - resumed} ms after SIGCONT`);
  t.equal(await primary.run(['CONFIG', 'SET', 'min-replicas-to-write', '0']), 'OK', 'min-replicas-to-write back to 0');
  await synced(t);
  t.equal(await readOnReplica(['GET', 'w:k']), 'accepted', 'the replica has the accepted write');
});

// Shoal runs one replication group per worker thread: with 2 workers per shard process,
// each primary worker streams to its own replica worker, and each replica holds exactly
// its group's slots. (Redis has one group per process: nothing to compare.)
t.test('two workers per process: each group replicates its own slots', { skip: pair?.kind === 'redis' || startError !== null ? 'Shoal only, needs the pair' : false }, async (t) => {
  const two = await useReplPair(t, { workers: 2 });
  // staticWorkers splits the slots evenly: group 0 owns 0..8191, group 1 owns 8192..16383.
  const groupOf = (key: string): number => (keySlot(key) < 8192 ? 0 : 1);
  const clients = await Promise.all(two.groups.map((g) => RespClient.connect(g.primary)));
  t.teardown(() => Promise.all(clients.map((c) => c.close())));
  const perGroup = [0, 0];
  const writes = Array.from({ length: 4000 }, (_, i) => `multi:${i}`).map((k) => {
    const g = groupOf(k);
    perGroup[g]!++;
    return clients[g]!.run(['SET', k, `v:${k}`]);
  });
  const replies = await Promise.all(writes);
  t.equal(replies.filter((r) => r !== 'OK').length, 0, `4,000 SETs on the owning primary worker (${perGroup.join(' + ')})`);
  for (const [g, ports] of two.groups.entries()) {
    t.equal(await once(ports.primary, ['WAIT', '1', '10000'], 15_000), 1, `group ${g}: WAIT 1 → 1`);
  }
  await two.waitCaughtUp(20_000);
  for (const [g, ports] of two.groups.entries()) {
    const want = await readKeyspace(ports.primary);
    const got = await readKeyspace(ports.replica);
    t.equal(want.size, perGroup[g], `group ${g}: the primary worker holds its ${perGroup[g]} keys`);
    t.same(diffKeyspaces(want, got, 0), [], `group ${g}: the replica worker on :${ports.replica} equals its primary (${got.size} keys)`);
  }
});
