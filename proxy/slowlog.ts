/**
 * SLOWLOG on the proxy: commands whose time from dispatch to reply (measured in the
 * proxy, so it includes the trip to the worker) reached `slowlog-log-slower-than` µs.
 *
 * Each RESP process keeps its own log of at most `slowlog-max-len` entries; SLOWLOG GET,
 * LEN and RESET act on every process of the proxy (through ProcessGroup.askAll), so a
 * client sees one log whichever process its connection landed on. Entry ids stay
 * unique across processes: a process's n-th entry gets id `n * size + index` (with one
 * process: 0, 1, 2 ... as Redis). GET merges the processes' entries newest first.
 *
 * Entry shape, truncation and redaction are Redis 7's (slowlog.c, redactClientCommand-
 * Argument): at most 32 arguments, the last one then saying `... (N more arguments)`;
 * arguments over 128 bytes cut to 128 plus `... (N more bytes)`; secrets (AUTH, HELLO
 * AUTH, CONFIG SET requirepass ..., ACL SETUSER, MIGRATE AUTH) shown as `(redacted)`.
 * Entries copy the bytes they keep: argv views alias the client's read buffer.
 */
import { ReplyWriter } from '../shared/resp/reply-writer.js';
import { WireErrors } from '../shared/resp/wire-errors.js';
import type { ProcessGroup } from './process-group.js';
import type { ProxyServer } from './proxy-server.js';
import type { ProxyClient } from './client-connection.js';

const SLOWLOG_ENTRY_MAX_ARGC = 32;
const SLOWLOG_ENTRY_MAX_STRING = 128;
const REDACTED = Buffer.from('(redacted)');
/** CONFIG SET parameters whose values Redis hides (SENSITIVE_CONFIG). */
const SENSITIVE_CONFIG = new Set(['requirepass', 'masterauth', 'masteruser', 'tls-key-file-pass', 'tls-client-key-file-pass']);
/** How long SLOWLOG waits for the other proxy processes. */
const ASK_TIMEOUT_MS = 1000;

/** One entry as it travels between processes (plain data: latin1 strings keep bytes). */
export interface SlowlogEntryData {
  id: number;
  /** Unix time in seconds when the command completed. */
  time: number;
  durationUs: number;
  argv: string[];
  addr: string;
  name: string;
  /** Completion time in µs since the epoch: orders entries of different processes. */
  at: number;
}

type SlowlogQuestion = { op: 'get'; count: number } | { op: 'len' } | { op: 'reset' };

const HELP = [
  'SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'GET [<count>]',
  '    Return top <count> entries from the slowlog (default: 10, -1 mean all).',
  '    Entries are made of:',
  '    id, timestamp, time in microseconds, arguments array, client IP and port,',
  '    client name',
  'LEN',
  '    Return the length of the slowlog.',
  'RESET',
  '    Reset the slowlog.',
  'HELP',
  '    Prints this help.',
];

function lowerAscii(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1').toLowerCase();
}

/** Indexes of argv that Redis replaces by "(redacted)" in the slowlog. */
function redactedIndexes(argv: readonly Uint8Array[]): Set<number> | null {
  const cmd = lowerAscii(argv[0]!);
  const argc = argv.length;
  const out = new Set<number>();
  if (cmd === 'auth') {
    for (let j = 1; j < argc; j++) out.add(j);
  } else if (cmd === 'hello') {
    for (let j = 2; j < argc; j++) {
      const opt = lowerAscii(argv[j]!);
      if (opt === 'auth' && argc - j - 1 >= 2) {
        out.add(j + 1);
        out.add(j + 2);
        j += 2;
      } else if (opt === 'setname' && argc - j - 1 >= 1) {
        j += 1;
      }
    }
  } else if (cmd === 'config' && argc >= 2 && lowerAscii(argv[1]!) === 'set') {
    for (let j = 2; j + 1 < argc; j += 2) if (SENSITIVE_CONFIG.has(lowerAscii(argv[j]!))) out.add(j + 1);
  } else if (cmd === 'acl' && argc >= 2 && lowerAscii(argv[1]!) === 'setuser') {
    for (let j = 2; j < argc; j++) out.add(j);
  } else if (cmd === 'migrate') {
    for (let j = 6; j < argc; j++) {
      const opt = lowerAscii(argv[j]!);
      if (opt === 'auth' && j + 1 < argc) out.add(++j);
      else if (opt === 'auth2' && j + 2 < argc) {
        out.add(++j);
        out.add(++j);
      }
    }
  }
  return out.size > 0 ? out : null;
}

/** The arguments an entry keeps: redacted, at most 32, long ones cut (Redis's slowlogCreateEntry). */
export function slowlogArgv(argv: readonly Uint8Array[]): Buffer[] {
  const argc = argv.length;
  const slargc = Math.min(argc, SLOWLOG_ENTRY_MAX_ARGC);
  const redacted = redactedIndexes(argv);
  const out: Buffer[] = [];
  for (let j = 0; j < slargc; j++) {
    if (slargc !== argc && j === slargc - 1) {
      out.push(Buffer.from(`... (${argc - slargc + 1} more arguments)`));
      continue;
    }
    if (redacted?.has(j)) {
      out.push(REDACTED);
      continue;
    }
    const a = argv[j]!;
    if (a.length > SLOWLOG_ENTRY_MAX_STRING) {
      out.push(Buffer.concat([a.subarray(0, SLOWLOG_ENTRY_MAX_STRING), Buffer.from(`... (${a.length - SLOWLOG_ENTRY_MAX_STRING} more bytes)`)]));
    } else {
      out.push(Buffer.from(a)); // a copy: the view aliases the client's read buffer
    }
  }
  return out;
}

