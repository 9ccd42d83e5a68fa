/**
 * Replication commands on a worker (docs/replication.md): ROLE, REPLCONF, PSYNC, SYNC,
 * REPLICAOF/SLAVEOF (refused, as Redis Cluster), WAIT and CONSISTENCY for direct
 * clients, and the manager's SHOAL.LEASE / SHOAL.TOPOLOGY / SHOAL.FENCE. The state
 * they act on is `server.replication` (shard/replication/role.ts).
 */
import type { CommandContext, HandlerTable } from './context.js';
import { WireErrors } from '../../shared/resp/wire-errors.js';
import { parseSafeInt } from '../../shared/resp/numbers.js';
import { kBlocked, kClosing, kFramed, kMasterLink, kMulti, kInExec, kPubSub, kConsEventual, kConsStrong, kConsSession } from '../../shared/connection/client-state.js';
import { runConnectionCommand } from '../../shared/connection/commands.js';
import { writeRole } from '../replication/info.js';

const lower = (b: Buffer): string => b.toString('latin1').toLowerCase();

/** ROLE */
function role(ctx: CommandContext): void {
  writeRole(ctx.out, ctx.server.replication);
}

/**
 * REPLCONF <option> <value> [<option> <value> ...]
 * listening-port, ip-address, capa: +OK. ACK <offset> (a replica link): no reply.
 * GETACK * (from the primary, on a replica's master link): answered with an ACK.
 */
function replconf(ctx: CommandContext, argv: Buffer[]): void {
  const c = ctx.client;
  const repl = ctx.server.replication;
  if (c.flags & kFramed && !(c.flags & kMasterLink)) return ctx.out.error('ERR REPLCONF is not allowed on a proxy link');
  if (argv.length % 2 === 0) return ctx.out.error(WireErrors.syntax);
  for (let i = 1; i < argv.length; i += 2) {
    const opt = lower(argv[i]!);
    const v = argv[i + 1]!;
    switch (opt) {
      case 'listening-port': {
        const port = parseSafeInt(v);
        if (port === null) return ctx.out.error(WireErrors.notInteger);
        repl.primary.announced.set(c, port);
        break;
      }
      case 'ip-address':
      case 'capa':
      case 'rdb-only':
      case 'rdb-filter-only':
        break;
      case 'ack': {
        const off = parseSafeInt(v);
        if (off !== null) repl.primary.ack(c, off);
        return; // never a reply, as Redis
      }
      case 'getack':
        if (c.flags & kMasterLink) repl.link?.ackNow();
        return;
      default:
        return ctx.out.error(`ERR Unrecognized REPLCONF option: ${argv[i]!.toString()}`);
    }
  }
  ctx.out.ok();
}

/** PSYNC <replid> <offset>: this connection becomes a replica link. */
function psync(ctx: CommandContext, argv: Buffer[]): void {
  const c = ctx.client;
  const repl = ctx.server.replication;
  if (c.flags & kFramed) return ctx.out.error('ERR PSYNC is not allowed on a proxy link');
  if (c.flags & kMulti) return ctx.out.error('ERR Command not allowed inside a transaction');
  if (repl.role !== 'primary') return ctx.out.error('NOMASTERLINK Can\'t SYNC while not connected with my master');
  const from = parseSafeInt(argv[2]!);
  if (from === null) return ctx.out.error(WireErrors.notInteger);
  const err = repl.primary.psync(c, argv[1]!.toString('latin1'), from, (line) => ctx.out.simple(line));
  if (err !== null) ctx.out.error(err);
}

/** SYNC: the pre-2.8 protocol has no offsets; Shoal replicas speak PSYNC. */
function sync(ctx: CommandContext): void {
  ctx.out.error('ERR SYNC is not supported; replicas use PSYNC');
}

/** REPLICAOF / SLAVEOF: the manager assigns roles (SHOAL.TOPOLOGY), as Redis Cluster refuses it. */
function replicaof(ctx: CommandContext): void {
  ctx.out.error('ERR REPLICAOF not allowed in cluster mode.');
}

/** SHOAL.LEASE <epoch> <ttl-ms> → [role, offset, epoch, link] */
function lease(ctx: CommandContext, argv: Buffer[]): void {
  const epoch = parseSafeInt(argv[1]!);
  const ttl = parseSafeInt(argv[2]!);
  if (epoch === null || ttl === null || ttl < 0) return ctx.out.error(WireErrors.notInteger);
  const [r, offset, own, link] = ctx.server.replication.lease(epoch, ttl);
  const out = ctx.out;
  out.arrayHeader(4);
  out.bulk(r);
  out.integer(offset);
  out.integer(own);
  out.bulk(link);
}

/** SHOAL.TOPOLOGY <epoch> <json> */
function topology(ctx: CommandContext, argv: Buffer[]): void {
  const epoch = parseSafeInt(argv[1]!);
  if (epoch === null) return ctx.out.error(WireErrors.notInteger);
  const err = ctx.server.replication.adoptTopology(epoch, argv[2]!.toString('utf8'));
  if (err !== null) ctx.out.error(err);
  else ctx.out.ok();
}

/** SHOAL.FENCE → master_repl_offset */
function fence(ctx: CommandContext): void {
  ctx.out.integer(ctx.server.replication.fence());
}

const LEVEL_BITS = kConsEventual | kConsStrong | kConsSession;

/** The connection's consistency level (CONSISTENCY, else the config default). */
export function consistencyOf(ctx: CommandContext): 'eventual' | 'strong' | 'session' {
  const f = ctx.client.flags;
  if (f & kConsStrong) return 'strong';
  if (f & kConsEventual) return 'eventual';
  if (f & kConsSession) return 'session';
  return ctx.server.config.consistency;
}

