/**
 * ScoreTree: the ordered half of a sorted set — (score, member) pairs in Redis's
 * order (score, then member bytes) in a B+-tree whose inner nodes count their
 * subtrees, so rank, select-by-rank, insert and delete are O(log n) and a range is
 * O(log n) to find plus one step per element (Redis's skip list with spans does the
 * same; this spends ~16 bytes per element instead of a node per element).
 *
 *    Inner                                   Leaf
 *    +--------------------------------+      +---------------------------+
 *    | kids   [ k0 | k1 | k2 ... ]    |      | m [ "a" | "b" | "c" ... ] |  members, ascending
 *    | counts [ 96 | 80 | 112 ... ]   |      | s [ 1.0 | 1.0 | 2.5 ... ] |  scores (a double array)
 *    | sepS/sepM [ - | (3,"x") ... ]  |      | prev / next leaf          |
 *    +--------------------------------+      +---------------------------+
 *
 * Invariants:
 *  - every leaf but an empty root holds 1..LEAF_CAP pairs; inner nodes 1..INNER_CAP kids;
 *    all leaves are at depth `height` (a lone leaf is the root at height 0);
 *  - counts[i] = pairs under kids[i];
 *  - sep[i] (i >= 1) splits kids[i-1] and kids[i]: every pair in kids[i-1] is < sep[i]
 *    <= every pair in kids[i]. sep[0] is unused. A separator may be a pair deleted
 *    since: it is only a bound;
 *  - leaves form a doubly linked list in order (first ... last), for range walks.
 *
 * Nodes split in half, except at the ends of the tree: appending past the last leaf
 * (or prepending before the first) splits off a single pair, so ascending inserts —
 * ZADD with growing scores, the common case — fill leaves completely. A node left
 * under a quarter full merges with a sibling when both fit in one node; merges are
 * not forced further, which keeps deletes cheap and leaves at worst half used on
 * average (no two small siblings stay side by side).
 *
 * A score change (ZADD of a member already there) is one move(): when the new place
 * is in the same leaf the pairs in between shift by one; otherwise a removal and an
 * insertion. Either way the tree keeps the member's string it already had.
 *
 * Range searches take a monotone predicate "below the bound" (score < x, member <= y
 * ...) and return the rank of the first pair not below it, leaving the position in
 * `hitLeaf`/`hitIdx`. Lex predicates are only monotone when all scores are equal,
 * which is what Redis requires of the *BYLEX commands too.
 *
 * Members are latin1 strings: `<` compares them as Redis's memcmp-based sdscmp.
 */

/** Pairs per leaf at most (split beyond). */
export const LEAF_CAP = 128;
/** Kids per inner node at most. */
const INNER_CAP = 64;
const LEAF_MIN = LEAF_CAP >> 2;
const INNER_MIN = INNER_CAP >> 2;
/** Bulk loads fill leaves this far, leaving room to insert without splitting at once. */
const LEAF_FILL = 112;
const INNER_FILL = 56;

export class Leaf {
  m: string[];
  s: number[];
  prev: Leaf | null = null;
  next: Leaf | null = null;
  constructor(m: string[], s: number[]) {
    this.m = m;
    this.s = s;
  }
}

class Inner {
  kids: Node[];
  counts: number[];
  sepS: number[];
  sepM: string[];
  constructor(kids: Node[], counts: number[], sepS: number[], sepM: string[]) {
    this.kids = kids;
    this.counts = counts;
    this.sepS = sepS;
    this.sepM = sepM;
  }
}

type Node = Leaf | Inner;

/** Search modes: what "below the bound" means for #seek. */
const SCORE_LT = 0; // s < bound
const SCORE_LE = 1; // s <= bound
const LEX_LT = 2; //   m < bound
const LEX_LE = 3; //   m <= bound

/** (s1, m1) orders before (s2, m2). */
export function before(s1: number, m1: string, s2: number, m2: string): boolean {
  return s1 < s2 || (s1 === s2 && m1 < m2);
}

export class ScoreTree {
  root: Node;
  /** Levels of inner nodes above the leaves. */
  height = 0;
  size = 0;
  leaves = 1;
  inners = 0;
  first: Leaf;
  last: Leaf;
  /** Position found by the last seek/select: the leaf (null = past the end) and the index in it. */
  hitLeaf: Leaf | null = null;
  hitIdx = 0;
  /** The path of the last #descendKey: inner node and kid index per level (root first). */
  #pathNode: Inner[] = [];
  #pathIdx: number[] = [];
  #bs = 0;
  #bm = '';

