/**
 * RespDecoder: the request parser. Resumable, offset-based, validating.
 *
 * Memory model
 * ------------
 * The decoder borrows the chunks it is fed. A returned argv entry is either
 *
 *   - a VIEW (`chunk.subarray`) into the chunk that held the whole argument: every
 *     multibulk argument whose payload lies inside one chunk, and every inline token
 *     without quotes whose line lies inside one chunk; or
 *   - a COPY owned by the caller: a multibulk argument whose payload spans chunks
 *     (copied once, into a Buffer of exactly its length), an inline token that used
 *     quotes or escapes, and any inline token of a line that spanned chunks.
 *
 * A view is valid while the caller does not reuse the chunk's memory. Callers that keep
 * an argument beyond the current read (MULTI queue, batcher, pub/sub) must copy it or
 * keep the chunk alive and unmodified (STYLE.md item 7). The decoder never writes
 * into a fed chunk and keeps no reference to a chunk once every byte in it has been
 * consumed; bytes of an unfinished line are copied aside (at most the inline limit)
 * so that the chunk can be dropped.
 *
 *   chunk:  *2\r\n$3\r\nGET\r\n$3\r\nkey\r\n*2\r\n$3\r\nGET\r\n$3\r\nk|
 *                       ^^^ view      ^^^ view                          ^ chunk ends
 *   next chunk: ey\r\n ...      → "key" is copied once (it spans) → argv = [view, copy]
 *
 * Parsing follows Redis 7 (networking.c processInlineBuffer / processMultibulkBuffer):
 * a request starting with `*` is multibulk, anything else is an inline line split like
 * sdssplitargs. Redis quirks kept on purpose, because the shards parse the same bytes:
 *
 *   - the byte after the `\r` of a `*n` / `$n` line and the two bytes after a bulk
 *     payload are skipped without being checked (Redis does not check them either);
 *   - `*n` with n <= 0 is no command; an empty or all-blank inline line is no command;
 *   - a NUL byte before the terminator of a line means the line never ends (Redis
 *     searches with strchr): the decoder waits and fails with "too big ..." once more
 *     than maxInlineLen bytes have arrived since the line started.
 *
 * One deliberate difference: Redis reports "too big ..." only when no terminator is in
 * its buffer yet, so a 70 KB line can pass or fail depending on how TCP split it. Here
 * a line longer than `maxInlineLen` always fails, so the result never depends on chunk
 * boundaries.
 */
import { bufferView } from './buffer-view.js';
import { ProtocolError } from '../errors.js';
import {
  CR,
  DEFAULT_PROTO_MAX_BULK_LEN,
  LF,
  PROTO_INLINE_MAX_SIZE,
  PROTO_MAX_MULTIBULK_LEN,
  PROTO_UNAUTH_MAX_BULK_LEN,
  PROTO_UNAUTH_MAX_MULTIBULK_LEN,
} from './constants.js';

export interface DecoderLimits {
  /** `proto-max-bulk-len`: largest `$n` accepted. */
  maxBulkLen: number;
  /** Largest `*n` accepted (never above INT_MAX, as in Redis). */
  maxMultibulkLen: number;
  /** Longest inline request or `*`/`$` count line (PROTO_INLINE_MAX_SIZE). */
  maxInlineLen: number;
}

export const DEFAULT_DECODER_LIMITS: Readonly<DecoderLimits> = Object.freeze({
  maxBulkLen: DEFAULT_PROTO_MAX_BULK_LEN,
  maxMultibulkLen: PROTO_MAX_MULTIBULK_LEN,
  maxInlineLen: PROTO_INLINE_MAX_SIZE,
});

