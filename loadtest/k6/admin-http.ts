// k6 load test of Shoal's admin HTTP endpoints (proxy/http.ts): /healthz, /readyz and
// /metrics at a fixed arrival rate (open model: k6 starts requests on schedule whether
// or not earlier ones finished, so a slow endpoint shows in the latencies).
//
//   k6 run loadtest/k6/admin-http.ts
//   k6 run -e BASE_URL=http://127.0.0.1:8080 -e ADMIN_TOKEN=secret -e RATE=200 -e DURATION=30s loadtest/k6/admin-http.ts
//
// ADMIN_TOKEN is sent as `Authorization: Bearer ...` to /metrics when Shoal runs with
// admin-token set. Thresholds: see `options` (k6 exits 99 when one is crossed).

import http from 'k6/http';
import { check } from 'k6';
import { Rate } from 'k6/metrics';
import type { Options } from 'k6/options';

const BASE_URL = __ENV['BASE_URL'] || 'http://127.0.0.1:8080';
const TOKEN = __ENV['ADMIN_TOKEN'] || '';
const RATE = Number(__ENV['RATE'] || 100);
const DURATION = __ENV['DURATION'] || '30s';

/** Requests whose status or body was wrong (a 200 with the wrong body counts too). */
const badReplies = new Rate('shoal_admin_bad_replies');

export const options: Options = {
  scenarios: {
    admin: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: 20,
      maxVUs: 200,
    },
  },
  thresholds: {
    http_req_failed: ['rate<0.01'],
    'http_req_duration{endpoint:healthz}': ['p(99)<20'],
    'http_req_duration{endpoint:readyz}': ['p(99)<100'],
    'http_req_duration{endpoint:metrics}': ['p(99)<200'],
    shoal_admin_bad_replies: ['rate<0.01'],
    dropped_iterations: ['count<1'],
  },
};

export default function (): void {
  const healthz = http.get(`${BASE_URL}/healthz`, { tags: { endpoint: 'healthz' } });
  badReplies.add(!check(healthz, {
    'healthz 200': (r) => r.status === 200,
    'healthz says ok': (r) => typeof r.body === 'string' && r.body.includes('"status":"ok"'),
  }));

  const readyz = http.get(`${BASE_URL}/readyz`, { tags: { endpoint: 'readyz' } });
  badReplies.add(!check(readyz, { 'readyz 200': (r) => r.status === 200 }));

  const headers: Record<string, string> = TOKEN ? { Authorization: `Bearer ${TOKEN}` } : {};
  const metrics = http.get(`${BASE_URL}/metrics`, { headers, tags: { endpoint: 'metrics' } });
  badReplies.add(!check(metrics, {
    'metrics 200': (r) => r.status === 200,
    'metrics is Prometheus text': (r) => typeof r.body === 'string' && /^# (HELP|TYPE) /m.test(r.body),
  }));
}
