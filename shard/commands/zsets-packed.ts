/**
 * Single-member writes to a listpack edited in place, as Redis edits its listpack:
 * ZADD/ZINCRBY of one pair and ZREM of one member. The general path decodes the
 * whole set into a ZsetValue and packs it back at commit (a string per member);
 * these find the member by comparing bytes in the arena page and splice the
 * entry's bytes into the new value, so the common single-member write costs a few
 * copies instead of 2n string conversions.
 *
 * They only take the cases that stay a listpack: an insert that would convert the
 * set (too many members, too long a member), a missing key (creation wakes blocked
 * clients) or a heap set return false before changing anything, and the caller runs
 * the general path.
 *
 * The entries (./../types/packed.ts) are contiguous: for member i,
 *   | varint len | member bytes | 0x08 | score (8 bytes LE) |
 * so removing or inserting one member moves at most two spans of bytes.
 */
import type { CommandContext } from './context.js';
import { TYPE_ZSET } from '../arena/layout.js';
import { WireErrors } from '../../shared/resp/wire-errors.js';
import { Replies } from '../../shared/resp/replies.js';
import { PackedZsetView } from '../types/zset.js';
import { replyScore } from './zsets-common.js';

export const NX = 1;
export const XX = 2;
export const GT = 4;
export const LT = 8;
export const INCR = 16;

const view = new PackedZsetView();
let scratch = Buffer.allocUnsafe(4096);

function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

/** Byte offset where entry i (its length varint) starts. */
function entryStart(i: number): number {
  const at = view.memberStart(i);
  return at - varintLength(view.memberEnd(i) - at);
}

/** Byte offset just past entry i (its score). */
function entryEnd(i: number): number {
  return view.memberEnd(i) + 9;
}

