/**
 * zsets commands.
 */
import type { HandlerTable } from './context.js';

export const zsetCommands: HandlerTable = {
};
