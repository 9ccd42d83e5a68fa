/**
 * Connection-level commands answered by whichever process holds the client
 * connection — the proxy for its clients, a worker for direct (cluster-mode)
 * clients: PING ECHO HELLO SELECT QUIT RESET TIME COMMAND CLIENT READONLY READWRITE.
 * One implementation for both tiers; `ConnectionHost` says how they differ.
 */
import type { ReplyWriter } from '../resp/reply-writer.js';
import { Replies } from '../resp/replies.js';
import { WireErrors } from '../resp/wire-errors.js';
import { parseSafeInt } from '../resp/numbers.js';
import { COMMANDS, lookupCommand } from '../commands/table.js';
import { FLAG_NAMES, keyIndexes, arityOk, type CommandSpec } from '../commands/spec.js';
import { ClientState, kClosing, kReadonly } from './client-state.js';

export const SHOAL_VERSION = '0.1.0';
/** The Redis version whose behaviour Shoal implements (reported as redis_version). */
export const REDIS_COMPAT_VERSION = '7.0.15';

export interface ConnectionHost {
  /** 'standalone' for the proxy, 'cluster' for a worker. */
  readonly mode: 'standalone' | 'cluster';
  /** Clients of this process, for CLIENT LIST. */
  clients(): Iterable<ClientState>;
  /**
   * ACL users (the proxy: proxy/acl/acl-store.ts). Without it (a worker's direct
   * clients) there is one user, `default`, with no password, as a fresh Redis.
   */
  readonly acl?: ConnectionAcl;
}

/** What AUTH, HELLO AUTH and ACL need from a process that has ACL users. */
export interface ConnectionAcl {
  /** The default user has no password: AUTH <password> is then an error. */
  readonly defaultNopass: boolean;
  /** Checks a username-password pair and logs the client in; false (logged in ACL LOG) when refused. */
  authenticate(client: ClientState, username: Buffer, password: Buffer, command: Buffer): boolean;
  /** ACL <subcommand> ... */
  command(out: ReplyWriter, client: ClientState, argv: Buffer[]): void;
}

const WRONGPASS = 'WRONGPASS invalid username-password pair or user is disabled.';

/** Logs in through the host's ACL, or as the worker's only user (`default`, any password). */
function authenticate(host: ConnectionHost, client: ClientState, username: Buffer, password: Buffer, command: Buffer): boolean {
  if (host.acl) return host.acl.authenticate(client, username, password, command);
  return username.toString('latin1') === 'default';
}

type ConnHandler = (out: ReplyWriter, client: ClientState, argv: Buffer[], host: ConnectionHost) => void;

const lower = (b: Buffer): string => b.toString('latin1').toLowerCase();

function ping(out: ReplyWriter, _c: ClientState, argv: Buffer[]): void {
  if (argv.length > 2) return out.error(WireErrors.wrongArity('ping'));
  if (argv.length === 2) out.bulk(argv[1]!);
  else out.raw(Replies.pong);
}

function echo(out: ReplyWriter, _c: ClientState, argv: Buffer[]): void {
  out.bulk(argv[1]!);
}

/** HELLO [protover [AUTH username password] [SETNAME clientname]] */
function hello(out: ReplyWriter, client: ClientState, argv: Buffer[], host: ConnectionHost): void {
  let proto = client.proto;
  let i = 1;
  if (argv.length > 1) {
    const v = parseSafeInt(argv[1]!);
    if (v === null) return out.error('ERR Protocol version is not an integer or out of range');
    if (v < 2 || v > 3) return out.error(WireErrors.noProto);
    proto = v as 2 | 3;
    i = 2;
  }
  let name: string | undefined;
  for (; i < argv.length; i++) {
    const opt = lower(argv[i]!);
    const more = argv.length - i - 1;
    if (opt === 'auth' && more >= 2) {
      // Redis 7.0 logs in here, before it looks at the options that follow.
      if (!authenticate(host, client, argv[i + 1]!, argv[i + 2]!, argv[0]!)) return out.error(WRONGPASS);
      i += 2;
    } else if (opt === 'setname' && more >= 1) {
      name = argv[++i]!.toString();
      if (!validName(name)) return out.error('ERR Client names cannot contain spaces, newlines or special characters.');
    } else {
      return out.error(`ERR Syntax error in HELLO option '${argv[i]!.toString()}'`);
    }
  }
  if (!client.authenticated) {
    return out.error('NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time');
  }
  client.proto = proto;
  out.proto = proto;
  if (name !== undefined) client.name = name;
  out.mapHeader(7);
  out.bulk('server'); out.bulk('redis');
  out.bulk('version'); out.bulk(REDIS_COMPAT_VERSION);
  out.bulk('proto'); out.integer(proto);
  out.bulk('id'); out.integer(client.id);
  out.bulk('mode'); out.bulk(host.mode);
  out.bulk('role'); out.bulk('master');
  out.bulk('modules'); out.arrayHeader(0);
}

