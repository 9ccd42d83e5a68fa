/**
 * AofLog: one worker's append-only log (formats: ./aof-format.ts, docs/persistence.md).
 * It is a WriteSink of the worker's WriteStream: every propagated command is encoded
 * as RESP into `#acc` (no allocation per command; two buffers take turns), and the
 * bytes of one event-loop turn — every connection's, the proxy links' batches included —
 * go to disk as ONE positional write (+ ONE fdatasync under `appendfsync always`) from a
 * setImmediate after the turn: group commit. fsync never runs on the event loop: under
 * `always` the write and the fdatasync go to libuv's pool (fs/promises); under everysec
 * and no the write(2) into the page cache happens on the loop, as Redis does in
 * beforeSleep, and everysec's fdatasync goes to the pool once a second.
 *
 * Pending bytes form a FIFO of records (`#queue`), each with the file it belongs to
 * and the callbacks waiting for it to be durable (`hold`): under `always` the worker
 * holds every reply of a turn that has undurable bytes until its record is written and
 * fdatasync'ed (WorkerSession.flush), so no reply acknowledges a write that a crash
 * could lose. Writes are positional at the file's accepted size, so a retry after a
 * failed or partial write rewrites the same bytes at the same place.
 *
 * Disk errors: a failed write or fsync keeps the record at the head of the queue, sets
 * `writeError` (the worker then refuses write commands with Redis's MISCONF text) and
 * retries every second; the first success clears it. Replies waiting on a failed
 * record stay held until it succeeds.
 *
 * Rewrite (BGREWRITEAOF, auto-aof-rewrite-*, CONFIG SET appendonly yes), as Redis 7:
 * in one turn, cut the pending bytes off for the old file, switch to a new incremental
 * file (persisted in the manifest before anything is written to it, so acknowledged
 * writes there survive a crash) and dump the data as a new base; the base is written
 * in the background while writes continue into the new incremental file; then the
 * manifest switches to [new base, new incr] atomically and the old files are deleted.
 *
 * Encryption at rest (./encryption.ts): with a key configured, every file this log
 * creates is encrypted under the current key (a 40-byte header written when the file
 * is created, then one sealed record per group-commit write, sealed when the bytes
 * are cut for the queue so a retry rewrites identical bytes). A file keeps the key it
 * was created with; when the current key changes (boot, or CONFIG SET
 * encryption-key-file) the log moves on to a new incremental file, as at a rewrite's
 * cut, so nothing is appended under an old key or in the clear once a key is set.
 * With no key configured the only cost is one null test per write batch.
 */
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { existsSync, mkdirSync, readFileSync, writeFileSync, writeSync, openSync, closeSync, fsyncSync, fstatSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkerServer } from '../worker/server.js';
import { createLogger, type Logger } from '../../shared/log.js';
import { type WriteSink } from './write-stream.js';
import { encodeCommand, encodedLength, formatManifest, parseManifest, writeFileAtomic, fsyncDir, fsyncDirAsync, type ManifestEntry } from './aof-format.js';
import { dumpBaseResp } from './aof-base.js';
import { writeSnapshot } from './snapshot.js';
import { workerDataDir } from './data-dir.js';
import { persistenceHooks } from './info.js';
import { AofCipher, aofFileBytes, currentKeyId, keyFor, activeKeyring, readKeyring, setActiveKeyring, AOF_HEADER_BYTES } from './encryption.js';

type Waiter = () => void;

interface AofFile {
  name: string;
  fh: FileHandle | null;
  /** Bytes accepted in the file (positional writes go here). */
  size: number;
  /** Open with 'w' (a new file) rather than 'r+'. */
  create: boolean;
  /** Manifest to persist before the first write to this file (null: none). */
  manifestOnOpen: ManifestEntry[] | null;
  /** The file's encryption (null: plain RESP); a created file gets its header on open. */
  enc: AofCipher | null;
}

