/**
 * An ACL user and Redis 7.0's rule language (ACL SETUSER, ACL LIST, the ACL file).
 *
 * A user holds: on/off, passwords as SHA-256 hex digests (never the clear text), a
 * bitmap of allowed commands indexed by ACL id (./acl-catalog.ts), allowed first
 * arguments (`+select|0`), key patterns with read/write flags, channel patterns.
 * `describe()` turns it back into rules the way Redis 7.0 does: it starts from +@all
 * or -@all, picks the categories that best fit the bitmap, then fixes single
 * commands, so ACL LIST round-trips through ACL SETUSER and the ACL file.
 *
 * Strings are latin1 throughout (names, patterns, rules): one char per byte, so any
 * byte a client sends comes back unchanged.
 *
 * Selectors (`(...)`, Redis 7's extra permission sets) are not implemented: a rule
 * starting with `(` is refused with a clear error.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { globMatch } from '../../shared/glob.js';
import { CATEGORIES, ENTRY_COUNT, TOP_LEVEL, categoryBit, lookupEntry, type AclEntry } from './acl-catalog.js';
import { PERM_ALL, PERM_READ, PERM_WRITE } from './redis-acl-data.js';

/** ACL SETUSER rule errors, Redis's ACLSetUserStringError texts. */
export const RuleErrors = {
  unknownCommand: 'Unknown command or category name in ACL',
  syntax: 'Syntax error',
  keysAfterAll: "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
  channelsAfterAll: "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
  noSuchPassword: 'The password you are trying to remove from the user does not exist',
  badHash: 'The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters',
  firstArgOfSubcommand: 'Allowing first-arg of a subcommand is not supported',
  // Shoal: Redis 7 selectors are not implemented.
  selectors: 'Selectors are not supported by Shoal',
} as const;

/** SHA-256 of a password, lower-case hex (Redis's ACLHashPassword). */
export function hashPassword(password: Uint8Array): string {
  return createHash('sha256').update(password).digest('hex');
}

function isPasswordHash(s: string): boolean {
  return /^[0-9a-f]{64}$/.test(s);
}

/** Redis's ACLStringHasSpaces: usernames and patterns may not hold whitespace or NUL. */
export function hasSpaces(s: string): boolean {
  return /[ \t\n\v\f\r\0]/.test(s);
}

/**
 * The allowed-commands part of a user: Redis's allowed_commands bitmap, its
 * ALLCOMMANDS flag and allowed_firstargs. Also used bare, as the scratch sets
 * describe() builds rules with.
 */
export class CommandRules {
  /** 1 = allowed, by ACL id. */
  readonly bits = new Uint8Array(ENTRY_COUNT);
  /** +@all / allcommands and nothing denied since (Redis SELECTOR_FLAG_ALLCOMMANDS). */
  allCommands = false;
  /**
   * Redis's reserved "future commands" bit: set by +@all, cleared by -@all only. It
   * decides whether ACL LIST starts from +@all or -@all.
   */
  future = false;
  /** `+select|0`: first arguments allowed for an otherwise denied command, by ACL id. */
  firstArgs: Map<number, string[]> | null = null;

  clone(): CommandRules {
    const c = new CommandRules();
    c.bits.set(this.bits);
    c.allCommands = this.allCommands;
    c.future = this.future;
    if (this.firstArgs !== null) c.firstArgs = new Map([...this.firstArgs].map(([k, v]) => [k, [...v]]));
    return c;
  }

  allowAll(): void {
    this.bits.fill(1);
    this.allCommands = true;
    this.future = true;
    this.firstArgs = null;
  }

  denyAll(): void {
    this.bits.fill(0);
    this.allCommands = false;
    this.future = false;
    this.firstArgs = null;
  }

