/**
 * Command table rows: lists. Handlers: shard/commands/lists.ts.
 */
import type { CommandSpec } from '../spec.js';

export const LIST_ROWS: readonly CommandSpec[] = [
];
