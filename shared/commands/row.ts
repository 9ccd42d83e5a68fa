/**
 * The row builder of the command table (./table.ts and the family files in ./rows/):
 * one call per command keeps each row on one line.
 */
import type { CommandSpec, CommandGroup, Route } from './spec.js';

export function row(
  name: string, arity: number, flags: number, keys: [number, number, number],
  group: CommandGroup, route: Route, acl: string, since: string, summary: string,
  subcommands?: string[],
): CommandSpec {
  const spec: CommandSpec = {
    name, arity, flags, firstKey: keys[0], lastKey: keys[1], keyStep: keys[2],
    group, route, acl: acl.split(' ').filter(Boolean), since, summary,
  };
  return subcommands ? { ...spec, subcommands } : spec;
}

/** A row whose keys follow a numkeys argument at argv[at] (ZUNIONSTORE, SINTERCARD, LMPOP ...). */
export function withNumkeys(spec: CommandSpec, at: number): CommandSpec {
  return { ...spec, numkeysAt: at };
}

export const NOKEYS: [number, number, number] = [0, 0, 0];
export const KEY1: [number, number, number] = [1, 1, 1];
export const KEYS_ALL: [number, number, number] = [1, -1, 1];
