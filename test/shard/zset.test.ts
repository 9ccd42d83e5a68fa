// The sorted-set structures on their own: ScoreTree (order-statistic B+-tree) and
// ZsetValue against a plain sorted array, plus score parsing and formatting.

import t from 'tap';
import { ScoreTree, Cursor, before } from '../../shard/types/zset-tree.js';
import { ZsetValue, zsetType } from '../../shard/types/zset.js';
import { formatScore, parseScore, parseScoreBound, formatListpackScore } from '../../shard/types/zset-score.js';

type Pair = [number, string];

function lowerBound(model: Pair[], s: number, m: string): number {
  let lo = 0;
  let hi = model.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const [ms, mm] = model[mid]!;
    if (before(ms, mm, s, m)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function check(tt: { fail(m: string): unknown }, tree: ScoreTree, model: Pair[], label: string): boolean {
  const got: Pair[] = [];
  for (let leaf = tree.first as ScoreTree['first'] | null; leaf !== null; leaf = leaf.next) {
    for (let i = 0; i < leaf.m.length; i++) got.push([leaf.s[i]!, leaf.m[i]!]);
  }
  const back: Pair[] = [];
  const c = new Cursor(tree.last, tree.last.m.length - 1);
  if (tree.size > 0) for (; c.leaf !== null; c.prev()) back.push([c.score, c.member]);
  back.reverse();
  const ok = tree.size === model.length && JSON.stringify(got) === JSON.stringify(model) && JSON.stringify(back) === JSON.stringify(model);
  if (!ok) tt.fail(`${label}: tree differs from model (size ${tree.size} vs ${model.length})`);
  return ok;
}

t.test('ScoreTree random inserts/removes/ranks vs a sorted array', async (t) => {
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (const universe of [50, 600, 5000]) {
    const tree = new ScoreTree();
    const model: Pair[] = [];
    const present = new Map<string, number>();
    let failures = 0;
    for (let op = 0; op < 40000 && failures === 0; op++) {
      const m = `m${rnd(universe)}`;
      const r = rnd(100);
      // phases: grow, then shrink, then mixed
      const phase = Math.floor(op / 10000);
      const wantInsert = phase === 0 ? r < 80 : phase === 1 ? r < 20 : r < 50;
      if (wantInsert && !present.has(m)) {
        const s = rnd(10) === 0 ? [Infinity, -Infinity, 0][rnd(3)]! : rnd(20) - 10 + (rnd(4) === 0 ? 0.5 : 0);
        tree.insert(s, m);
        present.set(m, s);
        model.splice(lowerBound(model, s, m), 0, [s, m]);
      } else if (present.has(m)) {
        const s = present.get(m)!;
        t.equal(tree.rankOf(s, m), lowerBound(model, s, m)) || failures++;
        tree.remove(s, m);
        present.delete(m);
        model.splice(lowerBound(model, s, m), 1);
      }
      if (op % 997 === 0) {
        if (!check(t, tree, model, `universe ${universe} op ${op}`)) failures++;
        for (let k = 0; k < 20 && model.length > 0; k++) {
          const r2 = rnd(model.length);
          tree.select(r2);
          if (tree.hitLeaf!.m[tree.hitIdx] !== model[r2]![1]) {
            t.fail(`select ${r2}`);
            failures++;
          }
          const x = rnd(24) - 12;
          let want = 0;
          while (want < model.length && model[want]![0] < x) want++;
          if (tree.seekScore(x, false) !== want) {
            t.fail(`seekScore ${x}`);
            failures++;
          }
          let wantEx = 0;
          while (wantEx < model.length && model[wantEx]![0] <= x) wantEx++;
          if (tree.seekScore(x, true) !== wantEx) {
            t.fail(`seekScore (${x}`);
            failures++;
          }
        }
      }
    }
    check(t, tree, model, `universe ${universe} end`);
    t.ok(tree.height >= 0, `universe ${universe}: height ${tree.height}, leaves ${tree.leaves}, inners ${tree.inners}`);
  }
});

t.test('ascending inserts fill leaves; fromSorted builds a valid tree', async (t) => {
  const tree = new ScoreTree();
  for (let i = 0; i < 100000; i++) tree.insert(i, `member:${i}`);
  t.ok(tree.leaves <= Math.ceil(100000 / 128) + 1, `leaves ${tree.leaves}`);
  t.equal(tree.rankOf(54321, 'member:54321'), 54321);
  const m: string[] = [];
  const s: number[] = [];
  for (let i = 0; i < 10000; i++) {
    m.push(`k${String(i).padStart(5, '0')}`);
    s.push(1);
  }
  const built = ScoreTree.fromSorted(m.slice(), s.slice());
  t.equal(built.size, 10000);
  t.equal(built.seekLex('k05000', false), 5000);
  t.equal(built.seekLex('k05000', true), 5001);
  for (let i = 0; i < 10000; i += 2) built.remove(1, m[i]!);
  t.equal(built.size, 5000);
  t.equal(built.rankOf(1, 'k09999'), 4999);
  for (let i = 1; i < 10000; i += 2) built.remove(1, m[i]!);
  t.equal(built.size, 0);
  t.equal(built.height, 0);
});

t.test('ZsetValue keeps its member table, bytes and ranges consistent', async (t) => {
  const z = new ZsetValue();
  for (let i = 0; i < 1000; i++) z.insert(`m${i}`, i % 7);
  t.ok(z.members !== null, 'member table built past the leaf size');
  const b1 = z.bytes;
  z.update('m5', 5, 0.5);
  t.equal(z.score('m5'), 0.5);
  t.equal(z.scoreOf(Buffer.from('m5')), 0.5);
  t.equal(z.bytes, b1, 'a score change costs nothing');
  z.removeRange(0, 600);
  t.equal(z.size, 400);
  t.equal(z.members!.count, 400);
  z.removeRange(10, 5);
  t.equal(z.size, 395);
  const fresh = ZsetValue.fromSorted([], []);
  t.equal(fresh.size, 0);
  const e = zsetType.toEntries(z);
  const back = zsetType.fromEntries(e);
  t.same(zsetType.toEntries(back), e);
  t.equal(back.rank('m999'), z.rank('m999'));
});

t.test('score text', async (t) => {
  const f: Array<[number, string]> = [
    [0.1, '0.10000000000000001'], [1.5, '1.5'], [3, '3'], [-0, '-0'], [1e17, '1e+17'], [1e-5, '1.0000000000000001e-05'],
    [123456789012345678, '1.2345678901234568e+17'], [Infinity, 'inf'], [-Infinity, '-inf'], [2 ** 55, '36028797018963968'],
    [1e-310, '9.9999999999999694e-311'], [-2.5e-3, '-0.0025000000000000001'], [5e18, '5e+18'],
  ];
  for (const [d, s] of f) t.equal(formatScore(d), s, `format ${d}`);
  t.equal(formatListpackScore(1e17), '100000000000000000');
  t.equal(formatListpackScore(5e18), '5e+18');
  const p: Array<[string, number | null]> = [
    ['1', 1], ['-1.5', -1.5], ['inf', Infinity], ['-Infinity', -Infinity], ['+inf', Infinity], ['0x10', 16], ['0x1.8p1', 3],
    ['1e400', null], ['1e-400', null], [' 1', null], ['1 ', null], ['nan', null], ['', null], ['abc', null], ['1e', null], ['.5', 0.5], ['1.', 1],
  ];
  for (const [s, v] of p) t.same(parseScore(Buffer.from(s)), v, `parse ${JSON.stringify(s)}`);
  t.same(parseScoreBound(Buffer.from('')), { v: 0, ex: false });
  t.same(parseScoreBound(Buffer.from('(')), { v: 0, ex: true });
  t.same(parseScoreBound(Buffer.from(' (1')), null);
  t.same(parseScoreBound(Buffer.from('(1e400')), { v: Infinity, ex: true });
  t.same(parseScoreBound(Buffer.from(' 2')), { v: 2, ex: false });
  t.same(parseScoreBound(Buffer.from('nan')), null);
});

/** Checks every ScoreTree invariant by walking the nodes; returns the pairs in order. */
function invariants(tree: ScoreTree): { ok: boolean; why: string; pairs: Pair[] } {
  type AnyNode = { kids?: AnyNode[]; counts?: number[]; sepS?: number[]; sepM?: string[]; m?: string[]; s?: number[] };
  const pairs: Pair[] = [];
  const leaves: unknown[] = [];
  let why = '';
  const walk = (node: AnyNode, depth: number, lo: Pair | null, hi: Pair | null): number => {
    if (why) return 0;
    if (depth === tree.height) {
      const m = node.m!;
      const s = node.s!;
      if (m.length !== s.length) why = 'leaf arrays differ';
      if (m.length === 0 && tree.size !== 0) why = 'empty leaf';
      if (m.length > 128) why = 'leaf over capacity';
      for (let i = 0; i < m.length; i++) {
        const p: Pair = [s[i]!, m[i]!];
        if (lo && before(p[0], p[1], lo[0], lo[1])) why = `pair below its separator at ${m[i]}`;
        if (hi && !before(p[0], p[1], hi[0], hi[1])) why = `pair not below the next separator at ${m[i]}`;
        pairs.push(p);
      }
      leaves.push(node);
      return m.length;
    }
    const kids = node.kids!;
    if (kids.length === 0 || kids.length > 64) why = `inner node with ${kids.length} kids`;
    if (node.counts!.length !== kids.length || node.sepS!.length !== kids.length || node.sepM!.length !== kids.length) why = 'inner arrays differ';
    let total = 0;
    for (let i = 0; i < kids.length; i++) {
      const kidLo: Pair | null = i === 0 ? lo : [node.sepS![i]!, node.sepM![i]!];
      const kidHi: Pair | null = i + 1 < kids.length ? [node.sepS![i + 1]!, node.sepM![i + 1]!] : hi;
      const n = walk(kids[i]!, depth + 1, kidLo, kidHi);
      if (n !== node.counts![i]) why = `count ${node.counts![i]} for a subtree of ${n}`;
      total += n;
    }
    return total;
  };
  const n = walk(tree.root as unknown as AnyNode, 0, null, null);
  if (!why && n !== tree.size) why = `size ${tree.size}, walked ${n}`;
  if (!why && leaves.length !== tree.leaves) why = `leaves ${tree.leaves}, walked ${leaves.length}`;
  // the leaf list runs through the same leaves, both ways
  if (!why) {
    let k = 0;
    for (let leaf = tree.first as ScoreTree['first'] | null; leaf !== null; leaf = leaf.next, k++) {
      if (leaf !== leaves[k]) why = `leaf list differs at ${k}`;
      if (leaf.next && leaf.next.prev !== leaf) why = 'prev link broken';
    }
    if (k !== leaves.length) why = 'leaf list length';
    if (tree.last !== leaves[leaves.length - 1]) why = 'last leaf';
  }
  for (let i = 1; i < pairs.length && !why; i++) if (!before(pairs[i - 1]![0], pairs[i - 1]![1], pairs[i]![0], pairs[i]![1])) why = 'out of order';
  return { ok: why === '', why, pairs };
}

t.test('ScoreTree deep trees (three levels): invariants through growth, shrinkage and churn', async (t) => {
  let seed = 777;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const tree = new ScoreTree();
  const present = new Map<string, number>();
  const U = 400_000;
  let checks = 0;
  const phases = [
    { ops: 300_000, insert: 95 },
    { ops: 250_000, insert: 10 },
    { ops: 150_000, insert: 55 },
    { ops: 200_000, insert: 0 },
  ];
  let maxHeight = 0;
  for (const ph of phases) {
    for (let op = 0; op < ph.ops; op++) {
      const m = `k${rnd(U)}`;
      const s = present.get(m);
      if (rnd(100) < ph.insert) {
        if (s === undefined) {
          const v = rnd(50) - 25 + (rnd(3) === 0 ? 0.5 : 0);
          tree.insert(v, m);
          present.set(m, v);
        }
      } else if (s !== undefined) {
        tree.remove(s, m);
        present.delete(m);
      } else if (present.size > 0 && rnd(2) === 0) {
        // remove something that exists: the smallest or the largest
        const leaf = rnd(2) ? tree.first : tree.last;
        const i = leaf === tree.first ? 0 : leaf.m.length - 1;
        const mm = leaf.m[i]!;
        tree.remove(leaf.s[i]!, mm);
        present.delete(mm);
      }
      if (tree.height > maxHeight) maxHeight = tree.height;
    }
    const inv = invariants(tree);
    checks++;
    t.ok(inv.ok, `phase ${checks}: ${inv.why || 'invariants hold'} (size ${tree.size}, height ${tree.height}, leaves ${tree.leaves}, inners ${tree.inners})`);
    t.equal(inv.pairs.length, present.size, 'size matches the model');
    let bad = 0;
    for (let k = 0; k < 2000 && inv.pairs.length > 0; k++) {
      const r = rnd(inv.pairs.length);
      const [s, m] = inv.pairs[r]!;
      if (present.get(m) !== s || tree.rankOf(s, m) !== r) bad++;
      tree.select(r);
      if (tree.hitLeaf!.m[tree.hitIdx] !== m) bad++;
      const x = rnd(52) - 26;
      let want = 0;
      let lo = 0;
      let hi = inv.pairs.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (inv.pairs[mid]![0] < x) lo = mid + 1;
        else hi = mid;
      }
      want = lo;
      if (tree.seekScore(x, false) !== want) bad++;
    }
    t.equal(bad, 0, 'ranks, selects and seeks agree with the walk');
  }
  t.ok(maxHeight >= 2, `reached height ${maxHeight}`);
  t.equal(tree.size, 0, 'emptied');
});

t.test('ScoreTree.move: in-leaf shifts and cross-leaf moves keep every invariant', async (t) => {
  let seed = 4242;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  // Small trees (one leaf: every move shifts in place), then deep ones; scores with
  // many ties so members decide the order, and ±inf at the ends.
  for (const [size, range] of [[1, 3], [2, 3], [60, 5], [3000, 40], [60_000, 2000]] as const) {
    const tree = new ScoreTree();
    const present = new Map<string, number>();
    for (let i = 0; i < size; i++) {
      const m = `m${i}`;
      const s = rnd(range);
      tree.insert(s, m);
      present.set(m, s);
    }
    const names = [...present.keys()];
    let bad = 0;
    for (let op = 0; op < 40_000; op++) {
      const m = names[rnd(names.length)]!;
      const from = present.get(m)!;
      const r = rnd(50);
      const to = r === 0 ? Infinity : r === 1 ? -Infinity : rnd(range) + (r < 10 ? 0.5 : 0);
      if (to === from) continue;
      // A copy of the member: the tree must keep (and return) its own string.
      const copy = (' ' + m).slice(1);
      const kept = tree.move(from, copy, to);
      if (kept !== m) bad++;
      present.set(m, to);
      if (op % 4999 === 0) {
        const inv = invariants(tree);
        if (!inv.ok) t.fail(`size ${size} op ${op}: ${inv.why}`);
        const want = [...present].map(([mm, s]): Pair => [s, mm]).sort((a, b) => (before(a[0], a[1], b[0], b[1]) ? -1 : 1));
        if (JSON.stringify(inv.pairs) !== JSON.stringify(want)) bad++;
        for (let k = 0; k < 50; k++) {
          const rr = rnd(want.length);
          if (tree.rankOf(want[rr]![0], want[rr]![1]) !== rr) bad++;
        }
      }
    }
    t.equal(bad, 0, `size ${size}: moves agree with the model`);
    t.equal(tree.size, size);
  }
});

t.test('ZsetValue on its member table agrees with a model through churn', async (t) => {
  let seed = 99;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const z = new ZsetValue();
  const model = new Map<string, number>();
  let bad = 0;
  for (let op = 0; op < 120_000; op++) {
    const m = `e:${rnd(4000)}${rnd(10) === 0 ? 'x'.repeat(rnd(80)) : ''}`;
    const b = Buffer.from(m, 'latin1');
    const cur = model.get(m);
    if (z.scoreOf(b) !== cur || z.score(m) !== cur) bad++;
    const r = rnd(100);
    if (cur === undefined) {
      if (r < 70) {
        const s = rnd(500) - 250 + (r < 20 ? 0.25 : 0);
        if (z.members !== null && r < 35) {
          z.members.find(b, 0, b.length);
          z.insertFound(b, s);
        } else z.insert(m, s);
        model.set(m, s);
      }
    } else if (r < 60) {
      const s = rnd(500) - 250;
      if (s !== cur) {
        if (z.members !== null && r < 30) z.updateAt(z.members.find(b, 0, b.length), cur, s);
        else z.update(m, cur, s);
        model.set(m, s);
      }
    } else if (r < 95) {
      if (z.delete(m) !== cur) bad++;
      model.delete(m);
    } else if (z.size > 10) {
      // a range of ranks goes (small ranges one by one, a large share by rebuilding)
      const start = rnd(z.size - 5);
      const count = r === 99 ? Math.min(z.size - start, 64 + rnd(z.size)) : 1 + rnd(4);
      const n = Math.min(count, z.size - start);
      const gone: string[] = [];
      z.tree.select(start);
      const c = new Cursor(z.tree.hitLeaf, z.tree.hitIdx);
      for (let k = 0; k < n; k++, c.next()) gone.push(c.member);
      z.removeRange(start, n);
      for (const g of gone) model.delete(g);
    }
    if (z.size !== model.size) bad++;
    if (op % 10_000 === 0 && z.members !== null) {
      // every position's name is the tree's member with that score
      const d = z.members;
      if (d.count !== z.size || d.names.length !== z.size) bad++;
      for (let p = 0; p < d.count; p++) {
        const name = d.names[p]!;
        if (d.findString(name) !== p || d.scores[p] !== model.get(name)) bad++;
        const b = Buffer.from(name, 'latin1');
        if (d.find(b, 0, b.length) !== p) bad++;
      }
      // every name of the index is a member of the tree
      const held = new Set<string>();
      for (let leaf: typeof z.tree.first | null = z.tree.first; leaf !== null; leaf = leaf.next) for (const m of leaf.m) held.add(m);
      for (let p = 0; p < d.count; p++) if (!held.has(d.names[p]!)) bad++;
    }
  }
  t.equal(bad, 0, 'scores, sizes and names agree with the model');
  t.ok(z.members !== null, 'large enough for a member table');
  const inv = invariants(z.tree);
  t.ok(inv.ok, inv.why || 'tree invariants hold');
  const want = [...model].map(([m, s]): Pair => [s, m]).sort((a, b) => (before(a[0], a[1], b[0], b[1]) ? -1 : 1));
  t.same(inv.pairs, want, 'the tree holds the model in order');
  const e = zsetType.toEntries(z);
  t.same(zsetType.toEntries(zsetType.fromEntries(e)), e, 'dump round trip');
});
