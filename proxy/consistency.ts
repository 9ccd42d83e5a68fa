/**
 * Consistency levels through the proxy (docs/replication.md, "Consistency"): the
 * CONSISTENCY command, where each command of a client goes, and WAIT.
 *
 *   eventual  writes as usual; single-key reads round-robin over the group's primary
 *             and replicas (no check: a replica may be behind)
 *   strong    every command travels in FLAG_STRONG frames (the primary answers a batch
 *             once every in-sync replica has it); reads from the primary
 *   session   commands travel in FLAG_OFFSET frames; a single-key read goes to a
 *             replica only when that replica has reached the client's offset for the
 *             group, else to the primary (read-your-writes, monotonic reads)
 *
 * Session bookkeeping, per client and group g (ClientReplication):
 *   need[g]   the offset a replica must show to serve this client
 *   dirty[g]  a command of the client went to g's primary since need[g] was last
 *             raised: once every such command is answered (client.outstanding counts
 *             only its replica reads), need[g] = the primary's lastOffset, which the
 *             FLAG_OFFSET frame carrying those replies set (≥ the client's writes)
 * A read may go to a replica only when nothing of the client is pending on a primary.
 * If the replica's known offset (last reply or the 100 ms probe) is below need[g], the
 * read goes anyway "on a guess" and its reply is checked: a replica that shows a lower
 * offset hands the read to the primary (proxy/replica-reads.ts). The replica is
 * chosen by client id, so a client's pipelined reads stay in order on one replica.
 *
 * Multi-step commands (gather/special) and blocking commands write outside
 * the dispatching turn, where no FLAG_OFFSET applies: after one, a session client
 * reads from the primaries until two offset probes (≥ 100 ms) have passed.
 *
 * Only single-key commands flagged readonly (route 'key') ever go to replicas.
 * The hot path pays one boolean (ReplicaSets.active) when no group has replicas.
 */
import { CMD_BLOCKING, CMD_READONLY, CMD_WRITE, type CommandSpec } from '../shared/commands/spec.js';
import { FLAG_OFFSET, FLAG_STRONG } from '../shared/frame/codec.js';
import type { ReplyWriter } from '../shared/resp/reply-writer.js';
import type { ProxyServer } from './proxy-server.js';
import type { ProxyClient } from './client-connection.js';
import type { WorkerLink } from './upstream/link.js';
import { parseReply, isError, type ReplyValue } from './reply-value.js';
import { deliverReply } from './fanout.js';

export const EVENTUAL = 0;
export const STRONG = 1;
export const SESSION = 2;
export const LEVEL_NAMES = ['eventual', 'strong', 'session'] as const;

/** The level a config value names (schema-validated: one of LEVEL_NAMES). */
export function levelOf(name: string): number {
  return name === 'session' ? SESSION : name === 'strong' ? STRONG : EVENTUAL;
}

/** A client's consistency level and replication bookkeeping (ProxyClient.repl; null until needed). */
export class ClientReplication {
  /** CONSISTENCY's level; -1 = the config default (`consistency`). */
  level = -1;
  need: Float64Array;
  dirty: Uint8Array;
  dirtyCount = 0;
  /** Replica reads of this client not answered yet. */
  replicaInflight = 0;
  /** A multi-step or blocking command wrote outside FLAG_OFFSET frames: -1 pending, else the probe count to wait for; 0 none. */
  staleUntil = 0;
  /** written[g]: the client wrote to g since its last WAIT. */
  written: Uint8Array;
  writtenAny = false;

  constructor(groups: number, prev: ClientReplication | null = null) {
    this.need = new Float64Array(groups);
    this.dirty = new Uint8Array(groups);
    this.written = new Uint8Array(groups);
    if (prev !== null) {
      // The topology's group count changed: keep the level, forget the offsets (be safe: everything dirty).
      this.level = prev.level;
      this.replicaInflight = prev.replicaInflight;
      this.dirty.fill(1);
      this.dirtyCount = groups;
      this.written.fill(prev.writtenAny ? 1 : 0);
      this.writtenAny = prev.writtenAny;
    }
  }

  markDirty(g: number): void {
    if (this.dirty[g] === 0) {
      this.dirty[g] = 1;
      this.dirtyCount++;
    }
  }

  markAllDirty(): void {
    this.dirty.fill(1);
    this.dirtyCount = this.dirty.length;
  }

  /** Raises need[] to the primaries' offsets for every dirty group (their replies are all in). */
  settle(links: readonly WorkerLink[]): void {
    const d = this.dirty;
    for (let g = 0; g < d.length; g++) {
      if (d[g] === 0) continue;
      d[g] = 0;
      const o = links[g]?.lastOffset ?? 0;
      if (o > this.need[g]!) this.need[g] = o;
    }
    this.dirtyCount = 0;
  }
}

