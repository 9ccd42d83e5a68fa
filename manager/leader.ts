/**
 * Manager leadership in cluster mode: two or more `shoal-manager` processes, one
 * leader, chosen through etcd.
 *
 * Every manager holds an etcd lease of `managerLeaseSeconds` (renewed every quarter
 * TTL) and campaigns with one transaction: "if `${prefix}/manager/leader` does not
 * exist, create it attached to my lease". The winner leads; the others watch the key
 * and campaign again the moment it is deleted (its lease expired or was revoked),
 * with a poll every quarter TTL as a fallback. A killed leader's key therefore goes
 * with its lease: the next leader takes over within the TTL.
 *
 * Invariants:
 * - `token` is non-null only while this manager leads AND its lease is certainly
 *   alive: `validUntil` = the send time of the last acknowledged keepalive + the TTL
 *   the server granted - a drift margin. etcd restarts the TTL when it RECEIVES the
 *   keepalive, after we sent it, so the server's expiry is never earlier than ours.
 * - When `validUntil` passes without a renewal, or the lease is reported lost, or the
 *   leader key is deleted or recreated, the leader steps down AT ONCE: `onLost`
 *   listeners run synchronously (the manager stops the FailoverController), before
 *   any other manager can have been elected. Then it campaigns again with a new lease.
 * - Topology writes carry the token: the store's transaction compares the leader
 *   key's create revision with `token.createRevision`, so even a leader that has not
 *   yet noticed it lost its lease cannot write (manager/etcd-store.ts).
 */
import { hostname } from 'node:os';
import type { Etcd3, Lease, IKeyValue, Watcher } from 'etcd3';
import type { Logger } from '../shared/log.js';
import { etcdKeys } from '../shared/cluster/etcd-client.js';

/** Proof of leadership, checked by etcd on every topology write. */
export interface LeaderToken {
  /** The leader key's create revision: changes whenever another campaign wins. */
  readonly createRevision: string;
  readonly leaseId: string;
}

/** What a topology store asks before each write. */
export interface LeaderGuard {
  readonly token: LeaderToken | null;
}

export interface LeaderInfo {
  name: string;
  pid: number;
  host: string;
  since: string;
}

export interface LeadershipOptions {
  prefix: string;
  /** This manager's name (shown in the leader key and logs). */
  name: string;
  ttlSeconds: number;
  log: Logger;
}

/**
 * Margin taken off the lease's validity for clock-rate drift between this host and
 * etcd's leader and for timer lateness: 5% of the TTL + 50 ms. A guess, generous for
 * NTP-disciplined clocks.
 */
function driftMarginMs(ttlSeconds: number): number {
  return ttlSeconds * 50 + 50;
}

/** Keepalive attempts per renewal (each may land on another etcd member). */
const KEEPALIVE_ATTEMPTS = 3;

type State = 'stopped' | 'following' | 'leading';

export class ManagerLeadership implements LeaderGuard {
  readonly #client: Etcd3;
  readonly #opts: LeadershipOptions;
  readonly #key: string;
  readonly #log: Logger;
  #state: State = 'stopped';
  #lease: Lease | null = null;
  #leaseId = '';
  /** Local bound on the current lease's life (ms since epoch); 0 = unknown. */
  #validUntil = 0;
  #createRevision = '';
  #renewTimer: NodeJS.Timeout | null = null;
  #pollTimer: NodeJS.Timeout | null = null;
  #expiryTimer: NodeJS.Timeout | null = null;
  #watcher: Watcher | null = null;
  #campaigning = false;
  #renewing = false;
  #electedListeners: Array<() => void> = [];
  #lostListeners: Array<(reason: string) => void> = [];
  /** Who leads as last seen (null = nobody or unknown). */
  leader: LeaderInfo | null = null;
  /** When this manager last became leader (ms since epoch). */
  electedAt = 0;

  constructor(client: Etcd3, opts: LeadershipOptions) {
    this.#client = client;
    this.#opts = opts;
    this.#key = etcdKeys(opts.prefix).leader;
    this.#log = opts.log.child({ component: 'leader' });
  }

