/**
 * The snapshot file format (docs/persistence.md has the same tables): one file per
 * worker, written front to back, every part checksummed on its own so a reader can
 * name the exact offset of damage. All integers little-endian.
 *
 *   file   := header section* end
 *
 *   header (64 bytes)
 *     0   8  magic "SHOALSDB"
 *     8   2  format version (1)
 *    10   2  flags: bit 0 = written with rdbcompression yes (sections MAY be compressed)
 *    12   4  key id: 0 = plain, else the id of the key that sealed the sections (./encryption.ts)
 *    16   8  creation time, f64 ms since the epoch (the point in time the snapshot shows)
 *    24   2  shard    26  2  worker    28  4  reserved (0)
 *    32   8  key count estimate, f64 (keys in the index when the snapshot began)
 *    40  16  salt of the file's AES key (key id != 0; else 0)
 *    56   4  reserved (0)
 *    60   4  CRC32 of bytes 0..59
 *
 *   section (24-byte header + stored payload)
 *     0   1  kind 'S' (0x53)
 *     1   1  flags: bit 0 = payload is deflate-raw compressed, bit 1 = sealed (AES-256-GCM:
 *            stored payload = ciphertext of the (compressed) payload || 16-byte tag,
 *            additional data = header bytes 0..11, nonce = the section's index)
 *     2   2  reserved (0)
 *     4   4  records in the payload
 *     8   4  raw payload length (after decompression)
 *    12   4  stored payload length (bytes that follow this header)
 *    16   4  CRC32 of the stored payload
 *    20   4  CRC32 of header bytes 0..19
 *
 *   record (inside a raw payload; records never span sections)
 *     0   1  type (ITEM_TYPE: 1 string, 2 list, 3 set, 4 zset, 5 hash, 6 bloom)
 *     1   1  flags: bit 0 = an expiry follows
 *    [2   8  expireAt, f64 unix ms]
 *     .   4  key length, then the key bytes
 *     .   4  value length, then the value bytes (registry.ts dumpValue: strings and
 *            blooms as stored, collections in their packed encoding)
 *
 *   end (28 bytes)
 *     0   1  kind 'E' (0x45)     1  3  reserved (0)
 *     4   4  section count
 *     8   8  total records, f64
 *    16   8  end offset (bytes before this marker), f64
 *    24   4  CRC32 of bytes 0..23
 *
 * A file is complete only with its end marker at exactly end offset and the file
 * ending right after it: a truncated file is refused, not half-loaded.
 *
 * CRC32 is zlib's (node:zlib crc32, IEEE polynomial; hardware-assisted, ~2 GB/s here).
 */
import { crc32 } from 'node:zlib';

export const MAGIC = Buffer.from('SHOALSDB', 'latin1');
export const FORMAT_VERSION = 1;
export const HEADER_BYTES = 64;
export const SECTION_HEADER_BYTES = 24;
export const END_BYTES = 28;
export const KIND_SECTION = 0x53;
export const KIND_END = 0x45;
export const FILE_FLAG_COMPRESSION = 1;
export const SECTION_FLAG_DEFLATE = 1;
export const SECTION_FLAG_SEALED = 2;
export const SECTION_FLAG_LZ4 = 4;
/** A section payload's codec: one of these flags (0 = stored as it is). */
export type SectionCodec = 0 | typeof SECTION_FLAG_DEFLATE | typeof SECTION_FLAG_LZ4;
export const RECORD_FLAG_EXPIRE = 1;

export interface SnapshotHeader {
  version: number;
  flags: number;
  keyId: number;
  created: number;
  shard: number;
  worker: number;
  keyEstimate: number;
  /** Salt of the file's AES key (16 bytes; zeros when plain). */
  salt?: Buffer;
}

export function encodeHeader(h: Omit<SnapshotHeader, 'version'>): Buffer {
  const b = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(b, 0);
  b.writeUInt16LE(FORMAT_VERSION, 8);
  b.writeUInt16LE(h.flags, 10);
  b.writeUInt32LE(h.keyId, 12);
  b.writeDoubleLE(h.created, 16);
  b.writeUInt16LE(h.shard, 24);
  b.writeUInt16LE(h.worker, 26);
  b.writeDoubleLE(h.keyEstimate, 32);
  if (h.salt !== undefined) h.salt.copy(b, 40, 0, 16);
  b.writeUInt32LE(crc32(b.subarray(0, 60)), 60);
  return b;
}

