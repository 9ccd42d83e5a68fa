// Unit tests of the probabilistic structures' building blocks: MurmurHash64A on 32-bit
// halves (vectors from the reference C implementation), the HLL register codec and
// sparse editor edge cases, and RedisBloom's layer sizing (numbers from RedisBloom's
// own BF.DEBUG expectations).
import t from 'tap';
import {
  HLL_DENSE_SIZE, HLL_EMPTY_SIZE, HLL_HDR_SIZE, HLL_REGISTERS, SPARSE_CORRUPT, SPARSE_PROMOTE, SparseEditor, denseGet, denseSet,
  hllCount, hllCountRaw, murmurHash64A, murmurOut, sparseToDense, writeEmptyHll,
} from '../../shard/types/hyperloglog.js';
import { BLOOM_HDR, LAYER_HDR, appendLayer, filterHas, filterAddLast, filterSize, firstLayer, hashItem, initFilter, isFilter, layerParams, nextLayer } from '../../shard/types/bloom.js';

function hex(): string {
  return murmurOut[1]!.toString(16).padStart(8, '0') + murmurOut[0]!.toString(16).padStart(8, '0');
}

t.test('MurmurHash64A matches the C reference', async (t) => {
  const vectors: [string, string, string][] = [
    ['', 'd8dfea6585bc9732', '1ab11ea5a7b2c56e'],
    ['a', '53d2470a9b43b1a7', '4292cee227b9150a'],
    ['hello', '0f656f01eecfe400', '5ba5b8a59803e699'],
    ['12345678', '95ebb86389132953', '700bea34339441c4'],
    ['123456789abcdef', '0a295e5895af07b9', '9991a1a11e76b0ef'],
    ['The quick brown fox jumps over the lazy dog', '51606c5c5b561ace', 'c7a616a28f4a74d6'],
  ];
  for (const [input, hll, bloom] of vectors) {
    const b = Buffer.from(input);
    murmurHash64A(b, 0, b.length, 0, 0xadc83b19);
    t.equal(hex(), hll, `seed 0xadc83b19: "${input}"`);
    murmurHash64A(b, 0, b.length, 0xc6a4a793, 0x5bd1e995);
    t.equal(hex(), bloom, `seed 0xc6a4a7935bd1e995: "${input}"`);
    // The same bytes at an offset inside a larger buffer.
    const padded = Buffer.concat([Buffer.from('xyz'), b, Buffer.from('!')]);
    murmurHash64A(padded, 3, b.length, 0, 0xadc83b19);
    t.equal(hex(), hll, 'at an offset');
  }
});

t.test('dense registers: every register round-trips, the last writes nothing past the area', async (t) => {
  const buf = Buffer.alloc(HLL_DENSE_SIZE + 1, 0);
  buf[HLL_DENSE_SIZE] = 0xaa;
  for (let i = 0; i < HLL_REGISTERS; i++) denseSet(buf, HLL_HDR_SIZE, i, (i * 7) % 64);
  let ok = true;
  for (let i = 0; i < HLL_REGISTERS; i++) if (denseGet(buf, HLL_HDR_SIZE, i) !== (i * 7) % 64) ok = false;
  t.ok(ok, 'all 16384 registers read back');
  denseSet(buf, HLL_HDR_SIZE, HLL_REGISTERS - 1, 63);
  t.equal(buf[HLL_DENSE_SIZE], 0xaa, 'the byte after the registers is untouched');
  t.equal(denseGet(buf, HLL_HDR_SIZE, HLL_REGISTERS - 1), 63);
});

t.test('sparse editor', async (t) => {
  const ed = new SparseEditor();
  const empty = Buffer.alloc(HLL_EMPTY_SIZE);
  writeEmptyHll(empty, 0);
  t.same([...empty.subarray(16)], [0x7f, 0xff], 'a new HLL is one XZERO of 16384');
  ed.load(empty, 0, empty.length);
  t.equal(ed.set(0, 33, 3000), SPARSE_PROMOTE, 'a value over 32 needs the dense form');
  t.equal(ed.set(5, 3, 3000), 1);
  t.same([...ed.buf.subarray(16, ed.len)], [0x04, 0x88, 0x7f, 0xf9], 'ZERO 5, VAL 3, XZERO 16378');
  t.equal(ed.set(5, 2, 3000), 0, 'a smaller value changes nothing');
  t.equal(ed.set(6, 3, 3000), 1);
  t.same([...ed.buf.subarray(16, ed.len)], [0x04, 0x89, 0x7f, 0xf8], 'adjacent equal values merge into one VAL of 2');
  t.equal(ed.set(16383, 32, 3000), 1);
  t.equal(ed.set(100, 1, ed.len), SPARSE_PROMOTE, 'growing past max bytes promotes');
  const dense = Buffer.alloc(HLL_DENSE_SIZE);
  t.ok(sparseToDense(ed.buf, 0, ed.len, dense));
  t.equal(dense[4], 0);
  t.equal(denseGet(dense, HLL_HDR_SIZE, 5), 3);
  t.equal(denseGet(dense, HLL_HDR_SIZE, 6), 3);
  t.equal(denseGet(dense, HLL_HDR_SIZE, 16383), 32);
  t.equal(denseGet(dense, HLL_HDR_SIZE, 7), 0);
  t.equal(hllCount(ed.buf, 0, ed.len), hllCount(dense, 0, HLL_DENSE_SIZE), 'sparse and dense count alike');

  const short = Buffer.concat([empty.subarray(0, 16), Buffer.from([0x7f, 0xfe])]);
  ed.load(short, 0, short.length);
  t.equal(ed.set(16383, 1, 3000), SPARSE_CORRUPT, 'a register past the runs is corruption');
  t.equal(hllCount(short, 0, short.length), null);
  t.notOk(sparseToDense(short, 0, short.length, dense));
});

