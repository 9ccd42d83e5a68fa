/**
 * INFO through the proxy: the proxy's own server and clients sections, and the
 * other sections summed over every worker (memory, stats, keyspace ...), so a client
 * sees one server whose figures cover the whole cluster.
 */
import { REDIS_COMPAT_VERSION, SHOAL_VERSION } from '../shared/connection/commands.js';
import { parseInfo, formatBytesHuman, requestedSections } from '../shared/info.js';
import type { ProxyServer } from './proxy-server.js';
import type { ProxyClient } from './client-connection.js';
import { call, deliverReply } from './fanout.js';
import { isError } from './reply-value.js';
import { clientStats, clientsSection, type ClientStats } from './client-command.js';

/** Fields that describe one process, not a sum (kept from the first worker). */
const NOT_SUMMED = new Set(['maxmemory_policy', 'role', 'cluster_enabled', 'loading', 'allocator_frag_ratio', 'mem_fragmentation_ratio', 'expired_stale_perc']);

function proxySection(server: ProxyServer, name: string): string | null {
  const now = Date.now();
  if (name === 'server') {
    return [
      '# Server', `redis_version:${REDIS_COMPAT_VERSION}`, `shoal_version:${SHOAL_VERSION}`, 'redis_mode:standalone',
      'shoal_role:proxy', `os:${process.platform}`, 'arch_bits:64', `process_id:${process.pid}`,
      `tcp_port:${server.config.port}`, `uptime_in_seconds:${Math.floor((now - server.startTime) / 1000)}`,
      `uptime_in_days:${Math.floor((now - server.startTime) / 86400000)}`, `node_version:${process.version}`,
      `shoal_workers:${server.links.length}`,
      // Replica reads (proxy/replica-reads.ts): served by replicas, handed back to the primary; the topology epoch followed.
      `shoal_replica_reads:${server.replicas.stats.replicaReads}`, `shoal_replica_read_fallbacks:${server.replicas.stats.fallbacks}`, `shoal_topology_epoch:${server.replicas.epoch}`,
    ].join('\r\n');
  }
  return null;
}

/**
 * INFO stats pubsub_channels / pubsub_patterns / pubsubshard_channels through the
 * proxy: the distinct channels, patterns and shard channels this process's clients
 * subscribe (what a Redis server counts for its clients), not the workers' sums,
 * which see each proxy's hub once per worker.
 */
function proxyPubSubCounts(server: ProxyServer): [channels: number, patterns: number, shard: number] {
  const c = new Set<string>();
  const p = new Set<string>();
  const s = new Set<string>();
  for (const client of server.proxyClients()) {
    const ps = client.pubsub;
    if (ps === null) continue;
    for (const k of ps.channels.keys()) c.add(k);
    for (const k of ps.patterns.keys()) p.add(k);
    for (const k of ps.shard.keys()) s.add(k);
  }
  return [c.size, p.size, s.size];
}

