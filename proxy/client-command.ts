/**
 * CLIENT through the proxy, across every proxy process (docs/proxy-processes.md).
 *
 * A worker's direct (cluster-mode) clients keep the per-process CLIENT of
 * shared/connection/commands.ts; the proxy's clients get this one:
 *
 *   LIST [TYPE type] [ID id ...]   this process's lines + every other process's (askAll)
 *   KILL addr | KILL filter ...    this process kills its matches, the others theirs (askAll)
 *   PAUSE ms [WRITE|ALL], UNPAUSE  state shared with every process (share), then
 *                                  acknowledged by all (askAll) before the +OK
 *   INFO ID GETNAME SETNAME SETINFO REPLY NO-EVICT NO-TOUCH HELP   this connection only
 *
 * In single-process mode (group.size 1) every reply is computed synchronously. With
 * several processes, LIST/KILL/PAUSE reply asynchronously into a slot taken when the
 * command is dispatched (so pipeline order and CLIENT REPLY muting hold), and the
 * client's later commands wait for the reply (hold/release), so a pipelined command
 * after a KILL sees it done.
 *
 * Client ids are unique across processes: each process numbers its clients from its
 * own block (ProcessGroup.clientIdBase).
 */
import type { ReplyWriter } from '../shared/resp/reply-writer.js';
import { WireErrors } from '../shared/resp/wire-errors.js';
import { parseInt64 } from '../shared/resp/numbers.js';
import { arityOk, CMD_WRITE, type CommandSpec } from '../shared/commands/spec.js';
import {
  kBlocked, kClosing, kMulti, kPubSub, kReadonly, kNoEvict, kNoTouch, kReplyOff, kReplySkipNext,
  type ClientState,
} from '../shared/connection/client-state.js';
import type { ProxyServer } from './proxy-server.js';
import type { ProxyClient, ReplySlot } from './client-connection.js';
import { deliverReply } from './fanout.js';

/** Client types as CLIENT LIST / KILL TYPE name them (`slave` is `replica`). */
type ClientType = 'normal' | 'master' | 'replica' | 'pubsub';

function clientTypeByName(name: string): ClientType | null {
  switch (name.toLowerCase()) {
    case 'normal': return 'normal';
    case 'slave':
    case 'replica': return 'replica';
    case 'pubsub': return 'pubsub';
    case 'master': return 'master';
    default: return null;
  }
}

/** What CLIENT KILL matches; every field given must match. */
export interface KillFilter {
  id?: number;
  addr?: string;
  laddr?: string;
  user?: string;
  type?: ClientType;
  /** Kill clients connected for longer than this many seconds. */
  maxAge?: number;
  /** The caller's id when SKIPME yes (the default of the filter form), else 0. */
  skipId: number;
}

export interface ListFilter {
  type?: ClientType;
  ids?: number[];
}

/** One process's INFO clients figures (summed or maxed over processes). */
export interface ClientStats {
  connected: number;
  blocked: number;
  maxInput: number;
  maxOutput: number;
}

/** CLIENT PAUSE state: the end (epoch ms) and what is held; the same in every process. */
export interface PauseState {
  end: number;
  type: PauseType;
}

/** 0: no pause; WRITE holds commands that write; ALL holds every command (as Redis 7). */
export const PauseType = { none: 0, write: 1, all: 2 } as const;
export type PauseType = (typeof PauseType)[keyof typeof PauseType];

const T_LIST = 'client.list';
const T_KILL = 'client.kill';
const T_STATS = 'client.stats';
const T_PAUSE = 'client.pause';
const T_PAUSE_ACK = 'client.pause.ack';

/** A command held by CLIENT PAUSE, run again when the pause ends. */
interface Postponed {
  client: ProxyClient;
  argv: Buffer[];
}

/**
 * This process's side of CLIENT LIST/KILL/PAUSE and INFO clients: the group answers
 * it gives other processes, and the pause every process applies.
 */
