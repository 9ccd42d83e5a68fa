// Wire-level behaviour: malformed RESP gets `-ERR Protocol error: ...` and the
// connection closes while other connections keep working; inline commands; command
// errors (arity, unknown command, non-integer); bulk lengths over proto-max-bulk-len.

import t from 'tap';
import { useTarget } from '../helpers/cluster.js';
import { RespClient, encodeCommand, err, expectReplies, rawSend, sleep } from '../helpers/run.js';

const { target, run } = await useTarget(t);
const port = target.port;

const NOT_INT = err('ERR value is not an integer or out of range');
const arity = (cmd: string) => err(`ERR wrong number of arguments for '${cmd}' command`);

t.test('malformed RESP closes only that connection', async (t) => {
  const cases: [string, string][] = [
    ['*abc\r\n', '-ERR Protocol error: invalid multibulk length\r\n'],
    ['*3000000000\r\n', '-ERR Protocol error: invalid multibulk length\r\n'],
    ['*1\r\nfoo\r\n', "-ERR Protocol error: expected '$', got 'f'\r\n"],
    ['*1\r\n$abc\r\n', '-ERR Protocol error: invalid bulk length\r\n'],
    ['*1\r\n$-1\r\n', '-ERR Protocol error: invalid bulk length\r\n'],
    ['*1\r\n$600000000\r\n', '-ERR Protocol error: invalid bulk length\r\n'],
    ['SET "a\r\n', '-ERR Protocol error: unbalanced quotes in request\r\n'],
    ["GET 'k\r\n", '-ERR Protocol error: unbalanced quotes in request\r\n'],
    ['x'.repeat(70_000), '-ERR Protocol error: too big inline request\r\n'],
    // Replies to the good commands before the bad one still arrive, in order.
    ['*1\r\n$4\r\nPING\r\n*x\r\n', '+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n'],
    ['*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n*1\r\n$3000000000\r\n', '$2\r\nhi\r\n-ERR Protocol error: invalid bulk length\r\n'],
  ];
  const survivor = await RespClient.connect(port);
  t.teardown(() => survivor.close());
  for (const [bytes, reply] of cases) {
    const r = await rawSend(port, bytes);
    const label = JSON.stringify(bytes.length > 40 ? `${bytes.slice(0, 40)}…` : bytes);
    t.equal(r.data.toString(), reply, `${label} reply`);
    t.equal(r.closed, true, `${label} closes the connection`);
    t.equal(await survivor.run(['PING']), 'PONG', `${label}: another connection still works`);
  }
});

t.test('inline commands and empty requests', async (t) => {
  const cases: [string, string][] = [
    ['PING\r\n', '+PONG\r\n'],
    ['PING\n', '+PONG\r\n'],
    ['\r\n\r\nPING\r\n', '+PONG\r\n'],
    ['*-1\r\n*0\r\n*1\r\n$4\r\nPING\r\n', '+PONG\r\n'],
    ['set inline:k "a b"\r\nget inline:k\r\n', '+OK\r\n$3\r\na b\r\n'],
    ['echo "\\x41\\n"\r\n', '$2\r\nA\n\r\n'],
    ["echo 'it''s'\r\n", '-ERR Protocol error: unbalanced quotes in request\r\n'],
  ];
  for (const [bytes, reply] of cases) {
    const r = await rawSend(port, bytes, { quietMs: 200 });
    t.equal(r.data.toString(), reply, JSON.stringify(bytes));
  }
  // A stray non-array, non-inline type byte is just an inline command named like it.
  const r = await rawSend(port, ':1\r\n', { quietMs: 200 });
  t.equal(r.data.toString(), "-ERR unknown command ':1', with args beginning with: \r\n");
  t.equal(r.closed, false);
});

t.test('requests split at every byte', async (t) => {
  const c = await RespClient.connect(port);
  t.teardown(() => c.close());
  const bytes = Buffer.concat([
    encodeCommand(['SET', 'split:k', 'va\r\nlue']),
    encodeCommand(['GET', 'split:k']),
    encodeCommand(['PING']),
  ]);
  const replies = [c.nextRaw(5000), c.nextRaw(5000), c.nextRaw(5000)];
  for (const b of bytes) {
    c.write(Buffer.from([b]));
    await sleep(1);
  }
  const got = await Promise.all(replies);
  t.same(got.map((b) => b.toString()), ['+OK\r\n', '$7\r\nva\r\nlue\r\n', '+PONG\r\n']);
});

t.test('10,000 pipelined commands in one write', async (t) => {
  const n = 10_000;
  const one = encodeCommand(['PING']);
  const r = await rawSend(port, Buffer.concat(Array.from({ length: n }, () => one)), { quietMs: 500, timeoutMs: 15_000 });
  t.equal(r.data.length, n * 7, 'every PONG arrived');
  t.equal(r.data.toString(), '+PONG\r\n'.repeat(n));
});

