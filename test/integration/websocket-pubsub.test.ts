// WebSocket pub/sub at /pubsub (docs/websocket-pubsub.md), through two proxy processes
// (the WebSocket server runs in the cluster primary): auth at upgrade and in the first
// message, JSON and msgpack frames, subscribe / unsubscribe / patterns, ACL channel
// rules on publish and subscribe, RESP <-> WebSocket delivery in order, and a socket
// that stops reading closed with 4008 while the others keep receiving. Shoal only.

import t from 'tap';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { decode, encode } from '@msgpack/msgpack';
import { isShoal, startShoal, type Target } from '../helpers/cluster.js';
import { sleep } from '../helpers/run.js';

type Frame = Record<string, unknown>;

/** A `ws` client that queues decoded frames and waits for the ones a test expects. */
class WsClient {
  readonly frames: Frame[] = [];
  readonly binary: boolean[] = [];
  closed: { code: number; reason: string } | null = null;
  #waiters: Array<() => void> = [];
  #read = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.frames.push((isBinary ? decode(data) : JSON.parse(data.toString())) as Frame);
      this.binary.push(isBinary);
      this.#wake();
    });
    ws.on('close', (code: number, reason: Buffer) => {
      this.closed = { code, reason: reason.toString() };
      this.#wake();
    });
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  static open(url: string, headers: Record<string, string> = {}): Promise<WsClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers });
      const c = new WsClient(ws);
      ws.once('open', () => resolve(c));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  send(value: Frame, msgpack = false): void {
    this.ws.send(msgpack ? encode(value) : JSON.stringify(value), { binary: msgpack });
  }

  /** The next unread frame matching `pred` (frames before it are consumed). */
  async next(pred: (f: Frame) => boolean = () => true, timeoutMs = 5000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.#read < this.frames.length) {
        const f = this.frames[this.#read++]!;
        if (pred(f)) return f;
      }
      if (this.closed !== null) throw new Error(`closed ${this.closed.code} ${this.closed.reason} while waiting`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; last frames: ${JSON.stringify(this.frames.slice(-3))}`);
      await new Promise<void>((r) => {
        const timer = setTimeout(r, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          r();
        });
      });
    }
  }

  /** The first frame, read or not, matching `pred`, without consuming any. */
  async seen(pred: (f: Frame) => boolean, timeoutMs = 5000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = this.frames.find(pred);
      if (f !== undefined) return f;
      if (Date.now() > deadline) throw new Error(`timed out; last frames: ${JSON.stringify(this.frames.slice(-3))}`);
      await sleep(10);
    }
  }

  /** Frames of `type` received so far. */
  ofType(type: string): Frame[] {
    return this.frames.filter((f) => f['type'] === type);
  }

  async waitClosed(timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (this.closed === null && Date.now() < deadline) await sleep(20);
    if (this.closed === null) throw new Error('socket not closed');
    return this.closed;
  }

  close(): void {
    if (this.closed === null) this.ws.terminate();
  }
}

if (!isShoal) {
  t.pass('WebSocket pub/sub is Shoal-only');
} else {
  const MAX_BUFFERED = 256 * 1024;
  const target: Target = await startShoal({ proxyProcesses: 2, env: { SHOAL_WEBSOCKET_MAX_BUFFERED: String(MAX_BUFFERED) } });
  t.teardown(() => target.stop());
  const base = `ws://127.0.0.1:${target.httpPort}/pubsub`;
  const clients: Array<WsClient | Redis> = [];
  t.teardown(() => {
    for (const c of clients) c instanceof Redis ? c.disconnect() : c.close();
  });
  const ws = async (query = '', headers: Record<string, string> = {}): Promise<WsClient> => {
    const c = await WsClient.open(base + query, headers);
    clients.push(c);
    await c.next((f) => f['type'] === 'hello');
    return c;
  };
  const redis = (): Redis => {
    const r = new Redis({ host: '127.0.0.1', port: target.port, maxRetriesPerRequest: 1, retryStrategy: () => null });
    clients.push(r);
    return r;
  };
  const admin = redis();
  t.before(async () => {
    // alice: may subscribe and publish on news.* and chat only; bob: no PUBLISH command.
    await admin.call('ACL', 'SETUSER', 'alice', 'on', '>secret', '~*', '+@all', 'resetchannels', '&news.*', '&chat');
    await admin.call('ACL', 'SETUSER', 'bob', 'on', '>pw', '~*', '+@all', '-publish', 'allchannels');
    // The primary holds an ACL copy through ProcessGroup's 'acl' topic: give it a moment.
    await sleep(200);
  });

  t.test('auth: default user, Basic header, query, first message, failures', async (t) => {
    const anon = await ws();
    t.same(anon.frames[0], { type: 'hello', user: 'default', authenticated: true, format: 'json' });

    const basic = await ws('', { authorization: 'Basic ' + Buffer.from('alice:secret').toString('base64') });
    t.equal(basic.frames[0]!['user'], 'alice');
    const query = await ws('?user=alice&password=secret');
    t.equal(query.frames[0]!['user'], 'alice');

    await t.rejects(WsClient.open(base + '?user=alice&password=wrong'), /HTTP 401/, 'wrong password at upgrade: 401');
    await t.rejects(WsClient.open(base, { authorization: 'Basic ' + Buffer.from('nobody:x').toString('base64') }), /HTTP 401/);

    const first = await ws();
    first.send({ op: 'auth', user: 'alice', password: 'secret', id: 7 });
    t.same(await first.next(), { type: 'auth', user: 'alice', id: 7 });

    const bad = await ws();
    bad.send({ op: 'auth', user: 'alice', password: 'nope' });
    t.same(await bad.next(), { type: 'error', op: 'auth', error: 'WRONGPASS invalid username-password pair or user is disabled.' });
    t.same(await bad.waitClosed(), { code: 4001, reason: 'authentication failed' });

    bad.close();
    const junk = await ws();
    junk.send({ op: 'nope' });
    t.match((await junk.next())['error'], /^ERR unknown op 'nope'/);
    junk.ws.send('{not json');
    t.match((await junk.next())['error'], /^ERR bad request: /);
  });

  t.test('JSON and msgpack frames', async (t) => {
    const pub = redis();
    const j = await ws();
    const m = await ws('?format=msgpack');
    t.equal(m.binary[0], true, 'hello in msgpack');
    t.same(m.frames[0], { type: 'hello', user: 'default', authenticated: true, format: 'msgpack' });
    j.send({ op: 'subscribe', channels: ['fmt'] });
    t.same(await j.next(), { type: 'subscribe', channel: 'fmt', count: 1 });
    m.send({ op: 'subscribe', channels: ['fmt'] }, true);
    t.same(await m.next(), { type: 'subscribe', channel: 'fmt', count: 1 });
    t.equal(await pub.publish('fmt', 'héllo'), 2);
    t.same(await j.next(), { type: 'message', channel: 'fmt', message: 'héllo' });
    const got = await m.next();
    t.equal(m.binary[m.binary.length - 1], true);
    t.equal(got['channel'], 'fmt');
    t.same(Buffer.from(got['message'] as Uint8Array), Buffer.from('héllo'), 'msgpack carries the message as bytes');

    // Binary payloads survive msgpack both ways.
    const bytes = Buffer.from([0, 255, 1, 254, 10, 13, 128]);
    m.send({ op: 'publish', channel: 'fmt', message: bytes }, true);
    t.same(await m.seen((f) => f['type'] === 'publish'), { type: 'publish', channel: 'fmt', receivers: 2 });
    const echoed = await m.seen((f) => f['type'] === 'message' && (f['message'] as Uint8Array).length === bytes.length);
    t.same(Buffer.from(echoed['message'] as Uint8Array), bytes);

    // Switch the JSON socket's deliveries to msgpack; a JSON request still gets a JSON reply.
    j.send({ op: 'format', format: 'msgpack', id: 1 });
    t.same(await j.next((f) => f['type'] === 'format'), { type: 'format', format: 'msgpack', id: 1 });
    await pub.publish('fmt', 'now binary');
    const after = await j.next((f) => f['type'] === 'message' && Buffer.from(f['message'] as Uint8Array).toString() === 'now binary');
    t.ok(after, 'delivered as msgpack after format switch');
    t.equal(j.binary[j.frames.indexOf(after)], true);
  });

  t.test('subscribe, unsubscribe and patterns', async (t) => {
    const pub = redis();
    const c = await ws();
    c.send({ op: 'subscribe', channels: ['s1', 's2'], id: 'a' });
    t.same(await c.next(), { type: 'subscribe', channel: 's1', count: 1, id: 'a' });
    t.same(await c.next(), { type: 'subscribe', channel: 's2', count: 2, id: 'a' });
    c.send({ op: 'psubscribe', patterns: ['news.*'] });
    t.same(await c.next(), { type: 'psubscribe', pattern: 'news.*', count: 3 });
    // Subscribing again changes nothing (Redis keeps the count).
    c.send({ op: 'subscribe', channel: 's1' });
    t.same(await c.next(), { type: 'subscribe', channel: 's1', count: 3 });

    await pub.publish('news.sport', 'goal');
    t.same(await c.next(), { type: 'pmessage', pattern: 'news.*', channel: 'news.sport', message: 'goal' });
    await pub.publish('s2', 'two');
    t.same(await c.next(), { type: 'message', channel: 's2', message: 'two' });

    c.send({ op: 'unsubscribe', channels: ['s2'] });
    t.same(await c.next(), { type: 'unsubscribe', channel: 's2', count: 2 });
    c.send({ op: 'punsubscribe' });
    t.same(await c.next(), { type: 'punsubscribe', pattern: 'news.*', count: 1 });
    t.equal(await pub.publish('s2', 'lost'), 0, 'no receiver left on s2');
    await pub.publish('news.sport', 'lost too');
    await pub.publish('s1', 'one');
    t.same(await c.next(), { type: 'message', channel: 's1', message: 'one' }, 'nothing from s2 or news.* came first');
    c.send({ op: 'unsubscribe' });
    t.same(await c.next(), { type: 'unsubscribe', channel: 's1', count: 0 });
    c.send({ op: 'unsubscribe' });
    t.same(await c.next(), { type: 'unsubscribe', channel: null, count: 0 });
    c.send({ op: 'ping', id: 3 });
    t.same(await c.next(), { type: 'pong', id: 3 });
  });

  t.test('ACL channel rules on subscribe and publish', async (t) => {
    const alice = await ws('?user=alice&password=secret');
    const noChannel = 'NOPERM this user has no permissions to access one of the channels used as arguments';
    alice.send({ op: 'subscribe', channels: ['chat', 'secret'] });
    t.same(await alice.next(), { type: 'error', op: 'subscribe', error: noChannel }, 'one denied channel refuses the whole request');
    alice.send({ op: 'psubscribe', patterns: ['news.*'] });
    t.same(await alice.next(), { type: 'psubscribe', pattern: 'news.*', count: 1 });
    alice.send({ op: 'psubscribe', patterns: ['*'] });
    t.same(await alice.next(), { type: 'error', op: 'psubscribe', error: noChannel }, 'patterns compare literally');
    alice.send({ op: 'publish', channel: 'secret', message: 'x' });
    t.same(await alice.next(), { type: 'error', op: 'publish', error: noChannel });
    alice.send({ op: 'publish', channel: 'news.tech', message: 'ok' });
    t.same(await alice.next((f) => f['type'] === 'publish'), { type: 'publish', channel: 'news.tech', receivers: 1 });

    const bob = await ws('?user=bob&password=pw');
    bob.send({ op: 'publish', channel: 'chat', message: 'x' });
    t.same(await bob.next(), { type: 'error', op: 'publish', error: "NOPERM this user has no permissions to run the 'publish' command" });
    bob.send({ op: 'subscribe', channels: ['anything'] });
    t.same(await bob.next(), { type: 'subscribe', channel: 'anything', count: 1 });

    // Deleting the user closes the socket on its next request.
    t.equal(await admin.call('ACL', 'DELUSER', 'bob'), 1);
    await sleep(200);
    bob.send({ op: 'subscribe', channels: ['more'] });
    t.same(await bob.waitClosed(), { code: 4011, reason: "ACL user 'bob' was deleted or disabled" });
  });

  t.test('RESP and WebSocket publishers reach every subscriber once, in order', async (t) => {
    const N = 200;
    const respSubs = [redis(), redis()];
    const got = new Map<Redis, string[]>();
    for (const r of respSubs) {
      got.set(r, []);
      r.on('message', (_ch: string, msg: string) => got.get(r)!.push(msg));
      await r.subscribe('order');
    }
    const wsSubs = [await ws(), await ws('?format=msgpack')];
    for (const c of wsSubs) {
      c.send({ op: 'subscribe', channels: ['order'] });
      await c.next((f) => f['type'] === 'subscribe');
    }
    // Two RESP publishers (one per proxy process with round-robin) and one WebSocket publisher.
    const pubs = [redis(), redis()];
    const wsPub = await ws();
    const sends: Array<Promise<unknown>> = [];
    for (let i = 0; i < N; i++) {
      sends.push(pubs[0]!.publish('order', `r0:${i}`), pubs[1]!.publish('order', `r1:${i}`));
      wsPub.send({ op: 'publish', channel: 'order', message: `w:${i}` });
    }
    const counts = await Promise.all(sends);
    t.ok(counts.every((n) => n === 4), 'PUBLISH counts RESP and WebSocket receivers of both processes');
    for (let i = 0; i < N; i++) await wsPub.next((f) => f['type'] === 'publish');
    t.equal(wsPub.ofType('publish').filter((f) => f['receivers'] === 4).length, N);

    const deadline = Date.now() + 10_000;
    const wsMessages = (c: WsClient): string[] => c.ofType('message').map((f) => (typeof f['message'] === 'string' ? f['message'] : Buffer.from(f['message'] as Uint8Array).toString()));
    const all = (): string[][] => [...respSubs.map((r) => got.get(r)!), ...wsSubs.map(wsMessages)];
    while (Date.now() < deadline && all().some((l) => l.length < 3 * N)) await sleep(50);
    await sleep(100);
    for (const [i, list] of all().entries()) {
      t.equal(list.length, 3 * N, `subscriber ${i}: every message exactly once`);
      for (const prefix of ['r0', 'r1', 'w']) {
        const seq = list.filter((m) => m.startsWith(prefix + ':')).map((m) => Number(m.slice(prefix.length + 1)));
        t.same(seq, Array.from({ length: N }, (_, k) => k), `subscriber ${i}: publisher ${prefix} in order`);
      }
    }
  });

  t.test('a socket that stops reading is closed with 4008; the others keep receiving', async (t) => {
    const slow = await ws();
    const fast = await ws();
    const resp = redis();
    const respGot: string[] = [];
    resp.on('message', (_ch: string, msg: string) => respGot.push(msg));
    await resp.subscribe('firehose');
    for (const c of [slow, fast]) {
      c.send({ op: 'subscribe', channels: ['firehose'] });
      await c.next((f) => f['type'] === 'subscribe');
    }
    const pub = redis();
    const numsub = async (): Promise<number> => Number(((await pub.call('PUBSUB', 'NUMSUB', 'firehose')) as unknown[])[1]);
    t.equal(await numsub(), 3);
    slow.ws.pause();
    // Rounds of 16 x 16 KB, each delivered to the readers before the next: the readers
    // never fall behind, the paused socket fills its kernel buffers, then uWS's.
    const body = 'x'.repeat(16 * 1024);
    const ROUND = 16;
    let sent = 0;
    let slowClosedAt = -1;
    const deadline = Date.now() + 30_000;
    while (sent < 4000 && Date.now() < deadline) {
      const sends: Array<Promise<unknown>> = [];
      for (let i = 0; i < ROUND; i++) sends.push(pub.publish('firehose', `${sent++}:${body}`));
      await Promise.all(sends);
      while ((fast.ofType('message').length < sent || respGot.length < sent) && Date.now() < deadline) await sleep(2);
      if (slowClosedAt < 0 && (await numsub()) === 2) slowClosedAt = sent;
      // A few rounds after the close: the readers must go on unhindered.
      if (slowClosedAt >= 0 && sent >= slowClosedAt + 10 * ROUND) break;
    }
    t.ok(slowClosedAt > 0, `the paused socket was dropped after ${slowClosedAt} messages (${Math.round((slowClosedAt * body.length) / 1e6)} MB)`);
    // Resume so the client reads what the server had buffered, then the close frame.
    slow.ws.resume();
    const closed = await slow.waitClosed(15_000);
    t.same(closed, { code: 4008, reason: `backpressure: more than ${MAX_BUFFERED} bytes unsent (websocket-max-buffered)` });
    t.ok(slow.ofType('message').length < sent, `the paused socket got ${slow.ofType('message').length} of ${sent}`);
    const seq = (list: string[]): boolean => list.length === sent && list.every((m, i) => m.startsWith(`${i}:`));
    t.ok(seq(fast.ofType('message').map((f) => String(f['message']))), `the WebSocket reader got all ${sent} in order`);
    t.ok(seq(respGot), `the RESP reader got all ${sent} in order`);
    t.equal(fast.closed, null, 'the reader is still connected');
  });

  t.test('single-process mode: the proxy process serves WebSocket with its own ACL store', async (t) => {
    const single = await startShoal({ proxyProcesses: 1, env: { SHOAL_WEBSOCKET_IDLE_TIMEOUT: '8' } });
    t.teardown(() => single.stop());
    const r = new Redis({ host: '127.0.0.1', port: single.port, maxRetriesPerRequest: 1, retryStrategy: () => null });
    const sub = new Redis({ host: '127.0.0.1', port: single.port, maxRetriesPerRequest: 1, retryStrategy: () => null });
    t.teardown(() => {
      r.disconnect();
      sub.disconnect();
    });
    // A user created a moment ago is known at once: the store is the ProxyServer's.
    await r.call('ACL', 'SETUSER', 'carol', 'on', '>c', '~*', '+@all', 'resetchannels', '&room');
    const c = await WsClient.open(`ws://127.0.0.1:${single.httpPort}/pubsub?user=carol&password=c`);
    t.teardown(() => c.close());
    t.same(await c.next(), { type: 'hello', user: 'carol', authenticated: true, format: 'json' });
    c.send({ op: 'subscribe', channels: ['room'] });
    t.same(await c.next(), { type: 'subscribe', channel: 'room', count: 1 });
    const fromWs: string[] = [];
    sub.on('message', (_ch: string, m: string) => fromWs.push(m));
    await sub.subscribe('room');
    t.equal(await r.publish('room', 'from resp'), 2);
    t.same(await c.next(), { type: 'message', channel: 'room', message: 'from resp' });
    c.send({ op: 'publish', channel: 'room', message: 'from ws' });
    t.same(await c.seen((f) => f['type'] === 'publish'), { type: 'publish', channel: 'room', receivers: 2 });
    const deadline = Date.now() + 5000;
    while (fromWs.length < 2 && Date.now() < deadline) await sleep(10);
    t.same(fromWs, ['from resp', 'from ws']);
    c.send({ op: 'publish', channel: 'lobby', message: 'x' });
    t.same(await c.next((f) => f['type'] === 'error'), { type: 'error', op: 'publish', error: 'NOPERM this user has no permissions to access one of the channels used as arguments' });

    // Keep-alive: with websocket-idle-timeout 8 the server pings a quiet socket, the
    // client's automatic pong keeps it open past the timeout.
    const pinged = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 12_000);
      c.ws.once('ping', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    t.ok(pinged, 'the server pinged the idle socket');
    await sleep(2000);
    t.equal(c.closed, null, 'still open after the idle timeout');
    c.send({ op: 'ping' });
    t.same(await c.next((f) => f['type'] === 'pong'), { type: 'pong' });
  });

  t.test('NOAUTH until the first message authenticates when default needs a password', async (t) => {
    t.equal(await admin.call('ACL', 'SETUSER', 'default', 'resetpass', '>defpw'), 'OK');
    t.teardown(async () => {
      await admin.call('AUTH', 'defpw');
      await admin.call('ACL', 'SETUSER', 'default', 'nopass');
    });
    await sleep(200);
    const c = await ws();
    t.same(c.frames[0], { type: 'hello', user: null, authenticated: false, format: 'json' });
    c.send({ op: 'subscribe', channels: ['x'] });
    t.same(await c.next(), { type: 'error', op: 'subscribe', error: 'NOAUTH Authentication required.' });
    c.send({ op: 'auth', token: 'defpw' });
    t.same(await c.next(), { type: 'auth', user: 'default' });
    const bearer = await ws('', { authorization: 'Bearer defpw' });
    t.equal(bearer.frames[0]!['user'], 'default');
    await t.rejects(WsClient.open(base + '?token=wrong'), /HTTP 401/);
  });
}
