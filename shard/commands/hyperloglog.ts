/**
 * HyperLogLog commands: PFADD, PFCOUNT, PFMERGE. An HLL is a TYPE_STRING item whose
 * bytes are Redis's HLL format (../types/hyperloglog.ts), so GET/SET move it between
 * Shoal and Redis unchanged. Dense HLLs are edited in place in the arena page; sparse
 * ones are edited in a scratch buffer and written back once per command.
 */
import type { CommandContext, HandlerTable } from './context.js';
import { TYPE_STRING } from '../arena/layout.js';
import { ENCODING_RAW } from '../keyspace.js';
import { WireErrors } from '../../shared/resp/wire-errors.js';
import { Replies } from '../../shared/resp/replies.js';
import {
  HLL_DENSE, HLL_DENSE_SIZE, HLL_EMPTY_SIZE, HLL_HDR_SIZE, HLL_INVALID_ERR, HLL_REGISTERS, HLL_SPARSE_MAX_BYTES,
  HLL_WRONGTYPE_ERR, SPARSE_CORRUPT, SPARSE_PROMOTE, SparseEditor, cacheValid, denseAdd, hllCount, hllCountRaw,
  hllMergeInto, hllPatLen, invalidateCache, isHll, readCache, sparseToDense, writeCache, writeEmptyHll,
} from '../types/hyperloglog.js';

const INDEX_MASK = HLL_REGISTERS - 1;
const editor = new SparseEditor();
/** A dense HLL being built from a sparse one (promotion, PFMERGE). */
const denseScratch = Buffer.alloc(HLL_DENSE_SIZE);
/** Max-merged registers of PFCOUNT (several keys) and PFMERGE. */
const maxRegs = new Uint8Array(HLL_REGISTERS);

/** True when ref holds a valid HLL string; otherwise replies the Redis error. */
function hllOrReply(ctx: CommandContext, ref: number): boolean {
  const ks = ctx.ks;
  if (ks.type(ref) !== TYPE_STRING) {
    ctx.out.error(WireErrors.wrongType);
    return false;
  }
  if (!isHll(ks.page(ref), ks.valueStart(ref), ks.valueLen(ref))) {
    ctx.out.error(HLL_WRONGTYPE_ERR);
    return false;
  }
  return true;
}

/** Creates key as an empty sparse HLL (raw encoding, as Redis's createHLLObject); 0 on OOM after replying. */
function createHll(ctx: CommandContext, key: Buffer): number {
  const ks = ctx.ks;
  const ref = ks.write(key, TYPE_STRING, HLL_EMPTY_SIZE, 0, 0);
  if (ref === 0) {
    ctx.out.error(WireErrors.oom);
    return 0;
  }
  writeEmptyHll(ks.page(ref), ks.valueStart(ref));
  ks.setEncoding(ref, ENCODING_RAW);
  return ref;
}

/** Replaces the value of key (item ref) with src[0, len). Returns the new Ref, 0 on OOM after replying. */
function storeBytes(ctx: CommandContext, key: Buffer, ref: number, src: Uint8Array, len: number): number {
  const ks = ctx.ks;
  const next = ks.valueLen(ref) === len ? ref : ks.resizeValue(key, ref, len);
  if (next === 0) {
    ctx.out.error(WireErrors.oom);
    return 0;
  }
  ks.beginWrite(next);
  ks.page(next).set(src.subarray(0, len), ks.valueStart(next));
  ks.endWrite(next);
  return next;
}

/** PFADD key [element ...] */
function pfadd(ctx: CommandContext, argv: Buffer[]): void {
  const ks = ctx.ks;
  const key = argv[1]!;
  let ref = ks.find(key);
  let updated = 0;
  if (ref === 0) {
    ref = createHll(ctx, key);
    if (ref === 0) return;
    updated = 1;
  } else {
    if (!hllOrReply(ctx, ref)) return;
    ks.setEncoding(ref, ENCODING_RAW);
  }
  const page = ks.page(ref);
  const start = ks.valueStart(ref);
  if (argv.length > 2 && page[start + 4] === HLL_DENSE) {
    ks.beginWrite(ref);
    for (let j = 2; j < argv.length; j++) {
      const pl = hllPatLen(argv[j]!);
      updated += denseAdd(page, start + HLL_HDR_SIZE, pl & INDEX_MASK, pl >>> 14);
    }
    ks.endWrite(ref);
  } else if (argv.length > 2) {
    editor.load(page, start, ks.valueLen(ref));
    let dense = false;
    let corrupt = false;
    let changed = 0;
    for (let j = 2; j < argv.length; j++) {
      const pl = hllPatLen(argv[j]!);
      const index = pl & INDEX_MASK;
      const count = pl >>> 14;
      if (dense) {
        changed += denseAdd(denseScratch, HLL_HDR_SIZE, index, count);
        continue;
      }
      const r = editor.set(index, count, HLL_SPARSE_MAX_BYTES);
      if (r === SPARSE_CORRUPT) {
        corrupt = true;
        break;
      }
      if (r === SPARSE_PROMOTE) {
        if (!sparseToDense(editor.buf, 0, editor.len, denseScratch)) {
          corrupt = true;
          break;
        }
        dense = true;
        changed += denseAdd(denseScratch, HLL_HDR_SIZE, index, count);
      } else changed += r;
    }
    // Like Redis, edits made before a corruption was found stay (and the cache stays as it was).
    if (changed > 0 || dense) {
      ref = dense ? storeBytes(ctx, key, ref, denseScratch, HLL_DENSE_SIZE) : storeBytes(ctx, key, ref, editor.buf, editor.len);
      if (ref === 0) return;
    }
    if (corrupt) return ctx.out.error(HLL_INVALID_ERR);
    updated += changed;
  }
  if (updated > 0) {
    ks.beginWrite(ref);
    invalidateCache(ks.page(ref), ks.valueStart(ref));
    ks.endWrite(ref);
  }
  ctx.out.raw(updated > 0 ? Replies.one : Replies.zero);
}

