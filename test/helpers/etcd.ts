// A real 3-member etcd cluster on loopback for the cluster-mode tests (Debian's etcd
// 3.4 at /usr/bin/etcd or $ETCD_BIN): free ports, each member with its own temp data
// dir, started together (initial-cluster-state new), waited on until every member
// answers /health, stopped by pid. Short heartbeat/election timeouts: loopback.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePortRange } from './cluster.js';
import { sleep } from './run.js';

export const ETCD_BIN = process.env['ETCD_BIN'] ?? '/usr/bin/etcd';
const READY_MS = 20_000;
const STOP_MS = 5_000;

export interface EtcdMember {
  name: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
  child: ChildProcess;
  output: () => string;
}

export interface EtcdCluster {
  members: EtcdMember[];
  /** "http://127.0.0.1:p1,http://127.0.0.1:p2,..." for --etcd-endpoints. */
  endpoints: string;
  /** kill -9 one member (by pid). */
  kill(name: string): void;
  stop(): Promise<void>;
}

async function healthy(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) });
    const body = (await res.json()) as { health?: string };
    return res.ok && body.health === 'true';
  } catch {
    return false;
  }
}

function keepTail(child: ChildProcess, limit = 16 * 1024): () => string {
  let text = '';
  const keep = (c: Buffer) => {
    text = (text + c.toString('utf8')).slice(-limit);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => text;
}

async function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true;
  return Promise.race([
    new Promise<boolean>((r) => child.once('exit', () => r(true))),
    sleep(ms).then(() => child.exitCode !== null || child.signalCode !== null),
  ]);
}

export async function startEtcdCluster(size = 3): Promise<EtcdCluster> {
  const base = await freePortRange(size * 2);
  const token = `shoal-test-${process.pid}-${base}`;
  const specs = Array.from({ length: size }, (_, i) => ({ name: `etcd-${i}`, clientPort: base + 2 * i, peerPort: base + 2 * i + 1 }));
  const initialCluster = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peerPort}`).join(',');
  const members: EtcdMember[] = [];
  const stop = async (): Promise<void> => {
    for (const m of members) if (m.child.exitCode === null && m.child.signalCode === null) m.child.kill('SIGTERM');
    for (const m of members) {
      if (!(await waitExit(m.child, STOP_MS)) && m.child.pid !== undefined) m.child.kill('SIGKILL');
      await waitExit(m.child, STOP_MS);
      await rm(m.dataDir, { recursive: true, force: true });
    }
  };
  try {
    for (const s of specs) {
      const dataDir = await mkdtemp(path.join(os.tmpdir(), `shoal-${s.name}-`));
      const child = spawn(ETCD_BIN, [
        '--name', s.name,
        '--data-dir', dataDir,
        '--listen-client-urls', `http://127.0.0.1:${s.clientPort}`,
        '--advertise-client-urls', `http://127.0.0.1:${s.clientPort}`,
        '--listen-peer-urls', `http://127.0.0.1:${s.peerPort}`,
        '--initial-advertise-peer-urls', `http://127.0.0.1:${s.peerPort}`,
        '--initial-cluster', initialCluster,
        '--initial-cluster-state', 'new',
        '--initial-cluster-token', token,
        '--heartbeat-interval', '50',
        '--election-timeout', '500',
        '--log-level', 'warn',
        '--logger', 'zap',
      ], { stdio: ['ignore', 'pipe', 'pipe'] });
      members.push({ ...s, dataDir, child, output: keepTail(child) });
    }
    const deadline = Date.now() + READY_MS;
    for (;;) {
      const dead = members.find((m) => m.child.exitCode !== null || m.child.signalCode !== null);
      if (dead) throw new Error(`etcd member ${dead.name} exited (${dead.child.exitCode ?? dead.child.signalCode}):\n${dead.output()}`);
      const ok = await Promise.all(members.map((m) => healthy(m.clientPort)));
      if (ok.every(Boolean)) break;
      if (Date.now() > deadline) throw new Error(`etcd cluster not healthy within ${READY_MS} ms:\n${members.map((m) => `${m.name}: ${m.output()}`).join('\n')}`);
      await sleep(100);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    members,
    endpoints: members.map((m) => `http://127.0.0.1:${m.clientPort}`).join(','),
    kill(name: string) {
      const m = members.find((x) => x.name === name);
      if (m?.child.pid !== undefined) process.kill(m.child.pid, 'SIGKILL');
    },
    stop,
  };
}
