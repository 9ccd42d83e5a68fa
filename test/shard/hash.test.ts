// The hash type's data structures on their own: HashTable (the heap form) against a
// Map model under heavy churn (moves, compaction, resizes), HSCAN's guarantee while
// the table is rewritten between calls, random picks; PackedHash edits against the
// reference codec of shard/types/packed.ts; HashValue's conversion rules.

import t from 'tap';
import { HashTable, HashValue, PackedHash, hashType } from '../../shard/types/hash.js';
import { encodePacked, readPacked } from '../../shard/types/packed.js';
import { parseScanCursor } from '../../shard/commands/hashes.js';
import type { ShoalConfig } from '../../shared/config/schema.js';
import { rng } from '../helpers/random.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

/** Every live entry of a table, as field → value. */
function contents(tb: HashTable): Map<string, string> {
  const m = new Map<string, string>();
  for (let off = tb.nextEntry(0); off >= 0; off = tb.nextEntry(tb.after)) {
    const f = tb.data.toString('latin1', tb.fAt, tb.fAt + tb.fLen);
    if (m.has(f)) throw new Error(`field ${f} twice`);
    m.set(f, tb.data.toString('latin1', tb.vAt, tb.vAt + tb.vLen));
  }
  return m;
}

t.test('HashTable matches a Map through 200k random operations', async (t) => {
  const rnd = rng(7);
  const int = (n: number) => Math.floor(rnd() * n);
  const tb = new HashTable();
  const model = new Map<string, string>();
  let moves = 0;
  let shrinks = 0;
  let lastDataLen = tb.data.length;
  for (let i = 0; i < 200_000; i++) {
    // Phases of growth and shrinkage so the table resizes and compacts both ways.
    const phase = Math.floor(i / 25_000) % 2;
    const f = `field-${int(phase === 0 ? 20_000 : 30_000)}`;
    const r = rnd();
    if (r < (phase === 0 ? 0.6 : 0.25)) {
      const v = rnd() < 0.05 ? 'L'.repeat(100 + int(300)) : `v${int(10 ** (1 + int(6)))}`;
      const old = model.get(f);
      if (old !== undefined && old.length !== v.length) moves++;
      if (tb.set(b(f), b(v)) !== (old === undefined)) t.fail(`set ${f}: new flag wrong`);
      model.set(f, v);
    } else if (r < 0.8) {
      if (tb.delete(b(f)) !== model.delete(f)) t.fail(`delete ${f}: flag wrong`);
    } else {
      const off = tb.find(b(f));
      const want = model.get(f);
      if ((off >= 0) !== (want !== undefined)) t.fail(`find ${f}`);
      else if (want !== undefined && tb.data.toString('latin1', tb.vAt, tb.vAt + tb.vLen) !== want) t.fail(`value of ${f}`);
    }
    if (tb.data.length < lastDataLen) shrinks++;
    lastDataLen = tb.data.length;
    if (tb.count !== model.size) {
      t.fail(`count ${tb.count} != ${model.size} at op ${i}`);
      break;
    }
    if (i % 20_000 === 0 && model.size > 0) {
      t.same(contents(tb), model, `contents at op ${i}`);
      for (let k = 0; k < 100; k++) {
        tb.randomEntry();
        const rf = tb.data.toString('latin1', tb.fAt, tb.fAt + tb.fLen);
        if (!model.has(rf)) t.fail(`random field ${rf} is not live`);
      }
    }
  }
  t.same(contents(tb), model, 'final contents');
  t.ok(moves > 1000, `${moves} values changed length (entry moved)`);
  t.ok(shrinks > 0, `data was compacted smaller ${shrinks} times`);
  // Empty it: bytes fall back near the minimum.
  for (const f of [...model.keys()]) tb.delete(b(f));
  t.equal(tb.count, 0);
  t.ok(tb.bytes < 64 * 1024, `an emptied table shrinks (${tb.bytes} bytes)`);
});

