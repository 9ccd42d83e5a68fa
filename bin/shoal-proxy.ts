#!/usr/bin/env node
/** Starts one proxy process in front of the shard workers named by the topology. */
import { loadConfig, helpText } from '../shared/config/load.js';
import { runProxy } from '../proxy/main.js';
import { ShoalError } from '../shared/errors.js';

const USAGE = `Usage: shoal-proxy [options]

Serves RESP on --port and HTTP (/healthz, /topology) on --http-port, routing each
key to the shard worker that owns its hash slot. Without --topology the workers are
assumed at --shard-port and up (--shards x --workers of them). In cluster mode
(--etcd-endpoints) the topology comes from etcd and is followed as it changes
(docs/cluster-mode.md):
  shoal-proxy --etcd-endpoints http://10.0.0.1:2379,http://10.0.0.2:2379 --port 6379`;

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
