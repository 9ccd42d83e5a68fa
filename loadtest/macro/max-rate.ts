// Scenario `maxrate` (issue 9's figure): the highest offered rate at which Shoal through
// the proxy keeps p99 < LAT_P99_MS (1 ms) on a 90/10 GET/SET mix of 100-byte values,
// the same for a redis-server, their ratio, and every percentile (p99.9 in the table)
// at half of Shoal's maximum. Open loop, with the load generator in this process (the
// runs, workload and knobs of latency.ts).
//
// The search, per server, probes interleaved with the other server's (one set of
// LAT_ROUNDS counter-balanced runs per probe; the median p99 decides):
//   1. coarse ladder: MAXRATE_START, x MAXRATE_FACTOR per rung while p99 passes, up to
//      the server's best closed-loop run (no open-loop rate can be served above it);
//      if the first rung already fails, down by the same factor to MAXRATE_FLOOR;
//   2. bisection between the highest passing and the lowest failing rate,
//      MAXRATE_STEPS steps (resolution: the ladder gap / 2^steps).
// A p99 that is not monotonic in the rate (noise on a busy box) can mislead the
// bisection; the search table shows every probe, so such a case is visible.
// If a server fails at every rate tried, the section says so and gives the p99 at the
// lowest rate tried instead of a maximum.

import os from 'node:os';
import { die, envNum, fmt, log, mdTable, textTable, type Section, type Target } from './harness.js';
import {
  P99_MS, ROUNDS, SERVER_NAMES, closedLoop, interleaved, methodText, ms3, percentileTable, r0, withServers, type Figure,
} from './latency.js';
import { RateSearch } from './rate-search.js';

const START = envNum('MAXRATE_START', 1000);
const FACTOR = envNum('MAXRATE_FACTOR', 2);
const FLOOR = envNum('MAXRATE_FLOOR', 250);
const STEPS = Math.max(0, Math.floor(envNum('MAXRATE_STEPS', 4)));

export const MAXRATE_KNOBS = ['MAXRATE_START', 'MAXRATE_FACTOR', 'MAXRATE_FLOOR', 'MAXRATE_STEPS'];

export async function runMaxRate(): Promise<Section> {
  if (!(P99_MS > 0)) die('LAT_P99_MS must be > 0', 1);
  if (!(FACTOR > 1)) die('MAXRATE_FACTOR must be > 1', 1);
  if (!(START > 0) || !(FLOOR > 0) || FLOOR > START) die('MAXRATE_START and MAXRATE_FLOOR must be > 0, with MAXRATE_FLOOR <= MAXRATE_START', 1);
  return withServers(async (targets) => {
    const [shoal, redis] = targets as [Target, Target];
    const closed = await closedLoop(targets);
    log(`closed-loop max (the search's ceiling): ${shoal.label} best ${r0(closed[0]!.opsMax)}/s, redis best ${r0(closed[1]!.opsMax)}/s`);
    const searches = closed.map((f) => new RateSearch<Figure>({ start: START, factor: FACTOR, floor: FLOOR, steps: STEPS, cap: f.opsMax, p99Ms: P99_MS }));
    for (let n = 1; searches.some((s) => s.next !== undefined); n++) {
      const rates = searches.map((s) => s.next);
      const phases = searches.map((s) => s.phase);
      const figs = await interleaved(targets, rates, `maxrate probe ${n}`);
      const parts = searches.map((s, i) => {
        const f = figs[i];
        if (!f) return `${SERVER_NAMES[i]} done`;
        const ok = s.record(n, f);
        return `${SERVER_NAMES[i]} ${r0(f.rate)}/s (${phases[i]}) p99 ${ms3(f.p99)} ms ${ok ? 'pass' : 'FAIL'}`;
      });
      log(`maxrate probe ${n}: ${parts.join('; ')}`);
    }
    const best = searches.map((s) => s.pass?.rate);
    // Half of Shoal's maximum, or (nothing passed) the lowest rate Shoal was tried at.
    const shoalMax = best[0];
    const atRate = shoalMax !== undefined ? shoalMax / 2 : (searches[0]!.lowest()?.rate ?? FLOOR);
    const at = (await interleaved(targets, [atRate, atRate],
      shoalMax !== undefined ? `half of ${shoal.label}'s max` : `${shoal.label}'s lowest rate tried`)) as Figure[];
    log(`maxrate: ${searches.map((s, i) => `${SERVER_NAMES[i]} ${s.pass ? `${r0(s.pass.rate)}/s` : 'no rate passed'}`).join(', ')}`);
    return section(shoal, redis, closed, searches, atRate, at);
  });
}

