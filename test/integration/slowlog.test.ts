// SLOWLOG GET / LEN / RESET / HELP and the slowlog-* settings, checked against Redis 7
// (SHOAL_TEST_TARGET=redis) and Shoal: entry shape, Redis's truncation (32 arguments,
// 128 bytes) and redaction, max-len, thresholds, errors. Shoal-only: the log gathered
// across proxy processes (docs/observability.md).

import t from 'tap';
import { isShoal, startShoal, useTarget } from '../helpers/cluster.js';
import { connect, err, pollUntil, type RespValue } from '../helpers/run.js';

const { target, run } = await useTarget(t);

type Entry = [number, number, number, string[], string, string];

function entries(reply: RespValue): Entry[] {
  if (!Array.isArray(reply)) throw new Error(`SLOWLOG GET replied ${JSON.stringify(reply)}`);
  return reply as unknown as Entry[];
}

t.beforeEach(async () => {
  t.equal(await run(['CONFIG', 'SET', 'slowlog-log-slower-than', '0', 'slowlog-max-len', '128']), 'OK');
  t.equal(await run(['SLOWLOG', 'RESET']), 'OK');
});

t.test('entry shape: id, unix time, µs, argv, addr, name', async (t) => {
  const c = await connect(target.port);
  t.teardown(c.close);
  t.equal(await c.run(['SET', 'k', 'v']), 'OK');
  t.equal(await c.run(['CLIENT', 'SETNAME', 'slowpoke']), 'OK');
  t.equal(await c.run(['GET', 'k']), 'v');
  const got = entries(await c.run(['SLOWLOG', 'GET', '3']));
  t.equal(got.length, 3);
  const [get, setname, set] = got as [Entry, Entry, Entry];
  t.same(get[3], ['GET', 'k'], 'arguments as sent, newest first');
  t.same(setname[3], ['CLIENT', 'SETNAME', 'slowpoke']);
  t.same(set[3], ['SET', 'k', 'v']);
  for (const e of got) {
    t.equal(e.length, 6);
    t.ok(Number.isInteger(e[0]) && e[0] >= 0, 'id');
    t.ok(Math.abs(e[1] - Date.now() / 1000) < 30, 'unix time in seconds');
    t.ok(Number.isInteger(e[2]) && e[2] >= 0, 'duration in µs');
    t.match(e[4], /^127\.0\.0\.1:\d+$/, 'client address');
  }
  t.ok(get[0] > setname[0] && setname[0] > set[0], 'ids grow with time');
  t.equal(get[5], 'slowpoke', 'the name the client had when the command ran');
  t.equal(set[5], '');
  t.equal(get[4], set[4], 'same connection, same address');
});

t.test('truncation: 32 arguments, 128 bytes', async (t) => {
  const many = Array.from({ length: 40 }, (_, i) => String(i + 1));
  t.equal(await run(['RPUSH', 'list', ...many]), 40);
  const long = 'a'.repeat(200);
  t.equal(await run(['SET', 'long', long]), 'OK');
  t.equal(await run(['SET', 'edge', 'b'.repeat(128)]), 'OK');
  const [edge, set, rpush] = entries(await run(['SLOWLOG', 'GET', '3'])) as [Entry, Entry, Entry];
  t.equal(rpush[3].length, 32);
  t.same(rpush[3].slice(0, 3), ['RPUSH', 'list', '1']);
  t.equal(rpush[3][30], '29');
  t.equal(rpush[3][31], '... (11 more arguments)');
  t.same(set[3], ['SET', 'long', `${'a'.repeat(128)}... (72 more bytes)`]);
  t.same(edge[3], ['SET', 'edge', 'b'.repeat(128)], 'exactly 128 bytes is kept whole');
  // 33 arguments: still cut (31 kept + "... (2 more arguments)").
  t.equal(await run(['DEL', ...Array.from({ length: 32 }, (_, i) => `x${i}`)]), 0);
  const [del] = entries(await run(['SLOWLOG', 'GET', '1'])) as [Entry];
  t.equal(del[3].length, 32);
  t.equal(del[3][31], '... (2 more arguments)');
});

t.test('secrets are redacted', async (t) => {
  t.same(await run(['AUTH', 'nobody', 'secret']), err('WRONGPASS invalid username-password pair or user is disabled.'));
  const c = await connect(target.port);
  t.teardown(c.close);
  const hello = await c.run(['HELLO', '2', 'AUTH', 'default', 'pw', 'SETNAME', 'h']);
  t.ok(Array.isArray(hello), 'HELLO AUTH default (no password set) succeeds');
  const [h, auth] = entries(await run(['SLOWLOG', 'GET', '2'])) as [Entry, Entry];
  t.same(auth[3], ['AUTH', '(redacted)', '(redacted)']);
  t.same(h[3], ['HELLO', '2', 'AUTH', '(redacted)', '(redacted)', 'SETNAME', 'h']);
});

