/**
 * Hash commands (Redis t_hash.c): HSET HMSET HSETNX HGET HMGET HDEL HLEN HSTRLEN
 * HEXISTS HKEYS HVALS HGETALL HINCRBY HINCRBYFLOAT HRANDFIELD HSCAN.
 *
 * A packed hash is worked on in its arena bytes (PackedHash, one per worker): reads
 * copy values from the page into the reply, writes that keep it packed build the new
 * bytes from the old ones and store them. A heap hash is its HashValue's HashTable,
 * read and written in place with the argument Buffers (no JS string per field). A
 * write that converts a packed hash takes the object path: openForWrite decodes it,
 * HashValue applies Redis's rules (hashTypeTryConversion before HSET, setChecked as
 * hashTypeSet) and switches to a table, commit moves it to the heap.
 * ../types/hash.ts has the layouts and the rules.
 */
import type { CommandContext, HandlerTable } from './context.js';
import type { Keyspace } from '../keyspace.js';
import { TYPE_HASH } from '../arena/layout.js';
import { HashValue, HashTable, PackedHash, hashType } from '../types/hash.js';
import { openForWrite, commit, type OpenCollection } from '../types/collection.js';
import { WireErrors } from '../../shared/resp/wire-errors.js';
import { Replies } from '../../shared/resp/replies.js';
import { parseInt64, parseFloat64 } from '../../shared/resp/numbers.js';
import { addLongDoubles } from '../../shared/resp/long-double.js';
import { globMatch } from '../../shared/glob.js';
import { argIs, int64OrReply, INT64_MAX, INT64_MIN } from './args.js';

const HASH_NOT_INTEGER = 'ERR hash value is not an integer';
const HASH_NOT_FLOAT = 'ERR hash value is not a float';
const INCR_NAN_OR_INF = 'ERR value is NaN or Infinity';
const COUNT_RANGE = 'ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807';
const COUNT_RANGE_WITHVALUES = 'ERR value is out of range';
/** LONG_MAX / 2: HRANDFIELD WITHVALUES replies twice count entries, so count is capped there. */
const HALF_LONG_MAX = 4611686018427387903n;
/** `*2 $1 0 *0`: the scan of a missing key. */
const EMPTY_SCAN = Buffer.from('*2\r\n$1\r\n0\r\n*0\r\n', 'latin1');
const SCAN_CURSOR_ZERO = Buffer.from('$1\r\n0\r\n', 'latin1');

const packed = new PackedHash();

function latin1(b: Buffer): string {
  return b.toString('latin1');
}

/** The hash item at key for a read (counts a hit or miss): 0 when missing, -1 after replying WRONGTYPE. */
function readRef(ctx: CommandContext, key: Buffer): number {
  const ref = ctx.ks.lookupRead(key);
  if (ref !== 0 && ctx.ks.type(ref) !== TYPE_HASH) {
    ctx.out.error(WireErrors.wrongType);
    return -1;
  }
  return ref;
}

/** The table of the heap hash at ref, or null when it is packed: `packed` is then open on its bytes. */
function view(ks: Keyspace, ref: number): HashTable | null {
  if (ks.isHeap(ref)) return (ks.heap.get(ks.heapHandle(ref)) as HashValue).table;
  packed.open(ks.page(ref), ks.valueStart(ref));
  return null;
}

/** Re-accounts the heap hash at ref after a change to its table. */
function reaccount(ks: Keyspace, ref: number): void {
  const handle = ks.heapHandle(ref);
  const bytes = (ks.heap.get(handle) as HashValue).bytes;
  if (ks.heap.bytesOf(handle) !== bytes) ks.heap.setBytes(handle, bytes);
}

/** Replies pair i of the indexed packed hash: its field, and its value when asked. */
function replyPackedPair(ctx: CommandContext, i: number, withValues: boolean): void {
  const out = ctx.out;
  const buf = packed.buf;
  const slots = packed.slots;
  const j = i * 4;
  if (withValues && out.proto === 3) out.arrayHeader(2);
  out.bulkFrom(buf, slots[j]!, slots[j]! + slots[j + 1]!);
  if (withValues) out.bulkFrom(buf, slots[j + 2]!, slots[j + 2]! + slots[j + 3]!);
}

