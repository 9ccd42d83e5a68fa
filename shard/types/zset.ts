/**
 * PLACEHOLDER (foundation): the zset value type. Replaced by the real implementation.
 */
import { TYPE_ZSET } from '../arena/layout.js';
import type { CollectionType, CollectionValue } from './collection.js';
import { stringBytes } from './packed.js';

export class ZsetValue implements CollectionValue {
  entries: string[] = [];
  get size(): number {
    return this.entries.length;
  }
  get bytes(): number {
    let n = 64;
    for (const e of this.entries) n += 8 + stringBytes(e.length);
    return n;
  }
}

export const zsetType: CollectionType<ZsetValue> = {
  type: TYPE_ZSET,
  typeName: 'zset',
  wakesBlocked: true,
  create: () => new ZsetValue(),
  fromEntries: (entries) => Object.assign(new ZsetValue(), { entries }),
  toEntries: (obj) => obj.entries,
  fitsPacked: (obj) => obj.entries.length <= 128,
  encodingName: () => 'listpack',
};
