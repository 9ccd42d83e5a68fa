/**
 * RespDecoder: every fixture decoded whole, byte by byte and at random split points
 * (fed one chunk at a time, and all chunks first then drained); protocol errors with
 * Redis 7's exact wording; view/copy ownership ("don't clobber").
 *
 * Expected behaviour was checked against redis-server 7.0.15 over raw sockets.
 */
import t from 'tap';
import fc from 'fast-check';
import { ProtocolError } from '../../../shared/errors.js';
import { RespDecoder, ProtocolMessages, parseLength, type DecoderLimits } from '../../../shared/resp/decoder.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const str = (argv: Buffer[]): string[] => argv.map((a) => a.toString('latin1'));

/** True when `arg` lies inside `chunk`'s memory (small Buffers share Node's pool, so compare ranges). */
function aliases(arg: Buffer, chunk: Buffer): boolean {
  return arg.buffer === chunk.buffer && arg.byteOffset >= chunk.byteOffset && arg.byteOffset + arg.length <= chunk.byteOffset + chunk.length;
}

/** Multibulk encoding of argv. */
function mb(...args: Array<string | Buffer>): Buffer {
  const parts: Buffer[] = [b(`*${args.length}\r\n`)];
  for (const a of args) {
    const v = typeof a === 'string' ? b(a) : a;
    parts.push(b(`$${v.length}\r\n`), v, b('\r\n'));
  }
  return Buffer.concat(parts);
}

interface Outcome {
  commands: string[][];
  error?: string;
}

interface DecodeOptions {
  limits?: Partial<DecoderLimits>;
  authRequired?: boolean;
  /** Feed every chunk before draining (exercises the chunk queue). */
  feedAllFirst?: boolean;
}

/** Decodes `input` cut at `cuts` (sorted offsets). Arguments are read as soon as returned. */
function decode(input: Buffer, cuts: number[], opts: DecodeOptions = {}): Outcome {
  const d = new RespDecoder(opts.limits);
  d.authRequired = opts.authRequired ?? false;
  const out: Outcome = { commands: [] };
  const chunks: Buffer[] = [];
  let from = 0;
  for (const c of [...cuts, input.length]) {
    if (c > from) chunks.push(input.subarray(from, c));
    from = Math.max(from, c);
  }
  const drain = (): void => {
    for (let argv = d.next(); argv !== null; argv = d.next()) out.commands.push(str(argv));
  };
  try {
    if (opts.feedAllFirst) {
      for (const c of chunks) d.feed(c);
      drain();
    } else {
      for (const c of chunks) {
        d.feed(c);
        drain();
      }
    }
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    out.error = err.message;
  }
  return out;
}

const whole = (input: Buffer, opts?: DecodeOptions): Outcome => decode(input, [], opts);
const byteByByte = (input: Buffer, opts?: DecodeOptions): Outcome =>
  decode(input, Array.from({ length: input.length }, (_, i) => i), opts);

// ---------------------------------------------------------------------------------
// Fixtures

const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const mib = Buffer.alloc(1024 * 1024);
for (let i = 0, x = 7; i < mib.length; i++) {
  x = (x * 1103515245 + 12345) & 0x7fffffff;
  mib[i] = x >>> 16;
}
const manyArgs = Array.from({ length: 1000 }, (_, i) => `arg${i}`);

interface Fixture {
  name: string;
  input: Buffer;
  expected: string[][];
}

