/**
 * The sorted-set value type, in Redis 7.0's two encodings.
 *
 * listpack (packed in the key's arena item, ./packed.ts): at most
 *   zset-max-listpack-entries members, none longer than zset-max-listpack-value
 *   bytes, as entries member, score (8 bytes, IEEE LE), member, score ... in order:
 *
 *       | count | len | "a" | 8 | 1.0 | len | "b" | 8 | 2.5 | ...
 *
 *   Hot reads walk these bytes in place (PackedZsetView) and single-member writes
 *   splice them (shard/commands/zsets-packed.ts); other commands decode them into a
 *   ZsetValue (one leaf, no member index: lookups scan, like a listpack) and commit
 *   packs it back. As in a listpack, a score that is an integer is stored as one,
 *   so -0 packs as 0.
 *
 * skiplist (a heap object): a ZsetValue whose `dict` maps member → score (ZSCORE,
 *   existence, and the key to find a member in the tree) and whose `tree`
 *   (./zset-tree.ts, an order-statistic B+-tree) keeps the pairs ordered for
 *   ranks and ranges.
 *
 *    ZsetValue
 *    +--------+
 *    | dict --+--> Map: member (latin1) → score, or null while small (scan the tree)
 *    | tree --+--> ScoreTree: (score, member) in order, counts per subtree
 *    +--------+
 *
 * Encoding changes follow Redis's zsetAdd: a listpack turns into a skiplist when an
 * insert makes it too long or brings a too-long member (changing the score of a
 * member already there never converts); results stored by ZUNIONSTORE, ZRANGESTORE
 * ... are listpacks whenever they fit. A skiplist never converts back.
 *
 * `bytes` (heap accounting) is kept in O(1): per member its string, a tree slot
 * (pointer + double) and, with the dict, a Map entry (+ a boxed double when the
 * score is not a small integer); per tree node its arrays.
 */
import { TYPE_ZSET } from '../arena/layout.js';
import type { CollectionType, CollectionValue } from './collection.js';
import { stringBytes, scoreEntry, entryScore } from './packed.js';
import { ScoreTree, LEAF_CAP, type Leaf } from './zset-tree.js';

/** ZsetValue, ScoreTree, the Map and their headers. */
const BASE_BYTES = 320;
/** A member's place in a leaf: a string pointer and an unboxed double. */
const SLOT_BYTES = 16;
/** A leaf object with its two arrays' headers and spare capacity. */
const LEAF_BYTES = 220;
/** An inner node: four arrays of up to 64 slots. */
const INNER_BYTES = 2200;
/** A Map entry with its share of the hash table. */
const DICT_ENTRY_BYTES = 40;
/** A HeapNumber boxing a score that is not a small integer in the Map. */
const BOX_BYTES = 16;
/** Members looked up by scanning while there is no dict. */
const DICT_MIN = LEAF_CAP;

function boxed(score: number): number {
  return (score | 0) === score && !Object.is(score, -0) ? 0 : 1;
}

export class ZsetValue implements CollectionValue {
  tree: ScoreTree;
  dict: Map<string, number> | null = null;
  #strBytes = 0;
  #boxed = 0;
  /**
   * Packing rules (see fitsPacked): set on an object decoded from a listpack (or a
   * new key) before a write, so only inserts can push it out of the listpack.
   */
  packedOrigin = false;
  /** Largest size an insert produced, and longest member inserted, since open. */
  grewTo = 0;
  maxInserted = 0;

  constructor(tree: ScoreTree = new ScoreTree()) {
    this.tree = tree;
    if (tree.size !== 0) {
      let sb = 0;
      let bx = 0;
      for (let leaf: Leaf | null = tree.first; leaf !== null; leaf = leaf.next) {
        const m = leaf.m;
        const s = leaf.s;
        for (let i = 0; i < m.length; i++) {
          sb += stringBytes(m[i]!.length);
          bx += boxed(s[i]!);
        }
      }
      this.#strBytes = sb;
      this.#boxed = bx;
    }
  }

  /** A set of the pairs m[i], s[i], already in order (takes the arrays). */
  static fromSorted(m: string[], s: number[]): ZsetValue {
    return new ZsetValue(ScoreTree.fromSorted(m, s));
  }

