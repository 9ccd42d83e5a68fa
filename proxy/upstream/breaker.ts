/**
 * LinkBreaker: the circuit breaker (opossum) in front of one shard worker link.
 *
 * What opossum sees is one call per flushed batch, never one per command: WorkerLink
 * fires the breaker once per flush with a Flight (the batch's replies still to come),
 * and the Flight settles when the last reply arrives (success), when the worker socket
 * breaks (failure) or when the batch has waited `breaker-timeout-ms` (failure; its
 * requests keep waiting for their replies until `upstream-timeout-ms`). So the breaker
 * costs one opossum call (one promise inside opossum) and no timer per batch, whatever its size; the
 * link's existing 100 ms sweep does the timing (docs/resilience.md has the numbers).
 *
 *   closed ──error rate > breaker-error-percentage over breaker-window-ms (at least
 *   │        breaker-volume-threshold batches), or the worker connection lost──▶ open
 *   open ──breaker-reset-ms──▶ half-open: the next batch is the probe, later ones fail
 *   half-open ──probe answered──▶ closed      half-open ──probe failed──▶ open
 *
 * While the worker cannot be reached at all the breaker stays open: a half-open
 * moment with the connection down re-opens at once, quietly, and the probe waits for a
 * reconnect. Each real transition logs one line.
 */
import CircuitBreaker from 'opossum';
import type { Logger } from '../../shared/log.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerSettings {
  errorPercentage: number;
  timeoutMs: number;
  resetMs: number;
  volumeThreshold: number;
  windowMs: number;
}

/**
 * One flushed batch between the proxy and a worker: `remaining` replies still to come.
 * Settled once: succeed() after the last reply, fail() on timeout or a broken socket.
 *
 * It is its own thenable (opossum's action returns it and opossum attaches its
 * handlers with then/catch), so settling calls opossum's handlers directly, with no
 * promise of ours per batch.
 */
export class Flight implements PromiseLike<void> {
  remaining: number;
  readonly sentAt: number;
  settled = false;
  /** The breaker took it (opossum ran the action). */
  started = false;
  #onSuccess: ((value: void) => unknown) | null = null;
  #onFailure: ((err: unknown) => unknown) | null = null;

  constructor(count: number, sentAt: number) {
    this.remaining = count;
    this.sentAt = sentAt;
  }

  then<A = void, B = never>(onSuccess?: ((value: void) => A | PromiseLike<A>) | null, onFailure?: ((err: unknown) => B | PromiseLike<B>) | null): PromiseLike<A | B> {
    if (onSuccess) this.#onSuccess = onSuccess;
    if (onFailure) this.#onFailure = onFailure;
    return this as unknown as PromiseLike<A | B>;
  }

  catch(onFailure: (err: unknown) => unknown): this {
    this.#onFailure = onFailure;
    return this;
  }

  succeed(): void {
    if (this.settled) return;
    this.settled = true;
    this.#onSuccess?.(undefined);
  }

  fail(err: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.#onFailure?.(err);
  }
}

/** opossum's action: the batch's outcome. */
function awaitFlight(f: Flight): Promise<void> {
  f.started = true;
  return f as unknown as Promise<void>;
}

const ignoreOutcome = (): undefined => undefined;

export class LinkBreaker {
  state: BreakerState = 'closed';
  /** A batch may be sent now: closed, or half-open with the probe not taken yet. */
  admitting = true;
  readonly #cb: CircuitBreaker<[Flight], void>;
  readonly #log: Logger;
  readonly #isConnected: () => boolean;
  readonly #onChange: () => void;
  #tripReason: string | null = null;

  /**
   * `isConnected` says whether the link can carry a probe now; `onChange` runs after
   * every change of `state` or `admitting`.
   */
  constructor(label: string, settings: BreakerSettings, log: Logger, isConnected: () => boolean, onChange: () => void) {
    this.#log = log;
    this.#isConnected = isConnected;
    this.#onChange = onChange;
    this.#cb = new CircuitBreaker(awaitFlight, {
      name: label,
      timeout: false, // the link's sweep times batches; no timer per call
      errorThresholdPercentage: settings.errorPercentage,
      resetTimeout: settings.resetMs,
      volumeThreshold: settings.volumeThreshold,
      rollingCountTimeout: settings.windowMs,
      rollingCountBuckets: 10,
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
    });
    // Outcomes are delivered through the Flight; the fallback only keeps opossum's
    // promise from rejecting unhandled.
    this.#cb.fallback(ignoreOutcome);
    this.#cb.on('open', () => this.#enter('open'));
    this.#cb.on('close', () => this.#enter('closed'));
    this.#cb.on('halfOpen', () => {
      if (!this.#isConnected()) {
        this.#cb.open(); // still unreachable: stay open, try again after the next reset
        return;
      }
      this.#enter('half-open');
    });
  }

  /**
   * Sends one batch through the breaker. Returns false when the breaker refused it
   * (open, or a probe already out): the caller fails the batch's requests.
   */
  fire(flight: Flight): boolean {
    void this.#cb.fire(flight);
    if (this.state === 'half-open' && this.admitting && !this.#cb.pendingClose) {
      this.admitting = false; // the probe is out; the rest wait for its outcome
      this.#onChange();
    }
    return flight.started;
  }

  /** Opens the breaker now: the worker connection broke or could not be made. */
  trip(reason: string): void {
    if (this.state === 'open' || this.#cb.isShutdown) return;
    this.#tripReason = reason;
    this.#cb.open();
  }

  shutdown(): void {
    this.#cb.shutdown();
  }

  #enter(next: BreakerState): void {
    const prev = this.state;
    this.state = next;
    this.admitting = next !== 'open';
    this.#onChange();
    if (prev === next) return;
    if (next === 'open') {
      let reason = this.#tripReason;
      if (reason === null) {
        const s = this.#cb.stats;
        reason = prev === 'half-open' ? 'probe failed' : `${s.failures} of ${s.fires} batches failed`;
      }
      this.#tripReason = null;
      this.#log.warn({ breaker: 'open', from: prev, reason }, 'circuit open: requests for this worker fail fast');
    } else if (next === 'half-open') {
      this.#log.info({ breaker: 'half-open', from: prev }, 'circuit half-open: probing the worker');
    } else {
      this.#log.info({ breaker: 'closed', from: prev }, 'circuit closed: worker answering again');
    }
  }
}
