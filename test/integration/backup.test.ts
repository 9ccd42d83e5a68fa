// shoal-backup (manager/backup.ts): a consistent backup of a running embedded cluster
// while a client keeps writing, verified, restored into a new data directory, and
// loaded by a new cluster. Consistency across workers: a single client writes
// seq:0, seq:1, ... in order (each after the previous reply), keys spread over both
// workers; the restored cluster must hold exactly seq:0..m-1 for some m — a gap would
// mean one worker's snapshot was cut later than another's. Shoal only (a Shoal tool).

import t from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, rm, readFile, writeFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import path from 'node:path';
import { startShoal, keySlot, type Target } from '../helpers/cluster.js';
import { RespClient, type RespValue } from '../helpers/run.js';

const DIST_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const TOOL = path.join(DIST_ROOT, 'bin', 'shoal-backup.js');
const execFileP = promisify(execFile);

async function tool(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await execFileP(process.execPath, [TOOL, ...args], { timeout: 120_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

const work = await mkdtemp(path.join(os.tmpdir(), 'shoal-backup-test-'));
const srcDir = path.join(work, 'src');
const outDir = path.join(work, 'backup');
const newDir = path.join(work, 'restored');
const targets: Target[] = [];
t.teardown(async () => {
  for (const x of targets) await x.stop().catch(() => {});
  await rm(work, { recursive: true, force: true });
});

// Automatic save points off: the only snapshots are the backup's.
const env = { SHOAL_SAVE: '' };
const src = await startShoal({ dataDir: srcDir, env, readyTimeoutMs: 60_000 });
targets.push(src);
const c = await RespClient.connect(src.port);
t.teardown(() => c.close().catch(() => {}));

// One key of each type on each worker (keys chosen by slot), some with a TTL.
const sample: { key: string; fill: (string | number)[][]; read: string[]; }[] = [];
for (const [i, half] of [[0, 'low'], [1, 'high']] as const) {
  let n = 0;
  const pick = (prefix: string): string => {
    for (;;) {
      const k = `${prefix}:${half}:${n++}`;
      if ((keySlot(k) < 8192) === (i === 0)) return k;
    }
  };
  const s = pick('str'); const l = pick('list'); const h = pick('hash'); const z = pick('zset'); const st = pick('set');
  sample.push(
    { key: s, fill: [['SET', s, `value-${half}`, 'EX', 3600]], read: ['GET', s] },
    { key: l, fill: [['RPUSH', l, 'a', 'b', 'c']], read: ['LRANGE', l, '0', '-1'] },
    { key: h, fill: [['HSET', h, 'f1', 'v1', 'f2', 'v2']], read: ['HGETALL', h] },
    { key: z, fill: [['ZADD', z, 1.5, 'm1', 2, 'm2']], read: ['ZRANGE', z, '0', '-1', 'WITHSCORES'] },
    { key: st, fill: [['SADD', st, '1', '2', '3']], read: ['SMEMBERS', st] },
  );
}
for (const s of sample) for (const cmd of s.fill) await c.run(cmd.map(String));
const expected = new Map<string, RespValue>();
for (const s of sample) expected.set(s.key, await c.run(s.read));

t.test('--help and bad input', async (t) => {
  const help = await tool(['--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /shoal-backup backup/);
  t.match(help.stdout, /restore --from DIR --data-dir NEWDIR/);
  const bad = await tool(['explode']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /unknown command "explode"/);
  const noOut = await tool(['backup', '--port', String(src.port)]);
  t.equal(noOut.code, 2);
  t.match(noOut.stderr, /backup needs --out/);
  const badPort = await tool(['backup', '--port', '99999', '--out', path.join(work, 'x')]);
  t.equal(badPort.code, 1);
  t.match(badPort.stderr, /--port: "99999" is not a port/);
  const notBackup = await tool(['verify', '--from', work]);
  t.equal(notBackup.code, 1);
  t.match(notBackup.stderr, /is not a Shoal backup \(no manifest.json\)/);
});

let written = 0;
t.test('backup while a client writes: every worker cut at the same point', async (t) => {
  const w = await RespClient.connect(src.port);
  let stop = false;
  const writer = (async () => {
    while (!stop) {
      await w.run(['SET', `seq:${written}`, String(written)]);
      written++;
    }
  })();
  while (written < 200) await new Promise((r) => setTimeout(r, 10));
  const r = await tool(['backup', '--port', String(src.port), '--out', outDir]);
  const atEnd = written;
  await new Promise((r) => setTimeout(r, 100));
  stop = true;
  await writer;
  await w.close();
  t.equal(r.code, 0, `backup exits 0 (${r.stderr.trim().split('\n').pop()})`);
  t.match(r.stderr, /snapshot started on 2 workers \(writes held [\d.]+ ms\)/, 'reports the pause');
  t.ok(written > atEnd, 'the writer kept going after the backup');
  const manifest = JSON.parse(await readFile(path.join(outDir, 'manifest.json'), 'utf8')) as { workers: { shard: number; worker: number; sha256: string; bytes: number }[]; shards: number; workersPerShard: number; pauseMs: number };
  t.equal(manifest.workers.length, 2, 'one snapshot per worker');
  t.same([manifest.shards, manifest.workersPerShard], [1, 2]);
  t.ok(manifest.workers.every((x) => /^[0-9a-f]{64}$/.test(x.sha256) && x.bytes > 0), 'checksums and sizes');
  t.ok(manifest.pauseMs < 5000, `writes held ${manifest.pauseMs} ms`);
  const v = await tool(['verify', '--from', outDir]);
  t.equal(v.code, 0, 'verify passes');
  t.match(v.stderr, /2 worker snapshots .* checksums match/);
  const again = await tool(['backup', '--port', String(src.port), '--out', outDir]);
  t.equal(again.code, 1, 'refuses a non-empty backup directory');
  t.match(again.stderr, /is not empty/);
});

t.test('a damaged backup is refused', async (t) => {
  const copy = path.join(work, 'damaged');
  await mkdir(copy, { recursive: true });
  const manifest = JSON.parse(await readFile(path.join(outDir, 'manifest.json'), 'utf8')) as { workers: { file: string }[] };
  await writeFile(path.join(copy, 'manifest.json'), JSON.stringify(manifest));
  for (const [i, w] of manifest.workers.entries()) {
    const bytes = await readFile(path.join(outDir, w.file));
    if (i === 1) bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    await mkdir(path.dirname(path.join(copy, w.file)), { recursive: true });
    await writeFile(path.join(copy, w.file), bytes);
  }
  const v = await tool(['verify', '--from', copy]);
  t.equal(v.code, 1);
  t.match(v.stderr, /does not match its checksum in the manifest: the backup is damaged/);
  const r = await tool(['restore', '--from', copy, '--data-dir', path.join(work, 'never')]);
  t.equal(r.code, 1, 'restore verifies first');
});

t.test('restore into a new directory and start a cluster on it', async (t) => {
  await src.stop();
  const r = await tool(['restore', '--from', outDir, '--data-dir', newDir]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /start it with: npm start -- --data-dir .* --shards 1 --workers 2/);
  const twice = await tool(['restore', '--from', outDir, '--data-dir', newDir]);
  t.equal(twice.code, 1, 'refuses a directory that already holds worker data');
  t.match(twice.stderr, /already holds worker data/);

  const restored = await startShoal({ dataDir: newDir, env, readyTimeoutMs: 60_000 });
  targets.push(restored);
  const d = await RespClient.connect(restored.port);
  t.teardown(() => d.close().catch(() => {}));
  for (const s of sample) t.same(await d.run(s.read), expected.get(s.key), `${s.key} restored`);
  const ttl = Number(await d.run(['TTL', sample[0]!.key]));
  t.ok(ttl > 3500 && ttl <= 3600, `TTL kept (${ttl})`);
  // The seq keys form a prefix: no worker's cut is later than another's.
  const present: number[] = [];
  for (let i = 0; i < written; i += 500) {
    const batch = Array.from({ length: Math.min(500, written - i) }, (_, j) => `seq:${i + j}`);
    const vals = (await d.run(['MGET', ...batch])) as (string | null)[];
    vals.forEach((v, j) => { if (v !== null) present.push(i + j); });
  }
  const m = present.length;
  t.ok(m >= 200, `the writes before the backup are there (${m})`);
  t.ok(m < written, `the writes after it are not (${m} of ${written})`);
  t.equal(present[m - 1], m - 1, 'seq:0..m-1 exactly: no gap across workers');
  const slots = new Set(present.map((i) => keySlot(`seq:${i}`) < 8192));
  t.equal(slots.size, 2, 'the prefix spans both workers');
});
