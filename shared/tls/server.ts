/**
 * A TLS listener as the proxy's tls-port and the workers' tls-cluster ports use it:
 * built from the config (shared/tls/settings.ts), handing each socket that completed
 * its handshake (and passed tls-auth-clients) to `onSocket`, and able to swap in new
 * certificates without dropping live connections.
 *
 * A client that fails the handshake — a plain RESP client on the TLS port, a TLSv1.1
 * client, a certificate from another CA or an expired one — is closed by node:tls;
 * it is logged (debug: port scanners would flood info) and nothing else is affected.
 */
import tls, { type TLSSocket } from 'node:tls';
import type { ShoalConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { serverTlsOptions, peerAcceptable } from './settings.js';

export interface TlsListener {
  readonly server: tls.Server;
  /** Rebuilds the context from `config` (throws a ConfigError, leaving the old one, if it does not work). */
  reload(config: ShoalConfig): void;
}

/** node:tls reads these per connection from the server object; setSecureContext does not touch them. */
interface ClientAuthFlags { requestCert: boolean; rejectUnauthorized: boolean }

export function createTlsServer(config: ShoalConfig, log: Logger, onSocket: (socket: TLSSocket) => void): TlsListener {
  const opts = serverTlsOptions(config);
  let auth = config.tlsAuthClients;
  const server = tls.createServer(opts, (socket) => {
    if (!peerAcceptable(socket, auth)) {
      log.debug({ addr: `${socket.remoteAddress}:${socket.remotePort}`, reason: socket.authorizationError }, 'TLS client certificate refused');
      socket.destroy();
      return;
    }
    onSocket(socket);
  });
  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => {
    log.debug({ addr: `${socket.remoteAddress}:${socket.remotePort}`, reason: err.code ?? err.message }, 'TLS handshake failed');
  });
  return {
    server,
    reload(next: ShoalConfig): void {
      const o = serverTlsOptions(next);
      server.setSecureContext(o);
      const flags = server as unknown as ClientAuthFlags;
      flags.requestCert = o.requestCert;
      flags.rejectUnauthorized = o.rejectUnauthorized;
      auth = next.tlsAuthClients;
    },
  };
}
