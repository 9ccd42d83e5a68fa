/**
 * Sorted-set pops (Redis 7.0 genericZpopCommand): ZPOPMIN, ZPOPMAX, ZMPOP and the
 * blocking BZPOPMIN, BZPOPMAX, BZMPOP.
 *
 * A blocking pop that finds nothing registers a BlockedRequest (shard/blocking.ts);
 * when a write creates one of its keys as a sorted set, serve() pops with the same
 * code and reply shape as the non-blocking path. A key that holds another type is
 * skipped while waiting (Redis keeps such a client blocked too).
 *
 * Reply shapes, as Redis:
 *   ZPOPMIN k            [m, s]                  (flat; count given: RESP3 [[m, s] ...])
 *   BZPOPMIN k.. t       [key, m, s]
 *   ZMPOP / BZMPOP       [key, [[m, s] ...]]     (nested pairs in RESP2 too)
 */
import type { CommandContext, HandlerTable } from './context.js';
import { commit } from '../types/collection.js';
import { TYPE_ZSET } from '../arena/layout.js';
import { WireErrors } from '../../shared/resp/wire-errors.js';
import { Replies } from '../../shared/resp/replies.js';
import { parseInt64 } from '../../shared/resp/numbers.js';
import { deadlineOrReply } from '../blocking.js';
import { argIs } from './args.js';
import { Cursor } from '../types/zset-tree.js';
import { openZsetWrite, replyScore } from './zsets-common.js';
import { openPacked, packedView, dropPacked } from './zsets-packed.js';

/**
 * Pops min(count, size) pairs (count -1 = one, flat reply) from the key, which holds
 * a non-empty sorted set; commits, then replies in the shape `emitKey`/`nested`
 * select. The pairs are taken before the write so an OOM there leaves one reply
 * only. A listpack loses its first or last entries in place.
 */
function popKey(ctx: CommandContext, key: Buffer, max: boolean, emitKey: boolean, count: number, nested: boolean): void {
  let members: string[];
  let scores: number[];
  const ref = openPacked(ctx, key);
  if (ref !== 0) {
    const v = packedView;
    const size = v.size;
    const n = count === -1 ? 1 : Math.min(count, size);
    members = new Array<string>(n);
    scores = new Array<number>(n);
    for (let k = 0; k < n; k++) {
      const i = max ? size - 1 - k : k;
      members[k] = v.page.toString('latin1', v.memberStart(i), v.memberEnd(i));
      scores[k] = v.score(i);
    }
    if (!dropPacked(ctx, key, ref, max ? size - n : 0, n)) return;
  } else {
    const c = openZsetWrite(ctx, key, false)!;
    const z = c.obj;
    const t = z.tree;
    const size = z.size;
    const n = count === -1 ? 1 : Math.min(count, size);
    members = new Array<string>(n);
    scores = new Array<number>(n);
    t.select(max ? size - 1 : 0);
    const cur = new Cursor(t.hitLeaf, t.hitIdx);
    for (let k = 0; k < n; k++) {
      members[k] = cur.member;
      scores[k] = cur.score;
      if (max) cur.prev();
      else cur.next();
    }
    z.removeRange(max ? size - n : 0, n);
    if (!commit(ctx, key, c)) return;
  }
  const n = members.length;
  const out = ctx.out;
  if (!emitKey) out.arrayHeader(nested ? n : n * 2);
  else if (!nested) {
    out.arrayHeader(n * 2 + 1);
    out.bulk(key);
  } else {
    out.arrayHeader(2);
    out.bulk(key);
    out.arrayHeader(n);
  }
  for (let k = 0; k < n; k++) {
    if (nested) out.arrayHeader(2);
    out.bulkLatin1(members[k]!);
    replyScore(out, scores[k]!);
  }
}

/**
 * The first of `keys` that exists, if it holds a sorted set; null when none exists,
 * undefined after replying WRONGTYPE (the first existing key is of another type).
 */
function firstZset(ctx: CommandContext, keys: Buffer[]): Buffer | null | undefined {
  const ks = ctx.ks;
  for (const key of keys) {
    const ref = ks.find(key);
    if (ref === 0) continue;
    if (ks.type(ref) !== TYPE_ZSET) {
      ctx.out.error(WireErrors.wrongType);
      return undefined;
    }
    return key;
  }
  return null;
}

/**
 * genericZpopCommand over keys: pops from the first that exists (WRONGTYPE if it is
 * not a sorted set). No key: a null array (`nilWhenEmpty`) or an empty one.
 */
function zpopGeneric(ctx: CommandContext, keys: Buffer[], max: boolean, emitKey: boolean, count: number, nested: boolean, nilWhenEmpty: boolean): void {
  const key = firstZset(ctx, keys);
  if (key === undefined) return;
  if (key === null) {
    if (nilWhenEmpty) ctx.out.nilArray();
    else ctx.out.raw(Replies.emptyArray);
    return;
  }
  if (count === 0) return ctx.out.raw(Replies.emptyArray);
  popKey(ctx, key, max, emitKey, count, nested);
}