  #setBit(id: number, allow: boolean): void {
    this.bits[id] = allow ? 1 : 0;
    if (!allow) this.allCommands = false;
  }

  /** Allows or denies one command; a container's subcommands follow it (ACLChangeSelectorPerm). */
  change(e: AclEntry, allow: boolean): void {
    this.#setBit(e.id, allow);
    this.firstArgs?.delete(e.id);
    for (const sub of e.subcommands) this.#setBit(sub.id, allow);
  }

  /** +@category / -@category over every command and subcommand in it. */
  changeCategory(bit: number, allow: boolean, entries: readonly AclEntry[] = TOP_LEVEL): void {
    for (const e of entries) {
      if (e.categories & bit) this.change(e, allow);
      if (e.subcommands.length > 0) this.changeCategory(bit, allow, e.subcommands);
    }
  }

  /** [allowed, denied] commands and subcommands of a category. */
  countCategory(bit: number, entries: readonly AclEntry[] = TOP_LEVEL, acc: [number, number] = [0, 0]): [number, number] {
    for (const e of entries) {
      if (e.categories & bit) acc[this.bits[e.id] ? 0 : 1]++;
      if (e.subcommands.length > 0) this.countCategory(bit, e.subcommands, acc);
    }
    return acc;
  }

  addFirstArg(id: number, arg: string): void {
    this.firstArgs ??= new Map();
    const list = this.firstArgs.get(id);
    if (list === undefined) this.firstArgs.set(id, [arg]);
    else if (!list.some((a) => a.toLowerCase() === arg.toLowerCase())) list.push(arg);
  }

  /** True when every command is allowed (what the hot path needs to know). */
  allowsEverything(): boolean {
    return this.allCommands || this.bits.every((b) => b === 1);
  }

  /**
   * Rules that rebuild this bitmap (Redis's ACLDescribeSelectorCommandRules): +@all
   * or -@all, then greedily the category closest to the remaining difference, then
   * single commands in table order (Redis walks its command dict, whose order is
   * random per process, so only the set of single-command rules matches Redis).
   */
  describe(): string {
    const rules: string[] = [];
    const additive = !this.future;
    const fake = new CommandRules();
    if (additive) {
      rules.push('-@all');
      fake.denyAll();
    } else {
      rules.push('+@all');
      fake.allowAll();
    }
    const temp = new CommandRules();
    temp.bits.set(this.bits);
    const applied = new Uint8Array(CATEGORIES.length);
    for (;;) {
      let best = -1;
      let mindiff = Number.MAX_SAFE_INTEGER;
      let maxsame = 0;
      for (let j = 0; j < CATEGORIES.length; j++) {
        if (applied[j]) continue;
        const [on, off] = temp.countCategory(1 << j);
        const diff = additive ? off : on;
        const same = additive ? on : off;
        if (same > diff && (diff < mindiff || (diff === mindiff && same > maxsame))) {
          best = j;
          mindiff = diff;
          maxsame = same;
        }
      }
      if (best === -1) break;
      fake.changeCategory(1 << best, additive);
      temp.changeCategory(1 << best, !additive);
      rules.push(`${additive ? '+' : '-'}@${CATEGORIES[best]}`);
      applied[best] = 1;
    }
    this.#describeSingles(fake, TOP_LEVEL, rules);
    return rules.join(' ');
  }

  #describeSingles(fake: CommandRules, entries: readonly AclEntry[], rules: string[]): void {
    for (const e of entries) {
      const userbit = this.bits[e.id] === 1;
      if (userbit !== (fake.bits[e.id] === 1)) {
        rules.push(`${userbit ? '+' : '-'}${e.fullname}`);
        fake.change(e, userbit);
      }
      if (e.subcommands.length > 0) this.#describeSingles(fake, e.subcommands, rules);
      const args = this.firstArgs?.get(e.id);
      if (!userbit && args !== undefined) for (const a of args) rules.push(`+${e.fullname}|${a}`);
    }
  }
}

export interface KeyPattern {
  readonly pattern: Buffer;
  /** PERM_READ, PERM_WRITE or both (`~`). */
  flags: number;
}

const eq = (op: string, word: string): boolean => op.length === word.length && op.toLowerCase() === word;

export class AclUser {
  readonly name: string;
  enabled = false;
  nopass = false;
  /** skip-sanitize-payload / sanitize-payload (kept and listed; Shoal has no RESTORE payloads). */
  sanitize: 'none' | 'skip' | 'sanitize' = 'none';
  /** SHA-256 hex digests. */
  passwords: string[] = [];
  commands = new CommandRules();
  allKeys = false;
  keys: KeyPattern[] = [];
  allChannels: boolean;
  channels: Buffer[] = [];

  /** A new user: off, no password, no commands, no keys; channels per acl-pubsub-default. */
  constructor(name: string, allChannelsByDefault: boolean) {
    this.name = name;
    this.allChannels = allChannelsByDefault;
  }

  /** Redis's default user: on, nopass, +@all ~* &*. */
  static createDefault(): AclUser {
    const u = new AclUser('default', true);
    u.commands.allowAll();
    u.allKeys = true;
    u.enabled = true;
    u.nopass = true;
    return u;
  }

