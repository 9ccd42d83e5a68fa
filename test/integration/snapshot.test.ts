// Snapshot commands (docs/persistence.md): SAVE / BGSAVE [SCHEDULE] / LASTSAVE, their
// replies and errors, save points, CONFIG save / rdbcompression / dbfilename, INFO
// persistence, through the proxy and directly on a worker. Runs against Shoal (proxy
// + 2 workers, each writing <dataDir>/shard-0/worker-<w>/dump.sdb, read back here with
// an independent parser) or, with SHOAL_TEST_TARGET=redis, a redis-server. Loading at
// start is in snapshot-restart.test.ts.

import t from 'tap';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isRedis, isShoal } from '../helpers/cluster.js';
import { RestartableTarget, dumpFiles as dumpFilesOf, populateEveryType, range } from '../helpers/restartable.js';
import { RespClient, err, expectReplies, infoNum, info, pollUntil, sleep, type RespValue } from '../helpers/run.js';
import { readSnapshotFile, shoalDumpFile } from '../helpers/snapshot-file.js';

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'shoal-snapshot-test-'));
const node = new RestartableTarget(dataDir);
const start = (): Promise<void> => node.start();
const stop = (): Promise<void> => node.stop();
const run = node.run;
const runS = (argv: string[]): Promise<RespValue> => node.run(argv);

t.teardown(async () => {
  await stop().catch(() => {});
  await rm(dataDir, { recursive: true, force: true });
});

const dumpFiles = (): string[] => dumpFilesOf(dataDir);

await start();

const KEYS: string[] = [];
async function populate(): Promise<void> {
  KEYS.push(...await populateEveryType(run));
}


async function waitBgsave(savesBefore: number): Promise<void> {
  const r = await pollUntil(
    () => info(runS, 'persistence'),
    (m) => m.get('rdb_bgsave_in_progress') === '0' && Number(m.get('rdb_saves')) > savesBefore,
    20_000, 50,
  );
  if (!r.ok) throw new Error(`BGSAVE did not finish: ${JSON.stringify([...r.value])}`);
}

t.test('BGSAVE: reply, INFO, LASTSAVE moves, the file holds the state', async (t) => {
  await populate();
  const last0 = (await run(['LASTSAVE'])) as number;
  t.ok(Math.abs(last0 - Date.now() / 1000) < 60, 'LASTSAVE is a recent unix time');
  await run(['DEL', 's:plain']);
  await run(['RPUSH', 'l:small', 'd']);
  await run(['ZADD', 'z:big', '42', 'added']);
  await run(['SET', 's:new', 'fresh', 'PX', '5000000']);
  t.ok(await infoNum(runS, 'persistence', 'rdb_changes_since_last_save') > 0, 'changes since the last save counted');
  const size = await run(['DBSIZE']);
  await sleep(1100); // LASTSAVE has 1 s resolution
  const saves = await infoNum(runS, 'persistence', 'rdb_saves');
  t.equal(await run(['BGSAVE']), 'Background saving started');
  await waitBgsave(saves);
  const p = await info(runS, 'persistence');
  t.equal(p.get('rdb_last_bgsave_status'), 'ok');
  t.equal(p.get('rdb_changes_since_last_save'), '0');
  t.ok(Number(p.get('rdb_last_bgsave_time_sec')) >= 0, 'rdb_last_bgsave_time_sec set');
  t.ok(((await run(['LASTSAVE'])) as number) > last0, 'LASTSAVE advanced');
  if (isShoal) {
    t.ok(p.has('shoal_rdb_last_max_pause_ms'), 'Shoal reports its longest pause');
    const files = dumpFiles().map(readSnapshotFile);
    const recs = files.flatMap((f) => f.records);
    t.equal(recs.length, size, 'one record per key');
    const byKey = new Map(recs.map((r) => [r.key.toString('latin1'), r]));
    t.notOk(byKey.has('s:plain'), 'deleted key absent');
    t.equal(byKey.get('s:new')?.value.toString(), 'fresh');
    t.ok((byKey.get('s:new')?.expireAt ?? 0) > Date.now(), 'expiry recorded');
    t.equal(byKey.get('s:big')?.value.length, 200_000);
    t.equal(byKey.get('l:big')?.type, 2, 'list type byte');
  }
});

