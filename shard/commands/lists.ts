/**
 * lists commands.
 */
import type { HandlerTable } from './context.js';

export const listCommands: HandlerTable = {
};
