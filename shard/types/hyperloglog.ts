/**
 * HyperLogLog values: Redis's HLL string format, byte for byte, so an HLL written by
 * Redis (SET of its GET bytes, a migrated key) works here and the other way round.
 *
 * Layout (all of it is the string value of a TYPE_STRING item)
 * ------
 *   0      4   5      8                 16
 *   +------+---+------+-----------------+------------------------------------+
 *   | HYLL |enc| 0 0 0| card (8 B, LE)  | registers                          |
 *   +------+---+------+-----------------+------------------------------------+
 *   enc 0 = dense:  16384 registers of 6 bits, register i at bit 6*i of the area,
 *                   least significant bit first (12288 bytes, 12304 in all).
 *   enc 1 = sparse: a run-length program over the 16384 registers:
 *       00xxxxxx           ZERO   xxxxxx+1 (1..64) registers are 0
 *       01xxxxxx yyyyyyyy  XZERO  (xxxxxx<<8 | yyyyyyyy)+1 (1..16384) registers are 0
 *       1vvvvvxx           VAL    xx+1 (1..4) registers hold vvvvv+1 (1..32)
 *     The runs must cover exactly 16384 registers. A new sparse HLL is one XZERO.
 *   card: the last PFCOUNT of the key, cached; bit 7 of byte 15 set = stale. PFADD and
 *     PFMERGE only set that bit (the old bytes stay), as Redis does, so GET bytes match.
 *
 * Hashing: MurmurHash64A (seed 0xadc83b19) of the element; the low 14 bits pick the
 * register, the run of zero bits above them (+1, at most 51) is the candidate value.
 * A sparse HLL is promoted to dense when a value exceeds 32 (VAL cannot hold it) or
 * when an edit would grow it past hll-sparse-max-bytes (3000).
 *
 * Estimation: Otmar Ertl's improved estimator ("New cardinality estimation algorithms
 * for HyperLogLog sketches", 2017) over the register histogram, with no empirical
 * bias tables, as Redis 5+ computes it, so PFCOUNT agrees with Redis exactly.
 *
 * Sparse edits work in a scratch buffer (SparseEditor) and are copied back to the
 * arena item once per command; dense edits go straight into the arena page.
 */

export const HLL_P = 14;
export const HLL_REGISTERS = 1 << HLL_P;
export const HLL_HDR_SIZE = 16;
export const HLL_DENSE_SIZE = HLL_HDR_SIZE + (HLL_REGISTERS * 6) / 8;
export const HLL_DENSE = 0;
export const HLL_SPARSE = 1;
/** Redis's hll-sparse-max-bytes default. */
export const HLL_SPARSE_MAX_BYTES = 3000;
const HLL_Q = 64 - HLL_P;
const VAL_MAX_VALUE = 32;
const VAL_MAX_LEN = 4;
const ZERO_MAX_LEN = 64;
const XZERO_MAX_LEN = 16384;
const ALPHA_INF = 0.721347520444481703680; // 1 / (2 ln 2)

export const HLL_INVALID_ERR = 'INVALIDOBJ Corrupted HLL object detected';
export const HLL_WRONGTYPE_ERR = 'WRONGTYPE Key is not a valid HyperLogLog string value.';

// --- MurmurHash64A (Austin Appleby, public domain) on 32-bit halves -------------------

const M_HI = 0xc6a4a793;
const M_LO = 0x5bd1e995;

/** Result of murmurHash64A: [lo, hi]. */
export const murmurOut = new Uint32Array(2);
let mulLo = 0;
let mulHi = 0;

