/**
 * Backup and restore of an embedded cluster's snapshots (docs/persistence.md, "Backup").
 *
 * A backup is one snapshot per worker taken at the same cut, copied with a manifest:
 *
 *   <out>/manifest.json        format, time, source, slot layout, one entry per worker
 *                              (shard, worker, slots, file, bytes, sha256)
 *   <out>/topology.json        the source cluster's topology, for reference
 *   <out>/shard-S/worker-W/<dbfilename>
 *
 * The cut: CLIENT PAUSE WRITE through the proxy (every proxy process holds writes), then
 * BGSAVE, which reaches each worker behind the writes already forwarded on the same
 * link, then CLIENT UNPAUSE. A worker's snapshot is point-in-time from the moment it
 * receives BGSAVE (shard/persistence/snapshot.ts), so no write acknowledged before the
 * pause is missing and none sent after it is present, on any worker. Writes wait only
 * for the pause (milliseconds), not for the snapshots to be written.
 *
 * Restore copies the files into a new data directory laid out for the same shards x
 * workers (a worker loads only the keys of its own slots), after checking every
 * checksum; starting the cluster on that directory loads them.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { RespClient, RespError, type Reply } from '../loadtest/resp-client.js';
import { endpointNode, type Topology, type SlotRange } from '../shared/cluster/topology.js';
import { ShoalError, ErrorCodes } from '../shared/errors.js';

export const BACKUP_FORMAT = 'shoal-backup-1';

export interface BackupWorker {
  shard: number;
  worker: number;
  slots: SlotRange[];
  /** Path relative to the backup directory. */
  file: string;
  bytes: number;
  sha256: string;
}

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  createdAt: string;
  source: { host: string; port: number; dataDir: string };
  shards: number;
  workersPerShard: number;
  /** How long writes were held for the cut (ms). */
  pauseMs: number;
  workers: BackupWorker[];
}

export interface BackupOptions {
  host: string;
  port: number;
  user?: string;
  pass?: string;
  /** The cluster's data directory (default: CONFIG GET dir through the proxy). */
  dataDir?: string;
  out: string;
  /** Give up waiting for the snapshots after this long. */
  timeoutMs: number;
  progress: (line: string) => void;
}

const PAUSE_MS = 10_000; // upper bound: UNPAUSE follows BGSAVE's reply at once

function fail(message: string): never {
  throw new ShoalError(ErrorCodes.PERSISTENCE, message);
}

