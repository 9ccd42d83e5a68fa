/**
 * Set commands (Redis 7.0's t_set.c). Values: ../types/set.ts (intset packed in the
 * arena, hashtable on the heap). Encodings change exactly where Redis's do, so OBJECT
 * ENCODING agrees: results of SINTERSTORE/SUNIONSTORE/SDIFFSTORE are built member by
 * member into a fresh set, with SDIFF's choice of algorithm, and SPOP with a count
 * near the size keeps the remainder as a new set.
 *
 * SCARD, SISMEMBER and SMISMEMBER read a packed intset in place; other commands
 * decode it (it holds at most set-max-intset-entries small integers).
 */
import type { CommandContext, HandlerTable } from './context.js';
import { TYPE_SET } from '../arena/layout.js';
import type { Keyspace } from '../keyspace.js';
import { WireErrors } from '../../shared/resp/wire-errors.js';
import { Replies } from '../../shared/resp/replies.js';
import { parseInt64 } from '../../shared/resp/numbers.js';
import { globMatch } from '../../shared/glob.js';
import { argIs } from './args.js';
import { openForRead, openForWrite, commit, storeCollection } from '../types/collection.js';
import { setType, newSet, intsetLimit, packedSetHas, sampleIndexes, type SetValue } from '../types/set.js';
import type { ReplyWriter } from '../../shared/resp/reply-writer.js';

/** SPOP: rebuild the remainder as a new set when it is this many times smaller than the count. */
const SPOP_MOVE_STRATEGY_MUL = 5;

const ERR_POSITIVE = 'ERR value is out of range, must be positive';
const ERR_SRANDMEMBER_RANGE = 'ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807';
const ERR_NUMKEYS = 'ERR numkeys should be greater than 0';
const ERR_NUMKEYS_ARGS = "ERR Number of keys can't be greater than number of args";
const ERR_LIMIT = "ERR LIMIT can't be negative";

function limitOf(ctx: CommandContext): number {
  return intsetLimit(ctx.server.config.setMaxIntsetEntries);
}

function latin1(b: Buffer): string {
  return b.toString('latin1');
}

/** Members as a RESP3 set (RESP2 array) or an array, in the set's iteration order. */
function replyMembers(out: ReplyWriter, s: SetValue, asSet: boolean): void {
  const n = s.size;
  if (asSet) out.setHeader(n);
  else out.arrayHeader(n);
  for (let i = 0; i < n; i++) out.bulkLatin1(s.at(i));
}

function replyList(out: ReplyWriter, members: readonly string[], asSet: boolean): void {
  if (asSet) out.setHeader(members.length);
  else out.arrayHeader(members.length);
  for (const m of members) out.bulkLatin1(m);
}

/** Membership without decoding a packed set. */
function refHas(ks: Keyspace, ref: number, member: Buffer): boolean {
  if (ks.isHeap(ref)) return (ks.heap.get(ks.heapHandle(ref)) as SetValue).hasBytes(member);
  const s = ks.valueStart(ref);
  return packedSetHas(ks.page(ref), s, s + ks.valueLen(ref), member);
}

/** SADD key member [member ...] */
function sadd(ctx: CommandContext, argv: Buffer[]): void {
  const key = argv[1]!;
  const c = openForWrite(ctx, key, setType, true);
  if (!c) return;
  const s = c.obj;
  const limit = limitOf(ctx);
  let added = 0;
  // A table looks the arguments' bytes up as they are: no string for a member already there.
  for (let j = 2; j < argv.length; j++) if (s.addBytes(argv[j]!, limit)) added++;
  if (added > 0 && !commit(ctx, key, c)) return;
  ctx.out.integer(added);
}

/** SREM key member [member ...] */
function srem(ctx: CommandContext, argv: Buffer[]): void {
  const key = argv[1]!;
  const c = openForWrite(ctx, key, setType, false);
  if (c === undefined) return;
  if (c === null) return ctx.out.raw(Replies.zero);
  let removed = 0;
  for (let j = 2; j < argv.length && c.obj.size > 0; j++) if (c.obj.removeBytes(argv[j]!)) removed++;
  if (removed > 0 && !commit(ctx, key, c)) return;
  ctx.out.integer(removed);
}