t.test('LEN, RESET, max-len and count', async (t) => {
  t.equal(await run(['SLOWLOG', 'LEN']), 1, 'the RESET of beforeEach logs itself');
  t.equal(await run(['SLOWLOG', 'RESET']), 'OK');
  t.equal(await run(['SLOWLOG', 'LEN']), 1, 'the RESET itself');
  for (let i = 0; i < 5; i++) await run(['PING']);
  t.equal(await run(['SLOWLOG', 'LEN']), 7, 'RESET, LEN, 5 PINGs');
  t.equal(entries(await run(['SLOWLOG', 'GET'])).length, 8, 'default count 10: all 8 so far');
  t.equal(entries(await run(['SLOWLOG', 'GET', '0'])).length, 0);
  t.equal(entries(await run(['SLOWLOG', 'GET', '-1'])).length, 10, 'every entry (the two GETs joined)');
  const two = entries(await run(['SLOWLOG', 'GET', '2']));
  t.equal(two.length, 2);
  t.same(two.map((e) => e[3][0]), ['SLOWLOG', 'SLOWLOG']);
  t.equal(await run(['CONFIG', 'SET', 'slowlog-max-len', '3']), 'OK');
  t.same(await run(['CONFIG', 'GET', 'slowlog-max-len']), ['slowlog-max-len', '3']);
  for (let i = 0; i < 5; i++) await run(['ECHO', String(i)]);
  t.equal(await run(['SLOWLOG', 'LEN']), 3, 'trimmed to max-len');
  const kept = entries(await run(['SLOWLOG', 'GET', '-1']));
  t.same(kept.map((e) => e[3].join(' ')), ['SLOWLOG LEN', 'ECHO 4', 'ECHO 3']);
  t.equal(await run(['CONFIG', 'SET', 'slowlog-max-len', '0']), 'OK');
  await run(['PING']);
  t.equal(await run(['SLOWLOG', 'LEN']), 0, 'max-len 0 keeps nothing');
});

t.test('thresholds', async (t) => {
  t.same(await run(['CONFIG', 'GET', 'slowlog-log-slower-than']), ['slowlog-log-slower-than', '0']);
  t.equal(await run(['CONFIG', 'SET', 'slowlog-log-slower-than', '-1']), 'OK');
  t.equal(await run(['SLOWLOG', 'RESET']), 'OK');
  await run(['PING']);
  t.equal(await run(['SLOWLOG', 'LEN']), 0, '-1 disables the log');
  t.equal(await run(['CONFIG', 'SET', 'slowlog-log-slower-than', '10000000']), 'OK');
  await run(['PING']);
  await run(['SET', 'a', '1']);
  t.equal(await run(['SLOWLOG', 'LEN']), 0, 'nothing takes 10 s');
  t.equal(await run(['CONFIG', 'SET', 'slowlog-log-slower-than', '9223372036854775807']), 'OK');
  t.same(await run(['CONFIG', 'GET', 'slowlog-log-slower-than']), ['slowlog-log-slower-than', '9223372036854775807']);
  t.equal(await run(['CONFIG', 'SET', 'slowlog-log-slower-than', '10000']), 'OK');
});

t.test('errors, as Redis words them', async (t) => {
  const cases: Array<[string[], RespValue]> = [
    [['SLOWLOG'], err("ERR wrong number of arguments for 'slowlog' command")],
    [['SLOWLOG', 'LEN', 'x'], err("ERR wrong number of arguments for 'slowlog|len' command")],
    [['SLOWLOG', 'RESET', 'x'], err("ERR wrong number of arguments for 'slowlog|reset' command")],
    [['SLOWLOG', 'HELP', 'x'], err("ERR wrong number of arguments for 'slowlog|help' command")],
    [['SLOWLOG', 'GET', '1', '2'], err("ERR unknown subcommand or wrong number of arguments for 'GET'. Try SLOWLOG HELP.")],
    [['slowlog', 'get', '1', '2'], err("ERR unknown subcommand or wrong number of arguments for 'get'. Try SLOWLOG HELP.")],
    [['SLOWLOG', 'GET', 'x'], err('ERR count should be greater than or equal to -1')],
    [['SLOWLOG', 'GET', '-2'], err('ERR count should be greater than or equal to -1')],
    [['SLOWLOG', 'GET', '05'], err('ERR count should be greater than or equal to -1')],
    [['SLOWLOG', 'GET', '9223372036854775808'], err('ERR count should be greater than or equal to -1')],
    [['SLOWLOG', 'FOO'], err("ERR unknown subcommand 'FOO'. Try SLOWLOG HELP.")],
    [['CONFIG', 'SET', 'slowlog-log-slower-than', '-2'], err("ERR CONFIG SET failed (possibly related to argument 'slowlog-log-slower-than') - argument must be between -1 and 9223372036854775807 inclusive")],
    [['CONFIG', 'SET', 'slowlog-log-slower-than', 'abc'], err("ERR CONFIG SET failed (possibly related to argument 'slowlog-log-slower-than') - argument couldn't be parsed into an integer")],
    [['CONFIG', 'SET', 'slowlog-log-slower-than', '1e3'], err("ERR CONFIG SET failed (possibly related to argument 'slowlog-log-slower-than') - argument couldn't be parsed into an integer")],
    [['CONFIG', 'SET', 'slowlog-max-len', '-1'], err("ERR CONFIG SET failed (possibly related to argument 'slowlog-max-len') - argument must be between 0 and 9223372036854775807 inclusive")],
    [['CONFIG', 'SET', 'slowlog-max-len', '9223372036854775808'], err("ERR CONFIG SET failed (possibly related to argument 'slowlog-max-len') - argument couldn't be parsed into an integer")],
    [['CONFIG', 'SET', 'latency-tracking', 'maybe'], err("ERR CONFIG SET failed (possibly related to argument 'latency-tracking') - argument must be 'yes' or 'no'")],
  ];
  for (const [argv, want] of cases) t.same(await run(argv), want, argv.join(' '));
  const help = await run(['SLOWLOG', 'HELP']);
  t.ok(Array.isArray(help) && help.length === 12, 'HELP: 12 lines');
  t.equal((help as string[])[0], 'SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:');
  t.equal((help as string[])[2], '    Return top <count> entries from the slowlog (default: 10, -1 mean all).');
});