  constructor() {
    const leaf = new Leaf([], []);
    this.root = leaf;
    this.first = leaf;
    this.last = leaf;
  }

  /**
   * A tree holding the given pairs, already in order (m[i], s[i]); takes ownership
   * of the arrays when they fit one leaf.
   */
  static fromSorted(m: string[], s: number[]): ScoreTree {
    const t = new ScoreTree();
    const n = m.length;
    if (n <= LEAF_CAP) {
      const leaf = t.root as Leaf;
      leaf.m = m;
      leaf.s = s;
      t.size = n;
      return t;
    }
    let level: Node[] = [];
    let counts: number[] = [];
    let sepS: number[] = [];
    let sepM: string[] = [];
    let prev: Leaf | null = null;
    const leafCount = Math.ceil(n / LEAF_FILL);
    for (let k = 0; k < leafCount; k++) {
      const from = Math.floor((k * n) / leafCount);
      const to = Math.floor(((k + 1) * n) / leafCount);
      const leaf = new Leaf(m.slice(from, to), s.slice(from, to));
      leaf.prev = prev;
      if (prev) prev.next = leaf;
      prev = leaf;
      level.push(leaf);
      counts.push(to - from);
      sepS.push(s[from]!);
      sepM.push(m[from]!);
    }
    t.first = level[0] as Leaf;
    t.last = prev!;
    t.leaves = leafCount;
    t.size = n;
    let height = 0;
    while (level.length > 1) {
      const groups = Math.ceil(level.length / INNER_FILL);
      const next: Node[] = [];
      const nextCounts: number[] = [];
      const nextS: number[] = [];
      const nextM: string[] = [];
      for (let g = 0; g < groups; g++) {
        const from = Math.floor((g * level.length) / groups);
        const to = Math.floor(((g + 1) * level.length) / groups);
        const c = counts.slice(from, to);
        next.push(new Inner(level.slice(from, to), c, sepS.slice(from, to), sepM.slice(from, to)));
        let total = 0;
        for (const x of c) total += x;
        nextCounts.push(total);
        nextS.push(sepS[from]!);
        nextM.push(sepM[from]!);
        t.inners++;
      }
      level = next;
      counts = nextCounts;
      sepS = nextS;
      sepM = nextM;
      height++;
    }
    t.root = level[0]!;
    t.height = height;
    return t;
  }

  // --- searches ------------------------------------------------------------------