/** What recovery found at the end of the last incremental file: bytes kept, and its encryption. */
export interface AofTail {
  size: number;
  enc: { keyId: number; salt: Buffer; records: number } | null;
}

type Entry =
  | { kind: 'write'; file: AofFile; bytes: Buffer; buf: Buffer; waiters: Waiter[] }
  | { kind: 'op'; run: () => Promise<void>; waiters: Waiter[] };

/** strerror texts of the errors a disk write may meet (Redis prints strerror). */
const STRERROR: Readonly<Record<string, string>> = {
  ENOSPC: 'No space left on device', EACCES: 'Permission denied', EPERM: 'Operation not permitted', EIO: 'Input/output error',
  EROFS: 'Read-only file system', EDQUOT: 'Disk quota exceeded', EBADF: 'Bad file descriptor', ENOENT: 'No such file or directory',
  EFBIG: 'File too large', EMFILE: 'Too many open files', EISDIR: 'Is a directory',
};

export function strerror(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code !== undefined && STRERROR[code] !== undefined) return STRERROR[code];
  return err instanceof Error ? err.message : String(err);
}

const RETRY_MS = 1000;
const INITIAL_ACC = 64 * 1024;
/** Larger accumulation buffers are not kept once written. */
const MAX_SPARE = 16 * 1024 * 1024;

export class AofLog implements WriteSink {
  readonly #server: WorkerServer;
  readonly #log: Logger;
  /** off; wait-rewrite = being turned on (first base being written); on. */
  state: 'off' | 'wait-rewrite' | 'on' = 'off';
  /** 1 while replies must wait for durability (on, appendfsync always). */
  holding = 0;
  /** strerror text of the last failed write/fsync, null when fine (MISCONF while set). */
  writeError: string | null = null;
  #manifest: ManifestEntry[] = [];
  #cur: AofFile | null = null;
  #acc: Buffer = Buffer.allocUnsafe(INITIAL_ACC);
  #spare: Buffer | null = null;
  #accLen = 0;
  #accWaiters: Waiter[] = [];
  readonly #queue: Entry[] = [];
  #scheduled = false;
  #busy = false;
  #retry: NodeJS.Timeout | null = null;
  #everysec: NodeJS.Timeout | null = null;
  #unsynced = false;
  // INFO persistence
  rewriteInProgress = false;
  rewriteScheduled = false;
  #rewriteStart = 0;
  lastRewriteTimeSec = -1;
  lastBgrewriteOk = true;
  rewrites = 0;
  rewriteFailures = 0;
  /** Bytes of base + incremental files (aof_current_size) and that figure after the last rewrite. */
  currentSize = 0;
  baseSize = 0;
  delayedFsync = 0;
  /** Group commit figures (INFO shoal_aof_writes / shoal_aof_fsyncs): write batches and fdatasyncs done. */
  writes = 0;
  fsyncs = 0;
  /** Set by startAtBoot: before it (recovery) config changes do not turn the log on. */
  #booted = false;

  constructor(server: WorkerServer) {
    this.#server = server;
    const self = server.self;
    this.#log = createLogger('shoal-worker', server.config.logLevel).child({ shard: self.shard, worker: self.worker, port: self.port });
    // CONFIG SET encryption-key-file (even to the same path) re-reads the keys; a bad file refuses the SET.
    server.runtime.applyHooks.push((changed) => {
      if (!changed.includes('encryption-key-file')) return undefined;
      try {
        setActiveKeyring(readKeyring(server.config.encryptionKeyFile));
      } catch (err) {
        return { param: 'encryption-key-file', message: (err as Error).message };
      }
      this.#log.info({ keyId: currentKeyId() }, 'encryption keys read');
      return undefined;
    });
  }

