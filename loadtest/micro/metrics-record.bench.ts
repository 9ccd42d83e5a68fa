/**
 * Micro-benchmark: what proxy/metrics.ts adds per command on the proxy's hot path —
 * ProxyMetrics.begin (at dispatch) plus ProxyMetrics.done (at the reply), with the
 * clock reads as the proxy does them: one readStart() per read event and the cached
 * replyClock() per burst of replies (a burst ends when its microtasks run, here at an
 * `await`). The same loop without the metrics calls is subtracted. Prints
 * `metrics-<scenario> ns_per_cmd=N` (median of 5 runs after a warm-up, CPU time):
 *
 *   p1    one command per read event and per reply burst (request/response clients)
 *   p16   16 commands per read event and per burst (pipelined clients)
 *   off   latency-tracking no + slowlog-log-slower-than -1: no clock read at all
 *   clock one performance.now(), for scale
 */
import { ProxyMetrics } from '../../proxy/metrics.js';
import { defaultConfig } from '../../shared/config/load.js';
import { lookupCommand } from '../../shared/commands/table.js';
import type { ProxyClient } from '../../proxy/client-connection.js';

const COMMANDS = 320_000;
const RUNS = 5;

const get = lookupCommand('get')!;
const argv = [Buffer.from('GET'), Buffer.from('key:1')];
const reply = Buffer.from('$1\r\nv\r\n');

/** CPU ns per command of `COMMANDS` commands, `batch` per read event and reply burst. */
async function loop(metrics: ProxyMetrics | null, batch: number): Promise<number> {
  // Only the fields of ProxyClient that begin/done touch.
  const client = { readAt: 0, cmd: 0, cmdT0: 0, cmdArgv: null, state: { flags: 0, addr: '127.0.0.1:1', name: '' } } as unknown as ProxyClient;
  const start = process.cpuUsage();
  for (let i = 0; i < COMMANDS; i += batch) {
    if (metrics) client.readAt = metrics.readStart();
    for (let j = 0; j < batch; j++) {
      if (metrics) {
        metrics.begin(client, get, argv);
        metrics.done(client, client.cmd, client.cmdT0, client.cmdArgv, reply[0]);
      }
    }
    await null; // the burst ends: the reply clock's microtask runs
  }
  const used = process.cpuUsage(start);
  return ((used.user + used.system) * 1000) / COMMANDS;
}

async function median(f: () => Promise<number>): Promise<number> {
  await f();
  await f(); // warm-up
  const ns: number[] = [];
  for (let r = 0; r < RUNS; r++) ns.push(await f());
  ns.sort((a, b) => a - b);
  return ns[RUNS >> 1]!;
}

async function scenario(name: string, batch: number, timing: boolean): Promise<void> {
  const config = defaultConfig();
  if (!timing) {
    config.latencyTracking = 'no';
    config.slowlogLogSlowerThan = -1;
  }
  const metrics = new ProxyMetrics(config);
  const base = await median(() => loop(null, batch));
  const withMetrics = await median(() => loop(metrics, batch));
  console.log(`metrics-${name} ns_per_cmd=${Math.max(0, withMetrics - base).toFixed(1)}`);
}

await scenario('p1', 1, true);
await scenario('p16', 16, true);
await scenario('off', 1, false);
{
  let sink = 0;
  const clock = await median(async () => {
    const start = process.cpuUsage();
    for (let i = 0; i < COMMANDS; i++) sink += performance.now();
    const used = process.cpuUsage(start);
    return ((used.user + used.system) * 1000) / COMMANDS;
  });
  if (sink === -1) console.error('unreachable');
  console.log(`metrics-clock ns_per_cmd=${clock.toFixed(1)}`);
}
