/**
 * Fan-out: commands whose keys span workers (MGET MSET DEL EXISTS TOUCH UNLINK) are
 * split into one sub-command per worker, and commands about the whole keyspace
 * (KEYS DBSIZE FLUSHALL FLUSHDB, CONFIG SET) go to every worker. A Join collects the
 * sub-replies and writes one reply in the client's order and protocol.
 */
import type { CommandSpec } from '../shared/commands/spec.js';
import { ReplyWriter } from '../shared/resp/reply-writer.js';
import type { ProxyServer } from './proxy-server.js';
import type { ProxyClient, ReplySlot } from './client-connection.js';
import type { Sink, WorkerLink } from './upstream/link.js';
import { parseReply, isError, type ReplyValue } from './reply-value.js';

type Combine = (parts: ReplyValue[], out: ReplyWriter) => void;

/** Collects n sub-replies, then writes the combined reply into the client's slot. */
export class Join {
  readonly #parts: ReplyValue[];
  #left: number;
  constructor(n: number, readonly slot: ReplySlot, readonly proto: 2 | 3, readonly combine: Combine) {
    this.#parts = new Array<ReplyValue>(n).fill(null);
    this.#left = n;
  }

  sink(i: number): Sink {
    return { deliver: (buf, start, end) => this.part(i, parseReply(buf, start, end)) };
  }

  part(i: number, v: ReplyValue): void {
    this.#parts[i] = v;
    if (--this.#left > 0) return;
    const err = this.#parts.find(isError);
    deliverReply(this.slot, this.proto, (w) => (err ? w.error(err.error) : this.combine(this.#parts, w)));
  }
}

/** Encodes one reply in the client's protocol and hands it to sink. */
export function deliverReply(sink: Sink, proto: 2 | 3, write: (w: ReplyWriter) => void): void {
  const w = new ReplyWriter();
  w.proto = proto;
  write(w);
  const bytes = w.take();
  sink.deliver(bytes, 0, bytes.length);
}

function sum(parts: ReplyValue[], out: ReplyWriter): void {
  let n = 0;
  for (const p of parts) n += typeof p === 'number' ? p : 0;
  out.integer(n);
}

function allOk(_parts: ReplyValue[], out: ReplyWriter): void {
  out.ok();
}

function concat(parts: ReplyValue[], out: ReplyWriter): void {
  const all: Buffer[] = [];
  for (const p of parts) if (Array.isArray(p)) for (const k of p) if (Buffer.isBuffer(k)) all.push(k);
  out.bulkArray(all);
}

const SPLIT_COMBINE: Record<string, Combine> = {
  del: sum, unlink: sum, exists: sum, touch: sum, mset: allOk,
};

/** MGET MSET DEL EXISTS TOUCH UNLINK: per-worker sub-commands, joined in key order. */
export function splitCommand(server: ProxyServer, client: ProxyClient, spec: CommandSpec, argv: Buffer[]): void {
  const proto = client.state.proto;
  const step = spec.keyStep;
  if (step === 2 && argv.length % 2 === 0) {
    return server.replyError(client, `ERR wrong number of arguments for '${spec.name}' command`);
  }
  const first = server.linkFor(argv[1]!);
  let single = true;
  for (let i = 1 + step; i < argv.length; i += step) {
    if (server.linkFor(argv[i]!) !== first) {
      single = false;
      break;
    }
  }
  if (single) return first.send(argv, proto, client.slot());

  // Group argument positions by worker, keeping first-seen worker order.
  const groups = new Map<WorkerLink, number[]>();
  for (let i = 1; i < argv.length; i += step) {
    const link = server.linkFor(argv[i]!);
    let g = groups.get(link);
    if (!g) groups.set(link, (g = []));
    g.push(i);
  }
  const order = [...groups.values()];
  let combine = SPLIT_COMBINE[spec.name];
  if (spec.name === 'mget') {
    combine = (parts, out) => {
      const values = new Array<ReplyValue>(argv.length - 1);
      order.forEach((positions, gi) => {
        const arr = parts[gi] as ReplyValue[];
        positions.forEach((pos, k) => (values[pos - 1] = arr[k] ?? null));
      });
      out.arrayHeader(values.length);
      for (const v of values) {
        if (Buffer.isBuffer(v)) out.bulk(v);
        else out.nil();
      }
    };
  }
  const join = new Join(groups.size, client.slot(), proto, combine!);
  let gi = 0;
  for (const [link, positions] of groups) {
    const sub: Buffer[] = [argv[0]!];
    for (const pos of positions) for (let k = 0; k < step; k++) sub.push(argv[pos + k]!);
    link.send(sub, proto, join.sink(gi++));
  }
}

/** BGSAVE on every worker: "scheduled" if any worker only scheduled it, else "started". */
function bgsaveStatus(parts: ReplyValue[], out: ReplyWriter): void {
  const scheduled = parts.some((p) => p !== null && typeof p === 'object' && 'simple' in p && p.simple.includes('scheduled'));
  out.simple(scheduled ? 'Background saving scheduled' : 'Background saving started');
}

/** LASTSAVE: the oldest of the workers' last saves (when every worker had saved). */
function oldest(parts: ReplyValue[], out: ReplyWriter): void {
  let n = Infinity;
  for (const p of parts) if (typeof p === 'number' && p < n) n = p;
  out.integer(Number.isFinite(n) ? n : 0);
}

/** BGREWRITEAOF on every worker (an error from any worker is the reply). */
function rewriteStarted(_parts: ReplyValue[], out: ReplyWriter): void {
  out.simple('Background append only file rewriting started');
}

const ALL_COMBINE: Record<string, Combine> = {
  keys: concat, dbsize: sum, flushall: allOk, flushdb: allOk, config: allOk,
  save: allOk, bgsave: bgsaveStatus, lastsave: oldest, bgrewriteaof: rewriteStarted,
};

/** KEYS DBSIZE FLUSHALL FLUSHDB CONFIG SET: sent to every worker, replies joined. */
export function allWorkers(server: ProxyServer, client: ProxyClient, spec: CommandSpec, argv: Buffer[], combine: Combine = ALL_COMBINE[spec.name] ?? allOk): void {
  const proto = client.state.proto;
  const join = new Join(server.links.length, client.slot(), proto, combine);
  server.links.forEach((link, i) => link.send(argv, proto, join.sink(i)));
}

/** Sends one command and resolves with its parsed reply (multi-step commands). */
export function call(link: WorkerLink, argv: Buffer[], proto: 2 | 3 = 2): Promise<ReplyValue> {
  return new Promise((resolve) => link.send(argv, proto, { deliver: (buf, s, e) => resolve(parseReply(buf, s, e)) }));
}
