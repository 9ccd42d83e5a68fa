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
 * skiplist (a heap object): a ZsetValue whose `members` (a MemberIndex, below)
 *   maps member → score (ZSCORE, existence, and the key to find a member in the
 *   tree) and whose `tree` (./zset-tree.ts, an order-statistic B+-tree) keeps the
 *   pairs ordered for ranks and ranges.
 *
 *    ZsetValue
 *    +-----------+
 *    | members --+--> MemberIndex: slots [tag, position] → names / scores / tags
 *    |           |    by position (the names are the strings the tree holds)
 *    | tree    --+--> ScoreTree: (score, member) in order, counts per subtree
 *    +-----------+
 *
 *   `members` is null while the set is small (a decoded listpack): lookups scan the
 *   tree. ZADD on the heap finds the member by the argument's bytes, reads its score
 *   from the index, and moves the tree's own string (ScoreTree.move): an update
 *   makes no string and retains nothing new.
 *
 * Encoding changes follow Redis's zsetAdd: a listpack turns into a skiplist when an
 * insert makes it too long or brings a too-long member (changing the score of a
 * member already there never converts); results stored by ZUNIONSTORE, ZRANGESTORE
 * ... are listpacks whenever they fit. A skiplist never converts back.
 *
 * `bytes` (heap accounting) is kept in O(1): per member its string and a tree slot
 * (pointer + double); per tree node its arrays; with the member index, its arrays
 * (MemberIndex.bytes: a slot pair, a score, a tag and a name pointer per member).
 */
import { TYPE_ZSET } from '../arena/layout.js';
import type { CollectionType, CollectionValue } from './collection.js';
import { stringBytes, scoreEntry, entryScore } from './packed.js';
import { ScoreTree, LEAF_CAP, type Leaf } from './zset-tree.js';
import { capacityFor, MIN_SLOTS } from './set.js';
import { hashBytes, hashChars } from './keyed-hash.js';

/** ZsetValue, ScoreTree, the member table and their headers. */
const BASE_BYTES = 320;
/** A member's place in a leaf: a string pointer and an unboxed double. */
const SLOT_BYTES = 16;
/** A leaf object with its two arrays' headers and spare capacity. */
const LEAF_BYTES = 220;
/** An inner node: four arrays of up to 64 slots. */
const INNER_BYTES = 2200;
/** A `names` slot (a pointer to the member's string). */
const NAME_BYTES = 8;
/** Members looked up by scanning while there is no member table. */
const DICT_MIN = LEAF_CAP;

/**
 * MemberIndex: a large sorted set's dict, member → score, found from the member's
 * bytes (a command argument) or its string. Each member has a dense position
 * 0 .. count-1 holding its string (the very string the tree holds), its score and
 * its hash tag in three parallel arrays; an open-addressing table of slot pairs
 * [tag, 1 + position] (linear probing, 0 free, -1 deleted; ./set.ts's keyed hash)
 * finds the position. Removing a position moves the last member into it (its slot
 * is re-pointed). So a member costs its string (shared with the tree), a score and
 * a tag unboxed, and a slot pair: no Map entry and no boxed double, and a lookup
 * from an argument makes no string.
 */
export class MemberIndex {
  count = 0;
  /** Position → the member's string. */
  names: string[] = [];
  /** Position → score. */
  scores: Float64Array;
  /** Position → hash tag. */
  tags: Int32Array;
  #slots: Int32Array;
  /** Slot pairs - 1. */
  #mask: number;
  #tombs = 0;
  /** Hash of the last find (insertNew reuses it). */
  #lastHash = 0;

  constructor(members = 0) {
    const cap = capacityFor(members);
    this.#slots = new Int32Array(cap * 2);
    this.#mask = cap - 1;
    this.scores = new Float64Array(Math.max(16, members));
    this.tags = new Int32Array(Math.max(16, members));
  }

  get bytes(): number {
    return this.#slots.byteLength + this.scores.byteLength + this.tags.byteLength + this.names.length * NAME_BYTES;
  }

