/**
 * Sorted-set scores as text, the way Redis 7.0 reads and writes them.
 *
 * Reading: Redis hands score arguments to libc strtod. ZADD/ZINCRBY/WEIGHTS go
 * through getDoubleFromObject (no leading space, the whole argument consumed, no
 * overflow to ±inf or underflow to 0, no NaN); range bounds go through
 * zslParseRange, which is laxer (leading spaces, "" = 0, overflow = ±inf, and the
 * text ends at a NUL byte as C strings do). `strtod` below reproduces glibc's
 * grammar: spaces, sign, inf/infinity/nan[(...)], hex floats (0x1.8p3), decimals.
 *
 * Writing: replies use "%.17g" (addReplyDouble), so 0.1 is "0.10000000000000001";
 * inf is "inf". ZSCAN of a listpack shows the listpack's own text instead: a score
 * that is an integer within ±2^62 is stored (and shown) as that integer.
 */

/** Set by strtod: index just past the parsed number (the start when nothing parsed). */
export let strtodEnd = 0;
/** Set by strtod: the value overflowed or underflowed (errno = ERANGE). */
export let strtodRange = false;

/** MAX_LONG_DOUBLE_CHARS: longer arguments are not numbers to Redis. */
const MAX_CHARS = 5 * 1024;

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

function matchWord(s: string, i: number, word: string): boolean {
  if (i + word.length > s.length) return false;
  for (let k = 0; k < word.length; k++) if ((s.charCodeAt(i + k) | 0x20) !== word.charCodeAt(k)) return false;
  return true;
}

/** glibc strtod(s + start): the value; strtodEnd/strtodRange as side results. */
export function strtod(s: string, start: number): number {
  const n = s.length;
  let i = start;
  strtodRange = false;
  while (i < n && isSpace(s.charCodeAt(i))) i++;
  let neg = false;
  const c0 = s.charCodeAt(i);
  if (c0 === 43 || c0 === 45) {
    neg = c0 === 45;
    i++;
  }
  if (matchWord(s, i, 'inf')) {
    strtodEnd = i + (matchWord(s, i, 'infinity') ? 8 : 3);
    return neg ? -Infinity : Infinity;
  }
  if (matchWord(s, i, 'nan')) {
    let j = i + 3;
    if (s.charCodeAt(j) === 40) {
      let k = j + 1;
      while (k < n && /[0-9A-Za-z_]/.test(s[k]!)) k++;
      if (s.charCodeAt(k) === 41) j = k + 1;
    }
    strtodEnd = j;
    return NaN;
  }
  if (s.charCodeAt(i) === 48 && (s.charCodeAt(i + 1) | 0x20) === 120) {
    const v = hexFloat(s, i + 2, neg);
    if (strtodEnd !== -1) return v;
    // "0x" without hex digits: just the "0"
    strtodEnd = i + 1;
    return neg ? -0 : 0;
  }
  let j = i;
  let digits = 0;
  let nonzero = false;
  while (j < n && isDigit(s.charCodeAt(j))) {
    if (s.charCodeAt(j) !== 48) nonzero = true;
    j++;
    digits++;
  }
  if (s.charCodeAt(j) === 46) {
    j++;
    while (j < n && isDigit(s.charCodeAt(j))) {
      if (s.charCodeAt(j) !== 48) nonzero = true;
      j++;
      digits++;
    }
  }
  if (digits === 0) {
    strtodEnd = start;
    return 0;
  }
  const e = s.charCodeAt(j) | 0x20;
  if (e === 101) {
    let k = j + 1;
    const sg = s.charCodeAt(k);
    if (sg === 43 || sg === 45) k++;
    if (isDigit(s.charCodeAt(k))) {
      while (k < n && isDigit(s.charCodeAt(k))) k++;
      j = k;
    }
  }
  strtodEnd = j;
  const v = Number(s.slice(i, j));
  if (v === Infinity || (v === 0 && nonzero) || (v !== 0 && v < 2.2250738585072014e-308)) strtodRange = true;
  return neg ? -v : v;
}

