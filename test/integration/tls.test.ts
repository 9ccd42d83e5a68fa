// TLS (docs/tls.md): the client TLS port beside the plain one, with certificates made
// here by `openssl` (test/helpers/certs.ts). ioredis, node-redis and redis-cli over
// TLSv1.2 and TLSv1.3; refused handshakes (wrong CA either way, an expired client
// certificate, TLSv1.1, no client certificate when tls-auth-clients is yes, plain
// RESP on the TLS port); CONFIG SET of certificates. Against SHOAL_TEST_TARGET=redis
// the same tests run on redis-server's own TLS port. Shoal only: client certificate
// CN → ACL user (tls-auth-clients-user, Redis 8.6+/Valkey), start-up errors naming
// the key, and TLS on the proxy → worker links (tls-cluster yes).

import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import tls from 'node:tls';
import t from 'tap';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { useTarget, startShoal, freePortRange, isRedis } from '../helpers/cluster.js';
import { encodeCommand, rawSend, connect, sleep, pollUntil } from '../helpers/run.js';
import { makeCerts, type CertPair } from '../helpers/certs.js';

const execFileP = promisify(execFile);
const certs = await makeCerts(['alice', 'bob', 'carol']);
t.teardown(() => certs.remove());
const alice = certs.clients['alice']!;
const caPem = readFileSync(certs.ca);

const tlsPort = await freePortRange(1);
const tlsEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
  SHOAL_TLS_PORT: String(tlsPort),
  SHOAL_TLS_CERT_FILE: certs.server.cert,
  SHOAL_TLS_KEY_FILE: certs.server.key,
  SHOAL_TLS_CA_CERT_FILE: certs.ca,
  ...extra,
});
const { run } = await useTarget(t, {
  env: tlsEnv({ SHOAL_TLS_AUTH_CLIENTS_USER: 'CN' }),
  redisArgs: ['--tls-port', String(tlsPort), '--tls-cert-file', certs.server.cert, '--tls-key-file', certs.server.key,
    '--tls-ca-cert-file', certs.ca],
}).catch(async (err: unknown) => {
  await certs.remove(); // teardowns do not run when the file's top level throws
  throw err;
});

/** Client options presenting `pair` and trusting `ca` (the test CA by default). */
function tlsOpts(pair: CertPair | null, extra: tls.ConnectionOptions = {}): tls.ConnectionOptions {
  return {
    ca: caPem,
    ...(pair ? { cert: readFileSync(pair.cert), key: readFileSync(pair.key) } : {}),
    ...extra,
  };
}

type Probe = { reply?: string; error?: string; protocol?: string | null };

/**
 * One TLS connection to `port`: handshake, send argv, first reply line. An error or a
 * close before the reply is the result instead (bounded 5 s).
 */
function probe(port: number, opts: tls.ConnectionOptions, argv: string[] = ['PING']): Promise<Probe> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, ...opts });
    let buf = '';
    let protocol: string | null = null;
    let done = false;
    const finish = (r: Probe): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ ...r, protocol });
    };
    const timer = setTimeout(() => finish({ error: 'timeout' }), 5000);
    s.on('secureConnect', () => {
      protocol = s.getProtocol();
      s.write(encodeCommand(argv));
    });
    s.on('data', (d: Buffer) => {
      buf += d.toString();
      const eol = buf.indexOf('\r\n');
      if (eol >= 0) finish({ reply: buf.slice(0, eol) });
    });
    s.on('error', (e: NodeJS.ErrnoException) => finish({ error: e.code ?? e.message }));
    s.on('close', () => finish({ error: 'closed' }));
  });
}