/** Replies the table entry last found or visited: its field, and its value when asked. */
function replyTablePair(ctx: CommandContext, t: HashTable, withValues: boolean): void {
  const out = ctx.out;
  if (withValues && out.proto === 3) out.arrayHeader(2);
  out.bulkFrom(t.data, t.fAt, t.fAt + t.fLen);
  if (withValues) out.bulkFrom(t.data, t.vAt, t.vAt + t.vLen);
}

// --- writes ----------------------------------------------------------------------------

/** The item at key for a write: 0 when missing, -1 after replying WRONGTYPE. */
function writeRef(ctx: CommandContext, key: Buffer): number {
  const ref = ctx.ks.find(key);
  if (ref !== 0 && ctx.ks.type(ref) !== TYPE_HASH) {
    ctx.out.error(WireErrors.wrongType);
    return -1;
  }
  return ref;
}

/** The table of the hash at ref when it is on the heap, else null (packed, or ref 0). */
function heapTable(ks: Keyspace, ref: number): HashTable | null {
  return ref !== 0 && ks.isHeap(ref) ? (ks.heap.get(ks.heapHandle(ref)) as HashValue).table : null;
}

/** Opens `packed` on the packed hash at ref (0 = an empty one), indexed, ready for edits. */
function editPacked(ks: Keyspace, ref: number): void {
  if (ref === 0) packed.openEmpty();
  else packed.open(ks.page(ref), ks.valueStart(ref));
  packed.index();
  packed.beginEdit();
}

/** Stores the edited packed hash as key's value (TTL kept). False after replying OOM. */
function storePacked(ctx: CommandContext, key: Buffer, ref: number): boolean {
  const ks = ctx.ks;
  if (packed.editedPairs === 0) {
    if (ref !== 0) ks.remove(ref);
    return true;
  }
  const bytes = packed.encode();
  const at = ks.write(key, TYPE_HASH, bytes.length, ref === 0 ? 0 : ks.expireAt(ref), ref);
  if (at === 0) {
    ctx.out.error(WireErrors.oom);
    return false;
  }
  ks.page(at).set(bytes, ks.valueStart(at));
  return true;
}

/**
 * The hash at key as a HashValue, for a write that converts it: decoded from its
 * packed bytes (or new and empty); undefined after replying WRONGTYPE.
 */
function openOrCreate(ctx: CommandContext, key: Buffer): OpenCollection<HashValue> | undefined {
  return openForWrite(ctx, key, hashType, true) as OpenCollection<HashValue> | undefined;
}

/** Some argv[from...] is longer than hash-max-listpack-value (hashTypeTryConversion). */
function anyLonger(argv: Buffer[], from: number, max: number): boolean {
  for (let i = from; i < argv.length; i++) if (argv[i]!.length > max) return true;
  return false;
}

/**
 * HSET key field value [field value ...] → fields added; HMSET → OK.
 * As hashTypeTryConversion, a packed hash converts first when any argument is longer
 * than hash-max-listpack-value, even a value a later pair overwrites.
 */
function hsetGeneric(ctx: CommandContext, argv: Buffer[], name: string, replyOk: boolean): void {
  if (argv.length % 2 !== 0) return ctx.out.error(WireErrors.wrongArity(name));
  const key = argv[1]!;
  const ks = ctx.ks;
  const ref = writeRef(ctx, key);
  if (ref < 0) return;
  const config = ctx.server.config;
  let created = 0;
  const t = heapTable(ks, ref);
  if (t !== null) {
    for (let i = 2; i < argv.length; i += 2) if (t.set(argv[i]!, argv[i + 1]!)) created++;
    reaccount(ks, ref);
    return replyOk ? ctx.out.ok() : ctx.out.integer(created);
  }
  if (!anyLonger(argv, 2, config.hashMaxListpackValue)) {
    editPacked(ks, ref);
    for (let i = 2; i < argv.length; i += 2) if (packed.set(argv[i]!, argv[i + 1]!)) created++;
    if (packed.editedPairs <= config.hashMaxListpackEntries) {
      if (!storePacked(ctx, key, ref)) return;
      return replyOk ? ctx.out.ok() : ctx.out.integer(created);
    }
  }
  // It converts: through the object, as Redis would, then to the heap.
  const c = openOrCreate(ctx, key);
  if (c === undefined) return;
  const h = c.obj;
  if (anyLonger(argv, 2, config.hashMaxListpackValue)) h.toHeap();
  created = 0;
  for (let i = 2; i < argv.length; i += 2) if (h.setChecked(latin1(argv[i]!), latin1(argv[i + 1]!), config)) created++;
  if (!commit(ctx, key, c)) return;
  if (replyOk) ctx.out.ok();
  else ctx.out.integer(created);
}

