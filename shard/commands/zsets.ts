/**
 * Sorted-set commands (Redis 7.0 t_zset.c): adds and removals, scores and ranks,
 * the ZRANGE family, ZREMRANGEBY*, ZRANDMEMBER and ZSCAN. Pops (ZPOP*, ZMPOP and the
 * blocking BZ*) are in zsets-pop.ts, the set algebra (ZUNION, ZINTER, ZDIFF ...) in
 * zsets-ops.ts, in-place listpack edits in zsets-packed.ts. The value type is
 * shard/types/zset.ts; members are latin1 strings.
 *
 * A listpack is read where it lies (PackedZsetView) by the hot reads (ZSCORE,
 * ZMSCORE, ZCARD, ZRANK, ZCOUNT, ZRANGE by rank or score) and edited in place by
 * single-member writes; everything else decodes it into a ZsetValue (O(n), n at most
 * zset-max-listpack-entries, as a listpack operation is in Redis) and commit packs it
 * back.
 */
import type { CommandContext, HandlerTable } from './context.js';
import { WireErrors } from '../../shared/resp/wire-errors.js';
import { Replies } from '../../shared/resp/replies.js';
import { globMatch } from '../../shared/glob.js';
import { parseInt64 } from '../../shared/resp/numbers.js';
import { argIs } from './args.js';
import { openForRead, commit, storeCollection } from '../types/collection.js';
import { zsetType, ZsetValue, PackedZsetView } from '../types/zset.js';
import { TYPE_ZSET } from '../arena/layout.js';
import { Cursor, before, type ScoreTree } from '../types/zset-tree.js';
import { parseScore, formatScore, formatListpackScore } from '../types/zset-score.js';
import {
  openZsetWrite, longOrReply, scoreRangeOrReply, lexRangeOrReply, scoreSpan, lexSpan, lexSpanPacked,
  replyScore, beginPairs, emitPair, type ScoreRange, type LexRange,
} from './zsets-common.js';
import { zsetPopCommands } from './zsets-pop.js';
import { zaddPacked, zaddEffect, zremPacked, openPacked, packedView, dropPacked, NX, XX, GT, LT, INCR } from './zsets-packed.js';
import { zsetOpCommands } from './zsets-ops.js';

/** The packed set a read-only command is looking at (see zsetForRead). */
const view = new PackedZsetView();

/**
 * A sorted set for a read-only command: its heap object, or `view` indexing the
 * packed bytes in place (no decoding); null when missing, undefined after WRONGTYPE.
 * Counts a keyspace hit or miss.
 */
function zsetForRead(ctx: CommandContext, key: Buffer): ZsetValue | PackedZsetView | null | undefined {
  const ks = ctx.ks;
  const ref = ks.lookupRead(key);
  if (ref === 0) return null;
  if (ks.type(ref) !== TYPE_ZSET) {
    ctx.out.error(WireErrors.wrongType);
    return undefined;
  }
  if (ks.isHeap(ref)) return ks.heap.get(ks.heapHandle(ref)) as ZsetValue;
  view.index(ks.page(ref), ks.valueStart(ref));
  return view;
}

/** Replies a packed member's score. */
function replyPackedScore(ctx: CommandContext, i: number): void {
  replyScore(ctx.out, view.score(i));
}

/**
 * ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...]
 * and ZINCRBY key increment member (zaddGenericCommand with INCR).
 */
