/**
 * INCRBYFLOAT and HINCRBYFLOAT arithmetic as Redis does it on x86-64: both operands
 * parsed to 80-bit long doubles (64-bit mantissa, strtold's correct rounding), added
 * with one rounding to 64 bits, printed with "%.17Lf" and trailing zeros trimmed
 * (ld2string's human mode). Plain doubles differ in the last digits (0.1 + 0.2 gives
 * 0.30000000000000004 in a double, "0.3" from Redis; 314000 + 0.1 gives Redis's
 * "314000.09999999999999432"), so the exact values are computed with BigInt:
 * a finite long double is sign * m * 2^e with m < 2^64.
 */

interface LongDouble {
  /** Signed mantissa, |m| < 2^64. */
  m: bigint;
  e: number;
}

const MANTISSA_BITS = 64;

function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

/** n / 2^shift rounded half to even (n >= 0, shift >= 0). */
function shiftRound(n: bigint, shift: number): bigint {
  if (shift <= 0) return n << BigInt(-shift);
  const s = BigInt(shift);
  const q = n >> s;
  const rem = n - (q << s);
  const half = 1n << (s - 1n);
  return rem > half || (rem === half && (q & 1n) === 1n) ? q + 1n : q;
}

/** num / den rounded half to even (num, den > 0). */
function divRound(num: bigint, den: bigint): bigint {
  const q = num / den;
  const twice = (num - q * den) * 2n;
  return twice > den || (twice === den && (q & 1n) === 1n) ? q + 1n : q;
}

/** Rounds the exact value |n| * 2^e (n >= 0) to a 64-bit mantissa. */
function normalize(neg: boolean, n: bigint, e: number): LongDouble {
  const extra = bitLength(n) - MANTISSA_BITS;
  if (extra > 0) {
    n = shiftRound(n, extra);
    e += extra;
    if (bitLength(n) > MANTISSA_BITS) {
      n >>= 1n;
      e += 1;
    }
  }
  return { m: neg ? -n : n, e };
}

/** strtold of a decimal text already validated by parseFloat64 (finite; no inf). */
function parse(text: string): LongDouble {
  const t = text.toLowerCase();
  const neg = t.startsWith('-');
  const body = t.replace(/^[+-]/, '');
  const [mantissa, expPart] = body.split('e') as [string, string | undefined];
  const [ip, fp = ''] = mantissa.split('.') as [string, string | undefined];
  const digits = BigInt((ip + fp).replace(/^0+(?=\d)/, '') || '0');
  const p = Number(expPart ?? 0) - fp.length;
  if (digits === 0n) return { m: 0n, e: 0 };
  if (p >= 0) return normalize(neg, digits * 10n ** BigInt(p), 0);
  // digits / 10^q: scale by 2^k so the quotient has 64 bits plus a guard, then round once.
  const den = 10n ** BigInt(-p);
  const k = MANTISSA_BITS + 1 - (bitLength(digits) - bitLength(den));
  const num = k >= 0 ? digits << BigInt(k) : digits;
  const d = k >= 0 ? den : den << BigInt(-k);
  let q = divRound(num, d);
  let e = -k;
  // The quotient may have 65 or 66 bits; round it (once more, from the exact value) to 64.
  const extra = bitLength(q) - MANTISSA_BITS;
  if (extra > 0) {
    q = divRound(num, d << BigInt(extra));
    e += extra;
    if (bitLength(q) > MANTISSA_BITS) {
      q >>= 1n;
      e += 1;
    }
  }
  return { m: neg ? -q : q, e };
}

function add(a: LongDouble, b: LongDouble): LongDouble {
  const e = Math.min(a.e, b.e);
  const sum = (a.m << BigInt(a.e - e)) + (b.m << BigInt(b.e - e));
  return normalize(sum < 0n, sum < 0n ? -sum : sum, e);
}

/** "%.17Lf" then ld2string's human trimming (no trailing zeros, no "-0"). */
function format(x: LongDouble): string {
  const neg = x.m < 0n;
  const mag = neg ? -x.m : x.m;
  const scale = 10n ** 17n;
  const r = x.e >= 0 ? (mag << BigInt(x.e)) * scale : shiftRound(mag * scale, -x.e);
  const s = r.toString().padStart(18, '0');
  let out = `${s.slice(0, -17)}.${s.slice(-17)}`.replace(/0+$/, '').replace(/\.$/, '');
  if (neg && out !== '0') out = '-' + out;
  return out;
}

/** Largest finite 80-bit long double is about 1.19e4932: beyond it the sum is inf. */
const MAX_EXPONENT = 16384;

/**
 * current + increment as Redis's INCRBYFLOAT replies it, or null when the result
 * would be infinite (Redis: "increment would produce NaN or Infinity"). Both texts
 * must already have passed parseFloat64; an infinite operand gives null.
 */
export function addLongDoubles(current: string, increment: string): string | null {
  if (/inf/i.test(current) || /inf/i.test(increment)) return null;
  const sum = add(parse(current), parse(increment));
  if (sum.m !== 0n && sum.e + bitLength(sum.m < 0n ? -sum.m : sum.m) > MAX_EXPONENT) return null;
  return format(sum);
}
