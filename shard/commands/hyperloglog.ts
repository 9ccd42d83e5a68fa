/**
 * hyperloglog commands.
 */
import type { HandlerTable } from './context.js';

export const hyperLogLogCommands: HandlerTable = {
};
