/**
 * sets commands.
 */
import type { HandlerTable } from './context.js';

export const setCommands: HandlerTable = {
};
