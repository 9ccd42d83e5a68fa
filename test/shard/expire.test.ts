// Active expiry against a real Keyspace: expired keys go without being read, keys
// still alive stay, and the volatile index tracks TTLs through every write path.
import t from 'tap';
import { Keyspace } from '../../shard/keyspace.js';
import { ActiveExpire } from '../../shard/expire.js';

const key = (i: number) => Buffer.from(`k${i}`);
const v = Buffer.from('value');

t.test('expired keys go without reads; live ones stay', async (t) => {
  const ks = new Keyspace();
  const ax = new ActiveExpire(ks);
  const now = Date.now();
  ks.setNow(now);
  for (let i = 0; i < 20000; i++) ks.setString(key(i), v, 0, v.length, i < 15000 ? now - 1 : now + 3_600_000);
  for (let i = 20000; i < 21000; i++) ks.setString(key(i), v, 0, v.length, 0);
  t.equal(ks.volatileKeys, 20000);
  const deadline = Date.now() + 10_000;
  while (ks.size > 6000 && Date.now() < deadline) ax.cycle(5);
  t.equal(ks.size, 6000, 'only the 5000 live TTL keys and 1000 plain keys remain');
  t.equal(ks.expiredKeys, 15000);
  t.equal(ks.volatileKeys, 5000);
  t.ok(ax.stalePerc > 0, 'stale share was tracked');
});

t.test('a cycle respects its time budget', async (t) => {
  const ks = new Keyspace();
  const ax = new ActiveExpire(ks);
  ks.setNow(Date.now());
  for (let i = 0; i < 200000; i++) ks.setString(key(i), v, 0, v.length, ks.now - 1);
  const start = performance.now();
  ax.cycle(2);
  const took = performance.now() - start;
  t.ok(took < 20, `one cycle took ${took.toFixed(2)} ms for a 2 ms budget`);
  t.ok(ax.timeCapReached >= 1);
  t.ok(ks.size > 0 && ks.size < 200000);
});

t.test('volatile index follows every write path', async (t) => {
  const ks = new Keyspace();
  ks.setNow(Date.now());
  const far = ks.now + 100_000;
  let ref = ks.setString(key(1), v, 0, v.length, far);
  t.equal(ks.volatileKeys, 1, 'set with TTL');
  ref = ks.setString(key(1), v, 0, v.length, 0, ref);
  t.equal(ks.volatileKeys, 0, 'overwrite without TTL (in place)');
  ks.setExpire(ref, far);
  t.equal(ks.volatileKeys, 1, 'EXPIRE');
  const big = Buffer.alloc(5000, 1);
  ref = ks.setString(key(1), big, 0, big.length, far, ref);
  t.equal(ks.volatileKeys, 1, 'moved to a bigger chunk, still volatile');
  ref = ks.resizeValue(key(1), ref, 20000);
  t.equal(ks.volatileKeys, 1, 'grown by APPEND, still volatile');
  t.equal(ks.volatile.randomRef(), ref, 'volatile index points at the new chunk');
  ks.setExpire(ref, 0);
  t.equal(ks.volatileKeys, 0, 'PERSIST');
  ks.setExpire(ref, far);
  ks.remove(ref);
  t.equal(ks.volatileKeys, 0, 'DEL');
  t.equal(ks.size, 0);
});
