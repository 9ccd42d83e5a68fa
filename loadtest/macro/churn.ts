// Scenario `churn`: memory under eviction with changing value sizes.
//
// The embedded cluster with `--maxmemory 256mb` and `CONFIG SET maxmemory-policy
// allkeys-lru` (through the proxy), then redis-server `--maxmemory 256mb
// --maxmemory-policy allkeys-lru` for reference, one at a time. Phase 1: CHURN_SETS
// SETs of random keys out of CHURN_KEYSPACE (more than fits) with values uniform
// 10-1,000 B; phase 2: CHURN_BIG_SETS SETs with values 2,000-4,000 B. Pipelined
// (CHURN_WINDOW unanswered), deterministic seed. Every SAMPLE_MS: RSS of the data
// processes (/proc) and INFO memory/stats. At the end of each phase (after 2 s idle):
// RSS / maxmemory and allocator_frag_ratio. The last 200 keys written are read back
// (missing is allowed, eviction; wrong bytes are not).

import {
  checkAlive, die, envList, envNum, field, fmt, fmtMiB, info, keyName, log, mdTable, mustOk, rng, rssBytes, sleep,
  startRedis, startTarget, stopTarget, textTable, verdict, type Section, type Target,
} from './harness.js';
import { connect, load } from './load.js';
import { showReply, type RespClient } from '../resp-client.js';

const SETS = Math.floor(envNum('CHURN_SETS', 5_000_000));
const BIG_SETS = Math.floor(envNum('CHURN_BIG_SETS', 2_000_000));
const KEYSPACE = Math.max(1, Math.floor(envNum('CHURN_KEYSPACE', 10_000_000)));
const MAXMEMORY_ARG = process.env['CHURN_MAXMEMORY'] || '256mb';
const WINDOW = Math.max(1, Math.floor(envNum('CHURN_WINDOW', 1000)));
const SAMPLE_MS = Math.max(100, envNum('SAMPLE_MS', 2000));
const SERVERS = envList('CHURN_TARGETS', 'cluster,redis');
const SEED = 0x5eed_c0de;
const RSS_GOAL = 1.1;
const FRAG_GOAL = 1.1;

function parseBytes(text: string): number {
  const m = /^(\d+)(k|kb|m|mb|g|gb)?$/i.exec(text.trim());
  if (!m) return die(`CHURN_MAXMEMORY=${text}: use e.g. 256mb`, 1);
  const mul: Record<string, number> = { '': 1, k: 1e3, kb: 1024, m: 1e6, mb: 1024 ** 2, g: 1e9, gb: 1024 ** 3 };
  return Number(m[1]) * (mul[(m[2] ?? '').toLowerCase()] ?? 1);
}
const MAXMEMORY = parseBytes(MAXMEMORY_ARG);

interface Sample { t: number; phase: string; rss: number; used?: number; startup?: number; pages?: number; maxmem?: number; frag?: number; evicted?: number }

interface PhaseResult {
  phase: string;
  sets: number;
  secs: number;
  errors: number;
  firstError: string | undefined;
  samples: Sample[];
  end: Sample;
  dbsize: number | undefined;
  readBack: string;
}

interface ServerResult { label: string; command: string; infoMaxmemory: number | undefined; phases: PhaseResult[] }

async function sample(t: Target, c: RespClient, phase: string, t0: number): Promise<Sample> {
  const rss = rssBytes(t.dataPids);
  const mem = await info(c, 'memory');
  const stats = await info(c, 'stats');
  const s: Sample = { t: (Date.now() - t0) / 1000, phase, rss };
  const used = field(mem, 'used_memory'), maxmem = field(mem, 'maxmemory'), frag = field(mem, 'allocator_frag_ratio');
  // Shoal: the runtime's share counted in used_memory (docs/memory.md) and the arenas' pages; RSS - pages = runtime now.
  const startup = field(mem, 'used_memory_startup'), pages = field(mem, 'arena_page_bytes');
  if (startup !== undefined) s.startup = startup;
  if (pages !== undefined) s.pages = pages;
  const evicted = field(stats, 'evicted_keys');
  if (used !== undefined) s.used = used;
  if (maxmem !== undefined) s.maxmem = maxmem;
  if (frag !== undefined) s.frag = frag;
  if (evicted !== undefined) s.evicted = evicted;
  return s;
}