function section(shoal: Target, redis: Target, closed: Figure[], searches: RateSearch<Figure>[], atRate: number, at: Figure[]): Section {
  const names = SERVER_NAMES;
  const shoalMax = searches[0]!.pass?.rate;
  const redisMax = searches[1]!.pass?.rate;
  const ratio = shoalMax !== undefined && redisMax !== undefined ? shoalMax / redisMax : NaN;
  const maxCell = (s: RateSearch<Figure>) => {
    if (!s.pass) return `none (p99 ${ms3(s.lowest()?.p99 ?? NaN)} ms at the lowest rate tried, ${r0(s.lowest()?.rate ?? NaN)}/s)`;
    return `${s.capped ? '>= ' : ''}${r0(s.pass.rate)}`;
  };
  const atLabel = shoalMax !== undefined ? `half of Shoal's max` : `the lowest rate Shoal was tried at`;
  const head = ['figure', names[0]!, names[1]!, 'shoal/redis'];
  const rows = [
    [`max rate with p99 < ${P99_MS} ms (ops/s)`, maxCell(searches[0]!), maxCell(searches[1]!), fmt(ratio, 3)],
    ['  its p99 (ms)', ms3(searches[0]!.pass?.p99 ?? NaN), ms3(searches[1]!.pass?.p99 ?? NaN), ''],
    [`  lowest failing rate tried (ops/s)`, r0(searches[0]!.fail?.rate ?? NaN), r0(searches[1]!.fail?.rate ?? NaN), ''],
    [`p99.9 at ${r0(atRate)}/s = ${atLabel} (ms)`, ms3(at[0]!.p999), ms3(at[1]!.p999), fmt(at[0]!.p999 / at[1]!.p999, 2)],
    [`p99 at ${r0(atRate)}/s (ms)`, ms3(at[0]!.p99), ms3(at[1]!.p99), fmt(at[0]!.p99 / at[1]!.p99, 2)],
    ['closed-loop max, best run (ops/s; the ceiling of the search)', r0(closed[0]!.opsMax), r0(closed[1]!.opsMax), fmt(closed[0]!.opsMax / closed[1]!.opsMax, 3)],
  ];
  const says = searches.map((s, i) => {
    const who = i === 0 ? 'Shoal through the proxy' : 'redis-server';
    if (!s.pass) {
      const low = s.lowest();
      return `${who} did **not** keep p99 < ${P99_MS} ms at any rate tried: at the lowest, ${r0(low?.rate ?? NaN)}/s, `
        + `its p99 was ${ms3(low?.p99 ?? NaN)} ms (the generator's send lag p99 ${ms3(low?.lag99 ?? NaN)} ms). No maximum rate is reported for it.`;
    }
    return `${who} keeps p99 < ${P99_MS} ms up to ${s.capped ? 'at least ' : ''}**${r0(s.pass.rate)} ops/s** `
      + `(p99 ${ms3(s.pass.p99)} ms there${s.fail ? `; ${r0(s.fail.rate)}/s gave ${ms3(s.fail.p99)} ms` : '; the search stopped at its closed-loop maximum'}).`;
  });
  if (Number.isFinite(ratio)) says.push(`Ratio Shoal / redis: **${ratio.toFixed(3)}**.`);
  says.push(`At ${r0(atRate)}/s (${atLabel}): p99.9 ${ms3(at[0]!.p999)} ms for Shoal, ${ms3(at[1]!.p999)} ms for redis.`);
  const pct = percentileTable(at.map((f, i) => ({ server: names[i]!, f })));
  const probeHead = ['server', 'probe', 'phase', 'rate (ops/s)', 'median p99 ms', 'p99.9 ms', 'send lag p99 ms', `p99 < ${P99_MS} ms`];
  const probeRows = searches.flatMap((s, i) => s.probes.map((p) => [names[i]!, String(p.n), p.phase, r0(p.f.rate), ms3(p.f.p99),
    ms3(p.f.p999), ms3(p.f.lag99), p.ok ? 'yes' : 'no']));
  const ctxHead = ['run set', 'server', 'ops/s', 'send lag p99 ms', 'server cpu%', 'generator cpu%', 'other%'];
  const ctxRows = [...closed.map((f, i) => ['closed loop', names[i]!, r0(f.ops), ms3(f.lag99), r0(f.serverCpu), r0(f.genCpu), r0(f.other)]),
    ...at.map((f, i) => [`${r0(atRate)}/s`, names[i]!, r0(f.ops), ms3(f.lag99), r0(f.serverCpu), r0(f.genCpu), r0(f.other)])];
  const busiest = Math.max(...searches.flatMap((s) => s.probes.map((p) => p.f.other)), ...at.map((f) => f.other));
  const warning = busiest > 30 ? `other processes used up to ${r0(busiest)} % of a core during these runs: `
    + 'p99 on a 2-core box follows any other load, so the maxima are low; rerun on a quiet machine.' : '';
  const text = [textTable(head, rows, 1), ...says.map((x) => x.replace(/\*\*/g, '')), ...(warning ? [`WARNING: ${warning}`] : []), '',
    textTable(pct.head, pct.rows), '', textTable(probeHead, probeRows)].join('\n');
  const markdown = `## Max rate with p99 < ${P99_MS} ms (open loop)

${methodText(shoal, redis)}
Search per server, probes of both servers interleaved (one set of ${ROUNDS} counter-balanced runs per probe, the
median p99 decides): a ladder from ${START}/s, x${FACTOR} per rung while p99 < ${P99_MS} ms, capped at the server's best
closed-loop run (if the first rung fails: down by the same factor, not below ${FLOOR}/s); then ${STEPS} bisection steps
between the highest passing and the lowest failing rate. Then both servers at ${atLabel}.
${warning ? `\n> **Warning:** ${warning}\n` : ''}
${says.map((x) => `- ${x}`).join('\n')}

${mdTable(head, rows, 1)}

### Percentiles at ${r0(atRate)}/s = ${atLabel} (ms, medians of the runs)

${mdTable(pct.head, pct.rows, 2)}

### Search

Every probe (rate, median p99 of its runs). \`send lag\`: how late the generator got to requests (it is
counted in the latencies); when it nears the p99 the limit is the generator's, not the server's.

<details><summary>Probes</summary>

${mdTable(probeHead, probeRows, 3)}

</details>

### Context

${mdTable(ctxHead, ctxRows, 2)}

Machine: ${os.availableParallelism()} cpus.
`;
  return { scenario: 'maxrate', text, markdown };
}
