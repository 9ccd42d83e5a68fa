// A full disk under the append-only log (appendfsync always), on a 2 MB tmpfs mounted
// by the test (root only; skipped otherwise): the write whose log bytes cannot be
// written is not acknowledged until they are; other writes (and PING, as Redis) get
// `-MISCONF Errors writing to the AOF file: No space left on device`; reads work; once
// space is freed the worker retries by itself, the held write is acknowledged, writes
// work again, and after kill -9 and a restart nothing acknowledged is missing.
import t from 'tap';
import { mkdtemp, rm, open, unlink } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import os from 'node:os';
import path from 'node:path';
import { RespClient, sleep, parseInfo, pollUntil } from '../helpers/run.js';
import { freePortRange, isRedis } from '../helpers/cluster.js';
import { ShardProc, waitPortFree } from '../helpers/shard-process.js';

const execFileP = promisify(execFile);
const MISCONF = 'MISCONF Errors writing to the AOF file: No space left on device';

/** Writes zeros into `file` until the filesystem is full. */
async function fillDisk(file: string): Promise<void> {
  const fh = await open(file, 'w');
  const chunk = Buffer.alloc(16 * 1024);
  try {
    for (;;) await fh.write(chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    await fh.close();
  }
}

if (isRedis) {
  t.pass('drives a Shoal shard process; the MISCONF text was checked against redis-server by hand');
} else {
  const mnt = await mkdtemp(path.join(os.tmpdir(), 'shoal-aof-disk-'));
  const mounted = await execFileP('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt]).then(() => true, () => false);
  t.teardown(async () => {
    if (mounted) await execFileP('umount', [mnt]).catch(() => {});
    await rm(mnt, { recursive: true, force: true });
  });
  if (!mounted) {
    t.pass('cannot mount a tmpfs (not root?): full-disk test skipped');
  } else {
    await t.test('full disk: MISCONF for writes, reads work, recovery by itself, nothing acknowledged lost', async (t) => {
      const port = await freePortRange(1);
      const args = ['--appendonly', 'yes', '--appendfsync', 'always'];
      let p = await ShardProc.start(port, mnt, args);
      t.teardown(() => p.kill9());
      const c = await RespClient.connect(port);
      const c2 = await RespClient.connect(port);
      t.equal(await c.run(['SET', 'a', '1']), 'OK');
      const filler = path.join(mnt, 'filler');
      await fillDisk(filler);

      const value = 'v'.repeat(64 * 1024);
      const held = c.run(['SET', 'big', value], { timeoutMs: 30_000 });
      let settled = false;
      void held.then(() => (settled = true), () => (settled = true));
      // Probes on fresh connections: one sent while the failing write is in flight waits with it.
      const probe = async (): Promise<string> => {
        const pc = await RespClient.connect(port);
        try {
          return parseInfo(await pc.run(['INFO', 'persistence'], { timeoutMs: 300 })).get('aof_last_write_status') ?? '';
        } catch {
          return 'held';
        } finally {
          void pc.close();
        }
      };
      const failed = await pollUntil(probe, (s) => s === 'err', 10_000, 50);
      t.ok(failed.ok, 'aof_last_write_status:err');
      t.same(await c2.run(['SET', 'x', 'y']), { error: MISCONF }, 'writes refused with Redis\'s text');
      t.notOk(settled, 'the write whose bytes could not be logged is not acknowledged');
      t.same(await c2.run(['GET', 'a']), '1', 'reads work');
      t.same(await c2.run(['PING']), { error: MISCONF }, 'PING refused as Redis does');
      t.same(await c2.run(['INCR', 'n']), { error: MISCONF });
      t.same(await c2.run(['MULTI']), 'OK');
      t.same(await c2.run(['SET', 'x', '1']), { error: MISCONF });
      t.same(await c2.run(['EXEC']), { error: 'EXECABORT Transaction discarded because of previous errors.' });

      await unlink(filler);
      t.equal(await held, 'OK', 'acknowledged once the disk took the bytes');
      const back = await pollUntil(() => c2.run(['SET', 'x', 'y']), (r) => r === 'OK', 5000, 50);
      t.ok(back.ok, 'writes accepted again');
      t.equal(parseInfo(await c2.run(['INFO', 'persistence'])).get('aof_last_write_status'), 'ok');
      await c.close();
      await c2.close();

      await p.killAndWait();
      await waitPortFree(port);
      p = await ShardProc.start(port, mnt, args);
      const c3 = await RespClient.connect(port);
      t.equal(await c3.run(['GET', 'a']), '1');
      t.equal(((await c3.run(['GET', 'big'])) as string).length, value.length, 'the held write survived');
      t.equal(await c3.run(['GET', 'x']), 'y');
      await c3.close();
      await p.killAndWait();
      await sleep(50);
    });
  }
}
