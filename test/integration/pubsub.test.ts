// Pub/sub through one proxy process (or redis-server, SHOAL_TEST_TARGET=redis): the
// exact reply shapes of (un)subscribe acknowledgements, RESP2 subscriber mode, RESP3
// pushes interleaved with replies, glob patterns, sharded channels, PUBSUB counts,
// ACL channel permissions, and a subscriber that stops reading being disconnected by
// client-output-buffer-limit pubsub while another keeps receiving.

import net from 'node:net';
import t from 'tap';
import { Redis } from 'ioredis';
import { useTarget, isShoal } from '../helpers/cluster.js';
import { rawSend, encodeCommand, sleep, connect } from '../helpers/run.js';

const { target, run } = await useTarget(t);
const port = target.port;

const cmds = (...lines: string[][]): Buffer => Buffer.concat(lines.map((l) => encodeCommand(l)));
const show = (b: Buffer): string => b.toString('latin1').replace(/\r\n/g, ' ');

function ioredis(): Redis {
  return new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, retryStrategy: () => null, connectTimeout: 5000 });
}

/** Messages an ioredis subscriber receives, as "channel:message" (pattern ones as "pattern|channel:message"). */
function collect(r: Redis): string[] {
  const got: string[] = [];
  r.on('message', (ch: string, m: string) => got.push(`${ch}:${m}`));
  r.on('pmessage', (p: string, ch: string, m: string) => got.push(`${p}|${ch}:${m}`));
  r.on('smessage', (ch: string, m: string) => got.push(`s ${ch}:${m}`));
  return got;
}

async function waitFor(cond: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await sleep(20);
  }
  return cond();
}

t.test('RESP2 subscribe / unsubscribe reply shapes and subscriber mode', async (t) => {
  const { data } = await rawSend(port, cmds(
    ['SUBSCRIBE', 'a', 'b'], ['GET', 'x'], ['PING'], ['PING', 'hi'], ['PUBSUB', 'NUMSUB'],
    ['UNSUBSCRIBE'], ['UNSUBSCRIBE'], ['PUNSUBSCRIBE'], ['SUNSUBSCRIBE'],
    ['SSUBSCRIBE', '{x}1', '{x}2'], ['PSUBSCRIBE', 'p*'], ['SUBSCRIBE'], ['CLIENT', 'LIST'], ['RESET'], ['GET', 'x'],
  ));
  const mode = (c: string): string => `-ERR Can't execute '${c}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context `;
  // UNSUBSCRIBE with no argument goes through the channels in Redis's dict order.
  const got = show(data).replace('*3 $11 unsubscribe $1 b :1 *3 $11 unsubscribe $1 a :0 ', '*3 $11 unsubscribe $1 a :1 *3 $11 unsubscribe $1 b :0 ');
  t.equal(got,
    '*3 $9 subscribe $1 a :1 *3 $9 subscribe $1 b :2 ' + mode('get') +
    '*2 $4 pong $0  *2 $4 pong $2 hi ' + mode('pubsub|numsub') +
    '*3 $11 unsubscribe $1 a :1 *3 $11 unsubscribe $1 b :0 *3 $11 unsubscribe $-1 :0 ' +
    '*3 $12 punsubscribe $-1 :0 *3 $12 sunsubscribe $-1 :0 ' +
    '*3 $10 ssubscribe $4 {x}1 :1 *3 $10 ssubscribe $4 {x}2 :2 *3 $10 psubscribe $2 p* :1 ' +
    "-ERR wrong number of arguments for 'subscribe' command " + mode('client|list') + '+RESET $-1 ');
});

t.test('RESP3: push acknowledgements, messages interleaved with replies', async (t) => {
  const { data } = await rawSend(port, cmds(
    ['HELLO', '3'], ['SUBSCRIBE', 'r3'], ['SET', 'k3', 'v'], ['GET', 'k3'], ['PING'], ['PUBLISH', 'r3', 'hi'], ['UNSUBSCRIBE'], ['UNSUBSCRIBE'],
  ));
  const s = show(data);
  const afterHello = s.slice(s.indexOf('>3'));
  t.equal(afterHello, '>3 $9 subscribe $2 r3 :1 +OK $1 v +PONG >3 $7 message $2 r3 $2 hi :1 >3 $11 unsubscribe $2 r3 :0 >3 $11 unsubscribe _ :0 ');
});

