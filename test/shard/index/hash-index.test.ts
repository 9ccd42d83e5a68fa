import t from 'tap';
import { SlabArena } from '../../../shard/arena/slab-arena.js';
import { HashIndex, hashKey } from '../../../shard/index/hash-index.js';
import {
  ITEM_HASH,
  ITEM_HEADER,
  ITEM_KEYLEN,
  ITEM_TYPE,
  ITEM_VALUELEN,
  TYPE_STRING,
  type Ref,
} from '../../../shard/arena/layout.js';
import { rng } from '../../helpers/random.js';

/** Writes an item (header + key + value) into the arena, as the string ops will. */
function putItem(arena: SlabArena, key: Uint8Array, value: Uint8Array, hash: number): Ref {
  const ref = arena.alloc(ITEM_HEADER + key.length + value.length);
  if (ref === 0) throw new Error('arena full');
  const u8 = arena.u8(ref);
  const i32 = arena.i32(ref);
  const off = arena.off(ref);
  u8[off + ITEM_TYPE] = TYPE_STRING;
  i32[(off + ITEM_KEYLEN) >> 2] = key.length;
  i32[(off + ITEM_VALUELEN) >> 2] = value.length;
  i32[(off + ITEM_HASH) >> 2] = hash | 0;
  u8.set(key, off + ITEM_HEADER);
  u8.set(value, off + ITEM_HEADER + key.length);
  return ref;
}

function itemValue(arena: SlabArena, ref: Ref): string {
  const off = arena.off(ref);
  const i32 = arena.i32(ref);
  const klen = i32[(off + ITEM_KEYLEN) >> 2]!;
  const vlen = i32[(off + ITEM_VALUELEN) >> 2]!;
  const s = off + ITEM_HEADER + klen;
  return arena.u8(ref).toString('latin1', s, s + vlen);
}

function itemKey(arena: SlabArena, ref: Ref): string {
  const off = arena.off(ref);
  const klen = arena.i32(ref)[(off + ITEM_KEYLEN) >> 2]!;
  return arena.u8(ref).toString('latin1', off + ITEM_HEADER, off + ITEM_HEADER + klen);
}

const enc = (s: string): Buffer => Buffer.from(s, 'latin1');
const h = (b: Uint8Array): number => hashKey(b, 0, b.length);

t.test('hashKey: MurmurHash3 x86_32 vectors (seed 0x9747b28c), offsets, distribution', async (t) => {
  const vectors: Array<[string, number]> = [
    ['a', 0x7fa09ea6],
    ['aa', 0x5d211726],
    ['aaa', 0x283e0130],
    ['aaaa', 0x5a97808a],
    ['abc', 0xc84a62dd],
    ['abcd', 0xf0478627],
    ['Hello, world!', 0x24884cba],
    ['The quick brown fox jumps over the lazy dog', 0x2fa826cd],
  ];
  for (const [s, want] of vectors) t.equal(h(enc(s)), want, `murmur3("${s}")`);
  const buf = enc('xxxhello worldyyy');
  t.equal(hashKey(buf, 3, 14), h(enc('hello world')), 'start/end respected');
  t.ok(h(enc('')) >= 0);
  // distribution: 200k sequential keys into 4096 buckets
  const buckets = new Int32Array(4096);
  const n = 200_000;
  for (let i = 0; i < n; i++) buckets[h(enc(`key:${i}`)) & 4095]!++;
  const expect = n / 4096;
  let chi = 0;
  for (const c of buckets) chi += (c - expect) ** 2 / expect;
  // 4095 degrees of freedom: mean 4095, sd ~90; fail far outside
  t.ok(chi < 4095 + 6 * 90, `chi-square ${chi.toFixed(0)} near 4095`);
  let highBits = 0;
  for (let i = 0; i < 1000; i++) highBits |= h(enc(`k${i}`));
  t.equal(highBits >>> 0, 0xffffffff, 'all 32 bits used, result unsigned');
});

