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
 * hashtable (a heap object): a MemberTable (below) holds the members off the JS
 *   heap, as bytes in one Buffer, each at a dense position (no particular order)
 *   with an open-addressing slot table to find it from its bytes: membership, add,
 *   remove (the last member moves into the hole) and a uniform random pick are
 *   O(1), and SADD/SREM/SISMEMBER of a command argument make no string. Its dump
 *   (RENAME, COPY, SHOAL.DUMPKEY) is the members in position order, never with ''
 *   first unless it is the only one, so a dump cannot be mistaken for an intset:
 *   both keep their encoding across RENAME/COPY, as Redis keeps the object.
 *
 * Conversions follow Redis's setTypeAdd: adding a non-integer, or growing past the
 * limit, turns an intset into a table. A table never turns back, except where Redis
 * builds a fresh set (SPOP with a count near the size keeps the remainder as a new
 * set: the handler calls toIntset()).
 *
 * SSCAN over a table walks the positions from the top down and the cursor is the boundary
 * below which nothing was visited yet. Members only ever move down (into a hole left
 * by a removal), so a member present for the whole scan stays below the boundary
 * until visited; one moved down after its visit may be returned twice, which SCAN
 * allows.
 *
 * Members are latin1 strings (one char per byte) where the API takes or returns
 * strings. A table's `bytes` is its arrays' capacity (MemberTable.bytes), O(1).
 */
import { TYPE_SET } from '../arena/layout.js';
import type { CollectionType, CollectionValue } from './collection.js';
import { hashBytes, hashChars } from './keyed-hash.js';

/** The SetValue and MemberTable objects and their array headers. */
const TABLE_BASE = 240;
/** Redis caps the intset limit at 2^30 entries. */
const INTSET_HARD_MAX = 1 << 30;

// --- MemberTable -------------------------------------------------------------------

/** Smallest slot table (pairs). */
export const MIN_SLOTS = 16;
/** Smallest `data` buffer. */
const MIN_DATA = 1024;

/** Bytes of latin1 strings looked up in a table, reused. */
let scratch = Buffer.allocUnsafe(256);

/** Writes latin1 string s into `scratch` (grown as needed); returns its length. */
function toScratch(s: string): number {
  if (s.length > scratch.length) scratch = Buffer.allocUnsafe(Math.max(s.length, scratch.length * 2));
  return scratch.write(s, 0, s.length, 'latin1');
}

/**
 * MemberTable: a set's members, distinct byte strings kept off the JS heap, each at
 * a dense position 0 .. count-1. A million members are three allocations, not a
 * million strings and Map entries, and a member is found from the argument's bytes
 * without making a string of them.
 *
 *    data (Buffer): entries, appended, each padded to 4 bytes
 *    +-----------+-----------+-----------+-------+-----+-----------+-- ...
 *    | tag (i32) | pos (i32) | len (i32) | bytes | pad | tag (i32) | ...
 *    +-----------+-----------+-----------+-------+-----+-----------+-- ...
 *      tag = 31-bit keyed hash of the bytes; words read through an Int32Array view
 *
 *    offs (Int32Array): position -> entry offset in data
 *    slots (Int32Array, pairs, a power of 2 of them, linear probing):
 *      [tag, 1 + entry offset]; offset word 0 = free, -1 = deleted
 *
 * Removing the member at position p moves the last member into p (its entry's pos is
 * rewritten; its slot does not change, slots name entries), so positions stay dense
 * and a uniform random member is one Math.random(). A removed entry's bytes become
 * garbage until more than half of `data` is garbage; then the live entries are
 * copied, in position order, into a fresh buffer (O(n) after O(n) removals) and the
 * slots rebuilt from the tags. The slot table doubles past a load of 0.7 and halves
 * under 0.125.
 *
 * `bytes` is the capacity of the three arrays: O(1), and what the table really holds.
 */
export class MemberTable {
  data: Buffer;
  /** Entry offset of each position; valid for 0 .. count-1. */
  offs: Int32Array;
  count = 0;
  /** A view of `data` (replaced with it). */
  #i32: Int32Array;
  #slots: Int32Array;
  /** Slot pairs - 1. */
  #mask: number;
  #used = 0;
  #garbage = 0;
  #tombs = 0;
  /** Hash of the bytes of the last find (insertNew reuses it). */
  #lastHash = 0;

  constructor(members = 0) {
    const cap = capacityFor(members);
    this.#slots = new Int32Array(cap * 2);
    this.#mask = cap - 1;
    this.offs = new Int32Array(Math.max(16, members));
    this.data = Buffer.alloc(0);
    this.#i32 = new Int32Array(0);
    this.#setData(Buffer.allocUnsafeSlow(MIN_DATA));
  }