function zaddGeneric(ctx: CommandContext, argv: Buffer[], flags: number): void {
  const out = ctx.out;
  zaddEffect.changed = false;
  let ch = false;
  let idx = 2;
  for (; idx < argv.length; idx++) {
    const a = argv[idx]!;
    if (argIs(a, 'nx')) flags |= NX;
    else if (argIs(a, 'xx')) flags |= XX;
    else if (argIs(a, 'ch')) ch = true;
    else if (argIs(a, 'incr')) flags |= INCR;
    else if (argIs(a, 'gt')) flags |= GT;
    else if (argIs(a, 'lt')) flags |= LT;
    else break;
  }
  const incr = (flags & INCR) !== 0;
  const nx = (flags & NX) !== 0;
  const xx = (flags & XX) !== 0;
  const gt = (flags & GT) !== 0;
  const lt = (flags & LT) !== 0;
  let elements = argv.length - idx;
  if (elements % 2 !== 0 || elements === 0) return out.error(WireErrors.syntax);
  elements /= 2;
  if (nx && xx) return out.error('ERR XX and NX options at the same time are not compatible');
  if ((gt && nx) || (lt && nx) || (gt && lt)) return out.error('ERR GT, LT, and/or NX options at the same time are not compatible');
  if (incr && elements > 1) return out.error('ERR INCR option supports a single increment-element pair');
  // One pair (ZADD's usual shape, always ZINCRBY's) needs no array of scores.
  let score0 = 0;
  let scores: number[] | null = null;
  if (elements === 1) {
    const s = parseScore(argv[idx]!);
    if (s === null) return out.error(WireErrors.notFloat);
    score0 = s;
  } else {
    scores = new Array<number>(elements);
    for (let j = 0; j < elements; j++) {
      const s = parseScore(argv[idx + j * 2]!);
      if (s === null) return out.error(WireErrors.notFloat);
      scores[j] = s;
    }
  }
  const key = argv[1]!;
  const ks = ctx.ks;
  // One lookup: a heap set is written here, a listpack by zaddPacked; the general
  // path (a new key, another type, a listpack that converts) opens it again.
  const ref = ks.find(key, false);
  if (ref !== 0 && ks.isHeap(ref) && ks.type(ref) === TYPE_ZSET) {
    // A skiplist on the heap: found by the arguments' bytes, changed in place (commit
    // would only re-account it).
    ks.touch(ref);
    const handle = ks.heapHandle(ref);
    const z = ks.heap.get(handle) as ZsetValue;
    z.ensureDict();
    if (!zaddPairs(ctx, z, argv, idx, elements, score0, scores, flags)) return;
    // A move can split or merge tree nodes: re-account after any change.
    if (zaddAdded !== 0 || zaddUpdated !== 0) ks.heap.setBytes(handle, z.bytes);
    return zaddReply(ctx, incr, ch);
  }
  // One pair on a listpack that stays one: edit its bytes in place.
  if (elements === 1 && ref !== 0 && ks.type(ref) === TYPE_ZSET && zaddPacked(ctx, key, ref, argv[idx + 1]!, score0, flags, ch)) return;
  const c = openZsetWrite(ctx, key, !xx);
  if (c === undefined) return;
  if (c === null) {
    if (incr) out.nil();
    else out.raw(Replies.zero);
    return;
  }
  if (!zaddPairs(ctx, c.obj, argv, idx, elements, score0, scores, flags)) return;
  if ((zaddAdded !== 0 || zaddUpdated !== 0) && !commit(ctx, key, c)) return;
  zaddReply(ctx, incr, ch);
}

/** What the last zaddPairs did. */
let zaddAdded = 0;
let zaddUpdated = 0;
let zaddProcessed = 0;
let zaddNewScore = 0;

/**
 * zsetAdd for each (score, member) pair of argv from idx (scores parsed already:
 * `scores`, or score0 for a single pair). A set with a member index finds each
 * member by the argument's bytes; a small one (a decoded listpack) by its string.
 * false after replying the INCR NaN error (only one pair then: nothing changed).
 */
function zaddPairs(ctx: CommandContext, z: ZsetValue, argv: Buffer[], idx: number, elements: number, score0: number, scores: number[] | null, flags: number): boolean {
  const nx = (flags & NX) !== 0;
  const xx = (flags & XX) !== 0;
  const gt = (flags & GT) !== 0;
  const lt = (flags & LT) !== 0;
  const incr = (flags & INCR) !== 0;
  zaddAdded = zaddUpdated = zaddProcessed = zaddNewScore = 0;
  for (let j = 0; j < elements; j++) {
    const mb = argv[idx + j * 2 + 1]!;
    let score = scores === null ? score0 : scores[j]!;
    const d = z.members;
    let pos = -1;
    let member = '';
    let cur: number | undefined;
    if (d !== null) {
      pos = d.find(mb, 0, mb.length);
      if (pos >= 0) cur = d.scores[pos]!;
    } else {
      member = mb.toString('latin1');
      cur = z.score(member);
    }
    if (cur !== undefined) {
      if (nx) continue;
      if (incr) {
        score += cur;
        if (Number.isNaN(score)) {
          ctx.out.error('ERR resulting score is not a number (NaN)');
          return false;
        }
      }
      if ((lt && score >= cur) || (gt && score <= cur)) continue;
      zaddNewScore = score;
      if (score !== cur) {
        if (d !== null) z.updateAt(pos, cur, score);
        else z.update(member, cur, score);
        zaddUpdated++;
      }
      zaddProcessed++;
    } else if (!xx) {
      // A member index: its find() just above missed these bytes.
      if (d !== null) z.insertFound(mb, score);
      else z.insert(member, score);
      zaddNewScore = score;
      zaddAdded++;
      zaddProcessed++;
    }
  }
  return true;
}

