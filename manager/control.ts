/**
 * The manager's HTTP control API, what `shoal-cluster` (bin/shoal-cluster.ts) talks to.
 * It binds `host:manager-port`; when that port is taken (several clusters on one
 * machine, parallel tests) it takes a free port instead and says so in the log; the
 * port in use is recorded in the topology's manager process entry, where the CLI
 * looks it up from --data-dir.
 *
 *   GET  /status                                 who is primary of what, offsets, lag, epoch, pids
 *   POST /failover?shard=S[&worker=W][&replica=NODE]   manual failover (fence, catch up, switch)
 *   POST /replica/add?shard=S                    start one more replica set for shard S
 *   POST /replica/remove?shard=S&replica=R       stop replica set R (a number, or a node name)
 *
 * Replies are JSON: the result, or `{ "error": "..." }` with 400 (bad arguments), 401
 * (admin-token set and no matching `Authorization: Bearer`), 404, 409 (refused: no
 * replica, not caught up, node is a primary ...) or 500.
 */
import http from 'node:http';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../shared/log.js';
import type { ClusterStatus, ManualFailoverResult } from './failover.js';
import { FailoverRefused } from './failover.js';

export interface ControlHandlers {
  status(): ClusterStatus;
  failover(shard: number, worker: number | undefined, replica: string | undefined): Promise<ManualFailoverResult[]>;
  addReplica(shard: number): Promise<unknown>;
  removeReplica(shard: number, replica: string): Promise<unknown>;
}

export interface ControlOptions {
  host: string;
  port: number;
  adminToken: string;
  handlers: ControlHandlers;
  log: Logger;
}

export interface ControlServer {
  readonly port: number;
  close(): Promise<void>;
}

/** A request the API refuses because of its arguments (400). */
export class BadControlRequest extends Error {
  override name = 'BadControlRequest';
}

function intParam(q: URLSearchParams, name: string, required: true): number;
function intParam(q: URLSearchParams, name: string, required: false): number | undefined;
function intParam(q: URLSearchParams, name: string, required: boolean): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') {
    if (required) throw new BadControlRequest(`missing ${name}`);
    return undefined;
  }
  if (!/^\d+$/.test(v)) throw new BadControlRequest(`${name} must be a non-negative integer, got '${v}'`);
  return Number(v);
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export function startControlServer(opts: ControlOptions): Promise<ControlServer> {
  const { handlers, log } = opts;
  const server = http.createServer((req, res) => {
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body) + '\n');
    };
    if (opts.adminToken !== '') {
      const auth = req.headers.authorization ?? '';
      const given = auth.startsWith('Bearer ') ? auth.slice(7) : '';
      if (!timingSafeEqual(digest(given), digest(opts.adminToken))) return reply(401, { error: 'admin token required (Authorization: Bearer <admin-token>)' });
    }
    const url = new URL(req.url ?? '/', 'http://manager');
    const q = url.searchParams;
    const route = `${req.method} ${url.pathname}`;
    const run = async (): Promise<unknown> => {
      switch (route) {
        case 'GET /status':
          return handlers.status();
        case 'POST /failover': {
          const results = await handlers.failover(intParam(q, 'shard', true), intParam(q, 'worker', false), q.get('replica') ?? undefined);
          return { failovers: results };
        }
        case 'POST /replica/add':
          return handlers.addReplica(intParam(q, 'shard', true));
        case 'POST /replica/remove': {
          const shard = intParam(q, 'shard', true);
          const replica = q.get('replica');
          if (replica === null || replica === '') throw new BadControlRequest('missing replica (a replica set number or a node name)');
          return handlers.removeReplica(shard, replica);
        }
        default:
          return undefined;
      }
    };
    run().then((body) => {
      if (body === undefined) reply(404, { error: `no route ${route}; see GET /status, POST /failover, POST /replica/add, POST /replica/remove` });
      else reply(200, body);
    }, (err: Error) => {
      const status = err instanceof BadControlRequest ? 400 : err instanceof FailoverRefused ? 409 : 500;
      if (status === 500) log.error({ err: err.message, route }, 'control request failed');
      else log.warn({ err: err.message, route }, 'control request refused');
      reply(status, { error: err.message });
    });
  });
  const listen = (port: number): Promise<void> => new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, opts.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  return (async () => {
    try {
      await listen(opts.port);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || opts.port === 0) throw err;
      await listen(0);
      log.warn({ wanted: opts.port, port: (server.address() as AddressInfo).port },
        `manager control port ${opts.port} is in use; control API on port ${(server.address() as AddressInfo).port} instead (recorded in topology.json; shoal-cluster finds it with --data-dir)`);
    }
    const port = (server.address() as AddressInfo).port;
    log.info({ host: opts.host, port }, `manager control API on http://${opts.host}:${port} (shoal-cluster status)`);
    return {
      port,
      close: () => new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
    };
  })();
}
