// Random numbers for the load generator: a seeded PRNG (same seed, same request
// stream) and the key-index samplers behind `--dist uniform|zipf`.
//
// Zipf uses rejection-inversion sampling (W. Hörmann, G. Derflinger, "Rejection-
// inversion to generate variates from monotone discrete distributions", 1996): O(1)
// setup and O(1) expected time per sample for any key count and any exponent s > 0,
// including the s < 1 of a typical cache trace (0.99), with no table. A sampler that
// precomputes zeta(n, s) (YCSB's) costs O(n) at start and is only approximate for
// s != its fixed theta; a CDF table costs 8 bytes per key.

/** mulberry32: 32-bit state, fast, good enough for workload generation (not crypto). */
export class Rng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }
}

/** Draws key indexes in [0, n). */
export interface KeySampler {
  sample(): number;
}

export class UniformSampler implements KeySampler {
  constructor(readonly n: number, private readonly rng: Rng) {}

  sample(): number {
    return Math.floor(this.rng.next() * this.n);
  }
}

/** log1p(x) / x, accurate near 0. */
function helper1(x: number): number {
  return Math.abs(x) > 1e-8 ? Math.log1p(x) / x : 1 - x * (0.5 - x * (1 / 3 - 0.25 * x));
}

/** expm1(x) / x, accurate near 0. */
function helper2(x: number): number {
  return Math.abs(x) > 1e-8 ? Math.expm1(x) / x : 1 + x * 0.5 * (1 + (x / 3) * (1 + 0.25 * x));
}

/**
 * P(rank k) proportional to 1 / k^s for k in 1..n; sample() returns k - 1, so index 0
 * is the hottest key. Ranks are not scrambled: key names hash to slots anyway, so the
 * hot keys are spread over the workers like any other.
 */
export class ZipfSampler implements KeySampler {
  readonly #n: number;
  readonly #s: number;
  readonly #hX1: number;
  readonly #hN: number;
  readonly #threshold: number;

  constructor(n: number, s: number, private readonly rng: Rng) {
    if (!(n >= 1)) throw new RangeError(`zipf: key count must be >= 1, got ${n}`);
    if (!(s > 0)) throw new RangeError(`zipf: skew must be > 0, got ${s}`);
    this.#n = n;
    this.#s = s;
    this.#hX1 = this.#hIntegral(1.5) - 1;
    this.#hN = this.#hIntegral(n + 0.5);
    this.#threshold = 2 - this.#hIntegralInverse(this.#hIntegral(2.5) - this.#h(2));
  }

  /** Integral of x^-s from 1 (up to a constant): (x^(1-s) - 1) / (1 - s), log x at s = 1. */
  #hIntegral(x: number): number {
    const logX = Math.log(x);
    return helper2((1 - this.#s) * logX) * logX;
  }

  #h(x: number): number {
    return Math.exp(-this.#s * Math.log(x));
  }

  #hIntegralInverse(x: number): number {
    let t = x * (1 - this.#s);
    if (t < -1) t = -1; // rounding near the lower end
    return Math.exp(helper1(t) * x);
  }

  sample(): number {
    for (;;) {
      const u = this.#hN + this.rng.next() * (this.#hX1 - this.#hN);
      const x = this.#hIntegralInverse(u);
      let k = Math.floor(x + 0.5);
      if (k < 1) k = 1;
      else if (k > this.#n) k = this.#n;
      if (k - x <= this.#threshold || u >= this.#hIntegral(k + 0.5) - this.#h(k)) return k - 1;
    }
  }
}
