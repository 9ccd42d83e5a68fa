/**
 * The append-only log's on-disk formats, shared by the writer (aof.ts), recovery
 * (recovery.ts) and bin/shoal-check-aof.ts. Redis 7's multi-part layout:
 *
 *   <worker dir>/<appenddirname>/
 *     <appendfilename>.<n>.base.aof | .base.sdb   the data at the last rewrite
 *     <appendfilename>.<n>.incr.aof               commands since then, in order
 *     <appendfilename>.manifest                   which files, in which order
 *
 * Manifest: one line per file, as Redis 7 writes it,
 *   `file appendonly.aof.1.base.aof seq 1 type b` (b = base, i = incremental, h = history);
 * replaced atomically (temp file, fsync, rename, fsync of the directory).
 *
 * base.aof and incr.aof are plain RESP arrays of bulk strings (`*<n>\r\n$<len>\r\n...`),
 * readable and repairable by hand; a `.base.aof` holds one SHOAL.RESTOREKEY per key.
 * A record torn by a crash is a prefix of a valid record at the end of the last file
 * (writes are positional and never reordered), so "incomplete at EOF" = torn tail,
 * anything else malformed = corruption.
 */
import { open, rename, writeFile } from 'node:fs/promises';
import { openSync, closeSync, fsyncSync } from 'node:fs';
import { dirname } from 'node:path';

export interface ManifestEntry {
  name: string;
  seq: number;
  type: 'b' | 'i' | 'h';
}

export function parseManifest(text: string, file: string): ManifestEntry[] {
  const out: ManifestEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const parts = line.split(/\s+/);
    const rec: Record<string, string> = {};
    for (let j = 0; j + 1 < parts.length; j += 2) rec[parts[j]!] = parts[j + 1]!;
    const type = rec['type'];
    const seq = Number(rec['seq']);
    if (rec['file'] === undefined || !Number.isSafeInteger(seq) || (type !== 'b' && type !== 'i' && type !== 'h')) {
      throw new Error(`Invalid AOF manifest file format: ${file} line ${i + 1}`);
    }
    out.push({ name: rec['file'], seq, type });
  }
  if (out.filter((e) => e.type === 'b').length > 1) throw new Error(`Invalid AOF manifest: ${file} names more than one base file`);
  return out;
}

export function formatManifest(entries: readonly ManifestEntry[]): string {
  return entries.map((e) => `file ${e.name} seq ${e.seq} type ${e.type}\n`).join('');
}

