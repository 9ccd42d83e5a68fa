/**
 * List commands (Redis 7.0 t_list.c), including the blocking pops.
 *
 * A list is packed in its arena item or a ListValue (a quicklist of Buffer nodes)
 * on the heap (../types/list.ts). The hot paths work on the bytes where they are:
 * on a packed list LLEN, LRANGE and LINDEX read in place, LPUSH/RPUSH append in
 * place while the list stays within the packed limits, LPOP/RPOP (and BLPOP ...)
 * reply from the page and close the gap; on a heap list pushes copy the argument
 * bytes into the end node and pops and reads copy entry bytes from the nodes into
 * the reply, with one keyspace lookup per command. Everything else opens the list
 * with openList (a packed list is decoded into a ListValue for the command) and
 * stores it with commitList: the list-only counterparts of ../types/collection.ts's
 * openForWrite and commit, which move bytes rather than strings. Argument errors
 * come in Redis's order: most commands parse their numbers before looking at the
 * key, LINDEX and LSET look at the key first.
 *
 * Two-key commands (LMOVE, RPOPLPUSH, BLMOVE, BRPOPLPUSH) push into the destination
 * and commit it first, then take the element off the source: a failed push (OOM)
 * leaves both keys untouched, and the source is re-found afterwards since the
 * destination's write may have evicted it.
 *
 * Blocking: when nothing can be popped a direct client registers a BlockedRequest
 * (../blocking.ts) and gets no reply yet; serve() later re-checks the keys in order,
 * pops and replies exactly as the non-blocking path does. A waiter whose key holds
 * another type keeps waiting (Redis 7.0); a BLMOVE whose destination turned into
 * another type gets WRONGTYPE when served. Timeouts reply a null array (BLMOVE too,
 * as Redis); a proxy link, which cannot block, gets at once what Redis answers
 * inside MULTI (null array, or a null bulk for BLMOVE / BRPOPLPUSH).
 */
import type { CommandContext, HandlerTable } from './context.js';
import type { ReplyWriter } from '../../shared/resp/reply-writer.js';
import { TYPE_LIST } from '../arena/layout.js';
import { WireErrors } from '../../shared/resp/wire-errors.js';
import { Replies } from '../../shared/resp/replies.js';
import { parseInt64 } from '../../shared/resp/numbers.js';
import { ListValue, PackedListReader, packedEntryBytes, packedListFits, packedSizeIfFits, writePackedEntry } from '../types/list.js';
import { deadlineOrReply } from '../blocking.js';
import { argIs } from './args.js';

const LONG_MIN = -9223372036854775808n;

/** Walks packed lists in place for reads and in-place pops (one command at a time). */
const reader = new PackedListReader();

/** A signed 64-bit argument as a number (magnitudes past 2^53 rounded: only compared against lengths). */
function longOrReply(ctx: CommandContext, arg: Buffer): number | undefined {
  const v = parseInt64(arg);
  if (v === null) {
    ctx.out.error(WireErrors.notInteger);
    return undefined;
  }
  return typeof v === 'bigint' ? Number(v) : v;
}

/** Redis's getPositiveLongFromObjectOrReply with a custom message (used for bad input too). */
function positiveOrReply(ctx: CommandContext, arg: Buffer, msg: string): number | undefined {
  const v = parseInt64(arg);
  if (v === null || v < 0) {
    ctx.out.error(msg);
    return undefined;
  }
  return typeof v === 'bigint' ? Number(v) : v;
}

/** getRangeLongFromObjectOrReply(1, LONG_MAX, msg): numkeys, COUNT of LMPOP. */
function atLeastOneOrReply(ctx: CommandContext, arg: Buffer, msg: string): number | undefined {
  const v = parseInt64(arg);
  if (v === null || v < 1) {
    ctx.out.error(msg);
    return undefined;
  }
  return typeof v === 'bigint' ? Number(v) : v;
}

/** LEFT → true (head), RIGHT → false, else a syntax error and undefined. */
function whereOrReply(ctx: CommandContext, arg: Buffer): boolean | undefined {
  if (argIs(arg, 'left')) return true;
  if (argIs(arg, 'right')) return false;
  ctx.out.error(WireErrors.syntax);
  return undefined;
}

/**
 * A bulk reply of src[pos, pos + len): ReplyWriter.bulkFrom with the header written
 * in place and no subarray per element (LRANGE writes a hundred of these a command).
 */
