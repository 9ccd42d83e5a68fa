// One load-generator connection: writes requests encoded by CommandWriter into a
// reused output slab, matches replies to requests in FIFO order and records each
// request's latency.
//
// Per request it keeps only a start time and a command code in typed-array rings:
//
//      head            sent               tail
//       v               v                  v
//   ... | in flight ... | queued (open loop) | free ...      (indexes & mask)
//
// - closed loop: sendBatch() writes `pipeline` requests at once, all stamped with the
//   time of that write, and the next batch goes when the last reply of this one is in
//   (redis-benchmark's -P);
// - open loop: the scheduler enqueue()s requests stamped with their INTENDED send time
//   and flush() writes them while fewer than `pipeline` are unanswered; a request that
//   waits in the queue keeps its intended time, so a stall shows in its latency.
//
// Reads use `onread` into one preallocated buffer (no Buffer per read); only a reply
// cut by the end of a read is copied, into a carry buffer. The per-request work
// (encode, scan, record) allocates nothing.

import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { errorLine, errorPrefix } from './error-reply.js';
import { replyEnd } from '../../shared/resp/reply-scanner.js';
import type { CommandWriter } from './workload.js';
import type { RunStats } from './stats.js';

/** What a connection needs from the run it belongs to. */
export interface RunControl {
  readonly writer: CommandWriter;
  readonly stats: RunStats;
  /** Requests stamped before this (warm-up) are not recorded. */
  readonly measureStart: number;
  /** Closed loop: how many of `want` requests may still be sent (0 = stop). */
  grant(want: number, now: number): number;
  /** A reply came in (or a request was given up); lets the run notice it is drained. */
  settled(n: number): void;
  /** The connection broke mid-run. */
  broken(conn: LoadConnection, reason: string): void;
}

export interface ConnectOptions {
  host: string;
  port: number;
  user?: string | undefined;
  pass?: string | undefined;
  connectTimeoutMs: number;
}

const READ_BUFFER = 64 * 1024;
const SLAB = 256 * 1024;

function encodeArgs(argv: string[]): Buffer {
  let s = `*${argv.length}\r\n`;
  for (const a of argv) s += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
  return Buffer.from(s);
}

export class LoadConnection {
  readonly socket: net.Socket;
  /** Max unanswered requests. */
  readonly cap: number;
  #run: RunControl | null = null;
  #openLoop = false;
  #times: Float64Array;
  #codes: Uint8Array;
  #mask: number;
  #head = 0;
  #sent = 0;
  #tail = 0;
  #slab: Buffer = Buffer.allocUnsafe(SLAB);
  #slabOff = 0;
  #carry: Buffer = Buffer.allocUnsafe(READ_BUFFER);
  #carryLen = 0;
  /** Handshake replies still expected (AUTH), answered before any workload reply. */
  #control: { pending: number; resolve: () => void; reject: (e: Error) => void } | null = null;
  #closed = false;
  /** Open loop: set while the scheduler has this connection on its to-flush list. */
  dirty = false;

  private constructor(socket: net.Socket, cap: number) {
    this.socket = socket;
    this.cap = cap;
    let size = 16;
    while (size < Math.min(cap * 2, 1024)) size *= 2;
    this.#times = new Float64Array(size);
    this.#codes = new Uint8Array(size);
    this.#mask = size - 1;
  }

