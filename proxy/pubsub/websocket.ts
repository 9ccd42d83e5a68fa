/**
 * WebSocket pub/sub at /pubsub on the admin HTTP server (docs/websocket-pubsub.md), and
 * the demo page at /pubsub/demo.
 *
 * It runs in the process that serves HTTP: the cluster primary in multi-process mode
 * (which has no ProxyServer), or the only proxy process. Either way it keeps its own
 * PubSubHub, created from the topology's workers on the first connection: the hub
 * subscribes upstream once per channel for all sockets of this process, exactly as a
 * RESP process does for its clients, so messages reach WebSocket and RESP subscribers
 * through the same channel owner and in the same order.
 *
 * ACL: in single-process mode the ProxyServer's AclStore is passed in; in the primary a
 * copy is built from the same config and kept current by ProcessGroup's 'acl' topic
 * (every ACL change in a RESP process is shared as a full snapshot). Permissions are
 * read from the store on every request, so a changed or deleted user takes effect on
 * the socket's next subscribe or publish.
 *
 * Slow sockets: after every send the socket's unsent bytes (uWS getBufferedAmount) are
 * compared with websocket-max-buffered; above it the socket is closed with code 4008,
 * so one slow browser never grows this process's memory or delays the others (uWS
 * buffers per socket; the hub's delivery loop never waits).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decode as msgpackDecode, encode as msgpackEncode } from '@msgpack/msgpack';
import type { HttpRequest, HttpResponse, TemplatedApp, WebSocket, us_socket_context_t } from '@trufflesuite/uws-js-unofficial';
import type { ShoalConfig } from '../../shared/config/schema.js';
import { RuntimeConfig } from '../../shared/config/runtime.js';
import { staticWorkers, type Topology, type WorkerEndpoint } from '../../shared/cluster/topology.js';
import { componentLog, type Logger } from '../../shared/log.js';
import type { ProcessGroup } from '../process-group.js';
import { AclStore } from '../acl/acl-store.js';
import type { AclUser } from '../acl/acl-user.js';
import { lookupEntry } from '../acl/acl-catalog.js';
import { checkCommand } from '../acl/acl-check.js';
import { PubSubHub, type PubSubSubscriber } from './hub.js';
import { openTopologySource } from '../../shared/cluster/open-topology-source.js';

/** Close codes (4000-4999 are the application's; docs/websocket-pubsub.md). */
export const WsClose = {
  /** Authentication failed (first-message auth). */
  authFailed: 4001,
  /** A request before authentication, when the default user needs a password. */
  noAuth: 4003,
  /** More than websocket-max-buffered bytes unsent: the client does not read fast enough. */
  backpressure: 4008,
  /** Its ACL user was deleted or disabled. */
  userGone: 4011,
  /** The server stops. */
  goingAway: 1001,
} as const;

/** Error texts, Redis's where Redis has the same refusal. */
const Errors = {
  noauth: 'NOAUTH Authentication required.',
  wrongpass: 'WRONGPASS invalid username-password pair or user is disabled.',
  noCommand: (name: string) => `NOPERM this user has no permissions to run the '${name}' command`,
  noChannel: 'NOPERM this user has no permissions to access one of the channels used as arguments',
  badRequest: (why: string) => `ERR bad request: ${why}`,
  unknownOp: (op: string) => `ERR unknown op '${op}' (auth subscribe unsubscribe psubscribe punsubscribe publish ping format)`,
} as const;

type Format = 'json' | 'msgpack';

interface SocketData {
  /** Set at upgrade: authenticated as this user, or null (auth expected in the first message). */
  user: string | null;
  format: Format;
  remote: string;
  closed: boolean;
  sub: WsSubscriber | null;
}

type Ws = WebSocket<SocketData>;

/** One decoded client request; fields beyond `op` depend on it. */
interface Request {
  op?: unknown;
  id?: unknown;
  [field: string]: unknown;
}

export interface PubSubRouteOptions {
  config: ShoalConfig;
  group: ProcessGroup;
  log: Logger;
  topologyFile?: string;
  /** The ProxyServer's store in single-process mode; the primary builds its own copy. */
  acl?: AclStore;
}

export interface PubSubRoutes {
  /** Sockets open now (tests, metrics). */
  readonly sockets: number;
  close(): void;
}

/** The demo page: next to this file in dist when a build copied it, else in the source tree. */
function readDemoPage(): Buffer | null {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const dir of [path.join(here, 'demo'), path.resolve(here, '..', '..', '..', 'proxy', 'pubsub', 'demo')]) {
    try {
      return readFileSync(path.join(dir, 'index.html'));
    } catch {
      // try the next place
    }
  }
  return null;
}

