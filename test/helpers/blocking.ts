// Helpers for tests of blocking commands talking straight to the worker that owns
// their keys (or to redis-server itself with SHOAL_TEST_TARGET=redis).

import { isRedis, keySlot, type Target } from './cluster.js';
import { RespClient, infoNum, sleep } from './run.js';

/** The port that serves `key`: the owning worker's, or the redis port. */
export async function ownerPort(target: Target, key: string): Promise<number> {
  if (isRedis) return target.port;
  const slot = keySlot(key);
  const c = await RespClient.connect(target.workerPorts[0]!);
  try {
    const slots = (await c.run(['CLUSTER', 'SLOTS'])) as [number, number, [string, number]][];
    for (const [start, end, master] of slots) if (slot >= start && slot <= end) return master[1];
  } finally {
    await c.close();
  }
  throw new Error(`no worker owns the slot of ${key}`);
}

/** Waits until the server counts `n` blocked clients (bounded 5 s). */
export async function blockedClients(run: RespClient['run'], n: number): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const b = await infoNum(run, 'clients', 'blocked_clients');
    if (b === n) return;
    if (Date.now() > deadline) throw new Error(`blocked_clients stayed ${b}, wanted ${n}`);
    await sleep(5);
  }
}

/** Tracks whether a pending reply has arrived yet. */
export function track<T>(p: Promise<T>): { p: Promise<T>; done: () => boolean } {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  return { p, done: () => settled };
}