export class ClientAdmin {
  /** Checked per command in ProxyServer.dispatch: true while some pause is in force. */
  active = false;
  #pause: PauseState = { end: 0, type: PauseType.none };
  #timer: NodeJS.Timeout | null = null;
  #postponed: Postponed[] = [];
  readonly #server: ProxyServer;

  constructor(server: ProxyServer) {
    this.#server = server;
    const group = server.group;
    group.answer(T_LIST, (p) => listLines(server, (p as { filter: ListFilter }).filter));
    group.answer(T_KILL, (p) => {
      const { filter, from } = p as { filter: KillFilter; from: number };
      // The asking process killed its own clients synchronously.
      return from === group.index ? 0 : killLocal(server, filter, null);
    });
    group.answer(T_STATS, () => localStats(server));
    group.answer(T_PAUSE_ACK, () => true);
    group.onShared(T_PAUSE, (p) => this.apply(p as PauseState));
  }

  get pauseState(): PauseState {
    return this.#pause;
  }

  /** Makes `state` this process's pause (from CLIENT PAUSE/UNPAUSE here or elsewhere). */
  apply(state: PauseState): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const left = state.end - Date.now();
    if (state.type === PauseType.none || left <= 0) {
      this.#pause = { end: 0, type: PauseType.none };
      this.active = false;
      this.#resume();
      return;
    }
    this.#pause = { end: state.end, type: state.type };
    this.active = true;
    this.#timer = setTimeout(() => this.apply({ end: 0, type: PauseType.none }), left);
    this.#timer.unref();
    // Weaker than before (ALL → WRITE): reads held so far may run.
    if (state.type === PauseType.write) this.#resume();
  }

  /**
   * Called by ProxyServer.dispatch while a pause is active: true when the command must
   * wait (ALL: every command; WRITE: commands that may write, as Redis decides it),
   * in which case it is kept and the client's later commands wait behind it.
   */
  postpone(client: ProxyClient, spec: CommandSpec, argv: Buffer[]): boolean {
    if (!arityOk(spec, argv.length)) return false;
    if (this.#pause.type === PauseType.write && !mayWrite(client, spec)) return false;
    const entry: Postponed = { client, argv };
    this.#postponed.push(entry);
    client.hold(() => {
      const i = this.#postponed.indexOf(entry);
      if (i >= 0) this.#postponed.splice(i, 1);
    });
    return true;
  }

  /** Runs the held commands that the current pause lets through, in arrival order. */
  #resume(): void {
    const held = this.#postponed;
    if (held.length === 0) return;
    this.#postponed = [];
    for (const { client, argv } of held) client.resume(argv);
  }

  /** CLIENT PAUSE: merged with a pause in force (the longer end, the stronger type), as Redis. */
  pause(end: number, type: PauseType): PauseState {
    const cur = this.#pause;
    const next: PauseState = cur.type === PauseType.none ? { end, type } : { end: Math.max(end, cur.end), type: Math.max(type, cur.type) as PauseType };
    this.apply(next);
    this.#server.group.share(T_PAUSE, next);
    return next;
  }

  unpause(): void {
    const next: PauseState = { end: 0, type: PauseType.none };
    this.apply(next);
    this.#server.group.share(T_PAUSE, next);
  }

  close(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
  }
}

/** Redis's is_may_replicate_command: a write command, or EXEC of a transaction holding one. */
function mayWrite(client: ProxyClient, spec: CommandSpec): boolean {
  if (spec.flags & CMD_WRITE) return true;
  if (spec.name !== 'exec' || !(client.state.flags & kMulti)) return false;
  for (const q of client.tx?.queue ?? []) if (q.spec.flags & CMD_WRITE) return true;
  return false;
}

function clientType(state: ClientState): ClientType {
  return state.flags & kPubSub ? 'pubsub' : 'normal';
}

