/**
 * CommandSpec: one row of the command table (shared/commands/table.ts).
 *
 * Proxy routing and shard dispatch both read the same rows, so key positions and
 * arity cannot drift between the tiers. Key positions follow Redis's legacy
 * (first, last, step) triple: argv indexes, `last = -1` means "to the end", and
 * `first = 0` means the command takes no keys.
 */

/** Flag bits. One bit per property; `flags` is their OR. */
export const CMD_WRITE = 1 << 0;      // may modify the keyspace
export const CMD_READONLY = 1 << 1;   // reads only
export const CMD_DENYOOM = 1 << 2;    // may grow memory; refused under maxmemory (noeviction)
export const CMD_ADMIN = 1 << 3;      // administrative
export const CMD_FAST = 1 << 4;       // O(1) or O(log N)
export const CMD_NOSCRIPT = 1 << 5;
export const CMD_LOADING = 1 << 6;    // allowed while loading
export const CMD_STALE = 1 << 7;      // allowed on a stale replica
export const CMD_NOAUTH = 1 << 8;     // allowed before AUTH (Redis "no_auth")
export const CMD_ALLOW_BUSY = 1 << 9;
export const CMD_BLOCKING = 1 << 10;  // may block the client (BLPOP ...): the proxy gives it its own upstream connection
export const CMD_SKIP_SLOWLOG = 1 << 11; // not logged in the slowlog (EXEC)

/** Flag names as COMMAND INFO prints them, in bit order. */
export const FLAG_NAMES: ReadonlyArray<readonly [number, string]> = [
  [CMD_WRITE, 'write'],
  [CMD_READONLY, 'readonly'],
  [CMD_DENYOOM, 'denyoom'],
  [CMD_ADMIN, 'admin'],
  [CMD_NOSCRIPT, 'noscript'],
  [CMD_LOADING, 'loading'],
  [CMD_STALE, 'stale'],
  [CMD_SKIP_SLOWLOG, 'skip_slowlog'],
  [CMD_FAST, 'fast'],
  [CMD_NOAUTH, 'no_auth'],
  [CMD_ALLOW_BUSY, 'allow_busy'],
  [CMD_BLOCKING, 'blocking'],
];

/**
 * How the proxy routes a command.
 * - `key`:   to the worker owning the slot of the first key (all keys must be on it)
 * - `split`: keys split per worker, sub-commands sent in parallel, replies joined
 *            (MGET, MSET, DEL, EXISTS, TOUCH, UNLINK)
 * - `all`:   sent to every worker, replies joined (KEYS, DBSIZE, FLUSHALL, ...)
 * - `local`: answered by the proxy itself (PING, HELLO, CLIENT, COMMAND, ...)
 * - `special`: routed by a command-specific function in the proxy (SCAN, RENAME, COPY, ...)
 * - `gather`: like `key` when every key is on one worker; otherwise the proxy copies
 *            the keys owned elsewhere to the first key's worker under temporary
 *            names, runs the command there and drops the copies (SINTER, ZUNIONSTORE,
 *            BITOP, PFCOUNT ...: commands that read many keys and write at most the first)
 * - `pubsub`: (P|S)SUBSCRIBE ... PUBLISH PUBSUB, handled by proxy/pubsub/ (docs/pubsub.md)
 * - `transaction`: MULTI EXEC DISCARD WATCH UNWATCH, handled by proxy/transactions.ts
 *            (queued in the proxy, sent as one group to one worker at EXEC)
 */
export type Route = 'key' | 'split' | 'all' | 'local' | 'special' | 'gather' | 'transaction' | 'pubsub';

export type CommandGroup =
  | 'string' | 'generic' | 'server' | 'connection' | 'cluster'
  | 'list' | 'hash' | 'set' | 'sorted-set' | 'bitmap' | 'hyperloglog' | 'bloom' | 'transactions' | 'pubsub';

export interface CommandSpec {
  /** Lower-case command name. */
  readonly name: string;
  /** Redis arity: N = exactly N args including the name; -N = at least N. */
  readonly arity: number;
  readonly flags: number;
  readonly firstKey: number;
  readonly lastKey: number;
  readonly keyStep: number;
  /**
   * Commands with a `numkeys` argument (ZUNIONSTORE, SINTERCARD, LMPOP, BLMPOP ...):
   * argv index of numkeys; that many keys follow it, besides any first..last keys.
   */
  readonly numkeysAt?: number;
  readonly group: CommandGroup;
  readonly route: Route;
  /** ACL categories without the leading '@', as COMMAND INFO lists them. */
  readonly acl: readonly string[];
  /** One-line summary for COMMAND DOCS. */
  readonly summary: string;
  /** Redis version that introduced the command (COMMAND DOCS `since`). */
  readonly since: string;
  /** Subcommand names for container commands (CLIENT, CONFIG, CLUSTER, COMMAND). */
  readonly subcommands?: readonly string[];
}

/** True when argc satisfies the spec's arity. */
export function arityOk(spec: CommandSpec, argc: number): boolean {
  return spec.arity >= 0 ? argc === spec.arity : argc >= -spec.arity;
}

/**
 * Indexes in argv of the keys of a command (empty for keyless commands). A bad or
 * out-of-range numkeys yields only the keys that are present; the handler reports
 * the error.
 */
export function keyIndexes(spec: CommandSpec, argv: ReadonlyArray<Uint8Array>): number[] {
  const out: number[] = [];
  const argc = argv.length;
  if (spec.firstKey > 0) {
    const last = spec.lastKey < 0 ? argc + spec.lastKey : spec.lastKey;
    for (let i = spec.firstKey; i <= last && i < argc; i += spec.keyStep) out.push(i);
  }
  if (spec.numkeysAt !== undefined && spec.numkeysAt < argc) {
    const n = Number(Buffer.from(argv[spec.numkeysAt]!).toString('latin1'));
    if (Number.isSafeInteger(n) && n > 0) {
      for (let i = spec.numkeysAt + 1; i <= spec.numkeysAt + n && i < argc; i++) out.push(i);
    }
  }
  return out;
}

/** True when the command names keys (table positions or numkeys). */
export function hasKeys(spec: CommandSpec): boolean {
  return spec.firstKey > 0 || spec.numkeysAt !== undefined;
}
