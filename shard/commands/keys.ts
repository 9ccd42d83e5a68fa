/**
 * Generic keyspace commands: DEL EXISTS EXPIRE TTL TYPE RENAME COPY KEYS SCAN ...
 * plus the internal SHOAL.DUMPKEY / SHOAL.RESTOREKEY the proxy uses to move a key
 * between workers (RENAME, COPY across workers).
 */
import type { CommandContext, HandlerTable } from './context.js';
import { TYPE_NAMES, dumpValue, restoreValue } from '../types/registry.js';
import { WireErrors } from '../../shared/resp/wire-errors.js';
import { Replies } from '../../shared/resp/replies.js';
import { parseInt64, parseSafeInt } from '../../shared/resp/numbers.js';
import { globMatch } from '../../shared/glob.js';
import { argIs, intOrReply } from './args.js';

const LLONG_MAX = 9223372036854775807;

/** DEL key [key ...] (and UNLINK: values are freed at once, there is no lazy free yet) */
function del(ctx: CommandContext, argv: Buffer[]): void {
  let n = 0;
  for (let i = 1; i < argv.length; i++) if (ctx.ks.delete(argv[i]!)) n++;
  ctx.out.integer(n);
}

/** EXISTS key [key ...] */
function exists(ctx: CommandContext, argv: Buffer[]): void {
  let n = 0;
  for (let i = 1; i < argv.length; i++) if (ctx.ks.find(argv[i]!) !== 0) n++;
  ctx.out.integer(n);
}

/** TOUCH key [key ...]: counts like EXISTS, and records the access even for a CLIENT NO-TOUCH client (Redis 7.2). */
function touch(ctx: CommandContext, argv: Buffer[]): void {
  const ks = ctx.ks;
  const noTouch = ks.noTouch;
  ks.noTouch = false;
  exists(ctx, argv);
  ks.noTouch = noTouch;
}

/** SHOAL.NOTOUCH 0|1 (internal): brackets a CLIENT NO-TOUCH client's command in a proxy batch. */
function shoalNotouch(ctx: CommandContext, argv: Buffer[]): void {
  ctx.ks.noTouch = argv[1]![0] === 0x31;
  ctx.out.ok();
}

/** TYPE key */
function type(ctx: CommandContext, argv: Buffer[]): void {
  const ref = ctx.ks.find(argv[1]!);
  ctx.out.simple(ref === 0 ? 'none' : TYPE_NAMES[ctx.ks.type(ref)] ?? 'none');
}

const EX_NX = 1;
const EX_XX = 2;
const EX_GT = 4;
const EX_LT = 8;

/**
 * The shared body of EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (Redis
 * expireGenericCommand). `base` is 0 for absolute forms, now for relative ones.
 */
function expireGeneric(ctx: CommandContext, argv: Buffer[], base: number, seconds: boolean, name: string): void {
  let flags = 0;
  for (let j = 3; j < argv.length; j++) {
    const a = argv[j]!;
    if (argIs(a, 'nx')) flags |= EX_NX;
    else if (argIs(a, 'xx')) flags |= EX_XX;
    else if (argIs(a, 'gt')) flags |= EX_GT;
    else if (argIs(a, 'lt')) flags |= EX_LT;
    else return ctx.out.error(`ERR Unsupported option ${a.toString()}`);
  }
  if (flags & EX_NX && flags & (EX_XX | EX_GT | EX_LT)) return ctx.out.error(WireErrors.expireNxXxGtLt);
  if (flags & EX_GT && flags & EX_LT) return ctx.out.error(WireErrors.expireGtLt);
  const parsed = parseInt64(argv[2]!);
  if (parsed === null) return ctx.out.error(WireErrors.notInteger);
  let when = Number(parsed);
  if (seconds) {
    if (when > LLONG_MAX / 1000 || when < -LLONG_MAX / 1000) return ctx.out.error(WireErrors.invalidExpire(name));
    when *= 1000;
  }
  if (when > LLONG_MAX - base) return ctx.out.error(WireErrors.invalidExpire(name));
  when += base;
  const ks = ctx.ks;
  const ref = ks.find(argv[1]!);
  if (ref === 0) return ctx.out.raw(Replies.zero);
  if (flags) {
    const cur = ks.expireAt(ref);
    if (flags & EX_NX && cur !== 0) return ctx.out.raw(Replies.zero);
    if (flags & EX_XX && cur === 0) return ctx.out.raw(Replies.zero);
    if (flags & EX_GT && (cur === 0 || when <= cur)) return ctx.out.raw(Replies.zero);
    if (flags & EX_LT && cur !== 0 && when >= cur) return ctx.out.raw(Replies.zero);
  }
  if (when <= ks.now) ks.remove(ref);
  // 0 means "no expiry" in the item header; an absolute time of 0 ms is in the past anyway.
  else ks.setExpire(ref, when);
  ctx.out.raw(Replies.one);
}

