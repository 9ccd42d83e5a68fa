// Scenario `persistence`: issue 7's durability figures, Shoal beside a redis-server
// configured the same way, in the same run.
//
// 1. AOF throughput. `redis-benchmark -t set -P 16 -c 50 -r 100000 -d 3`, -n calibrated
//    for ~DURATION s runs, against Shoal (the embedded cluster through its proxy, and
//    shoal-shard --workers 1 directly) and a redis-server, both started with the same
//    `--appendonly yes --appendfsync everysec|always` (and `--appendonly no` as the
//    reference); per mode one redis-server and one Shoal target alive at a time,
//    ROUNDS interleaved counter-balanced pairs, medians, ratio Shoal / redis.
// 2. Snapshot. One server alive at a time (Shoal: shoal-shard --workers 1, so the
//    snapshot is one file; redis-server): PERSIST_KEYS keys with PERSIST_VALUE-byte
//    values loaded pipelined, then BGSAVE, timed until INFO persistence says it
//    finished, while a second connection sends GET in a closed loop (1 ms apart) and
//    records the longest round trip; file size; then the server is stopped and started
//    again on the same directory, timed from spawn until PING answers +PONG and DBSIZE
//    is PERSIST_KEYS, and sample keys are read back.
//
// Every process is started and stopped through the harness (by pid).

import fs from 'node:fs';
import path from 'node:path';
import {
  HOST, WORK, benchRun, die, envList, envNum, field, fmt, fmtMiB, freePorts, info, keyName, log, logTail, mdTable, median,
  rng, sleep, startRedis, startServer, startTarget, stopServer, stopTarget, textTable, verdict,
  type BenchSpec, type Run, type Section, type Server, type Target,
} from './harness.js';
import { connect, load } from './load.js';
import { RespClient, showReply } from '../resp-client.js';

const ROUNDS = Math.max(1, Math.floor(envNum('ROUNDS', 3)));
const DURATION = envNum('DURATION', 3);
const PARTS = envList('PERSIST_PARTS', 'aof,snapshot').map((x) => x.toLowerCase());
const MODES = envList('PERSIST_MODES', 'everysec,always,off').map((x) => x.toLowerCase());
const TARGETS = envList('PERSIST_TARGETS', 'cluster,shard').map((x) => x.toLowerCase());
const KEYSPACE = Math.max(1, Math.floor(envNum('PERSIST_KEYSPACE', 100_000)));
const PIPELINE = Math.max(1, Math.floor(envNum('PERSIST_PIPELINE', 16)));
const SNAP_KEYS = Math.max(1, Math.floor(envNum('PERSIST_KEYS', 1_000_000)));
const SNAP_VALUE = Math.max(1, Math.floor(envNum('PERSIST_VALUE', 100)));
const SNAP_ROUNDS = Math.max(1, Math.floor(envNum('PERSIST_SNAP_ROUNDS', 1)));
/** Seconds a BGSAVE or a restart may take before the scenario gives up. */
const SNAP_TIMEOUT = envNum('PERSIST_TIMEOUT', 300);
const CLIENTS = 50;
const VALUE_SIZE = 3;
const EVERYSEC_GOAL = 0.4;
const PAUSE_FLOOR_MS = 10;
const SEED = 0x7e57_da7a;

export const PERSISTENCE_KNOBS = ['PERSIST_PARTS', 'PERSIST_MODES', 'PERSIST_TARGETS', 'PERSIST_KEYSPACE', 'PERSIST_PIPELINE',
  'PERSIST_KEYS', 'PERSIST_VALUE', 'PERSIST_SNAP_ROUNDS', 'PERSIST_TIMEOUT'];

// ---------------------------------------------------------------- 1. AOF throughput

interface Mode { name: string; flags: string[]; label: string }

function modeOf(name: string): Mode {
  if (name === 'off') return { name, flags: ['--appendonly', 'no'], label: 'appendonly-no' };
  if (['everysec', 'always', 'no'].includes(name)) return { name, flags: ['--appendonly', 'yes', '--appendfsync', name], label: name };
  return die(`PERSIST_MODES: unknown mode "${name}" (use everysec, always, no, off = appendonly no)`, 1);
}

interface AofRow { target: string; mode: Mode; shoal: Run[]; redis: Run[]; shoalRewrites?: number; redisRewrites?: number }

