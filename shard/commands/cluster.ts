/**
 * CLUSTER SLOTS | SHARDS | NODES | KEYSLOT | MYID | INFO on a worker, so
 * cluster-aware clients (ioredis Cluster, node-redis cluster) can talk to workers
 * directly, as to Redis Cluster nodes. Primaries own the slots; each one's replicas
 * (docs/replication.md) are listed beside it, as Redis Cluster lists a shard's replicas.
 */
import type { CommandContext, HandlerTable } from './context.js';
import { WireErrors } from '../../shared/resp/wire-errors.js';
import { keySlot } from '../../shared/cluster/slot.js';
import { sameGroup, type WorkerEndpoint } from '../../shared/cluster/topology.js';

/** The replicas of primary `w` (same shard and worker), from the topology the worker adopted. */
function replicasOf(ctx: CommandContext, w: WorkerEndpoint): WorkerEndpoint[] {
  return ctx.server.replication.replicas.filter((r) => sameGroup(r, w));
}

function cluster(ctx: CommandContext, argv: Buffer[]): void {
  const out = ctx.out;
  const topo = ctx.server.topology;
  const sub = argv[1]!.toString('latin1').toLowerCase();
  switch (sub) {
    case 'slots': {
      let ranges = 0;
      for (const w of topo) ranges += w.slots.length;
      out.arrayHeader(ranges);
      for (const w of topo) {
        const reps = replicasOf(ctx, w);
        for (const [a, b] of w.slots) {
          out.arrayHeader(3 + reps.length);
          out.integer(a);
          out.integer(b);
          for (const n of [w, ...reps]) {
            out.arrayHeader(4);
            out.bulk(n.host);
            out.integer(n.port);
            out.bulk(n.id);
            out.mapHeader(0);
          }
        }
      }
      return;
    }
    case 'shards': {
      out.arrayHeader(topo.length);
      for (const w of topo) {
        out.mapHeader(2);
        out.bulk('slots');
        out.arrayHeader(w.slots.length * 2);
        for (const [a, b] of w.slots) {
          out.integer(a);
          out.integer(b);
        }
        out.bulk('nodes');
        const reps = replicasOf(ctx, w);
        out.arrayHeader(1 + reps.length);
        for (const n of [w, ...reps]) {
          out.mapHeader(7);
          out.bulk('id'); out.bulk(n.id);
          out.bulk('port'); out.integer(n.port);
          out.bulk('ip'); out.bulk(n.host);
          out.bulk('endpoint'); out.bulk(n.host);
          out.bulk('role'); out.bulk(n === w ? 'master' : 'replica');
          // Offsets of other nodes are not known here: this worker's own, else 0.
          out.bulk('replication-offset'); out.integer(n.id === ctx.server.self.id ? ctx.server.replication.offset : 0);
          out.bulk('health'); out.bulk('online');
        }
      }
      return;
    }
    case 'nodes': {
      let s = '';
      const epoch = ctx.server.epoch;
      for (const w of topo) {
        const flags = w.id === ctx.server.self.id ? 'myself,master' : 'master';
        const slots = w.slots.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(' ');
        s += `${w.id} ${w.host}:${w.port}@${w.port + 10000} ${flags} - 0 0 ${epoch} connected ${slots}\n`;
        for (const r of replicasOf(ctx, w)) {
          s += `${r.id} ${r.host}:${r.port}@${r.port + 10000} ${r.id === ctx.server.self.id ? 'myself,slave' : 'slave'} ${w.id} 0 0 ${epoch} connected\n`;
        }
      }
      return out.verbatim(s);
    }
    case 'keyslot':
      if (argv.length !== 3) return out.error(WireErrors.wrongArity('cluster|keyslot'));
      return out.integer(keySlot(argv[2]!));
    case 'myid':
      return out.bulk(ctx.server.self.id);
    case 'info': {
      const n = topo.length;
      const known = n + ctx.server.replication.replicas.length;
      const epoch = ctx.server.epoch;
      const text = [
        'cluster_state:ok', 'cluster_slots_assigned:16384', 'cluster_slots_ok:16384', 'cluster_slots_pfail:0',
        'cluster_slots_fail:0', `cluster_known_nodes:${known}`, `cluster_size:${n}`, `cluster_current_epoch:${epoch}`,
        `cluster_my_epoch:${epoch}`, 'cluster_stats_messages_sent:0', 'cluster_stats_messages_received:0',
        'total_cluster_links_buffer_limit_exceeded:0',
      ].join('\r\n') + '\r\n';
      return out.verbatim(text);
    }
    case 'help':
      return out.bulkArray(['CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:', 'INFO', 'KEYSLOT <key>', 'MYID', 'NODES', 'SHARDS', 'SLOTS', 'HELP']);
    default:
      return out.error(WireErrors.unknownSubcommand(argv[1]!.toString(), 'cluster'));
  }
}

export const clusterCommands: HandlerTable = { cluster };
