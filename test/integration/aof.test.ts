// The append-only log (shard/persistence/aof*.ts, write-stream.ts, recovery.ts): round
// trip of every data type and TTL through the log (kill -9, restart, compare), the
// propagation rewrites (relative TTLs, SPOP, INCRBYFLOAT, blocking pops served later,
// MULTI/EXEC, expiry), BGREWRITEAOF and
// auto rewrite, CONFIG SET appendonly at run time, and CONFIG SET through the proxy
// (torn tails and corruption: aof-torn.test.ts; crashes under load: aof-crash.test.ts).
// Shoal only: it kills and restarts a standalone shard process (`shoal-shard`).
import t from 'tap';
import { mkdtemp, rm, readdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RespClient, sleep, parseInfo, pollUntil, runMany } from '../helpers/run.js';
import { freePortRange, isRedis, useTarget } from '../helpers/cluster.js';
import { ShardProc, dumpState, restartShard, aofDir, incrFiles } from '../helpers/shard-process.js';
import { scanRecords } from '../../shard/persistence/aof-format.js';

if (isRedis) {
  t.pass('append-only log tests drive a Shoal shard process; nothing to check against redis-server');
} else {
  const root = await mkdtemp(path.join(os.tmpdir(), 'shoal-aof-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const port = await freePortRange(1);
  const ALWAYS = ['--appendonly', 'yes', '--appendfsync', 'always'];
  const restart = (dir: string, args: readonly string[], prev?: ShardProc) => restartShard(port, dir, args, prev);

  await t.test('every data type and TTL round-trips through the log (kill -9, restart)', async (t) => {
    const dir = path.join(root, 'roundtrip');
    let { p, c } = await restart(dir, ALWAYS);
    t.teardown(() => p.kill9());
    const big = Array.from({ length: 700 }, (_, i) => `m${i}`);
    const cmds: string[][] = [
      ['SET', '{t}str', 'hello'], ['SET', '{t}int', '12345'], ['APPEND', '{t}str', ' world'], ['SETRANGE', '{t}str', '0', 'J'],
      ['SET', '{t}bin', '\x00\x01\xff\r\n'], ['INCRBY', '{t}int', '5'], ['INCRBYFLOAT', '{t}flt', '1.25'], ['INCRBYFLOAT', '{t}flt', '0.1'],
      ['MSET', '{t}m1', 'a', '{t}m2', 'b'], ['SETNX', '{t}m1', 'zzz'], ['GETSET', '{t}m2', 'c'], ['GETDEL', '{t}m2'],
      ['SET', '{t}ex', 'v', 'EX', '1000'], ['SET', '{t}px', 'v', 'PX', '900000'], ['SETEX', '{t}setex', '500', 'v'], ['PSETEX', '{t}psetex', '500000', 'v'],
      ['SET', '{t}exat', 'v', 'EXAT', String(Math.floor(Date.now() / 1000) + 3000)], ['SET', '{t}keep', 'v', 'EX', '100'], ['SET', '{t}keep', '{t}w', 'KEEPTTL'],
      ['SET', '{t}e1', 'v'], ['EXPIRE', '{t}e1', '700'], ['SET', '{t}e2', 'v'], ['PEXPIRE', '{t}e2', '800000'], ['SET', '{t}e3', 'v'], ['EXPIREAT', '{t}e3', String(Math.floor(Date.now() / 1000) + 999)],
      ['SET', '{t}e4', 'v', 'EX', '100'], ['PERSIST', '{t}e4'], ['SET', '{t}gx', 'v'], ['GETEX', '{t}gx', 'EX', '600'], ['SET', '{t}gone', 'v'], ['EXPIRE', '{t}gone', '-1'],
      ['SET', '{t}gxp', 'v', 'EX', '50'], ['GETEX', '{t}gxp', 'PERSIST'],
      ['RPUSH', '{t}list', 'a', 'b', 'c', 'd'], ['LPUSH', '{t}list', 'z'], ['LPOP', '{t}list'], ['LSET', '{t}list', '0', 'A'], ['LINSERT', '{t}list', 'BEFORE', 'c', 'bc'], ['LTRIM', '{t}list', '0', '2'],
      ['RPUSH', '{t}biglist', ...big], ['LREM', '{t}biglist', '0', 'm5'], ['LMOVE', '{t}biglist', '{t}list', 'LEFT', 'RIGHT'],
      ['HSET', '{t}hash', 'f1', 'v1', 'f2', 'v2'], ['HINCRBY', '{t}hash', 'n', '7'], ['HINCRBYFLOAT', '{t}hash', 'x', '2.5'], ['HDEL', '{t}hash', 'f1'], ['HSETNX', '{t}hash', 'f2', 'no'],
      ['HSET', '{t}bighash', ...big.flatMap((m) => [m, m + 'v'])],
      ['SADD', '{t}iset', '1', '2', '3'], ['SADD', '{t}set', 'a', 'b', 'c', 'd', 'e'], ['SREM', '{t}set', 'a'], ['SADD', '{t}bigset', ...big],
      ['SINTERSTORE', '{t}sdst', '{t}set', '{t}set'], ['SMOVE', '{t}set', '{t}iset', 'b'],
      ['ZADD', '{t}zset', '1', 'a', '2', 'b', '3', 'c'], ['ZINCRBY', '{t}zset', '10', 'a'], ['ZREM', '{t}zset', 'b'], ['ZADD', '{t}bigz', ...big.flatMap((m, i) => [String(i / 3), m])],
      ['ZPOPMIN', '{t}bigz', '3'], ['ZREMRANGEBYRANK', '{t}bigz', '0', '5'], ['ZUNIONSTORE', '{t}zdst', '2', '{t}zset', '{t}bigz'],
      ['PFADD', '{t}hll', 'a', 'b', 'c'], ['SETBIT', '{t}bits', '100', '1'], ['BF.ADD', '{t}bloom', 'x'], ['BF.ADD', '{t}bloom', 'y'],
      ['SET', '{t}ren', 'v', 'EX', '900'], ['RENAME', '{t}ren', '{t}renamed'], ['COPY', '{t}hash', '{t}hashcopy'], ['DEL', '{t}m1', '{t}nothere'],
      ['SET', '{t}flushme', 'x'], ['UNLINK', '{t}flushme'],
    ];
    for (const cmd of cmds) {
      const r = await c.run(cmd);
      t.notMatch(JSON.stringify(r ?? null), /"error"/, `${cmd[0]} ${cmd[1]} ok`);
    }
    // Random pops are logged as what they popped.
    await c.run(['SPOP', '{t}bigset']);
    await c.run(['SPOP', '{t}bigset', '50']);
    await c.run(['SPOP', '{t}set', '100']); // empties it
    // MULTI/EXEC, and an EXEC aborted by WATCH (nothing logged).
    t.same(await c.run(['MULTI']), 'OK');
    await c.run(['INCR', '{t}tx1']);
    await c.run(['RPUSH', '{t}tx2', 'a']);
    await c.run(['SET', '{t}tx3', 'v', 'PX', '600000']);
    t.same(((await c.run(['EXEC'])) as unknown[]).length, 3);
    const c2 = await RespClient.connect(port);
    await c.run(['WATCH', '{t}w']);
    await c2.run(['SET', '{t}w', 'changed']);
    await c.run(['MULTI']);
    await c.run(['SET', '{t}w', 'mine']);
    t.same(await c.run(['EXEC']), null, 'aborted EXEC');
    // Blocking pops served later by another connection's write.
    const blpop = c2.run(['BLPOP', '{t}bq', '0']);
    await sleep(50);
    await c.run(['RPUSH', '{t}bq', 'x', 'y', 'z']);
    t.same(await blpop, ['{t}bq', 'x']);
    const blmove = c2.run(['BLMOVE', '{t}bsrc', '{t}bdst', 'RIGHT', 'LEFT', '0']);
    await sleep(50);
    await c.run(['RPUSH', '{t}bsrc', '1', '2']);
    t.same(await blmove, '2');
    const bz = c2.run(['BZPOPMIN', '{t}bz', '0']);
    await sleep(50);
    await c.run(['ZADD', '{t}bz', '5', 'five', '1', 'one']);
    t.same(await bz, ['{t}bz', 'one', '1']);
    const blm = c2.run(['BLMPOP', '0', '2', '{t}bm1', '{t}bm2', 'RIGHT', 'COUNT', '2']);
    await sleep(50);
    await c.run(['RPUSH', '{t}bm2', 'a', 'b', 'c']);
    t.same(await blm, ['{t}bm2', ['c', 'b']]);
    // Expiry propagates as DEL: a key that expired and was recreated as another type.
    await c.run(['SET', '{t}reborn', 'old', 'PX', '60']);
    await sleep(250);
    await c.run(['RPUSH', '{t}reborn', 'new']);
    await c.run(['SET', '{t}dies', 'x', 'PX', '30']);
    await sleep(200);
    await c2.close();

    const before = await dumpState(c);
    t.ok(Object.keys(before).length > 40, `${Object.keys(before).length} keys`);
    t.same((before['{t}reborn'] as { type: string }).type, 'list');
    t.notOk('{t}dies' in before);
    t.notOk('{t}gone' in before);
    const records: string[][] = [];
    for (const f of await incrFiles(dir)) {
      const bytes = await readFile(f);
      scanRecords(bytes, 0, bytes.length, (argv) => records.push(argv.map((a) => a.toString('latin1'))));
    }
    const names = new Set(records.map((r) => r[0]!.toUpperCase()));
    for (const bad of ['SETEX', 'PSETEX', 'EXPIRE', 'PEXPIRE', 'EXPIREAT', 'GETEX', 'BLPOP', 'BLMOVE', 'BZPOPMIN', 'BLMPOP', 'INCRBYFLOAT', 'HINCRBYFLOAT', 'SPOP']) {
      t.notOk(names.has(bad), `no ${bad} in the log`);
    }
    t.notOk(records.some((r) => r[0]!.toUpperCase() === 'SET' && r.slice(3).some((a) => /^(ex|px|exat)$/i.test(a))), 'SET options absolute');
    for (const want of ['PEXPIREAT', 'SREM', 'LPOP', 'LMOVE', 'ZPOPMIN', 'RPOP', 'MULTI', 'EXEC', 'DEL', 'PERSIST', 'HSET']) t.ok(names.has(want), `${want} in the log`);
    const log = records.map((r) => r.join(' ')).join('\n');
    t.notMatch(log, /mine/, 'aborted EXEC not logged');

    ({ p, c } = await restart(dir, ALWAYS, p));
    const after = await dumpState(c);
    t.same(after, before, 'same data and absolute TTLs after kill -9 and restart');
    t.match(p.output, /DB loaded from append only file/);
    await c.close();
    await p.killAndWait();
  });

  await t.test('BGREWRITEAOF and auto rewrite while writes continue; CONFIG SET appendonly at run time', async (t) => {
    const dir = path.join(root, 'rewrite');
    let { p, c } = await restart(dir, ['--appendonly', 'no']);
    t.teardown(() => p.kill9());
    for (let i = 0; i < 500; i++) await c.run(['SET', `k${i}`, String(i)]);
    t.same(await c.run(['CONFIG', 'GET', 'appendonly']), ['appendonly', 'no']);
    t.same(await c.run(['CONFIG', 'SET', 'appendonly', 'yes']), 'OK');
    t.same(await c.run(['CONFIG', 'SET', 'appendfilename', 'x']), { error: "ERR CONFIG SET failed (possibly related to argument 'appendfilename') - can't set immutable config" });
    t.same(await c.run(['CONFIG', 'SET', 'appendfsync', 'sometimes']), { error: "ERR CONFIG SET failed (possibly related to argument 'appendfsync') - argument(s) must be one of the following: always, everysec, no" });
    t.same(await c.run(['CONFIG', 'SET', 'appendfsync', 'always']), 'OK');
    const info = async () => parseInfo(await c.run(['INFO', 'persistence']));
    const done = await pollUntil(info, (m) => m.get('aof_rewrite_in_progress') === '0' && m.get('aof_enabled') === '1', 5000);
    t.ok(done.ok, 'first base written');
    // A writer keeps going while BGREWRITEAOF runs.
    const w = await RespClient.connect(port);
    let acked = 0;
    let stop = false;
    const writer = (async () => {
      while (!stop) acked = (await w.run(['INCR', 'ctr'])) as number;
    })();
    await sleep(100);
    t.same(await c.run(['BGREWRITEAOF']), 'Background append only file rewriting started');
    const r = await pollUntil(info, (m) => m.get('aof_rewrites') === '2' && m.get('aof_rewrite_in_progress') === '0', 5000);
    t.ok(r.ok, 'rewrite finished');
    await sleep(100);
    stop = true;
    await writer;
    await w.close();
    const files = (await readdir(aofDir(dir))).sort();
    t.same(files.filter((f) => /base|incr/.test(f)).length, 2, `one base and one incr after the rewrite (${files.join(' ')})`);
    const before = await dumpState(c);
    t.equal(Number((before['ctr'] as { value: string }).value), acked);
    await c.close();
    ({ p, c } = await restart(dir, ALWAYS, p));
    t.same(await dumpState(c), before, 'same after restart');

    // Auto rewrite: a small min size and 100 % growth.
    t.same(await c.run(['CONFIG', 'SET', 'auto-aof-rewrite-min-size', '4kb', 'auto-aof-rewrite-percentage', '100']), 'OK');
    const base = Number((await info()).get('aof_rewrites'));
    await runMany(c.run.bind(c), Array.from({ length: 2000 }, (_, i) => ['SET', `k${i % 500}`, 'x'.repeat(100)]), 100);
    const auto = await pollUntil(info, (m) => Number(m.get('aof_rewrites')) > base && m.get('aof_rewrite_in_progress') === '0', 5000);
    t.ok(auto.ok, 'automatic rewrite ran');
    t.equal((await readdir(aofDir(dir))).filter((f) => /base|incr/.test(f)).length, 2, 'old files deleted');

    // appendonly no keeps the files; a later restart with appendonly yes finds them.
    t.same(await c.run(['CONFIG', 'SET', 'appendonly', 'no']), 'OK');
    t.equal(parseInfo(await c.run(['INFO', 'persistence'])).get('aof_enabled'), '0');
    await c.close();
    await p.stop();
  });

  await t.test('a key in a snapshot base that expires before the restart is not resurrected by the log', async (t) => {
    const dir = path.join(root, 'expired-base');
    let { p, c } = await restart(dir, ALWAYS);
    t.teardown(() => p.kill9());
    const t0 = Date.now();
    t.equal(await c.run(['SET', 'k', '5', 'PX', '1500']), 'OK');
    t.equal(await c.run(['RPUSH', 'l', 'a']), 1);
    t.equal(await c.run(['PEXPIRE', 'l', '1500']), 1);
    t.equal(await c.run(['BGREWRITEAOF']), 'Background append only file rewriting started');
    const r = await pollUntil(async () => parseInfo(await c.run(['INFO', 'persistence'])), (m) => m.get('aof_rewrites') === '1' && m.get('aof_rewrite_in_progress') === '0', 5000);
    t.ok(r.ok, 'rewritten');
    t.ok((await readdir(aofDir(dir))).some((f) => f.endsWith('.base.sdb')), 'the base is a snapshot');
    t.equal(await c.run(['INCR', 'k']), 6, 'changed while live (logged after the base)');
    t.equal(await c.run(['RPUSH', 'l', 'b']), 2);
    await c.close();
    await sleep(Math.max(0, t0 + 1700 - Date.now()));
    ({ p, c } = await restart(dir, ALWAYS, p));
    t.same([await c.run(['GET', 'k']), await c.run(['LRANGE', 'l', '0', '-1']), await c.run(['PTTL', 'k']), await c.run(['PTTL', 'l'])], [null, [], -2, -2], 'expired, not recreated without a TTL');
    await c.close();
    await p.killAndWait();
  });

  await t.test('group commit: commands of many connections share one write and one fdatasync', async (t) => {
    const dir = path.join(root, 'group');
    const { p, c } = await restart(dir, ALWAYS);
    t.teardown(() => p.kill9());
    const info = async () => parseInfo(await c.run(['INFO', 'persistence']));
    const before = await info();
    const clients = await Promise.all(Array.from({ length: 20 }, () => RespClient.connect(port)));
    const PER = 200;
    await Promise.all(clients.map((cl, i) => runMany(cl.run.bind(cl), Array.from({ length: PER }, (_, j) => ['SET', `g${i}:${j}`, 'v']), 8)));
    const after = await info();
    const fsyncs = Number(after.get('shoal_aof_fsyncs')) - Number(before.get('shoal_aof_fsyncs'));
    const commands = clients.length * PER;
    t.ok(fsyncs > 0 && fsyncs <= commands / 4, `${commands} acknowledged SETs, ${fsyncs} fdatasyncs (${(commands / fsyncs).toFixed(1)} commands per fsync)`);
    await Promise.all(clients.map((cl) => cl.close()));
    await c.close();
    await p.killAndWait();
  });

  await t.test('INFO persistence fields and CONFIG GET', async (t) => {
    const dir = path.join(root, 'info');
    const { p, c } = await restart(dir, ['--appendonly', 'yes', '--appendfsync', 'everysec']);
    t.teardown(() => p.kill9());
    const m = parseInfo(await c.run(['INFO', 'persistence']));
    for (const f of ['aof_enabled', 'aof_rewrite_in_progress', 'aof_rewrite_scheduled', 'aof_last_rewrite_time_sec', 'aof_current_rewrite_time_sec',
      'aof_last_bgrewrite_status', 'aof_rewrites', 'aof_rewrites_consecutive_failures', 'aof_last_write_status', 'aof_last_cow_size',
      'aof_current_size', 'aof_base_size', 'aof_pending_rewrite', 'aof_buffer_length', 'aof_pending_bio_fsync', 'aof_delayed_fsync']) {
      t.ok(m.has(f), f);
    }
    t.equal(m.get('aof_enabled'), '1');
    t.same(await c.run(['CONFIG', 'GET', 'append*']), ['appendonly', 'yes', 'appendfsync', 'everysec', 'appendfilename', 'appendonly.aof', 'appenddirname', 'appendonlydir']);
    t.same(await c.run(['CONFIG', 'GET', 'aof-load-truncated']), ['aof-load-truncated', 'yes']);
    t.same(await c.run(['CONFIG', 'GET', 'auto-aof-rewrite-*']), ['auto-aof-rewrite-percentage', '100', 'auto-aof-rewrite-min-size', '67108864']);
    await c.close();
    await p.stop();
  });

  await t.test('CONFIG SET appendonly yes and BGREWRITEAOF through the proxy reach every worker', async (t) => {
    const { target, run } = await useTarget(t, { workers: 2 });
    for (let i = 0; i < 50; i++) await run(['SET', `p${i}`, String(i)]);
    t.same(await run(['CONFIG', 'SET', 'appendonly', 'yes', 'appendfsync', 'always']), 'OK');
    for (const wp of target.workerPorts) {
      const w = await RespClient.connect(wp);
      const r = await pollUntil(async () => parseInfo(await w.run(['INFO', 'persistence'])), (m) => m.get('aof_enabled') === '1' && m.get('aof_rewrite_in_progress') === '0', 5000);
      t.ok(r.ok, `worker ${wp} logs`);
      t.same(await w.run(['CONFIG', 'GET', 'appendfsync']), ['appendfsync', 'always']);
      await w.close();
    }
    t.same(await run(['BGREWRITEAOF']), 'Background append only file rewriting started');
    await sleep(300);
    for (let w = 0; w < 2; w++) {
      const d = path.join(target.dataDir!, 'shard-0', `worker-${w}`, 'appendonlydir');
      t.ok(existsSync(path.join(d, 'appendonly.aof.manifest')), `worker ${w} has a manifest`);
    }
    const m = parseInfo(await run(['INFO', 'persistence']));
    t.ok(m.has('aof_enabled'), 'the proxy shows the persistence section');
  });
}