function replicationOf(server: ProxyServer, client: ProxyClient): ClientReplication {
  const groups = server.links.length;
  let st = client.repl;
  if (st === null || st.need.length !== groups) st = client.repl = new ClientReplication(groups, st);
  return st;
}

/**
 * Routes a command by the client's consistency level (called by ProxyServer.dispatch
 * only while some group has replicas). Sets server.batchFlags for the ordinary route;
 * returns true when it sent the command itself (a read to a replica).
 */
export function routeReplicated(server: ProxyServer, client: ProxyClient, spec: CommandSpec, argv: Buffer[]): boolean {
  const st = replicationOf(server, client);
  const level = st.level >= 0 ? st.level : levelOf(server.config.consistency);
  const flags = spec.flags;
  const keyed = spec.route === 'key' && !(flags & CMD_BLOCKING) && spec.firstKey > 0 && spec.firstKey < argv.length;
  const g = keyed ? server.ownerIndex(argv[spec.firstKey]!) : -1;
  // EXEC runs the writes queued under MULTI (they came through here as queued, unrouted).
  if (flags & CMD_WRITE || (spec.route === 'transaction' && spec.name === 'exec')) {
    if (g >= 0) st.written[g] = 1;
    else st.written.fill(1);
    st.writtenAny = true;
  }
  if (level === STRONG) {
    server.batchFlags = FLAG_STRONG;
    return false;
  }
  const read = g >= 0 && flags & CMD_READONLY && !(flags & CMD_WRITE) && spec.lastKey === spec.firstKey && spec.numkeysAt === undefined;
  const replicas = server.replicas;
  if (level === EVENTUAL) {
    if (!read) return false;
    const r = replicas.pickAny(g);
    if (r === null) return false;
    replicas.sendRead(g, r, argv, client.state.proto, client.slot(), -1, null);
    return true;
  }
  server.batchFlags = FLAG_OFFSET;
  if (!read) {
    if (spec.route === 'local' || spec.route === 'pubsub') return false; // PING, CLIENT, WAIT, PUBLISH ...: no keyspace read or written
    if (g >= 0) st.markDirty(g);
    else {
      st.markAllDirty();
      const r = spec.route;
      if (((r === 'gather' || r === 'special') && flags & CMD_WRITE) || flags & CMD_BLOCKING) st.staleUntil = -1;
    }
    return false;
  }
  const set = replicas.byGroup[g];
  if (set === undefined || set.length === 0) return false;
  // Something of this client is still pending on a primary: the read queues behind it there.
  if (client.outstanding > st.replicaInflight) {
    st.markDirty(g);
    return false;
  }
  if (st.staleUntil !== 0) {
    if (st.staleUntil === -1) st.staleUntil = replicas.probes + 2;
    if (replicas.probes < st.staleUntil) {
      st.markDirty(g);
      return false;
    }
    st.staleUntil = 0;
    st.markAllDirty();
  }
  if (st.dirtyCount > 0) st.settle(server.links);
  const r = set[client.state.id % set.length]!;
  if (!r.link.accepting) {
    st.markDirty(g);
    return false;
  }
  const need = st.need[g]!;
  const known = r.link.lastOffset;
  let verify = -1;
  if (known < need || known === 0) {
    if (r.lagMark > known) {
      st.markDirty(g);
      return false;
    }
    verify = need;
  }
  replicas.sendRead(g, r, argv, client.state.proto, client.slot(), verify, st);
  return true;
}

/**
 * CONSISTENCY [eventual|strong|session]: the connection's level as a bulk string, or
 * sets it (+OK). A Shoal command in Redis's style (docs/replication.md).
 */
export function consistencyCommand(server: ProxyServer, client: ProxyClient, argv: Buffer[], w: ReplyWriter): void {
  if (argv.length === 1) {
    const level = client.repl !== null && client.repl.level >= 0 ? client.repl.level : levelOf(server.config.consistency);
    w.bulk(Buffer.from(LEVEL_NAMES[level]!));
    return;
  }
  const want = argv[1]!.toString('utf8');
  const i = argv.length === 2 ? (LEVEL_NAMES as readonly string[]).indexOf(want.toLowerCase()) : -1;
  if (argv.length > 2) {
    w.error(`ERR wrong number of arguments for 'consistency' command`);
    return;
  }
  if (i < 0) {
    w.error(`ERR Invalid consistency level '${want}' (eventual, strong, session)`);
    return;
  }
  const st = replicationOf(server, client);
  if (st.level !== i) {
    // The client's next commands travel in frames of other flags: send what it queued so far first, so its order holds.
    for (const l of server.links) l.flush();
    for (const l of server.replicas.links()) l.flush();
  }
  st.level = i;
  w.ok();
}

