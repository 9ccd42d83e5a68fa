/**
 * Bloom filter commands with RedisBloom's names, replies and error texts: BF.RESERVE,
 * BF.ADD, BF.MADD, BF.INSERT, BF.EXISTS, BF.MEXISTS, BF.INFO, BF.CARD. The filter is
 * one TYPE_BLOOM arena item (layout and hashing: ../types/bloom.ts). Like the module,
 * the membership answers are booleans under RESP3 and integers under RESP2, and BF.EXISTS
 * of a key of another type answers 0 rather than WRONGTYPE.
 */
import type { CommandContext, HandlerTable } from './context.js';
import { TYPE_BLOOM } from '../arena/layout.js';
import { WireErrors } from '../../shared/resp/wire-errors.js';
import { Replies } from '../../shared/resp/replies.js';
import { parseFloat64, parseInt64 } from '../../shared/resp/numbers.js';
import { argIs } from './args.js';
import {
  LAYER_HDR, MAX_FILTER_BYTES, filterAddLast, filterCount, filterHas, filterSize, firstLayer, growth,
  hashItem, infoSize, initFilter, isFilter, itemCount, lastLayerFull, nextLayer, nonScaling, totalCapacity, appendLayer,
} from '../types/bloom.js';

const DEFAULT_ERROR = 0.01;
const DEFAULT_CAPACITY = 100;
const DEFAULT_EXPANSION = 2;

const TRUE3 = Buffer.from('#t\r\n');
const FALSE3 = Buffer.from('#f\r\n');

const ERR_NOT_FOUND = 'ERR not found';
const ERR_FULL = 'ERR non scaling filter is full';
const ERR_INSERT = 'ERR problem inserting into filter';
const ERR_NO_MEMORY = 'ERR Insufficient memory to create filter';

function replyBool(ctx: CommandContext, v: boolean): void {
  if (ctx.out.proto === 3) ctx.out.raw(v ? TRUE3 : FALSE3);
  else ctx.out.raw(v ? Replies.one : Replies.zero);
}

/** Index of the first argument equal (any case) to word, or -1 (RedisBloom's RMUtil_ArgIndex). */
function argIndex(argv: Buffer[], word: string): number {
  for (let i = 0; i < argv.length; i++) if (argIs(argv[i]!, word)) return i;
  return -1;
}

/** A 64-bit count as the unsigned 32-bit value RedisBloom keeps (expansion). */
function asU32(v: number | bigint): number {
  return Number(BigInt.asUintN(32, BigInt(v)));
}

/** Creates key as a new filter; 0 after replying an error. */
function createFilter(ctx: CommandContext, key: Buffer, error: number, capacity: number | bigint, expansion: number, nonscaling: boolean): number {
  const cap = Number(capacity);
  const first = firstLayer(cap, error, nonscaling);
  const size = filterSize(first);
  if (!(size <= MAX_FILTER_BYTES)) {
    ctx.out.error(ERR_NO_MEMORY);
    return 0;
  }
  const ks = ctx.ks;
  const ref = ks.write(key, TYPE_BLOOM, size, 0, 0);
  if (ref === 0) {
    ctx.out.error(WireErrors.oom);
    return 0;
  }
  initFilter(ks.page(ref), ks.valueStart(ref), first, expansion, nonscaling);
  return ref;
}

/** The filter item of key: its Ref, 0 when missing, -1 when the key holds another type. */
function filterRef(ctx: CommandContext, key: Buffer, read: boolean): number {
  const ks = ctx.ks;
  const ref = read ? ks.lookupRead(key) : ks.find(key);
  if (ref === 0) return 0;
  if (ks.type(ref) !== TYPE_BLOOM || !isFilter(ks.page(ref), ks.valueStart(ref), ks.valueLen(ref))) return -1;
  return ref;
}

/** BF.RESERVE key error_rate capacity [EXPANSION expansion] [NONSCALING] */
function bfReserve(ctx: CommandContext, argv: Buffer[]): void {
  const out = ctx.out;
  if (argv.length > 7) return out.error(WireErrors.wrongArity('bf.reserve'));
  const error = parseFloat64(argv[2]!);
  if (error === null) return out.error('ERR bad error rate');
  if (error >= 1 || error <= 0) return out.error('ERR (0 < error rate range < 1) ');
  const capacity = parseInt64(argv[3]!);
  if (capacity === null) return out.error('ERR bad capacity');
  if (capacity <= 0) return out.error('ERR (capacity should be larger than 0)');
  const nonscaling = argIndex(argv, 'nonscaling') !== -1;
  let expansion: number | bigint = DEFAULT_EXPANSION;
  const ex = argIndex(argv, 'expansion');
  if (ex + 1 === argv.length) return out.error('ERR no expansion');
  if (ex !== -1) {
    if (nonscaling) return out.error('Nonscaling filters cannot expand');
    const v = parseInt64(argv[ex + 1]!);
    if (v === null) return out.error('ERR bad expansion');
    if (v < 1) return out.error('ERR expansion should be greater or equal to 1');
    expansion = v;
  }
  const status = filterRef(ctx, argv[1]!, false);
  if (status > 0) return out.error('ERR item exists');
  if (status < 0) return out.error(WireErrors.wrongType);
  if (createFilter(ctx, argv[1]!, error, capacity, asU32(expansion), nonscaling) !== 0) out.ok();
}