async function churn(t: Target): Promise<ServerResult> {
  const c = await connect(t.port);
  const probe = await connect(t.port);
  const t0 = Date.now();
  const all: Sample[] = [];
  const result: ServerResult = { label: t.label, command: t.command, infoMaxmemory: undefined, phases: [] };
  try {
    await mustOk(c, ['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru'], t.label, true);
    result.infoMaxmemory = field(await info(c, 'memory'), 'maxmemory');
    const pool = Buffer.alloc(8192);
    const r0 = rng(SEED ^ 0xabcdef);
    for (let i = 0; i < pool.length; i++) pool[i] = 33 + Math.floor(r0() * 94);
    const phases: [string, number, number, number][] = [['10-1000 B', SETS, 10, 1000], ['2000-4000 B', BIG_SETS, 2000, 4000]];
    for (const [phase, sets, lo, hi] of phases) {
      if (sets <= 0) continue;
      const r = rng(SEED + lo);
      const last: { key: string; off: number; len: number }[] = [];
      let busy = false;
      const timer = setInterval(() => {
        if (busy) return;
        busy = true;
        sample(t, probe, phase, t0).then((s) => {
          all.push(s);
          busy = false;
        }, (e: unknown) => { log(`  sample failed: ${(e as Error).message}`); busy = false; });
      }, SAMPLE_MS);
      const from = all.length;
      let lr;
      try {
        lr = await load(c, {
          total: sets,
          window: WINDOW,
          batch: Math.min(100, WINDOW),
          label: `${t.label} churn ${phase}`,
          build: (b, i) => {
            const key = keyName(Math.floor(r() * KEYSPACE));
            const len = lo + Math.floor(r() * (hi - lo + 1));
            const off = Math.floor(r() * (pool.length - len));
            b.add(['SET', key, pool.subarray(off, off + len)]);
            if (i >= sets - 200) last.push({ key, off, len });
          },
        });
      } finally {
        clearInterval(timer);
      }
      while (busy) await sleep(20);
      checkAlive(t);
      if (lr.errors) log(`  warning: ${t.label}: ${lr.errors} SETs failed (first: ${lr.firstError})`);
      await sleep(2000);
      const end = await sample(t, probe, `${phase} end`, t0);
      all.push(end);
      // Later writes of a key win; missing keys were evicted, wrong bytes are a bug.
      const want = new Map(last.map((x) => [x.key, x] as const));
      const keys = [...want.keys()];
      const got = await c.pipeline(keys.map((k) => ['GET', k]));
      let present = 0;
      keys.forEach((k, j) => {
        const g = got[j];
        const w = want.get(k);
        if (g === null || w === undefined) return;
        if (!Buffer.isBuffer(g) || !g.equals(pool.subarray(w.off, w.off + w.len))) {
          die(`${t.label}: GET ${k} after churn returned ${showReply(g)}, not the ${w.len} bytes last written`, 3);
        }
        present++;
      });
      const dbsize = await c.send(['DBSIZE']);
      const pr: PhaseResult = {
        phase, sets, secs: lr.secs, errors: lr.errors, firstError: lr.firstError, samples: all.slice(from), end,
        dbsize: typeof dbsize === 'number' ? dbsize : undefined, readBack: `${present}/${keys.length}`,
      };
      result.phases.push(pr);
      log(`  ${t.label} ${phase}: ${fmt(sets / lr.secs)} SET/s, end RSS ${fmtMiB(end.rss)} = ${fmt(end.rss / MAXMEMORY, 3)}x maxmemory, `
        + `used_memory ${fmtMiB(end.used)} (startup ${fmtMiB(end.startup)}, arena pages ${fmtMiB(end.pages)}, RSS outside pages ${end.pages === undefined ? 'n/a' : fmtMiB(end.rss - end.pages)}), frag ${fmt(end.frag, 2)}, evicted ${end.evicted ?? 'n/a'}, dbsize ${pr.dbsize ?? 'n/a'}, `
        + `last ${keys.length} keys: ${pr.readBack} present and correct`);
    }
  } finally {
    c.close();
    probe.close();
  }
  return result;
}

