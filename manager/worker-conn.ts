/**
 * WorkerConn: the manager's one persistent RESP connection to one shard worker (plain
 * TCP, or TLS when tls-cluster is yes). Health checks (SHOAL.LEASE), topology pushes
 * (SHOAL.TOPOLOGY) and fencing (SHOAL.FENCE) all travel on it, in the order they are
 * sent.
 *
 * Why one connection, in order: a worker that was stopped (SIGSTOP, a long pause)
 * finds everything the manager sent meanwhile in one socket buffer when it resumes.
 * A lease sent before a failover is then always followed, on the same connection and
 * usually in the same read, by the SHOAL.TOPOLOGY that demotes it, so the stale lease
 * cannot let it acknowledge writes once a replica has been promoted.
 *
 * So a command that times out does NOT close the connection: its slot stays in the
 * FIFO and its late reply is matched and dropped. The connection is closed only when
 * the socket fails (the worker died or reset it); `ensureConnected` opens a new one.
 *
 * Replies are decoded from RESP2 (the protocol a fresh connection speaks): simple
 * strings, errors (as WorkerError values, not thrown), integers, bulk strings (utf8
 * text) and arrays.
 */
import net, { type Socket } from 'node:net';
import tls from 'node:tls';
import type { ShoalConfig } from '../shared/config/schema.js';
import { clientTlsOptions } from '../shared/tls/settings.js';

/** An error reply (`-ERR ...`): a value, so callers can tell it from a dead link. */
export class WorkerError {
  constructor(readonly message: string) {}
}

export type WorkerReply = string | number | null | WorkerError | WorkerReply[];

interface Pending {
  resolve: (r: WorkerReply) => void;
  reject: (e: Error) => void;
  /** The caller gave up (timeout): the reply is still read off the wire, then dropped. */
  abandoned: boolean;
  timer: NodeJS.Timeout | null;
}

const CONNECT_TIMEOUT_MS = 1000;

export class WorkerConn {
  #socket: Socket | null = null;
  #ready = false;
  #pending: Pending[] = [];
  #buf: Buffer = Buffer.alloc(0);
  #closed = false;
  /** Bumped on every new socket, so events of an old one are ignored. */
  #generation = 0;

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly config: Pick<ShoalConfig, 'tlsCluster'> & Partial<ShoalConfig>,
  ) {}

  /** True while a socket is connected and writable. */
  get connected(): boolean {
    return this.#ready;
  }

  /** Opens a connection if there is none and none is being opened. */
  ensureConnected(): void {
    if (this.#closed || this.#socket !== null) return;
    const gen = ++this.#generation;
    let socket: Socket;
    try {
      socket = this.config.tlsCluster === 'yes'
        ? tls.connect({ ...clientTlsOptions(this.config as ShoalConfig), host: this.host, port: this.port })
        : net.connect({ host: this.host, port: this.port });
    } catch {
      return; // a bad TLS file: reported by whoever started with it; stays unreachable
    }
    this.#socket = socket;
    socket.setNoDelay(true);
    const connectTimer = setTimeout(() => socket.destroy(), CONNECT_TIMEOUT_MS);
    socket.once(socket instanceof tls.TLSSocket ? 'secureConnect' : 'connect', () => {
      clearTimeout(connectTimer);
      if (gen === this.#generation) this.#ready = true;
    });
    socket.on('data', (chunk: Buffer) => {
      if (gen === this.#generation) this.#onData(chunk);
    });
    socket.on('error', () => { /* 'close' follows */ });
    socket.on('close', () => {
      clearTimeout(connectTimer);
      if (gen !== this.#generation) return;
      this.#socket = null;
      this.#ready = false;
      this.#buf = Buffer.alloc(0);
      const err = new Error(`connection to ${this.host}:${this.port} closed`);
      for (const p of this.#pending.splice(0)) {
        if (p.timer) clearTimeout(p.timer);
        if (!p.abandoned) p.reject(err);
      }
    });
  }

  /**
   * Sends one command; resolves with its reply (an error reply as a WorkerError),
   * rejects when not connected, when the connection breaks, or after `timeoutMs`
   * (the connection stays open; see the file comment).
   */
  send(argv: readonly string[], timeoutMs: number): Promise<WorkerReply> {
    if (!this.#ready || this.#socket === null) return Promise.reject(new Error(`not connected to ${this.host}:${this.port}`));
    const socket = this.#socket;
    return new Promise((resolve, reject) => {
      const p: Pending = { resolve, reject, abandoned: false, timer: null };
      p.timer = setTimeout(() => {
        p.abandoned = true;
        p.timer = null;
        reject(new Error(`no reply from ${this.host}:${this.port} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.push(p);
      socket.write(encode(argv));
    });
  }

  /** Commands sent and not answered yet (including abandoned ones). */
  get inFlight(): number {
    return this.#pending.length;
  }

  close(): void {
    this.#closed = true;
    this.#socket?.destroy();
  }

  #onData(chunk: Buffer): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    let pos = 0;
    for (;;) {
      let parsed: { value: WorkerReply; end: number } | undefined;
      try {
        parsed = parse(this.#buf, pos);
      } catch {
        this.#socket?.destroy(); // not RESP: drop the link, a new one starts clean
        return;
      }
      if (parsed === undefined) break;
      pos = parsed.end;
      const p = this.#pending.shift();
      if (p === undefined) continue; // nothing asked (cannot happen with a RESP server)
      if (p.timer) clearTimeout(p.timer);
      if (!p.abandoned) p.resolve(parsed.value);
    }
    this.#buf = pos === this.#buf.length ? Buffer.alloc(0) : this.#buf.subarray(pos);
  }
}

function encode(argv: readonly string[]): Buffer {
  let s = `*${argv.length}\r\n`;
  for (const a of argv) s += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
  return Buffer.from(s);
}

/** One RESP2 reply at `pos`, or undefined when the buffer does not hold all of it yet. */
function parse(buf: Buffer, pos: number): { value: WorkerReply; end: number } | undefined {
  if (pos >= buf.length) return undefined;
  const eol = buf.indexOf('\r\n', pos);
  if (eol < 0) return undefined;
  const line = buf.toString('utf8', pos + 1, eol);
  switch (buf[pos]) {
    case 0x2b: return { value: line, end: eol + 2 };                   // +
    case 0x2d: return { value: new WorkerError(line), end: eol + 2 };  // -
    case 0x3a: return { value: Number(line), end: eol + 2 };           // :
    case 0x5f: return { value: null, end: eol + 2 };                   // _ (RESP3 null)
    case 0x24: {                                                       // $
      const n = Number(line);
      if (n < 0) return { value: null, end: eol + 2 };
      if (eol + 2 + n + 2 > buf.length) return undefined;
      return { value: buf.toString('utf8', eol + 2, eol + 2 + n), end: eol + 2 + n + 2 };
    }
    case 0x2a: {                                                       // *
      const n = Number(line);
      if (n < 0) return { value: null, end: eol + 2 };
      const items: WorkerReply[] = [];
      let p = eol + 2;
      for (let i = 0; i < n; i++) {
        const r = parse(buf, p);
        if (r === undefined) return undefined;
        items.push(r.value);
        p = r.end;
      }
      return { value: items, end: p };
    }
    default:
      throw new Error(`unexpected RESP type byte ${buf[pos]}`);
  }
}
