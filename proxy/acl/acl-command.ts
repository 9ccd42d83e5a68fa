/**
 * ACL <subcommand>: replies, errors and arities as Redis 7.0.15's aclCommand.
 * Changes go through AclStore, which shares them with the other proxy processes.
 */
import { randomBytes } from 'node:crypto';
import { lookupCommand } from '../../shared/commands/table.js';
import type { ClientState } from '../../shared/connection/client-state.js';
import { parseInt64 } from '../../shared/resp/numbers.js';
import type { ReplyWriter } from '../../shared/resp/reply-writer.js';
import { WireErrors } from '../../shared/resp/wire-errors.js';
import { CATEGORIES, TOP_LEVEL, categoryBit, entryFor, type AclEntry } from './acl-catalog.js';
import { checkCommand } from './acl-check.js';
import type { AclStore } from './acl-store.js';

/** Subcommand arities (Redis's acl|* rows): N exactly, -N at least. */
const SUB_ARITY: Readonly<Record<string, number>> = {
  cat: -2, deluser: -3, dryrun: -4, genpass: -2, getuser: 3, help: 2, list: 2, load: 2,
  log: -2, save: 2, setuser: -3, users: 2, whoami: 2,
};

const HELP = [
  'ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CAT [<category>]',
  '    List all commands that belong to <category>, or all command categories',
  '    when no category is specified.',
  'DELUSER <username> [<username> ...]',
  '    Delete a list of users.',
  'DRYRUN <username> <command> [<arg> ...]',
  '    Returns whether the user can execute the given command without executing the command.',
  'GETUSER <username>',
  "    Get the user's details.",
  'GENPASS [<bits>]',
  '    Generate a secure 256-bit user password. The optional `bits` argument can',
  '    be used to specify a different size.',
  'LIST',
  '    Show users details in config file format.',
  'LOAD',
  '    Reload users from the ACL file.',
  'LOG [<count> | RESET]',
  '    Show the ACL log entries.',
  'SAVE',
  '    Save the current config to the ACL file.',
  'SETUSER <username> <attribute> [<attribute> ...]',
  '    Create or modify a user with the specified attributes.',
  'USERS',
  '    List all the registered usernames.',
  'WHOAMI',
  '    Return the current connection username.',
  'HELP',
  '    Prints this help.',
];

const NO_ACLFILE = 'ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.';
const GENPASS_MAX_BITS = 4096;

const latin1 = (b: Buffer): string => b.toString('latin1');

/** ACL <subcommand> [args...], argv including "ACL". */
export function aclCommand(store: AclStore, out: ReplyWriter, client: ClientState, argv: Buffer[]): void {
  const given = latin1(argv[1]!);
  const sub = given.toLowerCase();
  const arity = SUB_ARITY[sub];
  if (arity === undefined) return out.error(WireErrors.unknownSubcommand(given, 'acl'));
  const argc = argv.length;
  if (arity >= 0 ? argc !== arity : argc < -arity) return out.error(WireErrors.wrongArity(`acl|${sub}`));
  const syntaxError = (): void => out.error(`ERR unknown subcommand or wrong number of arguments for '${given.slice(0, 128)}'. Try ACL HELP.`);
  switch (sub) {
    case 'setuser': {
      const err = store.setUser(latin1(argv[2]!), argv.slice(3));
      return err === null ? out.ok() : out.error(`ERR ${err}`);
    }
    case 'deluser': {
      const names = argv.slice(2).map(latin1);
      if (names.includes('default')) return out.error("ERR The 'default' user cannot be removed");
      return out.integer(store.deleteUsers(names, client));
    }
    case 'getuser':
      return getUser(store, out, latin1(argv[2]!));
    case 'list': {
      const lines = store.listLines();
      out.arrayHeader(lines.length);
      for (const l of lines) out.bulkLatin1(l);
      return;
    }
    case 'users': {
      const users = store.sortedUsers();
      out.arrayHeader(users.length);
      for (const u of users) out.bulkLatin1(u.name);
      return;
    }
    case 'whoami':
      return out.bulkLatin1(client.user);
    case 'load':
    case 'save':
      if (store.aclfile === '') return out.error(NO_ACLFILE);
      if (sub === 'save') {
        return store.save() ? out.ok() : out.error('ERR There was an error trying to save the ACLs. Please check the server logs for more information');
      } else {
        const err = store.load(client);
        return err === null ? out.ok() : out.error(`ERR ${err}`);
      }
    case 'cat':
      if (argc === 2) return out.bulkArray(CATEGORIES);
      if (argc === 3) return cat(out, latin1(argv[2]!));
      return syntaxError();
    case 'genpass':
      if (argc > 3) return syntaxError();
      return genpass(out, argc === 3 ? argv[2]! : null);
    case 'log':
      if (argc > 3) return syntaxError();
      return log(store, out, argc === 3 ? argv[2]! : null);
    case 'dryrun':
      return dryrun(store, out, argv);
    case 'help':
      return out.bulkArray(HELP);
  }
}

