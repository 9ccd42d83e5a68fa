// Several proxy processes on one port (Shoal only): `--proxy-processes 2` makes the
// proxy a node:cluster primary with two RESP workers. Clients land on both (found by
// INFO server's process_id and by CLIENT ID's per-process id block); CLIENT LIST,
// CLIENT KILL, CLIENT PAUSE and INFO clients cover both; a worker killed with SIGKILL
// is restarted by the primary while the other one's clients run a steady command loop
// without a single error; and the restarted worker gets the shared state (a CLIENT
// PAUSE in force) before it serves anyone.

import t from 'tap';
import { fetchTopology, isRedis, startShoal, type Target } from '../helpers/cluster.js';
import { RespClient, info, pollUntil, sleep } from '../helpers/run.js';

/** ProcessGroup.clientIdBase: every started RESP process numbers its clients in its own block. */
const ID_BLOCK = 2 ** 40;

interface Conn {
  c: RespClient;
  pid: number;
  id: number;
}

async function proxyWorkerPids(target: Target): Promise<number[]> {
  const topo = await fetchTopology(target.httpPort);
  return (topo?.processes ?? []).filter((p) => p.role === 'proxy-worker').map((p) => p.pid);
}

async function conn(port: number): Promise<Conn> {
  const c = await RespClient.connect(port);
  const server = await info((argv) => c.run(argv), 'server');
  const id = (await c.run(['CLIENT', 'ID'])) as number;
  return { c, pid: Number(server.get('process_id')), id };
}

/** Opens connections until `pid` serves one (round-robin: a few tries); closes the others. */
async function connOn(port: number, pid: number): Promise<Conn> {
  for (let i = 0; i < 20; i++) {
    const k = await conn(port);
    if (k.pid === pid) return k;
    await k.c.close();
  }
  throw new Error(`no connection landed on proxy process ${pid} in 20 tries`);
}

