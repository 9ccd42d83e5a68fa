/**
 * The tls-* parameters of CONFIG GET / CONFIG SET (shared/config/runtime.ts), named
 * and valued as Redis names them, and the hook that rebuilds TLS contexts when a SET
 * changes them. tls-port and tls-cluster are read-only at run time (a listener or the
 * link protocol would have to change under live connections).
 */
import type { RuntimeConfig } from '../config/runtime.js';
import type { Param } from '../config/param.js';
import type { ShoalConfig } from '../config/schema.js';
import { TLS_AUTH_CLIENTS, TLS_AUTH_CLIENTS_USER } from '../config/schema.js';
import type { Logger } from '../log.js';
import { TLS_RELOAD_PARAMS } from './settings.js';

type FileKey = 'tlsCertFile' | 'tlsKeyFile' | 'tlsKeyFilePass' | 'tlsClientCertFile' | 'tlsClientKeyFile' | 'tlsCaCertFile' | 'tlsProtocols' | 'tlsCiphers' | 'tlsCiphersuites';

/** A free-form string setting; '' clears it, as in Redis. */
function text(name: string, key: FileKey): Param {
  return {
    name,
    get: (rc) => rc.config[key],
    set: (rc, v) => {
      rc.config[key] = v;
      return undefined;
    },
  };
}

/** An enum setting, matched case-insensitively and stored in its canonical spelling. */
function choice<K extends 'tlsAuthClients' | 'tlsAuthClientsUser'>(name: string, key: K, values: readonly ShoalConfig[K][]): Param {
  return {
    name,
    get: (rc) => rc.config[key],
    set: (rc, v) => {
      const hit = values.find((x) => x.toLowerCase() === v.toLowerCase());
      if (hit === undefined) return `argument(s) must be one of the following: ${values.join(', ')}`;
      rc.config[key] = hit;
      return undefined;
    },
  };
}

export const TLS_PARAMS: readonly Param[] = [
  { name: 'tls-port', get: (rc) => String(rc.config.tlsPort) },
  text('tls-cert-file', 'tlsCertFile'),
  text('tls-key-file', 'tlsKeyFile'),
  text('tls-key-file-pass', 'tlsKeyFilePass'),
  text('tls-client-cert-file', 'tlsClientCertFile'),
  text('tls-client-key-file', 'tlsClientKeyFile'),
  text('tls-ca-cert-file', 'tlsCaCertFile'),
  choice('tls-auth-clients', 'tlsAuthClients', TLS_AUTH_CLIENTS),
  choice('tls-auth-clients-user', 'tlsAuthClientsUser', TLS_AUTH_CLIENTS_USER),
  text('tls-protocols', 'tlsProtocols'),
  text('tls-ciphers', 'tlsCiphers'),
  text('tls-ciphersuites', 'tlsCiphersuites'),
  { name: 'tls-cluster', get: (rc) => rc.config.tlsCluster },
];

/** Redis's reply when new TLS settings cannot be applied; the reason goes to the log. */
const UPDATE_FAILED = 'Unable to update TLS configuration. Check server logs.';

/**
 * Calls `rebuild` after every CONFIG SET that changes a TLS setting. `rebuild` reads
 * the (already updated) config and throws if the new settings do not work (a missing
 * file, a key that does not match); the SET is then rolled back with Redis's error and
 * the running TLS contexts stay as they were.
 */
export function onTlsSettingsChange(runtime: RuntimeConfig, log: Logger, rebuild: () => void): void {
  runtime.applyHooks.push((changed) => {
    const first = changed.find((n) => TLS_RELOAD_PARAMS.includes(n));
    if (first === undefined) return undefined;
    try {
      rebuild();
    } catch (err) {
      log.warn({ err: (err as Error).message, changed }, 'CONFIG SET: new TLS settings not applied; keeping the previous ones');
      return { param: first, message: UPDATE_FAILED };
    }
    log.info({ changed }, 'TLS settings reloaded');
    return undefined;
  });
}