async function persistenceInfo(port: number): Promise<Map<string, string>> {
  const c = await connect(port);
  try { return await info(c, 'persistence'); } finally { c.close(); }
}

/** Refuses to measure a server whose INFO does not show the log in the state asked for. */
async function checkAof(t: Target, mode: Mode): Promise<void> {
  const want = mode.name === 'off' ? 0 : 1;
  const got = field(await persistenceInfo(t.port), 'aof_enabled');
  if (got !== want) die(`${t.label}: INFO persistence aof_enabled is ${got ?? 'missing'}, expected ${want} (${mode.flags.join(' ')})`, 3);
}

function spec(n: number): BenchSpec {
  return { test: 'set', pipeline: PIPELINE, n, clients: CLIENTS, keyspace: KEYSPACE, valueSize: VALUE_SIZE };
}

/** Short runs grown until one lasts >= DURATION/3 (warm-up too); -n for ~DURATION s. */
async function calibrate(s: Server, other: Server): Promise<number> {
  let n = 10_000 * PIPELINE;
  let r = await benchRun(s, [other], spec(n), false);
  for (let i = 0; i < 3 && r.secs < DURATION / 3; i++) {
    n = Math.ceil(n * Math.min(20, DURATION / 3 / Math.max(r.secs, 0.05)) * 1.2);
    r = await benchRun(s, [other], spec(n), false);
  }
  return Math.max(10_000, Math.min(50_000_000, Math.round(r.rps * DURATION)));
}

const rewrites = async (port: number) => field(await persistenceInfo(port), 'aof_rewrites');

async function measureAof(): Promise<{ rows: AofRow[]; commands: string[] }> {
  const rows: AofRow[] = [];
  const commands: string[] = [];
  for (const modeName of MODES) {
    const mode = modeOf(modeName);
    const redisDir = fs.mkdtempSync(path.join(WORK, `aof-redis-${mode.name}-`));
    const redis = await startRedis([...mode.flags, '--dir', redisDir], `redis-${mode.name}`);
    try {
      await checkAof(redis, mode);
      commands.push(`- ${mode.label}: redis \`${redis.command.replace(redisDir, 'DIR')}\``);
      let nR: number | undefined;
      for (const kind of TARGETS as ('cluster' | 'shard')[]) {
        // startTarget gives the cluster a data dir of its own; a bare shard would use ./data.
        const dataDir = kind === 'shard' ? fs.mkdtempSync(path.join(WORK, `aof-shard-${mode.name}-`)) : '';
        const t = await startTarget(kind, kind === 'shard' ? ['--data-dir', dataDir, ...mode.flags] : mode.flags);
        try {
          await checkAof(t, mode);
          commands.push(`- ${mode.label}: ${t.label} \`${dataDir ? t.command.replace(dataDir, 'DIR') : t.command}\``);
          const wl = `persistence ${t.label} SET ${mode.label} P=${PIPELINE}`;
          log(`${wl}: calibrating`);
          const nT = await calibrate(t.server, redis.server);
          nR ??= await calibrate(redis.server, t.server);
          log(`${wl}: -n ${t.label}=${nT} redis=${nR}`);
          const row: AofRow = { target: t.label, mode, shoal: [], redis: [] };
          for (let round = 1; round <= ROUNDS; round++) {
            const order = round % 2 ? [t.server, redis.server] : [redis.server, t.server];
            for (const side of order) {
              const mine = side === t.server;
              const r = await benchRun(side, [mine ? redis.server : t.server], spec(mine ? nT : (nR ?? nT)));
              (mine ? row.shoal : row.redis).push(r);
              log(`  round ${round}/${ROUNDS} ${mine ? t.label : 'redis'} ${mode.label}: ${Math.round(r.rps)} rps in ${r.secs.toFixed(2)} s, `
                + `p99=${r.p99} ms, server_cpu=${r.serverCpu.toFixed(0)}% (${r.usPerReq.toFixed(2)} us/req), other_cpu=${r.other.toFixed(0)}%`);
            }
          }
          const sr = await rewrites(t.port), rr = await rewrites(redis.port);
          if (sr !== undefined) row.shoalRewrites = sr;
          if (rr !== undefined) row.redisRewrites = rr;
          rows.push(row);
          const ratio = median(row.shoal.map((x) => x.rps)) / median(row.redis.map((x) => x.rps));
          log(`${wl}: ratio ${fmt(ratio, 3)}`);
        } finally {
          await stopTarget(t);
        }
      }
    } finally {
      await stopTarget(redis);
    }
  }
  return { rows, commands };
}

