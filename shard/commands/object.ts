/**
 * OBJECT and MEMORY: what Redis users inspect when they size a cache. Replies use
 * Redis's names (encodings int/embstr/raw) although the arena stores every string the
 * same way, so tools that read them keep working.
 */
import type { CommandContext, HandlerTable } from './context.js';
import { TYPE_STRING } from '../arena/layout.js';
import { WireErrors } from '../../shared/resp/wire-errors.js';
import { parseInt64 } from '../../shared/resp/numbers.js';
import { argIs } from './args.js';
import { ENCODING_RAW } from '../keyspace.js';
import { COLLECTION_TYPES, collectionOf } from '../types/registry.js';

const SWITCH_NOTE = 'Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.';

/** The item for OBJECT/MEMORY USAGE's key argument without touching it; 0 after a reply. */
function itemOrReply(ctx: CommandContext, argv: Buffer[], sub: string, arity: number): number {
  if (argv.length !== arity) {
    ctx.out.error(WireErrors.wrongArity(sub));
    return 0;
  }
  if (!ctx.server.ownsKeyOrReply(ctx, argv[2]!)) return 0;
  const ref = ctx.ks.find(argv[2]!, false);
  if (ref === 0) ctx.out.nil();
  return ref;
}

function stringEncoding(ctx: CommandContext, ref: number): string {
  const ks = ctx.ks;
  if (ks.encoding(ref) === ENCODING_RAW) return 'raw';
  const len = ks.valueLen(ref);
  if (len <= 20) {
    const s = ks.valueStart(ref);
    if (parseInt64(ks.page(ref).subarray(s, s + len)) !== null) return 'int';
  }
  return len <= 44 ? 'embstr' : 'raw';
}

function encodingName(ctx: CommandContext, ref: number): string {
  const ks = ctx.ks;
  const ct = COLLECTION_TYPES.get(ks.type(ref));
  if (ct === undefined) return ks.type(ref) === TYPE_STRING ? stringEncoding(ctx, ref) : 'raw';
  return ct.encodingName(collectionOf(ks, ref)!, !ks.isHeap(ref));
}

/** OBJECT ENCODING|FREQ|IDLETIME|REFCOUNT key, OBJECT HELP */
function object(ctx: CommandContext, argv: Buffer[]): void {
  const sub = argv[1]!;
  const out = ctx.out;
  if (argIs(sub, 'help')) {
    if (argv.length !== 2) return out.error(WireErrors.wrongArity('object|help'));
    return out.bulkArray([
      'OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
      'ENCODING <key>', '    Return the kind of internal representation used in order to store the value', '    associated with a <key>.',
      'FREQ <key>', '    Return the access frequency index of the <key>. The returned integer is', '    proportional to the logarithm of the recent access frequency of the key.',
      'IDLETIME <key>', '    Return the idle time of the <key>, that is the approximated number of', '    seconds elapsed since the last access to the key.',
      'REFCOUNT <key>', '    Return the number of references of the value associated with the specified', '    <key>.',
      'HELP', '    Print this help.',
    ]);
  }
  const name = sub.toString().toLowerCase();
  if (!['encoding', 'freq', 'idletime', 'refcount'].includes(name)) return out.error(WireErrors.unknownSubcommand(sub.toString(), 'object'));
  const ref = itemOrReply(ctx, argv, `object|${name}`, 3);
  if (ref === 0) return;
  const ks = ctx.ks;
  switch (name) {
    case 'encoding':
      return out.bulk(encodingName(ctx, ref));
    case 'refcount':
      return out.integer(1);
    case 'freq':
      if (!ks.lfu) return out.error(`ERR An LFU maxmemory policy is not selected, access frequency not tracked. ${SWITCH_NOTE}`);
      return out.integer(ks.lfuDecayed(ks.lruWord(ref)));
    case 'idletime':
      if (ks.lfu) return out.error(`ERR An LFU maxmemory policy is selected, idle time not tracked. ${SWITCH_NOTE}`);
      return out.integer(ks.idleSeconds(ref));
  }
}

/** Bytes one key costs: its arena chunk, its index bucket(s) and a heap collection's accounted bytes. */
export function keyUsage(ctx: CommandContext, ref: number): number {
  const ks = ctx.ks;
  const buckets = ks.expireAt(ref) !== 0 ? 2 : 1;
  const heap = ks.isHeap(ref) ? ks.heap.bytesOf(ks.heapHandle(ref)) : 0;
  return ks.arena.chunkSize(ref) + buckets * 8 + heap;
}

