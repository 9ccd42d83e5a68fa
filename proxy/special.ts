/**
 * Commands the proxy routes with command-specific logic:
 * - SCAN: the proxy cursor encodes the worker: cursor = workerCursor * W + workerIndex,
 *   so a scan walks worker 0 to the end, then worker 1, ... and ends at 0.
 * - RANDOMKEY: a random worker first, then the others until one has a key.
 * - RENAME / RENAMENX / COPY / LCS with keys on two workers: the source is read with
 *   SHOAL.DUMPKEY and written with SHOAL.RESTOREKEY. Across workers these are not
 *   atomic: a concurrent writer to the same keys may interleave (same-worker keys
 *   keep Redis's atomicity, the command is forwarded whole).
 */
import type { CommandSpec } from '../shared/commands/spec.js';
import type { ReplyWriter } from '../shared/resp/reply-writer.js';
import { WireErrors } from '../shared/resp/wire-errors.js';
import { parseInt64, parseSafeInt } from '../shared/resp/numbers.js';
import { parseLcsOptions, writeLcsReply } from '../shared/lcs.js';
import type { ProxyServer } from './proxy-server.js';
import type { ProxyClient } from './client-connection.js';
import { call, allWorkers, deliverReply } from './fanout.js';
import { isError, type ReplyValue } from './reply-value.js';

const TYPE_STRING = 1;

/** Runs an async multi-step command in the client's order; any thrown error becomes an error reply. */
function run(server: ProxyServer, client: ProxyClient, body: (w: (f: (w: ReplyWriter) => void) => void) => Promise<void>): void {
  const slot = client.slot();
  const proto = client.state.proto;
  let answered = false;
  const reply = (f: (w: ReplyWriter) => void) => {
    if (answered) return;
    answered = true;
    deliverReply(slot, proto, f);
  };
  // The client's later commands wait: they must not overtake this one's steps.
  client.hold(() => {});
  body(reply)
    .catch((err: Error) => {
      server.log.error({ err }, 'multi-step command failed');
      reply((w) => w.error(`ERR ${err.message}`));
    })
    .finally(() => client.release());
}

/** Replies a worker error as-is; true if v was one. */
function passError(v: ReplyValue, reply: (f: (w: ReplyWriter) => void) => void): boolean {
  if (!isError(v)) return false;
  reply((w) => w.error(v.error));
  return true;
}

function scan(server: ProxyServer, client: ProxyClient, argv: Buffer[]): void {
  const c = parseInt64(argv[1]!);
  const n = server.links.length;
  if (c === null || typeof c === 'bigint' || c < 0) return server.replyError(client, WireErrors.invalidCursor);
  run(server, client, async (reply) => {
    let idx = c % n;
    let wcursor = Math.floor(c / n);
    // A worker that is finished without a key hands over to the next one in the same
    // call, so an empty keyspace answers cursor 0 at once, as Redis does.
    for (;;) {
      const v = await call(server.links[idx]!, [argv[0]!, Buffer.from(String(wcursor)), ...argv.slice(2)]);
      if (passError(v, reply)) return;
      const [next, keys] = v as [Buffer, Buffer[]];
      const wnext = Number(next.toString());
      if (wnext === 0 && keys.length === 0 && idx + 1 < n) {
        idx++;
        wcursor = 0;
        continue;
      }
      const proxyNext = wnext !== 0 ? wnext * n + idx : idx + 1 < n ? idx + 1 : 0;
      return reply((w) => {
        w.arrayHeader(2);
        w.bulk(String(proxyNext));
        w.bulkArray(keys);
      });
    }
  });
}

function randomkey(server: ProxyServer, client: ProxyClient, argv: Buffer[]): void {
  const n = server.links.length;
  const start = Math.floor(Math.random() * n);
  run(server, client, async (reply) => {
    for (let k = 0; k < n; k++) {
      const v = await call(server.links[(start + k) % n]!, argv);
      if (passError(v, reply)) return;
      if (Buffer.isBuffer(v)) return reply((w) => w.bulk(v));
    }
    reply((w) => w.nil());
  });
}

type Dump = [number, number, Buffer] | null;

/** RENAME / RENAMENX / COPY across workers. */
function moveKey(server: ProxyServer, client: ProxyClient, argv: Buffer[], kind: 'rename' | 'renamenx' | 'copy'): void {
  const src = argv[1]!;
  const dst = argv[2]!;
  const from = server.linkFor(src);
  const to = server.linkFor(dst);
  let replace = kind === 'rename';
  if (kind === 'copy') {
    for (let j = 3; j < argv.length; j++) {
      const opt = argv[j]!.toString().toLowerCase();
      if (opt === 'replace') replace = true;
      else if (opt === 'db' && j + 1 < argv.length) {
        const db = parseSafeInt(argv[++j]!);
        if (db === null) return server.replyError(client, WireErrors.notInteger);
        if (db < 0 || db >= 16) return server.replyError(client, WireErrors.dbIndexOutOfRange);
        if (db !== 0) return server.replyError(client, 'ERR Shoal has a single database: COPY only supports DB 0');
      } else return server.replyError(client, WireErrors.syntax);
    }
  }
  if (from === to) return from.send(argv, client.state.proto, client.slot());
  run(server, client, async (reply) => {
    // Redis looks up a RENAME source for writing: no keymiss event for it (COPY's is a read).
    const d = await call(from, kind === 'copy' ? [Buffer.from('shoal.dumpkey'), src] : [Buffer.from('shoal.dumpkey'), src, Buffer.from('nomiss')]);
    if (passError(d, reply)) return;
    const dump = d as Dump;
    if (dump === null) return reply((w) => (kind === 'copy' ? w.integer(0) : w.error(WireErrors.noSuchKey)));
    const [type, expireAt, value] = dump;
    const event = Buffer.from(kind === 'copy' ? 'copy' : 'rename'); // rename_to / copy_to on the destination's worker
    const r = await call(to, [Buffer.from('shoal.restorekey'), dst, Buffer.from(String(type)), Buffer.from(String(expireAt)), value, Buffer.from(replace ? 'replace' : 'nx'), event]);
    if (passError(r, reply)) return;
    if (r === 0) return reply((w) => w.integer(0));
    if (kind !== 'copy') {
      const del = await call(from, [Buffer.from('shoal.renamefrom'), src]); // deletes it, publishing rename_from rather than del
      if (passError(del, reply)) return;
    }
    reply((w) => (kind === 'rename' ? w.ok() : w.integer(1)));
  });
}