const AOF_HEAD = ['target', 'workload', 'shoal_rps', 'redis_rps', 'ratio', 'rounds', 'shoal p99 ms', 'redis p99 ms',
  'shoal us/req', 'redis us/req', 'AOF rewrites (shoal, redis)', 'other%'];

function aofTable(rows: AofRow[]): string[][] {
  return rows.map((r) => {
    const s = median(r.shoal.map((x) => x.rps)), d = median(r.redis.map((x) => x.rps));
    const pairs = r.shoal.map((x, i) => x.rps / (r.redis[i]?.rps ?? NaN));
    return [r.target, `SET ${r.mode.label} P=${PIPELINE}`, fmt(s), fmt(d), fmt(s / d, 3),
      `${fmt(Math.min(...pairs), 2)}-${fmt(Math.max(...pairs), 2)}`,
      fmt(median(r.shoal.map((x) => x.p99)), 2), fmt(median(r.redis.map((x) => x.p99)), 2),
      fmt(median(r.shoal.map((x) => x.usPerReq)), 2), fmt(median(r.redis.map((x) => x.usPerReq)), 2),
      r.mode.name === 'off' ? '-' : `${r.shoalRewrites ?? 'n/a'}, ${r.redisRewrites ?? 'n/a'}`,
      fmt(Math.max(...[...r.shoal, ...r.redis].map((x) => x.other)))];
  });
}

/** rps with the log on / rps with it off, per server (how much the log costs each). */
function logCostTable(rows: AofRow[]): string[][] {
  const out: string[][] = [];
  for (const target of [...new Set(rows.map((r) => r.target))]) {
    const off = rows.find((r) => r.target === target && r.mode.name === 'off');
    if (!off) continue;
    for (const r of rows.filter((x) => x.target === target && x.mode.name !== 'off')) {
      const sx = median(r.shoal.map((x) => x.rps)) / median(off.shoal.map((x) => x.rps));
      const rx = median(r.redis.map((x) => x.rps)) / median(off.redis.map((x) => x.rps));
      out.push([target, r.mode.label, fmt(sx, 3), fmt(rx, 3)]);
    }
  }
  return out;
}

// ---------------------------------------------------------------- 2. snapshot

type Kind = 'shoal' | 'redis';

interface SnapResult {
  kind: Kind;
  command: string;
  loadSecs: number;
  loadErrors: number;
  saveSecs: number;
  probes: number;
  maxStallMs: number;
  p99StallMs: number;
  over10: number;
  idleMaxMs: number;
  /** redis: latest_fork_usec / 1000; Shoal: shoal_rdb_last_max_pause_ms (longest walk slice). */
  serverPauseMs: number | undefined;
  cowKeys: number | undefined;
  fileBytes: number;
  file: string;
  restartSecs: number;
  logLoadSecs: number | undefined;
  emptyStartSecs: number;
  readBack: string;
}

const SHOAL_SNAP_CMD = "node dist/bin/shoal-shard.js --port P --workers 1 --save '' --appendonly no --data-dir DIR";
const REDIS_SNAP_CMD = "redis-server --port P --bind 127.0.0.1 --save '' --appendonly no --dir DIR --dbfilename dump.rdb";

function snapArgv(kind: Kind, port: number, dir: string): string[] {
  return kind === 'shoal'
    ? [process.execPath, 'dist/bin/shoal-shard.js', '--port', String(port), '--workers', '1', '--save', '', '--appendonly', 'no', '--data-dir', dir]
    : ['redis-server', '--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--daemonize', 'no',
      '--dir', dir, '--dbfilename', 'dump.rdb'];
}

/**
 * Seconds from `spawnedAt` until `s` answers PING with +PONG and DBSIZE with `keys`
 * (redis answers -LOADING while it loads; a Shoal worker listens once loaded).
 */