/** AUTH [username] password */
function auth(out: ReplyWriter, client: ClientState, argv: Buffer[], host: ConnectionHost): void {
  if (argv.length > 3) return out.error(WireErrors.syntax);
  if (argv.length === 2 && (host.acl?.defaultNopass ?? true)) {
    return out.error('ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?');
  }
  const username = argv.length === 2 ? DEFAULT_USER : argv[1]!;
  if (authenticate(host, client, username, argv[argv.length - 1]!, argv[0]!)) out.ok();
  else out.error(WRONGPASS);
}

const DEFAULT_USER = Buffer.from('default');

/** ACL ...: the host's ACL; a worker has only `default` (ACL WHOAMI) and leaves ACLs to the proxy. */
function acl(out: ReplyWriter, client: ClientState, argv: Buffer[], host: ConnectionHost): void {
  if (host.acl) return host.acl.command(out, client, argv);
  if (lower(argv[1]!) === 'whoami' && argv.length === 2) return out.bulk(client.user);
  out.error('ERR ACL users live on the Shoal proxy: run ACL commands through the proxy');
}

function select(out: ReplyWriter, _c: ClientState, argv: Buffer[], host: ConnectionHost): void {
  const db = parseSafeInt(argv[1]!);
  if (db === null) return out.error(WireErrors.notInteger);
  if (host.mode === 'cluster' && db !== 0) return out.error(WireErrors.selectNotAllowedInCluster);
  if (db < 0 || db >= 16) return out.error(WireErrors.dbIndexOutOfRange);
  if (db !== 0) return out.error('ERR Shoal has a single database: only SELECT 0 is supported');
  out.ok();
}

function quit(out: ReplyWriter, client: ClientState): void {
  client.flags |= kClosing;
  out.ok();
}

function reset(out: ReplyWriter, client: ClientState): void {
  client.reset();
  out.proto = 2;
  out.simple('RESET');
}

function time(out: ReplyWriter): void {
  const ms = performance.timeOrigin + performance.now();
  out.arrayHeader(2);
  out.bulk(String(Math.floor(ms / 1000)));
  out.bulk(String(Math.floor((ms % 1000) * 1000)));
}

function readonlyCmd(out: ReplyWriter, client: ClientState): void {
  client.flags |= kReadonly;
  out.ok();
}

function readwrite(out: ReplyWriter, client: ClientState): void {
  client.flags &= ~kReadonly;
  out.ok();
}

function validName(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 33 || c > 126) return false;
  }
  return true;
}

/** CLIENT SETNAME|GETNAME|ID|INFO|LIST|SETINFO|HELP */
function client(out: ReplyWriter, c: ClientState, argv: Buffer[], host: ConnectionHost): void {
  const sub = lower(argv[1]!);
  const n = argv.length;
  switch (sub) {
    case 'setname':
      if (n !== 3) return out.error(WireErrors.wrongArity('client|setname'));
      if (!validName(argv[2]!.toString())) return out.error('ERR Client names cannot contain spaces, newlines or special characters.');
      c.name = argv[2]!.toString();
      return out.ok();
    case 'getname':
      if (n !== 2) return out.error(WireErrors.wrongArity('client|getname'));
      return c.name ? out.bulk(c.name) : out.nil();
    case 'id':
      if (n !== 2) return out.error(WireErrors.wrongArity('client|id'));
      return out.integer(c.id);
    case 'info':
      if (n !== 2) return out.error(WireErrors.wrongArity('client|info'));
      return out.verbatim(c.infoLine());
    case 'list': {
      let s = '';
      for (const other of host.clients()) s += other.infoLine();
      return out.verbatim(s);
    }
    case 'setinfo': {
      if (n !== 4) return out.error(WireErrors.wrongArity('client|setinfo'));
      const attr = lower(argv[2]!);
      const val = argv[3]!.toString();
      if (attr !== 'lib-name' && attr !== 'lib-ver') return out.error(`ERR Unrecognized option '${argv[2]!.toString()}'`);
      if (!validName(val) && val !== '') return out.error(`ERR ${attr} cannot contain spaces, newlines or special characters.`);
      if (attr === 'lib-name') c.libName = val;
      else c.libVer = val;
      return out.ok();
    }
    case 'help':
      return out.bulkArray(['CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:', 'GETNAME', 'ID', 'INFO', 'LIST', 'SETINFO <LIB-NAME|LIB-VER> <value>', 'SETNAME <name>', 'HELP']);
    default:
      return out.error(WireErrors.unknownSubcommand(argv[1]!.toString(), 'client'));
  }
}