  get bytes(): number {
    return this.data.length + this.offs.byteLength + this.#slots.byteLength;
  }

  /** Position of the member with bytes b[start, end), or -1. */
  find(b: Uint8Array, start: number, end: number): number {
    const h = hashBytes(b, start, end);
    this.#lastHash = h;
    const slots = this.#slots;
    const mask = this.#mask;
    const i32 = this.#i32;
    const n = end - start;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const o = slots[2 * i + 1]!;
      if (o === 0) return -1;
      if (o < 0 || slots[2 * i] !== h) continue;
      const w = (o - 1) >> 2;
      if (i32[w + 2] !== n) continue;
      if (sameBytes(this.data, o - 1 + 12, b, start, n)) return i32[w + 1]!;
    }
  }

  /** find() for a latin1 string, read in place (no bytes are made of it). */
  findString(s: string): number {
    const n = s.length;
    if (n > 64) {
      const len = toScratch(s);
      return this.find(scratch, 0, len);
    }
    const h = hashChars(s);
    this.#lastHash = h;
    const slots = this.#slots;
    const mask = this.#mask;
    const i32 = this.#i32;
    const data = this.data;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const o = slots[2 * i + 1]!;
      if (o === 0) return -1;
      if (o < 0 || slots[2 * i] !== h) continue;
      const w = (o - 1) >> 2;
      if (i32[w + 2] !== n) continue;
      const at = o - 1 + 12;
      let k = 0;
      while (k < n && data[at + k] === s.charCodeAt(k)) k++;
      if (k === n) return i32[w + 1]!;
    }
  }

  /**
   * Adds the member with bytes b[start, end), which the find() just before, on the
   * same bytes, did not find. Returns its position (the last one).
   */
  insertNew(b: Uint8Array, start: number, end: number): number {
    const n = end - start;
    this.#reserve(entrySize(n));
    if (this.count === this.offs.length) {
      const offs = new Int32Array(this.offs.length * 2);
      offs.set(this.offs);
      this.offs = offs;
    }
    if ((this.count + this.#tombs + 1) * 10 > (this.#mask + 1) * 7) this.#rebuildSlots(capacityFor(this.count + 1));
    const h = this.#lastHash;
    const data = this.data;
    const i32 = this.#i32;
    const off = this.#used;
    const pos = this.count;
    const w = off >> 2;
    i32[w] = h;
    i32[w + 1] = pos;
    i32[w + 2] = n;
    const at = off + 12;
    if (n <= 32) for (let k = 0; k < n; k++) data[at + k] = b[start + k]!;
    else data.set(b.subarray(start, end), at);
    this.#used = off + entrySize(n);
    this.offs[pos] = off;
    this.count = pos + 1;
    const slots = this.#slots;
    const mask = this.#mask;
    let i = h & mask;
    while (slots[2 * i + 1]! > 0) i = (i + 1) & mask;
    if (slots[2 * i + 1] === -1) this.#tombs--;
    slots[2 * i] = h;
    slots[2 * i + 1] = off + 1;
    return pos;
  }

  /** insertNew() for a latin1 string after findString() of it. */
  insertNewString(s: string): number {
    const n = toScratch(s);
    return this.insertNew(scratch, 0, n);
  }

  /**
   * Removes the member at position pos; the last member moves into pos. Returns the
   * position the moved member had (the old last one), or -1 when pos was the last.
   */
  removeAt(pos: number): number {
    const i32 = this.#i32;
    const off = this.offs[pos]!;
    const h = i32[off >> 2]!;
    const slots = this.#slots;
    const mask = this.#mask;
    let i = h & mask;
    while (slots[2 * i + 1] !== off + 1) i = (i + 1) & mask;
    slots[2 * i + 1] = -1;
    this.#tombs++;
    this.#garbage += entrySize(i32[(off >> 2) + 2]!);
    const last = this.count - 1;
    let moved = -1;
    if (pos !== last) {
      const lastOff = this.offs[last]!;
      this.offs[pos] = lastOff;
      i32[(lastOff >> 2) + 1] = pos;
      moved = last;
    }
    this.count = last;
    if (this.count * 8 < this.#mask + 1 && this.#mask + 1 > MIN_SLOTS) this.#rebuildSlots(capacityFor(this.count));
    if (this.#garbage > this.#used / 2 && this.#garbage > MIN_DATA) this.#compact(0);
    return moved;
  }

  /** Where the bytes of the member at pos start in `data` (they run memberLength(pos)). */
  memberStart(pos: number): number {
    return this.offs[pos]! + 12;
  }

  memberLength(pos: number): number {
    return this.#i32[(this.offs[pos]! >> 2) + 2]!;
  }

  /** The member at pos as a latin1 string. */
  memberString(pos: number): string {
    const off = this.offs[pos]!;
    return this.data.toString('latin1', off + 12, off + 12 + this.#i32[(off >> 2) + 2]!);
  }

  #setData(buf: Buffer): void {
    this.data = buf;
    this.#i32 = new Int32Array(buf.buffer, buf.byteOffset, buf.length >> 2);
  }

  /** Room for `size` more bytes at the end of `data`: compacts or grows it. */
  #reserve(size: number): void {
    if (this.#used + size <= this.data.length) return;
    if (this.#garbage > this.#used / 2) {
      this.#compact(size);
      if (this.#used + size <= this.data.length) return;
    }
    const next = Buffer.allocUnsafeSlow(align4(Math.max(this.data.length * 2, this.#used + size)));
    this.data.copy(next, 0, 0, this.#used);
    this.#setData(next);
  }

  /** A slot table of `cap` pairs holding every live entry (from the tags: nothing is rehashed). */
  #rebuildSlots(cap: number): void {
    const slots = new Int32Array(cap * 2);
    const mask = cap - 1;
    const i32 = this.#i32;
    const offs = this.offs;
    for (let p = 0; p < this.count; p++) {
      const off = offs[p]!;
      const h = i32[off >> 2]!;
      let i = h & mask;
      while (slots[2 * i + 1] !== 0) i = (i + 1) & mask;
      slots[2 * i] = h;
      slots[2 * i + 1] = off + 1;
    }
    this.#slots = slots;
    this.#mask = mask;
    this.#tombs = 0;
  }

  /** Copies the live entries, in position order, into a fresh `data` with `spare` bytes to spare. */
  #compact(spare: number): void {
    const src = this.data;
    const i32 = this.#i32;
    const live = this.#used - this.#garbage;
    const dst = Buffer.allocUnsafeSlow(align4(Math.max(MIN_DATA, Math.ceil((live + spare) * 1.5))));
    const offs = this.offs;
    let p = 0;
    for (let pos = 0; pos < this.count; pos++) {
      const off = offs[pos]!;
      const size = entrySize(i32[(off >> 2) + 2]!);
      src.copy(dst, p, off, off + size);
      offs[pos] = p;
      p += size;
    }
    this.#setData(dst);
    this.#used = p;
    this.#garbage = 0;
    this.#rebuildSlots(this.#mask + 1);
  }
}

/** Bytes of the entry of an n-byte member, padded to 4. */
function entrySize(n: number): number {
  return align4(12 + n);
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

/** Slot pairs for `members` live members: load at most 0.5. */
export function capacityFor(members: number): number {
  let cap = MIN_SLOTS;
  while (cap * 0.5 < members) cap *= 2;
  return cap;
}

/** data[at, at + n) equals b[start, start + n). */
function sameBytes(data: Buffer, at: number, b: Uint8Array, start: number, n: number): boolean {
  if (n > 32) return data.compare(b, start, start + n, at, at + n) === 0;
  for (let k = 0; k < n; k++) if (data[at + k] !== b[start + k]) return false;
  return true;
}

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
  /** intset: ['', ...ascending integers]; unused (empty) for a table. */
  items: string[];
  /** table: the members; null while an intset. */
  table: MemberTable | null;

  constructor(items: string[], table: MemberTable | null) {
    this.items = items;
    this.table = table;
  }

  get intset(): boolean {
    return this.table === null;
  }

  get size(): number {
    return this.table === null ? this.items.length - 1 : this.table.count;
  }

  get bytes(): number {
    // An intset lives packed in the arena; this only sizes a transient object.
    return this.table === null ? TABLE_BASE + this.items.length * 32 : TABLE_BASE + this.table.bytes;
  }

  /** The i-th member in iteration order (0 <= i < size): ascending for an intset. */
  at(i: number): string {
    return this.table === null ? this.items[i + 1]! : this.table.memberString(i);
  }

  has(m: string): boolean {
    if (this.table !== null) return this.table.findString(m) >= 0;
    if (!isIntMember(m)) return false;
    const p = this.#lowerBound(m);
    return p < this.items.length && this.items[p] === m;
  }

  /** has() for a member given as bytes (a command argument). */
  hasBytes(b: Buffer): boolean {
    if (this.table !== null) return this.table.find(b, 0, b.length) >= 0;
    return this.has(b.toString('latin1'));
  }

  /** Adds m; an intset becomes a table past `limit` members or on a non-integer. True if m was new. */
  add(m: string, limit: number): boolean {
    if (this.table !== null) {
      if (this.table.findString(m) >= 0) return false;
      this.table.insertNewString(m);
      return true;
    }
    if (!isIntMember(m)) {
      this.toTable();
      return this.add(m, limit);
    }
    const items = this.items;
    const p = this.#lowerBound(m);
    if (p < items.length && items[p] === m) return false;
    if (p === items.length) items.push(m);
    else items.splice(p, 0, m);
    if (items.length - 1 > limit) this.toTable();
    return true;
  }

  /** add() for a member given as bytes: a table makes no string of it. */
  addBytes(b: Buffer, limit: number): boolean {
    const t = this.table;
    if (t === null) return this.add(b.toString('latin1'), limit);
    if (t.find(b, 0, b.length) >= 0) return false;
    t.insertNew(b, 0, b.length);
    return true;
  }

  /** True if m was a member. */
  remove(m: string): boolean {
    if (this.table !== null) {
      const pos = this.table.findString(m);
      if (pos < 0) return false;
      this.table.removeAt(pos);
      return true;
    }
    if (!isIntMember(m)) return false;
    const p = this.#lowerBound(m);
    if (p >= this.items.length || this.items[p] !== m) return false;
    this.items.splice(p, 1);
    return true;
  }

  /** remove() for a member given as bytes. */
  removeBytes(b: Buffer): boolean {
    const t = this.table;
    if (t === null) return this.remove(b.toString('latin1'));
    const pos = t.find(b, 0, b.length);
    if (pos < 0) return false;
    t.removeAt(pos);
    return true;
  }

  /** A uniformly random member of a non-empty set. */
  random(): string {
    return this.at(Math.floor(Math.random() * this.size));
  }

  /** Removes and returns a random member of a non-empty set. */
  pop(): string {
    const i = Math.floor(Math.random() * this.size);
    if (this.table !== null) {
      const m = this.table.memberString(i);
      this.table.removeAt(i);
      return m;
    }
    return this.items.splice(i + 1, 1)[0]!;
  }

  /** Removes and returns `count` (< size) distinct random members. */
  popMany(count: number): string[] {
    if (this.table !== null) {
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
    const t = this.table!;
    const hi = cursor !== 0 && cursor < t.count ? cursor : t.count;
    const lo = hi > count ? hi - count : 0;
    for (let i = hi - 1; i >= lo; i--) visit(t.memberString(i));
    return lo;
  }

  /** True when every member is an integer an intset may hold. */
  allIntegers(): boolean {
    const t = this.table;
    if (t === null) return true;
    for (let i = 0; i < t.count; i++) if (t.memberLength(i) > 20 || !isIntMember(t.memberString(i))) return false;
    return true;
  }

  /** intset -> table (Redis's setTypeConvert), in the same order. */
  toTable(): void {
    if (this.table !== null) return;
    const items = this.items;
    const t = new MemberTable(items.length - 1);
    for (let i = 1; i < items.length; i++) {
      t.findString(items[i]!);
      t.insertNewString(items[i]!);
    }
    this.table = t;
    this.items = [];
  }

  /** table of integers -> intset (only where Redis builds a fresh set). */
  toIntset(): void {
    const t = this.table;
    if (t === null) return;
    const items = new Array<string>(t.count);
    for (let i = 0; i < t.count; i++) items[i] = t.memberString(i);
    items.sort(compareInts);
    items.unshift('');
    this.items = items;
    this.table = null;
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
  return new SetValue([''], null);
}

function fromEntries(entries: string[]): SetValue {
  if (entries.length >= 2 && entries[0] === '') return new SetValue(entries, null);
  // A table's dump: rebuild the table (skipping duplicates a bad dump might hold).
  const t = new MemberTable(entries.length);
  for (const m of entries) if (t.findString(m) < 0) t.insertNewString(m);
  return new SetValue([], t);
}

function toEntries(obj: SetValue): string[] {
  const t = obj.table;
  if (t === null) return obj.items;
  const out = new Array<string>(t.count);
  for (let i = 0; i < t.count; i++) out[i] = t.memberString(i);
  if (out.length < 2 || out[0] !== '') return out;
  // A table must not look like an intset: move the empty member off the front.
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
  fitsPacked: (obj) => obj.table === null,
  encodingName: (obj) => (obj.table === null ? 'intset' : 'hashtable'),
};
