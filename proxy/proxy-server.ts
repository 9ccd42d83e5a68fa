/**
 * ProxyServer: routes every client command to the worker that owns its keys.
 *
 *   single-key / same-worker commands → forwarded as-is, reply bytes passed through
 *   split commands (MGET MSET DEL EXISTS TOUCH UNLINK) → one sub-command per worker,
 *     replies joined in the client's key order (proxy/fanout.ts)
 *   all-worker commands (KEYS DBSIZE FLUSHALL ...) → every worker, replies joined
 *   special commands (SCAN RANDOMKEY RENAME COPY LCS) → proxy/special.ts
 *   connection commands (PING HELLO CLIENT COMMAND ...) and INFO/CONFIG → answered here
 *
 * Upstream batches are flushed once per event-loop turn (setImmediate), so commands
 * from many clients for one worker travel in one frame.
 */
import { CommandNameCache } from '../shared/commands/name-cache.js';
import type { Socket } from 'node:net';
import { lookupCommand } from '../shared/commands/table.js';
import { arityOk, keyIndexes, type CommandSpec } from '../shared/commands/spec.js';
import { WireErrors } from '../shared/resp/wire-errors.js';
import { ReplyWriter } from '../shared/resp/reply-writer.js';
import { keySlot } from '../shared/cluster/slot.js';
import { slotOwners, type WorkerEndpoint } from '../shared/cluster/topology.js';
import { runConnectionCommand, type ConnectionHost } from '../shared/connection/commands.js';
import { kAclGate, kMulti, kNoTouch, kPubSub, type ClientState } from '../shared/connection/client-state.js';
import { RuntimeConfig } from '../shared/config/runtime.js';
import type { ShoalConfig } from '../shared/config/schema.js';
import type { Logger } from '../shared/log.js';
import { WorkerLink, UpstreamPressure } from './upstream/link.js';
import { ClientLimits } from './client-limits.js';
import { BlockingConnections } from './upstream/blocking-conn.js';
import { CMD_BLOCKING, CMD_NOAUTH } from '../shared/commands/spec.js';
import { gatherCommand } from './gather.js';
import { ProxyClient } from './client-connection.js';
import { splitCommand, allWorkers } from './fanout.js';
import { specialCommand } from './special.js';
import { proxyInfo } from './info.js';
import { queueInMulti, transactionCommand, transactionArityError, resetTransaction } from './transactions.js';
import { ProcessGroup } from './process-group.js';
import { ClientAdmin, clientCommand } from './client-command.js';
import { ProxyMetrics, answerAdminQuestions } from './metrics.js';
import { slowlogCommand } from './slowlog.js';
import { AclStore } from './acl/acl-store.js';
import { admitOrReply } from './acl/acl-gate.js';
import { componentLog } from '../shared/log.js';
import { PubSubHub } from './pubsub/hub.js';
import { pubsubCommand, pubsubModeGate, dropClientPubSub } from './pubsub/commands.js';
import { ReplicaSets } from './replica-reads.js';
import { routeReplicated, consistencyCommand, waitCommand } from './consistency.js';

/** ProcessGroup topic: every settable CONFIG value, shared after each CONFIG SET. */
const T_CONFIG_VALUES = 'config-values';

