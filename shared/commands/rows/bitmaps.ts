/**
 * Command table rows: bitmaps. Handlers: shard/commands/bitmaps.ts.
 */
import type { CommandSpec } from '../spec.js';

export const BITMAP_ROWS: readonly CommandSpec[] = [
];
