/**
 * Pub/sub for the proxy's RESP clients: (P|S)(UN)SUBSCRIBE, PUBLISH, SPUBLISH and
 * PUBSUB, through this process's PubSubHub (./hub.ts). A client's subscriptions live
 * in its ClientPubSub; messages reach it as RESP2 arrays or RESP3 pushes, queued
 * behind replies still owed to it (so an acknowledgement always precedes the
 * channel's messages). RESP2 clients with subscriptions are in subscriber mode
 * (pubsubModeGate). Design and Redis deviations: docs/pubsub.md.
 */
import type { ProxyServer } from '../proxy-server.js';
import type { ProxyClient, ReplySlot } from '../client-connection.js';
import type { CommandSpec } from '../../shared/commands/spec.js';
import type { PubSubSubscriber } from './hub.js';
import { kPubSub } from '../../shared/connection/client-state.js';
import { keySlot } from '../../shared/cluster/slot.js';
import { WireErrors } from '../../shared/resp/wire-errors.js';
import { ReplyWriter } from '../../shared/resp/reply-writer.js';
import { setOutputBufferClass } from '../client-limits.js';
import { writeSubscriptionAck, writeSubscriberPong, subscriberModeError, commandFullname, SUBSCRIBER_MODE_COMMANDS, PUBSUB_HELP, pubsubSubcommand } from '../../shared/pubsub/replies.js';
import type { LinkValue } from './upstream.js';

const CRLF = Buffer.from('\r\n');
const KIND_BYTES = { message: Buffer.from('message'), pmessage: Buffer.from('pmessage'), smessage: Buffer.from('smessage') };

/** One RESP client's subscriptions; the hub's subscriber for it. */
export class ClientPubSub implements PubSubSubscriber {
  readonly channels = new Map<string, Buffer>();
  readonly patterns = new Map<string, Buffer>();
  readonly shard = new Map<string, Buffer>();
  /** The reply slot of this client's PUBLISH in flight (its own messages go before it). */
  publishSlot: ReplySlot | null = null;
  constructor(readonly client: ProxyClient) {}

  get count(): number {
    return this.channels.size + this.patterns.size;
  }

  deliver(kind: 'message' | 'pmessage' | 'smessage', channel: Buffer, message: Buffer, pattern: Buffer | null): void {
    this.client.push(encodeFor(this.client.state.proto, kind, channel, message, pattern), this.publishSlot);
  }
}

/**
 * The hub hands the same message Buffers to every local subscriber in turn: the bytes
 * are built once per protocol and reused (identity of the message and channel).
 */
const lastEncoded: Array<{ message: Buffer | null; channel: Buffer | null; pattern: Buffer | null; bytes: Buffer }> = [
  { message: null, channel: null, pattern: null, bytes: Buffer.alloc(0) },
  { message: null, channel: null, pattern: null, bytes: Buffer.alloc(0) },
];

function encodeFor(proto: 2 | 3, kind: 'message' | 'pmessage' | 'smessage', channel: Buffer, message: Buffer, pattern: Buffer | null): Buffer {
  const cache = lastEncoded[proto - 2]!;
  if (cache.message === message && cache.channel === channel && cache.pattern === pattern) return cache.bytes;
  const n = pattern === null ? 3 : 4;
  const parts: Buffer[] = [Buffer.from(`${proto === 3 ? '>' : '*'}${n}\r\n`)];
  const bulk = (b: Buffer): void => {
    parts.push(Buffer.from(`$${b.length}\r\n`), b, CRLF);
  };
  bulk(KIND_BYTES[kind]);
  if (pattern !== null) bulk(pattern);
  bulk(channel);
  bulk(message);
  cache.message = message;
  cache.channel = channel;
  cache.pattern = pattern;
  cache.bytes = Buffer.concat(parts);
  return cache.bytes;
}

function stateOf(client: ProxyClient): ClientPubSub {
  return (client.pubsub ??= new ClientPubSub(client));
}

/** After (un)subscribing: subscriber mode and the output-buffer class follow whether any subscription is left. */
function updateMode(client: ProxyClient, ps: ClientPubSub): void {
  const active = ps.count + ps.shard.size > 0;
  if (active === ((client.state.flags & kPubSub) !== 0)) return;
  if (active) client.state.flags |= kPubSub;
  else client.state.flags &= ~kPubSub;
  setOutputBufferClass(client, active ? 'pubsub' : 'normal');
}

