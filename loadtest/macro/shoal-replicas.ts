// The Shoal side of the replication and failover scenarios (macro/replication.ts,
// macro/failover.ts): an embedded cluster with replicas (`node dist/bin/shoal.js
// --replicas R --shards S --workers W --consistency C ...`) started through the harness,
// its topology as the proxy publishes it (GET /topology), its replication groups, and
// "every replica has a live link and is not syncing" as the readiness condition.
//
// Invariants: the cluster is started here (so every pid in its tree is ours); a pid is
// only ever killed after checking that it is in that tree; ports come from the B range.

import fs from 'node:fs';
import path from 'node:path';
import { freePortBlock, infoOf } from '../redis-cluster.js';
import { HOST, WORK, die, log, logTail, serverPids, sleep, startServer, waitReady, type Server } from './harness.js';

export interface Endpoint { id: string; shard: number; worker: number; host: string; port: number; slots: [number, number][]; role?: string; node?: string }
export interface ProcessEntry { role: string; name: string; pid: number; ports?: number[] }
export interface TopologyView { epoch: number; workers: Endpoint[]; replicas?: Endpoint[]; processes: ProcessEntry[] }

export interface ShoalOptions { replicas: number; shards: number; workers: number; consistency: string; extra?: string[] }

export interface ShoalCluster {
  server: Server;
  port: number;
  httpPort: number;
  dataDir: string;
  /** The command, ports as placeholders (for RESULTS.md). */
  command: string;
  opts: ShoalOptions;
}

export const groupKey = (e: { shard: number; worker: number }) => `${e.shard}/${e.worker}`;
export const nodeOf = (e: Endpoint) => e.node ?? `shard-${e.shard}`;

export async function startShoal(label: string, o: ShoalOptions): Promise<ShoalCluster> {
  const groups = o.shards * o.workers;
  const base = await freePortBlock(4 + groups * (1 + o.replicas) + 4);
  const dataDir = fs.mkdtempSync(path.join(WORK, `${label}-data-`));
  const flags = ['--save', '', '--replicas', String(o.replicas), '--shards', String(o.shards), '--workers', String(o.workers),
    '--consistency', o.consistency, ...(o.extra ?? [])];
  const argv = [process.execPath, 'dist/bin/shoal.js', '--port', String(base), '--http-port', String(base + 1),
    '--manager-port', String(base + 2), '--shard-port', String(base + 4), '--data-dir', dataDir, ...flags];
  const server = startServer(label, argv, base);
  await waitReady(server);
  const c: ShoalCluster = {
    server, port: base, httpPort: base + 1, dataDir, opts: o,
    command: `node dist/bin/shoal.js --port P --http-port H --manager-port M --shard-port S --data-dir D ${flags.map((f) => (f === '' ? "''" : f)).join(' ')}`,
  };
  if (o.replicas > 0) await waitReplicasSynced(c, 60_000);
  return c;
}

/** GET /topology of the proxy (the manager's record plus the proxy's own processes). */
export async function topologyOf(c: ShoalCluster): Promise<TopologyView> {
  const res = await fetch(`http://${HOST}:${c.httpPort}/topology`, { signal: AbortSignal.timeout(2000) });
  if (!res.ok) throw new Error(`GET /topology -> HTTP ${res.status}`);
  return (await res.json()) as TopologyView;
}

/** '' when every primary has `replicas` replicas with link up and no sync in progress, else why not. */
export async function replicaState(c: ShoalCluster, t?: TopologyView): Promise<string> {
  const topo = t ?? await topologyOf(c);
  const reps = topo.replicas ?? [];
  for (const p of topo.workers) {
    const mine = reps.filter((r) => groupKey(r) === groupKey(p));
    if (mine.length < c.opts.replicas) return `group ${groupKey(p)} (primary ${nodeOf(p)}:${p.port}) lists ${mine.length} replica(s) in /topology (epoch ${topo.epoch})`;
    for (const r of mine) {
      let inf: Map<string, string>;
      try { inf = await infoOf(r.port, 'replication', 1000); } catch (e) { return `replica ${nodeOf(r)}:${r.port}: ${(e as Error).message}`; }
      if (inf.get('role') !== 'slave' || inf.get('master_link_status') !== 'up' || inf.get('master_sync_in_progress') !== '0') {
        return `replica ${nodeOf(r)}:${r.port}: role ${inf.get('role') ?? '?'}, master_link_status ${inf.get('master_link_status') ?? '?'}, `
          + `master_sync_in_progress ${inf.get('master_sync_in_progress') ?? '?'}`;
      }
    }
  }
  return '';
}

export async function waitReplicasSynced(c: ShoalCluster, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (c.server.exited) die(`${c.server.name} exited (code ${c.server.exited.code}).\n--- last lines of ${c.server.logFile}:\n${logTail(c.server)}`, 2);
    try { last = await replicaState(c); } catch (e) { last = (e as Error).message; }
    if (last === '') return;
    await sleep(100);
  }
  die(`${c.server.name}: replicas not in sync within ${timeoutMs} ms: ${last}`, 2);
}

/** The pid of shard process `node`, checked to be a process this run started. */
export function pidOfNode(c: ShoalCluster, t: TopologyView, node: string): number {
  const p = t.processes.find((x) => x.role === 'shard' && x.name === node);
  if (!p || !(p.pid > 0)) die(`/topology lists no shard process named ${node}`, 4);
  if (!serverPids(c.server).includes(p.pid)) die(`/topology names pid ${p.pid} for ${node}, not a process started by this run`, 4);
  return p.pid;
}

export function logShoal(c: ShoalCluster, t: TopologyView): void {
  log(`${c.server.name}: epoch ${t.epoch}; primaries ${t.workers.map((w) => `${groupKey(w)}@${nodeOf(w)}:${w.port}`).join(' ')}; `
    + `replicas ${(t.replicas ?? []).map((w) => `${groupKey(w)}@${nodeOf(w)}:${w.port}`).join(' ') || 'none'}`);
}