function replyCard(ctx: CommandContext, card: number | bigint): void {
  if (typeof card === 'number') ctx.out.integer(card);
  else ctx.out.bigInteger(card);
}

/** PFCOUNT key [key ...] */
function pfcount(ctx: CommandContext, argv: Buffer[]): void {
  const ks = ctx.ks;
  if (argv.length > 2) {
    maxRegs.fill(0);
    for (let j = 1; j < argv.length; j++) {
      const ref = ks.lookupRead(argv[j]!);
      if (ref === 0) continue;
      if (!hllOrReply(ctx, ref)) return;
      if (!hllMergeInto(maxRegs, ks.page(ref), ks.valueStart(ref), ks.valueLen(ref))) return ctx.out.error(HLL_INVALID_ERR);
    }
    return replyCard(ctx, hllCountRaw(maxRegs));
  }
  const ref = ks.find(argv[1]!);
  if (ref === 0) return ctx.out.raw(Replies.zero);
  if (!hllOrReply(ctx, ref)) return;
  ks.setEncoding(ref, ENCODING_RAW);
  const page = ks.page(ref);
  const start = ks.valueStart(ref);
  if (cacheValid(page, start)) return replyCard(ctx, readCache(page, start));
  const card = hllCount(page, start, ks.valueLen(ref));
  if (card === null) return ctx.out.error(HLL_INVALID_ERR);
  ks.beginWrite(ref);
  writeCache(page, start, card);
  ks.endWrite(ref);
  replyCard(ctx, card);
}

/** PFMERGE destkey [sourcekey ...] */
function pfmerge(ctx: CommandContext, argv: Buffer[]): void {
  const ks = ctx.ks;
  maxRegs.fill(0);
  let useDense = false;
  for (let j = 1; j < argv.length; j++) {
    const ref = ks.lookupRead(argv[j]!);
    if (ref === 0) continue;
    if (!hllOrReply(ctx, ref)) return;
    const page = ks.page(ref);
    const start = ks.valueStart(ref);
    if (page[start + 4] === HLL_DENSE) useDense = true;
    if (!hllMergeInto(maxRegs, page, start, ks.valueLen(ref))) return ctx.out.error(HLL_INVALID_ERR);
  }
  const key = argv[1]!;
  let ref = ks.find(key);
  if (ref === 0) {
    ref = createHll(ctx, key);
    if (ref === 0) return;
  } else ks.setEncoding(ref, ENCODING_RAW);
  let page = ks.page(ref);
  let start = ks.valueStart(ref);
  if (page[start + 4] === HLL_DENSE) {
    ks.beginWrite(ref);
    const regs = start + HLL_HDR_SIZE;
    for (let i = 0; i < HLL_REGISTERS; i++) if (maxRegs[i]! !== 0) denseAdd(page, regs, i, maxRegs[i]!);
    invalidateCache(page, start);
    ks.endWrite(ref);
    return ctx.out.ok();
  }
  let dense = false;
  if (useDense) {
    if (!sparseToDense(page, start, ks.valueLen(ref), denseScratch)) return ctx.out.error(HLL_INVALID_ERR);
    dense = true;
  } else editor.load(page, start, ks.valueLen(ref));
  for (let i = 0; i < HLL_REGISTERS; i++) {
    const v = maxRegs[i]!;
    if (v === 0) continue;
    if (!dense) {
      const r = editor.set(i, v, HLL_SPARSE_MAX_BYTES);
      if (r !== SPARSE_PROMOTE) continue;
      if (!sparseToDense(editor.buf, 0, editor.len, denseScratch)) return ctx.out.error(HLL_INVALID_ERR);
      dense = true;
    }
    denseAdd(denseScratch, HLL_HDR_SIZE, i, v);
  }
  ref = dense ? storeBytes(ctx, key, ref, denseScratch, HLL_DENSE_SIZE) : storeBytes(ctx, key, ref, editor.buf, editor.len);
  if (ref === 0) return;
  page = ks.page(ref);
  start = ks.valueStart(ref);
  ks.beginWrite(ref);
  invalidateCache(page, start);
  ks.endWrite(ref);
  ctx.out.ok();
}

export const hyperLogLogCommands: HandlerTable = {
  pfadd, pfcount, pfmerge,
};
