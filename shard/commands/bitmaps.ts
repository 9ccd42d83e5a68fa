/**
 * bitmaps commands.
 */
import type { HandlerTable } from './context.js';

export const bitmapCommands: HandlerTable = {
};
