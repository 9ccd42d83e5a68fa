#!/usr/bin/env node
/** Starts one shard process: worker threads serving RESP on consecutive ports. */
import { loadConfig, helpText } from '../shared/config/load.js';
import { runShard } from '../shard/main.js';
import { ShoalError } from '../shared/errors.js';

const USAGE = `Usage: shoal-shard [options]

Starts a shard process with --workers worker threads. Standalone (no --topology),
the workers own all 16384 slots between them and listen on --shard-port (or --port)
and the ports after it; each speaks RESP like a Redis Cluster node:
  shoal-shard --port 7000 --workers 1 && redis-cli -p 7000 SET a b
In cluster mode (--etcd-endpoints) the topology comes from etcd and --node names
the process to run (docs/cluster-mode.md):
  shoal-shard --etcd-endpoints http://10.0.0.1:2379 --node shard-0-replica-1`;

try {
  const { config, flags } = loadConfig({ extraFlags: { topology: { type: 'string' }, shard: { type: 'string' }, node: { type: 'string' } } });
  if (flags['help']) {
    process.stdout.write(helpText(USAGE, ['--topology FILE        topology file written by the manager', '--shard N              this shard\'s index in the topology', '--node NAME            the shard process to run (shard-N, shard-N-replica-R; default shard-<--shard>)']));
    process.exit(0);
  }
  // For a standalone shard, --port names the first worker port.
  if (!flags['topology'] && config.etcdEndpoints === '' && typeof flags['port'] === 'string' && typeof flags['shard-port'] !== 'string') config.shardBasePort = config.port;
  const shardFlag = typeof flags['shard'] === 'string' ? Number(flags['shard']) : 0;
  await runShard({ config, shard: shardFlag, ...(typeof flags['node'] === 'string' ? { node: flags['node'] } : {}), ...(typeof flags['topology'] === 'string' ? { topologyFile: flags['topology'] } : {}) });
} catch (err) {
  process.stderr.write(`shoal-shard: ${err instanceof ShoalError ? err.message : String((err as Error)?.stack ?? err)}\n`);
  process.exit(1);
}
