/**
 * What the sorted-set command files (zsets.ts, zsets-pop.ts, zsets-ops.ts) share:
 * opening a sorted set for a write, Redis's long and range arguments, and the
 * member/score reply shapes (RESP2 flat, RESP3 [member, score] pairs).
 */
import type { CommandContext } from './context.js';
import type { ReplyWriter } from '../../shared/resp/reply-writer.js';
import { WireErrors } from '../../shared/resp/wire-errors.js';
import { parseInt64 } from '../../shared/resp/numbers.js';
import { openForWrite, type OpenCollection } from '../types/collection.js';
import { zsetType, type ZsetValue, type PackedZsetView } from '../types/zset.js';
import type { ScoreTree, Leaf } from '../types/zset-tree.js';
import { formatScore, parseScoreBound } from '../types/zset-score.js';

/**
 * openForWrite for sorted sets, marking an object that comes from a listpack so
 * commit keeps it there unless an insert outgrows it (Redis's zsetAdd rule).
 */
export function openZsetWrite(ctx: CommandContext, key: Buffer, create: boolean): OpenCollection<ZsetValue> | null | undefined {
  const c = openForWrite(ctx, key, zsetType, create);
  if (c && c.handle === 0) c.obj.openedPacked();
  return c;
}

/**
 * A C long as getLongFromObjectOrReply reads it (int64; a bigint beyond 2^53 is
 * rounded, which only matters for clamping), or undefined after the error.
 */
export function longOrReply(out: ReplyWriter, arg: Buffer, msg: string = WireErrors.notInteger): number | undefined {
  const v = parseInt64(arg);
  if (v === null) {
    out.error(msg);
    return undefined;
  }
  return Number(v);
}

export interface ScoreRange {
  min: number;
  minex: boolean;
  max: number;
  maxex: boolean;
}

/** zslParseRange; undefined after "min or max is not a float". */
export function scoreRangeOrReply(out: ReplyWriter, minArg: Buffer, maxArg: Buffer): ScoreRange | undefined {
  const min = parseScoreBound(minArg);
  const max = min && parseScoreBound(maxArg);
  if (!min || !max) {
    out.error('ERR min or max is not a float');
    return undefined;
  }
  return { min: min.v, minex: min.ex, max: max.v, maxex: max.ex };
}

/** One end of a lex range: '-' (kind -1), '+' (kind 1) or a string (kind 0), exclusive or not. */
export interface LexBound {
  kind: number;
  s: string;
  /** The same bytes as `s`, for comparing with a listpack in place. */
  b: Buffer;
  ex: boolean;
}

export interface LexRange {
  min: LexBound;
  max: LexBound;
}

const EMPTY = Buffer.alloc(0);

function lexBound(arg: Buffer): LexBound | null {
  const c = arg[0];
  // As zslParseLexRangeItem: the C string ends at a NUL byte.
  if (c === 43 || c === 45) return arg.length === 1 || arg[1] === 0 ? { kind: c === 43 ? 1 : -1, s: '', b: EMPTY, ex: true } : null;
  if (c === 40 || c === 91) return { kind: 0, s: arg.toString('latin1', 1), b: arg.subarray(1), ex: c === 40 };
  return null;
}

/** zslParseLexRange; undefined after "min or max not valid string range item". */
export function lexRangeOrReply(out: ReplyWriter, minArg: Buffer, maxArg: Buffer): LexRange | undefined {
  const min = lexBound(minArg);
  const max = min && lexBound(maxArg);
  if (!min || !max) {
    out.error('ERR min or max not valid string range item');
    return undefined;
  }
  return { min, max };
}

/** Ranks [start, end) of the pairs whose score is in range (end < start: none). */
export function scoreSpan(t: ScoreTree, r: ScoreRange): [number, number] {
  return [t.seekScore(r.min, r.minex), t.seekScore(r.max, !r.maxex)];
}

function gteMin(m: string, b: LexBound): boolean {
  return b.kind === 0 ? (b.ex ? m > b.s : m >= b.s) : b.kind < 0;
}

function lteMax(m: string, b: LexBound): boolean {
  return b.kind === 0 ? (b.ex ? m < b.s : m <= b.s) : b.kind > 0;
}