function hset(ctx: CommandContext, argv: Buffer[]): void {
  hsetGeneric(ctx, argv, 'hset', false);
}

function hmset(ctx: CommandContext, argv: Buffer[]): void {
  hsetGeneric(ctx, argv, 'hmset', true);
}

/** HSETNX key field value → 1 set, 0 the field exists (then nothing converts). */
function hsetnx(ctx: CommandContext, argv: Buffer[]): void {
  const key = argv[1]!;
  const ks = ctx.ks;
  const ref = writeRef(ctx, key);
  if (ref < 0) return;
  const config = ctx.server.config;
  const t = heapTable(ks, ref);
  if (t !== null) {
    if (t.find(argv[2]!) >= 0) return ctx.out.raw(Replies.zero);
    t.set(argv[2]!, argv[3]!);
    reaccount(ks, ref);
    return ctx.out.raw(Replies.one);
  }
  editPacked(ks, ref);
  if (packed.find(argv[2]!) >= 0) return ctx.out.raw(Replies.zero);
  packed.set(argv[2]!, argv[3]!);
  if (!anyLonger(argv, 2, config.hashMaxListpackValue) && packed.editedPairs <= config.hashMaxListpackEntries) {
    if (!storePacked(ctx, key, ref)) return;
    return ctx.out.raw(Replies.one);
  }
  const c = openOrCreate(ctx, key);
  if (c === undefined) return;
  c.obj.setChecked(latin1(argv[2]!), latin1(argv[3]!), config);
  if (!commit(ctx, key, c)) return;
  ctx.out.raw(Replies.one);
}

/** HDEL key field [field ...] → fields removed; the key goes with the last one. */
function hdel(ctx: CommandContext, argv: Buffer[]): void {
  const key = argv[1]!;
  const ks = ctx.ks;
  const ref = writeRef(ctx, key);
  if (ref <= 0) {
    if (ref === 0) ctx.out.raw(Replies.zero);
    return;
  }
  let removed = 0;
  const t = heapTable(ks, ref);
  if (t !== null) {
    for (let i = 2; i < argv.length; i++) if (t.delete(argv[i]!)) removed++;
    if (t.count === 0) ks.remove(ref);
    else reaccount(ks, ref);
    return ctx.out.integer(removed);
  }
  editPacked(ks, ref);
  for (let i = 2; i < argv.length; i++) if (packed.remove(argv[i]!)) removed++;
  if (removed > 0 && !storePacked(ctx, key, ref)) return;
  ctx.out.integer(removed);
}

/** int64 a + b, or null when it overflows. */
function addInt64(a: number | bigint, b: number | bigint): number | bigint | null {
  if (typeof a === 'number' && typeof b === 'number') {
    const sum = a + b;
    if (Number.isSafeInteger(sum)) return sum;
  }
  const sum = BigInt(a) + BigInt(b);
  if (sum > INT64_MAX || sum < INT64_MIN) return null;
  return sum >= BigInt(Number.MIN_SAFE_INTEGER) && sum <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(sum) : sum;
}

/**
 * The shared body of HINCRBY and HINCRBYFLOAT (after the increment is parsed): finds
 * the field's value bytes (null when absent), asks `next` for the new value text (or
 * an error line), stores it as hashTypeSet would. Returns the text, or undefined
 * after replying an error.
 */