  /** A file object for a new log file under the current key (or plain). */
  #newFile(name: string, manifestOnOpen: ManifestEntry[] | null): AofFile {
    return { name, fh: null, size: 0, create: true, manifestOnOpen, enc: AofCipher.create() };
  }

  get dir(): string {
    return join(workerDataDir(this.#server.config, this.#server.self), this.#server.config.appenddirname);
  }

  get manifestPath(): string {
    return join(this.dir, `${this.#server.config.appendfilename}.manifest`);
  }

  /** The manifest on disk, or null when there is none. */
  readManifest(): ManifestEntry[] | null {
    const p = this.manifestPath;
    if (!existsSync(p)) return null;
    return parseManifest(readFileSync(p, 'utf8'), p);
  }

  get currentRewriteSeconds(): number {
    return Math.floor((Date.now() - this.#rewriteStart) / 1000);
  }

  /** Pending bytes not yet on disk (aof_buffer_length). */
  get bufferLength(): number {
    return this.#accLen;
  }

  // --- WriteSink -------------------------------------------------------------------------

  command(argv: ReadonlyArray<Uint8Array>): void {
    const need = encodedLength(argv);
    if (this.#accLen + need > this.#acc.length) {
      let size = this.#acc.length * 2;
      while (size < this.#accLen + need) size *= 2;
      const next = Buffer.allocUnsafe(size);
      this.#acc.copy(next, 0, 0, this.#accLen);
      this.#acc = next;
    }
    this.#accLen = encodeCommand(this.#acc, this.#accLen, argv);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#kick);
    }
  }

  readonly #kick = (): void => {
    this.#scheduled = false;
    void this.#pump();
  };

  /**
   * Holds a reply until the bytes written so far are durable: true when `release` will
   * be called later, false when nothing is pending (send now). `queueBehind`: the
   * connection already has held replies (its order must be kept).
   */
  hold(release: Waiter, queueBehind: boolean): boolean {
    // Under a disk error only writes accepted before it wait (and replies queued behind
    // them on the same connection): reads keep answering.
    if (this.writeError !== null && !queueBehind) return false;
    if (this.#accLen > 0) {
      this.#accWaiters.push(release);
      return true;
    }
    const last = this.#queue[this.#queue.length - 1];
    if (last === undefined) return false;
    last.waiters.push(release);
    return true;
  }

  // --- start / stop ------------------------------------------------------------------

  /**
   * At worker start, after recovery: appendonly yes → continue the manifest's last
   * incremental file (`lastIncrSize` bytes kept by recovery), or start a log of the
   * current data when there is no manifest. Synchronous (the worker is not serving yet).
   */
  startAtBoot(manifest: ManifestEntry[] | null, tail: AofTail = { size: 0, enc: null }): void {
    mkdirSync(this.dir, { recursive: true });
    const fn = this.#server.config.appendfilename;
    if (manifest !== null && manifest.some((e) => e.type === 'i')) {
      this.#manifest = manifest.filter((e) => e.type !== 'h');
      const last = [...this.#manifest].reverse().find((e) => e.type === 'i')!;
      const want = currentKeyId();
      if (tail.size === 0) {
        // Empty (or cut back to nothing): rewritten from the start, header first when encrypted.
        this.#cur = this.#newFile(last.name, null);
      } else if ((tail.enc?.keyId ?? 0) === want) {
        const enc = tail.enc === null ? null : new AofCipher(tail.enc.keyId, tail.enc.salt, keyFor(activeKeyring(), tail.enc.keyId, last.name, 'append only file'), tail.enc.records);
        this.#cur = { name: last.name, fh: null, size: tail.size, create: false, manifestOnOpen: null, enc };
      } else {
        // The current key changed since the file was written: new writes go to a new file.
        const seq = maxSeq(this.#manifest, 'i') + 1;
        const incr: ManifestEntry = { name: `${fn}.${seq}.incr.aof`, seq, type: 'i' };
        this.#manifest = [...this.#manifest, incr];
        this.#cur = this.#newFile(incr.name, this.#manifest);
        this.#log.info({ from: last.name, to: incr.name, keyId: want }, 'encryption key changed: the log continues in a new incremental file');
      }
    } else {
      // No log yet (or only a base): a base of what is loaded (maybe a snapshot), then incr 1.
      const old = manifest ?? this.#manifestOnDisk();
      const baseSeq = maxSeq(old, 'b') + 1;
      const incrSeq = maxSeq(old, 'i') + 1;
      const base: ManifestEntry = { name: `${fn}.${baseSeq}.base.aof`, seq: baseSeq, type: 'b' };
      const incr: ManifestEntry = { name: `${fn}.${incrSeq}.incr.aof`, seq: incrSeq, type: 'i' };
      const { bytes } = dumpBaseResp(this.#server.ks);
      writeSyncDurable(join(this.dir, base.name), aofFileBytes(bytes));
      const file = this.#newFile(incr.name, null);
      writeSyncDurable(join(this.dir, incr.name), file.enc === null ? Buffer.alloc(0) : file.enc.header());
      file.size = file.enc === null ? 0 : AOF_HEADER_BYTES;
      file.create = false;
      this.#manifest = [base, incr];
      writeSyncDurable(this.manifestPath, formatManifest(this.#manifest));
      fsyncDir(this.dir);
      for (const e of old ?? []) if (e.name !== base.name && e.name !== incr.name) void unlink(join(this.dir, e.name)).catch(() => {});
      this.#cur = file;
    }
    this.currentSize = this.#sizeOnDisk();
    this.baseSize = this.currentSize;
    this.state = 'on';
    this.#booted = true;
    this.#server.writes.addSink(this);
    this.applyConfig();
  }

  /** Recovery ran with appendonly no: from now on CONFIG SET may turn the log on. */
  bootWithoutLog(): void {
    this.#booted = true;
  }

  #manifestOnDisk(): ManifestEntry[] | null {
    try {
      return this.readManifest();
    } catch {
      return null;
    }
  }

  #sizeOnDisk(): number {
    let n = 0;
    for (const e of this.#manifest) {
      try {
        n += readFileSizeSync(join(this.dir, e.name));
      } catch {
        // missing: counts 0
      }
    }
    return n;
  }

  /** Config changed (CONFIG SET / boot): fsync policy, turning the log on or off. */
  applyConfig(): void {
    if (!this.#booted) return;
    const c = this.#server.config;
    const want = c.appendonly === 'yes';
    if (want && this.state === 'off') this.#enable();
    else if (!want && this.state !== 'off') this.#disable();
    // A new current key (CONFIG SET encryption-key-file): the running file keeps its key; writes move on to a new one.
    if (this.state === 'on' && this.#cur !== null && (this.#cur.enc?.keyId ?? 0) !== currentKeyId()) this.#rotateIncr();
    this.holding = this.state !== 'off' && c.appendfsync === 'always' ? 1 : 0;
    const needTimer = this.state !== 'off' && c.appendfsync === 'everysec';
    if (needTimer && this.#everysec === null) {
      this.#everysec = setInterval(() => this.#syncTick(), 1000);
      this.#everysec.unref();
    } else if (!needTimer && this.#everysec !== null) {
      clearInterval(this.#everysec);
      this.#everysec = null;
    }
  }

  /** Moves writes to a new incremental file (named in the manifest before its first write), as a rewrite's cut does. */
  #rotateIncr(): void {
    const fn = this.#server.config.appendfilename;
    const seq = maxSeq(this.#manifest, 'i') + 1;
    const incr: ManifestEntry = { name: `${fn}.${seq}.incr.aof`, seq, type: 'i' };
    this.#cutAcc();
    const old = this.#cur;
    // The old file's last bytes are made durable and it is closed, behind its queued writes.
    this.#queue.push({
      kind: 'op', waiters: [], run: async () => {
        if (old?.fh) {
          await old.fh.datasync();
          await old.fh.close();
          old.fh = null;
        }
      },
    });
    this.#manifest = [...this.#manifest, incr];
    this.#cur = this.#newFile(incr.name, this.#manifest);
    void this.#pump();
    this.#log.info({ incr: incr.name, keyId: currentKeyId() }, 'encryption key changed: the log continues in a new incremental file');
  }

  /** CONFIG SET appendonly yes at run time: log from now on, base written in the background. */
  #enable(): void {
    mkdirSync(this.dir, { recursive: true });
    this.#manifest = this.#manifestOnDisk() ?? [];
    this.state = 'wait-rewrite';
    this.#server.writes.addSink(this);
    this.#log.info('append-only log turned on: writing its first base in the background');
    this.startRewrite();
  }

  #disable(): void {
    this.#server.writes.removeSink(this);
    this.state = 'off';
    this.writeError = null;
    // Whatever is pending is still written (and synced) before the file closes.
    this.#cutAcc();
    const file = this.#cur;
    this.#cur = null;
    this.#queue.push({
      kind: 'op', waiters: [], run: async () => {
        if (file?.fh) {
          await file.fh.datasync();
          await file.fh.close();
          file.fh = null;
        }
      },
    });
    void this.#pump();
    this.#log.info('append-only log turned off');
  }

  /**
   * Worker stopping (SIGTERM): what this turn appended is written and everything is
   * fsynced, synchronously (the process exits right after). Best effort: bytes of a
   * write still in flight on the pool are left to it.
   */
  closeSync(): void {
    if (this.state === 'off') return;
    const file = this.#cur;
    try {
      if (!this.#busy && this.#queue.length === 0 && this.#accLen > 0 && file?.fh) {
        const plain = this.#acc.subarray(0, this.#accLen);
        const bytes = file.enc === null ? plain : file.enc.sealRecord(plain);
        let done = 0;
        while (done < bytes.length) done += writeSync(file.fh.fd, bytes, done, bytes.length - done, file.size + done);
        file.size += bytes.length;
        this.#accLen = 0;
      }
      if (file?.fh) fsyncSync(file.fh.fd);
    } catch (err) {
      this.#log.warn({ err: strerror(err) }, 'AOF flush at shutdown failed');
    }
  }

  // --- rewrite -------------------------------------------------------------------------

  /** BGREWRITEAOF: null when started, else Redis's error text. */
  bgrewrite(): string | null {
    if (this.rewriteInProgress) return 'ERR Background append only file rewriting already in progress';
    if (this.state !== 'off') return this.startRewrite();
    // appendonly no: as Redis, still write a log of the data (base, empty incr, manifest).
    mkdirSync(this.dir, { recursive: true });
    const old = this.#manifestOnDisk() ?? [];
    const fn = this.#server.config.appendfilename;
    const base: ManifestEntry = { name: `${fn}.${maxSeq(old, 'b') + 1}.base.aof`, seq: maxSeq(old, 'b') + 1, type: 'b' };
    const incr: ManifestEntry = { name: `${fn}.${maxSeq(old, 'i') + 1}.incr.aof`, seq: maxSeq(old, 'i') + 1, type: 'i' };
    const { bytes } = dumpBaseResp(this.#server.ks);
    const started = Date.now();
    this.rewriteInProgress = true;
    this.#rewriteStart = started;
    const dir = this.dir;
    void (async () => {
      await writeFileAtomic(join(dir, base.name), aofFileBytes(bytes));
      await writeFileAtomic(join(dir, incr.name), AofCipher.create()?.header() ?? '');
      await writeFileAtomic(this.manifestPath, formatManifest([base, incr]));
      for (const e of old) if (e.name !== base.name && e.name !== incr.name) await unlink(join(dir, e.name)).catch(() => {});
    })().then(() => {
      this.rewriteInProgress = false;
      this.rewrites++;
      this.lastBgrewriteOk = true;
      this.lastRewriteTimeSec = Math.round((Date.now() - started) / 1000);
    }, (err: unknown) => this.#rewriteFailed(err));
    return null;
  }

  /** Starts a rewrite of the running log (see the file comment). */
  startRewrite(): string | null {
    if (this.rewriteInProgress) return 'ERR Background append only file rewriting already in progress';
    const fn = this.#server.config.appendfilename;
    this.rewriteInProgress = true;
    this.rewriteScheduled = false;
    this.#rewriteStart = Date.now();
    const incrSeq = maxSeq(this.#manifest, 'i') + 1;
    const baseSeq = maxSeq(this.#manifest, 'b') + 1;
    const incr: ManifestEntry = { name: `${fn}.${incrSeq}.incr.aof`, seq: incrSeq, type: 'i' };
    // The base is a snapshot (written in the background, copy-on-write, as Redis 7's RDB
    // preamble) unless one is already running; then a RESP dump taken now.
    const sdb = this.#server.snapshots.running === null;
    const base: ManifestEntry = { name: `${fn}.${baseSeq}.base.${sdb ? 'sdb' : 'aof'}`, seq: baseSeq, type: 'b' };
    // The cut: bytes so far belong to the old file; the base below shows the data after them.
    this.#cutAcc();
    const on = this.state === 'on';
    const newFile = this.#newFile(incr.name, on ? [...this.#manifest, incr] : null);
    if (on) this.#manifest = [...this.#manifest, incr];
    this.#cur = newFile;
    const dir = this.dir;
    const started = this.#rewriteStart;
    const written = sdb
      ? writeSnapshot(this.#server, join(dir, base.name), 'rewrite')
      : writeFileAtomic(join(dir, base.name), aofFileBytes(dumpBaseResp(this.#server.ks).bytes));
    void written.then(
      () => {
        this.#queue.push({ kind: 'op', waiters: [], run: () => this.#finishRewrite(base, incr, newFile, started) });
        void this.#pump();
      },
      (err: unknown) => this.#rewriteFailed(err),
    );
    return null;
  }

  async #finishRewrite(base: ManifestEntry, incr: ManifestEntry, file: AofFile, started: number): Promise<void> {
    if (this.state === 'off') {
      this.rewriteInProgress = false;
      return;
    }
    try {
      if (file.fh === null) await this.#openFile(file);
      const old = this.#manifest;
      // Incremental files opened after this rewrite began stay (none today: one rewrite at a time).
      const next = [base, ...old.filter((e) => e.type === 'i' && e.seq >= incr.seq)];
      if (!next.some((e) => e.name === incr.name)) next.push(incr);
      await writeFileAtomic(this.manifestPath, formatManifest(next));
      this.#manifest = next;
      for (const e of old) if (!next.some((n) => n.name === e.name)) await unlink(join(this.dir, e.name)).catch(() => {});
      this.state = 'on';
      this.applyConfig();
      this.rewrites++;
      this.rewriteFailures = 0;
      this.lastBgrewriteOk = true;
      this.lastRewriteTimeSec = Math.round((Date.now() - started) / 1000);
      this.currentSize = this.#sizeOnDisk();
      this.baseSize = this.currentSize;
      this.#log.info({ base: base.name, incr: incr.name, ms: Date.now() - started }, 'Background AOF rewrite finished successfully');
    } catch (err) {
      // A failed rewrite leaves the previous manifest in force; it is not a write error (no MISCONF).
      this.#rewriteFailed(err);
    } finally {
      this.rewriteInProgress = false;
    }
  }

  #rewriteFailed(err: unknown): void {
    this.rewriteInProgress = false;
    this.lastBgrewriteOk = false;
    this.rewriteFailures++;
    this.#log.warn({ err: strerror(err) }, 'Background AOF rewrite failed');
    // Being turned on: the log is not usable before its first base; try again (as Redis).
    if (this.state === 'wait-rewrite') {
      setTimeout(() => {
        if (this.state === 'wait-rewrite' && !this.rewriteInProgress) this.startRewrite();
      }, RETRY_MS).unref();
    }
  }

  /** auto-aof-rewrite-percentage / -min-size, checked after writes (as Redis's serverCron). */
  #maybeAutoRewrite(): void {
    const c = this.#server.config;
    if (this.state !== 'on' || this.rewriteInProgress || c.autoAofRewritePercentage <= 0) return;
    if (this.currentSize < c.autoAofRewriteMinSize) return;
    const base = this.baseSize > 0 ? this.baseSize : 1;
    const growth = Math.floor((this.currentSize * 100) / base) - 100;
    if (growth >= c.autoAofRewritePercentage) {
      this.#log.info({ growth }, 'Starting automatic rewriting of AOF');
      this.startRewrite();
    }
  }

  // --- the disk pump -------------------------------------------------------------------

  /** Moves the accumulated bytes (and their waiters) into the queue for the current file. */
  #cutAcc(): void {
    if (this.#accLen === 0) {
      if (this.#accWaiters.length > 0) {
        const last = this.#queue[this.#queue.length - 1];
        if (last) last.waiters.push(...this.#accWaiters);
        else for (const w of this.#accWaiters) w();
        this.#accWaiters = [];
      }
      return;
    }
    const file = this.#cur;
    const buf = this.#acc;
    const bytes = buf.subarray(0, this.#accLen);
    const waiters = this.#accWaiters;
    // Two buffers take turns (the one written last turn comes back as the spare).
    this.#acc = this.#spare ?? Buffer.allocUnsafe(Math.min(Math.max(INITIAL_ACC, buf.length), MAX_SPARE));
    this.#spare = null;
    this.#accLen = 0;
    this.#accWaiters = [];
    if (file === null) {
      for (const w of waiters) w();
      return;
    }
    // Sealed now, once: the record index is fixed and a retry rewrites the same bytes.
    this.#queue.push({ kind: 'write', file, bytes: file.enc === null ? bytes : file.enc.sealRecord(bytes), buf, waiters });
  }

  async #openFile(file: AofFile): Promise<void> {
    if (file.manifestOnOpen !== null) {
      // A new incremental file is named in the manifest before anything is written to it.
      const fh = await open(join(this.dir, file.name), 'w');
      if (file.enc !== null) {
        await fh.write(file.enc.header(), 0, AOF_HEADER_BYTES, 0);
        file.size = AOF_HEADER_BYTES;
      }
      await fh.sync();
      await fsyncDirAsync(this.dir);
      await writeFileAtomic(this.manifestPath, formatManifest(file.manifestOnOpen));
      file.manifestOnOpen = null;
      file.fh = fh;
    } else {
      file.fh = await open(join(this.dir, file.name), file.create ? 'w' : 'r+');
      if (file.create && file.enc !== null) {
        await file.fh.write(file.enc.header(), 0, AOF_HEADER_BYTES, 0);
        file.size = AOF_HEADER_BYTES;
      }
    }
    file.create = false;
  }

  async #pump(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      for (;;) {
        if (this.#queue.length === 0) this.#cutAcc();
        const e = this.#queue[0];
        if (e === undefined) break;
        try {
          if (e.kind === 'write') await this.#write(e.file, e.bytes);
          else await e.run();
        } catch (err) {
          if (e.kind === 'op' && this.writeError === null && !isDiskError(err)) {
            // A failed rewrite step: it is not retried.
            this.#queue.shift();
            for (const w of e.waiters) w();
            continue;
          }
          this.#failed(err);
          break;
        }
        this.#queue.shift();
        if (e.kind === 'write' && this.#spare === null && e.buf.length <= MAX_SPARE) this.#spare = e.buf;
        if (this.writeError !== null) {
          this.#log.warn('AOF write error looks solved, the worker can write again');
          this.writeError = null;
        }
        for (const w of e.waiters) w();
      }
    } finally {
      this.#busy = false;
    }
    this.#maybeAutoRewrite();
  }

  async #write(file: AofFile, bytes: Buffer): Promise<void> {
    if (file.fh === null) await this.#openFile(file);
    const fh = file.fh!;
    let done = 0;
    if (this.#server.config.appendfsync === 'always') {
      while (done < bytes.length) {
        const { bytesWritten } = await fh.write(bytes, done, bytes.length - done, file.size + done);
        done += bytesWritten;
      }
      await fh.datasync();
      this.fsyncs++;
    } else {
      // everysec / no: write(2) into the page cache right here, as Redis does in
      // beforeSleep (no thread-pool round trip per turn); only fsync goes to the pool.
      while (done < bytes.length) done += writeSync(fh.fd, bytes, done, bytes.length - done, file.size + done);
      this.#unsynced = true;
    }
    file.size += bytes.length;
    this.currentSize += bytes.length;
    this.writes++;
  }

  #failed(err: unknown): void {
    const text = strerror(err);
    if (this.writeError === null) this.#log.warn({ err: text }, 'Error writing to the AOF file; refusing writes until it succeeds');
    this.writeError = text;
    // Drop a partial write's bytes (space on a full disk); the retry rewrites them.
    const head = this.#queue[0];
    if (head?.kind === 'write' && head.file.fh) void head.file.fh.truncate(head.file.size).catch(() => {});
    if (this.#retry === null) {
      this.#retry = setTimeout(() => {
        this.#retry = null;
        void this.#pump();
      }, RETRY_MS);
      this.#retry.unref();
    }
  }

  /** appendfsync everysec: one fdatasync a second in the background, if something was written. */
  #syncTick(): void {
    if (!this.#unsynced || this.state === 'off') return;
    if (this.#busy) {
      this.delayedFsync++;
      return;
    }
    const file = this.#cur;
    if (file?.fh == null) return;
    this.#unsynced = false;
    this.#queue.push({
      kind: 'op', waiters: [], run: async () => {
        await file.fh!.datasync();
        this.fsyncs++;
      },
    });
    void this.#pump();
  }
}

function isDiskError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code !== undefined && code in STRERROR;
}

