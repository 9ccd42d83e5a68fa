// What the load generator sends: the workload options (key space, distribution,
// value sizes, command mix, TTLs) and CommandWriter, which encodes one request
// straight into a connection's output buffer as RESP bytes, without a string or a
// Buffer per argument.
//
// Keys are 16 bytes, a 4-byte prefix per data type plus 12 decimal digits
// (`key:000000000042`, redis-benchmark's -r layout), so a key is written digit by
// digit into the output and no type collides with another (INCR on a 100-byte string
// would only measure -ERR replies):
//   key:  GET SET MGET (the keys --prefill writes)   ctr:  INCR
//   lst:  LPUSH                                       zst:  ZADD (members m:<12 digits>)
//   hsh:  HSET (fields f:<12 digits>)                 chn:  PUBLISH (channel names)
// Lists only grow (LPUSH) and sorted sets / hashes hold at most --fields members per
// key, so a long LPUSH run grows memory by about its value bytes.

import { Rng, UniformSampler, ZipfSampler, type KeySampler } from './distribution.js';

/** Commands the mix may name, in the order of their numeric codes. */
export const COMMANDS = ['get', 'set', 'mget', 'incr', 'lpush', 'zadd', 'publish', 'hset', 'ping'] as const;
export type CommandName = (typeof COMMANDS)[number];
export const CMD = {
  get: 0, set: 1, mget: 2, incr: 3, lpush: 4, zadd: 5, publish: 6, hset: 7, ping: 8,
} as const satisfies Record<CommandName, number>;

export interface Workload {
  /** Key-space size per data type (indexes 0 .. keys-1). */
  keys: number;
  dist: 'uniform' | 'zipf';
  zipfSkew: number;
  /** Value sizes are uniform in [valueMin, valueMax] bytes. */
  valueMin: number;
  valueMax: number;
  /** Command weights, in COMMANDS order (any positive scale). */
  mix: { command: CommandName; weight: number }[];
  /** Keys per MGET. */
  mgetKeys: number;
  /** Distinct HSET fields / ZADD members per key. */
  fields: number;
  /** SETs carry `EX t`, t uniform in [ttlMin, ttlMax] seconds; 0 = no TTL. */
  ttlMin: number;
  ttlMax: number;
  seed: number;
}

export class WorkloadError extends Error {
  override name = 'WorkloadError';
}

/** Parses `get=90,set=10` (weights need not sum to 100). */
export function parseMix(text: string): Workload['mix'] {
  const out: Workload['mix'] = [];
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([a-zA-Z]+)\s*[=:]\s*([0-9]*\.?[0-9]+)$/.exec(part);
    if (!m) throw new WorkloadError(`--mix: "${part}" is not COMMAND=WEIGHT (e.g. get=90,set=10)`);
    const command = (m[1] ?? '').toLowerCase();
    if (!(COMMANDS as readonly string[]).includes(command)) {
      throw new WorkloadError(`--mix: unknown command "${m[1]}" (use ${COMMANDS.join(', ')})`);
    }
    if (out.some((x) => x.command === command)) throw new WorkloadError(`--mix: ${command} given twice`);
    out.push({ command: command as CommandName, weight: Number(m[2]) });
  }
  if (out.length === 0 || out.every((x) => x.weight === 0)) throw new WorkloadError('--mix: needs at least one command with a weight > 0');
  return out.filter((x) => x.weight > 0);
}

/** Parses `100` or `50-500` into [min, max]. */
export function parseRange(flag: string, text: string, min: number, max: number): [number, number] {
  const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(text.trim());
  const lo = Number(m?.[1]);
  const hi = m?.[2] === undefined ? lo : Number(m[2]);
  if (!m || !(lo >= min && hi <= max && lo <= hi)) {
    throw new WorkloadError(`${flag}: expected N or MIN-MAX with ${min} <= MIN <= MAX <= ${max}, got "${text}"`);
  }
  return [lo, hi];
}

const CRLF0 = 13;
const CRLF1 = 10;
const KEY_LEN = 16;
/** Distinct contents per fixed value size (random slices of the filler). */
const VARIANTS = 64;
const ascii = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