function ok(r: Reply, what: string): Reply {
  if (r instanceof RespError) fail(`${what}: ${r.message}`);
  return r;
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function infoField(text: string, name: string): string | undefined {
  const m = new RegExp(`^${name}:(.*)$`, 'm').exec(text);
  return m?.[1]?.trim();
}

/** Takes a consistent backup of a running embedded cluster into `opts.out`. */
export async function takeBackup(opts: BackupOptions): Promise<BackupManifest> {
  const out = resolve(opts.out);
  if (existsSync(out) && readdirSync(out).length > 0) fail(`backup directory ${out} is not empty`);
  const c = await RespClient.connect(opts.port, opts.host, opts.timeoutMs);
  try {
    if (opts.pass !== undefined) ok(await c.send(opts.user ? ['AUTH', opts.user, opts.pass] : ['AUTH', opts.pass]), 'AUTH');
    let dataDir = opts.dataDir;
    if (dataDir === undefined) {
      const r = ok(await c.send(['CONFIG', 'GET', 'dir']), 'CONFIG GET dir');
      dataDir = Array.isArray(r) && r[1] !== undefined ? String(r[1]) : fail('CONFIG GET dir gave no directory: pass --data-dir');
    }
    dataDir = resolve(dataDir);
    const topoFile = join(dataDir, 'topology.json');
    if (!existsSync(topoFile)) fail(`no topology.json in ${dataDir}: is --data-dir the cluster's data directory?`);
    const topology = JSON.parse(readFileSync(topoFile, 'utf8')) as Topology;
    const dbfile = ok(await c.send(['CONFIG', 'GET', 'dbfilename']), 'CONFIG GET dbfilename');
    const dbfilename = Array.isArray(dbfile) && dbfile[1] !== undefined ? String(dbfile[1]) : 'dump.sdb';

    const before = ok(await c.send(['LASTSAVE']), 'LASTSAVE') as number;
    // The cut: hold writes on every proxy process, start every worker's snapshot, release.
    const t0 = performance.now();
    ok(await c.send(['CLIENT', 'PAUSE', String(PAUSE_MS), 'WRITE']), 'CLIENT PAUSE');
    let started: Reply;
    try {
      started = await c.send(['BGSAVE']);
    } finally {
      await c.send(['CLIENT', 'UNPAUSE']);
    }
    const pauseMs = performance.now() - t0;
    ok(started, 'BGSAVE');
    opts.progress(`snapshot started on ${topology.workers.length} workers (writes held ${pauseMs.toFixed(1)} ms)`);

    const deadline = Date.now() + opts.timeoutMs;
    for (let lastReport = 0; ; ) {
      const info = String(ok(await c.send(['INFO', 'persistence']), 'INFO persistence'));
      const running = infoField(info, 'rdb_bgsave_in_progress') !== '0';
      const status = infoField(info, 'rdb_last_bgsave_status');
      const last = ok(await c.send(['LASTSAVE']), 'LASTSAVE') as number;
      if (!running && status === 'err') fail('a worker failed to write its snapshot (INFO persistence rdb_last_bgsave_status:err; see the shard log)');
      if (!running && last >= before && status === 'ok') break;
      if (Date.now() > deadline) fail(`snapshots not finished within ${opts.timeoutMs} ms`);
      if (Date.now() - lastReport > 1000) {
        lastReport = Date.now();
        opts.progress('waiting for the snapshots to be written...');
      }
      await new Promise((r) => setTimeout(r, 50));
    }

    mkdirSync(out, { recursive: true });
    const workers: BackupWorker[] = [];
    for (const w of topology.workers) {
      const src = join(dataDir, endpointNode(w), `worker-${w.worker}`, dbfilename);
      if (!existsSync(src)) fail(`worker ${w.shard}/${w.worker} has no snapshot at ${src}`);
      const rel = join(`shard-${w.shard}`, `worker-${w.worker}`, dbfilename);
      mkdirSync(join(out, `shard-${w.shard}`, `worker-${w.worker}`), { recursive: true });
      copyFileSync(src, join(out, rel));
      const copy = readFileSync(join(out, rel));
      const bytes = copy.length;
      workers.push({ shard: w.shard, worker: w.worker, slots: w.slots, file: rel, bytes, sha256: createHash('sha256').update(copy).digest('hex') });
      opts.progress(`copied shard ${w.shard} worker ${w.worker}: ${bytes} bytes`);
    }
    const shards = new Set(topology.workers.map((w) => w.shard)).size;
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      createdAt: new Date().toISOString(),
      source: { host: opts.host, port: opts.port, dataDir },
      shards,
      workersPerShard: topology.workers.length / shards,
      pauseMs: Math.round(pauseMs * 10) / 10,
      workers,
    };
    writeFileSync(join(out, 'topology.json'), JSON.stringify(topology, null, 2) + '\n');
    writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    return manifest;
  } finally {
    c.close();
  }
}

/** Reads a backup's manifest and checks every file against it. */
export function verifyBackup(dir: string): BackupManifest {
  const file = join(resolve(dir), 'manifest.json');
  if (!existsSync(file)) fail(`${dir} is not a Shoal backup (no manifest.json)`);
  const m = JSON.parse(readFileSync(file, 'utf8')) as BackupManifest;
  if (m.format !== BACKUP_FORMAT) fail(`${file}: unknown format "${String(m.format)}" (expected ${BACKUP_FORMAT})`);
  for (const w of m.workers) {
    const p = join(resolve(dir), w.file);
    if (!existsSync(p)) fail(`${p} is missing`);
    if (sha256(p) !== w.sha256) fail(`${p} does not match its checksum in the manifest: the backup is damaged`);
  }
  return m;
}

export interface RestoreOptions {
  from: string;
  dataDir: string;
  dbfilename: string;
  progress: (line: string) => void;
}

/** Copies a verified backup into an empty data directory for the same shards x workers. */
export function restoreBackup(opts: RestoreOptions): BackupManifest {
  const m = verifyBackup(opts.from);
  const target = resolve(opts.dataDir);
  if (existsSync(target) && readdirSync(target).some((f) => f.startsWith('shard-'))) {
    fail(`${target} already holds worker data: restore into a new data directory`);
  }
  for (const w of m.workers) {
    const dir = join(target, `shard-${w.shard}`, `worker-${w.worker}`);
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(resolve(opts.from), w.file), join(dir, opts.dbfilename));
    opts.progress(`restored shard ${w.shard} worker ${w.worker} (${w.bytes} bytes)`);
  }
  return m;
}
