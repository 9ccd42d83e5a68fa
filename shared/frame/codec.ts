/**
 * Internal frames on proxy → worker links.
 *
 * A link is a TCP connection to a worker's ordinary RESP port. The worker tells a
 * framed link from a RESP client by its first byte: FRAME_MAGIC is neither a RESP
 * type byte nor printable, so no client command can start with it.
 *
 *   0      1      2             4                  8                   12
 *   +------+------+-------------+------------------+-------------------+-----------
 *   |magic | kind | flags (u16) | count (u32)      | payload len (u32) | payload...
 *   +------+------+-------------+------------------+-------------------+-----------
 *
 * kind BATCH:   payload = `count` RESP commands, exactly as RESP arrays. The worker
 *               runs them in order and answers with one REPLIES frame.
 * kind REPLIES: payload = `count` RESP replies, in the order of the batch.
 * kind CONTROL: payload = one msgpack value (admin/control messages; not on the hot
 *               path).
 * flags bit 0 (FLAG_RESP3): encode the batch's replies as RESP3.
 * flags bit 1 (FLAG_STRONG, BATCH): strong consistency — the worker (a primary) sends
 *               the REPLIES frame only once every in-sync replica acknowledged the
 *               replication offset reached at the end of the batch.
 * flags bit 2 (FLAG_OFFSET): on a BATCH, asks for the worker's replication offset; the
 *               REPLIES frame then carries the same flag and its payload starts with
 *               8 bytes: the offset after the batch (a primary's master_repl_offset,
 *               a replica's applied offset) as a little-endian u64 (readOffset /
 *               writeOffset), followed by the `count` replies. Session consistency
 *               (proxy) tracks these per client.
 *
 * Arguments stay in the client's RESP encoding end to end; only the 12-byte header is
 * added per batch, not per command. Integers are little-endian.
 */
import { ShoalError, ErrorCodes } from '../errors.js';

export const FRAME_MAGIC = 0xf7;
export const FRAME_HEADER = 12;
export const FrameKind = { BATCH: 1, REPLIES: 2, CONTROL: 3 } as const;
export type FrameKindValue = (typeof FrameKind)[keyof typeof FrameKind];
export const FLAG_RESP3 = 1;
export const FLAG_STRONG = 2;
export const FLAG_OFFSET = 4;
/** Bytes of the replication offset leading a FLAG_OFFSET REPLIES payload. */
export const OFFSET_BYTES = 8;

/** Writes a replication offset (< 2^53) at dst[at..at+8). */
export function writeOffset(dst: Buffer, at: number, offset: number): void {
  dst.writeUInt32LE(offset % 0x100000000, at);
  dst.writeUInt32LE(Math.floor(offset / 0x100000000), at + 4);
}

/** Reads an offset written by writeOffset. */
export function readOffset(src: Buffer, at: number): number {
  return src.readUInt32LE(at) + src.readUInt32LE(at + 4) * 0x100000000;
}
/** Upper bound on a single frame's payload; a larger one is a corrupt link. */
export const FRAME_MAX_PAYLOAD = 1024 * 1024 * 1024;

export interface Frame {
  kind: FrameKindValue;
  flags: number;
  count: number;
  /** A view into the received chunk when the frame arrived whole, else a copy. */
  payload: Buffer;
}

/** Writes a frame header into `dst` at `at`. */
export function writeFrameHeader(dst: Buffer, at: number, kind: FrameKindValue, flags: number, count: number, payloadLen: number): void {
  dst[at] = FRAME_MAGIC;
  dst[at + 1] = kind;
  dst.writeUInt16LE(flags, at + 2);
  dst.writeUInt32LE(count, at + 4);
  dst.writeUInt32LE(payloadLen, at + 8);
}

/** Encodes a whole frame into a new Buffer. */
export function encodeFrame(kind: FrameKindValue, flags: number, count: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER + payload.length);
  writeFrameHeader(out, 0, kind, flags, count, payload.length);
  out.set(payload, FRAME_HEADER);
  return out;
}

/**
 * Resumable frame reader. Feed socket chunks; `next()` returns whole frames.
 * Only a frame that spans chunks is copied.
 */
const EMPTY = Buffer.alloc(0);

export class FrameReader {
  #chunk: Buffer = EMPTY;
  #pos = 0;
  /** Chunks of an incomplete frame, joined once when the frame is whole (no O(n^2) re-copying). */
  #parts: Buffer[] = [];
  #partsBytes = 0;
  /** Bytes the incomplete frame needs in all (header + payload), 0 while the header is incomplete. */
  #need = 0;

  feed(chunk: Buffer): void {
    if (this.#parts.length > 0) {
      this.#parts.push(chunk);
      this.#partsBytes += chunk.length;
      if (this.#need === 0 && this.#partsBytes >= FRAME_HEADER) this.#need = this.#frameBytes(Buffer.concat(this.#parts, FRAME_HEADER));
      if (this.#need !== 0 && this.#partsBytes >= this.#need) this.#join();
      return;
    }
    this.#chunk = chunk;
    this.#pos = 0;
  }

  next(): Frame | null {
    if (this.#parts.length > 0) return null;
    const buf = this.#chunk;
    const p = this.#pos;
    const left = buf.length - p;
    if (left === 0) {
      // Let go of a consumed chunk: a joined frame can be megabytes.
      if (buf.length !== 0) this.#chunk = EMPTY;
      return null;
    }
    const need = left >= FRAME_HEADER ? this.#frameBytes(buf.subarray(p, p + FRAME_HEADER)) : 0;
    if (need === 0 || left < need) {
      // Park the partial frame; feed() joins it once all its bytes are here.
      this.#parts = [buf.subarray(p)];
      this.#partsBytes = left;
      this.#need = need;
      this.#chunk = EMPTY;
      this.#pos = 0;
      return null;
    }
    const start = p + FRAME_HEADER;
    this.#pos = p + need;
    return {
      kind: buf[p + 1]! as FrameKindValue,
      flags: buf.readUInt16LE(p + 2),
      count: buf.readUInt32LE(p + 4),
      payload: buf.subarray(start, p + need),
    };
  }

  get buffered(): number {
    return this.#chunk.length - this.#pos + this.#partsBytes;
  }

  /** Validates a header and returns the frame's total size. */
  #frameBytes(h: Buffer): number {
    if (h[0] !== FRAME_MAGIC) throw new ShoalError(ErrorCodes.FRAME, `bad frame magic 0x${(h[0] ?? 0).toString(16)}`);
    const kind = h[1]!;
    if (kind < 1 || kind > 3) throw new ShoalError(ErrorCodes.FRAME, `bad frame kind ${kind}`);
    const payloadLen = h.readUInt32LE(8);
    if (payloadLen > FRAME_MAX_PAYLOAD) throw new ShoalError(ErrorCodes.FRAME, `frame payload too large (${payloadLen})`);
    return FRAME_HEADER + payloadLen;
  }

  #join(): void {
    this.#chunk = Buffer.concat(this.#parts, this.#partsBytes);
    this.#pos = 0;
    this.#parts = [];
    this.#partsBytes = 0;
    this.#need = 0;
  }
}
