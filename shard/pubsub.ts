/**
 * PubSubRegistry: one worker's subscriptions and message delivery. A subscriber is
 * either a direct client (weight 1 per subscription) or a proxy hub link (weight =
 * the receivers that proxy process has, set by SHOAL.PSSUB), so PUBLISH returns the
 * cluster-wide receiver count (docs/pubsub.md). Messages are written to each
 * subscriber's connection as they are published, in publish order.
 */
import { globMatch } from '../shared/glob.js';
import type { ClientState } from '../shared/connection/client-state.js';

export interface WorkerSubscriber {
  readonly client: ClientState;
  /** Queues bytes (a push message) on the subscriber's connection, after what is already queued. */
  push(bytes: Buffer): void;
}

/** c: channel, p: pattern, s: shard channel. */
export type SubKind = 'c' | 'p' | 's';

interface Topic {
  name: Buffer;
  subs: Map<WorkerSubscriber, number>;
}

export interface SubscriberSets {
  c: Map<string, Buffer>;
  p: Map<string, Buffer>;
  s: Map<string, Buffer>;
}

const MESSAGE = Buffer.from('message');
const PMESSAGE = Buffer.from('pmessage');
const SMESSAGE = Buffer.from('smessage');

function header(out: Buffer[], proto: 2 | 3, n: number): void {
  out.push(Buffer.from(`${proto === 3 ? '>' : '*'}${n}\r\n`));
}

function bulk(out: Buffer[], b: Buffer): void {
  out.push(Buffer.from(`$${b.length}\r\n`), b, CRLF);
}

const CRLF = Buffer.from('\r\n');

/** One push message as RESP2 (`*`) or RESP3 (`>`) bytes. */
export function encodeMessage(proto: 2 | 3, parts: Buffer[]): Buffer {
  const out: Buffer[] = [];
  header(out, proto, parts.length);
  for (const p of parts) bulk(out, p);
  return Buffer.concat(out);
}

export class PubSubRegistry {
  readonly #topics: Record<SubKind, Map<string, Topic>> = { c: new Map(), p: new Map(), s: new Map() };
  readonly #bySub = new Map<WorkerSubscriber, SubscriberSets>();
  /** Messages delivered (INFO-style counter). */
  published = 0;

  /** The subscriber's sets (empty when it has none). */
  setsOf(sub: WorkerSubscriber): SubscriberSets | undefined {
    return this.#bySub.get(sub);
  }

  /** Redis's subscription count for (UN)SUBSCRIBE / (P)(UN)SUBSCRIBE replies: channels + patterns. */
  count(sub: WorkerSubscriber): number {
    const s = this.#bySub.get(sub);
    return s === undefined ? 0 : s.c.size + s.p.size;
  }

  shardCount(sub: WorkerSubscriber): number {
    return this.#bySub.get(sub)?.s.size ?? 0;
  }

  /** Sets the subscriber's weight on a topic (0 removes it). Returns true if the subscription is new. */
  set(kind: SubKind, sub: WorkerSubscriber, name: Buffer, weight: number): boolean {
    const key = name.toString('latin1');
    const topics = this.#topics[kind];
    let sets = this.#bySub.get(sub);
    if (weight <= 0) {
      const t = topics.get(key);
      if (t === undefined || !t.subs.delete(sub)) return false;
      if (t.subs.size === 0) topics.delete(key);
      if (sets !== undefined) {
        sets[kind].delete(key);
        if (sets.c.size + sets.p.size + sets.s.size === 0) this.#bySub.delete(sub);
      }
      return true;
    }
    let t = topics.get(key);
    if (t === undefined) topics.set(key, (t = { name: Buffer.from(name), subs: new Map() }));
    const fresh = !t.subs.has(sub);
    t.subs.set(sub, weight);
    if (sets === undefined) this.#bySub.set(sub, (sets = { c: new Map(), p: new Map(), s: new Map() }));
    sets[kind].set(key, t.name);
    return fresh;
  }

  /** Drops every subscription of a subscriber (its connection closed). */
  drop(sub: WorkerSubscriber): void {
    const sets = this.#bySub.get(sub);
    if (sets === undefined) return;
    for (const kind of ['c', 'p', 's'] as const) {
      for (const [key, name] of sets[kind]) {
        void key;
        this.set(kind, sub, name, 0);
      }
    }
    this.#bySub.delete(sub);
  }

  /** PUBLISH: channel subscribers, then pattern subscribers; returns the receivers (weights summed). */
  publish(channel: Buffer, message: Buffer): number {
    let receivers = 0;
    const t = this.#topics.c.get(channel.toString('latin1'));
    if (t !== undefined) receivers += this.deliver(t, [MESSAGE, channel, message]);
    if (this.#topics.p.size > 0) {
      for (const pt of this.#topics.p.values()) {
        if (globMatch(pt.name, 0, pt.name.length, channel, 0, channel.length)) receivers += this.deliver(pt, [PMESSAGE, pt.name, channel, message]);
      }
    }
    return receivers;
  }

  /** SPUBLISH: shard channel subscribers only. */
  spublish(channel: Buffer, message: Buffer): number {
    const t = this.#topics.s.get(channel.toString('latin1'));
    return t === undefined ? 0 : this.deliver(t, [SMESSAGE, channel, message]);
  }

  /** True when anyone listens on this worker (keyspace notifications skip the work otherwise). */
  get hasSubscribers(): boolean {
    return this.#topics.c.size > 0 || this.#topics.p.size > 0;
  }

  private deliver(t: Topic, parts: Buffer[]): number {
    let n = 0;
    let resp2: Buffer | null = null;
    let resp3: Buffer | null = null;
    for (const [sub, w] of t.subs) {
      n += w;
      if (sub.client.proto === 3) sub.push((resp3 ??= encodeMessage(3, parts)));
      else sub.push((resp2 ??= encodeMessage(2, parts)));
    }
    this.published++;
    return n;
  }

  /** PUBSUB CHANNELS / SHARDCHANNELS: active names, matching `pattern` when given. */
  names(kind: 'c' | 's', pattern: Buffer | null): Buffer[] {
    const out: Buffer[] = [];
    for (const t of this.#topics[kind].values()) {
      if (pattern === null || globMatch(pattern, 0, pattern.length, t.name, 0, t.name.length)) out.push(t.name);
    }
    return out;
  }

  /** PUBSUB NUMSUB / SHARDNUMSUB of one channel: receivers (weights summed). */
  receivers(kind: 'c' | 's', channel: Buffer): number {
    const t = this.#topics[kind].get(channel.toString('latin1'));
    if (t === undefined) return 0;
    let n = 0;
    for (const w of t.subs.values()) n += w;
    return n;
  }

  /** PUBSUB NUMPAT: distinct patterns subscribed. */
  get patternCount(): number {
    return this.#topics.p.size;
  }
}
