/**
 * Reads and verifies a snapshot file (./snapshot-format.ts) section by section: the
 * header, each section's checksums, its AES-GCM tag when encrypted, its decompression
 * and the shape of every record, and the end marker. Used by loadSnapshot (which
 * restores each record) and by bin/shoal-check-snapshot.ts (which only counts), so the
 * two judge a file the same way.
 *
 * Every failure is a ShoalError naming the file and the byte offset of the damage.
 */
import { open } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';
import { uncompressSync as lz4Uncompress } from 'lz4-napi';
import { ShoalError, ErrorCodes } from '../../shared/errors.js';
import { TYPE_NAMES } from '../types/registry.js';
import { fileKey, keyFor, unseal, type Keyring } from './encryption.js';
import {
  decodeHeader, decodeSectionHeader, decodeEnd, crc32,
  HEADER_BYTES, SECTION_HEADER_BYTES, END_BYTES, KIND_SECTION, KIND_END, RECORD_FLAG_EXPIRE, SECTION_FLAG_DEFLATE, SECTION_FLAG_LZ4,
  type SnapshotHeader,
} from './snapshot-format.js';

/** Called once per record, in file order; `at` is its section's payload offset (for error messages). */
export type RecordSink = (type: number, expireAt: number, key: Buffer, value: Buffer, at: number) => void;

export interface SnapshotSummary { header: SnapshotHeader; sections: number; records: number; bytes: number }

export class SnapshotDamage extends ShoalError {
  constructor(readonly file: string, readonly offset: number, readonly what: string) {
    super(ErrorCodes.PERSISTENCE, `snapshot ${file} is damaged at byte offset ${offset}: ${what}`);
  }
}

export async function readSnapshot(file: string, ring: Keyring | null, onRecord: RecordSink, onProgress?: (done: number, total: number) => void): Promise<SnapshotSummary> {
  const fh = await open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    const fail = (offset: number, what: string): SnapshotDamage => new SnapshotDamage(file, offset, what);
    const read = async (offset: number, length: number): Promise<Buffer> => {
      const b = Buffer.allocUnsafe(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await fh.read(b, got, length - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return got === length ? b : b.subarray(0, got);
    };
    const header = decodeHeader(await read(0, HEADER_BYTES));
    if (typeof header === 'string') throw fail(0, header);
    // An encrypted file needs its key (the id in the header) among the configured ones.
    const sealKey = header.keyId === 0 ? null : fileKey(keyFor(ring, header.keyId, file, 'snapshot'), header.salt!, 'sdb');
    let off = HEADER_BYTES;
    let sections = 0;
    let records = 0;
    for (;;) {
      if (off >= size) throw fail(off, 'file ends before the end marker (truncated)');
      const head = await read(off, Math.min(SECTION_HEADER_BYTES, size - off));
      const kind = head[0]!;
      if (kind === KIND_END) {
        if (size - off < END_BYTES) throw fail(off, 'end marker truncated');
        const end = decodeEnd(await read(off, END_BYTES));
        if (typeof end === 'string') throw fail(off, end);
        if (end.endOffset !== off || end.sections !== sections || end.records !== records) {
          throw fail(off, `end marker disagrees with the file (${end.sections} sections, ${end.records} records, end at ${end.endOffset}; found ${sections}, ${records}, ${off})`);
        }
        if (off + END_BYTES !== size) throw fail(off + END_BYTES, 'bytes after the end marker');
        return { header, sections, records, bytes: size };
      }
      if (kind !== KIND_SECTION) throw fail(off, `unknown block kind 0x${kind.toString(16)}`);
      if (head.length < SECTION_HEADER_BYTES) throw fail(off, 'section header truncated');
      const sh = decodeSectionHeader(head);
      if (typeof sh === 'string') throw fail(off, sh);
      const start = off + SECTION_HEADER_BYTES;
      if (start + sh.storedLength > size) throw fail(off, `section of ${sh.storedLength} bytes runs past the end of the file (truncated)`);
      const stored = await read(start, sh.storedLength);
      if (crc32(stored) !== sh.payloadCrc) throw fail(start, 'section checksum mismatch');
      if (sh.sealed !== (sealKey !== null)) throw fail(off, sh.sealed ? 'encrypted section in a plain snapshot' : 'plain section in an encrypted snapshot');
      let payload = stored;
      if (sealKey !== null) {
        const opened = unseal(sealKey, sections, stored, head.subarray(0, 12));
        if (opened === null) throw fail(start, `section authentication failed (AES-GCM tag mismatch): its bytes were changed, or key id ${header.keyId} is not the key that wrote it`);
        payload = opened;
      }
      let raw: Buffer;
      try {
        raw = sh.codec === SECTION_FLAG_LZ4 ? lz4Uncompress(payload) : sh.codec === SECTION_FLAG_DEFLATE ? inflateRawSync(payload) : payload;
      } catch (err) {
        throw fail(start, `section does not decompress (${(err as Error).message})`);
      }
      if (raw.length !== sh.rawLength) throw fail(start, 'section length mismatch after decompression');
      let p = 0;
      for (let r = 0; r < sh.records; r++) {
        const bad = (): SnapshotDamage => fail(start, `malformed record ${r} of the section`);
        if (p + 2 > raw.length) throw bad();
        const type = raw[p]!;
        const flags = raw[p + 1]!;
        p += 2;
        let exp = 0;
        if (flags & RECORD_FLAG_EXPIRE) {
          if (p + 8 > raw.length) throw bad();
          exp = raw.readDoubleLE(p);
          p += 8;
        }
        if (p + 4 > raw.length) throw bad();
        const klen = raw.readUInt32LE(p);
        p += 4;
        if (p + klen + 4 > raw.length) throw bad();
        const key = raw.subarray(p, p + klen);
        p += klen;
        const vlen = raw.readUInt32LE(p);
        p += 4;
        if (p + vlen > raw.length || TYPE_NAMES[type] === undefined) throw bad();
        const value = raw.subarray(p, p + vlen);
        p += vlen;
        records++;
        onRecord(type, exp, key, value, start);
      }
      if (p !== raw.length) throw fail(start, 'section holds bytes after its last record');
      sections++;
      off = start + sh.storedLength;
      onProgress?.(off, size);
    }
  } finally {
    await fh.close();
  }
}