t.test('HashTable accounting is what it holds', async (t) => {
  const tb = new HashTable();
  for (let i = 0; i < 100_000; i++) tb.set(b(`field:${i}`), b(`value:${i}`));
  // 4 + 1 + ~11 + 1 + ~11 bytes per entry, plus slots at load <= 0.7.
  t.ok(tb.bytes > 100_000 * 28, `bytes ${tb.bytes} cover the entries`);
  t.ok(tb.bytes < 100_000 * 28 * 2 + 100_000 * 4 / 0.35, `bytes ${tb.bytes} stay near them`);
});

t.test('HSCAN over a HashTable misses nothing present throughout, across moves, compactions, resizes', async (t) => {
  for (const seed of [1, 2, 3]) {
    const rnd = rng(seed);
    const int = (n: number) => Math.floor(rnd() * n);
    const tb = new HashTable();
    const N = 5000;
    for (let i = 0; i < N; i++) tb.set(b(`f${i}`), b(`v${i}`));
    const removed = new Set<string>();
    const seen = new Map<string, number>();
    let cursor = 0;
    let calls = 0;
    let added = 0;
    let dataSwaps = 0;
    do {
      const before = tb.data;
      cursor = tb.scan(cursor, 1 + int(20), () => {
        const f = tb.data.toString('latin1', tb.fAt, tb.fAt + tb.fLen);
        seen.set(f, (seen.get(f) ?? 0) + 1);
      });
      calls++;
      // Writes between calls: inserts, deletes (mostly of new fields), value changes that move entries.
      for (let k = 0; k < 40; k++) {
        const r = rnd();
        if (r < 0.4) tb.set(b(`new${added++}`), b('x'));
        else if (r < 0.7) {
          const victim = rnd() < 0.9 ? `new${int(added + 1)}` : `f${int(N)}`;
          if (tb.delete(b(victim)) && victim.startsWith('f')) removed.add(victim);
        } else tb.set(b(`f${int(N)}`), b('y'.repeat(1 + int(30))));
      }
      if (tb.data !== before && tb.data.length <= before.length) dataSwaps++;
    } while (cursor !== 0 && calls < 100_000);
    t.equal(cursor, 0, `seed ${seed}: scan ends after ${calls} calls`);
    const missed: string[] = [];
    for (let i = 0; i < N; i++) if (!removed.has(`f${i}`) && !seen.has(`f${i}`)) missed.push(`f${i}`);
    t.same(missed, [], `seed ${seed}: nothing present throughout was missed`);
    t.ok(dataSwaps > 0, `seed ${seed}: data was compacted ${dataSwaps} times mid-scan`);
  }
});

t.test('HSCAN cursors are plain numbers: the same cursor gives the same fields', async (t) => {
  const tb = new HashTable();
  for (let i = 0; i < 1000; i++) tb.set(b(`f${i}`), b('v'));
  const collect = (cursor: number, count: number): [number, string[]] => {
    const got: string[] = [];
    const next = tb.scan(cursor, count, () => got.push(tb.data.toString('latin1', tb.fAt, tb.fAt + tb.fLen)));
    return [next, got];
  };
  const [c1, first] = collect(0, 10);
  t.not(c1, 0);
  t.ok(first.length >= 10, 'at least COUNT fields (whole buckets)');
  t.same(collect(0, 10), [c1, first], 'a cursor can be replayed');
  const [c2, second] = collect(c1, 10);
  t.same(collect(c1, 10), [c2, second]);
  t.same(second.filter((f) => first.includes(f)), [], 'consecutive calls do not repeat fields');
  const [end, all] = collect(0, 5000);
  t.equal(end, 0, 'COUNT past the size completes the scan in one call');
  t.equal(new Set(all).size, 1000);
  t.equal(collect(2 ** 64 - 1, 10)[0], 0, 'a cursor beyond 32 bits is at the end');
});

