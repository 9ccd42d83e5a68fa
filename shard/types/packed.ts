/**
 * The packed encoding of a small collection: the whole collection as the value bytes
 * of one arena item (Redis's listpack idea, simplified), and the dump format of every
 * collection whatever its size (shoal.dumpkey, RENAME/COPY across workers).
 *
 *    +-------------+---------------+---------+---------------+---------+-- ...
 *    | count (u32) | len (varint)  | bytes   | len (varint)  | bytes   |
 *    +-------------+---------------+---------+---------------+---------+-- ...
 *
 * varint = LEB128 (7 bits per byte, low first), so entries under 128 bytes cost one
 * byte of overhead. Entries are byte strings; in JS they are latin1 strings (one char
 * per byte), which keeps them binary-safe, makes `<` compare them as Redis compares
 * bytes, and lets them key a Map. Each collection type decides what its entries mean
 * (hash: field, value, field, value ...; zset: member, score as 8 bytes ...).
 */

export function packedLength(entries: readonly string[]): number {
  let n = 4;
  for (const e of entries) n += varintLength(e.length) + e.length;
  return n;
}

/** Writes entries at dst[at...]; dst must hold packedLength(entries) bytes there. */
export function writePacked(dst: Buffer, at: number, entries: readonly string[]): void {
  dst.writeUInt32LE(entries.length, at);
  let p = at + 4;
  for (const e of entries) {
    let len = e.length;
    while (len >= 0x80) {
      dst[p++] = (len & 0x7f) | 0x80;
      len >>>= 7;
    }
    dst[p++] = len;
    p += dst.write(e, p, e.length, 'latin1');
  }
}

/** The entries of src[start, end) as latin1 strings. Throws RangeError on a malformed encoding. */
export function readPacked(src: Buffer, start: number, end: number): string[] {
  if (end - start < 4) throw new RangeError('packed value too short');
  const count = src.readUInt32LE(start);
  const out = new Array<string>(count);
  let p = start + 4;
  for (let i = 0; i < count; i++) {
    let len = 0;
    let shift = 0;
    for (;;) {
      if (p >= end) throw new RangeError('packed value truncated');
      const b = src[p++]!;
      len += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) break;
      shift += 7;
    }
    if (p + len > end) throw new RangeError('packed value truncated');
    out[i] = src.toString('latin1', p, p + len);
    p += len;
  }
  return out;
}

/** A collection's packed bytes as a fresh Buffer. */
export function encodePacked(entries: readonly string[]): Buffer {
  const buf = Buffer.allocUnsafe(packedLength(entries));
  writePacked(buf, 0, entries);
  return buf;
}

function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n >>>= 7;
    len++;
  }
  return len;
}

/** JS heap bytes of a latin1 string of `len` chars (V8: 16-byte header, 8-byte aligned); for accounting. */
export function stringBytes(len: number): number {
  return 16 + ((len + 7) & ~7);
}

/** A score as the 8-byte entry zsets pack (IEEE 754 little-endian). */
export function scoreEntry(score: number): string {
  SCORE_VIEW.setFloat64(0, score, true);
  return SCORE_BYTES.toString('latin1', 0, 8);
}

export function entryScore(entry: string): number {
  SCORE_BYTES.write(entry, 0, 8, 'latin1');
  return SCORE_VIEW.getFloat64(0, true);
}

const SCORE_BYTES = Buffer.alloc(8);
const SCORE_VIEW = new DataView(SCORE_BYTES.buffer, SCORE_BYTES.byteOffset, 8);
