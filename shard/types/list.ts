/**
 * The list value type (LPUSH, LRANGE, BLPOP ...): a deque of byte strings.
 *
 * Encodings. A small list is packed in its key's arena item (./packed.ts), under
 * Redis 7.0's list-max-listpack-size rule for one quicklist node: a positive fill is
 * a maximum entry count (and the node still stops at 8 KiB, Redis's safety limit);
 * -1..-5 cap the packed bytes at 4/8/16/32/64 KiB. A list past that limit moves to
 * the heap as a ListValue and stays there (Redis 7.0 never converts back). OBJECT
 * ENCODING says "quicklist" for both, as Redis 7.0 does.
 *
 * ListValue is a quicklist: a deque of nodes, each a Buffer of entries kept off the
 * JS heap (a million elements are a few hundred Buffers, not a million strings for
 * the GC to mark), under the same list-max-listpack-size limits as one packed list.
 *
 *   nodes (ring of ListNode)      node.buf (Buffer)
 *   +----+----+----+----+         +-------+-----------------------------+-------+
 *   | n0 | n1 | n2 | .. |  ---->  | free  | entry | entry | ... | entry | free  |
 *   +----+----+----+----+         +-------+-----------------------------+-------+
 *                                          ^ lo                          ^ hi
 *   entry = | len (varint) | bytes | len (reverse varint) |
 *
 * An entry is the packed encoding's (./packed.ts: LEB128 length, then the bytes)
 * followed by its length again, written to be read right to left (as a listpack's
 * backlen: the last byte holds the low 7 bits, bit 7 set while more bytes precede),
 * so a node is walked from either end. Free space sits on both sides of a node's
 * entries: push and pop at either end of the list touch one node and move `lo` or
 * `hi` (O(1); a node with no room on that side has its entries re-centred or its
 * Buffer doubled, up to the fill limit, amortised O(1); a full end node gets a new
 * node). Access by index walks whole nodes by their counts from the nearer end of
 * the list, then entries from the nearer end of the node (O(n) as in Redis, but
 * n / entries-per-node steps plus at most half a node). LINSERT and LSET edit one
 * node and split it when it outgrows the limits; LREM compacts node by node; LTRIM
 * drops whole nodes then cuts the end ones.
 *
 * Reads leave the entry in `buf`/`pos`/`len` (buf[pos, pos + len)), which commands
 * copy straight into the reply. It stays valid until the next write to the list:
 * popping does not overwrite the bytes of what it popped.
 *
 * A packed list is decoded into this object only for the commands that do not work
 * on the arena bytes in place (LSET, LINSERT, LREM, LTRIM, LMOVE, a push that
 * converts it ...): fromPacked copies the entries in, writePacked writes them back.
 *
 * Accounting: bytes = LIST_OVERHEAD + 8 per ring slot + per node NODE_OVERHEAD plus
 * its Buffer's length: O(1), exact for what the Buffers hold. packedBytes (what the
 * packed encoding would take) is computed on demand, stopping past the largest packed
 * limit: only lists that are not on the heap need it.
 */
import { TYPE_LIST } from '../arena/layout.js';
import type { ShoalConfig } from '../../shared/config/schema.js';
import type { CollectionType, CollectionValue } from './collection.js';
import { encodePacked } from './packed.js';

/** The ListValue object and its node ring's array header. */
const LIST_OVERHEAD = 96;
/** A ListNode object, its Buffer (Uint8Array + ArrayBuffer objects) and the backing store's bookkeeping. */
const NODE_OVERHEAD = 200;
/** Smallest node ring. */
const MIN_RING = 4;
/** Smallest node Buffer. */
const MIN_NODE_BYTES = 64;
/** Redis's SIZE_SAFETY_LIMIT: a quicklist node with a count-based fill still stops at 8 KiB. */
const SIZE_SAFETY_LIMIT = 8192;
/** list-max-listpack-size -1 .. -5. */
const FILL_BYTES = [4096, 8192, 16384, 32768, 65536] as const;
/** No packed list is larger than this (the largest fill). */
const MAX_PACKED = 65536;
/** Entries up to this long are copied byte by byte (cheaper than a native copy call). */
const SMALL_COPY = 24;

const EMPTY = Buffer.alloc(0);

/** Bytes of the LEB128 length prefix of an entry of `len` bytes. */
function varintBytes(len: number): number {
  return len < 0x80 ? 1 : len < 0x4000 ? 2 : len < 0x200000 ? 3 : len < 0x10000000 ? 4 : 5;
}