/** (aHi:aLo) * (bHi:bLo) mod 2^64 into mulHi:mulLo. */
function mul64(aHi: number, aLo: number, bHi: number, bLo: number): void {
  const a0 = aLo & 0xffff;
  const a1 = aLo >>> 16;
  const b0 = bLo & 0xffff;
  const b1 = bLo >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  mulLo = (((mid & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
  const high = a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16);
  mulHi = (high + Math.imul(aHi, bLo) + Math.imul(aLo, bHi)) >>> 0;
}

/**
 * MurmurHash64A of data[start, start+len) with a 64-bit seed (seedHi:seedLo); the
 * result lands in murmurOut ([lo, hi]).
 */
export function murmurHash64A(data: Uint8Array, start: number, len: number, seedHi: number, seedLo: number): void {
  mul64(0, len, M_HI, M_LO);
  let hHi = (seedHi ^ mulHi) >>> 0;
  let hLo = (seedLo ^ mulLo) >>> 0;
  const end = start + (len & ~7);
  let p = start;
  for (; p < end; p += 8) {
    const kLo = (data[p]! | (data[p + 1]! << 8) | (data[p + 2]! << 16) | (data[p + 3]! << 24)) >>> 0;
    const kHi = (data[p + 4]! | (data[p + 5]! << 8) | (data[p + 6]! << 16) | (data[p + 7]! << 24)) >>> 0;
    mul64(kHi, kLo, M_HI, M_LO);
    // k ^= k >> 47: only the top 17 bits move, into the low word.
    mul64(mulHi, (mulLo ^ (mulHi >>> 15)) >>> 0, M_HI, M_LO);
    hHi = (hHi ^ mulHi) >>> 0;
    hLo = (hLo ^ mulLo) >>> 0;
    mul64(hHi, hLo, M_HI, M_LO);
    hHi = mulHi;
    hLo = mulLo;
  }
  const rest = len & 7;
  if (rest > 0) {
    for (let i = rest - 1; i >= 0; i--) {
      const byte = data[p + i]!;
      if (i >= 4) hHi = (hHi ^ (byte << ((i - 4) * 8))) >>> 0;
      else hLo = (hLo ^ (byte << (i * 8))) >>> 0;
    }
    mul64(hHi, hLo, M_HI, M_LO);
    hHi = mulHi;
    hLo = mulLo;
  }
  hLo = (hLo ^ (hHi >>> 15)) >>> 0;
  mul64(hHi, hLo, M_HI, M_LO);
  hHi = mulHi;
  hLo = (mulLo ^ (mulHi >>> 15)) >>> 0;
  murmurOut[0] = hLo;
  murmurOut[1] = hHi;
}

function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** Register index (low 14 bits) and value (bits 14..) of an element: index | value << 14. */
export function hllPatLen(ele: Uint8Array): number {
  murmurHash64A(ele, 0, ele.length, 0, 0xadc83b19);
  const lo = murmurOut[0]!;
  const hi = murmurOut[1]!;
  const index = lo & (HLL_REGISTERS - 1);
  // Bits 14..63 with a sentinel at bit 50 of the shifted value: at most 51.
  const rest = lo >>> HLL_P;
  let count: number;
  if (rest !== 0) count = ctz32(rest) + 1;
  else if (hi !== 0) count = 32 - HLL_P + ctz32(hi) + 1;
  else count = HLL_Q + 1;
  return index | (count << HLL_P);
}

// --- header --------------------------------------------------------------------------

/** True when buf[start, start+len) passes Redis's isHLLObjectOrReply checks. */
export function isHll(buf: Uint8Array, start: number, len: number): boolean {
  if (len < HLL_HDR_SIZE) return false;
  if (buf[start] !== 72 || buf[start + 1] !== 89 || buf[start + 2] !== 76 || buf[start + 3] !== 76) return false;
  const enc = buf[start + 4]!;
  if (enc > HLL_SPARSE) return false;
  return enc !== HLL_DENSE || len === HLL_DENSE_SIZE;
}

/** Writes an empty sparse HLL (header + one XZERO): 18 bytes. */
export function writeEmptyHll(buf: Uint8Array, start: number): number {
  buf[start] = 72;
  buf[start + 1] = 89;
  buf[start + 2] = 76;
  buf[start + 3] = 76;
  buf[start + 4] = HLL_SPARSE;
  buf.fill(0, start + 5, start + HLL_HDR_SIZE);
  buf[start + 16] = 0x40 | ((XZERO_MAX_LEN - 1) >> 8);
  buf[start + 17] = (XZERO_MAX_LEN - 1) & 0xff;
  return HLL_HDR_SIZE + 2;
}
export const HLL_EMPTY_SIZE = HLL_HDR_SIZE + 2;

export function cacheValid(buf: Uint8Array, start: number): boolean {
  return (buf[start + 15]! & 0x80) === 0;
}

export function invalidateCache(buf: Uint8Array, start: number): void {
  buf[start + 15] = buf[start + 15]! | 0x80;
}

/** The cached cardinality (call when cacheValid): below 2^63, a bigint beyond 2^53. */
export function readCache(buf: Uint8Array, start: number): number | bigint {
  const lo = (buf[start + 8]! | (buf[start + 9]! << 8) | (buf[start + 10]! << 16) | (buf[start + 11]! << 24)) >>> 0;
  const hi = (buf[start + 12]! | (buf[start + 13]! << 8) | (buf[start + 14]! << 16) | (buf[start + 15]! << 24)) >>> 0;
  if (hi < 0x200000) return hi * 2 ** 32 + lo;
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** Stores card as the 8-byte cache (LLONG_MIN, Redis's overflowed estimate, reads back as stale). */
export function writeCache(buf: Uint8Array, start: number, card: number | bigint): void {
  let v = BigInt.asUintN(64, BigInt(card));
  for (let i = 0; i < 8; i++) {
    buf[start + 8 + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

// --- dense registers -----------------------------------------------------------------

/** Register i of the dense area starting at regs. */
export function denseGet(buf: Uint8Array, regs: number, i: number): number {
  const bit = i * 6;
  const byte = regs + (bit >> 3);
  const fb = bit & 7;
  const b0 = buf[byte]!;
  const b1 = fb > 2 ? buf[byte + 1]! : 0;
  return ((b0 >> fb) | (b1 << (8 - fb))) & 63;
}

export function denseSet(buf: Uint8Array, regs: number, i: number, val: number): void {
  const bit = i * 6;
  const byte = regs + (bit >> 3);
  const fb = bit & 7;
  buf[byte] = (buf[byte]! & ~(63 << fb)) | ((val << fb) & 0xff);
  // A register that ends inside its first byte (fb <= 2) touches nothing after it:
  // the last register (fb = 2) must not write past the area.
  if (fb > 2) buf[byte + 1] = (buf[byte + 1]! & ~(63 >> (8 - fb))) | (val >> (8 - fb));
}

/** Dense add: 1 when register index grew to count. */
export function denseAdd(buf: Uint8Array, regs: number, index: number, count: number): number {
  if (denseGet(buf, regs, index) >= count) return 0;
  denseSet(buf, regs, index, count);
  return 1;
}

// --- sparse editing --------------------------------------------------------------------

export const SPARSE_CORRUPT = -1;
export const SPARSE_PROMOTE = 2;

function valOp(value: number, len: number): number {
  return 0x80 | ((value - 1) << 2) | (len - 1);
}

/**
 * A sparse HLL being edited: `buf[0, len)` holds the whole value (header included).
 * One module-level editor is reused; it grows when an input is larger than usual.
 */
export class SparseEditor {
  buf: Buffer = Buffer.alloc(8192);
  len = 0;

  load(src: Uint8Array, start: number, len: number): void {
    if (this.buf.length < len + 64) this.buf = Buffer.alloc(len * 2 + 64);
    this.buf.set(src.subarray(start, start + len), 0);
    this.len = len;
  }

  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    const next = Buffer.alloc((this.len + extra) * 2);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  /**
   * Raises register index to count when count is larger. Returns 1 (changed), 0
   * (unchanged), SPARSE_PROMOTE (the caller must go dense and retry there) or
   * SPARSE_CORRUPT.
   */
  set(index: number, count: number, maxBytes: number): number {
    if (count > VAL_MAX_VALUE) return SPARSE_PROMOTE;
    const b = this.buf;
    let end = this.len;
    // Find the opcode covering index; `first` is the first register it covers.
    let p = HLL_HDR_SIZE;
    let prev = -1;
    let first = 0;
    let span = 0;
    let oplen = 1;
    let op = 0;
    while (p < end) {
      op = b[p]!;
      oplen = 1;
      if ((op & 0xc0) === 0) span = (op & 0x3f) + 1;
      else if ((op & 0xc0) === 0x40) {
        span = (((op & 0x3f) << 8) | (p + 1 < end ? b[p + 1]! : 0)) + 1;
        oplen = 2;
      } else span = (op & 3) + 1;
      if (index <= first + span - 1) break;
      prev = p;
      p += oplen;
      first += span;
    }
    if (span === 0 || p >= end) return SPARSE_CORRUPT;
    const next = p + oplen;
    const isVal = (op & 0x80) !== 0;
    const isXzero = (op & 0xc0) === 0x40;
    const isZero = (op & 0xc0) === 0;

    let done = false;
    if (isVal) {
      if (((op >> 2) & 0x1f) + 1 >= count) return 0;
      if (span === 1) {
        b[p] = valOp(count, 1);
        done = true;
      }
    } else if (isZero && span === 1) {
      b[p] = valOp(count, 1);
      done = true;
    }

    if (!done) {
      // Split the run into (before, the new VAL, after): at most 5 bytes.
      const seq = SEQ;
      let n = 0;
      const last = first + span - 1;
      if (isZero || isXzero) {
        if (index !== first) n = putZeros(seq, n, index - first);
        seq[n++] = valOp(count, 1);
        if (index !== last) n = putZeros(seq, n, last - index);
      } else {
        const cur = ((op >> 2) & 0x1f) + 1;
        if (index !== first) seq[n++] = valOp(cur, index - first);
        seq[n++] = valOp(count, 1);
        if (index !== last) seq[n++] = valOp(cur, last - index);
      }
      const delta = n - (isXzero ? 2 : 1);
      if (delta > 0 && end + delta > maxBytes) return SPARSE_PROMOTE;
      if (delta !== 0) {
        this.ensure(delta + 8);
        this.buf.copyWithin(next + delta, next, end);
      }
      for (let i = 0; i < n; i++) this.buf[p + i] = seq[i]!;
      end += delta;
    }

    // Adjacent VALs of one value may now merge: scan up to 5 opcodes from prev.
    const c = this.buf;
    let q = prev >= 0 ? prev : HLL_HDR_SIZE;
    let scan = 5;
    while (q < end && scan-- > 0) {
      const o = c[q]!;
      if ((o & 0xc0) === 0x40) {
        q += 2;
        continue;
      }
      if ((o & 0xc0) === 0) {
        q++;
        continue;
      }
      if (q + 1 < end && (c[q + 1]! & 0x80) !== 0) {
        const o2 = c[q + 1]!;
        const v1 = ((o >> 2) & 0x1f) + 1;
        if (v1 === ((o2 >> 2) & 0x1f) + 1) {
          const len = (o & 3) + (o2 & 3) + 2;
          if (len <= VAL_MAX_LEN) {
            c[q + 1] = valOp(v1, len);
            c.copyWithin(q, q + 1, end);
            end--;
            continue;
          }
        }
      }
      q++;
    }
    this.len = end;
    return 1;
  }
}

const SEQ = new Uint8Array(5);

function putZeros(seq: Uint8Array, n: number, len: number): number {
  if (len > ZERO_MAX_LEN) {
    seq[n] = 0x40 | ((len - 1) >> 8);
    seq[n + 1] = (len - 1) & 0xff;
    return n + 2;
  }
  seq[n] = len - 1;
  return n + 1;
}

/**
 * Expands the sparse HLL src[start, start+len) into dst[0, HLL_DENSE_SIZE) (header
 * copied, encoding set to dense). False when the runs do not cover exactly 16384
 * registers or a value run would pass the last one.
 */
export function sparseToDense(src: Uint8Array, start: number, len: number, dst: Uint8Array): boolean {
  dst.set(src.subarray(start, start + HLL_HDR_SIZE), 0);
  dst[4] = HLL_DENSE;
  dst.fill(0, HLL_HDR_SIZE, HLL_DENSE_SIZE);
  const end = start + len;
  let idx = 0;
  let p = start + HLL_HDR_SIZE;
  while (p < end) {
    const op = src[p]!;
    if ((op & 0xc0) === 0) {
      idx += (op & 0x3f) + 1;
      p++;
    } else if ((op & 0xc0) === 0x40) {
      idx += (((op & 0x3f) << 8) | (p + 1 < end ? src[p + 1]! : 0)) + 1;
      p += 2;
    } else {
      const run = (op & 3) + 1;
      const val = ((op >> 2) & 0x1f) + 1;
      if (idx + run > HLL_REGISTERS) return false;
      for (let i = 0; i < run; i++) denseSet(dst, HLL_HDR_SIZE, idx++, val);
      p++;
    }
  }
  return idx === HLL_REGISTERS;
}

// --- merge and count ------------------------------------------------------------------

/** Max-merges the HLL at buf[start, start+len) into max (16384 bytes). False if corrupt. */
export function hllMergeInto(max: Uint8Array, buf: Uint8Array, start: number, len: number): boolean {
  if (buf[start + 4] === HLL_DENSE) {
    const regs = start + HLL_HDR_SIZE;
    for (let i = 0; i < HLL_REGISTERS; i++) {
      const v = denseGet(buf, regs, i);
      if (v > max[i]!) max[i] = v;
    }
    return true;
  }
  const end = start + len;
  let idx = 0;
  let p = start + HLL_HDR_SIZE;
  while (p < end) {
    const op = buf[p]!;
    if ((op & 0xc0) === 0) {
      idx += (op & 0x3f) + 1;
      p++;
    } else if ((op & 0xc0) === 0x40) {
      idx += (((op & 0x3f) << 8) | (p + 1 < end ? buf[p + 1]! : 0)) + 1;
      p += 2;
    } else {
      const run = (op & 3) + 1;
      const val = ((op >> 2) & 0x1f) + 1;
      if (idx + run > HLL_REGISTERS) return false;
      for (let i = 0; i < run; i++, idx++) if (val > max[idx]!) max[idx] = val;
      p++;
    }
  }
  return idx === HLL_REGISTERS;
}

const HISTO = new Int32Array(64);

/** Cardinality of the HLL at buf[start, start+len), or null when it is corrupt. */
export function hllCount(buf: Uint8Array, start: number, len: number): number | bigint | null {
  HISTO.fill(0);
  if (buf[start + 4] === HLL_DENSE) {
    const regs = start + HLL_HDR_SIZE;
    for (let i = 0; i < HLL_REGISTERS; i++) HISTO[denseGet(buf, regs, i)]!++;
  } else {
    const end = start + len;
    let idx = 0;
    let p = start + HLL_HDR_SIZE;
    while (p < end) {
      const op = buf[p]!;
      let run: number;
      if ((op & 0xc0) === 0) {
        run = (op & 0x3f) + 1;
        HISTO[0] = HISTO[0]! + run;
        p++;
      } else if ((op & 0xc0) === 0x40) {
        run = (((op & 0x3f) << 8) | (p + 1 < end ? buf[p + 1]! : 0)) + 1;
        HISTO[0] = HISTO[0]! + run;
        p += 2;
      } else {
        run = (op & 3) + 1;
        const v = ((op >> 2) & 0x1f) + 1;
        HISTO[v] = HISTO[v]! + run;
        p++;
      }
      idx += run;
    }
    if (idx !== HLL_REGISTERS) return null;
  }
  return estimate(HISTO);
}

/** Cardinality of raw registers (one byte each), as PFCOUNT of several keys. */
export function hllCountRaw(regs: Uint8Array): number | bigint {
  HISTO.fill(0);
  for (let i = 0; i < HLL_REGISTERS; i++) HISTO[regs[i]!]!++;
  return estimate(HISTO);
}

const INT64_MIN = -(2n ** 63n);

/**
 * Ertl's estimator over the register-value histogram, rounded as C's llroundl: an
 * estimate beyond int64 (only crafted HLLs get there) is LLONG_MIN, as in Redis.
 */
function estimate(h: Int32Array): number | bigint {
  const m = HLL_REGISTERS;
  let z = m * tau((m - h[HLL_Q + 1]!) / m);
  for (let j = HLL_Q; j >= 1; j--) {
    z += h[j]!;
    z *= 0.5;
  }
  z += m * sigma(h[0]! / m);
  const e = Math.round((ALPHA_INF * m * m) / z);
  if (!(e < 2 ** 63)) return INT64_MIN;
  return e <= Number.MAX_SAFE_INTEGER ? e : BigInt(e);
}

function sigma(x: number): number {
  if (x === 1) return Infinity;
  let y = 1;
  let z = x;
  let zPrime: number;
  do {
    x *= x;
    zPrime = z;
    z += x * y;
    y += y;
  } while (zPrime !== z);
  return z;
}

function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1;
  let z = 1 - x;
  let zPrime: number;
  do {
    x = Math.sqrt(x);
    zPrime = z;
    y *= 0.5;
    const d = 1 - x;
    z -= d * d * y;
  } while (zPrime !== z);
  return z / 3;
}