function bulk(out: ReplyWriter, src: Buffer, pos: number, len: number): void {
  out.ensure(len + 24);
  const dst = out.buf;
  let p = out.pos;
  dst[p++] = 0x24; // '$'
  if (len < 10) dst[p++] = 0x30 + len;
  else if (len < 100) {
    dst[p++] = 0x30 + ((len / 10) | 0);
    dst[p++] = 0x30 + (len % 10);
  } else {
    let digits = 3;
    for (let n = 1000; n <= len; n *= 10) digits++;
    let n = len;
    for (let i = p + digits - 1; i >= p; i--) {
      dst[i] = 0x30 + (n % 10);
      n = Math.floor(n / 10);
    }
    p += digits;
  }
  dst[p++] = 13;
  dst[p++] = 10;
  if (len <= 32) for (let i = pos, end = pos + len; i < end; i++) dst[p++] = src[i]!;
  else p += src.copy(dst, p, pos, pos + len);
  dst[p++] = 13;
  dst[p++] = 10;
  out.pos = p;
}

/** True when key holds something other than a list (missing is fine). */
function holdsOtherType(ctx: CommandContext, key: Buffer): boolean {
  const ref = ctx.ks.find(key, false);
  return ref !== 0 && ctx.ks.type(ref) !== TYPE_LIST;
}

// --- open and commit -------------------------------------------------------------------

/** A list open for a write: the heap object itself, or a packed list decoded (handle 0). */
interface OpenList {
  obj: ListValue;
  /** Heap handle, 0 while packed. */
  handle: number;
  /** The key existed before open. */
  existed: boolean;
}

/** The list object of a live list item, with its nodes following the current list-max-listpack-size. */
function listAt(ctx: CommandContext, ref: number): ListValue {
  const ks = ctx.ks;
  const fill = ctx.server.config.listMaxListpackSize;
  if (ks.isHeap(ref)) {
    const list = ks.heap.get(ks.heapHandle(ref)) as ListValue;
    list.fill = fill;
    return list;
  }
  const s = ks.valueStart(ref);
  return ListValue.fromPacked(ks.page(ref), s, s + ks.valueLen(ref), fill);
}

/**
 * The list at key for writing (openForWrite for lists). Missing: a new empty list
 * when `create`, else null. undefined after replying WRONGTYPE. `ref`: the key's
 * item when the caller looked it up (and touched it) already.
 */
function openList(ctx: CommandContext, key: Buffer, create: boolean, ref = -1): OpenList | null | undefined {
  const ks = ctx.ks;
  if (ref === -1) ref = ks.find(key);
  if (ref === 0) return create ? { obj: new ListValue([], ctx.server.config.listMaxListpackSize), handle: 0, existed: false } : null;
  if (ks.type(ref) !== TYPE_LIST) {
    ctx.out.error(WireErrors.wrongType);
    return undefined;
  }
  return { obj: listAt(ctx, ref), handle: ks.isHeap(ref) ? ks.heapHandle(ref) : 0, existed: true };
}

/**
 * Stores a list after a write (commit for lists): deletes it when empty, re-packs it
 * or moves it to the heap, re-accounts a heap list; keeps the TTL and wakes clients
 * blocked on a key it creates. false after replying OOM (nothing changed then for a
 * packed list).
 */
function commitList(ctx: CommandContext, key: Buffer, c: OpenList): boolean {
  const ks = ctx.ks;
  const list = c.obj;
  if (list.size === 0) {
    if (c.existed) ks.delete(key);
    return true;
  }
  if (c.handle !== 0) {
    ks.heap.setBytes(c.handle, list.bytes);
    return true;
  }
  const old = ks.find(key, false);
  const expireAt = old === 0 ? 0 : ks.expireAt(old);
  const packed = packedSizeIfFits(list, ctx.server.config);
  if (packed >= 0) {
    const ref = ks.write(key, TYPE_LIST, packed, expireAt, old);
    if (ref === 0) return oom(ctx);
    list.writePacked(ks.page(ref), ks.valueStart(ref));
  } else {
    const ref = ks.writeHeap(key, TYPE_LIST, list, list.bytes, expireAt, old);
    if (ref === 0) return oom(ctx);
    c.handle = ks.heapHandle(ref);
  }
  if (!c.existed) ctx.server.blocking.signal(key);
  c.existed = true;
  return true;
}

function oom(ctx: CommandContext): false {
  ctx.out.error(WireErrors.oom);
  return false;
}

// --- push ------------------------------------------------------------------------------

