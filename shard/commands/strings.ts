/**
 * String commands. Values live in the worker's arena as TYPE_STRING items; handlers
 * copy bytes straight between the arena page and the reply buffer.
 */
import type { CommandContext, HandlerTable } from './context.js';
import { TYPE_STRING } from '../arena/layout.js';
import { ENCODING_RAW } from '../keyspace.js';
import { WireErrors } from '../../shared/resp/wire-errors.js';
import { Replies } from '../../shared/resp/replies.js';
import { parseInt64, parseFloat64 } from '../../shared/resp/numbers.js';
import { addLongDoubles } from '../../shared/resp/long-double.js';
import { parseLcsOptions, writeLcsReply } from '../../shared/lcs.js';
import { intOrReply, int64OrReply, argIs, INT64_MAX, INT64_MIN } from './args.js';

const F_NX = 1 << 0;
const F_XX = 1 << 1;
const F_GET = 1 << 2;
const F_KEEPTTL = 1 << 3;
const F_PERSIST = 1 << 4;
const F_EX = 1 << 5;
const F_PX = 1 << 6;
const F_EXAT = 1 << 7;
const F_PXAT = 1 << 8;
const F_EXPIRE = F_EX | F_PX | F_EXAT | F_PXAT;

interface Extended {
  flags: number;
  /** Absolute unix ms, 0 = none. */
  expireAt: number;
}

/**
 * Parses SET / GETEX options from argv[start...] (Redis's
 * parseExtendedStringArgumentsOrReply). Returns undefined after replying an error.
 */
function parseExtendedOrReply(ctx: CommandContext, argv: Buffer[], start: number, isSet: boolean, name: string): Extended | undefined {
  let flags = 0;
  let expireArg: Buffer | undefined;
  for (let j = start; j < argv.length; j++) {
    const a = argv[j]!;
    const hasNext = j + 1 < argv.length;
    if (isSet && argIs(a, 'nx') && !(flags & F_XX)) flags |= F_NX;
    else if (isSet && argIs(a, 'xx') && !(flags & F_NX)) flags |= F_XX;
    else if (isSet && argIs(a, 'get')) flags |= F_GET;
    else if (isSet && argIs(a, 'keepttl') && !(flags & (F_PERSIST | F_EXPIRE))) flags |= F_KEEPTTL;
    else if (!isSet && argIs(a, 'persist') && !(flags & (F_EXPIRE | F_KEEPTTL))) flags |= F_PERSIST;
    else if (hasNext && (argIs(a, 'ex') || argIs(a, 'px') || argIs(a, 'exat') || argIs(a, 'pxat'))) {
      // Repeating the same unit is accepted (the last value wins); mixing units is not.
      const unit = argIs(a, 'ex') ? F_EX : argIs(a, 'px') ? F_PX : argIs(a, 'exat') ? F_EXAT : F_PXAT;
      if (flags & (F_KEEPTTL | F_PERSIST | (F_EXPIRE & ~unit))) {
        ctx.out.error(WireErrors.syntax);
        return undefined;
      }
      flags |= unit;
      expireArg = argv[++j]!;
    } else {
      ctx.out.error(WireErrors.syntax);
      return undefined;
    }
  }
  let expireAt = 0;
  if (expireArg) {
    const at = expireOrReply(ctx, expireArg, (flags & (F_EX | F_EXAT)) !== 0, (flags & (F_EX | F_PX)) !== 0, name);
    if (at === undefined) return undefined;
    expireAt = at;
  }
  return { flags, expireAt };
}

/** Converts an expire argument to absolute unix ms, or replies the Redis error. */
function expireOrReply(ctx: CommandContext, arg: Buffer, seconds: boolean, relative: boolean, name: string): number | undefined {
  const v = parseInt64(arg);
  if (v === null) {
    ctx.out.error(WireErrors.notInteger);
    return undefined;
  }
  if (typeof v === 'bigint' || v <= 0 || (seconds && v > Number.MAX_SAFE_INTEGER / 1000)) {
    ctx.out.error(WireErrors.invalidExpire(name));
    return undefined;
  }
  let ms = seconds ? v * 1000 : v;
  if (relative) ms += ctx.ks.now;
  if (!Number.isSafeInteger(ms)) {
    ctx.out.error(WireErrors.invalidExpire(name));
    return undefined;
  }
  return ms;
}