t.test('ioredis over TLSv1.2 and TLSv1.3', async (t) => {
  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    const r = new Redis({
      host: '127.0.0.1', port: tlsPort, maxRetriesPerRequest: 1, retryStrategy: () => null, connectTimeout: 5000, lazyConnect: true,
      tls: tlsOpts(alice, { minVersion: version, maxVersion: version }),
    });
    try {
      await r.connect();
      t.equal((r.stream as tls.TLSSocket).getProtocol(), version, `negotiated ${version}`);
      t.equal(await r.set(`io:${version}`, 'v'), 'OK');
      t.equal(await r.get(`io:${version}`), 'v');
      t.same(await r.mget(`io:${version}`, 'io:none'), ['v', null]);
    } finally {
      r.disconnect();
    }
  }
  t.equal(await run(['GET', 'io:TLSv1.3']), 'v', 'written over TLS, read on the plain port');
});

t.test('node-redis over TLSv1.2 and TLSv1.3', async (t) => {
  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    const c = createClient({
      socket: { host: '127.0.0.1', port: tlsPort, tls: true, ...tlsOpts(alice, { minVersion: version, maxVersion: version }), reconnectStrategy: false, connectTimeout: 5000 },
    });
    c.on('error', () => {});
    await c.connect();
    try {
      t.equal(await c.set(`nr:${version}`, 'w'), 'OK');
      t.equal(await c.get(`nr:${version}`), 'w');
      t.equal(await c.incr(`nr:n:${version}`), 1);
    } finally {
      c.destroy();
    }
  }
});

t.test('redis-cli --tls', async (t) => {
  const cli = async (...args: string[]): Promise<string> =>
    (await execFileP('redis-cli', ['--tls', '--cacert', certs.ca, '--cert', alice.cert, '--key', alice.key,
      '-h', '127.0.0.1', '-p', String(tlsPort), ...args], { timeout: 10_000 })).stdout.trim();
  t.equal(await cli('SET', 'cli:k', 'hello'), 'OK');
  t.equal(await cli('GET', 'cli:k'), 'hello');
  t.equal(await cli('PING'), 'PONG');
});

t.test('the client refuses a server whose CA it does not trust', async (t) => {
  const p = await probe(tlsPort, { ...tlsOpts(alice), ca: readFileSync(certs.otherCa) });
  t.equal(p.reply, undefined, 'no reply');
  t.match(p.error, /SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/, `client-side verification error (${p.error})`);
});

t.test('the server refuses client certificates it cannot verify', async (t) => {
  const other = await probe(tlsPort, tlsOpts(certs.otherClient));
  t.equal(other.reply, undefined, `certificate from another CA: no reply (${other.error})`);
  const expired = await probe(tlsPort, tlsOpts(certs.expired));
  t.equal(expired.reply, undefined, `expired certificate: no reply (${expired.error})`);
  const none = await probe(tlsPort, tlsOpts(null));
  t.equal(none.reply, undefined, `tls-auth-clients yes (the default) and no certificate: no reply (${none.error})`);
  t.equal((await probe(tlsPort, tlsOpts(alice))).reply, '+PONG', 'a valid certificate still works');
});

t.test('tls-auth-clients optional accepts a client without a certificate, not one with a bad one', async (t) => {
  t.same(await run(['CONFIG', 'SET', 'tls-auth-clients', 'maybe']),
    { error: "ERR CONFIG SET failed (possibly related to argument 'tls-auth-clients') - argument(s) must be one of the following: no, yes, optional" });
  t.equal(await run(['CONFIG', 'SET', 'tls-auth-clients', 'optional']), 'OK');
  t.teardown(async () => {
    await run(['CONFIG', 'SET', 'tls-auth-clients', 'yes']);
  });
  t.same(await run(['CONFIG', 'GET', 'tls-auth-clients']), ['tls-auth-clients', 'optional']);
  t.equal((await probe(tlsPort, tlsOpts(null))).reply, '+PONG', 'no certificate: accepted');
  t.equal((await probe(tlsPort, tlsOpts(alice))).reply, '+PONG', 'a valid certificate: accepted');
  const other = await probe(tlsPort, tlsOpts(certs.otherClient));
  t.equal(other.reply, undefined, `a certificate from another CA: refused (${other.error})`);
  const expired = await probe(tlsPort, tlsOpts(certs.expired));
  t.equal(expired.reply, undefined, `an expired certificate: refused (${expired.error})`);
  t.equal(await run(['CONFIG', 'SET', 'tls-auth-clients', 'no']), 'OK');
  t.equal((await probe(tlsPort, tlsOpts(null))).reply, '+PONG', 'tls-auth-clients no: accepted');
  t.equal(await run(['CONFIG', 'SET', 'tls-auth-clients', 'yes']), 'OK');
  t.equal((await probe(tlsPort, tlsOpts(null))).reply, undefined, 'back to yes: refused again');
});

