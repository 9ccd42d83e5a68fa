/**
 * ProcessSupervisor: the embedded manager's child processes (shard processes and the
 * proxy), forked with the launcher's config in their environment. It starts a child
 * and waits for its `ready` IPC message, tells the owner when one exits unexpectedly,
 * restarts one on request (same name and arguments) and stops them in order.
 *
 * What to do about an exit is the owner's decision (manager/embedded.ts): a shard
 * process of a replicated cluster is restarted once the failover controller has
 * moved its primaries elsewhere; without replicas it stays down, as before.
 *
 * Invariants: one live child per name; `info.pid` is the live child's pid; a child
 * stopped through `stop`/`stopAll` is never reported as an unexpected exit.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { ProcessInfo } from '../shared/cluster/topology.js';
import { ShoalError, ErrorCodes } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';

export interface ChildSpec {
  name: string;
  role: ProcessInfo['role'];
  script: string;
  args: string[];
  slots?: ProcessInfo['slots'];
}

export interface ReadyMessage {
  type: string;
  ports?: number[];
  /** A multi-process proxy lists its RESP processes (at ready, and again after a restart). */
  processes?: ProcessInfo[];
}

interface Child {
  spec: ChildSpec;
  child: ChildProcess;
  info: ProcessInfo;
  /** Stopped on purpose: its exit is not a failure. */
  stopping: boolean;
  startedAt: number;
}

/**
 * Shard processes' runtime memory (RSS outside the arenas) counts against maxmemory
 * (docs/memory.md), so it is kept small and steady:
 * - --max-semi-space-size=1 bounds the main thread's young generation (V8 default
 *   16 MiB semi-spaces): ~7 MiB less RSS. shard/main.ts clears the flag before starting
 *   the workers, which keep their own limit.
 * - MALLOC_MMAP_THRESHOLD_=65536 (unless set in the launcher's environment; the
 *   embedded manager's default for every child is 131072, for the arena's 1 MiB blocks):
 *   Node reads sockets into 64 KiB malloc'ed buffers, which under a write-heavy load
 *   die by the tens of MiB between major GCs; from glibc's heaps their memory stayed
 *   resident after the GC (+20-35 MiB RSS in the churn bench's 2-4 KB phase). At 64 KiB
 *   each is its own mapping, returned to the OS when freed.
 */
const SHARD_MMAP_THRESHOLD = '65536';
const SHARD_EXEC_ARGV = ['--max-semi-space-size=1'];

/** Generous: a loaded 2-core machine can take many seconds to start Node processes. */
const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5000;

export class ProcessSupervisor {
  readonly #children = new Map<string, Child>();
  /** Names in first-start order: a restarted child keeps its place in `infos()`. */
  readonly #order: string[] = [];
  #stoppingAll = false;

  /**
   * `onExit` runs when a child exits without being asked to; `onMessage` sees every
   * IPC message (the proxy's process list).
   */
  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly log: Logger,
    private readonly onExit: (spec: ChildSpec, info: ProcessInfo, code: number | null, signal: NodeJS.Signals | null, ranMs: number) => void,
    private readonly onMessage: (spec: ChildSpec, m: ReadyMessage) => void = () => {},
  ) {}

  /** The live child's process entry, in start order. */
  infos(): ProcessInfo[] {
    return this.#order.flatMap((name) => {
      const c = this.#children.get(name);
      return c ? [c.info] : [];
    });
  }

  has(name: string): boolean {
    return this.#children.has(name);
  }

  /** Forks `spec` and resolves once it reports ready (rejects on exit or after 20 s without progress). */
  start(spec: ChildSpec): Promise<ProcessInfo> {
    if (this.#children.has(spec.name)) return Promise.reject(new ShoalError(ErrorCodes.PROCESS, `${spec.name} is already running`));
    return new Promise((resolve, reject) => {
      const shard = spec.role === 'shard';
      const child = fork(spec.script, spec.args, {
        env: shard && process.env['MALLOC_MMAP_THRESHOLD_'] === undefined ? { ...this.env, MALLOC_MMAP_THRESHOLD_: SHARD_MMAP_THRESHOLD } : this.env,
        execArgv: shard ? [...process.execArgv, ...SHARD_EXEC_ARGV] : process.execArgv,
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      const info: ProcessInfo = { role: spec.role, name: spec.name, pid: child.pid ?? -1, ports: [], ...(spec.slots ? { slots: spec.slots } : {}) };
      const entry: Child = { spec, child, info, stopping: false, startedAt: Date.now() };
      this.#children.set(spec.name, entry);
      if (!this.#order.includes(spec.name)) this.#order.push(spec.name);
      let ready = false;
      const timer = setTimeout(() => {
        reject(new ShoalError(ErrorCodes.PROCESS, `${spec.name} did not become ready within ${START_TIMEOUT_MS} ms`));
        child.kill('SIGKILL');
      }, START_TIMEOUT_MS);
      child.on('message', (m: ReadyMessage) => {
        this.onMessage(spec, m);
        if (m.type === 'loading') timer.refresh(); // a shard still loading its snapshot
        if (m.type !== 'ready' || ready) return;
        ready = true;
        clearTimeout(timer);
        info.ports = m.ports ?? [];
        resolve(info);
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (this.#children.get(spec.name) === entry) this.#children.delete(spec.name);
        if (!ready) reject(new ShoalError(ErrorCodes.PROCESS, `${spec.name} exited during start (code ${code}, signal ${signal})`));
        if (entry.stopping || this.#stoppingAll) return;
        if (ready) this.onExit(spec, info, code, signal, Date.now() - entry.startedAt);
      });
    });
  }

  /** Stops one child (SIGTERM, SIGKILL after the grace period); no exit report. */
  async stop(name: string): Promise<void> {
    const c = this.#children.get(name);
    if (c === undefined) return;
    c.stopping = true;
    await this.#terminate([c]);
  }

  /** Stops every child, proxies first so no client request is cut off by a shard going away under it. */
  async stopAll(): Promise<void> {
    this.#stoppingAll = true;
    for (const role of ['proxy', 'shard'] as const) {
      await this.#terminate([...this.#children.values()].filter((c) => c.info.role === role));
    }
  }

  async #terminate(list: Child[]): Promise<void> {
    const alive = list.filter(({ child }) => child.exitCode === null && child.signalCode === null);
    for (const { child } of alive) child.kill('SIGTERM');
    await Promise.race([
      Promise.all(alive.map(({ child }) => new Promise((r) => {
        if (child.exitCode !== null || child.signalCode !== null) r(null);
        else child.once('exit', r);
      }))),
      new Promise((r) => setTimeout(r, STOP_GRACE_MS)),
    ]);
    for (const { child, spec } of alive) {
      if (child.exitCode === null && child.signalCode === null) {
        this.log.warn({ node: spec.name, pid: child.pid }, `${spec.name} did not stop within ${STOP_GRACE_MS} ms: SIGKILL`);
        child.kill('SIGKILL');
      }
    }
  }
}
