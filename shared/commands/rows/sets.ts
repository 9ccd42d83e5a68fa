/**
 * Command table rows: sets. Handlers: shard/commands/sets.ts.
 */
import type { CommandSpec } from '../spec.js';

export const SET_ROWS: readonly CommandSpec[] = [
];
