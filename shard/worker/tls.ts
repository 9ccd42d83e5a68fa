/**
 * A worker's port as a TLS server, when tls-cluster is yes (docs/tls.md): the proxy's
 * framed links and direct (cluster-aware) clients both connect with TLS, verified
 * against tls-ca-cert-file as tls-auth-clients says. CONFIG SET of a tls-* key (which
 * the proxy forwards to every worker) swaps in the new certificates.
 */
import type { Server, Socket } from 'node:net';
import type { Logger } from '../../shared/log.js';
import { createTlsServer } from '../../shared/tls/server.js';
import { onTlsSettingsChange } from '../../shared/tls/params.js';
import type { WorkerServer } from './server.js';

export function workerTlsServer(worker: WorkerServer, log: Logger, serve: (socket: Socket) => void): Server {
  const tlsLog = log.child({ component: 'tls' });
  const listener = createTlsServer(worker.config, tlsLog, serve);
  onTlsSettingsChange(worker.runtime, tlsLog, () => listener.reload(worker.config));
  return listener.server;
}
