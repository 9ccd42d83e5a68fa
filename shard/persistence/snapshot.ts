/**
 * Point-in-time snapshots of one worker's keyspace (docs/persistence.md), written while
 * commands keep running, and loading them at start.
 *
 * Redis forks and lets the kernel copy pages on write. A worker thread cannot fork, so
 * a background snapshot (BGSAVE, save points, AOF rewrite bases) walks the index
 * incrementally and copies keys on write instead:
 *
 *   walk      The index is visited in SCAN order (home buckets in reverse-binary
 *             order, HashIndex.scan) in slices of at most SLICE_MS per event-loop
 *             turn, yielding with setImmediate so commands run between slices.
 *   reached   After each scan call the walk has seen every key whose hash h has
 *             rev32(h) < P, where P = rev32(next cursor) (2^32 at the end). This holds
 *             whatever the table mask and across incremental resizes: one scan call
 *             visits, in both tables, every hash with rev32(h) in [rev32(cursor & m),
 *             P) for the smaller mask m, and rev32(cursor & m) <= the previous P. So a
 *             key is "reached" iff rev32(hash) < P: a test on its hash alone, no per-key
 *             mark, no pause of resizing. Visits below the previous P (the duplicates a
 *             shrink causes) are skipped by the same test.
 *   COW       Before anything changes a key the walk has not reached — a write command
 *             (WorkerServer.call, by the command table's key positions), a blocked
 *             command being served (BlockingRegistry.beforeServe), or any delete that
 *             is not a command (active/lazy expiry, eviction, page reassignment:
 *             Keyspace.beforeUnlink) — its current value is emitted and its name goes
 *             in `done`, which the walk skips. A key that does not exist yet goes in
 *             `done` too (created after the instant: not in the snapshot).
 *   instant   So the file holds every key exactly once, with the value it had when the
 *             snapshot began. FLUSHALL/FLUSHDB abort a running snapshot (Redis kills its
 *             child the same way).
 *
 * Records go into 1 MiB chunks; each full chunk goes to the shard process's main thread
 * (./snapshot-pool.ts), whose piscina pool compresses and checksums it and which appends
 * the sections to `<file>.tmp-<pid>`, then writes the end marker, fsyncs, renames over
 * `<file>` and fsyncs the directory. The worker's loop only walks and copies.
 *
 * SAVE blocks the worker as Redis's does: one synchronous walk, encode and write.
 */
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { WorkerServer } from '../worker/server.js';
import type { Keyspace } from '../keyspace.js';
import type { Ref } from '../arena/layout.js';
import type { CommandSpec } from '../../shared/commands/spec.js';
import type { CommandContext } from '../commands/context.js';
import type { Logger } from '../../shared/log.js';
import { keyIndexes } from '../../shared/commands/spec.js';
import { hashKey, rev32 } from '../index/hash-index.js';
import { dumpValue, restoreValue } from '../types/registry.js';
import { ReplyWriter } from '../../shared/resp/reply-writer.js';
import { ShoalError, ErrorCodes } from '../../shared/errors.js';
import { parseSavePoints } from '../../shared/config/persistence-params.js';
import { workerFile } from './data-dir.js';
import { encodeSection, type SnapshotCompression } from './snapshot-encode.js';
import { openSnapshotSink, type SnapshotSink } from './snapshot-pool.js';
import { readSnapshot, SnapshotDamage } from './snapshot-reader.js';
import { activeKeyring, newSnapshotSeal, type SnapshotSeal } from './encryption.js';
import {
  encodeHeader, encodeEnd, recordBytes, FILE_FLAG_COMPRESSION, RECORD_FLAG_EXPIRE,
} from './snapshot-format.js';

export interface SnapshotResult { keys: number; bytes: number; ms: number; maxPauseMs: number; cowKeys?: number; slices?: number; longSlices?: number }

