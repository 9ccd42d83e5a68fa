/**
 * INFO and CONFIG on a worker: figures describe this worker only (the proxy sums
 * them across workers for its own INFO).
 */
import { getHeapStatistics } from 'node:v8';
import type { CommandContext, HandlerTable } from './context.js';
import { REDIS_COMPAT_VERSION, SHOAL_VERSION } from '../../shared/connection/commands.js';
import { formatBytesHuman, requestedSections } from '../../shared/info.js';
import { persistenceSection } from '../persistence/info.js';
import { replicationSection, syncStats } from '../replication/info.js';


function section(ctx: CommandContext, name: string): string | null {
  const srv = ctx.server;
  const ks = ctx.ks;
  const now = Date.now();
  switch (name) {
    case 'server':
      return [
        '# Server', `redis_version:${REDIS_COMPAT_VERSION}`, `shoal_version:${SHOAL_VERSION}`, 'redis_mode:cluster',
        `shoal_role:shard-worker`, `shoal_shard:${srv.self.shard}`, `shoal_worker:${srv.self.worker}`,
        `os:${process.platform}`, `arch_bits:64`, `process_id:${process.pid}`, `run_id:${srv.self.id}`,
        `tcp_port:${srv.self.port}`, `uptime_in_seconds:${Math.floor((now - srv.startTime) / 1000)}`,
        `uptime_in_days:${Math.floor((now - srv.startTime) / 86400000)}`, `node_version:${process.version}`,
      ].join('\r\n');
    case 'clients':
      return ['# Clients', `connected_clients:${srv.sessions.size}`, `blocked_clients:${srv.blocking.blockedClients}`, `maxclients:10000`].join('\r\n');
    case 'memory': {
      const used = srv.usedMemory;
      const peak = Math.max(srv.peakMemory, used);
      // RSS belongs to the process, not the worker: worker 0 reports it, so sums over
      // workers (the proxy's INFO) count each process once.
      const rss = srv.self.worker === 0 ? process.memoryUsage().rss : 0;
      // The configured share (0 on a replica, which ignores maxmemory); the data gets it minus used_memory_startup.
      const max = srv.evictor.limit === 0 ? 0 : srv.maxmemoryShare;
      const arena = ks.arena;
      const index = ks.index.memoryBytes + ks.volatile.memoryBytes;
      const heap = getHeapStatistics();
      return [
        '# Memory', `used_memory:${used}`, `used_memory_human:${formatBytesHuman(used)}`,
        `used_memory_rss:${rss}`, `used_memory_rss_human:${formatBytesHuman(rss)}`,
        `used_memory_peak:${peak}`, `used_memory_peak_human:${formatBytesHuman(peak)}`,
        // used_memory = startup (runtime share, docs/memory.md) + dataset (arena items) + index + heap collections.
        `used_memory_startup:${srv.startupBytes}`, `used_memory_overhead:${srv.startupBytes + index}`,
        `used_memory_dataset:${arena.usedBytes}`, `used_memory_index:${index}`,
        `arena_page_bytes:${arena.pageBytes}`,
        `allocator_frag_ratio:${arena.usedBytes ? (arena.pageBytes / arena.usedBytes).toFixed(2) : '1.00'}`,
        `mem_fragmentation_ratio:${used && rss ? (rss / used).toFixed(2) : '0.00'}`,
        `maxmemory:${max}`, `maxmemory_human:${formatBytesHuman(max)}`, `maxmemory_policy:${srv.evictor.policy}`,
        // This worker's V8 isolate: memory outside the arena that RSS still pays for.
        `shoal_vm_heap_used:${heap.used_heap_size}`, `shoal_vm_heap_total:${heap.total_heap_size}`,
        `shoal_vm_external:${heap.external_memory}`,
        `shoal_idle_gc_count:${srv.idleGc.count}`, `shoal_idle_gc_last_ms:${srv.idleGc.lastPauseMs.toFixed(2)}`,
      ].join('\r\n');
    }
    case 'persistence':
      return persistenceSection(srv);
    case 'stats': {
      const st = srv.stats;
      return [
        '# Stats', `total_connections_received:${st.connections}`, `total_commands_processed:${st.commands}`,
        `total_net_input_bytes:${st.netIn}`, `total_net_output_bytes:${st.netOut}`, `rejected_connections:0`,
        `expired_keys:${ks.expiredKeys}`, `expired_stale_perc:${(srv.activeExpire.stalePerc * 100).toFixed(2)}`,
        `expired_time_cap_reached_count:${srv.activeExpire.timeCapReached}`, `evicted_keys:${ks.evictedKeys}`,
        `keyspace_hits:${ks.hits}`, `keyspace_misses:${ks.misses}`,
        // Distinct channels / patterns subscribed on this worker (hub links included), as Redis 7.0.
        `pubsub_channels:${srv.pubsub.names('c', null).length}`, `pubsub_patterns:${srv.pubsub.patternCount}`,
        `pubsubshard_channels:${srv.pubsub.names('s', null).length}`,
        ...syncStats(srv.replication),
      ].join('\r\n');
    }
    case 'replication':
      return replicationSection(srv.replication);
    case 'cpu': {
      const u = process.cpuUsage();
      return ['# CPU', `used_cpu_sys:${(u.system / 1e6).toFixed(6)}`, `used_cpu_user:${(u.user / 1e6).toFixed(6)}`].join('\r\n');
    }
    case 'cluster':
      return ['# Cluster', 'cluster_enabled:1'].join('\r\n');
    case 'keyspace':
      return ks.size > 0 ? `# Keyspace\r\ndb0:keys=${ks.size},expires=${ks.volatileKeys},avg_ttl=0` : '# Keyspace';
    case 'commandstats': {
      const lines = ['# Commandstats'];
      for (const [cmd, s] of srv.commandStats) {
        if (s.calls === 0) continue;
        lines.push(`cmdstat_${cmd}:calls=${s.calls},usec=0,usec_per_call=0.00,rejected_calls=${s.rejected},failed_calls=0`);
      }
      return lines.join('\r\n');
    }
    default:
      return null;
  }
}

/** INFO [section [section ...]] */
function info(ctx: CommandContext, argv: Buffer[]): void {
  const names = requestedSections(argv.slice(1));
  const parts: string[] = [];
  for (const n of names) {
    const s = section(ctx, n);
    if (s !== null) parts.push(s);
  }
  ctx.out.verbatim(parts.length ? parts.join('\r\n\r\n') + '\r\n' : '');
}

/** CONFIG GET|SET|RESETSTAT|... */
function config(ctx: CommandContext, argv: Buffer[]): void {
  ctx.server.runtime.command(ctx.out, argv, () => ctx.server.resetStats());
  ctx.server.applyConfig();
}

/**
 * SLOWLOG: the proxy keeps it (proxy/slowlog.ts), timing each command from dispatch to
 * reply; a worker does not time its commands, so it says where to ask.
 */
function slowlog(ctx: CommandContext): void {
  ctx.out.error('ERR SLOWLOG is kept by the Shoal proxy; run it through the proxy port');
}

export const serverCommands: HandlerTable = { info, config, slowlog };
