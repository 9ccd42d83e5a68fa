/**
 * The hash value type: field → value maps in Redis 7.0's two encodings.
 *
 * Packed (OBJECT ENCODING "listpack"). A hash with at most hash-max-listpack-entries
 * fields, none of whose fields or values is longer than hash-max-listpack-value
 * bytes, is the value bytes of its key's arena item: the packed entries of
 * ./packed.ts, field and value alternating, in the order of Redis's listpack (a new
 * field goes to the end, HSET of an existing field keeps its place, HDEL closes the
 * gap). That order is what HGETALL, HKEYS and HSCAN return. A field costs its bytes
 * plus two varint lengths (1 byte each under 128 bytes); nothing else.
 *
 *    item value:  | pairs*2 (u32) | len | field0 | len | value0 | len | field1 | ...
 *
 * Commands work on those bytes in place (PackedHash): reads copy values from the
 * page straight into the reply; writes build the new value from the old bytes and
 * their edits (O(n), n <= the entry limit, as a listpack insert) and store it. Only
 * a write that converts it decodes a packed hash, into a HashValue whose `flat`
 * array has the same layout (field0, value0, field1 ...), then switches that to a
 * HashTable.
 *
 * Heap (OBJECT ENCODING "hashtable"). Once a command breaks a limit the HashValue
 * holds a HashTable and moves to Keyspace.heap for good: like Redis 7.0 it never
 * converts back, however small it gets. The table lives in two off-heap arrays, so
 * a million fields are two allocations, not two million JS strings:
 *
 *    data (Buffer): the entries, appended in insertion order
 *    +-----------+-----+-------+-----+-------+-----------+-----+-------+-- ...
 *    | tag (u32) | len | field | len | value | tag (u32) | len | field | ...
 *    +-----------+-----+-------+-----+-------+-----------+-----+-------+-- ...
 *      tag = 31-bit hash of the field; bit 31 set once the entry is dead
 *
 *    slots (Int32Array, a power of 2, linear probing): 0 free, -1 deleted,
 *      else 1 + the offset in `data` of a live entry
 *
 * An entry costs 4 + 2 varints + its bytes in `data`, plus 4 bytes per slot at a
 * load of 0.125..0.7 (doubled past 0.7, so 0.35..0.7 while a hash grows; about 41
 * bytes per field for 1M fields of 12-byte fields and values, against Redis's ~72).
 * A new value of the same length is written in place; any other
 * change kills the entry (its bytes become garbage) and appends a new one, so a
 * changed field moves to the end of `data` (iteration order is the server's own, as
 * with Redis's dict). Garbage past half of `data` is compacted away (O(n), after
 * O(n) writes). A random field is a random live slot (HRANDFIELD, O(1) expected: the
 * table shrinks before fewer than 1 slot in 8 is live).
 *
 * HSCAN on the heap is Redis's dictScan over home buckets: a field's home bucket is
 * its tag & mask, and linear probing keeps it in the run of used slots that starts
 * there, so visiting a bucket means walking that run. The cursor counts buckets in
 * reverse-binary order; as in Redis, a full scan returns every field present from
 * start to end even when the table grows or shrinks between calls (moves and
 * compaction never change a home bucket), and the cursor is a plain number.
 *
 * `bytes` (counted in used_memory) is the HashValue and table headers plus the
 * capacity of both arrays: O(1) to read, exact for what the table holds.
 *
 * When a packed hash converts (Redis's hashTypeTryConversion and hashTypeSet, which
 * the handlers follow): HSET/HMSET first, when any of their arguments is longer than
 * the value limit; then every single set, when its field or value is longer than
 * that limit or the hash then has more fields than the entry limit. HDEL never
 * converts. So a limit lowered at runtime (CONFIG SET) leaves an existing packed hash
 * packed until one of those checks fires: a packed object a command has changed is
 * `judged` and stays packed at commit whatever its size. One built from a dump
 * (RENAME/COPY through ./registry.ts) is checked against the limits in full.
 */
import { TYPE_HASH } from '../arena/layout.js';
import type { ShoalConfig } from '../../shared/config/schema.js';
import type { CollectionType, CollectionValue } from './collection.js';
import { hashBytes } from './keyed-hash.js';

