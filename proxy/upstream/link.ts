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
 *
 * Batches are kept per frame flags (RESP3 | STRONG | OFFSET, so 8 at most, made on
 * first use): a strong client's commands travel in FLAG_STRONG frames, a session
 * client's in FLAG_OFFSET frames (proxy/consistency.ts). A FLAG_OFFSET REPLIES frame
 * starts with the worker's replication offset: `replyOffset` holds it while that
 * frame's replies are delivered, `lastOffset` keeps the newest.
 *
 * Failover (docs/replication.md, "Requests during a failover"). With `failoverExpected`
 * set (the group has replicas) a lost link does not fail its requests at once:
 *   - not yet written: held (up to HOLD_MS) and sent once the link is back, on the
 *     old endpoint or — after `retarget()` — on the new primary;
 *   - written, unanswered, a read: resent once, the same way;
 *   - written, unanswered, a write (or inside MULTI): `-TRYAGAIN ... may or may not
 *     have been applied`, never resent;
 *   - a write the worker refused (`-TRYAGAIN Lease expired ...`, `-READONLY ...`: not
 *     applied) is resent at the next topology change, and every REFUSED_RETRY_MS
 *     meanwhile, until HOLD_MS after its first refusal (then the client gets it).
 * When nothing comes back within HOLD_MS the held requests get CLUSTERDOWN and the
 * breaker opens, exactly as without replicas. To find a request's bytes again the link
 * keeps each sent frame until its REPLIES frame arrived (one object per frame).
 */
import { copyBytes } from '../../shared/resp/byte-copy.js';
import type { Socket } from 'node:net';
import { connectWorker, upstreamReadyEvent } from './connect.js';
import type { ShoalConfig } from '../../shared/config/schema.js';
import { FrameReader, FrameKind, FLAG_RESP3, FLAG_OFFSET, OFFSET_BYTES, FRAME_HEADER, readOffset, writeFrameHeader } from '../../shared/frame/codec.js';
import { lookupCommand } from '../../shared/commands/table.js';
import { CMD_READONLY, CMD_WRITE } from '../../shared/commands/spec.js';
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
/**
 * How long a link with replicas holds requests after losing its worker, waiting for the
 * topology to name a new primary (or the worker to come back); also how long a write
 * refused with `-TRYAGAIN Lease expired` / `-READONLY` waits for the next topology
 * change. The manager's failover takes failoverCheckMs x failoverMisses (500 ms by
 * default) plus a write and a file poll; 2 s covers that with room. Not a config key:
 * documented in docs/resilience.md.
 */
export const HOLD_MS = 2000;
/**
 * After retarget(), how long requests already written to the old (live, fenced) worker
 * may take to be answered before the old socket is dropped and they count as lost.
 */
const SWITCH_DRAIN_MS = 500;
/** How often a write refused as not applied (lease expired, fenced, replica) is tried again within HOLD_MS. */
const REFUSED_RETRY_MS = 100;
/** Frame flag bits a batch is keyed by (FLAG_RESP3 | FLAG_STRONG | FLAG_OFFSET). */
const BATCH_KINDS = 8;

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
  /** FLAG_STRONG / FLAG_OFFSET for the command being dispatched (proxy/consistency.ts); 0 normally. */
  readonly batchFlags: number;
}