/** ZADD's reply after zaddPairs: the new score with INCR (nil when nothing was done), else the count. */
function zaddReply(ctx: CommandContext, incr: boolean, ch: boolean): void {
  const out = ctx.out;
  if (zaddAdded !== 0 || zaddUpdated !== 0) zaddEffect.changed = true;
  if (incr) {
    if (zaddProcessed !== 0) replyScore(out, zaddNewScore);
    else out.nil();
  } else out.integer(ch ? zaddAdded + zaddUpdated : zaddAdded);
}

function zadd(ctx: CommandContext, argv: Buffer[]): void {
  zaddGeneric(ctx, argv, 0);
}

function zincrby(ctx: CommandContext, argv: Buffer[]): void {
  zaddGeneric(ctx, argv, INCR);
}

/** ZREM key member [member ...] */
function zrem(ctx: CommandContext, argv: Buffer[]): void {
  const key = argv[1]!;
  if (argv.length === 3 && zremPacked(ctx, key, argv[2]!)) return;
  const c = openZsetWrite(ctx, key, false);
  if (c === undefined) return;
  if (c === null) return ctx.out.raw(Replies.zero);
  let n = 0;
  for (let i = 2; i < argv.length; i++) {
    if (c.obj.delete(argv[i]!.toString('latin1')) !== undefined) {
      n++;
      if (c.obj.size === 0) break;
    }
  }
  if (n !== 0 && !commit(ctx, key, c)) return;
  ctx.out.integer(n);
}

/** ZCARD key */
function zcard(ctx: CommandContext, argv: Buffer[]): void {
  const z = zsetForRead(ctx, argv[1]!);
  if (z === undefined) return;
  ctx.out.integer(z === null ? 0 : z.size);
}

/** ZSCORE key member */
function zscore(ctx: CommandContext, argv: Buffer[]): void {
  const z = zsetForRead(ctx, argv[1]!);
  if (z === undefined) return;
  if (z === view) {
    const i = view.find(argv[2]!);
    return i < 0 ? ctx.out.nil() : replyPackedScore(ctx, i);
  }
  const s = z === null ? undefined : (z as ZsetValue).scoreOf(argv[2]!);
  if (s === undefined) ctx.out.nil();
  else replyScore(ctx.out, s);
}

/** ZMSCORE key member [member ...] */
function zmscore(ctx: CommandContext, argv: Buffer[]): void {
  const z = zsetForRead(ctx, argv[1]!);
  if (z === undefined) return;
  const out = ctx.out;
  out.arrayHeader(argv.length - 2);
  for (let i = 2; i < argv.length; i++) {
    if (z === view) {
      const k = view.find(argv[i]!);
      if (k < 0) out.nil();
      else replyPackedScore(ctx, k);
      continue;
    }
    const s = z === null ? undefined : (z as ZsetValue).scoreOf(argv[i]!);
    if (s === undefined) out.nil();
    else replyScore(out, s);
  }
}

/** ZRANK / ZREVRANK key member */
function zrankGeneric(ctx: CommandContext, argv: Buffer[], reverse: boolean): void {
  const z = zsetForRead(ctx, argv[1]!);
  if (z === undefined) return;
  if (z === null) return ctx.out.nil();
  const r = z === view ? view.find(argv[2]!) : (z as ZsetValue).rank(argv[2]!.toString('latin1'));
  if (r < 0) return ctx.out.nil();
  ctx.out.integer(reverse ? z.size - 1 - r : r);
}

function zrank(ctx: CommandContext, argv: Buffer[]): void {
  zrankGeneric(ctx, argv, false);
}

function zrevrank(ctx: CommandContext, argv: Buffer[]): void {
  zrankGeneric(ctx, argv, true);
}