/** Polls ROLE this often while WAIT waits (doubling from the first value). */
const WAIT_POLL_MIN_MS = 1;
const WAIT_POLL_MAX_MS = 20;

/** How many replicas a ROLE reply of a primary lists with an acknowledged offset ≥ target; and its own offset. */
function roleAcks(v: ReplyValue, target: number): { offset: number; acked: number } {
  if (!Array.isArray(v) || v.length < 3) return { offset: 0, acked: 0 };
  const offset = typeof v[1] === 'number' ? v[1] : 0;
  let acked = 0;
  const list = v[2];
  if (Array.isArray(list)) {
    for (const r of list) {
      if (!Array.isArray(r)) continue;
      const o = r[2];
      const n = typeof o === 'number' ? o : Buffer.isBuffer(o) ? Number(o.toString('latin1')) : -1;
      if (n >= target) acked++;
    }
  }
  return { offset, acked };
}

/**
 * ROLE on a primary's framed link. The first round runs inside the dispatch, with the
 * client's frame flags, so it lands in the same batch as (after) the client's writes.
 */
function callRole(link: WorkerLink, proto: 2 | 3): Promise<ReplyValue> {
  return new Promise((resolve) => link.send([ROLE], proto, { deliver: (buf, s, e) => resolve(parseReply(buf, s, e)) }));
}

const ROLE = Buffer.from('ROLE');

function parseIntArg(b: Buffer): number | null {
  const s = b.toString('latin1');
  if (!/^-?\d{1,18}$/.test(s)) return null;
  return Number(s);
}

/**
 * WAIT numreplicas timeout through the proxy: waits on the primaries of the groups the
 * client wrote to since its last WAIT (all of them if none) and replies the smallest
 * count of replicas that acknowledged the client's writes.
 *
 * A ROLE sent on the client's framed link runs after the client's earlier commands
 * there, so the offset it reports covers them; the proxy then polls ROLE until enough
 * replicas acknowledged that offset or the timeout passes (0 = no limit, as Redis).
 * The worker's own WAIT is not used: it would hold the shared link's later replies.
 */
export function waitCommand(server: ProxyServer, client: ProxyClient, argv: Buffer[]): void {
  const numreplicas = parseIntArg(argv[1]!);
  const timeout = parseIntArg(argv[2]!);
  if (numreplicas === null || timeout === null) return server.replyError(client, 'ERR value is not an integer or out of range');
  if (timeout < 0) return server.replyError(client, 'ERR timeout is negative');
  const st = client.repl;
  const groups: number[] = [];
  const wrote = st !== null && st.writtenAny && st.written.length === server.links.length;
  for (let g = 0; g < server.links.length; g++) if (!wrote || st!.written[g] === 1) groups.push(g);
  if (st !== null) {
    st.written.fill(0);
    st.writtenAny = false;
  }
  const proto = client.state.proto;
  const slot = client.slot();
  let cancelled = false;
  let timer: NodeJS.Timeout | null = null;
  client.hold(() => {
    cancelled = true;
    if (timer !== null) clearTimeout(timer);
  }, true);
  const deadline = timeout === 0 ? Infinity : Date.now() + timeout;
  const links = groups.map((g) => server.links[g]!);
  const targets = new Array<number>(links.length).fill(-1);
  const finish = (value: number | string): void => {
    if (cancelled) return;
    cancelled = true;
    deliverReply(slot, proto, (w) => (typeof value === 'number' ? w.integer(value) : w.error(value)));
    client.release();
  };
  let poll = WAIT_POLL_MIN_MS;
  const round = async (): Promise<void> => {
    timer = null;
    if (cancelled) return;
    const replies = await Promise.all(links.map((l) => callRole(l, proto)));
    if (cancelled) return;
    let min = Infinity;
    for (let i = 0; i < replies.length; i++) {
      const v = replies[i]!;
      if (isError(v)) return finish(v.error);
      // First round: the primary's offset now (after the client's writes) is the target; no writes: 0.
      if (targets[i] === -1) targets[i] = wrote ? roleAcks(v, Infinity).offset : 0;
      min = Math.min(min, roleAcks(v, targets[i]!).acked);
    }
    if (min === Infinity) min = 0;
    if (min >= numreplicas || Date.now() >= deadline) return finish(min);
    timer = setTimeout(() => void round(), Math.min(poll, Math.max(0, deadline - Date.now())));
    poll = Math.min(poll * 2, WAIT_POLL_MAX_MS);
  };
  void round();
}