/** Replies the string value at ref, or the WRONGTYPE error; true if it was a string. */
function replyString(ctx: CommandContext, ref: number): boolean {
  const ks = ctx.ks;
  if (ks.type(ref) !== TYPE_STRING) {
    ctx.out.error(WireErrors.wrongType);
    return false;
  }
  const s = ks.valueStart(ref);
  ctx.out.bulkFrom(ks.page(ref), s, s + ks.valueLen(ref));
  return true;
}

function oom(ctx: CommandContext): void {
  ctx.out.error(WireErrors.oom);
}

/**
 * The shared body of SET, SETNX, SETEX, PSETEX, GETSET (Redis setGenericCommand):
 * honours NX/XX, KEEPTTL and GET, deletes instead of storing an already-expired key.
 */
function setGeneric(ctx: CommandContext, key: Buffer, value: Buffer, flags: number, expireAt: number, okReply: Buffer | null, abortReply: Buffer | null): void {
  const ks = ctx.ks;
  const ref = ks.find(key);
  if (flags & F_GET) {
    if (ref === 0) ctx.out.nil();
    else if (!replyString(ctx, ref)) return;
  }
  if ((flags & F_NX && ref !== 0) || (flags & F_XX && ref === 0)) {
    if (flags & F_GET) return;
    if (abortReply) ctx.out.raw(abortReply);
    else ctx.out.nil();
    return;
  }
  const keepTtl = flags & F_KEEPTTL && ref !== 0 ? ks.expireAt(ref) : 0;
  const at = expireAt || keepTtl;
  if (at !== 0 && at <= ks.now) {
    if (ref !== 0) ks.remove(ref);
  } else if (ks.setString(key, value, 0, value.length, at, ref) === 0) {
    if (!(flags & F_GET)) oom(ctx);
    return;
  }
  if (!(flags & F_GET) && okReply) ctx.out.raw(okReply);
}

/** GET key */
function get(ctx: CommandContext, argv: Buffer[]): void {
  const ref = ctx.ks.lookupRead(argv[1]!);
  if (ref === 0) ctx.out.nil();
  else replyString(ctx, ref);
}

/** SET key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL] */
function set(ctx: CommandContext, argv: Buffer[]): void {
  if (argv.length === 3) {
    if (ctx.ks.setString(argv[1]!, argv[2]!, 0, argv[2]!.length, 0) === 0) return oom(ctx);
    ctx.out.raw(Replies.ok);
    return;
  }
  const ext = parseExtendedOrReply(ctx, argv, 3, true, 'set');
  if (!ext) return;
  setGeneric(ctx, argv[1]!, argv[2]!, ext.flags, ext.expireAt, Replies.ok, null);
}

/** SETNX key value */
function setnx(ctx: CommandContext, argv: Buffer[]): void {
  setGeneric(ctx, argv[1]!, argv[2]!, F_NX, 0, Replies.one, Replies.zero);
}

/** SETEX key seconds value */
function setex(ctx: CommandContext, argv: Buffer[]): void {
  const at = expireOrReply(ctx, argv[2]!, true, true, 'setex');
  if (at !== undefined) setGeneric(ctx, argv[1]!, argv[3]!, 0, at, Replies.ok, null);
}

/** PSETEX key milliseconds value */
function psetex(ctx: CommandContext, argv: Buffer[]): void {
  const at = expireOrReply(ctx, argv[2]!, false, true, 'psetex');
  if (at !== undefined) setGeneric(ctx, argv[1]!, argv[3]!, 0, at, Replies.ok, null);
}

/** GETSET key value */
function getset(ctx: CommandContext, argv: Buffer[]): void {
  setGeneric(ctx, argv[1]!, argv[2]!, F_GET, 0, null, null);
}