function pushGeneric(ctx: CommandContext, argv: Buffer[], head: boolean, onlyIfExists: boolean): void {
  const key = argv[1]!;
  const ks = ctx.ks;
  const ref = ks.find(key);
  if (ref === 0) {
    if (onlyIfExists) ctx.out.raw(Replies.zero);
    else createList(ctx, key, argv, head);
    return;
  }
  if (ks.type(ref) !== TYPE_LIST) {
    ctx.out.error(WireErrors.wrongType);
    return;
  }
  if (ks.isHeap(ref)) {
    const handle = ks.heapHandle(ref);
    const list = ks.heap.get(handle) as ListValue;
    list.fill = ctx.server.config.listMaxListpackSize;
    if (head) for (let j = 2; j < argv.length; j++) list.pushHead(argv[j]!);
    else for (let j = 2; j < argv.length; j++) list.pushTail(argv[j]!);
    ks.heap.setBytes(handle, list.bytes);
    ctx.out.integer(list.size);
    return;
  }
  if (pushPacked(ctx, key, ref, argv, head)) return;
  // The packed list outgrows its limits: decoded, pushed, moved to the heap.
  const c: OpenList = { obj: listAt(ctx, ref), handle: 0, existed: true };
  for (let j = 2; j < argv.length; j++) c.obj.push(argv[j]!, head);
  if (!commitList(ctx, key, c)) return;
  ctx.out.integer(c.obj.size);
}

/** A push creating key: packed straight into a new item when it fits, else a heap list. */
function createList(ctx: CommandContext, key: Buffer, argv: Buffer[], head: boolean): void {
  const n = argv.length - 2;
  let bytes = 4;
  for (let j = 2; j < argv.length; j++) bytes += packedEntryBytes(argv[j]!.length);
  if (!packedListFits(n, bytes, ctx.server.config)) {
    const c: OpenList = { obj: new ListValue([], ctx.server.config.listMaxListpackSize), handle: 0, existed: false };
    for (let j = 2; j < argv.length; j++) c.obj.push(argv[j]!, head);
    if (!commitList(ctx, key, c)) return;
    ctx.out.integer(c.obj.size);
    return;
  }
  const ks = ctx.ks;
  const ref = ks.write(key, TYPE_LIST, bytes, 0, 0);
  if (ref === 0) {
    oom(ctx);
    return;
  }
  const page = ks.page(ref);
  const s = ks.valueStart(ref);
  page.writeUInt32LE(n, s);
  let p = s + 4;
  // LPUSH a b c puts c first.
  if (head) for (let j = argv.length - 1; j >= 2; j--) p = writePackedEntry(page, p, argv[j]!);
  else for (let j = 2; j < argv.length; j++) p = writePackedEntry(page, p, argv[j]!);
  ctx.server.blocking.signal(key);
  ctx.out.integer(n);
}

/**
 * Pushes argv[2...] onto a packed list in place, without decoding it: grows the item
 * (geometrically, so repeated pushes are amortised O(1) plus a memmove for LPUSH)
 * and writes the new entries. False, with nothing done, when the list would outgrow
 * the packed limits (the caller then moves it to the heap).
 */
function pushPacked(ctx: CommandContext, key: Buffer, ref: number, argv: Buffer[], head: boolean): boolean {
  const ks = ctx.ks;
  const oldLen = ks.valueLen(ref);
  const count = ks.page(ref).readUInt32LE(ks.valueStart(ref)) + argv.length - 2;
  let added = 0;
  for (let j = 2; j < argv.length; j++) added += packedEntryBytes(argv[j]!.length);
  if (!packedListFits(count, oldLen + added, ctx.server.config)) return false;
  const r = ks.resizeValue(key, ref, oldLen + added);
  if (r === 0) {
    ctx.out.error(WireErrors.oom);
    return true;
  }
  const page = ks.page(r);
  const s = ks.valueStart(r);
  ks.beginWrite(r);
  if (head) {
    // LPUSH a b c puts c first: shift the old entries right, write the new ones last to first.
    page.copyWithin(s + 4 + added, s + 4, s + oldLen);
    let p = s + 4;
    for (let j = argv.length - 1; j >= 2; j--) p = writePackedEntry(page, p, argv[j]!);
  } else {
    let p = s + oldLen;
    for (let j = 2; j < argv.length; j++) p = writePackedEntry(page, p, argv[j]!);
  }
  page.writeUInt32LE(count, s);
  ks.endWrite(r);
  ctx.out.integer(count);
  return true;
}

/** Scratch for popPacked's tail entries (replied last first). */
const tailPos: number[] = [];
const tailLen: number[] = [];

/** `*2` and the key, ahead of what BLPOP / LMPOP pop. */
function keyPrefix(ctx: CommandContext, key: Buffer): void {
  ctx.out.arrayHeader(2);
  bulk(ctx.out, key, 0, key.length);
}

/**
 * LPOP / RPOP on a packed list in place: replies straight from the arena page, then
 * closes the gap and shrinks the item where it is (or deletes it when emptied).
 * `count` < 0: no count argument (a bulk reply). `withKey`: the reply is [key, what
 * was popped] (BLPOP, LMPOP). False, with nothing done, when the item would be left
 * mostly empty: the caller then re-packs it into a smaller chunk.
 */