/** SCARD key */
function scard(ctx: CommandContext, argv: Buffer[]): void {
  const ks = ctx.ks;
  const ref = ks.lookupRead(argv[1]!);
  if (ref === 0) return ctx.out.raw(Replies.zero);
  if (ks.type(ref) !== TYPE_SET) return ctx.out.error(WireErrors.wrongType);
  if (ks.isHeap(ref)) return ctx.out.integer((ks.heap.get(ks.heapHandle(ref)) as SetValue).size);
  // A packed intset's entry count includes its marker.
  ctx.out.integer(ks.page(ref).readUInt32LE(ks.valueStart(ref)) - 1);
}

/** SISMEMBER key member */
function sismember(ctx: CommandContext, argv: Buffer[]): void {
  const ks = ctx.ks;
  const ref = ks.lookupRead(argv[1]!);
  if (ref === 0) return ctx.out.raw(Replies.zero);
  if (ks.type(ref) !== TYPE_SET) return ctx.out.error(WireErrors.wrongType);
  ctx.out.raw(refHas(ks, ref, argv[2]!) ? Replies.one : Replies.zero);
}

/** SMISMEMBER key member [member ...] */
function smismember(ctx: CommandContext, argv: Buffer[]): void {
  const ks = ctx.ks;
  const ref = ks.lookupRead(argv[1]!);
  if (ref !== 0 && ks.type(ref) !== TYPE_SET) return ctx.out.error(WireErrors.wrongType);
  ctx.out.arrayHeader(argv.length - 2);
  for (let j = 2; j < argv.length; j++) ctx.out.raw(ref !== 0 && refHas(ks, ref, argv[j]!) ? Replies.one : Replies.zero);
}

/** SMEMBERS key (Redis runs it as a one-key SINTER: a set reply). */
function smembers(ctx: CommandContext, argv: Buffer[]): void {
  const c = openForRead(ctx, argv[1]!, setType);
  if (c === undefined) return;
  if (c === null) return ctx.out.setHeader(0);
  replyMembers(ctx.out, c.obj, true);
}

/** SRANDMEMBER key [count] */
function srandmember(ctx: CommandContext, argv: Buffer[]): void {
  const out = ctx.out;
  if (argv.length > 3) return out.error(WireErrors.syntax);
  if (argv.length === 2) {
    const c = openForRead(ctx, argv[1]!, setType);
    if (c === undefined) return;
    if (c === null) return out.nil();
    return out.bulkLatin1(c.obj.random());
  }
  const v = parseInt64(argv[2]!);
  if (v === null) return out.error(WireErrors.notInteger);
  if (v === -9223372036854775808n) return out.error(ERR_SRANDMEMBER_RANGE);
  const l = Number(v);
  const c = openForRead(ctx, argv[1]!, setType);
  if (c === undefined) return;
  if (c === null || l === 0) return out.raw(Replies.emptyArray);
  const s = c.obj;
  const size = s.size;
  if (l < 0 || l === 1) {
    // Repeats allowed: independent picks, in random order.
    const count = l < 0 ? -l : 1;
    out.arrayHeader(count);
    for (let i = 0; i < count; i++) out.bulkLatin1(s.random());
    return;
  }
  if (l >= size) return replyMembers(out, s, false);
  out.arrayHeader(l);
  for (const i of sampleIndexes(size, l)) out.bulkLatin1(s.at(i));
}

