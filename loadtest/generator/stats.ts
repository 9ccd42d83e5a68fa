// What one load run measured: per command, completed requests, errors and an
// HdrHistogram of latencies in microseconds (1 us .. 1 h, 3 significant digits);
// errors by type (the first word of the error reply: ERR, WRONGTYPE, MOVED ...);
// completions per second; and in open-loop mode the scheduler's own send lag.
//
// Replies that arrive in one read share a completion time, and in closed-loop mode the
// requests of one batch share a send time, so consecutive samples are often equal:
// record() run-length encodes them and hands the histograms one recordValueWithCount
// per run instead of one call per request.

import { build, type Histogram } from 'hdr-histogram-js';
import { COMMANDS } from './workload.js';

const NCMD = COMMANDS.length;
const HIGHEST_US = 3_600_000_000;

export function newHistogram(): Histogram {
  return build({
    bitBucketSize: 32, lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_US,
    numberOfSignificantValueDigits: 3, autoResize: true, useWebAssembly: false,
  });
}

export class RunStats {
  /** Per command code; created on first use. */
  readonly histograms: (Histogram | undefined)[] = new Array<Histogram | undefined>(NCMD).fill(undefined);
  /** Latencies since the last takeInterval() (progress lines). */
  interval: Histogram = newHistogram();
  /** Open loop: actual send time - intended send time, us. */
  readonly sendLag: Histogram = newHistogram();
  readonly counts = new Float64Array(NCMD);
  readonly errors = new Float64Array(NCMD);
  readonly errorTypes = new Map<string, number>();
  /** Completions per whole second since the measurement started. */
  readonly perSecond: number[] = [];
  intervalCount = 0;
  /** Open loop: requests still queued in the client (never sent) when the run gave up. */
  unsent = 0;
  intervalErrors = 0;
  /** Time of the last recorded completion (performance.now() ms). */
  lastCompletion = 0;
  readonly #rleValue = new Float64Array(NCMD).fill(-1);
  readonly #rleCount = new Float64Array(NCMD);
  #second = 0;

  constructor(readonly measureStart: number) {}

  /** Sets the completion time of the replies about to be recorded (once per read). */
  at(now: number): void {
    this.lastCompletion = now;
    const s = Math.floor((now - this.measureStart) / 1000);
    this.#second = s < 0 ? 0 : s;
    while (this.perSecond.length <= this.#second) this.perSecond.push(0);
  }

  record(code: number, us: number): void {
    this.counts[code]!++;
    this.intervalCount++;
    this.perSecond[this.#second]!++;
    if (this.#rleValue[code] === us) {
      this.#rleCount[code]!++;
      return;
    }
    this.#flushOne(code);
    this.#rleValue[code] = us;
    this.#rleCount[code] = 1;
  }

  error(code: number, type: string): void {
    this.errors[code]!++;
    this.intervalErrors++;
    this.errorTypes.set(type, (this.errorTypes.get(type) ?? 0) + 1);
  }

  /** Requests that never got a reply (the run ended or the connection broke); code -1: never sent. */
  lost(code: number, type: string, n = 1): void {
    if (code >= 0) this.errors[code]! += n;
    else this.unsent += n;
    this.intervalErrors += n;
    this.errorTypes.set(type, (this.errorTypes.get(type) ?? 0) + n);
  }

  #flushOne(code: number): void {
    const n = this.#rleCount[code]!;
    if (n === 0) return;
    const v = this.#rleValue[code]!;
    let h = this.histograms[code];
    if (h === undefined) this.histograms[code] = h = newHistogram();
    h.recordValueWithCount(v, n);
    this.interval.recordValueWithCount(v, n);
    this.#rleCount[code] = 0;
    this.#rleValue[code] = -1;
  }

  flush(): void {
    for (let c = 0; c < NCMD; c++) this.#flushOne(c);
  }

  /** The interval histogram and counts since the last call, and a fresh interval. */
  takeInterval(): { hist: Histogram; count: number; errors: number } {
    this.flush();
    const out = { hist: this.interval, count: this.intervalCount, errors: this.intervalErrors };
    this.interval = newHistogram();
    this.intervalCount = 0;
    this.intervalErrors = 0;
    return out;
  }

  /** All commands' latencies in one histogram. */
  total(): Histogram {
    this.flush();
    const h = newHistogram();
    for (const x of this.histograms) if (x) h.add(x);
    return h;
  }
}