/** The flags field of CLIENT LIST, letters in Redis's order. */
function flagLetters(c: ProxyClient): string {
  const f = c.state.flags;
  let s = '';
  if (f & kPubSub) s += 'P';
  if (f & kMulti) s += 'x';
  if (f & kBlocked || c.isBlocked) s += 'b';
  if (f & kClosing) s += 'c';
  if (f & kReadonly) s += 'r';
  if (f & kNoEvict) s += 'e';
  if (f & kNoTouch) s += 'T';
  return s === '' ? 'N' : s;
}

/** One CLIENT LIST / CLIENT INFO line (with its newline), Redis 7's fields in order. */
export function clientLine(c: ProxyClient, now: number): string {
  const st = c.state;
  const age = Math.floor((now - st.createdAt) / 1000);
  const idle = Math.floor((now - st.lastInteraction) / 1000);
  const qbuf = c.queryBuffered;
  const omem = c.outputBytes;
  const oll = c.outstanding;
  const multi = st.flags & kMulti ? c.tx?.queue?.length ?? 0 : -1;
  const events = c.socket.writableLength > 0 ? 'rw' : 'r';
  const ps = c.pubsub;
  const subs = ps === null ? 'sub=0 psub=0 ssub=0' : `sub=${ps.channels.size} psub=${ps.patterns.size} ssub=${ps.shard.size}`;
  return `id=${st.id} addr=${st.addr} laddr=${st.laddr} fd=-1 name=${st.name} age=${age} idle=${idle} flags=${flagLetters(c)} db=${st.db} ${subs} multi=${multi} qbuf=${qbuf} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=${c.out.length} oll=${oll} omem=${omem} tot-mem=${qbuf + omem} events=${events} cmd=${st.lastCommand} user=${st.user} redir=-1 resp=${st.proto} lib-name=${st.libName} lib-ver=${st.libVer}\n`;
}

/** This process's CLIENT LIST lines matching `filter`. */
function listLines(server: ProxyServer, filter: ListFilter): string {
  const now = Date.now();
  let s = '';
  if (filter.ids !== undefined) {
    const byId = new Map<number, ProxyClient>();
    for (const c of server.proxyClients()) byId.set(c.state.id, c);
    for (const id of filter.ids) {
      const c = byId.get(id);
      if (c !== undefined) s += clientLine(c, now);
    }
    return s;
  }
  for (const c of server.proxyClients()) {
    if (filter.type === undefined || clientType(c.state) === filter.type) s += clientLine(c, now);
  }
  return s;
}

/**
 * Kills this process's clients matching `filter`; returns how many. `caller` (the
 * client running CLIENT KILL, when it is here) is not destroyed but closed after its
 * reply, as Redis does.
 */
function killLocal(server: ProxyServer, filter: KillFilter, caller: ProxyClient | null): number {
  const now = Date.now();
  const victims: ProxyClient[] = [];
  for (const c of server.proxyClients()) {
    const st = c.state;
    if (filter.id !== undefined && st.id !== filter.id) continue;
    if (filter.addr !== undefined && st.addr !== filter.addr) continue;
    if (filter.laddr !== undefined && st.laddr !== filter.laddr) continue;
    if (filter.user !== undefined && st.user !== filter.user) continue;
    if (filter.type !== undefined && clientType(st) !== filter.type) continue;
    if (filter.maxAge !== undefined && now - st.createdAt <= filter.maxAge * 1000) continue;
    if (filter.skipId !== 0 && st.id === filter.skipId) continue;
    victims.push(c);
  }
  for (const c of victims) {
    if (c === caller) c.state.flags |= kClosing;
    else c.socket.destroy();
  }
  if (victims.length > 0) server.log.info({ killed: victims.length }, 'CLIENT KILL');
  return victims.length;
}

function localStats(server: ProxyServer): ClientStats {
  let maxInput = 0;
  let maxOutput = 0;
  for (const c of server.proxyClients()) {
    maxInput = Math.max(maxInput, c.queryBuffered);
    maxOutput = Math.max(maxOutput, c.outputBytes);
  }
  return { connected: server.clientCount, blocked: server.blockedClientCount, maxInput, maxOutput };
}