/** SPOP key [count] */
function spop(ctx: CommandContext, argv: Buffer[]): void {
  const out = ctx.out;
  const key = argv[1]!;
  if (argv.length > 3) return out.error(WireErrors.syntax);
  if (argv.length === 2) {
    const c = openForWrite(ctx, key, setType, false);
    if (c === undefined) return;
    if (c === null) return out.nil();
    const t = c.obj.table;
    if (t !== null && c.handle !== 0) {
      // On the heap commit cannot fail: reply from the member's bytes, then drop it.
      const i = Math.floor(Math.random() * t.count);
      const at = t.memberStart(i);
      out.bulkFrom(t.data, at, at + t.memberLength(i));
      t.removeAt(i);
      commit(ctx, key, c);
      return;
    }
    const m = c.obj.pop();
    if (!commit(ctx, key, c)) return;
    return out.bulkLatin1(m);
  }
  const v = parseInt64(argv[2]!);
  if (v === null || v < 0) return out.error(ERR_POSITIVE);
  const count = Number(v);
  const c = openForWrite(ctx, key, setType, false);
  if (c === undefined) return;
  if (c === null || count === 0) return out.setHeader(0);
  const s = c.obj;
  const size = s.size;
  if (count >= size) {
    // The whole set, then the key goes.
    replyMembers(out, s, true);
    ctx.ks.delete(key);
    return;
  }
  const remaining = size - count;
  const popped = s.popMany(count);
  if (remaining * SPOP_MOVE_STRATEGY_MUL > count) {
    if (!commit(ctx, key, c)) return;
    return replyList(out, popped, true);
  }
  // Redis keeps the remainder as a new set built member by member: an intset iff
  // every remaining member is an integer and they fit the limit, whatever it was.
  const intset = remaining <= limitOf(ctx) && s.allIntegers();
  if (intset && !s.intset) {
    s.toIntset();
    if (c.handle !== 0) {
      const ref = ctx.ks.find(key, false);
      if (!storeCollection(ctx, key, setType, s, ctx.ks.expireAt(ref))) return;
      return replyList(out, popped, true);
    }
  } else if (!intset && s.intset) {
    s.toTable();
  }
  if (!commit(ctx, key, c)) return;
  replyList(out, popped, true);
}

/** SMOVE source destination member */
function smove(ctx: CommandContext, argv: Buffer[]): void {
  const ks = ctx.ks;
  const src = argv[1]!;
  const dst = argv[2]!;
  const member = argv[3]!;
  const srcRef = ks.find(src);
  if (srcRef === 0) return ctx.out.raw(Replies.zero);
  const dstRef = ks.find(dst);
  if (ks.type(srcRef) !== TYPE_SET || (dstRef !== 0 && ks.type(dstRef) !== TYPE_SET)) return ctx.out.error(WireErrors.wrongType);
  if (src.equals(dst)) return ctx.out.raw(refHas(ks, srcRef, member) ? Replies.one : Replies.zero);
  const m = latin1(member);
  const from = openForWrite(ctx, src, setType, false)!;
  if (!from.obj.remove(m)) return ctx.out.raw(Replies.zero);
  if (!commit(ctx, src, from)) return;
  const to = openForWrite(ctx, dst, setType, true)!;
  if (to.obj.add(m, limitOf(ctx)) && !commit(ctx, dst, to)) return;
  ctx.out.raw(Replies.one);
}

/**
 * The sets at argv[from, from + n): null for a missing key; undefined after
 * replying WRONGTYPE (every key is type-checked, as Redis does, even past a missing one).
 */
function readSets(ctx: CommandContext, argv: Buffer[], from: number, n: number): (SetValue | null)[] | undefined {
  const sets = new Array<SetValue | null>(n);
  for (let j = 0; j < n; j++) {
    const c = openForRead(ctx, argv[from + j]!, setType);
    if (c === undefined) return undefined;
    sets[j] = c === null ? null : c.obj;
  }
  return sets;
}

const enum InterMode { Reply, Store, Card }