t.test('a TLSv1.1 client is refused', async (t) => {
  // SECLEVEL=0 lets this side offer TLSv1.1 at all; the refusal must come from the server.
  const p = await probe(tlsPort, tlsOpts(alice, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }));
  t.equal(p.reply, undefined, 'no reply');
  t.match(p.error, /ALERT_PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL|WRONG_VERSION/, `protocol version refused (${p.error})`);
});

t.test('plain RESP on the TLS port is disconnected; both ports keep working', async (t) => {
  const r = await rawSend(tlsPort, '*1\r\n$4\r\nPING\r\n', { timeoutMs: 5000 });
  t.equal(r.closed, true, 'connection closed');
  t.notMatch(r.data.toString('latin1'), /PONG/, 'no RESP reply');
  const inline = await rawSend(tlsPort, 'PING\r\n', { timeoutMs: 5000 });
  t.equal(inline.closed, true, 'inline PING: closed too');
  t.equal(await run(['PING']), 'PONG', 'plain port still serves');
  t.equal((await probe(tlsPort, tlsOpts(alice))).reply, '+PONG', 'TLS port still serves');
});

t.test('CONFIG GET/SET of TLS settings; a bad certificate file is refused and nothing changes', async (t) => {
  t.same(await run(['CONFIG', 'GET', 'tls-port']), ['tls-port', String(tlsPort)]);
  t.same(await run(['CONFIG', 'GET', 'tls-cert-file']), ['tls-cert-file', certs.server.cert]);
  t.same(await run(['CONFIG', 'GET', 'tls-cluster']), ['tls-cluster', 'no']);
  t.same(await run(['CONFIG', 'SET', 'tls-cert-file', path.join(certs.dir, 'missing.crt')]),
    { error: "ERR CONFIG SET failed (possibly related to argument 'tls-cert-file') - Unable to update TLS configuration. Check server logs." });
  t.same(await run(['CONFIG', 'GET', 'tls-cert-file']), ['tls-cert-file', certs.server.cert], 'rolled back');
  t.same(await run(['CONFIG', 'SET', 'tls-key-file', certs.clients['bob']!.key]),
    { error: "ERR CONFIG SET failed (possibly related to argument 'tls-key-file') - Unable to update TLS configuration. Check server logs." },
    'a key that does not match the certificate');
  t.same(await run(['CONFIG', 'SET', 'tls-ciphers', 'BOGUS']),
    { error: "ERR CONFIG SET failed (possibly related to argument 'tls-ciphers') - Unable to update TLS configuration. Check server logs." });
  t.equal((await probe(tlsPort, tlsOpts(alice))).reply, '+PONG', 'the old certificate still serves');

  // A new certificate applies to new connections.
  t.equal(await run(['CONFIG', 'SET', 'tls-cert-file', certs.reloaded.cert, 'tls-key-file', certs.reloaded.key]), 'OK');
  t.teardown(async () => {
    await run(['CONFIG', 'SET', 'tls-cert-file', certs.server.cert, 'tls-key-file', certs.server.key]);
  });
  t.equal(await servedCn(tlsPort), 'shoal-reloaded', 'new connections get the new certificate');
  t.equal(await run(['CONFIG', 'SET', 'tls-cert-file', certs.server.cert, 'tls-key-file', certs.server.key]), 'OK');
  t.equal((await probe(tlsPort, tlsOpts(alice))).reply, '+PONG');
});

