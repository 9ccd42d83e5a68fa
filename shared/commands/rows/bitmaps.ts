/**
 * Command table rows: bitmaps. Handlers: shard/commands/bitmaps.ts.
 */
import { CMD_WRITE as W, CMD_READONLY as R, CMD_DENYOOM as M, CMD_FAST as F, type CommandSpec } from '../spec.js';
import { row, KEY1 } from '../row.js';

export const BITMAP_ROWS: readonly CommandSpec[] = [
  row('setbit', 4, W | M, KEY1, 'bitmap', 'key', 'write bitmap slow', '2.2.0', 'Sets or clears the bit at offset in the string value stored at key'),
  row('getbit', 3, R | F, KEY1, 'bitmap', 'key', 'read bitmap fast', '2.2.0', 'Returns the bit value at offset in the string value stored at key'),
  row('bitcount', -2, R, KEY1, 'bitmap', 'key', 'read bitmap slow', '2.6.0', 'Count set bits in a string'),
  row('bitpos', -3, R, KEY1, 'bitmap', 'key', 'read bitmap slow', '2.8.7', 'Find first bit set or clear in a string'),
  // Destination first, then the sources.
  row('bitop', -4, W | M, [2, -1, 1], 'bitmap', 'gather', 'write bitmap slow', '2.6.0', 'Perform bitwise operations between strings'),
  row('bitfield', -2, W | M, KEY1, 'bitmap', 'key', 'write bitmap slow', '3.2.0', 'Perform arbitrary bitfield integer operations on strings'),
  row('bitfield_ro', -2, R | F, KEY1, 'bitmap', 'key', 'read bitmap fast', '6.0.0', 'Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD'),
];
