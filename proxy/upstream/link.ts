/**
 * WorkerLink: the proxy's framed connection to one shard worker.
 *
 * Commands for the worker accumulate in a batch (one per protocol version) while the
 * proxy handles socket reads; `flush()` — called once per event-loop turn — sends
 * each non-empty batch as one BATCH frame. Replies come back as REPLIES frames in
 * the same order, and each reply is handed to the Sink queued for it, as a byte
 * range of the received frame (no re-encoding).
 *
 * Flushed batches travel as Flights through the link's circuit breaker
 * (proxy/upstream/breaker.ts): one Flight per flush, or per FLIGHT_SPAN_MS under load.
 * While the breaker is open, requests for this worker fail at once with
 * `-CLUSTERDOWN shard S worker W (host:port) is unavailable (circuit open)`.
 *
 * When the link is down (connect refused, socket closed, a request older than the
 * upstream timeout), every queued sink gets a CLUSTERDOWN error naming the worker,
 * the breaker opens, and the link reconnects in the background with backoff.
 *
 * Backpressure: when more than MAX_INFLIGHT requests await replies, or more than
 * MAX_UNSENT_BYTES wait in the socket for the worker to read them, the link is
 * saturated. It then still accepts every request, but marks `pressure.link`, and the
 * client whose command put it there stops reading its socket (proxy/client-connection.ts)
 * until the link drains below half of both bounds. Nothing accepted is dropped.
 */
import type { Socket } from 'node:net';
import { connectWorker, upstreamReadyEvent } from './connect.js';
import type { ShoalConfig } from '../../shared/config/schema.js';
import { FrameReader, FrameKind, FLAG_RESP3, FRAME_HEADER, writeFrameHeader } from '../../shared/frame/codec.js';
import { replyEnd } from '../../shared/resp/reply-scanner.js';
import { endpointName, type WorkerEndpoint } from '../../shared/cluster/topology.js';
import type { Logger } from '../../shared/log.js';
import { Flight, LinkBreaker, type BreakerState } from './breaker.js';

/** Receives one reply: bytes [start, end) of buf are one complete RESP reply. */
export interface Sink {
  deliver(buf: Buffer, start: number, end: number): void;
}

const BATCH_INITIAL = 64 * 1024;
const RECONNECT_MIN_MS = 50;
const RECONNECT_MAX_MS = 1000;
/**
 * Saturation bounds (see the file comment). 64 Ki requests is four clients' worth of
 * the per-client pipeline bound (16 Ki, client-connection.ts) and far more than a
 * worker needs to stay busy; 8 MiB unsent on top of what the kernel's socket buffers
 * hold means the worker stopped reading.
 */
const MAX_INFLIGHT = 65536;
const MAX_UNSENT_BYTES = 8 * 1024 * 1024;
/**
 * Batches flushed within this span of the open Flight join it instead of firing the
 * breaker again: at most ~200 opossum calls per second per link, whatever the load
 * (an opossum call costs ~2 µs; docs/resilience.md).
 */
const FLIGHT_SPAN_MS = 5;

/** A client paused because a link it fed is saturated; resumed when the link drains. */
export interface DrainWaiter {
  upstreamDrained(): void;
}

/**
 * Which saturated link the command being dispatched was queued on (null: none). The
 * proxy server owns one; the dispatching client reads and clears it after each read.
 */
export class UpstreamPressure {
  link: WorkerLink | null = null;

  /** The saturated link set since the last take(), and clears it. */
  take(): WorkerLink | null {
    const l = this.link;
    this.link = null;
    return l;
  }
}

/** What a link needs from the proxy server. `config` is read at each (re)connect. */
export interface LinkOwner {
  readonly config: ShoalConfig;
  readonly upstreamPressure: UpstreamPressure;
  /** True while dispatching a CLIENT NO-TOUCH client's command: its sends are bracketed by SHOAL.NOTOUCH. */
  readonly noTouchNow: boolean;
}

