// Internal frames: header round trip, resumable reading at every split point,
// and rejection of corrupt links.
import t from 'tap';
import { encodeFrame, FrameReader, FrameKind, FLAG_RESP3, FRAME_HEADER, FRAME_MAGIC } from '../../../shared/frame/codec.js';

const payloadA = Buffer.from('*2\r\n$3\r\nGET\r\n$1\r\na\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\nc\r\n');
const payloadB = Buffer.from('+OK\r\n');
const stream = Buffer.concat([
  encodeFrame(FrameKind.BATCH, FLAG_RESP3, 2, payloadA),
  encodeFrame(FrameKind.REPLIES, 0, 1, payloadB),
  encodeFrame(FrameKind.CONTROL, 0, 0, Buffer.alloc(0)),
]);

function readAll(chunks: Buffer[]) {
  const r = new FrameReader();
  const out: Array<{ kind: number; flags: number; count: number; payload: string }> = [];
  for (const c of chunks) {
    r.feed(c);
    let f;
    while ((f = r.next()) !== null) out.push({ kind: f.kind, flags: f.flags, count: f.count, payload: f.payload.toString('latin1') });
  }
  return out;
}

const expected = [
  { kind: FrameKind.BATCH, flags: FLAG_RESP3, count: 2, payload: payloadA.toString('latin1') },
  { kind: FrameKind.REPLIES, flags: 0, count: 1, payload: '+OK\r\n' },
  { kind: FrameKind.CONTROL, flags: 0, count: 0, payload: '' },
];

t.test('whole stream', async (t) => {
  t.same(readAll([stream]), expected);
});

t.test('byte by byte', async (t) => {
  const chunks: Buffer[] = [];
  for (let i = 0; i < stream.length; i++) chunks.push(stream.subarray(i, i + 1));
  t.same(readAll(chunks), expected);
});

t.test('every two-way split', async (t) => {
  for (let i = 1; i < stream.length; i++) {
    t.same(readAll([stream.subarray(0, i), stream.subarray(i)]), expected, `split at ${i}`);
  }
});

t.test('a frame that spans chunks is copied: later chunk reuse does not change it', async (t) => {
  const first = Buffer.from(stream.subarray(0, 20));
  const rest = Buffer.from(stream.subarray(20));
  const r = new FrameReader();
  r.feed(first);
  t.equal(r.next(), null);
  r.feed(rest);
  const f = r.next()!;
  first.fill(0);
  t.equal(f.payload.toString('latin1'), payloadA.toString('latin1'));
});

t.test('header layout', async (t) => {
  const f = encodeFrame(FrameKind.BATCH, 1, 7, Buffer.from('xyz'));
  t.equal(f.length, FRAME_HEADER + 3);
  t.equal(f[0], FRAME_MAGIC);
  t.equal(f[1], FrameKind.BATCH);
  t.equal(f.readUInt16LE(2), 1);
  t.equal(f.readUInt32LE(4), 7);
  t.equal(f.readUInt32LE(8), 3);
});

t.test('corrupt input is rejected with a stable code', async (t) => {
  const bad = Buffer.from(stream);
  bad[0] = 0x2a;
  const r = new FrameReader();
  r.feed(bad);
  t.throws(() => r.next(), { code: 'SHOAL_ERR_FRAME', message: /bad frame magic/ });
  const badKind = Buffer.from(stream);
  badKind[1] = 9;
  const r2 = new FrameReader();
  r2.feed(badKind);
  t.throws(() => r2.next(), { code: 'SHOAL_ERR_FRAME', message: /bad frame kind 9/ });
  const huge = Buffer.from(stream.subarray(0, FRAME_HEADER));
  huge.writeUInt32LE(0xffffffff, 8);
  const r3 = new FrameReader();
  r3.feed(huge);
  t.throws(() => r3.next(), { code: 'SHOAL_ERR_FRAME', message: /too large/ });
});
