/**
 * Command table rows: bloom. Handlers: shard/commands/bloom.ts.
 */
import type { CommandSpec } from '../spec.js';

export const BLOOM_ROWS: readonly CommandSpec[] = [
];
