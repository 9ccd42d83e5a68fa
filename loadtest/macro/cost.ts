// Scenario `cost`: throughput cost of expiry and eviction.
//
// redis-benchmark `-t TEST -P 16 -c 50 -r 100000 -d 3` against the embedded cluster
// in two modes, interleaved and counter-balanced on the same server (a b, b a, a b):
//   (a) plain: maxmemory 0, FLUSHALL, the keyspace prefilled with plain SETs;
//   (b) eviction + expiry: FLUSHALL, maxmemory-policy allkeys-lru, maxmemory below
//       what the keyspace needs (COST_MAXMEMORY; default: the used_memory the server
//       reports empty plus half of what loading the whole keyspace adds to it, so SETs
//       evict on every server). used_memory includes a baseline that is not data
//       (Redis's used_memory_startup; Shoal's runtime share per worker, tens of MB):
//       half of the loaded figure would leave no room for data at all on Shoal);
//       the keyspace prefilled with COST_TTL_PCT % of the keys carrying EX 1-3 s (they
//       expire during the run).
// The mode is set up after each run's quiet gate, right before the clock starts, so
// the TTLs do not tick away while the gate waits. ratio = median rps (b) / median rps
// (a). redis-server gets the same treatment for reference (COST_REDIS=0 skips it),
// one server alive at a time.

import {
  benchRun, die, envList, envNum, field, fmt, info, keyName, log, median, mdTable, mustOk, startRedis, startTarget,
  stopTarget, textTable, verdict, type BenchSpec, type Run, type Section, type Target,
} from './harness.js';
import { connect, load } from './load.js';

const ROUNDS = Math.max(1, Math.floor(envNum('ROUNDS', 3)));
const DURATION = envNum('DURATION', 3);
/** Explicit maxmemory for mode (b); default: empty used_memory + half of what the full keyspace adds, per server. */
const MAXMEMORY = process.env['COST_MAXMEMORY'] || '';
const AUTO_FRACTION = 0.5;
const TESTS = envList('COST_TESTS', 'set,get').map((t) => t.toLowerCase());
const PIPELINE = Math.max(1, Math.floor(envNum('COST_PIPELINE', 16)));
const KEYSPACE = Math.max(1, Math.floor(envNum('COST_KEYSPACE', 100_000)));
const TTL_PCT = envNum('COST_TTL_PCT', 50);
const WITH_REDIS = process.env['COST_REDIS'] !== '0';
const CLIENTS = 50;
const VALUE_SIZE = 3;
const GOAL = 0.95;

type Mode = 'plain' | 'evict';

interface ModeRun { run: Run; evicted: number | undefined; expired: number | undefined; used: number | undefined; prefillErrors: number; firstError: string | undefined }

async function stats(t: Target): Promise<{ evicted?: number; expired?: number; used?: number; maxmem?: number }> {
  const c = await connect(t.port);
  try {
    const st = await info(c, 'stats');
    const mem = await info(c, 'memory');
    const out: { evicted?: number; expired?: number; used?: number; maxmem?: number } = {};
    const ev = field(st, 'evicted_keys'), ex = field(st, 'expired_keys'), used = field(mem, 'used_memory'), mm = field(mem, 'maxmemory');
    if (ev !== undefined) out.evicted = ev;
    if (ex !== undefined) out.expired = ex;
    if (used !== undefined) out.used = used;
    if (mm !== undefined) out.maxmem = mm;
    return out;
  } finally {
    c.close();
  }
}

/** Puts the server in `mode` and prefills the keyspace; returns the prefill's error count and first error. */
async function setup(t: Target, mode: Mode, maxmemory: string, keys = KEYSPACE): Promise<{ errors: number; firstError: string | undefined }> {
  const c = await connect(t.port);
  try {
    await mustOk(c, ['CONFIG', 'SET', 'maxmemory', '0'], t.label);
    await mustOk(c, ['FLUSHALL'], t.label);
    if (mode === 'evict') {
      await mustOk(c, ['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru'], t.label);
      await mustOk(c, ['CONFIG', 'SET', 'maxmemory', maxmemory], t.label);
    }
    const ttlEvery = TTL_PCT > 0 ? Math.max(1, Math.round(100 / TTL_PCT)) : 0;
    if (keys === 0) return { errors: 0, firstError: undefined };
    const r = await load(c, {
      total: keys,
      window: 20_000,
      build: (b, i) => {
        const v = 'x'.repeat(VALUE_SIZE);
        if (mode === 'evict' && ttlEvery && i % ttlEvery === 0) b.add(['SET', keyName(i), v, 'EX', String(1 + (i % 3))]);
        else b.add(['SET', keyName(i), v]);
      },
    });
    return { errors: r.errors, firstError: r.firstError };
  } finally {
    c.close();
  }
}

