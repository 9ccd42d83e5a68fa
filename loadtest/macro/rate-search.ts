// The search of the `maxrate` scenario for one server, apart from any server so it can
// be tested on its own: given the median p99 measured at each rate it asked for, it
// says which rate to try next, and in the end the highest rate that passed.
//
//   up      from `start`, x `factor` per rung while p99 < p99Ms, at most `cap` (the
//           server's closed-loop best: no open-loop rate above it can be served);
//   down    if the first rung fails: / `factor` per rung, not below `floor`;
//   bisect  between the highest passing and the lowest failing rate, `steps` times.
// Rates are whole requests/s. The search assumes p99 grows with the rate; a noisy
// probe that breaks that shows in the probe list it keeps.

export type Phase = 'up' | 'down' | 'bisect';

export interface RateSearchOptions {
  start: number;
  factor: number;
  floor: number;
  steps: number;
  cap: number;
  p99Ms: number;
}

/** What one probe measured (latency.ts's Figure has more). */
export interface ProbeFigure { rate: number; p99: number }

export interface Probe<F extends ProbeFigure> { n: number; phase: Phase; f: F; ok: boolean }

export class RateSearch<F extends ProbeFigure> {
  readonly probes: Probe<F>[] = [];
  /** Highest rate that passed, and lowest that failed, so far. */
  pass: F | undefined;
  fail: F | undefined;
  phase: Phase = 'up';
  /** The rate to probe next; undefined when the search is over. */
  next: number | undefined;
  /** The search ended passing at the cap (no failing rate found): the maximum is at least pass.rate. */
  capped = false;
  private steps = 0;
  /** Whole requests/s, like every rate probed (a fractional cap would be probed forever). */
  private readonly cap: number;

  constructor(private readonly o: RateSearchOptions) {
    this.cap = Math.max(1, Math.floor(o.cap));
    this.next = Math.round(Math.min(o.start, this.cap));
  }

  /** Records probe `n`'s figure (measured at `next`); returns whether it passed. */
  record(n: number, f: F): boolean {
    const ok = f.p99 < this.o.p99Ms;
    this.probes.push({ n, phase: this.phase, f, ok });
    const r = f.rate;
    if (ok && (!this.pass || r > this.pass.rate)) this.pass = f;
    if (!ok && (!this.fail || r < this.fail.rate)) this.fail = f;
    if (this.phase === 'up') {
      if (ok) {
        if (r >= this.cap) { this.capped = true; this.next = undefined; } else this.next = Math.round(Math.min(r * this.o.factor, this.cap));
        return ok;
      }
      this.phase = this.pass ? 'bisect' : 'down';
    } else if (this.phase === 'down') {
      if (ok) this.phase = 'bisect';
    } else {
      this.steps++;
    }
    if (this.phase === 'down') {
      const lower = Math.round(r / this.o.factor);
      this.next = lower >= this.o.floor ? lower : undefined;
    } else {
      const lo = this.pass!.rate, hi = this.fail!.rate;
      const mid = Math.round((lo + hi) / 2);
      this.next = this.steps < this.o.steps && mid > lo && mid < hi ? mid : undefined;
    }
    return ok;
  }

  /** The figure at the lowest rate tried: what is reported when nothing passed. */
  lowest(): F | undefined {
    return this.probes.map((p) => p.f).sort((a, b) => a.rate - b.rate)[0];
  }
}