/** Bytes an entry adds to the packed encoding: varint length prefix plus the bytes. */
export function packedEntryBytes(len: number): number {
  return len + varintBytes(len);
}

/** Bytes an entry takes in a node: length, bytes, length backwards. */
function nodeEntryBytes(len: number): number {
  return len + 2 * varintBytes(len);
}

/** Writes src[start, end) as a node entry at buf[at...]; returns the offset after it. */
function putEntry(buf: Buffer, at: number, src: Uint8Array, start: number, end: number): number {
  const len = end - start;
  if (len < 0x80) {
    buf[at++] = len;
    if (len <= SMALL_COPY) for (let i = start; i < end; i++) buf[at++] = src[i]!;
    else {
      buf.set(start === 0 && end === src.length ? src : src.subarray(start, end), at);
      at += len;
    }
    buf[at++] = len;
    return at;
  }
  let n = len;
  while (n >= 0x80) {
    buf[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[at++] = n;
  buf.set(start === 0 && end === src.length ? src : src.subarray(start, end), at);
  at += len;
  // The length again, most significant group first: read right to left, bit 7 says "more to the left".
  const k = varintBytes(len);
  let div = 128 ** (k - 1);
  buf[at++] = Math.floor(len / div) & 0x7f;
  for (let j = k - 2; j >= 0; j--) {
    div /= 128;
    buf[at++] = (Math.floor(len / div) & 0x7f) | 0x80;
  }
  return at;
}

/** One quicklist node: `count` entries in buf[lo, hi). */
class ListNode {
  buf: Buffer;
  lo: number;
  hi: number;
  count = 0;

  constructor(buf: Buffer, at: number) {
    this.buf = buf;
    this.lo = at;
    this.hi = at;
  }
}

export class ListValue implements CollectionValue {
  /** The entry last read (seek, next, prev, pop): buf[pos, pos + len). Valid until the next write. */
  buf: Buffer = EMPTY;
  pos = 0;
  len = 0;
  /** Ring of nodes, a power of 2 long; node k (0 = first) is at (#nh + k) & (length - 1). */
  #nodes: Array<ListNode | undefined> = new Array<ListNode | undefined>(MIN_RING).fill(undefined);
  #nh = 0;
  #nn = 0;
  #size = 0;
  /** Σ node.buf.length. */
  #nodeBytes = 0;
  /** Node of the entry last read by seek/next/prev, and its index from the first node. */
  #cn: ListNode | undefined = undefined;
  #ck = 0;
  #fill = -2;
  #maxBytes = 8192;
  #maxCount = Number.MAX_SAFE_INTEGER;

  /** A list of `entries` (latin1 strings), first to last; nodes follow list-max-listpack-size `fill`. */
  constructor(entries: readonly string[] = [], fill = -2) {
    this.fill = fill;
    if (entries.length !== 0) {
      const packed = encodePacked(entries);
      this.#appendPacked(packed, 0, packed.length);
    }
  }

  /** A list of the packed entries at src[start, end) (a packed list's value bytes, copied). */
  static fromPacked(src: Buffer, start: number, end: number, fill = -2): ListValue {
    const list = new ListValue([], fill);
    list.#appendPacked(src, start, end);
    return list;
  }

  /** list-max-listpack-size for the nodes this list makes from now on. */
  get fill(): number {
    return this.#fill;
  }

  set fill(fill: number) {
    if (fill === this.#fill) return;
    this.#fill = fill;
    if (fill >= 0) {
      this.#maxCount = Math.max(fill, 1);
      this.#maxBytes = SIZE_SAFETY_LIMIT;
    } else {
      this.#maxCount = Number.MAX_SAFE_INTEGER;
      this.#maxBytes = FILL_BYTES[Math.min(-fill, FILL_BYTES.length) - 1]!;
    }
  }

  get size(): number {
    return this.#size;
  }

  get bytes(): number {
    return LIST_OVERHEAD + 8 * this.#nodes.length + this.#nn * NODE_OVERHEAD + this.#nodeBytes;
  }

  /** Nodes in the list. */
  get nodeCount(): number {
    return this.#nn;
  }

  /** What the packed encoding of the list takes (packedLength of its entries). */
  get packedBytes(): number {
    return this.packedBytesUpTo(Number.MAX_SAFE_INTEGER);
  }

  /** packedBytes, or some number above `limit` once it is known to exceed it. */
  packedBytesUpTo(limit: number): number {
    let total = 4;
    for (let k = 0; k < this.#nn; k++) {
      const node = this.#node(k);
      const buf = node.buf;
      // Every entry's packed form is its node form less one length.
      total += node.hi - node.lo;
      for (let p = node.lo; p < node.hi; ) {
        let b = buf[p++]!;
        let len = b & 0x7f;
        let vl = 1;
        for (let mul = 128; b >= 0x80; mul *= 128) {
          b = buf[p++]!;
          len += (b & 0x7f) * mul;
          vl++;
        }
        total -= vl;
        p += len + vl;
      }
      if (total > limit) return total;
    }
    return total;
  }

  // --- reads -------------------------------------------------------------------------

  /** Reads element i (0 <= i < size) into buf/pos/len. */
  seek(i: number): void {
    let k: number;
    let node: ListNode;
    if (i < this.#size >>> 1) {
      k = 0;
      node = this.#node(0);
      while (i >= node.count) {
        i -= node.count;
        node = this.#node(++k);
      }
    } else {
      let back = this.#size - 1 - i;
      k = this.#nn - 1;
      node = this.#node(k);
      while (back >= node.count) {
        back -= node.count;
        node = this.#node(--k);
      }
      i = node.count - 1 - back;
    }
    this.#ck = k;
    this.#cn = node;
    this.#readInNode(node, i);
  }

  /** Reads the element after the one last read (there must be one). */
  next(): void {
    let node = this.#cn!;
    let p = this.pos + this.len + varintBytes(this.len);
    if (p >= node.hi) {
      node = this.#cn = this.#node(++this.#ck);
      p = node.lo;
    }
    this.#readAt(node.buf, p);
  }

  /** Reads the element before the one last read (there must be one). */
  prev(): void {
    let node = this.#cn!;
    let e = this.pos - varintBytes(this.len);
    if (e <= node.lo) {
      node = this.#cn = this.#node(--this.#ck);
      e = node.hi;
    }
    this.#readBefore(node.buf, e);
  }

  /** True when the entry last read equals bytes. */
  currentEquals(bytes: Uint8Array): boolean {
    const n = bytes.length;
    if (this.len !== n) return false;
    const buf = this.buf;
    const pos = this.pos;
    if (n > 32) return buf.compare(bytes, 0, n, pos, pos + n) === 0;
    for (let i = 0; i < n; i++) if (buf[pos + i] !== bytes[i]) return false;
    return true;
  }

  /** Element i as a latin1 string. */
  at(i: number): string {
    this.seek(i);
    return this.buf.toString('latin1', this.pos, this.pos + this.len);
  }

  /** First index of bytes at or after `from`, or -1. */
  indexOf(bytes: Uint8Array, from = 0): number {
    let found = -1;
    if (from < this.#size) {
      this.seek(from);
      for (let i = from; ; i++) {
        if (this.currentEquals(bytes)) {
          found = i;
          break;
        }
        if (i + 1 >= this.#size) break;
        this.next();
      }
    }
    this.forget();
    return found;
  }

  /** The elements first to last, as latin1 strings. */
  toArray(): string[] {
    const out = new Array<string>(this.#size);
    let i = 0;
    for (let k = 0; k < this.#nn; k++) {
      const node = this.#node(k);
      for (let p = node.lo; p < node.hi; p = this.pos + this.len + varintBytes(this.len)) {
        this.#readAt(node.buf, p);
        out[i++] = node.buf.toString('latin1', this.pos, this.pos + this.len);
      }
    }
    this.forget();
    return out;
  }

  /** Writes the packed encoding (./packed.ts, packedBytes long) at dst[at...]. */
  writePacked(dst: Buffer, at: number): void {
    dst.writeUInt32LE(this.#size, at);
    let w = at + 4;
    for (let k = 0; k < this.#nn; k++) {
      const node = this.#node(k);
      const buf = node.buf;
      for (let p = node.lo; p < node.hi; ) {
        const s = p;
        let b = buf[p++]!;
        let len = b & 0x7f;
        for (let mul = 128; b >= 0x80; mul *= 128) {
          b = buf[p++]!;
          len += (b & 0x7f) * mul;
        }
        // The length prefix and the bytes as they are; the backwards length stays behind.
        const e = p + len;
        if (e - s <= SMALL_COPY) for (let i = s; i < e; i++) dst[w++] = buf[i]!;
        else w += buf.copy(dst, w, s, e);
        p = e + (p - s);
      }
    }
  }

  // --- writes at the ends ------------------------------------------------------------

  push(src: Uint8Array, head: boolean): void {
    if (head) this.pushHead(src);
    else this.pushTail(src);
  }

  pushHead(src: Uint8Array): void {
    const len = src.length;
    const size = len < 0x80 ? len + 2 : nodeEntryBytes(len);
    let node = this.#nn === 0 ? undefined : this.#nodes[this.#nh]!;
    if (node === undefined || node.count >= this.#maxCount || node.hi - node.lo + size > this.#maxBytes) node = this.#addNode(0, size, true);
    else if (node.lo < size) this.#makeRoom(node, size, true);
    const at = node.lo - size;
    putEntry(node.buf, at, src, 0, len);
    node.lo = at;
    node.count++;
    this.#size++;
  }

  pushTail(src: Uint8Array): void {
    this.#pushTailRange(src, 0, src.length);
  }

  pop(head: boolean): void {
    if (head) this.popHead();
    else this.popTail();
  }

  /** Removes the first element, leaving it in buf/pos/len; the list must not be empty. */
  popHead(): void {
    const node = this.#nodes[this.#nh]!;
    const buf = node.buf;
    let p = node.lo;
    let b = buf[p++]!;
    let len = b & 0x7f;
    let vl = 1;
    for (let mul = 128; b >= 0x80; mul *= 128) {
      b = buf[p++]!;
      len += (b & 0x7f) * mul;
      vl++;
    }
    this.buf = buf;
    this.pos = p;
    this.len = len;
    node.lo = p + len + vl;
    this.#size--;
    if (--node.count === 0) this.#removeEnd(true);
  }

  /** Removes the last element, leaving it in buf/pos/len; the list must not be empty. */
  popTail(): void {
    const node = this.#nodes[(this.#nh + this.#nn - 1) & (this.#nodes.length - 1)]!;
    const buf = node.buf;
    let p = node.hi - 1;
    let b = buf[p]!;
    let len = b & 0x7f;
    for (let mul = 128; b >= 0x80; mul *= 128) {
      b = buf[--p]!;
      len += (b & 0x7f) * mul;
    }
    const pos = p - len;
    this.buf = buf;
    this.pos = pos;
    this.len = len;
    node.hi = pos - varintBytes(len);
    this.#size--;
    if (--node.count === 0) this.#removeEnd(false);
  }

  /**
   * Drops the reference to the entry last read or popped (call once it is replied):
   * otherwise it would keep a node the list has since dropped, unaccounted, alive.
   */
  forget(): void {
    this.buf = EMPTY;
    this.#cn = undefined;
  }

  /** The element popped or read last, as a fresh Buffer. */
  copyCurrent(): Buffer {
    return Buffer.from(this.buf.subarray(this.pos, this.pos + this.len));
  }

  // --- writes inside -----------------------------------------------------------------

  /** Replaces element i (0 <= i < size) with bytes. */
  setAt(i: number, bytes: Uint8Array): void {
    this.seek(i);
    const node = this.#node(this.#ck);
    const vl = varintBytes(this.len);
    this.#splice(this.#ck, node, this.pos - vl, this.pos + this.len + vl, bytes);
    this.forget();
  }

  /** Inserts bytes so that they become element i (0 <= i <= size). */
  insertAt(i: number, bytes: Uint8Array): void {
    if (i === 0) {
      this.pushHead(bytes);
      return;
    }
    if (i === this.#size) {
      this.pushTail(bytes);
      return;
    }
    this.seek(i);
    const node = this.#node(this.#ck);
    const s = this.pos - varintBytes(this.len);
    node.count++;
    this.#size++;
    this.#splice(this.#ck, node, s, s, bytes);
    this.forget();
  }

  /**
   * Removes elements equal to bytes (LREM): at most `limit` of them (0 = all), the
   * first ones or, fromTail, the last ones. One compacting pass over the nodes it
   * reaches. Returns how many went.
   */
  removeEqual(bytes: Uint8Array, limit: number, fromTail: boolean): number {
    const want = limit === 0 ? Number.MAX_SAFE_INTEGER : limit;
    let removed = 0;
    let emptied = false;
    for (let j = 0; j < this.#nn && removed < want; j++) {
      const k = fromTail ? this.#nn - 1 - j : j;
      const node = this.#node(k);
      const before = removed;
      removed += fromTail ? this.#removeInNodeBack(node, bytes, want - removed) : this.#removeInNode(node, bytes, want - removed);
      if (removed === before) continue;
      if (node.count === 0) emptied = true;
      else this.#shrinkNode(node);
    }
    this.#size -= removed;
    if (emptied) this.#dropEmptyNodes();
    this.forget();
    return removed;
  }

  /** Drops the first `front` and the last `back` elements (LTRIM, LPOP count); front + back <= size. */
  trim(front: number, back: number): void {
    if (front + back >= this.#size) {
      this.#clear();
      return;
    }
    this.#size -= front + back;
    while (front > 0) {
      const node = this.#nodes[this.#nh]!;
      if (front >= node.count) {
        front -= node.count;
        node.count = 0;
        this.#removeEnd(true);
        continue;
      }
      let p = node.lo;
      for (let n = 0; n < front; n++) p = this.#skipForward(node.buf, p);
      node.lo = p;
      node.count -= front;
      this.#shrinkNode(node);
      break;
    }
    while (back > 0) {
      const node = this.#node(this.#nn - 1);
      if (back >= node.count) {
        back -= node.count;
        node.count = 0;
        this.#removeEnd(false);
        continue;
      }
      let e = node.hi;
      for (let n = 0; n < back; n++) e = this.#skipBack(node.buf, e);
      node.hi = e;
      node.count -= back;
      this.#shrinkNode(node);
      break;
    }
    this.forget();
  }

  /**
   * Checks the structure (tests): counts, bounds, every entry's two lengths, the ring,
   * and `bytes` against a recount. Returns a description of the first fault, or null.
   */
  audit(): string | null {
    let size = 0;
    let nodeBytes = 0;
    for (let k = 0; k < this.#nn; k++) {
      const node = this.#node(k);
      if (node.count <= 0) return `node ${k} is empty`;
      if (!(0 <= node.lo && node.lo <= node.hi && node.hi <= node.buf.length)) return `node ${k} bounds ${node.lo}..${node.hi} of ${node.buf.length}`;
      let n = 0;
      let p = node.lo;
      while (p < node.hi) {
        const s = p;
        this.#readAt(node.buf, p);
        p = this.pos + this.len + varintBytes(this.len);
        if (p > node.hi) return `node ${k} entry at ${s} runs past hi`;
        this.#readBefore(node.buf, p);
        if (this.pos - varintBytes(this.len) !== s) return `node ${k} entry at ${s}: backwards length disagrees`;
        n++;
      }
      if (n !== node.count) return `node ${k} holds ${n} entries, counted ${node.count}`;
      size += n;
      nodeBytes += node.buf.length;
    }
    for (let r = 0; r < this.#nodes.length; r++) {
      const inUse = ((r - this.#nh) & (this.#nodes.length - 1)) < this.#nn;
      if (inUse !== (this.#nodes[r] !== undefined)) return `ring slot ${r} ${inUse ? 'empty' : 'not cleared'}`;
    }
    if (size !== this.#size) return `size ${this.#size}, entries ${size}`;
    if (nodeBytes !== this.#nodeBytes) return `nodeBytes ${this.#nodeBytes}, buffers ${nodeBytes}`;
    const bytes = LIST_OVERHEAD + 8 * this.#nodes.length + this.#nn * NODE_OVERHEAD + nodeBytes;
    if (this.bytes !== bytes) return `bytes ${this.bytes}, recounted ${bytes}`;
    return null;
  }

  // --- internals ---------------------------------------------------------------------

  #node(k: number): ListNode {
    return this.#nodes[(this.#nh + k) & (this.#nodes.length - 1)]!;
  }

  /** Decodes the entry starting at buf[p] into buf/pos/len. */
  #readAt(buf: Buffer, p: number): void {
    let b = buf[p++]!;
    let len = b & 0x7f;
    for (let mul = 128; b >= 0x80; mul *= 128) {
      b = buf[p++]!;
      len += (b & 0x7f) * mul;
    }
    this.buf = buf;
    this.pos = p;
    this.len = len;
  }

  /** Decodes the entry ending at buf[e - 1] into buf/pos/len. */
  #readBefore(buf: Buffer, e: number): void {
    let p = e - 1;
    let b = buf[p]!;
    let len = b & 0x7f;
    for (let mul = 128; b >= 0x80; mul *= 128) {
      b = buf[--p]!;
      len += (b & 0x7f) * mul;
    }
    this.buf = buf;
    this.pos = p - len;
    this.len = len;
  }

  /** Offset after the entry starting at buf[p]. */
  #skipForward(buf: Buffer, p: number): number {
    this.#readAt(buf, p);
    return this.pos + this.len + varintBytes(this.len);
  }

  /** Offset of the entry ending at buf[e - 1]. */
  #skipBack(buf: Buffer, e: number): number {
    this.#readBefore(buf, e);
    return this.pos - varintBytes(this.len);
  }

  /** Reads entry i (0 <= i < count) of node into buf/pos/len, walking from its nearer end. */
  #readInNode(node: ListNode, i: number): void {
    const buf = node.buf;
    if (i < node.count >>> 1) {
      let p = node.lo;
      for (let n = 0; n < i; n++) p = this.#skipForward(buf, p);
      this.#readAt(buf, p);
    } else {
      let e = node.hi;
      for (let n = node.count - 1; n > i; n--) e = this.#skipBack(buf, e);
      this.#readBefore(buf, e);
    }
  }

  /** pushTail of src[start, end); `hint` as #addNode's should it make a node. */
  #pushTailRange(src: Uint8Array, start: number, end: number, hint = 0): void {
    const len = end - start;
    const size = len < 0x80 ? len + 2 : nodeEntryBytes(len);
    let node = this.#nn === 0 ? undefined : this.#nodes[(this.#nh + this.#nn - 1) & (this.#nodes.length - 1)]!;
    if (node === undefined || node.count >= this.#maxCount || node.hi - node.lo + size > this.#maxBytes) node = this.#addNode(hint, size, false);
    else if (node.buf.length - node.hi < size) this.#makeRoom(node, size, false);
    node.hi = putEntry(node.buf, node.hi, src, start, end);
    node.count++;
    this.#size++;
  }

  /** Appends the entries of the packed value at src[start, end). */
  #appendPacked(src: Buffer, start: number, end: number): void {
    const count = src.readUInt32LE(start);
    // Size the first node for the whole value (it fit one packed node) plus the backwards lengths.
    const hint = end - start - 4 + count;
    let p = start + 4;
    for (let i = 0; i < count; i++) {
      let b = src[p++]!;
      let len = b & 0x7f;
      for (let mul = 128; b >= 0x80; mul *= 128) {
        b = src[p++]!;
        len += (b & 0x7f) * mul;
      }
      this.#pushTailRange(src, p, p + len, this.#nn === 0 ? hint : 0);
      p += len;
    }
  }

  /**
   * Adds an empty node at the head or tail with room for at least `need` bytes
   * (`hint`: the bytes it is expected to hold, 0 = a full node's worth).
   */
  #addNode(hint: number, need: number, head: boolean): ListNode {
    let cap: number;
    if (hint > 0) cap = Math.min(hint, this.#maxBytes);
    else if (this.#fill < 0) cap = this.#maxBytes;
    else cap = Math.min(this.#maxBytes, this.#maxCount * need + (this.#maxCount >> 2) * need);
    cap = Math.max(cap, need, MIN_NODE_BYTES);
    const node = new ListNode(Buffer.allocUnsafeSlow(cap), head ? cap : 0);
    this.#nodeBytes += cap;
    this.#insertNode(head ? 0 : this.#nn, node);
    return node;
  }

  /** Inserts node so that it becomes node k (0 <= k <= #nn). */
  #insertNode(k: number, node: ListNode): void {
    if (this.#nn === this.#nodes.length) this.#resizeRing(this.#nodes.length * 2);
    const ring = this.#nodes;
    const mask = ring.length - 1;
    if (k === 0) {
      this.#nh = (this.#nh - 1) & mask;
      ring[this.#nh] = node;
    } else if (k === this.#nn) {
      ring[(this.#nh + k) & mask] = node;
    } else {
      for (let j = this.#nn; j > k; j--) ring[(this.#nh + j) & mask] = ring[(this.#nh + j - 1) & mask];
      ring[(this.#nh + k) & mask] = node;
    }
    this.#nn++;
  }

  /** Drops the first (head) or last node, which is empty. */
  #removeEnd(head: boolean): void {
    const ring = this.#nodes;
    const mask = ring.length - 1;
    const r = head ? this.#nh : (this.#nh + this.#nn - 1) & mask;
    this.#nodeBytes -= ring[r]!.buf.length;
    ring[r] = undefined;
    if (head) this.#nh = (this.#nh + 1) & mask;
    this.#nn--;
    if (this.#nn === 0) this.#nh = 0;
    if (ring.length > MIN_RING && this.#nn * 4 <= ring.length) this.#resizeRing(ring.length >> 1);
  }

  /** Removes every node left empty (after LREM), keeping the order of the others. */
  #dropEmptyNodes(): void {
    const kept: ListNode[] = [];
    for (let k = 0; k < this.#nn; k++) {
      const node = this.#node(k);
      if (node.count > 0) kept.push(node);
      else this.#nodeBytes -= node.buf.length;
    }
    this.#setNodes(kept);
  }

  #clear(): void {
    this.forget();
    this.#setNodes([]);
    this.#nodeBytes = 0;
    this.#size = 0;
  }

  /** Installs `nodes` as the ring (first at slot 0). */
  #setNodes(nodes: ListNode[]): void {
    let cap = MIN_RING;
    while (cap < nodes.length * 2) cap *= 2;
    const ring = new Array<ListNode | undefined>(cap).fill(undefined);
    for (let k = 0; k < nodes.length; k++) ring[k] = nodes[k];
    this.#nodes = ring;
    this.#nh = 0;
    this.#nn = nodes.length;
  }

  #resizeRing(cap: number): void {
    const ring = new Array<ListNode | undefined>(cap).fill(undefined);
    for (let k = 0; k < this.#nn; k++) ring[k] = this.#node(k);
    this.#nodes = ring;
    this.#nh = 0;
  }

  /**
   * Makes room for `size` more bytes before lo (head) or after hi in node: re-centres
   * its entries when the Buffer has the room, else moves them to a Buffer twice as
   * large (up to the fill limit), free space on the side being pushed.
   */
  #makeRoom(node: ListNode, size: number, head: boolean): void {
    const used = node.hi - node.lo;
    const cap = node.buf.length;
    if (cap - used >= size) {
      const slack = cap - used - size;
      const lo = head ? size + (slack >> 1) : slack >> 1;
      node.buf.copyWithin(lo, node.lo, node.hi);
      node.lo = lo;
      node.hi = lo + used;
      return;
    }
    const next = Math.max(used + size, Math.min(cap * 2, this.#maxBytes));
    const buf = Buffer.allocUnsafeSlow(next);
    const lo = head ? next - used : 0;
    node.buf.copy(buf, lo, node.lo, node.hi);
    this.#nodeBytes += next - cap;
    node.buf = buf;
    node.lo = lo;
    node.hi = lo + used;
  }

  /**
   * Replaces node k's bytes [s, e) (one entry, or nothing for an insert) with an
   * entry of `bytes` (the caller adjusted the counts), then splits the node if it
   * now breaks the fill limits.
   */
  #splice(k: number, node: ListNode, s: number, e: number, bytes: Uint8Array): void {
    const size = nodeEntryBytes(bytes.length);
    const delta = size - (e - s);
    const buf = node.buf;
    if (delta <= 0 || buf.length - node.hi >= delta) {
      // The bytes after the entry move by delta (left when it shrank).
      if (delta !== 0) buf.copyWithin(e + delta, e, node.hi);
      node.hi += delta;
    } else if (node.lo >= delta) {
      buf.copyWithin(node.lo - delta, node.lo, s);
      node.lo -= delta;
      s -= delta;
    } else {
      const used = node.hi - node.lo + delta;
      const cap = Math.max(used, Math.min(buf.length * 2, this.#maxBytes));
      const next = Buffer.allocUnsafeSlow(cap);
      const lo = (cap - used) >> 1;
      buf.copy(next, lo, node.lo, s);
      buf.copy(next, lo + (s - node.lo) + size, e, node.hi);
      this.#nodeBytes += cap - buf.length;
      s = lo + (s - node.lo);
      node.buf = next;
      node.lo = lo;
      node.hi = lo + used;
    }
    putEntry(node.buf, s, bytes, 0, bytes.length);
    if (node.count > 1 && (node.count > this.#maxCount || node.hi - node.lo > this.#maxBytes)) this.#split(k, node);
  }

  /** Splits node k in two at about half its bytes (each keeps at least one entry). */
  #split(k: number, node: ListNode): void {
    const buf = node.buf;
    const half = node.lo + ((node.hi - node.lo) >> 1);
    let p = this.#skipForward(buf, node.lo);
    let n = 1;
    while (n < node.count - 1 && p < half) {
      p = this.#skipForward(buf, p);
      n++;
    }
    if (node.count > this.#maxCount) {
      // A count limit: the left part takes at most maxCount entries.
      while (n > this.#maxCount) {
        p = this.#skipBack(buf, p);
        n--;
      }
    }
    const rightBytes = node.hi - p;
    const cap = Math.max(rightBytes, MIN_NODE_BYTES);
    const right = new ListNode(Buffer.allocUnsafeSlow(cap), 0);
    buf.copy(right.buf, 0, p, node.hi);
    right.hi = rightBytes;
    right.count = node.count - n;
    this.#nodeBytes += cap;
    node.hi = p;
    node.count = n;
    this.#insertNode(k + 1, right);
    // Either half may still break the limits (one long entry among short ones).
    if (right.count > 1 && (right.count > this.#maxCount || right.hi - right.lo > this.#maxBytes)) this.#split(k + 1, right);
    if (node.count > 1 && (node.count > this.#maxCount || node.hi - node.lo > this.#maxBytes)) this.#split(k, node);
  }

  /** Moves a node's entries to a smaller Buffer when it uses under a quarter of its own. */
  #shrinkNode(node: ListNode): void {
    const used = node.hi - node.lo;
    const cap = node.buf.length;
    if (cap <= MIN_NODE_BYTES * 4 || used * 4 > cap) return;
    const next = Math.max(MIN_NODE_BYTES, used * 2);
    const buf = Buffer.allocUnsafeSlow(next);
    const lo = (next - used) >> 1;
    node.buf.copy(buf, lo, node.lo, node.hi);
    this.#nodeBytes += next - cap;
    node.buf = buf;
    node.lo = lo;
    node.hi = lo + used;
  }

  /** LREM in one node, first to last: removes up to `max` entries equal to bytes; returns how many. */
  #removeInNode(node: ListNode, bytes: Uint8Array, max: number): number {
    const buf = node.buf;
    let w = node.lo;
    let r = node.lo;
    let removed = 0;
    while (r < node.hi) {
      const s = r;
      r = this.#skipForward(buf, r);
      if (removed < max && this.currentEquals(bytes)) {
        removed++;
        continue;
      }
      if (w !== s) buf.copyWithin(w, s, r);
      w += r - s;
    }
    node.hi = w;
    node.count -= removed;
    return removed;
  }

  /** LREM in one node, last to first. */
  #removeInNodeBack(node: ListNode, bytes: Uint8Array, max: number): number {
    const buf = node.buf;
    let w = node.hi;
    let r = node.hi;
    let removed = 0;
    while (r > node.lo) {
      const e = r;
      r = this.#skipBack(buf, r);
      if (removed < max && this.currentEquals(bytes)) {
        removed++;
        continue;
      }
      if (w !== e) buf.copyWithin(w - (e - r), r, e);
      w -= e - r;
    }
    node.lo = w;
    node.count -= removed;
    return removed;
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
  const n = src.length;
  if (n <= SMALL_COPY) for (let i = 0; i < n; i++) page[at++] = src[i]!;
  else {
    page.set(src, at);
    at += n;
  }
  return at;
}

/**
 * The packed length of obj when it may be packed under config (count first: no walk
 * for a long list), else -1.
 */
export function packedSizeIfFits(obj: ListValue, config: ShoalConfig): number {
  const fill = config.listMaxListpackSize;
  if ((fill >= 0 && obj.size > Math.max(fill, 1)) || obj.size > MAX_PACKED) return -1;
  const bytes = obj.packedBytesUpTo(MAX_PACKED);
  return packedListFits(obj.size, bytes, config) ? bytes : -1;
}

export const listType: CollectionType<ListValue> = {
  type: TYPE_LIST,
  typeName: 'list',
  wakesBlocked: true,
  create: () => new ListValue(),
  fromEntries: (entries) => new ListValue(entries),
  toEntries: (obj) => obj.toArray(),
  fitsPacked: (obj, config) => packedSizeIfFits(obj, config) >= 0,
  encodingName: () => 'quicklist',
};
