/**
 * The set value type, in Redis 7.0's two encodings.
 *
 * intset (packed in the key's arena item, ./packed.ts): every member an integer in
 *   canonical form (what Redis's string2ll accepts: no '+', no leading zero, not
 *   "-0") within int64, at most set-max-intset-entries of them. The entries are a
 *   marker '' followed by the members as decimal strings in ascending numeric order:
 *
 *       ['', '-5', '3', '17']
 *
 *   Decoded, `items` is that very array (marker at 0, so decode and encode copy
 *   nothing). Lookups binary-search comparing decimal strings numerically (sign,
 *   then length, then bytes); add and remove splice, O(n) like Redis's memmove.
 *
 * hashtable (a heap object): `items` holds the members densely in no particular
 *   order and `index` maps each member to its position there, so membership, add,
 *   remove (the last member moves into the hole) and a uniform random pick are
 *   O(1). Its dump (RENAME, COPY, SHOAL.DUMPKEY) is the members, never with '' first
 *   unless it is the only one, so a dump cannot be mistaken for an intset: both
 *   keep their encoding across RENAME/COPY, as Redis keeps the object.
 *
 * Conversions follow Redis's setTypeAdd: adding a non-integer, or growing past the
 * limit, turns an intset into a table. A table never turns back, except where Redis
 * builds a fresh set (SPOP with a count near the size keeps the remainder as a new
 * set: the handler calls toIntset()).
 *
 * SSCAN over a table walks `items` from the top down and the cursor is the boundary
 * below which nothing was visited yet. Members only ever move down (into a hole left
 * by a removal), so a member present for the whole scan stays below the boundary
 * until visited; one moved down after its visit may be returned twice, which SCAN
 * allows.
 *
 * Members are latin1 strings (one char per byte). `bytes` is kept incrementally for
 * tables: per member its string, a Map entry and an array slot.
 */
import { TYPE_SET } from '../arena/layout.js';
import type { CollectionType, CollectionValue } from './collection.js';
import { stringBytes } from './packed.js';

/** The object, the Map and the array headers of a table. */
const TABLE_BASE = 176;
/** Map entry with its share of the hash table (~40) and an array slot (8); plus the string. */
const TABLE_PER_MEMBER = 48;
/** Redis caps the intset limit at 2^30 entries. */
const INTSET_HARD_MAX = 1 << 30;

/** True when s is an integer Redis stores in an intset (string2ll's canonical form, int64). */
export function isIntMember(s: string): boolean {
  const n = s.length;
  if (n === 0 || n > 20) return false;
  let i = 0;
  if (s.charCodeAt(0) === 45) {
    if (n === 1) return false;
    i = 1;
  }
  const first = s.charCodeAt(i);
  if (first === 48) return n === 1; // "0" only: "00", "-0", "01" are strings
  if (first < 49 || first > 57) return false;
  for (let j = i + 1; j < n; j++) {
    const c = s.charCodeAt(j);
    if (c < 48 || c > 57) return false;
  }
  if (n - i < 19) return true;
  if (n - i > 19) return false;
  // 19 digits: compare with the int64 bounds as strings of the same length.
  return i === 0 ? s <= '9223372036854775807' : s <= '-9223372036854775808';
}

/** Numeric order of two canonical integers given as decimal strings. */
function compareInts(a: string, b: string): number {
  const an = a.charCodeAt(0) === 45;
  if (an !== (b.charCodeAt(0) === 45)) return an ? -1 : 1;
  if (a === b) return 0;
  const less = a.length !== b.length ? a.length < b.length : a < b;
  return less !== an ? -1 : 1;
}

function tableCost(m: string): number {
  return TABLE_PER_MEMBER + stringBytes(m.length);
}

/** The set-max-intset-entries value setTypeAdd uses. */
export function intsetLimit(configured: number): number {
  return configured >= INTSET_HARD_MAX ? INTSET_HARD_MAX : configured;
}

