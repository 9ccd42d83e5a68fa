// A minimal raw RESP client for integration tests: `run(['SET','k','v'])` sends one
// command as a RESP array of bulk strings and resolves with the decoded reply. Error
// replies resolve as `{ error: '<text without the leading ->' }` so tests can compare
// them like any other value. `runRaw` returns the exact reply bytes where the RESP
// type matters (+OK vs $2 OK), and `rawSend` writes arbitrary bytes and collects
// whatever comes back until the server closes or goes quiet (protocol-error tests).
//
// Decoding: simple and bulk strings → string (utf8; `{ buffers: true }` → Buffer),
// integers → number (bigint beyond 2^53), null bulk / null array / RESP3 null → null,
// arrays, sets and pushes → arrays, RESP3 maps → Map, doubles → number,
// booleans → boolean, big numbers → bigint, verbatim strings → their text.

import net from 'node:net';

export type RespError = { error: string };
export type RespValue =
  | string
  | Buffer
  | number
  | bigint
  | boolean
  | null
  | RespError
  | RespValue[]
  | Map<RespValue, RespValue>;

const CRLF = '\r\n';

/** Encodes argv as a RESP array of bulk strings. */
export function encodeCommand(argv: readonly (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${argv.length}${CRLF}`)];
  for (const arg of argv) {
    const b = typeof arg === 'string' ? Buffer.from(arg) : arg;
    parts.push(Buffer.from(`$${b.length}${CRLF}`), b, Buffer.from(CRLF));
  }
  return Buffer.concat(parts);
}

/** Thrown inside the parser when the buffer ends before a whole reply. */
class Incomplete extends Error {}

type Parsed = { value: RespValue; end: number };

/** Parses one reply at `pos`; throws Incomplete when more bytes are needed. */
function parseReply(buf: Buffer, pos: number, buffers: boolean): Parsed {
  if (pos >= buf.length) throw new Incomplete();
  const lineEnd = buf.indexOf(CRLF, pos);
  if (lineEnd < 0) throw new Incomplete();
  const type = String.fromCharCode(buf[pos] ?? 0);
  const line = buf.toString('utf8', pos + 1, lineEnd);
  const next = lineEnd + 2;
  const bulk = (n: number): Parsed => {
    if (buf.length < next + n + 2) throw new Incomplete();
    const body = buf.subarray(next, next + n);
    return { value: buffers ? Buffer.from(body) : body.toString('utf8'), end: next + n + 2 };
  };
  const aggregate = (n: number): { items: RespValue[]; end: number } => {
    const items: RespValue[] = [];
    let p = next;
    for (let i = 0; i < n; i++) {
      const r = parseReply(buf, p, buffers);
      items.push(r.value);
      p = r.end;
    }
    return { items, end: p };
  };
  switch (type) {
    case '+':
      return { value: buffers ? Buffer.from(line) : line, end: next };
    case '-':
      return { value: { error: line }, end: next };
    case ':': {
      const n = Number(line);
      return { value: Number.isSafeInteger(n) ? n : BigInt(line), end: next };
    }
    case '$': {
      const n = Number(line);
      if (n < 0) return { value: null, end: next };
      return bulk(n);
    }
    case '=': {
      // Verbatim string: "txt:" prefix then the text.
      const r = bulk(Number(line));
      const v = r.value;
      return { value: typeof v === 'string' ? v.slice(4) : (v as Buffer).subarray(4), end: r.end };
    }
    case '!': {
      const r = bulk(Number(line));
      return { value: { error: String(r.value) }, end: r.end };
    }
    case '*':
    case '~':
    case '>': {
      const n = Number(line);
      if (n < 0) return { value: null, end: next };
      const r = aggregate(n);
      return { value: r.items, end: r.end };
    }
    case '%':
    case '|': {
      const r = aggregate(Number(line) * 2);
      const m = new Map<RespValue, RespValue>();
      for (let i = 0; i < r.items.length; i += 2) m.set(r.items[i] ?? null, r.items[i + 1] ?? null);
      if (type === '|') {
        // Attribute: skip it and return the reply that follows.
        return parseReply(buf, r.end, buffers);
      }
      return { value: m, end: r.end };
    }
    case '_':
      return { value: null, end: next };
    case ',':
      return { value: Number(line.replace(/^(-?)inf$/, '$1Infinity')), end: next };
    case '#':
      return { value: line === 't', end: next };
    case '(':
      return { value: BigInt(line), end: next };
    default:
      throw new Error(`unparseable reply byte ${JSON.stringify(type)} at ${pos}: ${JSON.stringify(buf.toString('latin1', pos, pos + 40))}`);
  }
}

type Waiter = { buffers: boolean; raw: boolean; resolve: (v: RespValue | Buffer) => void; reject: (e: Error) => void };

/** One persistent connection answering commands in order. */
export class RespClient {
  readonly #socket: net.Socket;
  #buf: Buffer = Buffer.alloc(0);
  readonly #waiters: Waiter[] = [];
  #closed = false;
  #closeError: Error | null = null;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
      this.#drain();
    });
    const onEnd = (err?: Error): void => {
      this.#closed = true;
      this.#closeError = err ?? new Error('connection closed');
      for (const w of this.#waiters.splice(0)) w.reject(this.#closeError);
    };
    socket.on('error', (err) => onEnd(err));
    socket.on('close', () => onEnd());
  }

  /** Connects within `timeoutMs` (default 5 s). */
  static connect(port: number, host = '127.0.0.1', timeoutMs = 5000): Promise<RespClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host });
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${host}:${port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new RespClient(socket));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  #drain(): void {
    while (this.#waiters.length > 0 && this.#buf.length > 0) {
      const w = this.#waiters[0];
      if (w === undefined) return;
      let parsed: Parsed;
      try {
        parsed = parseReply(this.#buf, 0, w.buffers);
      } catch (err) {
        if (err instanceof Incomplete) return;
        this.#waiters.shift();
        w.reject(err as Error);
        return;
      }
      this.#waiters.shift();
      const bytes = this.#buf.subarray(0, parsed.end);
      this.#buf = this.#buf.subarray(parsed.end);
      w.resolve(w.raw ? Buffer.from(bytes) : parsed.value);
    }
  }

  #send(argv: readonly (string | Buffer)[] | null, buffers: boolean, raw: boolean, timeoutMs: number): Promise<RespValue | Buffer> {
    if (this.#closed) return Promise.reject(this.#closeError ?? new Error('connection closed'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`no reply to ${JSON.stringify((argv ?? ['<written bytes>']).map(String).slice(0, 4))} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.push({
        buffers,
        raw,
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      if (argv !== null) this.#socket.write(encodeCommand(argv));
    });
  }

  /** Waits for the next reply's exact bytes without sending anything (pair with `write`). */
  nextRaw(timeoutMs = 10_000): Promise<Buffer> {
    return this.#send(null, false, true, timeoutMs) as Promise<Buffer>;
  }

  /** Sends one command and resolves with the decoded reply (errors as `{ error }`). */
  run(argv: readonly (string | Buffer)[], opts: { buffers?: boolean; timeoutMs?: number } = {}): Promise<RespValue> {
    return this.#send(argv, opts.buffers ?? false, false, opts.timeoutMs ?? 10_000) as Promise<RespValue>;
  }

  /** Sends one command and resolves with the exact bytes of its reply. */
  runRaw(argv: readonly (string | Buffer)[], timeoutMs = 10_000): Promise<Buffer> {
    return this.#send(argv, false, true, timeoutMs) as Promise<Buffer>;
  }

  /** Writes bytes without waiting for anything (for hand-made frames). */
  write(bytes: Buffer | string): void {
    this.#socket.write(bytes);
  }

  /** Closes the connection; resolves when the socket is closed (bounded 2 s). */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#socket.destroy();
        resolve();
      }, 2000);
      this.#socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.#socket.end();
    });
  }
}

