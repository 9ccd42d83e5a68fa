/**
 * Number parsing and formatting as Redis does it (string2ll, string2ld, ld2string),
 * so replies and errors match byte for byte. Parsers work on bytes to avoid
 * building strings on the hot path.
 */

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

/**
 * Parses a signed 64-bit decimal integer with Redis's strict rules: optional '-',
 * digits, no '+', no spaces, no leading zeros (except "0"). Returns a number when it
 * is a safe integer, a bigint when it is beyond 2^53 but within int64, or null.
 */
export function parseInt64(b: Uint8Array): number | bigint | null {
  const len = b.length;
  if (len === 0 || len > 20) return null;
  let i = 0;
  let neg = false;
  if (b[0] === 45) {
    neg = true;
    i = 1;
    if (len === 1) return null;
  }
  if (b[i] === 48 && len > i + 1) return null; // leading zero
  if (len - i <= 15) {
    let n = 0;
    for (; i < len; i++) {
      const d = b[i]! - 48;
      if (d < 0 || d > 9) return null;
      n = n * 10 + d;
    }
    if (neg && n === 0) return null; // "-0" is rejected by string2ll
    return neg ? -n : n;
  }
  for (let j = i; j < len; j++) {
    const d = b[j]! - 48;
    if (d < 0 || d > 9) return null;
  }
  let big = BigInt(Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1'));
  if (big > INT64_MAX || big < INT64_MIN) return null;
  if (big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(big);
  return big;
}

/** parseInt64 narrowed to a safe JS integer (larger magnitudes → null). */
export function parseSafeInt(b: Uint8Array): number | null {
  const v = parseInt64(b);
  return typeof v === 'number' ? v : null;
}

/**
 * Parses a float as Redis's string2ld: no surrounding spaces, accepts exponents and
 * inf/infinity (any case, with sign), rejects NaN and empty input.
 */
export function parseFloat64(b: Uint8Array): number | null {
  const len = b.length;
  if (len === 0 || len > 5000) return null;
  const first = b[0]!;
  const last = b[len - 1]!;
  if (first === 32 || first === 9 || last === 32 || last === 9 || first === 10 || last === 10) return null;
  const s = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
  const lower = s.toLowerCase();
  const sign = lower[0] === '-' ? -1 : 1;
  const body = lower[0] === '-' || lower[0] === '+' ? lower.slice(1) : lower;
  if (body === 'inf' || body === 'infinity') return sign * Infinity;
  if (!/^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(body)) return null;
  const v = Number(s);
  return Number.isNaN(v) ? null : v;
}