const fixtures: Fixture[] = [
  { name: 'PING', input: mb('PING'), expected: [['PING']] },
  { name: 'GET key', input: mb('GET', 'key'), expected: [['GET', 'key']] },
  {
    name: 'binary-safe bulk with CRLF, NUL and every byte',
    input: mb('SET', 'k\r\nk', allBytes),
    expected: [['SET', 'k\r\nk', allBytes.toString('latin1')]],
  },
  { name: 'empty bulk', input: mb('SET', 'k', ''), expected: [['SET', 'k', '']] },
  { name: 'empty command name', input: mb(''), expected: [['']] },
  { name: '1 MiB bulk', input: mb('SET', 'big', mib), expected: [['SET', 'big', mib.toString('latin1')]] },
  { name: '1000 arguments', input: mb('DEL', ...manyArgs), expected: [['DEL', ...manyArgs]] },
  { name: 'ten-digit lengths', input: mb('x'.repeat(12345)), expected: [['x'.repeat(12345)]] },
  { name: 'inline', input: b('PING\r\n'), expected: [['PING']] },
  { name: 'inline with LF only', input: b('GET key\n'), expected: [['GET', 'key']] },
  {
    name: 'inline blanks: spaces, tabs, and \\v \\f only between tokens',
    input: b('  SET\t k \x0bv\x0bw\x0c  \r\n'),
    expected: [['SET', 'k', 'v\x0bw\x0c']],
  },
  {
    name: 'inline double quotes and escapes',
    input: b('SET "a b" "\\x41\\x4F\\x6a\\x4g\\n\\r\\t\\b\\a\\\\\\"\\q"\r\n'),
    expected: [['SET', 'a b', 'AOjx4g\n\r\t\b\x07\\"q']],
  },
  {
    name: 'inline single quotes',
    input: b("SET 'it\\'s' 'a\\\\b \"c\"'\r\n"),
    expected: [['SET', "it's", 'a\\\\b "c"']],
  },
  {
    name: 'inline quotes joined to a token, empty quotes',
    input: b('ECHO a"b c" "" \'\'\r\n'),
    expected: [['ECHO', 'ab c', '', '']],
  },
  { name: 'inline \\r inside a line ends a token', input: b('PING\rX\n'), expected: [['PING', 'X']] },
  { name: 'inline bytes >= 0x80', input: b('SET k \xe9\xff\r\n'), expected: [['SET', 'k', '\xe9\xff']] },
  { name: 'empty and blank inline lines are skipped', input: b('\r\n\n   \r\n\t\nPING\n'), expected: [['PING']] },
  {
    name: '*0, *-1 and any *-n are skipped',
    input: Buffer.concat([b('*0\r\n*-1\r\n*-5\r\n*-9223372036854775808\r\n'), mb('PING')]),
    expected: [['PING']],
  },
  {
    // Redis skips the byte after a header's \r and the two bytes after a payload unchecked.
    name: 'unchecked terminators, as Redis',
    input: b('*1\rx$4\r\nPINGxy*2\r\n$4\r\nECHO\r\n$2\rXhi..'),
    expected: [['PING'], ['ECHO', 'hi']],
  },
  {
    name: 'pipelined mix',
    input: Buffer.concat([
      mb('SET', 'k', 'v'),
      b('PING\r\n'),
      mb('GET', 'k'),
      b('*0\r\n'),
      mb('MSET', 'a', '1', 'b', '2'),
      b("ECHO 'x y'\n"),
      mb('SET', 'bin', allBytes),
      mb('INCR', 'n'),
    ]),
    expected: [
      ['SET', 'k', 'v'],
      ['PING'],
      ['GET', 'k'],
      ['MSET', 'a', '1', 'b', '2'],
      ['ECHO', 'x y'],
      ['SET', 'bin', allBytes.toString('latin1')],
      ['INCR', 'n'],
    ],
  },
  {
    name: 'long inline line at the limit (64 KiB before the LF)',
    input: b(`ECHO ${'x'.repeat(65536 - 7)}\r\n`),
    expected: [['ECHO', 'x'.repeat(65536 - 7)]],
  },
];

t.test('fixtures decode the same whole, byte by byte and at random splits', async (t) => {
  for (const f of fixtures) {
    const expected: Outcome = { commands: f.expected };
    t.same(whole(f.input), expected, `${f.name}: whole`);
    t.same(byteByByte(f.input), expected, `${f.name}: byte by byte`);
    t.same(byteByByte(f.input, { feedAllFirst: true }), expected, `${f.name}: byte chunks fed first`);
    const big = f.input.length > 100_000;
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: Math.max(1, f.input.length - 1) }), { maxLength: big ? 8 : 30 }),
        fc.boolean(),
        (cuts, feedAllFirst) => {
          cuts.sort((x, y) => x - y);
          const got = decode(f.input, cuts, { feedAllFirst });
          if (JSON.stringify(got) !== JSON.stringify(expected)) {
            throw new Error(`${f.name}: cuts ${JSON.stringify(cuts)} gave ${JSON.stringify(got).slice(0, 300)}`);
          }
        },
      ),
      { numRuns: big ? 20 : 200 },
    );
  }
  t.pass('random splits agree');
});

