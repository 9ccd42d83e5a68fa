/**
 * TLS settings: Redis's tls-* config keys turned into node:tls options, for the three
 * places that speak TLS —
 *
 *   the proxy's client TLS port (tls-port)        proxy/tls.ts         serverTlsOptions
 *   shard worker ports when tls-cluster is yes    shard/worker/main.ts serverTlsOptions
 *   the proxy's links to those workers            proxy/upstream/connect.ts clientTlsOptions
 *
 * Files are read when options are built (at start, and again when CONFIG SET changes
 * a tls-* key); every error is a ConfigError naming the key it comes from, so a bad
 * path or a key that does not match its certificate says which setting to fix.
 * docs/tls.md describes the keys and where Shoal differs from Redis.
 */
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import tls, { type SecureVersion, type TLSSocket } from 'node:tls';
import { ConfigError } from '../errors.js';
import type { ShoalConfig } from '../config/schema.js';

/** Options for tls.createServer / Server.setSecureContext, plus how client certificates are checked. */
export interface TlsServerOptions extends tls.TlsOptions {
  requestCert: boolean;
  rejectUnauthorized: boolean;
}

/** The config keys whose change (CONFIG SET) rebuilds the TLS contexts. */
export const TLS_RELOAD_PARAMS: readonly string[] = [
  'tls-cert-file', 'tls-key-file', 'tls-key-file-pass', 'tls-client-cert-file', 'tls-client-key-file', 'tls-ca-cert-file',
  'tls-auth-clients', 'tls-auth-clients-user', 'tls-protocols', 'tls-ciphers', 'tls-ciphersuites',
];

/** Protocol names Redis accepts in tls-protocols, and the ones Shoal serves. */
const REDIS_PROTOCOLS = ['tlsv1', 'tlsv1.1', 'tlsv1.2', 'tlsv1.3'];
const SERVED: Record<string, SecureVersion> = { 'tlsv1.2': 'TLSv1.2', 'tlsv1.3': 'TLSv1.3' };

/**
 * tls-protocols ("TLSv1.2 TLSv1.3", any case; empty = both) as a min/max range.
 * TLSv1 and TLSv1.1 are refused: they are obsolete and OpenSSL 3 disables them at its
 * default security level anyway (Redis's own default is also 1.2 + 1.3).
 */
export function tlsProtocolRange(text: string): { minVersion: SecureVersion; maxVersion: SecureVersion } {
  const names = text.trim().toLowerCase().split(/\s+/).filter(Boolean);
  if (names.length === 0) return { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' };
  const versions: SecureVersion[] = [];
  for (const n of names) {
    const v = SERVED[n];
    if (v === undefined) {
      const why = REDIS_PROTOCOLS.includes(n) ? `${n.replace('tlsv', 'TLSv')} is not supported` : `unknown protocol ${JSON.stringify(n)}`;
      throw new ConfigError('tls-protocols', `${why}; use TLSv1.2, TLSv1.3 or both (space-separated)`);
    }
    versions.push(v);
  }
  const has12 = versions.includes('TLSv1.2');
  const has13 = versions.includes('TLSv1.3');
  return { minVersion: has12 ? 'TLSv1.2' : 'TLSv1.3', maxVersion: has13 ? 'TLSv1.3' : 'TLSv1.2' };
}

/**
 * Node takes TLSv1.2 ciphers and TLSv1.3 suites in one list (suites are the TLS_*
 * names). Redis keeps them apart (tls-ciphers / tls-ciphersuites): each key replaces
 * its half of Node's default list. undefined = Node's default list.
 */
export function tlsCipherList(config: Pick<ShoalConfig, 'tlsCiphers' | 'tlsCiphersuites'>): string | undefined {
  if (config.tlsCiphers === '' && config.tlsCiphersuites === '') return undefined;
  const defaults = tls.DEFAULT_CIPHERS.split(':');
  const suites = config.tlsCiphersuites !== '' ? config.tlsCiphersuites : defaults.filter((c) => c.startsWith('TLS_')).join(':');
  const ciphers = config.tlsCiphers !== '' ? config.tlsCiphers : defaults.filter((c) => !c.startsWith('TLS_')).join(':');
  return `${suites}:${ciphers}`;
}

function readPem(key: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(key, `cannot read ${file}: ${(err as Error).message}`);
  }
}

/** The CA bundle: every PEM certificate in the file must parse, and there must be one. */
function readCa(file: string): Buffer {
  const pem = readPem('tls-ca-cert-file', file);
  const blocks = pem.toString('latin1').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new ConfigError('tls-ca-cert-file', `${file} holds no PEM certificate`);
  for (const b of blocks) {
    try {
      new X509Certificate(b);
    } catch (err) {
      throw new ConfigError('tls-ca-cert-file', `${file}: ${(err as Error).message}`);
    }
  }
  return pem;
}

/** Builds one context from `opts`; an OpenSSL error becomes a ConfigError for `key`. */
function check(key: string, opts: tls.SecureContextOptions, detail: (msg: string) => string = (m) => m): void {
  try {
    tls.createSecureContext(opts);
  } catch (err) {
    throw new ConfigError(key, detail((err as Error).message));
  }
}