/** SINTER, SINTERSTORE, SINTERCARD: walk the smallest set, keep what every other set has. */
function sinterGeneric(ctx: CommandContext, argv: Buffer[], from: number, n: number, mode: InterMode, dst: Buffer | null, limit: number): void {
  const out = ctx.out;
  const read = readSets(ctx, argv, from, n);
  if (read === undefined) return;
  if (read.includes(null)) {
    if (mode === InterMode.Store) ctx.ks.delete(dst!);
    if (mode === InterMode.Reply) return out.setHeader(0);
    return out.raw(Replies.zero);
  }
  const sets = (read as SetValue[]).sort((a, b) => a.size - b.size);
  const base = sets[0]!;
  const result = mode === InterMode.Store ? newSet() : null;
  const found: string[] = [];
  const intsetMax = limitOf(ctx);
  let card = 0;
  for (let i = 0, size = base.size; i < size; i++) {
    const m = base.at(i);
    let j = 1;
    for (; j < sets.length; j++) if (sets[j] !== base && !sets[j]!.has(m)) break;
    if (j < sets.length) continue;
    card++;
    if (mode === InterMode.Card) {
      if (limit !== 0 && card >= limit) break;
    } else if (result !== null) result.add(m, intsetMax);
    else found.push(m);
  }
  if (mode === InterMode.Card) return out.integer(card);
  if (result === null) return replyList(out, found, true);
  if (!storeCollection(ctx, dst!, setType, result)) return;
  out.integer(result.size);
}

/** SUNION, SDIFF and their STORE forms (Redis's sunionDiffGenericCommand). */
function sunionDiff(ctx: CommandContext, argv: Buffer[], from: number, diff: boolean, dst: Buffer | null): void {
  const n = argv.length - from;
  const sets = readSets(ctx, argv, from, n);
  if (sets === undefined) return;
  const first = sets[0]!;
  const intsetMax = limitOf(ctx);
  const result = newSet();
  if (!diff) {
    for (const s of sets) {
      if (s === null) continue;
      for (let i = 0, size = s.size; i < size; i++) result.add(s.at(i), intsetMax);
    }
  } else if (first !== null) {
    // Algorithm 1 walks the first set probing the others; 2 adds the first set and
    // removes the others. Redis picks by estimated work; the choice shows in the
    // stored encoding, so it is made the same way.
    let one = 0;
    let two = 0;
    for (const s of sets) {
      if (s === null) continue;
      one += first.size;
      two += s.size;
    }
    if (Math.floor(one / 2) <= two) {
      const others = sets.slice(1).sort((a, b) => (b?.size ?? 0) - (a?.size ?? 0));
      for (let i = 0, size = first.size; i < size; i++) {
        const m = first.at(i);
        let j = 0;
        for (; j < others.length; j++) {
          const s = others[j];
          if (s === null || s === undefined) continue;
          if (s === first || s.has(m)) break;
        }
        if (j === others.length) result.add(m, intsetMax);
      }
    } else {
      for (let j = 0; j < sets.length; j++) {
        const s = sets[j];
        if (s === null || s === undefined) continue;
        for (let i = 0, size = s.size; i < size; i++) {
          if (j === 0) result.add(s.at(i), intsetMax);
          else result.remove(s.at(i));
        }
        if (result.size === 0) break;
      }
    }
  }
  if (dst === null) return replyMembers(ctx.out, result, true);
  if (!storeCollection(ctx, dst, setType, result)) return;
  ctx.out.integer(result.size);
}

function sinter(ctx: CommandContext, argv: Buffer[]): void {
  sinterGeneric(ctx, argv, 1, argv.length - 1, InterMode.Reply, null, 0);
}

function sinterstore(ctx: CommandContext, argv: Buffer[]): void {
  sinterGeneric(ctx, argv, 2, argv.length - 2, InterMode.Store, argv[1]!, 0);
}

/** SINTERCARD numkeys key [key ...] [LIMIT limit] */
function sintercard(ctx: CommandContext, argv: Buffer[]): void {
  const out = ctx.out;
  const nk = parseInt64(argv[1]!);
  if (nk === null || nk <= 0) return out.error(ERR_NUMKEYS);
  if (nk > argv.length - 2) return out.error(ERR_NUMKEYS_ARGS);
  const numkeys = Number(nk);
  let limit = 0;
  for (let j = 2 + numkeys; j < argv.length; j++) {
    if (argIs(argv[j]!, 'limit') && j + 1 < argv.length) {
      const l = parseInt64(argv[++j]!);
      if (l === null || l < 0) return out.error(ERR_LIMIT);
      limit = Number(l);
    } else return out.error(WireErrors.syntax);
  }
  sinterGeneric(ctx, argv, 2, numkeys, InterMode.Card, null, limit);
}

