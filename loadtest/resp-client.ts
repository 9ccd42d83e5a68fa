// Tiny pipelined RESP client for the bench harness (prefill, verification,
// readiness, and the bulk loaders of loadtest/macro). One socket; commands are
// written as RESP arrays and replies are matched to them in FIFO order. For bulk
// loads, CommandBatch encodes many commands into one buffer and stream() sends it
// with a window of unanswered commands and a callback per reply (no promise each). No client library, so the harness checks the
// server's bytes and nothing else. RESP2 types plus RESP3 null (`_`); anything
// else is a protocol error, which is what the harness wants to hear about.

import net from 'node:net';

export class RespError extends Error {
  override name = 'RespError';
}

export type Reply = string | number | Buffer | null | RespError | Reply[];
export type Arg = string | Buffer;

const CRLF = Buffer.from('\r\n');

export function encodeCommand(argv: readonly Arg[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${argv.length}\r\n`, 'latin1')];
  for (const a of argv) {
    const b = typeof a === 'string' ? Buffer.from(a) : a;
    parts.push(Buffer.from(`$${b.length}\r\n`, 'latin1'), b, CRLF);
  }
  return Buffer.concat(parts);
}

interface Parsed { value: Reply; end: number }

/** Parses one reply starting at `pos`; undefined if `buf` does not hold all of it yet. */
export function parseReply(buf: Buffer, pos: number): Parsed | undefined {
  if (pos >= buf.length) return undefined;
  const eol = buf.indexOf(CRLF, pos);
  if (eol < 0) return undefined;
  const type = buf[pos];
  const line = buf.toString('latin1', pos + 1, eol);
  switch (type) {
    case 0x2b: return { value: line, end: eol + 2 };                 // + simple string
    case 0x2d: return { value: new RespError(line), end: eol + 2 };  // - error
    case 0x3a: return { value: Number(line), end: eol + 2 };         // : integer
    case 0x5f: return { value: null, end: eol + 2 };                 // _ RESP3 null
    case 0x24: {                                                     // $ bulk string
      const n = Number.parseInt(line, 10);
      if (n < 0) return { value: null, end: eol + 2 };
      const start = eol + 2;
      if (start + n + 2 > buf.length) return undefined;
      return { value: Buffer.from(buf.subarray(start, start + n)), end: start + n + 2 };
    }
    case 0x2a: {                                                     // * array
      const n = Number.parseInt(line, 10);
      if (n < 0) return { value: null, end: eol + 2 };
      const items: Reply[] = [];
      let p = eol + 2;
      for (let i = 0; i < n; i++) {
        const r = parseReply(buf, p);
        if (r === undefined) return undefined;
        items.push(r.value);
        p = r.end;
      }
      return { value: items, end: p };
    }
    default:
      throw new Error(`RESP protocol error: unexpected type byte 0x${(type ?? 0).toString(16)} at offset ${pos}`);
  }
}

/**
 * Encodes many commands into one growing buffer, without a Buffer per argument
 * (the bulk loaders send millions of commands from a 2-core box's other core).
 */
export class CommandBatch {
  #buf: Buffer;
  #off = 0;
  /** Commands added since the last take(). */
  count = 0;

  constructor(initialBytes = 64 * 1024) {
    this.#buf = Buffer.allocUnsafe(initialBytes);
  }

  get bytes(): number {
    return this.#off;
  }

  #ensure(n: number): void {
    if (this.#off + n <= this.#buf.length) return;
    const b = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#off + n));
    this.#buf.copy(b, 0, 0, this.#off);
    this.#buf = b;
  }

  add(argv: readonly Arg[]): this {
    let size = 16;
    for (const a of argv) size += 16 + (typeof a === 'string' ? Buffer.byteLength(a) : a.length);
    this.#ensure(size);
    const buf = this.#buf;
    this.#off += buf.write(`*${argv.length}\r\n`, this.#off, 'latin1');
    for (const a of argv) {
      const len = typeof a === 'string' ? Buffer.byteLength(a) : a.length;
      this.#off += buf.write(`$${len}\r\n`, this.#off, 'latin1');
      this.#off += typeof a === 'string' ? buf.write(a, this.#off) : a.copy(buf, this.#off);
      buf[this.#off++] = 13;
      buf[this.#off++] = 10;
    }
    this.count++;
    return this;
  }

  /** The encoded commands so far; the batch starts empty again. */
  take(): Buffer {
    const out = this.#buf.subarray(0, this.#off);
    this.#buf = Buffer.allocUnsafe(this.#buf.length);
    this.#off = 0;
    this.count = 0;
    return out;
  }
}

/** `n` replies in a row go to `resolve` (n = 1 for pipeline(), a whole batch for stream()). */
interface Pending { resolve: (r: Reply) => void; reject: (e: Error) => void; n: number }
interface Waiter { limit: number; resolve: () => void; reject: (e: Error) => void }

export class RespClient {
  readonly #socket: net.Socket;
  readonly #pending: Pending[] = [];
  #buf: Buffer = Buffer.alloc(0);
  #off = 0;
  #closed: Error | null = null;
  #unanswered = 0;
  #waiters: Waiter[] = [];

  private constructor(socket: net.Socket, timeoutMs: number) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.setTimeout(timeoutMs, () => {
      if (this.#pending.length > 0) this.#fail(new Error(`no reply from server within ${timeoutMs} ms`));
    });
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err) => this.#fail(err));
    socket.on('close', () => this.#fail(new Error('connection closed by server')));
  }

  /** Connects to host:port; every reply must arrive within `timeoutMs` of the previous activity. */
  static connect(port: number, host = '127.0.0.1', timeoutMs = 10_000): Promise<RespClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${host}:${port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new RespClient(socket, timeoutMs));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  /** Sends one command; resolves with its reply (a RespError reply resolves, it does not reject). */
  send(argv: readonly Arg[]): Promise<Reply> {
    return this.pipeline([argv]).then((r) => r[0] ?? null);
  }

  /** Writes all commands in one write and resolves with their replies in order. */
  pipeline(cmds: readonly (readonly Arg[])[]): Promise<Reply[]> {
    if (this.#closed) return Promise.reject(this.#closed);
    const replies = cmds.map((argv) => new Promise<Reply>((resolve, reject) => {
      this.#pending.push({ resolve, reject, n: 1 });
    }));
    this.#unanswered += cmds.length;
    this.#socket.write(Buffer.concat(cmds.map(encodeCommand)));
    return Promise.all(replies);
  }

  /**
   * Bulk mode: writes `bytes` (holding `count` encoded commands, e.g. from
   * CommandBatch.take()) and gives each of their replies to `onReply`, in order.
   * Resolves as soon as at most `window` commands of this connection are unanswered,
   * so a loader awaiting it keeps about `window` commands in flight.
   */
  stream(bytes: Buffer, count: number, onReply: (r: Reply) => void, window: number): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closed);
    if (count > 0) {
      this.#pending.push({ resolve: onReply, reject: () => { /* reported through the returned promise */ }, n: count });
      this.#unanswered += count;
      this.#socket.write(bytes);
    }
    return this.settle(window);
  }

  /** Resolves once at most `limit` commands are unanswered (settle(0): all replies are in). */
  settle(limit = 0): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closed);
    if (this.#unanswered <= limit) return Promise.resolve();
    return new Promise((resolve, reject) => this.#waiters.push({ limit, resolve, reject }));
  }

  close(): void {
    this.#closed ??= new Error('client closed');
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    this.#buf = this.#off >= this.#buf.length ? chunk : Buffer.concat([this.#buf.subarray(this.#off), chunk]);
    this.#off = 0;
    for (;;) {
      let r: Parsed | undefined;
      try {
        r = parseReply(this.#buf, this.#off);
      } catch (e) {
        this.#fail(e as Error);
        this.#socket.destroy();
        return;
      }
      if (r === undefined) return;
      this.#off = r.end;
      const p = this.#pending[0];
      if (p === undefined) {
        this.#fail(new Error('server sent a reply nobody asked for'));
        this.#socket.destroy();
        return;
      }
      if (--p.n === 0) this.#pending.shift();
      this.#unanswered--;
      try {
        p.resolve(r.value);
      } catch (e) {
        // A stream() callback rejected a reply: fail everything waiting, so the
        // loader's await rejects with that error instead of an uncaught throw here.
        this.#fail(e as Error);
        this.#socket.destroy();
        return;
      }
      if (this.#waiters.length > 0) this.#wake();
    }
  }

  #wake(): void {
    const still: Waiter[] = [];
    for (const w of this.#waiters) {
      if (this.#unanswered <= w.limit) w.resolve();
      else still.push(w);
    }
    this.#waiters = still;
  }

  #fail(err: Error): void {
    this.#closed ??= err;
    for (const p of this.#pending.splice(0)) p.reject(err);
    for (const w of this.#waiters.splice(0)) w.reject(err);
  }
}

/** Short human-readable rendering of a reply for error messages. */
export function showReply(r: Reply | undefined): string {
  if (r === undefined) return '(no reply)';
  if (r === null) return '(nil)';
  if (r instanceof RespError) return `-${r.message}`;
  if (Buffer.isBuffer(r)) return JSON.stringify(r.toString('latin1').slice(0, 60));
  if (Array.isArray(r)) return `[${r.slice(0, 5).map(showReply).join(', ')}${r.length > 5 ? ', ...' : ''}]`;
  return typeof r === 'string' ? `+${r}` : `:${r}`;
}