t.test('PUBLISH reaches channel and pattern subscribers; counts receivers', async (t) => {
  const a = ioredis();
  const b = ioredis();
  const pub = ioredis();
  t.teardown(() => { a.disconnect(); b.disconnect(); pub.disconnect(); });
  const ga = collect(a);
  const gb = collect(b);
  await a.subscribe('news', 'sport');
  await b.psubscribe('n?ws', 'sp[oa]rt', 'x*');
  await b.subscribe('news');
  t.equal(await pub.publish('news', 'm1'), 3, 'a, b by channel, b by pattern');
  t.equal(await pub.publish('sport', 'm2'), 2);
  t.equal(await pub.publish('nows', 'm3'), 1);
  t.equal(await pub.publish('nobody', 'm4'), 0);
  t.ok(await waitFor(() => ga.length >= 2 && gb.length >= 4));
  t.same(ga, ['news:m1', 'sport:m2']);
  t.same(gb.sort(), ['n?ws|news:m1', 'n?ws|nows:m3', 'news:m1', 'sp[oa]rt|sport:m2'].sort());
  const r = await connect(port);
  t.teardown(() => r.close());
  t.same(await r.run(['PUBSUB', 'NUMSUB', 'news', 'sport', 'none']), ['news', 2, 'sport', 1, 'none', 0]);
  t.equal(await r.run(['PUBSUB', 'NUMPAT']), 3);
  t.same(((await r.run(['PUBSUB', 'CHANNELS'])) as string[]).sort(), ['news', 'sport']);
  t.same(await r.run(['PUBSUB', 'CHANNELS', 'n*']), ['news']);
  await b.punsubscribe('n?ws', 'sp[oa]rt', 'x*'); // ioredis's punsubscribe() with no argument never resolves
  await a.unsubscribe('sport');
  t.ok(await waitFor(() => true, 50));
  t.equal(await r.run(['PUBSUB', 'NUMPAT']), 0);
  t.same(await r.run(['PUBSUB', 'NUMSUB', 'sport']), ['sport', 0]);
  a.disconnect();
  await sleep(200);
  t.same(await r.run(['PUBSUB', 'NUMSUB', 'news']), ['news', 1], 'a closed: its subscription went');
});

t.test('CLIENT LIST shows subscribers: flag P, sub/psub counts, TYPE pubsub', async (t) => {
  const s = ioredis();
  t.teardown(() => s.disconnect());
  await s.client('SETNAME', 'listener');
  await s.subscribe('cl-a', 'cl-b');
  await s.psubscribe('cl-*');
  const r = await connect(port);
  t.teardown(() => r.close());
  const line = ((await r.run(['CLIENT', 'LIST', 'TYPE', 'pubsub'])) as string).split('\n').find((l) => l.includes('name=listener '));
  t.ok(line, 'listed under TYPE pubsub');
  t.match(line ?? '', / flags=P db=0 sub=2 psub=1 ssub=0 /);
  const normal = (await r.run(['CLIENT', 'LIST', 'TYPE', 'normal'])) as string;
  t.notOk(normal.includes('name=listener '), 'not under TYPE normal');
  t.match(normal, / flags=N db=0 sub=0 psub=0 ssub=0 /, 'a plain client has no subscriptions');
});

t.test('sharded channels: SSUBSCRIBE / SPUBLISH / SHARDNUMSUB / SHARDCHANNELS', async (t) => {
  const s = ioredis();
  const pub = ioredis();
  t.teardown(() => { s.disconnect(); pub.disconnect(); });
  const got = collect(s);
  await s.ssubscribe('{o}1', '{o}2');
  t.equal(await pub.spublish('{o}1', 'x'), 1);
  t.equal(await pub.spublish('{o}2', 'y'), 1);
  t.equal(await pub.publish('{o}1', 'not-shard'), 0, 'PUBLISH does not reach shard subscribers');
  t.ok(await waitFor(() => got.length >= 2));
  t.same(got, ['s {o}1:x', 's {o}2:y']);
  t.same(await run(['PUBSUB', 'SHARDNUMSUB', '{o}1', '{o}3']), ['{o}1', 1, '{o}3', 0]);
  t.same(((await run(['PUBSUB', 'SHARDCHANNELS'])) as string[]).sort(), ['{o}1', '{o}2']);
  t.same(await run(['PUBSUB', 'SHARDCHANNELS', '*2']), ['{o}2']);
  if (isShoal) {
    const { data } = await rawSend(port, cmds(['SSUBSCRIBE', 'a', 'b']));
    t.equal(show(data), "-CROSSSLOT Keys in request don't hash to the same slot ", 'as Redis Cluster');
  }
});