function merge(texts: string[], wanted: readonly string[], pubsub: [number, number, number] | null = null): string {
  const sections = new Map<string, Map<string, string>>();
  for (const t of texts) {
    for (const [sec, fields] of parseInfo(t)) {
      let m = sections.get(sec);
      if (!m) sections.set(sec, (m = new Map()));
      for (const [k, v] of fields) {
        const prev = m.get(k);
        if (prev === undefined || NOT_SUMMED.has(k)) {
          if (prev === undefined) m.set(k, v);
        } else if (k.startsWith('db') || k.startsWith('cmdstat_')) {
          // keys=1,expires=0,avg_ttl=0 style: sum each numeric field.
          const a = new Map(prev.split(',').map((kv) => kv.split('=') as [string, string]));
          for (const [fk, fv] of v.split(',').map((kv) => kv.split('=') as [string, string])) {
            const pv = Number(a.get(fk));
            a.set(fk, Number.isFinite(pv) && Number.isFinite(Number(fv)) ? String(pv + Number(fv)) : fv);
          }
          m.set(k, [...a].map(([fk, fv]) => `${fk}=${fv}`).join(','));
        } else if (/^-?\d+$/.test(prev) && /^-?\d+$/.test(v)) {
          m.set(k, String(Number(prev) + Number(v)));
        } else if (/^-?\d+(\.\d+)?$/.test(prev) && /^-?\d+(\.\d+)?$/.test(v)) {
          m.set(k, (Number(prev) + Number(v)).toFixed(6));
        }
      }
    }
  }
  // Persistence: times and states are not sums. The cluster saved last when its
  // oldest worker did; a save is in progress or failed if it is on any worker.
  const per = sections.get('Persistence');
  if (per) {
    const all = (k: string): string[] => texts.flatMap((t) => parseInfo(t).flatMap(([, f]) => f.filter(([fk]) => fk === k).map(([, v]) => v)));
    const nums = (k: string): number[] => all(k).map(Number).filter(Number.isFinite);
    if (per.has('rdb_last_save_time')) per.set('rdb_last_save_time', String(Math.min(...nums('rdb_last_save_time'))));
    for (const k of ['loading', 'rdb_bgsave_in_progress', 'rdb_last_bgsave_time_sec', 'rdb_current_bgsave_time_sec', 'aof_enabled', 'aof_rewrite_in_progress', 'aof_rewrite_scheduled', 'aof_last_rewrite_time_sec', 'aof_current_rewrite_time_sec']) {
      if (per.has(k)) per.set(k, String(Math.max(...nums(k))));
    }
    if (per.has('shoal_rdb_last_max_pause_ms')) per.set('shoal_rdb_last_max_pause_ms', Math.max(...nums('shoal_rdb_last_max_pause_ms')).toFixed(2));
    for (const k of ['rdb_last_bgsave_status', 'aof_last_bgrewrite_status', 'aof_last_write_status']) {
      if (per.has(k)) per.set(k, all(k).includes('err') ? 'err' : 'ok');
    }
  }
  const mem = sections.get('Memory');
  if (mem) {
    const n = (k: string) => Number(mem.get(k) ?? 0);
    if (n('used_memory_dataset') > 0) mem.set('allocator_frag_ratio', (n('arena_page_bytes') / n('used_memory_dataset')).toFixed(2));
    if (n('used_memory') > 0) mem.set('mem_fragmentation_ratio', (n('used_memory_rss') / n('used_memory')).toFixed(2));
    for (const k of ['used_memory', 'used_memory_rss', 'used_memory_peak', 'maxmemory']) {
      const v = mem.get(k);
      if (v !== undefined) mem.set(`${k}_human`, formatBytesHuman(Number(v)));
    }
  }
  const stats = sections.get('Stats');
  if (stats !== undefined && pubsub !== null) {
    stats.set('pubsub_channels', String(pubsub[0]));
    stats.set('pubsub_patterns', String(pubsub[1]));
    stats.set('pubsubshard_channels', String(pubsub[2]));
  }
  const out: string[] = [];
  for (const name of wanted) {
    for (const [sec, fields] of sections) {
      if (sec.toLowerCase() !== name) continue;
      out.push([`# ${sec}`, ...[...fields].map(([k, v]) => `${k}:${v}`)].join('\r\n'));
    }
  }
  return out.join('\r\n\r\n');
}

/**
 * INFO [section ...]. The clients section covers every proxy process: with several,
 * its figures come back asynchronously (askAll), like the worker sections; the reply
 * slot is taken at dispatch, so pipeline order holds.
 */
export function proxyInfo(server: ProxyServer, client: ProxyClient, argv: Buffer[]): void {
  const names = requestedSections(argv.slice(1));
  const remote = names.filter((n) => n !== 'server' && n !== 'clients');
  const local = names.map((n) => proxySection(server, n));
  const stats = names.includes('clients') ? clientStats(server) : null;
  const build = (texts: string[], st: ClientStats | null): string => {
    const merged = remote.length ? merge(texts, remote, proxyPubSubCounts(server)) : '';
    const pieces: string[] = [];
    for (let i = 0; i < names.length; i++) {
      const l = local[i] ?? (names[i] === 'clients' && st !== null ? clientsSection(server, st) : null);
      if (l) pieces.push(l);
    }
    if (merged) pieces.push(merged);
    return pieces.length ? pieces.join('\r\n\r\n') + '\r\n' : '';
  };
  if (remote.length === 0 && !(stats instanceof Promise)) {
    const w = server.writerFor(client);
    w.verbatim(build([], stats));
    return client.replyLocal(w.take());
  }
  const slot = client.slot();
  const proto = client.state.proto;
  const sub = [argv[0]!, ...remote.map((n) => Buffer.from(n))];
  const parts = remote.length ? Promise.all(server.links.map((l) => call(l, sub))) : Promise.resolve([]);
  void Promise.all([parts, stats]).then(([replies, st]) => {
    const err = replies.find(isError);
    deliverReply(slot, proto, (w) => (err ? w.error(err.error) : w.verbatim(build(replies.map((p) => (Buffer.isBuffer(p) ? p.toString() : '')), st))));
  });
}