/** Hex mantissa [. hex] [p exp] after "0x"; strtodEnd = -1 when there is no hex digit. */
function hexFloat(s: string, i: number, neg: boolean): number {
  const n = s.length;
  let mant = 0n;
  let digits = 0;
  let frac = 0;
  let j = i;
  while (j < n && hexValue(s.charCodeAt(j)) >= 0) {
    mant = mant * 16n + BigInt(hexValue(s.charCodeAt(j)));
    j++;
    digits++;
  }
  if (s.charCodeAt(j) === 46) {
    j++;
    while (j < n && hexValue(s.charCodeAt(j)) >= 0) {
      mant = mant * 16n + BigInt(hexValue(s.charCodeAt(j)));
      j++;
      digits++;
      frac++;
    }
  }
  if (digits === 0) {
    strtodEnd = -1;
    return 0;
  }
  let exp = 0;
  if ((s.charCodeAt(j) | 0x20) === 112) {
    let k = j + 1;
    let eneg = false;
    const sg = s.charCodeAt(k);
    if (sg === 43 || sg === 45) {
      eneg = sg === 45;
      k++;
    }
    if (isDigit(s.charCodeAt(k))) {
      let ev = 0;
      while (k < n && isDigit(s.charCodeAt(k))) {
        ev = Math.min(ev * 10 + s.charCodeAt(k) - 48, 100000);
        k++;
      }
      exp = eneg ? -ev : ev;
      j = k;
    }
  }
  strtodEnd = j;
  exp -= 4 * frac;
  // Scale in steps so neither factor overflows on its own.
  let v = Number(mant);
  while (exp > 0 && v !== Infinity) {
    const step = Math.min(exp, 1000);
    v *= 2 ** step;
    exp -= step;
  }
  while (exp < 0 && v !== 0) {
    const step = Math.max(exp, -1000);
    v *= 2 ** step;
    exp -= step;
  }
  if (v === Infinity || (v === 0 && mant !== 0n)) strtodRange = true;
  return neg ? -v : v;
}

/**
 * A score argument as getDoubleFromObject reads it (ZADD, ZINCRBY, WEIGHTS), or null
 * when Redis answers "value is not a valid float".
 */
export function parseScore(b: Buffer): number | null {
  const len = b.length;
  if (len === 0 || len > MAX_CHARS) return null;
  // Fast path: plain integers and decimals.
  if (len <= 15) {
    let i = b[0] === 45 ? 1 : 0;
    let dot = false;
    let ok = i < len;
    let digitsSeen = false;
    for (; i < len; i++) {
      const c = b[i]!;
      if (c >= 48 && c <= 57) digitsSeen = true;
      else if (c === 46 && !dot) dot = true;
      else {
        ok = false;
        break;
      }
    }
    if (ok && digitsSeen) {
      if (dot) return Number(b.toString('latin1'));
      // At most 15 digits: exact in a double, no string needed ("-0" gives -0).
      let v = 0;
      for (let k = b[0] === 45 ? 1 : 0; k < len; k++) v = v * 10 + (b[k]! - 48);
      return b[0] === 45 ? -v : v;
    }
  }
  if (isSpace(b[0]!)) return null;
  const s = b.toString('latin1');
  const v = strtod(s, 0);
  if (strtodEnd !== len || Number.isNaN(v)) return null;
  if (strtodRange && (v === 0 || !Number.isFinite(v))) return null;
  return v;
}

/** One bound of a score range as zslParseRange reads it: value and exclusivity, or null. */
export function parseScoreBound(b: Buffer): { v: number; ex: boolean } | null {
  const s = b.toString('latin1');
  const ex = s.charCodeAt(0) === 40;
  const v = strtod(s, ex ? 1 : 0);
  if ((strtodEnd < s.length && s.charCodeAt(strtodEnd) !== 0) || Number.isNaN(v)) return null;
  return { v, ex };
}

/** A score as Redis 7.0 replies it: printf("%.17g"), inf/-inf spelled out. */
export function formatScore(d: number): string {
  if (Number.isSafeInteger(d)) return d === 0 && Object.is(d, -0) ? '-0' : String(d);
  if (d === Infinity) return 'inf';
  if (d === -Infinity) return '-inf';
  if (Number.isNaN(d)) return 'nan';
  const t = d.toExponential(16);
  const ePos = t.indexOf('e');
  const neg = t.charCodeAt(0) === 45;
  const digits = t.slice(neg ? 1 : 0, ePos).replace('.', '');
  const x = Number(t.slice(ePos + 1));
  let out: string;
  if (x < -4 || x >= 17) {
    let mant = digits[0]! + '.' + digits.slice(1);
    mant = stripZeros(mant);
    const ax = Math.abs(x);
    out = `${mant}e${x < 0 ? '-' : '+'}${ax < 10 ? '0' : ''}${ax}`;
  } else if (x >= 0) {
    out = stripZeros(digits.slice(0, x + 1) + '.' + digits.slice(x + 1));
  } else {
    out = stripZeros('0.' + '0'.repeat(-x - 1) + digits);
  }
  return neg ? '-' + out : out;
}

function stripZeros(s: string): string {
  if (s.indexOf('.') < 0) return s;
  let end = s.length;
  while (s.charCodeAt(end - 1) === 48) end--;
  if (s.charCodeAt(end - 1) === 46) end--;
  return s.slice(0, end);
}

/** A score as a listpack holds it as text (ZSCAN of a small sorted set). */
export function formatListpackScore(d: number): string {
  if (Number.isInteger(d) && d >= -4611686018427387904 && d <= 4611686018427387904) {
    return Number.isSafeInteger(d) ? String(d === 0 ? 0 : d) : BigInt(d).toString();
  }
  return formatScore(d);
}
