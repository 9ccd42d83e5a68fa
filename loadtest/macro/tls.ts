// Scenario `tls`: what TLS costs (docs/tls.md).
//
// redis-benchmark `-t TEST -P P -c 50 -r KEYSPACE -d 3` against one server's plain
// port and its TLS port (`--tls --cacert --cert --key`: mutual TLS, tls-auth-clients
// yes), interleaved and counter-balanced on the same server (plain tls / tls plain /
// ...), for TEST in {set, get} and P in {1, 16}. Servers, one alive at a time:
//   cluster        the embedded cluster, client TLS on the proxy's tls-port
//   redis          redis-server's own TLS (`--tls-port`), for reference
//   cluster-links  (TLS_TARGETS only) the embedded cluster with tls-cluster yes: both
//                  modes also pay TLS on the proxy → worker links
// Certificates are made with openssl (test/helpers/certs.ts) in a temp dir removed
// at the end. Ratios: tls/plain per server, and Shoal's over redis's per mode.

import { benchRun, die, envList, envNum, fmt, keyName, log, median, mdTable, startRedis, startTarget, stopTarget, textTable,
  freePorts, type BenchSpec, type Run, type Section, type Target } from './harness.js';
import { connect, load } from './load.js';
import { makeCerts, type TestCerts } from '../../test/helpers/certs.js';

const ROUNDS = Math.max(1, Math.floor(envNum('ROUNDS', 3)));
const DURATION = envNum('DURATION', 3);
const TESTS = envList('TLS_TESTS', 'set,get').map((t) => t.toLowerCase());
const PIPELINES = envList('TLS_PIPELINES', '1,16').map(Number);
const TARGETS = envList('TLS_TARGETS', 'cluster,redis');
const KEYSPACE = Math.max(1, Math.floor(envNum('TLS_KEYSPACE', 100_000)));
const CLIENTS = 50;
const VALUE_SIZE = 3;

type Mode = 'plain' | 'tls';
interface Row { label: string; test: string; pipeline: number; runs: Record<Mode, Run[]> }

function tlsFlags(c: TestCerts): { shoal: string[]; redis: string[]; client: string[] } {
  const common = ['--tls-cert-file', c.server.cert, '--tls-key-file', c.server.key, '--tls-ca-cert-file', c.ca];
  const client = c.clients['bench']!;
  return { shoal: common, redis: common, client: ['--tls', '--cacert', c.ca, '--cert', client.cert, '--key', client.key] };
}

async function prefill(t: Target): Promise<void> {
  const c = await connect(t.port);
  try {
    const r = await load(c, { total: KEYSPACE, window: 20_000, build: (b, i) => b.add(['SET', keyName(i), 'x'.repeat(VALUE_SIZE)]) });
    if (r.errors) die(`${t.label}: prefill failed: ${r.firstError}`, 3);
  } finally {
    c.close();
  }
}

async function measure(t: Target, tlsPort: number, clientArgs: string[], test: string, pipeline: number): Promise<Row> {
  const spec = (n: number, mode: Mode): BenchSpec => ({
    test, pipeline, n, clients: CLIENTS, keyspace: KEYSPACE, valueSize: VALUE_SIZE,
    ...(mode === 'tls' ? { extraArgs: ['-p', String(tlsPort), ...clientArgs] } : {}),
  });
  const wl = `tls ${t.label} ${test.toUpperCase()} P=${pipeline}`;
  // Calibrate -n on the plain port (short runs, also warm-up) for ~DURATION s runs; one
  // short TLS run warms that path too (and fails early if redis-benchmark cannot do TLS).
  let n = 10_000 * pipeline;
  let r = await benchRun(t.server, [], spec(n, 'plain'), false);
  for (let i = 0; i < 3 && r.secs < DURATION / 3; i++) {
    n = Math.ceil(n * Math.min(20, DURATION / 3 / Math.max(r.secs, 0.05)) * 1.2);
    r = await benchRun(t.server, [], spec(n, 'plain'), false);
  }
  n = Math.max(10_000, Math.min(50_000_000, Math.round(r.rps * DURATION)));
  await benchRun(t.server, [], spec(Math.max(10_000, Math.round(n / 10)), 'tls'), false);
  log(`${wl}: -n ${n}`);
  const row: Row = { label: t.label, test: test.toUpperCase(), pipeline, runs: { plain: [], tls: [] } };
  for (let round = 1; round <= ROUNDS; round++) {
    const order: Mode[] = round % 2 ? ['plain', 'tls'] : ['tls', 'plain'];
    for (const mode of order) {
      const run = await benchRun(t.server, [], spec(n, mode));
      row.runs[mode].push(run);
      log(`  ${wl} round ${round}/${ROUNDS} ${mode}: ${Math.round(run.rps)} rps, p50=${run.p50} p99=${run.p99} ms, `
        + `server_cpu=${run.serverCpu.toFixed(0)}% (${run.usPerReq.toFixed(2)} us/req), other_cpu=${run.other.toFixed(0)}%`);
    }
  }
  return row;
}

