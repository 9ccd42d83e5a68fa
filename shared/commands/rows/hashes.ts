/**
 * Command table rows: hashes. Handlers: shard/commands/hashes.ts.
 */
import type { CommandSpec } from '../spec.js';

export const HASH_ROWS: readonly CommandSpec[] = [
];