t.test('random pipelines of random commands survive random splits', async (t) => {
  const arg = fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u));
  const command = fc.array(arg, { minLength: 1, maxLength: 6 });
  fc.assert(
    fc.property(fc.array(command, { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { maxLength: 20 }), (cmds, rawCuts) => {
      const input = Buffer.concat(cmds.map((c) => mb(...c)));
      const cuts = [...new Set(rawCuts.map((c) => c % (input.length + 1)))].sort((x, y) => x - y);
      const got = decode(input, cuts);
      const expected = cmds.map((c) => c.map((a) => a.toString('latin1')));
      if (JSON.stringify(got) !== JSON.stringify({ commands: expected })) {
        throw new Error(`mismatch at cuts ${JSON.stringify(cuts)}`);
      }
    }),
    { numRuns: 500 },
  );
  t.pass();
});

// ---------------------------------------------------------------------------------
// Protocol errors

interface ErrorCase {
  name: string;
  input: Buffer;
  message: string;
  /** Commands decoded before the error. */
  before?: string[][];
  opts?: DecodeOptions;
}

const M = ProtocolMessages;
const errorCases: ErrorCase[] = [
  { name: '*-0', input: b('*-0\r\n'), message: M.invalidMultibulkLength },
  { name: '*01 (leading zero)', input: b('*01\r\n'), message: M.invalidMultibulkLength },
  { name: '*+1', input: b('*+1\r\n'), message: M.invalidMultibulkLength },
  { name: '* 1', input: b('* 1\r\n'), message: M.invalidMultibulkLength },
  { name: '*abc', input: b('*abc\r\n'), message: M.invalidMultibulkLength },
  { name: 'empty count', input: b('*\r\n'), message: M.invalidMultibulkLength },
  { name: '*INT_MAX+1', input: b('*2147483648\r\n'), message: M.invalidMultibulkLength },
  { name: '* below int64', input: b('*-9223372036854775809\r\n'), message: M.invalidMultibulkLength },
  { name: '* 21 digits', input: b('*111111111111111111111\r\n'), message: M.invalidMultibulkLength },
  { name: '$-1 in a request', input: b('*1\r\n$-1\r\n'), message: M.invalidBulkLength },
  { name: '$-0', input: b('*1\r\n$-0\r\n'), message: M.invalidBulkLength },
  { name: '$01', input: b('*1\r\n$01\r\n'), message: M.invalidBulkLength },
  { name: 'empty bulk length', input: b('*1\r\n$\r\n'), message: M.invalidBulkLength },
  { name: '$x', input: b('*1\r\n$x\r\n'), message: M.invalidBulkLength },
  { name: '$ above proto-max-bulk-len', input: b('*1\r\n$536870913\r\n'), message: M.invalidBulkLength },
  { name: '$ 20 digits', input: b('*1\r\n$11111111111111111111\r\n'), message: M.invalidBulkLength },
  { name: "expected '$', got 'X'", input: b('*1\r\nX\r\n'), message: "Protocol error: expected '$', got 'X'" },
  { name: "got ':' after a good argument", input: b('*2\r\n$3\r\nGET\r\n:1\r\n'), message: "Protocol error: expected '$', got ':'" },
  { name: 'empty header line shows its CR as a space', input: b('*1\r\n\r\r\n'), message: "Protocol error: expected '$', got ' '" },
  { name: 'LF shows as a space', input: b('*1\r\n\n\r\n'), message: "Protocol error: expected '$', got ' '" },
  { name: 'byte >= 0x80 is shown as is', input: b('*1\r\n\xe9\r\n'), message: "Protocol error: expected '$', got '\xe9'" },
  {
    name: 'error after a good command',
    input: Buffer.concat([mb('PING'), b('*x\r\n')]),
    message: M.invalidMultibulkLength,
    before: [['PING']],
  },
  { name: 'inline > 64 KiB without LF', input: b('x'.repeat(65537)), message: M.tooBigInline },
  { name: 'inline line > 64 KiB even with its LF', input: b(`${'x'.repeat(65537)}\n`), message: M.tooBigInline },
  { name: '* line > 64 KiB', input: b(`*${'1'.repeat(65536)}`), message: M.tooBigMbulkCount },
  { name: '$ line > 64 KiB', input: b(`*1\r\n$${'1'.repeat(65536)}`), message: M.tooBigBulkCount },
  {
    name: 'NUL in an inline line: it never ends, fails after 64 KiB',
    input: b(`ECHO a\0b\r\n${'x'.repeat(70000)}`),
    message: M.tooBigInline,
  },
  { name: 'NUL in a * line', input: b(`*1\0\r\n${'x'.repeat(70000)}`), message: M.tooBigMbulkCount },
  { name: 'NUL in a $ line', input: b(`*1\r\n$1\0\r\n${'x'.repeat(70000)}`), message: M.tooBigBulkCount },
  { name: 'unterminated double quote', input: b('ECHO "a\r\n'), message: M.unbalancedQuotes },
  { name: 'unterminated single quote', input: b("ECHO 'a\r\n"), message: M.unbalancedQuotes },
  { name: 'escaped closing quote', input: b('ECHO "a\\"\r\n'), message: M.unbalancedQuotes },
  { name: 'closing quote followed by a byte', input: b('ECHO "a"b\r\n'), message: M.unbalancedQuotes },
  { name: 'quoted part inside a token', input: b('ECHO a"b c"d\r\n'), message: M.unbalancedQuotes },
  {
    name: 'maxBulkLen lowered',
    input: b('*1\r\n$11\r\n'),
    message: M.invalidBulkLength,
    opts: { limits: { maxBulkLen: 10 } },
  },
  {
    name: 'maxMultibulkLen lowered',
    input: b('*4\r\n'),
    message: M.invalidMultibulkLength,
    opts: { limits: { maxMultibulkLen: 3 } },
  },
  {
    name: 'maxInlineLen lowered',
    input: b('PING PONG\r\n'),
    message: M.tooBigInline,
    opts: { limits: { maxInlineLen: 8 } },
  },
  { name: 'unauthenticated *11', input: b('*11\r\n'), message: M.unauthenticatedMultibulkLength, opts: { authRequired: true } },
  {
    name: 'unauthenticated $16385',
    input: b('*1\r\n$16385\r\n'),
    message: M.unauthenticatedBulkLength,
    opts: { authRequired: true },
  },
  {
    name: 'invalid wins over unauthenticated',
    input: b('*99999999999\r\n'),
    message: M.invalidMultibulkLength,
    opts: { authRequired: true },
  },
];