/** ZCOUNT key min max */
function zcount(ctx: CommandContext, argv: Buffer[]): void {
  const r = scoreRangeOrReply(ctx.out, argv[2]!, argv[3]!);
  if (!r) return;
  const z = zsetForRead(ctx, argv[1]!);
  if (z === undefined) return;
  if (z === null) return ctx.out.raw(Replies.zero);
  const [a, b] = z === view ? [view.seekScore(r.min, r.minex), view.seekScore(r.max, !r.maxex)] : scoreSpan((z as ZsetValue).tree, r);
  ctx.out.integer(Math.max(0, b - a));
}

/** ZLEXCOUNT key min max */
function zlexcount(ctx: CommandContext, argv: Buffer[]): void {
  const r = lexRangeOrReply(ctx.out, argv[2]!, argv[3]!);
  if (!r) return;
  const z = zsetForRead(ctx, argv[1]!);
  if (z === undefined) return;
  if (z === null) return ctx.out.raw(Replies.zero);
  const [a, b] = z === view ? lexSpanPacked(view, r) : lexSpan((z as ZsetValue).tree, r, false);
  ctx.out.integer(Math.max(0, b - a));
}

// --- the ZRANGE family -------------------------------------------------------------

const AUTO = -1;
const BY_RANK = 0;
const BY_SCORE = 1;
const BY_LEX = 2;
const FORWARD = 0;
const REVERSE = 1;

/**
 * zrangeGenericCommand: ZRANGE, ZRANGESTORE (dst set), ZREVRANGE, Z[REV]RANGEBYSCORE,
 * Z[REV]RANGEBYLEX. `at` is the argv index of the source key; `type`/`dir` are fixed
 * by the legacy commands and AUTO for ZRANGE/ZRANGESTORE (options choose them).
 */
function zrangeGeneric(ctx: CommandContext, argv: Buffer[], at: number, dst: Buffer | null, type: number, dir: number): void {
  const out = ctx.out;
  let minIdx = at + 1;
  let maxIdx = at + 2;
  let withScores = false;
  let offset = 0;
  let limit = -1;
  for (let j = at + 3; j < argv.length; j++) {
    const a = argv[j]!;
    const left = argv.length - j - 1;
    if (dst === null && argIs(a, 'withscores')) withScores = true;
    else if (argIs(a, 'limit') && left >= 2) {
      const o = longOrReply(out, argv[j + 1]!);
      if (o === undefined) return;
      const l = longOrReply(out, argv[j + 2]!);
      if (l === undefined) return;
      offset = o;
      limit = l;
      j += 2;
    } else if (dir === AUTO && argIs(a, 'rev')) dir = REVERSE;
    else if (type === AUTO && argIs(a, 'bylex')) type = BY_LEX;
    else if (type === AUTO && argIs(a, 'byscore')) type = BY_SCORE;
    else return out.error(WireErrors.syntax);
  }
  if (dir === AUTO) dir = FORWARD;
  if (type === AUTO) type = BY_RANK;
  if (limit !== -1 && type === BY_RANK) return out.error('ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX');
  if (withScores && type === BY_LEX) return out.error('ERR syntax error, WITHSCORES not supported in combination with BYLEX');
  const reverse = dir === REVERSE;
  if (reverse && type !== BY_RANK) {
    minIdx = at + 2;
    maxIdx = at + 1;
  }
  let start = 0;
  let end = 0;
  let scoreRange: ScoreRange | undefined;
  let lexRange: LexRange | undefined;
  if (type === BY_RANK) {
    const s = longOrReply(out, argv[minIdx]!);
    if (s === undefined) return;
    const e = longOrReply(out, argv[maxIdx]!);
    if (e === undefined) return;
    start = s;
    end = e;
  } else if (type === BY_SCORE) {
    scoreRange = scoreRangeOrReply(out, argv[minIdx]!, argv[maxIdx]!);
    if (!scoreRange) return;
  } else {
    lexRange = lexRangeOrReply(out, argv[minIdx]!, argv[maxIdx]!);
    if (!lexRange) return;
  }
  if (dst === null) {
    // Reads of a listpack go straight from its bytes.
    const z = zsetForRead(ctx, argv[at]!);
    if (z === undefined) return;
    if (z === null) return out.raw(Replies.emptyArray);
    if (z === view) return rangePacked(ctx, type, start, end, scoreRange, lexRange, offset, limit, reverse, withScores);
    return rangeTree(ctx, (z as ZsetValue).tree, false, type, start, end, scoreRange, lexRange, offset, limit, reverse, withScores, null);
  }
  const c = openForRead(ctx, argv[at]!, zsetType);
  if (c === undefined) return;
  if (c === null) {
    if (dst === null) return out.raw(Replies.emptyArray);
    ctx.ks.delete(dst);
    return out.raw(Replies.zero);
  }
  rangeTree(ctx, c.obj.tree, c.handle === 0, type, start, end, scoreRange, lexRange, offset, limit, reverse, withScores, dst);
}