function popPacked(ctx: CommandContext, key: Buffer, ref: number, head: boolean, count: number, withKey: boolean): boolean {
  const ks = ctx.ks;
  const out = ctx.out;
  const page = ks.page(ref);
  const vs = ks.valueStart(ref);
  const end = vs + ks.valueLen(ref);
  reader.open(page, vs);
  const n = reader.count;
  const k = count < 0 ? 1 : Math.min(count, n);
  let cut = end;
  let newLen = 0;
  if (k < n) {
    reader.skip(head ? k : n - k);
    cut = reader.nextAt;
    newLen = head ? 4 + (end - cut) : cut - vs;
    if (ks.valueCapacity(ref) > newLen * 2 + 64) return false;
  }
  if (withKey) keyPrefix(ctx, key);
  if (count >= 0) out.arrayHeader(k);
  if (head) {
    reader.open(page, vs);
    for (let i = 0; i < k; i++) {
      reader.next();
      bulk(out, page, reader.pos, reader.len);
    }
  } else {
    if (k === n) reader.open(page, vs);
    for (let i = 0; i < k; i++) {
      reader.next();
      tailPos[i] = reader.pos;
      tailLen[i] = reader.len;
    }
    for (let i = k - 1; i >= 0; i--) bulk(out, page, tailPos[i]!, tailLen[i]!);
  }
  if (k === n) {
    ks.remove(ref);
    return true;
  }
  ks.beginWrite(ref);
  if (head) page.copyWithin(vs + 4, cut, end);
  page.writeUInt32LE(n - k, vs);
  ks.endWrite(ref);
  ks.resizeValue(key, ref, newLen); // smaller: in place, cannot fail
  return true;
}

/** Popped entries waiting for their reply until the list is committed. */
const poppedBuf: Buffer[] = [];
const poppedPos: number[] = [];
const poppedLen: number[] = [];

/**
 * Pops from the live list item at ref (touched by the caller) and replies: a bulk
 * when count < 0, else an array of up to count elements in pop order; as [key, that]
 * when `withKey` (BLPOP, LMPOP).
 */
function popAt(ctx: CommandContext, key: Buffer, ref: number, head: boolean, count: number, withKey: boolean): void {
  const ks = ctx.ks;
  const out = ctx.out;
  if (ks.isHeap(ref)) {
    // The popped bytes stay in their node: reply from there, then re-account.
    const handle = ks.heapHandle(ref);
    const list = ks.heap.get(handle) as ListValue;
    if (withKey) keyPrefix(ctx, key);
    if (count < 0) {
      list.pop(head);
      bulk(out, list.buf, list.pos, list.len);
    } else {
      const n = Math.min(count, list.size);
      out.arrayHeader(n);
      for (let i = 0; i < n; i++) {
        list.pop(head);
        bulk(out, list.buf, list.pos, list.len);
      }
    }
    list.forget();
    if (list.size === 0) ks.remove(ref);
    else ks.heap.setBytes(handle, list.bytes);
    return;
  }
  if (popPacked(ctx, key, ref, head, count, withKey)) return;
  // Re-packed smaller: decoded, popped, committed; the reply (from the decoded nodes) only once that worked.
  const c: OpenList = { obj: listAt(ctx, ref), handle: 0, existed: true };
  const list = c.obj;
  const n = count < 0 ? 1 : Math.min(count, list.size);
  for (let i = 0; i < n; i++) {
    list.pop(head);
    poppedBuf[i] = list.buf;
    poppedPos[i] = list.pos;
    poppedLen[i] = list.len;
  }
  if (commitList(ctx, key, c)) {
    if (withKey) keyPrefix(ctx, key);
    if (count >= 0) out.arrayHeader(n);
    for (let i = 0; i < n; i++) bulk(out, poppedBuf[i]!, poppedPos[i]!, poppedLen[i]!);
  }
  poppedBuf.length = 0;
}

/** LPUSH key element [element ...] */
function lpush(ctx: CommandContext, argv: Buffer[]): void {
  pushGeneric(ctx, argv, true, false);
}

/** RPUSH key element [element ...] */
function rpush(ctx: CommandContext, argv: Buffer[]): void {
  pushGeneric(ctx, argv, false, false);
}

/** LPUSHX key element [element ...] */
function lpushx(ctx: CommandContext, argv: Buffer[]): void {
  pushGeneric(ctx, argv, true, true);
}

/** RPUSHX key element [element ...] */
function rpushx(ctx: CommandContext, argv: Buffer[]): void {
  pushGeneric(ctx, argv, false, true);
}

// --- pop -------------------------------------------------------------------------------