/** Protocol error messages, byte-exact with Redis 7 (the text after `-ERR `). */
export const ProtocolMessages = {
  invalidMultibulkLength: 'Protocol error: invalid multibulk length',
  invalidBulkLength: 'Protocol error: invalid bulk length',
  unauthenticatedMultibulkLength: 'Protocol error: unauthenticated multibulk length',
  unauthenticatedBulkLength: 'Protocol error: unauthenticated bulk length',
  tooBigInline: 'Protocol error: too big inline request',
  tooBigMbulkCount: 'Protocol error: too big mbulk count string',
  tooBigBulkCount: 'Protocol error: too big bulk count string',
  unbalancedQuotes: 'Protocol error: unbalanced quotes in request',
  /**
   * Redis prints the offending byte with %c and then maps `\r` and `\n` to spaces.
   * A byte >= 0x80 is returned as the latin1 character; encode the reply as latin1.
   */
  expectedDollar: (byte: number) =>
    `Protocol error: expected '$', got '${String.fromCharCode(byte === CR || byte === LF ? 0x20 : byte)}'`,
} as const;

const STAR = 0x2a; // '*'
const DOLLAR = 0x24; // '$'
const MINUS = 0x2d; // '-'
const NUL = 0x00;

// Parser states. A request is START → (MBULK_LINE → (BULK_LINE → BULK_DATA → BULK_SKIP)*n)
// or START → INLINE. STUCK counts bytes after a NUL made the current line endless.
const S_START = 0;
const S_MBULK_LINE = 1;
const S_BULK_LINE = 2;
const S_BULK_DATA = 3;
const S_BULK_SKIP = 4;
const S_INLINE = 5;
const S_STUCK = 6;

const EMPTY: Buffer = Buffer.alloc(0);

export class RespDecoder {
  /** Mutable: CONFIG SET proto-max-bulk-len, or a proxy tightening limits before AUTH. */
  limits: DecoderLimits;
  /**
   * Redis `authRequired(c)`: while true, `*n` > 10 and `$n` > 16384 fail with Redis's
   * "unauthenticated ..." errors. The connection clears it after a successful AUTH.
   */
  authRequired = false;

  // Input: the chunk being parsed, the cursor in it, and chunks fed but not started.
  #buf: Buffer | null = null;
  #pos = 0;
  #end = 0;
  #queue: Buffer[] = [];
  #queueHead = 0; // index of the next chunk in #queue (no shift(): O(1) per chunk)
  #queued = 0;

  // Request state, kept between calls so that parsing resumes at any byte.
  #state = S_START;
  #argc = 0; // arguments still to read in the current multibulk request
  #argv: Buffer[] | null = null;
  #bulkLen = 0;
  #big: Buffer | null = null; // payload of a bulk argument that spans chunks
  #bigPos = 0;
  #skip = 0; // bytes after a payload still to skip (the CRLF)
  #carry: Buffer | null = null; // start of a line that spans chunks
  #carryLen = 0;
  #stuck = 0; // bytes seen since the start of a line that can no longer end
  #stuckMessage = '';
  #error: ProtocolError | null = null;

  // The last complete line (set by #line): bytes [#ls, #le) of #lb, terminator excluded.
  #lb: Buffer = EMPTY;
  #ls = 0;
  #le = 0;

  constructor(limits?: Partial<DecoderLimits>) {
    this.limits = { ...DEFAULT_DECODER_LIMITS, ...limits };
  }

