// A sub-millisecond alarm for the open-loop scheduler that leaves the main thread
// asleep in the event loop: Node's timers have 1 ms granularity, and spinning on
// setImmediate to send on time burns a core that the server under test needs on a
// small machine. A worker thread (wakeup-worker.ts) sleeps in a timed futex wait until
// the armed time and posts one message, which wakes the main thread's epoll like a
// socket would; replies arriving meanwhile wake it the same way, so they are
// timestamped as they arrive. The price is the wake-up's latency (the kernel's timer
// slack, about 50 us, plus a thread hand-off), which the scheduler measures as send
// lag and spends partly by waking early and spinning the last stretch.

import { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';

export const SEQ = 0;
export const STATE = 1;
export const IDLE = 0;
export const ARMED = 1;
export const STOP = 2;

export class Wakeup {
  readonly #ctl = new Int32Array(new SharedArrayBuffer(8));
  readonly #due = new Float64Array(new SharedArrayBuffer(8));
  readonly #worker: Worker;
  readonly #origin = performance.timeOrigin;

  /** `onWake` runs on the main thread when an armed time has come. */
  constructor(onWake: () => void) {
    this.#worker = new Worker(new URL('./wakeup-worker.js', import.meta.url), {
      workerData: { ctl: this.#ctl.buffer, due: this.#due.buffer },
    });
    this.#worker.on('message', onWake);
    this.#worker.unref();
  }

  /** Wake at `at` (performance.now() ms of this thread); replaces an earlier arming. */
  arm(at: number): void {
    this.#due[0] = this.#origin + at;
    Atomics.store(this.#ctl, STATE, ARMED);
    Atomics.add(this.#ctl, SEQ, 1);
    Atomics.notify(this.#ctl, SEQ);
  }

  close(): void {
    Atomics.store(this.#ctl, STATE, STOP);
    Atomics.add(this.#ctl, SEQ, 1);
    Atomics.notify(this.#ctl, SEQ);
    void this.#worker.terminate();
  }
}
