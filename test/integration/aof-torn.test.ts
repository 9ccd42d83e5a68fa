// The append-only log's damage handling (shard/persistence/recovery.ts, aof-format.ts):
// a torn tail (the last file cut at random byte offsets) loads with a warning and
// keeps a prefix of the writes (MULTI blocks all or nothing); aof-load-truncated no
// and a damaged record in the middle refuse to start, naming file and offset;
// bin/shoal-check-aof reports and --fix repairs. Shoal only (a standalone shard).
import t from 'tap';
import { mkdtemp, rm, readFile, stat, truncate, writeFile, cp } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import os from 'node:os';
import path from 'node:path';
import { RespClient } from '../helpers/run.js';
import { freePortRange, isRedis } from '../helpers/cluster.js';
import { ShardProc, waitPortFree, CHECK_AOF_BIN, restartShard, aofDir, incrFiles } from '../helpers/shard-process.js';

const execFileP = promisify(execFile);

if (isRedis) {
  t.pass('append-only log tests drive a Shoal shard process; nothing to check against redis-server');
} else {
  const root = await mkdtemp(path.join(os.tmpdir(), 'shoal-aof-torn-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const port = await freePortRange(1);
  const ALWAYS = ['--appendonly', 'yes', '--appendfsync', 'always'];
  const restart = (dir: string, args: readonly string[], prev?: ShardProc) => restartShard(port, dir, args, prev);

  await t.test('torn tails load with a warning; aof-load-truncated no and corruption refuse naming file and offset', async (t) => {
    const dir = path.join(root, 'torn');
    let { p, c } = await restart(dir, ALWAYS);
    t.teardown(() => p.kill9());
    for (let i = 0; i < 200; i++) {
      await c.run(['RPUSH', 'l', String(i)]);
      if (i % 10 === 0) {
        await c.run(['MULTI']);
        await c.run(['SET', 'a', String(i)]);
        await c.run(['SET', 'b', String(i)]);
        await c.run(['EXEC']);
      }
    }
    await c.close();
    await p.killAndWait();
    await waitPortFree(port);
    const [incr] = await incrFiles(dir);
    const size = (await stat(incr!)).size;
    const pristine = path.join(root, 'torn-pristine');
    await cp(dir, pristine, { recursive: true });
    for (let round = 0; round < 3; round++) {
      await rm(dir, { recursive: true, force: true });
      await cp(pristine, dir, { recursive: true });
      const cut = 1 + Math.floor(Math.random() * (size - 2));
      await truncate(incr!, cut);
      const check = await execFileP(process.execPath, [CHECK_AOF_BIN, aofDir(dir)]).then(() => 0, (e: { code: number }) => e.code);
      p = await ShardProc.start(port, dir, ALWAYS);
      c = await RespClient.connect(port);
      const list = (await c.run(['LRANGE', 'l', '0', '-1'])) as string[];
      t.same(list, list.map((_, i) => String(i)), `cut at ${cut}/${size}: the list is a prefix (${list.length})`);
      t.same(await c.run(['GET', 'a']), await c.run(['GET', 'b']), 'MULTI all or nothing');
      const kept = (await stat(incr!)).size;
      if (kept < cut) {
        t.match(p.output, /truncated/, 'warning logged');
        t.equal(check, 1, 'shoal-check-aof reported it');
      }
      // Writes continue after the cut point and survive the next restart.
      await c.run(['SET', 'after', String(round)]);
      await c.close();
      if (round === 0) {
        ({ p, c } = await restart(dir, ALWAYS, p));
        t.equal(await c.run(['GET', 'after']), String(round));
        await c.close();
      }
      await p.killAndWait();
      await waitPortFree(port);
    }

    // aof-load-truncated no: refuse, naming the file and the offset.
    await rm(dir, { recursive: true, force: true });
    await cp(pristine, dir, { recursive: true });
    await truncate(incr!, size - 3);
    const refused = ShardProc.spawn(port, dir, [...ALWAYS, '--aof-load-truncated', 'no']);
    t.not(await refused.exited, 0, 'exits non-zero');
    t.match(refused.output, new RegExp(`${path.basename(incr!)}.*byte offset \\d+`), 'names file and offset');
    // shoal-check-aof --fix cuts the tail; then it loads.
    const fixed = await execFileP(process.execPath, [CHECK_AOF_BIN, '--fix', aofDir(dir)]);
    t.match(fixed.stdout, /Successfully truncated/);
    const ok = await execFileP(process.execPath, [CHECK_AOF_BIN, aofDir(dir)]);
    t.match(ok.stdout, /is valid/);
    p = await ShardProc.start(port, dir, [...ALWAYS, '--aof-load-truncated', 'no']);
    await p.killAndWait();
    await waitPortFree(port);

    // A damaged record in the middle: refuse to start, naming file and offset.
    await rm(dir, { recursive: true, force: true });
    await cp(pristine, dir, { recursive: true });
    const bytes = await readFile(incr!);
    const mid = bytes.indexOf('*', Math.floor(size / 2));
    bytes[mid] = 0x21;
    await writeFile(incr!, bytes);
    const bad = ShardProc.spawn(port, dir, ALWAYS);
    t.not(await bad.exited, 0, 'corrupt log: exits non-zero');
    t.match(bad.output, new RegExp(`Bad file format.*${path.basename(incr!)} at byte offset ${mid}`), 'names file and offset');
    const chk = await execFileP(process.execPath, [CHECK_AOF_BIN, aofDir(dir)]).then(() => ({ code: 0, stdout: '' }), (e: { code: number; stdout: string }) => e);
    t.equal(chk.code, 1);
    t.match(chk.stdout, new RegExp(`Bad file format at byte offset ${mid}`));
    const help = await execFileP(process.execPath, [CHECK_AOF_BIN, '--help']);
    t.match(help.stdout, /--fix/);
  });

}