  /** Connects (and AUTHs when a password is given); rejects with the server's error. */
  static open(o: ConnectOptions, cap: number): Promise<LoadConnection> {
    return new Promise((resolve, reject) => {
      let conn: LoadConnection | undefined;
      const readBuf = Buffer.allocUnsafe(READ_BUFFER);
      const socket = net.connect({
        host: o.host,
        port: o.port,
        noDelay: true,
        onread: { buffer: readBuf, callback: (n: number, buf: Uint8Array) => { conn?.onRead(buf as Buffer, n); return true; } },
      });
      conn = new LoadConnection(socket, cap);
      const c = conn;
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${o.host}:${o.port} timed out after ${o.connectTimeoutMs} ms`));
      }, o.connectTimeoutMs);
      const fail = (e: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(new Error(`${o.host}:${o.port}: ${e.message}`));
      };
      socket.once('error', fail);
      socket.once('connect', () => {
        socket.off('error', fail);
        socket.on('error', (e) => c.#onClose(`connection error: ${e.message}`));
        socket.on('close', () => c.#onClose('connection closed by the server'));
        if (o.pass === undefined) {
          clearTimeout(timer);
          resolve(c);
          return;
        }
        c.#control = {
          pending: 1,
          resolve: () => { clearTimeout(timer); resolve(c); },
          reject: (e) => { clearTimeout(timer); socket.destroy(); reject(e); },
        };
        socket.write(encodeArgs(o.user === undefined ? ['AUTH', o.pass] : ['AUTH', o.user, o.pass]));
      });
    });
  }

  /** Attaches the connection to a run (before any request). */
  attach(run: RunControl, openLoop: boolean): void {
    this.#run = run;
    this.#openLoop = openLoop;
  }

  /** Requests sent and not answered yet. */
  get inFlight(): number {
    return this.#sent - this.#head;
  }

  /** Open loop: requests scheduled but not written yet (waiting for the cap). */
  get queued(): number {
    return this.#tail - this.#sent;
  }

  /** Room for `bytes` more bytes in the output slab (a full slab is left to pending writes). */
  #reserve(bytes: number): void {
    if (this.#slabOff + bytes <= this.#slab.length) return;
    this.#slab = Buffer.allocUnsafe(Math.max(SLAB, bytes));
    this.#slabOff = 0;
  }

  #grow(): void {
    const size = this.#times.length * 2;
    const times = new Float64Array(size);
    const codes = new Uint8Array(size);
    for (let i = this.#head; i < this.#tail; i++) {
      times[i & (size - 1)] = this.#times[i & this.#mask]!;
      codes[i & (size - 1)] = this.#codes[i & this.#mask]!;
    }
    this.#times = times;
    this.#codes = codes;
    this.#mask = size - 1;
  }

  /** Closed loop: writes the next batch of up to `cap` requests, all stamped `now`. */
  sendBatch(now: number): void {
    const run = this.#run!;
    const n = run.grant(this.cap - this.inFlight, now);
    if (n <= 0 || this.#closed) return;
    const w = run.writer;
    this.#reserve(n * w.maxBytes);
    const slab = this.#slab;
    const start = this.#slabOff;
    let off = start;
    const mask = this.#mask;
    for (let k = 0; k < n; k++) {
      const code = w.pick();
      off = w.write(code, slab, off);
      const i = this.#tail++ & mask;
      this.#codes[i] = code;
      this.#times[i] = now;
    }
    this.#sent = this.#tail;
    this.#slabOff = off;
    this.socket.write(slab.subarray(start, off));
  }

  /** Open loop: schedules one request whose intended send time is `intended`. */
  enqueue(intended: number): void {
    if (this.#tail - this.#head > this.#mask) this.#grow();
    this.#times[this.#tail++ & this.#mask] = intended;
  }

  /** Open loop: writes queued requests while fewer than `cap` are unanswered. */
  flush(): void {
    const n = Math.min(this.#tail - this.#sent, this.cap - (this.#sent - this.#head));
    if (n <= 0 || this.#closed) return;
    const w = this.#run!.writer;
    this.#reserve(n * w.maxBytes);
    const slab = this.#slab;
    const start = this.#slabOff;
    let off = start;
    const mask = this.#mask;
    for (let k = 0; k < n; k++) {
      const code = w.pick();
      off = w.write(code, slab, off);
      this.#codes[this.#sent++ & mask] = code;
    }
    this.#slabOff = off;
    this.socket.write(slab.subarray(start, off));
  }

  /** Called by onread with `n` fresh bytes in `buf` (reused by the next read). */
  onRead(buf: Buffer, n: number): void {
    let data = buf;
    let end = n;
    if (this.#carryLen > 0) {
      const need = this.#carryLen + n;
      if (need > this.#carry.length) {
        const bigger = Buffer.allocUnsafe(Math.max(need, this.#carry.length * 2));
        this.#carry.copy(bigger, 0, 0, this.#carryLen);
        this.#carry = bigger;
      }
      buf.copy(this.#carry, this.#carryLen, 0, n);
      data = this.#carry;
      end = need;
    }
    let pos = 0;
    let done = 0;
    const now = performance.now();
    const run = this.#run;
    const stats = run?.stats;
    stats?.at(now);
    const measureStart = run?.measureStart ?? Infinity;
    try {
      for (;;) {
        const next = replyEnd(data, pos, end);
        if (next < 0) break;
        const isError = data[pos] === 45;
        if (this.#control !== null) {
          const ctl = this.#control;
          if (isError) {
            this.#control = null;
            ctl.reject(new Error(`AUTH failed: ${errorLine(data, pos, end)}`));
            return;
          }
          if (--ctl.pending === 0) {
            this.#control = null;
            ctl.resolve();
          }
        } else if (this.#head < this.#sent && stats !== undefined) {
          const i = this.#head++ & this.#mask;
          const t = this.#times[i]!;
          if (t >= measureStart) {
            const code = this.#codes[i]!;
            stats.record(code, Math.round((now - t) * 1000));
            if (isError) stats.error(code, errorPrefix(data, pos, end));
          }
          done++;
        } else {
          throw new Error('the server sent a reply to no request');
        }
        pos = next;
      }
    } catch (e) {
      this.#onClose(`bad reply: ${(e as Error).message}`);
      this.socket.destroy();
      return;
    }
    const left = end - pos;
    if (left > 0) {
      if (data === this.#carry) this.#carry.copyWithin(0, pos, end);
      else {
        if (left > this.#carry.length) this.#carry = Buffer.allocUnsafe(Math.max(left, READ_BUFFER));
        data.copy(this.#carry, 0, pos, end);
      }
    }
    this.#carryLen = left;
    if (done === 0 || run === null) return;
    if (this.#openLoop) {
      if (this.#tail > this.#sent) this.flush();
    } else if (this.#head === this.#sent) {
      this.sendBatch(now);
    }
    run.settled(done);
  }

  /** Gives up on every request still outstanding (counted as lost, type `type`). */
  abandon(type: string): number {
    const stats = this.#run?.stats;
    let n = 0;
    for (let i = this.#head; i < this.#tail; i++) {
      const k = i & this.#mask;
      // A queued (never sent) request has no command yet: -1.
      if (stats && this.#times[k]! >= (this.#run?.measureStart ?? Infinity)) stats.lost(i < this.#sent ? this.#codes[k]! : -1, type);
      n++;
    }
    this.#head = this.#sent = this.#tail;
    return n;
  }

  #onClose(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#control) {
      this.#control.reject(new Error(reason));
      this.#control = null;
    }
    this.#run?.broken(this, reason);
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    this.#closed = true;
    this.socket.destroy();
  }
}