t.test('protocol errors carry Redis 7 wording, whatever the split', async (t) => {
  for (const c of errorCases) {
    const expected: Outcome = { commands: c.before ?? [], error: c.message };
    t.same(whole(c.input, c.opts), expected, `${c.name}: whole`);
    t.same(byteByByte(c.input, c.opts), expected, `${c.name}: byte by byte`);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: c.input.length }), { maxLength: 6 }), (cuts) => {
        cuts.sort((x, y) => x - y);
        const got = decode(c.input, cuts, c.opts);
        if (JSON.stringify(got) !== JSON.stringify(expected)) throw new Error(`${c.name}: ${JSON.stringify(got)}`);
      }),
      { numRuns: 25 },
    );
  }
});

t.test('limits: accepted right at each boundary', async (t) => {
  t.same(whole(b('*1\r\n$10\r\n0123456789\r\n'), { limits: { maxBulkLen: 10 } }), { commands: [['0123456789']] });
  t.same(whole(mb('a', 'b', 'c'), { limits: { maxMultibulkLen: 3 } }), { commands: [['a', 'b', 'c']] });
  t.same(whole(b('PING PON\r\n'), { limits: { maxInlineLen: 9 } }), { commands: [['PING', 'PON']] });
  const ten = mb(...Array.from({ length: 10 }, () => 'x'.repeat(1638)));
  t.equal(whole(ten, { authRequired: true }).commands.length, 1, 'unauthenticated: 10 args accepted');
  t.same(whole(b('*1\r\n$16384\r\n'), { authRequired: true }), { commands: [] }, '$16384 accepted (waits)');
  t.same(whole(b('*-1\r\n*0\r\n'), { authRequired: true }), { commands: [] }, 'unauthenticated *-1 still skipped');
  t.same(whole(b('*2147483647\r\n')), { commands: [] }, '*INT_MAX accepted (waits)');
  t.same(whole(b('*1\r\n$536870912\r\n')), { commands: [] }, '$512MiB accepted (waits)');
  t.same(byteByByte(b(`${'x'.repeat(65536)}\n`)), { commands: [['x'.repeat(65536)]] }, 'inline 65536 bytes + LF');
  t.same(whole(b('ECHO a\0b\r\n')), { commands: [] }, 'NUL line just waits (Redis sends nothing)');
});