export class ProxyServer implements ConnectionHost {
  readonly mode = 'standalone' as const;
  readonly config: ShoalConfig;
  readonly runtime: RuntimeConfig;
  readonly links: WorkerLink[];
  readonly blockingConns = new BlockingConnections(this);
  /** Set when a command was queued on a saturated worker link (backpressure, docs/resilience.md). */
  readonly upstreamPressure = new UpstreamPressure();
  /** The command being dispatched is a CLIENT NO-TOUCH client's (proxy/upstream/link.ts brackets its sends). */
  noTouchNow = false;
  /** FLAG_STRONG / FLAG_OFFSET for the command being dispatched (proxy/consistency.ts); links honour them where the group has replicas. */
  batchFlags = 0;
  /** maxclients, timeout, query/output buffer limits (proxy/client-limits.ts). */
  readonly limits: ClientLimits;
  readonly log: Logger;
  /** The proxy's processes (proxy/process-group.ts); size 1 in single-process mode. */
  readonly group: ProcessGroup;
  /** CLIENT LIST/KILL/PAUSE across processes and the pause in force (proxy/client-command.ts). */
  readonly clientAdmin: ClientAdmin;
  /** Per-command counters, latency, bytes, SLOWLOG (proxy/metrics.ts, docs/observability.md). */
  readonly metrics: ProxyMetrics;
  /** ACL users, AUTH, per-user rate limits (proxy/acl/, docs/acl.md). */
  readonly acl: AclStore;
  /** This process's pub/sub subscriptions, one upstream per channel (proxy/pubsub/, docs/pubsub.md). */
  readonly hub: PubSubHub;
  /** Replica links per group and replica reads (proxy/replica-reads.ts, proxy/consistency.ts). */
  readonly replicas: ReplicaSets;
  readonly #connLog: Logger;
  /** Set by the composition root once the client listeners are open (/readyz waits for it). */
  acceptingClients = false;
  readonly startTime = Date.now();
  readonly stats = { connections: 0, commands: 0 };
  readonly #clients = new Set<ProxyClient>();
  readonly #owners: Int16Array;
  /** Command name bytes as sent (any case) → spec; filled on first use. */
  readonly #byName = new CommandNameCache<CommandSpec>();
  readonly #tags = new Map<WorkerLink, string>();
  readonly #scratch = new ReplyWriter();
  #dirtyLinks: WorkerLink[] = [];
  #dirtyClients: ProxyClient[] = [];
  #linkFlushScheduled = false;
  #clientFlushScheduled = false;
  readonly #timeoutTimer: NodeJS.Timeout;

  constructor(config: ShoalConfig, workers: WorkerEndpoint[], log: Logger, group: ProcessGroup = ProcessGroup.single()) {
    this.config = { ...config };
    this.log = log;
    this.group = group;
    this.limits = new ClientLimits(this);
    this.clientAdmin = new ClientAdmin(this);
    this.metrics = new ProxyMetrics(this.config, group.index, group.size);
    this.#connLog = componentLog(log, 'proxy');
    this.runtime = new RuntimeConfig(this.config, config.port, false);
    this.acl = new AclStore({ config: this.config, runtime: this.runtime, group, log: componentLog(log, 'acl'), clients: () => this.#clients });
    this.#owners = slotOwners(workers);
    this.hub = new PubSubHub(workers, this.config, log);
    this.links = workers.map((w) => {
      const link = new WorkerLink(w, log, this);
      link.onDirty = (l) => this.linkDirty(l);
      return link;
    });
    this.replicas = new ReplicaSets(this);
    this.#timeoutTimer = setInterval(() => {
      const now = Date.now();
      for (const l of this.links) l.checkTimeout(now, this.config.upstreamTimeoutMs);
    }, 100);
    this.#timeoutTimer.unref();
    answerAdminQuestions(this);
    // A CONFIG SET through any proxy process holds for all of them (and for a restarted one).
    group.onShared(T_CONFIG_VALUES, (values) => {
      const refused = this.runtime.adoptValues(values as Array<[string, string]>);
      if (refused.length > 0) log.warn({ refused }, 'config values from another proxy process refused');
    });
  }

  /** Serves a client socket (plain, or TLS after its handshake: proxy/tls.ts). */
  accept(socket: Socket): ProxyClient {
    this.stats.connections++;
    const client = new ProxyClient(this, socket);
    if (client.rejected) return client; // maxclients
    this.#clients.add(client);
    this.acl.connected(client.state);
    this.#connLog.info({ id: client.state.id, addr: client.state.addr }, 'client connected');
    return client;
  }

