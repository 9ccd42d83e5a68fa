/**
 * Evictor: keeps a worker's used memory under its share of `maxmemory` by deleting
 * keys chosen by the configured policy, with Redis's sampled approximation:
 *
 * - Each round samples `maxmemory-samples` items (from all keys, or from the keys
 *   with a TTL for volatile-*): consecutive index buckets, as Redis's dictGetSomeKeys,
 *   each round going on where the last one stopped (HashIndex.sampleNext, no cache
 *   miss). It scores them (idle seconds for LRU, 255 - decayed counter for LFU, time
 *   to expiry reversed for volatile-ttl) and merges them into an eviction pool of the
 *   16 best candidates seen so far; the best live one is evicted.
 *   The pool survives between commands, which is what makes the approximation good.
 * - `allkeys-random` / `volatile-random` evict a uniformly random item.
 * - `noeviction` evicts nothing: the write gets the OOM error.
 *
 * Pool entries are (Ref, hash) pairs in typed arrays, both from the index walk that
 * sampled them: a candidate is evicted only if the index still holds that Ref under
 * that hash, i.e. the same key is still live (as Redis, which finds a pooled key again
 * by name, a key written since it was sampled may still go). No item is read to pool
 * a candidate, no key bytes are copied and nothing is allocated per eviction.
 *
 * Owner-only (the worker thread). Bound: one call evicts until the write fits or
 * MAX_EVICTIONS_PER_CALL keys went (a guess sized to keep one command under ~1 ms).
 */
import type { Keyspace } from './keyspace.js';
import type { HashIndex } from './index/hash-index.js';

export const EVICTION_POLICIES = [
  'noeviction', 'allkeys-lru', 'allkeys-lfu', 'allkeys-random',
  'volatile-lru', 'volatile-lfu', 'volatile-random', 'volatile-ttl',
] as const;
export type EvictionPolicy = (typeof EVICTION_POLICIES)[number];

const POOL_SIZE = 16;
/** How pick() scores a sample (set with the policy, so the hot path compares no strings). */
const SCORE_IDLE = 0;
const SCORE_LFU = 1;
const SCORE_TTL = 2;
const MAX_EVICTIONS_PER_CALL = 2000;
/** maxmemory-samples accepts up to INT_MAX as Redis 7.0; sampling beyond this adds nothing but time. */
const MAX_SAMPLES = 1024;

export class Evictor {
  readonly #ks: Keyspace;
  #policy: EvictionPolicy = 'noeviction';
  /** Derived from the policy: sample the volatile index, evict at random, how to score. */
  #volatile = false;
  #random = false;
  #scoreBy = SCORE_IDLE;
  samples = 5;
  /** Bytes this worker may use; 0 = no limit. */
  limit = 0;
  // Eviction pool sorted by score ascending: the best candidate is at count - 1.
  readonly #refs = new Int32Array(POOL_SIZE);
  readonly #hashes = new Int32Array(POOL_SIZE);
  readonly #scores = new Float64Array(POOL_SIZE);
  #count = 0;
  /** One round's sampled refs (HashIndex.sampleNext), their hashes, index aux words (access words) and scores. */
  readonly #sample = new Int32Array(MAX_SAMPLES);
  readonly #sampleHashes = new Int32Array(MAX_SAMPLES);
  readonly #sampleWords = new Int32Array(MAX_SAMPLES);
  readonly #sampleScores = new Float64Array(MAX_SAMPLES);

  constructor(ks: Keyspace) {
    this.#ks = ks;
  }

  get policy(): EvictionPolicy {
    return this.#policy;
  }

  set policy(p: EvictionPolicy) {
    this.#policy = p;
    this.#volatile = p.startsWith('volatile-');
    this.#random = p === 'allkeys-random' || p === 'volatile-random';
    this.#scoreBy = p === 'volatile-ttl' ? SCORE_TTL : p === 'allkeys-lfu' || p === 'volatile-lfu' ? SCORE_LFU : SCORE_IDLE;
    this.#count = 0;
    this.#ks.lfu = p === 'allkeys-lfu' || p === 'volatile-lfu';
  }

