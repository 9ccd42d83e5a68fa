// Open-loop load: requests at a fixed rate on a timeline, whatever the server does.
//
// Request i (i = 0, 1, 2 ...) has the intended send time t0 + i / rate, and goes to
// connection i mod C (round robin, so each connection carries rate / C, evenly
// interleaved with the others). Its latency is measured from that intended time, not
// from when it was written: if the server stalls for 200 ms, the requests scheduled
// during the stall wait, and each one's latency includes its wait. A closed-loop
// generator would simply not send them and report a few slow requests among many fast
// ones ("coordinated omission"); here the stall shows in p99.9 as it would for real
// clients arriving at that rate.
//
// The scheduler wakes, enqueues every request due by now on its connection, and
// flushes each touched connection with one write (so requests due in the same turn
// share a write, and the generator batches more when it falls behind instead of
// dropping the rate). With --pipeline P a connection writes at most P unanswered
// requests and the rest wait in its queue with their intended times (a client pool
// with a bounded pipeline); by default there is no such cap.
//
// Waiting for the next request (Node's timers have 1 ms granularity, too coarse):
//   - 'sleep' (default): the main thread stays asleep in the event loop and a worker
//     thread's sub-millisecond alarm (wakeup.ts) wakes it EARLY_MS before the next
//     request is due; the last stretch is spun on setImmediate. Replies wake the loop
//     as they arrive. Costs a wake-up (~0.1 ms on a VM: timer slack, thread hand-off)
//     in the send lag, but no core: on a small machine the server under test keeps
//     the CPU it needs;
//   - 'spin' (--spin): the lowest send lag. While requests are in flight spin on
//     setImmediate (which polls the sockets every turn); when none are, no reply can
//     arrive, so sleep in Atomics.wait until 0.1 ms before the due time and spin the
//     rest (a sleep ends up to ~50 us late); gaps over 2 ms use a timer. Takes a full
//     core at rates where something is always in flight, and a process that spins is
//     the one the kernel preempts for long stretches when the CPUs are oversubscribed.
// Whatever lag remains (the generator's own delay: event loop, GC, CPU) counts in the
// latencies, and is reported apart as the send lag: when the scheduler got to each
// request versus its intended time (time spent in a connection's queue behind the
// pipeline cap is not lag, it is the client's queue).

import { performance } from 'node:perf_hooks';
import type { Histogram } from 'hdr-histogram-js';
import type { LoadConnection } from './connection.js';
import { newHistogram } from './stats.js';
import { Wakeup } from './wakeup.js';

/** What the scheduler needs from the run. */
interface ScheduleTarget {
  issuing: boolean;
  /** Requests scheduled and not answered yet (queued or in flight). */
  readonly outstanding: number;
  scheduled(n: number): void;
  stopIssuing(): void;
}

/** How the scheduler waits for the next request's time (see the file comment). */
export type WaitMode = 'sleep' | 'spin';

const TIMER_BEYOND_MS = 2;
/** sleep mode: the alarm is set this much before the due time, the rest is spun. */
const EARLY_MS = 0.05;
/** A sleep ends this much before the due time (timer slack + wake-up), the rest is spun. */
const SLEEP_MARGIN_MS = 0.1;
const sleepCell = new Int32Array(new SharedArrayBuffer(4));

export class OpenLoopScheduler {
  /** Intended time of the first measured request (after warm-up). */
  readonly measureStart: number;
  readonly #conns: LoadConnection[];
  readonly #perMs: number;
  readonly #t0: number;
  readonly #total: number;
  readonly #dirty: LoadConnection[];
  #next = 0;
  #run: ScheduleTarget | null = null;
  #lag: Histogram = newHistogram();
  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  readonly #tick = () => this.tick();
  readonly #mode: WaitMode;
  #wakeup: Wakeup | undefined;

  /**
   * `measured`: measured request count (byCount) or measured seconds x rate; requests
   * before the first measured one (warm-up seconds x rate) are sent but not recorded.
   */
  constructor(conns: LoadConnection[], rate: number, t0: number, warmupSec: number, measured: number, byCount: boolean,
    mode: WaitMode = 'sleep') {
    this.#mode = mode;
    if (!(rate > 0)) throw new RangeError(`open loop: rate must be > 0, got ${rate}`);
    this.#conns = conns;
    this.#perMs = rate / 1000;
    this.#t0 = t0;
    const warm = Math.ceil(warmupSec * rate);
    this.#total = warm + (byCount ? measured : Math.floor(measured));
    this.measureStart = t0 + warm / this.#perMs;
    this.#dirty = [];
  }

  /** Intended send time of request i. */
  intended(i: number): number {
    return this.#t0 + i / this.#perMs;
  }

  start(run: ScheduleTarget, lag: Histogram): void {
    this.#run = run;
    this.#lag = lag;
    if (this.#mode === 'sleep') this.#wakeup = new Wakeup(this.#tick);
    this.tick();
  }

  stop(): void {
    clearTimeout(this.#timer);
    if (this.#immediate) clearImmediate(this.#immediate);
    this.#wakeup?.close();
    this.#wakeup = undefined;
    this.#run = null;
  }

  tick(): void {
    this.#timer = undefined;
    this.#immediate = undefined;
    const run = this.#run;
    if (run === null || !run.issuing) return;
    const now = performance.now();
    let due = Math.floor((now - this.#t0) * this.#perMs) + 1;
    if (due > this.#total) due = this.#total;
    const conns = this.#conns;
    const c = conns.length;
    const dirty = this.#dirty;
    let nDirty = 0;
    const first = this.#next;
    const lag = this.#lag;
    const measureStart = this.measureStart;
    for (let i = first; i < due; i++) {
      const conn = conns[i % c]!;
      const intended = this.#t0 + i / this.#perMs;
      conn.enqueue(intended);
      if (intended >= measureStart) lag.recordValue(Math.round((now - intended) * 1000));
      if (!conn.dirty) {
        conn.dirty = true;
        dirty[nDirty++] = conn;
      }
    }
    if (due > first) {
      this.#next = due;
      run.scheduled(due - first);
    }
    for (let k = 0; k < nDirty; k++) {
      const conn = dirty[k]!;
      conn.dirty = false;
      conn.flush();
    }
    if (this.#next >= this.#total) {
      this.#wakeup?.close();
      this.#wakeup = undefined;
      run.stopIssuing();
      return;
    }
    const at = this.intended(this.#next);
    const wait = at - performance.now();
    if (this.#wakeup !== undefined) {
      if (wait > EARLY_MS) this.#wakeup.arm(at - EARLY_MS);
      else this.#immediate = setImmediate(this.#tick);
      return;
    }
    if (wait > TIMER_BEYOND_MS) {
      this.#timer = setTimeout(this.#tick, wait - 1);
      return;
    }
    if (run.outstanding === 0 && wait > 2 * SLEEP_MARGIN_MS) Atomics.wait(sleepCell, 0, 0, wait - SLEEP_MARGIN_MS);
    this.#immediate = setImmediate(this.#tick);
  }
}