t.test('command replies and errors, as Redis 7', async (t) => {
  // Enough keys that a background save is still running when the next command arrives.
  const batch: Array<Promise<RespValue>> = [];
  for (let i = 0; i < 200; i++) batch.push(run(['MSET', ...range(100).flatMap((j) => [`bulk:${i}:${j}`, 'y'.repeat(100)])]));
  await Promise.all(batch);
  const saves = await infoNum(runS, 'persistence', 'rdb_saves');
  const [a, b, c] = await Promise.all([run(['BGSAVE']), run(['BGSAVE']), run(['SAVE'])]);
  t.equal(a, 'Background saving started');
  t.same(b, err('ERR Background save already in progress'));
  t.same(c, err('ERR Background save already in progress'), 'SAVE during BGSAVE');
  await waitBgsave(saves);
  await expectReplies(t, run, [
    [['BGSAVE', 'foo'], err('ERR syntax error')],
    [['BGSAVE', 'schedule', 'x'], err('ERR syntax error')],
    [['SAVE', 'x'], err("ERR wrong number of arguments for 'save' command")],
    [['LASTSAVE', 'x'], err("ERR wrong number of arguments for 'lastsave' command")],
    [['CONFIG', 'SET', 'save', '1 2 3'], err("ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters")],
    [['CONFIG', 'SET', 'save', 'a b'], err("ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters")],
    [['CONFIG', 'SET', 'dbfilename', 'other.db'], err("ERR CONFIG SET failed (possibly related to argument 'dbfilename') - can't set protected config")],
    [['CONFIG', 'SET', 'rdbcompression', 'maybe'], err("ERR CONFIG SET failed (possibly related to argument 'rdbcompression') - argument must be 'yes' or 'no'")],
    [['CONFIG', 'SET', 'save', '3600 1 300 100'], 'OK'],
    [['CONFIG', 'GET', 'save'], ['save', '3600 1 300 100']],
    [['CONFIG', 'SET', 'save', ''], 'OK'],
    [['CONFIG', 'GET', 'save'], ['save', '']],
    [['CONFIG', 'GET', 'rdbcompression'], ['rdbcompression', 'yes']],
    [['CONFIG', 'GET', 'dbfilename'], ['dbfilename', isShoal ? 'dump.sdb' : 'dump.rdb']],
  ]);
  const fields = await info(runS, 'persistence');
  for (const f of ['loading', 'rdb_changes_since_last_save', 'rdb_bgsave_in_progress', 'rdb_last_save_time', 'rdb_last_bgsave_status',
    'rdb_last_bgsave_time_sec', 'rdb_current_bgsave_time_sec', 'rdb_saves', 'aof_enabled']) {
    t.ok(fields.has(f), `INFO persistence has ${f}`);
  }
  await run(['FLUSHALL']);
  // rdbcompression no: sections stored as they are.
  t.equal(await run(['CONFIG', 'SET', 'rdbcompression', 'no']), 'OK');
  await run(['SET', 'plain', 'z'.repeat(1000)]);
  t.equal(await run(['SAVE']), 'OK');
  if (isShoal) t.equal(dumpFiles().map(readSnapshotFile).reduce((n, f) => n + f.compressedSections, 0), 0, 'no compressed section');
  t.equal(await run(['CONFIG', 'SET', 'rdbcompression', 'yes']), 'OK');
  if (isShoal) {
    // snapshot-compression: LZ4 by default, deflate on request; both load back.
    const sections = () => dumpFiles().map(readSnapshotFile).reduce((a, f) => [a[0]! + f.compressedSections, a[1]! + f.lz4Sections], [0, 0]);
    t.same(await run(['CONFIG', 'GET', 'snapshot-compression']), ['snapshot-compression', 'lz4']);
    t.equal(await run(['SAVE']), 'OK');
    t.same(sections(), [1, 1], 'the compressible section is LZ4');
    t.same(await run(['CONFIG', 'SET', 'snapshot-compression', 'zstd']), err("ERR CONFIG SET failed (possibly related to argument 'snapshot-compression') - argument must be 'lz4' or 'deflate'"));
    t.equal(await run(['CONFIG', 'SET', 'snapshot-compression', 'deflate']), 'OK');
    t.equal(await run(['SAVE']), 'OK');
    t.same(sections(), [1, 0], 'deflate on request');
    t.equal(await run(['CONFIG', 'SET', 'snapshot-compression', 'lz4']), 'OK');
  }
});


