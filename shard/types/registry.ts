/**
 * Every value type by ITEM_TYPE: names for TYPE and SCAN TYPE, and the value bytes
 * of any key as one Buffer (SHOAL.DUMPKEY, RENAME/COPY) and back.
 *
 * Strings and bloom filters are their value bytes. A collection's dump is its packed
 * encoding (./packed.ts) whatever its size: a packed item's value bytes as they are,
 * a heap object packed on the way out.
 */
import { TYPE_STRING, TYPE_LIST, TYPE_SET, TYPE_ZSET, TYPE_HASH, TYPE_BLOOM, type Ref } from '../arena/layout.js';
import type { Keyspace } from '../keyspace.js';
import type { CommandContext } from '../commands/context.js';
import { WireErrors } from '../../shared/resp/wire-errors.js';
import { type CollectionType, type CollectionValue, storeCollection } from './collection.js';
import { encodePacked, readPacked } from './packed.js';
import { listType } from './list.js';
import { hashType } from './hash.js';
import { setType } from './set.js';
import { zsetType } from './zset.js';

/** TYPE's reply per ITEM_TYPE. */
export const TYPE_NAMES: Readonly<Record<number, string>> = {
  [TYPE_STRING]: 'string', [TYPE_LIST]: 'list', [TYPE_SET]: 'set', [TYPE_ZSET]: 'zset', [TYPE_HASH]: 'hash',
  [TYPE_BLOOM]: 'MBbloom--',
};

export const COLLECTION_TYPES: ReadonlyMap<number, CollectionType<CollectionValue>> = new Map<number, CollectionType<CollectionValue>>([
  [TYPE_LIST, listType as CollectionType<CollectionValue>],
  [TYPE_SET, setType as CollectionType<CollectionValue>],
  [TYPE_ZSET, zsetType as CollectionType<CollectionValue>],
  [TYPE_HASH, hashType as CollectionType<CollectionValue>],
]);

/** The collection object of a live item (decoded if packed, the live object if on the heap), or undefined for strings and blooms. */
export function collectionOf(ks: Keyspace, ref: Ref): CollectionValue | undefined {
  const ct = COLLECTION_TYPES.get(ks.type(ref));
  if (ct === undefined) return undefined;
  if (ks.isHeap(ref)) return ks.heap.get(ks.heapHandle(ref)) as CollectionValue;
  const s = ks.valueStart(ref);
  return ct.fromEntries(readPacked(ks.page(ref), s, s + ks.valueLen(ref)));
}

/** The value of a live item as bytes restoreValue accepts. */
export function dumpValue(ks: Keyspace, ref: Ref): Buffer {
  if (ks.isHeap(ref)) {
    const ct = COLLECTION_TYPES.get(ks.type(ref))!;
    return encodePacked(ct.toEntries(ks.heap.get(ks.heapHandle(ref)) as CollectionValue));
  }
  return ks.valueCopy(ref);
}

/**
 * Stores key = (type, value bytes from dumpValue, expireAt). Returns false after
 * replying an error (OOM, or a malformed dump).
 */
export function restoreValue(ctx: CommandContext, key: Buffer, type: number, value: Buffer, expireAt: number): boolean {
  const ct = COLLECTION_TYPES.get(type);
  if (ct === undefined) {
    const ref = ctx.ks.write(key, type, value.length, expireAt);
    if (ref === 0) {
      ctx.out.error(WireErrors.oom);
      return false;
    }
    ctx.ks.page(ref).set(value, ctx.ks.valueStart(ref));
    return true;
  }
  let entries: string[];
  try {
    entries = readPacked(value, 0, value.length);
  } catch {
    ctx.out.error('ERR Bad data format');
    return false;
  }
  return storeCollection(ctx, key, ct, ct.fromEntries(entries), expireAt);
}