/**
 * The answer of a range as `n` pairs from rank `first`, walking down when `reverse`:
 * by rank (start, end as given, possibly negative) or from the span [a, b) of a
 * score or lex range with Redis's LIMIT rules.
 */
function rangeWindow(size: number, byRank: boolean, start: number, end: number, a: number, b: number, offset: number, limit: number, reverse: boolean): [number, number] {
  if (byRank) {
    if (start < 0) start += size;
    if (end < 0) end += size;
    if (start < 0) start = 0;
    if (start > end || start >= size) return [0, 0];
    if (end >= size) end = size - 1;
    return [reverse ? size - 1 - start : start, end - start + 1];
  }
  // As Redis: a negative offset skips everything; a negative limit is no limit.
  if (b <= a || offset < 0 || (offset > 0 && offset >= size)) return [0, 0];
  let n = b - a - offset;
  if (n < 0) n = 0;
  if (limit >= 0 && n > limit) n = limit;
  return [reverse ? b - 1 - offset : a + offset, n];
}

function rangePacked(
  ctx: CommandContext, type: number, start: number, end: number, scoreRange: ScoreRange | undefined, lexRange: LexRange | undefined,
  offset: number, limit: number, reverse: boolean, withScores: boolean,
): void {
  const out = ctx.out;
  let a = 0;
  let b = 0;
  if (type === BY_SCORE) [a, b] = [view.seekScore(scoreRange!.min, scoreRange!.minex), view.seekScore(scoreRange!.max, !scoreRange!.maxex)];
  else if (type === BY_LEX) [a, b] = lexSpanPacked(view, lexRange!, reverse);
  const [first, n] = rangeWindow(view.size, type === BY_RANK, start, end, a, b, offset, limit, reverse);
  beginPairs(out, n, withScores);
  const page = view.page;
  const three = withScores && out.proto === 3;
  for (let k = 0; k < n; k++) {
    const i = reverse ? first - k : first + k;
    if (three) out.arrayHeader(2);
    out.bulkFrom(page, view.memberStart(i), view.memberEnd(i));
    if (withScores) replyPackedScore(ctx, i);
  }
}

function rangeTree(
  ctx: CommandContext, t: ScoreTree, linear: boolean, type: number, start: number, end: number, scoreRange: ScoreRange | undefined,
  lexRange: LexRange | undefined, offset: number, limit: number, reverse: boolean, withScores: boolean, dst: Buffer | null,
): void {
  const out = ctx.out;
  let a = 0;
  let b = 0;
  if (type !== BY_RANK) [a, b] = scoreRange ? scoreSpan(t, scoreRange) : lexSpan(t, lexRange!, linear, reverse);
  const [first, n] = rangeWindow(t.size, type === BY_RANK, start, end, a, b, offset, limit, reverse);
  if (n > 0) t.select(first);
  const cur = new Cursor(n > 0 ? t.hitLeaf : null, t.hitIdx);
  if (dst !== null) {
    const m = new Array<string>(n);
    const s = new Array<number>(n);
    for (let k = 0; k < n; k++) {
      const at2 = reverse ? n - 1 - k : k;
      m[at2] = cur.member;
      s[at2] = cur.score;
      if (reverse) cur.prev();
      else cur.next();
    }
    if (!storeCollection(ctx, dst, zsetType, sortedZset(m, s))) return;
    return out.integer(n);
  }
  beginPairs(out, n, withScores);
  for (let k = 0; k < n; k++) {
    emitPair(out, cur.member, cur.score, withScores);
    if (reverse) cur.prev();
    else cur.next();
  }
}

