/**
 * ActiveExpire: deletes keys whose TTL passed even if nobody reads them, in the manner
 * of Redis's activeExpireCycle. Each tick samples up to SAMPLES keys that carry a TTL
 * and deletes the expired ones; while more than STALE_PERCENT of a sample was expired
 * it samples again, until the tick's time budget is spent.
 *
 * The worker calls `cycle()` every TICK_MS with a budget of BUDGET_MS, so active expiry
 * takes at most BUDGET_MS / TICK_MS (25 %, as Redis's default effort) of the worker's
 * time and no command waits more than ~BUDGET_MS for it.
 */
import type { Keyspace } from './keyspace.js';

export const TICK_MS = 10;
export const BUDGET_MS = 2.5;
const SAMPLES = 20;
const STALE_PERCENT = 10;

export class ActiveExpire {
  readonly #ks: Keyspace;
  /** Running estimate of the share of sampled keys that were already expired (INFO expired_stale_perc). */
  stalePerc = 0;
  /** Ticks that stopped because the time budget ran out (INFO expired_time_cap_reached_count). */
  timeCapReached = 0;

  constructor(ks: Keyspace) {
    this.#ks = ks;
  }

  cycle(budgetMs = BUDGET_MS): void {
    const ks = this.#ks;
    const vol = ks.volatile;
    if (vol.size === 0) return;
    ks.setNow(Date.now());
    const start = performance.now();
    for (;;) {
      let sampled = 0;
      let expired = 0;
      for (let i = 0; i < SAMPLES && vol.size > 0; i++) {
        const ref = vol.randomRef();
        if (ref === 0) break;
        sampled++;
        if (ks.expireAt(ref) <= ks.now) {
          ks.expire(ref);
          expired++;
        }
      }
      if (sampled > 0) this.stalePerc = (expired / sampled) * 0.05 + this.stalePerc * 0.95;
      if (sampled === 0 || expired * 100 <= sampled * STALE_PERCENT) return;
      if (performance.now() - start > budgetMs) {
        this.timeCapReached++;
        return;
      }
    }
  }
}