/** The HashValue and HashTable objects and their small fields. */
const HEAP_BASE = 160;
/** Smallest slot table; a hash reaches the heap with 129+ fields (or one long value). */
const MIN_SLOTS = 16;
/** Smallest `data` buffer. */
const MIN_DATA = 1024;
/** Dead bit of an entry's tag. */
const DEAD = 0x80000000;

function readU32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

/**
 * A large hash: fields and values as bytes in one Buffer, found through an
 * open-addressing slot table (layout in the file comment). Reads leave the entry
 * they found in fAt/fLen/vAt/vLen (offsets into `data`), valid until the next write.
 */
export class HashTable {
  /** The entries; replaced when it grows or is compacted (re-read it after a write). */
  data: Buffer;
  /** Live fields. */
  count = 0;
  /** Field and value of the entry last found or visited: data[fAt, fAt + fLen), data[vAt, vAt + vLen). */
  fAt = 0;
  fLen = 0;
  vAt = 0;
  vLen = 0;
  /** Offset just after that entry. */
  after = 0;
  /** Bytes of `data` in use (live and dead entries). */
  #used = 0;
  /** Bytes of dead entries. */
  #garbage = 0;
  #slots: Int32Array;
  #mask: number;
  /** Deleted slots (-1). */
  #tombs = 0;
  /** Where the last failed #lookup would insert. */
  #free = 0;

  constructor(fields = 0, dataBytes = 0) {
    let cap = MIN_SLOTS;
    while (cap * 0.7 < fields + 1) cap *= 2;
    this.#slots = new Int32Array(cap);
    this.#mask = cap - 1;
    this.data = Buffer.allocUnsafeSlow(Math.max(MIN_DATA, dataBytes));
  }

  get bytes(): number {
    return HEAP_BASE + this.data.length + this.#slots.byteLength;
  }

  /** Finds field: its entry's offset (fAt ... set), or -1. */
  find(field: Uint8Array): number {
    const si = this.#lookup(field, hashBytes(field, 0, field.length));
    if (si < 0) return -1;
    const off = this.#slots[si]! - 1;
    this.#decode(off);
    return off;
  }