/** LPOP / RPOP key [count]: a bulk without count, an array with it (RPOP's in pop order). */
function popGeneric(ctx: CommandContext, argv: Buffer[], head: boolean): void {
  const out = ctx.out;
  if (argv.length > 3) {
    out.error(WireErrors.wrongArity(head ? 'lpop' : 'rpop'));
    return;
  }
  const hasCount = argv.length === 3;
  let count = 0;
  if (hasCount) {
    const n = positiveOrReply(ctx, argv[2]!, 'ERR value is out of range, must be positive');
    if (n === undefined) return;
    count = n;
  }
  const key = argv[1]!;
  const ks = ctx.ks;
  const ref = ks.find(key);
  if (ref === 0) {
    if (hasCount) out.nilArray();
    else out.nil();
    return;
  }
  if (ks.type(ref) !== TYPE_LIST) {
    out.error(WireErrors.wrongType);
    return;
  }
  if (hasCount && count === 0) {
    out.raw(Replies.emptyArray);
    return;
  }
  popAt(ctx, key, ref, head, hasCount ? count : -1, false);
}

/** LPOP key [count] */
function lpop(ctx: CommandContext, argv: Buffer[]): void {
  popGeneric(ctx, argv, true);
}

/** RPOP key [count] */
function rpop(ctx: CommandContext, argv: Buffer[]): void {
  popGeneric(ctx, argv, false);
}

// --- reads -----------------------------------------------------------------------------

/**
 * The list at key for a read-only command: its heap object, or null with `reader`
 * opened on the packed bytes; undefined when missing (`missing` replied) or after
 * WRONGTYPE. Counts a keyspace hit or miss.
 */
function readList(ctx: CommandContext, key: Buffer, missing: Buffer | null): ListValue | null | undefined {
  const ks = ctx.ks;
  const ref = ks.lookupRead(key);
  if (ref === 0) {
    if (missing === null) ctx.out.nil();
    else ctx.out.raw(missing);
    return undefined;
  }
  if (ks.type(ref) !== TYPE_LIST) {
    ctx.out.error(WireErrors.wrongType);
    return undefined;
  }
  if (ks.isHeap(ref)) return ks.heap.get(ks.heapHandle(ref)) as ListValue;
  reader.open(ks.page(ref), ks.valueStart(ref));
  return null;
}

/** LLEN key */
function llen(ctx: CommandContext, argv: Buffer[]): void {
  const list = readList(ctx, argv[1]!, Replies.zero);
  if (list !== undefined) ctx.out.integer(list === null ? reader.count : list.size);
}

/** LRANGE key start stop */
function lrange(ctx: CommandContext, argv: Buffer[]): void {
  let start = longOrReply(ctx, argv[2]!);
  if (start === undefined) return;
  let end = longOrReply(ctx, argv[3]!);
  if (end === undefined) return;
  const list = readList(ctx, argv[1]!, Replies.emptyArray);
  if (list === undefined) return;
  const len = list === null ? reader.count : list.size;
  if (start < 0) start += len;
  if (end < 0) end += len;
  if (start < 0) start = 0;
  if (start > end || start >= len) {
    ctx.out.raw(Replies.emptyArray);
    return;
  }
  if (end >= len) end = len - 1;
  const out = ctx.out;
  out.arrayHeader(end - start + 1);
  if (list !== null) {
    list.seek(start);
    bulk(out, list.buf, list.pos, list.len);
    for (let i = start; i < end; i++) {
      list.next();
      bulk(out, list.buf, list.pos, list.len);
    }
    list.forget();
    return;
  }
  reader.skip(start);
  const page = reader.page;
  for (let i = start; i <= end; i++) {
    reader.next();
    bulk(out, page, reader.pos, reader.len);
  }
}

/** LINDEX key index */
function lindex(ctx: CommandContext, argv: Buffer[]): void {
  const list = readList(ctx, argv[1]!, null);
  if (list === undefined) return;
  let index = longOrReply(ctx, argv[2]!);
  if (index === undefined) return;
  const len = list === null ? reader.count : list.size;
  if (index < 0) index += len;
  if (index < 0 || index >= len) ctx.out.nil();
  else if (list !== null) {
    list.seek(index);
    bulk(ctx.out, list.buf, list.pos, list.len);
    list.forget();
  } else {
    reader.skip(index + 1);
    bulk(ctx.out, reader.page, reader.pos, reader.len);
  }
}

/** LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len] */
function lpos(ctx: CommandContext, argv: Buffer[]): void {
  const out = ctx.out;
  let rank = 1;
  let count = -1;
  let maxlen = 0;
  // RANK -2^63 wraps in Redis (-rank stays negative): every match counts from the
  // first one and COUNT never stops the scan. Kept for fidelity.
  let rankWraps = false;
  for (let j = 3; j < argv.length; j++) {
    const opt = argv[j]!;
    const more = j + 1 < argv.length;
    if (more && argIs(opt, 'rank')) {
      const v = parseInt64(argv[++j]!);
      if (v === null) {
        out.error(WireErrors.notInteger);
        return;
      }
      if (v === 0) {
        out.error("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list");
        return;
      }
      rankWraps = v === LONG_MIN;
      rank = typeof v === 'bigint' ? Number(v) : v;
    } else if (more && argIs(opt, 'count')) {
      const v = positiveOrReply(ctx, argv[++j]!, "ERR COUNT can't be negative");
      if (v === undefined) return;
      count = v;
    } else if (more && argIs(opt, 'maxlen')) {
      const v = positiveOrReply(ctx, argv[++j]!, "ERR MAXLEN can't be negative");
      if (v === undefined) return;
      maxlen = v;
    } else {
      out.error(WireErrors.syntax);
      return;
    }
  }
  const fromTail = rank < 0;
  if (fromTail) rank = rankWraps ? 1 : -rank;
  const ks = ctx.ks;
  const ref = ks.lookupRead(argv[1]!);
  if (ref === 0) {
    if (count !== -1) out.raw(Replies.emptyArray);
    else out.nil();
    return;
  }
  if (ks.type(ref) !== TYPE_LIST) {
    out.error(WireErrors.wrongType);
    return;
  }
  const list = listAt(ctx, ref);
  const len = list.size;
  const ele = argv[2]!;
  const scan = maxlen === 0 ? len : Math.min(len, maxlen);
  let matches = 0;
  const found: number[] | null = count !== -1 ? [] : null;
  if (scan > 0) list.seek(fromTail ? len - 1 : 0);
  for (let k = 0; k < scan; k++) {
    if (k > 0) {
      if (fromTail) list.prev();
      else list.next();
    }
    if (!list.currentEquals(ele)) continue;
    matches++;
    if (matches < rank) continue;
    const i = fromTail ? len - 1 - k : k;
    if (found === null) {
      list.forget();
      out.integer(i);
      return;
    }
    found.push(i);
    if (count !== 0 && !rankWraps && found.length >= count) break;
  }
  list.forget();
  if (found === null) out.nil();
  else {
    out.arrayHeader(found.length);
    for (const i of found) out.integer(i);
  }
}

// --- in-place writes -------------------------------------------------------------------

/** LSET key index element */
function lset(ctx: CommandContext, argv: Buffer[]): void {
  const key = argv[1]!;
  const c = openList(ctx, key, false);
  if (c === undefined) return;
  if (c === null) {
    ctx.out.error(WireErrors.noSuchKey);
    return;
  }
  let index = longOrReply(ctx, argv[2]!);
  if (index === undefined) return;
  const len = c.obj.size;
  if (index < 0) index += len;
  if (index < 0 || index >= len) {
    ctx.out.error('ERR index out of range');
    return;
  }
  c.obj.setAt(index, argv[3]!);
  if (!commitList(ctx, key, c)) return;
  ctx.out.raw(Replies.ok);
}

/** LINSERT key <BEFORE | AFTER> pivot element */
function linsert(ctx: CommandContext, argv: Buffer[]): void {
  let after: boolean;
  if (argIs(argv[2]!, 'after')) after = true;
  else if (argIs(argv[2]!, 'before')) after = false;
  else {
    ctx.out.error(WireErrors.syntax);
    return;
  }
  const key = argv[1]!;
  const c = openList(ctx, key, false);
  if (c === undefined) return;
  if (c === null) {
    ctx.out.raw(Replies.zero);
    return;
  }
  const i = c.obj.indexOf(argv[3]!);
  if (i < 0) {
    ctx.out.raw(Replies.minusOne);
    return;
  }
  c.obj.insertAt(after ? i + 1 : i, argv[4]!);
  if (!commitList(ctx, key, c)) return;
  ctx.out.integer(c.obj.size);
}

/** LREM key count element */
function lrem(ctx: CommandContext, argv: Buffer[]): void {
  const n = longOrReply(ctx, argv[2]!);
  if (n === undefined) return;
  const key = argv[1]!;
  const c = openList(ctx, key, false);
  if (c === undefined) return;
  if (c === null) {
    ctx.out.raw(Replies.zero);
    return;
  }
  const removed = c.obj.removeEqual(argv[3]!, Math.abs(n), n < 0);
  if (removed !== 0 && !commitList(ctx, key, c)) return;
  ctx.out.integer(removed);
}