function commandInfo(out: ReplyWriter, spec: CommandSpec): void {
  out.arrayHeader(10);
  out.bulk(spec.name);
  out.integer(spec.arity);
  const flags = FLAG_NAMES.filter(([bit]) => spec.flags & bit).map(([, name]) => name);
  if (spec.numkeysAt !== undefined) flags.push('movablekeys');
  out.setHeader(flags.length);
  for (const f of flags) out.simple(f);
  out.integer(spec.firstKey);
  out.integer(spec.lastKey);
  out.integer(spec.keyStep);
  out.setHeader(spec.acl.length);
  for (const a of spec.acl) out.simple('@' + a);
  out.setHeader(0); // tips
  out.arrayHeader(0); // key specs
  out.arrayHeader(0); // subcommands
}

function commandDocs(out: ReplyWriter, spec: CommandSpec): void {
  out.bulk(spec.name);
  out.mapHeader(3);
  out.bulk('summary'); out.bulk(spec.summary);
  out.bulk('since'); out.bulk(spec.since);
  out.bulk('group'); out.bulk(spec.group);
}

/** COMMAND [COUNT | INFO name... | DOCS name... | GETKEYS cmd arg... | LIST | HELP] */
function command(out: ReplyWriter, _c: ClientState, argv: Buffer[]): void {
  if (argv.length === 1) {
    out.arrayHeader(COMMANDS.length);
    for (const spec of COMMANDS) commandInfo(out, spec);
    return;
  }
  const sub = lower(argv[1]!);
  switch (sub) {
    case 'count':
      return out.integer(COMMANDS.length);
    case 'list':
      out.arrayHeader(COMMANDS.length);
      for (const spec of COMMANDS) out.bulk(spec.name);
      return;
    case 'info': {
      const names = argv.length > 2 ? argv.slice(2).map(lower) : COMMANDS.map((s) => s.name);
      out.arrayHeader(names.length);
      for (const name of names) {
        const spec = lookupCommand(name);
        if (spec) commandInfo(out, spec);
        else out.nilArray();
      }
      return;
    }
    case 'docs': {
      const specs = (argv.length > 2 ? argv.slice(2).map(lower) : COMMANDS.map((s) => s.name))
        .map((n) => lookupCommand(n)).filter((s): s is CommandSpec => s !== undefined);
      out.mapHeader(specs.length);
      for (const spec of specs) commandDocs(out, spec);
      return;
    }
    case 'getkeys': {
      if (argv.length < 4) return out.error(WireErrors.wrongArity('command|getkeys'));
      const spec = lookupCommand(lower(argv[2]!));
      if (!spec) return out.error('ERR Invalid command specified');
      const args = argv.slice(2);
      if (!arityOk(spec, args.length)) return out.error('ERR Invalid number of arguments specified for command');
      const idx = keyIndexes(spec, args);
      if (idx.length === 0) return out.error('ERR The command has no key arguments');
      out.arrayHeader(idx.length);
      for (const i of idx) out.bulk(args[i]!);
      return;
    }
    case 'help':
      return out.bulkArray(['COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:', '(no subcommand)', 'COUNT', 'DOCS [<command-name> ...]', 'GETKEYS <full-command>', 'INFO [<command-name> ...]', 'LIST', 'HELP']);
    default:
      return out.error(WireErrors.unknownSubcommand(argv[1]!.toString(), 'command'));
  }
}

const HANDLERS: Record<string, ConnHandler> = {
  auth, acl,
  ping, echo, hello, select, quit, reset, time, command, client,
  readonly: readonlyCmd, readwrite,
};

/** Runs a connection-level command; false when `name` is not one. */
export function runConnectionCommand(name: string, out: ReplyWriter, client: ClientState, argv: Buffer[], host: ConnectionHost): boolean {
  const h = HANDLERS[name];
  if (!h) return false;
  h(out, client, argv, host);
  return true;
}

export const CONNECTION_COMMANDS: readonly string[] = Object.keys(HANDLERS);