function loadWorkers(opts: PubSubRouteOptions): WorkerEndpoint[] {
  if (opts.topologyFile === undefined) {
    const c = opts.config;
    return staticWorkers(c.host, c.shardBasePort, c.shards, c.workers);
  }
  return (JSON.parse(readFileSync(opts.topologyFile, 'utf8')) as Topology).workers;
}

const textDecoder = new TextDecoder();

/** A channel, pattern or message as the client sent it: string (UTF-8) or bytes (msgpack bin). */
function toBuffer(v: unknown): Buffer | null {
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (typeof v === 'number' && Number.isFinite(v)) return Buffer.from(String(v));
  return null;
}

function bufferList(v: unknown): Buffer[] | null {
  const items = Array.isArray(v) ? v : v === undefined ? null : [v];
  if (items === null) return null;
  const out: Buffer[] = [];
  for (const item of items) {
    const b = toBuffer(item);
    if (b === null) return null;
    out.push(b);
  }
  return out;
}

/**
 * The last delivery's encoded frames: the hub calls deliver() once per subscriber with
 * the same Buffers, so a message fanned out to N sockets is encoded once per format.
 */
let lastChannel: Buffer | null = null;
let lastMessage: Buffer | null = null;
let lastPattern: Buffer | null = null;
let lastJson: string | null = null;
let lastMsgpack: Uint8Array | null = null;

function deliveryFrame(format: Format, channel: Buffer, message: Buffer, pattern: Buffer | null): string | Uint8Array {
  if (channel !== lastChannel || message !== lastMessage || pattern !== lastPattern) {
    lastChannel = channel;
    lastMessage = message;
    lastPattern = pattern;
    lastJson = null;
    lastMsgpack = null;
  }
  if (format === 'json') {
    return (lastJson ??= JSON.stringify(
      pattern === null
        ? { type: 'message', channel: textDecoder.decode(channel), message: textDecoder.decode(message) }
        : { type: 'pmessage', pattern: textDecoder.decode(pattern), channel: textDecoder.decode(channel), message: textDecoder.decode(message) },
    ));
  }
  return (lastMsgpack ??= msgpackEncode(
    pattern === null
      ? { type: 'message', channel: textDecoder.decode(channel), message: new Uint8Array(message.buffer, message.byteOffset, message.byteLength) }
      : { type: 'pmessage', pattern: textDecoder.decode(pattern), channel: textDecoder.decode(channel), message: new Uint8Array(message.buffer, message.byteOffset, message.byteLength) },
  ));
}

/** A socket's side of the hub: its subscriptions, counted as Redis counts them. */
class WsSubscriber implements PubSubSubscriber {
  readonly channels = new Set<string>();
  readonly patterns = new Set<string>();
  constructor(
    readonly ws: Ws,
    readonly routes: WsPubSub,
  ) {}

  get count(): number {
    return this.channels.size + this.patterns.size;
  }

  deliver(kind: 'message' | 'pmessage' | 'smessage', channel: Buffer, message: Buffer, pattern: Buffer | null): void {
    const data = this.ws.getUserData();
    if (data.closed) return;
    this.routes.send(this.ws, deliveryFrame(data.format, channel, message, kind === 'pmessage' ? pattern : null));
  }
}

class WsPubSub implements PubSubRoutes {
  readonly #opts: PubSubRouteOptions;
  readonly #log: Logger;
  readonly #acl: AclStore;
  readonly #open = new Set<Ws>();
  readonly #demo: Buffer | null;
  #hub: PubSubHub | null = null;

  constructor(opts: PubSubRouteOptions) {
    this.#opts = opts;
    this.#log = componentLog(opts.log, 'websocket');
    this.#acl = opts.acl ?? new AclStore({ config: opts.config, runtime: new RuntimeConfig(opts.config, opts.config.port, false), group: opts.group, log: this.#log, clients: () => [] });
    this.#demo = readDemoPage();
  }

  get sockets(): number {
    return this.#open.size;
  }