function incrGeneric(ctx: CommandContext, argv: Buffer[], next: (cur: Uint8Array | null) => string | { error: string }): string | undefined {
  const key = argv[1]!;
  const field = argv[2]!;
  const ks = ctx.ks;
  const ref = writeRef(ctx, key);
  if (ref < 0) return undefined;
  const config = ctx.server.config;
  const t = heapTable(ks, ref);
  let cur: Uint8Array | null;
  if (t !== null) cur = t.find(field) < 0 ? null : t.data.subarray(t.vAt, t.vAt + t.vLen);
  else {
    editPacked(ks, ref);
    const i = packed.find(field);
    const slots = packed.slots;
    cur = i < 0 ? null : packed.buf.subarray(slots[i * 4 + 2]!, slots[i * 4 + 2]! + slots[i * 4 + 3]!);
  }
  const text = next(cur);
  if (typeof text !== 'string') {
    ctx.out.error(text.error);
    return undefined;
  }
  if (t !== null) {
    t.set(field, text);
    reaccount(ks, ref);
    return text;
  }
  packed.set(field, text);
  if (field.length <= config.hashMaxListpackValue && text.length <= config.hashMaxListpackValue && packed.editedPairs <= config.hashMaxListpackEntries) {
    return storePacked(ctx, key, ref) ? text : undefined;
  }
  const c = openOrCreate(ctx, key);
  if (c === undefined) return undefined;
  c.obj.setChecked(latin1(field), text, config);
  return commit(ctx, key, c) ? text : undefined;
}

/** HINCRBY key field increment → the new value (the increment is checked before the key). */
function hincrby(ctx: CommandContext, argv: Buffer[]): void {
  const incr = int64OrReply(ctx.out, argv[3]!);
  if (incr === undefined) return;
  let result: number | bigint = 0;
  const text = incrGeneric(ctx, argv, (cur) => {
    let v: number | bigint | null = 0;
    if (cur !== null) {
      v = cur.length > 20 ? null : parseInt64(cur);
      if (v === null) return { error: HASH_NOT_INTEGER };
    }
    const sum = addInt64(v, incr);
    if (sum === null) return { error: WireErrors.overflow };
    result = sum;
    return String(sum);
  });
  if (text === undefined) return;
  if (typeof result === 'bigint') ctx.out.bigInteger(result);
  else ctx.out.integer(result);
}

/** HINCRBYFLOAT key field increment → the new value as text, in long double arithmetic as Redis (shared/resp/long-double.ts). */
function hincrbyfloat(ctx: CommandContext, argv: Buffer[]): void {
  const incr = parseFloat64(argv[3]!);
  if (incr === null) return ctx.out.error(WireErrors.notFloat);
  if (!Number.isFinite(incr)) return ctx.out.error(INCR_NAN_OR_INF);
  const incrText = argv[3]!.toString('latin1');
  const text = incrGeneric(ctx, argv, (cur) => {
    if (cur !== null && parseFloat64(cur) === null) return { error: HASH_NOT_FLOAT };
    const sum = addLongDoubles(cur === null ? '0' : Buffer.from(cur).toString('latin1'), incrText);
    return sum ?? { error: WireErrors.nanOrInf };
  });
  if (text !== undefined) ctx.out.bulkLatin1(text);
}

// --- reads -----------------------------------------------------------------------------

/** HGET key field */
function hget(ctx: CommandContext, argv: Buffer[]): void {
  const ref = readRef(ctx, argv[1]!);
  if (ref <= 0) {
    if (ref === 0) ctx.out.nil();
    return;
  }
  const t = view(ctx.ks, ref);
  if (t === null) {
    if (packed.seek(argv[2]!)) ctx.out.bulkFrom(packed.buf, packed.at, packed.at + packed.len);
    else ctx.out.nil();
  } else if (t.find(argv[2]!) >= 0) ctx.out.bulkFrom(t.data, t.vAt, t.vAt + t.vLen);
  else ctx.out.nil();
}

