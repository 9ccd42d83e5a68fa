/**
 * Data-plane worker thread entry. Owns one keyspace (arena + index) and serves it on
 * its own TCP port; the process main thread (shard/main.ts) only spawns and stops it.
 *
 * Messages from the main thread: { type: 'stop' }.
 * Messages to the main thread: { type: 'listening', port } | { type: 'error', error: {code, message} }.
 */
import { workerData, parentPort } from 'node:worker_threads';
import { createServer, type Socket } from 'node:net';
import { WorkerServer, type WorkerInit } from './server.js';
import { WorkerSession } from './session.js';
import { createLogger } from '../../shared/log.js';
import { ShoalError, ErrorCodes } from '../../shared/errors.js';
import { TICK_MS } from '../expire.js';
import { workerTlsServer } from './tls.js';
import { recover } from '../persistence/recovery.js';

const init = workerData as WorkerInit;
const log = createLogger('shoal-worker', init.config.logLevel).child({ shard: init.self.shard, worker: init.self.worker, port: init.self.port });
const server = new WorkerServer(init);
const sockets = new Set<Socket>();

const serve = (socket: Socket): void => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
  new WorkerSession(server, socket, log);
};
// tls-cluster yes: the port speaks only TLS, to the proxy's links and direct clients alike (docs/tls.md).
const tcp = init.config.tlsCluster === 'yes' ? workerTlsServer(server, log, serve) : createServer(serve);

tcp.on('error', (err) => {
  const e = new ShoalError(ErrorCodes.PROCESS, `worker ${init.self.worker} cannot listen on ${init.self.host}:${init.self.port}: ${err.message}`);
  parentPort?.postMessage({ type: 'error', error: e.toJSON() });
});

// The data (append-only log or snapshot, shard/persistence/recovery.ts) is loaded
// before the port opens and before the tick runs (nothing expires while loading); a
// damaged file stops the shard with a message naming file and offset.
let ready = false;
recover(server, log, () => parentPort?.postMessage({ type: 'loading' })).then(
  () => {
    ready = true;
    // The role takes effect (a replica connects to its primary: shard/replication/role.ts).
    server.replication.start(log);
    tcp.listen(init.self.port, init.self.host, () => {
      parentPort?.postMessage({ type: 'listening', port: init.self.port });
    });
  },
  (err: Error) => {
    const e = err instanceof ShoalError ? err : new ShoalError(ErrorCodes.PERSISTENCE, `worker ${init.self.worker}: ${err.message}`);
    log.fatal({ err: e.message }, 'cannot load the data');
    parentPort?.postMessage({ type: 'error', error: e.toJSON() });
  },
);

// Background work between commands, each bounded per tick: active expiry (at most
// BUDGET_MS of every TICK_MS), eviction left over by a bounded command, incremental
// index resize, arena page compaction and
// release (at most 4096 chunks moved), peak-memory tracking, and one GC when the
// worker goes quiet after a burst (shard/worker/idle-gc.ts).
const tick = setInterval(() => {
  if (!ready) return;
  const now = Date.now();
  // A replica neither expires nor evicts on its own: the primary's DELs arrive in the stream.
  if (server.replication.role === 'primary') {
    server.activeExpire.cycle();
    server.evictor.tick();
  }
  server.blocking.expire(now);
  server.replication.tick(now);
  server.ks.index.resizeStep(4096);
  server.ks.volatile.resizeStep(4096);
  server.ks.arena.rebalanceStep(4096);
  const used = server.usedMemory;
  if (used > server.peakMemory) server.peakMemory = used;
  server.idleGc.tick(server.stats.commands, now);
  server.snapshots.tick(now);
}, TICK_MS);
tick.unref();

parentPort?.on('message', (msg: { type: string; bytes?: number }) => {
  if (msg.type === 'gc') {
    // Before the main thread measures used_memory_startup (shard/main.ts).
    (globalThis as { gc?: () => void }).gc?.();
    parentPort?.postMessage({ type: 'gc-done', bytes: server.ks.arena.pageBytes });
  } else if (msg.type === 'startup-memory') {
    server.setStartupMemory(msg.bytes ?? 0);
    parentPort?.postMessage({ type: 'startup-memory-set' });
  } else if (msg.type === 'stop') {
    server.aof.closeSync();
    server.replication.stop();
    tcp.close();
    for (const s of sockets) s.destroy();
    clearInterval(tick);
    parentPort?.close();
  }
});
