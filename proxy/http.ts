/**
 * The proxy's HTTP server on uWebSockets.js: /healthz and /topology now; WebSocket
 * pub/sub, /metrics and the dashboard join it with their issues.
 */
import { readFileSync } from 'node:fs';
import uws from '@trufflesuite/uws-js-unofficial';
import type { ProxyServer } from './proxy-server.js';
import type { Logger } from '../shared/log.js';

export interface HttpHandle {
  close(): void;
}

export function startHttp(server: ProxyServer, host: string, port: number, topologyFile: string | undefined, log: Logger): Promise<HttpHandle> {
  const app = uws.App();
  app.get('/healthz', (res) => {
    const up = server.links.filter((l) => l.up).length;
    const body = JSON.stringify({ status: up === server.links.length ? 'ok' : 'degraded', workers: server.links.length, workersUp: up });
    res.writeHeader('content-type', 'application/json').end(body);
  });
  app.get('/topology', (res) => {
    let body: string;
    try {
      // The manager rewrites the file on every change: read it per request so it is never stale.
      body = topologyFile ? readFileSync(topologyFile, 'utf8') : JSON.stringify({ epoch: 1, workers: server.links.map((l) => l.endpoint), processes: [{ role: 'proxy', name: 'proxy', pid: process.pid, ports: [server.config.port, port] }] });
    } catch (err) {
      res.writeStatus('503 Service Unavailable').end(JSON.stringify({ error: `topology unavailable: ${(err as Error).message}` }));
      return;
    }
    res.writeHeader('content-type', 'application/json').end(body);
  });
  app.any('/*', (res) => {
    res.writeStatus('404 Not Found').end('not found\n');
  });
  return new Promise((resolve, reject) => {
    app.listen(host, port, (token) => {
      if (!token) return reject(new Error(`cannot listen for HTTP on ${host}:${port}`));
      log.info({ port }, 'HTTP listening (/healthz, /topology)');
      resolve({ close: () => uws.us_listen_socket_close(token) });
    });
  });
}