  get size(): number {
    return this.tree.size;
  }

  get bytes(): number {
    const t = this.tree;
    let n = BASE_BYTES + this.#strBytes + t.size * SLOT_BYTES + t.leaves * LEAF_BYTES + t.inners * INNER_BYTES;
    if (this.dict !== null) n += t.size * DICT_ENTRY_BYTES + this.#boxed * BOX_BYTES;
    return n;
  }

  /** Builds the member index (the set is about to live on the heap, or grew large). */
  ensureDict(): void {
    if (this.dict !== null) return;
    const d = new Map<string, number>();
    for (let leaf: Leaf | null = this.tree.first; leaf !== null; leaf = leaf.next) {
      const m = leaf.m;
      const s = leaf.s;
      for (let i = 0; i < m.length; i++) d.set(m[i]!, s[i]!);
    }
    this.dict = d;
  }

  /** The member's score, undefined if absent. */
  score(member: string): number | undefined {
    if (this.dict !== null) return this.dict.get(member);
    for (let leaf: Leaf | null = this.tree.first; leaf !== null; leaf = leaf.next) {
      const i = leaf.m.indexOf(member);
      if (i >= 0) return leaf.s[i];
    }
    return undefined;
  }

  /** Adds a member that is not in the set. */
  insert(member: string, score: number): void {
    this.tree.insert(score, member);
    this.#strBytes += stringBytes(member.length);
    this.#boxed += boxed(score);
    const n = this.tree.size;
    if (n > this.grewTo) this.grewTo = n;
    if (member.length > this.maxInserted) this.maxInserted = member.length;
    if (this.dict !== null) this.dict.set(member, score);
    else if (n > DICT_MIN) this.ensureDict();
  }

  /** Moves a member from score `from` to score `to`. */
  update(member: string, from: number, to: number): void {
    const t = this.tree;
    t.remove(from, member);
    t.insert(to, member);
    this.#boxed += boxed(to) - boxed(from);
    if (this.dict !== null) this.dict.set(member, to);
  }

  /** Removes a member; its old score, or undefined if it was absent. */
  delete(member: string): number | undefined {
    const score = this.score(member);
    if (score === undefined) return undefined;
    this.tree.remove(score, member);
    this.#forget(member, score);
    return score;
  }

  #forget(member: string, score: number): void {
    this.#strBytes -= stringBytes(member.length);
    this.#boxed -= boxed(score);
    if (this.dict !== null) this.dict.delete(member);
  }

  /** 0-based rank of a member in ascending order, -1 if absent. */
  rank(member: string): number {
    const score = this.score(member);
    return score === undefined ? -1 : this.tree.rankOf(score, member);
  }

  /** Removes `count` members from rank `start` on. */
  removeRange(start: number, count: number): void {
    if (count <= 0) return;
    const t = this.tree;
    if (count >= 64 && count * 4 >= t.size) {
      // A large share goes: rebuild from what stays, O(n), instead of count descents.
      const km: string[] = [];
      const ks: number[] = [];
      let r = 0;
      const end = start + count;
      for (let leaf: Leaf | null = t.first; leaf !== null; leaf = leaf.next) {
        const m = leaf.m;
        const s = leaf.s;
        for (let i = 0; i < m.length; i++, r++) {
          if (r < start || r >= end) {
            km.push(m[i]!);
            ks.push(s[i]!);
          } else this.#forget(m[i]!, s[i]!);
        }
      }
      this.tree = ScoreTree.fromSorted(km, ks);
      return;
    }
    for (let k = 0; k < count; k++) {
      t.select(start);
      const leaf = t.hitLeaf!;
      const m = leaf.m[t.hitIdx]!;
      const s = leaf.s[t.hitIdx]!;
      t.remove(s, m);
      this.#forget(m, s);
    }
  }

  /** Longest member, for the listpack limit. */
  maxMemberLength(): number {
    let max = 0;
    for (let leaf: Leaf | null = this.tree.first; leaf !== null; leaf = leaf.next) {
      for (const m of leaf.m) if (m.length > max) max = m.length;
    }
    return max;
  }

  /** Packed entries: member, 8-byte score ... in order. */
  toEntries(): string[] {
    const out = new Array<string>(this.tree.size * 2);
    let k = 0;
    for (let leaf: Leaf | null = this.tree.first; leaf !== null; leaf = leaf.next) {
      const m = leaf.m;
      const s = leaf.s;
      for (let i = 0; i < m.length; i++) {
        out[k++] = m[i]!;
        // A listpack stores an integral score as an integer: -0 becomes 0.
        const v = s[i]!;
        out[k++] = scoreEntry(v === 0 ? 0 : v);
      }
    }
    return out;
  }

  /** Marks an object just opened from a listpack (or created) for a write: see fitsPacked. */
  openedPacked(): void {
    this.packedOrigin = true;
    this.grewTo = 0;
    this.maxInserted = 0;
  }
}

