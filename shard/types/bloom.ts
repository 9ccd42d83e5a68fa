/**
 * Scalable bloom filters with RedisBloom's semantics (BF.*): a chain of bloom filter
 * layers; when the newest layer holds `capacity` items a new one is added with
 * capacity * expansion and half the error rate, so the chain's total false-positive
 * rate stays below the configured one (the first layer gets error/2 for that reason;
 * a NONSCALING filter has one layer at the full error rate and refuses items when full).
 *
 * Sizing and hashing follow RedisBloom (64-bit hashes, no power-of-two rounding), so
 * BF.INFO's Capacity/Size and the filters' behaviour match a RedisBloom server:
 *   bits per entry  bpe    = -ln(error) / ln(2)^2
 *   bits                   = floor(capacity * bpe), rounded up to a multiple of 64
 *   hashes          k      = ceil(ln(2) * bpe)
 *   item hashes     a      = MurmurHash64A(item, seed 0xc6a4a7935bd1e995), b = MurmurHash64A(item, seed a)
 *   bit i of k             = (a + i*b mod 2^64) mod bits; bit x is bit x%8 of byte x/8
 *
 * Value layout (the whole filter is the arena item's value, TYPE_BLOOM, so RENAME/COPY
 * and dumps move it as bytes; all little endian):
 *
 *   header (24 bytes)
 *   0        4         8        12         16               24
 *   +--------+---------+--------+----------+----------------+
 *   | "SBF1" | options | growth | nfilters | items (f64)    |
 *   +--------+---------+--------+----------+----------------+
 *   then nfilters layers, oldest first, each a 40-byte header and its bit array:
 *   0              8           16          24           32        36       40
 *   +--------------+-----------+-----------+------------+---------+--------+------------+
 *   | capacity f64 | error f64 | bpe f64   | items f64  | bytes   | hashes | bits ...   |
 *   +--------------+-----------+-----------+------------+---------+--------+------------+
 * options bit 0 = NONSCALING. A new layer is appended at the end (the item grows in
 * place when its chunk has room, see Keyspace.resizeValue).
 */
import { murmurHash64A, murmurOut } from './hyperloglog.js';

export const BLOOM_MAGIC = 0x31464253; // "SBF1"
export const BLOOM_HDR = 24;
export const LAYER_HDR = 40;
export const OPT_NONSCALING = 1;
/** Largest filter kept (all layers): beyond it creation or growth is refused. */
export const MAX_FILTER_BYTES = 512 * 1024 * 1024;
/** RedisBloom's struct sizes, for BF.INFO Size: sizeof(SBChain) + sizeof(SBLink) per layer + bit arrays. */
const CHAIN_STRUCT = 32;
const LINK_STRUCT = 64;

const LN2 = 0.693147180559945;
const LN2_SQUARED = 0.480453013918201;
const TIGHTENING = 0.5;

export interface LayerParams {
  capacity: number;
  error: number;
  bpe: number;
  bytes: number;
  hashes: number;
}

/** A layer's sizing for `capacity` items at `error` (RedisBloom bloom_init, NOROUND). */
export function layerParams(capacity: number, error: number): LayerParams {
  let bpe = -(Math.log(error) / LN2_SQUARED);
  if (bpe < 0) bpe = -bpe;
  let bits = Math.floor(capacity * bpe);
  if (bits === 0) bits = 1;
  const bytes = bits % 64 ? (Math.floor(bits / 64) + 1) * 8 : bits / 8;
  return { capacity, error, bpe, bytes, hashes: Math.ceil(LN2 * bpe) };
}

/** Parameters of the first layer of a new filter. */
export function firstLayer(capacity: number, error: number, nonScaling: boolean): LayerParams {
  return layerParams(capacity, nonScaling ? error : error * TIGHTENING);
}

/** Parameters of the layer that follows the newest one of the filter at buf[start]. */
export function nextLayer(buf: Buffer, start: number): LayerParams {
  const last = lastLayerOffset(buf, start);
  return layerParams(buf.readDoubleLE(last) * buf.readUInt32LE(start + 8), buf.readDoubleLE(last + 8) * TIGHTENING);
}

export function filterSize(first: LayerParams): number {
  return BLOOM_HDR + LAYER_HDR + first.bytes;
}

/** Writes a new one-layer filter at buf[start] (the caller sized the value with filterSize). */
export function initFilter(buf: Buffer, start: number, first: LayerParams, growth: number, nonScaling: boolean): void {
  buf.writeUInt32LE(BLOOM_MAGIC, start);
  buf.writeUInt32LE(nonScaling ? OPT_NONSCALING : 0, start + 4);
  buf.writeUInt32LE(growth, start + 8);
  buf.writeUInt32LE(0, start + 12);
  buf.writeDoubleLE(0, start + 16);
  appendLayer(buf, start, BLOOM_HDR, first);
}

/** Writes layer p at buf[start + at] (the value already has room) and counts it in the header. */
export function appendLayer(buf: Buffer, start: number, at: number, p: LayerParams): void {
  const o = start + at;
  buf.writeDoubleLE(p.capacity, o);
  buf.writeDoubleLE(p.error, o + 8);
  buf.writeDoubleLE(p.bpe, o + 16);
  buf.writeDoubleLE(0, o + 24);
  buf.writeUInt32LE(p.bytes, o + 32);
  buf.writeUInt32LE(p.hashes, o + 36);
  buf.fill(0, o + LAYER_HDR, o + LAYER_HDR + p.bytes);
  buf.writeUInt32LE(buf.readUInt32LE(start + 12) + 1, start + 12);
}

/**
 * True when buf[start, start+len) is a well-formed filter: the magic, and layers that
 * exactly fill the value (so a malformed restored dump is refused, never read past).
 */
