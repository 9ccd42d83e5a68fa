/**
 * Sorted-set algebra (Redis 7.0 zunionInterDiffGenericCommand): ZUNION, ZINTER,
 * ZDIFF, their *STORE forms and ZINTERCARD. Inputs may be sorted sets or plain sets
 * (every member of a set scores 1). Results are built in a Map, sorted once and
 * bulk-loaded (a stored result is a listpack whenever it fits, as Redis converts).
 *
 * Inputs are read in Redis's order so floating-point sums match: ZUNION/ZINTER sort
 * the inputs by size (stably, as glibc's qsort does here), ZINTER walks the smallest
 * and probes the others, ZDIFF keeps the first input's members absent from the rest.
 */
import type { CommandContext, HandlerTable } from './context.js';
import { TYPE_SET, TYPE_ZSET } from '../arena/layout.js';
import { WireErrors } from '../../shared/resp/wire-errors.js';
import { Replies } from '../../shared/resp/replies.js';
import { argIs } from './args.js';
import { storeCollection } from '../types/collection.js';
import { collectionOf } from '../types/registry.js';
import { zsetType, ZsetValue } from '../types/zset.js';
import type { SetValue } from '../types/set.js';
import { before } from '../types/zset-tree.js';
import { parseScore } from '../types/zset-score.js';
import { longOrReply, beginPairs, emitPair } from './zsets-common.js';

const UNION = 0;
const INTER = 1;
const DIFF = 2;

const SUM = 0;
const MIN = 1;
const MAX = 2;

/** One input: a sorted set, a set (scores 1) or a missing key (empty). */
interface Source {
  zset: ZsetValue | null;
  set: SetValue | null;
  weight: number;
  size: number;
}

function forEachMember(src: Source, fn: (member: string, score: number) => void): void {
  if (src.zset !== null) {
    for (let leaf: ZsetValue['tree']['first'] | null = src.zset.tree.first; leaf !== null; leaf = leaf.next) {
      const m = leaf.m;
      const s = leaf.s;
      for (let i = 0; i < m.length; i++) fn(m[i]!, s[i]!);
    }
  } else if (src.set !== null) {
    const set = src.set;
    for (let i = 0; i < set.size; i++) fn(set.at(i), 1);
  }
}

/** The member's score in the input (1 in a set), undefined if absent. */
function scoreIn(src: Source, member: string): number | undefined {
  if (src.zset !== null) return src.zset.score(member);
  if (src.set !== null) return src.set.has(member) ? 1 : undefined;
  return undefined;
}

function aggregate(target: number, val: number, how: number): number {
  if (how === SUM) {
    const r = target + val;
    // +inf + -inf: Redis keeps the convention that the result is 0.
    return Number.isNaN(r) ? 0 : r;
  }
  if (how === MIN) return val < target ? val : target;
  return val > target ? val : target;
}

/**
 * The shared body. `dst` is the destination of the *STORE forms, `numkeysAt` the
 * argv index of numkeys; `cardOnly` is ZINTERCARD.
 */
