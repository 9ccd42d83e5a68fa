/**
 * A Shoal cluster (or redis-server, with SHOAL_TEST_TARGET=redis) on a data directory
 * the test keeps, so it can stop the target and start it again on the same files
 * (persistence tests). Snapshots come only from the test's own SAVE / BGSAVE
 * (SHOAL_SAVE ''; redis gets --dir and the helper's --save '').
 */
import path from 'node:path';
import { isShoal, startTarget, type Target } from './cluster.js';
import { RespClient, type RespValue } from './run.js';
import { shoalDumpFile } from './snapshot-file.js';

export class RestartableTarget {
  target: Target | null = null;
  client: RespClient | null = null;
  readonly dataDir: string;

  constructor(dataDir: string) {
    this.dataDir = dataDir;
  }

  /** Starts on dataDir; on a busy machine a start may exceed the ready timeout, so that is retried. */
  async start(retries = 2): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        this.target = await startTarget({ dataDir: this.dataDir, redisArgs: ['--dir', this.dataDir], env: { SHOAL_SAVE: '' }, readyTimeoutMs: 60_000 });
        break;
      } catch (e) {
        if (attempt >= retries || !/not ready within/.test(String(e))) throw e;
      }
    }
    this.client = await RespClient.connect(this.target.port);
  }

  async stop(): Promise<void> {
    await this.client?.close().catch(() => {});
    await this.target?.stop();
    this.client = null;
    this.target = null;
  }

  readonly run = (argv: readonly (string | Buffer)[], opts?: { buffers?: boolean }): Promise<RespValue> => this.client!.run(argv, opts);
}

/** The target's snapshot files (Shoal: one per worker of its 2; redis: dump.rdb). */
export function dumpFiles(dataDir: string): string[] {
  return isShoal ? [shoalDumpFile(dataDir, 0), shoalDumpFile(dataDir, 1)] : [path.join(dataDir, 'dump.rdb')];
}

export const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/**
 * Writes one key of every type and encoding (small and large collections, binary
 * strings, HyperLogLog, bitmaps, a bloom filter on Shoal, keys with TTLs) and returns
 * their names: the data set the snapshot tests save and load.
 */
export async function populateEveryType(run: (argv: readonly (string | Buffer)[]) => Promise<RespValue>): Promise<string[]> {
  const cmds: Array<Array<string | Buffer>> = [
    ['SET', 's:plain', 'hello'], ['SET', 's:int', '12345'], ['SET', 's:neg', '-7'], ['SET', 's:empty', ''],
    ['SET', 's:bin', Buffer.from([0, 1, 0xff, 13, 10, 0x80])], ['SET', 's:big', 'x'.repeat(200_000)],
    ['RPUSH', 'l:small', 'a', 'b', 'c'], ['RPUSH', 'l:big', ...range(2000).map(String)],
    ['HSET', 'h:small', 'f1', 'v1', 'f2', 'v2'], ['HSET', 'h:big', ...range(600).flatMap((i) => [`f${i}`, `v${i}`])],
    ['SADD', 'set:int', '1', '2', '3'], ['SADD', 'set:str', 'a', 'b'], ['SADD', 'set:big', ...range(1000).map(String)],
    ['ZADD', 'z:small', '1', 'a', '2.5', 'b', '-inf', 'c'],
    ['ZADD', 'z:big', ...range(300).flatMap((i) => [String(i * 1.5), `m${i}`]), 'inf', 'top', '-3.25e-5', 'tiny'],
    ['SETBIT', 'bits', '1000', '1'], ['SETBIT', 'bits', '7', '1'],
    ['PFADD', 'hll', ...range(1000).map((i) => `e${i}`)],
    ['SET', 'ttl:long', 'v', 'PX', '3600000'], ['HSET', 'ttl:hash', 'a', '1'], ['PEXPIRE', 'ttl:hash', '7200000'],
    ['RPUSH', 'ttl:list', ...range(500).map(String)], ['EXPIRE', 'ttl:list', '9000'],
  ];
  if (isShoal) cmds.push(['BF.ADD', 'bf', 'apple'], ['BF.ADD', 'bf', 'pear']);
  for (const c of cmds) {
    const r = await run(c);
    if (r !== null && typeof r === 'object' && 'error' in r) throw new Error(`${String(c[0])}: ${r.error}`);
  }
  return [...new Set(cmds.filter((c) => c[0] !== 'PEXPIRE' && c[0] !== 'EXPIRE').map((c) => String(c[1])))];
}