/** HMGET key field [field ...] → one value or nil per field (all nil for a missing key). */
function hmget(ctx: CommandContext, argv: Buffer[]): void {
  const ref = readRef(ctx, argv[1]!);
  if (ref < 0) return;
  const out = ctx.out;
  out.arrayHeader(argv.length - 2);
  if (ref === 0) {
    for (let i = 2; i < argv.length; i++) out.nil();
    return;
  }
  const ks = ctx.ks;
  const t = view(ks, ref);
  for (let i = 2; i < argv.length; i++) {
    if (t === null) {
      packed.open(ks.page(ref), ks.valueStart(ref));
      if (packed.seek(argv[i]!)) out.bulkFrom(packed.buf, packed.at, packed.at + packed.len);
      else out.nil();
    } else if (t.find(argv[i]!) >= 0) out.bulkFrom(t.data, t.vAt, t.vAt + t.vLen);
    else out.nil();
  }
}

/** HLEN key */
function hlen(ctx: CommandContext, argv: Buffer[]): void {
  const ref = readRef(ctx, argv[1]!);
  if (ref <= 0) {
    if (ref === 0) ctx.out.raw(Replies.zero);
    return;
  }
  const t = view(ctx.ks, ref);
  ctx.out.integer(t === null ? packed.pairs : t.count);
}

/** HSTRLEN key field → the value's length, 0 when missing. */
function hstrlen(ctx: CommandContext, argv: Buffer[]): void {
  const ref = readRef(ctx, argv[1]!);
  if (ref <= 0) {
    if (ref === 0) ctx.out.raw(Replies.zero);
    return;
  }
  const t = view(ctx.ks, ref);
  if (t === null) ctx.out.integer(packed.seek(argv[2]!) ? packed.len : 0);
  else ctx.out.integer(t.find(argv[2]!) >= 0 ? t.vLen : 0);
}

/** HEXISTS key field */
function hexists(ctx: CommandContext, argv: Buffer[]): void {
  const ref = readRef(ctx, argv[1]!);
  if (ref <= 0) {
    if (ref === 0) ctx.out.raw(Replies.zero);
    return;
  }
  const t = view(ctx.ks, ref);
  const found = t === null ? packed.seek(argv[2]!) : t.find(argv[2]!) >= 0;
  ctx.out.raw(found ? Replies.one : Replies.zero);
}

const KEYS = 1;
const VALUES = 2;

/** The shared body of HKEYS, HVALS, HGETALL: `what` is KEYS and/or VALUES. */
function hgetallGeneric(ctx: CommandContext, argv: Buffer[], what: number): void {
  const ref = readRef(ctx, argv[1]!);
  const out = ctx.out;
  const both = what === (KEYS | VALUES);
  if (ref <= 0) {
    if (ref === 0) {
      if (both) out.mapHeader(0);
      else out.raw(Replies.emptyArray);
    }
    return;
  }
  const t = view(ctx.ks, ref);
  const n = t === null ? packed.pairs : t.count;
  if (both) out.mapHeader(n);
  else out.arrayHeader(n);
  if (t === null) {
    const buf = packed.buf;
    for (let i = 0; i < n; i++) {
      packed.next();
      if (what & KEYS) out.bulkFrom(buf, packed.at, packed.at + packed.len);
      packed.next();
      if (what & VALUES) out.bulkFrom(buf, packed.at, packed.at + packed.len);
    }
    return;
  }
  const data = t.data;
  for (let off = t.nextEntry(0); off >= 0; off = t.nextEntry(t.after)) {
    if (what & KEYS) out.bulkFrom(data, t.fAt, t.fAt + t.fLen);
    if (what & VALUES) out.bulkFrom(data, t.vAt, t.vAt + t.vLen);
  }
}

function hkeys(ctx: CommandContext, argv: Buffer[]): void {
  hgetallGeneric(ctx, argv, KEYS);
}

function hvals(ctx: CommandContext, argv: Buffer[]): void {
  hgetallGeneric(ctx, argv, VALUES);
}

function hgetall(ctx: CommandContext, argv: Buffer[]): void {
  hgetallGeneric(ctx, argv, KEYS | VALUES);
}

/** Offsets of the table entries HRANDFIELD picked (distinct picks), reused. */
const picked = new Set<number>();

/**
 * HRANDFIELD key [count [WITHVALUES]]
 *
 * count < 0: |count| independent picks, repeats allowed. count >= size: the whole hash.
 * Otherwise count distinct fields: a packed hash by selection sampling in its order
 * (as Redis's lpRandomPairsUnique), a heap hash the same way when count is over a
 * third of it (Redis's CASE 3 also walks the whole dict), else by distinct random
 * picks (CASE 4). WITHVALUES replies field, value pairs: flat in RESP2, one 2-array
 * per pair in RESP3.
 */