  /** Bytes held but not yet consumed: unparsed input, a partial line, a partial argument. */
  get buffered(): number {
    return (this.#buf === null ? 0 : this.#end - this.#pos) + this.#queued + this.#carryLen + this.#bigPos;
  }

  /** Appends a chunk read from the socket. The decoder borrows it (see the memory model). */
  feed(chunk: Buffer): void {
    if (chunk.length === 0 || this.#error !== null) return;
    if (this.#buf === null) {
      this.#buf = chunk;
      this.#pos = 0;
      this.#end = chunk.length;
    } else {
      this.#queue.push(chunk);
      this.#queued += chunk.length;
    }
  }

  /**
   * The next complete request's argv, or null when more bytes are needed. Throws
   * ProtocolError on bad input; after that the decoder holds nothing and every call
   * throws the same error.
   */
  next(): Buffer[] | null {
    if (this.#error !== null) throw this.#error;
    if (this.#state === S_START) {
      const buf = this.#buf;
      if (buf !== null && buf[this.#pos] === STAR) {
        const argv = this.#fastMultibulk(buf, this.#pos, this.#end);
        if (argv !== null) return argv;
      }
    }
    return this.#resume();
  }

  /**
   * The common case: a whole multibulk request of plain lengths inside the current
   * chunk, parsed with locals only. Returns null (having changed nothing) for anything
   * else, including every error, and #resume parses the same bytes with full rules.
   */
  #fastMultibulk(buf: Buffer, start: number, end: number): Buffer[] | null {
    const limits = this.limits;
    const maxBulk = this.authRequired ? Math.min(limits.maxBulkLen, PROTO_UNAUTH_MAX_BULK_LEN) : limits.maxBulkLen;
    const maxArgs = this.authRequired
      ? Math.min(limits.maxMultibulkLen, PROTO_UNAUTH_MAX_MULTIBULK_LEN)
      : limits.maxMultibulkLen;
    let p = start + 1;
    if (p >= end) return null;
    let n = buf[p]! - 48;
    if (n < 1 || n > 9) return null; // 0, negative or garbage: slow path
    let c = 0;
    while (++p < end && (c = buf[p]!) >= 48 && c <= 57) {
      n = n * 10 + (c - 48);
      if (n > maxArgs) return null;
    }
    if (p + 1 >= end || buf[p] !== CR || n > maxArgs) return null;
    p += 2;
    const argv: Buffer[] = [];
    const ab = buf.buffer;
    const base = buf.byteOffset;
    for (let i = 0; i < n; i++) {
      if (p + 1 >= end || buf[p] !== DOLLAR) return null;
      let q = p + 1;
      let len = buf[q]! - 48;
      if (len < 0 || len > 9) return null;
      if (len === 0) {
        q++;
      } else {
        while (++q < end && (c = buf[q]!) >= 48 && c <= 57) {
          len = len * 10 + (c - 48);
          if (len > maxBulk) return null;
        }
      }
      if (q + 1 >= end || buf[q] !== CR || len > maxBulk) return null;
      const from = q + 2;
      const to = from + len;
      if (to + 2 > end) return null;
      argv.push(bufferView(ab, base + from, len));
      p = to + 2;
    }
    this.#pos = p;
    if (p === end) this.#advance();
    return argv;
  }

  /** The resumable state machine; handles every request shape and every error. */
  #resume(): Buffer[] | null {
    for (;;) {
      const buf = this.#buf;
      if (buf === null || this.#pos >= this.#end) {
        if (!this.#advance()) return null;
        continue;
      }
      switch (this.#state) {
        case S_START:
          this.#state = buf[this.#pos] === STAR ? S_MBULK_LINE : S_INLINE;
          break;

        case S_MBULK_LINE: {
          if (!this.#line(CR, ProtocolMessages.tooBigMbulkCount)) break;
          const n = parseLength(this.#lb, this.#ls + 1, this.#le);
          if (!(n <= PROTO_MAX_MULTIBULK_LEN) || n > this.limits.maxMultibulkLen) {
            throw this.#fail(ProtocolMessages.invalidMultibulkLength);
          }
          if (n > PROTO_UNAUTH_MAX_MULTIBULK_LEN && this.authRequired) {
            throw this.#fail(ProtocolMessages.unauthenticatedMultibulkLength);
          }
          if (n <= 0) {
            this.#state = S_START;
          } else {
            this.#argc = n;
            this.#argv = [];
            this.#state = S_BULK_LINE;
          }
          break;
        }

        case S_BULK_LINE: {
          if (!this.#line(CR, ProtocolMessages.tooBigBulkCount)) break;
          const lb = this.#lb;
          const ls = this.#ls;
          const le = this.#le;
          // An empty line's "first byte" is its '\r', as Redis sees it.
          const first = ls < le ? lb[ls]! : CR;
          if (first !== DOLLAR) throw this.#fail(ProtocolMessages.expectedDollar(first));
          const n = parseLength(lb, ls + 1, le);
          if (!(n >= 0) || n > this.limits.maxBulkLen) throw this.#fail(ProtocolMessages.invalidBulkLength);
          if (n > PROTO_UNAUTH_MAX_BULK_LEN && this.authRequired) {
            throw this.#fail(ProtocolMessages.unauthenticatedBulkLength);
          }
          this.#bulkLen = n;
          this.#state = S_BULK_DATA;
          break;
        }

        case S_BULK_DATA: {
          const len = this.#bulkLen;
          const pos = this.#pos;
          const avail = this.#end - pos;
          const big = this.#big;
          if (big === null) {
            if (avail >= len) {
              this.#argv!.push(buf.subarray(pos, pos + len));
              this.#pos = pos + len;
              this.#skip = 2;
              this.#state = S_BULK_SKIP;
            } else {
              // The payload spans chunks: copy it once into a Buffer of its exact size.
              const b = Buffer.allocUnsafe(len);
              buf.copy(b, 0, pos, this.#end);
              this.#big = b;
              this.#bigPos = avail;
              this.#pos = this.#end;
            }
          } else {
            const n = Math.min(len - this.#bigPos, avail);
            buf.copy(big, this.#bigPos, pos, pos + n);
            this.#bigPos += n;
            this.#pos = pos + n;
            if (this.#bigPos === len) {
              this.#argv!.push(big);
              this.#big = null;
              this.#bigPos = 0;
              this.#skip = 2;
              this.#state = S_BULK_SKIP;
            }
          }
          break;
        }

        case S_BULK_SKIP: {
          const n = Math.min(this.#skip, this.#end - this.#pos);
          this.#pos += n;
          this.#skip -= n;
          if (this.#skip !== 0) break;
          if (--this.#argc !== 0) {
            this.#state = S_BULK_LINE;
            break;
          }
          const argv = this.#argv!;
          this.#argv = null;
          this.#state = S_START;
          if (this.#pos === this.#end) this.#advance();
          return argv;
        }

        case S_INLINE: {
          if (!this.#line(LF, ProtocolMessages.tooBigInline)) break;
          const lb = this.#lb;
          const ls = this.#ls;
          let le = this.#le;
          if (le > ls && lb[le - 1] === CR) le--;
          const argv = splitArgs(lb, ls, le);
          if (argv === null) throw this.#fail(ProtocolMessages.unbalancedQuotes);
          this.#state = S_START;
          if (argv.length === 0) break;
          if (this.#pos === this.#end) this.#advance();
          return argv;
        }

        case S_STUCK: {
          this.#stuck += this.#end - this.#pos;
          this.#pos = this.#end;
          if (this.#stuck > this.limits.maxInlineLen) throw this.#fail(this.#stuckMessage);
          break;
        }
      }
    }
  }

  /**
   * Reads one line from #pos: up to `term` (CR for `*`/`$` lines, LF for inline). A CR
   * line also consumes the byte after the CR, unchecked. Returns true with the line in
   * #lb/#ls/#le, or false after consuming the rest of the chunk (kept in #carry).
   */
  #line(term: number, tooBig: string): boolean {
    const buf = this.#buf!;
    const pos = this.#pos;
    const end = this.#end;
    const max = this.limits.maxInlineLen;
    const carried = this.#carryLen;

    if (carried > 0 && term === CR && this.#carry![carried - 1] === CR) {
      // The CR ended the previous chunk; this chunk's first byte completes the line.
      this.#takeCarry(carried - 1);
      this.#pos = pos + 1;
      return true;
    }

    // Scan no further than the limit allows: past it, the line fails whatever follows.
    // (max can have been lowered below what is already carried: then stop = pos.)
    const stop = Math.min(end, pos + Math.max(0, max - carried + 1));
    let i = pos;
    let c = 0;
    while (i < stop && (c = buf[i]!) !== term && c !== NUL) i++;

    if (i === stop) {
      // No terminator yet. Past the limit (or at it with bytes to spare) the line fails.
      if (carried + (i - pos) > max) throw this.#fail(tooBig);
      this.#appendCarry(buf, pos, end);
      this.#pos = end;
      return false;
    }
    if (c === NUL) {
      // Redis finds line ends with strchr, which stops at NUL: this line never ends.
      this.#stuck = carried + (end - pos);
      this.#stuckMessage = tooBig;
      this.#carry = null;
      this.#carryLen = 0;
      this.#pos = end;
      this.#state = S_STUCK;
      if (this.#stuck > max) throw this.#fail(tooBig);
      return false;
    }
    if (term === CR && i + 1 === end) {
      // The CR is the chunk's last byte; the line completes with the next byte.
      this.#appendCarry(buf, pos, end);
      this.#pos = end;
      return false;
    }
    // Complete: [pos, i) plus anything carried. The limit check above bounds its length.
    if (carried === 0) {
      this.#lb = buf;
      this.#ls = pos;
      this.#le = i;
    } else {
      this.#appendCarry(buf, pos, i);
      this.#takeCarry(this.#carryLen);
    }
    this.#pos = term === CR ? i + 2 : i + 1;
    return true;
  }

  #appendCarry(src: Buffer, from: number, to: number): void {
    const need = this.#carryLen + (to - from);
    let carry = this.#carry;
    if (carry === null || carry.length < need) {
      const grown = Buffer.allocUnsafe(Math.max(need, carry === null ? 64 : carry.length * 2));
      if (carry !== null) carry.copy(grown, 0, 0, this.#carryLen);
      carry = this.#carry = grown;
    }
    src.copy(carry, this.#carryLen, from, to);
    this.#carryLen = need;
  }

  /** Makes the carried bytes [0, len) the current line; the line now owns that Buffer. */
  #takeCarry(len: number): void {
    this.#lb = this.#carry!;
    this.#ls = 0;
    this.#le = len;
    this.#carry = null;
    this.#carryLen = 0;
  }

  /** Drops the consumed chunk and moves to the next fed one, if any. */
  #advance(): boolean {
    this.#lb = EMPTY; // a line is used before its chunk is left, never after
    const queue = this.#queue;
    const next = queue[this.#queueHead];
    if (next === undefined) {
      if (queue.length !== 0) {
        this.#queue = [];
        this.#queueHead = 0;
      }
      this.#buf = null;
      this.#pos = 0;
      this.#end = 0;
      return false;
    }
    queue[this.#queueHead++] = EMPTY; // drop the reference now
    if (this.#queueHead >= 1024 && this.#queueHead * 2 >= queue.length) {
      queue.splice(0, this.#queueHead);
      this.#queueHead = 0;
    }
    this.#queued -= next.length;
    this.#buf = next;
    this.#pos = 0;
    this.#end = next.length;
    return true;
  }

  #fail(message: string): ProtocolError {
    const err = new ProtocolError(message);
    this.#error = err;
    this.#buf = null;
    this.#queue = [];
    this.#queueHead = 0;
    this.#queued = 0;
    this.#argv = null;
    this.#big = null;
    this.#bigPos = 0;
    this.#carry = null;
    this.#carryLen = 0;
    this.#lb = EMPTY;
    return err;
  }
}

/**
 * Redis string2ll over bytes [s, e): optional '-', no '+', no leading zeros ("0" only),
 * no blanks, within int64. Returns NaN when Redis would reject the text. Values beyond
 * 2^53 lose precision, which is harmless: every limit they are compared with is smaller.
 */
export function parseLength(buf: Uint8Array, s: number, e: number): number {
  const len = e - s;
  if (len <= 0 || len >= 21) return NaN;
  let p = s;
  if (len === 1 && buf[p] === 48) return 0;
  const neg = buf[p] === MINUS;
  if (neg && ++p === e) return NaN;
  let c = buf[p]!;
  if (c < 49 || c > 57) return NaN;
  const digitsFrom = p;
  let v = 0;
  for (; p < e; p++) {
    c = buf[p]!;
    if (c < 48 || c > 57) return NaN;
    v = v * 10 + (c - 48);
  }
  const digits = e - digitsFrom;
  if (digits > 19) return NaN;
  if (digits === 19) {
    // Compare with 9223372036854775807 (or ...808 when negative) digit by digit.
    const limit = neg ? INT64_MIN_DIGITS : INT64_MAX_DIGITS;
    for (let k = 0; k < 19; k++) {
      const d = buf[digitsFrom + k]!;
      const l = limit.charCodeAt(k);
      if (d !== l) {
        if (d > l) return NaN;
        break;
      }
    }
  }
  return neg ? -v : v;
}

const INT64_MAX_DIGITS = '9223372036854775807';
const INT64_MIN_DIGITS = '9223372036854775808';

/** C isspace() in the "C" locale: space, \t \n \v \f \r. */
function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * Splits an inline request line [s, e) like Redis sdssplitargs. The line holds no NUL
 * (such a line never completes, see #line), so position `e` plays the C terminator.
 * Tokens without quotes are views into `line`; quoted tokens are written into one
 * scratch Buffer per line. Returns null on unbalanced quotes, and also when a closing
 * quote is followed by something other than a blank (Redis reports both the same way).
 */
export function splitArgs(line: Buffer, s: number, e: number): Buffer[] | null {
  const argv: Buffer[] = [];
  let scratch: Buffer | null = null;
  let w = 0;
  let p = s;
  const at = (i: number): number => (i < e ? line[i]! : 0);
  for (;;) {
    while (p < e && isSpace(line[p]!)) p++;
    if (p >= e) return argv;
    const tokenStart = p;
    let tokenEnd = -1; // end of a token that stayed a view
    let copyFrom = -1; // start of this token in scratch, once it has quotes
    let inDouble = false;
    let inSingle = false;
    for (;;) {
      const c = at(p);
      if (inDouble) {
        if (c === 0) return null; // unterminated
        let out = c;
        if (c === 0x5c /* \ */ && at(p + 1) === 0x78 /* x */ && hexValue(at(p + 2)) >= 0 && hexValue(at(p + 3)) >= 0) {
          out = hexValue(at(p + 2)) * 16 + hexValue(at(p + 3));
          p += 3;
        } else if (c === 0x5c && at(p + 1) !== 0) {
          p++;
          out = unescape(line[p]!);
        } else if (c === 0x22 /* " */) {
          const after = at(p + 1);
          if (after !== 0 && !isSpace(after)) return null; // closing quote must end the token
          p++;
          break;
        }
        scratch![w++] = out;
        p++;
      } else if (inSingle) {
        if (c === 0) return null;
        let out = c;
        if (c === 0x5c && at(p + 1) === 0x27 /* ' */) {
          p++;
          out = 0x27;
        } else if (c === 0x27) {
          const after = at(p + 1);
          if (after !== 0 && !isSpace(after)) return null;
          p++;
          break;
        }
        scratch![w++] = out;
        p++;
      } else if (c === 0x20 || c === LF || c === CR || c === 0x09 || c === 0) {
        // Only these end an unquoted token; \v and \f are skipped between tokens but
        // kept inside one, as in Redis.
        tokenEnd = p;
        if (c !== 0) p++;
        break;
      } else if (c === 0x22 || c === 0x27) {
        if (copyFrom < 0) {
          if (scratch === null) scratch = Buffer.allocUnsafe(e - s);
          copyFrom = w;
          line.copy(scratch, w, tokenStart, p);
          w += p - tokenStart;
        }
        if (c === 0x22) inDouble = true;
        else inSingle = true;
        p++;
      } else {
        p++; // a plain byte; a token with quotes never gets here (its closing quote ends it)
      }
    }
    argv.push(copyFrom < 0 ? line.subarray(tokenStart, tokenEnd) : scratch!.subarray(copyFrom, w));
  }
}

function unescape(c: number): number {
  switch (c) {
    case 0x6e: return LF; // \n
    case 0x72: return CR; // \r
    case 0x74: return 0x09; // \t
    case 0x62: return 0x08; // \b
    case 0x61: return 0x07; // \a
    default: return c; // \\, \" and any other byte stand for themselves
  }
}