// Everything before a key's 12 digits, per command: one TypedArray#set (a memmove)
// beats a byte loop from about 8 bytes on, and Buffer#copy builds a view per call.
const HEAD = {
  get: ascii('*2\r\n$3\r\nGET\r\n$16\r\nkey:'),
  set: ascii('*3\r\n$3\r\nSET\r\n$16\r\nkey:'),
  setEx: ascii('*5\r\n$3\r\nSET\r\n$16\r\nkey:'),
  incr: ascii('*2\r\n$4\r\nINCR\r\n$16\r\nctr:'),
  lpush: ascii('*3\r\n$5\r\nLPUSH\r\n$16\r\nlst:'),
  zadd: ascii('*4\r\n$4\r\nZADD\r\n$16\r\nzst:'),
  publish: ascii('*3\r\n$7\r\nPUBLISH\r\n$16\r\nchn:'),
  hset: ascii('*4\r\n$4\r\nHSET\r\n$16\r\nhsh:'),
  ping: ascii('*1\r\n$4\r\nPING\r\n'),
  mgetKey: ascii('$16\r\nkey:'),
  member: ascii('$14\r\nm:'),
  field: ascii('$14\r\nf:'),
  ex: ascii('$2\r\nEX\r\n'),
};

/** "00" .. "99" as byte pairs. */
const DIGIT_PAIRS = (() => {
  const t = new Uint8Array(200);
  for (let i = 0; i < 100; i++) {
    t[2 * i] = 48 + ((i / 10) | 0);
    t[2 * i + 1] = 48 + (i % 10);
  }
  return t;
})();

/** Writes `src` at buf[off]; returns the offset after it. */
function put(buf: Uint8Array, off: number, src: Uint8Array): number {
  buf.set(src, off);
  return off + src.length;
}

/** Writes n (0 <= n < 2^31, --keys caps it) as exactly 12 zero-padded digits, then CRLF. */
function put12(buf: Uint8Array, off: number, n: number): number {
  for (let i = off + 10; i >= off; i -= 2) {
    const q = (n / 100) | 0;
    const r = (n - q * 100) << 1;
    buf[i] = DIGIT_PAIRS[r]!;
    buf[i + 1] = DIGIT_PAIRS[r + 1]!;
    n = q;
  }
  buf[off + 12] = CRLF0;
  buf[off + 13] = CRLF1;
  return off + 14;
}

/** Writes a non-negative integer in decimal; returns the new offset. */
function putInt(buf: Uint8Array, off: number, n: number): number {
  let digits = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
  for (let i = off + digits - 1; i >= off; i--) {
    const q = Math.floor(n / 10);
    buf[i] = 48 + (n - q * 10);
    n = q;
  }
  return off + digits;
}

const intLen = (n: number) => String(n).length;

export class CommandWriter {
  /** An upper bound of one encoded request's size. */
  readonly maxBytes: number;
  readonly #w: Workload;
  readonly #rng: Rng;
  readonly #keys: KeySampler;
  /** Cumulative mix probabilities and their command codes. */
  readonly #cum: Float64Array;
  readonly #codes: Uint8Array;
  /** Random printable bytes; values are slices of it at random offsets. */
  readonly #filler: Buffer;
  /** Fixed-size values: VARIANTS whole `$len\r\n<bytes>\r\n` encodings, copied with one set(). */
  readonly #fixed: Uint8Array[] = [];
  /** `*<n+1>\r\n$4\r\nMGET\r\n`. */
  readonly #mgetHead: Uint8Array;