function expire(ctx: CommandContext, argv: Buffer[]): void {
  expireGeneric(ctx, argv, ctx.ks.now, true, 'expire');
}
function pexpire(ctx: CommandContext, argv: Buffer[]): void {
  expireGeneric(ctx, argv, ctx.ks.now, false, 'pexpire');
}
function expireat(ctx: CommandContext, argv: Buffer[]): void {
  expireGeneric(ctx, argv, 0, true, 'expireat');
}
function pexpireat(ctx: CommandContext, argv: Buffer[]): void {
  expireGeneric(ctx, argv, 0, false, 'pexpireat');
}

/** The shared body of TTL, PTTL, EXPIRETIME, PEXPIRETIME. */
function ttlGeneric(ctx: CommandContext, key: Buffer, ms: boolean, absolute: boolean): void {
  const ref = ctx.ks.find(key);
  if (ref === 0) return ctx.out.raw(Replies.minusTwo);
  const at = ctx.ks.expireAt(ref);
  if (at === 0) return ctx.out.raw(Replies.minusOne);
  if (absolute) return ctx.out.integer(ms ? at : Math.floor(at / 1000));
  const left = Math.max(0, at - ctx.ks.now);
  ctx.out.integer(ms ? left : Math.floor((left + 500) / 1000));
}

function ttl(ctx: CommandContext, argv: Buffer[]): void {
  ttlGeneric(ctx, argv[1]!, false, false);
}
function pttl(ctx: CommandContext, argv: Buffer[]): void {
  ttlGeneric(ctx, argv[1]!, true, false);
}
function expiretime(ctx: CommandContext, argv: Buffer[]): void {
  ttlGeneric(ctx, argv[1]!, false, true);
}
function pexpiretime(ctx: CommandContext, argv: Buffer[]): void {
  ttlGeneric(ctx, argv[1]!, true, true);
}

/** PERSIST key */
function persist(ctx: CommandContext, argv: Buffer[]): void {
  const ref = ctx.ks.find(argv[1]!);
  if (ref === 0 || ctx.ks.expireAt(ref) === 0) return ctx.out.raw(Replies.zero);
  ctx.ks.setExpire(ref, 0);
  ctx.out.raw(Replies.one);
}

/**
 * Copies the item at `src` to key `dst` (value, type and TTL). Replaces an existing
 * destination. Returns false after replying an error (OOM).
 */
function copyItem(ctx: CommandContext, src: number, dst: Buffer): boolean {
  const ks = ctx.ks;
  // Copy the value out first: writing dst may free or move chunks.
  return restoreValue(ctx, dst, ks.type(src), dumpValue(ks, src), ks.expireAt(src));
}

/** The shared body of RENAME and RENAMENX. */
function renameGeneric(ctx: CommandContext, argv: Buffer[], nx: boolean): void {
  const ks = ctx.ks;
  const from = argv[1]!;
  const to = argv[2]!;
  const src = ks.find(from);
  if (src === 0) return ctx.out.error(WireErrors.noSuchKey);
  if (from.equals(to)) return ctx.out.raw(nx ? Replies.zero : Replies.ok);
  if (nx && ks.find(to) !== 0) return ctx.out.raw(Replies.zero);
  if (!copyItem(ctx, src, to)) return;
  ks.delete(from);
  ctx.out.raw(nx ? Replies.one : Replies.ok);
}

