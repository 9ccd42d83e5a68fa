/**
 * WorkerLink: the proxy's framed connection to one shard worker.
 *
 * Commands for the worker accumulate in a batch (one per protocol version) while the
 * proxy handles socket reads; `flush()` — called once per event-loop turn — sends
 * each non-empty batch as one BATCH frame. Replies come back as REPLIES frames in
 * the same order, and each reply is handed to the Sink queued for it, as a byte
 * range of the received frame (no re-encoding).
 *
 * When the link is down (connect refused, socket closed, a request older than the
 * upstream timeout), every queued sink gets a CLUSTERDOWN error naming the worker,
 * new requests fail at once, and the link reconnects in the background with backoff.
 */
import { connect, type Socket } from 'node:net';
import { FrameReader, FrameKind, FLAG_RESP3, FRAME_HEADER, writeFrameHeader } from '../../shared/frame/codec.js';
import { replyEnd } from '../../shared/resp/reply-scanner.js';
import { endpointName, type WorkerEndpoint } from '../../shared/cluster/topology.js';
import type { Logger } from '../../shared/log.js';

/** Receives one reply: bytes [start, end) of buf are one complete RESP reply. */
export interface Sink {
  deliver(buf: Buffer, start: number, end: number): void;
}

const BATCH_INITIAL = 64 * 1024;
const RECONNECT_MIN_MS = 50;
const RECONNECT_MAX_MS = 1000;

class Batch {
  buf = Buffer.allocUnsafe(BATCH_INITIAL);
  pos = FRAME_HEADER; // room for the header
  count = 0;
  sinks: Sink[] = [];

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Appends argv as a RESP array. */
  add(argv: readonly Uint8Array[]): void {
    let need = 16;
    for (const a of argv) need += a.length + 16;
    this.ensure(need);
    const b = this.buf;
    let p = this.pos;
    p = writeLenLine(b, p, 0x2a, argv.length);
    for (const a of argv) {
      p = writeLenLine(b, p, 0x24, a.length);
      b.set(a, p);
      p += a.length;
      b[p++] = 13;
      b[p++] = 10;
    }
    this.pos = p;
    this.count++;
  }

  reset(): void {
    this.pos = FRAME_HEADER;
    this.count = 0;
    this.sinks = [];
    if (this.buf.length > 4 * 1024 * 1024) this.buf = Buffer.allocUnsafe(BATCH_INITIAL);
  }
}

function writeLenLine(b: Buffer, p: number, type: number, n: number): number {
  b[p++] = type;
  if (n < 10) {
    b[p++] = 48 + n;
  } else {
    const s = String(n);
    for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i);
  }
  b[p++] = 13;
  b[p++] = 10;
  return p;
}

export class WorkerLink {
  readonly endpoint: WorkerEndpoint;
  readonly name: string;
  #socket: Socket | null = null;
  #up = false;
  #downReason = 'not connected yet';
  #log: Logger;
  #reader = new FrameReader();
  #batches: [Batch, Batch] = [new Batch(), new Batch()]; // [RESP2, RESP3]
  /** Sinks of sent frames, in order; #sentAt[i] is when sink i's frame left. */
  #inflight: Sink[] = [];
  #inflightHead = 0;
  #sentAt: number[] = [];
  #backoff = RECONNECT_MIN_MS;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  #dirty = false;
  onDirty: (link: WorkerLink) => void = () => {};

  constructor(endpoint: WorkerEndpoint, log: Logger) {
    this.endpoint = endpoint;
    this.name = endpointName(endpoint);
    this.#log = log.child({ upstream: `${endpoint.host}:${endpoint.port}` });
    this.connect();
  }

  get up(): boolean {
    return this.#up;
  }

  get pending(): number {
    return this.#inflight.length - this.#inflightHead + this.#batches[0].count + this.#batches[1].count;
  }

  /** Error line (without '-') for requests that cannot reach this worker. */
  get downError(): string {
    return `CLUSTERDOWN ${this.name} is unavailable: ${this.#downReason}`;
  }

  /** Queues argv for this turn's batch; its reply goes to sink. */
  send(argv: readonly Uint8Array[], proto: 2 | 3, sink: Sink): void {
    if (!this.#up) {
      deliverError(sink, this.downError);
      return;
    }
    const batch = this.#batches[proto === 3 ? 1 : 0];
    batch.add(argv);
    batch.sinks.push(sink);
    if (!this.#dirty) {
      this.#dirty = true;
      this.onDirty(this);
    }
  }