/**
 * k distinct indexes of [0, n) in random order (k <= n): a Fisher-Yates shuffle
 * whose displaced slots live in a Map, so it costs O(k) whatever n is.
 */
export function sampleIndexes(n: number, k: number): number[] {
  const out = new Array<number>(k);
  const moved = new Map<number, number>();
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(Math.random() * (n - i));
    const vj = moved.get(j) ?? j;
    out[i] = vj;
    moved.set(j, moved.get(i) ?? i);
  }
  return out;
}

export class SetValue implements CollectionValue {
  /** intset: ['', ...ascending integers]; table: the members, dense. */
  items: string[];
  /** table: member -> position in items; null while an intset. */
  index: Map<string, number> | null;
  #bytes: number;

  constructor(items: string[], index: Map<string, number> | null, bytes: number) {
    this.items = items;
    this.index = index;
    this.#bytes = bytes;
  }

  get intset(): boolean {
    return this.index === null;
  }

  get size(): number {
    return this.index === null ? this.items.length - 1 : this.items.length;
  }

  get bytes(): number {
    // An intset lives packed in the arena; this only sizes a transient object.
    return this.index === null ? TABLE_BASE + this.items.length * 32 : this.#bytes;
  }

  /** The i-th member in iteration order (0 <= i < size): ascending for an intset. */
  at(i: number): string {
    return this.items[this.index === null ? i + 1 : i]!;
  }

  has(m: string): boolean {
    if (this.index !== null) return this.index.has(m);
    if (!isIntMember(m)) return false;
    const p = this.#lowerBound(m);
    return p < this.items.length && this.items[p] === m;
  }

  /** Adds m; an intset becomes a table past `limit` members or on a non-integer. True if m was new. */
  add(m: string, limit: number): boolean {
    if (this.index !== null) return this.#tableAdd(m);
    if (!isIntMember(m)) {
      this.toTable();
      return this.#tableAdd(m);
    }
    const items = this.items;
    const p = this.#lowerBound(m);
    if (p < items.length && items[p] === m) return false;
    if (p === items.length) items.push(m);
    else items.splice(p, 0, m);
    if (items.length - 1 > limit) this.toTable();
    return true;
  }

  /** True if m was a member. */
  remove(m: string): boolean {
    if (this.index !== null) {
      const i = this.index.get(m);
      if (i === undefined) return false;
      this.#tableRemoveAt(i);
      return true;
    }
    if (!isIntMember(m)) return false;
    const p = this.#lowerBound(m);
    if (p >= this.items.length || this.items[p] !== m) return false;
    this.items.splice(p, 1);
    return true;
  }

  /** A uniformly random member of a non-empty set. */
  random(): string {
    return this.at(Math.floor(Math.random() * this.size));
  }

  /** Removes and returns a random member of a non-empty set. */
  pop(): string {
    const i = Math.floor(Math.random() * this.size);
    if (this.index !== null) {
      const m = this.items[i]!;
      this.#tableRemoveAt(i);
      return m;
    }
    return this.items.splice(i + 1, 1)[0]!;
  }

  /** Removes and returns `count` (< size) distinct random members. */
  popMany(count: number): string[] {
    if (this.index !== null) {
      const out = new Array<string>(count);
      for (let i = 0; i < count; i++) out[i] = this.pop();
      return out;
    }
    // One compaction pass instead of a splice per member.
    const items = this.items;
    const picked = sampleIndexes(items.length - 1, count);
    const out = new Array<string>(count);
    for (let i = 0; i < count; i++) {
      out[i] = items[picked[i]! + 1]!;
      items[picked[i]! + 1] = '';
    }
    let w = 1;
    for (let r = 1; r < items.length; r++) if (items[r] !== '') items[w++] = items[r]!;
    items.length = w;
    return out;
  }

  /**
   * One SSCAN step over a table: visits up to `count` members below the cursor
   * (0 = start) from the top down, and returns the next cursor (0 = done). See the
   * invariant at the top of this file.
   */
  scanTable(cursor: number, count: number, visit: (m: string) => void): number {
    const items = this.items;
    const hi = cursor !== 0 && cursor < items.length ? cursor : items.length;
    const lo = hi > count ? hi - count : 0;
    for (let i = hi - 1; i >= lo; i--) visit(items[i]!);
    return lo;
  }