/** A ZsetValue of pairs that are ordered unless a lex range crossed scores (sorted then). */
export function sortedZset(m: string[], s: number[]): ZsetValue {
  for (let i = 1; i < m.length; i++) {
    if (!before(s[i - 1]!, m[i - 1]!, s[i]!, m[i]!)) {
      const idx = m.map((_, k) => k).sort((x, y) => (before(s[x]!, m[x]!, s[y]!, m[y]!) ? -1 : 1));
      return ZsetValue.fromSorted(idx.map((k) => m[k]!), idx.map((k) => s[k]!));
    }
  }
  return ZsetValue.fromSorted(m, s);
}

function zrange(ctx: CommandContext, argv: Buffer[]): void {
  zrangeGeneric(ctx, argv, 1, null, AUTO, AUTO);
}
function zrangestore(ctx: CommandContext, argv: Buffer[]): void {
  zrangeGeneric(ctx, argv, 2, argv[1]!, AUTO, AUTO);
}
function zrevrange(ctx: CommandContext, argv: Buffer[]): void {
  zrangeGeneric(ctx, argv, 1, null, BY_RANK, REVERSE);
}
function zrangebyscore(ctx: CommandContext, argv: Buffer[]): void {
  zrangeGeneric(ctx, argv, 1, null, BY_SCORE, FORWARD);
}
function zrevrangebyscore(ctx: CommandContext, argv: Buffer[]): void {
  zrangeGeneric(ctx, argv, 1, null, BY_SCORE, REVERSE);
}
function zrangebylex(ctx: CommandContext, argv: Buffer[]): void {
  zrangeGeneric(ctx, argv, 1, null, BY_LEX, FORWARD);
}
function zrevrangebylex(ctx: CommandContext, argv: Buffer[]): void {
  zrangeGeneric(ctx, argv, 1, null, BY_LEX, REVERSE);
}

/** ZREMRANGEBYRANK / ZREMRANGEBYSCORE / ZREMRANGEBYLEX key min max */
function zremrangeGeneric(ctx: CommandContext, argv: Buffer[], type: number): void {
  const out = ctx.out;
  let start = 0;
  let end = 0;
  let scoreRange: ScoreRange | undefined;
  let lexRange: LexRange | undefined;
  if (type === BY_RANK) {
    const s = longOrReply(out, argv[2]!);
    if (s === undefined) return;
    const e = longOrReply(out, argv[3]!);
    if (e === undefined) return;
    start = s;
    end = e;
  } else if (type === BY_SCORE) {
    scoreRange = scoreRangeOrReply(out, argv[2]!, argv[3]!);
    if (!scoreRange) return;
  } else {
    lexRange = lexRangeOrReply(out, argv[2]!, argv[3]!);
    if (!lexRange) return;
  }
  const key = argv[1]!;
  // A listpack loses the span in place.
  const ref = openPacked(ctx, key);
  if (ref !== 0) {
    const v = packedView;
    const [first, n] = type === BY_RANK
      ? rangeWindow(v.size, true, start, end, 0, 0, 0, -1, false)
      : spanWindow(...(scoreRange ? [v.seekScore(scoreRange.min, scoreRange.minex), v.seekScore(scoreRange.max, !scoreRange.maxex)] as [number, number] : lexSpanPacked(v, lexRange!)));
    if (n === 0) return out.raw(Replies.zero);
    if (dropPacked(ctx, key, ref, first, n)) out.integer(n);
    return;
  }
  const c = openZsetWrite(ctx, key, false);
  if (c === undefined) return;
  if (c === null) return out.raw(Replies.zero);
  const z = c.obj;
  const [first, n] = type === BY_RANK
    ? rangeWindow(z.size, true, start, end, 0, 0, 0, -1, false)
    : spanWindow(...(scoreRange ? scoreSpan(z.tree, scoreRange) : lexSpan(z.tree, lexRange!, c.handle === 0)));
  if (n === 0) return out.raw(Replies.zero);
  z.removeRange(first, n);
  if (!commit(ctx, key, c)) return;
  out.integer(n);
}

/** Ranks [a, b) as (first, count). */
function spanWindow(a: number, b: number): [number, number] {
  return [a, Math.max(0, b - a)];
}

