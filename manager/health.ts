/**
 * HealthMonitor: the manager's health checks of every primary and replica worker.
 *
 * Each `check(epoch, leaseMs)` (called every failover-check-ms by the controller) sends
 * `SHOAL.LEASE <epoch> <leaseMs>` to every endpoint over its persistent WorkerConn; a
 * primary that answers has its lease renewed until now + leaseMs. The reply is
 * `[role, offset, epoch, link]` (docs/replication.md).
 *
 * A miss: at a check, the endpoint has not answered the previous lease (or is not
 * connected). At most one lease per endpoint is in flight: while one is unanswered no
 * other is sent, so a paused worker that resumes finds at most one stale lease queued
 * (worker-conn.ts says why the topology push behind it makes that safe). Any reply
 * resets the misses: the worker is alive. A manager that stalls counts one miss per
 * check it actually runs, never several for one stall.
 *
 * Invariants: `misses` counts consecutive checks without an answer; `lastLeaseSentAt`
 * is the send time of the newest lease the worker may have granted (answered or not),
 * so the controller can wait until it must have expired.
 */
import type { WorkerEndpoint } from '../shared/cluster/topology.js';
import type { ShoalConfig } from '../shared/config/schema.js';
import { WorkerConn, WorkerError, type WorkerReply } from './worker-conn.js';

/** What a worker said about itself in its last SHOAL.LEASE reply. */
export interface LeaseReport {
  role: 'primary' | 'replica';
  /** Primary: master_repl_offset; replica: applied offset. */
  offset: number;
  /** The worker's own epoch. */
  epoch: number;
  /** Replica: up | down | sync; primary: none. */
  link: string;
}

export interface EndpointHealth {
  readonly key: string;
  endpoint: WorkerEndpoint;
  readonly conn: WorkerConn;
  misses: number;
  /** Date.now() of the last reply of any kind (0 = never). */
  lastReplyAt: number;
  /** Round trip of the last answered lease. */
  rttMs: number;
  /** The last well-formed lease reply. */
  report: LeaseReport | null;
  /** The last error reply or link failure, for status and logs. */
  lastError: string | null;
  /** Send time of the newest lease that may have reached the worker. */
  lastLeaseSentAt: number;
  /** A lease is in flight (sent, unanswered). */
  leasePending: boolean;
}

export const endpointKey = (w: Pick<WorkerEndpoint, 'host' | 'port'>): string => `${w.host}:${w.port}`;

/** Parses a SHOAL.LEASE reply; null when it is not one. */
export function parseLeaseReply(r: WorkerReply): LeaseReport | null {
  if (!Array.isArray(r) || r.length < 4) return null;
  const [role, offset, epoch, link] = r;
  if ((role !== 'primary' && role !== 'replica') || typeof offset !== 'number' || typeof epoch !== 'number') return null;
  return { role, offset, epoch, link: typeof link === 'string' ? link : String(link) };
}

export class HealthMonitor {
  readonly #byKey = new Map<string, EndpointHealth>();

  /**
   * `onReport` runs on every answered lease (the controller re-pushes the topology to
   * a worker behind on epochs); `timeoutMs` bounds pushes and fences, not leases.
   */
  constructor(
    private readonly config: Pick<ShoalConfig, 'tlsCluster'> & Partial<ShoalConfig>,
    private readonly onReport: (h: EndpointHealth) => void = () => {},
  ) {}

  /** Follows the topology's endpoints: new ones get a connection, gone ones are closed. */
  setEndpoints(endpoints: readonly WorkerEndpoint[]): void {
    const keep = new Set<string>();
    for (const ep of endpoints) {
      const key = endpointKey(ep);
      keep.add(key);
      const h = this.#byKey.get(key);
      if (h) {
        h.endpoint = ep;
        continue;
      }
      const conn = new WorkerConn(ep.host, ep.port, this.config);
      conn.ensureConnected();
      this.#byKey.set(key, { key, endpoint: ep, conn, misses: 0, lastReplyAt: 0, rttMs: 0, report: null, lastError: null, lastLeaseSentAt: 0, leasePending: false });
    }
    for (const [key, h] of this.#byKey) {
      if (keep.has(key)) continue;
      h.conn.close();
      this.#byKey.delete(key);
    }
  }

  get(ep: Pick<WorkerEndpoint, 'host' | 'port'>): EndpointHealth | undefined {
    return this.#byKey.get(endpointKey(ep));
  }

  all(): IterableIterator<EndpointHealth> {
    return this.#byKey.values();
  }

  /** One round of health checks: count misses, send the next leases. */
  check(epoch: number, leaseMs: number): void {
    for (const h of this.#byKey.values()) {
      if (h.leasePending || !h.conn.connected) {
        h.misses++;
        if (!h.conn.connected) {
          h.conn.ensureConnected();
          if (h.lastError === null) h.lastError = 'not connected';
        }
        if (h.leasePending) continue; // never a second lease behind an unanswered one
        if (!h.conn.connected) continue;
      }
      this.#sendLease(h, epoch, leaseMs);
    }
  }

  #sendLease(h: EndpointHealth, epoch: number, leaseMs: number): void {
    const sentAt = Date.now();
    h.leasePending = true;
    h.lastLeaseSentAt = sentAt;
    // Generous timeout: a lease is a miss at the next check anyway; this only frees
    // the slot of a worker that will never answer (the connection stays open).
    h.conn.send(['SHOAL.LEASE', String(epoch), String(leaseMs)], 60_000).then((r) => {
      h.leasePending = false;
      h.lastReplyAt = Date.now();
      h.misses = 0;
      h.rttMs = h.lastReplyAt - sentAt;
      if (r instanceof WorkerError) {
        h.lastError = r.message;
        return;
      }
      const report = parseLeaseReply(r);
      if (report === null) {
        h.lastError = `unexpected SHOAL.LEASE reply ${JSON.stringify(r)}`;
        return;
      }
      h.report = report;
      h.lastError = null;
      this.onReport(h);
    }, (err: Error) => {
      h.leasePending = false;
      h.lastError = err.message;
    });
  }

  close(): void {
    for (const h of this.#byKey.values()) h.conn.close();
    this.#byKey.clear();
  }
}
