/**
 * AclStore: the proxy process's ACL users (ProxyServer.acl) — who each client is,
 * AUTH / HELLO AUTH, the ACL file, requirepass, rate limits, and the per-client gate
 * flag the hot path tests (docs/acl.md).
 *
 * Hot path: a client whose user may run everything, on every key and channel, with no
 * rate limit and no pending AUTH has kAclGate clear, and ProxyServer.dispatch pays one
 * bit test for it. The flag is recomputed here whenever something it depends on
 * changes (login, RESET, any ACL or rate-limit change), never per command.
 *
 * One source of truth across proxy processes: every change (SETUSER, DELUSER, LOAD,
 * requirepass) is applied here, then shared as the full ACL in ACL LIST lines through
 * ProcessGroup.share('acl', lines); every other process (and a restarted one, which
 * gets the last snapshot before it listens) replaces its users with the snapshot.
 */
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import type { ClientState } from '../../shared/connection/client-state.js';
import { kAclGate, kClosing, kInExec, kMulti } from '../../shared/connection/client-state.js';
import type { ConnectionAcl } from '../../shared/connection/commands.js';
import type { ReplyWriter } from '../../shared/resp/reply-writer.js';
import type { RuntimeConfig } from '../../shared/config/runtime.js';
import type { ShoalConfig } from '../../shared/config/schema.js';
import { ConfigError } from '../../shared/errors.js';
import type { Logger } from '../../shared/log.js';
import type { ProcessGroup } from '../process-group.js';
import { AclUser, RuleErrors, hasSpaces } from './acl-user.js';
import { AclLog } from './acl-log.js';
import { RateLimiter, type TokenBucket } from './rate-limiter.js';
import { parseRateLimitUsers } from '../../shared/config/acl-params.js';
import { aclCommand } from './acl-command.js';

/** A connection the store can log out and close (a ProxyClient). */
export interface AclClient {
  readonly state: ClientState;
  readonly socket: { destroy(): void };
}

/** ProcessGroup topics. */
const TOPIC_ACL = 'acl';
/** ACL LOAD: every process closes the connections of the users the load replaced. */
const TOPIC_DISCONNECT = 'acl:disconnect-users';
/** The ACL config keys after a CONFIG SET, so CONFIG GET and rate limits agree everywhere. */
const TOPIC_CONFIG = 'acl:config';
const SHARED_CONFIG_KEYS = ['requirepass', 'acllogMaxLen', 'aclPubsubDefault', 'rateLimitOps', 'rateLimitBurst', 'rateLimitUsers'] as const;

const STRERROR: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
};

export interface AclStoreOptions {
  config: ShoalConfig;
  runtime: RuntimeConfig;
  group: ProcessGroup;
  log: Logger;
  clients: () => Iterable<AclClient>;
}

export class AclStore implements ConnectionAcl {
  readonly log: AclLog;
  readonly limiter = new RateLimiter();
  readonly #config: ShoalConfig;
  readonly #group: ProcessGroup;
  readonly #logger: Logger;
  readonly #clients: () => Iterable<AclClient>;
  #users = new Map<string, AclUser>();
  #default: AclUser;
  /** Users allowed everything (no command, key or channel check), by name. */
  #open = new Set<string>();

