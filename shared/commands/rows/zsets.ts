/**
 * Command table rows: zsets. Handlers: shard/commands/zsets.ts.
 */
import type { CommandSpec } from '../spec.js';

export const ZSET_ROWS: readonly CommandSpec[] = [
];
