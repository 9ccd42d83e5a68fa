/**
 * PLACEHOLDER (foundation): the set value type. Replaced by the real implementation.
 */
import { TYPE_SET } from '../arena/layout.js';
import type { CollectionType, CollectionValue } from './collection.js';
import { stringBytes } from './packed.js';

export class SetValue implements CollectionValue {
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

export const setType: CollectionType<SetValue> = {
  type: TYPE_SET,
  typeName: 'set',
  wakesBlocked: false,
  create: () => new SetValue(),
  fromEntries: (entries) => Object.assign(new SetValue(), { entries }),
  toEntries: (obj) => obj.entries,
  fitsPacked: (obj) => obj.entries.length <= 128,
  encodingName: () => 'intset',
};