async function measure(t: Target, test: string, maxmemory: string): Promise<Record<Mode, ModeRun[]>> {
  const spec = (n: number): BenchSpec => ({ test, pipeline: PIPELINE, n, clients: CLIENTS, keyspace: KEYSPACE, valueSize: VALUE_SIZE });
  // Calibrate -n in plain mode (short runs, also warm-up) for ~DURATION s runs.
  let n = 20_000 * PIPELINE;
  let r = await benchRun(t.server, [], spec(n), false, async () => { await setup(t, 'plain', maxmemory); });
  for (let i = 0; i < 3 && r.secs < DURATION / 3; i++) {
    n = Math.ceil(n * Math.min(20, DURATION / 3 / Math.max(r.secs, 0.05)) * 1.2);
    r = await benchRun(t.server, [], spec(n), false, async () => { await setup(t, 'plain', maxmemory); });
  }
  n = Math.max(10_000, Math.min(50_000_000, Math.round(r.rps * DURATION)));
  log(`cost ${t.label} ${test.toUpperCase()}: -n ${n}`);
  const out: Record<Mode, ModeRun[]> = { plain: [], evict: [] };
  for (let round = 1; round <= ROUNDS; round++) {
    const order: Mode[] = round % 2 ? ['plain', 'evict'] : ['evict', 'plain'];
    for (const mode of order) {
      let pre = { errors: 0, firstError: undefined as string | undefined };
      let s0: Awaited<ReturnType<typeof stats>> = {};
      const run = await benchRun(t.server, [], spec(n), true, async () => {
        pre = await setup(t, mode, maxmemory);
        s0 = await stats(t);
      });
      const s1 = await stats(t);
      const d = (a?: number, b?: number) => (a === undefined || b === undefined ? undefined : b - a);
      const mr: ModeRun = { run, evicted: d(s0.evicted, s1.evicted), expired: d(s0.expired, s1.expired), used: s1.used, prefillErrors: pre.errors, firstError: pre.firstError };
      out[mode].push(mr);
      log(`  round ${round}/${ROUNDS} ${t.label} ${test.toUpperCase()} ${mode}: ${Math.round(run.rps)} rps, `
        + `server_cpu=${run.serverCpu.toFixed(0)}% (${run.usPerReq.toFixed(2)} us/req), other_cpu=${run.other.toFixed(0)}%, `
        + `evicted +${mr.evicted ?? 'n/a'}, expired +${mr.expired ?? 'n/a'}, used_memory ${s1.used ?? 'n/a'}, maxmemory ${s1.maxmem ?? 'n/a'}`
        + `${pre.errors ? `, ${pre.errors} prefill errors (${pre.firstError})` : ''}`);
    }
  }
  return out;
}

interface Row { label: string; test: string; runs: Record<Mode, ModeRun[]> }