t.test('insert / find / update / remove', async (t) => {
  const arena = new SlabArena();
  const idx = new HashIndex(arena, { initialCapacity: 8 });
  const k1 = enc('alpha');
  const r1 = putItem(arena, k1, enc('1'), h(k1));
  t.equal(idx.find(k1, h(k1)), 0, 'absent before insert');
  idx.insert(h(k1), r1);
  t.equal(idx.size, 1);
  t.equal(idx.find(k1, h(k1)), r1);
  t.equal(idx.find(enc('alphb'), h(k1)), 0, 'same hash, different key bytes');
  t.equal(idx.find(enc('alph'), h(k1)), 0, 'same hash, different length');
  const longKey = enc('x'.repeat(100));
  const rl = putItem(arena, longKey, enc('v'), h(longKey));
  idx.insert(h(longKey), rl);
  t.equal(idx.find(longKey, h(longKey)), rl, 'long key (Buffer.compare path)');
  t.equal(idx.find(enc('x'.repeat(99) + 'y'), h(longKey)), 0);
  const r1b = putItem(arena, k1, enc('22222'), h(k1));
  idx.update(h(k1), r1, r1b);
  arena.free(r1);
  t.equal(idx.find(k1, h(k1)), r1b, 'update moves the key');
  t.throws(() => idx.update(h(k1), r1, r1b), /not found/);
  t.equal(idx.remove(h(k1), r1), false, 'stale ref is not removed');
  t.equal(idx.remove(h(k1), r1b), true);
  t.equal(idx.remove(h(k1), r1b), false);
  t.equal(idx.find(k1, h(k1)), 0);
  t.equal(idx.size, 1);
  t.ok(idx.memoryBytes >= 8 * 8);
  idx.clear();
  t.equal(idx.size, 0);
  t.equal(idx.find(longKey, h(longKey)), 0);
  t.equal(idx.randomRef(), 0);
  t.throws(() => new HashIndex(arena, { initialCapacity: 100 }), RangeError);
});

t.test('collisions: equal hashes and equal home buckets', async (t) => {
  const arena = new SlabArena();
  const idx = new HashIndex(arena, { initialCapacity: 256, migrateStep: 1 });
  const refs: Ref[] = [];
  const keys: Buffer[] = [];
  // 60 keys sharing hash 42, 60 keys sharing home bucket 42 with distinct hashes
  for (let i = 0; i < 120; i++) {
    const k = enc(`col-${i}`);
    const hash = i < 60 ? 42 : 42 + 256 * i;
    const r = putItem(arena, k, enc(String(i)), hash);
    idx.insert(hash, r);
    refs.push(r);
    keys.push(k);
  }
  const hashOf = (i: number): number => (i < 60 ? 42 : 42 + 256 * i);
  let miss = 0;
  for (let i = 0; i < 120; i++) if (idx.find(keys[i]!, hashOf(i)) !== refs[i]) miss++;
  t.equal(miss, 0, 'all colliding keys found');
  // remove every third, from the middle of the runs
  for (let i = 0; i < 120; i += 3) t.equal(idx.remove(hashOf(i), refs[i]!), true);
  miss = 0;
  for (let i = 0; i < 120; i++) {
    const want = i % 3 === 0 ? 0 : refs[i];
    if (idx.find(keys[i]!, hashOf(i)) !== want) miss++;
  }
  t.equal(miss, 0, 'backward shift keeps the survivors reachable');
  t.equal(idx.size, 80);
  // a key whose hash wraps around the end of the table
  const kw = enc('wrap');
  const rw = putItem(arena, kw, enc('w'), 0xffffffff);
  for (let i = 0; i < 5; i++) idx.insert(0xffffffff - i * 0x100000, putItem(arena, enc(`w${i}`), enc('x'), 0));
  idx.insert(0xffffffff, rw);
  t.equal(idx.find(kw, 0xffffffff), rw, 'wrap-around probe');
});