  /** A copy under another name (SETUSER stages changes on a copy). */
  copy(name = this.name): AclUser {
    const u = new AclUser(name, this.allChannels);
    u.enabled = this.enabled;
    u.nopass = this.nopass;
    u.sanitize = this.sanitize;
    u.passwords = [...this.passwords];
    u.commands = this.commands.clone();
    u.allKeys = this.allKeys;
    u.keys = this.keys.map((k) => ({ pattern: k.pattern, flags: k.flags }));
    u.channels = [...this.channels];
    return u;
  }

  /**
   * Applies one rule (Redis's ACLSetUser); returns an error text from RuleErrors, or
   * null. `allChannelsByDefault` is acl-pubsub-default, which `reset` applies.
   */
  apply(rule: Buffer, allChannelsByDefault: boolean): string | null {
    if (rule.length === 0) return null;
    const op = rule.toString('latin1');
    const c = op[0];
    if (eq(op, 'on')) this.enabled = true;
    else if (eq(op, 'off')) this.enabled = false;
    else if (eq(op, 'skip-sanitize-payload')) this.sanitize = 'skip';
    else if (eq(op, 'sanitize-payload')) this.sanitize = 'sanitize';
    else if (eq(op, 'nopass')) {
      this.nopass = true;
      this.passwords = [];
    } else if (eq(op, 'resetpass')) {
      this.nopass = false;
      this.passwords = [];
    } else if (c === '>' || c === '#') {
      const hash = c === '>' ? hashPassword(rule.subarray(1)) : op.slice(1);
      if (c === '#' && !isPasswordHash(hash)) return RuleErrors.badHash;
      if (!this.passwords.includes(hash)) this.passwords.push(hash);
      this.nopass = false;
    } else if (c === '<' || c === '!') {
      const hash = c === '<' ? hashPassword(rule.subarray(1)) : op.slice(1);
      if (c === '!' && !isPasswordHash(hash)) return RuleErrors.badHash;
      const at = this.passwords.indexOf(hash);
      if (at < 0) return RuleErrors.noSuchPassword;
      this.passwords.splice(at, 1);
    } else if (c === '(') {
      return RuleErrors.selectors;
    } else if (eq(op, 'clearselectors')) {
      // No selectors exist: nothing to clear.
    } else if (eq(op, 'reset')) {
      this.nopass = false;
      this.passwords = [];
      this.allKeys = false;
      this.keys = [];
      this.allChannels = allChannelsByDefault;
      this.channels = [];
      this.enabled = false;
      this.sanitize = 'sanitize';
      this.commands.denyAll();
    } else {
      return this.#applySelectorRule(op, rule);
    }
    return null;
  }