async function startOne(kind: string, flags: ReturnType<typeof tlsFlags>): Promise<{ t: Target; tlsPort: number }> {
  const tlsPort = await freePorts(1);
  if (kind === 'redis') return { t: await startRedis(['--tls-port', String(tlsPort), ...flags.redis]), tlsPort };
  if (kind === 'cluster' || kind === 'cluster-links') {
    const links = kind === 'cluster-links' ? ['--tls-cluster', 'yes'] : [];
    const t = await startTarget('cluster', ['--tls-port', String(tlsPort), ...flags.shoal, ...links]);
    return { t: { ...t, label: kind }, tlsPort };
  }
  return die(`TLS_TARGETS: unknown target "${kind}" (use cluster, cluster-links, redis)`, 1);
}

const rpsOf = (runs: Run[]) => median(runs.map((r) => r.rps));

export async function runTls(): Promise<Section> {
  for (const x of TESTS) if (!['set', 'get'].includes(x)) die(`TLS_TESTS: use set, get (got ${x})`, 1);
  const certs = await makeCerts(['bench']);
  const rows: Row[] = [];
  const commands: string[] = [];
  try {
    const flags = tlsFlags(certs);
    for (const kind of TARGETS) {
      const { t, tlsPort } = await startOne(kind, flags);
      try {
        commands.push(`- ${t.label}: \`${t.command.replaceAll(certs.dir, 'CERTS')}\` (tls-port ${tlsPort})`);
        await prefill(t);
        for (const P of PIPELINES) for (const test of TESTS) rows.push(await measure(t, tlsPort, flags.client, test, P));
      } finally {
        await stopTarget(t);
      }
    }
  } finally {
    await certs.remove();
  }

  const head = ['server', 'workload', 'plain rps', 'tls rps', 'tls/plain', 'rounds', 'plain us/req', 'tls us/req', 'tls p99 ms', 'other%'];
  const table = rows.map((r) => {
    const a = r.runs.plain, b = r.runs.tls;
    const pairs = a.map((x, i) => (b[i]?.rps ?? NaN) / x.rps);
    return [r.label, `${r.test} P=${r.pipeline}`, fmt(rpsOf(a)), fmt(rpsOf(b)), fmt(rpsOf(b) / rpsOf(a), 3),
      `${fmt(Math.min(...pairs), 2)}-${fmt(Math.max(...pairs), 2)}`,
      fmt(median(a.map((x) => x.usPerReq)), 2), fmt(median(b.map((x) => x.usPerReq)), 2), fmt(median(b.map((x) => x.p99)), 2),
      fmt(Math.max(...[...a, ...b].map((x) => x.other)))];
  });
  // Shoal against redis, per mode: does TLS widen the gap?
  const vs = rows.filter((r) => r.label !== 'redis').flatMap((r) => {
    const ref = rows.find((x) => x.label === 'redis' && x.test === r.test && x.pipeline === r.pipeline);
    if (!ref) return [];
    return [[r.label, `${r.test} P=${r.pipeline}`, fmt(rpsOf(r.runs.plain) / rpsOf(ref.runs.plain), 3), fmt(rpsOf(r.runs.tls) / rpsOf(ref.runs.tls), 3)]];
  });
  const vsHead = ['shoal server', 'workload', 'shoal/redis plain', 'shoal/redis tls'];
  const text = [textTable(head, table), ...(vs.length ? ['', textTable(vsHead, vs)] : [])].join('\n');
  const markdown = `## TLS cost (throughput, medians)

Method: \`redis-benchmark -t TEST -P P -c ${CLIENTS} -r ${KEYSPACE} -d ${VALUE_SIZE} --csv\` on each server's plain
port and on its TLS port (\`--tls --cacert ca.crt --cert client.crt --key client.key\`: mutual TLS, tls-auth-clients
yes; P-256 certificates made by openssl; TLSv1.3 negotiated), \`-n\` calibrated on the plain port for ~${DURATION} s runs,
${ROUNDS} rounds of plain and tls on the same server, interleaved and counter-balanced, each run after a quiet gate; ${KEYSPACE}
keys prefilled. One server alive at a time. tls/plain = median rps ratio; \`rounds\` = range of per-round ratios;
us/req = server CPU (all its processes) per request. \`cluster-links\` (if run) also has tls-cluster yes, so both its
modes pay TLS on the proxy → worker links.

${commands.join('\n')}

${mdTable(head, table)}
${vs.length ? `\nShoal against redis-server in the same run (median rps ratios):\n\n${mdTable(vsHead, vs)}\n` : ''}`;
  return { scenario: 'tls', text, markdown };
}
