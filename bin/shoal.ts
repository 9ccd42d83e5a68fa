#!/usr/bin/env node
/** `npm start`: the embedded cluster (manager + shard processes + proxy) on one machine. */
import { loadConfig, helpText } from '../shared/config/load.js';
import { runEmbedded } from '../manager/embedded.js';
import { ShoalError } from '../shared/errors.js';

const USAGE = `Usage: shoal [options]        (npm start -- [options])

Runs an embedded Shoal cluster on this machine: --shards shard processes with
--workers worker threads each (ports from --shard-port up), and a proxy on --port
(RESP) and --http-port (HTTP). Connect with: redis-cli -p 6380`;

try {
  const { config, flags } = loadConfig();
  if (flags['help']) {
    process.stdout.write(helpText(USAGE));
    process.exit(0);
  }
  await runEmbedded(config);
} catch (err) {
  process.stderr.write(`shoal: ${err instanceof ShoalError ? err.message : String((err as Error)?.stack ?? err)}\n`);
  process.exit(1);
}