/** INFO clients figures over every proxy process (synchronous with one process). */
export function clientStats(server: ProxyServer): ClientStats | Promise<ClientStats> {
  if (server.group.size === 1) return localStats(server);
  return server.group.askAll(T_STATS, null).then((all) => {
    const sum: ClientStats = { connected: 0, blocked: 0, maxInput: 0, maxOutput: 0 };
    for (const a of all as ClientStats[]) {
      sum.connected += a.connected;
      sum.blocked += a.blocked;
      sum.maxInput = Math.max(sum.maxInput, a.maxInput);
      sum.maxOutput = Math.max(sum.maxOutput, a.maxOutput);
    }
    return sum;
  });
}

/** INFO's `# Clients` section, fields as Redis 7.0 lists them. */
export function clientsSection(server: ProxyServer, s: ClientStats): string {
  return [
    '# Clients',
    `connected_clients:${s.connected}`,
    'cluster_connections:0',
    `maxclients:${server.config.maxclients}`,
    `client_recent_max_input_buffer:${s.maxInput}`,
    `client_recent_max_output_buffer:${s.maxOutput}`,
    `blocked_clients:${s.blocked}`,
    'tracking_clients:0',
    'clients_in_timeout_table:0',
  ].join('\r\n');
}

const HELP = [
  'CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'GETNAME',
  '    Return the name of the current connection.',
  'ID',
  '    Return the ID of the current connection.',
  'INFO',
  '    Return information about the current client connection.',
  'KILL <ip:port>',
  '    Kill connection made from <ip:port>.',
  'KILL <option> <value> [<option> <value> [...]]',
  '    Kill connections. Options are:',
  '    * ADDR (<ip:port>|<unixsocket>:0)',
  '      Kill connections made from the specified address',
  '    * LADDR (<ip:port>|<unixsocket>:0)',
  '      Kill connections made to specified local address',
  '    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)',
  '      Kill connections by type.',
  '    * USER <username>',
  '      Kill connections authenticated by <username>.',
  '    * SKIPME (YES|NO)',
  '      Skip killing current connection (default: yes).',
  '    * ID <client-id>',
  '      Kill connections by client id.',
  '    * MAXAGE <maxage>',
  '      Kill connections older than the specified age.',
  'LIST [options ...]',
  '    Return information about client connections. Options:',
  '    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)',
  '      Return clients of specified type.',
  'UNPAUSE',
  '    Stop the current client pause, resuming traffic.',
  'PAUSE <timeout> [WRITE|ALL]',
  '    Suspend all, or just write, clients for <timeout> milliseconds.',
  'REPLY (ON|OFF|SKIP)',
  '    Control the replies sent to the current connection.',
  'SETNAME <name>',
  '    Assign the name <name> to the current connection.',
  'SETINFO <option> <value>',
  '    Set client meta attr. Options are:',
  '    * LIB-NAME: the client lib name.',
  '    * LIB-VER: the client lib version.',
  'NO-EVICT (ON|OFF)',
  '    Protect current client connection from eviction.',
  'NO-TOUCH (ON|OFF)',
  '    Will not touch LRU/LFU stats when this mode is on.',
  'HELP',
  '    Prints this help.',
];

/** Subcommand arities as Redis's command table gives them (negative: at least). */
const ARITY: Record<string, number> = {
  list: -2, info: 2, kill: -3, id: 2, getname: 2, setname: 3, setinfo: 4, pause: -3, unpause: 2,
  reply: 3, 'no-evict': 3, 'no-touch': 3, help: 2,
};

function validName(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 33 || c > 126) return false;
  }
  return true;
}

/** A positive client id (`ERR <message>` otherwise), as getRangeLongFromObjectOrReply. */
function parseId(arg: Buffer): number | null {
  const v = parseInt64(arg);
  if (v === null || typeof v === 'bigint' || v < 1) return null;
  return v;
}