function hrandfield(ctx: CommandContext, argv: Buffer[]): void {
  const out = ctx.out;
  if (argv.length === 2) {
    const ref = readRef(ctx, argv[1]!);
    if (ref <= 0) {
      if (ref === 0) out.nil();
      return;
    }
    const t = view(ctx.ks, ref);
    if (t === null) {
      packed.index();
      replyPackedPair(ctx, Math.floor(Math.random() * packed.pairs), false);
    } else {
      t.randomEntry();
      replyTablePair(ctx, t, false);
    }
    return;
  }
  const l = parseInt64(argv[2]!);
  if (l === null) return out.error(WireErrors.notInteger);
  if (l === INT64_MIN) return out.error(COUNT_RANGE);
  if (argv.length > 4 || (argv.length === 4 && !argIs(argv[3]!, 'withvalues'))) return out.error(WireErrors.syntax);
  const withValues = argv.length === 4;
  if (withValues && (l < -HALF_LONG_MAX || l > HALF_LONG_MAX)) return out.error(COUNT_RANGE_WITHVALUES);
  const ref = readRef(ctx, argv[1]!);
  if (ref < 0) return;
  if (ref === 0 || l === 0) return out.raw(Replies.emptyArray);
  const unique = l > 0;
  // Beyond 2^53 the count is only compared with the size (positive) or replied that many times (negative).
  const count = typeof l === 'bigint' ? Number(unique ? l : -l) : Math.abs(l);
  const flatValues = withValues && out.proto === 2;
  const t = view(ctx.ks, ref);
  const size = t === null ? packed.index() : t.count;

  if (!unique || count === 1) {
    out.arrayHeader(flatValues ? count * 2 : count);
    for (let i = 0; i < count; i++) {
      if (t === null) replyPackedPair(ctx, Math.floor(Math.random() * size), withValues);
      else {
        t.randomEntry();
        replyTablePair(ctx, t, withValues);
      }
    }
    return;
  }
  const n = Math.min(count, size);
  out.arrayHeader(flatValues ? n * 2 : n);
  if (t === null) {
    // Selection sampling: each pair is taken with probability (still needed / still left).
    let need = n;
    for (let i = 0; i < size && need > 0; i++) {
      if (Math.random() * (size - i) < need) {
        replyPackedPair(ctx, i, withValues);
        need--;
      }
    }
    return;
  }
  if (count * 3 > size) {
    let need = n;
    let left = size;
    for (let off = t.nextEntry(0); off >= 0 && need > 0; off = t.nextEntry(t.after), left--) {
      if (Math.random() * left < need) {
        replyTablePair(ctx, t, withValues);
        need--;
      }
    }
    return;
  }
  picked.clear();
  while (picked.size < count) picked.add(t.randomEntry());
  for (const off of picked) {
    t.nextEntry(off);
    replyTablePair(ctx, t, withValues);
  }
  picked.clear();
}

/** isspace() of C: what strtoul would skip and Redis refuses at a cursor's start. */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

const U64_MAX = 18446744073709551615n;

/**
 * A SCAN cursor as Redis's parseScanCursorOrReply reads it (strtoul): an optional
 * sign, decimal digits and nothing else; "" is 0, "-n" wraps around 2^64. null when
 * invalid. Values beyond 2^53 come back inexact: no cursor handed out is that big.
 */
export function parseScanCursor(b: Uint8Array): number | null {
  const len = b.length;
  if (len === 0) return 0;
  if (isSpace(b[0]!)) return null;
  let i = 0;
  const neg = b[0] === 45;
  if (neg || b[0] === 43) i = 1;
  if (i === len) return null;
  let n = 0;
  for (let j = i; j < len; j++) {
    const d = b[j]! - 48;
    if (d < 0 || d > 9) return null;
    n = n * 10 + d;
  }
  if (n > Number.MAX_SAFE_INTEGER) {
    const big = BigInt(Buffer.from(b.subarray(i)).toString('latin1'));
    if (big > U64_MAX) return null;
    return Number(neg && big !== 0n ? U64_MAX + 1n - big : big);
  }
  return neg && n !== 0 ? Number(U64_MAX + 1n - BigInt(n)) : n;
}