function maxSeq(m: readonly ManifestEntry[] | null, type: 'b' | 'i'): number {
  let s = 0;
  for (const e of m ?? []) if ((e.type === type || (type === 'i' && e.type === 'h' && e.name.endsWith('.incr.aof'))) && e.seq > s) s = e.seq;
  return s;
}

function readFileSizeSync(path: string): number {
  const fd = openSync(path, 'r');
  try {
    return fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
}

function writeSyncDurable(path: string, data: string | Uint8Array): void {
  writeFileSync(path, data);
  const fd = openSync(path, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** INFO persistence aof_* lines (shard/persistence/info.ts), in Redis 7's order. */
export function aofInfoFields(server: WorkerServer): string[] {
  const a = server.aof;
  const lines = [
    `aof_enabled:${a.state === 'off' ? 0 : 1}`, `aof_rewrite_in_progress:${a.rewriteInProgress ? 1 : 0}`,
    `aof_rewrite_scheduled:${a.rewriteScheduled ? 1 : 0}`, `aof_last_rewrite_time_sec:${a.lastRewriteTimeSec}`,
    `aof_current_rewrite_time_sec:${a.rewriteInProgress ? a.currentRewriteSeconds : -1}`,
    `aof_last_bgrewrite_status:${a.lastBgrewriteOk ? 'ok' : 'err'}`, `aof_rewrites:${a.rewrites}`,
    `aof_rewrites_consecutive_failures:${a.rewriteFailures}`, `aof_last_write_status:${a.writeError === null ? 'ok' : 'err'}`,
    'aof_last_cow_size:0',
  ];
  if (a.state !== 'off') {
    lines.push(
      `aof_current_size:${a.currentSize}`, `aof_base_size:${a.baseSize}`, 'aof_pending_rewrite:0',
      `aof_buffer_length:${a.bufferLength}`, 'aof_pending_bio_fsync:0', `aof_delayed_fsync:${a.delayedFsync}`,
      // Shoal: group commit at work (commands logged per write batch / per fsync).
      `shoal_aof_writes:${a.writes}`, `shoal_aof_fsyncs:${a.fsyncs}`,
    );
  }
  return lines;
}

persistenceHooks.aofFields = aofInfoFields;