  *clients(): Iterable<ClientState> {
    for (const c of this.#clients) yield c.state;
  }

  /** This process's client connections (CLIENT LIST / KILL). */
  proxyClients(): Iterable<ProxyClient> {
    return this.#clients;
  }

  get clientCount(): number {
    return this.#clients.size;
  }

  get blockedClientCount(): number {
    let n = 0;
    for (const c of this.#clients) if (c.isBlocked) n++;
    return n;
  }

  clientClosed(c: ProxyClient): void {
    this.#clients.delete(c);
    this.#connLog.info({ id: c.state.id, addr: c.state.addr, name: c.state.name || undefined, ageSeconds: Math.floor((Date.now() - c.state.createdAt) / 1000) }, 'client disconnected');
    if (c.tx !== null) resetTransaction(c);
    if (c.pubsub !== null) dropClientPubSub(this, c);
  }

  close(): void {
    clearInterval(this.#timeoutTimer);
    this.limits.close();
    this.clientAdmin.close();
    for (const l of this.links) l.close();
    this.replicas.close();
    this.blockingConns.close();
    this.hub.close();
    for (const c of this.#clients) c.socket.destroy();
  }

  /**
   * A short string whose hash slot `link`'s worker owns: `{tag}name` keys land there
   * (temporary keys of gathered commands).
   */
  hashTagFor(link: WorkerLink): string {
    let tag = this.#tags.get(link);
    if (tag === undefined) {
      const want = this.links.indexOf(link);
      for (let n = 0; ; n++) {
        if (this.#owners[keySlot(Buffer.from(String(n)))] === want) {
          tag = String(n);
          break;
        }
      }
      this.#tags.set(link, tag);
    }
    return tag;
  }

  /** Index (replication group) of the primary owning a key. */
  ownerIndex(key: Uint8Array): number {
    return this.#owners[keySlot(key)]!;
  }

  /** The worker link owning a key. */
  linkFor(key: Uint8Array): WorkerLink {
    return this.links[this.#owners[keySlot(key)]!]!;
  }

  linkDirty(link: WorkerLink): void {
    this.#dirtyLinks.push(link);
    if (!this.#linkFlushScheduled) {
      this.#linkFlushScheduled = true;
      setImmediate(this.#flushLinks);
    }
  }

  clientDirty(c: ProxyClient): void {
    this.#dirtyClients.push(c);
    if (!this.#clientFlushScheduled) {
      this.#clientFlushScheduled = true;
      queueMicrotask(this.#flushClients);
    }
  }

  readonly #flushLinks = (): void => {
    this.#linkFlushScheduled = false;
    const links = this.#dirtyLinks;
    this.#dirtyLinks = [];
    for (const l of links) l.flush();
  };

  readonly #flushClients = (): void => {
    this.#clientFlushScheduled = false;
    const clients = this.#dirtyClients;
    this.#dirtyClients = [];
    for (const c of clients) c.flush();
  };

  lookup(name: Buffer): CommandSpec | undefined {
    let spec = this.#byName.get(name);
    if (spec === undefined) {
      spec = lookupCommand(name.toString('latin1').toLowerCase());
      if (spec !== undefined) this.#byName.set(name, spec);
    }
    return spec;
  }

  /** A scratch writer in the client's protocol for one locally built reply. */
  writerFor(client: ProxyClient): ReplyWriter {
    const w = this.#scratch;
    w.reset();
    w.proto = client.state.proto;
    return w;
  }

  replyError(client: ProxyClient, text: string): void {
    const w = this.writerFor(client);
    w.error(text);
    client.replyLocal(w.take());
  }

  dispatch(client: ProxyClient, argv: Buffer[]): void {
    this.stats.commands++;
    this.noTouchNow = (client.state.flags & kNoTouch) !== 0;
    const spec = this.lookup(argv[0]!);
    this.metrics.begin(client, spec, argv);
    if (this.clientAdmin.active && spec !== undefined && this.clientAdmin.postpone(client, spec, argv)) return;
    // NOAUTH, ACL permissions, rate limits: only for clients that need them (proxy/acl/acl-gate.ts).
    if (client.state.flags & kAclGate && !admitOrReply(this, client, spec, argv)) return;
    // Inside MULTI commands are checked and queued here (proxy/transactions.ts).
    if (client.state.flags & kMulti && queueInMulti(this, client, spec, argv)) return;
    if (spec === undefined) {
      return this.replyError(client, WireErrors.unknownCommand(argv[0]!.toString(), argv.slice(1)));
    }
    if (!arityOk(spec, argv.length)) {
      if (spec.route === 'transaction') return transactionArityError(this, client, spec);
      return this.replyError(client, WireErrors.wrongArity(spec.name));
    }
    // RESP2 subscriber mode (proxy/pubsub/commands.ts).
    if (client.state.flags & kPubSub && !pubsubModeGate(this, client, spec, argv)) return;
    client.state.lastCommand = spec.name;
    // Consistency levels and replica reads, only where some group has replicas (proxy/consistency.ts).
    this.batchFlags = 0;
    if (this.replicas.active && routeReplicated(this, client, spec, argv)) return;
    switch (spec.route) {
      case 'key':
        return spec.flags & CMD_BLOCKING ? this.routeBlocking(client, spec, argv) : this.routeByKey(client, spec, argv);
      case 'gather':
        return gatherCommand(this, client, spec, argv);
      case 'split':
        return splitCommand(this, client, spec, argv);
      case 'all':
        return allWorkers(this, client, spec, argv);
      case 'special':
        return specialCommand(this, client, spec, argv);
      case 'local':
        return this.local(client, spec, argv);
      case 'transaction':
        return transactionCommand(this, client, spec, argv);
      case 'pubsub':
        return pubsubCommand(this, client, spec, argv);
    }
  }

  /** All keys must live on one worker (else CROSSSLOT); the command goes there as-is. */
  private routeByKey(client: ProxyClient, spec: CommandSpec, argv: Buffer[]): void {
    const link = this.singleLinkOrReply(client, spec, argv);
    if (link !== null) link.send(argv, client.state.proto, client.slot());
  }

  /**
   * The one worker holding every key of the command; null after replying CROSSSLOT
   * (keys on several workers) or a numkeys error the worker would give.
   */
  singleLinkOrReply(client: ProxyClient, spec: CommandSpec, argv: Buffer[]): WorkerLink | null {
    // One key at a fixed position (GET, HSET, RPUSH ...): no index list to build.
    if (spec.lastKey === spec.firstKey && spec.numkeysAt === undefined) return this.linkFor(argv[spec.firstKey]!);
    const keys = keyIndexes(spec, argv);
    // A bad numkeys leaves no key to route by: any worker replies the command's own error.
    if (keys.length === 0) return this.links[0]!;
    const link = this.linkFor(argv[keys[0]!]!);
    for (let k = 1; k < keys.length; k++) {
      if (this.linkFor(argv[keys[k]!]!) !== link) {
        this.replyError(client, WireErrors.crossSlot);
        return null;
      }
    }
    return link;
  }

  /**
   * BLPOP, BLMOVE, BZPOPMIN ...: on a worker connection of their own (see
   * proxy/upstream/blocking-conn.ts); the client's later commands wait for the reply.
   */
  private routeBlocking(client: ProxyClient, spec: CommandSpec, argv: Buffer[]): void {
    const link = this.singleLinkOrReply(client, spec, argv);
    if (link === null) return;
    const refused = link.blockingRefusal; // breaker open: never block on a dead worker
    if (refused !== null) return this.replyError(client, refused);
    const slot = client.slot();
    const cancel = this.blockingConns.send(link.endpoint, client.state.proto, argv, {
      deliver: (buf, start, end) => {
        slot.deliver(buf, start, end);
        client.release();
      },
    });
    client.hold(cancel, true);
  }

  private local(client: ProxyClient, spec: CommandSpec, argv: Buffer[]): void {
    const w = this.writerFor(client);
    switch (spec.name) {
      case 'info':
        return proxyInfo(this, client, argv);
      case 'config':
        return this.config_(client, argv);
      case 'client':
        return clientCommand(this, client, argv);
      case 'slowlog':
        return slowlogCommand(this, client, argv);
      case 'wait':
        return waitCommand(this, client, argv);
      case 'consistency':
        consistencyCommand(this, client, argv, w);
        break;
      case 'cluster':
        w.error('ERR This instance has cluster support disabled');
        break;
      default:
        if (spec.name === 'reset' && client.tx !== null) resetTransaction(client);
        if (!runConnectionCommand(spec.name, w, client.state, argv, this)) {
          w.error(WireErrors.unknownCommand(argv[0]!.toString(), argv.slice(1)));
        }
        if (spec.name === 'reset') {
          this.acl.resetClient(client.state);
          client.repl = null; // CONSISTENCY back to the default
        }
        if (spec.flags & CMD_NOAUTH) client.authChanged(); // AUTH HELLO RESET may change who the client is
    }
    client.replyLocal(w.take());
  }

  /** CONFIG: GET answers from the proxy's copy; SET and RESETSTAT apply here and on every worker. */
  private config_(client: ProxyClient, argv: Buffer[]): void {
    const sub = argv[1]!.toString('latin1').toLowerCase();
    const w = this.writerFor(client);
    if (sub === 'set' || sub === 'resetstat') {
      this.runtime.command(w, argv, () => { this.stats.commands = 0; });
      const local = w.take();
      if (local[0] === 0x2d) return client.replyLocal(local);
      if (sub === 'set') this.group.share(T_CONFIG_VALUES, this.runtime.settableValues());
      return allWorkers(this, client, { name: 'config' } as CommandSpec, argv);
    }
    this.runtime.command(w, argv, () => {});
    client.replyLocal(w.take());
  }
}