t.test('wrong arity, unknown command, non-integer', async (t) => {
  await expectReplies(t, run, [
    [['GET'], arity('get')],
    [['GET', 'a', 'b'], arity('get')],
    [['SET', 'k'], arity('set')],
    [['get'], arity('get')],
    [['MGET'], arity('mget')],
    [['EXPIRE', 'k'], arity('expire')],
    [['foo', 'a', 'b'], err("ERR unknown command 'foo', with args beginning with: 'a' 'b' ")],
    [['foo'], err("ERR unknown command 'foo', with args beginning with: ")],
    [['FOO', 'a', 'b', 'c', 'd'], err("ERR unknown command 'FOO', with args beginning with: 'a' 'b' 'c' 'd' ")],
    [['foo', 'x'.repeat(200)], err(`ERR unknown command 'foo', with args beginning with: '${'x'.repeat(128)}' `)],
    [
      ['foo', 'x'.repeat(100), 'y'.repeat(100)],
      err(`ERR unknown command 'foo', with args beginning with: '${'x'.repeat(100)}' '${'y'.repeat(25)}' `),
    ],
    [['x'.repeat(150), 'b'], err(`ERR unknown command '${'x'.repeat(128)}', with args beginning with: 'b' `)],
    // CR and LF can never appear inside an error line; Redis turns them into spaces.
    [['foo', 'a\r\nb'], err("ERR unknown command 'foo', with args beginning with: 'a  b' ")],
    [['f\noo', 'a'], err("ERR unknown command 'f oo', with args beginning with: 'a' ")],
    [['EXPIRE', 'k', 'abc'], NOT_INT],
    [['INCRBY', 'k', '1x'], NOT_INT],
    [['SETEX', 'k', '', 'v'], NOT_INT],
    [['GETRANGE', 'k', '0', '99999999999999999999'], NOT_INT],
    [['PING'], 'PONG'],
  ]);
});

t.test('bulk over proto-max-bulk-len', async (t) => {
  t.teardown(() => run(['CONFIG', 'SET', 'proto-max-bulk-len', '512mb']));
  await expectReplies(t, run, [
    [
      ['CONFIG', 'SET', 'proto-max-bulk-len', '1000'],
      err("ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be between 1048576 and 9223372036854775807 inclusive"),
    ],
    [['CONFIG', 'SET', 'proto-max-bulk-len', '1mb'], 'OK'],
    [['CONFIG', 'GET', 'proto-max-bulk-len'], ['proto-max-bulk-len', '1048576']],
    [['SET', 'big', 'x'.repeat(1024 * 1024)], 'OK'],
    [['STRLEN', 'big'], 1024 * 1024],
    [['SETRANGE', 'sr', '1048576', 'a'], err('ERR string exceeds maximum allowed size (proto-max-bulk-len)')],
    [['SETRANGE', 'sr', '1048575', 'a'], 1048576],
    [['SET', 'ap', 'x'.repeat(1048570)], 'OK'],
    [['APPEND', 'ap', '0123456789'], err('ERR string exceeds maximum allowed size (proto-max-bulk-len)')],
    [['STRLEN', 'ap'], 1048570],
  ]);
  for (const header of ['*2\r\n$3\r\nSET\r\n$2097152\r\n', '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048577\r\n']) {
    const r = await rawSend(port, header);
    t.equal(r.data.toString(), '-ERR Protocol error: invalid bulk length\r\n', `${JSON.stringify(header)} reply`);
    t.equal(r.closed, true, 'connection closed');
  }
  // A 2 MB bulk body actually sent: refused at the header, the server survives. The
  // server closes with unread bytes pending, so a TCP reset may swallow the error line.
  const body = Buffer.concat([Buffer.from('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2097152\r\n'), Buffer.alloc(2 * 1024 * 1024, 'y'), Buffer.from('\r\n')]);
  const r = await rawSend(port, body);
  t.ok(['', '-ERR Protocol error: invalid bulk length\r\n'].includes(r.data.toString()), `2 MB body reply: ${JSON.stringify(r.data.toString().slice(0, 80))}`);
  t.equal(r.closed, true, '2 MB body: connection closed');
  t.equal(await run(['PING']), 'PONG', 'server survives');
  t.equal(await run(['EXISTS', 'k']), 0, 'nothing was stored');
  t.equal(await run(['CONFIG', 'SET', 'proto-max-bulk-len', '512mb']), 'OK');
  t.equal(await run(['STRLEN', 'big']), 1024 * 1024);
});