/** Every subscription of a client goes (connection closed, RESET). */
export function dropClientPubSub(server: ProxyServer, client: ProxyClient): void {
  const ps = client.pubsub;
  if (ps === null) return;
  server.hub.dropSubscriber(ps);
  ps.channels.clear();
  ps.patterns.clear();
  ps.shard.clear();
  updateMode(client, ps);
}

/**
 * For a client with subscriptions (kPubSub): RESET drops them; in RESP2 only
 * (P|S)(UN)SUBSCRIBE, PING (the `pong` array), QUIT and RESET may run. False after replying.
 */
export function pubsubModeGate(server: ProxyServer, client: ProxyClient, spec: CommandSpec, argv: Buffer[]): boolean {
  if (spec.name === 'reset') {
    dropClientPubSub(server, client);
    return true;
  }
  if (client.state.proto !== 2 || SUBSCRIBER_MODE_COMMANDS.has(spec.name) && spec.name !== 'ping') return true;
  const w = server.writerFor(client);
  if (spec.name === 'ping') writeSubscriberPong(w, argv[1]);
  else w.error(subscriberModeError(commandFullname(spec.name, spec.subcommands, argv)));
  client.replyLocal(w.take());
  return false;
}

type Kind = 'c' | 'p' | 's';

function setFor(ps: ClientPubSub, kind: Kind): Map<string, Buffer> {
  return kind === 'c' ? ps.channels : kind === 'p' ? ps.patterns : ps.shard;
}

function subscribe(server: ProxyServer, client: ProxyClient, kind: Kind, ack: string, argv: Buffer[]): void {
  if (kind === 's' && !oneSlotOrReply(server, client, argv)) return;
  const ps = stateOf(client);
  const set = setFor(ps, kind);
  const hub = server.hub;
  const w = new ReplyWriter();
  w.proto = client.state.proto;
  const waits: Promise<void>[] = [];
  for (let i = 1; i < argv.length; i++) {
    const name = argv[i]!;
    const key = name.toString('latin1');
    if (!set.has(key)) {
      const copy = Buffer.from(name);
      set.set(key, copy);
      waits.push(kind === 'c' ? hub.subscribe(ps, copy) : kind === 'p' ? hub.psubscribe(ps, copy) : hub.ssubscribe(ps, copy));
    }
    writeSubscriptionAck(w, ack, name, kind === 's' ? ps.shard.size : ps.count);
  }
  updateMode(client, ps);
  const bytes = w.take();
  if (waits.length === 0) return client.replyLocal(bytes);
  // The acknowledgement leaves once the workers have the subscription: a message
  // published after the client saw it is then delivered.
  const slot = client.slot();
  void Promise.all(waits).then(() => slot.deliver(bytes, 0, bytes.length));
}

function unsubscribe(server: ProxyServer, client: ProxyClient, kind: Kind, ack: string, argv: Buffer[]): void {
  if (kind === 's' && argv.length > 1 && !oneSlotOrReply(server, client, argv)) return;
  const ps = stateOf(client);
  const set = setFor(ps, kind);
  const hub = server.hub;
  const w = server.writerFor(client);
  const names = argv.length > 1 ? argv.slice(1) : [...set.values()];
  const countOf = (): number => (kind === 's' ? ps.shard.size : ps.count);
  if (names.length === 0) writeSubscriptionAck(w, ack, null, countOf());
  for (const name of names) {
    if (set.delete(name.toString('latin1'))) {
      if (kind === 'c') hub.unsubscribe(ps, name);
      else if (kind === 'p') hub.punsubscribe(ps, name);
      else hub.sunsubscribe(ps, name);
    }
    writeSubscriptionAck(w, ack, name, countOf());
  }
  updateMode(client, ps);
  client.replyLocal(w.take());
}

/** Shard channels of one command must share a slot, as in Redis Cluster. */
function oneSlotOrReply(server: ProxyServer, client: ProxyClient, argv: Buffer[]): boolean {
  const slot = keySlot(argv[1]!);
  for (let i = 2; i < argv.length; i++) {
    if (keySlot(argv[i]!) !== slot) {
      server.replyError(client, WireErrors.crossSlot);
      return false;
    }
  }
  return true;
}

const SMALL_INTEGERS = Array.from({ length: 64 }, (_, i) => Buffer.from(`:${i}\r\n`));

function integerReply(n: number): Buffer {
  return SMALL_INTEGERS[n] ?? Buffer.from(`:${n}\r\n`);
}

function errorText(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m.startsWith('CLUSTERDOWN') || m.startsWith('ERR') ? m : `ERR ${m}`;
}

