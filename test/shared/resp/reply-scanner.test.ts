/**
 * replyEnd / ReplyCursor: every RESP2/RESP3 type, nesting, attributes, incomplete input
 * at every byte, pipelined replies, malformed input, and random value trees.
 */
import t from 'tap';
import fc from 'fast-check';
import { ProtocolError } from '../../../shared/errors.js';
import { ReplyCursor, replyEnd } from '../../../shared/resp/reply-scanner.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

const replies: Array<[string, string]> = [
  ['simple string', '+OK\r\n'],
  ['empty simple string', '+\r\n'],
  ['simple error', '-ERR unknown command\r\n'],
  ['integer', ':1000\r\n'],
  ['negative integer', ':-5\r\n'],
  ['bulk string', '$3\r\nfoo\r\n'],
  ['binary bulk with CRLF inside', '$6\r\na\r\n\r\nb\r\n'],
  ['empty bulk', '$0\r\n\r\n'],
  ['null bulk (RESP2)', '$-1\r\n'],
  ['null array (RESP2)', '*-1\r\n'],
  ['empty array', '*0\r\n'],
  ['array', '*2\r\n$3\r\nfoo\r\n:42\r\n'],
  ['null (RESP3)', '_\r\n'],
  ['double', ',3.14\r\n'],
  ['double inf', ',-inf\r\n'],
  ['boolean', '#t\r\n'],
  ['big number', '(3492890328409238509324850943850943825024385\r\n'],
  ['blob error', '!21\r\nSYNTAX invalid syntax\r\n'],
  ['verbatim string', '=15\r\ntxt:Some string\r\n'],
  ['map', '%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n'],
  ['empty map', '%0\r\n'],
  ['set', '~3\r\n+a\r\n+b\r\n$1\r\nc\r\n'],
  ['push', '>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n'],
  [
    'attribute before an array (RESP3 spec example)',
    '|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n*2\r\n:2039123\r\n:9543892\r\n',
  ],
  ['attribute inside an array', '*2\r\n:1\r\n|1\r\n+ttl\r\n:3600\r\n+v\r\n'],
  ['nested aggregates', '*3\r\n*2\r\n:1\r\n*0\r\n%1\r\n~1\r\n#f\r\n>1\r\n_\r\n$-1\r\n'],
  ['deep single-element nesting', `${'*1\r\n'.repeat(50)}:7\r\n`],
];

t.test('each reply type: complete, with a following reply, and at an offset', async (t) => {
  for (const [name, text] of replies) {
    const r = b(text);
    t.equal(replyEnd(r, 0, r.length), r.length, `${name}: whole`);
    const withNext = Buffer.concat([r, b('+NEXT\r\n')]);
    t.equal(replyEnd(withNext, 0, withNext.length), r.length, `${name}: stops before the next reply`);
    const shifted = Buffer.concat([b('garbage'), r]);
    t.equal(replyEnd(shifted, 7, shifted.length), shifted.length, `${name}: from an offset`);
  }
});

t.test('incomplete at every byte position returns -1', async (t) => {
  let checked = 0;
  for (const [name, text] of replies) {
    const r = b(text);
    for (let end = 0; end < r.length; end++) {
      const got = replyEnd(r, 0, end);
      if (got !== -1) t.fail(`${name}: prefix of ${end} bytes gave ${got}`);
      checked++;
    }
  }
  t.ok(checked > 500, `${checked} prefixes checked`);
});

t.test('pipelined replies are cut one by one', async (t) => {
  const all = Buffer.concat(replies.map(([, text]) => b(text)));
  const cut: string[] = [];
  let p = 0;
  while (p < all.length) {
    const e = replyEnd(all, p, all.length);
    if (e < 0) break;
    cut.push(all.subarray(p, e).toString('latin1'));
    p = e;
  }
  t.same(cut, replies.map(([, text]) => text));
  t.equal(p, all.length);
});

t.test('deep nesting does not use the stack', async (t) => {
  const deep = b(`${'*1\r\n'.repeat(200_000)}+x\r\n`);
  t.equal(replyEnd(deep, 0, deep.length), deep.length);
  t.equal(replyEnd(deep, 0, deep.length - 1), -1);
});