t.test('resize under load: 1M keys, find works throughout the incremental resize', async (t) => {
  const arena = new SlabArena();
  const idx = new HashIndex(arena, { initialCapacity: 8, migrateStep: 2 });
  const N = 1_000_000;
  const refs = new Int32Array(N);
  const hashes = new Uint32Array(N);
  const keyBuf = Buffer.alloc(32);
  const key = (i: number): Buffer => keyBuf.subarray(0, keyBuf.write(`key:${i}`, 'latin1'));
  const r = rng(7);
  let bad = 0;
  let fullChecksDuringResize = 0;
  let resizingSeen = 0;
  let maxMem = 0;
  for (let i = 0; i < N; i++) {
    const k = key(i);
    const hash = h(k);
    hashes[i] = hash;
    if (idx.find(k, hash) !== 0) bad++;
    const ref = putItem(arena, k, k, hash);
    refs[i] = ref;
    idx.insert(hash, ref);
    if (idx.find(k, hash) !== ref) bad++;
    const j = Math.floor(r() * (i + 1));
    if (idx.find(key(j), hashes[j]!) !== refs[j]) bad++;
    if (idx.resizing) resizingSeen++;
    // full verification in the middle of large resizes
    if (idx.resizing && i >= 4096 && (i & 0x7fff) === 0) {
      fullChecksDuringResize++;
      for (let q = 0; q <= i; q++) if (idx.find(key(q), hashes[q]!) !== refs[q]) bad++;
    }
    maxMem = Math.max(maxMem, idx.memoryBytes);
  }
  t.equal(bad, 0, 'every lookup during growth found the right ref');
  t.ok(resizingSeen > N / 4, `resize in progress for ${resizingSeen} inserts`);
  t.ok(fullChecksDuringResize >= 5, `${fullChecksDuringResize} full checks mid-resize`);
  t.equal(idx.size, N);
  t.ok(idx.capacity >= N / 0.85, 'load factor respected');
  t.ok(maxMem <= 3 * 8 * idx.capacity, 'at most old + new table');
  while (idx.resizeStep(1 << 16));
  t.equal(idx.resizing, false, 'resizeStep finishes the resize');
  // remove half, check the rest
  for (let i = 0; i < N; i += 2) if (!idx.remove(hashes[i]!, refs[i]!)) bad++;
  for (let i = 0; i < N; i++) if (idx.find(key(i), hashes[i]!) !== (i % 2 === 0 ? 0 : refs[i])) bad++;
  t.equal(bad, 0, 'removals correct after resize');
  t.equal(idx.size, N / 2);
});

t.test('model test: 1M random set/get/delete against a Map', async (t) => {
  const arena = new SlabArena();
  const idx = new HashIndex(arena, { initialCapacity: 16, migrateStep: 4 });
  const model = new Map<string, string>();
  const r = rng(12345);
  const OPS = 1_000_000;
  let errors = 0;
  let hits = 0;
  let deletes = 0;
  let growths = 0;
  let shrinks = 0;
  let lastCap = idx.capacity;
  const report = (msg: string): void => {
    if (errors++ < 5) t.fail(msg);
  };
  for (let op = 0; op < OPS; op++) {
    // key space changes by phase: small (many hits), large (growth), small again (shrink)
    const phase = Math.floor((op / OPS) * 5);
    const space = phase >= 1 && phase <= 3 ? 30_000 : 500;
    const ks = `k${Math.floor(r() * space)}`;
    const k = enc(ks);
    const hash = h(k);
    const x = r();
    // phase 3 mostly deletes across the large space, so the table must shrink
    const deleteBias = phase === 3 ? 0.85 : 0.25;
    const setProb = phase === 3 ? 0.02 : 0.4;
    const found = idx.find(k, hash);
    const want = model.get(ks);
    if ((found === 0) !== (want === undefined)) {
      report(`op ${op}: presence of ${ks} differs (index ${found}, model ${want})`);
    } else if (found !== 0) {
      hits++;
      if (itemValue(arena, found) !== want) report(`op ${op}: value of ${ks} differs`);
      if (itemKey(arena, found) !== ks) report(`op ${op}: key bytes of ${ks} differ`);
    }
    if (x < deleteBias) {
      if (found !== 0) {
        if (!idx.remove(hash, found)) report(`op ${op}: remove failed`);
        arena.free(found);
        model.delete(ks);
        deletes++;
      }
    } else if (x < deleteBias + setProb) {
      const val = `v${op}`.repeat(1 + (op % 7));
      const ref = putItem(arena, k, enc(val), hash);
      if (found !== 0) {
        idx.update(hash, found, ref);
        arena.free(found);
      } else {
        idx.insert(hash, ref);
      }
      model.set(ks, val);
    }
    if (idx.size !== model.size) report(`op ${op}: size ${idx.size} != ${model.size}`);
    if (idx.capacity > lastCap) growths++;
    if (idx.capacity < lastCap) shrinks++;
    lastCap = idx.capacity;
    if ((op & 0x3fff) === 0) idx.resizeStep(64); // the worker's timer
  }
  t.equal(errors, 0, 'index agrees with the model on every operation');
  t.ok(hits > 300_000, `${hits} hits`);
  t.ok(deletes > 100_000, `${deletes} deletes`);
  t.ok(growths >= 5, `${growths} growths`);
  t.ok(shrinks >= 2, `${shrinks} shrinks`);
  // final full comparison, both directions, and exact memory accounting
  let mismatch = 0;
  for (const [ks, v] of model) {
    const k = enc(ks);
    const ref = idx.find(k, h(k));
    if (ref === 0 || itemValue(arena, ref) !== v) mismatch++;
  }
  const seen = new Set<string>();
  let cursor = 0;
  let used = 0;
  do {
    cursor = idx.scan(cursor, (ref) => {
      const ks = itemKey(arena, ref);
      if (!seen.has(ks)) used += arena.chunkSize(ref);
      seen.add(ks);
      if (!model.has(ks)) mismatch++;
    });
  } while (cursor !== 0);
  t.equal(mismatch, 0, 'final contents equal');
  t.equal(seen.size, model.size, 'scan saw every key');
  t.equal(arena.usedBytes, used, 'arena usedBytes = sum of live chunks');
});