t.test('estimator edges', async (t) => {
  const regs = new Uint8Array(HLL_REGISTERS);
  t.equal(hllCountRaw(regs), 0, 'all zero registers: 0');
  regs[0] = 1;
  t.equal(hllCountRaw(regs), 1);
  regs.fill(40);
  t.equal(hllCountRaw(regs), 12994641697113596n, 'beyond 2^53: exact, as a bigint');
  regs.fill(51);
  t.equal(hllCountRaw(regs), -9223372036854775808n, 'beyond int64: LLONG_MIN, as llroundl gives Redis');
});

t.test('bloom layer sizing is RedisBloom\'s', async (t) => {
  // [capacity, error, bytes, hashes] from RedisBloom's BF.DEBUG expectations.
  const layers: [number, number, number, number][] = [
    [10, 0.005, 16, 8], [20, 0.0025, 32, 9], [40, 0.00125, 72, 10], [80, 0.000625, 160, 11],
    [100, 0.0005, 200, 11], [200, 0.00025, 432, 12], [400, 0.000125, 936, 13], [800, 6.25e-05, 2016, 14],
    [1600, 3.125e-05, 4320, 15], [3200, 1.5625e-05, 9216, 16], [50000, 0.0005, 98880, 11],
  ];
  for (const [cap, error, bytes, hashes] of layers) {
    const p = layerParams(cap, error);
    t.equal(p.bytes, bytes, `capacity ${cap} at ${error}: ${bytes} bytes`);
    t.equal(p.hashes, hashes, `capacity ${cap} at ${error}: ${hashes} hashes`);
  }
  // BF.INFO Size = 32 + 64 per layer + bit arrays: RedisBloom's test_issue178 (1.13 GB, over Shoal's cap).
  t.equal(32 + 64 + firstLayer(300_000_000, 0.000001, false).bytes, 1132420232);
  t.equal(firstLayer(100, 0.01, false).error, 0.005, 'a scaling filter starts at half the error');
  t.equal(firstLayer(100, 0.01, true).error, 0.01, 'a non-scaling one at the full error');
  t.equal(filterSize(firstLayer(100, 0.01, false)), BLOOM_HDR + LAYER_HDR + 144);
  t.equal(layerParams(100, 0.9999999999999999).bytes, 8, 'a filter has at least one 64-bit word');
});

t.test('bloom value layout: layers append, malformed values are refused', async (t) => {
  const first = firstLayer(4, 0.01, false);
  let buf = Buffer.alloc(filterSize(first));
  initFilter(buf, 0, first, 2, false);
  t.ok(isFilter(buf, 0, buf.length));
  for (const item of ['a', 'b', 'c', 'd']) {
    hashItem(Buffer.from(item));
    t.notOk(filterHas(buf, 0), `${item} not yet present`);
    t.equal(filterAddLast(buf, 0), 1);
    t.ok(filterHas(buf, 0), `${item} present`);
  }
  const next = nextLayer(buf, 0);
  t.equal(next.capacity, 8, 'capacity times expansion');
  t.equal(next.error, first.error / 2, 'half the error');
  const grown = Buffer.alloc(buf.length + LAYER_HDR + next.bytes);
  buf.copy(grown);
  appendLayer(grown, 0, buf.length, next);
  buf = grown;
  t.ok(isFilter(buf, 0, buf.length), 'two layers');
  for (const item of ['a', 'b', 'c', 'd']) {
    hashItem(Buffer.from(item));
    t.ok(filterHas(buf, 0), `${item} still present with two layers`);
  }
  t.notOk(isFilter(Buffer.from('garbage'), 0, 7), 'not a filter');
  t.notOk(isFilter(buf, 0, buf.length - 1), 'truncated');
  t.notOk(isFilter(Buffer.concat([buf, Buffer.alloc(1)]), 0, buf.length + 1), 'trailing bytes');
  t.notOk(isFilter(buf, 0, BLOOM_HDR), 'layers missing');
});
