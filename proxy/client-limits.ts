/**
 * ClientLimits: the proxy's per-client limits, with Redis's names and semantics
 * (docs/resilience.md). Settings are read from the server's live config, so CONFIG SET
 * applies at once (tcp-keepalive: to new connections, as in Redis).
 *
 *   maxclients                  admission: this process's share, ceil(maxclients /
 *                               proxy processes); over it a new client gets
 *                               `-ERR max number of clients reached` and is closed
 *   timeout                     the 1 s sweep closes clients idle longer (not blocked
 *                               or pub/sub clients, nor one still being answered)
 *   tcp-keepalive               SO_KEEPALIVE with this idle time on every client socket
 *   client-query-buffer-limit   a client whose unparsed input exceeds it is closed
 *   client-output-buffer-limit  hard / soft+seconds limits per class, on what the proxy
 *                               holds for a client (socket buffer + unflushed output +
 *                               replies queued behind an earlier one)
 *
 * Nothing here runs per command: admission per connection, the query check per read,
 * the output check per flush that leaves bytes behind, the sweep once a second.
 */
import type { Socket } from 'node:net';
import type { ShoalConfig } from '../shared/config/schema.js';
import { outputLimitsFrom, type OutputLimit, type OutputLimits } from '../shared/config/output-buffer-limit.js';
import { ConfigError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';

const MAX_CLIENTS_REACHED = Buffer.from('-ERR max number of clients reached\r\n');
const SWEEP_MS = 1000;

/** Output-buffer class of a client (Redis's `normal` and `pubsub`; replicas never reach the proxy). */
export const OutputClass = { normal: 0, pubsub: 1 } as const;
export type OutputClass = (typeof OutputClass)[keyof typeof OutputClass];

/** What the limits need from a proxy client (ProxyClient implements it). */
export interface LimitedClient {
  readonly socket: Socket;
  readonly isBlocked: boolean;
  readonly outstanding: number;
  /** Bytes the proxy holds for the client: socket buffer + unflushed + queued replies. */
  readonly outputHeld: number;
  readonly lastInteraction: number;
  readonly describe: string;
  outputClass: OutputClass;
  /** When the client went over its soft output limit (0: it is not over). */
  softLimitSince: number;
  /** Closes the connection now, discarding what it has not been sent. */
  kill(): void;
}

/**
 * The pub/sub code calls this when a client subscribes (pubsub) and when it has no
 * subscription left (normal): the class picks its output limits, and pub/sub clients
 * are exempt from `timeout`, as in Redis.
 */
export function setOutputBufferClass(client: LimitedClient, cls: 'normal' | 'pubsub'): void {
  client.outputClass = cls === 'pubsub' ? OutputClass.pubsub : OutputClass.normal;
  client.softLimitSince = 0;
}

interface LimitsHost {
  readonly config: ShoalConfig;
  readonly group: { readonly size: number };
  readonly log: Logger;
}

export class ClientLimits {
  /** Connections refused for maxclients (INFO rejected_connections). */
  rejectedConnections = 0;
  readonly #host: LimitsHost;
  readonly #log: Logger;
  readonly #clients = new Set<LimitedClient>();
  readonly #sweep: NodeJS.Timeout;
  #limitsText: string;
  #limits: OutputLimits;

  /** Throws a ConfigError when client-output-buffer-limit does not parse. */
  constructor(host: LimitsHost) {
    this.#host = host;
    this.#log = host.log.child({ component: 'client-limits' });
    const parsed = outputLimitsFrom(host.config.clientOutputBufferLimit);
    if (typeof parsed === 'string') {
      throw new ConfigError('clientOutputBufferLimit', `${parsed} Expected "<class> <hard> <soft> <soft-seconds>" groups, class normal, replica or pubsub (e.g. "normal 0 0 0 pubsub 32mb 8mb 60")`);
    }
    this.#limits = parsed;
    this.#limitsText = host.config.clientOutputBufferLimit;
    this.#sweep = setInterval(() => this.sweep(Date.now()), SWEEP_MS);
    this.#sweep.unref();
  }

  /** This process's share of maxclients. */
  get maxClients(): number {
    return Math.ceil(this.#host.config.maxclients / Math.max(1, this.#host.group.size));
  }

  /**
   * A new connection: false after refusing it (maxclients reached: Redis's error, then
   * closed). `connected` is the number of clients this process serves now.
   */
  admit(socket: Socket, connected: number): boolean {
    if (connected < this.maxClients) return true;
    this.rejectedConnections++;
    socket.on('error', () => socket.destroy());
    socket.end(MAX_CLIENTS_REACHED, () => socket.destroy());
    return false;
  }

  /** Socket options for an admitted client, and the client joins the sweep. */
  track(client: LimitedClient): void {
    const keepalive = this.#host.config.tcpKeepalive;
    if (keepalive > 0) client.socket.setKeepAlive(true, keepalive * 1000);
    this.#clients.add(client);
  }

  untrack(client: LimitedClient): void {
    this.#clients.delete(client);
  }

  /** client-query-buffer-limit: true (after closing the client) when `buffered` is over it. */
  queryBufferExceeded(client: LimitedClient, buffered: number): boolean {
    if (buffered <= this.#host.config.clientQueryBufferLimit) return false;
    this.#log.warn({ client: client.describe, qbuf: buffered }, 'closing client that reached max query buffer length');
    client.kill();
    return true;
  }

  /**
   * client-output-buffer-limit for a client holding `held` bytes: true (after closing
   * the client) when it is over its class's hard limit, or over the soft limit for
   * longer than the soft seconds (Redis checkClientOutputBufferLimits).
   */
  outputExceeded(client: LimitedClient, held: number, now?: number): boolean {
    const l = this.#limitFor(client.outputClass);
    if (l.hard === 0 && l.soft === 0) return false;
    let over = l.hard > 0 && held >= l.hard;
    if (l.soft > 0 && held >= l.soft) {
      const t = now ?? Date.now();
      if (client.softLimitSince === 0) client.softLimitSince = t;
      else if (t - client.softLimitSince > l.softSeconds * 1000) over = true;
    } else {
      client.softLimitSince = 0;
    }
    if (!over) return false;
    this.#log.warn({ client: client.describe, omem: held, class: client.outputClass === OutputClass.pubsub ? 'pubsub' : 'normal' },
      'client closed for overcoming of output buffer limits');
    client.kill();
    return true;
  }

  /** Once a second: idle clients (timeout) and clients lingering over a soft output limit. */
  sweep(now: number): void {
    const idleMs = this.#host.config.timeout * 1000;
    for (const c of this.#clients) {
      const held = c.outputHeld;
      if (held > 0 || c.softLimitSince !== 0) {
        if (this.outputExceeded(c, held, now)) continue;
      }
      if (idleMs > 0 && held === 0 && c.outstanding === 0 && !c.isBlocked && c.outputClass !== OutputClass.pubsub && now - c.lastInteraction > idleMs) {
        this.#log.info({ client: c.describe }, 'closing idle client');
        c.kill();
      }
    }
  }

  close(): void {
    clearInterval(this.#sweep);
  }

  #limitFor(cls: OutputClass): OutputLimit {
    const text = this.#host.config.clientOutputBufferLimit;
    if (text !== this.#limitsText) {
      const parsed = outputLimitsFrom(text);
      // CONFIG SET only stores values that parse; keep the last good limits otherwise.
      if (typeof parsed !== 'string') this.#limits = parsed;
      this.#limitsText = text;
    }
    return cls === OutputClass.pubsub ? this.#limits.pubsub : this.#limits.normal;
  }
}
