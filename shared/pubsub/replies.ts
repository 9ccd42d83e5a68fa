/**
 * Pub/sub reply shapes shared by the worker (direct clients) and the proxy: the
 * (un)subscribe acknowledgements (`*3` in RESP2, a `>3` push in RESP3), the RESP2
 * subscriber-mode PING reply and error, and PUBSUB HELP. All as Redis 7.0.
 */
import type { ReplyWriter } from '../resp/reply-writer.js';

/**
 * First byte of a proxy hub's pub/sub link to a worker (proxy/pubsub/upstream.ts); a
 * framed proxy link starts with 0xf7, a RESP client with `*` or a letter.
 */
export const PUBSUB_LINK_MAGIC = 0xfe;

const PUSH3 = Buffer.from('>3\r\n');
const PONG = Buffer.from('pong');

/** `kind` (subscribe, unsubscribe, psubscribe ...), the channel or pattern (null: none left), the count after it. */
export function writeSubscriptionAck(w: ReplyWriter, kind: string, name: Buffer | null, count: number): void {
  if (w.proto === 3) w.raw(PUSH3);
  else w.arrayHeader(3);
  w.bulk(kind);
  if (name === null) w.nil();
  else w.bulk(name);
  w.integer(count);
}

/** PING in RESP2 subscriber mode: `*2 $4 pong $n <arg>`. */
export function writeSubscriberPong(w: ReplyWriter, arg: Buffer | undefined): void {
  w.arrayHeader(2);
  w.bulk(PONG);
  w.bulk(arg ?? '');
}

/** Commands allowed in RESP2 subscriber mode (besides these, Redis replies subscriberModeError). */
export const SUBSCRIBER_MODE_COMMANDS = new Set(['subscribe', 'unsubscribe', 'psubscribe', 'punsubscribe', 'ssubscribe', 'sunsubscribe', 'ping', 'quit', 'reset']);

/** `fullname` as Redis's: `get`, `pubsub|numsub` (container commands with a known subcommand). */
export function subscriberModeError(fullname: string): string {
  return `ERR Can't execute '${fullname}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`;
}

/** Redis's full command name: container commands with a listed subcommand get `name|sub`. */
export function commandFullname(name: string, subcommands: readonly string[] | undefined, argv: Buffer[]): string {
  if (subcommands !== undefined && argv.length > 1) {
    const sub = argv[1]!.toString('latin1').toLowerCase();
    if (subcommands.includes(sub)) return `${name}|${sub}`;
  }
  return name;
}

export const PUBSUB_HELP = [
  'PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CHANNELS [<pattern>]',
  "    Return the currently active channels matching a <pattern> (default: '*').",
  'NUMPAT',
  '    Return number of subscriptions to patterns.',
  'NUMSUB [<channel> ...]',
  '    Return the number of subscribers for the specified channels, excluding',
  '    pattern subscriptions(default: no channels).',
  'SHARDCHANNELS [<pattern>]',
  "    Return the currently active shard level channels matching a <pattern> (default: '*').",
  'SHARDNUMSUB [<shardchannel> ...]',
  '    Return the number of subscribers for the specified shard level channel(s)',
  'HELP',
  '    Prints this help.',
];

/** Which PUBSUB subcommand argv names, or an error text (Redis's) when it is unknown or has the wrong arity. */
export function pubsubSubcommand(argv: Buffer[]): { sub: 'channels' | 'numpat' | 'numsub' | 'shardchannels' | 'shardnumsub' | 'help' } | { error: string } {
  const raw = argv[1]!.toString();
  const sub = raw.toLowerCase();
  const n = argv.length;
  switch (sub) {
    case 'help':
      if (n === 2) return { sub };
      return { error: `ERR wrong number of arguments for 'pubsub|help' command` };
    case 'channels': case 'shardchannels':
      if (n === 2 || n === 3) return { sub };
      return { error: `ERR unknown subcommand or wrong number of arguments for '${raw}'. Try PUBSUB HELP.` };
    case 'numpat':
      if (n === 2) return { sub };
      return { error: `ERR wrong number of arguments for 'pubsub|numpat' command` };
    case 'numsub': case 'shardnumsub':
      return { sub };
  }
  return { error: `ERR unknown subcommand '${raw.slice(0, 128)}'. Try PUBSUB HELP.` };
}