  /** Sets field to value (bytes, or a latin1 string); true when the field is new. */
  set(field: Uint8Array, value: Uint8Array | string): boolean {
    const size = entrySize(field.length, value.length);
    // Make room first: growing or compacting moves entries and rebuilds the slots.
    this.#reserve(size);
    if ((this.count + this.#tombs + 1) * 10 > this.#slots.length * 7) this.#resize(this.#capacityFor(this.count + 1));
    const h = hashBytes(field, 0, field.length);
    const si = this.#lookup(field, h);
    if (si >= 0) {
      const off = this.#slots[si]! - 1;
      this.#decode(off);
      if (this.vLen === value.length) {
        putBytes(this.data, this.vAt, value);
        return false;
      }
      this.#kill(off);
      this.#slots[si] = this.#append(h, field, value) + 1;
      return false;
    }
    const at = this.#free;
    if (this.#slots[at] === -1) this.#tombs--;
    this.#slots[at] = this.#append(h, field, value) + 1;
    this.count++;
    return true;
  }

  /** Removes field; true if it was there. */
  delete(field: Uint8Array): boolean {
    const si = this.#lookup(field, hashBytes(field, 0, field.length));
    if (si < 0) return false;
    this.#kill(this.#slots[si]! - 1);
    this.#slots[si] = -1;
    this.#tombs++;
    this.count--;
    if (this.count * 8 < this.#slots.length && this.#slots.length > MIN_SLOTS) this.#resize(this.#capacityFor(this.count));
    if (this.#garbage > this.#used / 2 && this.#garbage > MIN_DATA) this.#compact(0);
    return true;
  }

  /** The first live entry at or after offset `from` (fAt ... set), or -1. */
  nextEntry(from: number): number {
    const data = this.data;
    for (let off = from; off < this.#used; off = this.after) {
      this.#decode(off);
      if ((readU32(data, off) & DEAD) === 0) return off;
    }
    return -1;
  }

  /** A live entry picked uniformly at random (fAt ... set); the table must not be empty. */
  randomEntry(): number {
    const slots = this.#slots;
    for (;;) {
      const s = slots[Math.floor(Math.random() * slots.length)]!;
      if (s > 0) {
        this.#decode(s - 1);
        return s - 1;
      }
    }
  }

  /**
   * HSCAN: visits (fAt ... set) the fields of the home buckets from `cursor` on, until
   * `count` are visited or `count * 10` buckets were looked at (Redis's bound for
   * sparse tables); returns the cursor that continues, 0 when the walk is complete.
   */
  scan(cursor: number, count: number, visit: () => void): number {
    const slots = this.#slots;
    const mask = this.#mask;
    const data = this.data;
    // Cursors are 32-bit here; a bigger one (never handed out) is all ones, as near the end as in Redis.
    let v = cursor > 0xffffffff ? 0xffffffff : cursor >>> 0;
    let visited = 0;
    let buckets = count * 10;
    do {
      const home = v & mask;
      for (let i = home; ; i = (i + 1) & mask) {
        const s = slots[i]!;
        if (s === 0) break;
        if (s < 0 || (readU32(data, s - 1) & mask) !== home) continue;
        this.#decode(s - 1);
        visit();
        visited++;
      }
      // Next bucket in reverse-binary order: increment the reversed cursor.
      v = reverseBits(reverseBits((v | ~mask) >>> 0) + 1);
    } while (v !== 0 && visited < count && --buckets > 0);
    return v;
  }

  /** Slot index of field (hash h), or -1; then #free is where it would go. */
  #lookup(field: Uint8Array, h: number): number {
    const slots = this.#slots;
    const mask = this.#mask;
    const data = this.data;
    const n = field.length;
    let free = -1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const s = slots[i]!;
      if (s === 0) {
        this.#free = free < 0 ? i : free;
        return -1;
      }
      if (s < 0) {
        if (free < 0) free = i;
        continue;
      }
      const off = s - 1;
      if (readU32(data, off) !== h) continue;
      // Same tag: compare the field (its varint, then its bytes).
      let p = off + 4;
      let b = data[p++]!;
      let len = b & 0x7f;
      for (let shift = 7; b >= 0x80; shift += 7) {
        b = data[p++]!;
        len += (b & 0x7f) * 2 ** shift;
      }
      if (len === n && equalAt(data, p, field)) return i;
    }
  }

  /** Reads the entry at off into fAt/fLen/vAt/vLen/after. */
  #decode(off: number): void {
    const data = this.data;
    let p = off + 4;
    let b = data[p++]!;
    let len = b & 0x7f;
    for (let shift = 7; b >= 0x80; shift += 7) {
      b = data[p++]!;
      len += (b & 0x7f) * 2 ** shift;
    }
    this.fAt = p;
    this.fLen = len;
    p += len;
    b = data[p++]!;
    len = b & 0x7f;
    for (let shift = 7; b >= 0x80; shift += 7) {
      b = data[p++]!;
      len += (b & 0x7f) * 2 ** shift;
    }
    this.vAt = p;
    this.vLen = len;
    this.after = p + len;
  }

  /** Marks the entry at off dead. */
  #kill(off: number): void {
    this.#decode(off);
    this.data[off + 3]! |= 0x80;
    this.#garbage += this.after - off;
  }

  /** Appends an entry (room reserved); returns its offset. */
  #append(h: number, field: Uint8Array, value: Uint8Array | string): number {
    const data = this.data;
    const off = this.#used;
    data.writeUInt32LE(h, off);
    let p = putEntry(data, off + 4, field);
    p = putEntry(data, p, value);
    this.#used = p;
    return off;
  }

