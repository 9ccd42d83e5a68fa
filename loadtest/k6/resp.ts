// k6 load test over RESP with k6's Redis client (xk6-redis, `k6/x/redis`): a 90/10
// GET/SET mix of 100-byte values over a key space, at a fixed arrival rate, against
// Shoal's proxy (or any Redis).
//
//   k6 run loadtest/k6/resp.ts
//   k6 run -e REDIS_URL=redis://127.0.0.1:6380 -e RATE=5000 -e DURATION=30s -e KEYS=100000 loadtest/k6/resp.ts
//
// k6 1.x resolves `k6/x/redis` itself; older k6 needs a binary built with
// `xk6 build --with github.com/grafana/xk6-redis` (or use `k6/experimental/redis`).
// The latency trends below time each command from the script's side (k6's own
// scheduling included); for percentiles without coordinated omission at high rates,
// use `npm run loadtest -- --rate N` (loadtest/generator).

import redis from 'k6/x/redis';
import { check } from 'k6';
import { Rate, Trend } from 'k6/metrics';
import type { Options } from 'k6/options';

const REDIS_URL = __ENV['REDIS_URL'] || 'redis://127.0.0.1:6380';
const RATE = Number(__ENV['RATE'] || 2000);
const DURATION = __ENV['DURATION'] || '30s';
const KEYS = Number(__ENV['KEYS'] || 100_000);
const VALUE = 'v'.repeat(Number(__ENV['VALUE_SIZE'] || 100));

const client = new redis.Client(REDIS_URL);
const getLatency = new Trend('shoal_get_duration', true);
const setLatency = new Trend('shoal_set_duration', true);
const errors = new Rate('shoal_resp_errors');

export const options: Options = {
  scenarios: {
    mix: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: 50,
      maxVUs: 500,
    },
  },
  thresholds: {
    shoal_resp_errors: ['rate<0.001'],
    shoal_get_duration: ['p(99)<5'],
    shoal_set_duration: ['p(99)<5'],
    dropped_iterations: ['count<1'],
  },
};

const keyName = (i: number) => `key:${String(i).padStart(12, '0')}`;

/** Fills the key space once so GETs hit (runs before the load), 1000 SETs at a time. */
export async function setup(): Promise<void> {
  for (let i = 0; i < KEYS; i += 1000) {
    const batch: Promise<string>[] = [];
    for (let j = i; j < Math.min(KEYS, i + 1000); j++) batch.push(client.set(keyName(j), VALUE, 0));
    await Promise.all(batch);
  }
}

export default async function (): Promise<void> {
  const key = keyName(Math.floor(Math.random() * KEYS));
  const t0 = Date.now();
  try {
    if (Math.random() < 0.9) {
      const v = await client.get(key);
      getLatency.add(Date.now() - t0);
      errors.add(!check(v, { 'GET returns the value': (x) => x === VALUE }));
    } else {
      const ok = await client.set(key, VALUE, 0);
      setLatency.add(Date.now() - t0);
      errors.add(!check(ok, { 'SET returns OK': (x) => x === 'OK' }));
    }
  } catch {
    errors.add(true);
  }
}