  /** Keys, channels and commands (Redis's ACLSetSelector, in its order of tests). */
  #applySelectorRule(op: string, rule: Buffer): string | null {
    const c = op[0];
    if (eq(op, 'allkeys') || op === '~*') {
      this.allKeys = true;
      this.keys = [];
    } else if (eq(op, 'resetkeys')) {
      this.allKeys = false;
      this.keys = [];
    } else if (eq(op, 'allchannels') || op === '&*') {
      this.allChannels = true;
      this.channels = [];
    } else if (eq(op, 'resetchannels')) {
      this.allChannels = false;
      this.channels = [];
    } else if (eq(op, 'allcommands') || eq(op, '+@all')) {
      this.commands.allowAll();
    } else if (eq(op, 'nocommands') || eq(op, '-@all')) {
      this.commands.denyAll();
    } else if (c === '~' || c === '%') {
      if (this.allKeys) return RuleErrors.keysAfterAll;
      let flags = 0;
      let offset = 1;
      if (c === '%') {
        // %R~ %W~ %RW~ (any order, each letter once); "%R" alone is an empty pattern, as Redis.
        for (; offset < op.length; offset++) {
          const ch = op[offset]!.toUpperCase();
          if (ch === 'R' && !(flags & PERM_READ)) flags |= PERM_READ;
          else if (ch === 'W' && !(flags & PERM_WRITE)) flags |= PERM_WRITE;
          else if (op[offset] === '~') {
            offset++;
            break;
          } else return RuleErrors.syntax;
        }
        if (flags === 0) return RuleErrors.syntax;
      } else {
        flags = PERM_ALL;
      }
      if (hasSpaces(op.slice(offset))) return RuleErrors.syntax;
      const pattern = Buffer.from(rule.subarray(offset));
      const same = this.keys.find((k) => k.pattern.equals(pattern));
      if (same === undefined) this.keys.push({ pattern, flags });
      else same.flags |= flags;
    } else if (c === '&') {
      if (this.allChannels) return RuleErrors.channelsAfterAll;
      if (hasSpaces(op.slice(1))) return RuleErrors.syntax;
      const pattern = Buffer.from(rule.subarray(1));
      if (!this.channels.some((p) => p.equals(pattern))) this.channels.push(pattern);
    } else if (c === '+' && op[1] !== '@') {
      return this.#allowCommand(op.slice(1));
    } else if (c === '-' && op[1] !== '@') {
      const e = lookupEntry(op.slice(1));
      if (e === undefined) return RuleErrors.unknownCommand;
      this.commands.change(e, false);
    } else if ((c === '+' || c === '-') && op[1] === '@') {
      const bit = categoryBit(op.slice(2));
      if (bit === 0) return RuleErrors.unknownCommand;
      this.commands.changeCategory(bit, c === '+');
    } else {
      return RuleErrors.syntax;
    }
    return null;
  }

  /** `+name`, `+container|sub`, or `+name|first-arg` (Redis's deprecated first-arg rule). */
  #allowCommand(name: string): string | null {
    const bar = name.lastIndexOf('|');
    if (bar < 0) {
      const e = lookupEntry(name);
      if (e === undefined) return RuleErrors.unknownCommand;
      this.commands.change(e, true);
      return null;
    }
    const base = lookupEntry(name.slice(0, bar));
    if (base === undefined) return RuleErrors.unknownCommand;
    if (base.parent !== null) return RuleErrors.firstArgOfSubcommand;
    const sub = name.slice(bar + 1);
    if (sub === '') return RuleErrors.syntax;
    if (base.subcommands.length > 0) {
      const e = lookupEntry(name);
      if (e === undefined) return RuleErrors.unknownCommand;
      this.commands.change(e, true);
    } else {
      this.commands.addFirstArg(base.id, sub);
    }
    return null;
  }

  /** True for a password that logs in as this user (any, with nopass). Constant-time per digest. */
  checkPassword(password: Uint8Array): boolean {
    if (this.nopass) return true;
    const given = Buffer.from(hashPassword(password), 'latin1');
    let ok = false;
    for (const h of this.passwords) if (timingSafeEqual(given, Buffer.from(h, 'latin1'))) ok = true;
    return ok;
  }

  /** May run anything on any key and channel: the hot path skips every check for it. */
  get unrestricted(): boolean {
    return this.allKeys && this.allChannels && this.commands.allowsEverything();
  }

  /** Flags in Redis's order (ACL GETUSER `flags`). */
  flagNames(): string[] {
    const out = [this.enabled ? 'on' : 'off'];
    if (this.nopass) out.push('nopass');
    if (this.sanitize === 'skip') out.push('skip-sanitize-payload');
    if (this.sanitize === 'sanitize') out.push('sanitize-payload');
    return out;
  }

  /** Key patterns as rules (`~a %R~b %W~c`), '' with none; `~*` for allkeys. */
  keyRules(): string {
    if (this.allKeys) return '~*';
    return this.keys.map((k) => `${k.flags === PERM_ALL ? '~' : k.flags === PERM_READ ? '%R~' : '%W~'}${k.pattern.toString('latin1')}`).join(' ');
  }

  /** Channel patterns as rules (`&a &b`), '' with none; `&*` for allchannels. */
  channelRules(): string {
    if (this.allChannels) return '&*';
    return this.channels.map((p) => `&${p.toString('latin1')}`).join(' ');
  }

  /** Everything after `user <name> ` in ACL LIST and the ACL file (Redis's ACLDescribeUser). */
  describe(): string {
    const parts = this.flagNames();
    for (const h of this.passwords) parts.push(`#${h}`);
    const keys = this.keyRules();
    if (keys !== '') parts.push(keys);
    parts.push(this.allChannels ? '&*' : ['resetchannels', ...this.channels.map((p) => `&${p.toString('latin1')}`)].join(' '));
    parts.push(this.commands.describe());
    return parts.join(' ');
  }

  /** A key matches a pattern carrying every permission bit `perm` asks for (Redis's ACLSelectorCheckKey). */
  keyAllowed(key: Uint8Array, perm: number): boolean {
    if (this.allKeys) return true;
    for (const k of this.keys) {
      if ((k.flags & perm) !== perm) continue;
      if (globMatch(k.pattern, 0, k.pattern.length, key, 0, key.length)) return true;
    }
    return false;
  }

  /** A channel matches a pattern; `literal` (PSUBSCRIBE's patterns) compares them as strings. */
  channelAllowed(channel: Uint8Array, literal: boolean): boolean {
    if (this.allChannels) return true;
    for (const p of this.channels) {
      if (literal ? Buffer.from(channel).equals(p) : globMatch(p, 0, p.length, channel, 0, channel.length)) return true;
    }
    return false;
  }
}
