/**
 * PLACEHOLDER (foundation): the hash value type. Replaced by the real implementation.
 */
import { TYPE_HASH } from '../arena/layout.js';
import type { CollectionType, CollectionValue } from './collection.js';
import { stringBytes } from './packed.js';

export class HashValue implements CollectionValue {
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

export const hashType: CollectionType<HashValue> = {
  type: TYPE_HASH,
  typeName: 'hash',
  wakesBlocked: false,
  create: () => new HashValue(),
  fromEntries: (entries) => Object.assign(new HashValue(), { entries }),
  toEntries: (obj) => obj.entries,
  fitsPacked: (obj) => obj.entries.length <= 128,
  encodingName: () => 'listpack',
};