async function waitLoaded(s: Server, keys: number, spawnedAt: bigint): Promise<number> {
  const deadline = Date.now() + SNAP_TIMEOUT * 1000;
  let last = 'no connection yet';
  let c: RespClient | undefined;
  let nextLog = Date.now() + 2000;
  try {
    while (Date.now() < deadline) {
      if (Date.now() >= nextLog) {
        log(`  ${s.name}: starting, ${(Number(process.hrtime.bigint() - spawnedAt) / 1e9).toFixed(0)} s (${last})`);
        nextLog += 2000;
      }
      if (s.exited) die(`${s.name} exited (code ${s.exited.code}, signal ${s.exited.signal}) while starting.\n--- last lines of ${s.logFile}:\n${logTail(s)}`, 2);
      try {
        c ??= await RespClient.connect(s.port, HOST, 5000);
        const ping = await c.send(['PING']);
        if (ping === 'PONG') {
          const n = await c.send(['DBSIZE']);
          if (n === keys) return Number(process.hrtime.bigint() - spawnedAt) / 1e9;
          last = `DBSIZE -> ${showReply(n)}`;
        } else last = `PING -> ${showReply(ping)}`;
      } catch (e) {
        last = (e as Error).message;
        c?.close();
        c = undefined;
      }
      await sleep(10);
    }
  } finally {
    c?.close();
  }
  return die(`${s.name} did not answer PING and DBSIZE ${keys} within PERSIST_TIMEOUT=${SNAP_TIMEOUT} s (last: ${last})`, 2);
}

async function startSnapServer(kind: Kind, dir: string, name: string, keys: number): Promise<{ s: Server; secs: number }> {
  const port = await freePorts(1);
  const t0 = process.hrtime.bigint();
  const s = startServer(name, snapArgv(kind, port, dir), port);
  return { s, secs: await waitLoaded(s, keys, t0) };
}

/** The value of key #i: SNAP_VALUE base64 characters from a seeded stream (same for both servers, not repetitive). */
function valueWriter(): (out: Buffer) => void {
  const next = rng(SEED);
  const ALPHABET = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');
  return (out) => {
    for (let j = 0; j < out.length; j += 4) {
      const x = (next() * 2 ** 24) >>> 0;
      for (let k = 0; k < 4 && j + k < out.length; k++) out[j + k] = ALPHABET[(x >>> (6 * k)) & 63]!;
    }
  };
}

interface Probe { stop(): Promise<{ count: number; max: number; p99: number; over10: number }> }

/** GET in a closed loop, 1 ms apart, on its own connection; round trips in ms. */
async function startProbe(port: number): Promise<Probe> {
  const c = await connect(port);
  const rtts: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const t0 = process.hrtime.bigint();
      const r = await c.send(['GET', keyName(0)]);
      rtts.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (!Buffer.isBuffer(r)) die(`probe GET ${keyName(0)} returned ${showReply(r)}`, 3);
      await sleep(1);
    }
  })();
  loop.catch(() => { /* reported by stop() */ });
  return {
    async stop() {
      running = false;
      try { await loop; } finally { c.close(); }
      const sorted = [...rtts].sort((a, b) => a - b);
      return {
        count: sorted.length,
        max: sorted[sorted.length - 1] ?? NaN,
        p99: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? NaN,
        over10: sorted.filter((x) => x > PAUSE_FLOOR_MS).length,
      };
    },
  };
}

function findFile(dir: string, name: string): string | undefined {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isFile() && e.name === name) return p;
    if (e.isDirectory()) {
      const f = findFile(p, name);
      if (f) return f;
    }
  }
  return undefined;
}

/** The server's own load time from its log: redis "DB loaded from disk: N seconds", Shoal's "snapshot loaded" ms. */
function loggedLoadSecs(kind: Kind, s: Server): number | undefined {
  let text = '';
  try { text = fs.readFileSync(s.logFile, 'utf8'); } catch { return undefined; }
  if (kind === 'redis') {
    const m = /DB loaded from disk: ([\d.]+) seconds/.exec(text);
    return m ? Number(m[1]) : undefined;
  }
  const line = text.split('\n').find((l) => l.includes('"snapshot loaded"'));
  const ms = line ? /"ms":(\d+(?:\.\d+)?)/.exec(line)?.[1] : undefined;
  return ms === undefined ? undefined : Number(ms) / 1000;
}