interface InsertOptions {
  capacity: number | bigint;
  error: number;
  expansion: number | bigint;
  nonscaling: boolean;
  autocreate: boolean;
}

/** Per-item outcomes of one insert command (1 added, 0 present, or a RESULT_ code), reused. */
const RESULTS: number[] = [];
const RESULT_FULL = -2;
const RESULT_PROBLEM = -1;
const RESULT_OOM = -3;

/** The shared body of BF.ADD, BF.MADD and BF.INSERT (RedisBloom bfInsertCommon). */
function insertCommon(ctx: CommandContext, argv: Buffer[], first: number, multi: boolean, opts: Readonly<InsertOptions>): void {
  const ks = ctx.ks;
  const key = argv[1]!;
  let ref = filterRef(ctx, key, false);
  if (ref < 0) return ctx.out.error(WireErrors.wrongType);
  if (ref === 0) {
    if (!opts.autocreate) return ctx.out.error(ERR_NOT_FOUND);
    ref = createFilter(ctx, key, opts.error, opts.capacity, asU32(opts.expansion), opts.nonscaling);
    if (ref === 0) return;
  }
  const results = RESULTS;
  results.length = 0;
  for (let i = first; i < argv.length; i++) {
    hashItem(argv[i]!);
    let page = ks.page(ref);
    let s = ks.valueStart(ref);
    if (filterHas(page, s)) {
      results.push(0);
      continue;
    }
    if (lastLayerFull(page, s)) {
      if (nonScaling(page, s)) {
        results.push(RESULT_FULL);
        break;
      }
      const p = nextLayer(page, s);
      const len = ks.valueLen(ref);
      if (!(p.capacity >= 1) || len + LAYER_HDR + p.bytes > MAX_FILTER_BYTES) {
        results.push(RESULT_PROBLEM);
        continue;
      }
      const next = ks.resizeValue(key, ref, len + LAYER_HDR + p.bytes);
      if (next === 0) {
        results.push(RESULT_OOM);
        break;
      }
      ref = next;
      page = ks.page(ref);
      s = ks.valueStart(ref);
      ks.beginWrite(ref);
      appendLayer(page, s, len, p);
      ks.endWrite(ref);
    }
    ks.beginWrite(ref);
    results.push(filterAddLast(page, s));
    ks.endWrite(ref);
  }
  if (multi) ctx.out.arrayHeader(results.length);
  for (const r of results) {
    if (r >= 0) replyBool(ctx, r === 1);
    else ctx.out.error(r === RESULT_FULL ? ERR_FULL : r === RESULT_OOM ? WireErrors.oom : ERR_INSERT);
  }
}

const DEFAULTS: Readonly<InsertOptions> = {
  capacity: DEFAULT_CAPACITY, error: DEFAULT_ERROR, expansion: DEFAULT_EXPANSION, nonscaling: false, autocreate: true,
};

/** BF.ADD key item */
function bfAdd(ctx: CommandContext, argv: Buffer[]): void {
  insertCommon(ctx, argv, 2, false, DEFAULTS);
}

/** BF.MADD key item [item ...] */
function bfMadd(ctx: CommandContext, argv: Buffer[]): void {
  insertCommon(ctx, argv, 2, true, DEFAULTS);
}