  /** Room for `size` more bytes at the end of `data`: compacts or grows it. */
  #reserve(size: number): void {
    if (this.#used + size <= this.data.length) return;
    if (this.#garbage > this.#used / 2) {
      this.#compact(size);
      if (this.#used + size <= this.data.length) return;
    }
    const next = Buffer.allocUnsafeSlow(Math.max(this.data.length * 2, this.#used + size));
    this.data.copy(next, 0, 0, this.#used);
    this.data = next;
  }

  /** A slot count for `fields` live fields: load at most 0.5 (the table grows at 0.7, shrinks under 0.125). */
  #capacityFor(fields: number): number {
    let cap = MIN_SLOTS;
    while (cap * 0.5 < fields) cap *= 2;
    return cap;
  }

  /** Rebuilds the slot table at `cap` slots from the live entries' tags (no field is rehashed). */
  #resize(cap: number): void {
    const old = this.#slots;
    const slots = new Int32Array(cap);
    const mask = cap - 1;
    const data = this.data;
    for (let i = 0; i < old.length; i++) {
      const s = old[i]!;
      if (s <= 0) continue;
      let j = readU32(data, s - 1) & mask;
      while (slots[j] !== 0) j = (j + 1) & mask;
      slots[j] = s;
    }
    this.#slots = slots;
    this.#mask = mask;
    this.#tombs = 0;
  }

  /** Copies the live entries, in order, into a fresh `data` with `extra` bytes to spare, and rebuilds the slots. */
  #compact(extra: number): void {
    const src = this.data;
    const live = this.#used - this.#garbage;
    const dst = Buffer.allocUnsafeSlow(Math.max(MIN_DATA, Math.ceil((live + extra) * 1.5)));
    let p = 0;
    for (let off = 0; off < this.#used; off = this.after) {
      this.#decode(off);
      if ((readU32(src, off) & DEAD) === 0) p += src.copy(dst, p, off, this.after);
    }
    this.data = dst;
    this.#used = p;
    this.#garbage = 0;
    const slots = this.#slots.fill(0);
    const mask = this.#mask;
    for (let off = 0; off < p; off = this.after) {
      this.#decode(off);
      let j = readU32(dst, off) & mask;
      while (slots[j] !== 0) j = (j + 1) & mask;
      slots[j] = off + 1;
    }
    this.#tombs = 0;
  }
}

/** The 32 bits of x in reverse order (as an unsigned number). */
function reverseBits(x: number): number {
  x = ((x >>> 1) & 0x55555555) | ((x & 0x55555555) << 1);
  x = ((x >>> 2) & 0x33333333) | ((x & 0x33333333) << 2);
  x = ((x >>> 4) & 0x0f0f0f0f) | ((x & 0x0f0f0f0f) << 4);
  x = ((x >>> 8) & 0x00ff00ff) | ((x & 0x00ff00ff) << 8);
  return ((x >>> 16) | (x << 16)) >>> 0;
}

/** Bytes of a table entry for a field and value of these lengths. */
function entrySize(fieldLen: number, valueLen: number): number {
  return 4 + entryLength(fieldLen) + entryLength(valueLen);
}

/** Writes value's bytes (no varint) at out[p...]. */
function putBytes(out: Buffer, p: number, value: Uint8Array | string): void {
  if (typeof value === 'string') out.write(value, p, value.length, 'latin1');
  else out.set(value, p);
}

/** Bytes of latin1 strings given to a table, reused. */
let scratch = Buffer.allocUnsafe(256);

/** The bytes of latin1 string s (a view of `scratch`, valid until the next call). */
function bytesOf(s: string): Buffer {
  if (s.length > scratch.length) scratch = Buffer.allocUnsafe(Math.max(s.length, scratch.length * 2));
  const n = scratch.write(s, 0, s.length, 'latin1');
  return scratch.subarray(0, n);
}

/**
 * A hash as the collection framework sees it (../types/collection.ts): the decoded
 * packed form (`flat`) while a command works on it as an object, or its HashTable
 * once on the heap. Commands that keep a hash packed never build one (PackedHash).
 */
export class HashValue implements CollectionValue {
  /** Packed form: field0, value0, field1, value1 ... in listpack order; null on the heap. */
  #flat: string[] | null;
  /** Heap form; null while packed. */
  #table: HashTable | null = null;
  /** A command changed this packed object under Redis's conversion rules: it stays packed at commit. */
  #judged = false;

  constructor(flat: string[] = []) {
    this.#flat = flat;
  }

  get size(): number {
    return this.#table !== null ? this.#table.count : this.#flat!.length >> 1;
  }

  /** Heap bytes: its table's (a packed object is not accounted: it lives in its arena item). */
  get bytes(): number {
    return this.#table !== null ? this.#table.bytes : HEAP_BASE;
  }

  get isPacked(): boolean {
    return this.#table === null;
  }