/** LTRIM key start stop */
function ltrim(ctx: CommandContext, argv: Buffer[]): void {
  let start = longOrReply(ctx, argv[2]!);
  if (start === undefined) return;
  let end = longOrReply(ctx, argv[3]!);
  if (end === undefined) return;
  const key = argv[1]!;
  const c = openList(ctx, key, false);
  if (c === undefined) return;
  if (c === null) {
    ctx.out.raw(Replies.ok);
    return;
  }
  const len = c.obj.size;
  if (start < 0) start += len;
  if (end < 0) end += len;
  if (start < 0) start = 0;
  let front: number;
  let back: number;
  if (start > end || start >= len) {
    front = len;
    back = 0;
  } else {
    if (end >= len) end = len - 1;
    front = start;
    back = len - end - 1;
  }
  if (front !== 0 || back !== 0) {
    c.obj.trim(front, back);
    if (!commitList(ctx, key, c)) return;
  }
  ctx.out.raw(Replies.ok);
}

// --- moves -----------------------------------------------------------------------------

/**
 * Moves one element from src's `fromHead` end to dst's `toHead` end and replies it
 * (LMOVE). Replies a null bulk when src is missing. `src` must hold a list or be
 * missing (checked by the caller's open); dst is checked here.
 */
function moveGeneric(ctx: CommandContext, src: Buffer, dst: Buffer, fromHead: boolean, toHead: boolean): void {
  const s = openList(ctx, src, false);
  if (s === undefined) return;
  if (s === null) {
    ctx.out.nil();
    return;
  }
  if (holdsOtherType(ctx, dst)) {
    ctx.out.error(WireErrors.wrongType);
    return;
  }
  moveFrom(ctx, s, src, dst, fromHead, toHead);
}

/** The move once src (open as `s`) is known non-empty and dst a list or missing. */
function moveFrom(ctx: CommandContext, s: OpenList, src: Buffer, dst: Buffer, fromHead: boolean, toHead: boolean): void {
  const list = s.obj;
  if (src.equals(dst)) {
    list.pop(fromHead);
    const v = list.copyCurrent();
    list.forget();
    list.push(v, toHead);
    if (!commitList(ctx, src, s)) return;
    ctx.out.bulkFrom(v, 0, v.length);
    return;
  }
  list.seek(fromHead ? 0 : list.size - 1);
  const v = list.copyCurrent();
  list.forget();
  const d = openList(ctx, dst, true);
  if (d === undefined || d === null) return; // dst was checked: neither happens
  d.obj.push(v, toHead);
  if (!commitList(ctx, dst, d)) return;
  // dst's write may have evicted src (maxmemory): pop only from a source still there.
  if (ctx.ks.find(src, false) !== 0) {
    list.pop(fromHead);
    list.forget();
    if (!commitList(ctx, src, s)) return;
  }
  ctx.out.bulkFrom(v, 0, v.length);
}

/** LMOVE source destination <LEFT | RIGHT> <LEFT | RIGHT> */
function lmove(ctx: CommandContext, argv: Buffer[]): void {
  const from = whereOrReply(ctx, argv[3]!);
  if (from === undefined) return;
  const to = whereOrReply(ctx, argv[4]!);
  if (to === undefined) return;
  moveGeneric(ctx, argv[1]!, argv[2]!, from, to);
}

/** RPOPLPUSH source destination */
function rpoplpush(ctx: CommandContext, argv: Buffer[]): void {
  moveGeneric(ctx, argv[1]!, argv[2]!, false, true);
}

// --- multi-key pops (LMPOP, BLPOP, BRPOP, BLMPOP) --------------------------------------

/**
 * Pops from the first non-empty list among keys and replies: [key, element] when
 * count < 0 (BLPOP), else [key, [elements]] (LMPOP). True when it replied (an
 * element, or WRONGTYPE unless `waiting`, when other types are skipped).
 */
function popFirst(ctx: CommandContext, keys: readonly Buffer[], head: boolean, count: number, waiting: boolean): boolean {
  const ks = ctx.ks;
  for (const key of keys) {
    const ref = ks.find(key);
    if (ref === 0) continue;
    if (ks.type(ref) !== TYPE_LIST) {
      if (waiting) continue;
      ctx.out.error(WireErrors.wrongType);
      return true;
    }
    popAt(ctx, key, ref, head, count, true);
    return true;
  }
  return false;
}

interface MpopArgs {
  keys: Buffer[];
  head: boolean;
  count: number;
}

/** LMPOP / BLMPOP arguments from argv[numkeysAt] on; undefined after an error reply. */
function parseMpop(ctx: CommandContext, argv: Buffer[], numkeysAt: number): MpopArgs | undefined {
  const numkeys = atLeastOneOrReply(ctx, argv[numkeysAt]!, 'ERR numkeys should be greater than 0');
  if (numkeys === undefined) return undefined;
  const whereAt = numkeysAt + numkeys + 1;
  if (whereAt >= argv.length) {
    ctx.out.error(WireErrors.syntax);
    return undefined;
  }
  const head = whereOrReply(ctx, argv[whereAt]!);
  if (head === undefined) return undefined;
  let count = -1;
  for (let j = whereAt + 1; j < argv.length; j++) {
    if (count === -1 && j + 1 < argv.length && argIs(argv[j]!, 'count')) {
      const n = atLeastOneOrReply(ctx, argv[++j]!, 'ERR count should be greater than 0');
      if (n === undefined) return undefined;
      count = n;
    } else {
      ctx.out.error(WireErrors.syntax);
      return undefined;
    }
  }
  return { keys: argv.slice(numkeysAt + 1, whereAt), head, count: count === -1 ? 1 : count };
}

