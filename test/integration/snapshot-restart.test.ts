// Snapshots through a restart (docs/persistence.md): every data type and TTL saved by
// SAVE comes back when the next start loads the files; keys that expired meanwhile
// are skipped; a flipped byte or a truncated file stops the start (Shoal: with a
// message naming file and offset). Runs against Shoal (proxy + 2 workers, each with
// its own <dataDir>/shard-0/worker-<w>/dump.sdb) or, with SHOAL_TEST_TARGET=redis,
// a redis-server restarted on the same --dir. Restarts are few: a start takes seconds
// on a busy machine (snapshot.test.ts covers the commands without restarting).

import t from 'tap';
import { mkdtemp, mkdir, rm, readFile, writeFile, readdir, stat } from 'node:fs/promises';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import path from 'node:path';
import { isShoal, freePortRange } from '../helpers/cluster.js';
import { RestartableTarget, dumpFiles as dumpFilesOf, populateEveryType } from '../helpers/restartable.js';

const DIST_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
import { infoNum, sleep, type RespValue } from '../helpers/run.js';
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

/** Everything observable about each key: type, encoding, absolute expiry, value. */
async function capture(keys: readonly string[]): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const type = await run(['TYPE', k]);
    const exp = await run(['PEXPIRETIME', k]);
    let value: unknown;
    switch (type) {
      case 'none': value = null; break;
      case 'string': value = ((await run(['GET', k], { buffers: true })) as Buffer).toString('hex'); break;
      case 'list': value = await run(['LRANGE', k, '0', '-1']); break;
      case 'hash': {
        // Pairs sorted: a hash table's order may change when it is rebuilt by a load.
        const flat = (await run(['HGETALL', k])) as string[];
        value = Array.from({ length: flat.length / 2 }, (_, i) => `${flat[2 * i]}=${flat[2 * i + 1]}`).sort();
        break;
      }
      case 'set': value = ((await run(['SMEMBERS', k])) as string[]).sort(); break;
      case 'zset': value = await run(['ZRANGE', k, '0', '-1', 'WITHSCORES']); break;
      default: value = [await run(['BF.EXISTS', k, 'apple']), await run(['BF.EXISTS', k, 'pear']), await run(['BF.EXISTS', k, 'plum'])];
    }
    const enc = type === 'none' ? null : await run(['OBJECT', 'ENCODING', k]);
    out[k] = { type, enc, exp, value };
  }
  return out;
}


t.test('every type and TTL survives SAVE and a restart; keys expired meanwhile are skipped', async (t) => {
  await populate();
  const before = await capture(KEYS);
  await run(['SET', 'e:soon', 'v', 'PX', '1500']);
  await run(['HSET', 'e:hash', 'a', '1']);
  await run(['PEXPIRE', 'e:hash', '1500']);
  const expiresAt = Date.now() + 1500;
  const size = (await run(['DBSIZE'])) as number;
  t.equal(await run(['SAVE']), 'OK');
  t.equal(await infoNum(runS, 'persistence', 'rdb_changes_since_last_save'), 0, 'dirty reset by SAVE');
  for (const f of dumpFiles()) t.ok((await stat(f)).size > 0, `${path.basename(path.dirname(f))}/${path.basename(f)} written`);
  if (isShoal) {
    // The file is our documented format: every record and checksum readable independently.
    const files = dumpFiles().map(readSnapshotFile);
    t.equal(files.reduce((n, f) => n + f.records.length, 0), size, 'records across worker files = DBSIZE');
    t.same(files.map((f) => f.worker), [0, 1], 'header names the worker');
    t.ok(files.some((f) => f.compressedSections > 0), 'rdbcompression yes compresses sections');
  }
  await stop();
  if (Date.now() < expiresAt + 100) await sleep(expiresAt + 100 - Date.now());
  await start();
  t.equal(await run(['DBSIZE']), size - 2, 'same key count after restart, less the two expired');
  t.same(await capture(KEYS), before, 'every key, type, encoding, expiry and value restored');
  t.equal(await run(['EXISTS', 'e:soon', 'e:hash']), 0, 'expired keys not loaded');
  t.equal(await infoNum(runS, 'persistence', 'rdb_last_load_keys_loaded'), size - 2, 'rdb_last_load_keys_loaded');
  t.equal(await infoNum(runS, 'persistence', 'rdb_last_load_keys_expired'), 2, 'rdb_last_load_keys_expired');
});

