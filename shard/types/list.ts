/**
 * PLACEHOLDER (foundation): the list value type. Replaced by the real implementation.
 */
import { TYPE_LIST } from '../arena/layout.js';
import type { CollectionType, CollectionValue } from './collection.js';
import { stringBytes } from './packed.js';

export class ListValue implements CollectionValue {
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

export const listType: CollectionType<ListValue> = {
  type: TYPE_LIST,
  typeName: 'list',
  wakesBlocked: true,
  create: () => new ListValue(),
  fromEntries: (entries) => Object.assign(new ListValue(), { entries }),
  toEntries: (obj) => obj.entries,
  fitsPacked: (obj) => obj.entries.length <= 128,
  encodingName: () => 'quicklist',
};