export type RawResult = { data: Buffer; closed: boolean };

/**
 * Opens a fresh connection, writes `bytes`, and collects everything the server sends
 * until it closes the connection (`closed: true`) or stays quiet for `quietMs`
 * (default 300 ms), bounded overall by `timeoutMs` (default 5 s).
 */
export function rawSend(
  port: number,
  bytes: Buffer | string,
  opts: { quietMs?: number; timeoutMs?: number; host?: string } = {},
): Promise<RawResult> {
  const quietMs = opts.quietMs ?? 300;
  const timeoutMs = opts.timeoutMs ?? 5000;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: opts.host ?? '127.0.0.1' });
    const chunks: Buffer[] = [];
    let done = false;
    let quiet: NodeJS.Timeout | undefined;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(overall);
      if (quiet) clearTimeout(quiet);
      socket.destroy();
      resolve({ data: Buffer.concat(chunks), closed });
    };
    const armQuiet = (): void => {
      if (quiet) clearTimeout(quiet);
      quiet = setTimeout(() => finish(false), quietMs);
    };
    const overall = setTimeout(() => finish(false), timeoutMs);
    socket.on('connect', () => {
      socket.write(bytes);
      armQuiet();
    });
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      armQuiet();
    });
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (chunks.length > 0 || err.code === 'ECONNRESET' || err.code === 'EPIPE') finish(true);
      else if (!done) {
        done = true;
        clearTimeout(overall);
        if (quiet) clearTimeout(quiet);
        reject(err);
      }
    });
  });
}