/** BF.INSERT key [CAPACITY capacity] [ERROR error] [EXPANSION expansion] [NOCREATE] [NONSCALING] ITEMS item [item ...] */
function bfInsert(ctx: CommandContext, argv: Buffer[]): void {
  const out = ctx.out;
  const opts: InsertOptions = { ...DEFAULTS };
  const arity = WireErrors.wrongArity('bf.insert');
  let items = -1;
  let pos = 2;
  // RedisBloom tells the options apart by their first letters (and the second or third).
  while (pos < argv.length && items < 0) {
    const a = argv[pos]!;
    const c0 = lower(a[0]);
    if (c0 === 0x69) items = ++pos; // i: ITEMS
    else if (c0 === 0x65) { // e: ERROR or EXPANSION
      if (++pos === argv.length) return out.error(arity);
      if (lower(a[1]) === 0x72) {
        const v = parseFloat64(argv[pos++]!);
        if (v === null) return out.error('Bad error rate');
        opts.error = v;
      } else {
        const v = parseInt64(argv[pos++]!);
        if (v === null) return out.error('Bad expansion');
        opts.expansion = v;
      }
    } else if (c0 === 0x63) { // c: CAPACITY
      if (++pos === argv.length) return out.error(arity);
      const v = parseInt64(argv[pos++]!);
      if (v === null) return out.error('Bad capacity');
      opts.capacity = v;
    } else if (c0 === 0x6e) { // n: NOCREATE or NONSCALING
      if (lower(a[2]) === 0x63) opts.autocreate = false;
      else opts.nonscaling = true;
      pos++;
    } else return out.error('Unknown argument received');
  }
  if (items < 0 || items === argv.length) return out.error(arity);
  if (opts.error <= 0 || opts.error >= 1 || opts.capacity < 1 || opts.expansion < 1) return out.error('Bad argument received');
  insertCommon(ctx, argv, items, true, opts);
}

function lower(c: number | undefined): number {
  if (c === undefined) return 0;
  return c >= 65 && c <= 90 ? c + 32 : c;
}

/** BF.EXISTS key item */
function bfExists(ctx: CommandContext, argv: Buffer[]): void {
  const ref = filterRef(ctx, argv[1]!, true);
  if (ref <= 0) return replyBool(ctx, false);
  hashItem(argv[2]!);
  replyBool(ctx, filterHas(ctx.ks.page(ref), ctx.ks.valueStart(ref)));
}

/** BF.MEXISTS key item [item ...] */
function bfMexists(ctx: CommandContext, argv: Buffer[]): void {
  const ref = filterRef(ctx, argv[1]!, true);
  ctx.out.arrayHeader(argv.length - 2);
  for (let i = 2; i < argv.length; i++) {
    if (ref <= 0) {
      replyBool(ctx, false);
      continue;
    }
    hashItem(argv[i]!);
    replyBool(ctx, filterHas(ctx.ks.page(ref), ctx.ks.valueStart(ref)));
  }
}

const INFO_FIELDS = ['capacity', 'size', 'filters', 'items', 'expansion'] as const;
const INFO_LABELS = ['Capacity', 'Size', 'Number of filters', 'Number of items inserted', 'Expansion rate'] as const;

/** BF.INFO key [CAPACITY | SIZE | FILTERS | ITEMS | EXPANSION] */
function bfInfo(ctx: CommandContext, argv: Buffer[]): void {
  const out = ctx.out;
  if (argv.length > 3) return out.error(WireErrors.wrongArity('bf.info'));
  const ref = filterRef(ctx, argv[1]!, true);
  if (ref === 0) return out.error(ERR_NOT_FOUND);
  if (ref < 0) return out.error(WireErrors.wrongType);
  let from = 0;
  let to = INFO_FIELDS.length;
  if (argv.length === 3) {
    from = INFO_FIELDS.findIndex((f) => argIs(argv[2]!, f));
    if (from < 0) return out.error('Invalid information value');
    to = from + 1;
  }
  const page = ctx.ks.page(ref);
  const s = ctx.ks.valueStart(ref);
  const resp3 = out.proto === 3;
  if (resp3) out.mapHeader(to - from);
  else out.arrayHeader(argv.length === 3 ? 1 : 2 * (to - from));
  for (let i = from; i < to; i++) {
    if (resp3 || argv.length === 2) out.simple(INFO_LABELS[i]!);
    switch (i) {
      case 0:
        out.integer(totalCapacity(page, s));
        break;
      case 1:
        out.integer(infoSize(page, s));
        break;
      case 2:
        out.integer(filterCount(page, s));
        break;
      case 3:
        out.integer(itemCount(page, s));
        break;
      default:
        if (nonScaling(page, s)) out.nil();
        else out.integer(growth(page, s));
    }
  }
}

/** BF.CARD key */
function bfCard(ctx: CommandContext, argv: Buffer[]): void {
  const ref = filterRef(ctx, argv[1]!, true);
  if (ref === 0) return ctx.out.raw(Replies.zero);
  if (ref < 0) return ctx.out.error(WireErrors.wrongType);
  ctx.out.integer(itemCount(ctx.ks.page(ref), ctx.ks.valueStart(ref)));
}

export const bloomCommands: HandlerTable = {
  'bf.reserve': bfReserve,
  'bf.add': bfAdd,
  'bf.madd': bfMadd,
  'bf.insert': bfInsert,
  'bf.exists': bfExists,
  'bf.mexists': bfMexists,
  'bf.info': bfInfo,
  'bf.card': bfCard,
};