  constructor(w: Workload) {
    this.#w = w;
    this.#rng = new Rng(w.seed);
    this.#keys = w.dist === 'zipf' ? new ZipfSampler(w.keys, w.zipfSkew, this.#rng) : new UniformSampler(w.keys, this.#rng);
    const total = w.mix.reduce((a, x) => a + x.weight, 0);
    this.#cum = new Float64Array(w.mix.length);
    this.#codes = new Uint8Array(w.mix.length);
    let acc = 0;
    w.mix.forEach((x, i) => {
      acc += x.weight / total;
      this.#cum[i] = acc;
      this.#codes[i] = CMD[x.command];
    });
    this.#cum[w.mix.length - 1] = 1;
    const fillRng = new Rng(w.seed ^ 0x5eed);
    this.#filler = Buffer.allocUnsafe(w.valueMax + 256);
    for (let i = 0; i < this.#filler.length; i++) this.#filler[i] = 97 + fillRng.below(26);
    if (w.valueMin === w.valueMax) {
      const head = ascii(`$${w.valueMin}\r\n`);
      for (let v = 0; v < VARIANTS; v++) {
        const enc = new Uint8Array(head.length + w.valueMin + 2);
        enc.set(head, 0);
        enc.set(this.#filler.subarray(v, v + w.valueMin), head.length);
        enc[enc.length - 2] = CRLF0;
        enc[enc.length - 1] = CRLF1;
        this.#fixed.push(enc);
      }
    }
    this.#mgetHead = ascii(`*${w.mgetKeys + 1}\r\n$4\r\nMGET\r\n`);
    const value = 3 + intLen(w.valueMax) + w.valueMax + 2;
    this.maxBytes = Math.max(
      64 + value + 8 + intLen(w.ttlMax) + 2, // SET k v EX t
      16 + w.mgetKeys * (5 + KEY_LEN + 2) + 24, // MGET
      64 + 2 * 24 + value, // ZADD / HSET
    );
  }

  /** The next command code, by the mix. */
  pick(): number {
    const r = this.#rng.next();
    const cum = this.#cum;
    let i = 0;
    while (i < cum.length - 1 && r >= (cum[i] as number)) i++;
    return this.#codes[i] as number;
  }

  /** Encodes one request of command `code` at buf[off]; returns the offset after it. */
  write(code: number, buf: Buffer, off: number): number {
    switch (code) {
      case CMD.get: return put12(buf, put(buf, off, HEAD.get), this.#keys.sample());
      case CMD.set: return this.#set(this.#keys.sample(), buf, off);
      case CMD.mget: {
        off = put(buf, off, this.#mgetHead);
        for (let i = this.#w.mgetKeys; i > 0; i--) off = put12(buf, put(buf, off, HEAD.mgetKey), this.#keys.sample());
        return off;
      }
      case CMD.incr: return put12(buf, put(buf, off, HEAD.incr), this.#keys.sample());
      case CMD.lpush: return this.#value(buf, put12(buf, put(buf, off, HEAD.lpush), this.#keys.sample()));
      case CMD.zadd: {
        off = put12(buf, put(buf, off, HEAD.zadd), this.#keys.sample());
        const score = this.#rng.below(1_000_000);
        buf[off++] = 36; // '$'
        off = putInt(buf, off, intLen(score));
        buf[off++] = CRLF0; buf[off++] = CRLF1;
        off = putInt(buf, off, score);
        buf[off++] = CRLF0; buf[off++] = CRLF1;
        return put12(buf, put(buf, off, HEAD.member), this.#rng.below(this.#w.fields));
      }
      case CMD.publish: return this.#value(buf, put12(buf, put(buf, off, HEAD.publish), this.#keys.sample()));
      case CMD.hset: {
        off = put12(buf, put(buf, off, HEAD.hset), this.#keys.sample());
        off = put12(buf, put(buf, off, HEAD.field), this.#rng.below(this.#w.fields));
        return this.#value(buf, off);
      }
      case CMD.ping: return put(buf, off, HEAD.ping);
      default: throw new RangeError(`unknown command code ${code}`);
    }
  }

  /** `SET key:<index> <value>` without TTL (the prefill). */
  writeSetAt(index: number, buf: Buffer, off: number): number {
    return this.#value(buf, put12(buf, put(buf, off, HEAD.set), index));
  }

  #set(index: number, buf: Buffer, off: number): number {
    const w = this.#w;
    if (w.ttlMax === 0) return this.writeSetAt(index, buf, off);
    off = this.#value(buf, put12(buf, put(buf, off, HEAD.setEx), index));
    off = put(buf, off, HEAD.ex);
    const ttl = w.ttlMin === w.ttlMax ? w.ttlMin : w.ttlMin + this.#rng.below(w.ttlMax - w.ttlMin + 1);
    buf[off++] = 36;
    off = putInt(buf, off, intLen(ttl));
    buf[off++] = CRLF0; buf[off++] = CRLF1;
    off = putInt(buf, off, ttl);
    buf[off++] = CRLF0; buf[off++] = CRLF1;
    return off;
  }

  /** `$len\r\n<bytes>\r\n`, len uniform in [valueMin, valueMax]. */
  #value(buf: Buffer, off: number): number {
    if (this.#fixed.length) {
      // TypedArray#set from a prebuilt view: one memmove, no wrapper object (Buffer#copy
      // builds a Uint8Array per call).
      const enc = this.#fixed[this.#rng.next() * VARIANTS | 0]!;
      buf.set(enc, off);
      return off + enc.length;
    }
    const w = this.#w;
    const len = w.valueMin === w.valueMax ? w.valueMin : w.valueMin + this.#rng.below(w.valueMax - w.valueMin + 1);
    buf[off++] = 36;
    off = putInt(buf, off, len);
    buf[off++] = CRLF0; buf[off++] = CRLF1;
    const from = this.#rng.below(256);
    if (len <= 32) {
      const f = this.#filler;
      for (let i = 0; i < len; i++) buf[off + i] = f[from + i] as number;
    } else {
      this.#filler.copy(buf, off, from, from + len);
    }
    off += len;
    buf[off++] = CRLF0; buf[off++] = CRLF1;
    return off;
  }
}

/** The key `key:<12 digits>` of index i, as GET/SET/MGET send it. */
export const stringKey = (i: number): string => `key:${String(i).padStart(12, '0')}`;
