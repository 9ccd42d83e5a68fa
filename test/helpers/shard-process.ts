// A standalone shard process (`node dist/bin/shoal-shard.js`, one worker) started and
// killed by pid, for the persistence tests (aof*.test.ts, encryption.test.ts): restart
// on the same data directory, the worker's AOF files, and a comparable dump of
// everything a worker holds (values and absolute expiry times).
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RespClient, sleep, type RespValue } from './run.js';

const DIST_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SHARD_BIN = path.join(DIST_ROOT, 'bin', 'shoal-shard.js');
export const CHECK_AOF_BIN = path.join(DIST_ROOT, 'bin', 'shoal-check-aof.js');

export class ShardProc {
  output = '';
  exitCode: number | null = null;
  readonly exited: Promise<number | null>;
  private constructor(readonly child: ChildProcess, readonly port: number) {
    const keep = (c: Buffer) => {
      this.output = (this.output + c.toString('utf8')).slice(-64 * 1024);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => child.on('exit', (code) => {
      this.exitCode = code;
      resolve(code);
    }));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Spawns the shard; resolves once PING answers (or rejects with its output when it exits first). */
  static async start(port: number, dataDir: string, args: readonly string[] = [], readyMs = 20_000): Promise<ShardProc> {
    const p = ShardProc.spawn(port, dataDir, args);
    await p.ready(readyMs);
    return p;
  }

  static spawn(port: number, dataDir: string, args: readonly string[] = []): ShardProc {
    const child = spawn(process.execPath, [SHARD_BIN, '--port', String(port), '--workers', '1', '--data-dir', dataDir, '--save', '', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new ShardProc(child, port);
  }

  async ready(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (this.exitCode !== null) throw new Error(`shard exited with ${this.exitCode}:\n${this.output}`);
      try {
        const c = await RespClient.connect(this.port, '127.0.0.1', 500);
        try {
          if ((await c.run(['PING'], { timeoutMs: 2000 })) === 'PONG') return;
        } finally {
          await c.close();
        }
      } catch {
        // not yet
      }
      await sleep(30);
    }
    this.kill9();
    throw new Error(`shard on ${this.port} not ready within ${ms} ms:\n${this.output}`);
  }

  kill9(): void {
    try {
      process.kill(this.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }

  async killAndWait(): Promise<void> {
    this.kill9();
    await this.exited;
  }

  async stop(): Promise<void> {
    if (this.exitCode !== null) return;
    try {
      process.kill(this.pid, 'SIGTERM');
    } catch {
      return;
    }
    const t = setTimeout(() => this.kill9(), 5000);
    await this.exited;
    clearTimeout(t);
  }
}

/** Waits until the port stops answering (the OS may keep it a moment after a kill). */
export async function waitPortFree(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      const c = await RespClient.connect(port, '127.0.0.1', 200);
      await c.close();
      await sleep(20);
    } catch {
      return;
    }
  }
}

/** Kills `prev` (if any) and starts a shard on `port` over `dir` again, with a client. */
export async function restartShard(port: number, dir: string, args: readonly string[], prev?: ShardProc): Promise<{ p: ShardProc; c: RespClient }> {
  if (prev) {
    await prev.killAndWait();
    await waitPortFree(port);
  }
  const p = await ShardProc.start(port, dir, args);
  const c = await RespClient.connect(port);
  return { p, c };
}

/** The single worker's append-only log directory under data directory `dir`. */
export const aofDir = (dir: string): string => path.join(dir, 'shard-0', 'worker-0', 'appendonlydir');

/** Its incremental files, oldest first. */
export async function incrFiles(dir: string): Promise<string[]> {
  return (await readdir(aofDir(dir))).filter((f) => f.endsWith('.incr.aof')).sort().map((f) => path.join(aofDir(dir), f));
}

function sortPairs(flat: Buffer[]): string[] {
  const pairs: string[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) pairs.push(`${flat[i]!.toString('latin1')}=${flat[i + 1]!.toString('latin1')}`);
  return pairs.sort();
}

/** Every key: type, value (order-free where the type is) and absolute expiry. */
export async function dumpState(c: RespClient): Promise<Record<string, unknown>> {
  const keys = (await c.run(['KEYS', '*'], { buffers: true })) as Buffer[];
  const out: Record<string, unknown> = {};
  for (const k of keys.sort(Buffer.compare)) {
    const type = (await c.run(['TYPE', k])) as string;
    const exp = (await c.run(['PEXPIRETIME', k])) as number;
    let value: unknown;
    switch (type) {
      case 'string': value = ((await c.run(['GET', k], { buffers: true })) as Buffer).toString('latin1'); break;
      case 'list': value = ((await c.run(['LRANGE', k, '0', '-1'], { buffers: true })) as Buffer[]).map((b) => b.toString('latin1')); break;
      case 'set': value = ((await c.run(['SMEMBERS', k], { buffers: true })) as Buffer[]).map((b) => b.toString('latin1')).sort(); break;
      case 'hash': value = sortPairs((await c.run(['HGETALL', k], { buffers: true })) as Buffer[]); break;
      case 'zset': value = ((await c.run(['ZRANGE', k, '0', '-1', 'WITHSCORES'], { buffers: true })) as Buffer[]).map((b) => b.toString('latin1')); break;
      default: value = stringify(await c.run(['BF.INFO', k]));
    }
    out[k.toString('latin1')] = { type, exp, value };
  }
  return out;
}

function stringify(v: RespValue): string {
  return JSON.stringify(v, (_k, x: unknown) => (Buffer.isBuffer(x) ? x.toString('latin1') : x));
}
