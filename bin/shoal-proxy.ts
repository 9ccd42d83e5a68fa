#!/usr/bin/env node
/** Starts one proxy process in front of the shard workers named by the topology. */
import { loadConfig, helpText } from '../shared/config/load.js';
import { runProxy } from '../proxy/main.js';
import { ShoalError } from '../shared/errors.js';

const USAGE = `Usage: shoal-proxy [options]

Serves RESP on --port and HTTP (/healthz, /topology) on --http-port, routing each
key to the shard worker that owns its hash slot. Without --topology the workers are
assumed at --shard-port and up (--shards x --workers of them).`;

try {
  const { config, flags } = loadConfig({ extraFlags: { topology: { type: 'string' } } });
  if (flags['help']) {
    process.stdout.write(helpText(USAGE, ['--topology FILE        topology file written by the manager']));
    process.exit(0);
  }
  await runProxy({ config, ...(typeof flags['topology'] === 'string' ? { topologyFile: flags['topology'] } : {}) });
} catch (err) {
  process.stderr.write(`shoal-proxy: ${err instanceof ShoalError ? err.message : String((err as Error)?.stack ?? err)}\n`);
  process.exit(1);
}