/** Index of the first entry that does not order before (score, member). */
function insertionPoint(score: number, member: Buffer): number {
  const page = view.page;
  let lo = 0;
  let hi = view.size;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const s = view.score(mid);
    const below = s < score || (s === score && member.compare(page, view.memberStart(mid), view.memberEnd(mid)) > 0);
    if (below) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Replaces the value of the packed set at `ref` (indexed in `view`) with its entries
 * minus the `dropCount` entries from index `drop` on, plus (member, score) when
 * `member` is given. false after replying OOM.
 */
function rewrite(ctx: CommandContext, key: Buffer, ref: number, drop: number, dropCount: number, member: Buffer | null, score: number): boolean {
  const page = view.page;
  const n = view.size;
  const first = entryStart(0);
  const last = entryEnd(n - 1);
  const dropFrom = dropCount > 0 ? entryStart(drop) : 0;
  const dropTo = dropCount > 0 ? entryEnd(drop + dropCount - 1) : 0;
  const point = member === null ? n : insertionPoint(score, member);
  const at = point === n ? last : entryStart(point);
  const addLen = member === null ? 0 : varintLength(member.length) + member.length + 9;
  const total = 4 + (last - first) - (dropTo - dropFrom) + addLen;
  if (scratch.length < total) scratch = Buffer.allocUnsafe(Math.max(total, scratch.length * 2));
  const out = scratch;
  out.writeUInt32LE((n - dropCount + (member === null ? 0 : 1)) * 2, 0);
  let p = 4;
  // [first, at) and [at, last), each without the dropped entries' bytes (whole
  // entries, so they fall on one side of `at`)
  const copy = (from: number, to: number): void => {
    if (dropCount > 0 && dropFrom >= from && dropTo <= to) {
      p += page.copy(out, p, from, dropFrom);
      p += page.copy(out, p, dropTo, to);
    } else p += page.copy(out, p, from, to);
  };
  copy(first, at);
  if (member !== null) {
    let len = member.length;
    while (len >= 0x80) {
      out[p++] = (len & 0x7f) | 0x80;
      len = Math.floor(len / 128);
    }
    out[p++] = len;
    p += member.copy(out, p);
    out[p++] = 8;
    // A listpack keeps an integral score as an integer: -0 is stored as 0.
    out.writeDoubleLE(score === 0 ? 0 : score, p);
    p += 8;
  }
  copy(at, last);
  const ks = ctx.ks;
  const next = ks.write(key, TYPE_ZSET, p, ks.expireAt(ref), ref);
  if (next === 0) {
    ctx.out.error(WireErrors.oom);
    return false;
  }
  out.copy(ks.page(next), ks.valueStart(next), 0, p);
  return true;
}

/**
 * Removes `count` members from index `from` of the packed set at `ref` (indexed in
 * `view`), deleting the key when none is left. false after replying OOM.
 */
export function dropPacked(ctx: CommandContext, key: Buffer, ref: number, from: number, count: number): boolean {
  if (count >= view.size) {
    ctx.ks.remove(ref);
    return true;
  }
  return rewrite(ctx, key, ref, from, count, null, 0);
}

/**
 * The key's live packed sorted set, indexed in `view` (exported as packedView), or 0
 * (missing, another type, on the heap: take the general path).
 */
export function openPacked(ctx: CommandContext, key: Buffer): number {
  const ks = ctx.ks;
  const ref = ks.find(key);
  if (ref === 0 || ks.type(ref) !== TYPE_ZSET || ks.isHeap(ref)) return 0;
  view.index(ks.page(ref), ks.valueStart(ref));
  return ref;
}

/**
 * ZADD key [flags] score member / ZINCRBY on a listpack that stays one (zsetAdd's
 * listpack branch). `ref` is the key's live item, a packed sorted set, found
 * without touching it (this touches it). false: nothing done, take the general path.
 */
/** Whether the last ZADD / ZINCRBY added or updated a member (Redis's condition for its `zadd` / `zincr` keyspace event). */
export const zaddEffect = { changed: false };

export function zaddPacked(ctx: CommandContext, key: Buffer, ref: number, member: Buffer, score: number, flags: number, ch: boolean): boolean {
  const ks = ctx.ks;
  ks.touch(ref);
  view.index(ks.page(ref), ks.valueStart(ref));
  const out = ctx.out;
  const incr = (flags & INCR) !== 0;
  const i = view.find(member);
  if (i >= 0) {
    const cur = view.score(i);
    let s = score;
    if (!(flags & NX)) {
      if (incr) s += cur;
      if (Number.isNaN(s)) {
        out.error('ERR resulting score is not a number (NaN)');
        return true;
      }
      if (!((flags & LT && s >= cur) || (flags & GT && s <= cur))) {
        let updated = 0;
        if (s !== cur) {
          if (!rewrite(ctx, key, ref, i, 1, member, s)) return true;
          updated = 1;
          zaddEffect.changed = true;
        }
        if (incr) replyScore(out, s);
        else out.integer(ch ? updated : 0);
        return true;
      }
    }
  } else if (!(flags & XX)) {
    const config = ctx.server.config;
    if (view.size + 1 > config.zsetMaxListpackEntries || member.length > config.zsetMaxListpackValue) return false;
    if (!rewrite(ctx, key, ref, 0, 0, member, score)) return true;
    zaddEffect.changed = true;
    if (incr) replyScore(out, score);
    else out.raw(Replies.one);
    return true;
  }
  // NX on a member that exists, XX on one that does not, GT/LT refusing: nothing to do
  if (incr) out.nil();
  else out.raw(Replies.zero);
  return true;
}

/** ZREM key member on a listpack. false: take the general path. */
export function zremPacked(ctx: CommandContext, key: Buffer, member: Buffer): boolean {
  const ref = openPacked(ctx, key);
  if (ref === 0) return false;
  const i = view.find(member);
  if (i < 0) ctx.out.raw(Replies.zero);
  else if (dropPacked(ctx, key, ref, i, 1)) ctx.out.raw(Replies.one);
  return true;
}

/** The view openPacked indexes into. */
export const packedView = view;
