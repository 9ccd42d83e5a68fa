// TLS settings → node:tls options (shared/tls/settings.ts): tls-protocols ranges,
// the split of tls-ciphers / tls-ciphersuites over Node's one list, and errors that
// name the key. Certificates come from test/helpers/certs.ts (openssl).
import t from 'tap';
import tls from 'node:tls';
import { tlsProtocolRange, tlsCipherList, serverTlsOptions, clientTlsOptions } from '../../../shared/tls/settings.js';
import { defaultConfig } from '../../../shared/config/load.js';
import { ConfigError } from '../../../shared/errors.js';
import type { ShoalConfig } from '../../../shared/config/schema.js';
import { makeCerts } from '../../helpers/certs.js';

t.test('tls-protocols', async (t) => {
  const rows: Array<[string, string, string]> = [
    ['', 'TLSv1.2', 'TLSv1.3'],
    ['TLSv1.2 TLSv1.3', 'TLSv1.2', 'TLSv1.3'],
    ['tlsv1.3', 'TLSv1.3', 'TLSv1.3'],
    ['  TLSv1.2  ', 'TLSv1.2', 'TLSv1.2'],
    ['TLSv1.3 TLSv1.2', 'TLSv1.2', 'TLSv1.3'],
  ];
  for (const [text, min, max] of rows) t.same(tlsProtocolRange(text), { minVersion: min, maxVersion: max }, JSON.stringify(text));
  for (const [text, msg] of [
    ['TLSv1.1 TLSv1.2', /config tls-protocols: TLSv1.1 is not supported/],
    ['TLSv1', /TLSv1 is not supported/],
    ['SSLv3', /unknown protocol "sslv3"/],
  ] as const) {
    t.throws(() => tlsProtocolRange(text), msg, text);
    t.throws(() => tlsProtocolRange(text), ConfigError);
  }
});

t.test('tls-ciphers and tls-ciphersuites each replace their half of the default list', async (t) => {
  t.equal(tlsCipherList({ tlsCiphers: '', tlsCiphersuites: '' }), undefined);
  const only12 = tlsCipherList({ tlsCiphers: 'ECDHE-ECDSA-AES128-GCM-SHA256', tlsCiphersuites: '' })!;
  t.match(only12, /^TLS_AES_256_GCM_SHA384:.*:ECDHE-ECDSA-AES128-GCM-SHA256$/, 'default 1.3 suites kept');
  t.notMatch(only12, /ECDHE-RSA/, 'default 1.2 list replaced');
  const only13 = tlsCipherList({ tlsCiphers: '', tlsCiphersuites: 'TLS_CHACHA20_POLY1305_SHA256' })!;
  t.ok(only13.startsWith('TLS_CHACHA20_POLY1305_SHA256:ECDHE-'), '1.3 suites replaced, 1.2 defaults kept');
  t.doesNotThrow(() => tls.createSecureContext({ ciphers: only13 }));
});

t.test('server and client options; errors name the key', async (t) => {
  const certs = await makeCerts(['alice']);
  t.teardown(() => certs.remove());
  const base = (over: Partial<ShoalConfig> = {}): ShoalConfig => ({
    ...defaultConfig(), tlsCertFile: certs.server.cert, tlsKeyFile: certs.server.key, tlsCaCertFile: certs.ca, ...over,
  });
  const o = serverTlsOptions(base());
  t.equal(o.requestCert, true, 'tls-auth-clients yes (default): certificate requested');
  t.equal(o.rejectUnauthorized, true, '... and required');
  t.same([o.minVersion, o.maxVersion], ['TLSv1.2', 'TLSv1.3']);
  const opt = serverTlsOptions(base({ tlsAuthClients: 'optional' }));
  t.same([opt.requestCert, opt.rejectUnauthorized], [true, false], 'optional');
  const no = serverTlsOptions(base({ tlsAuthClients: 'no', tlsCaCertFile: '' }));
  t.same([no.requestCert, no.rejectUnauthorized, no.ca], [false, false, undefined], 'no: CA not needed');
  const c = clientTlsOptions(base({ tlsClientCertFile: certs.clients['alice']!.cert, tlsClientKeyFile: certs.clients['alice']!.key }));
  t.equal(String(c.cert).includes('BEGIN CERTIFICATE'), true, 'tls-client-cert-file used');
  t.equal(c.checkServerIdentity?.('127.0.0.1', {} as tls.PeerCertificate), undefined, 'no host name check');

  const cases: Array<[Partial<ShoalConfig>, RegExp]> = [
    [{ tlsCertFile: '' }, /config tls-cert-file: required/],
    [{ tlsCertFile: `${certs.dir}/none.crt` }, /config tls-cert-file: cannot read/],
    [{ tlsCertFile: certs.server.key }, /config tls-cert-file: .* holds no PEM certificate/],
    [{ tlsKeyFile: certs.clients['alice']!.key }, /config tls-key-file: .* is not the private key of tls-cert-file/],
    [{ tlsCaCertFile: '' }, /config tls-ca-cert-file: required to verify client certificates when tls-auth-clients is yes/],
    [{ tlsCaCertFile: certs.server.key }, /config tls-ca-cert-file: .* holds no PEM certificate/],
    [{ tlsCiphers: 'BOGUS' }, /config tls-ciphers: .*no cipher match/],
    [{ tlsCiphersuites: 'TLS_BOGUS' }, /config tls-ciphersuites: .*no cipher match/],
    [{ tlsProtocols: 'TLSv1.1' }, /config tls-protocols/],
  ];
  for (const [over, msg] of cases) t.throws(() => serverTlsOptions(base(over)), msg, JSON.stringify(over));
  t.throws(() => clientTlsOptions(base({ tlsCaCertFile: '' })), /config tls-ca-cert-file: required when tls-cluster is yes/);
  t.throws(() => clientTlsOptions(base({ tlsClientCertFile: certs.clients['alice']!.cert })), /config tls-client-key-file: required/);
});