function rename(ctx: CommandContext, argv: Buffer[]): void {
  renameGeneric(ctx, argv, false);
}
function renamenx(ctx: CommandContext, argv: Buffer[]): void {
  renameGeneric(ctx, argv, true);
}

/** COPY source destination [DB destination-db] [REPLACE] */
function copy(ctx: CommandContext, argv: Buffer[]): void {
  let replace = false;
  for (let j = 3; j < argv.length; j++) {
    if (argIs(argv[j]!, 'replace')) replace = true;
    else if (argIs(argv[j]!, 'db') && j + 1 < argv.length) {
      const db = parseSafeInt(argv[++j]!);
      if (db === null) return ctx.out.error(WireErrors.notInteger);
      if (db !== 0) return ctx.out.error('ERR Copying to another database is not allowed in cluster mode');
    } else return ctx.out.error(WireErrors.syntax);
  }
  const from = argv[1]!;
  const to = argv[2]!;
  if (from.equals(to)) return ctx.out.error(WireErrors.sameObject);
  const src = ctx.ks.find(from);
  if (src === 0) return ctx.out.raw(Replies.zero);
  if (!replace && ctx.ks.find(to) !== 0) return ctx.out.raw(Replies.zero);
  if (!copyItem(ctx, src, to)) return;
  ctx.out.raw(Replies.one);
}

/** True when the live item matches the pattern (null = any). */
function keyMatches(ctx: CommandContext, ref: number, pattern: Buffer | null): boolean {
  if (pattern === null) return true;
  const ks = ctx.ks;
  const s = ks.keyStart(ref);
  return globMatch(pattern, 0, pattern.length, ks.page(ref), s, s + ks.keyLen(ref));
}

function isExpired(ctx: CommandContext, ref: number): boolean {
  const at = ctx.ks.expireAt(ref);
  return at !== 0 && at <= ctx.ks.now;
}

/** KEYS pattern */
function keys(ctx: CommandContext, argv: Buffer[]): void {
  const pattern = argv[1]!.length === 1 && argv[1]![0] === 42 ? null : argv[1]!;
  const found: Buffer[] = [];
  let cursor = 0;
  do {
    cursor = ctx.ks.index.scan(cursor, (ref) => {
      if (!isExpired(ctx, ref) && keyMatches(ctx, ref, pattern)) found.push(ctx.ks.keyCopy(ref));
    });
  } while (cursor !== 0);
  ctx.out.bulkArray(found);
}

/** SCAN cursor [MATCH pattern] [COUNT count] [TYPE type] */
function scan(ctx: CommandContext, argv: Buffer[]): void {
  const c = parseInt64(argv[1]!);
  if (c === null || typeof c === 'bigint' || c < 0) return ctx.out.error(WireErrors.invalidCursor);
  let pattern: Buffer | null = null;
  let count = 10;
  let typeName: string | null = null;
  for (let j = 2; j < argv.length; j++) {
    const more = j + 1 < argv.length;
    if (argIs(argv[j]!, 'match') && more) {
      const p = argv[++j]!;
      pattern = p.length === 1 && p[0] === 42 ? null : p;
    } else if (argIs(argv[j]!, 'count') && more) {
      const n = intOrReply(ctx.out, argv[++j]!);
      if (n === undefined) return;
      if (n < 1) return ctx.out.error(WireErrors.syntax);
      count = n;
    } else if (argIs(argv[j]!, 'type') && more) {
      typeName = argv[++j]!.toString().toLowerCase();
    } else return ctx.out.error(WireErrors.syntax);
  }
  const found: Buffer[] = [];
  let cursor = c;
  let budget = count * 10;
  do {
    cursor = ctx.ks.index.scan(cursor, (ref) => {
      if (isExpired(ctx, ref)) return;
      if (typeName !== null && TYPE_NAMES[ctx.ks.type(ref)]?.toLowerCase() !== typeName) return;
      if (keyMatches(ctx, ref, pattern)) found.push(ctx.ks.keyCopy(ref));
    });
  } while (cursor !== 0 && budget-- > 0 && found.length < count);
  ctx.out.arrayHeader(2);
  ctx.out.bulk(String(cursor));
  ctx.out.bulkArray(found);
}

