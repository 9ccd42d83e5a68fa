// Encryption at rest (shard/persistence/encryption.ts, docs/persistence.md): every data
// type and TTL round-trips through an encrypted snapshot (SAVE and BGSAVE) and an
// encrypted append-only log (incr files and a rewrite's base); the files hold no
// plaintext of a known value; key rotation (restart, CONFIG SET encryption-key-file,
// BGREWRITEAOF) leaves old files readable and new ones under the new id; a missing key
// id, or no key at all, refuses the start naming file and key id; a flipped byte fails
// the GCM tag (file and offset); a torn encrypted tail is cut with a warning; plain
// files still load once a key is configured; shoal-check-aof --key-file.
// Shoal only: it restarts a standalone shard process (`shoal-shard --workers 1`).
import t from 'tap';
import { mkdtemp, mkdir, rm, readdir, readFile, writeFile, truncate, stat, cp } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { crc32 } from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import { RespClient, pollUntil, parseInfo } from '../helpers/run.js';
import { isRedis } from '../helpers/cluster.js';
import { ShardProc, dumpState, waitPortFree, aofDir, CHECK_AOF_BIN } from '../helpers/shard-process.js';

const execFileP = promisify(execFile);

if (isRedis) {
  t.pass('encryption at rest is Shoal-only; nothing to check against redis-server');
} else {
  const root = await mkdtemp(path.join(os.tmpdir(), 'shoal-enc-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  // Helper E's port range (26600-26699).
  const port = 26600 + Math.floor(Math.random() * 90);
  const K1 = '1 ' + '11'.repeat(32);
  const K2 = '2 ' + 'a2'.repeat(32);
  const K1_OTHER = '1 ' + '33'.repeat(32);
  const MARK = 'PLAINTEXT-MARKER-7f3a';
  const workerDir = (dir: string) => path.join(dir, 'shard-0', 'worker-0');
  const dumpFile = (dir: string) => path.join(workerDir(dir), 'dump.sdb');
  const procs: ShardProc[] = [];
  t.teardown(() => {
    for (const p of procs) p.kill9();
  });

  async function keyFile(dir: string, lines: string[]): Promise<string> {
    await mkdir(dir, { recursive: true });
    const f = path.join(dir, 'keys.txt');
    await writeFile(f, lines.join('\n') + '\n');
    return f;
  }

  async function start(dir: string, args: readonly string[]): Promise<{ p: ShardProc; c: RespClient }> {
    await waitPortFree(port);
    const p = await ShardProc.start(port, dir, args, 60_000);
    procs.push(p);
    const c = await RespClient.connect(port);
    return { p, c };
  }

  async function stop(p: ShardProc, c: RespClient): Promise<void> {
    await c.close();
    await p.killAndWait();
  }

  /** Starts a shard that must refuse to start; resolves with its output. */
  async function refused(dir: string, args: readonly string[]): Promise<string> {
    await waitPortFree(port);
    const p = ShardProc.spawn(port, dir, args);
    procs.push(p);
    const timer = setTimeout(() => p.kill9(), 30_000);
    const code = await p.exited;
    clearTimeout(timer);
    return `exit ${code}: ${p.output}`;
  }

  async function populate(c: RespClient, tag: string): Promise<void> {
    const range = (n: number) => Array.from({ length: n }, (_, i) => i);
    const cmds: string[][] = [
      [`SET`, `${tag}:str`, MARK], ['SET', `${tag}:int`, '12345'], ['SET', `${tag}:bin`, '\x00\x01\xff\r\n'],
      ['SET', `${tag}:ttl`, `${MARK}-ttl`, 'PX', '3600000'],
      ['RPUSH', `${tag}:list`, 'a', MARK, 'c'], ['RPUSH', `${tag}:biglist`, ...range(700).map((i) => `${MARK}${i}`)],
      ['HSET', `${tag}:hash`, 'f1', MARK, 'f2', 'v2'], ['HSET', `${tag}:bighash`, ...range(600).flatMap((i) => [`f${i}`, `${MARK}${i}`])],
      ['SADD', `${tag}:iset`, '1', '2', '3'], ['SADD', `${tag}:set`, 'x', MARK], ['SADD', `${tag}:bigset`, ...range(700).map((i) => `${MARK}${i}`)],
      ['ZADD', `${tag}:zset`, '1', MARK, '2.5', 'b'], ['ZADD', `${tag}:bigz`, ...range(300).flatMap((i) => [String(i / 3), `${MARK}${i}`])],
      ['EXPIRE', `${tag}:bighash`, '9000'], ['PFADD', `${tag}:hll`, 'a', 'b', 'c'], ['SETBIT', `${tag}:bits`, '100', '1'],
      ['BF.ADD', `${tag}:bloom`, MARK],
    ];
    for (const cmd of cmds) {
      const r = await c.run(cmd);
      if (r !== null && typeof r === 'object' && 'error' in r) throw new Error(`${cmd[0]}: ${JSON.stringify(r)}`);
    }
  }

  /** Every file under dir (recursively) that holds `needle`. */
  async function filesHolding(dir: string, needle: string): Promise<string[]> {
    const hits: string[] = [];
    for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
      if (!e.isFile() || e.name === 'keys.txt') continue;
      const f = path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
      if ((await readFile(f)).includes(needle)) hits.push(f);
    }
    return hits;
  }

  const keyIdOfSdb = async (f: string): Promise<number> => (await readFile(f)).readUInt32LE(12);
  async function aofFiles(dir: string): Promise<string[]> {
    return (await readdir(aofDir(dir))).filter((f) => /\.(aof|sdb)$/.test(f)).sort().map((f) => path.join(aofDir(dir), f));
  }
  /** Key id of an AOF file: 0 plain, else the encrypted header's id. */
  async function keyIdOfAof(f: string): Promise<number> {
    const b = await readFile(f);
    if (f.endsWith('.sdb')) return b.readUInt32LE(12);
    return b.subarray(0, 8).toString('latin1') === 'SHOALAEF' ? b.readUInt32LE(12) : 0;
  }
  async function waitInfo(c: RespClient, field: string): Promise<void> {
    const r = await pollUntil(async () => parseInfo(await c.run(['INFO', 'persistence'])).get(field), (v) => v === '0', 30_000, 50);
    if (!r.ok) throw new Error(`${field} still ${r.value}`);
  }
  const waitBgsave = (c: RespClient) => waitInfo(c, 'rdb_bgsave_in_progress');
  const waitRewrite = (c: RespClient) => waitInfo(c, 'aof_rewrite_in_progress');

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