  /** True when every member is an integer an intset may hold. */
  allIntegers(): boolean {
    if (this.index === null) return true;
    for (const m of this.items) if (!isIntMember(m)) return false;
    return true;
  }

  /** intset -> table (Redis's setTypeConvert). */
  toTable(): void {
    if (this.index !== null) return;
    const items = this.items;
    items.shift();
    const index = new Map<string, number>();
    let bytes = TABLE_BASE;
    for (let i = 0; i < items.length; i++) {
      const m = items[i]!;
      index.set(m, i);
      bytes += tableCost(m);
    }
    this.index = index;
    this.#bytes = bytes;
  }

  /** table of integers -> intset (only where Redis builds a fresh set). */
  toIntset(): void {
    if (this.index === null) return;
    this.items.sort(compareInts);
    this.items.unshift('');
    this.index = null;
    this.#bytes = 0;
  }

  #tableAdd(m: string): boolean {
    const index = this.index!;
    if (index.has(m)) return false;
    index.set(m, this.items.length);
    this.items.push(m);
    this.#bytes += tableCost(m);
    return true;
  }

  #tableRemoveAt(i: number): void {
    const items = this.items;
    const m = items[i]!;
    const last = items.pop()!;
    if (i < items.length) {
      items[i] = last;
      this.index!.set(last, i);
    }
    this.index!.delete(m);
    this.#bytes -= tableCost(m);
  }

  /** First position in an intset's items (from 1) holding a value >= m. */
  #lowerBound(m: string): number {
    const items = this.items;
    let lo = 1;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareInts(items[mid]!, m) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** A new empty set: an intset until a non-integer or too many members arrive (setTypeCreate). */
export function newSet(): SetValue {
  return new SetValue([''], null, 0);
}

function fromEntries(entries: string[]): SetValue {
  if (entries.length >= 2 && entries[0] === '') return new SetValue(entries, null, 0);
  // A table's dump: rebuild the index (skipping duplicates a bad dump might hold).
  const items: string[] = [];
  const index = new Map<string, number>();
  let bytes = TABLE_BASE;
  for (const m of entries) {
    if (index.has(m)) continue;
    index.set(m, items.length);
    items.push(m);
    bytes += tableCost(m);
  }
  return new SetValue(items, index, bytes);
}

function toEntries(obj: SetValue): string[] {
  const items = obj.items;
  if (obj.index === null || items.length < 2 || items[0] !== '') return items;
  // A table must not look like an intset: move the empty member off the front.
  const out = items.slice();
  out[0] = out[1]!;
  out[1] = '';
  return out;
}

/**
 * Membership test straight on a packed intset's bytes (src[start, end)), without
 * decoding it: SISMEMBER and SMISMEMBER on small sets allocate nothing.
 */
export function packedSetHas(src: Buffer, start: number, end: number, member: Buffer): boolean {
  const mlen = member.length;
  if (mlen === 0 || mlen > 20) return false;
  const count = src.readUInt32LE(start);
  let p = start + 4;
  for (let i = 0; i < count && p < end; i++) {
    let len = 0;
    let shift = 0;
    for (;;) {
      const b = src[p++]!;
      len += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) break;
      shift += 7;
    }
    if (len === mlen && src.compare(member, 0, mlen, p, p + len) === 0) return true;
    p += len;
  }
  return false;
}

export const setType: CollectionType<SetValue> = {
  type: TYPE_SET,
  typeName: 'set',
  wakesBlocked: false,
  create: newSet,
  fromEntries,
  toEntries,
  // The encoding is decided as members arrive (add), as Redis does; packed = intset.
  fitsPacked: (obj) => obj.index === null,
  encodingName: (obj) => (obj.index === null ? 'intset' : 'hashtable'),
};
