// ListValue (shard/types/list.ts) on its own: the chunked list (quicklist of Buffer
// nodes) against a JS array model under several list-max-listpack-size fills
// (pushes and pops at both ends, LINSERT/LSET with node splits, LREM compaction,
// trims, seeks and walks both ways, entries whose lengths take 1-3 varint bytes),
// the structure and the O(1) byte accounting against a recount (audit), packed
// round trips, memory of a long list, and fitsPacked under list-max-listpack-size.
import t, { type Test } from 'tap';
import { ListValue, listType } from '../../shard/types/list.js';
import { packedLength, encodePacked, readPacked } from '../../shard/types/packed.js';
import type { ShoalConfig } from '../../shared/config/schema.js';
import { rng as prng } from '../helpers/random.js';


const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const cur = (l: ListValue): string => l.buf.toString('latin1', l.pos, l.pos + l.len);

/** The elements first to last by a seek and next(), and checked against a walk back with prev(). */
function contents(l: ListValue): string[] {
  const out: string[] = [];
  if (l.size === 0) return out;
  l.seek(0);
  out.push(cur(l));
  for (let i = 1; i < l.size; i++) {
    l.next();
    out.push(cur(l));
  }
  l.seek(l.size - 1);
  for (let i = l.size - 1; i >= 0; i--) {
    if (i < l.size - 1) l.prev();
    if (cur(l) !== out[i]) throw new Error(`prev() at ${i} read ${JSON.stringify(cur(l).slice(0, 20))}, next() ${JSON.stringify(out[i]!.slice(0, 20))}`);
  }
  return out;
}

const cfg = (fill: number): ShoalConfig => ({ listMaxListpackSize: fill }) as ShoalConfig;

function modelTest(fill: number, steps: number, seed: number): (t: Test) => Promise<void> {
  return async (t) => {
    const rnd = prng(seed);
    const int = (n: number): number => Math.floor(rnd() * n);
    const value = (): string => {
      const r = rnd();
      if (r < 0.02) return String.fromCharCode(int(256)).repeat([127, 128, 300, 16383, 16384, 20000][int(6)]!);
      if (r < 0.07) return 'x'.repeat(int(300));
      if (r < 0.1) return '';
      if (r < 0.12) return String.fromCharCode(0, 255, 128, 10, 13);
      return `v${int(10)}`;
    };
    let l = new ListValue([], fill);
    let m: string[] = [];
    let failures = 0;
    let maxNodes = 0;
    let maxSize = 0;
    const fail = (msg: string): void => {
      failures++;
      t.fail(msg);
    };
    for (let step = 0; step < steps && failures === 0; step++) {
      const grow = Math.floor(step / 3000) % 2 === 0;
      const r = rnd();
      const v = value();
      if (r < (grow ? 0.3 : 0.15)) {
        l.pushHead(b(v));
        m.unshift(v);
      } else if (r < (grow ? 0.6 : 0.3)) {
        l.pushTail(b(v));
        m.push(v);
      } else if (r < 0.5) {
        if (m.length > 0) {
          const head = rnd() < 0.5;
          l.pop(head);
          const want = head ? m.shift() : m.pop();
          if (cur(l) !== want) fail(`step ${step}: popped ${JSON.stringify(cur(l).slice(0, 20))}, model ${JSON.stringify(want!.slice(0, 20))}`);
        }
      } else if (r < 0.55) {
        const i = int(m.length + 1);
        l.insertAt(i, b(v));
        m.splice(i, 0, v);
      } else if (r < 0.6) {
        if (m.length > 0) {
          const i = int(m.length);
          l.setAt(i, b(v));
          m[i] = v;
        }
      } else if (r < 0.63) {
        const limit = int(4);
        const fromTail = rnd() < 0.5;
        let removed = 0;
        const want: string[] = [];
        if (!fromTail) {
          for (const e of m) {
            if (e === v && (limit === 0 || removed < limit)) removed++;
            else want.push(e);
          }
        } else {
          for (let i = m.length - 1; i >= 0; i--) {
            if (m[i] === v && (limit === 0 || removed < limit)) removed++;
            else want.unshift(m[i]!);
          }
        }
        const got = l.removeEqual(b(v), limit, fromTail);
        if (got !== removed) fail(`step ${step}: LREM removed ${got}, model ${removed}`);
        m = want;
      } else if (r < (grow ? 0.64 : 0.7)) {
        const front = int(Math.min(m.length, 40) + 1);
        const back = int(Math.min(m.length - front, 40) + 1);
        l.trim(front, back);
        m = m.slice(front, m.length - back);
      } else if (r < 0.71) {
        // a packed round trip, as a packed list is decoded for a command and written back
        const buf = Buffer.alloc(l.packedBytes + 7);
        l.writePacked(buf, 3);
        l = ListValue.fromPacked(buf, 3, 3 + l.packedBytes, fill);
      } else if (r < 0.72) {
        // a dump round trip (toEntries, then fromEntries's constructor, here with the fill)
        l = new ListValue(readPacked(encodePacked(listType.toEntries(l)), 0, packedLength(m)), fill);
      } else if (r < 0.8) {
        if (m.length > 0) {
          const i = int(m.length);
          if (l.at(i) !== m[i]) fail(`step ${step}: at(${i}) ${JSON.stringify(l.at(i).slice(0, 20))}, model ${JSON.stringify(m[i]!.slice(0, 20))}`);
        }
      } else {
        const from = int(m.length + 1);
        const want = m.indexOf(v, from);
        if (l.indexOf(b(v), from) !== want) fail(`step ${step}: indexOf from ${from} ${l.indexOf(b(v), from)}, model ${want}`);
      }
      maxNodes = Math.max(maxNodes, l.nodeCount);
      maxSize = Math.max(maxSize, l.size);
      if (step % 499 === 0 || failures > 0) {
        const fault = l.audit();
        if (fault !== null) fail(`step ${step}: ${fault}`);
        else if (JSON.stringify(contents(l)) !== JSON.stringify(m)) fail(`step ${step}: list ${JSON.stringify(contents(l).slice(0, 10))} model ${JSON.stringify(m.slice(0, 10))}`);
        if (l.size !== m.length) fail(`step ${step}: size ${l.size}, model ${m.length}`);
        if (l.packedBytes !== packedLength(m)) fail(`step ${step}: packedBytes ${l.packedBytes}, model ${packedLength(m)}`);
        if (fill >= 0 && l.nodeCount < Math.ceil(l.size / Math.max(fill, 1)) - 1) fail(`step ${step}: ${l.nodeCount} nodes hold ${l.size} entries under fill ${fill}`);
      }
    }
    t.equal(failures, 0, `chunked list matches the model over ${steps} operations (fill ${fill}; up to ${maxSize} entries, up to ${maxNodes} nodes)`);
    t.ok(maxNodes >= 8, 'the list spanned several nodes');
  };
}