/** RANDOMKEY */
function randomkey(ctx: CommandContext): void {
  for (let tries = 0; tries < 100; tries++) {
    const ref = ctx.ks.index.randomRef();
    if (ref === 0) break;
    if (isExpired(ctx, ref)) {
      ctx.ks.expire(ref);
      continue;
    }
    return ctx.out.bulk(ctx.ks.keyCopy(ref));
  }
  ctx.out.nil();
}

function dbsize(ctx: CommandContext): void {
  ctx.out.integer(ctx.ks.size);
}

/** FLUSHALL [ASYNC | SYNC] (and FLUSHDB) */
function flushall(ctx: CommandContext, argv: Buffer[]): void {
  if (argv.length > 2 || (argv.length === 2 && !argIs(argv[1]!, 'async') && !argIs(argv[1]!, 'sync'))) {
    return ctx.out.error(WireErrors.syntax);
  }
  ctx.ks.flush();
  ctx.out.ok();
}

/** SHOAL.DUMPKEY key → nil | [type, expireAt ms (0 = none), value bytes] (internal) */
function dumpkey(ctx: CommandContext, argv: Buffer[]): void {
  if (argv.length > 3 || (argv.length === 3 && !argIs(argv[2]!, 'nomiss'))) return ctx.out.error(WireErrors.syntax);
  const ref = ctx.ks.find(argv[1]!);
  if (ref === 0) return ctx.out.nilArray();
  ctx.out.arrayHeader(3);
  ctx.out.integer(ctx.ks.type(ref));
  ctx.out.integer(ctx.ks.expireAt(ref));
  ctx.out.bulk(dumpValue(ctx.ks, ref));
}

/**
 * SHOAL.RESTOREKEY key type expireAt value REPLACE|NX [RENAME|COPY] → 1 stored, 0 not
 * (NX and exists) (internal). RENAME / COPY name the command it completes across
 * workers, for its keyspace event (shard/keyspace-events.ts).
 */
function restorekey(ctx: CommandContext, argv: Buffer[]): void {
  const t = parseSafeInt(argv[2]!);
  const at = parseSafeInt(argv[3]!);
  if (t === null || at === null || TYPE_NAMES[t] === undefined) return ctx.out.error(WireErrors.syntax);
  if (argv.length > 7 || (argv.length === 7 && !argIs(argv[6]!, 'rename') && !argIs(argv[6]!, 'copy'))) return ctx.out.error(WireErrors.syntax);
  const value = argv[4]!;
  const nx = argIs(argv[5]!, 'nx');
  if (nx && ctx.ks.find(argv[1]!) !== 0) return ctx.out.raw(Replies.zero);
  if (at !== 0 && at <= ctx.ks.now) {
    ctx.ks.delete(argv[1]!);
    return ctx.out.raw(Replies.one);
  }
  if (!restoreValue(ctx, argv[1]!, t, value, at)) return;
  ctx.out.raw(Replies.one);
}

/** SHOAL.RENAMEFROM key → 1 deleted, 0 missing (internal): the source of a RENAME across workers. */
function renamefrom(ctx: CommandContext, argv: Buffer[]): void {
  ctx.out.raw(ctx.ks.delete(argv[1]!) ? Replies.one : Replies.zero);
}

export const keyCommands: HandlerTable = {
  del, unlink: del, exists, touch, type, 'shoal.notouch': shoalNotouch,
  expire, pexpire, expireat, pexpireat, ttl, pttl, expiretime, pexpiretime, persist,
  rename, renamenx, copy, keys, scan, randomkey, dbsize, flushall, flushdb: flushall,
  'shoal.dumpkey': dumpkey, 'shoal.restorekey': restorekey, 'shoal.renamefrom': renamefrom,
};