/**
 * One process's log: entries appended at the tail, the oldest dropped past the
 * maximum. Only slow commands reach push(), so its allocations are off the fast path.
 */
export class Slowlog {
  #entries: SlowlogEntryData[] = [];
  #head = 0;
  #seq = 0;
  /** Exposed id = n * stride + offset (see the file comment). */
  constructor(readonly stride = 1, readonly offset = 0) {}

  get length(): number {
    return this.#entries.length - this.#head;
  }

  push(argv: readonly Uint8Array[], durationUs: number, addr: string, name: string, maxLen: number): void {
    const atMs = performance.timeOrigin + performance.now();
    this.#entries.push({
      id: this.#seq++ * this.stride + this.offset,
      time: Math.floor(atMs / 1000),
      durationUs,
      argv: slowlogArgv(argv).map((b) => b.toString('latin1')),
      addr,
      name,
      at: Math.round(atMs * 1000),
    });
    this.trim(maxLen);
  }

  private trim(maxLen: number): void {
    while (this.length > maxLen) this.#head++;
    if (this.#head > 1024 || this.#head === this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }

  /** The newest `count` entries, newest first (count < 0: all). */
  newest(count: number): SlowlogEntryData[] {
    const n = count < 0 ? this.length : Math.min(count, this.length);
    const out: SlowlogEntryData[] = [];
    for (let i = this.#entries.length - 1; out.length < n; i--) out.push(this.#entries[i]!);
    return out;
  }

  reset(): void {
    this.#entries = [];
    this.#head = 0;
  }

  /** The answer to another process's SLOWLOG question (ProcessGroup topic 'slowlog'). */
  answer(q: SlowlogQuestion): unknown {
    switch (q.op) {
      case 'get':
        return this.newest(q.count);
      case 'len':
        return this.length;
      case 'reset':
        this.reset();
        return 0;
    }
  }
}

/** Registers this process's answer to SLOWLOG questions from any process of the group. */
export function answerSlowlog(group: ProcessGroup, log: Slowlog): void {
  group.answer('slowlog', (q) => log.answer(q as SlowlogQuestion));
}

/** Redis's getRangeLongFromObjectOrReply for the GET count: -1 .. LONG_MAX, string2ll syntax. */
function parseCount(b: Buffer): number | null {
  const s = b.toString('latin1');
  if (!/^(0|-?[1-9]\d*)$/.test(s)) return null;
  const n = BigInt(s);
  if (n < -1n || n > 9223372036854775807n) return null;
  return Number(n);
}

/** SLOWLOG GET [count] | LEN | RESET | HELP */
export function slowlogCommand(server: ProxyServer, client: ProxyClient, argv: Buffer[]): void {
  const sub = lowerAscii(argv[1]!);
  const argc = argv.length;
  if (sub === 'help' || sub === 'len' || sub === 'reset') {
    if (argc !== 2) return server.replyError(client, WireErrors.wrongArity(`slowlog|${sub}`));
    if (sub === 'help') {
      const w = server.writerFor(client);
      w.bulkArray(HELP);
      return client.replyLocal(w.take());
    }
    return ask(server, client, sub === 'len' ? { op: 'len' } : { op: 'reset' });
  }
  if (sub === 'get') {
    if (argc > 3) return server.replyError(client, `ERR unknown subcommand or wrong number of arguments for '${argv[1]!.toString().slice(0, 128)}'. Try SLOWLOG HELP.`);
    let count = 10;
    if (argc === 3) {
      const c = parseCount(argv[2]!);
      if (c === null) return server.replyError(client, 'ERR count should be greater than or equal to -1');
      count = c;
    }
    return ask(server, client, { op: 'get', count });
  }
  server.replyError(client, WireErrors.unknownSubcommand(argv[1]!.toString(), 'slowlog'));
}

/**
 * Asks every process and replies in the client's pipeline slot once they answered. The
 * client's next commands wait for the reply (as in Redis, a pipelined SLOWLOG LEN after
 * RESET sees the RESET's own entry).
 */
function ask(server: ProxyServer, client: ProxyClient, q: SlowlogQuestion): void {
  const proto = client.state.proto;
  const slot = client.slot();
  client.hold(() => {});
  void server.group.askAll('slowlog', q, ASK_TIMEOUT_MS).then((answers) => {
    const w = new ReplyWriter();
    w.proto = proto;
    if (q.op === 'len') {
      w.integer(answers.reduce<number>((sum, a) => sum + (typeof a === 'number' ? a : 0), 0));
    } else if (q.op === 'reset') {
      w.ok();
    } else {
      const all = (answers as SlowlogEntryData[][]).flat();
      all.sort((a, b) => b.at - a.at || b.id - a.id);
      writeEntries(w, q.count < 0 ? all : all.slice(0, q.count));
    }
    const bytes = w.take();
    slot.deliver(bytes, 0, bytes.length);
    client.release();
  });
}

function writeEntries(w: ReplyWriter, entries: readonly SlowlogEntryData[]): void {
  w.arrayHeader(entries.length);
  for (const e of entries) {
    w.arrayHeader(6);
    w.integer(e.id);
    w.integer(e.time);
    w.integer(e.durationUs);
    w.arrayHeader(e.argv.length);
    for (const a of e.argv) w.bulkLatin1(a);
    w.bulk(e.addr);
    w.bulk(e.name);
  }
}