async function snapshotRound(kind: Kind, round: number): Promise<SnapResult> {
  const label = kind === 'shoal' ? 'shoal-shard' : 'redis';
  const dir = fs.mkdtempSync(path.join(WORK, `snap-${kind}-${round}-`));
  const first = await startSnapServer(kind, dir, `snap-${kind}-${round}`, 0);
  let s = first.s;
  try {
    const c = await connect(s.port);
    const samples: { key: string; value: Buffer }[] = [];
    let lr;
    try {
      log(`snapshot ${label}: loading ${SNAP_KEYS} keys x ${SNAP_VALUE} B`);
      const fill = valueWriter();
      const value = Buffer.alloc(SNAP_VALUE);
      const every = Math.max(1, Math.floor(SNAP_KEYS / 20));
      lr = await load(c, {
        total: SNAP_KEYS,
        window: 10_000,
        label: `${label} load`,
        build: (b, i) => {
          fill(value);
          b.add(['SET', keyName(i), value]);
          if (i % every === 0 || i === SNAP_KEYS - 1) samples.push({ key: keyName(i), value: Buffer.from(value) });
        },
      });
      if (lr.errors) die(`${label}: ${lr.errors} SETs failed while loading (first: ${lr.firstError})`, 3);
      const n = await c.send(['DBSIZE']);
      if (n !== SNAP_KEYS) die(`${label}: DBSIZE after loading is ${showReply(n)}, expected ${SNAP_KEYS}`, 3);
      log(`snapshot ${label}: loaded in ${lr.secs.toFixed(1)} s (${fmt(SNAP_KEYS / lr.secs)} SET/s)`);

      // The machine's own hiccups, for reading the stall during the save.
      const idle = await startProbe(s.port);
      await sleep(1000);
      const idleStats = await idle.stop();

      const before = await info(c, 'persistence');
      const saves0 = field(before, 'rdb_saves');
      const lastsave0 = field(before, 'rdb_last_save_time');
      const probe = await startProbe(s.port);
      await sleep(100);
      const t0 = process.hrtime.bigint();
      const r = await c.send(['BGSAVE']);
      if (r !== 'Background saving started') die(`${label}: BGSAVE -> ${showReply(r)}`, 3);
      let saveSecs = NaN;
      let nextLog = 1;
      const deadline = Date.now() + SNAP_TIMEOUT * 1000;
      for (;;) {
        const p = await info(c, 'persistence');
        const secs = Number(process.hrtime.bigint() - t0) / 1e9;
        const busy = field(p, 'rdb_bgsave_in_progress');
        const done = busy === 0 && (field(p, 'rdb_saves') !== saves0 || field(p, 'rdb_last_save_time') !== lastsave0);
        if (done) {
          saveSecs = secs;
          if (p.get('rdb_last_bgsave_status') !== 'ok') die(`${label}: rdb_last_bgsave_status:${p.get('rdb_last_bgsave_status')} after BGSAVE`, 3);
          break;
        }
        if (busy === 0 && secs > 5) die(`${label}: no background save in progress and none finished ${secs.toFixed(0)} s after BGSAVE`, 3);
        if (Date.now() > deadline) die(`${label}: BGSAVE still running after PERSIST_TIMEOUT=${SNAP_TIMEOUT} s`, 4);
        if (secs >= nextLog) {
          log(`  ${label} saving: ${secs.toFixed(0)} s, keys ${p.get('current_save_keys_processed') ?? '?'}/${p.get('current_save_keys_total') ?? '?'}`);
          nextLog = Math.floor(secs) + 1;
        }
        await sleep(20);
      }
      await sleep(100);
      const stall = await probe.stop();
      const after = await info(c, 'persistence');
      const stats = await info(c, 'stats');
      const forkUs = field(stats, 'latest_fork_usec');
      const serverPauseMs = kind === 'redis' ? (forkUs === undefined ? undefined : forkUs / 1000) : field(after, 'shoal_rdb_last_max_pause_ms');
      log(`snapshot ${label}: BGSAVE took ${saveSecs.toFixed(2)} s; GET probe max ${stall.max.toFixed(1)} ms, p99 ${stall.p99.toFixed(2)} ms `
        + `(${stall.count} probes, ${stall.over10} over ${PAUSE_FLOOR_MS} ms; idle max ${idleStats.max.toFixed(1)} ms); `
        + `${kind === 'redis' ? 'latest_fork_usec' : 'shoal_rdb_last_max_pause_ms'} ${fmt(serverPauseMs, 2)} ms`);
      c.close();

      const file = kind === 'redis' ? path.join(dir, 'dump.rdb') : findFile(dir, 'dump.sdb');
      if (!file || !fs.existsSync(file)) die(`${label}: no snapshot file under ${dir} after BGSAVE`, 3);

      await stopServer(s);
      const fileBytes = fs.statSync(file).size;
      log(`snapshot ${label}: ${path.relative(dir, file)} is ${fmtMiB(fileBytes)}; restarting on the same directory`);
      const again = await startSnapServer(kind, dir, `snap-${kind}-${round}-restart`, SNAP_KEYS);
      s = again.s;
      const c2 = await connect(s.port);
      let good = 0;
      try {
        const got = await c2.pipeline(samples.map((x) => ['GET', x.key]));
        samples.forEach((x, j) => {
          const g = got[j];
          if (!Buffer.isBuffer(g) || !g.equals(x.value)) die(`${label}: after restart GET ${x.key} returned ${showReply(g)}, not the value written`, 3);
          good++;
        });
      } finally {
        c2.close();
      }
      const logLoadSecs = loggedLoadSecs(kind, s);
      log(`snapshot ${label}: ready after restart in ${again.secs.toFixed(2)} s (server log: ${fmt(logLoadSecs, 2)} s), ${good}/${samples.length} sample keys read back`);
      const cow = kind === 'shoal' ? field(after, 'shoal_rdb_last_cow_keys') : undefined;
      return {
        kind, command: kind === 'shoal' ? SHOAL_SNAP_CMD : REDIS_SNAP_CMD, loadSecs: lr.secs, loadErrors: lr.errors, saveSecs,
        probes: stall.count, maxStallMs: stall.max, p99StallMs: stall.p99, over10: stall.over10, idleMaxMs: idleStats.max,
        serverPauseMs, cowKeys: cow, fileBytes, file: path.relative(dir, file), restartSecs: again.secs, logLoadSecs,
        emptyStartSecs: first.secs, readBack: `${good}/${samples.length}`,
      };
    } finally {
      c.close();
    }
  } finally {
    await stopServer(s);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function measureSnapshots(): Promise<SnapResult[]> {
  const out: SnapResult[] = [];
  for (let round = 1; round <= SNAP_ROUNDS; round++) {
    const order: Kind[] = round % 2 ? ['shoal', 'redis'] : ['redis', 'shoal'];
    for (const kind of order) out.push(await snapshotRound(kind, round));
  }
  return out;
}

interface SnapSummary { kind: Kind; runs: SnapResult[]; m: (f: (r: SnapResult) => number | undefined) => number }

function summarizeSnap(results: SnapResult[], kind: Kind): SnapSummary {
  const runs = results.filter((r) => r.kind === kind);
  return { kind, runs, m: (f) => median(runs.map((r) => f(r) ?? NaN)) };
}

const SNAP_HEAD = ['server', 'keys', 'file', 'BGSAVE s', 'longest GET ms', 'GET p99 ms', `GETs > ${PAUSE_FLOOR_MS} ms`, 'idle max ms',
  'server pause ms', 'file MiB', 'restart to ready s', 'load (server log) s', 'empty start s', 'read back'];

function snapRows(sums: SnapSummary[]): string[][] {
  return sums.filter((x) => x.runs.length).map((x) => [
    x.kind === 'shoal' ? 'shoal-shard' : 'redis', String(SNAP_KEYS), x.runs[0]?.file ?? '?', fmt(x.m((r) => r.saveSecs), 3),
    fmt(x.m((r) => r.maxStallMs), 2), fmt(x.m((r) => r.p99StallMs), 2), fmt(x.m((r) => r.over10)), fmt(x.m((r) => r.idleMaxMs), 2),
    `${fmt(x.m((r) => r.serverPauseMs), 2)} (${x.kind === 'redis' ? 'fork' : 'walk slice'})`,
    fmt(x.m((r) => r.fileBytes) / (1024 * 1024), 2), fmt(x.m((r) => r.restartSecs), 3), fmt(x.m((r) => r.logLoadSecs), 3),
    fmt(x.m((r) => r.emptyStartSecs), 3), x.runs.map((r) => r.readBack).join(' ')]);
}

// ---------------------------------------------------------------- section

export async function runPersistence(): Promise<Section> {
  for (const p of PARTS) if (p !== 'aof' && p !== 'snapshot') die(`PERSIST_PARTS: unknown part "${p}" (use aof, snapshot)`, 1);
  for (const k of TARGETS) if (k !== 'cluster' && k !== 'shard') die(`PERSIST_TARGETS: unknown target "${k}" (use cluster, shard)`, 1);
  const modes = MODES.map(modeOf);
  const aof = PARTS.includes('aof') && modes.length && TARGETS.length ? await measureAof() : { rows: [], commands: [] };
  const snaps = PARTS.includes('snapshot') ? await measureSnapshots() : [];

  const aofRows = aofTable(aof.rows);
  const cost = logCostTable(aof.rows);
  const goals: string[][] = [];
  for (const r of aof.rows.filter((x) => x.target === 'cluster' && x.mode.name !== 'off' && x.mode.name !== 'no')) {
    const ratio = median(r.shoal.map((x) => x.rps)) / median(r.redis.map((x) => x.rps));
    goals.push([`AOF ${r.mode.label}: SET -P ${PIPELINE} through the proxy`, r.mode.name === 'everysec' ? `>= ${EVERYSEC_GOAL}x redis` : 'report',
      `${fmt(ratio, 3)}x`, r.mode.name === 'everysec' ? verdict(Number.isFinite(ratio) ? ratio >= EVERYSEC_GOAL : undefined) : 'reported']);
  }
  const sh = summarizeSnap(snaps, 'shoal'), rd = summarizeSnap(snaps, 'redis');
  const ratioRows: string[][] = [];
  if (sh.runs.length && rd.runs.length) {
    const row = (name: string, f: (r: SnapResult) => number | undefined, d: number, unit: string) => {
      const a = sh.m(f), b = rd.m(f);
      ratioRows.push([name, `${fmt(a, d)}${unit}`, `${fmt(b, d)}${unit}`, fmt(a / b, 3)]);
    };
    row('BGSAVE time', (r) => r.saveSecs, 3, ' s');
    row('longest pause seen by a GET client', (r) => r.maxStallMs, 2, ' ms');
    row('file size', (r) => r.fileBytes / (1024 * 1024), 2, ' MiB');
    row('load: restart to PING + full DBSIZE', (r) => r.restartSecs, 3, ' s');
    row('load: as the server logs it', (r) => r.logLoadSecs, 3, ' s');
    const stall = sh.m((r) => r.maxStallMs), fork = rd.m((r) => r.serverPauseMs);
    const bound = Math.max(Number.isFinite(fork) ? fork : 0, PAUSE_FLOOR_MS);
    goals.push([`snapshot of ${SNAP_KEYS} keys: Shoal's longest pause`, `<= redis fork (${fmt(fork, 1)} ms) or <= ${PAUSE_FLOOR_MS} ms`,
      `${fmt(stall, 1)} ms`, verdict(Number.isFinite(stall) ? stall <= bound : undefined)]);
  }

  const text = [
    aofRows.length ? textTable(AOF_HEAD, aofRows) : '',
    cost.length ? textTable(['target', 'mode', 'shoal on/off', 'redis on/off'], cost) : '',
    snaps.length ? textTable(SNAP_HEAD, snapRows([sh, rd]), 3) : '',
    ratioRows.length ? textTable(['metric', 'shoal', 'redis', 'shoal/redis'], ratioRows, 1) : '',
    ...goals.map((g) => `goal persistence ${g[0]}: ${g[1]}: ${g[3]} (${g[2]})`),
  ].filter((x) => x !== '').join('\n');

  const aofMd = !PARTS.includes('aof') ? '' : `### Append-only log: SET throughput (requests/s, medians)

Method: \`redis-benchmark -t set -P ${PIPELINE} -c ${CLIENTS} -r ${KEYSPACE} -d ${VALUE_SIZE} --csv\`, \`-n\` calibrated per server
for ~${DURATION} s runs; per mode a fresh redis-server and a fresh Shoal target started with the same persistence flags
(one Shoal target alive at a time, beside that redis-server), ${ROUNDS} rounds interleaved and counter-balanced, each run
after a quiet gate; medians. Keys are created by the first runs and overwritten after. Both servers rewrite their
log automatically as configured by default (auto-aof-rewrite-percentage 100, -min-size 64mb); the rewrite counts are
INFO's \`aof_rewrites\` at the end (summed over workers through the proxy). Files on ${fsNote()}.
- cluster: the embedded cluster through its proxy (\`--save ''\` plus the mode's flags); shard-direct: one worker,
  \`shoal-shard --workers 1\` (a worker with its own log). In the redis command the mode's flags follow the harness's
  defaults; the last one wins, and every server's \`aof_enabled\` is checked before it is measured.

${aof.commands.join('\n')}

${aofRows.length ? mdTable(AOF_HEAD, aofRows) : '_Not measured (PERSIST_MODES or PERSIST_TARGETS empty)._'}

- \`ratio\` = shoal_rps / redis_rps; \`rounds\` = range of the per-round ratios; \`other%\`: most CPU any other process
  took during a run (% of one core; above ~20 distrust the row).
${cost.length ? `\nWhat the log costs each server (rps with the log / rps with \`appendonly no\`, same target's runs):\n\n${mdTable(['target', 'mode', 'shoal on/off', 'redis on/off'], cost)}\n` : ''}`;

  const snapMd = !PARTS.includes('snapshot') ? '' : `### Snapshot of ${SNAP_KEYS} keys, ${SNAP_VALUE}-byte values

Method: one server alive at a time${SNAP_ROUNDS > 1 ? `, ${SNAP_ROUNDS} rounds in alternating order, medians` : ''}. Shoal is one worker process
started directly, so its snapshot is one file (the embedded cluster writes one file per worker, each worker saving its
own keys at the same time):
- shoal-shard: \`${SHOAL_SNAP_CMD}\` (file \`DIR/shard-0/worker-0/dump.sdb\`, deflate level 1)
- redis: \`${REDIS_SNAP_CMD}\` (rdbcompression yes, LZF)

${SNAP_KEYS} keys \`key:<12 digits>\` with ${SNAP_VALUE}-byte values of base64 characters from a seeded stream (the same
values in both servers; 6 bits of entropy per byte, so both compressors have something, but not everything, to
squeeze) are loaded pipelined over one connection. A second connection then sends \`GET ${keyName(0)}\` in a closed loop,
1 ms apart, for 1 s (\`idle max\`: the machine's own hiccups), and again from 100 ms before \`BGSAVE\` until it
finished: \`BGSAVE s\` is from the command until \`INFO persistence\` (polled every 20 ms) shows
\`rdb_bgsave_in_progress:0\` with a new save counted; \`longest GET ms\` is the longest round trip of the probe during
that time, the pause a client saw. \`server pause\`: redis's \`latest_fork_usec\` (the fork, the part of its BGSAVE
that stops the server) and Shoal's \`shoal_rdb_last_max_pause_ms\` (the longest slice its copy-on-write walk took on
the worker's event loop). Then the server is stopped (neither saves on shutdown with \`--save ''\`) and started again on
the same directory: \`restart to ready\` is from spawn until \`PING\` answers +PONG and \`DBSIZE\` is ${SNAP_KEYS} (redis
answers -LOADING meanwhile; a Shoal worker listens once loaded), \`load (server log)\` the load time the server logs
(redis "DB loaded from disk", Shoal "snapshot loaded"), \`empty start\` the same spawn-to-PONG time on an empty
directory (process start-up, part of \`restart to ready\`). After the restart every (keys/20)th key and the last are read
back and compared byte for byte (\`read back\`).

${snaps.length ? mdTable(SNAP_HEAD, snapRows([sh, rd]), 3) : '_Not measured._'}

${ratioRows.length ? mdTable(['metric', 'shoal', 'redis', 'shoal/redis'], ratioRows, 1) : ''}
`;

  const markdown = `## Persistence: append-only log throughput and snapshots (issue 7)

${aofMd}
${snapMd}
### Targets (from the issue)

${goals.length ? mdTable(['figure', 'goal', 'measured', 'verdict'], goals, 2) : '_Not measured._'}
`;
  return { scenario: 'persistence', text, markdown: markdown.replace(/\n{3,}/g, '\n\n') };
}

/** Where WORK lives (fsync cost depends on it): filesystem type of its mount. */
function fsNote(): string {
  try {
    const mounts = fs.readFileSync('/proc/mounts', 'latin1').split('\n').map((l) => l.split(' ')).filter((c) => c.length > 2);
    let best: string[] | undefined;
    for (const c of mounts) if (WORK.startsWith(c[1] ?? '\0') && (c[1] ?? '').length >= (best?.[1] ?? '').length) best = c;
    return best ? `${best[2]} (${best[0]} at ${best[1]}), the bench's work directory` : 'the bench\'s work directory';
  } catch {
    return 'the bench\'s work directory';
  }
}
