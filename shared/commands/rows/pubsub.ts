/**
 * Command table rows: pub/sub. Handlers: shard/commands/pubsub.ts (worker, direct
 * clients and the proxy hub's links) and proxy/pubsub/commands.ts (proxy clients).
 * Channels are not keys: the rows name no keys (ACL checks them as channels,
 * proxy/acl/acl-check.ts); SSUBSCRIBE / SPUBLISH check their slots themselves.
 */
import { CMD_NOSCRIPT as NS, CMD_LOADING as L, CMD_STALE as S, CMD_FAST as F, type CommandSpec } from '../spec.js';
import { row, NOKEYS } from '../row.js';

export const PUBSUB_ROWS: readonly CommandSpec[] = [
  row('subscribe', -2, NS | L | S, NOKEYS, 'pubsub', 'pubsub', 'pubsub slow', '2.0.0', 'Listens for messages published to channels.'),
  row('unsubscribe', -1, NS | L | S, NOKEYS, 'pubsub', 'pubsub', 'pubsub slow', '2.0.0', 'Stops listening to messages posted to channels.'),
  row('psubscribe', -2, NS | L | S, NOKEYS, 'pubsub', 'pubsub', 'pubsub slow', '2.0.0', 'Listens for messages published to channels that match one or more patterns.'),
  row('punsubscribe', -1, NS | L | S, NOKEYS, 'pubsub', 'pubsub', 'pubsub slow', '2.0.0', 'Stops listening to messages published to channels that match one or more patterns.'),
  row('publish', 3, L | S | F, NOKEYS, 'pubsub', 'pubsub', 'pubsub fast', '2.0.0', 'Posts a message to a channel.'),
  row('ssubscribe', -2, NS | L | S, NOKEYS, 'pubsub', 'pubsub', 'pubsub slow', '7.0.0', 'Listens for messages published to shard channels.'),
  row('sunsubscribe', -1, NS | L | S, NOKEYS, 'pubsub', 'pubsub', 'pubsub slow', '7.0.0', 'Stops listening to messages posted to shard channels.'),
  row('spublish', 3, L | S | F, NOKEYS, 'pubsub', 'pubsub', 'pubsub fast', '7.0.0', 'Post a message to a shard channel'),
  row('pubsub', -2, 0, NOKEYS, 'pubsub', 'pubsub', 'slow', '2.8.0', 'A container for Pub/Sub commands.',
    ['channels', 'numpat', 'numsub', 'shardchannels', 'shardnumsub', 'help']),
];

/** The proxy hub's link protocol (proxy/pubsub/upstream.ts): accepted only on pub/sub links. */
export const PUBSUB_INTERNAL_ROWS: readonly CommandSpec[] = [
  row('shoal.pssub', 4, F, NOKEYS, 'pubsub', 'pubsub', 'pubsub', '0.1.0', 'Internal: set a proxy process\'s receiver count for a channel (c), pattern (p) or shard channel (s); 0 drops it.'),
];