/** The subcommand, after Redis's unknown-subcommand and arity checks; an error text otherwise. */
function checkSubcommand(argv: Buffer[]): string | { error: string } {
  const sub = argv[1]!.toString('latin1').toLowerCase();
  const arity = ARITY[sub];
  if (arity === undefined) return { error: WireErrors.unknownSubcommand(argv[1]!.toString(), 'client') };
  if (arity > 0 ? argv.length !== arity : argv.length < -arity) return { error: WireErrors.wrongArity(`client|${sub}`) };
  return sub;
}

/** CLIENT <subcommand> ... from a proxy client. */
export function clientCommand(server: ProxyServer, client: ProxyClient, argv: Buffer[]): void {
  const w = server.writerFor(client);
  const sub = checkSubcommand(argv);
  if (typeof sub !== 'string') {
    w.error(sub.error);
    return client.replyLocal(w.take());
  }
  client.state.lastCommand = `client|${sub}`;
  const group = server.group;
  switch (sub) {
    case 'list': {
      const filter = parseListFilter(argv);
      if (typeof filter === 'string') w.error(filter);
      else if (group.size === 1) w.verbatim(listLines(server, filter));
      else {
        return replyLater(client, group.askAll(T_LIST, { filter }), (out, parts) => {
          const text = (parts as string[]).join('');
          out.verbatim(filter.ids !== undefined ? inIdOrder(text, filter.ids) : text);
        });
      }
      break;
    }
    case 'kill': {
      const filter = parseKillFilter(server, client, argv);
      if (typeof filter === 'string') {
        w.error(filter);
        break;
      }
      const here = killLocal(server, filter, client);
      const oldForm = argv.length === 3;
      if (group.size === 1) {
        writeKilled(w, here, oldForm);
        break;
      }
      const total = group.askAll(T_KILL, { filter, from: group.index }).then((counts) => {
        let n = here;
        for (const c of counts as number[]) n += c;
        return n;
      });
      return replyLater(client, total, (out, n) => writeKilled(out, n, oldForm));
    }
    case 'pause':
    case 'unpause': {
      const pause = sub === 'pause' ? parsePause(argv) : null;
      if (typeof pause === 'string') {
        w.error(pause);
        break;
      }
      if (pause === null) server.clientAdmin.unpause();
      else server.clientAdmin.pause(pause.end, pause.type);
      // With several processes the +OK waits until every one acknowledged: IPC keeps
      // order, so each has applied the change by then.
      if (group.size === 1) w.ok();
      else return replyLater(client, group.askAll(T_PAUSE_ACK, null), (out) => out.ok());
      break;
    }
    case 'reply': {
      // OFF and SKIP are not answered; ON is (after the flags are cleared).
      const mode = argv[2]!.toString('latin1').toLowerCase();
      if (mode === 'off' || mode === 'skip') {
        setReplyMode(client.state, mode);
        return;
      }
      if (mode === 'on') setReplyMode(client.state, mode);
      else return server.replyError(client, WireErrors.syntax);
      w.ok();
      break;
    }
    default:
      connectionSubcommand(sub, client, argv, w);
  }
  client.replyLocal(w.take());
}

/**
 * CLIENT queued in MULTI, run at EXEC into the EXEC reply: synchronously, so LIST and
 * KILL cover this process only, and PAUSE is shared without waiting for the others.
 */
