/**
 * Per-ACL-user rate limiting (Shoal only; Redis has none): one token bucket per user,
 * shared by every connection of that user in this process.
 *
 * Config (docs/acl.md): rate-limit-ops = commands/s every user may run (0 = no
 * limit), rate-limit-burst = bucket size (0 = one second's worth), rate-limit-users =
 * per-user overrides "alice:1000,bob:50" (0 there = no limit for that user). With N
 * proxy processes each one enforces limit/N (and burst/N), so the cluster-wide rate
 * stays the configured one when a load balancer spreads the user's connections.
 *
 * The clock is the connection's `lastInteraction`, read once per chunk of input by the
 * connection (proxy/client-connection.ts), so a pipelined batch costs no clock reads;
 * a bucket never refills backwards when connections pass slightly different times.
 */

export class TokenBucket {
  tokens: number;
  /** ms of the last refill. */
  last: number;
  constructor(
    /** Tokens per ms for this process. */
    readonly perMs: number,
    readonly burst: number,
    /** The configured cluster-wide limit, for the error text. */
    readonly limit: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /** Takes one token at time `now`; false when the bucket is empty. */
  take(now: number): boolean {
    if (now > this.last) {
      const t = this.tokens + (now - this.last) * this.perMs;
      this.tokens = t < this.burst ? t : this.burst;
      this.last = now;
    }
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }
}

export interface RateLimitSettings {
  /** Commands/s for every user; 0 = unlimited. */
  ops: number;
  /** Bucket size; 0 = the per-second limit. */
  burst: number;
  /** Per-user limits overriding `ops`. */
  users: ReadonlyMap<string, number>;
}

export class RateLimiter {
  #settings: RateLimitSettings = { ops: 0, burst: 0, users: new Map() };
  #processes = 1;
  readonly #buckets = new Map<string, TokenBucket>();

  configure(settings: RateLimitSettings, processes: number): void {
    this.#settings = settings;
    this.#processes = Math.max(1, processes);
    this.#buckets.clear();
  }

  /** The user's configured commands/s (0 = unlimited). */
  limitOf(user: string): number {
    return this.#settings.users.get(user) ?? this.#settings.ops;
  }

  /** The user's bucket in this process, or null when the user is not limited. */
  bucketFor(user: string, now: number): TokenBucket | null {
    const limit = this.limitOf(user);
    if (limit === 0) return null;
    let b = this.#buckets.get(user);
    if (b === undefined) {
      const n = this.#processes;
      const burst = Math.max(1, (this.#settings.burst > 0 ? this.#settings.burst : limit) / n);
      b = new TokenBucket(limit / n / 1000, burst, limit, now);
      this.#buckets.set(user, b);
    }
    return b;
  }

  /** Drops a deleted user's bucket. */
  forget(user: string): void {
    this.#buckets.delete(user);
  }
}
