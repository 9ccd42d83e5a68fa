/**
 * IdleCollector: one full V8 garbage collection when a worker goes quiet after a burst.
 *
 * A deep pipeline (a bulk load, redis-benchmark -P 16) leaves the worker holding its
 * last frames, reply buffers and promoted argv Buffers as garbage — megabytes of
 * external memory per worker that V8 frees only at its next major GC, which an idle
 * worker never reaches (nothing allocates). That garbage shows up in RSS as if it were
 * data. So: once the worker has served IDLE_BURST commands and then seen none for
 * IDLE_MS, it collects once. The pause lands when no client is waiting, and is
 * reported in INFO (shoal_idle_gc_*) so it can be watched.
 *
 * `gc` exists because shard/main.ts sets --expose-gc before it starts the workers;
 * without it (a worker started some other way) the collector does nothing.
 */
import { performance } from 'node:perf_hooks';

const IDLE_MS = 1000;
const IDLE_BURST = 10_000;

type GcFunction = () => void;

export class IdleCollector {
  readonly #gc: GcFunction | undefined = (globalThis as { gc?: GcFunction }).gc;
  #seen = 0;
  #sinceCollect = 0;
  #quietSince = 0;
  count = 0;
  lastPauseMs = 0;

  /** Called every tick with the worker's total command count. */
  tick(commands: number, now: number): void {
    if (commands !== this.#seen) {
      this.#sinceCollect += commands - this.#seen;
      this.#seen = commands;
      this.#quietSince = now;
      return;
    }
    if (this.#gc === undefined || this.#sinceCollect < IDLE_BURST || now - this.#quietSince < IDLE_MS) return;
    this.#sinceCollect = 0;
    const t0 = performance.now();
    this.#gc();
    this.lastPauseMs = performance.now() - t0;
    this.count++;
  }
}