  /** Created on first use: the primary starts HTTP before the topology file may be final. */
  get hub(): PubSubHub {
    if (this.#hub === null) {
      const hub = (this.#hub = new PubSubHub(loadWorkers(this.#opts), this.#opts.config, this.#log));
      // Follow failovers: its upstreams move to new primaries (proxy/pubsub/hub.ts).
      void openTopologySource(this.#opts.config, this.#opts.topologyFile).then((src) => src !== null && hub.followSource(src), () => {});
    }
    return this.#hub;
  }

  register(app: TemplatedApp): void {
    const config = this.#opts.config;
    const idle = config.websocketIdleTimeout === 0 ? 0 : Math.max(8, Math.round(config.websocketIdleTimeout / 4) * 4);
    app.ws<SocketData>('/pubsub', {
      idleTimeout: idle,
      sendPingsAutomatically: idle > 0,
      // Above websocket-max-buffered this module closes the socket itself (after the
      // send that crossed it), so uWS must never drop a frame first.
      maxBackpressure: Math.max(config.websocketMaxBuffered * 4, 16 * 1024 * 1024),
      maxPayloadLength: 1024 * 1024,
      upgrade: (res, req, context) => this.#upgrade(res, req, context),
      open: (ws) => {
        this.#open.add(ws);
        const d = ws.getUserData();
        this.#log.info({ remote: d.remote, user: d.user }, 'WebSocket pub/sub client connected');
        this.#reply(ws, d.format, { type: 'hello', user: d.user, authenticated: d.user !== null, format: d.format });
      },
      message: (ws, message, isBinary) => this.#message(ws, message, isBinary),
      close: (ws, code) => {
        const d = ws.getUserData();
        d.closed = true;
        this.#open.delete(ws);
        if (d.sub !== null && this.#hub !== null) this.#hub.dropSubscriber(d.sub);
        this.#log.info({ remote: d.remote, user: d.user, code }, 'WebSocket pub/sub client disconnected');
      },
    });
    app.get('/pubsub/demo', (res) => {
      if (this.#demo === null) {
        res.writeStatus('404 Not Found').writeHeader('content-type', 'text/plain').end('demo page not installed\n');
        return;
      }
      res.writeHeader('content-type', 'text/html; charset=utf-8').writeHeader('cache-control', 'no-store').end(this.#demo);
    });
  }

  /**
   * Credentials at upgrade, first match wins: `Authorization: Basic user:password`,
   * `Authorization: Bearer <password of default>`, `?user=&password=`, `?token=`.
   * Wrong credentials refuse the upgrade with 401; none leave the socket to
   * authenticate in its first message (or as `default` when that needs no password).
   */
  #upgrade(res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void {
    const key = req.getHeader('sec-websocket-key');
    const protocol = req.getHeader('sec-websocket-protocol');
    const extensions = req.getHeader('sec-websocket-extensions');
    const remote = Buffer.from(res.getRemoteAddressAsText()).toString();
    const format: Format = req.getQuery('format') === 'msgpack' ? 'msgpack' : 'json';
    let creds: [string, string] | null = null;
    const authz = req.getHeader('authorization');
    const basic = /^Basic\s+(.+)$/i.exec(authz);
    const bearer = /^Bearer\s+(.+)$/i.exec(authz);
    if (basic !== null) {
      const text = Buffer.from(basic[1]!, 'base64').toString('utf8');
      const colon = text.indexOf(':');
      creds = colon < 0 ? ['default', text] : [text.slice(0, colon), text.slice(colon + 1)];
    } else if (bearer !== null) {
      creds = ['default', bearer[1]!];
    } else {
      const user = req.getQuery('user');
      const password = req.getQuery('password');
      const token = req.getQuery('token');
      if (password !== undefined && password !== '') creds = [user !== undefined && user !== '' ? user : 'default', password];
      else if (token !== undefined && token !== '') creds = ['default', token];
    }
    let user: string | null = null;
    if (creds !== null) {
      user = this.#login(creds[0], creds[1]);
      if (user === null) {
        this.#log.info({ remote, user: creds[0] }, 'WebSocket pub/sub auth failed at upgrade');
        res.writeStatus('401 Unauthorized').writeHeader('content-type', 'application/json').end(JSON.stringify({ error: Errors.wrongpass }) + '\n');
        return;
      }
    } else if (!this.#acl.defaultNeedsAuth) {
      user = 'default';
    }
    const data: SocketData = { user, format, remote, closed: false, sub: null };
    res.upgrade(data, key, protocol, extensions, context);
  }

  /** The user name when the password is right and the user enabled, else null. */
  #login(name: string, password: string): string | null {
    const user = this.#acl.getUser(name);
    if (user === undefined || !user.enabled || !user.checkPassword(Buffer.from(password, 'utf8'))) return null;
    return name;
  }

  /** Sends a frame; closes the socket when its unsent bytes pass the limit. */
  send(ws: Ws, frame: string | Uint8Array): void {
    const d = ws.getUserData();
    if (d.closed) return;
    ws.send(frame, typeof frame !== 'string');
    const buffered = ws.getBufferedAmount();
    if (buffered > this.#opts.config.websocketMaxBuffered) {
      this.#log.info({ remote: d.remote, user: d.user, buffered, limit: this.#opts.config.websocketMaxBuffered }, 'WebSocket pub/sub client closed: too slow (websocket-max-buffered)');
      this.#close(ws, WsClose.backpressure, `backpressure: more than ${this.#opts.config.websocketMaxBuffered} bytes unsent (websocket-max-buffered)`);
    }
  }

  #close(ws: Ws, code: number, reason: string): void {
    const d = ws.getUserData();
    if (d.closed) return;
    d.closed = true;
    if (d.sub !== null && this.#hub !== null) this.#hub.dropSubscriber(d.sub);
    ws.end(code, reason);
  }

  #reply(ws: Ws, format: Format, value: Record<string, unknown>): void {
    this.send(ws, format === 'json' ? JSON.stringify(value) : msgpackEncode(value));
  }

  #message(ws: Ws, message: ArrayBuffer, isBinary: boolean): void {
    const d = ws.getUserData();
    if (d.closed) return;
    // A request's reply comes in the request's own format; deliveries in the socket's.
    const format: Format = isBinary ? 'msgpack' : 'json';
    let req: Request;
    try {
      const decoded: unknown = isBinary ? msgpackDecode(new Uint8Array(message)) : JSON.parse(textDecoder.decode(message));
      if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) throw new Error('a request is an object');
      req = decoded as Request;
    } catch (err) {
      this.#reply(ws, format, { type: 'error', error: Errors.badRequest((err as Error).message) });
      return;
    }
    const id = req.id;
    const op = typeof req.op === 'string' ? req.op.toLowerCase() : '';
    const error = (text: string): void => this.#reply(ws, format, { type: 'error', op, ...(id !== undefined ? { id } : {}), error: text });
    if (op === 'auth') return this.#auth(ws, req, format, error);
    if (op === 'ping') return this.#reply(ws, format, { type: 'pong', ...(id !== undefined ? { id } : {}) });
    if (d.user === null) {
      error(Errors.noauth);
      return;
    }
    const user = this.#acl.getUser(d.user);
    if (user === undefined || !user.enabled) {
      this.#close(ws, WsClose.userGone, `ACL user '${d.user}' was deleted or disabled`);
      return;
    }
    switch (op) {
      case 'format': {
        if (req['format'] !== 'json' && req['format'] !== 'msgpack') return error(Errors.badRequest("format is 'json' or 'msgpack'"));
        d.format = req['format'];
        return this.#reply(ws, format, { type: 'format', format: d.format, ...(id !== undefined ? { id } : {}) });
      }
      case 'subscribe':
      case 'psubscribe': {
        const field = op === 'subscribe' ? 'channels' : 'patterns';
        const names = bufferList(req[field] ?? req[op === 'subscribe' ? 'channel' : 'pattern']);
        if (names === null || names.length === 0) return error(Errors.badRequest(`${field}: a string or a list of strings`));
        const denied = this.#denial(user, op, names);
        if (denied !== null) return error(denied);
        const sub = (d.sub ??= new WsSubscriber(ws, this));
        const set = op === 'subscribe' ? sub.channels : sub.patterns;
        const counts: number[] = [];
        const upstream: Array<Promise<void> | void> = [];
        for (const name of names) {
          const key = name.toString('latin1');
          if (!set.has(key)) {
            set.add(key);
            upstream.push(op === 'subscribe' ? this.hub.subscribe(sub, name) : this.hub.psubscribe(sub, name));
          }
          counts.push(sub.count);
        }
        // Confirmed once the owning workers registered this process: a message
        // published after the client saw the confirmation reaches it.
        Promise.all(upstream).then(
          () => {
            if (d.closed) return;
            names.forEach((name, i) => this.#reply(ws, format, { type: op, [op === 'subscribe' ? 'channel' : 'pattern']: name.toString('utf8'), count: counts[i], ...(id !== undefined ? { id } : {}) }));
          },
          (err: unknown) => {
            if (!d.closed) error(`ERR ${(err as Error).message}`);
          },
        );
        return;
      }
      case 'unsubscribe':
      case 'punsubscribe': {
        const field = op === 'unsubscribe' ? 'channels' : 'patterns';
        const given = req[field] ?? req[op === 'unsubscribe' ? 'channel' : 'pattern'];
        const sub = d.sub;
        const set = sub === null ? new Set<string>() : op === 'unsubscribe' ? sub.channels : sub.patterns;
        // None named: all of them, as Redis's UNSUBSCRIBE without arguments.
        const names = given === undefined ? [...set].map((k) => Buffer.from(k, 'latin1')) : bufferList(given);
        if (names === null) return error(Errors.badRequest(`${field}: a string or a list of strings`));
        if (names.length === 0) return this.#reply(ws, format, { type: op, [op === 'unsubscribe' ? 'channel' : 'pattern']: null, count: sub?.count ?? 0, ...(id !== undefined ? { id } : {}) });
        for (const name of names) {
          if (sub !== null && set.delete(name.toString('latin1'))) {
            if (op === 'unsubscribe') this.hub.unsubscribe(sub, name);
            else this.hub.punsubscribe(sub, name);
          }
          this.#reply(ws, format, { type: op, [op === 'unsubscribe' ? 'channel' : 'pattern']: name.toString('utf8'), count: sub?.count ?? 0, ...(id !== undefined ? { id } : {}) });
        }
        return;
      }
      case 'publish': {
        const channel = toBuffer(req['channel']);
        const payload = toBuffer(req['message']);
        if (channel === null || payload === null) return error(Errors.badRequest('publish needs channel and message (strings, or bytes in msgpack)'));
        const denied = this.#denial(user, 'publish', [channel, payload]);
        if (denied !== null) return error(denied);
        this.hub.publish(channel, payload).then(
          (receivers) => {
            if (!d.closed) this.#reply(ws, format, { type: 'publish', channel: channel.toString('utf8'), receivers, ...(id !== undefined ? { id } : {}) });
          },
          (err: unknown) => {
            if (!d.closed) error(`ERR ${(err as Error).message}`);
          },
        );
        return;
      }
      default:
        return error(Errors.unknownOp(op));
    }
  }