/** ACL GETUSER: a map (pairs in RESP2) of flags, passwords, commands, keys, channels, selectors; null for no such user. */
function getUser(store: AclStore, out: ReplyWriter, name: string): void {
  const u = store.getUser(name);
  if (u === undefined) return out.nil();
  out.mapHeader(6);
  out.bulk('flags');
  const flags = u.flagNames();
  out.setHeader(flags.length);
  for (const f of flags) out.bulk(f);
  out.bulk('passwords');
  out.bulkArray(u.passwords);
  out.bulk('commands'); out.bulkLatin1(u.commands.describe());
  out.bulk('keys'); out.bulkLatin1(u.keyRules());
  out.bulk('channels'); out.bulkLatin1(u.channelRules());
  out.bulk('selectors'); out.arrayHeader(0);
}

/** ACL CAT category: every command and subcommand in it, containers followed by their subcommands. */
function cat(out: ReplyWriter, name: string): void {
  const bit = categoryBit(name);
  if (bit === 0) return out.error(`ERR Unknown category '${name.slice(0, 128)}'`);
  const names: string[] = [];
  const walk = (entries: readonly AclEntry[]): void => {
    for (const e of entries) {
      if (e.categories & bit) names.push(e.fullname);
      if (e.subcommands.length > 0) walk(e.subcommands);
    }
  };
  walk(TOP_LEVEL);
  out.bulkArray(names);
}

/** ACL GENPASS [bits]: random hex, (bits + 3) / 4 characters. */
function genpass(out: ReplyWriter, arg: Buffer | null): void {
  let bits = 256;
  if (arg !== null) {
    const n = parseInt64(arg);
    if (n === null) return out.error(WireErrors.notInteger);
    bits = typeof n === 'bigint' ? Number.MAX_SAFE_INTEGER * Math.sign(Number(n)) : n;
  }
  if (bits <= 0 || bits > GENPASS_MAX_BITS) {
    return out.error(`ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to ${GENPASS_MAX_BITS}`);
  }
  const chars = Math.floor((bits + 3) / 4);
  out.bulk(randomBytes(Math.ceil(chars / 2)).toString('hex').slice(0, chars));
}

/** ACL LOG [count | RESET] */
function log(store: AclStore, out: ReplyWriter, arg: Buffer | null): void {
  let count = 10;
  if (arg !== null) {
    if (latin1(arg).toLowerCase() === 'reset') {
      store.log.reset();
      return out.ok();
    }
    const n = parseInt64(arg);
    if (n === null) return out.error(WireErrors.notInteger);
    count = typeof n === 'bigint' ? (n < 0n ? 0 : Number.MAX_SAFE_INTEGER) : Math.max(0, n);
  }
  store.log.write(out, count);
}

/** ACL DRYRUN user command [arg ...]: OK, or why the user may not run it (a bulk string). */
function dryrun(store: AclStore, out: ReplyWriter, argv: Buffer[]): void {
  const user = store.getUser(latin1(argv[2]!));
  if (user === undefined) return out.error(`ERR User '${latin1(argv[2]!)}' not found`);
  const cmd = argv.slice(3);
  const spec = lookupCommand(latin1(cmd[0]!).toLowerCase());
  const entry = spec === undefined ? undefined : entryFor(spec, cmd);
  // A container's unknown subcommand is no command, as Redis's lookupCommand.
  if (spec === undefined || entry === undefined || (entry.subcommands.length > 0 && cmd.length > 1)) {
    return out.error(`ERR Command '${latin1(cmd[0]!)}' not found`);
  }
  if (spec.arity > 0 ? cmd.length !== spec.arity : cmd.length < -spec.arity) {
    return out.error(WireErrors.wrongArity(entry.fullname));
  }
  const denial = checkCommand(user, entry, cmd);
  if (denial === null) return out.ok();
  if (denial.reason === 'command') return out.bulkLatin1(`This user has no permissions to run the '${entry.fullname}' command`);
  out.bulkLatin1(`This user has no permissions to access the '${latin1(cmd[denial.index]!)}' ${denial.reason}`);
}