/** sdscmplex of a range's ends ('-' below everything, '+' above). */
function lexCmp(a: LexBound, b: LexBound): number {
  if (a.kind !== 0 || b.kind !== 0) return a.kind === b.kind ? 0 : a.kind < b.kind ? -1 : 1;
  return a.s < b.s ? -1 : a.s > b.s ? 1 : 0;
}

/** A range no member can be in ('+' to '-', [b to [a, (a to [a ...). */
function emptyLexRange(r: LexRange): boolean {
  const c = lexCmp(r.min, r.max);
  return c > 0 || (c === 0 && (r.min.ex || r.max.ex));
}

/**
 * A listpack's answer over n members tested by index: zzlIsInLexRange (the last
 * member >= min, the first <= max), then a scan from the head for the first member
 * >= min and on while <= max; or, `reverse`, from the tail for the last member
 * <= max and back while >= min.
 */
function linearLexSpan(n: number, gte: (i: number) => boolean, lte: (i: number) => boolean, reverse: boolean): [number, number] {
  if (!gte(n - 1) || !lte(0)) return [0, 0];
  if (!reverse) {
    let a = 0;
    while (a < n && !gte(a)) a++;
    if (a === n || !lte(a)) return [0, 0];
    let b = a + 1;
    while (b < n && lte(b)) b++;
    return [a, b];
  }
  let last = n - 1;
  while (last >= 0 && !lte(last)) last--;
  if (last < 0 || !gte(last)) return [0, 0];
  let a = last - 1;
  while (a >= 0 && gte(a)) a--;
  return [a + 1, last + 1];
}

/**
 * Ranks [start, end) of the pairs whose member is in range (end <= start: none).
 * With equal scores, as Redis requires, that is a binary search. Otherwise Redis's
 * answer depends on the encoding; a listpack's is deterministic and reproduced when
 * `linear` (see linearLexSpan).
 */
export function lexSpan(t: ScoreTree, r: LexRange, linear: boolean, reverse = false): [number, number] {
  const n = t.size;
  if (n === 0 || emptyLexRange(r)) return [0, 0];
  if (!linear) {
    if (!gteMin(t.last.m[t.last.m.length - 1]!, r.min) || !lteMax(t.first.m[0]!, r.max)) return [0, 0];
    const a = r.min.kind === -1 ? 0 : r.min.kind === 1 ? n : t.seekLex(r.min.s, r.min.ex);
    const b = r.max.kind === 1 ? n : r.max.kind === -1 ? 0 : t.seekLex(r.max.s, !r.max.ex);
    return [a, b];
  }
  const all: string[] = [];
  for (let leaf: Leaf | null = t.first; leaf !== null; leaf = leaf.next) for (const m of leaf.m) all.push(m);
  return linearLexSpan(n, (i) => gteMin(all[i]!, r.min), (i) => lteMax(all[i]!, r.max), reverse);
}

/** lexSpan of a listpack read in place, comparing member bytes in the page. */
export function lexSpanPacked(v: PackedZsetView, r: LexRange, reverse = false): [number, number] {
  const n = v.size;
  if (n === 0 || emptyLexRange(r)) return [0, 0];
  const cmp = (i: number, b: LexBound): number => v.page.compare(b.b, 0, b.b.length, v.memberStart(i), v.memberEnd(i));
  const min = r.min;
  const max = r.max;
  const gte = (i: number): boolean => (min.kind === 0 ? (min.ex ? cmp(i, min) > 0 : cmp(i, min) >= 0) : min.kind < 0);
  const lte = (i: number): boolean => (max.kind === 0 ? (max.ex ? cmp(i, max) < 0 : cmp(i, max) <= 0) : max.kind > 0);
  return linearLexSpan(n, gte, lte, reverse);
}

/** A score reply: RESP3 double, RESP2 bulk string, "%.17g". */
export function replyScore(out: ReplyWriter, score: number): void {
  out.double(formatScore(score));
}

/** Header of n members, with scores as RESP2 flat pairs or RESP3 [member, score] arrays. */
export function beginPairs(out: ReplyWriter, n: number, withScores: boolean): void {
  out.arrayHeader(withScores && out.proto === 2 ? n * 2 : n);
}

export function emitPair(out: ReplyWriter, member: string, score: number, withScores: boolean): void {
  if (withScores && out.proto === 3) out.arrayHeader(2);
  out.bulkLatin1(member);
  if (withScores) out.double(formatScore(score));
}
