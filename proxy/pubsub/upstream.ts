/**
 * PubSubUpstream: the hub's dedicated connection to one worker. It opens with the
 * byte PUBSUB_LINK_MAGIC (the worker then allows SHOAL.PSSUB and speaks RESP3 on it,
 * shard/pubsub.ts), then carries RESP requests answered in order and `>` pushes
 * (message / pmessage / smessage), told apart by their first byte. Requests written in
 * one turn leave in one write. On loss it reconnects with backoff and the hub replays
 * its subscriptions; requests in flight fail.
 */
import type { Socket } from 'node:net';
import type { WorkerEndpoint } from '../../shared/cluster/topology.js';
import type { ShoalConfig } from '../../shared/config/schema.js';
import type { Logger } from '../../shared/log.js';
import { connectWorker, upstreamReadyEvent } from '../upstream/connect.js';
import { ReplyWriter } from '../../shared/resp/reply-writer.js';
import { PUBSUB_LINK_MAGIC } from '../../shared/pubsub/replies.js';


export type LinkValue = Buffer | number | string | Error | null | LinkValue[];

/** A request's completion: its reply, or the error that failed it (link lost, hub closed). */
export type LinkCallback = (v: LinkValue, err: Error | null) => void;

const NEED_MORE = Symbol('more');

export class PubSubUpstream {
  endpoint: WorkerEndpoint;
  readonly #config: ShoalConfig;
  readonly #log: Logger;
  readonly #onPush: (msg: Buffer[]) => void;
  readonly #onConnect: () => void;
  #socket: Socket | null = null;
  #connected = false;
  #pending: LinkCallback[] = [];
  readonly #out = new ReplyWriter();
  #flushScheduled = false;
  #buf: Buffer = Buffer.alloc(0);
  #pos = 0;
  #retryMs = 50;
  #closed = false;
  #everConnected = false;

  constructor(endpoint: WorkerEndpoint, config: ShoalConfig, log: Logger, onPush: (msg: Buffer[]) => void, onConnect: () => void) {
    this.endpoint = endpoint;
    this.#config = config;
    this.#log = log;
    this.#onPush = onPush;
    this.#onConnect = onConnect;
  }

  /** Sends a command; resolves with its reply (an Error value for `-ERR ...`). */
  request(argv: Buffer[]): Promise<LinkValue> {
    return new Promise<LinkValue>((resolve, reject) => this.send(argv, (v, err) => (err === null ? resolve(v) : reject(err))));
  }