  /** Sends the pending batches, one frame each. */
  flush(): void {
    this.#dirty = false;
    if (!this.#up || !this.#socket) return;
    const now = Date.now();
    for (let i = 0; i < 2; i++) {
      const b = this.#batches[i]!;
      if (b.count === 0) continue;
      writeFrameHeader(b.buf, 0, FrameKind.BATCH, i === 1 ? FLAG_RESP3 : 0, b.count, b.pos - FRAME_HEADER);
      const frame = Buffer.allocUnsafe(b.pos);
      b.buf.copy(frame, 0, 0, b.pos);
      for (const s of b.sinks) {
        this.#inflight.push(s);
        this.#sentAt.push(now);
      }
      b.reset();
      this.#socket.write(frame);
    }
  }

  /** Fails everything in flight if the oldest request has waited longer than timeoutMs. */
  checkTimeout(now: number, timeoutMs: number): void {
    if (this.#inflightHead < this.#inflight.length && now - this.#sentAt[this.#inflightHead]! > timeoutMs) {
      this.fail(`no reply within ${timeoutMs} ms`);
    }
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#socket?.destroy();
  }

  private connect(): void {
    if (this.#closed) return;
    const s = connect({ host: this.endpoint.host, port: this.endpoint.port });
    this.#socket = s;
    s.setNoDelay(true);
    s.on('connect', () => {
      this.#up = true;
      this.#backoff = RECONNECT_MIN_MS;
      this.#reader = new FrameReader();
      this.#log.info('upstream link up');
    });
    s.on('data', (chunk: Buffer) => this.onData(chunk));
    s.on('error', (err: NodeJS.ErrnoException) => {
      this.#downReason = err.code ?? err.message;
    });
    s.on('close', () => {
      if (this.#socket !== s) return;
      const wasUp = this.#up;
      this.#socket = null;
      if (wasUp) this.#downReason = this.#downReason === 'not connected yet' ? 'connection closed' : this.#downReason;
      this.fail(this.#downReason);
      if (wasUp) this.#log.warn({ reason: this.#downReason }, 'upstream link down');
      if (!this.#closed) {
        this.#timer = setTimeout(() => this.connect(), this.#backoff);
        this.#backoff = Math.min(this.#backoff * 2, RECONNECT_MAX_MS);
      }
    });
  }

  /** Marks the link down and errors every queued and in-flight request. */
  private fail(reason: string): void {
    this.#up = false;
    this.#downReason = reason;
    const err = this.downError;
    const sinks = this.#inflight.slice(this.#inflightHead);
    this.#inflight = [];
    this.#sentAt = [];
    this.#inflightHead = 0;
    for (const b of this.#batches) {
      sinks.push(...b.sinks);
      b.reset();
    }
    this.#socket?.destroy();
    for (const s of sinks) deliverError(s, err);
  }

  private onData(chunk: Buffer): void {
    const reader = this.#reader;
    reader.feed(chunk);
    let f;
    try {
      while ((f = reader.next()) !== null) {
        if (f.kind !== FrameKind.REPLIES) continue;
        const buf = f.payload;
        let p = 0;
        for (let i = 0; i < f.count; i++) {
          const end = replyEnd(buf, p, buf.length);
          if (end < 0) throw new Error('REPLIES frame holds fewer replies than its count');
          const sink = this.#inflight[this.#inflightHead++];
          if (sink) sink.deliver(buf, p, end);
          p = end;
        }
        if (this.#inflightHead === this.#inflight.length) {
          this.#inflight.length = 0;
          this.#sentAt.length = 0;
          this.#inflightHead = 0;
        } else if (this.#inflightHead > 4096) {
          this.#inflight = this.#inflight.slice(this.#inflightHead);
          this.#sentAt = this.#sentAt.slice(this.#inflightHead);
          this.#inflightHead = 0;
        }
      }
    } catch (err) {
      this.#log.error({ err }, 'bad data from worker; dropping the link');
      this.fail(`protocol desync (${(err as Error).message})`);
    }
  }
}

export function deliverError(sink: Sink, text: string): void {
  const b = Buffer.from(`-${text}\r\n`);
  sink.deliver(b, 0, b.length);
}