  get isLeader(): boolean {
    return this.token !== null;
  }

  get token(): LeaderToken | null {
    if (this.#state !== 'leading' || Date.now() >= this.#validUntil) return null;
    return { createRevision: this.#createRevision, leaseId: this.#leaseId };
  }

  onElected(listener: () => void): void {
    this.#electedListeners.push(listener);
  }

  /** Runs synchronously at the moment leadership ends. */
  onLost(listener: (reason: string) => void): void {
    this.#lostListeners.push(listener);
  }

  async start(): Promise<void> {
    if (this.#state !== 'stopped') return;
    this.#state = 'following';
    const quarter = Math.max(100, (this.#opts.ttlSeconds * 1000) / 4);
    this.#renewTimer = setInterval(() => void this.#renew(), quarter);
    this.#pollTimer = setInterval(() => void this.#campaign(), quarter);
    await this.#watchKey();
    await this.#campaign();
  }

  /** Gives leadership up cleanly (revokes the lease, so a follower takes over at once). */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    if (this.#state === 'leading') this.#stepDown('manager stopping');
    this.#state = 'stopped';
    for (const t of [this.#renewTimer, this.#pollTimer, this.#expiryTimer]) if (t !== null) clearTimeout(t);
    this.#renewTimer = this.#pollTimer = this.#expiryTimer = null;
    const w = this.#watcher;
    this.#watcher = null;
    await w?.cancel().catch(() => {});
    const lease = this.#lease;
    this.#lease = null;
    await lease?.revoke().catch(() => {});
  }

  /** A lease for this manager (granted once, renewed by #renew, replaced when lost). */
  async #ensureLease(): Promise<void> {
    if (this.#lease !== null && this.#validUntil > Date.now()) return;
    const old = this.#lease;
    this.#lease = null;
    void old?.revoke().catch(() => {});
    const lease = this.#client.lease(this.#opts.ttlSeconds, { autoKeepAlive: false });
    lease.on('lost', (err) => {
      if (this.#lease !== lease) return;
      this.#log.warn({ lease: this.#leaseId, err: err.message }, 'manager lease lost');
      this.#validUntil = 0;
      if (this.#state === 'leading') this.#stepDown(`lease lost: ${err.message}`);
    });
    const sent = Date.now();
    const id = await lease.grant();
    this.#lease = lease;
    this.#leaseId = id;
    this.#validUntil = sent + this.#opts.ttlSeconds * 1000 - driftMarginMs(this.#opts.ttlSeconds);
  }

  async #renew(): Promise<void> {
    const lease = this.#lease;
    if (lease === null || this.#state === 'stopped' || this.#renewing) return;
    this.#renewing = true;
    try {
      // A keepalive stream that lands on a dead etcd member fails; the next one goes to
      // another member (etcd3 shuffles hosts), so retry at once, a bounded number of times.
      for (let attempt = 1; attempt <= KEEPALIVE_ATTEMPTS; attempt++) {
        const sent = Date.now();
        try {
          const res = await lease.keepaliveOnce();
          if (lease !== this.#lease) return;
          const ttl = Math.min(Number(res.TTL), this.#opts.ttlSeconds);
          if (ttl > 0) {
            this.#validUntil = Math.max(this.#validUntil, sent + ttl * 1000 - driftMarginMs(this.#opts.ttlSeconds));
            this.#armExpiry();
          }
          return;
        } catch (err) {
          // etcd unreachable: the lease runs out on its own and #armExpiry steps down.
          this.#log.debug({ err: (err as Error).message, attempt }, 'lease keepalive failed');
          if (lease !== this.#lease || lease.revoked()) return;
        }
      }
    } finally {
      this.#renewing = false;
    }
  }

  /** Steps down exactly when the lease can no longer be trusted. */
  #armExpiry(): void {
    if (this.#expiryTimer !== null) clearTimeout(this.#expiryTimer);
    this.#expiryTimer = null;
    if (this.#state !== 'leading') return;
    const left = this.#validUntil - Date.now();
    if (left <= 0) {
      this.#stepDown('lease not renewed in time (etcd unreachable?)');
      return;
    }
    this.#expiryTimer = setTimeout(() => {
      this.#expiryTimer = null;
      if (this.#state === 'leading' && Date.now() >= this.#validUntil) this.#stepDown('lease not renewed in time (etcd unreachable?)');
      else this.#armExpiry();
    }, left);
  }

  async #watchKey(): Promise<void> {
    const w = await this.#client.watch().key(this.#key).create();
    // Events older than our own election (a poll may win before the watch delivers the
    // old leader's delete) say nothing about our term.
    const beforeMyTerm = (kv: IKeyValue): boolean => this.#state === 'leading' && BigInt(kv.mod_revision) < BigInt(this.#createRevision);
    w.on('delete', (kv: IKeyValue) => {
      if (beforeMyTerm(kv)) return;
      if (this.#state === 'leading') this.#stepDown('leader key deleted (lease revoked or expired)');
      this.leader = null;
      void this.#campaign();
    });
    w.on('put', (kv: IKeyValue) => {
      if (beforeMyTerm(kv)) return;
      if (this.#state === 'leading' && kv.create_revision !== this.#createRevision) this.#stepDown('another manager holds the leader key');
      this.leader = parseLeader(kv.value);
    });
    w.on('error', () => {}); // etcd3 re-establishes the watch
    this.#watcher = w;
  }

  async #campaign(): Promise<void> {
    if (this.#state !== 'following' || this.#campaigning) return;
    this.#campaigning = true;
    try {
      await this.#ensureLease();
      const me: LeaderInfo = { name: this.#opts.name, pid: process.pid, host: hostname(), since: new Date().toISOString() };
      const res = await this.#client
        .if(this.#key, 'Create', '==', 0)
        .then(this.#client.put(this.#key).value(JSON.stringify(me)).lease(this.#leaseId))
        .else(this.#client.get(this.#key))
        .commit();
      if (this.#state !== 'following') return;
      if (res.succeeded) {
        if (Date.now() >= this.#validUntil) return; // won with a lease we can no longer trust: let it expire
        this.#state = 'leading';
        this.#createRevision = res.header.revision;
        this.leader = me;
        this.electedAt = Date.now();
        this.#armExpiry();
        this.#log.info({ manager: me.name, lease: this.#leaseId, ttlSeconds: this.#opts.ttlSeconds, revision: this.#createRevision }, 'manager elected leader');
        for (const l of this.#electedListeners) l();
      } else {
        const kv = res.responses[0]?.response_range?.kvs?.[0];
        const seen = kv ? parseLeader(kv.value) : null;
        if (seen?.name !== this.leader?.name || this.leader === null) {
          this.#log.info({ leader: seen?.name, leaderPid: seen?.pid }, 'manager following');
        }
        this.leader = seen;
      }
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'campaign failed (etcd unreachable?); retrying');
    } finally {
      this.#campaigning = false;
    }
  }

  #stepDown(reason: string): void {
    if (this.#state !== 'leading') return;
    this.#state = 'following';
    this.#createRevision = '';
    if (this.#expiryTimer !== null) clearTimeout(this.#expiryTimer);
    this.#expiryTimer = null;
    this.#log.warn({ manager: this.#opts.name, reason, ledMs: Date.now() - this.electedAt }, 'manager lost leadership: stopped acting');
    for (const l of this.#lostListeners) l(reason);
    // Never campaign again with this lease: revoking it deletes a leader key that may
    // still hang on it, so the next campaign (ours or another manager's) starts clean.
    const lease = this.#lease;
    this.#lease = null;
    this.#validUntil = 0;
    void lease?.revoke().catch(() => {});
  }
}

function parseLeader(raw: Buffer | Uint8Array | string | null | undefined): LeaderInfo | null {
  if (raw === null || raw === undefined) return null;
  try {
    return JSON.parse(Buffer.from(raw).toString()) as LeaderInfo;
  } catch {
    return null;
  }
}