/** GETDEL key */
function getdel(ctx: CommandContext, argv: Buffer[]): void {
  const ref = ctx.ks.lookupRead(argv[1]!);
  if (ref === 0) return ctx.out.nil();
  if (replyString(ctx, ref)) ctx.ks.remove(ref);
}

/** GETEX key [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | PERSIST] */
function getex(ctx: CommandContext, argv: Buffer[]): void {
  const ext = parseExtendedOrReply(ctx, argv, 2, false, 'getex');
  if (!ext) return;
  const ks = ctx.ks;
  const ref = ks.lookupRead(argv[1]!);
  if (ref === 0) return ctx.out.nil();
  if (!replyString(ctx, ref)) return;
  if (ext.expireAt !== 0 && ext.expireAt <= ks.now) ks.remove(ref);
  else if (ext.expireAt !== 0) ks.setExpire(ref, ext.expireAt);
  else if (ext.flags & F_PERSIST) ks.setExpire(ref, 0);
}

/** MGET key [key ...] */
function mget(ctx: CommandContext, argv: Buffer[]): void {
  const ks = ctx.ks;
  ctx.out.arrayHeader(argv.length - 1);
  for (let i = 1; i < argv.length; i++) {
    const ref = ks.lookupRead(argv[i]!);
    if (ref === 0 || ks.type(ref) !== TYPE_STRING) ctx.out.nil();
    else {
      const s = ks.valueStart(ref);
      ctx.out.bulkFrom(ks.page(ref), s, s + ks.valueLen(ref));
    }
  }
}

/** MSET key value [key value ...] */
function mset(ctx: CommandContext, argv: Buffer[]): void {
  if (argv.length % 2 === 0) return ctx.out.error(WireErrors.wrongArity('mset'));
  for (let i = 1; i < argv.length; i += 2) {
    if (ctx.ks.setString(argv[i]!, argv[i + 1]!, 0, argv[i + 1]!.length, 0) === 0) return oom(ctx);
  }
  ctx.out.ok();
}

/** MSETNX key value [key value ...] */
function msetnx(ctx: CommandContext, argv: Buffer[]): void {
  if (argv.length % 2 === 0) return ctx.out.error(WireErrors.wrongArity('msetnx'));
  for (let i = 1; i < argv.length; i += 2) {
    if (ctx.ks.find(argv[i]!) !== 0) return ctx.out.raw(Replies.zero);
  }
  for (let i = 1; i < argv.length; i += 2) {
    if (ctx.ks.setString(argv[i]!, argv[i + 1]!, 0, argv[i + 1]!.length, 0) === 0) return oom(ctx);
  }
  ctx.out.raw(Replies.one);
}

/** Existing string item for key, 0 if absent, -1 after replying WRONGTYPE. */
function stringForWrite(ctx: CommandContext, key: Buffer): number {
  const ref = ctx.ks.find(key);
  if (ref !== 0 && ctx.ks.type(ref) !== TYPE_STRING) {
    ctx.out.error(WireErrors.wrongType);
    return -1;
  }
  return ref;
}

function checkStringLength(ctx: CommandContext, total: number): boolean {
  if (total > ctx.server.config.protoMaxBulkLen) {
    ctx.out.error(WireErrors.stringTooLong);
    return false;
  }
  return true;
}

/** APPEND key value */
function append(ctx: CommandContext, argv: Buffer[]): void {
  const key = argv[1]!;
  const add = argv[2]!;
  const ks = ctx.ks;
  let ref = stringForWrite(ctx, key);
  if (ref === -1) return;
  if (ref === 0) {
    if (ks.setString(key, add, 0, add.length, 0, 0) === 0) return oom(ctx);
    return ctx.out.integer(add.length);
  }
  const old = ks.valueLen(ref);
  if (!checkStringLength(ctx, old + add.length)) return;
  ref = ks.resizeValue(key, ref, old + add.length);
  if (ref === 0) return oom(ctx);
  ks.beginWrite(ref);
  ks.page(ref).set(add, ks.valueStart(ref) + old);
  ks.endWrite(ref);
  ks.setEncoding(ref, ENCODING_RAW);
  ctx.out.integer(old + add.length);
}