/** Opens a client and returns bound helpers: `const { run } = await connect(port)`. */
export async function connect(port: number, host = '127.0.0.1'): Promise<{
  client: RespClient;
  run: RespClient['run'];
  runRaw: RespClient['runRaw'];
  close: () => Promise<void>;
}> {
  const client = await RespClient.connect(port, host);
  return {
    client,
    run: client.run.bind(client),
    runRaw: client.runRaw.bind(client),
    close: () => client.close(),
  };
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A command and the reply Redis 7 gives to it. */
export type Row = readonly [argv: readonly (string | Buffer)[], expected: unknown];

type Same = { same(found: unknown, wanted: unknown, message: string): boolean };

/**
 * Runs rows in order on one connection, asserting each reply with `t.same`; the
 * assertion message is the command as redis-cli would show it.
 */
export async function expectReplies(t: Same, run: RespClient['run'], rows: readonly Row[]): Promise<void> {
  for (const [argv, expected] of rows) {
    const reply = await run(argv);
    t.same(reply, expected, argv.map((a) => (typeof a === 'string' ? (a.length > 40 ? `${a.slice(0, 40)}…` : a) : `<${a.length} bytes>`)).join(' '));
  }
}

/** `{ error: text }` — reads better in tables than the object literal. */
export function err(text: string): RespError {
  return { error: text };
}

/** Parses an INFO reply (`field:value` lines; `# Section` headers skipped) into a map. */
/** INFO <section> through `run`, as a field map. */
export async function info(run: (argv: string[]) => Promise<RespValue>, section: string): Promise<Map<string, string>> {
  return parseInfo(await run(['INFO', section]));
}

/** One numeric INFO field (NaN when absent). */
export async function infoNum(run: (argv: string[]) => Promise<RespValue>, section: string, field: string): Promise<number> {
  const v = (await info(run, section)).get(field);
  return v === undefined ? Number.NaN : Number(v);
}

export function parseInfo(reply: RespValue): Map<string, string> {
  const out = new Map<string, string>();
  if (typeof reply !== 'string') return out;
  for (const line of reply.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) out.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return out;
}

/**
 * Runs `commands` in order, sending `chunk` of them at a time back to back (pipelined)
 * before awaiting their replies; resolves with every reply in order.
 */
export async function runMany(
  run: RespClient['run'],
  commands: readonly (readonly (string | Buffer)[])[],
  chunk = 1000,
): Promise<RespValue[]> {
  const out: RespValue[] = [];
  for (let i = 0; i < commands.length; i += chunk) {
    out.push(...(await Promise.all(commands.slice(i, i + chunk).map((argv) => run(argv)))));
  }
  return out;
}

/** runMany on a fresh connection closed afterwards (so its buffers do not count in memory figures). */
export async function runManyFresh(
  port: number,
  commands: readonly (readonly (string | Buffer)[])[],
  chunk = 1000,
): Promise<RespValue[]> {
  const c = await connect(port);
  try {
    return await runMany(c.run, commands, chunk);
  } finally {
    await c.close();
  }
}

/**
 * Polls `probe` every `intervalMs` until `done(value)` or `timeoutMs` elapse; resolves
 * with the last value seen, whether it satisfied `done`, and the time taken.
 */
export async function pollUntil<T>(
  probe: () => Promise<T>,
  done: (v: T) => boolean,
  timeoutMs: number,
  intervalMs = 100,
): Promise<{ value: T; ok: boolean; ms: number }> {
  const start = Date.now();
  for (;;) {
    const value = await probe();
    if (done(value)) return { value, ok: true, ms: Date.now() - start };
    if (Date.now() - start >= timeoutMs) return { value, ok: false, ms: Date.now() - start };
    await sleep(intervalMs);
  }
}

export type BlastResult = { replies: number; errorCount: number; errors: string[]; ms: number };

/**
 * High-volume pipelining on a fresh connection: writes the pre-encoded `frames`
 * (rotating through them) `repeat` times in total, each frame producing
 * `repliesPerFrame` replies, with at most `window` frames in flight; counts the replies
 * and keeps the first few error texts. Rejects after `timeoutMs` (default 60 s).
 */
export function blast(
  port: number,
  frames: readonly Buffer[],
  repliesPerFrame: number,
  repeat: number,
  opts: { window?: number; timeoutMs?: number; host?: string } = {},
): Promise<BlastResult> {
  const window = Math.max(1, opts.window ?? 50);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const start = Date.now();
  return new Promise((resolve, reject) => {
    if (frames.length === 0 || repeat <= 0) {
      resolve({ replies: 0, errorCount: 0, errors: [], ms: 0 });
      return;
    }
    const socket = net.connect({ port, host: opts.host ?? '127.0.0.1' });
    socket.setNoDelay(true);
    let buf: Buffer = Buffer.alloc(0);
    let sentFrames = 0;
    let expected = 0;
    let replies = 0;
    let errorCount = 0;
    const errors: string[] = [];
    let done = false;
    const finish = (e?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (e) reject(e);
      else resolve({ replies, errorCount, errors, ms: Date.now() - start });
    };
    const timer = setTimeout(
      () => finish(new Error(`blast: ${replies}/${repeat * repliesPerFrame} replies after ${timeoutMs} ms`)),
      timeoutMs,
    );
    const sendWindow = (): void => {
      const n = Math.min(window, repeat - sentFrames);
      const parts: Buffer[] = [];
      for (let i = 0; i < n; i++) parts.push(frames[(sentFrames + i) % frames.length] as Buffer);
      sentFrames += n;
      expected += n * repliesPerFrame;
      socket.write(Buffer.concat(parts));
    };
    socket.on('connect', () => sendWindow());
    socket.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      let pos = 0;
      try {
        while (pos < buf.length) {
          const r = parseReply(buf, pos, false);
          pos = r.end;
          replies++;
          const v = r.value;
          if (typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Map) && 'error' in v) {
            errorCount++;
            if (errors.length < 5) errors.push(v.error);
          }
        }
      } catch (e) {
        if (!(e instanceof Incomplete)) {
          finish(e as Error);
          return;
        }
      }
      buf = buf.subarray(pos);
      if (replies === expected) {
        if (sentFrames < repeat) sendWindow();
        else finish();
      } else if (replies > expected) {
        finish(new Error(`blast: more replies (${replies}) than commands sent (${expected})`));
      }
    });
    socket.on('error', (e) => finish(e));
    socket.on('close', () => finish(new Error(`blast: connection closed after ${replies}/${expected} replies`)));
  });
}