/** fsync of a directory, so a rename in it survives a crash. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** fsync of a directory on libuv's pool (the event loop does not wait on the disk). */
export async function fsyncDirAsync(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes `data` to `file` atomically: temp file, fsync, rename, fsync of the directory. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${file}.tmp`;
  await writeFile(tmp, data);
  const fh = await open(tmp, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
  await fsyncDirAsync(dirname(file));
}

// --- RESP encoding --------------------------------------------------------------------

/** Bytes `*n\r\n($len\r\n<arg>\r\n)*` takes. */
export function encodedLength(argv: ReadonlyArray<Uint8Array>): number {
  let n = 3 + digits(argv.length);
  for (const a of argv) n += 5 + digits(a.length) + a.length;
  return n;
}

function digits(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}

/** Encodes argv at buf[pos] (room checked by the caller); returns the new position. */
export function encodeCommand(buf: Buffer, pos: number, argv: ReadonlyArray<Uint8Array>): number {
  buf[pos++] = 0x2a;
  pos = writeUint(buf, pos, argv.length);
  buf[pos++] = 0x0d;
  buf[pos++] = 0x0a;
  for (const a of argv) {
    buf[pos++] = 0x24;
    pos = writeUint(buf, pos, a.length);
    buf[pos++] = 0x0d;
    buf[pos++] = 0x0a;
    buf.set(a, pos);
    pos += a.length;
    buf[pos++] = 0x0d;
    buf[pos++] = 0x0a;
  }
  return pos;
}

function writeUint(buf: Buffer, pos: number, n: number): number {
  const d = digits(n);
  for (let i = d - 1; i >= 0; i--) {
    buf[pos + i] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  }
  return pos + d;
}

// --- RESP scanning --------------------------------------------------------------------

export type ScanStop =
  | { kind: 'ok' }
  /** The buffer ends inside a record starting at `offset` (a torn tail when at EOF). */
  | { kind: 'incomplete'; offset: number }
  /** Malformed bytes at `offset` (record starting at `record`). */
  | { kind: 'corrupt'; offset: number; record: number; message: string };

/**
 * Calls visit(argv, offset) for every complete record in buf[start, end); argv are
 * views into buf. Stops at the first incomplete or malformed record. `consumed` is the
 * end offset of the last complete record.
 */
export function scanRecords(buf: Buffer, start: number, end: number, visit: (argv: Buffer[], offset: number) => void): { consumed: number; stop: ScanStop } {
  let p = start;
  while (p < end) {
    const rec = p;
    const corrupt = (at: number, message: string) => ({ consumed: rec, stop: { kind: 'corrupt' as const, offset: at, record: rec, message } });
    const incomplete = { consumed: rec, stop: { kind: 'incomplete' as const, offset: rec } };
    if (buf[p] !== 0x2a) return corrupt(p, `expected '*', got ${describe(buf[p]!)}`);
    const count = readLine(buf, p + 1, end);
    if (count === null) return incomplete;
    if (count.value < 1) return corrupt(p + 1, 'bad array length');
    p = count.next;
    const argv: Buffer[] = [];
    for (let i = 0; i < count.value; i++) {
      if (p >= end) return incomplete;
      if (buf[p] !== 0x24) return corrupt(p, `expected '$', got ${describe(buf[p]!)}`);
      const len = readLine(buf, p + 1, end);
      if (len === null) return incomplete;
      if (len.value < 0) return corrupt(p + 1, 'bad bulk length');
      p = len.next;
      if (p + len.value + 2 > end) return incomplete;
      if (buf[p + len.value] !== 0x0d || buf[p + len.value + 1] !== 0x0a) return corrupt(p + len.value, 'expected CRLF after bulk');
      argv.push(buf.subarray(p, p + len.value));
      p += len.value + 2;
    }
    visit(argv, rec);
  }
  return { consumed: p, stop: { kind: 'ok' } };
}

/** A decimal after a type byte, up to CRLF: value and the offset after CRLF; null when the buffer ends first; value -1 when malformed. */
function readLine(buf: Buffer, p: number, end: number): { value: number; next: number } | null {
  let v = 0;
  let n = 0;
  while (p < end && buf[p]! >= 0x30 && buf[p]! <= 0x39 && n < 16) {
    v = v * 10 + (buf[p]! - 0x30);
    p++;
    n++;
  }
  if (p >= end) return null;
  if (n === 0 || buf[p] !== 0x0d) return { value: -1, next: p };
  if (p + 1 >= end) return null;
  if (buf[p + 1] !== 0x0a) return { value: -1, next: p };
  return { value: v, next: p + 2 };
}

function describe(c: number): string {
  return c >= 0x20 && c < 0x7f ? `'${String.fromCharCode(c)}'` : `0x${c.toString(16).padStart(2, '0')}`;
}

const CHUNK = 8 * 1024 * 1024;

export interface FileScan {
  /** File size. */
  size: number;
  /** End of the last complete record that may be kept (an open MULTI at EOF excluded). */
  validEnd: number;
  stop: ScanStop;
  /** A MULTI without EXEC at EOF started here (-1: none). */
  openMulti: number;
  records: number;
}

/**
 * Reads a RESP log file in chunks, calling visit for every complete record (argv are
 * views into a chunk that is not reused). Progress: onProgress(bytesDone, size).
 */
export async function scanFile(file: string, visit: (argv: Buffer[], offset: number) => void, onProgress?: (done: number, total: number) => void): Promise<FileScan> {
  const fh = await open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    let carry: Buffer = Buffer.alloc(0);
    let base = 0; // file offset of carry[0]
    let pos = 0; // file offset read so far
    let openMulti = -1;
    let records = 0;
    let stop: ScanStop = { kind: 'ok' };
    let validEnd = 0;
    const onRecord = (argv: Buffer[], off: number) => {
      records++;
      const a0 = argv[0]!;
      if (a0.length === 5 && a0.toString('latin1').toLowerCase() === 'multi') openMulti = base + off;
      else if (a0.length === 4 && a0.toString('latin1').toLowerCase() === 'exec') openMulti = -1;
      visit(argv, base + off);
    };
    while (pos < size) {
      const want = Math.max(CHUNK, carry.length);
      const chunk = Buffer.allocUnsafe(carry.length + want);
      carry.copy(chunk, 0);
      const { bytesRead } = await fh.read(chunk, carry.length, want, pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      const end = carry.length + bytesRead;
      const r = scanRecords(chunk, 0, end, onRecord);
      validEnd = base + r.consumed;
      if (r.stop.kind === 'corrupt') {
        stop = { kind: 'corrupt', offset: base + r.stop.offset, record: base + r.stop.record, message: r.stop.message };
        break;
      }
      carry = chunk.subarray(r.consumed, end);
      base += r.consumed;
      if (onProgress) onProgress(pos, size);
    }
    if (stop.kind === 'ok' && carry.length > 0) stop = { kind: 'incomplete', offset: base };
    if (openMulti !== -1 && stop.kind !== 'corrupt') validEnd = openMulti;
    return { size, validEnd, stop, openMulti, records };
  } finally {
    await fh.close();
  }
}
