/**
 * Reply scanner: finds where one RESP2/RESP3 reply ends without materializing it.
 *
 * The proxy uses it to cut upstream replies out of a worker's byte stream and hand the
 * bytes to the client untouched. It allocates nothing: no recursion, no objects, no
 * strings on the success path. Nesting is tracked with one counter, `pending`, the
 * number of values still to read:
 *
 *   start           pending = 1
 *   scalar          pending -= 1            + - : _ , # (   $ ! =   *-1  $-1
 *   *n ~n >n        pending += n - 1        (the aggregate is replaced by its n items)
 *   %n              pending += 2n - 1       (n key/value pairs)
 *   |n              pending += 2n           (attribute pairs, then the value they annotate)
 *
 * and the reply ends where pending reaches 0. So `*2\r\n:1\r\n*1\r\n+a\r\n` goes
 * 1 → 2 → 1 → 1 → 0. Depth costs nothing, and there is no stack to overflow.
 *
 * Bulk payloads are skipped by length, never scanned. Malformed input throws
 * ProtocolError: upstreams are our own workers, so that is a bug or a desync and the
 * link should be dropped. RESP3 streamed types (`$?`, `*?`) are not produced by Redis 7
 * and are rejected.
 */
import { ProtocolError } from '../errors.js';
import { CR, LF } from './constants.js';

// Out-parameters of the last incomplete scan, read by ReplyCursor (no allocation).
let resumeAt = 0;
let resumePending = 0;
// Out-parameter of readLength: the value of the length line just read.
let lengthValue = 0;

/**
 * Offset just past the one complete reply that starts at `start`, or -1 when
 * buf[start, end) holds only part of it. Throws ProtocolError on malformed input.
 */
export function replyEnd(buf: Uint8Array, start: number, end: number): number {
  return scan(buf, start, end, 1);
}

/**
 * Resumable replyEnd for replies that arrive over many reads (large arrays, big bulks):
 * it remembers the last value boundary reached, so bytes already walked are not walked
 * again. Call `scan` with the same reply start each time, on a buffer that begins with
 * the same bytes as before plus whatever arrived since; after it returns an offset (or
 * after reset()) the cursor is ready for the next reply.
 */
export class ReplyCursor {
  #offset = 0; // bytes from the reply start to the last value boundary reached
  #pending = 1;

  scan(buf: Uint8Array, start: number, end: number): number {
    const r = scan(buf, start + this.#offset, end, this.#pending);
    if (r < 0) {
      this.#offset = resumeAt - start;
      this.#pending = resumePending;
    } else {
      this.#offset = 0;
      this.#pending = 1;
    }
    return r;
  }

  reset(): void {
    this.#offset = 0;
    this.#pending = 1;
  }
}

function scan(buf: Uint8Array, p: number, end: number, pending: number): number {
  while (pending > 0) {
    resumeAt = p;
    resumePending = pending;
    if (p >= end) return -1;
    const type = buf[p]!;
    switch (type) {
      case 0x2b: // + simple string
      case 0x2d: // - simple error
      case 0x3a: // : integer
      case 0x5f: // _ null
      case 0x2c: // , double
      case 0x23: // # boolean
      case 0x28: {
        // ( big number
        let q = p + 1;
        while (q < end && buf[q] !== CR) q++;
        if (q + 1 >= end) return -1;
        if (buf[q + 1] !== LF) throw malformed(buf, q + 1);
        p = q + 2;
        pending--;
        break;
      }
      case 0x24: // $ bulk string
      case 0x21: // ! blob error
      case 0x3d: {
        // = verbatim string
        const q = readLength(buf, p, end);
        if (q < 0) return -1;
        const n = lengthValue;
        if (n === -1 && type === 0x24) {
          p = q; // $-1: RESP2 null
        } else {
          if (n < 0) throw malformed(buf, p + 1);
          const after = q + n;
          if (after + 2 > end) return -1;
          if (buf[after] !== CR || buf[after + 1] !== LF) throw malformed(buf, after);
          p = after + 2;
        }
        pending--;
        break;
      }
      case 0x2a: // * array
      case 0x7e: // ~ set
      case 0x3e: // > push
      case 0x25: // % map
      case 0x7c: {
        // | attribute
        const q = readLength(buf, p, end);
        if (q < 0) return -1;
        const n = lengthValue;
        p = q;
        if (n === -1 && type === 0x2a) pending--; // *-1: RESP2 null array
        else if (n < 0) throw malformed(buf, resumeAt + 1);
        else if (type === 0x25) pending += 2 * n - 1;
        else if (type === 0x7c) pending += 2 * n;
        else pending += n - 1;
        break;
      }
      default:
        throw malformed(buf, p);
    }
  }
  return p;
}

/**
 * Reads the length line of the value at `p` (`<type><digits>\r\n`, digits may be `-1`)
 * into `lengthValue`; returns the offset after its CRLF, or -1 when incomplete.
 */
function readLength(buf: Uint8Array, p: number, end: number): number {
  let q = p + 1;
  if (q >= end) return -1;
  const neg = buf[q] === 0x2d;
  if (neg) q++;
  const digitsFrom = q;
  let v = 0;
  let c = 0;
  while (q < end && (c = buf[q]!) >= 48 && c <= 57) {
    v = v * 10 + (c - 48);
    q++;
  }
  if (q + 1 >= end) {
    if (q - digitsFrom > 19) throw malformed(buf, p + 1);
    return -1;
  }
  if (c !== CR || q === digitsFrom || q - digitsFrom > 19 || buf[q + 1] !== LF) throw malformed(buf, q);
  lengthValue = neg ? -v : v;
  return q + 2;
}

function malformed(buf: Uint8Array, at: number): ProtocolError {
  // Every caller passes an offset below `end`, so the byte exists.
  const hex = buf[at]!.toString(16).padStart(2, '0');
  return new ProtocolError(`Protocol error: malformed reply (byte 0x${hex} at offset ${at})`);
}