/** ZPOPMIN / ZPOPMAX key [count] */
function zpopMinMax(ctx: CommandContext, argv: Buffer[], max: boolean): void {
  if (argv.length > 3) return ctx.out.error(WireErrors.syntax);
  let count = -1;
  if (argv.length === 3) {
    const v = parseInt64(argv[2]!);
    if (v === null || v < 0) return ctx.out.error('ERR value is out of range, must be positive');
    count = Number(v);
  }
  zpopGeneric(ctx, [argv[1]!], max, false, count, ctx.out.proto === 3 && count !== -1, false);
}

function zpopmin(ctx: CommandContext, argv: Buffer[]): void {
  zpopMinMax(ctx, argv, false);
}
function zpopmax(ctx: CommandContext, argv: Buffer[]): void {
  zpopMinMax(ctx, argv, true);
}

interface MpopArgs {
  keys: Buffer[];
  max: boolean;
  count: number;
}

/** ZMPOP/BZMPOP's numkeys key... MIN|MAX [COUNT count] from argv[at]; undefined after an error. */
function mpopArgsOrReply(ctx: CommandContext, argv: Buffer[], at: number): MpopArgs | undefined {
  const out = ctx.out;
  const nk = parseInt64(argv[at]!);
  if (nk === null || nk < 1) {
    out.error('ERR numkeys should be greater than 0');
    return undefined;
  }
  const numkeys = Number(nk);
  const whereIdx = at + numkeys + 1;
  if (whereIdx >= argv.length) {
    out.error(WireErrors.syntax);
    return undefined;
  }
  const where = argv[whereIdx]!;
  const max = argIs(where, 'max');
  if (!max && !argIs(where, 'min')) {
    out.error(WireErrors.syntax);
    return undefined;
  }
  let count = -1;
  for (let j = whereIdx + 1; j < argv.length; j++) {
    if (count === -1 && argIs(argv[j]!, 'count') && j + 1 < argv.length) {
      const v = parseInt64(argv[++j]!);
      if (v === null || v < 1) {
        out.error('ERR count should be greater than 0');
        return undefined;
      }
      count = Number(v);
    } else {
      out.error(WireErrors.syntax);
      return undefined;
    }
  }
  return { keys: argv.slice(at + 1, at + 1 + numkeys), max, count: count === -1 ? 1 : count };
}

/** ZMPOP numkeys key [key ...] MIN|MAX [COUNT count] */
function zmpop(ctx: CommandContext, argv: Buffer[]): void {
  const a = mpopArgsOrReply(ctx, argv, 1);
  if (a) zpopGeneric(ctx, a.keys, a.max, true, a.count, true, true);
}

/**
 * The blocking half (blockingGenericZpopCommand): pop now from the first non-empty
 * key, else wait (a proxy link cannot: it gets the timeout reply at once).
 */
function blockingPop(ctx: CommandContext, keys: Buffer[], deadline: number, max: boolean, count: number, nested: boolean): void {
  const key = firstZset(ctx, keys);
  if (key === undefined) return;
  if (key !== null) return popKey(ctx, key, max, true, count, nested);
  const reg = ctx.server.blocking;
  if (!reg.canBlock(ctx)) return ctx.out.nilArray();
  const owned = keys.map((k) => Buffer.from(k));
  reg.block({
    ctx,
    keys: owned,
    deadline,
    serve: () => {
      for (const key of owned) {
        const ref = ctx.ks.find(key);
        if (ref === 0 || ctx.ks.type(ref) !== TYPE_ZSET) continue;
        popKey(ctx, key, max, true, count, nested);
        return true;
      }
      return false;
    },
    timedOut: () => ctx.out.nilArray(),
  });
}

/** BZPOPMIN / BZPOPMAX key [key ...] timeout */
function bzpopMinMax(ctx: CommandContext, argv: Buffer[], max: boolean): void {
  const deadline = deadlineOrReply(ctx, argv[argv.length - 1]!);
  if (deadline === undefined) return;
  blockingPop(ctx, argv.slice(1, -1), deadline, max, -1, false);
}

function bzpopmin(ctx: CommandContext, argv: Buffer[]): void {
  bzpopMinMax(ctx, argv, false);
}
function bzpopmax(ctx: CommandContext, argv: Buffer[]): void {
  bzpopMinMax(ctx, argv, true);
}

/** BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count] */
function bzmpop(ctx: CommandContext, argv: Buffer[]): void {
  const a = mpopArgsOrReply(ctx, argv, 2);
  if (!a) return;
  const deadline = deadlineOrReply(ctx, argv[1]!);
  if (deadline === undefined) return;
  blockingPop(ctx, a.keys, deadline, a.max, a.count, true);
}

export const zsetPopCommands: HandlerTable = { zpopmin, zpopmax, zmpop, bzpopmin, bzpopmax, bzmpop };
