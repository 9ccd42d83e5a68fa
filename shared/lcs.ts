/**
 * Longest common subsequence of two byte strings (the LCS command), as a pure
 * function so a worker (both keys local) and the proxy (keys on two workers) share
 * it. Dynamic programming over a (|a|+1) x (|b|+1) table, as Redis does.
 */
import type { ReplyWriter } from './resp/reply-writer.js';

export interface LcsMatch {
  a: [number, number];
  b: [number, number];
  len: number;
}

export interface LcsOptions {
  len: boolean;
  idx: boolean;
  minMatchLen: number;
  withMatchLen: boolean;
}

/** Largest DP table we accept (cells); beyond it the command fails instead of exhausting memory. */
export const LCS_MAX_CELLS = 256 * 1024 * 1024;

export function lcs(a: Uint8Array, b: Uint8Array, minMatchLen: number): { text: Buffer; matches: LcsMatch[] } | null {
  const alen = a.length;
  const blen = b.length;
  if ((alen + 1) * (blen + 1) > LCS_MAX_CELLS) return null;
  const w = blen + 1;
  const dp = new Uint32Array((alen + 1) * w);
  for (let i = 1; i <= alen; i++) {
    for (let j = 1; j <= blen; j++) {
      dp[i * w + j] = a[i - 1] === b[j - 1] ? dp[(i - 1) * w + j - 1]! + 1 : Math.max(dp[(i - 1) * w + j]!, dp[i * w + j - 1]!);
    }
  }
  let idx = dp[alen * w + blen]!;
  const text = Buffer.allocUnsafe(idx);
  const matches: LcsMatch[] = [];
  let i = alen;
  let j = blen;
  let aStart = alen; // alen = "no range open"
  let aEnd = 0;
  let bStart = 0;
  let bEnd = 0;
  while (i > 0 && j > 0) {
    let emit = false;
    if (a[i - 1] === b[j - 1]) {
      text[idx - 1] = a[i - 1]!;
      if (aStart === alen) {
        aStart = aEnd = i - 1;
        bStart = bEnd = j - 1;
      } else if (aStart === i && bStart === j) {
        aStart--;
        bStart--;
      } else {
        emit = true;
      }
      if (aStart === 0 || bStart === 0) emit = true;
      idx--;
      i--;
      j--;
    } else {
      if (dp[(i - 1) * w + j]! > dp[i * w + j - 1]!) i--;
      else j--;
      if (aStart !== alen) emit = true;
    }
    if (emit) {
      const len = aEnd - aStart + 1;
      if (minMatchLen === 0 || len >= minMatchLen) matches.push({ a: [aStart, aEnd], b: [bStart, bEnd], len });
      aStart = alen;
    }
  }
  return { text, matches };
}

/** Writes the LCS reply for the given options. */
export function writeLcsReply(out: ReplyWriter, a: Uint8Array, b: Uint8Array, opts: LcsOptions): void {
  const r = lcs(a, b, opts.minMatchLen);
  if (r === null) return out.error('ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len');
  if (opts.idx) {
    out.mapHeader(2);
    out.bulk('matches');
    out.arrayHeader(r.matches.length);
    for (const m of r.matches) {
      out.arrayHeader(opts.withMatchLen ? 3 : 2);
      out.arrayHeader(2); out.integer(m.a[0]); out.integer(m.a[1]);
      out.arrayHeader(2); out.integer(m.b[0]); out.integer(m.b[1]);
      if (opts.withMatchLen) out.integer(m.len);
    }
    out.bulk('len');
    out.integer(r.text.length);
  } else if (opts.len) {
    out.integer(r.text.length);
  } else {
    out.bulk(r.text);
  }
}

/** Parses LCS options from argv[3...]; returns an error text or the options. */
export function parseLcsOptions(argv: readonly Buffer[]): LcsOptions | string {
  const opts: LcsOptions = { len: false, idx: false, minMatchLen: 0, withMatchLen: false };
  for (let j = 3; j < argv.length; j++) {
    const opt = argv[j]!.toString('latin1').toLowerCase();
    if (opt === 'idx') opts.idx = true;
    else if (opt === 'len') opts.len = true;
    else if (opt === 'withmatchlen') opts.withMatchLen = true;
    else if (opt === 'minmatchlen' && j + 1 < argv.length) {
      const v = Number(argv[++j]!.toString('latin1'));
      if (!/^-?\d+$/.test(argv[j]!.toString('latin1')) || !Number.isSafeInteger(v)) return 'ERR value is not an integer or out of range';
      opts.minMatchLen = v < 0 ? 0 : v;
    } else return 'ERR syntax error';
  }
  if (opts.len && opts.idx) return 'ERR If you want both the length and indexes, please just use IDX.';
  return opts;
}
