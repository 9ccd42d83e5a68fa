// Evictor against a real Keyspace (arena + indexes): each policy removes the keys it
// should, keeps used memory under the limit, and noeviction refuses.
import t from 'tap';
import { Keyspace } from '../../shard/keyspace.js';
import { Evictor, EVICTION_POLICIES, type EvictionPolicy } from '../../shard/evict.js';

const VALUE = Buffer.alloc(200, 0x61);
const key = (i: number) => Buffer.from(`key:${String(i).padStart(8, '0')}`);

/** A keyspace with `n` keys; odd keys carry a TTL of (1000 + i) seconds. */
function filled(n: number, policy: EvictionPolicy): { ks: Keyspace; ev: Evictor } {
  const ks = new Keyspace();
  ks.setNow(1_000_000_000_000);
  const ev = new Evictor(ks);
  ev.policy = policy;
  for (let i = 0; i < n; i++) ks.setString(key(i), VALUE, 0, VALUE.length, i % 2 ? ks.now + (1000 + i) * 1000 : 0);
  return { ks, ev };
}

t.test('no limit: always room', async (t) => {
  const { ev } = filled(100, 'allkeys-lru');
  t.ok(ev.makeRoom(1 << 30));
});

t.test('noeviction refuses and evicts nothing', async (t) => {
  const { ks, ev } = filled(1000, 'noeviction');
  ev.limit = ks.usedBytes - 1;
  t.notOk(ev.makeRoom(100));
  t.equal(ks.size, 1000);
  t.equal(ks.evictedKeys, 0);
});

for (const policy of EVICTION_POLICIES.filter((p) => p !== 'noeviction')) {
  t.test(`${policy}: used memory ends under the limit`, async (t) => {
    const { ks, ev } = filled(4000, policy);
    const limit = Math.floor(ks.usedBytes * 0.7);
    ev.limit = limit;
    t.ok(ev.makeRoom(300), 'room made');
    t.ok(ks.usedBytes + 300 <= limit, `used ${ks.usedBytes} + 300 <= ${limit}`);
    t.ok(ks.evictedKeys > 0);
    t.equal(ks.size, 4000 - ks.evictedKeys);
    if (policy.startsWith('volatile-')) {
      // Keys without a TTL (even numbers) are never evicted.
      for (let i = 0; i < 4000; i += 2) if (ks.find(key(i), false) === 0) return t.fail(`non-volatile key ${i} was evicted`);
      t.pass('every key without a TTL is still there');
    }
  });
}

t.test('volatile-*: fails once no key has a TTL', async (t) => {
  const { ks, ev } = filled(1000, 'volatile-lru');
  ev.limit = Math.floor(ks.usedBytes / 10);
  t.notOk(ev.makeRoom(100));
  t.equal(ks.volatileKeys, 0, 'every TTL key went');
  t.equal(ks.size, 500, 'no key without TTL went');
});

t.test('volatile-ttl evicts the shortest TTLs first', async (t) => {
  const { ks, ev } = filled(2000, 'volatile-ttl');
  ev.samples = 64;
  ev.limit = ks.usedBytes - 100 * 260;
  t.ok(ev.makeRoom(0));
  let early = 0;
  let late = 0;
  for (let i = 1; i < 2000; i += 2) {
    if (ks.find(key(i), false) !== 0) continue;
    if (i < 1000) early++;
    else late++;
  }
  t.ok(early > late * 3, `evicted short-TTL ${early} vs long-TTL ${late}`);
});

t.test('allkeys-lru keeps recently used keys', async (t) => {
  const { ks, ev } = filled(4000, 'allkeys-lru');
  ks.setNow(ks.now + 100_000); // 100 s later, touch the first quarter
  for (let i = 0; i < 1000; i++) ks.find(key(i));
  ev.limit = Math.floor(ks.usedBytes * 0.6);
  t.ok(ev.makeRoom(0));
  let hot = 0;
  let cold = 0;
  for (let i = 0; i < 4000; i++) {
    if (ks.find(key(i), false) === 0) continue;
    if (i < 1000) hot++;
    else cold++;
  }
  t.ok(hot / 1000 > 0.95, `hot survivors ${hot}/1000`);
  t.ok(cold / 3000 < 0.6, `cold survivors ${cold}/3000`);
});

t.test('the index keeps each key\'s access word (its aux) equal to the item\'s, through writes, reads, moves and growth', async (t) => {
  for (const policy of ['allkeys-lru', 'allkeys-lfu'] as const) {
    const { ks, ev } = filled(3000, policy);
    for (let step = 0; step < 20000; step++) {
      const i = (step * 7919) % 3000;
      ks.setNow(ks.now + 1500);
      if (step % 3 === 0) ks.find(key(i));
      else if (step % 3 === 1) ks.setString(key(i), VALUE, 0, (step % 50) + 1, 0); // in place or moved to another size class
      else {
        const ref = ks.find(key(i), false);
        if (ref !== 0) ks.resizeValue(key(i), ref, ks.valueLen(ref) + 300); // grows: moves the item
      }
    }
    const out = new Int32Array(8);
    const words = new Int32Array(8);
    let checked = 0;
    let bad = 0;
    for (let r = 0; r < 4000; r++) {
      const n = ks.index.sampleRefs(out, 5, null, words);
      for (let j = 0; j < n; j++, checked++) if (words[j] !== ks.lruWord(out[j]!)) bad++;
    }
    t.ok(checked > 10000, `${policy}: ${checked} samples`);
    t.equal(bad, 0, `${policy}: every sampled entry's aux equals its item's ITEM_LRU`);
    ev.limit = Math.floor(ks.usedBytes * 0.5);
    t.ok(ev.makeRoom(0), `${policy}: evicts down to the limit`);
    t.ok(ks.usedBytes <= ev.limit);
  }
});

t.test('allkeys-lfu keeps frequently used keys', async (t) => {
  const { ks, ev } = filled(4000, 'allkeys-lfu');
  for (let r = 0; r < 50; r++) for (let i = 0; i < 1000; i++) ks.find(key(i));
  ev.limit = Math.floor(ks.usedBytes * 0.6);
  t.ok(ev.makeRoom(0));
  let hot = 0;
  for (let i = 0; i < 1000; i++) if (ks.find(key(i), false) !== 0) hot++;
  t.ok(hot / 1000 > 0.95, `frequent survivors ${hot}/1000`);
});

t.test('LFU counter grows logarithmically and decays', async (t) => {
  const ks = new Keyspace();
  ks.setNow(1_000_000_000_000);
  ks.lfu = true;
  const ref = ks.setString(key(1), VALUE, 0, 10, 0);
  t.equal(ks.lfuDecayed(ks.lruWord(ref)), 5, 'new keys start at LFU_INIT_VAL');
  for (let i = 0; i < 10000; i++) ks.touch(ref);
  const c = ks.lfuDecayed(ks.lruWord(ref));
  t.ok(c > 10 && c < 60, `counter after 10k hits: ${c}`);
  ks.setNow(ks.now + 10 * 60_000); // 10 minutes, decay 1 per minute
  t.equal(ks.lfuDecayed(ks.lruWord(ref)), c - 10);
});