/** Replies `make(value)` into a new slot once `p` settles (errors as Redis-style errors). */
function replyLater<T>(client: ProxyClient, p: Promise<T>, make: (v: T, w: ReplyWriter) => void): ReplySlot {
  const slot = client.slot();
  const proto = client.state.proto;
  p.then((v) => {
    const w = new ReplyWriter();
    w.proto = proto;
    make(v, w);
    const b = w.take();
    slot.deliver(b, 0, b.length);
  }, (err: unknown) => {
    const b = Buffer.from(`-${errorText(err)}\r\n`);
    slot.deliver(b, 0, b.length);
  });
  return slot;
}

function asNames(v: LinkValue): Buffer[] {
  return Array.isArray(v) ? v.filter((x): x is Buffer => Buffer.isBuffer(x)) : [];
}

function pubsubContainer(server: ProxyServer, client: ProxyClient, argv: Buffer[]): void {
  const parsed = pubsubSubcommand(argv);
  if ('error' in parsed) return server.replyError(client, parsed.error);
  const hub = server.hub;
  switch (parsed.sub) {
    case 'help': {
      const w = server.writerFor(client);
      w.arrayHeader(PUBSUB_HELP.length);
      for (const l of PUBSUB_HELP) w.simple(l);
      return client.replyLocal(w.take());
    }
    case 'channels':
    case 'shardchannels':
      // Keyspace channels live on every worker: names are deduplicated.
      return void replyLater(client, hub.queryAll(argv), (all, w) => {
        const seen = new Map<string, Buffer>();
        for (const v of all) for (const b of asNames(v)) seen.set(b.toString('latin1'), b);
        w.bulkArray([...seen.values()]);
      });
    case 'numpat':
      // Patterns are registered on every worker: any one knows them all.
      return void replyLater(client, hub.queryAll(argv).then((all) => all[0]), (v, w) => w.integer(typeof v === 'number' ? v : 0));
    case 'numsub':
    case 'shardnumsub': {
      const channels = argv.slice(2);
      const counts = Promise.all(channels.map((ch) => hub.queryOwner(ch, [argv[0]!, argv[1]!, ch])));
      return void replyLater(client, counts, (all, w) => {
        w.arrayHeader(channels.length * 2);
        channels.forEach((ch, i) => {
          const v = all[i];
          w.bulk(ch);
          w.integer(Array.isArray(v) && typeof v[1] === 'number' ? v[1] : 0);
        });
      });
    }
  }
}

/**
 * PUBLISH / SPUBLISH: to the channel's owner; the reply is the cluster-wide receiver
 * count. A subscribed client may publish to itself: its next commands (an
 * UNSUBSCRIBE) wait until the reply, and its own message goes before the reply, as
 * Redis delivers it.
 */
function publish(server: ProxyServer, client: ProxyClient, shard: boolean, argv: Buffer[]): void {
  const slot = client.slot();
  const ps = client.state.flags & kPubSub ? client.pubsub : null;
  if (ps !== null) {
    ps.publishSlot = slot;
    client.hold(() => {});
  }
  server.hub.send(shard, argv[1]!, argv[2]!, (v, err) => {
    const b = err !== null ? Buffer.from(`-${errorText(err)}\r\n`) : v instanceof Error ? Buffer.from(`-${v.message}\r\n`) : integerReply(typeof v === 'number' ? v : 0);
    slot.deliver(b, 0, b.length);
    if (ps !== null) {
      ps.publishSlot = null;
      client.release();
    }
  });
}

/** Entry point from ProxyServer.dispatch for route `pubsub`. */
export function pubsubCommand(server: ProxyServer, client: ProxyClient, spec: CommandSpec, argv: Buffer[]): void {
  switch (spec.name) {
    case 'subscribe': return subscribe(server, client, 'c', 'subscribe', argv);
    case 'psubscribe': return subscribe(server, client, 'p', 'psubscribe', argv);
    case 'ssubscribe': return subscribe(server, client, 's', 'ssubscribe', argv);
    case 'unsubscribe': return unsubscribe(server, client, 'c', 'unsubscribe', argv);
    case 'punsubscribe': return unsubscribe(server, client, 'p', 'punsubscribe', argv);
    case 'sunsubscribe': return unsubscribe(server, client, 's', 'sunsubscribe', argv);
    case 'publish':
    case 'spublish':
      return publish(server, client, spec.name === 'spublish', argv);
    case 'pubsub':
      return pubsubContainer(server, client, argv);
  }
  server.replyError(client, WireErrors.unknownCommand(argv[0]!.toString(), argv.slice(1)));
}