function zremrangebyrank(ctx: CommandContext, argv: Buffer[]): void {
  zremrangeGeneric(ctx, argv, BY_RANK);
}
function zremrangebyscore(ctx: CommandContext, argv: Buffer[]): void {
  zremrangeGeneric(ctx, argv, BY_SCORE);
}
function zremrangebylex(ctx: CommandContext, argv: Buffer[]): void {
  zremrangeGeneric(ctx, argv, BY_LEX);
}

// --- ZRANDMEMBER -----------------------------------------------------------------

const LONG_MIN = -9223372036854775808n;
const HALF_LONG_MAX = 4611686018427387903n;

/** ZRANDMEMBER key [count [WITHSCORES]] */
function zrandmember(ctx: CommandContext, argv: Buffer[]): void {
  const out = ctx.out;
  if (argv.length >= 3) {
    const v = parseInt64(argv[2]!);
    if (v === null) return out.error(WireErrors.notInteger);
    if (v === LONG_MIN) return out.error('ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807');
    if (argv.length > 4 || (argv.length === 4 && !argIs(argv[3]!, 'withscores'))) return out.error(WireErrors.syntax);
    const withScores = argv.length === 4;
    if (withScores && (v < -HALF_LONG_MAX || v > HALF_LONG_MAX)) return out.error('ERR value is out of range');
    return zrandmemberCount(ctx, argv[1]!, Number(v), withScores);
  }
  const c = openForRead(ctx, argv[1]!, zsetType);
  if (c === undefined) return;
  if (c === null) return out.nil();
  const t = c.obj.tree;
  t.select(Math.floor(Math.random() * t.size));
  out.bulkLatin1(t.hitLeaf!.m[t.hitIdx]!);
}

function zrandmemberCount(ctx: CommandContext, key: Buffer, l: number, withScores: boolean): void {
  const out = ctx.out;
  const c = openForRead(ctx, key, zsetType);
  if (c === undefined) return;
  if (c === null || l === 0) return out.raw(Replies.emptyArray);
  const t = c.obj.tree;
  const size = t.size;
  const emitRank = (r: number): void => {
    t.select(r);
    const leaf = t.hitLeaf!;
    emitPair(out, leaf.m[t.hitIdx]!, leaf.s[t.hitIdx]!, withScores);
  };
  // Negative count (or 1): independent picks, repeats allowed.
  if (l < 0 || l === 1) {
    const count = l < 0 ? -l : 1;
    beginPairs(out, count, withScores);
    for (let k = 0; k < count; k++) emitRank(Math.floor(Math.random() * size));
    return;
  }
  // The whole set when asked for at least as many: Redis's zset iterator walks
  // from the highest score down.
  if (l >= size) {
    beginPairs(out, size, withScores);
    const cur = new Cursor(t.last, t.last.m.length - 1);
    for (let k = 0; k < size; k++) {
      emitPair(out, cur.member, cur.score, withScores);
      cur.prev();
    }
    return;
  }
  // Distinct picks: a partial shuffle of the ranks when the sample is a large
  // share of the set, else random ranks until enough distinct ones.
  beginPairs(out, l, withScores);
  if (l * 3 > size) {
    const ranks = new Uint32Array(size);
    for (let i = 0; i < size; i++) ranks[i] = i;
    for (let i = 0; i < l; i++) {
      const j = i + Math.floor(Math.random() * (size - i));
      const x = ranks[j]!;
      ranks[j] = ranks[i]!;
      ranks[i] = x;
      emitRank(x);
    }
    return;
  }
  const seen = new Set<number>();
  while (seen.size < l) {
    const r = Math.floor(Math.random() * size);
    if (seen.has(r)) continue;
    seen.add(r);
    emitRank(r);
  }
}

// --- ZSCAN -------------------------------------------------------------------------

const CURSOR_BYTES = new DataView(new ArrayBuffer(8));
const SIGN = 1n << 63n;
const MASK = (1n << 64n) - 1n;

/**
 * A skiplist's ZSCAN cursor: the score to resume at, mapped to an unsigned 64-bit
 * integer that orders like the score (never 0, which starts and ends a scan). A
 * batch always ends where the score changes, so resuming at "score >= cursor"
 * repeats nothing and misses no member present throughout, however the set
 * changes between calls.
 */