t.test('limits are mutable after construction', async (t) => {
  const d = new RespDecoder();
  d.feed(mb('SET', 'k', 'v'.repeat(20)));
  t.same(str(d.next()!), ['SET', 'k', 'v'.repeat(20)]);
  d.limits.maxBulkLen = 10;
  d.feed(mb('SET', 'k', 'v'.repeat(20)));
  t.throws(() => d.next(), new ProtocolError(M.invalidBulkLength));
  const a = new RespDecoder();
  a.authRequired = true;
  a.feed(mb(...Array.from({ length: 11 }, () => 'x')).subarray(0, 5));
  t.throws(() => a.next(), new ProtocolError(M.unauthenticatedMultibulkLength));
  const ok = new RespDecoder();
  ok.authRequired = true;
  ok.feed(mb('AUTH', 'pw'));
  t.same(str(ok.next()!), ['AUTH', 'pw']);
  ok.authRequired = false;
  ok.feed(mb(...Array.from({ length: 11 }, () => 'x')));
  t.equal(ok.next()!.length, 11);
});

t.test('maxInlineLen lowered below a line already carried', async (t) => {
  const d = new RespDecoder();
  d.feed(b('PING with a long'));
  t.equal(d.next(), null);
  d.limits.maxInlineLen = 4;
  d.feed(b(' line\r\n'));
  t.throws(() => d.next(), { message: M.tooBigInline });
});

t.test('after an error the decoder stays failed and holds nothing', async (t) => {
  const d = new RespDecoder();
  d.feed(b('*1\r\n$x\r\n*1\r\n$4\r\nPING\r\n'));
  t.throws(() => d.next(), { name: 'ProtocolError', code: 'SHOAL_ERR_PROTOCOL', message: M.invalidBulkLength });
  t.throws(() => d.next(), { message: M.invalidBulkLength }, 'same error again');
  d.feed(mb('PING'));
  t.throws(() => d.next(), { message: M.invalidBulkLength }, 'feed after failure is ignored');
  t.equal(d.buffered, 0);
});

t.test('parseLength follows Redis string2ll', async (t) => {
  const p = (s: string): number => parseLength(b(s), 0, s.length);
  t.equal(p('0'), 0);
  t.equal(p('7'), 7);
  t.equal(p('-1'), -1);
  t.equal(p('2147483647'), 2147483647);
  t.equal(p('-2147483648'), -2147483648);
  t.ok(p('1000000000000000000') > 9.9e17, '19 digits below INT64_MAX');
  t.ok(p('-9223372036854775799') < -9.2e18, '19 digits below INT64_MIN in magnitude');
  t.ok(p('9223372036854775807') > 9.2e18, 'INT64_MAX accepted (approximately: above 2^53 only limits matter)');
  t.ok(p('-9223372036854775808') < -9.2e18, 'INT64_MIN accepted');
  for (const bad of ['', '-', '-0', '00', '01', '+1', ' 1', '1 ', '1a', '9223372036854775808', '-9223372036854775809', '99999999999999999999']) {
    t.ok(Number.isNaN(p(bad)), `'${bad}' rejected`);
  }
});

// ---------------------------------------------------------------------------------
// Ownership: views and copies ("don't clobber")