t.test('chunked list against an array model, fill -2 (8 KiB nodes)', modelTest(-2, 60_000, 12345));
t.test('chunked list against an array model, fill -1 (4 KiB nodes)', modelTest(-1, 40_000, 777));
t.test('chunked list against an array model, fill 4 (4 entries a node)', modelTest(4, 40_000, 4242));
t.test('chunked list against an array model, fill 1 (one entry a node)', modelTest(1, 20_000, 99));

t.test('pushes and pops at both ends across many nodes', async (t) => {
  const l = new ListValue();
  const N = 50_000;
  for (let i = 0; i < N; i++) {
    l.pushTail(b(`t${i}`));
    l.pushHead(b(`h${i}`));
  }
  t.equal(l.size, 2 * N);
  t.equal(l.audit(), null);
  t.equal(l.at(0), `h${N - 1}`);
  t.equal(l.at(N - 1), 'h0');
  t.equal(l.at(N), 't0');
  t.equal(l.at(2 * N - 1), `t${N - 1}`);
  t.equal(l.at(N + 777), 't777');
  let ok = true;
  for (let i = N - 1; i >= 0 && ok; i--) {
    l.popHead();
    if (cur(l) !== `h${i}`) ok = false;
    l.popTail();
    if (cur(l) !== `t${i}`) ok = false;
  }
  t.ok(ok, 'popped in order from both ends');
  t.equal(l.size, 0);
  t.equal(l.nodeCount, 0);
  t.equal(l.audit(), null);
});

