/**
 * Whether a user may run one command line (Redis's ACLSelectorCheckCmd): the command
 * (or subcommand, or an allowed first argument), then each key against the key
 * patterns with the read/write permission its key spec asks for, then the channels
 * of PUBLISH / SUBSCRIBE-family commands. Runs only for users with restrictions; the
 * gate (./acl-gate.ts) skips it for users allowed everything.
 */
import { keyIndexes } from '../../shared/commands/spec.js';
import { keyAccess, type AclEntry } from './acl-catalog.js';
import type { AclUser } from './acl-user.js';
import { PERM_ALL, PERM_READ, PERM_WRITE, SUBCOMMAND_KEY_AT_2 } from './redis-acl-data.js';

/** Why a command was denied, and the argv index of the key or channel at fault. */
export interface Denial {
  reason: 'command' | 'key' | 'channel';
  index: number;
}

/**
 * Commands whose arguments are channels: [first channel index, -1 = to the end or
 * the index of the only one, patterns compared literally]. Rows that do not exist yet
 * (pub/sub) are checked as soon as they are added to the table.
 */
const CHANNEL_ARGS: Readonly<Record<string, readonly [number, number, boolean]>> = {
  publish: [1, 1, false],
  spublish: [1, 1, false],
  subscribe: [1, -1, false],
  ssubscribe: [1, -1, false],
  psubscribe: [1, -1, true],
};

const DENIED_COMMAND: Denial = { reason: 'command', index: 0 };

const lowerIs = (b: Buffer, word: string): boolean => b.length === word.length && b.toString('latin1').toLowerCase() === word;

/** SET key value [... GET ...]: with GET it reads the old value too (Redis's setGetKeys). */
function setPerm(argv: readonly Buffer[]): number {
  for (let i = 3; i < argv.length; i++) if (lowerIs(argv[i]!, 'get')) return PERM_ALL;
  return PERM_WRITE;
}

/** BITFIELD with only GET / OVERFLOW reads; anything else may write (Redis's bitfieldGetKeys). */
function bitfieldPerm(argv: readonly Buffer[]): number {
  for (let i = 2; i < argv.length; i++) {
    const more = argv.length - i - 1;
    const a = argv[i]!;
    if (lowerIs(a, 'get') && more >= 2) i += 2;
    else if (lowerIs(a, 'overflow') && more >= 1) i += 1;
    else return PERM_ALL;
  }
  return PERM_READ;
}

/** Null when `user` may run argv; otherwise the first denial, in Redis's order. */
export function checkCommand(user: AclUser, entry: AclEntry, argv: readonly Buffer[]): Denial | null {
  const rules = user.commands;
  if (!rules.allCommands && !entry.noAuth && rules.bits[entry.id] === 0) {
    const allowed = rules.firstArgs?.get(entry.id);
    const at = entry.parent !== null ? 2 : 1;
    if (allowed === undefined || argv.length <= at) return DENIED_COMMAND;
    const arg = argv[at]!.toString('latin1').toLowerCase();
    if (!allowed.some((a) => a.toLowerCase() === arg)) return DENIED_COMMAND;
  }
  if (!user.allKeys) {
    if (entry.hasKeys) {
      const spec = entry.spec;
      const keys = keyIndexes(spec, argv);
      let [first, rest] = keyAccess(spec);
      if (spec.name === 'set') first = rest = setPerm(argv);
      else if (spec.name === 'bitfield') first = rest = bitfieldPerm(argv);
      for (let i = 0; i < keys.length; i++) {
        const at = keys[i]!;
        if (!user.keyAllowed(argv[at]!, i === 0 ? first : rest)) return { reason: 'key', index: at };
      }
    } else if (argv.length > 2 && SUBCOMMAND_KEY_AT_2.has(entry.fullname)) {
      if (!user.keyAllowed(argv[2]!, 0)) return { reason: 'key', index: 2 };
    }
  }
  if (!user.allChannels) {
    const ch = CHANNEL_ARGS[entry.fullname];
    if (ch !== undefined) {
      const [from, to, literal] = ch;
      const last = to < 0 ? argv.length - 1 : Math.min(to, argv.length - 1);
      for (let i = from; i <= last; i++) {
        if (!user.channelAllowed(argv[i]!, literal)) return { reason: 'channel', index: i };
      }
    }
  }
  return null;
}