/** Parses a header; returns an error text instead when it is not a valid one. */
export function decodeHeader(b: Buffer): SnapshotHeader | string {
  if (b.length < HEADER_BYTES) return 'file too short for a snapshot header';
  if (!b.subarray(0, 8).equals(MAGIC)) return 'not a Shoal snapshot (bad magic)';
  if (b.readUInt32LE(60) !== crc32(b.subarray(0, 60))) return 'header checksum mismatch';
  const version = b.readUInt16LE(8);
  if (version !== FORMAT_VERSION) return `unsupported snapshot format version ${version}`;
  return {
    version, flags: b.readUInt16LE(10), keyId: b.readUInt32LE(12), created: b.readDoubleLE(16),
    shard: b.readUInt16LE(24), worker: b.readUInt16LE(26), keyEstimate: b.readDoubleLE(32), salt: Buffer.from(b.subarray(40, 56)),
  };
}

/** A finished section: header + stored payload in one Buffer. */
export function frameSection(stored: Uint8Array, rawLength: number, records: number, codec: SectionCodec, seal?: (aad: Buffer) => Buffer): Buffer {
  const storedLength = seal === undefined ? stored.length : stored.length + 16;
  const out = Buffer.allocUnsafeSlow(SECTION_HEADER_BYTES + storedLength);
  out[0] = KIND_SECTION;
  out[1] = codec | (seal !== undefined ? SECTION_FLAG_SEALED : 0);
  out.writeUInt16LE(0, 2);
  out.writeUInt32LE(records, 4);
  out.writeUInt32LE(rawLength, 8);
  out.writeUInt32LE(storedLength, 12);
  if (seal !== undefined) {
    // AAD = header bytes 0..11: the flags, record count and raw length are authenticated too.
    seal(out.subarray(0, 12)).copy(out, SECTION_HEADER_BYTES);
    out.writeUInt32LE(crc32(out.subarray(SECTION_HEADER_BYTES)), 16);
    out.writeUInt32LE(crc32(out.subarray(0, 20)), 20);
    return out;
  }
  out.writeUInt32LE(crc32(stored), 16);
  out.writeUInt32LE(crc32(out.subarray(0, 20)), 20);
  out.set(stored, SECTION_HEADER_BYTES);
  return out;
}

export interface SectionHeader {
  codec: SectionCodec;
  sealed: boolean;
  records: number;
  rawLength: number;
  storedLength: number;
  payloadCrc: number;
}

/** Parses a section header (bytes at a 'S' kind byte); an error text when damaged. */
export function decodeSectionHeader(b: Buffer): SectionHeader | string {
  if (b.readUInt32LE(20) !== crc32(b.subarray(0, 20))) return 'section header checksum mismatch';
  return {
    codec: (b[1]! & (SECTION_FLAG_DEFLATE | SECTION_FLAG_LZ4)) as SectionCodec, sealed: (b[1]! & SECTION_FLAG_SEALED) !== 0, records: b.readUInt32LE(4), rawLength: b.readUInt32LE(8),
    storedLength: b.readUInt32LE(12), payloadCrc: b.readUInt32LE(16),
  };
}

export function encodeEnd(sections: number, records: number, endOffset: number): Buffer {
  const b = Buffer.alloc(END_BYTES);
  b[0] = KIND_END;
  b.writeUInt32LE(sections, 4);
  b.writeDoubleLE(records, 8);
  b.writeDoubleLE(endOffset, 16);
  b.writeUInt32LE(crc32(b.subarray(0, 24)), 24);
  return b;
}

export interface EndMarker {
  sections: number;
  records: number;
  endOffset: number;
}

export function decodeEnd(b: Buffer): EndMarker | string {
  if (b.readUInt32LE(24) !== crc32(b.subarray(0, 24))) return 'end marker checksum mismatch';
  return { sections: b.readUInt32LE(4), records: b.readDoubleLE(8), endOffset: b.readDoubleLE(16) };
}

/** Bytes a record takes in a raw payload. */
export function recordBytes(keyLen: number, valueLen: number, expireAt: number): number {
  return 2 + (expireAt !== 0 ? 8 : 0) + 4 + keyLen + 4 + valueLen;
}

export { crc32 };
