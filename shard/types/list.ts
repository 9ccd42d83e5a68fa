/**
 * The list value type (LPUSH, LRANGE, BLPOP ...): a deque of byte strings, held as
 * latin1 JS strings (one char per byte, see ./packed.ts).
 *
 * Encodings. A small list is packed in its key's arena item (./packed.ts), under
 * Redis 7.0's list-max-listpack-size rule for one quicklist node: a positive fill is
 * a maximum entry count (and the node still stops at 8 KiB, Redis's safety limit);
 * -1..-5 cap the packed bytes at 4/8/16/32/64 KiB. A list past that limit moves to
 * the heap as this same object and stays there (Redis 7.0 never converts back).
 * OBJECT ENCODING says "quicklist" for both, as Redis 7.0 does.
 *
 * Layout: a ring buffer over one JS array.
 *
 *     slots:  [ e3 | e4 | '' | '' | '' | e0 | e1 | e2 ]      cap = slots.length = 8
 *                           ^ free          ^ head = 5          len = 5
 *
 *   element i lives at slots[(head + i) mod cap]. Push and pop at either end move
 *   `head` or `len` only: O(1); the array doubles when full (amortised O(1)) and
 *   halves when a quarter full, so a list that shrank does not pin its peak.
 *   Index access is O(1); LINSERT shifts the shorter side, LREM compacts in one pass
 *   (O(n) like Redis). Free slots hold '' so popped strings can be collected and the
 *   array keeps V8's packed-elements kind.
 *
 * A packed list is decoded into this object for the length of one command: the
 * decoded entry array is adopted as the ring (head 0, cap = len) with no copy.
 *
 * Accounting, kept incrementally so a heap list re-accounts in O(1) per change:
 *   bytes       = LIST_OVERHEAD + 8 * cap + Σ stringBytes(len(e))   (used_memory)
 *   packedBytes = packedLength(entries), for fitsPacked without a walk.
 */
import { TYPE_LIST } from '../arena/layout.js';
import type { ShoalConfig } from '../../shared/config/schema.js';
import type { CollectionType, CollectionValue } from './collection.js';
import { stringBytes } from './packed.js';

/** The ListValue object, its array object and the array's backing-store header. */
const LIST_OVERHEAD = 96;
/** Smallest ring a list grows to, and below which it never shrinks. */
const MIN_CAP = 8;
/** Redis's SIZE_SAFETY_LIMIT: a quicklist node with a count-based fill still stops at 8 KiB. */
const SIZE_SAFETY_LIMIT = 8192;
/** list-max-listpack-size -1 .. -5. */
const FILL_BYTES = [4096, 8192, 16384, 32768, 65536] as const;

/** Bytes an entry adds to the packed encoding: varint length prefix plus the bytes. */
export function packedEntryBytes(len: number): number {
  return len + (len < 0x80 ? 1 : len < 0x4000 ? 2 : len < 0x200000 ? 3 : len < 0x10000000 ? 4 : 5);
}

export class ListValue implements CollectionValue {
  #slots: string[];
  #head = 0;
  #len: number;
  #strBytes = 0;
  #packedBytes = 4;

  /** Adopts `entries` (not copied) as the list's contents, first to last. */
  constructor(entries: string[] = []) {
    this.#slots = entries;
    this.#len = entries.length;
    for (let i = 0; i < entries.length; i++) this.#account(entries[i]!.length, 1);
  }

  get size(): number {
    return this.#len;
  }

  get bytes(): number {
    return LIST_OVERHEAD + 8 * this.#slots.length + this.#strBytes;
  }

  /** What the packed encoding of the list would take (packedLength of its entries). */
  get packedBytes(): number {
    return this.#packedBytes;
  }

  /** Element i, 0 <= i < size. */
  at(i: number): string {
    return this.#slots[this.#slot(i)]!;
  }

  /** Replaces element i, 0 <= i < size. */
  setAt(i: number, v: string): void {
    const s = this.#slot(i);
    this.#account(this.#slots[s]!.length, -1);
    this.#slots[s] = v;
    this.#account(v.length, 1);
  }

