/**
 * The proxy's TLS side (docs/tls.md): the client TLS port (tls-port) beside the plain
 * one, whose sockets go to the same ProxyServer.accept, client-certificate logins
 * (tls-auth-clients-user CN), and reloading certificates on CONFIG SET for both the
 * TLS port and the upstream links to workers (tls-cluster).
 *
 * Nothing here runs per command: the work is per connection (handshake, one login).
 */
import type { TLSSocket } from 'node:tls';
import { ShoalError, ErrorCodes } from '../shared/errors.js';
import { createTlsServer, type TlsListener } from '../shared/tls/server.js';
import { peerCommonName, certificateValidity, serverTlsOptions, clientTlsOptions } from '../shared/tls/settings.js';
import type { ShoalConfig } from '../shared/config/schema.js';
import { onTlsSettingsChange } from '../shared/tls/params.js';
import { prepareUpstreamTls } from './upstream/connect.js';
import type { ProxyServer } from './proxy-server.js';

export interface ProxyTls {
  /** The TLS port's server; null when tls-port is 0. */
  readonly listener: TlsListener | null;
  close(): void;
}

/**
 * Sets up TLS for `proxy` and listens on tls-port (if set) at `host`. Throws a
 * ConfigError naming the key when a certificate, key or CA file is missing or
 * unusable, and a ShoalError when the port cannot be bound.
 */
export async function startProxyTls(proxy: ProxyServer, host: string): Promise<ProxyTls> {
  const config = proxy.config;
  const log = proxy.log.child({ component: 'tls' });
  let listener: TlsListener | null = null;
  if (config.tlsPort !== 0) {
    listener = createTlsServer(config, log, (socket) => acceptTls(proxy, socket));
    const validity = certificateValidity(config.tlsCertFile);
    if (validity?.expired) log.warn({ file: config.tlsCertFile, validTo: validity.validTo }, 'tls-cert-file is expired or not yet valid; clients will refuse it');
    const server = listener.server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new ShoalError(ErrorCodes.PROCESS, `proxy cannot listen on ${host}:${config.tlsPort} (tls-port): ${err.message}`)));
      server.listen(config.tlsPort, host, () => resolve());
    });
    log.info({ port: config.tlsPort, authClients: config.tlsAuthClients, authClientsUser: config.tlsAuthClientsUser },
      `TLS ready: redis-cli --tls -p ${config.tlsPort}`);
  }
  if (listener !== null || config.tlsCluster === 'yes') {
    const tlsListener = listener;
    const rebuild = (next: ShoalConfig): void => {
      // The upstream context is built before the listener's is swapped in and put in
      // use after, so a failure in either changes nothing.
      const commitUpstream = prepareUpstreamTls(next);
      tlsListener?.reload(next);
      commitUpstream();
    };
    onTlsSettingsChange(proxy.runtime, log, () => {
      rebuild(proxy.config);
      proxy.group.share(TLS_TOPIC, tlsSettingsOf(proxy.config));
    });
    // The other proxy processes (proxy-processes > 1) take the same settings; a
    // restarted one gets the latest at once.
    proxy.group.onShared(TLS_TOPIC, (payload) => {
      const next = { ...proxy.config, ...(payload as TlsSettings) };
      try {
        rebuild(next);
        Object.assign(proxy.config, payload);
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'TLS settings from another proxy process not applied; keeping the previous ones');
      }
    });
  }
  return {
    listener,
    close: () => listener?.server.close(),
  };
}

/** The group topic carrying TLS settings changed by CONFIG SET to every proxy process. */
const TLS_TOPIC = 'tls-settings';

type TlsSettings = Pick<ShoalConfig, 'tlsCertFile' | 'tlsKeyFile' | 'tlsKeyFilePass' | 'tlsClientCertFile' | 'tlsClientKeyFile'
  | 'tlsCaCertFile' | 'tlsAuthClients' | 'tlsAuthClientsUser' | 'tlsProtocols' | 'tlsCiphers' | 'tlsCiphersuites'>;

function tlsSettingsOf(c: ShoalConfig): TlsSettings {
  return {
    tlsCertFile: c.tlsCertFile, tlsKeyFile: c.tlsKeyFile, tlsKeyFilePass: c.tlsKeyFilePass, tlsClientCertFile: c.tlsClientCertFile,
    tlsClientKeyFile: c.tlsClientKeyFile, tlsCaCertFile: c.tlsCaCertFile, tlsAuthClients: c.tlsAuthClients,
    tlsAuthClientsUser: c.tlsAuthClientsUser, tlsProtocols: c.tlsProtocols, tlsCiphers: c.tlsCiphers, tlsCiphersuites: c.tlsCiphersuites,
  };
}

/**
 * Checks the TLS settings without listening (the multi-process primary, before it
 * starts workers): throws the ConfigError startProxyTls would.
 */
export function checkProxyTls(config: ShoalConfig): void {
  if (config.tlsPort !== 0) serverTlsOptions(config);
  if (config.tlsCluster === 'yes') clientTlsOptions(config);
}

/** A client that completed the handshake: served like a plain one, logged in by its certificate if configured. */
function acceptTls(proxy: ProxyServer, socket: TLSSocket): void {
  const client = proxy.accept(socket);
  if (proxy.config.tlsAuthClientsUser !== 'CN') return;
  const cn = peerCommonName(socket);
  // A CN that names no (enabled) user leaves the client as a fresh connection is,
  // `default`, as Redis does; AUTH still works.
  if (cn !== undefined && proxy.acl.loginAs(client.state, cn)) {
    proxy.log.info({ client: client.state.id, user: cn }, 'TLS client logged in by certificate CN');
  }
}
