/**
 * Worker start-up: rebuild the keyspace from disk before the worker listens.
 *
 *   appendonly yes and a manifest  → the base (a snapshot `.base.sdb` through
 *                                    loadSnapshot, or a RESP `.base.aof`), then every
 *                                    incremental file in manifest order;
 *   otherwise, `dump.sdb` exists   → loadSnapshot;
 *   otherwise                      → empty.
 * With appendonly yes the log then continues (AofLog.startAtBoot; with no manifest it
 * starts with a base of what was loaded).
 *
 * Replay goes through the normal dispatch (WorkerServer.execute) with an internal
 * client: no replies leave, keyspace events and the write stream are off, maxmemory
 * is not enforced, and the clock commands see is 0, so nothing expires while loading
 * (as Redis's loading flag): a key that was live when a command ran is live when it
 * is replayed, whatever the time now; expiry happens after the load.
 *
 * Damage: a record torn by a crash (an incomplete record at the end of the LAST
 * incremental file, or a MULTI without its EXEC there) is cut off with a warning when
 * aof-load-truncated is yes (the default), else start-up is refused naming file and
 * offset; malformed bytes anywhere else refuse start-up naming file and offset
 * (bin/shoal-check-aof.ts reports and repairs).
 *
 * Encrypted files (./encryption.ts) load through the same paths once the configured
 * keys are read (initKeyring, first thing here): a file whose key id is not configured,
 * or an encrypted file with no key at all, refuses start-up naming the file and key id;
 * plain files load whatever keys are configured (so encryption can be turned on).
 */
