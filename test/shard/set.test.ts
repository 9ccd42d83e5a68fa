// SetValue (shard/types/set.ts) on its own: intset membership rules and order,
// conversions, the packed/dump round trip, incremental byte accounting, random
// sampling and the SSCAN invariant under churn.
import t from 'tap';
import { SetValue, MemberTable, setType, newSet, isIntMember, packedSetHas, sampleIndexes } from '../../shard/types/set.js';
import { encodePacked } from '../../shard/types/packed.js';

/** xorshift32 */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

const members = (s: SetValue): string[] => Array.from({ length: s.size }, (_, i) => s.at(i));
const byNumber = (a: string, b: string): number => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0);

t.test('isIntMember: string2ll canonical int64', async (t) => {
  const yes = ['0', '1', '-1', '10', '123456789012345678', '9223372036854775807', '-9223372036854775808', '1000000000000000000', '-1000000000000000000'];
  const no = ['', '-', '+1', '01', '00', '-0', '-01', ' 1', '1 ', '1.0', '1e3', 'abc', '9223372036854775808',
    '-9223372036854775809', '9999999999999999999', '12345678901234567890', '-12345678901234567890', '0x10', '１'];
  for (const s of yes) t.ok(isIntMember(s), `${JSON.stringify(s)} is an intset member`);
  for (const s of no) t.notOk(isIntMember(s), `${JSON.stringify(s)} is not`);
});

t.test('intset: ascending numeric order, conversions as Redis', async (t) => {
  const rand = rng(7);
  const s = newSet();
  const want = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const v = String(BigInt(Math.floor((rand() - 0.5) * 2 ** 20)) * (rand() < 0.1 ? 10n ** 12n : 1n));
    t.equal(s.add(v, 10_000), !want.has(v));
    want.add(v);
    if (rand() < 0.3) {
      const r = [...want][Math.floor(rand() * want.size)]!;
      t.ok(s.remove(r));
      want.delete(r);
    }
  }
  t.ok(s.intset);
  t.same(members(s), [...want].sort(byNumber));
  t.notOk(s.has('01'));
  t.notOk(s.remove('x'));
  // Past the limit: a table, and it stays one when shrinking.
  const small = newSet();
  for (const v of ['3', '1', '2']) small.add(v, 3);
  t.ok(small.intset);
  t.same(members(small), ['1', '2', '3']);
  t.notOk(small.add('2', 3), 'duplicate');
  t.ok(small.intset);
  t.ok(small.add('4', 3));
  t.notOk(small.intset);
  small.remove('4');
  t.notOk(small.intset);
  t.same(members(small).sort(), ['1', '2', '3']);
  const str = newSet();
  str.add('5', 100);
  str.add('five', 100);
  t.notOk(str.intset);
  t.ok(str.has('5') && str.has('five'));
  // toIntset sorts a table of integers back (SPOP's rebuilt remainder).
  const tbl = newSet();
  for (const v of ['10', '-3', '7', '0']) tbl.add(v, 0);
  t.notOk(tbl.intset);
  tbl.toIntset();
  t.ok(tbl.intset);
  t.same(members(tbl), ['-3', '0', '7', '10']);
  t.ok(tbl.has('7'));
});