/**
 * HSCAN key cursor [MATCH pattern] [COUNT count]
 *
 * A packed hash comes back whole with cursor 0 (as a listpack in Redis, whatever the
 * cursor and COUNT). A heap hash visits COUNT fields per call (MATCH filters those)
 * through a cursor that survives writes between calls (HashTable.scan).
 */
function hscan(ctx: CommandContext, argv: Buffer[]): void {
  const out = ctx.out;
  const cursor = parseScanCursor(argv[2]!);
  if (cursor === null) return out.error(WireErrors.invalidCursor);
  const ref = readRef(ctx, argv[1]!);
  if (ref < 0) return;
  if (ref === 0) return out.raw(EMPTY_SCAN);
  let pattern: Buffer | null = null;
  let count = 10;
  for (let j = 3; j < argv.length; j++) {
    const more = j + 1 < argv.length;
    if (more && argIs(argv[j]!, 'count')) {
      const v = int64OrReply(out, argv[++j]!);
      if (v === undefined) return;
      if (v < 1) return out.error(WireErrors.syntax);
      count = typeof v === 'bigint' ? Number.MAX_SAFE_INTEGER : v;
    } else if (more && argIs(argv[j]!, 'match')) {
      const p = argv[++j]!;
      pattern = p.length === 1 && p[0] === 42 ? null : p;
    } else return out.error(WireErrors.syntax);
  }
  const t = view(ctx.ks, ref);
  if (t === null) {
    const n = packed.index();
    const buf = packed.buf;
    const slots = packed.slots;
    let matched = n;
    if (pattern !== null) {
      // Keep the matching pairs at the front of `slots`.
      matched = 0;
      for (let i = 0; i < n; i++) {
        const j = i * 4;
        if (!globMatch(pattern, 0, pattern.length, buf, slots[j]!, slots[j]! + slots[j + 1]!)) continue;
        slots.copyWithin(matched * 4, j, j + 4);
        matched++;
      }
    }
    out.arrayHeader(2);
    out.raw(SCAN_CURSOR_ZERO);
    out.arrayHeader(matched * 2);
    for (let i = 0, j = 0; i < matched; i++, j += 4) {
      out.bulkFrom(buf, slots[j]!, slots[j]! + slots[j + 1]!);
      out.bulkFrom(buf, slots[j + 2]!, slots[j + 2]! + slots[j + 3]!);
    }
    return;
  }
  // The entries visited, as offsets (the reply needs their number first).
  let found = 0;
  const next = t.scan(cursor, count, () => {
    if (pattern !== null && !globMatch(pattern, 0, pattern.length, t.data, t.fAt, t.fAt + t.fLen)) return;
    if (scanHits.length < found * 4 + 4) scanHits = grow(scanHits);
    scanHits[found * 4] = t.fAt;
    scanHits[found * 4 + 1] = t.fLen;
    scanHits[found * 4 + 2] = t.vAt;
    scanHits[found * 4 + 3] = t.vLen;
    found++;
  });
  out.arrayHeader(2);
  if (next === 0) out.raw(SCAN_CURSOR_ZERO);
  else out.bulk(String(next));
  out.arrayHeader(found * 2);
  const data = t.data;
  for (let i = 0; i < found * 4; i += 4) {
    out.bulkFrom(data, scanHits[i]!, scanHits[i]! + scanHits[i + 1]!);
    out.bulkFrom(data, scanHits[i + 2]!, scanHits[i + 2]! + scanHits[i + 3]!);
  }
}

/** HSCAN's visited entries (field at, len, value at, len), reused. */
let scanHits: Int32Array = new Int32Array(4 * 64);

function grow(a: Int32Array): Int32Array {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

export const hashCommands: HandlerTable = {
  hset, hmset, hsetnx, hdel, hincrby, hincrbyfloat,
  hget, hmget, hlen, hstrlen, hexists, hkeys, hvals, hgetall, hrandfield, hscan,
};
