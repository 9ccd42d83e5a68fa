/**
 * Pub/sub commands on a worker: direct clients get Redis 7 semantics on this worker
 * (messages published here reach subscribers here); the proxy hub's pub/sub links
 * (first byte PUBSUB_LINK_MAGIC) also use SHOAL.PSSUB to set their receiver counts.
 * Registry and delivery: shard/pubsub.ts; design: docs/pubsub.md.
 */
import type { CommandContext, HandlerTable } from './context.js';
import type { WorkerSubscriber, SubKind } from '../pubsub.js';
import { kPubSub, type ClientState } from '../../shared/connection/client-state.js';
import { keySlot } from '../../shared/cluster/slot.js';
import { WireErrors } from '../../shared/resp/wire-errors.js';
import { writeSubscriptionAck, writeSubscriberPong, subscriberModeError, commandFullname, SUBSCRIBER_MODE_COMMANDS, PUBSUB_HELP, pubsubSubcommand } from '../../shared/pubsub/replies.js';
import type { CommandSpec } from '../../shared/commands/spec.js';

/** Each connection's subscriber handle, registered by its session (shard/worker/session.ts). */
const SUBSCRIBERS = new WeakMap<ClientState, WorkerSubscriber>();
/** Connections that opened as a proxy hub's pub/sub link. */
const HUB_LINKS = new WeakSet<ClientState>();

export function registerSubscriber(client: ClientState, push: (bytes: Buffer) => void): WorkerSubscriber {
  const sub: WorkerSubscriber = { client, push };
  SUBSCRIBERS.set(client, sub);
  return sub;
}

/** The connection is a proxy hub's link: internal pub/sub commands allowed, RESP3 pushes. */
export function markHubLink(client: ClientState): void {
  HUB_LINKS.add(client);
  client.proto = 3;
}

export function isHubLink(client: ClientState): boolean {
  return HUB_LINKS.has(client);
}

/**
 * For a client with subscriptions (kPubSub). RESP2 subscriber mode: true when the command may run; else
 * it replied (the `pong` array for PING, Redis's error for anything not allowed).
 */
export function subscriberModeGate(ctx: CommandContext, spec: CommandSpec, argv: Buffer[]): boolean {
  if (spec.name === 'reset') {
    // RESET leaves subscriber mode: the subscriptions go too.
    ctx.server.pubsub.drop(subscriberOf(ctx));
    return true;
  }
  if (ctx.client.proto !== 2 || HUB_LINKS.has(ctx.client)) return true;
  if (spec.name === 'ping') {
    writeSubscriberPong(ctx.out, argv[1]);
    return false;
  }
  if (SUBSCRIBER_MODE_COMMANDS.has(spec.name)) return true;
  ctx.out.error(subscriberModeError(commandFullname(spec.name, spec.subcommands, argv)));
  return false;
}

function subscriberOf(ctx: CommandContext): WorkerSubscriber {
  let s = SUBSCRIBERS.get(ctx.client);
  if (s === undefined) s = registerSubscriber(ctx.client, () => {}); // not a session (never on the wire)
  return s;
}

function updateMode(ctx: CommandContext, sub: WorkerSubscriber): void {
  const reg = ctx.server.pubsub;
  if (reg.count(sub) + reg.shardCount(sub) > 0) ctx.client.flags |= kPubSub;
  else ctx.client.flags &= ~kPubSub;
}

function subscribeKind(kind: SubKind, ack: string) {
  return (ctx: CommandContext, argv: Buffer[]): void => {
    const reg = ctx.server.pubsub;
    const sub = subscriberOf(ctx);
    if (kind === 's' && !shardChannelsOwned(ctx, argv)) return;
    for (let i = 1; i < argv.length; i++) {
      reg.set(kind, sub, argv[i]!, 1);
      writeSubscriptionAck(ctx.out, ack, argv[i]!, kind === 's' ? reg.shardCount(sub) : reg.count(sub));
    }
    updateMode(ctx, sub);
  };
}