t.test('packed and dumped forms keep the encoding', async (t) => {
  const ints = newSet();
  for (const v of ['5', '-2', '9']) ints.add(v, 512);
  const e1 = setType.toEntries(ints);
  t.same(e1, ['', '-2', '5', '9'], 'marker, then ascending');
  const back = setType.fromEntries([...e1]);
  t.ok(back.intset);
  t.ok(setType.fitsPacked(back, {} as never));
  t.equal(setType.encodingName(back, true), 'intset');
  // A table of integers stays a table.
  const tbl = newSet();
  for (const v of ['1', '2', '3']) tbl.add(v, 2);
  t.notOk(tbl.intset);
  const t2 = setType.fromEntries([...setType.toEntries(tbl)]);
  t.notOk(t2.intset);
  t.notOk(setType.fitsPacked(t2, {} as never));
  t.equal(setType.encodingName(t2, false), 'hashtable');
  t.same(members(t2).sort(), ['1', '2', '3']);
  // A table whose first member is '' must not read back as an intset.
  const empty = newSet();
  for (const v of ['', '1', '2']) empty.add(v, 512);
  t.equal(empty.at(0), '');
  const e3 = setType.toEntries(empty);
  t.not(e3[0], '');
  const t3 = setType.fromEntries([...e3]);
  t.notOk(t3.intset);
  t.same(members(t3).sort(), ['', '1', '2']);
  t.equal(empty.at(0), '', 'toEntries does not reorder the live set');
  const only = newSet();
  only.add('', 512);
  const t4 = setType.fromEntries([...setType.toEntries(only)]);
  t.notOk(t4.intset);
  t.same(members(t4), ['']);
  // Membership straight on the packed bytes.
  const big = newSet();
  for (let i = -300; i < 300; i += 3) big.add(String(i), 512);
  const buf = encodePacked(setType.toEntries(big));
  for (let i = -305; i < 305; i++) {
    const m = Buffer.from(String(i));
    t.equal(packedSetHas(buf, 0, buf.length, m), big.has(String(i)));
  }
  t.notOk(packedSetHas(buf, 0, buf.length, Buffer.alloc(0)), 'the marker is not a member');
  t.notOk(packedSetHas(buf, 0, buf.length, Buffer.from('003')));
});

t.test('table bytes are kept incrementally and honestly', async (t) => {
  const rand = rng(11);
  const s = newSet();
  s.add('x', 512);
  for (let i = 0; i < 20_000; i++) {
    const m = `m${Math.floor(rand() * 5000)}${'y'.repeat(Math.floor(rand() * 40))}`;
    if (rand() < 0.6) s.add(m, 512);
    else s.remove(m);
    if (rand() < 0.05 && s.size > 1) s.pop();
  }
  // A table counts what its arrays hold (live entries, garbage not yet compacted,
  // spare slots): at least the live bytes, and within a small factor of a fresh copy.
  const fresh = setType.fromEntries([...setType.toEntries(s)]);
  let live = 0;
  for (const m of members(s)) live += m.length + 12;
  t.ok(s.bytes >= live, `${s.bytes} bytes hold ${live} live entry bytes`);
  t.ok(s.bytes <= fresh.bytes * 4, `${s.bytes} bytes vs ${fresh.bytes} for a fresh copy`);
  t.same(new Set(members(fresh)), new Set(members(s)));
});

t.test('MemberTable against a Map: find, insert, removeAt, compaction', async (t) => {
  const rand = rng(5);
  for (const initial of [0, 5000]) {
    const tbl = new MemberTable(initial);
    const model = new Map<string, number>(); // member -> when added
    const at: string[] = []; // position -> member
    let bad = 0;
    for (let i = 0; i < 60_000; i++) {
      const m = `k${Math.floor(rand() * 3000)}${'z'.repeat(Math.floor(rand() * 50))}`;
      const b = Buffer.from(m, 'latin1');
      const pos = tbl.find(b, 0, b.length);
      if ((pos >= 0) !== model.has(m) || (pos >= 0 && at[pos] !== m)) bad++;
      if (pos < 0 && rand() < 0.55) {
        const p = tbl.insertNew(b, 0, b.length);
        if (p !== at.length) bad++;
        at.push(m);
        model.set(m, i);
      } else if (pos >= 0) {
        const moved = tbl.removeAt(pos);
        const last = at.length - 1;
        if (moved !== (pos === last ? -1 : last)) bad++;
        at[pos] = at[last]!;
        at.pop();
        model.delete(m);
      }
      if (rand() < 0.001) {
        for (let p = 0; p < tbl.count; p++) if (tbl.memberString(p) !== at[p]) bad++;
      }
    }
    t.equal(bad, 0, `initial ${initial}: every answer agrees with the model`);
    t.equal(tbl.count, model.size);
    for (const [m] of model) if (tbl.findString(m) < 0) bad++;
    t.equal(bad, 0, 'every member is found by its string');
    // Long members compare through Buffer.compare.
    const long = 'L'.repeat(1000);
    t.equal(tbl.findString(long), -1);
    const p = tbl.insertNewString(long);
    t.equal(tbl.findString(long), p);
    t.equal(tbl.findString(long.slice(1) + 'M'), -1);
    t.equal(tbl.memberLength(p), 1000);
  }
});

