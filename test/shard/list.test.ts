// ListValue (shard/types/list.ts) on its own: the ring buffer against a JS array
// model (wrap-around, growth, shrinking, insert from either side, LREM compaction,
// trims), the incremental accounting against a full recount, and fitsPacked under
// list-max-listpack-size.
import t from 'tap';
import { ListValue, listType } from '../../shard/types/list.js';
import { packedLength, stringBytes } from '../../shard/types/packed.js';
import type { ShoalConfig } from '../../shared/config/schema.js';

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function contents(l: ListValue): string[] {
  const out: string[] = [];
  for (let i = 0; i < l.size; i++) out.push(l.at(i));
  return out;
}

const cfg = (fill: number): ShoalConfig => ({ listMaxListpackSize: fill }) as ShoalConfig;

t.test('ring buffer against an array model', async (t) => {
  const rnd = prng(12345);
  const int = (n: number): number => Math.floor(rnd() * n);
  let l = new ListValue();
  let m: string[] = [];
  let failures = 0;
  for (let step = 0; step < 200_000 && failures === 0; step++) {
    const grow = Math.floor(step / 5000) % 2 === 0;
    const r = rnd();
    const v = rnd() < 0.05 ? 'x'.repeat(int(300)) : `v${int(10)}`;
    if (r < (grow ? 0.3 : 0.15)) {
      l.pushHead(v);
      m.unshift(v);
    } else if (r < (grow ? 0.6 : 0.3)) {
      l.pushTail(v);
      m.push(v);
    } else if (r < 0.5) {
      if (m.length > 0) {
        const head = rnd() < 0.5;
        if (l.pop(head) !== (head ? m.shift() : m.pop())) failures++;
      }
    } else if (r < 0.55) {
      const i = int(m.length + 1);
      l.insertAt(i, v);
      m.splice(i, 0, v);
    } else if (r < 0.6) {
      if (m.length > 0) {
        const i = int(m.length);
        l.setAt(i, v);
        m[i] = v;
      }
    } else if (r < 0.64) {
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
      if (l.removeEqual(v, limit, fromTail) !== removed) failures++;
      m = want;
    } else if (r < (grow ? 0.65 : 0.7)) {
      const front = int(Math.min(m.length, 20) + 1);
      const back = int(Math.min(m.length - front, 20) + 1);
      l.trim(front, back);
      m = m.slice(front, m.length - back);
    } else if (r < 0.72) {
      // a packed round trip: decode what toArray gives
      l = listType.fromEntries([...listType.toEntries(l)]);
    } else {
      const i = int(m.length + 1);
      if (m.length > 0 && l.indexOf(m[Math.min(i, m.length - 1)]!) !== m.indexOf(m[Math.min(i, m.length - 1)]!)) failures++;
    }
    if (step % 997 === 0 || failures > 0) {
      if (JSON.stringify(contents(l)) !== JSON.stringify(m)) failures++;
      if (l.size !== m.length) failures++;
      const strBytes = m.reduce((n, e) => n + stringBytes(e.length), 0);
      // bytes = fixed overhead + 8 per slot + strings: the strings part must match a recount
      if ((l.bytes - strBytes) % 8 !== 0 || l.bytes - strBytes < 8 * m.length) failures++;
      if (l.packedBytes !== packedLength(m)) failures++;
      if (failures > 0) t.fail(`step ${step}: list ${JSON.stringify(contents(l).slice(0, 10))} model ${JSON.stringify(m.slice(0, 10))}`);
    }
  }
  t.equal(failures, 0, 'ring matches the model over 200,000 operations');
});

t.test('capacity doubles and halves', async (t) => {
  const l = new ListValue();
  const empty = l.bytes;
  for (let i = 0; i < 100_000; i++) l.pushTail('a');
  const full = l.bytes;
  t.ok(full >= empty + 100_000 * (8 + stringBytes(1)), `bytes of 100k elements: ${full}`);
  t.ok(full <= empty + 100_000 * (16 + stringBytes(1)) + 1024, 'at most twice the slots');
  for (let i = 0; i < 99_990; i++) l.popHead();
  t.equal(l.size, 10);
  t.ok(l.bytes < 1024, `shrunk back: ${l.bytes}`);
  t.same(contents(l), Array(10).fill('a'));
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
  t.equal(listType.encodingName(of(1, 1), true), 'quicklist');
  t.equal(listType.encodingName(of(1, 1), false), 'quicklist');
});