  get judged(): boolean {
    return this.#judged;
  }

  /** The heap form, or null while packed. */
  get table(): HashTable | null {
    return this.#table;
  }

  get(field: string): string | undefined {
    const table = this.#table;
    if (table !== null) return table.find(bytesOf(field)) < 0 ? undefined : table.data.toString('latin1', table.vAt, table.vAt + table.vLen);
    const flat = this.#flat!;
    const i = indexOf(flat, field);
    return i < 0 ? undefined : flat[i + 1];
  }

  /** Sets field to value; true when the field is new. No conversion: see setChecked. */
  set(field: string, value: string): boolean {
    this.#judged = true;
    if (this.#table !== null) return this.#table.set(bytesOf(field), value);
    const flat = this.#flat!;
    const i = indexOf(flat, field);
    if (i >= 0) {
      flat[i + 1] = value;
      return false;
    }
    flat.push(field, value);
    return true;
  }

  /**
   * Sets field to value as Redis's hashTypeSet: a packed hash converts first when the
   * field or value is longer than the value limit, and after when it has more fields
   * than the entry limit. True when the field is new.
   */
  setChecked(field: string, value: string, config: ShoalConfig): boolean {
    if (this.#table === null && (field.length > config.hashMaxListpackValue || value.length > config.hashMaxListpackValue)) this.toHeap();
    const created = this.set(field, value);
    if (this.#table === null && this.#flat!.length > 2 * config.hashMaxListpackEntries) this.toHeap();
    return created;
  }

  /** Removes field; true if it was there. Never converts. */
  delete(field: string): boolean {
    this.#judged = true;
    if (this.#table !== null) return this.#table.delete(bytesOf(field));
    const flat = this.#flat!;
    const i = indexOf(flat, field);
    if (i < 0) return false;
    flat.splice(i, 2);
    return true;
  }

  /** Switches to the heap form (a HashTable in the same order). Once on the heap, always on the heap. */
  toHeap(): void {
    const flat = this.#flat;
    if (flat === null) return;
    let bytes = 0;
    for (let i = 0; i < flat.length; i += 2) bytes += entrySize(flat[i]!.length, flat[i + 1]!.length);
    const table = new HashTable(flat.length >> 1, Math.ceil(bytes * 1.5));
    for (let i = 0; i < flat.length; i += 2) table.set(bytesOf(flat[i]!), flat[i + 1]!);
    this.#table = table;
    this.#flat = null;
  }

  /** True when every field and value is at most maxLen bytes. */
  allWithin(maxLen: number): boolean {
    const table = this.#table;
    if (table !== null) {
      for (let off = table.nextEntry(0); off >= 0; off = table.nextEntry(table.after)) if (table.fLen > maxLen || table.vLen > maxLen) return false;
      return true;
    }
    for (const e of this.#flat!) if (e.length > maxLen) return false;
    return true;
  }

  /** Field, value, field, value ... (the packed layout; a fresh array for a heap hash). */
  toEntries(): string[] {
    const table = this.#table;
    if (table === null) return this.#flat!;
    const out = new Array<string>(table.count * 2);
    let i = 0;
    const data = table.data;
    for (let off = table.nextEntry(0); off >= 0; off = table.nextEntry(table.after)) {
      out[i++] = data.toString('latin1', table.fAt, table.fAt + table.fLen);
      out[i++] = data.toString('latin1', table.vAt, table.vAt + table.vLen);
    }
    return out;
  }
}

/** Index of field in a flat field/value array, or -1. */
function indexOf(flat: readonly string[], field: string): number {
  for (let i = 0; i < flat.length; i += 2) if (flat[i] === field) return i;
  return -1;
}

/**
 * A packed hash worked on in its bytes: reads walk the arena page in place, writes
 * build the new packed value from the old bytes plus a list of edits, without one JS
 * string per entry. Commands run one at a time per worker, so one instance serves
 * them all; what it read is valid until the next keyspace write.
 *
 *   open(buf, start)   positions before the first entry; next() steps one entry,
 *                      leaving it at buf[at, at + len); seek(field) finds a value
 *   index()            records every pair's offsets in `slots` (random access)
 *   beginEdit() set() remove() append()   edits on the indexed pairs (in argv order)
 *   encode()           the edited hash, packed, in a scratch Buffer
 *
 * Editing keeps listpack order: a replaced value stays in place, a removed pair
 * closes its gap, new pairs go to the end in the order they were first set.
 */
export class PackedHash {
  buf: Buffer = EMPTY;
  /** Field/value pairs in the hash. */
  pairs = 0;
  at = 0;
  len = 0;
  /** After index(): field at, field len, value at, value len, per pair. */
  slots = new Int32Array(4 * 128);
  #p = 0;
  /** Per indexed pair: undefined = kept, null = removed, else its new value. */
  #edits: Array<Uint8Array | string | null | undefined> = [];
  #added: Array<Uint8Array> = [];
  #addedValues: Array<Uint8Array | string> = [];
  #removed = 0;
  #out = Buffer.allocUnsafe(1024);

  /** Positions before the first entry of the packed value at buf[start...]. */
  open(buf: Buffer, start: number): void {
    this.buf = buf;
    this.pairs = buf.readUInt32LE(start) >>> 1;
    this.#p = start + 4;
  }

  /** An empty hash (a key about to be created). */
  openEmpty(): void {
    this.buf = EMPTY;
    this.pairs = 0;
    this.#p = 0;
  }

  /** Steps to the next entry (the caller counts them: 2 * pairs in all). */
  next(): void {
    const buf = this.buf;
    let p = this.#p;
    let b = buf[p++]!;
    let len = b & 0x7f;
    for (let shift = 7; b >= 0x80; shift += 7) {
      b = buf[p++]!;
      len += (b & 0x7f) * 2 ** shift;
    }
    this.at = p;
    this.len = len;
    this.#p = p + len;
  }

  /** From the start: finds field, leaving at/len on its value. False when absent. */
  seek(field: Uint8Array): boolean {
    for (let i = 0; i < this.pairs; i++) {
      this.next();
      const hit = this.len === field.length && equalAt(this.buf, this.at, field);
      this.next();
      if (hit) return true;
    }
    return false;
  }

  /** From the start: records every pair's offsets in `slots`; returns the pairs. */
  index(): number {
    const n = this.pairs;
    if (this.slots.length < n * 4) this.slots = new Int32Array(n * 8);
    const slots = this.slots;
    for (let i = 0, j = 0; i < n; i++, j += 4) {
      this.next();
      slots[j] = this.at;
      slots[j + 1] = this.len;
      this.next();
      slots[j + 2] = this.at;
      slots[j + 3] = this.len;
    }
    return n;
  }

  /** After index(): the pair whose field is `field`, or -1. */
  find(field: Uint8Array): number {
    const slots = this.slots;
    const n = field.length;
    for (let i = 0, j = 0; i < this.pairs; i++, j += 4) {
      if (slots[j + 1] === n && equalAt(this.buf, slots[j]!, field)) return i;
    }
    return -1;
  }

  /** After index(): starts a new list of edits. */
  beginEdit(): void {
    // Slots past `pairs` are never read; the arrays keep their backing stores between commands.
    const edits = this.#edits;
    for (let i = 0; i < this.pairs; i++) edits[i] = undefined;
    this.#added.length = 0;
    this.#addedValues.length = 0;
    this.#removed = 0;
  }

  /** Drops the edit's references to argument Buffers (they pin the network chunk they view). */
  endEdit(): void {
    const edits = this.#edits;
    for (let i = 0; i < this.pairs; i++) edits[i] = undefined;
    this.#added.length = 0;
    this.#addedValues.length = 0;
  }

  /** Pairs the edited hash has. */
  get editedPairs(): number {
    return this.pairs - this.#removed + this.#added.length;
  }

  /** Sets field to value in the edit; true when the field is new. */
  set(field: Uint8Array, value: Uint8Array | string): boolean {
    const i = this.find(field);
    if (i >= 0 && this.#edits[i] !== null) {
      this.#edits[i] = value;
      return false;
    }
    const k = this.#addedIndex(field);
    if (k >= 0) {
      this.#addedValues[k] = value;
      return false;
    }
    this.#added.push(field);
    this.#addedValues.push(value);
    return true;
  }

  /** Removes field in the edit; true if it was there. */
  remove(field: Uint8Array): boolean {
    const i = this.find(field);
    if (i >= 0 && this.#edits[i] !== null) {
      this.#edits[i] = null;
      this.#removed++;
      return true;
    }
    const k = this.#addedIndex(field);
    if (k < 0) return false;
    this.#added.splice(k, 1);
    this.#addedValues.splice(k, 1);
    return true;
  }

  /** The edited hash as packed bytes (a view of a scratch Buffer, valid until the next encode); ends the edit. */
  encode(): Buffer {
    const src = this.buf;
    const slots = this.slots;
    const edits = this.#edits;
    let need = 4;
    for (let i = 0, j = 0; i < this.pairs; i++, j += 4) {
      const e = edits[i];
      if (e === null) continue;
      need += entryLength(slots[j + 1]!) + entryLength(e === undefined ? slots[j + 3]! : e.length);
    }
    for (let k = 0; k < this.#added.length; k++) need += entryLength(this.#added[k]!.length) + entryLength(this.#addedValues[k]!.length);
    if (this.#out.length < need) this.#out = Buffer.allocUnsafe(Math.max(need, this.#out.length * 2));
    const out = this.#out;
    out.writeUInt32LE(this.editedPairs * 2, 0);
    let p = 4;
    for (let i = 0, j = 0; i < this.pairs; i++, j += 4) {
      const e = edits[i];
      if (e === null) continue;
      // The field's varint and bytes are copied as they are.
      const fAt = slots[j]!;
      const fStart = fAt - varintLength(slots[j + 1]!);
      p += src.copy(out, p, fStart, fAt + slots[j + 1]!);
      if (e === undefined) {
        const vAt = slots[j + 2]!;
        p += src.copy(out, p, vAt - varintLength(slots[j + 3]!), vAt + slots[j + 3]!);
      } else p = putEntry(out, p, e);
    }
    for (let k = 0; k < this.#added.length; k++) {
      p = putEntry(out, p, this.#added[k]!);
      p = putEntry(out, p, this.#addedValues[k]!);
    }
    this.endEdit();
    return out.subarray(0, p);
  }

  #addedIndex(field: Uint8Array): number {
    const added = this.#added;
    for (let k = 0; k < added.length; k++) {
      const a = added[k]!;
      if (a.length === field.length && equalAt(a, 0, field)) return k;
    }
    return -1;
  }
}

const EMPTY = Buffer.alloc(0);

/** buf[at, at + bytes.length) equals bytes. */
function equalAt(buf: Uint8Array, at: number, bytes: Uint8Array): boolean {
  const n = bytes.length;
  if (n > 32) return Buffer.compare(buf.subarray(at, at + n), bytes) === 0;
  for (let i = 0; i < n; i++) if (buf[at + i] !== bytes[i]) return false;
  return true;
}

function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

/** Bytes of one packed entry of `len` bytes (varint + bytes). */
function entryLength(len: number): number {
  return varintLength(len) + len;
}

/** Writes one packed entry at out[p...]; returns the position after it. */
function putEntry(out: Buffer, p: number, e: Uint8Array | string): number {
  let len = e.length;
  while (len >= 0x80) {
    out[p++] = (len & 0x7f) | 0x80;
    len = Math.floor(len / 128);
  }
  out[p++] = len;
  if (typeof e === 'string') return p + out.write(e, p, e.length, 'latin1');
  out.set(e, p);
  return p + e.length;
}

export const hashType: CollectionType<HashValue> = {
  type: TYPE_HASH,
  typeName: 'hash',
  wakesBlocked: false,
  create: () => new HashValue(),
  fromEntries: (entries) => new HashValue(entries),
  toEntries: (obj) => obj.toEntries(),
  // A packed object a command changed was judged by Redis's rules already; one fresh
  // from a dump is judged here, and switched to its heap form when it does not fit
  // (the caller moves it to the heap next).
  fitsPacked: (obj, config) => {
    if (!obj.isPacked) return false;
    if (obj.judged) return true;
    if (obj.size <= config.hashMaxListpackEntries && obj.allWithin(config.hashMaxListpackValue)) return true;
    obj.toHeap();
    return false;
  },
  encodingName: (_obj, packed) => (packed ? 'listpack' : 'hashtable'),
};
