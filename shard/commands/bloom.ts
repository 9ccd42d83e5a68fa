/**
 * bloom commands.
 */
import type { HandlerTable } from './context.js';

export const bloomCommands: HandlerTable = {
};