t.test('a long list is a few node Buffers, accounted exactly', async (t) => {
  const l = new ListValue();
  const empty = l.bytes;
  const N = 1_000_000;
  const x = b('xxx');
  for (let i = 0; i < N; i++) l.pushHead(x);
  t.equal(l.audit(), null, 'bytes match a recount of the Buffers');
  // 3-byte elements take 5 bytes a node entry (Redis's listpack: 5 too): ~612 nodes of 8 KiB.
  t.ok(l.nodeCount <= Math.ceil((N * 5) / 8192) + 1, `${l.nodeCount} nodes for ${N} entries`);
  t.ok(l.bytes <= empty + N * 5 * 1.05 + l.nodeCount * 256, `bytes of ${N} 3-byte elements: ${l.bytes}`);
  t.ok(l.bytes >= N * 5, 'at least the entry bytes');
  for (let i = 0; i < N - 10; i++) l.popTail();
  t.equal(l.size, 10);
  t.ok(l.bytes < 10 * 1024, `popped down: ${l.bytes} bytes`);
  t.same(contents(l), Array(10).fill('xxx'));
  t.equal(l.audit(), null);
});

t.test('LREM and LTRIM shrink the nodes they leave mostly empty', async (t) => {
  const l = new ListValue();
  for (let i = 0; i < 100_000; i++) l.pushTail(b(i % 1000 === 0 ? 'keep' : 'drop'));
  const before = l.bytes;
  t.equal(l.removeEqual(b('drop'), 0, false), 99_900);
  t.equal(l.size, 100);
  t.equal(l.audit(), null);
  t.ok(l.bytes < before / 10, `bytes ${before} -> ${l.bytes}`);
  t.same(contents(l), Array(100).fill('keep'));
  l.trim(10, 85);
  t.same(contents(l), Array(5).fill('keep'));
  t.equal(l.audit(), null);
});

t.test('inserts in the middle split full nodes', async (t) => {
  for (const fill of [-2, 3]) {
    const l = new ListValue([], fill);
    const m: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const v = `e${i}-${'y'.repeat(i % 50)}`;
      const at = Math.floor(m.length / 2);
      l.insertAt(at, b(v));
      m.splice(at, 0, v);
    }
    t.equal(l.audit(), null, `fill ${fill}`);
    t.same(contents(l), m);
    t.ok(l.nodeCount > 1, `${l.nodeCount} nodes`);
    if (fill > 0) t.ok(l.nodeCount >= Math.ceil(2000 / fill), 'count limit kept');
    for (let i = 0; i < m.length; i += 7) {
      const v = `set${i}-${'z'.repeat(i % 200)}`;
      l.setAt(i, b(v));
      m[i] = v;
    }
    t.equal(l.audit(), null);
    t.same(contents(l), m);
  }
});

t.test('fitsPacked follows list-max-listpack-size', async (t) => {
  const of = (n: number, len: number): ListValue => new ListValue(Array.from({ length: n }, () => 'x'.repeat(len)));
  t.ok(listType.fitsPacked(of(4, 10), cfg(4)), '4 entries fit fill 4');
  t.notOk(listType.fitsPacked(of(5, 10), cfg(4)), '5 entries do not fit fill 4');
  t.ok(listType.fitsPacked(of(1, 10), cfg(0)), 'fill 0 keeps one entry per node');
  t.notOk(listType.fitsPacked(of(2, 10), cfg(0)));
  t.notOk(listType.fitsPacked(of(3, 5000), cfg(100)), 'count fills still stop at 8 KiB');
  // -1 = 4 KiB, -2 = 8 KiB ... of packed bytes (4-byte header, 2-byte length prefix for 200-byte entries)
  const bytes = (n: number): number => 4 + n * 202;
  const fits4k = Math.floor((4096 - 4) / 202);
  t.ok(bytes(fits4k) <= 4096 && bytes(fits4k + 1) > 4096);
  t.ok(listType.fitsPacked(of(fits4k, 200), cfg(-1)));
  t.notOk(listType.fitsPacked(of(fits4k + 1, 200), cfg(-1)));
  t.ok(listType.fitsPacked(of(fits4k + 1, 200), cfg(-2)));
  t.ok(listType.fitsPacked(of(300, 200), cfg(-5)));
  t.notOk(listType.fitsPacked(of(400, 200), cfg(-5)));
  t.notOk(listType.fitsPacked(of(70_000, 0), cfg(-5)), 'more entries than any packed limit holds');
  t.equal(listType.encodingName(of(1, 1), true), 'quicklist');
  t.equal(listType.encodingName(of(1, 1), false), 'quicklist');
});
