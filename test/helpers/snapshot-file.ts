// Test helpers for snapshots: an independent reader of Shoal's snapshot format (written
// from the byte tables in docs/persistence.md, not from the implementation) and the
// file paths of each target.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { crc32, inflateRawSync } from 'node:zlib';
import { uncompressSync as lz4Uncompress } from 'lz4-napi';

export type SnapshotRecord = { type: number; expireAt: number; key: Buffer; value: Buffer };
export type SnapshotFile = { created: number; shard: number; worker: number; flags: number; keyEstimate: number; records: SnapshotRecord[]; sections: number; compressedSections: number; lz4Sections: number };

/** Parses a whole .sdb file, checking every checksum; throws on any damage. */
export function readSnapshotFile(file: string): SnapshotFile {
  const b = readFileSync(file);
  if (b.subarray(0, 8).toString('latin1') !== 'SHOALSDB') throw new Error('bad magic');
  if (b.readUInt32LE(60) !== crc32(b.subarray(0, 60))) throw new Error('bad header crc');
  const out: SnapshotFile = {
    flags: b.readUInt16LE(10), created: b.readDoubleLE(16), shard: b.readUInt16LE(24), worker: b.readUInt16LE(26),
    keyEstimate: b.readDoubleLE(32), records: [], sections: 0, compressedSections: 0, lz4Sections: 0,
  };
  let off = 64;
  for (;;) {
    const kind = b[off];
    if (kind === 0x45) {
      if (b.readUInt32LE(off + 24) !== crc32(b.subarray(off, off + 24))) throw new Error('bad end crc');
      if (b.readDoubleLE(off + 16) !== off) throw new Error('end offset mismatch');
      if (b.readUInt32LE(off + 4) !== out.sections) throw new Error('section count mismatch');
      if (b.readDoubleLE(off + 8) !== out.records.length) throw new Error('record count mismatch');
      if (off + 28 !== b.length) throw new Error('trailing bytes');
      return out;
    }
    if (kind !== 0x53) throw new Error(`bad kind at ${off}`);
    if (b.readUInt32LE(off + 20) !== crc32(b.subarray(off, off + 20))) throw new Error('bad section header crc');
    const records = b.readUInt32LE(off + 4);
    const rawLen = b.readUInt32LE(off + 8);
    const stored = b.subarray(off + 24, off + 24 + b.readUInt32LE(off + 12));
    if (crc32(stored) !== b.readUInt32LE(off + 16)) throw new Error('bad payload crc');
    // Section flags: bit 0 deflate-raw, bit 2 LZ4 block (4-byte raw length first).
    const compressed = (b[off + 1]! & 5) !== 0;
    const raw = b[off + 1]! & 4 ? lz4Uncompress(stored) : b[off + 1]! & 1 ? inflateRawSync(stored) : stored;
    if (raw.length !== rawLen) throw new Error('raw length mismatch');
    let p = 0;
    for (let r = 0; r < records; r++) {
      const type = raw[p]!;
      const flags = raw[p + 1]!;
      p += 2;
      let expireAt = 0;
      if (flags & 1) {
        expireAt = raw.readDoubleLE(p);
        p += 8;
      }
      const kl = raw.readUInt32LE(p);
      const key = Buffer.from(raw.subarray(p + 4, p + 4 + kl));
      p += 4 + kl;
      const vl = raw.readUInt32LE(p);
      const value = Buffer.from(raw.subarray(p + 4, p + 4 + vl));
      p += 4 + vl;
      out.records.push({ type, expireAt, key, value });
    }
    if (p !== raw.length) throw new Error('section has trailing bytes');
    out.sections++;
    if (compressed) out.compressedSections++;
    if (b[off + 1]! & 4) out.lz4Sections++;
    off += 24 + stored.length;
  }
}

/** A Shoal worker's snapshot file under dataDir. */
export function shoalDumpFile(dataDir: string, worker: number, shard = 0, name = 'dump.sdb'): string {
  return path.join(dataDir, `shard-${shard}`, `worker-${worker}`, name);
}

/** Entries of a collection's packed value (u32 count, then LEB128 length + bytes each), as latin1 strings. */
export function decodePacked(b: Buffer): string[] {
  const n = b.readUInt32LE(0);
  const out: string[] = [];
  let p = 4;
  for (let i = 0; i < n; i++) {
    let len = 0;
    let shift = 0;
    for (;;) {
      const x = b[p++]!;
      len += (x & 0x7f) * 2 ** shift;
      if (x < 0x80) break;
      shift += 7;
    }
    out.push(b.toString('latin1', p, p + len));
    p += len;
  }
  if (p !== b.length) throw new Error('packed value has trailing bytes');
  return out;
}