  constructor(opts: AclStoreOptions) {
    this.#config = opts.config;
    this.#group = opts.group;
    this.#logger = opts.log;
    this.#clients = opts.clients;
    this.log = new AclLog(opts.config.acllogMaxLen);
    this.#default = AclUser.createDefault();
    this.#users.set('default', this.#default);
    if (opts.config.requirepass !== '') this.#setDefaultPassword(opts.config.requirepass);
    this.#configureLimiter();
    if (opts.config.aclfile !== '') {
      const err = this.#loadFile();
      if (err !== null) throw new ConfigError('aclfile', err);
    }
    this.#recompute();
    opts.runtime.applyHooks.push((changed) => this.#configChanged(changed));
    opts.group.onShared(TOPIC_ACL, (payload) => this.#applySnapshot(payload));
    opts.group.on(TOPIC_DISCONNECT, (payload) => this.#disconnectUsers(new Set(payload as string[]), undefined));
    opts.group.onShared(TOPIC_CONFIG, (payload) => this.#applySharedConfig(payload));
  }

  // ---- who a client is ----------------------------------------------------------

  /** Default user needs a password (or is off): unauthenticated clients may only AUTH (Redis authRequired). */
  get defaultNeedsAuth(): boolean {
    return !this.#default.nopass || !this.#default.enabled;
  }

  get defaultNopass(): boolean {
    return this.#default.nopass;
  }

  /** A new connection: the default user, authenticated when it needs no password. */
  connected(state: ClientState): void {
    this.#logOut(state);
    this.#refreshGate(state);
  }

  /** RESET: back to the default user, as a new connection. */
  resetClient(state: ClientState): void {
    this.connected(state);
  }

  /** Logs a client in as an existing enabled user without a password (TLS certificate CN). */
  loginAs(state: ClientState, username: string): boolean {
    const user = this.#users.get(username);
    if (user === undefined || !user.enabled) return false;
    this.#login(state, user);
    return true;
  }

  authenticate(state: ClientState, username: Buffer, password: Buffer, command: Buffer): boolean {
    const name = username.toString('latin1');
    const user = this.#users.get(name);
    if (user !== undefined && user.enabled && user.checkPassword(password)) {
      this.#login(state, user);
      return true;
    }
    this.logDenial(state, 'auth', command.toString('latin1'), name);
    this.#logger.info({ client: state.id, addr: state.addr, user: name }, 'AUTH failed');
    return false;
  }

  command(out: ReplyWriter, state: ClientState, argv: Buffer[]): void {
    aclCommand(this, out, state, argv);
  }

  /** The user a client is logged in as (undefined right after its user was deleted). */
  userOf(state: ClientState): AclUser | undefined {
    return this.#users.get(state.user);
  }

  /** The user may run everything: no per-command check. */
  isOpen(user: AclUser): boolean {
    return this.#open.has(user.name);
  }

  /** The client's user's token bucket, or null when its user has no rate limit. */
  bucketOf(state: ClientState): TokenBucket | null {
    return this.limiter.bucketFor(state.user, state.lastInteraction);
  }

  /** Adds an ACL LOG entry for a denial on this client. */
  logDenial(state: ClientState, reason: 'command' | 'key' | 'channel' | 'auth', object: string, username = state.user): void {
    const info = state.infoLine();
    this.log.add(reason, state.flags & (kMulti | kInExec) ? 'multi' : 'toplevel', object, username, info.endsWith('\n') ? info.slice(0, -1) : info);
  }

  #login(state: ClientState, user: AclUser): void {
    state.user = user.name;
    state.authenticated = true;
    this.#refreshGate(state);
  }

  #logOut(state: ClientState): void {
    state.user = 'default';
    state.authenticated = this.#default.nopass && this.#default.enabled;
  }

  #refreshGate(state: ClientState): void {
    const gated = (!state.authenticated && this.defaultNeedsAuth) || !this.#open.has(state.user) || this.limiter.limitOf(state.user) > 0;
    state.flags = gated ? state.flags | kAclGate : state.flags & ~kAclGate;
  }

  /** After any change: which users are open, and every client's gate flag. */
  #recompute(): void {
    this.#open.clear();
    for (const u of this.#users.values()) if (u.unrestricted) this.#open.add(u.name);
    for (const c of this.#clients()) this.#refreshGate(c.state);
  }

  // ---- users ------------------------------------------------------------------------

  get allChannelsByDefault(): boolean {
    return this.#config.aclPubsubDefault === 'allchannels';
  }

  getUser(name: string): AclUser | undefined {
    return this.#users.get(name);
  }

  /** Users sorted by name, as Redis's radix tree lists them. */
  sortedUsers(): AclUser[] {
    return [...this.#users.values()].sort((a, b) => Buffer.compare(Buffer.from(a.name, 'latin1'), Buffer.from(b.name, 'latin1')));
  }

  /** ACL LIST lines. */
  listLines(): string[] {
    return this.sortedUsers().map((u) => `user ${u.name} ${u.describe()}`);
  }

  /**
   * ACL SETUSER: every rule is applied to a copy first, so a bad rule changes nothing.
   * Returns Redis's error text, or null.
   */
  setUser(name: string, rules: readonly Buffer[]): string | null {
    if (hasSpaces(name)) return "Usernames can't contain spaces or null characters";
    const existing = this.#users.get(name);
    const staged = existing?.copy() ?? new AclUser(name, this.allChannelsByDefault);
    for (const rule of rules) {
      const err = staged.apply(rule, this.allChannelsByDefault);
      if (err !== null) return `Error in ACL SETUSER modifier '${rule.toString('latin1')}': ${err}`;
    }
    this.#users.set(name, staged);
    if (name === 'default') this.#default = staged;
    this.#changed(existing === undefined ? 'created' : 'updated', [name]);
    return null;
  }

  /** ACL DELUSER: removes the users and closes their connections; `current` gets its reply first. */
  deleteUsers(names: readonly string[], current: ClientState | undefined): number {
    const gone = new Set<string>();
    for (const n of names) if (n !== 'default' && this.#users.delete(n)) gone.add(n);
    if (gone.size > 0) {
      for (const n of gone) this.limiter.forget(n);
      this.#disconnectUsers(gone, current);
      this.#changed('deleted', [...gone]);
    }
    return gone.size;
  }

  /** Logs out and closes every connection of these users (Redis ACLFreeUserAndKillClients). */
  #disconnectUsers(names: ReadonlySet<string>, current: ClientState | undefined): void {
    let closed = 0;
    for (const c of this.#clients()) {
      const st = c.state;
      if (!names.has(st.user)) continue;
      st.user = 'default';
      st.authenticated = false;
      closed++;
      // The client running the command gets its reply, then the connection closes.
      if (st === current) st.flags |= kClosing;
      else c.socket.destroy();
    }
    if (closed > 0) this.#logger.info({ users: [...names], connections: closed }, 'closed the connections of removed ACL users');
  }

  #changed(what: string, users: string[]): void {
    this.#recompute();
    this.#group.share(TOPIC_ACL, this.listLines());
    this.#logger.info({ users }, `ACL users ${what}`);
  }

  /** requirepass: the default user's password, as Redis's ACLUpdateDefaultUserPassword. */
  #setDefaultPassword(password: string): void {
    this.#default.apply(Buffer.from('resetpass'), false);
    if (password === '') this.#default.apply(Buffer.from('nopass'), false);
    else this.#default.apply(Buffer.concat([Buffer.from('>'), Buffer.from(password)]), false);
  }

  // ---- ACL file ---------------------------------------------------------------------

  get aclfile(): string {
    return this.#config.aclfile;
  }

  /** ACL SAVE: writes a temporary file, then renames it over the ACL file. False (logged) on I/O errors. */
  save(): boolean {
    const file = this.#config.aclfile;
    const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
    try {
      writeFileSync(tmp, this.listLines().map((l) => l + '\n').join(''), { encoding: 'latin1', mode: 0o644 });
      renameSync(tmp, file);
      return true;
    } catch (err) {
      this.#logger.warn({ file, err: (err as Error).message }, 'ACL SAVE failed');
      try {
        unlinkSync(tmp);
      } catch {
        // never created
      }
      return false;
    }
  }

  /**
   * ACL LOAD: the whole file is validated into a fresh set of users; any error keeps
   * the current users. On success every connection of a non-default user is closed,
   * as Redis does. Returns Redis's error text, or null.
   */
  load(current: ClientState | undefined): string | null {
    const before = [...this.#users.keys()].filter((n) => n !== 'default');
    const err = this.#loadFile();
    if (err !== null) return err;
    this.limiter.configure(this.#limitSettings(), this.#group.size);
    const gone = new Set(before);
    this.#disconnectUsers(gone, current);
    this.#group.broadcast(TOPIC_DISCONNECT, before);
    this.#changed('loaded from the ACL file', [...this.#users.keys()]);
    return null;
  }

  #loadFile(): string | null {
    const file = this.#config.aclfile;
    let text: string;
    try {
      text = readFileSync(file, 'latin1');
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      return `Error loading ACLs, opening file '${file}': ${STRERROR[e.code ?? ''] ?? e.message}`;
    }
    const parsed = this.#parseLines(text.split('\n'), file);
    if (typeof parsed === 'string') return parsed;
    this.#replaceUsers(parsed);
    return null;
  }

  /**
   * ACL file lines (Redis's ACLLoadFromFile): `user <name> <rule> ...` split on single
   * spaces; blank lines skipped; every error collected (an unknown command per rule,
   * other errors once per line); null users on any error.
   */
  #parseLines(lines: readonly string[], file: string): Map<string, AclUser> | string {
    const users = new Map<string, AclUser>();
    let errors = '';
    lines.forEach((raw, i) => {
      const lineno = i + 1;
      const line = raw.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
      if (line === '') return;
      const argv = line.split(' ');
      if (argv[0] !== 'user' || argv.length < 2) {
        errors += `${file}:${lineno} should start with user keyword followed by the username. `;
        return;
      }
      const name = argv[1]!;
      if (hasSpaces(name)) {
        errors += `'${file}:${lineno}: username '${name}' contains invalid characters. `;
        return;
      }
      if (users.has(name)) {
        errors += `WARNING: Duplicate user '${name}' found on line ${lineno}. `;
        return;
      }
      const user = new AclUser(name, this.allChannelsByDefault);
      users.set(name, user);
      let syntaxError = false;
      for (const op of argv.slice(2)) {
        const rule = op.replace(/^[\t\r\n]+|[\t\r\n]+$/g, '');
        const err = user.apply(Buffer.from(rule, 'latin1'), this.allChannelsByDefault);
        if (err === null) continue;
        if (err === RuleErrors.unknownCommand) {
          errors += `${file}:${lineno}: Error in applying operation '${rule}': ${err}. `;
        } else if (!syntaxError) {
          errors += `${file}:${lineno}: ${err}. `;
          syntaxError = true;
        }
      }
    });
    if (errors !== '') return errors + 'WARNING: ACL errors detected, no change to the previously active ACL rules was performed';
    return users;
  }

  #replaceUsers(users: Map<string, AclUser>): void {
    if (!users.has('default')) users.set('default', AclUser.createDefault());
    this.#users = users;
    this.#default = users.get('default')!;
  }