/** STRLEN key */
function strlen(ctx: CommandContext, argv: Buffer[]): void {
  const ref = ctx.ks.find(argv[1]!);
  if (ref === 0) return ctx.out.raw(Replies.zero);
  if (ctx.ks.type(ref) !== TYPE_STRING) return ctx.out.error(WireErrors.wrongType);
  ctx.out.integer(ctx.ks.valueLen(ref));
}

/** Writes a decimal string value in place of the key's value, keeping the TTL. */
function storeDecimal(ctx: CommandContext, key: Buffer, ref: number, text: string): number {
  const ks = ctx.ks;
  const len = text.length;
  if (ref === 0) {
    ref = ks.write(key, TYPE_STRING, len, 0, 0);
    if (ref === 0) return 0;
  } else {
    ref = ks.resizeValue(key, ref, len);
    if (ref === 0) return 0;
  }
  ks.beginWrite(ref);
  ks.page(ref).write(text, ks.valueStart(ref), len, 'latin1');
  ks.endWrite(ref);
  return ref;
}

/** The shared body of INCR, DECR, INCRBY, DECRBY (Redis incrDecrCommand). */
function incrDecr(ctx: CommandContext, key: Buffer, by: number | bigint): void {
  const ref = stringForWrite(ctx, key);
  if (ref === -1) return;
  let cur: number | bigint = 0;
  if (ref !== 0) {
    const s = ctx.ks.valueStart(ref);
    const v = parseInt64(ctx.ks.page(ref).subarray(s, s + ctx.ks.valueLen(ref)));
    if (v === null) return ctx.out.error(WireErrors.notInteger);
    cur = v;
  }
  let next: number | bigint;
  if (typeof cur === 'number' && typeof by === 'number' && Number.isSafeInteger(cur + by)) {
    next = cur + by;
  } else {
    const big = BigInt(cur) + BigInt(by);
    if (big > INT64_MAX || big < INT64_MIN) return ctx.out.error(WireErrors.overflow);
    next = big;
  }
  if (storeDecimal(ctx, key, ref, String(next)) === 0) return oom(ctx);
  if (typeof next === 'number') ctx.out.integer(next);
  else ctx.out.bigInteger(next);
}

/** INCR key */
function incr(ctx: CommandContext, argv: Buffer[]): void {
  incrDecr(ctx, argv[1]!, 1);
}

/** DECR key */
function decr(ctx: CommandContext, argv: Buffer[]): void {
  incrDecr(ctx, argv[1]!, -1);
}

/** INCRBY key increment */
function incrby(ctx: CommandContext, argv: Buffer[]): void {
  const by = int64OrReply(ctx.out, argv[2]!);
  if (by !== undefined) incrDecr(ctx, argv[1]!, by);
}

/** DECRBY key decrement */
function decrby(ctx: CommandContext, argv: Buffer[]): void {
  const by = int64OrReply(ctx.out, argv[2]!);
  if (by === undefined) return;
  if (by === INT64_MIN) return ctx.out.error('ERR decrement would overflow');
  incrDecr(ctx, argv[1]!, typeof by === 'number' ? -by : -by);
}

/** INCRBYFLOAT key increment */
function incrbyfloat(ctx: CommandContext, argv: Buffer[]): void {
  const key = argv[1]!;
  const ref = stringForWrite(ctx, key);
  if (ref === -1) return;
  let cur = '0';
  if (ref !== 0) {
    const s = ctx.ks.valueStart(ref);
    const bytes = ctx.ks.page(ref).subarray(s, s + ctx.ks.valueLen(ref));
    if (parseFloat64(bytes) === null) return ctx.out.error(WireErrors.notFloat);
    cur = bytes.toString('latin1');
  }
  if (parseFloat64(argv[2]!) === null) return ctx.out.error(WireErrors.notFloat);
  const text = addLongDoubles(cur, argv[2]!.toString('latin1'));
  if (text === null) return ctx.out.error(WireErrors.nanOrInf);
  if (storeDecimal(ctx, key, ref, text) === 0) return oom(ctx);
  ctx.out.bulk(text);
}