/** Raw record bytes per section. */
const CHUNK_BYTES = 1 << 20;
/** Bits of the walk's filter of copied/created keys (128 KiB). */
const DONE_BITS = 1 << 20;
/** Walk time per event-loop turn (the pause a client can see from the walk). */
const SLICE_MS = 1;
/** Scan calls between clock reads inside a slice. */
const CLOCK_EVERY = 8;
/** Chunks handed to the pool and not yet written before the walk waits for the disk. */
const MAX_IN_FLIGHT = 4;
/** After a failed background save, save points wait this long before trying again (Redis CONFIG_BGSAVE_RETRY_DELAY). */
const RETRY_DELAY_MS = 5000;
const FULL = 2 ** 32;

function persistenceError(message: string): ShoalError {
  return new ShoalError(ErrorCodes.PERSISTENCE, message);
}

// --- record writer ---------------------------------------------------------------------

/** Appends records for live items to raw chunks; a full chunk goes to `flush`. */
class RecordWriter {
  chunk = Buffer.allocUnsafeSlow(CHUNK_BYTES);
  pos = 0;
  records = 0;
  total = 0;
  constructor(readonly ks: Keyspace, readonly flush: (chunk: Buffer, length: number, records: number) => void) {}

  /** The record of a live item: type, expiry, key, dumpValue bytes. */
  emit(ref: Ref): void {
    const ks = this.ks;
    const keyLen = ks.keyLen(ref);
    const exp = ks.expireAt(ref);
    const page = ks.page(ref);
    let vsrc: Uint8Array = page;
    let vstart = 0;
    let vlen: number;
    if (ks.isHeap(ref)) {
      vsrc = dumpValue(ks, ref);
      vlen = vsrc.length;
    } else {
      vstart = ks.valueStart(ref);
      vlen = ks.valueLen(ref);
    }
    const need = recordBytes(keyLen, vlen, exp);
    if (this.pos + need > this.chunk.length) {
      this.end();
      if (need > this.chunk.length) this.chunk = Buffer.allocUnsafeSlow(need);
    }
    const c = this.chunk;
    let p = this.pos;
    c[p++] = ks.type(ref);
    c[p++] = exp !== 0 ? RECORD_FLAG_EXPIRE : 0;
    if (exp !== 0) p = c.writeDoubleLE(exp, p);
    p = c.writeUInt32LE(keyLen, p);
    const ks0 = ks.keyStart(ref);
    page.copy(c, p, ks0, ks0 + keyLen);
    p += keyLen;
    p = c.writeUInt32LE(vlen, p);
    c.set(vsrc.subarray(vstart, vstart + vlen), p);
    this.pos = p + vlen;
    this.records++;
    this.total++;
  }

  /** Hands the current chunk (if it holds records) to flush. */
  end(): void {
    if (this.records === 0) return;
    const chunk = this.chunk;
    const n = this.pos;
    const r = this.records;
    this.pos = 0;
    this.records = 0;
    this.flush(chunk, n, r);
    // A chunk transferred to the pool is detached; an oversized one (one big record) is dropped.
    if (chunk.buffer.byteLength !== CHUNK_BYTES) this.chunk = Buffer.allocUnsafeSlow(CHUNK_BYTES);
  }
}

/** rdbcompression and snapshot-compression as one codec choice. */
function compressionOf(server: WorkerServer): SnapshotCompression {
  return server.config.rdbcompression === 'yes' ? server.config.snapshotCompression : 'none';
}

function headerFor(server: WorkerServer, created: number, compress: SnapshotCompression, sealing: SnapshotSeal | null): Buffer {
  return encodeHeader({
    flags: compress !== 'none' ? FILE_FLAG_COMPRESSION : 0, keyId: sealing?.keyId ?? 0, created,
    shard: server.self.shard, worker: server.self.worker, keyEstimate: server.ks.size,
    ...(sealing !== null ? { salt: sealing.salt } : {}),
  });
}


// --- background snapshot -----------------------------------------------------------------

export type SnapshotPurpose = 'bgsave' | 'rewrite';