t.test('client certificate CN → ACL user (tls-auth-clients-user CN)', { skip: isRedis && 'Redis 7.0 has no tls-auth-clients-user' }, async (t) => {
  t.same(await run(['CONFIG', 'GET', 'tls-auth-clients-user']), ['tls-auth-clients-user', 'CN']);
  t.equal(await run(['ACL', 'SETUSER', 'alice', 'on', '>alice-secret', '~*', '&*', '+@all']), 'OK');
  t.equal(await run(['ACL', 'SETUSER', 'carol', 'off', '>carol-secret', '~*', '+@all']), 'OK');
  t.teardown(async () => {
    await run(['ACL', 'DELUSER', 'alice', 'carol']);
  });
  t.equal((await probe(tlsPort, tlsOpts(alice), ['ACL', 'WHOAMI'])).reply, '$5', 'ACL WHOAMI answers a 5-byte name');
  const whoami = async (pair: CertPair): Promise<unknown> => {
    const r = new Redis({ host: '127.0.0.1', port: tlsPort, maxRetriesPerRequest: 1, retryStrategy: () => null, lazyConnect: true, tls: tlsOpts(pair) });
    try {
      await r.connect();
      return await r.call('ACL', 'WHOAMI');
    } finally {
      r.disconnect();
    }
  };
  t.equal(await whoami(alice), 'alice', 'CN alice names an ACL user: logged in as alice, no AUTH');
  t.equal(await whoami(certs.clients['bob']!), 'default', 'CN bob names no user: default');
  t.equal(await whoami(certs.clients['carol']!), 'default', 'CN carol names a disabled user: default');

  t.equal(await run(['CONFIG', 'SET', 'tls-auth-clients-user', 'off']), 'OK');
  t.equal(await whoami(alice), 'default', 'tls-auth-clients-user off: no login by certificate');
  t.same(await run(['CONFIG', 'SET', 'tls-auth-clients-user', 'sometimes']),
    { error: "ERR CONFIG SET failed (possibly related to argument 'tls-auth-clients-user') - argument(s) must be one of the following: off, CN" });
  t.equal(await run(['CONFIG', 'SET', 'tls-auth-clients-user', 'cn']), 'OK');
  t.same(await run(['CONFIG', 'GET', 'tls-auth-clients-user']), ['tls-auth-clients-user', 'CN']);
  t.equal(await whoami(alice), 'alice');
});

/** Runs shoal-proxy with `args` and returns its exit code and stderr (bounded 30 s). */
function proxyFails(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'shoal-proxy.js');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, '--log-level', 'silent', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

t.test('start-up errors name the key', { skip: isRedis && 'Shoal launcher flags' }, async (t) => {
  const [port, tport, shardPort] = [await freePortRange(1), await freePortRange(1), await freePortRange(1)];
  const base = ['--port', String(port), '--http-port', '0', '--shard-port', String(shardPort), '--tls-port', String(tport)];
  // Each message has a unit test (test/shared/tls/settings.test.ts); here the binary
  // must exit 1 with it, in the multi-process primary (the default) and single-process.
  const cases: Array<[string, string[], RegExp]> = [
    ['missing certificate file', ['--tls-cert-file', path.join(certs.dir, 'nope.crt'), '--tls-key-file', certs.server.key, '--tls-ca-cert-file', certs.ca],
      /config tls-cert-file: cannot read .*nope\.crt/],
    ['no CA with tls-auth-clients yes, one process', ['--proxy-processes', '1', '--tls-cert-file', certs.server.cert, '--tls-key-file', certs.server.key],
      /config tls-ca-cert-file: required/],
    ['TLSv1.1', ['--tls-cert-file', certs.server.cert, '--tls-key-file', certs.server.key, '--tls-ca-cert-file', certs.ca, '--tls-protocols', 'TLSv1.1 TLSv1.2'],
      /config tls-protocols: TLSv1.1 is not supported/],
    ['bad enum', ['--tls-auth-clients', 'sometimes'], /tls-auth-clients|tlsAuthClients.*expected one of no, yes, optional/],
  ];
  for (const [what, args, want] of cases) {
    const r = await proxyFails([...base, ...args]);
    t.equal(r.code, 1, `${what}: exit code 1`);
    t.match(r.stderr, want, `${what}: ${r.stderr.trim()}`);
  }
});