  /** Position of the member with bytes b[start, end), or -1. */
  find(b: Uint8Array, start: number, end: number): number {
    const h = hashBytes(b, start, end);
    this.#lastHash = h;
    const slots = this.#slots;
    const mask = this.#mask;
    const n = end - start;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const o = slots[2 * i + 1]!;
      if (o === 0) return -1;
      if (o < 0 || slots[2 * i] !== h) continue;
      const name = this.names[o - 1]!;
      if (name.length !== n) continue;
      let k = 0;
      while (k < n && name.charCodeAt(k) === b[start + k]) k++;
      if (k === n) return o - 1;
    }
  }

  /** Position of member m, or -1. */
  findString(m: string): number {
    const h = hashChars(m);
    this.#lastHash = h;
    const slots = this.#slots;
    const mask = this.#mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const o = slots[2 * i + 1]!;
      if (o === 0) return -1;
      if (o > 0 && slots[2 * i] === h && this.names[o - 1] === m) return o - 1;
    }
  }

  /** Adds member m with `score`; the find just before, on its bytes, did not find it. Returns its position. */
  insertNew(m: string, score: number): number {
    const pos = this.count;
    if (pos === this.scores.length) {
      const scores = new Float64Array(pos * 2);
      scores.set(this.scores);
      this.scores = scores;
      const tags = new Int32Array(pos * 2);
      tags.set(this.tags);
      this.tags = tags;
    }
    if ((pos + this.#tombs + 1) * 10 > (this.#mask + 1) * 7) this.#rebuild(capacityFor(pos + 1));
    const h = this.#lastHash;
    this.names[pos] = m;
    this.scores[pos] = score;
    this.tags[pos] = h;
    this.count = pos + 1;
    const slots = this.#slots;
    const mask = this.#mask;
    let i = h & mask;
    while (slots[2 * i + 1]! > 0) i = (i + 1) & mask;
    if (slots[2 * i + 1] === -1) this.#tombs--;
    slots[2 * i] = h;
    slots[2 * i + 1] = pos + 1;
    return pos;
  }

  /** Removes the member at position pos; the last member moves into pos. */
  removeAt(pos: number): void {
    const slots = this.#slots;
    slots[this.#slotOf(pos) + 1] = -1;
    this.#tombs++;
    const last = this.count - 1;
    const names = this.names;
    if (pos !== last) {
      slots[this.#slotOf(last) + 1] = pos + 1;
      names[pos] = names[last]!;
      this.scores[pos] = this.scores[last]!;
      this.tags[pos] = this.tags[last]!;
    }
    names.pop();
    this.count = last;
    if (last * 8 < this.#mask + 1 && this.#mask + 1 > MIN_SLOTS) this.#rebuild(capacityFor(last));
  }

  /** Index in #slots of the pair naming position pos. */
  #slotOf(pos: number): number {
    const slots = this.#slots;
    const mask = this.#mask;
    let i = this.tags[pos]! & mask;
    while (slots[2 * i + 1] !== pos + 1) i = (i + 1) & mask;
    return 2 * i;
  }

  /** A slot table of `cap` pairs for every position (from the tags: nothing is rehashed). */
  #rebuild(cap: number): void {
    const slots = new Int32Array(cap * 2);
    const mask = cap - 1;
    const tags = this.tags;
    for (let p = 0; p < this.count; p++) {
      const h = tags[p]!;
      let i = h & mask;
      while (slots[2 * i + 1] !== 0) i = (i + 1) & mask;
      slots[2 * i] = h;
      slots[2 * i + 1] = p + 1;
    }
    this.#slots = slots;
    this.#mask = mask;
    this.#tombs = 0;
  }
}

export class ZsetValue implements CollectionValue {
  tree: ScoreTree;
  /**
   * The member index (Redis's dict), built when the set leaves the listpack (or
   * grows large). null while small: lookups scan the tree then.
   */
  members: MemberIndex | null = null;
  #strBytes = 0;
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
      for (let leaf: Leaf | null = tree.first; leaf !== null; leaf = leaf.next) {
        const m = leaf.m;
        for (let i = 0; i < m.length; i++) sb += stringBytes(m[i]!.length);
      }
      this.#strBytes = sb;
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
    if (this.members !== null) n += this.members.bytes;
    return n;
  }

  /** Builds the member index (the set is about to live on the heap, or grew large). */
  ensureDict(): void {
    if (this.members !== null) return;
    const d = new MemberIndex(this.tree.size);
    for (let leaf: Leaf | null = this.tree.first; leaf !== null; leaf = leaf.next) {
      const m = leaf.m;
      const s = leaf.s;
      for (let i = 0; i < m.length; i++) {
        d.findString(m[i]!);
        d.insertNew(m[i]!, s[i]!);
      }
    }
    this.members = d;
  }

  /** The member's score, undefined if absent. */
  score(member: string): number | undefined {
    const d = this.members;
    if (d !== null) {
      const pos = d.findString(member);
      return pos < 0 ? undefined : d.scores[pos];
    }
    for (let leaf: Leaf | null = this.tree.first; leaf !== null; leaf = leaf.next) {
      const i = leaf.m.indexOf(member);
      if (i >= 0) return leaf.s[i];
    }
    return undefined;
  }

  /** score() of a member given as bytes (a command argument): no string is made for the lookup. */
  scoreOf(b: Buffer): number | undefined {
    const d = this.members;
    if (d === null) return this.score(b.toString('latin1'));
    const pos = d.find(b, 0, b.length);
    return pos < 0 ? undefined : d.scores[pos];
  }

  /** Adds a member that is not in the set. */
  insert(member: string, score: number): void {
    this.#grow(member, score);
    const d = this.members;
    if (d !== null) {
      d.findString(member);
      d.insertNew(member, score);
    } else if (this.tree.size > DICT_MIN) this.ensureDict();
  }

  /**
   * Adds the member with bytes b, which the last `members.find` (on these bytes) did
   * not find: ZADD of a new member to a set on the heap.
   */
  insertFound(b: Buffer, score: number): void {
    const member = b.toString('latin1');
    this.#grow(member, score);
    this.members!.insertNew(member, score);
  }

  #grow(member: string, score: number): void {
    this.tree.insert(score, member);
    this.#strBytes += stringBytes(member.length);
    const n = this.tree.size;
    if (n > this.grewTo) this.grewTo = n;
    if (member.length > this.maxInserted) this.maxInserted = member.length;
  }

  /** Moves a member from score `from` to score `to`. */
  update(member: string, from: number, to: number): void {
    const d = this.members;
    if (d !== null) this.updateAt(d.findString(member), from, to);
    else this.tree.move(from, member, to);
  }

  /**
   * Moves the member at position pos of `members` from score `from` (its score) to
   * `to`. The tree keeps the member's string (members.names[pos]), so an argument's
   * copy never replaces it.
   */
  updateAt(pos: number, from: number, to: number): void {
    const d = this.members!;
    this.tree.move(from, d.names[pos]!, to);
    d.scores[pos] = to;
  }

  /** Removes a member; its old score, or undefined if it was absent. */
  delete(member: string): number | undefined {
    const d = this.members;
    if (d !== null) {
      const pos = d.findString(member);
      if (pos < 0) return undefined;
      const score = d.scores[pos]!;
      this.tree.remove(score, d.names[pos]!);
      this.#strBytes -= stringBytes(member.length);
      d.removeAt(pos);
      return score;
    }
    const score = this.score(member);
    if (score === undefined) return undefined;
    this.tree.remove(score, member);
    this.#strBytes -= stringBytes(member.length);
    return score;
  }

  #forget(member: string): void {
    this.#strBytes -= stringBytes(member.length);
    const d = this.members;
    if (d !== null) d.removeAt(d.findString(member));
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
          } else this.#forget(m[i]!);
        }
      }
      this.tree = ScoreTree.fromSorted(km, ks);
      return;
    }
    for (let k = 0; k < count; k++) {
      t.select(start);
      const leaf = t.hitLeaf!;
      const m = leaf.m[t.hitIdx]!;
      t.removeRank(start);
      this.#forget(m);
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