function scoreCursor(score: number): bigint {
  CURSOR_BYTES.setFloat64(0, score);
  const bits = CURSOR_BYTES.getBigUint64(0);
  return bits & SIGN ? ~bits & MASK : bits | SIGN;
}

function cursorScore(cursor: bigint): number {
  CURSOR_BYTES.setBigUint64(0, cursor & SIGN ? cursor & ~SIGN & MASK : ~cursor & MASK);
  return CURSOR_BYTES.getFloat64(0);
}

/** parseScanCursorOrReply: strtoul's unsigned long (a '-' wraps), else undefined after the error. */
function scanCursorOrReply(ctx: CommandContext, arg: Buffer): bigint | undefined {
  const s = arg.toString('latin1');
  const m = /^([+-]?)(\d*)$/.exec(s);
  let v = m && m[2] !== '' ? BigInt(m[2]!) : m && m[1] === '' ? 0n : -1n;
  if (v > MASK || v < 0n) {
    ctx.out.error('ERR invalid cursor');
    return undefined;
  }
  if (m![1] === '-') v = (-v) & MASK;
  return v;
}

/** ZSCAN key cursor [MATCH pattern] [COUNT count] */
function zscan(ctx: CommandContext, argv: Buffer[]): void {
  const out = ctx.out;
  const cursor = scanCursorOrReply(ctx, argv[2]!);
  if (cursor === undefined) return;
  const c = openForRead(ctx, argv[1]!, zsetType);
  if (c === undefined) return;
  if (c === null) {
    out.arrayHeader(2);
    out.bulk('0');
    return out.raw(Replies.emptyArray);
  }
  let count = 10;
  let pattern: Buffer | null = null;
  for (let j = 3; j < argv.length; j++) {
    const more = argv.length - j >= 2;
    if (argIs(argv[j]!, 'count') && more) {
      const n = longOrReply(out, argv[++j]!);
      if (n === undefined) return;
      if (n < 1) return out.error(WireErrors.syntax);
      count = n;
    } else if (argIs(argv[j]!, 'match') && more) {
      const p = argv[++j]!;
      pattern = p.length === 1 && p[0] === 42 ? null : p;
    } else return out.error(WireErrors.syntax);
  }
  const t = c.obj.tree;
  const packed = c.handle === 0;
  const members: string[] = [];
  const scores: number[] = [];
  let next = 0n;
  if (packed) {
    // A listpack is returned whole, whatever the cursor.
    for (const cur = new Cursor(t.size > 0 ? t.first : null, 0); cur.leaf !== null; cur.next()) {
      members.push(cur.member);
      scores.push(cur.score);
    }
  } else {
    const start = cursor === 0n ? 0 : t.seekScore(cursorScore(cursor), false);
    if (start < t.size) {
      t.select(start);
      const cur = new Cursor(t.hitLeaf, t.hitIdx);
      let taken = 0;
      let last = 0;
      while (cur.leaf !== null && (taken < count || cur.score === last)) {
        last = cur.score;
        members.push(cur.member);
        scores.push(last);
        taken++;
        cur.next();
      }
      if (cur.leaf !== null) next = scoreCursor(cur.score);
    }
  }
  let keep = members.length;
  if (pattern !== null) {
    keep = 0;
    for (let i = 0; i < members.length; i++) {
      const mb = Buffer.from(members[i]!, 'latin1');
      if (globMatch(pattern, 0, pattern.length, mb, 0, mb.length)) {
        members[keep] = members[i]!;
        scores[keep++] = scores[i]!;
      }
    }
  }
  out.arrayHeader(2);
  out.bulk(next.toString());
  out.arrayHeader(keep * 2);
  for (let i = 0; i < keep; i++) {
    out.bulkLatin1(members[i]!);
    out.bulk(packed ? formatListpackScore(scores[i]!) : formatScore(scores[i]!));
  }
}

export const zsetCommands: HandlerTable = {
  zadd, zincrby, zrem, zcard, zscore, zmscore, zrank, zrevrank, zcount, zlexcount,
  zrange, zrangestore, zrevrange, zrangebyscore, zrevrangebyscore, zrangebylex, zrevrangebylex,
  zremrangebyrank, zremrangebyscore, zremrangebylex, zrandmember, zscan,
  ...zsetPopCommands,
  ...zsetOpCommands,
};