t.test('PUBSUB and PUBLISH errors', async (t) => {
  t.same(await run(['PUBSUB', 'FOO']), { error: "ERR unknown subcommand 'FOO'. Try PUBSUB HELP." });
  t.same(await run(['PUBSUB']), { error: "ERR wrong number of arguments for 'pubsub' command" });
  t.same(await run(['PUBLISH', 'a']), { error: "ERR wrong number of arguments for 'publish' command" });
  t.same(await run(['SPUBLISH', 'a']), { error: "ERR wrong number of arguments for 'spublish' command" });
  t.same(await run(['PSUBSCRIBE']), { error: "ERR wrong number of arguments for 'psubscribe' command" });
  t.same(await run(['PUBSUB', 'CHANNELS', 'a', 'b']), { error: "ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP." });
  t.same(await run(['PUBSUB', 'NUMPAT', 'x']), { error: "ERR wrong number of arguments for 'pubsub|numpat' command" });
  t.same(await run(['PUBSUB', 'NUMSUB']), []);
  const help = (await run(['PUBSUB', 'HELP'])) as string[];
  t.equal(help.length, 14);
  t.equal(help[0], 'PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:');
});

t.test('ACL channel permissions: &pattern, allchannels, resetchannels', async (t) => {
  t.equal(await run(['ACL', 'SETUSER', 'chan', 'on', 'nopass', '+@all', '~*', 'resetchannels', '&news.*']), 'OK');
  t.teardown(() => run(['ACL', 'DELUSER', 'chan']));
  const noperm = '-NOPERM this user has no permissions to access one of the channels used as arguments ';
  const { data } = await rawSend(port, cmds(
    ['AUTH', 'chan', 'x'], ['SUBSCRIBE', 'other'], ['SUBSCRIBE', 'news.1'], ['PSUBSCRIBE', 'news.*'], ['PSUBSCRIBE', 'news.1*'], ['RESET'],
    ['AUTH', 'chan', 'x'], ['PUBLISH', 'other', 'x'], ['PUBLISH', 'news.a', 'x'], ['SPUBLISH', 'other', 'x'],
  ));
  t.equal(show(data), '+OK ' + noperm + '*3 $9 subscribe $6 news.1 :1 *3 $10 psubscribe $6 news.* :2 ' + noperm + '+RESET +OK ' + noperm + ':0 ' + noperm);
  t.equal(await run(['ACL', 'SETUSER', 'chan', 'allchannels']), 'OK');
  const again = await rawSend(port, cmds(['AUTH', 'chan', 'x'], ['PUBLISH', 'other', 'x']));
  t.equal(show(again.data), '+OK :0 ');
});

t.test('a subscriber that stops reading is disconnected; another keeps receiving', async (t) => {
  t.equal(await run(['CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 1mb 512kb 1']), 'OK');
  t.teardown(() => run(['CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 32mb 8mb 60']));
  // The slow one: subscribes, then never reads again.
  const slow = net.connect({ port, host: '127.0.0.1' });
  let slowClosed = false;
  slow.on('close', () => { slowClosed = true; });
  slow.on('error', () => {});
  await new Promise<void>((resolve) => slow.once('connect', () => resolve()));
  slow.write(encodeCommand(['SUBSCRIBE', 'flood']));
  await new Promise<void>((resolve) => slow.once('data', () => resolve()));
  slow.pause();
  const fast = ioredis();
  const pub = ioredis();
  t.teardown(() => { fast.disconnect(); pub.disconnect(); slow.destroy(); });
  let received = 0;
  let last = -1;
  let inOrder = true;
  fast.on('message', (_ch: string, m: string) => {
    const n = Number(m.slice(0, 8));
    if (n !== last + 1) inOrder = false;
    last = n;
    received++;
  });
  await fast.subscribe('flood');
  const pad = 'x'.repeat(16 * 1024);
  const total = 2000; // 32 MB: far over the kernel's socket buffers and the 1 MB limit
  for (let i = 0; i < total; i += 100) {
    const p = pub.pipeline();
    for (let j = i; j < i + 100; j++) p.publish('flood', String(j).padStart(8, '0') + pad);
    await p.exec();
  }
  t.ok(await waitFor(() => received === total, 20_000), `fast subscriber got all ${total} (got ${received})`);
  t.ok(inOrder, 'in publish order');
  // A paused socket sees the close only once it reads what was sent before it.
  let slowGot = 0;
  slow.on('data', (c: Buffer) => { slowGot += c.length; });
  slow.resume();
  t.ok(await waitFor(() => slowClosed, 5000), 'slow subscriber was disconnected');
  t.ok(slowGot < total * pad.length, `it got only part of the messages (${slowGot} bytes)`);
});
