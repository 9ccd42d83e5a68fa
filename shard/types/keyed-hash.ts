/**
 * The hash of fields and members in the large forms of hashes, sets and sorted sets,
 * under a per-worker random key. Keyed HalfSipHash (SipHash on 32-bit words, as
 * Linux's hsiphash) rather than a seeded Murmur: Murmur has collisions
 * that hold for every seed, which would let a client fill one probe run with
 * crafted fields (Redis uses SipHash for the same reason).
 */
const K0 = (Math.random() * 0x100000000) | 0;
const K1 = (Math.random() * 0x100000000) | 0;

/** 31-bit HalfSipHash-1-3 of b[start, end) under (K0, K1). */
export function hashBytes(b: Uint8Array, start: number, end: number): number {
  let v0 = K0;
  let v1 = K1;
  let v2 = 0x6c796765 ^ K0;
  let v3 = 0x74656462 ^ K1;
  let i = start;
  let m: number;
  for (;;) {
    if (i + 4 <= end) {
      m = b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
      i += 4;
    } else {
      // Last word: the remaining bytes and the length in the top byte.
      m = (end - start) << 24;
      const rest = end - i;
      if (rest > 2) m |= b[i + 2]! << 16;
      if (rest > 1) m |= b[i + 1]! << 8;
      if (rest > 0) m |= b[i]!;
      i = end + 1;
    }
    v3 ^= m;
    v0 = (v0 + v1) | 0; v1 = (v1 << 5) | (v1 >>> 27); v1 ^= v0; v0 = (v0 << 16) | (v0 >>> 16);
    v2 = (v2 + v3) | 0; v3 = (v3 << 8) | (v3 >>> 24); v3 ^= v2;
    v0 = (v0 + v3) | 0; v3 = (v3 << 7) | (v3 >>> 25); v3 ^= v0;
    v2 = (v2 + v1) | 0; v1 = (v1 << 13) | (v1 >>> 19); v1 ^= v2; v2 = (v2 << 16) | (v2 >>> 16);
    v0 ^= m;
    if (i > end) break;
  }
  v2 ^= 0xff;
  for (let r = 0; r < 3; r++) {
    v0 = (v0 + v1) | 0; v1 = (v1 << 5) | (v1 >>> 27); v1 ^= v0; v0 = (v0 << 16) | (v0 >>> 16);
    v2 = (v2 + v3) | 0; v3 = (v3 << 8) | (v3 >>> 24); v3 ^= v2;
    v0 = (v0 + v3) | 0; v3 = (v3 << 7) | (v3 >>> 25); v3 ^= v0;
    v2 = (v2 + v1) | 0; v1 = (v1 << 13) | (v1 >>> 19); v1 ^= v2; v2 = (v2 << 16) | (v2 >>> 16);
  }
  return (v1 ^ v3) & 0x7fffffff;
}

/** hashBytes() of the bytes of latin1 string s, read from the string itself. */
export function hashChars(s: string): number {
  const end = s.length;
  let v0 = K0;
  let v1 = K1;
  let v2 = 0x6c796765 ^ K0;
  let v3 = 0x74656462 ^ K1;
  let i = 0;
  let m: number;
  for (;;) {
    if (i + 4 <= end) {
      m = s.charCodeAt(i) | (s.charCodeAt(i + 1) << 8) | (s.charCodeAt(i + 2) << 16) | (s.charCodeAt(i + 3) << 24);
      i += 4;
    } else {
      m = end << 24;
      const rest = end - i;
      if (rest > 2) m |= s.charCodeAt(i + 2) << 16;
      if (rest > 1) m |= s.charCodeAt(i + 1) << 8;
      if (rest > 0) m |= s.charCodeAt(i);
      i = end + 1;
    }
    v3 ^= m;
    v0 = (v0 + v1) | 0; v1 = (v1 << 5) | (v1 >>> 27); v1 ^= v0; v0 = (v0 << 16) | (v0 >>> 16);
    v2 = (v2 + v3) | 0; v3 = (v3 << 8) | (v3 >>> 24); v3 ^= v2;
    v0 = (v0 + v3) | 0; v3 = (v3 << 7) | (v3 >>> 25); v3 ^= v0;
    v2 = (v2 + v1) | 0; v1 = (v1 << 13) | (v1 >>> 19); v1 ^= v2; v2 = (v2 << 16) | (v2 >>> 16);
    v0 ^= m;
    if (i > end) break;
  }
  v2 ^= 0xff;
  for (let r = 0; r < 3; r++) {
    v0 = (v0 + v1) | 0; v1 = (v1 << 5) | (v1 >>> 27); v1 ^= v0; v0 = (v0 << 16) | (v0 >>> 16);
    v2 = (v2 + v3) | 0; v3 = (v3 << 8) | (v3 >>> 24); v3 ^= v2;
    v0 = (v0 + v3) | 0; v3 = (v3 << 7) | (v3 >>> 25); v3 ^= v0;
    v2 = (v2 + v1) | 0; v1 = (v1 << 13) | (v1 >>> 19); v1 ^= v2; v2 = (v2 << 16) | (v2 >>> 16);
  }
  return (v1 ^ v3) & 0x7fffffff;
}
