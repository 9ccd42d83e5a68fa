/**
 * connectWorker: the one place the proxy opens a socket to a shard worker (framed
 * links, proxy/upstream/link.ts, and blocking-command connections,
 * proxy/upstream/blocking-conn.ts). Plain TCP, or TLS when tls-cluster is yes.
 *
 * The TLS client context (certificate, key, CA) is built once and reused by every
 * connection; it is rebuilt when CONFIG SET changes a TLS setting (proxy/tls.ts calls
 * prepareUpstreamTls with the new files), so a reconnect never reads files.
 *
 * A TLS socket emits 'connect' when TCP connects and 'secureConnect' once the
 * handshake is done: wait for `upstreamReadyEvent(socket)` before counting a link up.
 */
import net, { type Socket } from 'node:net';
import tls from 'node:tls';
import type { WorkerEndpoint } from '../../shared/cluster/topology.js';
import type { ShoalConfig } from '../../shared/config/schema.js';
import { clientTlsOptions } from '../../shared/tls/settings.js';

let context: { options: tls.ConnectionOptions; secureContext: tls.SecureContext } | null = null;

function build(config: ShoalConfig): NonNullable<typeof context> {
  const options = clientTlsOptions(config);
  return { options, secureContext: tls.createSecureContext(options) };
}

/** Opens a plain or TLS connection to `endpoint` as the config says (throws a ConfigError on bad TLS files at first use). */
export function connectWorker(endpoint: WorkerEndpoint, config: ShoalConfig): Socket {
  if (config.tlsCluster !== 'yes') return net.connect({ host: endpoint.host, port: endpoint.port });
  context ??= build(config);
  const { options, secureContext } = context;
  return tls.connect({
    host: endpoint.host,
    port: endpoint.port,
    secureContext,
    minVersion: options.minVersion,
    maxVersion: options.maxVersion,
    rejectUnauthorized: true,
    checkServerIdentity: options.checkServerIdentity,
  });
}

/**
 * Builds the upstream TLS context from `config` and returns the function that puts it
 * in use; throws, changing nothing, if the new settings do not work.
 */
export function prepareUpstreamTls(config: ShoalConfig): () => void {
  if (config.tlsCluster !== 'yes') return () => {};
  const next = build(config);
  return () => {
    context = next;
  };
}

/** The event after which bytes can flow: 'secureConnect' for TLS, 'connect' for TCP. */
export function upstreamReadyEvent(socket: Socket): 'connect' | 'secureConnect' {
  return socket instanceof tls.TLSSocket ? 'secureConnect' : 'connect';
}
