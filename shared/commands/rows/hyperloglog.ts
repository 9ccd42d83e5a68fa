/**
 * Command table rows: hyperloglog. Handlers: shard/commands/hyperloglog.ts.
 */
import type { CommandSpec } from '../spec.js';

export const HYPERLOGLOG_ROWS: readonly CommandSpec[] = [
];