/** LMPOP numkeys key [key ...] <LEFT | RIGHT> [COUNT count] */
function lmpop(ctx: CommandContext, argv: Buffer[]): void {
  const a = parseMpop(ctx, argv, 1);
  if (a === undefined) return;
  if (!popFirst(ctx, a.keys, a.head, a.count, false)) ctx.out.nilArray();
}

// --- blocking --------------------------------------------------------------------------

/** Blocks the client on keys, or replies `deny` at once where it may not block. */
function blockOn(ctx: CommandContext, keys: Buffer[], deadline: number, serve: () => boolean, deny: () => void): void {
  const blocking = ctx.server.blocking;
  if (!blocking.canBlock(ctx)) {
    deny();
    return;
  }
  // The keys are sub-arrays of the connection's input: keep copies while waiting.
  blocking.block({ ctx, keys, deadline, serve, timedOut: () => ctx.out.nilArray() });
}

function copyKeys(keys: readonly Buffer[]): Buffer[] {
  return keys.map((k) => Buffer.from(k));
}

function blockingPop(ctx: CommandContext, keys: Buffer[], timeoutArg: Buffer, head: boolean, count: number): void {
  const deadline = deadlineOrReply(ctx, timeoutArg);
  if (deadline === undefined) return;
  if (popFirst(ctx, keys, head, count, false)) return;
  const waitKeys = copyKeys(keys);
  blockOn(ctx, waitKeys, deadline, () => popFirst(ctx, waitKeys, head, count, true), () => ctx.out.nilArray());
}

/** BLPOP key [key ...] timeout */
function blpop(ctx: CommandContext, argv: Buffer[]): void {
  blockingPop(ctx, argv.slice(1, -1), argv[argv.length - 1]!, true, -1);
}

/** BRPOP key [key ...] timeout */
function brpop(ctx: CommandContext, argv: Buffer[]): void {
  blockingPop(ctx, argv.slice(1, -1), argv[argv.length - 1]!, false, -1);
}

/** BLMPOP timeout numkeys key [key ...] <LEFT | RIGHT> [COUNT count] */
function blmpop(ctx: CommandContext, argv: Buffer[]): void {
  const a = parseMpop(ctx, argv, 2);
  if (a === undefined) return;
  blockingPop(ctx, a.keys, argv[1]!, a.head, a.count);
}

function blockingMove(ctx: CommandContext, src: Buffer, dst: Buffer, fromHead: boolean, toHead: boolean, timeoutArg: Buffer): void {
  const deadline = deadlineOrReply(ctx, timeoutArg);
  if (deadline === undefined) return;
  const s = openList(ctx, src, false);
  if (s === undefined) return;
  if (s !== null) {
    if (holdsOtherType(ctx, dst)) ctx.out.error(WireErrors.wrongType);
    else moveFrom(ctx, s, src, dst, fromHead, toHead);
    return;
  }
  const srcKey = Buffer.from(src);
  const dstKey = Buffer.from(dst);
  const serve = (): boolean => {
    const ref = ctx.ks.find(srcKey);
    if (ref === 0 || ctx.ks.type(ref) !== TYPE_LIST) return false;
    moveGeneric(ctx, srcKey, dstKey, fromHead, toHead);
    return true;
  };
  blockOn(ctx, [srcKey], deadline, serve, () => ctx.out.nil());
}

/** BLMOVE source destination <LEFT | RIGHT> <LEFT | RIGHT> timeout */
function blmove(ctx: CommandContext, argv: Buffer[]): void {
  const from = whereOrReply(ctx, argv[3]!);
  if (from === undefined) return;
  const to = whereOrReply(ctx, argv[4]!);
  if (to === undefined) return;
  blockingMove(ctx, argv[1]!, argv[2]!, from, to, argv[5]!);
}

/** BRPOPLPUSH source destination timeout */
function brpoplpush(ctx: CommandContext, argv: Buffer[]): void {
  blockingMove(ctx, argv[1]!, argv[2]!, false, true, argv[3]!);
}

export const listCommands: HandlerTable = {
  lpush, rpush, lpushx, rpushx, lpop, rpop, llen, lrange, lindex, lpos, lset, linsert, lrem, ltrim,
  lmove, rpoplpush, lmpop, blpop, brpop, blmpop, blmove, brpoplpush,
};