  // ---- other processes ------------------------------------------------------------------

  /** A snapshot shared by another proxy process: it replaces every user here. */
  #applySnapshot(payload: unknown): void {
    if (!Array.isArray(payload)) return;
    const parsed = this.#parseLines(payload as string[], '(shared ACL)');
    if (typeof parsed === 'string') {
      this.#logger.error({ err: parsed }, 'ignored an invalid shared ACL snapshot');
      return;
    }
    const gone = new Set([...this.#users.keys()].filter((n) => !parsed.has(n)));
    this.#replaceUsers(parsed);
    for (const n of gone) this.limiter.forget(n);
    if (gone.size > 0) this.#disconnectUsers(gone, undefined);
    this.#recompute();
  }

  // ---- config -----------------------------------------------------------------------------

  /** Another process's ACL config (its users come in the ACL snapshot). */
  #applySharedConfig(payload: unknown): void {
    if (typeof payload !== 'object' || payload === null) return;
    const values = payload as Partial<Pick<ShoalConfig, (typeof SHARED_CONFIG_KEYS)[number]>>;
    Object.assign(this.#config, values);
    this.log.resize(this.#config.acllogMaxLen);
    this.#configureLimiter();
    this.#recompute();
  }

  #limitSettings(): { ops: number; burst: number; users: Map<string, number> } {
    const users = parseRateLimitUsers(this.#config.rateLimitUsers);
    if (typeof users === 'string') throw new ConfigError('rateLimitUsers', users);
    return { ops: this.#config.rateLimitOps, burst: this.#config.rateLimitBurst, users };
  }

  #configureLimiter(): void {
    this.limiter.configure(this.#limitSettings(), this.#group.size);
  }

  /** CONFIG SET applied these parameters (Redis names). */
  #configChanged(changed: readonly string[]): undefined {
    const mine = changed.filter((p) => p === 'requirepass' || p.startsWith('acl') || p.startsWith('rate-limit-'));
    if (mine.length === 0) return undefined;
    const values: Record<string, unknown> = {};
    for (const k of SHARED_CONFIG_KEYS) values[k] = this.#config[k];
    this.#group.share(TOPIC_CONFIG, values);
    if (changed.includes('acllog-max-len')) this.log.resize(this.#config.acllogMaxLen);
    if (changed.some((p) => p.startsWith('rate-limit-'))) {
      this.#configureLimiter();
      this.#recompute();
    }
    // As Redis, every CONFIG SET requirepass resets the default user's passwords.
    if (changed.includes('requirepass')) {
      this.#setDefaultPassword(this.#config.requirepass);
      this.#changed('updated (requirepass)', ['default']);
    }
    return undefined;
  }
}