function unsubscribeKind(kind: SubKind, ack: string) {
  return (ctx: CommandContext, argv: Buffer[]): void => {
    const reg = ctx.server.pubsub;
    const sub = subscriberOf(ctx);
    const names = argv.length > 1 ? argv.slice(1) : [...(reg.setsOf(sub)?.[kind].values() ?? [])];
    const countOf = (): number => (kind === 's' ? reg.shardCount(sub) : reg.count(sub));
    if (names.length === 0) writeSubscriptionAck(ctx.out, ack, null, countOf());
    for (const name of names) {
      reg.set(kind, sub, name, 0);
      writeSubscriptionAck(ctx.out, ack, name, countOf());
    }
    updateMode(ctx, sub);
  };
}

/** SSUBSCRIBE on a direct client: one slot (CROSSSLOT), owned here (MOVED), as Redis Cluster. */
function shardChannelsOwned(ctx: CommandContext, argv: Buffer[]): boolean {
  if (HUB_LINKS.has(ctx.client)) return true;
  const slot = keySlot(argv[1]!);
  for (let i = 2; i < argv.length; i++) {
    if (keySlot(argv[i]!) !== slot) {
      ctx.out.error(WireErrors.crossSlot);
      return false;
    }
  }
  return ctx.server.ownsKeyOrReply(ctx, argv[1]!);
}

function pubsub(ctx: CommandContext, argv: Buffer[]): void {
  const out = ctx.out;
  const reg = ctx.server.pubsub;
  const parsed = pubsubSubcommand(argv);
  if ('error' in parsed) return out.error(parsed.error);
  switch (parsed.sub) {
    case 'help':
      out.arrayHeader(PUBSUB_HELP.length);
      for (const l of PUBSUB_HELP) out.simple(l);
      return;
    case 'channels':
    case 'shardchannels': {
      const names = reg.names(parsed.sub === 'channels' ? 'c' : 's', argv[2] ?? null);
      return out.bulkArray(names);
    }
    case 'numpat':
      return out.integer(reg.patternCount);
    case 'numsub':
    case 'shardnumsub':
      out.arrayHeader((argv.length - 2) * 2);
      for (let i = 2; i < argv.length; i++) {
        out.bulk(argv[i]!);
        out.integer(reg.receivers(parsed.sub === 'numsub' ? 'c' : 's', argv[i]!));
      }
  }
}

export const pubsubCommands: HandlerTable = {
  subscribe: subscribeKind('c', 'subscribe'),
  unsubscribe: unsubscribeKind('c', 'unsubscribe'),
  psubscribe: subscribeKind('p', 'psubscribe'),
  punsubscribe: unsubscribeKind('p', 'punsubscribe'),
  ssubscribe: subscribeKind('s', 'ssubscribe'),
  sunsubscribe: unsubscribeKind('s', 'sunsubscribe'),
  publish: (ctx, argv) => ctx.out.integer(ctx.server.pubsub.publish(argv[1]!, argv[2]!)),
  spublish: (ctx, argv) => {
    if (!HUB_LINKS.has(ctx.client) && !ctx.server.ownsKeyOrReply(ctx, argv[1]!)) return;
    ctx.out.integer(ctx.server.pubsub.spublish(argv[1]!, argv[2]!));
  },
  pubsub,
  // SHOAL.PSSUB c|p|s name receivers — a proxy process's receivers for one subscription.
  'shoal.pssub': (ctx, argv) => {
    const kind = argv[1]!.toString('latin1');
    const n = Number(argv[3]!.toString('latin1'));
    if ((kind !== 'c' && kind !== 'p' && kind !== 's') || !Number.isSafeInteger(n) || n < 0) return ctx.out.error('ERR syntax error');
    ctx.server.pubsub.set(kind, subscriberOf(ctx), argv[2]!, n);
    ctx.out.ok();
  },
};