t.test('sampleIndexes, random, pop, popMany', async (t) => {
  const rand = rng(3);
  for (let trial = 0; trial < 200; trial++) {
    const n = 1 + Math.floor(rand() * 50);
    const k = Math.floor(rand() * (n + 1));
    const got = sampleIndexes(n, k);
    t.equal(got.length, k);
    t.equal(new Set(got).size, k, 'distinct');
    t.ok(got.every((i) => Number.isInteger(i) && i >= 0 && i < n), 'in range');
  }
  // Roughly uniform: every index of 10 picked about as often.
  const hits = new Array<number>(10).fill(0);
  for (let i = 0; i < 20_000; i++) for (const j of sampleIndexes(10, 3)) hits[j]!++;
  t.ok(hits.every((h) => h > 5000 && h < 7000), `hits ${hits.join(' ')}`);
  for (const asTable of [false, true]) {
    const s = newSet();
    for (let i = 0; i < 100; i++) s.add(String(i), asTable ? 10 : 512);
    t.equal(s.intset, !asTable);
    const all = new Set(members(s));
    t.ok(all.has(s.random()));
    const one = s.pop();
    t.ok(all.has(one) && !s.has(one));
    const many = s.popMany(60);
    t.equal(new Set(many).size, 60);
    t.ok(many.every((m) => all.has(m) && !s.has(m)));
    t.equal(s.size, 39);
    t.equal(new Set([one, ...many, ...members(s)]).size, 100);
    if (!asTable) t.same(members(s), [...members(s)].sort(byNumber), 'intset still ordered');
  }
});

t.test('scanTable never misses a member present throughout', async (t) => {
  const rand = rng(99);
  for (let trial = 0; trial < 50; trial++) {
    const s = newSet();
    const stable: string[] = [];
    for (let i = 0; i < 200; i++) {
      const m = `s${i}`;
      s.add(m, 0);
      stable.push(m);
    }
    let churn: string[] = [];
    for (let i = 0; i < 200; i++) {
      churn.push(`c${trial}_${i}`);
      s.add(`c${trial}_${i}`, 0);
    }
    // Shuffle positions by removing and re-adding churn.
    const seen = new Set<string>();
    let cursor = 0;
    let calls = 0;
    let fresh = 0;
    do {
      cursor = s.scanTable(cursor, 1 + Math.floor(rand() * 20), (m) => seen.add(m));
      calls++;
      const drop = Math.floor(rand() * 10);
      for (let i = 0; i < drop && churn.length > 0; i++) {
        const j = Math.floor(rand() * churn.length);
        s.remove(churn[j]!);
        churn[j] = churn[churn.length - 1]!;
        churn.pop();
      }
      for (let i = Math.floor(rand() * 10); i > 0; i--) {
        const m = `n${trial}_${fresh++}`;
        s.add(m, 0);
        churn.push(m);
      }
      churn = churn.slice();
    } while (cursor !== 0 && calls < 10_000);
    t.equal(cursor, 0, 'finishes');
    const missed = stable.filter((m) => !seen.has(m));
    if (missed.length > 0) t.fail(`trial ${trial}: missed ${missed.slice(0, 5).join(' ')}`);
  }
  t.pass('no member present throughout was missed');
});
