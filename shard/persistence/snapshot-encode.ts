/**
 * Turns one raw record chunk into a finished snapshot section (./snapshot-format.ts):
 * optional compression — LZ4 (lz4-napi: the block format with its 4-byte raw length
 * first; fast) or deflate-raw level 1 (node:zlib; smaller) — sections being independent,
 * a damaged one is found by its own checksum — then the CRC32s.
 *
 * The default export is the piscina task, run by the pool the shard's main thread keeps
 * for its workers' background snapshots (./snapshot-pool.ts), so compression and
 * checksums never run on a worker's event loop. SAVE, which blocks by definition, calls
 * encodeSection directly.
 */
import { deflateRawSync, constants } from 'node:zlib';
import { compressSync as lz4Compress } from 'lz4-napi';
import { move } from 'piscina';
import { frameSection, SECTION_FLAG_DEFLATE, SECTION_FLAG_LZ4 } from './snapshot-format.js';
import { seal } from './encryption.js';

/** Compression is skipped for sections it would not shrink by at least this fraction. */
const MIN_GAIN = 0.05;

/** Encryption of one section (./encryption.ts): the file's AES key and the section's index (its nonce). */
export interface SectionSeal { key: Uint8Array; index: number }

/** rdbcompression no, or yes with snapshot-compression lz4 / deflate. */
export type SnapshotCompression = 'none' | 'lz4' | 'deflate';

export function encodeSection(raw: Uint8Array, records: number, compress: SnapshotCompression, sealWith?: SectionSeal): Buffer {
  const sealer = sealWith === undefined ? undefined : (payload: Uint8Array) => (aad: Buffer) => seal(sealWith.key, sealWith.index, payload, aad);
  if (compress !== 'none' && raw.length >= 64) {
    const z = compress === 'lz4' ? lz4Compress(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)) : deflateRawSync(raw, { level: 1, strategy: constants.Z_DEFAULT_STRATEGY });
    if (z.length < raw.length * (1 - MIN_GAIN)) return frameSection(z, raw.length, records, compress === 'lz4' ? SECTION_FLAG_LZ4 : SECTION_FLAG_DEFLATE, sealer?.(z));
  }
  return frameSection(raw, raw.length, records, 0, sealer?.(raw));
}

export interface EncodeTask {
  buf: ArrayBuffer;
  length: number;
  records: number;
  compress: SnapshotCompression;
  seal?: SectionSeal;
}

export default function encodeTask(task: EncodeTask): unknown {
  const section = encodeSection(new Uint8Array(task.buf, 0, task.length), task.records, task.compress, task.seal);
  // A section of its own ArrayBuffer is transferred back, not copied.
  return section.byteOffset === 0 && section.byteLength === section.buffer.byteLength ? move(section) : section;
}