t.test('scan: entries present throughout are visited despite churn and resizes', async (t) => {
  const arena = new SlabArena();
  const r = rng(99);
  for (const [label, migrateStep] of [['slow resize', 1], ['fast resize', 64]] as const) {
    const idx = new HashIndex(arena, { initialCapacity: 64, migrateStep });
    const stable = new Map<Ref, string>();
    const churn: Array<{ ref: Ref; hash: number }> = [];
    let seq = 0;
    const add = (into: 'stable' | 'churn'): void => {
      const k = enc(`${into}:${seq++}`);
      const hash = h(k);
      const ref = putItem(arena, k, enc('v'), hash);
      idx.insert(hash, ref);
      if (into === 'stable') stable.set(ref, k.toString('latin1'));
      else churn.push({ ref, hash });
    };
    for (let i = 0; i < 2000; i++) add('stable');
    for (let i = 0; i < 2000; i++) add('churn');
    const visited = new Set<Ref>();
    let cursor = 0;
    let calls = 0;
    let resizingCalls = 0;
    let caps = new Set<number>();
    do {
      cursor = idx.scan(cursor, (ref) => visited.add(ref));
      calls++;
      if (idx.resizing) resizingCalls++;
      caps.add(idx.capacity);
      // first half of the scan: grow a lot; second half: delete most churn (shrink)
      if (calls < 40) {
        for (let i = 0; i < 400; i++) add('churn');
      } else {
        for (let i = 0; i < 400 && churn.length > 0; i++) {
          const k = Math.floor(r() * churn.length);
          const e = churn[k]!;
          churn[k] = churn[churn.length - 1]!;
          churn.pop();
          idx.remove(e.hash, e.ref);
          arena.free(e.ref);
        }
      }
    } while (cursor !== 0);
    let missed = 0;
    for (const ref of stable.keys()) if (!visited.has(ref)) missed++;
    t.equal(missed, 0, `${label}: every stable entry visited (${calls} calls)`);
    t.ok(resizingCalls > 0, `${label}: ${resizingCalls} scan calls ran during a resize`);
    t.ok(caps.size >= 3, `${label}: table sizes seen ${[...caps].join(',')}`);
    caps = new Set();
  }
});

t.test('scan without mutation visits each entry exactly once', async (t) => {
  const arena = new SlabArena();
  const idx = new HashIndex(arena, { initialCapacity: 1024 });
  const refs = new Set<Ref>();
  for (let i = 0; i < 700; i++) {
    const k = enc(`s${i}`);
    const ref = putItem(arena, k, enc(''), h(k));
    idx.insert(h(k), ref);
    refs.add(ref);
  }
  const counts = new Map<Ref, number>();
  let cursor = 0;
  let calls = 0;
  do {
    cursor = idx.scan(cursor, (ref) => counts.set(ref, (counts.get(ref) ?? 0) + 1));
    calls++;
  } while (cursor !== 0);
  t.equal(calls, 1024, 'one call per bucket');
  t.equal(counts.size, refs.size);
  t.ok([...counts.values()].every((c) => c === 1), 'no duplicates');
  // visit may delete the entry it is given
  cursor = 0;
  do {
    cursor = idx.scan(cursor, (ref) => {
      const off = arena.off(ref);
      idx.remove(arena.i32(ref)[(off + ITEM_HASH) >> 2]!, ref);
    });
  } while (cursor !== 0);
  t.equal(idx.size, 0, 'deleting from inside visit is safe');
  const k = enc('again');
  idx.insert(h(k), putItem(arena, k, enc(''), h(k)));
  let reentered: unknown;
  cursor = 0;
  do {
    cursor = idx.scan(cursor, () => {
      try {
        idx.scan(0, () => {});
      } catch (err) {
        reentered = err;
      }
    });
  } while (cursor !== 0);
  t.match(reentered, /re-entered/, 'scan from inside visit throws');
});