/**
 * Starts one server process on a copy of `file` and waits for it to exit: Shoal's
 * standalone shard (1 worker) on <dir>/shard-0/worker-0/dump.sdb, or redis-server on
 * <dir>/dump.rdb. Resolves with the exit code and output; a process still running
 * after 30 s (it accepted the file) is killed and reported as code null.
 */
async function startOn(bytes: Buffer): Promise<{ code: number | null; output: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'shoal-snapshot-damaged-'));
  try {
    const file = isShoal ? shoalDumpFile(dir, 0) : path.join(dir, 'dump.rdb');
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, bytes);
    const port = await freePortRange(1);
    const child = isShoal
      ? spawn(process.execPath, [path.join(DIST_ROOT, 'bin', 'shoal-shard.js'), '--port', String(port), '--workers', '1', '--data-dir', dir, '--save', ''], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('redis-server', ['--port', String(port), '--save', '', '--dir', dir, '--dbfilename', 'dump.rdb'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve(null);
      }, 30_000);
      child.on('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    return { code, output };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

t.test('a flipped byte or a truncated snapshot stops the start', async (t) => {
  const file = dumpFiles()[0]!;
  const good = await readFile(file);
  const bad = Buffer.from(good);
  const at = Math.floor(good.length / 2);
  bad[at] = bad[at]! ^ 0x10;
  const flipped = await startOn(bad);
  t.ok(flipped.code !== null && flipped.code !== 0, `start refused with a flipped byte (exit ${flipped.code})`);
  if (isShoal) t.match(flipped.output, /dump\.sdb is damaged at byte offset \d+/, 'message names file and offset');
  const truncated = await startOn(good.subarray(0, good.length - 40));
  t.ok(truncated.code !== null && truncated.code !== 0, `start refused with a truncated file (exit ${truncated.code})`);
  if (isShoal) t.match(truncated.output, /dump\.sdb is damaged at byte offset \d+/, 'message names file and offset');
  if (isShoal) {
    const leftovers = (await readdir(path.dirname(file))).filter((f) => f.includes('.tmp-'));
    t.same(leftovers, [], 'no temp files left behind');
  }
  if (isShoal) {
    // shoal-check-snapshot judges the files as the start does.
    const check = async (bytes: Buffer): Promise<{ code: number | null; out: string }> => {
      const f = path.join(os.tmpdir(), `shoal-check-${process.pid}-${Date.now()}.sdb`);
      await writeFile(f, bytes);
      try {
        const r = spawnSync(process.execPath, [path.join(DIST_ROOT, 'bin', 'shoal-check-snapshot.js'), f], { encoding: 'utf8', timeout: 30_000 });
        return { code: r.status, out: r.stdout + r.stderr };
      } finally {
        await rm(f, { force: true });
      }
    };
    const ok = await check(good);
    t.equal(ok.code, 0, 'a good file passes');
    t.match(ok.out, /: OK, \d+ keys \(.*string \d+.*\) in \d+ sections/, 'keys per type');
    const flippedCheck = await check(bad);
    t.equal(flippedCheck.code, 1, 'a flipped byte: exit 1');
    t.match(flippedCheck.out, /DAMAGED at byte offset \d+: /, 'names the offset');
    const cut = await check(good.subarray(0, good.length - 40));
    t.equal(cut.code, 1, 'a truncated file: exit 1');
    t.match(cut.out, /DAMAGED at byte offset \d+: /);
    const none = spawnSync(process.execPath, [path.join(DIST_ROOT, 'bin', 'shoal-check-snapshot.js'), '/nonexistent/dump.sdb'], { encoding: 'utf8' });
    t.equal(none.status, 2, 'a missing file: exit 2');
    t.match(none.stderr, /ENOENT|no such file/);
  }
});
