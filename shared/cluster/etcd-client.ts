/**
 * The etcd client of cluster mode (etcd3 over gRPC) and the keys Shoal keeps there.
 *
 *   ${prefix}/topology        the Topology JSON (written only by the leading manager)
 *   ${prefix}/epoch           the same topology's epoch, zero-padded to EPOCH_DIGITS so
 *                             etcd's byte-wise compare orders it numerically; the
 *                             write transaction compares it (manager/etcd-store.ts)
 *   ${prefix}/manager/leader  the leading manager, attached to its lease (manager/leader.ts)
 *
 * Endpoints come from config `etcdEndpoints` ("h1:2379,http://h2:2379"; a missing
 * scheme means http://).
 */
import { Etcd3 } from 'etcd3';

export const EPOCH_DIGITS = 16;

export interface EtcdKeys {
  topology: string;
  epoch: string;
  leader: string;
}

export function etcdKeys(prefix: string): EtcdKeys {
  const p = prefix.replace(/\/+$/, '');
  return { topology: `${p}/topology`, epoch: `${p}/epoch`, leader: `${p}/manager/leader` };
}

/** An epoch as the fixed-width decimal string stored at `${prefix}/epoch`. */
export function paddedEpoch(epoch: number): string {
  return String(epoch).padStart(EPOCH_DIGITS, '0');
}

export function etcdHosts(endpoints: string): string[] {
  return endpoints.split(',').map((e) => e.trim()).filter((e) => e !== '').map((e) => (/^[a-z]+:\/\//.test(e) ? e : `http://${e}`));
}

/** Per-call deadline: an unreachable etcd fails a call within this, never hangs it. */
const CALL_DEADLINE_MS = 3000;

/**
 * Watch reconnect backoff: 50 ms doubling up to 500 ms. etcd3's default grows to 30 s,
 * far too slow to follow a failover after an etcd member died under a watch.
 */
class WatchBackoff {
  constructor(readonly duration = 50) {}
  next(): WatchBackoff {
    return new WatchBackoff(Math.min(this.duration * 2, 500));
  }
}

export function connectEtcd(endpoints: string): Etcd3 {
  return new Etcd3({
    hosts: etcdHosts(endpoints),
    dialTimeout: CALL_DEADLINE_MS,
    faultHandling: { watchBackoff: new WatchBackoff() },
    // Unary calls get a deadline; streams (watch, lease keepalive) live on.
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + CALL_DEADLINE_MS }),
  });
}