  pushHead(v: string): void {
    if (this.#len === this.#slots.length) this.#resize(Math.max(MIN_CAP, this.#len * 2));
    const cap = this.#slots.length;
    this.#head = this.#head === 0 ? cap - 1 : this.#head - 1;
    this.#slots[this.#head] = v;
    this.#len++;
    this.#account(v.length, 1);
  }

  pushTail(v: string): void {
    if (this.#len === this.#slots.length) this.#resize(Math.max(MIN_CAP, this.#len * 2));
    this.#slots[this.#slot(this.#len)] = v;
    this.#len++;
    this.#account(v.length, 1);
  }

  push(v: string, head: boolean): void {
    if (head) this.pushHead(v);
    else this.pushTail(v);
  }

  /** Removes and returns the first element; the list must not be empty. */
  popHead(): string {
    const h = this.#head;
    const v = this.#slots[h]!;
    this.#slots[h] = '';
    this.#head = h + 1 === this.#slots.length ? 0 : h + 1;
    this.#len--;
    this.#account(v.length, -1);
    this.#maybeShrink();
    return v;
  }

  /** Removes and returns the last element; the list must not be empty. */
  popTail(): string {
    const s = this.#slot(this.#len - 1);
    const v = this.#slots[s]!;
    this.#slots[s] = '';
    this.#len--;
    this.#account(v.length, -1);
    this.#maybeShrink();
    return v;
  }

  pop(head: boolean): string {
    return head ? this.popHead() : this.popTail();
  }

  /** Inserts v so that it becomes element i (0 <= i <= size), shifting the shorter side. */
  insertAt(i: number, v: string): void {
    if (this.#len === this.#slots.length) this.#resize(Math.max(MIN_CAP, this.#len * 2));
    const slots = this.#slots;
    const cap = slots.length;
    if (i < this.#len - i) {
      // Elements 0..i-1 move one slot towards the front.
      this.#head = this.#head === 0 ? cap - 1 : this.#head - 1;
      for (let k = 0; k < i; k++) slots[this.#slot(k)] = slots[this.#slot(k + 1)]!;
    } else {
      // Elements i..len-1 move one slot towards the back.
      for (let k = this.#len; k > i; k--) slots[this.#slot(k)] = slots[this.#slot(k - 1)]!;
    }
    slots[this.#slot(i)] = v;
    this.#len++;
    this.#account(v.length, 1);
  }

  /** First index of v at or after `from`, or -1. */
  indexOf(v: string, from = 0): number {
    for (let i = from; i < this.#len; i++) if (this.at(i) === v) return i;
    return -1;
  }

  /**
   * Removes elements equal to v (LREM): at most `limit` of them (0 = all), the first
   * ones or, fromTail, the last ones. One compacting pass. Returns how many went.
   */
  removeEqual(v: string, limit: number, fromTail: boolean): number {
    const slots = this.#slots;
    const len = this.#len;
    let removed = 0;
    if (!fromTail) {
      let w = 0;
      for (let r = 0; r < len; r++) {
        const s = this.#slot(r);
        const e = slots[s]!;
        if (e === v && (limit === 0 || removed < limit)) removed++;
        else {
          if (w !== r) slots[this.#slot(w)] = e;
          w++;
        }
      }
      for (let k = w; k < len; k++) slots[this.#slot(k)] = '';
      this.#len = w;
    } else {
      let w = len - 1;
      for (let r = len - 1; r >= 0; r--) {
        const e = slots[this.#slot(r)]!;
        if (e === v && (limit === 0 || removed < limit)) removed++;
        else {
          if (w !== r) slots[this.#slot(w)] = e;
          w--;
        }
      }
      for (let k = 0; k <= w; k++) slots[this.#slot(k)] = '';
      this.#head = this.#slot(w + 1);
      this.#len = len - removed;
    }
    if (removed !== 0) {
      this.#account(v.length, -removed);
      this.#maybeShrink();
    }
    return removed;
  }

  /** Drops the first `front` and the last `back` elements (LTRIM, LPOP count); front + back <= size. */
  trim(front: number, back: number): void {
    const slots = this.#slots;
    for (let k = 0; k < front; k++) {
      const s = this.#slot(k);
      this.#account(slots[s]!.length, -1);
      slots[s] = '';
    }
    for (let k = this.#len - back; k < this.#len; k++) {
      const s = this.#slot(k);
      this.#account(slots[s]!.length, -1);
      slots[s] = '';
    }
    if (front === this.#len) this.#head = 0;
    else this.#head = this.#slot(front);
    this.#len -= front + back;
    this.#maybeShrink();
  }

  /** The elements first to last (the slots array itself when it is exactly that). */
  toArray(): string[] {
    if (this.#head === 0 && this.#len === this.#slots.length) return this.#slots;
    const out = new Array<string>(this.#len);
    for (let i = 0; i < this.#len; i++) out[i] = this.at(i);
    return out;
  }

  #slot(i: number): number {
    const j = this.#head + i;
    const cap = this.#slots.length;
    return j < cap ? j : j - cap;
  }

  #account(len: number, n: number): void {
    this.#strBytes += n * stringBytes(len);
    this.#packedBytes += n * packedEntryBytes(len);
  }

  #maybeShrink(): void {
    const cap = this.#slots.length;
    if (cap > MIN_CAP * 2 && this.#len * 4 <= cap) this.#resize(Math.max(MIN_CAP, this.#len * 2));
  }

  /** Moves the elements to a fresh ring of `cap` slots (>= len), head at 0. */
  #resize(cap: number): void {
    const next = new Array<string>(cap);
    const len = this.#len;
    for (let i = 0; i < len; i++) next[i] = this.at(i);
    next.fill('', len);
    this.#slots = next;
    this.#head = 0;
  }
}

/**
 * Reads a packed list in place (LLEN, LRANGE, LINDEX on the hot path): walks the
 * varint-prefixed entries of ./packed.ts without decoding them into strings. After
 * next(), the current entry is page[pos, pos + len). The page must not be written
 * while a reader is in use (read-only commands).
 */
export class PackedListReader {
  page: Buffer = Buffer.alloc(0);
  count = 0;
  pos = 0;
  len = 0;
  #next = 0;

  /** Positions before entry 0 of the packed value starting at page[start]. */
  open(page: Buffer, start: number): void {
    this.page = page;
    this.count = page.readUInt32LE(start);
    this.#next = start + 4;
  }

  /** Steps to the next entry. */
  next(): void {
    const page = this.page;
    let p = this.#next;
    let len = 0;
    let mul = 1;
    for (;;) {
      const b = page[p++]!;
      len += (b & 0x7f) * mul;
      if (b < 0x80) break;
      mul *= 128;
    }
    this.pos = p;
    this.len = len;
    this.#next = p + len;
  }

  /** Skips n entries. */
  skip(n: number): void {
    for (let i = 0; i < n; i++) this.next();
  }

  /** Offset of the next entry's length prefix (the end of the value after the last). */
  get nextAt(): number {
    return this.#next;
  }
}

/**
 * May a list of `count` entries taking `bytes` packed stay in one arena item
 * (Redis 7.0: does it fit one quicklist node)?
 */
export function packedListFits(count: number, bytes: number, config: ShoalConfig): boolean {
  const fill = config.listMaxListpackSize;
  if (fill >= 0) return count <= Math.max(fill, 1) && bytes <= SIZE_SAFETY_LIMIT;
  return bytes <= FILL_BYTES[Math.min(-fill, FILL_BYTES.length) - 1]!;
}

/** Writes one packed entry (varint length, bytes) at page[at]; returns the offset after it. */
export function writePackedEntry(page: Buffer, at: number, src: Buffer): number {
  let len = src.length;
  while (len >= 0x80) {
    page[at++] = (len & 0x7f) | 0x80;
    len >>>= 7;
  }
  page[at++] = len;
  page.set(src, at);
  return at + src.length;
}

function fitsPacked(obj: ListValue, config: ShoalConfig): boolean {
  return packedListFits(obj.size, obj.packedBytes, config);
}

export const listType: CollectionType<ListValue> = {
  type: TYPE_LIST,
  typeName: 'list',
  wakesBlocked: true,
  create: () => new ListValue(),
  fromEntries: (entries) => new ListValue(entries),
  toEntries: (obj) => obj.toArray(),
  fitsPacked,
  encodingName: () => 'quicklist',
};