function sunion(ctx: CommandContext, argv: Buffer[]): void {
  sunionDiff(ctx, argv, 1, false, null);
}

function sunionstore(ctx: CommandContext, argv: Buffer[]): void {
  sunionDiff(ctx, argv, 2, false, argv[1]!);
}

function sdiff(ctx: CommandContext, argv: Buffer[]): void {
  sunionDiff(ctx, argv, 1, true, null);
}

function sdiffstore(ctx: CommandContext, argv: Buffer[]): void {
  sunionDiff(ctx, argv, 2, true, argv[1]!);
}

/**
 * A SCAN cursor as Redis's strtoul reads it: optional sign, decimal digits, ""
 * is 0, a negative value wraps (here: anything past 2^53 just means "the top").
 * null when invalid.
 */
function parseCursor(b: Buffer): number | null {
  const len = b.length;
  if (len === 0) return 0;
  let i = 0;
  const neg = b[0] === 45;
  if (neg || b[0] === 43) i = 1;
  if (i === len) return null;
  while (i < len - 1 && b[i] === 48) i++; // leading zeros
  const digits = len - i;
  let v = 0;
  for (let j = i; j < len; j++) {
    const d = b[j]! - 48;
    if (d < 0 || d > 9) return null;
    v = v * 10 + d;
  }
  if (digits > 20 || (digits === 20 && b.toString('latin1', i) > '18446744073709551615')) return null;
  return neg && v !== 0 ? Number.MAX_VALUE : v;
}

let scratch = Buffer.allocUnsafe(256);

function memberMatches(pattern: Buffer, m: string): boolean {
  if (m.length > scratch.length) scratch = Buffer.allocUnsafe(m.length * 2);
  const n = scratch.write(m, 0, 'latin1');
  return globMatch(pattern, 0, pattern.length, scratch, 0, n);
}

/** SSCAN key cursor [MATCH pattern] [COUNT count] */
function sscan(ctx: CommandContext, argv: Buffer[]): void {
  const out = ctx.out;
  const cursor = parseCursor(argv[2]!);
  if (cursor === null) return out.error(WireErrors.invalidCursor);
  const c = openForRead(ctx, argv[1]!, setType);
  if (c === undefined) return;
  if (c === null) {
    out.arrayHeader(2);
    out.bulk('0');
    return out.raw(Replies.emptyArray);
  }
  let pattern: Buffer | null = null;
  let count = 10;
  for (let j = 3; j < argv.length; j++) {
    const more = j + 1 < argv.length;
    if (argIs(argv[j]!, 'count') && more) {
      const n = parseInt64(argv[++j]!);
      if (n === null) return out.error(WireErrors.notInteger);
      if (n < 1) return out.error(WireErrors.syntax);
      count = Number(n);
    } else if (argIs(argv[j]!, 'match') && more) {
      const p = argv[++j]!;
      pattern = p.length === 1 && p[0] === 42 ? null : p;
    } else return out.error(WireErrors.syntax);
  }
  const s = c.obj;
  const found: string[] = [];
  const visit = (m: string): void => {
    if (pattern === null || memberMatches(pattern, m)) found.push(m);
  };
  let next = 0;
  // An intset comes back whole with cursor 0, as Redis returns its small encodings.
  if (s.intset) for (let i = 0, size = s.size; i < size; i++) visit(s.at(i));
  else next = s.scanTable(cursor, count, visit);
  out.arrayHeader(2);
  out.bulk(String(next));
  replyList(out, found, false);
}

export const setCommands: HandlerTable = {
  sadd, srem, scard, sismember, smismember, smembers, srandmember, spop, smove,
  sinter, sintercard, sinterstore, sunion, sunionstore, sdiff, sdiffstore, sscan,
};