t.test('HSCAN terminates while fields keep moving and growing', async (t) => {
  const rnd = rng(5);
  const int = (n: number) => Math.floor(rnd() * n);
  const tb = new HashTable();
  const N = 5000;
  for (let i = 0; i < N; i++) tb.set(b(`f${i}`), b(`v${i}`));
  const seen = new Set<string>();
  let cursor = 0;
  let calls = 0;
  do {
    cursor = tb.scan(cursor, 10, () => seen.add(tb.data.toString('latin1', tb.fAt, tb.fAt + tb.fLen)));
    calls++;
    // 100 value changes of a different length per call: every one moves an entry in `data`.
    for (let k = 0; k < 100; k++) tb.set(b(`f${int(N)}`), b('y'.repeat(1 + int(40))));
  } while (cursor !== 0 && calls < 100_000);
  t.equal(cursor, 0, `ends after ${calls} calls`);
  t.equal(seen.size, N, 'and saw every field');
  // Shrinking between calls (the table halves, more than once).
  let c = 0;
  const got = new Set<string>();
  let k = 0;
  do {
    c = tb.scan(c, 20, () => got.add(tb.data.toString('latin1', tb.fAt, tb.fAt + tb.fLen)));
    // 200 deletes per call: all 4,800 land within the first 24 calls, well before a scan
    // of the shrinking table can end (with 60 per call a scan that ended after 79 calls,
    // which the per-process hash key allows, left deletes undone).
    for (let j = 0; j < 200 && k < N - 200; j++, k++) tb.delete(b(`f${k}`));
  } while (c !== 0);
  for (let i = N - 200; i < N; i++) if (!got.has(`f${i}`)) t.fail(`f${i} missed while the table shrank`);
  t.equal(tb.count, 200, 'every delete happened while the scan ran');
});

t.test('random picks are spread over every field', async (t) => {
  const tb = new HashTable();
  for (let i = 0; i < 200; i++) tb.set(b(`f${i}`), b('v'));
  for (let i = 0; i < 100; i++) tb.delete(b(`f${i * 2}`));
  const hits = new Map<string, number>();
  for (let i = 0; i < 100_000; i++) {
    tb.randomEntry();
    const f = tb.data.toString('latin1', tb.fAt, tb.fAt + tb.fLen);
    hits.set(f, (hits.get(f) ?? 0) + 1);
  }
  t.equal(hits.size, 100, 'only live fields, all of them');
  const counts = [...hits.values()];
  t.ok(Math.min(...counts) > 800 && Math.max(...counts) < 1200, `about 1000 each: ${Math.min(...counts)}..${Math.max(...counts)}`);
});

t.test('PackedHash edits produce the reference encoding', async (t) => {
  const rnd = rng(11);
  const int = (n: number) => Math.floor(rnd() * n);
  const ph = new PackedHash();
  let entries: string[] = [];
  const page = Buffer.alloc(1 << 20);
  for (let round = 0; round < 3000; round++) {
    // The packed value sits at an offset inside a larger buffer, as in an arena page.
    const at = 8 + int(100);
    const packedNow = encodePacked(entries);
    packedNow.copy(page, at);
    if (entries.length === 0 && rnd() < 0.5) ph.openEmpty();
    else ph.open(page, at);
    ph.index();
    ph.beginEdit();
    const model = entries.slice();
    const edits = 1 + int(4);
    for (let e = 0; e < edits; e++) {
      const f = `k${int(12)}`;
      if (rnd() < 0.65) {
        const v = rnd() < 0.1 ? 'x'.repeat(120 + int(200)) : `v${int(1000)}`;
        const i = model.findIndex((x, j) => j % 2 === 0 && x === f);
        if (i >= 0) model[i + 1] = v;
        else model.push(f, v);
        const isNew = ph.set(b(f), rnd() < 0.5 ? v : b(v));
        if (isNew !== (i < 0)) t.fail(`round ${round}: set ${f} new=${isNew}`);
      } else {
        const i = model.findIndex((x, j) => j % 2 === 0 && x === f);
        if (i >= 0) model.splice(i, 2);
        if (ph.remove(b(f)) !== (i >= 0)) t.fail(`round ${round}: remove ${f}`);
      }
    }
    if (ph.editedPairs !== model.length / 2) t.fail(`round ${round}: editedPairs ${ph.editedPairs}`);
    const enc = ph.encode();
    if (!enc.equals(encodePacked(model))) {
      t.fail(`round ${round}: encoding differs: ${JSON.stringify(readPacked(enc, 0, enc.length))} vs ${JSON.stringify(model)}`);
      break;
    }
    entries = model;
  }
  // Reads in place.
  const value = encodePacked(['a', '1', 'long', 'z'.repeat(300), 'b', '']);
  ph.open(value, 0);
  t.equal(ph.pairs, 3);
  t.ok(ph.seek(b('long')));
  t.equal(ph.len, 300);
  ph.open(value, 0);
  t.ok(ph.seek(b('b')));
  t.equal(ph.len, 0);
  ph.open(value, 0);
  t.notOk(ph.seek(b('c')));
  ph.open(value, 0);
  ph.index();
  t.equal(ph.find(b('a')), 0);
  t.equal(ph.find(b('b')), 2);
  t.equal(ph.find(b('x')), -1);
});