t.test('EXEC is not logged (skip_slowlog); MULTI is', async (t) => {
  t.equal(await run(['MULTI']), 'OK');
  t.equal(await run(['SET', 'tx', '1']), 'QUEUED');
  t.same(await run(['EXEC']), ['OK']);
  const names = entries(await run(['SLOWLOG', 'GET', '-1'])).map((e) => e[3][0]!.toUpperCase());
  t.notOk(names.includes('EXEC'));
  t.ok(names.includes('MULTI'));
  // Redis logs the queued SET when EXEC runs it; Shoal's proxy queues it and does not.
  t.equal(names.includes('SET'), !isShoal);
});

if (isShoal) {
  t.test('several proxy processes: one log across them', async (t) => {
    const multi = await startShoal({ workers: 1, proxyProcesses: 2 });
    t.teardown(() => multi.stop());
    // Every process accepts clients once /readyz says so.
    const ready = await pollUntil(async () => (await fetch(`http://127.0.0.1:${multi.httpPort}/readyz`)).status, (s) => s === 200, 20_000, 200);
    t.ok(ready.ok, '/readyz 200');
    // Connections opened one at a time go round robin over the processes; keep two on each.
    const clients: Array<Awaited<ReturnType<typeof connect>>> = [];
    t.teardown(() => Promise.all(clients.map((c) => c.close())));
    const byPid = new Map<string, number>();
    for (let attempt = 0; attempt < 12 && clients.length < 4; attempt++) {
      const c = await connect(multi.port);
      const pid = /process_id:(\d+)/.exec(String(await c.run(['INFO', 'server'])))![1]!;
      if ((byPid.get(pid) ?? 0) >= 2) {
        await c.close();
        continue;
      }
      byPid.set(pid, (byPid.get(pid) ?? 0) + 1);
      clients.push(c);
    }
    t.equal(byPid.size, 2, 'connections on both processes');
    t.equal(clients.length, 4);
    const first = clients[0]!;
    // CONFIG SET on one process reaches the other (shared through the primary).
    t.equal(await first.run(['CONFIG', 'SET', 'slowlog-log-slower-than', '0']), 'OK');
    for (const c of clients) {
      const seen = await pollUntil(() => c.run(['CONFIG', 'GET', 'slowlog-log-slower-than']), (v) => JSON.stringify(v) === '["slowlog-log-slower-than","0"]', 3000, 50);
      t.ok(seen.ok, `every process has the new threshold (${JSON.stringify(seen.value)})`);
    }
    t.equal(await first.run(['SLOWLOG', 'RESET']), 'OK');
    for (const [i, c] of clients.entries()) {
      t.equal(await c.run(['CLIENT', 'SETNAME', `c${i}`]), 'OK');
      t.equal(await c.run(['ECHO', `from-${i}`]), `from-${i}`);
    }
    const all = entries(await first.run(['SLOWLOG', 'GET', '-1']));
    const echoes = all.filter((e) => e[3][0] === 'ECHO');
    t.same(echoes.map((e) => e[5]).sort(), ['c0', 'c1', 'c2', 'c3'], 'entries of every process');
    t.equal(new Set(all.map((e) => e[0])).size, all.length, 'ids unique across processes');
    for (let i = 1; i < all.length; i++) t.ok(all[i - 1]![1] >= all[i]![1], 'newest first');
    t.equal(await clients[1]!.run(['SLOWLOG', 'LEN']), all.length + 1, 'LEN sums the processes (+ the GET)');
    t.equal(await clients[2]!.run(['SLOWLOG', 'RESET']), 'OK');
    t.equal(await clients[3]!.run(['SLOWLOG', 'LEN']), 1, 'RESET cleared every process; only its own entry is left');
  });
}
