/**
 * Proxy process: composition root. Reads the topology, opens links to every worker,
 * serves RESP on the client port and HTTP on the admin port, and shuts down cleanly
 * on SIGINT/SIGTERM.
 */
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import type { ShoalConfig } from '../shared/config/schema.js';
import { staticWorkers, type Topology, type WorkerEndpoint } from '../shared/cluster/topology.js';
import { createLogger } from '../shared/log.js';
import { ShoalError, ErrorCodes } from '../shared/errors.js';
import { ProxyServer } from './proxy-server.js';
import { startHttp } from './http.js';

export interface ProxyOptions {
  config: ShoalConfig;
  topologyFile?: string;
}

export async function runProxy(opts: ProxyOptions): Promise<void> {
  const { config } = opts;
  const log = createLogger('shoal-proxy', config.logLevel);
  let workers: WorkerEndpoint[];
  if (opts.topologyFile) {
    workers = (JSON.parse(readFileSync(opts.topologyFile, 'utf8')) as Topology).workers;
  } else {
    workers = staticWorkers(config.host, config.shardBasePort, config.shards, config.workers);
  }
  const server = new ProxyServer(config, workers, log);
  const tcp = createServer((socket) => server.accept(socket));
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', (err) => reject(new ShoalError(ErrorCodes.PROCESS, `proxy cannot listen on ${config.host}:${config.port}: ${err.message}`)));
    tcp.listen(config.port, config.host, () => resolve());
  });
  const http = await startHttp(server, config.host, config.httpPort, opts.topologyFile, log);
  log.info({ port: config.port, workers: workers.length }, `proxy ready: redis-cli -p ${config.port}`);
  process.send?.({ type: 'ready', ports: [config.port, config.httpPort] });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping proxy');
    tcp.close();
    http.close();
    server.close();
    setTimeout(() => process.exit(0), 100).unref();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('disconnect', () => stop('parent disconnected'));
}