/** GETRANGE key start end (and SUBSTR) */
function getrange(ctx: CommandContext, argv: Buffer[]): void {
  let start = intOrReply(ctx.out, argv[2]!);
  if (start === undefined) return;
  let end = intOrReply(ctx.out, argv[3]!);
  if (end === undefined) return;
  const ks = ctx.ks;
  const ref = ks.find(argv[1]!);
  if (ref === 0) return ctx.out.raw(Replies.emptyBulk);
  if (ks.type(ref) !== TYPE_STRING) return ctx.out.error(WireErrors.wrongType);
  const len = ks.valueLen(ref);
  if (start < 0 && end < 0 && start > end) return ctx.out.raw(Replies.emptyBulk);
  if (start < 0) start += len;
  if (end < 0) end += len;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= len) end = len - 1;
  if (start > end || len === 0) return ctx.out.raw(Replies.emptyBulk);
  const s = ks.valueStart(ref);
  ctx.out.bulkFrom(ks.page(ref), s + start, s + end + 1);
}

/** SETRANGE key offset value */
function setrange(ctx: CommandContext, argv: Buffer[]): void {
  const key = argv[1]!;
  const value = argv[3]!;
  const offset = intOrReply(ctx.out, argv[2]!);
  if (offset === undefined) return;
  if (offset < 0) return ctx.out.error(WireErrors.offsetOutOfRange);
  const ks = ctx.ks;
  let ref = stringForWrite(ctx, key);
  if (ref === -1) return;
  if (ref === 0) {
    if (value.length === 0) return ctx.out.raw(Replies.zero);
    if (!checkStringLength(ctx, offset + value.length)) return;
    ref = ks.write(key, TYPE_STRING, offset + value.length, 0, 0);
    if (ref === 0) return oom(ctx);
    const s = ks.valueStart(ref);
    ks.page(ref).fill(0, s, s + offset);
    ks.page(ref).set(value, s + offset);
    ks.setEncoding(ref, ENCODING_RAW);
    return ctx.out.integer(offset + value.length);
  }
  const old = ks.valueLen(ref);
  if (value.length === 0) return ctx.out.integer(old);
  if (!checkStringLength(ctx, offset + value.length)) return;
  const total = Math.max(old, offset + value.length);
  if (total !== old) {
    ref = ks.resizeValue(key, ref, total);
    if (ref === 0) return oom(ctx);
  }
  const s = ks.valueStart(ref);
  ks.beginWrite(ref);
  if (offset > old) ks.page(ref).fill(0, s + old, s + offset);
  ks.page(ref).set(value, s + offset);
  ks.endWrite(ref);
  ks.setEncoding(ref, ENCODING_RAW);
  ctx.out.integer(total);
}

/** A string value as a copy for LCS; null after replying an error. */
function lcsValue(ctx: CommandContext, key: Buffer): Buffer | null {
  const ref = ctx.ks.find(key);
  if (ref === 0) return Buffer.alloc(0);
  if (ctx.ks.type(ref) !== TYPE_STRING) {
    ctx.out.error('ERR The specified keys must contain string values');
    return null;
  }
  return ctx.ks.valueCopy(ref);
}

/** LCS key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN] */
function lcsCommand(ctx: CommandContext, argv: Buffer[]): void {
  const a = lcsValue(ctx, argv[1]!);
  if (a === null) return;
  const b = lcsValue(ctx, argv[2]!);
  if (b === null) return;
  const opts = parseLcsOptions(argv);
  if (typeof opts === 'string') return ctx.out.error(opts);
  writeLcsReply(ctx.out, a, b, opts);
}

export const stringCommands: HandlerTable = {
  get, set, setnx, setex, psetex, getset, getdel, getex, mget, mset, msetnx, append, strlen,
  incr, decr, incrby, decrby, incrbyfloat, getrange, substr: getrange, setrange, lcs: lcsCommand,
};
