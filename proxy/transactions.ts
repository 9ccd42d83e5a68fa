/**
 * MULTI EXEC DISCARD WATCH UNWATCH through the proxy (design: docs/transactions.md).
 *
 * - MULTI and queuing are answered here (+OK, +QUEUED) after checking the command's
 *   name, arity and keys: every key of a transaction must live on one worker, else
 *   the command gets CROSSSLOT and the transaction is flagged (EXEC → EXECABORT).
 * - EXEC sends the transaction to its worker as ONE contiguous group in one frame —
 *   [SHOAL.CHECKWATCH key token ...] MULTI cmd ... EXEC — which the worker runs back to
 *   back, so no other client's command lands in between. The replies of MULTI and the
 *   +QUEUEDs are dropped; EXEC's reply goes to the client in its reply order. Commands
 *   the proxy answers itself (PING ECHO CLIENT ...) are run when EXEC's reply arrives
 *   and spliced into the array at their positions.
 * - WATCH asks each key's worker for tokens (SHOAL.WATCH, which also registers a watch
 *   there); the tokens stay on the client and SHOAL.CHECKWATCH re-checks them in the
 *   EXEC group. Watched keys must be on the transaction's worker (else EXEC replies
 *   CROSSSLOT). EXEC, DISCARD, UNWATCH, RESET and a disconnect send SHOAL.UNWATCH to
 *   drop the registrations.
 */
import { arityOk, keyIndexes, type CommandSpec } from '../shared/commands/spec.js';
import { kInExec, kMulti } from '../shared/connection/client-state.js';
import { runConnectionCommand } from '../shared/connection/commands.js';
import { clientCommandInExec } from './client-command.js';
import { Replies } from '../shared/resp/replies.js';
import { ReplyWriter } from '../shared/resp/reply-writer.js';
import { replyEnd } from '../shared/resp/reply-scanner.js';
import { WireErrors } from '../shared/resp/wire-errors.js';
import type { ProxyServer } from './proxy-server.js';
import type { ProxyClient } from './client-connection.js';
import type { Sink, WorkerLink } from './upstream/link.js';
import { parseReply, isError } from './reply-value.js';

export const EXECABORT = 'EXECABORT Transaction discarded because of previous errors.';

const MULTI = Buffer.from('MULTI');
const EXEC = Buffer.from('EXEC');
const CHECKWATCH = Buffer.from('shoal.checkwatch');
const WATCH = Buffer.from('shoal.watch');
const UNWATCH = Buffer.from('shoal.unwatch');
/** Replies of MULTI, +QUEUED and SHOAL.* bookkeeping: not the client's. */
const IGNORE: Sink = { deliver: () => {} };

interface Queued {
  argv: Buffer[];
  spec: CommandSpec;
  /** Answered by the proxy at EXEC (PING ECHO CLIENT ...), not sent to the worker. */
  local: boolean;
}

/** The client's watches on one worker. Token -1: unknown (the worker was unreachable), so EXEC aborts. */
interface LinkWatch {
  keys: Buffer[];
  tokens: number[];
  /** SHOAL.WATCH calls sent, each one registration on the worker. */
  regs: number;
}

/** A proxy client's transaction state (ProxyClient.tx). */
export class ClientTransaction {
  /** Commands queued since MULTI; null outside MULTI. */
  queue: Queued[] | null = null;
  /** The worker holding the transaction's keys (null: none yet). */
  link: WorkerLink | null = null;
  /** A command was rejected while queuing: EXEC replies EXECABORT. */
  aborted = false;
  readonly watches = new Map<WorkerLink, LinkWatch>();
}

function txOf(client: ProxyClient): ClientTransaction {
  return (client.tx ??= new ClientTransaction());
}

/** MULTI EXEC DISCARD WATCH UNWATCH outside MULTI (route 'transaction'). */
export function transactionCommand(server: ProxyServer, client: ProxyClient, spec: CommandSpec, argv: Buffer[]): void {
  switch (spec.name) {
    case 'multi': {
      const tx = txOf(client);
      tx.queue = [];
      tx.link = null;
      tx.aborted = false;
      client.state.flags |= kMulti;
      return client.replyLocal(Replies.ok);
    }
    case 'exec':
      return server.replyError(client, 'ERR EXEC without MULTI');
    case 'discard':
      return server.replyError(client, 'ERR DISCARD without MULTI');
    case 'watch':
      return watch(server, client, argv);
    case 'unwatch':
      dropWatches(client);
      return client.replyLocal(Replies.ok);
  }
}

/** A transaction command with the wrong arity: EXEC's error discards the transaction (as Redis). */
export function transactionArityError(server: ProxyServer, client: ProxyClient, spec: CommandSpec): void {
  if (spec.name === 'exec') {
    endTransaction(client);
    return server.replyError(client, `EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command`);
  }
  server.replyError(client, WireErrors.wrongArity(spec.name));
}

/**
 * A command from a client in MULTI: queued (+QUEUED), rejected (error, transaction
 * flagged) or run at once (EXEC DISCARD MULTI WATCH). False for QUIT and RESET,
 * which the caller runs as usual.
 */