  #below(mode: number, s: number, m: string): boolean {
    switch (mode) {
      case SCORE_LT: return s < this.#bs;
      case SCORE_LE: return s <= this.#bs;
      case LEX_LT: return m < this.#bm;
      default: return m <= this.#bm;
    }
  }

  /** Rank of the first pair not below the bound (mode); sets hitLeaf/hitIdx. */
  #seek(mode: number): number {
    let node = this.root;
    let rank = 0;
    for (let h = this.height; h > 0; h--) {
      const inner = node as Inner;
      let lo = 1;
      let hi = inner.kids.length - 1;
      let i = 0;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (this.#below(mode, inner.sepS[mid]!, inner.sepM[mid]!)) {
          i = mid;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      const counts = inner.counts;
      for (let k = 0; k < i; k++) rank += counts[k]!;
      node = inner.kids[i]!;
    }
    const leaf = node as Leaf;
    let lo = 0;
    let hi = leaf.m.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#below(mode, leaf.s[mid]!, leaf.m[mid]!)) lo = mid + 1;
      else hi = mid;
    }
    this.#hit(leaf, lo);
    return rank + lo;
  }

  #hit(leaf: Leaf, i: number): void {
    if (i < leaf.m.length) {
      this.hitLeaf = leaf;
      this.hitIdx = i;
    } else {
      this.hitLeaf = leaf.next;
      this.hitIdx = 0;
    }
  }

  /** Rank of the first pair with score >= x (or > x when `exclusive`). */
  seekScore(x: number, exclusive: boolean): number {
    this.#bs = x;
    return this.#seek(exclusive ? SCORE_LE : SCORE_LT);
  }

  /** Rank of the first pair with member >= x (or > x when `exclusive`). */
  seekLex(x: string, exclusive: boolean): number {
    this.#bm = x;
    return this.#seek(exclusive ? LEX_LE : LEX_LT);
  }

  /** Positions hitLeaf/hitIdx at rank r (0 <= r < size). */
  select(r: number): void {
    let node = this.root;
    for (let h = this.height; h > 0; h--) {
      const inner = node as Inner;
      const counts = inner.counts;
      let i = 0;
      while (r >= counts[i]!) r -= counts[i++]!;
      node = inner.kids[i]!;
    }
    this.#hit(node as Leaf, r);
  }

  /**
   * Walks to the leaf where (s, m) is or belongs, recording the path (#pathNode /
   * #pathIdx for levels 0 .. height-1, root first), adding `delta` to the counts on
   * the way. Returns the leaf; the index in it is hitIdx. With `wantRank` it also
   * sums the counts left of the path into #rank (pairs before it).
   */
  #descendKey(s: number, m: string, delta: number, wantRank: boolean): Leaf {
    let node = this.root;
    let rank = 0;
    const pn = this.#pathNode;
    const pi = this.#pathIdx;
    for (let level = 0, h = this.height; h > 0; h--, level++) {
      const inner = node as Inner;
      const sepS = inner.sepS;
      // last kid whose separator is <= (s, m)
      let lo = 1;
      let hi = sepS.length - 1;
      let i = 0;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        const ss = sepS[mid]!;
        if (s > ss || (s === ss && m >= inner.sepM[mid]!)) {
          i = mid;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      const counts = inner.counts;
      if (wantRank) for (let k = 0; k < i; k++) rank += counts[k]!;
      if (delta !== 0) counts[i]! += delta;
      pn[level] = inner;
      pi[level] = i;
      node = inner.kids[i]!;
    }
    const leaf = node as Leaf;
    const ls = leaf.s;
    let lo = 0;
    let hi = ls.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const ms = ls[mid]!;
      if (ms < s || (ms === s && leaf.m[mid]! < m)) lo = mid + 1;
      else hi = mid;
    }
    this.hitIdx = lo;
    this.#rank = rank + lo;
    return leaf;
  }

  #rank = 0;

  /** 0-based rank of a pair that is in the tree. */
  rankOf(s: number, m: string): number {
    this.#descendKey(s, m, 0, true);
    return this.#rank;
  }

  // --- updates -------------------------------------------------------------------

  /** Adds a pair that is not in the tree. */
  insert(s: number, m: string): void {
    const leaf = this.#descendKey(s, m, 1, false);
    const i = this.hitIdx;
    const lm = leaf.m;
    const ls = leaf.s;
    const n = lm.length;
    // Open a hole at i by hand: splice would allocate its (empty) result array.
    lm.push(m);
    ls.push(s);
    for (let k = n; k > i; k--) {
      lm[k] = lm[k - 1]!;
      ls[k] = ls[k - 1]!;
    }
    lm[i] = m;
    ls[i] = s;
    this.size++;
    if (n + 1 > LEAF_CAP) this.#splitLeaf(leaf, i);
  }

  /** Removes a pair that is in the tree. */
  remove(s: number, m: string): void {
    const leaf = this.#descendKey(s, m, -1, false);
    this.#removeAt(leaf, this.hitIdx);
  }

  /**
   * Moves the pair (from, m), which is in the tree, to score `to`, and returns the
   * member string the tree keeps for it (its own, not `m`: the caller's copy can die
   * young). When the new place is in the same leaf the pairs between the two places
   * shift by one and no count changes; otherwise it is a removal and an insertion.
   */
  move(from: number, m: string, to: number): string {
    const leaf = this.#descendKey(from, m, 0, false);
    const i = this.hitIdx;
    const lm = leaf.m;
    const ls = leaf.s;
    const kept = lm[i]!;
    const n = lm.length;
    // (to, m) belongs in this leaf when some other pair of it is below (or it is the
    // first leaf) and some other pair above (or it is the last leaf).
    const a = i === 0 ? 1 : 0;
    const b = i === n - 1 ? n - 2 : n - 1;
    const lowOk = leaf.prev === null || (a < n && (ls[a]! < to || (ls[a] === to && lm[a]! < m)));
    const highOk = leaf.next === null || (b >= 0 && (to < ls[b]! || (to === ls[b] && m < lm[b]!)));
    if (lowOk && highOk) {
      // First index whose pair is not below (to, m); pair i counts as its right
      // neighbour does (its left one at the end), which keeps the test monotone.
      let lo = 0;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        const k = mid !== i ? mid : mid + 1 < n ? mid + 1 : mid - 1;
        if (k >= 0 && (ls[k]! < to || (ls[k] === to && lm[k]! < m))) lo = mid + 1;
        else hi = mid;
      }
      let j = lo;
      if (j > i) {
        j--;
        for (let k = i; k < j; k++) {
          lm[k] = lm[k + 1]!;
          ls[k] = ls[k + 1]!;
        }
      } else {
        for (let k = i; k > j; k--) {
          lm[k] = lm[k - 1]!;
          ls[k] = ls[k - 1]!;
        }
      }
      lm[j] = kept;
      ls[j] = to;
      return kept;
    }
    const pn = this.#pathNode;
    const pi = this.#pathIdx;
    for (let level = 0; level < this.height; level++) pn[level]!.counts[pi[level]!]!--;
    this.#removeAt(leaf, i);
    this.insert(to, kept);
    return kept;
  }

  /** Removes the pair at rank r (0 <= r < size): a descent by counts, no comparisons. */
  removeRank(r: number): void {
    let node = this.root;
    const pn = this.#pathNode;
    const pi = this.#pathIdx;
    for (let level = 0, h = this.height; h > 0; h--, level++) {
      const inner = node as Inner;
      const counts = inner.counts;
      let i = 0;
      while (r >= counts[i]!) r -= counts[i++]!;
      counts[i]!--;
      pn[level] = inner;
      pi[level] = i;
      node = inner.kids[i]!;
    }
    this.#removeAt(node as Leaf, r);
  }

  /** Removes the pair at index i of `leaf`, reached by the last descent (counts already adjusted). */
  #removeAt(leaf: Leaf, i: number): void {
    const lm = leaf.m;
    const ls = leaf.s;
    const n = lm.length - 1;
    for (let k = i; k < n; k++) {
      lm[k] = lm[k + 1]!;
      ls[k] = ls[k + 1]!;
    }
    lm.pop();
    ls.pop();
    this.size--;
    if (this.size === 0) {
      this.#reset();
      return;
    }
    if (this.height > 0 && n < LEAF_MIN) this.#underflowLeaf(leaf);
  }

  #reset(): void {
    const leaf = new Leaf([], []);
    this.root = leaf;
    this.first = leaf;
    this.last = leaf;
    this.height = 0;
    this.leaves = 1;
    this.inners = 0;
  }

  #splitLeaf(leaf: Leaf, insertedAt: number): void {
    const n = leaf.m.length;
    // Appending at the end of the tree: keep the left leaf full (ascending inserts).
    const at = leaf.next === null && insertedAt === n - 1 ? n - 1 : leaf.prev === null && insertedAt === 0 ? 1 : n >> 1;
    const right = new Leaf(leaf.m.splice(at), leaf.s.splice(at));
    right.prev = leaf;
    right.next = leaf.next;
    if (leaf.next) leaf.next.prev = right;
    else this.last = right;
    leaf.next = right;
    this.leaves++;
    this.#addKid(this.height - 1, right, right.m.length, right.s[0]!, right.m[0]!);
  }

  /**
   * Puts `kid` (holding `count` pairs, lower bound sep) right after the path's kid at
   * `level` (the level of its parent; -1 = a new root above the old one).
   */
  #addKid(level: number, kid: Node, count: number, sepS: number, sepM: string): void {
    if (level < 0) {
      const old = this.root;
      this.root = new Inner([old, kid], [this.size - count, count], [0, sepS], ['', sepM]);
      this.height++;
      this.inners++;
      return;
    }
    const parent = this.#pathNode[level]!;
    const i = this.#pathIdx[level]!;
    parent.counts[i]! -= count;
    parent.kids.splice(i + 1, 0, kid);
    parent.counts.splice(i + 1, 0, count);
    parent.sepS.splice(i + 1, 0, sepS);
    parent.sepM.splice(i + 1, 0, sepM);
    const n = parent.kids.length;
    if (n <= INNER_CAP) return;
    const last = level === 0 || this.#isRightmost(level);
    const firstSide = level === 0 || this.#isLeftmost(level);
    const at = last && i + 1 === n - 1 ? n - 1 : firstSide && i === 0 ? 1 : n >> 1;
    const right = new Inner(parent.kids.splice(at), parent.counts.splice(at), parent.sepS.splice(at), parent.sepM.splice(at));
    let total = 0;
    for (const c of right.counts) total += c;
    this.inners++;
    this.#addKid(level - 1, right, total, right.sepS[0]!, right.sepM[0]!);
  }

  /** The path's node at `level` is the last kid all the way up. */
  #isRightmost(level: number): boolean {
    for (let l = 0; l < level; l++) if (this.#pathIdx[l] !== this.#pathNode[l]!.kids.length - 1) return false;
    return true;
  }

  #isLeftmost(level: number): boolean {
    for (let l = 0; l < level; l++) if (this.#pathIdx[l] !== 0) return false;
    return true;
  }

  #underflowLeaf(leaf: Leaf): void {
    const level = this.height - 1;
    const parent = this.#pathNode[level]!;
    const i = this.#pathIdx[level]!;
    const n = leaf.m.length;
    if (n === 0) {
      this.#unlinkLeaf(leaf);
      this.#removeKid(parent, i);
    } else if (i > 0 && (parent.kids[i - 1] as Leaf).m.length + n <= LEAF_CAP) {
      const left = parent.kids[i - 1] as Leaf;
      for (let k = 0; k < n; k++) {
        left.m.push(leaf.m[k]!);
        left.s.push(leaf.s[k]!);
      }
      parent.counts[i - 1]! += n;
      this.#unlinkLeaf(leaf);
      this.#removeKid(parent, i);
    } else if (i + 1 < parent.kids.length && (parent.kids[i + 1] as Leaf).m.length + n <= LEAF_CAP) {
      const right = parent.kids[i + 1] as Leaf;
      const rn = right.m.length;
      for (let k = 0; k < rn; k++) {
        leaf.m.push(right.m[k]!);
        leaf.s.push(right.s[k]!);
      }
      parent.counts[i]! += rn;
      this.#unlinkLeaf(right);
      this.#removeKid(parent, i + 1);
    } else return;
    this.#underflowInner(level);
  }

  #unlinkLeaf(leaf: Leaf): void {
    if (leaf.prev) leaf.prev.next = leaf.next;
    else this.first = leaf.next!;
    if (leaf.next) leaf.next.prev = leaf.prev;
    else this.last = leaf.prev!;
    this.leaves--;
  }

  #removeKid(parent: Inner, i: number): void {
    parent.kids.splice(i, 1);
    parent.counts.splice(i, 1);
    parent.sepS.splice(i, 1);
    parent.sepM.splice(i, 1);
  }

  /** The path's inner node at `level` lost a kid: collapse the root or merge with a sibling. */
  #underflowInner(level: number): void {
    const node = this.#pathNode[level]!;
    const n = node.kids.length;
    if (level === 0) {
      if (n === 1) {
        this.root = node.kids[0]!;
        this.height--;
        this.inners--;
      }
      return;
    }
    if (n >= INNER_MIN) return;
    const parent = this.#pathNode[level - 1]!;
    const i = this.#pathIdx[level - 1]!;
    if (n === 0) {
      this.#removeKid(parent, i);
      this.inners--;
    } else if (i > 0 && (parent.kids[i - 1] as Inner).kids.length + n <= INNER_CAP) {
      this.#mergeInner(parent, i - 1);
    } else if (i + 1 < parent.kids.length && (parent.kids[i + 1] as Inner).kids.length + n <= INNER_CAP) {
      this.#mergeInner(parent, i);
    } else return;
    this.#underflowInner(level - 1);
  }

  /** Moves parent.kids[j+1]'s kids to the end of parent.kids[j] and drops it. */
  #mergeInner(parent: Inner, j: number): void {
    const left = parent.kids[j] as Inner;
    const right = parent.kids[j + 1] as Inner;
    // right's first kid now needs a real separator: the one the parent kept for right
    right.sepS[0] = parent.sepS[j + 1]!;
    right.sepM[0] = parent.sepM[j + 1]!;
    for (let k = 0; k < right.kids.length; k++) {
      left.kids.push(right.kids[k]!);
      left.counts.push(right.counts[k]!);
      left.sepS.push(right.sepS[k]!);
      left.sepM.push(right.sepM[k]!);
    }
    parent.counts[j]! += parent.counts[j + 1]!;
    this.#removeKid(parent, j + 1);
    this.inners--;
  }
}

/**
 * A position in a tree for walking a range: `leaf === null` is past either end.
 * Valid until the tree is modified.
 */
export class Cursor {
  leaf: Leaf | null;
  i: number;
  constructor(leaf: Leaf | null, i: number) {
    this.leaf = leaf;
    this.i = i;
  }
  get member(): string {
    return this.leaf!.m[this.i]!;
  }
  get score(): number {
    return this.leaf!.s[this.i]!;
  }
  next(): void {
    const leaf = this.leaf!;
    if (++this.i >= leaf.m.length) {
      this.leaf = leaf.next;
      this.i = 0;
    }
  }
  prev(): void {
    if (--this.i < 0) {
      this.leaf = this.leaf!.prev;
      this.i = this.leaf === null ? 0 : this.leaf.m.length - 1;
    }
  }
}