const NOTOUCH_ON = [Buffer.from('shoal.notouch'), Buffer.from('1')];
const NOTOUCH_OFF = [Buffer.from('shoal.notouch'), Buffer.from('0')];
const DISCARD: Sink = { deliver: () => {} };
const PING = [Buffer.from('PING')];

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

  /** Appends one command already RESP-encoded (a resend). */
  addRaw(bytes: Uint8Array, sink: Sink): void {
    this.ensure(bytes.length);
    copyBytes(this.buf, this.pos, bytes, 0, bytes.length);
    this.pos += bytes.length;
    this.count++;
    this.sinks.push(sink);
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
      copyBytes(b, p, a, 0, a.length);
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

/** A sent frame, kept until its REPLIES frame arrived: where its requests' bytes are if one must be resent. */
interface SentFrame {
  buf: Buffer;
  /** Frame flags (= the batch kind it came from). */
  flags: number;
  count: number;
  /** The topology epoch the link had seen when it was sent. */
  epoch: number;
  /** Cursor over the frame's commands (lazily advanced when a reply asks for its request). */
  pos: number;
  idx: number;
  inMulti: boolean;
}

/** A request to send again: its RESP bytes, reply sink and frame flags. */
interface Resend {
  bytes: Buffer;
  sink: Sink;
  flags: number;
}

/** A write the worker refused before applying it, waiting for the next topology change. */
interface Refused extends Resend {
  /** The worker's reply, delivered if no topology change comes within HOLD_MS. */
  reply: Buffer;
  at: number;
}

const NAME_MULTI = 1;
const NAME_ENDMULTI = 2;
const NAME_READ = 3;
const NAME_WRITE = 4;

/** What kind of command starts at buf[pos] (a RESP array of bulk strings). */
function commandKind(buf: Buffer, pos: number): number {
  // *<n>\r\n$<len>\r\n<name>\r\n
  let p = buf.indexOf(10, pos) + 1;
  if (p <= 0 || buf[p] !== 0x24) return NAME_WRITE;
  const nl = buf.indexOf(10, p);
  const len = Number(buf.toString('latin1', p + 1, nl - 1));
  p = nl + 1;
  const name = buf.toString('latin1', p, p + len).toLowerCase();
  if (name === 'multi') return NAME_MULTI;
  if (name === 'exec' || name === 'discard') return NAME_ENDMULTI;
  if (name === 'shoal.notouch') return NAME_READ; // brackets a read: harmless to resend
  const spec = lookupCommand(name);
  return spec !== undefined && spec.flags & CMD_READONLY && !(spec.flags & CMD_WRITE) ? NAME_READ : NAME_WRITE;
}

export class WorkerLink {
  #endpoint: WorkerEndpoint;
  #name: string;
  #socket: Socket | null = null;
  #up = false;
  #downReason = 'not connected yet';
  #log: Logger;
  readonly #baseLog: Logger;
  #reader = new FrameReader();
  /** Pending batches by frame flags (index = FLAG_RESP3 | FLAG_STRONG | FLAG_OFFSET). */
  #batches: Array<Batch | undefined> = new Array<Batch | undefined>(BATCH_KINDS).fill(undefined);
  /** Sinks of sent frames, in order. */
  #inflight: Sink[] = [];
  #inflightHead = 0;
  /** Sent frames in order, until their replies are in (see SentFrame). */
  #sent: SentFrame[] = [];
  #sentHead = 0;
  /** Flushed batches in order (one Flight per flush); settled ones stay until their replies are in. */
  #flights: Flight[] = [];
  #flightHead = 0;
  /** First flight not yet failed for the breaker timeout (flights are in send order). */
  #timeoutScan = 0;
  /** Bytes arrived since the last sweep; #progressAt: the sweep that last saw some. */
  #gotData = false;
  #progressAt = 0;
  #breaker: LinkBreaker;
  #circuitError: string;
  /** Requests are taken now: the link is up and the breaker admits batches. */
  #accepting = false;
  #saturated = false;
  readonly #waiters = new Set<DrainWaiter>();
  #backoff = RECONNECT_MIN_MS;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  #dirty = false;
  /** Lost the worker (or switching endpoints) and holding requests (see the file comment). */
  #holding = false;
  #holdTimer: NodeJS.Timeout | null = null;
  /** retarget() waits for the old socket's answers before dropping it. */
  #switching = false;
  #switchTimer: NodeJS.Timeout | null = null;
  /** Writes refused as not applied, waiting for a topology change. */
  #refused: Refused[] = [];
  #refusedTimer: NodeJS.Timeout | null = null;
  /** When each write being retried after a refusal was first refused. */
  readonly #refusedAt = new Map<Sink, number>();
  /** Sinks of requests already resent once: a second loss fails them. */
  readonly #resent = new Set<Sink>();
  /** The newest topology epoch this link was told about (follow()). */
  #epoch = 0;
  onDirty: (link: WorkerLink) => void = () => {};
  /** The group has replicas, so a lost worker may be replaced: hold requests instead of failing them. */
  failoverExpected = false;
  /** Frame flags this link honours from owner.batchFlags (FLAG_STRONG / FLAG_OFFSET where the group has replicas). */
  flagMask = 0;
  /** The worker's replication offset from the newest FLAG_OFFSET reply (0: none yet). */
  lastOffset = 0;
  /** While a FLAG_OFFSET frame's replies are delivered: its offset; else -1. */
  replyOffset = -1;

  constructor(endpoint: WorkerEndpoint, log: Logger, private readonly owner: LinkOwner) {
    this.#endpoint = endpoint;
    this.#name = endpointName(endpoint);
    this.#circuitError = `CLUSTERDOWN ${this.#name} is unavailable (circuit open)`;
    this.#baseLog = log;
    this.#log = log.child({ upstream: `${endpoint.host}:${endpoint.port}` });
    this.#breaker = this.#newBreaker();
    this.connect();
  }

  get endpoint(): WorkerEndpoint {
    return this.#endpoint;
  }

  get name(): string {
    return this.#name;
  }

  get up(): boolean {
    return this.#up;
  }

  /** Requests are sent now (up, breaker admitting, not holding). */
  get accepting(): boolean {
    return this.#accepting && !this.#holding;
  }

  get breakerState(): BreakerState {
    return this.#breaker.state;
  }

  /** Requests sent and not yet answered, plus those queued for the next flush. */
  get queueDepth(): number {
    let n = this.#inflight.length - this.#inflightHead + this.#refused.length;
    for (const b of this.#batches) if (b !== undefined) n += b.count;
    return n;
  }

  /** Over its in-flight or unsent bound: clients feeding it are paused. */
  get saturated(): boolean {
    return this.#saturated;
  }

  /** Error line (without '-') for requests that cannot reach this worker. */
  get downError(): string {
    return this.#breaker.state === 'closed' ? `CLUSTERDOWN ${this.#name} is unavailable: ${this.#downReason}` : this.#circuitError;
  }

  /**
   * Null when a command may go to this worker outside the framed link (a blocking
   * command on a connection of its own), else the error to reply: only with the link
   * up and the breaker closed, so a blocking command is never the half-open probe.
   */
  get blockingRefusal(): string | null {
    return this.#up && !this.#holding && this.#breaker.state === 'closed' ? null : this.downError;
  }

  /**
   * Queues argv for this turn's batch; its reply goes to sink. `flags` (FLAG_STRONG /
   * FLAG_OFFSET) defaults to the dispatching client's (owner.batchFlags) as this link honours them.
   */
  send(argv: readonly Uint8Array[], proto: 2 | 3, sink: Sink, flags = this.owner.batchFlags & this.flagMask): void {
    if (!this.#accepting && !this.#holding) {
      deliverError(sink, this.downError);
      return;
    }
    const kind = (proto === 3 ? FLAG_RESP3 : 0) | flags;
    const batch = this.#batches[kind] ?? (this.#batches[kind] = new Batch());
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
    this.#markDirty();
  }

  /** Queues one command already RESP-encoded (a replica read falling back to the primary) with explicit frame flags. */
  sendRaw(bytes: Buffer, proto: 2 | 3, sink: Sink, flags: number): void {
    if (!this.#accepting && !this.#holding) {
      deliverError(sink, this.downError);
      return;
    }
    const kind = (proto === 3 ? FLAG_RESP3 : 0) | (flags & this.flagMask);
    (this.#batches[kind] ?? (this.#batches[kind] = new Batch())).addRaw(bytes, sink);
    this.#markDirty();
  }

  /** Asks the worker for its replication offset (a PING in a FLAG_OFFSET frame): updates lastOffset. */
  probeOffset(): void {
    if (!this.#accepting || this.#holding) return;
    const batch = this.#batches[FLAG_OFFSET] ?? (this.#batches[FLAG_OFFSET] = new Batch());
    batch.add(PING);
    batch.sinks.push(DISCARD);
    this.#markDirty();
  }

  #markDirty(): void {
    if (!this.#dirty) {
      this.#dirty = true;
      this.onDirty(this);
    }
  }

  /** Sends the pending batches, one frame each, as one Flight through the breaker. */
  flush(): void {
    this.#dirty = false;
    const batches = this.#batches;
    let count = 0;
    for (let i = 0; i < BATCH_KINDS; i++) count += batches[i]?.count ?? 0;
    if (count === 0) return;
    const socket = this.#socket;
    if (!this.#up || socket === null || this.#switching) {
      if (this.#holding) return; // sent when the link is back (or failed when the hold ends)
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
    for (let i = 0; i < BATCH_KINDS; i++) {
      const b = batches[i];
      if (b === undefined || b.count === 0) continue;
      writeFrameHeader(b.buf, 0, FrameKind.BATCH, i, b.count, b.pos - FRAME_HEADER);
      const frame = Buffer.allocUnsafe(b.pos);
      b.buf.copy(frame, 0, 0, b.pos);
      for (const s of b.sinks) this.#inflight.push(s);
      this.#sent.push({ buf: frame, flags: i, count: b.count, epoch: this.#epoch, pos: FRAME_HEADER, idx: 0, inMulti: false });
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
    if (this.#holdTimer) clearTimeout(this.#holdTimer);
    if (this.#switchTimer) clearTimeout(this.#switchTimer);
    if (this.#refusedTimer) clearTimeout(this.#refusedTimer);
    this.#holding = false;
    this.#breaker.shutdown();
    this.#socket?.destroy();
    const refused = this.#refused;
    this.#refused = [];
    this.#refusedAt.clear();
    for (const r of refused) r.sink.deliver(r.reply, 0, r.reply.length);
    this.#failQueued(`CLUSTERDOWN ${this.#name} is unavailable: link closed`);
  }

  /**
   * The topology changed (epoch): writes refused as not applied are resent now, and
   * when this index's primary moved to another endpoint the link follows it.
   */
  follow(endpoint: WorkerEndpoint, epoch: number): void {
    if (epoch > this.#epoch) this.#epoch = epoch;
    if (endpoint.host !== this.#endpoint.host || endpoint.port !== this.#endpoint.port) this.retarget(endpoint);
    else this.#endpoint = endpoint;
    this.#releaseRefused();
  }

  /**
   * Points the link at a new endpoint (the group's new primary): holds new requests,
   * lets the old socket answer what it was sent (up to SWITCH_DRAIN_MS: a fenced old
   * primary refuses writes, and those are resent), then connects to the new endpoint
   * with a fresh breaker.
   */
  retarget(endpoint: WorkerEndpoint): void {
    if (this.#closed) return;
    const from = `${this.#endpoint.host}:${this.#endpoint.port}`;
    this.#endpoint = endpoint;
    this.#name = endpointName(endpoint);
    this.#circuitError = `CLUSTERDOWN ${this.#name} is unavailable (circuit open)`;
    this.#log = this.#baseLog.child({ upstream: `${endpoint.host}:${endpoint.port}` });
    this.#log.info({ from, to: `${endpoint.host}:${endpoint.port}`, shard: endpoint.shard, worker: endpoint.worker, inflight: this.#inflight.length - this.#inflightHead }, 'upstream link follows the topology to a new endpoint');
    this.#startHold('switching to a new primary', true); // the line above says it
    if (this.#socket !== null && this.#up && this.#inflight.length > this.#inflightHead) {
      if (this.#switching) return; // already draining the old socket; it connects to the newest endpoint
      this.#switching = true;
      this.#switchTimer = setTimeout(() => this.#switchNow(), SWITCH_DRAIN_MS);
      this.#switchTimer.unref();
      return;
    }
    this.#switchNow();
  }

  #switchNow(): void {
    this.#switching = false;
    if (this.#switchTimer) clearTimeout(this.#switchTimer);
    this.#switchTimer = null;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const old = this.#socket;
    this.#socket = null; // its close event is then ignored
    this.#up = false;
    this.#lostInFlight('switched to a new primary');
    old?.destroy();
    this.#breaker.shutdown();
    this.#breaker = this.#newBreaker();
    this.#backoff = RECONNECT_MIN_MS;
    this.#reader = new FrameReader();
    this.#updateAccepting();
    this.connect();
  }

  #newBreaker(): LinkBreaker {
    const c = this.owner.config;
    const ep = this.#endpoint;
    return new LinkBreaker(
      this.#name,
      { errorPercentage: c.breakerErrorPercentage, timeoutMs: c.breakerTimeoutMs, resetMs: c.breakerResetMs, volumeThreshold: c.breakerVolumeThreshold, windowMs: c.breakerWindowMs },
      this.#log.child({ component: 'breaker', shard: ep.shard, worker: ep.worker }),
      () => this.#up,
      () => this.#updateAccepting(),
    );
  }

  private connect(): void {
    if (this.#closed) return;
    const s = connectWorker(this.#endpoint, this.owner.config);
    this.#socket = s;
    s.setNoDelay(true);
    let connected = false;
    s.on(upstreamReadyEvent(s), () => {
      if (this.#socket !== s) return;
      connected = true;
      this.#up = true;
      this.#downReason = 'connection closed'; // until an 'error' says more
      this.#backoff = RECONNECT_MIN_MS;
      this.#reader = new FrameReader();
      if (this.#holding) this.#endHold(true);
      this.#updateAccepting();
      this.#log.info('upstream link up');
      this.flush();
    });
    s.on('data', (chunk: Buffer) => {
      if (this.#socket === s) this.onData(chunk);
    });
    s.on('drain', () => this.#checkDrained());
    s.on('error', (err: NodeJS.ErrnoException) => {
      if (this.#socket === s) this.#downReason = err.code ?? err.message;
    });
    s.on('close', () => {
      if (this.#socket !== s) return;
      this.#socket = null;
      // Unreachable is not a rate: every request would fail, so open the circuit now
      // (before failing the flights, whose failures would open it with a vaguer reason).
      // With replicas the worker may be replaced: the breaker waits for the hold to end.
      // Only losing a live connection starts a hold: a failed reconnect after a hold ran
      // out must keep failing fast.
      const holds = !this.#closed && (this.#holding || (this.failoverExpected && connected));
      if (!this.#closed && !holds) this.#breaker.trip(connected ? `connection lost (${this.#downReason})` : `cannot connect (${this.#downReason})`);
      this.fail(this.#downReason, holds);
      if (connected) this.#log.warn({ reason: this.#downReason, holding: holds }, holds ? 'upstream link down; holding requests for a failover' : 'upstream link down');
      if (!this.#closed) {
        this.#timer = setTimeout(() => this.connect(), this.#backoff);
        this.#backoff = Math.min(this.#backoff * 2, RECONNECT_MAX_MS);
      }
    });
  }

  #updateAccepting(): void {
    this.#accepting = this.#up && this.#breaker.admitting;
  }

  /** Starts holding requests (bounded by HOLD_MS; see the file comment). */
  #startHold(reason: string, quiet = false): void {
    if (this.#holding || this.#closed) return;
    this.#holding = true;
    this.#holdTimer = setTimeout(() => this.#endHold(false), HOLD_MS);
    this.#holdTimer.unref();
    if (!quiet) this.#log.info({ reason, holdMs: HOLD_MS }, 'holding requests until the worker or its replacement answers');
  }

  /** Back up (resume: send what was held) or HOLD_MS passed (fail it as an unreachable worker). */
  #endHold(resumed: boolean): void {
    if (!this.#holding) return;
    this.#holding = false;
    if (this.#holdTimer) clearTimeout(this.#holdTimer);
    this.#holdTimer = null;
    if (resumed) {
      // A new start: the old breaker's failures belonged to the lost endpoint.
      this.#breaker.shutdown();
      this.#breaker = this.#newBreaker();
      return;
    }
    if (this.#up && !this.#switching) return;
    this.#log.warn({ holdMs: HOLD_MS }, 'no failover within the hold: failing held requests');
    this.#breaker.trip(`unreachable for ${HOLD_MS} ms (${this.#downReason})`);
    this.#updateAccepting();
    this.#failQueued(this.downError);
  }

  /** Errors the requests queued for the next flush. */
  #failQueued(text: string): void {
    const sinks: Sink[] = [];
    for (const b of this.#batches) {
      if (b === undefined) continue;
      for (const s of b.sinks) sinks.push(s);
      b.reset();
    }
    for (const s of sinks) {
      this.#resent.delete(s);
      this.#refusedAt.delete(s);
      deliverError(s, text);
    }
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

  /** Marks the link down and errors every queued and in-flight request (or holds them: see the file comment). */
  private fail(reason: string, hold = this.failoverExpected || this.#holding): void {
    this.#up = false;
    this.#updateAccepting();
    this.#downReason = reason;
    this.#socket?.destroy();
    if (!this.#closed && hold) {
      this.#startHold(reason);
      this.#lostInFlight(reason);
      this.#checkDrained();
      return;
    }
    const err = `CLUSTERDOWN ${this.#name} is unavailable: ${reason}`;
    const sinks = this.#inflight.slice(this.#inflightHead);
    this.#inflight = [];
    this.#inflightHead = 0;
    this.#sent = [];
    this.#sentHead = 0;
    const flights = this.#takeFlights();
    for (const b of this.#batches) {
      if (b === undefined) continue;
      for (const s of b.sinks) sinks.push(s);
      b.reset();
    }
    const cause = new Error(reason);
    for (const f of flights) f.fail(cause);
    for (const s of sinks) {
      this.#resent.delete(s);
      this.#refusedAt.delete(s);
      deliverError(s, err);
    }
    this.#checkDrained();
  }

  #takeFlights(): Flight[] {
    const flights = this.#flights.slice(this.#flightHead);
    this.#flights = [];
    this.#flightHead = 0;
    this.#timeoutScan = 0;
    return flights;
  }

  /**
   * The requests written and not answered are lost with the connection: reads go back
   * in front of the held batches (once), writes get TRYAGAIN (they may have landed).
   */
  #lostInFlight(reason: string): void {
    const sinks = this.#inflight;
    let k = this.#inflightHead;
    const frames = this.#sent.slice(this.#sentHead);
    this.#inflight = [];
    this.#inflightHead = 0;
    this.#sent = [];
    this.#sentHead = 0;
    const cause = new Error(reason);
    for (const f of this.#takeFlights()) f.fail(cause);
    const again: Resend[] = [];
    const maybe = `TRYAGAIN Write to ${this.#name} may or may not have been applied: the connection failed during the request`;
    let errors = 0;
    for (const fr of frames) {
      let pos = FRAME_HEADER;
      let inMulti = false;
      for (let j = 0; j < fr.count; j++, k++) {
        const end = replyEnd(fr.buf, pos, fr.buf.length);
        const sink = sinks[k];
        if (end < 0 || sink === undefined) break;
        const kind = commandKind(fr.buf, pos);
        if (kind === NAME_MULTI) inMulti = true;
        if (kind === NAME_READ && !inMulti && !this.#resent.has(sink)) {
          this.#resent.add(sink);
          again.push({ bytes: Buffer.from(fr.buf.subarray(pos, end)), sink, flags: fr.flags });
        } else {
          this.#resent.delete(sink);
          this.#refusedAt.delete(sink);
          deliverError(sink, kind === NAME_READ ? `CLUSTERDOWN ${this.#name} is unavailable: ${reason}` : maybe);
          errors++;
        }
        if (kind === NAME_ENDMULTI) inMulti = false;
        pos = end;
      }
    }
    if (again.length > 0 || errors > 0) this.#log.info({ resent: again.length, failed: errors, reason }, 'requests in flight on the lost connection: reads will be resent, writes answered TRYAGAIN');
    this.#prepend(again);
  }

  /** Puts requests in front of the pending batches (they were sent before them). */
  #prepend(items: readonly Resend[]): void {
    if (items.length === 0) return;
    const fresh = new Array<Batch | undefined>(BATCH_KINDS).fill(undefined);
    for (const r of items) (fresh[r.flags] ??= new Batch()).addRaw(r.bytes, r.sink);
    for (let i = 0; i < BATCH_KINDS; i++) {
      const old = this.#batches[i];
      if (old === undefined || old.count === 0) {
        if (fresh[i] === undefined) fresh[i] = old;
        continue;
      }
      const b = (fresh[i] ??= new Batch());
      b.ensure(old.pos - FRAME_HEADER);
      old.buf.copy(b.buf, b.pos, FRAME_HEADER, old.pos);
      b.pos += old.pos - FRAME_HEADER;
      b.count += old.count;
      for (const s of old.sinks) b.sinks.push(s);
    }
    this.#batches = fresh;
    this.#markDirty();
  }

  /**
   * A reply starting with '-': a write refused before it was applied (lease expired,
   * fenced, or the worker is a replica now) is kept and sent again — at the next
   * topology change, and every REFUSED_RETRY_MS meanwhile (a lease the manager renews
   * late needs no topology change) — until HOLD_MS after its first refusal, when the
   * client gets the refusal. Resending is safe: every earlier attempt was refused, so
   * none was applied. True when the reply was taken (not to be delivered now).
   */
  #takeRefused(buf: Buffer, p: number, end: number, fr: SentFrame, index: number, sink: Sink): boolean {
    const head = buf.toString('latin1', p + 1, Math.min(end, p + 24));
    if (!head.startsWith('TRYAGAIN Lease expired') && !head.startsWith('READONLY ')) return false;
    const now = Date.now();
    const first = this.#refusedAt.get(sink) ?? now;
    if (now - first >= HOLD_MS) {
      this.#refusedAt.delete(sink);
      return false;
    }
    // Walk the frame's commands up to this one (the cursor only moves forward).
    while (fr.idx < index) {
      const kind = commandKind(fr.buf, fr.pos);
      if (kind === NAME_MULTI) fr.inMulti = true;
      else if (kind === NAME_ENDMULTI) fr.inMulti = false;
      fr.pos = replyEnd(fr.buf, fr.pos, fr.buf.length);
      fr.idx++;
    }
    const kind = commandKind(fr.buf, fr.pos);
    if (fr.inMulti || kind === NAME_MULTI || kind === NAME_ENDMULTI) {
      this.#refusedAt.delete(sink);
      return false;
    }
    const cmdEnd = replyEnd(fr.buf, fr.pos, fr.buf.length);
    const r: Refused = { bytes: Buffer.from(fr.buf.subarray(fr.pos, cmdEnd)), sink, flags: fr.flags, reply: Buffer.from(buf.subarray(p, end)), at: first };
    this.#refusedAt.set(sink, first);
    if (this.#epoch > fr.epoch) {
      this.#prepend([r]); // the topology already changed since it was sent
      return true;
    }
    this.#refused.push(r);
    if (this.#refusedTimer === null) {
      this.#refusedTimer = setTimeout(() => this.#retryRefused(), REFUSED_RETRY_MS);
      this.#refusedTimer.unref();
    }
    return true;
  }

  /** A topology change: the refused writes go out again now. */
  #releaseRefused(): void {
    if (this.#refused.length === 0) return;
    const items = this.#refused;
    this.#refused = [];
    if (this.#refusedTimer) clearTimeout(this.#refusedTimer);
    this.#refusedTimer = null;
    this.#log.info({ writes: items.length }, 'resending writes the worker refused before the topology change');
    this.#prepend(items);
  }

  /** Refused writes go out again; those first refused HOLD_MS ago get the worker's refusal. */
  #retryRefused(): void {
    this.#refusedTimer = null;
    const now = Date.now();
    const again: Refused[] = [];
    for (const r of this.#refused) {
      if (now - r.at >= HOLD_MS) {
        this.#refusedAt.delete(r.sink);
        r.sink.deliver(r.reply, 0, r.reply.length);
      } else {
        again.push(r);
      }
    }
    this.#refused = [];
    this.#prepend(again);
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
        if (f.flags & FLAG_OFFSET) {
          this.replyOffset = this.lastOffset = readOffset(buf, 0);
          p = OFFSET_BYTES;
        }
        const fr = this.#sent[this.#sentHead++];
        for (let i = 0; i < f.count; i++) {
          const end = replyEnd(buf, p, buf.length);
          if (end < 0) throw new Error('REPLIES frame holds fewer replies than its count');
          const sink = this.#inflight[this.#inflightHead++];
          const flight = this.#flights[this.#flightHead];
          if (flight !== undefined && --flight.remaining === 0) {
            this.#flightHead++;
            flight.succeed();
          }
          if (sink) {
            if (buf[p] === 0x2d && fr !== undefined && this.failoverExpected && this.#takeRefused(buf, p, end, fr, i, sink)) {
              p = end;
              continue;
            }
            if (this.#resent.size > 0) this.#resent.delete(sink);
            if (this.#refusedAt.size > 0) this.#refusedAt.delete(sink);
            sink.deliver(buf, p, end);
          }
          p = end;
        }
        this.replyOffset = -1;
        if (this.#inflightHead === this.#inflight.length) {
          this.#inflight.length = 0;
          this.#inflightHead = 0;
        } else if (this.#inflightHead > 4096) {
          this.#inflight = this.#inflight.slice(this.#inflightHead);
          this.#inflightHead = 0;
        }
        if (this.#sentHead === this.#sent.length) {
          this.#sent.length = 0;
          this.#sentHead = 0;
        } else if (this.#sentHead > 1024) {
          this.#sent = this.#sent.slice(this.#sentHead);
          this.#sentHead = 0;
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
      this.replyOffset = -1;
      this.#log.error({ err }, 'bad data from worker; dropping the link');
      this.fail(`protocol desync (${(err as Error).message})`);
      return;
    }
    if (this.#saturated) this.#checkDrained();
    // retarget() waited for the old socket's answers: all in, switch now.
    if (this.#switching && this.#inflightHead === this.#inflight.length) this.#switchNow();
  }
}

export function deliverError(sink: Sink, text: string): void {
  const b = Buffer.from(`-${text}\r\n`);
  sink.deliver(b, 0, b.length);
}
