// Test certificates made with the `openssl` command line (OpenSSL 3.0 on Debian 12),
// in a fresh temp directory that `remove()` deletes:
//
//   ca.crt / ca.key                 the test CA
//   server.crt / server.key         signed by the CA; CN localhost, SAN DNS:localhost,
//                                   IP:127.0.0.1; serverAuth + clientAuth (the proxy
//                                   also presents it to TLS workers)
//   reloaded.crt / .key             like server.crt, CN shoal-reloaded (a second
//                                   server certificate for CONFIG SET tests)
//   client-<cn>.crt / .key          one per requested CN, signed by the CA
//   other-ca.crt, other-client.*    another CA, and a client cert (CN alice) it signed
//   expired.crt / .key              CN alice, signed by the CA, valid only in 2020
//
// Keys are P-256 EC (fast to make). The expired certificate comes from `openssl ca
// -startdate -enddate`, which every 3.x accepts (`x509 -not_before` is 3.4+).

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const execFileP = promisify(execFile);

export type CertPair = { cert: string; key: string };

export type TestCerts = {
  dir: string;
  ca: string;
  server: CertPair;
  /** A second server certificate (CN shoal-reloaded, same names). */
  reloaded: CertPair;
  /** Client certificates by CN, signed by the test CA. */
  clients: Record<string, CertPair>;
  otherCa: string;
  /** CN alice, signed by the other CA. */
  otherClient: CertPair;
  /** CN alice, signed by the test CA, expired since 2020. */
  expired: CertPair;
  remove(): Promise<void>;
};

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await execFileP('openssl', args, { cwd, timeout: 20_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`openssl ${args.join(' ')} failed: ${e.stderr ?? e.message}`);
  }
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function makeCa(dir: string, name: string, cn: string): Promise<void> {
  await openssl(['req', '-x509', '-new', ...EC, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '3650', '-subj', `/CN=${cn}`], dir);
}

/** A key + CSR for `cn`, signed by CA `ca` with the extensions in extFile. */
async function makeLeaf(dir: string, name: string, cn: string, ca: string, extFile: string): Promise<CertPair> {
  await openssl(['req', '-new', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
  await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial',
    '-out', `${name}.crt`, '-days', '365', '-extfile', extFile], dir);
  return { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
}

export async function makeCerts(clientCns: readonly string[] = ['alice']): Promise<TestCerts> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'shoal-certs-'));
  try {
    await writeFile(path.join(dir, 'server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n');
    await writeFile(path.join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
    await Promise.all([makeCa(dir, 'ca', 'Shoal Test CA'), makeCa(dir, 'other-ca', 'Some Other CA')]);
    const server = await makeLeaf(dir, 'server', 'localhost', 'ca', 'server.ext');
    const reloaded = await makeLeaf(dir, 'reloaded', 'shoal-reloaded', 'ca', 'server.ext');
    const clients: Record<string, CertPair> = {};
    for (const cn of clientCns) clients[cn] = await makeLeaf(dir, `client-${cn}`, cn, 'ca', 'client.ext');
    const otherClient = await makeLeaf(dir, 'other-client', 'alice', 'other-ca', 'client.ext');

    // `openssl ca` takes explicit validity dates; it needs a tiny CA database.
    await mkdir(path.join(dir, 'issued'));
    await writeFile(path.join(dir, 'index.txt'), '');
    await writeFile(path.join(dir, 'serial'), '1000\n');
    await writeFile(path.join(dir, 'ca.cnf'), [
      '[ ca ]', 'default_ca = test_ca', '[ test_ca ]', `dir = ${dir}`, 'database = $dir/index.txt', 'new_certs_dir = $dir/issued',
      'serial = $dir/serial', 'certificate = $dir/ca.crt', 'private_key = $dir/ca.key', 'default_md = sha256',
      'policy = policy_any', 'unique_subject = no', 'x509_extensions = client_ext', '[ policy_any ]', 'commonName = supplied',
      '[ client_ext ]', 'extendedKeyUsage = clientAuth', '',
    ].join('\n'));
    await openssl(['req', '-new', ...EC, '-keyout', 'expired.key', '-out', 'expired.csr', '-subj', '/CN=alice'], dir);
    await openssl(['ca', '-batch', '-config', 'ca.cnf', '-in', 'expired.csr', '-out', 'expired.crt', '-notext',
      '-startdate', '20200101000000Z', '-enddate', '20200102000000Z'], dir);
    return {
      dir,
      ca: path.join(dir, 'ca.crt'),
      server,
      reloaded,
      clients,
      otherCa: path.join(dir, 'other-ca.crt'),
      otherClient,
      expired: { cert: path.join(dir, 'expired.crt'), key: path.join(dir, 'expired.key') },
      remove: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