/** CONSISTENCY [eventual|strong|session] (a worker's direct client; the proxy answers its own). */
function consistency(ctx: CommandContext, argv: Buffer[]): void {
  if (argv.length === 1) return ctx.out.bulk(consistencyOf(ctx));
  if (argv.length > 2) return ctx.out.error(`ERR wrong number of arguments for 'consistency' command`);
  const want = lower(argv[1]!);
  const bit = want === 'eventual' ? kConsEventual : want === 'strong' ? kConsStrong : want === 'session' ? kConsSession : 0;
  if (bit === 0) return ctx.out.error(`ERR Invalid consistency level '${argv[1]!.toString()}' (eventual, strong, session)`);
  ctx.client.flags = (ctx.client.flags & ~LEVEL_BITS) | bit;
  ctx.out.ok();
}

/**
 * WAIT numreplicas timeout: blocks a direct client until that many replicas acknowledged
 * the primary's offset now (or the timeout, 0 = forever); replies how many did. On a
 * proxy link or inside EXEC it answers at once (the proxy runs its own WAIT).
 */
function wait(ctx: CommandContext, argv: Buffer[]): void {
  const timeout = parseSafeInt(argv[2]!);
  if (timeout === null) return ctx.out.error('ERR timeout is not an integer or out of range');
  if (timeout < 0) return ctx.out.error('ERR timeout is negative');
  const need = parseSafeInt(argv[1]!);
  if (need === null) return ctx.out.error(WireErrors.notInteger);
  const repl = ctx.server.replication;
  if (repl.role !== 'primary') {
    return ctx.out.error('ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.');
  }
  const target = repl.offset;
  const now = repl.primary.acked(target);
  if (now >= need || ctx.client.flags & (kFramed | kInExec)) return ctx.out.integer(now);
  const c = ctx.client;
  c.flags |= kBlocked;
  repl.primary.wait(target, need, timeout, (acked) => {
    c.flags &= ~kBlocked;
    ctx.out.integer(acked);
    ctx.resume();
  });
}

/**
 * CLIENT on a worker: KILL here (the replication links are clients too: TYPE replica on
 * a primary, TYPE master for a replica's link to its primary), everything else in the
 * shared connection commands.
 */
function client(ctx: CommandContext, argv: Buffer[]): void {
  if (argv.length >= 3 && lower(argv[1]!) === 'kill') return clientKill(ctx, argv);
  if (!runConnectionCommand('client', ctx.out, ctx.client, argv, ctx.server)) ctx.out.error(WireErrors.unknownCommand('client', argv.slice(1)));
}

const CLIENT_TYPES = ['normal', 'master', 'replica', 'slave', 'pubsub'];

/**
 * CLIENT KILL addr:port | CLIENT KILL [TYPE normal|master|replica|pubsub] [ID id]
 * [ADDR ip:port] [LADDR ip:port] [SKIPME yes|no] (Redis 7's filters, ANDed; the new
 * form replies how many connections it closed). A killed replica link resyncs (partially
 * when it can); a killed master link reconnects the same way.
 */
function clientKill(ctx: CommandContext, argv: Buffer[]): void {
  const server = ctx.server;
  const repl = server.replication;
  const out = ctx.out;
  if (argv.length === 3) {
    const addr = argv[2]!.toString();
    for (const [socket, c] of server.sessions) {
      if (c.addr !== addr) continue;
      if (c === ctx.client) c.flags |= kClosing;
      else socket.destroy();
      return out.ok();
    }
    return out.error('ERR No such client');
  }
  if (argv.length % 2 !== 0) return out.error(WireErrors.syntax);
  let type: string | null = null;
  let id: number | null = null;
  let addr: string | null = null;
  let laddr: string | null = null;
  let skipme = true;
  for (let i = 2; i < argv.length; i += 2) {
    const v = argv[i + 1]!.toString();
    switch (lower(argv[i]!)) {
      case 'type': {
        const t = v.toLowerCase();
        if (!CLIENT_TYPES.includes(t)) return out.error(`ERR Unknown client type '${v}'`);
        type = t === 'slave' ? 'replica' : t;
        break;
      }
      case 'id':
        id = parseSafeInt(argv[i + 1]!);
        if (id === null || id <= 0) return out.error('ERR client-id should be greater than 0');
        break;
      case 'addr':
        addr = v;
        break;
      case 'laddr':
        laddr = v;
        break;
      case 'skipme': {
        const b = v.toLowerCase();
        if (b !== 'yes' && b !== 'no') return out.error(WireErrors.syntax);
        skipme = b === 'yes';
        break;
      }
      default:
        return out.error(WireErrors.syntax);
    }
  }
  const replicaClients = new Set(repl.primary.peers.map((p) => p.client));
  let killed = 0;
  for (const [socket, c] of [...server.sessions]) {
    if (skipme && c === ctx.client) continue;
    const kind = replicaClients.has(c) ? 'replica' : c.flags & kPubSub ? 'pubsub' : 'normal';
    if ((type !== null && type !== kind) || (id !== null && c.id !== id) || (addr !== null && c.addr !== addr) || (laddr !== null && c.laddr !== laddr)) continue;
    if (c === ctx.client) c.flags |= kClosing;
    else socket.destroy();
    killed++;
  }
  if (type === 'master' && id === null && addr === null && laddr === null && repl.link !== null && repl.link.kill()) killed++;
  out.integer(killed);
}

export const replicationCommands: HandlerTable = {
  client,
  role, replconf, psync, sync, replicaof, slaveof: replicaof,
  'shoal.lease': lease, 'shoal.topology': topology, 'shoal.fence': fence,
  consistency, wait,
};
