#!/usr/bin/env node
/**
 * shoal-cluster: operations on a running cluster through the manager's control API
 * (manager/control.ts): status, manual failover, replica add/remove.
 *
 * It finds the manager at --manager-port when given, else at the port the manager
 * recorded in <data-dir>/topology.json, else at the default manager-port (7900), on
 * --host. Exit status: 0 done, 1 refused or failed (the reason on stderr), 2 usage.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig } from '../shared/config/load.js';
import { ShoalError } from '../shared/errors.js';
import type { Topology } from '../shared/cluster/topology.js';
import type { ClusterStatus, ManualFailoverResult, MemberStatus } from '../manager/failover.js';

const USAGE = `Usage: shoal-cluster <command> [options]

Commands:
  status                                   who is primary of what: offsets, lag, epoch, pids
  failover --shard S [--worker W] [--replica NODE]
                                           manual failover of shard S (worker W, or all its
                                           workers): the primary stops taking writes, the
                                           replica catches up, then takes over; nothing is lost
  replica add --shard S                    start one more replica set for shard S
  replica remove --shard S --replica R     stop replica set R of shard S (a number or a node
                                           name such as shard-0-replica-2)

Options:
  --data-dir DIR        the cluster's data directory (default ./data): the manager's
                        control port is read from its topology.json
  --manager-port P      the manager's control port (default: from topology.json, else 7900)
  --host H              the manager's address (default 127.0.0.1)
  --admin-token T       bearer token when the cluster runs with --admin-token
  --json                print the manager's JSON reply as it is
  --help                this text
`;

class UsageError extends Error {}

function managerPort(flags: Record<string, string | boolean | undefined>, dataDir: string, fallback: number): number {
  if (typeof flags['manager-port'] === 'string' || process.env['SHOAL_MANAGER_PORT']) return fallback; // explicit: config has it
  try {
    const t = JSON.parse(readFileSync(join(resolve(dataDir), 'topology.json'), 'utf8')) as Topology;
    const port = t.processes?.find((p) => p.role === 'manager')?.ports?.[0];
    if (typeof port === 'number' && port > 0) return port;
  } catch {
    // no topology file here: the default port
  }
  return fallback;
}

async function call(base: string, method: 'GET' | 'POST', path: string, token: string): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, { method, headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    throw new Error(`cannot reach the manager at ${base} (${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}); is the cluster running? (--data-dir / --manager-port)`);
  }
  const body = await res.json().catch(() => null) as { error?: string } | null;
  if (!res.ok) throw new Error(body?.error ?? `manager answered HTTP ${res.status}`);
  return body;
}

function ranges(slots: Array<[number, number]>): string {
  return slots.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(',');
}

function memberLine(m: MemberStatus): string {
  const cols = [
    m.role.padEnd(8),
    m.node.padEnd(20),
    `${m.host}:${m.port}`.padEnd(16),
    `pid ${m.pid ?? '-'}`.padEnd(11),
    `offset ${m.offset ?? '-'}`.padEnd(18),
    m.role === 'replica' ? `lag ${m.lag ?? '-'}`.padEnd(12) : ''.padEnd(12),
    m.role === 'replica' ? `link ${m.link ?? '-'}`.padEnd(10) : ''.padEnd(10),
    `epoch ${m.epoch ?? '-'}`,
  ];
  const notes: string[] = [];
  if (m.misses > 0) notes.push(`${m.misses} missed checks${m.error ? ` (${m.error})` : ''}`);
  if (m.reportedRole !== null && m.reportedRole !== m.role) notes.push(`reports ${m.reportedRole}`);
  else if (m.error !== null) notes.push(m.error);
  if (m.lastReplyMsAgo === null && m.misses === 0 && m.offset === null && m.error === null) notes.push('no health data');
  return `  ${cols.join(' ')}${notes.length > 0 ? `  ! ${notes.join('; ')}` : ''}`;
}

function printStatus(s: ClusterStatus): void {
  const lines = [`epoch ${s.epoch}   health check every ${s.failoverCheckMs} ms, failover after ${s.failoverMisses} misses, lease ${s.leaseMs} ms`];
  for (const g of s.groups) {
    lines.push('', `shard ${g.shard} worker ${g.worker}   slots ${ranges(g.slots)}`);
    lines.push(memberLine(g.primary));
    for (const r of g.replicas) lines.push(memberLine(r));
    if (g.replicas.length === 0) lines.push('  (no replica)');
  }
  if (s.failovers.length > 0) {
    lines.push('', 'recent failovers:');
    for (const f of s.failovers) {
      const why = f.kind === 'automatic' ? `primary silent for ${f.lastAnswerMsAgo} ms` : `fenced at offset ${f.fencedOffset}`;
      lines.push(`  ${new Date(f.at).toISOString()}  ${f.kind.padEnd(9)} shard ${f.shard} worker ${f.worker}: ${f.from} -> ${f.to}, epoch ${f.epoch} (${why}; switched in ${f.failoverMs} ms)`);
    }
  }
  lines.push('', 'processes:');
  for (const p of s.processes) lines.push(`  ${p.role.padEnd(12)} ${p.name.padEnd(20)} pid ${String(p.pid).padEnd(8)} ports ${p.ports.join(',') || '-'}`);
  process.stdout.write(lines.join('\n') + '\n');
}

function intFlag(flags: Record<string, string | boolean | undefined>, name: string, required: boolean): number | undefined {
  const v = flags[name];
  if (v === undefined) {
    if (required) throw new UsageError(`--${name} is required`);
    return undefined;
  }
  if (typeof v !== 'string' || !/^\d+$/.test(v)) throw new UsageError(`--${name} must be a non-negative integer`);
  return Number(v);
}

try {
  const argv = process.argv.slice(2);
  const words: string[] = [];
  while (argv.length > 0 && !argv[0]!.startsWith('-')) words.push(argv.shift()!);
  const { config, flags } = loadConfig({
    argv,
    extraFlags: { shard: { type: 'string' }, worker: { type: 'string' }, replica: { type: 'string' }, json: { type: 'boolean' } },
  });
  if (flags['help'] || words.length === 0) {
    process.stdout.write(USAGE);
    process.exit(words.length === 0 && !flags['help'] ? 2 : 0);
  }
  const base = `http://${config.host}:${managerPort(flags, config.dataDir, config.managerPort)}`;
  const token = config.adminToken;
  const json = flags['json'] === true;
  const command = words.join(' ');
  switch (command) {
    case 'status': {
      const s = await call(base, 'GET', '/status', token) as ClusterStatus;
      if (json) process.stdout.write(JSON.stringify(s, null, 2) + '\n');
      else printStatus(s);
      break;
    }
    case 'failover': {
      const shard = intFlag(flags, 'shard', true)!;
      const worker = intFlag(flags, 'worker', false);
      const q = new URLSearchParams({ shard: String(shard) });
      if (worker !== undefined) q.set('worker', String(worker));
      if (typeof flags['replica'] === 'string') q.set('replica', flags['replica']);
      const r = await call(base, 'POST', `/failover?${q}`, token) as { failovers: ManualFailoverResult[] };
      if (json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      else for (const f of r.failovers) {
        process.stdout.write(`shard ${f.shard} worker ${f.worker}: ${f.from} -> ${f.to}, epoch ${f.epoch}; fenced at offset ${f.fencedOffset}, replica at ${f.replicaOffset} after ${f.caughtUpMs} ms, ${f.totalMs} ms in all\n`);
      }
      break;
    }
    case 'replica add': {
      const shard = intFlag(flags, 'shard', true)!;
      const r = await call(base, 'POST', `/replica/add?shard=${shard}`, token) as { node: string; ports: number[]; epoch: number };
      process.stdout.write(json ? JSON.stringify(r, null, 2) + '\n' : `added ${r.node} (ports ${r.ports.join(', ')}) to shard ${shard}, epoch ${r.epoch}\n`);
      break;
    }
    case 'replica remove': {
      const shard = intFlag(flags, 'shard', true)!;
      const replica = flags['replica'];
      if (typeof replica !== 'string' || replica === '') throw new UsageError('--replica is required (a replica set number or a node name)');
      const r = await call(base, 'POST', `/replica/remove?shard=${shard}&replica=${encodeURIComponent(replica)}`, token) as { node: string; epoch: number };
      process.stdout.write(json ? JSON.stringify(r, null, 2) + '\n' : `removed ${r.node} from shard ${shard}, epoch ${r.epoch}\n`);
      break;
    }
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
} catch (err) {
  if (err instanceof UsageError) {
    process.stderr.write(`shoal-cluster: ${err.message}\n\n${USAGE}`);
    process.exit(2);
  }
  process.stderr.write(`shoal-cluster: ${err instanceof ShoalError ? err.message : (err as Error).message}\n`);
  process.exit(1);
}