/** LCS with keys on two workers: both values fetched, computed here. */
function lcs(server: ProxyServer, client: ProxyClient, argv: Buffer[]): void {
  const a = server.linkFor(argv[1]!);
  const b = server.linkFor(argv[2]!);
  if (a === b) return a.send(argv, client.state.proto, client.slot());
  const opts = parseLcsOptions(argv);
  run(server, client, async (reply) => {
    const values: Buffer[] = [];
    for (const [link, key] of [[a, argv[1]!], [b, argv[2]!]] as const) {
      const d = await call(link, [Buffer.from('shoal.dumpkey'), key]);
      if (passError(d, reply)) return;
      const dump = d as Dump;
      if (dump !== null && dump[0] !== TYPE_STRING) return reply((w) => w.error('ERR The specified keys must contain string values'));
      values.push(dump === null ? Buffer.alloc(0) : dump[2]);
    }
    if (typeof opts === 'string') return reply((w) => w.error(opts));
    reply((w) => writeLcsReply(w, values[0]!, values[1]!, opts));
  });
}

/** OBJECT sub key: to the key's worker (HELP and malformed calls to any worker, which replies). */
function object(server: ProxyServer, client: ProxyClient, argv: Buffer[]): void {
  const link = argv.length >= 3 ? server.linkFor(argv[2]!) : server.links[0]!;
  link.send(argv, client.state.proto, client.slot());
}

/** MEMORY USAGE key: to the key's worker; MEMORY STATS: scalar fields summed over workers. */
function memory(server: ProxyServer, client: ProxyClient, argv: Buffer[]): void {
  const sub = argv[1]!.toString().toLowerCase();
  if (sub === 'usage' && argv.length >= 3) return server.linkFor(argv[2]!).send(argv, client.state.proto, client.slot());
  if (sub !== 'stats' || argv.length !== 2) return server.links[0]!.send(argv, client.state.proto, client.slot());
  allWorkers(server, client, { name: 'memory' } as CommandSpec, argv, (parts, out) => {
    const fields = new Map<string, ReplyValue[]>();
    const nested = new Map<string, Map<string, number>>();
    for (const p of parts) {
      if (!Array.isArray(p)) continue;
      for (let i = 0; i + 1 < p.length; i += 2) {
        const k = String(p[i]);
        const v = p[i + 1]!;
        if (Array.isArray(v)) {
          // db.0 is a map of counters: sum it; other nested detail (slab classes) is per worker.
          if (v.every((x, j) => (j % 2 === 0 ? true : typeof x === 'number'))) nested.set(k, sumPairs(nested.get(k), v));
          continue;
        }
        if (!fields.has(k)) fields.set(k, []);
        fields.get(k)!.push(p[i + 1]!);
      }
    }
    out.mapHeader(fields.size + nested.size + 1);
    for (const [k, vs] of fields) {
      out.bulk(k);
      if (vs.every((v) => typeof v === 'number')) out.integer((vs as number[]).reduce((a, b) => a + b, 0));
      else out.double(String(vs[0]));
    }
    for (const [k, m] of nested) {
      out.bulk(k);
      out.mapHeader(m.size);
      for (const [nk, nv] of m) {
        out.bulk(nk);
        out.integer(nv);
      }
    }
    out.bulk('shoal.workers');
    out.integer(parts.length);
  });
}

function sumPairs(into: Map<string, number> | undefined, pairs: ReplyValue[]): Map<string, number> {
  const m = into ?? new Map<string, number>();
  for (let j = 0; j + 1 < pairs.length; j += 2) m.set(String(pairs[j]), (m.get(String(pairs[j])) ?? 0) + (pairs[j + 1] as number));
  return m;
}

export function specialCommand(server: ProxyServer, client: ProxyClient, spec: CommandSpec, argv: Buffer[]): void {
  switch (spec.name) {
    case 'scan':
      return scan(server, client, argv);
    case 'randomkey':
      return randomkey(server, client, argv);
    case 'rename':
    case 'renamenx':
    case 'copy':
      return moveKey(server, client, argv, spec.name);
    case 'lcs':
      return lcs(server, client, argv);
    case 'object':
      return object(server, client, argv);
    case 'memory':
      return memory(server, client, argv);
    default:
      return server.replyError(client, WireErrors.unknownCommand(spec.name, argv.slice(1)));
  }
}