t.test('FLUSHALL during a BGSAVE aborts it; the last file stays', async (t) => {
  const batch: Array<Promise<RespValue>> = [];
  for (let i = 0; i < 300; i++) batch.push(run(['MSET', ...range(100).flatMap((j) => [`fl:${i}:${j}`, 'z'.repeat(100)])]));
  await Promise.all(batch);
  const files = dumpFiles();
  const before = await Promise.all(files.map(async (f) => (await stat(f)).mtimeMs));
  const [bg, fl] = await Promise.all([run(['BGSAVE']), run(['FLUSHALL'])]);
  t.equal(bg, 'Background saving started');
  t.equal(fl, 'OK');
  const r = await pollUntil(() => info(runS, 'persistence'), (m) => m.get('rdb_bgsave_in_progress') === '0', 10_000, 20);
  t.ok(r.ok, 'no save running any more');
  t.equal(r.value.get('rdb_last_bgsave_status'), 'ok', 'an aborted save is not a failed one');
  await sleep(100);
  t.same(await Promise.all(files.map(async (f) => (await stat(f)).mtimeMs)), before, 'the previous snapshot files are untouched');
  if (isShoal) {
    for (const f of files) {
      t.same((await readdir(path.dirname(f))).filter((n) => n.includes('.tmp-')), [], 'temp file removed');
    }
  }
});

t.test('save points start a background save by themselves', async (t) => {
  const saves = await infoNum(runS, 'persistence', 'rdb_saves');
  t.equal(await run(['CONFIG', 'SET', 'save', '1 1']), 'OK');
  await run(['SET', 'sp:a', '1']);
  await run(['SET', 'sp:b', '2']);
  const r = await pollUntil(() => info(runS, 'persistence'), (m) => Number(m.get('rdb_saves')) > saves && m.get('rdb_changes_since_last_save') === '0', 10_000, 100);
  t.ok(r.ok, `a save point fired (rdb_saves ${r.value.get('rdb_saves')}, changes ${r.value.get('rdb_changes_since_last_save')}, ${r.ms} ms)`);
  t.equal(await run(['CONFIG', 'SET', 'save', '']), 'OK');
});


t.test('directly on a worker: SAVE, BGSAVE, LASTSAVE and INFO are its own', { skip: isRedis && 'Shoal workers only' }, async (t) => {
  const w = await RespClient.connect(node.target!.workerPorts[1]!);
  t.teardown(() => w.close());
  const file = shoalDumpFile(dataDir, 1);
  const before = (await stat(file)).mtimeMs;
  const other = (await stat(shoalDumpFile(dataDir, 0))).mtimeMs;
  await sleep(20);
  t.equal(await w.run(['SAVE']), 'OK');
  t.ok((await stat(file)).mtimeMs > before, 'worker 1 rewrote its file');
  t.equal((await stat(shoalDumpFile(dataDir, 0))).mtimeMs, other, 'worker 0 file untouched');
  t.equal(typeof (await w.run(['LASTSAVE'])), 'number');
  const saves = Number(parseInfoText(await w.run(['INFO', 'persistence'])).get('rdb_saves'));
  t.equal(await w.run(['BGSAVE']), 'Background saving started');
  const r = await pollUntil(async () => parseInfoText(await w.run(['INFO', 'persistence'])), (m) => Number(m.get('rdb_saves')) > saves, 10_000, 50);
  t.ok(r.ok, 'worker BGSAVE finished');
  t.equal(readSnapshotFile(file).worker, 1);
});


function parseInfoText(v: RespValue): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of String(v).split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) m.set(line.slice(0, i), line.slice(i + 1));
  }
  return m;
}