t.test('randomRef: roughly uniform, also during a resize', async (t) => {
  const arena = new SlabArena();
  const idx = new HashIndex(arena, { initialCapacity: 16, migrateStep: 1 });
  const refs: Ref[] = [];
  for (let i = 0; i < 14; i++) {
    const k = enc(`r${i}`);
    const ref = putItem(arena, k, enc(''), h(k));
    idx.insert(h(k), ref);
    refs.push(ref);
  }
  t.equal(idx.resizing, true, 'a resize is in progress');
  const counts = new Map<Ref, number>();
  const draws = 28_000;
  for (let i = 0; i < draws; i++) {
    const ref = idx.randomRef();
    counts.set(ref, (counts.get(ref) ?? 0) + 1);
  }
  t.equal(counts.size, refs.length, 'every entry drawn, nothing else');
  const expect = draws / refs.length;
  t.ok([...counts.values()].every((c) => Math.abs(c - expect) < expect * 0.25), 'within 25% of uniform');
  // sparse table still finds the single entry
  const big = new HashIndex(arena, { initialCapacity: 1 << 16 });
  big.insert(12345, refs[0]!);
  t.equal(big.randomRef(), refs[0]);
});

/** 14 keys in a 16-bucket index that migrates one bucket per op: left mid-resize. */
function resizingIndex(arena: SlabArena, prefix: string): { idx: HashIndex; refs: Set<Ref> } {
  const idx = new HashIndex(arena, { initialCapacity: 16, migrateStep: 1 });
  const refs = new Set<Ref>();
  for (let i = 0; i < 14; i++) {
    const k = enc(`${prefix}${i}`);
    const ref = putItem(arena, k, enc(''), h(k));
    idx.insert(h(k), ref);
    refs.add(ref);
  }
  return { idx, refs };
}

t.test('sampleRefs: present entries only, at most n, every entry reachable, also during a resize', async (t) => {
  const arena = new SlabArena();
  const { idx, refs } = resizingIndex(arena, 's');
  t.equal(idx.resizing, true, 'a resize is in progress');
  const out = new Int32Array(8);
  const seen = new Set<Ref>();
  for (let i = 0; i < 2000; i++) {
    const n = idx.sampleRefs(out, 5);
    if (n < 1 || n > 5) t.fail(`sampled ${n} entries, not 1..5`);
    const round = new Set<Ref>();
    for (let j = 0; j < n; j++) {
      if (!refs.has(out[j]!)) t.fail(`sampled ${out[j]}, not an entry`);
      round.add(out[j]!);
      seen.add(out[j]!);
    }
    if (round.size !== n) t.fail('an entry twice in one sample');
    if (i === 0) t.equal(idx.sampleRefs(out, 0), 0, 'n = 0 gives nothing');
  }
  t.equal(seen.size, refs.size, 'every entry sampled at some point');
  t.equal(new HashIndex(arena, { initialCapacity: 16 }).sampleRefs(out, 5), 0, 'empty index: nothing');
});

