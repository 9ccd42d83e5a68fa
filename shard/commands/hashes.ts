/**
 * hashes commands.
 */
import type { HandlerTable } from './context.js';

export const hashCommands: HandlerTable = {
};