export async function runCost(): Promise<Section> {
  const rows: Row[] = [];
  const commands: string[] = [];
  for (const kind of WITH_REDIS ? ['cluster', 'redis'] : ['cluster']) {
    const t = kind === 'redis' ? await startRedis() : await startTarget('cluster');
    try {
      await setup(t, 'plain', '0', 0);
      const empty = (await stats(t)).used;
      await setup(t, 'plain', '0');
      const full = (await stats(t)).used;
      const maxmemory = MAXMEMORY || (full === undefined || empty === undefined ? '8mb'
        : String(Math.floor(empty + (full - empty) * AUTO_FRACTION)));
      log(`cost ${t.label}: used_memory empty ${empty ?? 'n/a'}, with the keyspace loaded ${full ?? 'n/a'}; maxmemory for (b): ${maxmemory}`);
      commands.push(`- ${t.label}: \`${t.command}\`; used_memory empty: ${empty ?? 'n/a'} B, with the ${KEYSPACE} keys loaded: ${full ?? 'n/a'} B; `
        + `(b) maxmemory ${maxmemory}${MAXMEMORY ? ' (COST_MAXMEMORY)' : ` (empty + ${AUTO_FRACTION} x the difference)`}`);
      for (const test of TESTS) {
        if (!['set', 'get'].includes(test)) die(`COST_TESTS: use set, get (got ${test})`, 1);
        rows.push({ label: t.label, test: test.toUpperCase(), runs: await measure(t, test, maxmemory) });
      }
    } finally {
      await stopTarget(t);
    }
  }
  const sum = (xs: (number | undefined)[]) => (xs.some((x) => x === undefined) ? undefined : xs.reduce<number>((a, x) => a + (x ?? 0), 0));
  const head = ['server', 'workload', 'plain rps', 'evict+ttl rps', 'ratio b/a', 'rounds', 'plain us/req', 'evict us/req',
    'evicted (b runs)', 'expired (b runs)', 'prefill errors', 'other%'];
  const table = rows.map((r) => {
    const a = r.runs.plain, b = r.runs.evict;
    const ratio = median(b.map((x) => x.run.rps)) / median(a.map((x) => x.run.rps));
    const pairs = a.map((x, i) => (b[i]?.run.rps ?? NaN) / x.run.rps);
    const errs = [...a, ...b].reduce((n, x) => n + x.prefillErrors, 0);
    const firstErr = [...a, ...b].find((x) => x.firstError)?.firstError;
    return [r.label, `${r.test} P=${PIPELINE}`, fmt(median(a.map((x) => x.run.rps))), fmt(median(b.map((x) => x.run.rps))),
      fmt(ratio, 3), `${fmt(Math.min(...pairs), 2)}-${fmt(Math.max(...pairs), 2)}`,
      fmt(median(a.map((x) => x.run.usPerReq)), 2), fmt(median(b.map((x) => x.run.usPerReq)), 2),
      String(sum(b.map((x) => x.evicted)) ?? 'n/a'), String(sum(b.map((x) => x.expired)) ?? 'n/a'),
      errs ? `${errs} (${firstErr ?? ''})` : '0', fmt(Math.max(...[...a, ...b].map((x) => x.run.other)))];
  });
  const goals = rows.filter((r) => r.label === 'cluster').map((r) => {
    const ratio = median(r.runs.evict.map((x) => x.run.rps)) / median(r.runs.plain.map((x) => x.run.rps));
    const errs = [...r.runs.plain, ...r.runs.evict].some((x) => x.prefillErrors > 0);
    const evicted = sum(r.runs.evict.map((x) => x.evicted));
    const note = errs ? ' (prefill SETs failed: eviction not working?)' : evicted === 0 && r.test === 'SET' ? ' (no eviction observed)' : '';
    return [`${r.test} P=${PIPELINE}`, `b/a >= ${GOAL}`, fmt(ratio, 3), `${verdict(Number.isFinite(ratio) ? ratio >= GOAL && !errs : undefined)}${note}`];
  });
  const text = [textTable(head, table), ...goals.map((g) => `goal cost ${g[0]}: ${g[1]}: ${g[3]} (${g[2]})`)].join('\n');
  const markdown = `## Cost of expiry and eviction (throughput, medians)

Method: \`redis-benchmark -t TEST -P ${PIPELINE} -c ${CLIENTS} -r ${KEYSPACE} -d ${VALUE_SIZE} --csv\`, \`-n\` calibrated for
~${DURATION} s runs, ${ROUNDS} rounds of (a) and (b) on the same server, interleaved and counter-balanced (a b / b a / ...),
each run after a quiet gate. Right before each run (after the gate): (a) \`CONFIG SET maxmemory 0\`, \`FLUSHALL\`,
${KEYSPACE} keys prefilled with plain SETs; (b) \`FLUSHALL\`, \`CONFIG SET maxmemory-policy allkeys-lru\`,
\`CONFIG SET maxmemory M\` (M below what the keyspace needs, per server below: ${MAXMEMORY ? `COST_MAXMEMORY=${MAXMEMORY}` : `the used_memory it reports empty + ${AUTO_FRACTION} x what loading the keyspace adds`}),
the keys prefilled with ${TTL_PCT} % of them \`SET .. EX 1..3\` (they expire during the run; SETs evict). ratio = median rps (b) / median rps (a); \`rounds\` = range of per-round b/a. evicted /
expired: INFO stats deltas summed over the (b) runs (n/a: not reported). ${WITH_REDIS ? 'redis is measured the same way for\nreference; one server alive at a time.' : 'redis was not measured this time (COST_REDIS=0).'}

${commands.join('\n')}

${mdTable(head, table)}

### Target (from the issue): embedded cluster b/a within 5 %

${goals.length ? mdTable(['workload', 'goal', 'ratio', 'verdict'], goals) : '_Not measured._'}
`;
  return { scenario: 'cost', text, markdown };
}
