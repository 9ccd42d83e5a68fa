/**
 * How commands reach a collection (list, hash, set, sorted set) whatever its
 * encoding. A small collection is packed in its key's arena item (./packed.ts); a
 * large one is a JS object in Keyspace.heap. Handlers do:
 *
 *     const c = openForWrite(ctx, key, hashType, true);   // undefined: WRONGTYPE sent
 *     if (c === undefined) return;
 *     ... read or mutate c.obj ...
 *     if (!commit(ctx, key, c)) return;                   // false: OOM sent
 *
 * Packed: open decodes the entries into a fresh object and commit encodes it back
 * (or moves it to the heap once it outgrows the type's limits; Redis never converts
 * back, nor do we). Heap: open returns the live object, commit re-accounts its bytes.
 * Either way commit deletes a collection left empty, keeps the key's TTL, and wakes
 * clients blocked on a key it creates (BLPOP, BZPOPMIN ...).
 *
 * Between open and commit a handler must not write other keys: an arena allocation
 * may move items. Commands touching two keys open and commit one, then the other,
 * or re-open after committing.
 */
import type { CommandContext } from '../commands/context.js';
import type { ShoalConfig } from '../../shared/config/schema.js';
import { WireErrors } from '../../shared/resp/wire-errors.js';
import { ENCODING_HEAP } from '../keyspace.js';
import { readPacked, packedLength, writePacked } from './packed.js';

/** What every collection object offers the framework. */
export interface CollectionValue {
  /** Elements (members, fields, list entries); 0 = the key disappears at commit. */
  readonly size: number;
  /** Estimated JS heap bytes, counted in used_memory while the object is on the heap. */
  readonly bytes: number;
}

/** One row per collection type: how to build, pack and unpack its objects. */
export interface CollectionType<T extends CollectionValue> {
  /** ITEM_TYPE value (TYPE_LIST ...). */
  readonly type: number;
  /** TYPE's reply. */
  readonly typeName: string;
  /** Wake clients blocked on a key when it is created with this type. */
  readonly wakesBlocked: boolean;
  create(): T;
  fromEntries(entries: string[]): T;
  toEntries(obj: T): string[];
  /** May obj stay packed under these limits (Redis's *-max-listpack-* / intset rules)? */
  fitsPacked(obj: T, config: ShoalConfig): boolean;
  /** OBJECT ENCODING's reply, as Redis 7.0 reports it. */
  encodingName(obj: T, packed: boolean): string;
}

export interface OpenCollection<T> {
  obj: T;
  /** Heap handle, 0 while packed. */
  handle: number;
  /** The key existed before open. */
  existed: boolean;
  type: CollectionType<T & CollectionValue>;
}

/**
 * The collection at key for reading: null if missing, undefined after replying
 * WRONGTYPE. Counts a keyspace hit or miss.
 */
export function openForRead<T extends CollectionValue>(ctx: CommandContext, key: Buffer, ct: CollectionType<T>): OpenCollection<T> | null | undefined {
  const ref = ctx.ks.lookupRead(key);
  if (ref === 0) return null;
  return openRef(ctx, ref, ct);
}

/**
 * The collection at key for writing. Missing: a new empty object when `create`,
 * else null. undefined after replying WRONGTYPE.
 */
export function openForWrite<T extends CollectionValue>(ctx: CommandContext, key: Buffer, ct: CollectionType<T>, create: boolean): OpenCollection<T> | null | undefined {
  const ref = ctx.ks.find(key);
  if (ref === 0) return create ? { obj: ct.create(), handle: 0, existed: false, type: ct } : null;
  return openRef(ctx, ref, ct);
}

function openRef<T extends CollectionValue>(ctx: CommandContext, ref: number, ct: CollectionType<T>): OpenCollection<T> | undefined {
  const ks = ctx.ks;
  if (ks.type(ref) !== ct.type) {
    ctx.out.error(WireErrors.wrongType);
    return undefined;
  }
  if (ks.encoding(ref) === ENCODING_HEAP) {
    const handle = ks.heapHandle(ref);
    return { obj: ks.heap.get(handle) as T, handle, existed: true, type: ct };
  }
  const s = ks.valueStart(ref);
  return { obj: ct.fromEntries(readPacked(ks.page(ref), s, s + ks.valueLen(ref))), handle: 0, existed: true, type: ct };
}

/**
 * Stores a collection after a write: deletes it when empty, re-packs or moves it to
 * the heap, re-accounts a heap object. Returns false after replying OOM (nothing
 * changed then for a packed collection).
 */
export function commit<T extends CollectionValue>(ctx: CommandContext, key: Buffer, c: OpenCollection<T>): boolean {
  const ks = ctx.ks;
  const ct = c.type;
  if (c.obj.size === 0) {
    if (c.existed) ks.delete(key);
    return true;
  }
  if (c.handle !== 0) {
    ks.heap.setBytes(c.handle, c.obj.bytes);
    return true;
  }
  const old = ks.find(key, false);
  const handle = place(ctx, key, ct, c.obj, old === 0 ? 0 : ks.expireAt(old), old);
  if (handle < 0) return false;
  c.handle = handle;
  if (!c.existed && ct.wakesBlocked) ctx.server.blocking.signal(key);
  c.existed = true;
  return true;
}

/**
 * Replaces key with `obj` (the *STORE commands, restoring a dump): packed or on the
 * heap by the type's limits; an empty obj deletes the key. obj must not be another
 * key's live heap object (clone it). false after replying OOM.
 */
export function storeCollection<T extends CollectionValue>(ctx: CommandContext, key: Buffer, ct: CollectionType<T>, obj: T, expireAt = 0): boolean {
  const ks = ctx.ks;
  const old = ks.find(key, false);
  if (obj.size === 0) {
    if (old !== 0) ks.delete(key);
    return true;
  }
  if (place(ctx, key, ct, obj, expireAt, old) < 0) return false;
  if (ct.wakesBlocked) ctx.server.blocking.signal(key);
  return true;
}

/** Writes obj as key's value, packed when it fits. Returns the heap handle, 0 if packed, -1 after replying OOM. */
function place<T extends CollectionValue>(ctx: CommandContext, key: Buffer, ct: CollectionType<T>, obj: T, expireAt: number, old: number): number {
  const ks = ctx.ks;
  if (ct.fitsPacked(obj, ctx.server.config)) {
    const entries = ct.toEntries(obj);
    const ref = ks.write(key, ct.type, packedLength(entries), expireAt, old);
    if (ref === 0) return oom(ctx);
    writePacked(ks.page(ref), ks.valueStart(ref), entries);
    return 0;
  }
  const ref = ks.writeHeap(key, ct.type, obj, obj.bytes, expireAt, old);
  if (ref === 0) return oom(ctx);
  return ks.heapHandle(ref);
}

function oom(ctx: CommandContext): -1 {
  ctx.out.error(WireErrors.oom);
  return -1;
}
