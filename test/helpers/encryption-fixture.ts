// The fixture of the encryption-at-rest tests (test/integration/encryption*.test.ts):
// a temporary root, key lines, a standalone one-worker shard process started and
// stopped on one port of the caller's range, every data type written with a marker
// value, and readers of the files' key ids. Shoal only.
import type { Test } from 'tap';
import { mkdtemp, mkdir, rm, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { RespClient, pollUntil, parseInfo } from './run.js';
import { ShardProc, waitPortFree, aofDir } from './shard-process.js';

export const K1 = '1 ' + '11'.repeat(32);
export const K2 = '2 ' + 'a2'.repeat(32);
export const K1_OTHER = '1 ' + '33'.repeat(32);
export const MARK = 'PLAINTEXT-MARKER-7f3a';
export const workerDir = (dir: string): string => path.join(dir, 'shard-0', 'worker-0');
export const dumpFile = (dir: string): string => path.join(workerDir(dir), 'dump.sdb');

/** Key id in a snapshot's header (0 = plain). */
export const keyIdOfSdb = async (f: string): Promise<number> => (await readFile(f)).readUInt32LE(12);

/** Key id of an AOF file: 0 plain, else the encrypted header's id. */
export async function keyIdOfAof(f: string): Promise<number> {
  const b = await readFile(f);
  if (f.endsWith('.sdb')) return b.readUInt32LE(12);
  return b.subarray(0, 8).toString('latin1') === 'SHOALAEF' ? b.readUInt32LE(12) : 0;
}

/** The log's files (incr .aof and base .sdb), sorted by name. */
export async function aofFiles(dir: string): Promise<string[]> {
  return (await readdir(aofDir(dir))).filter((f) => /\.(aof|sdb)$/.test(f)).sort().map((f) => path.join(aofDir(dir), f));
}

/** Writes a key file of `lines` in dir; returns its path. */
export async function keyFile(dir: string, lines: string[]): Promise<string> {
  await mkdir(dir, { recursive: true });
  const f = path.join(dir, 'keys.txt');
  await writeFile(f, lines.join('\n') + '\n');
  return f;
}

/** Every file under dir (recursively, key files aside) that holds `needle`. */
export async function filesHolding(dir: string, needle: string): Promise<string[]> {
  const hits: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile() || e.name === 'keys.txt') continue;
    const f = path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
    if ((await readFile(f)).includes(needle)) hits.push(f);
  }
  return hits;
}

/** Every data type (and TTLs) under `tag:`, marker values among them. */
export async function populate(c: RespClient, tag: string): Promise<void> {
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

async function waitInfo(c: RespClient, field: string): Promise<void> {
  const r = await pollUntil(async () => parseInfo(await c.run(['INFO', 'persistence'])).get(field), (v) => v === '0', 30_000, 50);
  if (!r.ok) throw new Error(`${field} still ${r.value}`);
}
export const waitBgsave = (c: RespClient): Promise<void> => waitInfo(c, 'rdb_bgsave_in_progress');
export const waitRewrite = (c: RespClient): Promise<void> => waitInfo(c, 'aof_rewrite_in_progress');

/**
 * A temporary root (removed at teardown) and shard processes on one port picked in
 * [portBase, portBase + portSpan), each killed at teardown.
 */
export async function encryptionFixture(t: Test, portBase: number, portSpan: number) {
  const root = await mkdtemp(path.join(os.tmpdir(), 'shoal-enc-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const port = portBase + Math.floor(Math.random() * portSpan);
  const procs: ShardProc[] = [];
  t.teardown(() => {
    for (const p of procs) p.kill9();
  });

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

  return { root, start, stop, refused };
}
