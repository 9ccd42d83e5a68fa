/**
 * The cluster primary's side of multi-process mode (docs/proxy-processes.md): forks
 * the RESP workers, knows when all of them listen, restarts one that dies (with
 * backoff) while the others keep serving their clients, and stops them all.
 *
 * A worker is "listening" when it sends `proxy-listening` (after its ProcessGroup got
 * the shared state and every client listener is open). Restarts keep the worker's
 * index; each start gets a fresh client-id block (ProcessGroup.clientIdBase).
 */
import type { Cluster, Worker } from 'node:cluster';
import type { Logger } from '../shared/log.js';
import type { ProcessInfo } from '../shared/cluster/topology.js';
import { ShoalError, ErrorCodes } from '../shared/errors.js';
import type { ProcessGroup } from './process-group.js';

/** Env vars the primary sets for each worker it forks. */
export const WORKER_ENV = { index: 'SHOAL_PROXY_INDEX', idBlock: 'SHOAL_PROXY_ID_BLOCK' } as const;

/** The message a worker sends once it serves clients. */
export const LISTENING = 'proxy-listening';

/** First restart delay; doubles per crash in a row, up to RESTART_MAX_MS. */
const RESTART_MIN_MS = 100;
const RESTART_MAX_MS = 10_000;
/** A worker that ran this long before dying starts the backoff over. */
const STABLE_MS = 30_000;

interface Slot {
  worker: Worker | null;
  startedAt: number;
  listening: boolean;
  /** Crashes in a row (reset once a worker ran STABLE_MS). */
  crashes: number;
  restartTimer: NodeJS.Timeout | null;
}

export class ProcessSupervisor {
  /** Called when a worker (re)starts listening after start(): pids changed. */
  onChange: (() => void) | null = null;
  readonly #cluster: Cluster;
  readonly #group: ProcessGroup;
  readonly #log: Logger;
  readonly #slots: Slot[];
  readonly #ports: number[];
  #nextIdBlock = 0;
  #started = false;
  #stopping = false;
  #startFailed: ((err: Error) => void) | null = null;
  #startDone: (() => void) | null = null;

  constructor(cluster: Cluster, group: ProcessGroup, log: Logger, ports: number[]) {
    this.#cluster = cluster;
    this.#group = group;
    this.#log = log;
    this.#ports = ports;
    this.#slots = Array.from({ length: group.size }, () => ({ worker: null, startedAt: 0, listening: false, crashes: 0, restartTimer: null }));
  }

  /** Forks every worker; resolves when all listen, rejects if one exits first or time runs out. */
  start(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const waiting = this.#slots.flatMap((s, i) => (s.listening ? [] : [i]));
        reject(new ShoalError(ErrorCodes.PROCESS, `proxy processes ${waiting.join(', ')} did not listen within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#startDone = () => {
        clearTimeout(timer);
        this.#started = true;
        resolve();
      };
      this.#startFailed = (err) => {
        clearTimeout(timer);
        reject(err);
      };
      for (let i = 0; i < this.#slots.length; i++) this.#fork(i);
    });
  }

  /** The RESP workers, for the topology (tests and operators kill them by pid). */
  processes(): ProcessInfo[] {
    const out: ProcessInfo[] = [];
    this.#slots.forEach((s, i) => {
      const pid = s.worker?.process.pid;
      if (s.listening && pid !== undefined) out.push({ role: 'proxy-worker', name: `proxy-${i}`, pid, ports: this.#ports });
    });
    return out;
  }

  /** SIGTERM to every worker, SIGKILL after `graceMs`; resolves when all are gone. */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    const live: Worker[] = [];
    for (const s of this.#slots) {
      if (s.restartTimer !== null) clearTimeout(s.restartTimer);
      if (s.worker !== null && !s.worker.isDead()) live.push(s.worker);
    }
    for (const w of live) w.process.kill('SIGTERM');
    const gone = Promise.all(live.map((w) => new Promise<void>((r) => (w.isDead() ? r() : w.once('exit', () => r())))));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([gone, new Promise<void>((r) => { timer = setTimeout(r, graceMs); })]);
    clearTimeout(timer);
    for (const w of live) if (!w.isDead()) w.process.kill('SIGKILL');
  }

  #fork(i: number): void {
    const slot = this.#slots[i]!;
    slot.restartTimer = null;
    slot.listening = false;
    slot.startedAt = Date.now();
    const worker = this.#cluster.fork({ [WORKER_ENV.index]: String(i), [WORKER_ENV.idBlock]: String(this.#nextIdBlock++) });
    slot.worker = worker;
    this.#group.attach(worker, i);
    worker.on('message', (m: { type?: unknown }) => {
      if (m?.type !== LISTENING) return;
      slot.listening = true;
      this.#log.info({ index: i, pid: worker.process.pid }, this.#started ? 'proxy process restarted' : 'proxy process listening');
      if (!this.#started) {
        if (this.#slots.every((s) => s.listening)) this.#startDone?.();
      } else {
        this.onChange?.();
      }
    });
    worker.on('exit', (code, signal) => this.#exited(i, worker, code, signal));
  }

  #exited(i: number, worker: Worker, code: number | null, signal: string | null): void {
    this.#group.detach(worker, i);
    const slot = this.#slots[i]!;
    if (slot.worker !== worker) return;
    slot.worker = null;
    slot.listening = false;
    if (this.#stopping) return;
    const pid = worker.process.pid;
    if (!this.#started) {
      this.#startFailed?.(new ShoalError(ErrorCodes.PROCESS, `proxy process ${i} (pid ${pid}) exited during start (code ${code}, signal ${signal})`));
      return;
    }
    if (Date.now() - slot.startedAt >= STABLE_MS) slot.crashes = 0;
    const delay = Math.min(RESTART_MIN_MS * 2 ** slot.crashes, RESTART_MAX_MS);
    slot.crashes++;
    this.#log.error({ index: i, pid, code, signal, restartInMs: delay, crashesInARow: slot.crashes }, 'proxy process exited; restarting it (the other processes keep serving)');
    this.onChange?.();
    slot.restartTimer = setTimeout(() => {
      if (!this.#stopping) this.#fork(i);
    }, delay);
  }
}
