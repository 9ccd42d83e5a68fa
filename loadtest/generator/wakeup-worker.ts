// The open-loop scheduler's alarm clock, in a worker thread (see wakeup.ts): sleeps
// until the armed time with a sub-millisecond futex wait, then wakes the main thread
// with one message. One message per arming, so a busy main thread is not flooded.
//
// Shared control words (Int32Array over the SharedArrayBuffer `ctl`):
//   SEQ    bumped by the main thread on every arm/stop (what this thread waits on)
//   STATE  IDLE | ARMED | STOP; the main thread sets ARMED, this thread takes it back
//          to IDLE (compareExchange) when it posts the wake-up
// and `due` (Float64Array, one slot): the armed time, ms since the Unix epoch
// (performance.timeOrigin + performance.now(): both threads read the same clock).

import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { SEQ, STATE, IDLE, ARMED, STOP } from './wakeup.js';

const { ctl: ctlBuf, due: dueBuf } = workerData as { ctl: SharedArrayBuffer; due: SharedArrayBuffer };
const ctl = new Int32Array(ctlBuf);
const due = new Float64Array(dueBuf);
const origin = performance.timeOrigin;

for (;;) {
  const seq = Atomics.load(ctl, SEQ);
  const state = Atomics.load(ctl, STATE);
  if (state === STOP) break;
  if (state !== ARMED) {
    Atomics.wait(ctl, SEQ, seq);
    continue;
  }
  const wait = (due[0] as number) - (origin + performance.now());
  if (wait > 0) {
    // Re-armed meanwhile (SEQ changed): start over with the new time.
    if (Atomics.wait(ctl, SEQ, seq, wait) !== 'timed-out') continue;
  }
  if (Atomics.compareExchange(ctl, STATE, ARMED, IDLE) === ARMED) parentPort?.postMessage(0);
}