t.test('args inside one chunk are views: overwriting the chunk changes them', async (t) => {
  const chunk = Buffer.from(mb('SET', 'key', 'value'));
  const d = new RespDecoder();
  d.feed(chunk);
  const argv = d.next()!;
  t.same(str(argv), ['SET', 'key', 'value']);
  for (const a of argv) t.ok(aliases(a, chunk), 'shares the chunk memory');
  chunk.fill(0x5a);
  t.same(str(argv), ['ZZZ', 'ZZZ', 'ZZZZZ'], 'documented: views follow the chunk');
  t.equal(d.buffered, 0);
});

t.test('args that span chunks are independent copies', async (t) => {
  const input = mb('SET', 'key', 'spanning-value');
  const cut = input.indexOf('spanning') + 4;
  const c1 = Buffer.from(input.subarray(0, cut));
  const c2 = Buffer.from(input.subarray(cut));
  const d = new RespDecoder();
  d.feed(c1);
  t.equal(d.next(), null);
  d.feed(c2);
  const argv = d.next()!;
  t.same(str(argv), ['SET', 'key', 'spanning-value']);
  t.ok(aliases(argv[0]!, c1), 'SET is a view into chunk 1');
  t.ok(aliases(argv[1]!, c1), 'key is a view into chunk 1');
  t.notOk(aliases(argv[2]!, c1) || aliases(argv[2]!, c2), 'the spanning value is neither chunk');
  c1.fill(0x21);
  c2.fill(0x21);
  t.equal(argv[2]!.toString(), 'spanning-value', 'the copy does not change with either chunk');
  t.equal(d.buffered, 0);

  // Feeding and decoding more (another spanning arg, a spanning header, a spanning
  // inline line) after full consumption leaves the earlier copy alone.
  const more = Buffer.concat([mb('SET', 'key2', 'another-spanning-value'), b('ECHO "quoted arg" plain\r\n')]);
  const cuts = [more.indexOf('another') + 3, more.indexOf('ECHO') - 3, more.indexOf('plain') + 2, more.length];
  const got: Buffer[][] = [];
  let from = 0;
  for (const c of cuts) {
    const chunk = Buffer.from(more.subarray(from, c));
    from = c;
    d.feed(chunk);
    for (let a = d.next(); a !== null; a = d.next()) got.push(a);
    chunk.fill(0x3f); // the caller reuses its read buffer
  }
  t.same(got.map((a) => a.map(String)).length, 2);
  t.equal(got[0]![2]!.toString(), 'another-spanning-value', 'second spanning arg intact');
  t.same(str(got[1]!), ['ECHO', 'quoted arg', 'plain'], 'tokens of a line that spanned chunks are copies');
  t.equal(argv[2]!.toString(), 'spanning-value', 'first spanning arg still intact');
});

t.test('inline tokens: plain ones are views, quoted ones are copies', async (t) => {
  const chunk = b('SET plain "quoted"\r\n');
  const d = new RespDecoder();
  d.feed(chunk);
  const argv = d.next()!;
  t.ok(aliases(argv[1]!, chunk));
  t.notOk(aliases(argv[2]!, chunk));
  chunk.fill(0x2e);
  t.equal(argv[1]!.toString(), '.....');
  t.equal(argv[2]!.toString(), 'quoted');
});

t.test('buffered counts held bytes and drops to 0 once consumed', async (t) => {
  const d = new RespDecoder();
  const input = Buffer.concat([mb('GET', 'a'), mb('SET', 'b', 'x'.repeat(100))]);
  d.feed(input.subarray(0, 30));
  t.equal(d.buffered, 30);
  t.same(str(d.next()!), ['GET', 'a']);
  t.equal(d.buffered, 30 - mb('GET', 'a').length);
  t.equal(d.next(), null);
  t.equal(d.buffered, 2, 'the partial argument "SE" is held (header lines are parsed)');
  d.feed(input.subarray(30, 60));
  d.feed(input.subarray(60));
  t.equal(d.buffered, 2 + input.length - 30);
  t.same(str(d.next()!), ['SET', 'b', 'x'.repeat(100)]);
  t.equal(d.buffered, 0);
  t.equal(d.next(), null);
});