import { existsSync } from 'node:fs';
import { truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { WorkerServer } from '../worker/server.js';
import type { Logger } from '../../shared/log.js';
import type { CommandContext } from '../commands/context.js';
import { ReplyWriter } from '../../shared/resp/reply-writer.js';
import { ClientState, kFramed } from '../../shared/connection/client-state.js';
import { ShoalError, ErrorCodes } from '../../shared/errors.js';
import { type ManifestEntry } from './aof-format.js';
import { activeKeyring, initKeyring, scanAofFile } from './encryption.js';
import type { AofTail } from './aof.js';
import { loadSnapshot } from './snapshot.js';
import { workerDataDir } from './data-dir.js';

const PROGRESS_MS = 1000;

export async function recover(server: WorkerServer, log: Logger, onProgress?: () => void): Promise<void> {
  const c = server.config;
  const aof = server.aof;
  server.snapshots.log = log;
  const ring = initKeyring(c);
  if (ring !== null) log.info({ keyIds: [...ring.keys.keys()], currentKeyId: ring.currentId }, 'encryption at rest: new files are encrypted under the current key');
  if (c.appendonly === 'yes') {
    let manifest: ManifestEntry[] | null;
    try {
      manifest = aof.readManifest();
    } catch (err) {
      throw new ShoalError(ErrorCodes.PERSISTENCE, `${(err as Error).message}; refusing to start`);
    }
    if (manifest !== null && manifest.length > 0) {
      const kept = await loadAof(server, aof.dir, manifest, log, onProgress);
      aof.startAtBoot(manifest, kept);
      return;
    }
  }
  const dump = join(workerDataDir(c, server.self), c.dbfilename);
  if (existsSync(dump)) await loadSnapshotLogged(server, dump, log, onProgress);
  if (c.appendonly === 'yes') aof.startAtBoot(null);
  else aof.bootWithoutLog();
}

async function loadSnapshotLogged(server: WorkerServer, file: string, log: Logger, onProgress?: () => void, keepExpired = false): Promise<void> {
  const t0 = performance.now();
  let last = t0;
  log.info({ file }, 'loading snapshot');
  const { keys } = await loadSnapshot(server, file, (done, total) => {
    onProgress?.();
    const t = performance.now();
    if (t - last >= PROGRESS_MS) {
      last = t;
      log.info({ file, done, total, percent: Math.floor((done / total) * 100) }, 'loading snapshot');
    }
  }, { keepExpired });
  log.info({ file, keys, ms: Math.round(performance.now() - t0) }, 'snapshot loaded');
}

/**
 * Loads base + incremental files; returns the bytes kept of the last incremental file
 * (its size, or where a torn tail was cut) and its encryption.
 */
export async function loadAof(server: WorkerServer, dir: string, manifest: readonly ManifestEntry[], log: Logger, onProgress?: () => void): Promise<AofTail> {
  const t0 = performance.now();
  const base = manifest.find((e) => e.type === 'b');
  const incrs = manifest.filter((e) => e.type === 'i');
  const missing = [base, ...incrs].find((e) => e !== undefined && !existsSync(join(dir, e.name)));
  if (missing !== undefined) throw new ShoalError(ErrorCodes.PERSISTENCE, `AOF file ${join(dir, missing.name)} named in the manifest does not exist; refusing to start`);
  // Keys whose TTL passed stay until the log is replayed (it may still change them, as it
  // did when they were live); expiry removes them after the load.
  if (base !== undefined && base.name.endsWith('.sdb')) await loadSnapshotLogged(server, join(dir, base.name), log, onProgress, true);

  const ks = server.ks;
  const savedLimit = server.evictor.limit;
  server.evictor.limit = 0;
  server.ks.setPageCap(0);
  server.notifier.configure('');
  ks.setNow(0);
  const client = new ClientState('aof-loader', 'aof-loader');
  client.flags |= kFramed;
  const ctx: CommandContext = { ks, out: new ReplyWriter(), client, server, resume: () => {} };
  let commands = 0;
  let errors = 0;
  let kept = 0;
  let tailEnc: AofTail['enc'] = null;
  const ring = activeKeyring();
  try {
    const files = base !== undefined && !base.name.endsWith('.sdb') ? [base, ...incrs] : incrs;
    for (let f = 0; f < files.length; f++) {
      const entry = files[f]!;
      const file = join(dir, entry.name);
      const lastFile = f === files.length - 1 && entry.type === 'i';
      let lastLog = performance.now();
      const scan = await scanAofFile(file, ring, (argv) => {
        const out = ctx.out;
        const at = out.pos;
        server.execute(ctx, argv);
        commands++;
        if (out.pos > at && out.buf[at] === 0x2d) {
          errors++;
          if (errors <= 5) log.warn({ file, command: argv[0]!.toString('latin1'), reply: out.buf.toString('latin1', at + 1, Math.min(out.pos - 2, at + 200)) }, 'AOF command replied an error while loading');
        }
        if (out.pos > 1 << 20) out.reset();
      }, (done, total) => {
        onProgress?.();
        const t = performance.now();
        if (t - lastLog >= PROGRESS_MS) {
          lastLog = t;
          log.info({ file, done, total, percent: Math.floor((done / total) * 100) }, 'loading append only file');
        }
      });
      ctx.out.reset();
      if (scan.stop.kind === 'corrupt') {
        throw new ShoalError(ErrorCodes.PERSISTENCE, `Bad file format reading the append only file ${file} at byte offset ${scan.stop.offset} (record at ${scan.stop.record}): ${scan.stop.message}; refusing to start (bin/shoal-check-aof.js reports and repairs)`);
      }
      const torn = scan.stop.kind === 'incomplete' || scan.openMulti !== -1;
      if (torn) {
        const at = scan.validEnd;
        const what = scan.openMulti !== -1 && scan.stop.kind === 'ok' ? 'a MULTI without EXEC' : 'an incomplete record';
        if (!lastFile) {
          throw new ShoalError(ErrorCodes.PERSISTENCE, `Unexpected end of file: ${file} ends with ${what} at byte offset ${at} and is not the last file of the log; refusing to start`);
        }
        if (server.config.aofLoadTruncated !== 'yes') {
          throw new ShoalError(ErrorCodes.PERSISTENCE, `Unexpected end of file: ${file} ends with ${what} at byte offset ${at} (aof-load-truncated is no); refusing to start (bin/shoal-check-aof.js --fix cuts it off)`);
        }
        // The queued commands of an open MULTI were never run: drop them with the tail.
        client.multi = null;
        client.flags = kFramed;
        log.warn({ file, offset: at, size: scan.size, dropped: scan.size - at }, `!!! Warning: short read while loading the AOF file ${entry.name}: ${what} at the end was truncated (aof-load-truncated yes)`);
        await truncate(file, at);
        kept = at;
      } else if (lastFile) kept = scan.size;
      if (lastFile) tailEnc = kept === 0 ? null : scan.enc;
    }
  } finally {
    ks.setNow(Date.now());
    server.evictor.limit = savedLimit;
    server.applyConfig();
  }
  log.info({ dir, files: manifest.length, commands, errors, keys: ks.size, ms: Math.round(performance.now() - t0) }, 'DB loaded from append only file');
  return { size: kept, enc: tailEnc };
}