export function clientCommandInExec(server: ProxyServer, client: ProxyClient, argv: Buffer[], w: ReplyWriter): void {
  const sub = checkSubcommand(argv);
  if (typeof sub !== 'string') return w.error(sub.error);
  switch (sub) {
    case 'list': {
      const filter = parseListFilter(argv);
      return typeof filter === 'string' ? w.error(filter) : w.verbatim(listLines(server, filter));
    }
    case 'kill': {
      const filter = parseKillFilter(server, client, argv);
      if (typeof filter === 'string') return w.error(filter);
      return writeKilled(w, killLocal(server, filter, client), argv.length === 3);
    }
    case 'pause':
    case 'unpause': {
      const pause = sub === 'pause' ? parsePause(argv) : null;
      if (typeof pause === 'string') return w.error(pause);
      if (pause === null) server.clientAdmin.unpause();
      else server.clientAdmin.pause(pause.end, pause.type);
      return w.ok();
    }
    case 'reply': {
      // The EXEC array needs an element per command: OFF/SKIP answer +OK here and
      // mute what follows the EXEC.
      const mode = argv[2]!.toString('latin1').toLowerCase();
      if (mode !== 'on' && mode !== 'off' && mode !== 'skip') return w.error(WireErrors.syntax);
      setReplyMode(client.state, mode);
      return w.ok();
    }
    default:
      return connectionSubcommand(sub, client, argv, w);
  }
}

function setReplyMode(st: ClientState, mode: 'on' | 'off' | 'skip'): void {
  if (mode === 'on') st.flags &= ~(kReplyOff | kReplySkipNext);
  else if (mode === 'off') st.flags |= kReplyOff;
  else if (!(st.flags & kReplyOff)) st.flags |= kReplySkipNext;
}

/** The subcommands about this connection alone. */
function connectionSubcommand(sub: string, client: ProxyClient, argv: Buffer[], w: ReplyWriter): void {
  const st = client.state;
  switch (sub) {
    case 'id':
      return w.integer(st.id);
    case 'info':
      return w.verbatim(clientLine(client, Date.now()));
    case 'getname':
      return st.name ? w.bulk(st.name) : w.nil();
    case 'setname': {
      const name = argv[2]!.toString();
      if (!validName(name)) return w.error('ERR Client names cannot contain spaces, newlines or special characters.');
      st.name = name;
      return w.ok();
    }
    case 'setinfo': {
      const attr = argv[2]!.toString('latin1').toLowerCase();
      const val = argv[3]!.toString();
      if (attr !== 'lib-name' && attr !== 'lib-ver') return w.error(`ERR Unrecognized option '${argv[2]!.toString()}'`);
      if (val !== '' && !validName(val)) return w.error(`ERR ${attr} cannot contain spaces, newlines or special characters.`);
      if (attr === 'lib-name') st.libName = val;
      else st.libVer = val;
      return w.ok();
    }
    case 'no-evict':
    case 'no-touch': {
      const bit = sub === 'no-evict' ? kNoEvict : kNoTouch;
      const v = argv[2]!.toString('latin1').toLowerCase();
      if (v === 'on') st.flags |= bit;
      else if (v === 'off') st.flags &= ~bit;
      else return w.error(WireErrors.syntax);
      return w.ok();
    }
    case 'help':
      return w.bulkArray(HELP);
    default:
      return w.error(WireErrors.unknownSubcommand(sub, 'client'));
  }
}

/**
 * Replies once `work` (a promise over the other processes) is done, in pipeline
 * order, holding the client's later commands until then.
 */
function replyLater<T>(client: ProxyClient, work: Promise<T>, write: (w: ReplyWriter, v: T) => void): void {
  const slot: ReplySlot = client.slot();
  let gone = false;
  client.hold(() => { gone = true; });
  const proto = client.state.proto;
  work.then(
    (v) => {
      if (gone) return;
      deliverReply(slot, proto, (w) => write(w, v));
      client.release();
    },
    (err: Error) => {
      if (gone) return;
      deliverReply(slot, proto, (w) => w.error(`ERR ${err.message}`));
      client.release();
    },
  );
}

/** CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id [id ...]]: the filter, or an error text. */
function parseListFilter(argv: Buffer[]): ListFilter | string {
  const opt = argv.length > 2 ? argv[2]!.toString('latin1').toLowerCase() : '';
  if (argv.length === 4 && opt === 'type') {
    const type = clientTypeByName(argv[3]!.toString());
    return type === null ? `ERR Unknown client type '${argv[3]!.toString()}'` : { type };
  }
  if (argv.length > 3 && opt === 'id') {
    const ids: number[] = [];
    for (let i = 3; i < argv.length; i++) {
      const id = parseInt64(argv[i]!);
      if (id === null) return 'ERR Invalid client ID';
      ids.push(Number(id));
    }
    return { ids };
  }
  return argv.length === 2 ? {} : WireErrors.syntax;
}

/** Lines from several processes, put back in the order the ids were asked for. */
function inIdOrder(text: string, ids: number[]): string {
  const byId = new Map<number, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    byId.set(Number(/^id=(\d+)/.exec(line)?.[1]), line + '\n');
  }
  let out = '';
  for (const id of ids) out += byId.get(id) ?? '';
  return out;
}

/**
 * CLIENT KILL ip:port
 * CLIENT KILL [ID id] [TYPE type] [ADDR ip:port] [LADDR ip:port] [USER name]
 *             [SKIPME yes|no] [MAXAGE seconds] ...
 * The filter, or an error text.
 */
function parseKillFilter(server: ProxyServer, client: ProxyClient, argv: Buffer[]): KillFilter | string {
  // The old form may kill the caller; the filter form skips it unless SKIPME no.
  if (argv.length === 3) return { addr: argv[2]!.toString(), skipId: 0 };
  const filter: KillFilter = { skipId: client.state.id };
  for (let i = 2; i < argv.length; i += 2) {
    const opt = argv[i]!.toString('latin1').toLowerCase();
    if (i + 1 >= argv.length) return WireErrors.syntax;
    const val = argv[i + 1]!;
    if (opt === 'id') {
      const id = parseId(val);
      if (id === null) return 'ERR client-id should be greater than 0';
      filter.id = id;
    } else if (opt === 'type') {
      const type = clientTypeByName(val.toString());
      if (type === null) return `ERR Unknown client type '${val.toString()}'`;
      filter.type = type;
    } else if (opt === 'addr') {
      filter.addr = val.toString();
    } else if (opt === 'laddr') {
      filter.laddr = val.toString();
    } else if (opt === 'user') {
      const name = val.toString();
      if (server.acl.getUser(name) === undefined) return `ERR No such user '${name}'`;
      filter.user = name;
    } else if (opt === 'skipme') {
      const v = val.toString('latin1').toLowerCase();
      if (v === 'yes') filter.skipId = client.state.id;
      else if (v === 'no') filter.skipId = 0;
      else return WireErrors.syntax;
    } else if (opt === 'maxage') {
      const age = parseInt64(val);
      if (age === null || typeof age === 'bigint' || age < 0) return 'ERR maxage is not an integer or out of range';
      filter.maxAge = age;
    } else {
      return WireErrors.syntax;
    }
  }
  return filter;
}

/** The old form answers +OK or an error; the filter form the count. */
function writeKilled(w: ReplyWriter, killed: number, oldForm: boolean): void {
  if (!oldForm) w.integer(killed);
  else if (killed === 0) w.error('ERR No such client');
  else w.ok();
}

/** CLIENT PAUSE timeout [WRITE|ALL]: the pause, or an error text. */
function parsePause(argv: Buffer[]): PauseState | string {
  if (argv.length > 4) return `ERR unknown subcommand or wrong number of arguments for '${argv[1]!.toString()}'. Try CLIENT HELP.`;
  let type: PauseType = PauseType.all;
  if (argv.length === 4) {
    const mode = argv[3]!.toString('latin1').toLowerCase();
    if (mode === 'write') type = PauseType.write;
    else if (mode !== 'all') return 'ERR CLIENT PAUSE mode must be WRITE or ALL';
  }
  const ms = parseInt64(argv[2]!);
  if (ms === null || typeof ms === 'bigint') return 'ERR timeout is not an integer or out of range';
  if (ms < 0) return 'ERR timeout is negative';
  return { end: Date.now() + ms, type };
}