if (isRedis) {
  t.plan(0, 'several proxy processes is Shoal-only');
} else {
  const target = await startShoal({ workers: 2, proxyProcesses: 2 });
  t.teardown(() => target.stop());
  const port = target.port;
  const conns: Conn[] = [];
  t.teardown(() => Promise.all(conns.map((k) => k.c.close())));

  // The manager records the workers once the primary reports ready, which can be just
  // after the port first answers PONG.
  const pids = (await pollUntil(() => proxyWorkerPids(target), (p) => p.length === 2, 10_000)).value;

  t.test('the topology lists both RESP processes', async (t) => {
    t.equal(pids.length, 2, 'two proxy-worker entries');
    t.not(pids[0], pids[1]);
    t.notOk(pids.includes(target.pids[0]!), 'not the launcher');
  });

  t.test('clients land on both processes, with ids from distinct blocks', async (t) => {
    for (let i = 0; i < 8; i++) conns.push(await conn(port));
    const byPid = new Map<number, Conn[]>();
    for (const k of conns) byPid.set(k.pid, [...(byPid.get(k.pid) ?? []), k]);
    t.same([...byPid.keys()].sort(), [...pids].sort(), 'each process serves some of 8 connections');
    for (const [, group] of byPid) {
      const blocks = new Set(group.map((k) => Math.floor(k.id / ID_BLOCK)));
      t.equal(blocks.size, 1, 'one id block per process');
    }
    t.equal(new Set(conns.map((k) => Math.floor(k.id / ID_BLOCK))).size, 2, 'two blocks in all');
  });

  t.test('CLIENT LIST and INFO clients cover every process', async (t) => {
    const a = conns[0]!;
    const listed = ((await a.c.run(['CLIENT', 'LIST'])) as string).split('\n').filter(Boolean);
    const ids = listed.map((l) => Number(/^id=(\d+)/.exec(l)?.[1]));
    for (const k of conns) t.ok(ids.includes(k.id), `client ${k.id} (pid ${k.pid}) listed`);
    const connected = Number((await info((argv) => a.c.run(argv), 'clients')).get('connected_clients'));
    t.equal(connected, listed.length, 'connected_clients = CLIENT LIST lines');
    t.ok(connected >= conns.length, 'at least our connections');
    const b = conns.find((k) => k.pid !== a.pid)!;
    const some = ((await a.c.run(['CLIENT', 'LIST', 'ID', String(b.id), String(a.id)])) as string).split('\n').filter(Boolean);
    t.same(some.map((l) => Number(/^id=(\d+)/.exec(l)?.[1])), [b.id, a.id], 'LIST ID across processes, in the order asked');
  });

  t.test('CLIENT KILL ID of a client on the other process', async (t) => {
    const a = conns[0]!;
    const victim = conns.find((k) => k.pid !== a.pid)!;
    conns.splice(conns.indexOf(victim), 1);
    t.equal(await a.c.run(['CLIENT', 'KILL', 'ID', String(victim.id)]), 1);
    t.ok((await pollUntil(async () => victim.c.closed, (c) => c, 3000)).ok, 'its connection closed');
    t.equal(await a.c.run(['CLIENT', 'KILL', 'ID', String(victim.id)]), 0, 'gone everywhere');
  });

  t.test('CONFIG SET through one process holds on the other', async (t) => {
    const a = conns[0]!;
    const b = conns.find((k) => k.pid !== a.pid)!;
    t.equal(await a.c.run(['CONFIG', 'SET', 'timeout', '3600', 'maxclients', '777']), 'OK');
    const seen = await pollUntil(() => b.c.run(['CONFIG', 'GET', 'maxclients']), (r) => JSON.stringify(r) === JSON.stringify(['maxclients', '777']), 3000);
    t.ok(seen.ok, 'maxclients reached the other process');
    t.same(await b.c.run(['CONFIG', 'GET', 'timeout']), ['timeout', '3600']);
    t.equal(await b.c.run(['CONFIG', 'SET', 'timeout', '0', 'maxclients', '10000']), 'OK');
    t.ok((await pollUntil(() => a.c.run(['CONFIG', 'GET', 'timeout']), (r) => JSON.stringify(r) === JSON.stringify(['timeout', '0']), 3000)).ok, 'and back');
  });

  t.test('CLIENT PAUSE WRITE from one process holds writes on the other', async (t) => {
    const a = conns[0]!;
    const b = conns.find((k) => k.pid !== a.pid)!;
    t.equal(await a.c.run(['CLIENT', 'PAUSE', '10000', 'WRITE']), 'OK');
    t.equal(await b.c.run(['GET', 'mp'], { timeoutMs: 3000 }), null, 'reads pass on the other process');
    let done = false;
    const set = b.c.run(['SET', 'mp', '1'], { timeoutMs: 10_000 }).then((r) => ((done = true), r));
    await sleep(400);
    t.equal(done, false, 'a write on the other process is held');
    t.equal(await a.c.run(['CLIENT', 'UNPAUSE']), 'OK');
    t.equal(await set, 'OK');
  });

  t.test('kill -9 one process: the other serves on without an error; the primary restarts it', async (t) => {
    const victimPid = pids[0]!;
    const survivors = conns.filter((k) => k.pid !== victimPid);
    const doomed = conns.filter((k) => k.pid === victimPid);
    t.ok(survivors.length > 0 && doomed.length > 0, 'clients on both');
    let ops = 0;
    const errors: string[] = [];
    let running = true;
    const loops = survivors.map(async (k, n) => {
      for (let i = 0; running; i++) {
        try {
          const set = await k.c.run(['SET', `steady:${n}`, String(i)], { timeoutMs: 5000 });
          const got = await k.c.run(['GET', `steady:${n}`], { timeoutMs: 5000 });
          if (set !== 'OK' || got !== String(i)) errors.push(`${String(set)} / ${String(got)}`);
          ops++;
        } catch (e) {
          errors.push((e as Error).message);
        }
      }
    });
    let before = 0;
    try {
      await sleep(300);
      before = ops;
      process.kill(victimPid, 'SIGKILL');
      await sleep(1500);
    } finally {
      running = false;
      await Promise.all(loops);
    }
    t.same(errors, [], 'no error on the surviving process');
    t.ok(ops - before > 10, `the loop kept running (${ops - before} round trips after the kill)`);
    t.ok((await pollUntil(async () => doomed.every((k) => k.c.closed), (c) => c, 3000)).ok, "the killed process's clients were disconnected");
    for (const k of doomed) conns.splice(conns.indexOf(k), 1);

    const restarted = await pollUntil(() => proxyWorkerPids(target), (p) => p.length === 2 && !p.includes(victimPid), 20_000, 200);
    t.ok(restarted.ok, `a new process replaced ${victimPid} (${restarted.ms} ms)`);
    const newPid = restarted.value.find((p) => !pids.includes(p))!;
    const fresh = await connOn(port, newPid);
    conns.push(fresh);
    t.equal(await fresh.c.run(['SET', 'after-restart', 'yes']), 'OK', 'a new connection to it works');
    t.equal(await fresh.c.run(['GET', 'after-restart']), 'yes');
    t.notOk(Math.floor(fresh.id / ID_BLOCK) === Math.floor(doomed[0]!.id / ID_BLOCK), 'its client ids come from a new block');
    pids.splice(0, 2, ...restarted.value);
  });

  t.test('a restarted process gets the shared state before serving (CLIENT PAUSE in force)', async (t) => {
    const [victimPid, otherPid] = [pids[0]!, pids[1]!];
    const admin = await connOn(port, otherPid);
    conns.push(admin);
    t.equal(await admin.c.run(['CLIENT', 'PAUSE', '20000', 'WRITE']), 'OK');
    t.teardown(() => admin.c.run(['CLIENT', 'UNPAUSE']).catch(() => undefined));
    process.kill(victimPid, 'SIGKILL');
    const restarted = await pollUntil(() => proxyWorkerPids(target), (p) => p.length === 2 && !p.includes(victimPid), 20_000, 200);
    t.ok(restarted.ok, 'replaced');
    const fresh = await connOn(port, restarted.value.find((p) => p !== otherPid)!);
    conns.push(fresh);
    let done = false;
    const set = fresh.c.run(['SET', 'replayed', '1'], { timeoutMs: 10_000 }).then((r) => ((done = true), r));
    await sleep(400);
    t.equal(done, false, 'the new process holds writes: it got the pause');
    t.equal(await admin.c.run(['CLIENT', 'UNPAUSE']), 'OK');
    t.equal(await set, 'OK');
  });
}