function memoryStats(ctx: CommandContext): void {
  const ks = ctx.ks;
  const srv = ctx.server;
  const a = ks.arena.stats();
  const used = srv.usedMemory;
  const keys = ks.size;
  const rss = process.memoryUsage().rss;
  const overhead = srv.startupBytes + ks.index.memoryBytes + ks.volatile.memoryBytes;
  const pairs: Array<[string, number | string]> = [
    ['peak.allocated', Math.max(srv.peakMemory, used)],
    ['total.allocated', used],
    ['startup.allocated', srv.startupBytes],
    ['replication.backlog', 0],
    ['clients.slaves', 0],
    ['clients.normal', 0],
    ['aof.buffer', 0],
    ['overhead.total', overhead],
    ['keys.count', keys],
    ['keys.bytes-per-key', keys ? Math.floor((used - srv.startupBytes) / keys) : 0],
    ['dataset.bytes', a.usedBytes],
    ['dataset.percentage', used ? ((a.usedBytes / used) * 100).toFixed(2) : '0.00'],
    ['peak.percentage', srv.peakMemory ? ((used / srv.peakMemory) * 100).toFixed(2) : '100.00'],
    ['allocator.allocated', a.usedBytes],
    ['allocator.active', a.pageBytes],
    ['allocator.resident', a.pageBytes],
    ['allocator-fragmentation.ratio', a.usedBytes ? (a.pageBytes / a.usedBytes).toFixed(3) : '1.000'],
    ['allocator-fragmentation.bytes', a.pageBytes - a.usedBytes],
    ['fragmentation', used ? (rss / used).toFixed(3) : '0.000'],
    ['fragmentation.bytes', rss - used],
  ];
  const out = ctx.out;
  out.mapHeader(pairs.length + 2);
  for (const [k, v] of pairs) {
    out.bulk(k);
    if (typeof v === 'number') out.integer(v);
    else out.double(v);
  }
  out.bulk('db.0');
  out.mapHeader(2);
  out.bulk('overhead.hashtable.main'); out.integer(ks.index.memoryBytes);
  out.bulk('overhead.hashtable.expires'); out.integer(ks.volatile.memoryBytes);
  // Shoal's own addition: the slab classes of this worker's arena.
  out.bulk('shoal.slab-classes');
  const classes = a.classes.filter((c) => c.pages > 0);
  out.arrayHeader(classes.length);
  for (const c of classes) {
    out.mapHeader(4);
    out.bulk('chunk-size'); out.integer(c.size);
    out.bulk('pages'); out.integer(c.pages);
    out.bulk('used-chunks'); out.integer(c.usedChunks);
    out.bulk('free-chunks'); out.integer(c.freeChunks);
  }
}

/** MEMORY USAGE key [SAMPLES count] | STATS | DOCTOR | MALLOC-STATS | PURGE | HELP */
function memory(ctx: CommandContext, argv: Buffer[]): void {
  const out = ctx.out;
  const sub = argv[1]!.toString().toLowerCase();
  switch (sub) {
    case 'usage': {
      if (argv.length < 3) return out.error(WireErrors.wrongArity('memory|usage'));
      for (let j = 3; j < argv.length; j++) {
        if (argIs(argv[j]!, 'samples') && j + 1 < argv.length) {
          const n = parseInt64(argv[++j]!);
          if (n === null || n < 0) return out.error(WireErrors.notInteger);
        } else return out.error(WireErrors.syntax);
      }
      const ref = itemOrReply(ctx, argv.slice(0, 3), 'memory|usage', 3);
      if (ref === 0) return;
      return out.integer(keyUsage(ctx, ref));
    }
    case 'stats':
      if (argv.length !== 2) return out.error(WireErrors.wrongArity('memory|stats'));
      return memoryStats(ctx);
    case 'doctor':
      return out.verbatim(`Hi Sam, this worker holds ${ctx.ks.size} keys in ${ctx.ks.usedBytes} bytes; allocator fragmentation ${(ctx.ks.arena.pageBytes / Math.max(1, ctx.ks.arena.usedBytes)).toFixed(2)}. I have nothing to report.`);
    case 'malloc-stats':
      return out.verbatim('Stats not supported for the current allocator');
    case 'purge':
      return out.ok();
    case 'help':
      return out.bulkArray(['MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:', 'DOCTOR', 'MALLOC-STATS', 'PURGE', 'STATS', 'USAGE <key> [SAMPLES <count>]', 'HELP']);
    default:
      return out.error(WireErrors.unknownSubcommand(argv[1]!.toString(), 'memory'));
  }
}

export const objectCommands: HandlerTable = { object, memory };