/**
 * A packed sorted set read where it lies in the arena page, without decoding it
 * (ZSCORE, ZRANK, ZRANGE ... on a listpack): index() walks the entries once and
 * records where each member starts and how long it is; its score follows as a
 * one-byte length (8) and the double. Valid until the keyspace is written.
 */
export class PackedZsetView {
  page: Buffer = Buffer.alloc(0);
  size = 0;
  #at = new Int32Array(256);
  #len = new Int32Array(256);

  /** Indexes the packed value at page[start...]; returns the member count. */
  index(page: Buffer, start: number): number {
    const n = page.readUInt32LE(start) >>> 1;
    if (n > this.#at.length) {
      this.#at = new Int32Array(n * 2);
      this.#len = new Int32Array(n * 2);
    }
    const at = this.#at;
    const lens = this.#len;
    let p = start + 4;
    for (let i = 0; i < n; i++) {
      let len = 0;
      let shift = 0;
      for (;;) {
        const b = page[p++]!;
        len += (b & 0x7f) * 2 ** shift;
        if (b < 0x80) break;
        shift += 7;
      }
      at[i] = p;
      lens[i] = len;
      p += len + 9;
    }
    this.page = page;
    this.size = n;
    return n;
  }

  memberStart(i: number): number {
    return this.#at[i]!;
  }

  memberEnd(i: number): number {
    return this.#at[i]! + this.#len[i]!;
  }

  score(i: number): number {
    return this.page.readDoubleLE(this.#at[i]! + this.#len[i]! + 1);
  }

  /** Index of the member with these bytes, -1 if absent. */
  find(member: Buffer): number {
    const page = this.page;
    const len = member.length;
    for (let i = 0; i < this.size; i++) {
      if (this.#len[i] !== len) continue;
      const at = this.#at[i]!;
      let k = len - 1;
      while (k >= 0 && page[at + k] === member[k]) k--;
      if (k < 0) return i;
    }
    return -1;
  }

  /** Index of the first member whose score is >= x (> x when `exclusive`). */
  seekScore(x: number, exclusive: boolean): number {
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const s = this.score(mid);
      if (exclusive ? s <= x : s < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** The set of packed entries (member, score ...), in order. */
function fromEntries(entries: string[]): ZsetValue {
  const n = entries.length >> 1;
  const m = new Array<string>(n);
  const s = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    m[i] = entries[2 * i]!;
    s[i] = entryScore(entries[2 * i + 1]!);
  }
  return ZsetValue.fromSorted(m, s);
}

export const zsetType: CollectionType<ZsetValue> = {
  type: TYPE_ZSET,
  typeName: 'zset',
  wakesBlocked: true,
  create: () => {
    const z = new ZsetValue();
    z.openedPacked();
    return z;
  },
  fromEntries,
  toEntries: (obj) => obj.toEntries(),
  fitsPacked: (obj, config) => {
    let fits: boolean;
    if (obj.packedOrigin) {
      // zsetAdd: only an insert converts, when it grows the listpack past the entry
      // limit or brings a member over the value limit.
      fits = obj.grewTo <= config.zsetMaxListpackEntries && obj.maxInserted <= config.zsetMaxListpackValue;
    } else {
      fits = obj.size <= config.zsetMaxListpackEntries && obj.maxMemberLength() <= config.zsetMaxListpackValue;
    }
    // Leaving the arena for the heap: the member index makes lookups O(1) there.
    if (!fits) obj.ensureDict();
    return fits;
  },
  encodingName: (_obj, packed) => (packed ? 'listpack' : 'skiplist'),
};