export function isFilter(buf: Buffer, start: number, len: number): boolean {
  if (len < BLOOM_HDR || buf.readUInt32LE(start) !== BLOOM_MAGIC) return false;
  const n = buf.readUInt32LE(start + 12);
  let o = start + BLOOM_HDR;
  for (let i = 0; i < n; i++) {
    if (o + LAYER_HDR > start + len) return false;
    o += LAYER_HDR + buf.readUInt32LE(o + 32);
  }
  return n > 0 && o === start + len;
}

export function nonScaling(buf: Buffer, start: number): boolean {
  return (buf.readUInt32LE(start + 4) & OPT_NONSCALING) !== 0;
}

export function growth(buf: Buffer, start: number): number {
  return buf.readUInt32LE(start + 8);
}

export function filterCount(buf: Buffer, start: number): number {
  return buf.readUInt32LE(start + 12);
}

export function itemCount(buf: Buffer, start: number): number {
  return buf.readDoubleLE(start + 16);
}

/** Sum of the layers' capacities (BF.INFO Capacity). */
export function totalCapacity(buf: Buffer, start: number): number {
  let sum = 0;
  forEachLayer(buf, start, (o) => {
    sum += buf.readDoubleLE(o);
  });
  return sum;
}

/** RedisBloom's memory figure (BF.INFO Size). */
export function infoSize(buf: Buffer, start: number): number {
  let sum = CHAIN_STRUCT;
  forEachLayer(buf, start, (o) => {
    sum += LINK_STRUCT + buf.readUInt32LE(o + 32);
  });
  return sum;
}

function forEachLayer(buf: Buffer, start: number, fn: (offset: number) => void): void {
  const n = buf.readUInt32LE(start + 12);
  let o = start + BLOOM_HDR;
  for (let i = 0; i < n; i++) {
    fn(o);
    o += LAYER_HDR + buf.readUInt32LE(o + 32);
  }
}

function lastLayerOffset(buf: Buffer, start: number): number {
  const n = buf.readUInt32LE(start + 12);
  let o = start + BLOOM_HDR;
  for (let i = 1; i < n; i++) o += LAYER_HDR + buf.readUInt32LE(o + 32);
  return o;
}

// --- hashing and bit tests ---------------------------------------------------------------

/** The item's two 64-bit hashes: [aLo, aHi, bLo, bHi]. */
const hash = new Uint32Array(4);

/** Hashes an item once; the next check/add calls use it. */
export function hashItem(item: Uint8Array): void {
  murmurHash64A(item, 0, item.length, 0xc6a4a793, 0x5bd1e995);
  hash[0] = murmurOut[0]!;
  hash[1] = murmurOut[1]!;
  murmurHash64A(item, 0, item.length, hash[1]!, hash[0]!);
  hash[2] = murmurOut[0]!;
  hash[3] = murmurOut[1]!;
}

/** (hi * 2^32 + lo) mod m, exact for m below 2^37. */
function mod64(hi: number, lo: number, m: number): number {
  let r = hi % m;
  r = (r * 65536 + (lo >>> 16)) % m;
  return (r * 65536 + (lo & 0xffff)) % m;
}

/**
 * Tests (set = false) or sets (set = true) the hashed item's k bits in the layer at
 * offset o. Test returns 1 when every bit is set; set returns 1 when any bit was clear.
 */
function layerBits(buf: Buffer, o: number, set: boolean): number {
  const bytes = buf.readUInt32LE(o + 32);
  const k = buf.readUInt32LE(o + 36);
  const bits = bytes * 8;
  const base = o + LAYER_HDR;
  let lo = hash[0]!;
  let hi = hash[1]!;
  const bLo = hash[2]!;
  const bHi = hash[3]!;
  let foundUnset = 0;
  for (let i = 0; i < k; i++) {
    const x = mod64(hi, lo, bits);
    const at = base + Math.floor(x / 8);
    const mask = 1 << (x % 8);
    const c = buf[at]!;
    if ((c & mask) === 0) {
      if (!set) return 0;
      buf[at] = c | mask;
      foundUnset = 1;
    }
    const sum = lo + bLo;
    lo = sum >>> 0;
    hi = (hi + bHi + (sum > 0xffffffff ? 1 : 0)) >>> 0;
  }
  return set ? foundUnset : 1;
}

/** True when the hashed item may be in the filter (checked newest layer first, as RedisBloom). */
export function filterHas(buf: Buffer, start: number): boolean {
  const n = buf.readUInt32LE(start + 12);
  const offsets = LAYER_OFFSETS.length >= n ? LAYER_OFFSETS : (LAYER_OFFSETS = new Array<number>(n * 2));
  let o = start + BLOOM_HDR;
  for (let i = 0; i < n; i++) {
    offsets[i] = o;
    o += LAYER_HDR + buf.readUInt32LE(o + 32);
  }
  for (let i = n - 1; i >= 0; i--) if (layerBits(buf, offsets[i]!, false)) return true;
  return false;
}
let LAYER_OFFSETS: number[] = new Array<number>(64);

/** True when the newest layer holds its capacity. */
export function lastLayerFull(buf: Buffer, start: number): boolean {
  const last = lastLayerOffset(buf, start);
  return buf.readDoubleLE(last + 24) >= buf.readDoubleLE(last);
}

/** Adds the hashed item to the newest layer (the caller checked filterHas and room); 1 when it set a bit. */
export function filterAddLast(buf: Buffer, start: number): number {
  const last = lastLayerOffset(buf, start);
  if (!layerBits(buf, last, true)) return 0;
  buf.writeDoubleLE(buf.readDoubleLE(last + 24) + 1, last + 24);
  buf.writeDoubleLE(buf.readDoubleLE(start + 16) + 1, start + 16);
  return 1;
}