/** The CN of the certificate the server on `port` presents to a new connection. */
function servedCn(port: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ...tlsOpts(alice) }, () => {
      const cn = s.getPeerCertificate().subject?.CN;
      s.destroy();
      resolve(Array.isArray(cn) ? cn[0] : cn);
    });
    s.on('error', reject);
  });
}

t.test('TLS on the proxy → worker links (tls-cluster yes), two proxy processes', { skip: isRedis && 'Shoal shard links' }, async (t) => {
  const clusterTlsPort = await freePortRange(1);
  const cluster = await startShoal({
    workers: 2,
    proxyProcesses: 2,
    tlsWorkers: true,
    env: tlsEnv({ SHOAL_TLS_PORT: String(clusterTlsPort), SHOAL_TLS_CLUSTER: 'yes' }),
  });
  t.teardown(() => cluster.stop());
  const c = await connect(cluster.port);
  t.teardown(() => c.close());
  const up = await pollUntil(() => c.run(['SET', 'warm', '1']), (v) => v === 'OK', 10_000);
  t.equal(up.value, 'OK', `links up over TLS (${up.ms} ms)`);
  t.same(await c.run(['CONFIG', 'GET', 'tls-cluster']), ['tls-cluster', 'yes']);
  // Keys on both workers, a split command, and a blocking command (its own connection).
  const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
  t.equal(await c.run(['MSET', ...keys.flatMap((k) => [k, `v:${k}`])]), 'OK');
  t.same(await c.run(['MGET', ...keys]), keys.map((k) => `v:${k}`), 'MGET across workers');
  t.equal(await c.run(['DEL', ...keys]), 20);
  const blocked = connect(cluster.port).then(async (b) => {
    try {
      return await b.run(['BLPOP', 'q', '5']);
    } finally {
      await b.close();
    }
  });
  await sleep(200);
  t.equal(await c.run(['RPUSH', 'q', 'job']), 1);
  t.same(await blocked, ['q', 'job'], 'BLPOP over a TLS blocking connection');
  t.equal((await probe(clusterTlsPort, tlsOpts(alice))).reply, '+PONG', 'client TLS port too');

  for (const wp of cluster.workerPorts) {
    const plain = await rawSend(wp, '*1\r\n$4\r\nPING\r\n', { timeoutMs: 5000 });
    t.equal(plain.closed, true, `worker ${wp}: plain connection closed`);
    t.notMatch(plain.data.toString('latin1'), /PONG/, `worker ${wp}: no plain reply`);
    t.equal((await probe(wp, tlsOpts(alice))).reply, '+PONG', `worker ${wp}: a direct TLS client with a certificate is served`);
    t.equal((await probe(wp, tlsOpts(null))).reply, undefined, `worker ${wp}: no client certificate, refused (tls-auth-clients yes)`);
  }
  t.equal(await c.run(['GET', 'warm']), '1', 'the proxy still serves after the refused connections');

  // CONFIG SET reaches one proxy process; the other takes the certificate through the group.
  t.equal(await c.run(['CONFIG', 'SET', 'tls-cert-file', certs.reloaded.cert, 'tls-key-file', certs.reloaded.key]), 'OK');
  const seen = await pollUntil(async () => {
    const cns = await Promise.all(Array.from({ length: 8 }, () => servedCn(clusterTlsPort)));
    return cns.every((cn) => cn === 'shoal-reloaded');
  }, (ok) => ok, 5000);
  t.ok(seen.ok, `8 new TLS connections over both processes get the new certificate (${seen.ms} ms)`);
  t.equal(await c.run(['SET', 'after-reload', '1']), 'OK', 'the workers took it too (links still up)');
  t.equal((await probe(cluster.workerPorts[0]!, { ...tlsOpts(alice), checkServerIdentity: () => undefined })).reply, '+PONG');
  t.equal(await servedCn(cluster.workerPorts[0]!), 'shoal-reloaded', 'a worker port presents the new certificate');
});