const config = (entries: number, value: number) => ({ hashMaxListpackEntries: entries, hashMaxListpackValue: value }) as ShoalConfig;

t.test('HashValue: conversion rules and the framework contract', async (t) => {
  const h = new HashValue();
  const cfg = config(4, 8);
  t.ok(h.setChecked('a', '1', cfg));
  t.notOk(h.setChecked('a', '2', cfg));
  h.setChecked('b', '2', cfg);
  h.setChecked('c', '3', cfg);
  h.setChecked('d', '4', cfg);
  t.ok(h.isPacked, '4 fields fit');
  t.ok(hashType.fitsPacked(h, cfg));
  t.equal(hashType.encodingName(h, true), 'listpack');
  h.setChecked('e', '5', cfg);
  t.notOk(h.isPacked, 'the 5th converts');
  t.notOk(hashType.fitsPacked(h, cfg));
  t.equal(hashType.encodingName(h, false), 'hashtable');
  t.same(h.toEntries(), ['a', '2', 'b', '2', 'c', '3', 'd', '4', 'e', '5'], 'the table keeps listpack order');
  t.equal(h.get('c'), '3');
  t.ok(h.delete('c'));
  t.equal(h.get('c'), undefined);
  t.equal(h.size, 4);
  t.equal(h.bytes, h.table!.bytes, 'a heap hash costs its table');

  const long = new HashValue();
  long.setChecked('k', 'x'.repeat(9), cfg);
  t.notOk(long.isPacked, 'a long value converts');

  // A dump (RENAME/COPY) is judged in full; a packed object a command changed is not.
  const restored = hashType.fromEntries(['a', '1', 'b', 'x'.repeat(20)]);
  t.notOk(hashType.fitsPacked(restored, cfg), 'a restored hash over the limits goes to the heap');
  t.notOk(restored.isPacked);
  t.same(restored.toEntries(), ['a', '1', 'b', 'x'.repeat(20)]);
  const judged = hashType.fromEntries(['a', '1', 'b', 'x'.repeat(20)]);
  judged.delete('a');
  t.ok(hashType.fitsPacked(judged, cfg), 'HDEL on a packed hash over lowered limits keeps it packed');
  const fits = hashType.fromEntries(['a', '1']);
  t.ok(hashType.fitsPacked(fits, cfg));
});

t.test('parseScanCursor follows strtoul as Redis uses it', async (t) => {
  const cases: Array<[string, number | null]> = [
    ['0', 0], ['', 0], ['17', 17], ['+5', 5], ['-0', 0], ['-1', 18446744073709551615], ['18446744073709551615', 18446744073709551615],
    ['18446744073709551616', null], [' 1', null], ['1 ', null], ['x', null], ['-', null], ['+', null], ['0x10', null], ['1e3', null],
  ];
  for (const [s, want] of cases) t.equal(parseScanCursor(b(s)), want, JSON.stringify(s));
});