  /** First-message auth: `{op:'auth', user, password}` or `{op:'auth', token}`. */
  #auth(ws: Ws, req: Request, format: Format, error: (text: string) => void): void {
    const d = ws.getUserData();
    const password = typeof req['password'] === 'string' ? req['password'] : typeof req['token'] === 'string' ? req['token'] : null;
    const name = typeof req['user'] === 'string' ? req['user'] : 'default';
    if (password === null) return error(Errors.badRequest('auth needs password (and user) or token'));
    const user = this.#login(name, password);
    if (user === null) {
      this.#log.info({ remote: d.remote, user: name }, 'WebSocket pub/sub auth failed');
      error(Errors.wrongpass);
      this.#close(ws, WsClose.authFailed, 'authentication failed');
      return;
    }
    d.user = user;
    this.#log.info({ remote: d.remote, user }, 'WebSocket pub/sub client authenticated');
    this.#reply(ws, format, { type: 'auth', user, ...(req.id !== undefined ? { id: req.id } : {}) });
  }

  /** Null when `user` may run `op` on these channels; else the NOPERM text (Redis's). */
  #denial(user: AclUser, op: 'subscribe' | 'psubscribe' | 'publish', args: Buffer[]): string | null {
    if (this.#acl.isOpen(user)) return null;
    const entry = lookupEntry(op);
    const argv = [Buffer.from(op), ...args];
    if (entry !== undefined) {
      const denial = checkCommand(user, entry, argv);
      if (denial === null) return null;
      return denial.reason === 'command' ? Errors.noCommand(entry.fullname) : Errors.noChannel;
    }
    // The command row is not in the table: check the channels alone.
    const channels = op === 'publish' ? args.slice(0, 1) : args;
    for (const c of channels) if (!user.channelAllowed(c, op === 'psubscribe')) return Errors.noChannel;
    return null;
  }

  close(): void {
    for (const ws of [...this.#open]) {
      const d = ws.getUserData();
      if (d.closed) continue;
      d.closed = true;
      ws.end(WsClose.goingAway, 'server stopping');
    }
    this.#hub?.close();
    this.#hub = null;
  }
}

/** Registers /pubsub (WebSocket) and /pubsub/demo on the admin HTTP app. */
export function attachPubSub(app: TemplatedApp, opts: PubSubRouteOptions): PubSubRoutes {
  const routes = new WsPubSub(opts);
  routes.register(app);
  return routes;
}