export function queueInMulti(server: ProxyServer, client: ProxyClient, spec: CommandSpec | undefined, argv: Buffer[]): boolean {
  const tx = txOf(client);
  const reject = (text: string): true => {
    tx.aborted = true;
    server.replyError(client, text);
    return true;
  };
  if (spec === undefined) return reject(WireErrors.unknownCommand(argv[0]!.toString(), argv.slice(1)));
  if (!arityOk(spec, argv.length)) {
    if (spec.route === 'transaction') transactionArityError(server, client, spec);
    else server.replyError(client, WireErrors.wrongArity(spec.name));
    tx.aborted = true;
    return true;
  }
  switch (spec.name) {
    case 'exec':
      exec(server, client, tx);
      return true;
    case 'discard':
      endTransaction(client);
      client.replyLocal(Replies.ok);
      return true;
    case 'multi':
      server.replyError(client, 'ERR MULTI calls can not be nested');
      return true;
    case 'watch':
      server.replyError(client, 'ERR WATCH inside MULTI is not allowed');
      return true;
    case 'quit':
    case 'reset':
      return false;
  }
  const where = placement(server, spec, argv);
  if (where === 'local' || where === 'any') {
    // no worker constraint
  } else if ('error' in where) {
    return reject(where.error);
  } else {
    if (tx.link === null) tx.link = where;
    else if (tx.link !== where) return reject(WireErrors.crossSlot);
  }
  // argv may be views into the socket's chunk: keep copies until EXEC.
  tx.queue!.push({ argv: argv.map((a) => Buffer.from(a)), spec, local: where === 'local' });
  client.replyLocal(Replies.queued);
  return true;
}

/**
 * Where a queued command runs: 'local' (answered by the proxy), a worker (its keys'),
 * 'any' (a keyless worker command), or an error text when it cannot be part of a
 * one-worker transaction (keys on several workers, or a command that spans every worker).
 */
function placement(server: ProxyServer, spec: CommandSpec, argv: Buffer[]): 'local' | 'any' | WorkerLink | { error: string } {
  const name = spec.name;
  const everyWorker = { error: `ERR ${name.toUpperCase()} is not allowed inside MULTI on the Shoal proxy: it spans every worker` };
  let keys: number[];
  switch (spec.route) {
    case 'transaction': // UNWATCH, queued as Redis does
      return 'local';
    case 'local': {
      if (name === 'info') return everyWorker;
      const sub = argv[1]?.toString('latin1').toLowerCase();
      if (name === 'config' && (sub === 'set' || sub === 'resetstat')) return everyWorker;
      return 'local';
    }
    case 'all':
      return everyWorker;
    case 'special': {
      const sub = argv[1]?.toString('latin1').toLowerCase();
      if (name === 'scan' || name === 'randomkey' || (name === 'memory' && sub === 'stats')) return everyWorker;
      if (name === 'object') keys = argv.length >= 3 ? [2] : [];
      else if (name === 'memory') keys = sub === 'usage' && argv.length >= 3 ? [2] : [];
      else keys = keyIndexes(spec, argv);
      break;
    }
    default:
      keys = keyIndexes(spec, argv);
  }
  if (keys.length === 0) return 'any';
  const link = server.linkFor(argv[keys[0]!]!);
  for (const i of keys) if (server.linkFor(argv[i]!) !== link) return { error: WireErrors.crossSlot };
  return link;
}

function exec(server: ProxyServer, client: ProxyClient, tx: ClientTransaction): void {
  const queue = tx.queue!;
  const aborted = tx.aborted;
  let link = tx.link;
  const watches = [...tx.watches];
  endTransaction(client, false);
  if (aborted) {
    dropWatches(client);
    return server.replyError(client, EXECABORT);
  }
  for (const [l] of watches) {
    if (link === null) link = l;
    else if (l !== link) {
      dropWatches(client);
      return server.replyError(client, WireErrors.crossSlot);
    }
  }
  const hasLocal = queue.some((q) => q.local);
  if (link === null && !queue.every((q) => q.local)) link = server.links[0]!;
  if (link === null) {
    // Only proxy-answered commands and nothing watched: no worker needed.
    const w = new ReplyWriter();
    w.proto = client.state.proto;
    w.arrayHeader(queue.length);
    for (const q of queue) runLocal(server, client, q, w);
    return client.replyLocal(w.take());
  }
  const proto = client.state.proto;
  const slot = client.slot();
  // One synchronous run of sends: the group is contiguous in this turn's frame.
  const watched = watches.find(([l]) => l === link)?.[1];
  if (watched !== undefined) {
    const check: Buffer[] = [CHECKWATCH];
    watched.keys.forEach((k, i) => check.push(k, Buffer.from(String(watched.tokens[i]))));
    link.send(check, proto, IGNORE);
  }
  link.send([MULTI], proto, IGNORE);
  for (const q of queue) if (!q.local) link.send(q.argv, proto, IGNORE);
  if (!hasLocal) {
    link.send([EXEC], proto, slot);
    dropWatches(client);
    return;
  }
  // Proxy-answered commands run when the worker's part is done, before the client's
  // next command (held until then; a down link replies at once, inside send), and
  // their replies go in at their positions.
  client.hold(() => {});
  link.send([EXEC], proto, {
    deliver: (buf, start, end) => {
      slot.deliver(...splice(server, client, queue, buf, start, end));
      client.release();
    },
  });
  dropWatches(client);
}

