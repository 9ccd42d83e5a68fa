// Encryption at rest (shard/persistence/encryption.ts, docs/persistence.md), part 2:
// key rotation (restart, CONFIG SET encryption-key-file, BGREWRITEAOF) leaves old files
// readable and new ones under the new id; a missing key id refuses the start naming
// file and key id; plain files still load once a key is configured (from the file or
// SHOAL_ENCRYPTION_KEYS); malformed key lists are refused; a flipped byte fails the GCM
// tag (file and offset); a torn encrypted tail is cut with a warning.
// Shoal only: it restarts a standalone shard process (`shoal-shard --workers 1`).
import t from 'tap';
import { mkdir, readFile, writeFile, truncate, stat, cp } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { crc32 } from 'node:zlib';
import path from 'node:path';
import { isRedis } from '../helpers/cluster.js';
import { dumpState, aofDir, CHECK_AOF_BIN } from '../helpers/shard-process.js';
import {
  encryptionFixture, K1, K2, K1_OTHER, MARK, workerDir, dumpFile, keyFile, populate, keyIdOfSdb, aofFiles, keyIdOfAof,
  waitBgsave, waitRewrite,
} from '../helpers/encryption-fixture.js';

const execFileP = promisify(execFile);

if (isRedis) {
  t.pass('encryption at rest is Shoal-only; nothing to check against redis-server');
} else {
  // Helper E's port range (26600-26699): this file takes 26650-26694.
  const { root, start, stop, refused } = await encryptionFixture(t, 26650, 45);

  await t.test('rotation: restart and CONFIG SET; old files readable, new files under the new id; BGREWRITEAOF moves the log', async (t) => {
    const dir = path.join(root, 'rot');
    const kf = await keyFile(dir, [K1]);
    const args = ['--appendonly', 'yes', '--appendfsync', 'always', '--encryption-key-file', kf];
    let { p, c } = await start(dir, args);
    await populate(c, 'a');
    t.equal(await c.run(['SAVE']), 'OK');
    await stop(p, c);
    const oldSdb = path.join(root, 'rot-old-dump.sdb');
    await cp(dumpFile(dir), oldSdb);
    // Restart rotation: a new last line.
    await keyFile(dir, [K1, K2]);
    ({ p, c } = await start(dir, args));
    await c.run(['SET', 'b1', 'v']);
    let files = await aofFiles(dir);
    const ids = await Promise.all(files.map(keyIdOfAof));
    t.ok(ids.includes(1) && ids.includes(2), `old parts under 1 and a new incr under 2 (${ids.join(',')})`);
    const state1 = await dumpState(c);
    await stop(p, c);
    ({ p, c } = await start(dir, args));
    t.same(await dumpState(c), state1, 'log with parts under two keys loads');
    // CONFIG SET rotation: key 3 current, the same path re-read.
    const K3 = '3 ' + 'c3'.repeat(32);
    await keyFile(dir, [K1, K2, K3]);
    t.equal(await c.run(['CONFIG', 'SET', 'encryption-key-file', kf]), 'OK');
    await c.run(['SET', 'b2', 'v']);
    files = await aofFiles(dir);
    t.equal(await keyIdOfAof(files.filter((f) => f.endsWith('.incr.aof')).sort((a, b) => Number(/\.(\d+)\.incr/.exec(a)![1]) - Number(/\.(\d+)\.incr/.exec(b)![1])).at(-1)!), 3, 'newest incr under key 3');
    t.equal(await c.run(['BGSAVE']), 'Background saving started');
    await waitBgsave(c);
    t.equal(await keyIdOfSdb(dumpFile(dir)), 3, 'new snapshot under key 3');
    t.equal(await c.run(['BGREWRITEAOF']), 'Background append only file rewriting started');
    await waitRewrite(c);
    files = await aofFiles(dir);
    t.same(await Promise.all(files.map(keyIdOfAof)), files.map(() => 3), `after BGREWRITEAOF every part under key 3 (${files.map((f) => path.basename(f)).join(' ')})`);
    // A bad key file is refused by CONFIG SET, naming the problem; the keys stay.
    const bad = path.join(root, 'rot-bad.txt');
    await writeFile(bad, '1 abc\n');
    const r = await c.run(['CONFIG', 'SET', 'encryption-key-file', bad]);
    t.match(JSON.stringify(r), /key id 1\): the key must be 64 hex characters/);
    t.equal((await c.run(['CONFIG', 'GET', 'encryption-key-file']) as string[])[1], kf, 'the previous path stays');
    const state2 = await dumpState(c);
    await stop(p, c);
    ({ p, c } = await start(dir, args));
    t.same(await dumpState(c), state2, 'rotated log loads');
    await stop(p, c);
    // The old snapshot (key 1) still loads while key 1 is in the file.
    const dir2 = path.join(root, 'rot-old');
    await mkdir(workerDir(dir2), { recursive: true });
    await cp(oldSdb, dumpFile(dir2));
    ({ p, c } = await start(dir2, ['--encryption-key-file', kf]));
    t.equal(await c.run(['GET', 'a:str']), MARK, 'old snapshot under key 1 readable after rotation');
    t.equal(await c.run(['SAVE']), 'OK');
    t.equal(await keyIdOfSdb(dumpFile(dir2)), 3, 're-saved under the current key');
    await stop(p, c);
    // Without key 1: refused naming the file and the key id.
    await cp(oldSdb, dumpFile(dir2));
    const only2 = await keyFile(path.join(root, 'rot-only2'), [K2]);
    const out = await refused(dir2, ['--encryption-key-file', only2]);
    t.match(out, /snapshot .*dump\.sdb is encrypted with key id 1, which is not among the configured keys \(ids 2\)/, 'missing key id refused');
    const outAof = await refused(dir, [...args.slice(0, -1), only2]);
    t.match(outAof, /append only file .*appendonly\.aof\.\d+\.incr\.aof is encrypted with key id 3, which is not among the configured keys|snapshot .*base\.sdb is encrypted with key id 3/, 'log part with a missing key id refused');
  });

  await t.test('plain log turned encrypted; env keys; malformed key lists refuse the start', async (t) => {
    const dir = path.join(root, 'turnon');
    const args = ['--appendonly', 'yes', '--appendfsync', 'always'];
    let { p, c } = await start(dir, args);
    await c.run(['SET', 'plain', MARK]);
    await stop(p, c);
    process.env['SHOAL_ENCRYPTION_KEYS'] = `${K1},${K2}`;
    try {
      ({ p, c } = await start(dir, args));
    } finally {
      delete process.env['SHOAL_ENCRYPTION_KEYS'];
    }
    t.equal(await c.run(['GET', 'plain']), MARK, 'plain log loaded with keys configured');
    await c.run(['SET', 'enc', 'v']);
    const files = await aofFiles(dir);
    const ids = await Promise.all(files.map(keyIdOfAof));
    t.equal(ids.at(-1), 2, `new incr under the env's last key (ids ${ids.join(',')})`);
    await stop(p, c);
    const out = await refused(dir, args);
    t.match(out, /append only file .*incr\.aof is encrypted \(key id 2\) but no encryption key is configured/, 'no key: refused naming the file');
    const badDir = path.join(root, 'badkeys');
    const kf = await keyFile(badDir, ['# comment', 'x1 ' + '00'.repeat(32)]);
    t.match(await refused(badDir, ['--encryption-key-file', kf]), /key id 'x1' is not allowed \(key ids are integers from 1 to 4294967295\)/);
    const kf2 = await keyFile(badDir, [K1, K1_OTHER]);
    t.match(await refused(badDir, ['--encryption-key-file', kf2]), /key id 1 is given twice with two different keys/);
  });

  await t.test('damage: a flipped byte fails the GCM tag (file and offset); a torn tail is cut with a warning', async (t) => {
    const dir = path.join(root, 'dmg');
    const kf = await keyFile(dir, [K1]);
    const args = ['--appendonly', 'yes', '--appendfsync', 'always', '--encryption-key-file', kf];
    let { p, c } = await start(dir, args);
    for (let i = 0; i < 50; i++) await c.run(['SET', `k${i}`, `v${i}`]);
    await p.killAndWait();
    await c.close().catch(() => {});
    const incr = (await aofFiles(dir)).find((f) => f.endsWith('.incr.aof'))!;
    const pristine = await readFile(incr);
    // Record offsets: 40-byte header, then 8-byte head + n + 16-byte tag each.
    const offsets: number[] = [];
    for (let o = 40; o < pristine.length; o += 8 + pristine.readUInt32LE(o) + 16) offsets.push(o);
    t.equal(offsets.length, 50, 'one sealed record per acknowledged write (always, one client)');
    const mid = offsets[20]!;
    const flipped = Buffer.from(pristine);
    flipped[mid + 8 + 3]! ^= 0x40;
    await writeFile(incr, flipped);
    const out = await refused(dir, args);
    t.match(out, new RegExp(`append only file .*incr\\.aof at byte offset ${mid} .*AES-GCM tag mismatch`), 'flipped byte: file and offset');
    const chk = await execFileP(process.execPath, [CHECK_AOF_BIN, '--key-file', kf, aofDir(dir)]).catch((e: { stdout: string; code: number }) => e);
    t.match(chk.stdout, new RegExp(`ok_up_to=${mid}`), 'shoal-check-aof names the offset');
    t.match(chk.stdout, /AES-GCM tag mismatch/);
    // Torn tail: the last record cut short.
    await writeFile(incr, pristine);
    await truncate(incr, pristine.length - 5);
    ({ p, c } = await start(dir, args));
    t.match(p.output, /truncated/, 'warning logged');
    t.equal(await c.run(['DBSIZE']), 49, 'every write but the torn last one');
    t.equal(await c.run(['GET', 'k48']), 'v48');
    t.equal((await stat(incr)).size, offsets[49]!, 'file cut at the torn record');
    await c.run(['SET', 'after', 'torn']);
    await stop(p, c);
    ({ p, c } = await start(dir, args));
    t.equal(await c.run(['GET', 'after']), 'torn', 'writes after the cut continue the record sequence');
    t.equal(await c.run(['DBSIZE']), 50);
    await stop(p, c);
    // Snapshot: a flipped ciphertext byte with its CRC fixed up still fails the tag.
    ({ p, c } = await start(dir, ['--encryption-key-file', kf]));
    for (let i = 0; i < 20; i++) await c.run(['SET', `s${i}`, MARK]);
    t.equal(await c.run(['SAVE']), 'OK');
    await stop(p, c);
    const sdb = await readFile(dumpFile(dir));
    const start0 = 64 + 24;
    const storedLen = sdb.readUInt32LE(64 + 12);
    sdb[start0 + 5]! ^= 0x01;
    sdb.writeUInt32LE(crc32(sdb.subarray(start0, start0 + storedLen)), 64 + 16);
    sdb.writeUInt32LE(crc32(sdb.subarray(64, 84)), 64 + 20);
    await writeFile(dumpFile(dir), sdb);
    const out2 = await refused(dir, ['--encryption-key-file', kf]);
    t.match(out2, new RegExp(`dump\\.sdb is damaged at byte offset ${start0}: section authentication failed \\(AES-GCM tag mismatch\\)`), 'snapshot tag mismatch with offset');
  });
}