const NOTOUCH_ON = [Buffer.from('shoal.notouch'), Buffer.from('1')];
const NOTOUCH_OFF = [Buffer.from('shoal.notouch'), Buffer.from('0')];
const DISCARD: Sink = { deliver: () => {} };

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
  /** Sinks of sent frames, in order. */
  #inflight: Sink[] = [];
  #inflightHead = 0;
  /** Flushed batches in order (one Flight per flush); settled ones stay until their replies are in. */
  #flights: Flight[] = [];
  #flightHead = 0;
  /** First flight not yet failed for the breaker timeout (flights are in send order). */
  #timeoutScan = 0;
  /** Bytes arrived since the last sweep; #progressAt: the sweep that last saw some. */
  #gotData = false;
  #progressAt = 0;
  readonly #breaker: LinkBreaker;
  readonly #circuitError: string;
  /** Requests are taken now: the link is up and the breaker admits batches. */
  #accepting = false;
  #saturated = false;
  readonly #waiters = new Set<DrainWaiter>();
  #backoff = RECONNECT_MIN_MS;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  #dirty = false;
  onDirty: (link: WorkerLink) => void = () => {};

  constructor(endpoint: WorkerEndpoint, log: Logger, private readonly owner: LinkOwner) {
    this.endpoint = endpoint;
    this.name = endpointName(endpoint);
    this.#circuitError = `CLUSTERDOWN ${this.name} is unavailable (circuit open)`;
    this.#log = log.child({ upstream: `${endpoint.host}:${endpoint.port}` });
    const c = owner.config;
    this.#breaker = new LinkBreaker(
      this.name,
      { errorPercentage: c.breakerErrorPercentage, timeoutMs: c.breakerTimeoutMs, resetMs: c.breakerResetMs, volumeThreshold: c.breakerVolumeThreshold, windowMs: c.breakerWindowMs },
      this.#log.child({ component: 'breaker', shard: endpoint.shard, worker: endpoint.worker }),
      () => this.#up,
      () => this.#updateAccepting(),
    );
    this.connect();
  }

  get up(): boolean {
    return this.#up;
  }

  get breakerState(): BreakerState {
    return this.#breaker.state;
  }

  /** Requests sent and not yet answered, plus those queued for the next flush. */
  get queueDepth(): number {
    return this.#inflight.length - this.#inflightHead + this.#batches[0].count + this.#batches[1].count;
  }

  /** Over its in-flight or unsent bound: clients feeding it are paused. */
  get saturated(): boolean {
    return this.#saturated;
  }

  /** Error line (without '-') for requests that cannot reach this worker. */
  get downError(): string {
    return this.#breaker.state === 'closed' ? `CLUSTERDOWN ${this.name} is unavailable: ${this.#downReason}` : this.#circuitError;
  }

  /**
   * Null when a command may go to this worker outside the framed link (a blocking
   * command on a connection of its own), else the error to reply: only with the link
   * up and the breaker closed, so a blocking command is never the half-open probe.
   */
  get blockingRefusal(): string | null {
    return this.#up && this.#breaker.state === 'closed' ? null : this.downError;
  }

  /** Queues argv for this turn's batch; its reply goes to sink. */
  send(argv: readonly Uint8Array[], proto: 2 | 3, sink: Sink): void {
    if (!this.#accepting) {
      deliverError(sink, this.downError);
      return;
    }
    const batch = this.#batches[proto === 3 ? 1 : 0];
    if (this.owner.noTouchNow) {
      batch.add(NOTOUCH_ON);
      batch.sinks.push(DISCARD);
      batch.add(argv);
      batch.sinks.push(sink);
      batch.add(NOTOUCH_OFF);
      batch.sinks.push(DISCARD);
    } else {
      batch.add(argv);
      batch.sinks.push(sink);
    }
    if (this.#saturated) this.owner.upstreamPressure.link = this;
    if (!this.#dirty) {
      this.#dirty = true;
      this.onDirty(this);
    }
  }

  /** Sends the pending batches, one frame each, as one Flight through the breaker. */
  flush(): void {
    this.#dirty = false;
    const b2 = this.#batches[0];
    const b3 = this.#batches[1];
    const count = b2.count + b3.count;
    if (count === 0) return;
    const socket = this.#socket;
    if (!this.#up || socket === null) {
      this.#failQueued(this.downError);
      return;
    }
    const now = Date.now();
    const flights = this.#flights;
    let flight = flights.length > this.#flightHead ? flights[flights.length - 1]! : null;
    if (flight !== null && !flight.settled && now - flight.sentAt < FLIGHT_SPAN_MS && this.#breaker.state === 'closed') {
      flight.remaining += count;
    } else {
      flight = new Flight(count, now);
      if (!this.#breaker.fire(flight)) {
        // The breaker turned (a timer or an outcome) between send() and this flush.
        this.#failQueued(this.#circuitError);
        return;
      }
      flights.push(flight);
    }
    for (let i = 0; i < 2; i++) {
      const b = this.#batches[i]!;
      if (b.count === 0) continue;
      writeFrameHeader(b.buf, 0, FrameKind.BATCH, i === 1 ? FLAG_RESP3 : 0, b.count, b.pos - FRAME_HEADER);
      const frame = Buffer.allocUnsafe(b.pos);
      b.buf.copy(frame, 0, 0, b.pos);
      for (const s of b.sinks) this.#inflight.push(s);
      b.reset();
      socket.write(frame);
    }
    if (!this.#saturated && (this.#inflight.length - this.#inflightHead >= MAX_INFLIGHT || socket.writableLength >= MAX_UNSENT_BYTES)) {
      this.#saturated = true;
    }
  }

  /**
   * The 100 ms sweep: fails everything in flight if the oldest request has waited longer
   * than timeoutMs (upstream-timeout-ms). And when the worker has sent nothing for
   * breaker-timeout-ms while batches wait, it reports every batch older than that to
   * the breaker as failed (their requests keep waiting). A worker that is streaming a
   * big backlog of replies is busy, not stuck: its batches do not count as timed out.
   */
  checkTimeout(now: number, timeoutMs: number): void {
    if (this.#gotData) {
      this.#gotData = false;
      this.#progressAt = now;
    }
    const flights = this.#flights;
    if (this.#flightHead >= flights.length) return;
    if (now - flights[this.#flightHead]!.sentAt > timeoutMs) {
      this.fail(`no reply within ${timeoutMs} ms`);
      return;
    }
    const breakerTimeout = this.owner.config.breakerTimeoutMs;
    if (now - this.#progressAt <= breakerTimeout) return;
    let i = Math.max(this.#timeoutScan, this.#flightHead);
    for (; i < flights.length && now - flights[i]!.sentAt > breakerTimeout; i++) {
      flights[i]!.fail(new Error(`no reply within ${breakerTimeout} ms`));
    }
    this.#timeoutScan = i;
  }

  /** Calls w.upstreamDrained() once this link is no longer saturated (at once if it is not). */
  waitForDrain(w: DrainWaiter): void {
    if (!this.#saturated) {
      w.upstreamDrained();
      return;
    }
    this.#waiters.add(w);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#breaker.shutdown();
    this.#socket?.destroy();
  }

  private connect(): void {
    if (this.#closed) return;
    const s = connectWorker(this.endpoint, this.owner.config);
    this.#socket = s;
    s.setNoDelay(true);
    let connected = false;
    s.on(upstreamReadyEvent(s), () => {
      connected = true;
      this.#up = true;
      this.#downReason = 'connection closed'; // until an 'error' says more
      this.#backoff = RECONNECT_MIN_MS;
      this.#reader = new FrameReader();
      this.#updateAccepting();
      this.#log.info('upstream link up');
    });
    s.on('data', (chunk: Buffer) => this.onData(chunk));
    s.on('drain', () => this.#checkDrained());
    s.on('error', (err: NodeJS.ErrnoException) => {
      this.#downReason = err.code ?? err.message;
    });
    s.on('close', () => {
      if (this.#socket !== s) return;
      this.#socket = null;
      // Unreachable is not a rate: every request would fail, so open the circuit now
      // (before failing the flights, whose failures would open it with a vaguer reason).
      if (!this.#closed) this.#breaker.trip(connected ? `connection lost (${this.#downReason})` : `cannot connect (${this.#downReason})`);
      this.fail(this.#downReason);
      if (connected) this.#log.warn({ reason: this.#downReason }, 'upstream link down');
      if (!this.#closed) {
        this.#timer = setTimeout(() => this.connect(), this.#backoff);
        this.#backoff = Math.min(this.#backoff * 2, RECONNECT_MAX_MS);
      }
    });
  }

  #updateAccepting(): void {
    this.#accepting = this.#up && this.#breaker.admitting;
  }

  /** Errors the requests queued for the next flush. */
  #failQueued(text: string): void {
    const sinks: Sink[] = [];
    for (const b of this.#batches) {
      for (const s of b.sinks) sinks.push(s);
      b.reset();
    }
    for (const s of sinks) deliverError(s, text);
  }

  /** Leaves the saturated state once below half of both bounds; resumes the paused clients. */
  #checkDrained(): void {
    if (!this.#saturated) return;
    const unsent = this.#socket?.writableLength ?? 0;
    if (this.#inflight.length - this.#inflightHead > MAX_INFLIGHT / 2 || unsent > MAX_UNSENT_BYTES / 2) return;
    this.#saturated = false;
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const w of waiters) w.upstreamDrained();
  }

  /** Marks the link down and errors every queued and in-flight request. */
  private fail(reason: string): void {
    this.#up = false;
    this.#updateAccepting();
    this.#downReason = reason;
    const err = `CLUSTERDOWN ${this.name} is unavailable: ${reason}`;
    const sinks = this.#inflight.slice(this.#inflightHead);
    this.#inflight = [];
    this.#inflightHead = 0;
    const flights = this.#flights.slice(this.#flightHead);
    this.#flights = [];
    this.#flightHead = 0;
    this.#timeoutScan = 0;
    for (const b of this.#batches) {
      for (const s of b.sinks) sinks.push(s);
      b.reset();
    }
    this.#socket?.destroy();
    const cause = new Error(reason);
    for (const f of flights) f.fail(cause);
    for (const s of sinks) deliverError(s, err);
    this.#checkDrained();
  }

  private onData(chunk: Buffer): void {
    const reader = this.#reader;
    reader.feed(chunk);
    this.#gotData = true;
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
          const flight = this.#flights[this.#flightHead];
          if (flight !== undefined && --flight.remaining === 0) {
            this.#flightHead++;
            flight.succeed();
          }
          if (sink) sink.deliver(buf, p, end);
          p = end;
        }
        if (this.#inflightHead === this.#inflight.length) {
          this.#inflight.length = 0;
          this.#inflightHead = 0;
        } else if (this.#inflightHead > 4096) {
          this.#inflight = this.#inflight.slice(this.#inflightHead);
          this.#inflightHead = 0;
        }
        if (this.#flightHead === this.#flights.length) {
          this.#flights.length = 0;
          this.#flightHead = 0;
          this.#timeoutScan = 0;
        } else if (this.#flightHead > 1024) {
          this.#flights = this.#flights.slice(this.#flightHead);
          this.#timeoutScan = Math.max(0, this.#timeoutScan - this.#flightHead);
          this.#flightHead = 0;
        }
      }
    } catch (err) {
      this.#log.error({ err }, 'bad data from worker; dropping the link');
      this.fail(`protocol desync (${(err as Error).message})`);
      return;
    }
    if (this.#saturated) this.#checkDrained();
  }
}

export function deliverError(sink: Sink, text: string): void {
  const b = Buffer.from(`-${text}\r\n`);
  sink.deliver(b, 0, b.length);
}