/** One background snapshot in progress: the walk, the copy-on-write hooks, the file. */
export class SnapshotRun {
  readonly startedAt = Date.now();
  readonly keysTotal: number;
  maxPauseMs = 0;
  /** Walk slices run, and those over 10 ms (the log line reports them). */
  slices = 0;
  longSlices = 0;
  /** Keys copied out by copy-on-write (changed or deleted before the walk reached them). */
  cowKeys = 0;
  /** Walk position: keys with rev32(hash) < P are reached. */
  #P = 0;
  #cursor = 0;
  /** Keys emitted by copy-on-write or created after the instant: the walk skips them. */
  readonly #done = new Set<string>();
  /** Bloom-style filter of `done` by hash (DONE_BITS bits): the walk builds a key's name only when its bit is set. */
  readonly #doneBits = new Int32Array(DONE_BITS >>> 5);
  readonly #writer: RecordWriter;
  readonly #sink: SnapshotSink;
  /** Sections handed to the sink and not yet awaited by the walk. */
  readonly #queue: Array<Promise<void>> = [];
  #failed: Error | null = null;
  readonly #ks: Keyspace;
  readonly #visit = (ref: Ref): void => {
    const ks = this.#ks;
    if (rev32(ks.hashOf(ref)) < this.#P) return;
    if (!this.#aliveAtStart(ref)) return;
    if (this.#isMarked(ks.hashOf(ref)) && this.#done.has(this.#keyString(ref))) return;
    this.#writer.emit(ref);
  };
  readonly done: Promise<SnapshotResult>;

  constructor(readonly server: WorkerServer, readonly file: string, readonly purpose: SnapshotPurpose) {
    this.#ks = server.ks;
    this.keysTotal = server.ks.size;
    const compress = compressionOf(server);
    // Under the current key when one is configured (./encryption.ts): sections are sealed in the pool.
    const sealing = newSnapshotSeal();
    this.#sink = openSnapshotSink(`${file}.tmp-${process.pid}`, file, headerFor(server, this.startedAt, compress, sealing), compress, sealing?.key ?? null);
    this.#writer = new RecordWriter(server.ks, (chunk, length, records) => {
      const written = this.#sink.write(chunk, length, records);
      written.catch(() => {});
      this.#queue.push(written);
    });
    // From here on every change to an unreached key first copies it out.
    server.cow = this;
    server.ks.beforeUnlink = (ref) => this.beforeUnlink(ref);
    server.blocking.beforeServe = (keys) => {
      for (const k of keys) this.beforeWrite(k);
    };
    this.done = this.#run();
    this.done.catch(() => {});
  }

  get keysWritten(): number {
    return this.#writer.total;
  }