/** Certificate, key, protocols and ciphers, each checked on its own so an error names its key. */
function identityOptions(config: ShoalConfig, certKey: string, certFile: string, keyKey: string, keyFile: string, why: string): tls.SecureContextOptions {
  if (certFile === '') throw new ConfigError(certKey, `required ${why}`);
  if (keyFile === '') throw new ConfigError(keyKey, `required ${why}`);
  const cert = readPem(certKey, certFile);
  const key = readPem(keyKey, keyFile);
  const passphrase = config.tlsKeyFilePass !== '' && keyFile === config.tlsKeyFile ? config.tlsKeyFilePass : undefined;
  const certOnly = cert.toString('latin1').includes('-----BEGIN CERTIFICATE-----');
  if (!certOnly) throw new ConfigError(certKey, `${certFile} holds no PEM certificate`);
  check(keyKey, { cert, key, ...(passphrase !== undefined ? { passphrase } : {}) }, (m) =>
    /mismatch/i.test(m) ? `${keyFile} is not the private key of ${certKey} ${certFile} (${m})` : `${keyFile}: ${m}`);
  const range = tlsProtocolRange(config.tlsProtocols);
  const ciphers = tlsCipherList(config);
  if (ciphers !== undefined) {
    if (config.tlsCiphers !== '') check('tls-ciphers', { ciphers: tlsCipherList({ tlsCiphers: config.tlsCiphers, tlsCiphersuites: '' })! });
    if (config.tlsCiphersuites !== '') check('tls-ciphersuites', { ciphers: tlsCipherList({ tlsCiphers: '', tlsCiphersuites: config.tlsCiphersuites })! });
  }
  return { cert, key, ...(passphrase !== undefined ? { passphrase } : {}), ...range, ...(ciphers !== undefined ? { ciphers } : {}) };
}

/**
 * Options of a TLS listener (the proxy's tls-port, or a worker port with tls-cluster):
 * tls-cert-file/tls-key-file as its identity, tls-ca-cert-file to verify client
 * certificates as tls-auth-clients asks (Redis's default: required).
 */
export function serverTlsOptions(config: ShoalConfig): TlsServerOptions {
  const opts = identityOptions(config, 'tls-cert-file', config.tlsCertFile, 'tls-key-file', config.tlsKeyFile,
    'when tls-port is set or tls-cluster is yes');
  const auth = config.tlsAuthClients;
  let ca: Buffer | undefined;
  if (config.tlsCaCertFile !== '') ca = readCa(config.tlsCaCertFile);
  else if (auth !== 'no') {
    throw new ConfigError('tls-ca-cert-file', `required to verify client certificates when tls-auth-clients is ${auth} (Redis's default is yes; set tls-auth-clients no to accept clients without one)`);
  }
  return { ...opts, ...(ca ? { ca } : {}), requestCert: auth !== 'no', rejectUnauthorized: auth === 'yes' };
}

/**
 * Options of the proxy's connections to TLS workers: the client certificate
 * (tls-client-cert-file, else tls-cert-file, as Redis does for its outgoing links) and
 * the CA that must have signed the worker's certificate. The worker's host name is not
 * checked against its certificate (topologies name workers by address), as Redis does
 * not for its cluster bus: the CA is the trust anchor.
 */
export function clientTlsOptions(config: ShoalConfig): tls.ConnectionOptions {
  const own = config.tlsClientCertFile !== '';
  const opts = own
    ? identityOptions(config, 'tls-client-cert-file', config.tlsClientCertFile, 'tls-client-key-file', config.tlsClientKeyFile, 'with tls-client-cert-file')
    : identityOptions(config, 'tls-cert-file', config.tlsCertFile, 'tls-key-file', config.tlsKeyFile, 'when tls-cluster is yes');
  if (config.tlsCaCertFile === '') throw new ConfigError('tls-ca-cert-file', 'required when tls-cluster is yes (the proxy verifies worker certificates against it)');
  return { ...opts, ca: readCa(config.tlsCaCertFile), rejectUnauthorized: true, checkServerIdentity: () => undefined };
}

/**
 * After the handshake: false when the client sent a certificate that does not verify.
 * With tls-auth-clients optional the handshake accepts any certificate (Node has no
 * "verify if present" mode), so the check is here; Redis refuses such a client.
 */
export function peerAcceptable(socket: TLSSocket, auth: ShoalConfig['tlsAuthClients']): boolean {
  if (auth !== 'optional' || socket.authorized) return true;
  return socket.getPeerX509Certificate() === undefined;
}

/** The verified client certificate's Common Name (the first one), or undefined. */
export function peerCommonName(socket: TLSSocket): string | undefined {
  if (!socket.authorized) return undefined;
  const cn = socket.getPeerCertificate(false)?.subject?.CN as string | string[] | undefined;
  return Array.isArray(cn) ? cn[0] : cn;
}

/** When the certificate in `file` expires, and whether it is outside its validity now (start-up warning); undefined if unreadable. */
export function certificateValidity(file: string): { validTo: string; expired: boolean } | undefined {
  try {
    const x = new X509Certificate(readFileSync(file));
    const now = Date.now();
    return { validTo: x.validTo, expired: now > Date.parse(x.validTo) || now < Date.parse(x.validFrom) };
  } catch {
    return undefined;
  }
}
