/**
 * A Shoal cluster (or redis-server, with SHOAL_TEST_TARGET=redis) on a data directory
 * the test keeps, so it can stop the target and start it again on the same files
 * (persistence tests). Snapshots come only from the test's own SAVE / BGSAVE
 * (SHOAL_SAVE ''; redis gets --dir and the helper's --save '').
 */
import { startTarget, type Target } from './cluster.js';
import { RespClient, type RespValue } from './run.js';

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