t.test('aux words: carried through displacement, deletion and an incremental resize; sampleRefs reports hashes and aux; holds', async (t) => {
  const arena = new SlabArena();
  const idx = new HashIndex(arena, { initialCapacity: 16, migrateStep: 1 });
  const want = new Map<Ref, { hash: number; aux: number }>();
  const r = rng(7);
  const keys: Buffer[] = [];
  for (let i = 0; i < 300; i++) {
    const k = enc(`aux${i}`);
    const ref = putItem(arena, k, enc(''), h(k));
    const aux = 1000 + i;
    idx.insert(h(k), ref, aux);
    want.set(ref, { hash: h(k) | 0, aux });
    keys.push(k);
    // Delete some along the way (backward shifts move neighbours and their aux).
    if (i % 7 === 3) {
      const gone = keys.splice(Math.floor(r() * keys.length), 1)[0]!;
      const gref = idx.find(gone, h(gone));
      t.ok(idx.remove(h(gone), gref));
      want.delete(gref);
    }
    // setAux right after find (no probe) and cold (probe), also mid-resize.
    if (i % 5 === 0) {
      const k2 = keys[Math.floor(r() * keys.length)]!;
      const ref2 = idx.find(k2, h(k2));
      const v = 5000 + i;
      t.ok(idx.setAux(h(k2), ref2, v));
      want.get(ref2)!.aux = v;
      const k3 = keys[Math.floor(r() * keys.length)]!;
      const ref3 = idx.find(k3, h(k3));
      idx.find(keys[0]!, h(keys[0]!)); // the cached slot is now another entry's
      t.ok(idx.setAux(h(k3), ref3, v + 1));
      want.get(ref3)!.aux = v + 1;
    }
  }
  t.equal(idx.size, want.size);
  t.notOk(idx.setAux(12345, 999_999, 1), 'setAux of an absent entry: false');
  const out = new Int32Array(8);
  const hashes = new Int32Array(8);
  const aux = new Int32Array(8);
  const seen = new Set<Ref>();
  let bad = 0;
  for (let i = 0; i < 5000; i++) {
    const n = idx.sampleRefs(out, 5, hashes, aux);
    for (let j = 0; j < n; j++) {
      const w = want.get(out[j]!);
      if (!w || w.hash !== hashes[j] || w.aux !== aux[j]) bad++;
      seen.add(out[j]!);
    }
  }
  t.equal(bad, 0, 'every sampled entry came with its own hash and aux word');
  t.equal(seen.size, want.size, 'every entry sampled at some point');
  const [someRef, some] = [...want][0]!;
  t.ok(idx.holds(some.hash, someRef), 'holds: the entry under its hash');
  t.notOk(idx.holds(some.hash ^ 0x10000, someRef), 'holds: not under another hash');
  t.notOk(idx.holds(some.hash, 999_999), 'holds: not an absent ref');
});

t.test('sampleNext: consecutive windows that sweep the whole table, with hashes and aux; as sampleRefs during a resize', async (t) => {
  const arena = new SlabArena();
  const idx = new HashIndex(arena, { initialCapacity: 1024 });
  const want = new Map<Ref, number>();
  for (let i = 0; i < 600; i++) {
    const k = enc(`sw${i}`);
    const ref = putItem(arena, k, enc(''), h(k));
    idx.insert(h(k), ref, i);
    want.set(ref, i);
  }
  t.equal(idx.resizing, false);
  const out = new Int32Array(8);
  const hashes = new Int32Array(8);
  const aux = new Int32Array(8);
  const seen = new Map<Ref, number>();
  let bad = 0;
  // 600 entries, 5 per call: 120 calls cover one sweep; 240 calls cover it twice.
  for (let c = 0; c < 240; c++) {
    const n = idx.sampleNext(out, 5, hashes, aux);
    if (n !== 5) t.fail(`got ${n} entries, not 5`);
    for (let j = 0; j < n; j++) {
      if (want.get(out[j]!) !== aux[j]) bad++;
      seen.set(out[j]!, (seen.get(out[j]!) ?? 0) + 1);
    }
  }
  t.equal(bad, 0, 'each entry with its own aux');
  t.equal(seen.size, 600, 'two sweeps reach every entry');
  t.same(new Set(seen.values()), new Set([2]), 'and each exactly twice: no entry skipped or repeated within a sweep');
  // During a resize it samples like sampleRefs (present entries only).
  const { idx: small, refs } = resizingIndex(arena, 'sr');
  t.equal(small.resizing, true);
  for (let c = 0; c < 100; c++) {
    const n = small.sampleNext(out, 5);
    for (let j = 0; j < n; j++) if (!refs.has(out[j]!)) t.fail(`sampled ${out[j]}, not an entry`);
  }
  t.equal(new HashIndex(arena, { initialCapacity: 16 }).sampleNext(out, 5), 0, 'empty index: nothing');
});