  /**
   * Evicts until used memory plus `need` bytes fits the limit. False only when it
   * cannot: the policy is noeviction, or no candidate is left (volatile-* with no TTL
   * keys). When the per-call bound stops it while keys are still going (an index
   * doubling can add megabytes at once), it returns true, as Redis's EVICT_RUNNING
   * does, and the worker's timer keeps evicting (`tick`).
   */
  makeRoom(need: number): boolean {
    const ks = this.#ks;
    if (this.limit === 0 || ks.usedBytes + need <= this.limit) return true;
    if (this.#policy === 'noeviction') return false;
    for (let n = 0; n < MAX_EVICTIONS_PER_CALL; n++) {
      const ref = this.pick();
      if (ref === 0) return false;
      ks.evict(ref);
      if (ks.usedBytes + need <= this.limit) return true;
    }
    return true;
  }

  /**
   * Evicts one key other than `avoid` (the item a write is replacing) by the policy,
   * for when the arena itself is out of pages (a single size class cannot take pages
   * from others). False under noeviction or when nothing is left to evict.
   */
  evictOne(avoid: number): boolean {
    if (this.limit === 0 || this.#policy === 'noeviction') return false;
    for (let tries = 0; tries < 8; tries++) {
      const ref = this.pick();
      if (ref === 0) return false;
      if (ref === avoid) continue;
      this.#ks.evict(ref);
      return true;
    }
    return false;
  }

  /** Background eviction between commands (worker timer), bounded like one call. */
  tick(): void {
    if (this.limit !== 0 && this.#policy !== 'noeviction') this.makeRoom(0);
  }

  /** True when used memory is over the limit (for INFO and the OOM check of reads). */
  get over(): boolean {
    return this.limit !== 0 && this.#ks.usedBytes > this.limit;
  }

  private source(): HashIndex {
    return this.#volatile ? this.#ks.volatile : this.#ks.index;
  }

  private pick(): number {
    const src = this.source();
    if (src.size === 0) return 0;
    if (this.#random) return src.randomRef();
    const ks = this.#ks;
    const sample = this.#sample;
    const scores = this.#sampleScores;
    const want = Math.min(this.samples, MAX_SAMPLES);
    let n: number;
    if (!this.#volatile && this.#scoreBy !== SCORE_TTL) {
      // allkeys-lru/lfu: the main index keeps each entry's access word (its aux), so
      // the walk that found the samples scores them, with no item read.
      const words = this.#sampleWords;
      n = src.sampleNext(sample, want, this.#sampleHashes, words);
      if (this.#scoreBy === SCORE_IDLE) {
        const clock = ks.lruClock;
        for (let i = 0; i < n; i++) scores[i] = (clock - words[i]!) >>> 0;
      } else {
        for (let i = 0; i < n; i++) scores[i] = 255 - ks.lfuDecayed(words[i]!);
      }
    } else {
      n = src.sampleNext(sample, want, this.#sampleHashes);
      // Each score is a read of a random item (a cache miss): in this tight loop the
      // reads are independent, so the CPU overlaps their misses.
      for (let i = 0; i < n; i++) scores[i] = this.score(sample[i]!);
    }
    const hashes = this.#sampleHashes;
    for (let i = 0; i < n; i++) this.offer(sample[i]!, hashes[i]!, scores[i]!);
    while (this.#count > 0) {
      const i = --this.#count;
      const ref = this.#refs[i]!;
      if (src.holds(this.#hashes[i]!, ref)) return ref;
    }
    return src.randomRef();
  }

  /** Higher = better to evict. */
  private score(ref: number): number {
    const ks = this.#ks;
    if (this.#scoreBy === SCORE_IDLE) return ks.idleSeconds(ref);
    if (this.#scoreBy === SCORE_LFU) return 255 - ks.lfuDecayed(ks.lruWord(ref));
    return -ks.expireAt(ref);
  }

  /** Inserts a candidate into the sorted pool (dropping the worst when full). */
  private offer(ref: number, hash: number, score: number): void {
    const refs = this.#refs;
    // Not better than the worst of a full pool: dropped (checked first: most samples are).
    if (this.#count === POOL_SIZE && !(this.#scores[0]! < score)) return;
    for (let i = 0; i < this.#count; i++) if (refs[i] === ref) return;
    let pos = 0;
    while (pos < this.#count && this.#scores[pos]! < score) pos++;
    if (this.#count === POOL_SIZE) {
      if (pos === 0) return; // worse than everything in a full pool
      // Drop the worst (index 0) and shift left up to pos.
      for (let i = 0; i < pos - 1; i++) this.move(i + 1, i);
      pos--;
    } else {
      for (let i = this.#count; i > pos; i--) this.move(i - 1, i);
      this.#count++;
    }
    refs[pos] = ref;
    this.#hashes[pos] = hash;
    this.#scores[pos] = score;
  }

  private move(from: number, to: number): void {
    this.#refs[to] = this.#refs[from]!;
    this.#hashes[to] = this.#hashes[from]!;
    this.#scores[to] = this.#scores[from]!;
  }
}