function zsetOpGeneric(ctx: CommandContext, argv: Buffer[], dst: Buffer | null, numkeysAt: number, op: number, cardOnly: boolean, name: string): void {
  const out = ctx.out;
  const setnum = longOrReply(out, argv[numkeysAt]!);
  if (setnum === undefined) return;
  if (setnum < 1) return out.error(`ERR at least 1 input key is needed for '${name}' command`);
  if (setnum > argv.length - (numkeysAt + 1)) return out.error(WireErrors.syntax);
  const ks = ctx.ks;
  const src: Source[] = [];
  let j = numkeysAt + 1;
  for (let i = 0; i < setnum; i++, j++) {
    const ref = ks.lookupRead(argv[j]!);
    const s: Source = { zset: null, set: null, weight: 1, size: 0 };
    if (ref !== 0) {
      const type = ks.type(ref);
      if (type !== TYPE_ZSET && type !== TYPE_SET) return out.error(WireErrors.wrongType);
      const obj = collectionOf(ks, ref)!;
      if (type === TYPE_ZSET) s.zset = obj as ZsetValue;
      else s.set = obj as SetValue;
      s.size = obj.size;
    }
    src.push(s);
  }
  let how = SUM;
  let withScores = false;
  let limit = 0;
  let remaining = argv.length - j;
  while (remaining > 0) {
    const a = argv[j]!;
    if (op !== DIFF && !cardOnly && remaining >= setnum + 1 && argIs(a, 'weights')) {
      j++;
      remaining--;
      for (let i = 0; i < setnum; i++, j++, remaining--) {
        const w = parseScore(argv[j]!);
        if (w === null) return out.error('ERR weight value is not a float');
        src[i]!.weight = w;
      }
    } else if (op !== DIFF && !cardOnly && remaining >= 2 && argIs(a, 'aggregate')) {
      const v = argv[j + 1]!;
      if (argIs(v, 'sum')) how = SUM;
      else if (argIs(v, 'min')) how = MIN;
      else if (argIs(v, 'max')) how = MAX;
      else return out.error(WireErrors.syntax);
      j += 2;
      remaining -= 2;
    } else if (dst === null && !cardOnly && argIs(a, 'withscores')) {
      j++;
      remaining--;
      withScores = true;
    } else if (cardOnly && remaining >= 2 && argIs(a, 'limit')) {
      const l = longOrReply(out, argv[j + 1]!, 'ERR LIMIT can\'t be negative');
      if (l === undefined) return;
      if (l < 0) return out.error('ERR LIMIT can\'t be negative');
      limit = l;
      j += 2;
      remaining -= 2;
    } else return out.error(WireErrors.syntax);
  }
  // Array.prototype.sort is stable, like the merge sort glibc's qsort uses here.
  if (op !== DIFF) src.sort((x, y) => x.size - y.size);

  const result = new Map<string, number>();
  let cardinality = 0;
  if (op === INTER) {
    const first = src[0]!;
    if (first.size > 0) {
      try {
        forEachMember(first, (member, score) => {
          let acc = first.weight * score;
          if (Number.isNaN(acc)) acc = 0;
          for (let k = 1; k < setnum; k++) {
            const other = scoreIn(src[k]!, member);
            if (other === undefined) return;
            acc = aggregate(acc, other * src[k]!.weight, how);
          }
          if (cardOnly) {
            cardinality++;
            if (limit !== 0 && cardinality >= limit) throw STOP;
          } else result.set(member, acc);
        });
      } catch (e) {
        if (e !== STOP) throw e;
      }
    }
  } else if (op === UNION) {
    for (const s of src) {
      if (s.size === 0) continue;
      forEachMember(s, (member, score) => {
        let v = s.weight * score;
        if (Number.isNaN(v)) v = 0;
        const cur = result.get(member);
        result.set(member, cur === undefined ? v : aggregate(cur, v, how));
      });
    }
  } else {
    const first = src[0]!;
    forEachMember(first, (member, score) => {
      for (let k = 1; k < setnum; k++) if (scoreIn(src[k]!, member) !== undefined) return;
      result.set(member, score);
    });
  }

  if (cardOnly) return out.integer(cardinality);
  const n = result.size;
  const members = new Array<string>(n);
  const scores = new Array<number>(n);
  let k = 0;
  for (const [m, s] of result) {
    members[k] = m;
    scores[k++] = s;
  }
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((x, y) => (before(scores[x]!, members[x]!, scores[y]!, members[y]!) ? -1 : 1));
  const sm = new Array<string>(n);
  const ss = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    sm[i] = members[order[i]!]!;
    ss[i] = scores[order[i]!]!;
  }
  if (dst !== null) {
    if (n === 0) {
      ks.delete(dst);
      return out.raw(Replies.zero);
    }
    if (!storeCollection(ctx, dst, zsetType, ZsetValue.fromSorted(sm, ss))) return;
    return out.integer(n);
  }
  beginPairs(out, n, withScores);
  for (let i = 0; i < n; i++) emitPair(out, sm[i]!, ss[i]!, withScores);
}

/** Thrown to leave a member walk early (ZINTERCARD's LIMIT). */
const STOP = new Error('stop');

export const zsetOpCommands: HandlerTable = {
  zunion: (ctx, argv) => zsetOpGeneric(ctx, argv, null, 1, UNION, false, 'zunion'),
  zinter: (ctx, argv) => zsetOpGeneric(ctx, argv, null, 1, INTER, false, 'zinter'),
  zdiff: (ctx, argv) => zsetOpGeneric(ctx, argv, null, 1, DIFF, false, 'zdiff'),
  zunionstore: (ctx, argv) => zsetOpGeneric(ctx, argv, argv[1]!, 2, UNION, false, 'zunionstore'),
  zinterstore: (ctx, argv) => zsetOpGeneric(ctx, argv, argv[1]!, 2, INTER, false, 'zinterstore'),
  zdiffstore: (ctx, argv) => zsetOpGeneric(ctx, argv, argv[1]!, 2, DIFF, false, 'zdiffstore'),
  zintercard: (ctx, argv) => zsetOpGeneric(ctx, argv, null, 1, INTER, true, 'zintercard'),
};