  /** Sends a command; `done` runs with its reply (PUBLISH's path: no promise per message). */
  send(argv: Buffer[], done: LinkCallback): void {
    if (this.#closed) return done(null, new Error('pub/sub hub closed'));
    if (this.#socket === null) this.connect();
    this.#pending.push(done);
    this.#out.bulkArray(argv);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(this.#flush);
    }
  }

  readonly #flush = (): void => this.flush();

  /**
   * Follows the worker's group to a new primary (failover): requests in flight fail,
   * the connection moves at once, and the hub replays its subscriptions on connect.
   */
  retarget(endpoint: WorkerEndpoint): void {
    this.endpoint = endpoint;
    const s = this.#socket;
    if (s === null || this.#closed) return; // the next connect goes to the new endpoint
    this.#socket = null;
    this.#connected = false;
    this.#buf = Buffer.alloc(0);
    this.#pos = 0;
    this.#out.reset();
    s.destroy();
    this.failPending(new Error(`CLUSTERDOWN pub/sub link moved to ${endpoint.host}:${endpoint.port}`));
    this.#log.info({ worker: `${endpoint.host}:${endpoint.port}` }, 'pub/sub link follows the new primary');
    this.#everConnected = true;
    this.connect();
  }

  close(): void {
    this.#closed = true;
    this.#socket?.destroy();
    this.failPending(new Error('pub/sub hub closed'));
  }

  private flush(): void {
    this.#flushScheduled = false;
    if (!this.#connected || this.#out.length === 0) return;
    this.#socket!.write(this.#out.take());
  }

  private connect(): void {
    const s = connectWorker(this.endpoint, this.#config);
    this.#socket = s;
    this.#connected = false;
    s.setNoDelay(true);
    s.once(upstreamReadyEvent(s), () => {
      this.#connected = true;
      this.#retryMs = 50;
      s.write(Buffer.from([PUBSUB_LINK_MAGIC]));
      if (this.#everConnected) this.#onConnect();
      this.#everConnected = true;
      this.flush();
    });
    s.on('data', (chunk: Buffer) => this.onData(chunk));
    s.on('error', () => s.destroy());
    s.on('close', () => {
      if (this.#socket !== s) return;
      this.#socket = null;
      this.#connected = false;
      this.#buf = Buffer.alloc(0);
      this.#pos = 0;
      this.#out.reset();
      this.failPending(new Error(`CLUSTERDOWN pub/sub link to ${this.endpoint.host}:${this.endpoint.port} lost`));
      if (this.#closed) return;
      this.#log.warn({ worker: `${this.endpoint.host}:${this.endpoint.port}` }, 'pub/sub link lost; reconnecting');
      const t = setTimeout(() => {
        if (!this.#closed && this.#socket === null) {
          this.connect();
          // The hub replays its subscriptions from onConnect once the link is up.
        }
      }, this.#retryMs);
      t.unref();
      this.#retryMs = Math.min(this.#retryMs * 2, 2000);
    });
  }

  private failPending(err: Error): void {
    const p = this.#pending;
    this.#pending = [];
    for (const x of p) x(null, err);
  }

  private onData(chunk: Buffer): void {
    this.#buf = this.#pos < this.#buf.length ? Buffer.concat([this.#buf.subarray(this.#pos), chunk]) : chunk;
    this.#pos = 0;
    for (;;) {
      if (this.#pos >= this.#buf.length) break;
      const push = this.#buf[this.#pos] === 0x3e; // '>'
      const v = this.parse();
      if (v === NEED_MORE) break;
      if (push) this.#onPush(v as Buffer[]);
      else this.#pending.shift()?.(v, null);
    }
  }

  /** One RESP2/RESP3 value at #pos, or NEED_MORE (nothing consumed). */
  private parse(): LinkValue | typeof NEED_MORE {
    const start = this.#pos;
    const v = this.value();
    if (v === NEED_MORE) this.#pos = start;
    return v;
  }

  private line(): string | null {
    const buf = this.#buf;
    const end = buf.indexOf(13, this.#pos + 1);
    if (end < 0 || end + 1 >= buf.length) return null;
    const s = buf.toString('latin1', this.#pos + 1, end);
    this.#pos = end + 2;
    return s;
  }

  private value(): LinkValue | typeof NEED_MORE {
    const buf = this.#buf;
    const t = buf[this.#pos];
    const l = this.line();
    if (l === null) return NEED_MORE;
    switch (t) {
      case 0x2b: return l; // +
      case 0x2d: return new Error(l); // -
      case 0x3a: return Number(l); // :
      case 0x5f: return null; // _
      case 0x24: { // $
        const n = Number(l);
        if (n < 0) return null;
        if (this.#pos + n + 2 > buf.length) return NEED_MORE;
        const b = Buffer.from(buf.subarray(this.#pos, this.#pos + n));
        this.#pos += n + 2;
        return b;
      }
      case 0x2a: case 0x3e: case 0x7e: case 0x25: { // * > ~ %
        let n = Number(l);
        if (n < 0) return null;
        if (t === 0x25) n *= 2;
        const items: LinkValue[] = [];
        for (let i = 0; i < n; i++) {
          if (this.#pos >= buf.length) return NEED_MORE;
          const v = this.value();
          if (v === NEED_MORE) return NEED_MORE;
          items.push(v);
        }
        return items;
      }
      default:
        return l;
    }
  }
}