/** EXEC's array from the worker with the proxy-answered replies inserted; other replies (null, errors) as they are. */
function splice(server: ProxyServer, client: ProxyClient, queue: Queued[], buf: Buffer, start: number, end: number): [Buffer, number, number] {
  if (buf[start] !== 0x2a || buf[start + 1] === 0x2d) return [buf, start, end];
  let p = buf.indexOf(10, start) + 1;
  const w = new ReplyWriter();
  w.proto = client.state.proto;
  w.arrayHeader(queue.length);
  for (const q of queue) {
    if (q.local) {
      runLocal(server, client, q, w);
    } else {
      const e = replyEnd(buf, p, end);
      w.rawFrom(buf, p, e);
      p = e;
    }
  }
  const bytes = w.take();
  return [bytes, 0, bytes.length];
}

/** Runs a queued proxy-answered command into w (as ProxyServer.local, minus INFO and CONFIG SET). */
function runLocal(server: ProxyServer, client: ProxyClient, q: Queued, w: ReplyWriter): void {
  switch (q.spec.name) {
    case 'unwatch':
      return w.ok();
    case 'cluster':
      return w.error('ERR This instance has cluster support disabled');
    case 'config':
      return server.runtime.command(w, q.argv, () => {});
    case 'client':
      return clientCommandInExec(server, client, q.argv, w);
    default: {
      // Marked as inside EXEC, as Redis's: a failing AUTH is logged with context "multi" (proxy/acl/).
      client.state.flags |= kInExec;
      const known = runConnectionCommand(q.spec.name, w, client.state, q.argv, server);
      client.state.flags &= ~kInExec;
      if (!known) w.error(WireErrors.unknownCommand(q.argv[0]!.toString(), q.argv.slice(1)));
    }
  }
}

/** WATCH key [key ...]: SHOAL.WATCH on each key's worker; the client waits for the tokens. */
function watch(server: ProxyServer, client: ProxyClient, argv: Buffer[]): void {
  const tx = txOf(client);
  const groups = new Map<WorkerLink, Buffer[]>();
  for (let i = 1; i < argv.length; i++) {
    const key = argv[i]!;
    const link = server.linkFor(key);
    if (tx.watches.get(link)?.keys.some((k) => k.equals(key))) continue; // already watched
    let g = groups.get(link);
    if (g === undefined) groups.set(link, (g = []));
    if (!g.some((k) => k.equals(key))) g.push(Buffer.from(key));
  }
  if (groups.size === 0) return client.replyLocal(Replies.ok);
  const slot = client.slot();
  const proto = client.state.proto;
  let left = groups.size;
  let error: string | null = null;
  const done = (): void => {
    if (--left > 0) return;
    const w = new ReplyWriter();
    w.proto = proto;
    if (error !== null) w.error(error);
    else w.ok();
    const bytes = w.take();
    slot.deliver(bytes, 0, bytes.length);
    client.release();
  };
  client.hold(() => {});
  for (const [link, keys] of groups) {
    let lw = tx.watches.get(link);
    if (lw === undefined) tx.watches.set(link, (lw = { keys: [], tokens: [], regs: 0 }));
    const entry = lw;
    entry.regs++;
    // In the client's protocol: the link keeps one batch per protocol, and only one
    // batch keeps this in order with the client's other commands.
    link.send([WATCH, ...keys], proto, {
      deliver: (buf, start, end) => {
        const v = parseReply(buf, start, end);
        const tokens = Array.isArray(v) ? v : [];
        if (isError(v)) error ??= v.error;
        keys.forEach((k, i) => {
          const t = tokens[i];
          entry.keys.push(k);
          entry.tokens.push(typeof t === 'number' ? t : -1);
        });
        done();
      },
    });
  }
}

/** Drops the client's watches: SHOAL.UNWATCH on each worker holding registrations. */
function dropWatches(client: ProxyClient): void {
  const tx = client.tx;
  if (tx === null || tx.watches.size === 0) return;
  for (const [link, lw] of tx.watches) {
    if (lw.regs > 0) link.send([UNWATCH, Buffer.from(String(lw.regs))], client.state.proto, IGNORE);
  }
  tx.watches.clear();
}

/** Ends MULTI (EXEC, DISCARD, EXEC's arity error); DISCARD and errors also drop the watches. */
function endTransaction(client: ProxyClient, unwatch = true): void {
  client.state.flags &= ~kMulti;
  const tx = client.tx;
  if (tx === null) return;
  tx.queue = null;
  tx.link = null;
  tx.aborted = false;
  if (unwatch) dropWatches(client);
}

/** RESET and disconnects: no transaction, no watches. */
export function resetTransaction(client: ProxyClient): void {
  endTransaction(client);
}