t.test('malformed replies throw ProtocolError', async (t) => {
  const bad = [
    '?1\r\n', // unknown type
    '$3\r\nfooXY', // payload not followed by CRLF
    '*-2\r\n', // negative count other than -1
    '%-1\r\n', // null map is not a thing
    '!-1\r\n', // only $ and * have a -1 null
    '+OK\rX', // CR not followed by LF
    '$x\r\n', // non-numeric length
    '$\r\n', // empty length
    '*1\r\n?\r\n', // bad nested type
    `$${'1'.repeat(25)}`, // a length with too many digits fails before its CRLF arrives
    `*${'9'.repeat(20)}\r\n`, // 20 digits
  ];
  for (const text of bad) {
    t.throws(() => replyEnd(b(text), 0, text.length), ProtocolError, JSON.stringify(text));
  }
});

t.test('ReplyCursor resumes where it stopped', async (t) => {
  for (const [name, text] of replies) {
    const r = b(text);
    const cursor = new ReplyCursor();
    let result = -1;
    // Grow the visible end one byte at a time, as bytes arriving on a socket.
    for (let end = 0; end <= r.length; end++) {
      result = cursor.scan(r, 0, end);
      if (result !== -1) {
        t.equal(end, r.length, `${name}: complete only at the last byte`);
        break;
      }
    }
    t.equal(result, r.length, name);
  }
  // After a result, the same cursor serves the next reply in a pipeline.
  const two = b('*2\r\n:1\r\n:2\r\n$2\r\nhi\r\n');
  const cursor = new ReplyCursor();
  t.equal(cursor.scan(two, 0, 9), -1);
  t.equal(cursor.scan(two, 0, two.length), 12);
  t.equal(cursor.scan(two, 12, two.length), two.length);
  t.equal(cursor.scan(two, 0, 5), -1);
  cursor.reset();
  t.equal(cursor.scan(two, 0, two.length), 12);
});

t.test('random RESP3 values: exact length, every prefix incomplete, pipelines cut', async (t) => {
  const { value } = fc.letrec<{ value: string }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.stringMatching(/^[a-zA-Z0-9 ]{0,8}$/).map((s) => `+${s}\r\n`),
      fc.stringMatching(/^[a-zA-Z0-9 ]{0,8}$/).map((s) => `-ERR ${s}\r\n`),
      fc.integer().map((n) => `:${n}\r\n`),
      fc.uint8Array({ maxLength: 12 }).map((u) => `$${u.length}\r\n${Buffer.from(u).toString('latin1')}\r\n`),
      fc.constantFrom('$-1\r\n', '*-1\r\n', '_\r\n', '#t\r\n', '#f\r\n', ',1.5\r\n', '(12345678901234567890\r\n'),
      fc.string({ maxLength: 8 }).map((s) => `=${4 + Buffer.byteLength(s, 'latin1')}\r\ntxt:${s}\r\n`),
      fc.array(tie('value'), { maxLength: 4 }).map((xs) => `*${xs.length}\r\n${xs.join('')}`),
      fc.array(tie('value'), { maxLength: 4 }).map((xs) => `~${xs.length}\r\n${xs.join('')}`),
      fc.array(tie('value'), { maxLength: 4 }).map((xs) => `>${xs.length}\r\n${xs.join('')}`),
      fc
        .array(fc.tuple(tie('value'), tie('value')), { maxLength: 3 })
        .map((kv) => `%${kv.length}\r\n${kv.map(([k, v]) => k + v).join('')}`),
      fc
        .tuple(fc.array(fc.tuple(tie('value'), tie('value')), { minLength: 1, maxLength: 2 }), tie('value'))
        .map(([kv, v]) => `|${kv.length}\r\n${kv.map(([k, x]) => k + x).join('')}${v}`),
    ),
  }));
  fc.assert(
    fc.property(fc.array(value, { minLength: 1, maxLength: 5 }), (values) => {
      const bufs = values.map((v) => b(v));
      const all = Buffer.concat(bufs);
      let p = 0;
      for (const v of bufs) {
        if (replyEnd(all, p, all.length) !== p + v.length) return false;
        for (let end = p; end < p + v.length; end++) if (replyEnd(all, p, end) !== -1) return false;
        p += v.length;
      }
      return true;
    }),
    { numRuns: 300 },
  );
  t.pass();
});