export async function runChurn(): Promise<Section> {
  const results: ServerResult[] = [];
  for (const which of SERVERS) {
    log(`churn: fresh ${which}, maxmemory ${MAXMEMORY_ARG}, ${SETS} + ${BIG_SETS} SETs over ${KEYSPACE} keys`);
    const t = which === 'redis'
      ? await startRedis(['--maxmemory', MAXMEMORY_ARG, '--maxmemory-policy', 'allkeys-lru'])
      : which === 'cluster' ? await startTarget('cluster', ['--maxmemory', MAXMEMORY_ARG])
        : die(`CHURN_TARGETS: unknown "${which}" (use cluster, redis)`, 1);
    try {
      results.push(await churn(t));
    } finally {
      await stopTarget(t);
    }
  }

  const maxOf = (xs: (number | undefined)[]) => {
    const v = xs.filter((x): x is number => x !== undefined);
    return v.length ? Math.max(...v) : undefined;
  };
  const head = ['server', 'phase', 'SETs', 'SET/s', 'errors', 'samples', 'max RSS/maxmem', 'end RSS/maxmem',
    'end frag', 'max used/maxmem', 'samples used>maxmem', 'end used', 'end startup', 'end RSS - pages', 'evicted', 'dbsize', 'last 200 read'];
  const rows: string[][] = [];
  const goals: string[][] = [];
  for (const r of results) {
    for (const p of r.phases) {
      const maxRss = maxOf(p.samples.map((s) => s.rss));
      const maxUsed = maxOf(p.samples.map((s) => s.used));
      const over = p.samples.filter((s) => s.used !== undefined && s.used > MAXMEMORY).length;
      const haveUsed = p.samples.some((s) => s.used !== undefined);
      rows.push([r.label, p.phase, String(p.sets), fmt(p.sets / p.secs), p.errors ? `${p.errors} (${p.firstError ?? ''})` : '0',
        String(p.samples.length), fmt((maxRss ?? NaN) / MAXMEMORY, 3), fmt(p.end.rss / MAXMEMORY, 3), fmt(p.end.frag, 2),
        fmt((maxUsed ?? NaN) / MAXMEMORY, 3), haveUsed ? String(over) : 'n/a', fmtMiB(p.end.used), p.end.startup === undefined ? 'n/a' : fmtMiB(p.end.startup),
        p.end.pages === undefined ? 'n/a' : fmtMiB(p.end.rss - p.end.pages), String(p.end.evicted ?? 'n/a'),
        String(p.dbsize ?? 'n/a'), p.readBack]);
      if (r.label === 'cluster') {
        const rssX = p.end.rss / MAXMEMORY;
        goals.push([p.phase, `end RSS <= ${RSS_GOAL}x maxmemory`, fmt(rssX, 3), verdict(rssX <= RSS_GOAL)]);
        goals.push([p.phase, `end allocator_frag_ratio <= ${FRAG_GOAL}`, fmt(p.end.frag, 2),
          verdict(p.end.frag === undefined ? undefined : p.end.frag <= FRAG_GOAL)]);
        goals.push([p.phase, 'used_memory <= maxmemory at every sample', haveUsed ? `max ${fmt((maxUsed ?? NaN) / MAXMEMORY, 3)}x, ${over} over` : 'n/a',
          verdict(haveUsed ? over === 0 : undefined)]);
        if (p.errors) goals.push([p.phase, 'SETs accepted', `${p.errors} errors`, 'not met']);
      }
    }
  }
  const cmds = results.map((r) => `- ${r.label}: \`${r.command}\`${r.label === 'cluster' ? ' then `CONFIG SET maxmemory-policy allkeys-lru` through the proxy' : ''}`
    + `; INFO maxmemory reads ${r.infoMaxmemory ?? 'n/a'}`);
  const text = [textTable(head, rows), ...goals.map((g) => `goal churn ${g[0]}: ${g[1]}: ${g[3]} (${g[2]})`)].join('\n');
  const markdown = `## Churn: memory under eviction (maxmemory ${MAXMEMORY_ARG}, allkeys-lru)

Method: phase 1 ${SETS} SETs of random keys out of ${KEYSPACE} (\`key:<12 digits>\`) with values uniform 10-1,000 B,
phase 2 ${BIG_SETS} SETs with values 2,000-4,000 B; pipelined over one connection (${WINDOW} unanswered), fixed seed
(same keys and sizes for both servers). Every ${SAMPLE_MS / 1000} s: VmRSS of the data processes (cluster: the shard
process from \`GET /topology\`, not the proxy) and INFO memory/stats (through the proxy: summed over workers,
allocator_frag_ratio from the first worker). Shoal's used_memory includes its runtime (\`used_memory_startup\`, measured
when the shard process is ready: "end startup"; docs/memory.md); "end RSS - pages" = RSS minus the arenas' page bytes,
the runtime at the end. "end" = after the phase's last reply and 2 s idle. maxmem =
${MAXMEMORY} B (the configured ${MAXMEMORY_ARG}). The last 200 keys written are read back: missing is eviction,
wrong bytes would fail the run. One server alive at a time; one run.

${cmds.join('\n')}

${mdTable(head, rows)}

### Targets (from the issue), embedded cluster

${goals.length ? mdTable(['phase', 'goal', 'measured', 'verdict'], goals) : '_The cluster was not measured (CHURN_TARGETS)._'}
`;
  return { scenario: 'churn', text, markdown };
}
