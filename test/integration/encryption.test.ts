// Encryption at rest (shard/persistence/encryption.ts, docs/persistence.md), part 1:
// every data type and TTL round-trips through an encrypted snapshot (SAVE and BGSAVE)
// and an encrypted append-only log (incr files and a rewrite's base); the files hold
// no plaintext of a known value; a wrong key fails the GCM tag and no key at all
// refuses the start naming the file; shoal-check-aof --key-file. Rotation, plain files
// turned encrypted and damage are in encryption-rotation.test.ts.
// Shoal only: it restarts a standalone shard process (`shoal-shard --workers 1`).
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { isRedis } from '../helpers/cluster.js';
import { dumpState, aofDir, CHECK_AOF_BIN } from '../helpers/shard-process.js';
import {
  encryptionFixture, K1, K1_OTHER, MARK, dumpFile, keyFile, populate, filesHolding, keyIdOfSdb, aofFiles, keyIdOfAof,
  waitBgsave, waitRewrite,
} from '../helpers/encryption-fixture.js';

const execFileP = promisify(execFile);

if (isRedis) {
  t.pass('encryption at rest is Shoal-only; nothing to check against redis-server');
} else {
  // Helper E's port range (26600-26699): this file takes 26600-26644.
  const { root, start, stop, refused } = await encryptionFixture(t, 26600, 45);

  await t.test('snapshots: round trip of every type through SAVE and BGSAVE, no plaintext, key id in the header', async (t) => {
    const dir = path.join(root, 'sdb');
    const kf = await keyFile(dir, [K1]);
    const args = ['--rdbcompression', 'no'];
    // Control: a plain snapshot does hold the marker (the grep below means something).
    let { p, c } = await start(dir, args);
    await populate(c, 'a');
    const keys = await c.run(['DBSIZE']);
    t.equal(await c.run(['SAVE']), 'OK');
    t.ok((await readFile(dumpFile(dir))).includes(MARK), 'plain snapshot holds the marker');
    t.equal(await keyIdOfSdb(dumpFile(dir)), 0);
    await stop(p, c);

    ({ p, c } = await start(dir, [...args, '--encryption-key-file', kf]));
    t.equal(await c.run(['DBSIZE']), keys, 'plain snapshot loaded with a key configured');
    await populate(c, 'b');
    const before = await dumpState(c);
    t.equal(await c.run(['SAVE']), 'OK');
    t.equal(await keyIdOfSdb(dumpFile(dir)), 1, 'SAVE: key id 1 in the header');
    t.same(await filesHolding(dir, MARK), [], 'no file holds the marker after SAVE');
    await stop(p, c);
    ({ p, c } = await start(dir, [...args, '--encryption-key-file', kf]));
    t.same(await dumpState(c), before, 'SAVE round trip');
    // BGSAVE: sections sealed in the pool threads of the shard's main thread.
    await c.run(['SET', 'after', MARK]);
    const before2 = await dumpState(c);
    t.equal(await c.run(['BGSAVE']), 'Background saving started');
    await waitBgsave(c);
    t.equal(await keyIdOfSdb(dumpFile(dir)), 1, 'BGSAVE: key id 1');
    t.same(await filesHolding(dir, MARK), [], 'no file holds the marker after BGSAVE');
    await stop(p, c);
    ({ p, c } = await start(dir, [...args, '--encryption-key-file', kf]));
    t.same(await dumpState(c), before2, 'BGSAVE round trip');
    await stop(p, c);

    // A wrong key under the same id fails the tag; no key at all is refused naming the file.
    const wrong = await keyFile(path.join(root, 'sdb-wrong'), [K1_OTHER]);
    let out = await refused(dir, ['--encryption-key-file', wrong]);
    t.match(out, /snapshot .*dump\.sdb is damaged at byte offset \d+: section authentication failed \(AES-GCM tag mismatch\)/, 'wrong key: tag mismatch');
    out = await refused(dir, []);
    t.match(out, /snapshot .*dump\.sdb is encrypted \(key id 1\) but no encryption key is configured/, 'no key: refused naming the file');
  });

  await t.test('append-only log: round trip of every type, no plaintext, rewrite base encrypted', async (t) => {
    const dir = path.join(root, 'aof');
    const kf = await keyFile(dir, [K1]);
    const args = ['--appendonly', 'yes', '--appendfsync', 'always', '--rdbcompression', 'no', '--encryption-key-file', kf];
    let { p, c } = await start(dir, args);
    await populate(c, 'a');
    await c.run(['MULTI']);
    await c.run(['INCR', 'tx']);
    await c.run(['RPUSH', 'txl', MARK]);
    await c.run(['EXEC']);
    await c.run(['SET', 'gone', 'x', 'PX', '1']);
    const before = await dumpState(c);
    await p.killAndWait();
    await c.close().catch(() => {});
    const files = await aofFiles(dir);
    t.ok(files.length >= 2, `files: ${files.map((f) => path.basename(f)).join(' ')}`);
    for (const f of files) t.equal(await keyIdOfAof(f), 1, `${path.basename(f)} under key 1`);
    t.same(await filesHolding(dir, MARK), [], 'no log file holds the marker');
    ({ p, c } = await start(dir, args));
    t.same(await dumpState(c), before, 'log round trip (kill -9, restart)');
    // A rewrite: base is an encrypted snapshot, a new encrypted incr file.
    t.equal(await c.run(['BGREWRITEAOF']), 'Background append only file rewriting started');
    await waitRewrite(c);
    await c.run(['HSET', 'post', 'f', MARK]);
    const before2 = await dumpState(c);
    await p.killAndWait();
    await c.close().catch(() => {});
    const files2 = await aofFiles(dir);
    t.ok(files2.some((f) => f.endsWith('.base.sdb')), 'snapshot base');
    for (const f of files2) t.equal(await keyIdOfAof(f), 1, `${path.basename(f)} under key 1`);
    t.same(await filesHolding(dir, MARK), [], 'no file holds the marker after the rewrite');
    ({ p, c } = await start(dir, args));
    t.same(await dumpState(c), before2, 'round trip through the rewritten log');
    const { stdout } = await execFileP(process.execPath, [CHECK_AOF_BIN, '--key-file', kf, aofDir(dir)]);
    t.match(stdout, /encrypted with key id 1/);
    t.match(stdout, /is valid/);
    await stop(p, c);
  });
}