  #mark(h: number): void {
    const b = h & (DONE_BITS - 1);
    this.#doneBits[b >>> 5]! |= 1 << (b & 31);
  }

  #isMarked(h: number): boolean {
    const b = h & (DONE_BITS - 1);
    return (this.#doneBits[b >>> 5]! & (1 << (b & 31))) !== 0;
  }

  #keyString(ref: Ref): string {
    const ks = this.#ks;
    const s = ks.keyStart(ref);
    return ks.page(ref).toString('latin1', s, s + ks.keyLen(ref));
  }

  /** Copy-on-write before a command changes key. */
  beforeWrite(key: Uint8Array): void {
    const h = hashKey(key, 0, key.length);
    if (rev32(h) < this.#P) return;
    const name = Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
    if (this.#done.has(name)) return;
    this.#done.add(name);
    this.#mark(h);
    const ref = this.#ks.index.find(key, h);
    if (ref !== 0 && this.#aliveAtStart(ref)) {
      this.#writer.emit(ref);
      this.cowKeys++;
    }
  }

  /** Copy-on-write before an item leaves the index (expiry, eviction, any delete). */
  beforeUnlink(ref: Ref): void {
    const h = this.#ks.hashOf(ref);
    if (rev32(h) < this.#P) return;
    const name = this.#keyString(ref);
    if (this.#done.has(name)) return;
    this.#done.add(name);
    this.#mark(h);
    if (!this.#aliveAtStart(ref)) return;
    this.#writer.emit(ref);
    this.cowKeys++;
  }

  /** False for an item whose TTL had passed at the instant (not part of the snapshot). */
  #aliveAtStart(ref: Ref): boolean {
    const exp = this.#ks.expireAt(ref);
    return exp === 0 || exp > this.startedAt;
  }

  /** WorkerServer.call: a write command is about to run. */
  beforeCommand(spec: CommandSpec, argv: Buffer[]): void {
    if (spec.firstKey === 0 && spec.numkeysAt === undefined) {
      if (spec.name === 'flushall' || spec.name === 'flushdb') this.abort(new Error(`snapshot aborted by ${spec.name.toUpperCase()}`));
      return;
    }
    for (const i of keyIndexes(spec, argv)) this.beforeWrite(argv[i]!);
  }

  /** Stops the run (FLUSHALL, shutdown); `done` rejects with err. */
  abort(err: Error): void {
    if (this.#failed === null) this.#failed = err;
    this.#unhook();
  }

  get aborted(): boolean {
    return this.#failed !== null;
  }

  #unhook(): void {
    const s = this.server;
    if (s.cow === this) s.cow = null;
    s.ks.beforeUnlink = null;
    s.blocking.beforeServe = null;
  }

  async #run(): Promise<SnapshotResult> {
    const t0 = performance.now();
    try {
      await new Promise<void>((r) => setImmediate(r));
      const index = this.#ks.index;
      while (this.#failed === null) {
        const s0 = performance.now();
        let calls = 0;
        let now = s0;
        do {
          const next = index.scan(this.#cursor, this.#visit);
          this.#cursor = next;
          this.#P = next === 0 ? FULL : rev32(next);
          if (next === 0) break;
          if (++calls % CLOCK_EVERY === 0) now = performance.now();
        } while (now - s0 < SLICE_MS && this.#queue.length < MAX_IN_FLIGHT);
        const pause = performance.now() - s0;
        if (pause > this.maxPauseMs) this.maxPauseMs = pause;
        this.slices++;
        if (pause > 10) this.longSlices++;
        if (this.#P === FULL) break;
        while (this.#queue.length >= MAX_IN_FLIGHT) await this.#queue.shift();
        await new Promise<void>((r) => setImmediate(r));
      }
      if (this.#failed !== null) throw this.#failed;
      // Every key is out (walked or copied): the snapshot is complete.
      this.#unhook();
      this.#writer.end();
      await Promise.all(this.#queue);
      const bytes = await this.#sink.finish(this.#writer.total);
      return { keys: this.#writer.total, bytes, ms: performance.now() - t0, maxPauseMs: this.maxPauseMs, cowKeys: this.cowKeys, slices: this.slices, longSlices: this.longSlices };
    } catch (err) {
      this.#unhook();
      await this.#sink.abort().catch(() => {});
      throw this.#failed ?? err;
    } finally {
      if (this.server.snapshots.running === this) this.server.snapshots.running = null;
    }
  }
}

/**
 * Writes a point-in-time snapshot of `server.ks` to `file` (temp file, fsync, rename)
 * while commands keep running. Resolves when the file is durable. One at a time.
 */
export function writeSnapshot(server: WorkerServer, file: string, purpose: SnapshotPurpose = 'rewrite'): Promise<SnapshotResult> {
  if (server.snapshots.running !== null) return Promise.reject(new Error('Background save already in progress'));
  const run = new SnapshotRun(server, file, purpose);
  server.snapshots.running = run;
  return run.done;
}

/** SAVE: the whole snapshot now, blocking the worker (as Redis's SAVE). */
export function saveSync(server: WorkerServer, file: string): SnapshotResult {
  const t0 = performance.now();
  const compress = compressionOf(server);
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    let bytes = 0;
    let sections = 0;
    const put = (b: Buffer): void => {
      let off = 0;
      while (off < b.length) off += writeSync(fd, b, off, b.length - off);
      bytes += b.length;
    };
    const sealing = newSnapshotSeal();
    put(headerFor(server, Date.now(), compress, sealing));
    const writer = new RecordWriter(server.ks, (chunk, length, records) => {
      put(encodeSection(chunk.subarray(0, length), records, compress, sealing === null ? undefined : { key: sealing.key, index: sections }));
      sections++;
    });
    const now = Date.now();
    const ks = server.ks;
    const visit = (ref: Ref): void => {
      const exp = ks.expireAt(ref);
      if (exp === 0 || exp > now) writer.emit(ref);
    };
    let cursor = 0;
    do cursor = ks.index.scan(cursor, visit);
    while (cursor !== 0);
    writer.end();
    put(encodeEnd(sections, writer.total, bytes));
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, file);
    const dfd = openSync(dirname(file), 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
    const ms = performance.now() - t0;
    return { keys: writer.total, bytes, ms, maxPauseMs: ms };
  } catch (err) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    try {
      unlinkSync(tmp);
    } catch {
      // never created or already renamed
    }
    throw err;
  }
}

// --- per-worker state, BGSAVE and save points ----------------------------------------------

export class SnapshotState {
  running: SnapshotRun | null = null;
  /** BGSAVE SCHEDULE while another snapshot (an AOF rewrite) runs: start when it ends. */
  scheduled = false;
  /** Unix seconds of the last successful save (LASTSAVE); the start time until then, as Redis. */
  lastSave = Math.floor(Date.now() / 1000);
  lastBgsaveOk = true;
  lastBgsaveTimeSec = -1;
  lastBgsaveTry = 0;
  saves = 0;
  lastMaxPauseMs = 0;
  lastCowKeys = 0;
  loading = false;
  lastLoadLoaded = 0;
  lastLoadExpired = 0;
  log: Logger | null = null;
  #pointsText = '';
  #tempsChecked = false;
  #points: Array<{ seconds: number; changes: number }> = [];

  constructor(readonly server: WorkerServer) {}

  /** This worker's snapshot file: `<dataDir>/shard-<s>/worker-<w>/<dbfilename>`. */
  get file(): string {
    return workerFile(this.server.config, this.server.self, this.server.config.dbfilename);
  }

  /** Starts a BGSAVE; false when one is already running. */
  startBgsave(reason: string): boolean {
    if (this.running !== null) return false;
    const server = this.server;
    const dirtyBefore = server.dirty;
    this.lastBgsaveTry = Date.now();
    this.scheduled = false;
    const file = this.file;
    this.log?.info({ reason, file }, 'background snapshot started');
    writeSnapshot(server, file, 'bgsave').then(
      (res) => {
        this.saved(res, dirtyBefore);
        this.lastCowKeys = res.cowKeys ?? 0;
        this.lastBgsaveOk = true;
        this.lastBgsaveTimeSec = Math.round(res.ms / 1000);
        this.log?.info({ file, keys: res.keys, bytes: res.bytes, ms: Math.round(res.ms), maxPauseMs: Number(res.maxPauseMs.toFixed(2)), cowKeys: res.cowKeys, slices: res.slices, slicesOver10ms: res.longSlices }, 'background snapshot saved');
      },
      (err: Error) => {
        // An abort (FLUSHALL) is not a failure, as Redis's killed child (SIGUSR1) is not.
        if (!/aborted/.test(err.message)) this.lastBgsaveOk = false;
        this.log?.warn({ file, err: err.message }, 'background snapshot failed');
      },
    );
    return true;
  }

  /** SAVE. Throws on a write error. */
  saveNow(): SnapshotResult {
    const dirtyBefore = this.server.dirty;
    const res = saveSync(this.server, this.file);
    this.saved(res, dirtyBefore);
    this.log?.info({ keys: res.keys, bytes: res.bytes, ms: Math.round(res.ms) }, 'snapshot saved (SAVE)');
    return res;
  }

  private saved(res: SnapshotResult, dirtyBefore: number): void {
    this.server.dirty -= Math.min(dirtyBefore, this.server.dirty);
    this.lastSave = Math.floor(Date.now() / 1000);
    this.saves++;
    this.lastMaxPauseMs = res.maxPauseMs;
  }

  /**
   * Deletes temp files of saves cut short by a crash or a stop (never renamed, so never
   * part of the data). Once, at the first tick after start.
   */
  removeStaleTemps(): void {
    if (this.#tempsChecked) return;
    this.#tempsChecked = true;
    const file = this.file;
    const dir = dirname(file);
    for (const f of readdirSync(dir)) {
      if (!f.startsWith(`${basename(file)}.tmp-`)) continue;
      try {
        unlinkSync(join(dir, f));
        this.log?.warn({ file: join(dir, f) }, 'removed the temp file of an unfinished snapshot');
      } catch {
        // gone already
      }
    }
  }

  /** Once per worker tick: a scheduled BGSAVE, or one a save point asks for. */
  tick(now: number): void {
    if (!this.#tempsChecked) this.removeStaleTemps();
    if (this.running !== null) return;
    if (this.scheduled) {
      this.startBgsave('scheduled');
      return;
    }
    const text = this.server.config.save;
    if (text !== this.#pointsText) {
      this.#pointsText = text;
      this.#points = parseSavePoints(text) ?? [];
    }
    if (this.#points.length === 0) return;
    if (!this.lastBgsaveOk && now - this.lastBgsaveTry < RETRY_DELAY_MS) return;
    const dirty = this.server.dirty;
    const since = now - this.lastSave * 1000;
    for (const p of this.#points) {
      if (dirty >= p.changes && since >= p.seconds * 1000) {
        this.startBgsave(`${p.changes} changes in ${p.seconds} seconds`);
        return;
      }
    }
  }
}

// --- loading ---------------------------------------------------------------------------

/**
 * Loads a snapshot file into an EMPTY keyspace (startup only). Throws ShoalError
 * naming the file and byte offset on a checksum mismatch or a malformed file. Keys
 * already expired are skipped.
 */
export async function loadSnapshot(server: WorkerServer, file: string, onProgress?: (done: number, total: number) => void, opts: { keepExpired?: boolean } = {}): Promise<{ keys: number }> {
  const st = server.snapshots;
  st.loading = true;
  try {
    const ctx = {
      ks: server.ks, out: new ReplyWriter(), server, client: undefined, resume: () => {},
    } as unknown as CommandContext;
    const now = Date.now();
    server.ks.setNow(now);
    // As Redis, a snapshot loads whole whatever maxmemory says; eviction applies after.
    server.evictor.limit = 0;
    server.ks.setPageCap(0);
    let loaded = 0;
    let expired = 0;
    await readSnapshot(file, activeKeyring(), (type, exp, key, value, at) => {
      // An AOF base keeps them (opts.keepExpired): the log replayed after it may touch them (recovery.ts).
      if (exp !== 0 && exp <= now && opts.keepExpired !== true) {
        expired++;
        return;
      }
      ctx.out.pos = 0;
      if (!restoreValue(ctx, key, type, value, exp)) {
        const why = ctx.out.buf.toString('latin1', 1, Math.max(1, ctx.out.pos - 2));
        if (/Bad data/.test(why)) throw new SnapshotDamage(file, at, 'a record\'s value is malformed');
        throw persistenceError(`snapshot ${file}: cannot load the key at byte offset ${at} (${why})`);
      }
      loaded++;
    }, onProgress);
    st.lastLoadLoaded = loaded;
    st.lastLoadExpired = expired;
    return { keys: loaded };
  } catch (err) {
    server.ks.flush();
    if (err instanceof SnapshotDamage) throw persistenceError(`${err.message}; refusing to start (move the file away to start empty)`);
    throw err;
  } finally {
    st.loading = false;
    server.applyConfig();
  }
}
