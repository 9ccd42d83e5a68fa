/**
 * ReplyWriter: encodes replies (RESP2 or RESP3) into one reused output buffer.
 *
 * A connection owns one writer. Handlers append replies while a batch of commands
 * runs; the connection then calls `take()` once and writes the result to the socket
 * with a single write. The internal buffer is reused, so `take()` copies the pending
 * bytes out (one allocation per batch, none per command).
 *
 * RESP3-only types degrade to their RESP2 forms as Redis does: null → `$-1`,
 * map → flat array, double → bulk string, verbatim → bulk string, set → array.
 */
import { copyBytes } from './byte-copy.js';
import { Replies, SMALL_INTS, BULK_HEADERS, ARRAY_HEADERS } from './replies.js';

const INITIAL = 16 * 1024;
/** Keep at most this much buffer between batches; a huge reply does not pin memory. */
const RETAIN_MAX = 1024 * 1024;

export class ReplyWriter {
  proto: 2 | 3 = 2;
  buf: Buffer = Buffer.allocUnsafe(INITIAL);
  pos = 0;

  get length(): number {
    return this.pos;
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Append precomputed bytes (a Replies.* constant or an already-encoded reply). */
  raw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    copyBytes(this.buf, this.pos, bytes, 0, bytes.length);
    this.pos += bytes.length;
  }

  /** Append bytes [start, end) of src (e.g. a reply cut from an upstream frame). */
  rawFrom(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.ensure(n);
    copyBytes(this.buf, this.pos, src, start, end);
    this.pos += n;
  }

  ok(): void {
    this.raw(Replies.ok);
  }

  /** RESP null bulk (`$-1` / `_`). */
  nil(): void {
    this.raw(this.proto === 3 ? Replies.null3 : Replies.nullBulk2);
  }

  /** RESP null array (`*-1` / `_`). */
  nilArray(): void {
    this.raw(this.proto === 3 ? Replies.null3 : Replies.nullArray2);
  }

  simple(s: string): void {
    this.line(0x2b, s);
  }

  /** An error line; `text` is without the leading '-' (e.g. `ERR syntax error`). */
  error(text: string): void {
    this.line(0x2d, text);
  }

  integer(n: number): void {
    if (n >= 0 && n < SMALL_INTS.length && Number.isInteger(n)) {
      this.raw(SMALL_INTS[n]!);
      return;
    }
    this.ensure(24);
    this.buf[this.pos++] = 0x3a;
    this.decimal(n);
    this.crlf();
  }

  /** A 64-bit integer reply from a bigint (INCRBY near the limits). */
  bigInteger(n: bigint): void {
    this.line(0x3a, n.toString());
  }

  bulk(value: Uint8Array | string): void {
    if (typeof value === 'string') {
      const len = Buffer.byteLength(value);
      this.bulkHeader(len);
      this.ensure(len + 2);
      this.pos += this.buf.write(value, this.pos);
      this.crlf();
      return;
    }
    this.bulkFrom(value, 0, value.length);
  }

  /** A bulk string from a latin1 string (one char per byte: collection members, fields, values). */
  bulkLatin1(value: string): void {
    const len = value.length;
    this.bulkHeader(len);
    this.ensure(len + 2);
    this.pos += this.buf.write(value, this.pos, len, 'latin1');
    this.crlf();
  }

  /** A bulk string copied from src[start, end), e.g. a value inside an arena page. */
  bulkFrom(src: Uint8Array, start: number, end: number): void {
    const len = end - start;
    this.bulkHeader(len);
    this.ensure(len + 2);
    this.buf.set(src.subarray(start, end), this.pos);
    this.pos += len;
    this.crlf();
  }

  bulkHeader(len: number): void {
    if (len < BULK_HEADERS.length) {
      this.raw(BULK_HEADERS[len]!);
      return;
    }
    this.ensure(16);
    this.buf[this.pos++] = 0x24;
    this.decimal(len);
    this.crlf();
  }

  arrayHeader(n: number): void {
    if (n < ARRAY_HEADERS.length) {
      this.raw(ARRAY_HEADERS[n]!);
      return;
    }
    this.ensure(16);
    this.buf[this.pos++] = 0x2a;
    this.decimal(n);
    this.crlf();
  }

  /** A map of n pairs (`%n` in RESP3, `*2n` in RESP2). */
  mapHeader(n: number): void {
    if (this.proto === 3) this.aggregate(0x25, n);
    else this.arrayHeader(n * 2);
  }

  /** A set of n members (`~n` in RESP3, `*n` in RESP2). */
  setHeader(n: number): void {
    if (this.proto === 3) this.aggregate(0x7e, n);
    else this.arrayHeader(n);
  }

  /** A double: `,d` in RESP3, bulk string in RESP2; `formatted` is Redis's text for it. */
  double(formatted: string): void {
    if (this.proto === 3) this.line(0x2c, formatted);
    else this.bulk(formatted);
  }

  /** A verbatim string (`=len\r\ntxt:...` in RESP3, bulk in RESP2), as INFO replies. */
  verbatim(text: string, format = 'txt'): void {
    if (this.proto !== 3) {
      this.bulk(text);
      return;
    }
    const len = Buffer.byteLength(text) + 4;
    this.ensure(len + 16);
    this.buf[this.pos++] = 0x3d;
    this.decimal(len);
    this.crlf();
    this.pos += this.buf.write(format + ':', this.pos, 'latin1');
    this.pos += this.buf.write(text, this.pos);
    this.crlf();
  }

  /** An array of bulk strings. */
  bulkArray(items: ReadonlyArray<Uint8Array | string>): void {
    this.arrayHeader(items.length);
    for (const it of items) this.bulk(it);
  }

  /** Pending bytes as a fresh Buffer (safe to hand to socket.write), then reset. */
  take(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    this.pos = 0;
    if (this.buf.length > RETAIN_MAX) this.buf = Buffer.allocUnsafe(INITIAL);
    return out;
  }

  /** Drop pending bytes (e.g. the connection closed). */
  reset(): void {
    this.pos = 0;
  }

  private aggregate(type: number, n: number): void {
    this.ensure(16);
    this.buf[this.pos++] = type;
    this.decimal(n);
    this.crlf();
  }

  private line(type: number, s: string): void {
    const len = Buffer.byteLength(s);
    this.ensure(len + 3);
    this.buf[this.pos++] = type;
    this.pos += this.buf.write(s, this.pos);
    this.crlf();
  }

  private crlf(): void {
    this.buf[this.pos++] = 13;
    this.buf[this.pos++] = 10;
  }

  /** Writes an integer's decimal digits; caller has ensured room. */
  private decimal(n: number): void {
    if (!Number.isSafeInteger(n)) {
      this.pos += this.buf.write(String(n), this.pos, 'latin1');
      return;
    }
    if (n < 0) {
      this.buf[this.pos++] = 0x2d;
      n = -n;
    }
    if (n < 10) {
      this.buf[this.pos++] = 48 + n;
      return;
    }
    let digits = 0;
    for (let t = n; t > 0; t = Math.floor(t / 10)) digits++;
    let p = this.pos + digits;
    this.pos = p;
    while (n > 0) {
      const q = Math.floor(n / 10);
      this.buf[--p] = 48 + (n - q * 10);
      n = q;
    }
  }
}
