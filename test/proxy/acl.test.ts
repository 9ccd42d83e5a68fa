// The ACL rule language, permission checks and rate-limit arithmetic in-process
// (proxy/acl/); the same behaviour through real processes and clients is in
// test/integration/{acl,auth}.test.ts. Expected rule strings come from redis-server 7.0.15.
import t from 'tap';
import { AclUser, RuleErrors, hashPassword } from '../../proxy/acl/acl-user.js';
import { ENTRIES, TOP_LEVEL, lookupEntry, entryFor, CATEGORIES, type AclEntry } from '../../proxy/acl/acl-catalog.js';
import { checkCommand } from '../../proxy/acl/acl-check.js';
import { AclLog, formatDouble17 } from '../../proxy/acl/acl-log.js';
import { TokenBucket, RateLimiter } from '../../proxy/acl/rate-limiter.js';
import { parseRateLimitUsers } from '../../shared/config/acl-params.js';
import { lookupCommand } from '../../shared/commands/table.js';
import { ReplyWriter } from '../../shared/resp/reply-writer.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

function user(...rules: string[]): AclUser {
  const u = new AclUser('u', false);
  for (const r of rules) {
    const err = u.apply(b(r), false);
    if (err !== null) throw new Error(`${r}: ${err}`);
  }
  return u;
}

function check(u: AclUser, ...argv: string[]): string {
  const spec = lookupCommand(argv[0]!.toLowerCase())!;
  const args = argv.map(b);
  const d = checkCommand(u, entryFor(spec, args), args);
  return d === null ? 'ok' : `${d.reason}:${d.index}`;
}

t.test('describe() rebuilds the rules Redis 7.0.15 lists', async (t) => {
  const cases: Array<[string[], string]> = [
    [[], 'off resetchannels -@all'],
    [['reset'], 'off sanitize-payload resetchannels -@all'],
    [['+get', '+set', '+@string'], 'off resetchannels -@all +@string'],
    [['+@all', '-@dangerous'], 'off resetchannels +@all -@dangerous'],
    [['+@all', '-@read', '+get'], 'off resetchannels +@all -@read +get'],
    [['allcommands', '-@string', '+get'], 'off resetchannels +@all -@string +get'],
    [['+config|get', '+config'], 'off resetchannels -@all +config'],
    [['+get', 'nocommands', '+set'], 'off resetchannels -@all +set'],
    [['+select|0', '+select|1', '+select'], 'off resetchannels -@all +select'],
    [['+select|0'], 'off resetchannels -@all +select|0'],
    [['+@all', '-client|list'], 'off resetchannels +@all -client|list'],
    [['on', '>a', '>b', '<a', 'nopass', 'resetpass', `#${'a'.repeat(64)}`], `on #${'a'.repeat(64)} resetchannels -@all`],
    [['~a', '%R~b', '%W~c', '%RW~d', '%WR~e', '%R~a'], 'off ~a %R~b %W~c ~d ~e resetchannels -@all'],
    [['&a', '&b*', 'allchannels'], 'off &* -@all'],
    [['%R'], 'off %R~ resetchannels -@all'],
    [['+@all', '~*', '&*', 'on', 'nopass'], 'on nopass ~* &* +@all'],
  ];
  for (const [rules, want] of cases) t.equal(user(...rules).describe(), want, rules.join(' '));
  t.equal(AclUser.createDefault().describe(), 'on nopass ~* &* +@all');
});

t.test('describe() round-trips: the listed rules rebuild the same bitmap', async (t) => {
  const sets = [['+@hash', '-hget', '+@read'], ['+@keyspace', '-@write'], ['+@all', '-@slow', '+config|get'], ['+acl', '-acl|setuser', '+select|2']];
  for (const rules of sets) {
    const u = user(...rules);
    const again = user(...u.commands.describe().split(' '));
    t.same([...again.commands.bits], [...u.commands.bits], rules.join(' '));
    t.same(again.commands.firstArgs, u.commands.firstArgs);
  }
});

t.test('rule errors are Redis\'s', async (t) => {
  const u = new AclUser('e', false);
  const cases: Array<[string, string]> = [
    ['+nosuch', RuleErrors.unknownCommand], ['+@nosuch', RuleErrors.unknownCommand], ['+client|nosuch', RuleErrors.unknownCommand],
    ['-config|get|x', RuleErrors.unknownCommand], ['+config|get|x', RuleErrors.firstArgOfSubcommand], ['+', RuleErrors.unknownCommand],
    ['~a b', RuleErrors.syntax], ['foo', RuleErrors.syntax], ['%X~a', RuleErrors.syntax], ['%~a', RuleErrors.syntax], ['get|', RuleErrors.syntax],
    ['#abc', RuleErrors.badHash], [`!${'A'.repeat(64)}`, RuleErrors.badHash], ['<nope', RuleErrors.noSuchPassword],
    ['(~x +get)', RuleErrors.selectors],
  ];
  for (const [rule, want] of cases) t.equal(u.apply(b(rule), false), want, rule);
  t.equal(u.apply(b('+get|x'), false), null, 'a first-arg rule');
  t.equal(u.apply(b('allkeys'), false), null);
  t.equal(u.apply(b('~c'), false), RuleErrors.keysAfterAll);
  t.equal(u.apply(b('allchannels'), false), null);
  t.equal(u.apply(b('&y'), false), RuleErrors.channelsAfterAll);
  t.equal(u.apply(b(''), false), null, 'an empty rule does nothing');
});

t.test('passwords are kept as SHA-256 digests only', async (t) => {
  const u = user('on', '>s3cret');
  t.same(u.passwords, [hashPassword(b('s3cret'))]);
  t.match(u.passwords[0]!, /^[0-9a-f]{64}$/);
  t.notOk(JSON.stringify(u.describe()).includes('s3cret'));
  t.ok(u.checkPassword(b('s3cret')));
  t.notOk(u.checkPassword(b('s3cret ')));
  t.ok(user('nopass').checkPassword(b('anything')));
});

t.test('the catalog covers every row and container subcommand', async (t) => {
  t.equal(TOP_LEVEL.length + TOP_LEVEL.reduce((n, e) => n + e.subcommands.length, 0), ENTRIES.length);
  ENTRIES.forEach((e, i) => t.equal(e.id, i));
  t.equal(lookupEntry('CONFIG|GET')?.fullname, 'config|get');
  t.equal(lookupEntry('get|x'), undefined);
  t.equal(lookupEntry('config|get|x'), undefined);
  t.same(CATEGORIES.slice(0, 3), ['keyspace', 'read', 'write']);
  const cfgGet = lookupEntry('config|get') as AclEntry;
  t.ok(cfgGet.categories & (1 << CATEGORIES.indexOf('admin')), 'config|get is @admin');
  t.notOk(lookupEntry('config|help')!.categories & (1 << CATEGORIES.indexOf('admin')), 'config|help is not');
});

t.test('commands, subcommands and first args', async (t) => {
  const u = user('+@string', '-set', '+client|id', '+select|0', '~*', '&*');
  t.equal(check(u, 'get', 'k'), 'ok');
  t.equal(check(u, 'set', 'k', 'v'), 'command:0');
  t.equal(check(u, 'client', 'id'), 'ok');
  t.equal(check(u, 'client', 'list'), 'command:0');
  t.equal(check(u, 'select', '0'), 'ok');
  t.equal(check(u, 'select', '1'), 'command:0');
  t.equal(check(u, 'auth', 'x'), 'ok', 'no_auth commands always run');
  t.equal(check(u, 'hello'), 'ok');
});

t.test('key patterns with read / write permissions', async (t) => {
  const u = user('+@all', '%R~r*', '%W~w*', '~foo*');
  const rows: Array<[string[], string]> = [
    [['get', 'r1'], 'ok'], [['get', 'w1'], 'key:1'], [['set', 'w1', 'x'], 'ok'], [['set', 'w1', 'x', 'GET'], 'key:1'],
    [['append', 'w1', 'y'], 'ok'], [['exists', 'w1'], 'ok'], [['strlen', 'w1'], 'ok'], [['type', 'zz'], 'key:1'],
    [['copy', 'r1', 'w2'], 'ok'], [['copy', 'w1', 'r2'], 'key:1'], [['mset', 'foo1', 'a', 'bar', 'b'], 'key:3'],
    [['object', 'encoding', 'w1'], 'ok'], [['object', 'encoding', 'zz'], 'key:2'], [['bitfield', 'r1', 'get', 'u8', '0'], 'ok'],
    [['bitfield', 'r1', 'set', 'u8', '0', '1'], 'key:1'], [['rpoplpush', 'w5', 'w6'], 'key:1'], [['sunionstore', 'w7', 'r1', 'w1'], 'key:3'],
    [['zunionstore', 'w7', '2', 'r1', 'r2'], 'ok'], [['del', 'foo2'], 'ok'],
  ];
  for (const [argv, want] of rows) t.equal(check(u, ...argv), want, argv.join(' '));
  t.equal(check(user('+@all'), 'get', 'k'), 'key:1', 'no pattern: no key');
  t.equal(check(user('+@all'), 'ping'), 'ok', 'keyless commands need no pattern');
});

t.test('channel patterns (PUBLISH, SUBSCRIBE, PSUBSCRIBE literal)', async (t) => {
  // The pub/sub rows come later: check against a stand-in entry with their names.
  const entry = (name: string): AclEntry => ({ ...TOP_LEVEL[0]!, fullname: name, hasKeys: false });
  const u = user('+@all', '~*', '&news.*', '&exact');
  const run = (name: string, ...args: string[]): string => {
    const d = checkCommand(u, entry(name), [name, ...args].map(b));
    return d === null ? 'ok' : `${d.reason}:${d.index}`;
  };
  t.equal(run('publish', 'news.1', 'm'), 'ok');
  t.equal(run('publish', 'sport', 'm'), 'channel:1');
  t.equal(run('subscribe', 'news.a', 'exact', 'other'), 'channel:3');
  t.equal(run('psubscribe', 'news.*'), 'ok', 'a pattern equal to an allowed one');
  t.equal(run('psubscribe', 'news.a*'), 'channel:1', 'patterns are compared literally');
  t.equal(checkCommand(user('+@all', '~*', 'allchannels'), entry('publish'), [b('publish'), b('x'), b('m')]), null);
});

t.test('ACL LOG groups like denials and keeps acllog-max-len entries', async (t) => {
  const log = new AclLog(3);
  log.add('key', 'toplevel', 'k', 'u', 'id=1', 1000);
  log.add('key', 'toplevel', 'k', 'u', 'id=2', 2000);
  t.equal(log.length, 1);
  log.add('key', 'toplevel', 'k', 'u', 'id=3', 70_000);
  t.equal(log.length, 2, 'more than 60 s apart: a new entry');
  log.add('command', 'multi', 'get', 'u', 'id=4', 70_000);
  log.add('auth', 'toplevel', 'AUTH', 'x', 'id=5', 70_000);
  t.equal(log.length, 3);
  const w = new ReplyWriter();
  log.write(w, 10, 71_500);
  const text = w.take().toString();
  t.match(text, /^\*3\r\n\*14\r\n\$5\r\ncount\r\n:1\r\n\$6\r\nreason\r\n\$4\r\nauth\r\n/);
  t.match(text, /\$11\r\nage-seconds\r\n\$3\r\n1.5\r\n/);
  log.resize(1);
  t.equal(log.length, 1);
});

t.test('%.17g doubles as Redis prints age-seconds', async (t) => {
  t.equal(formatDouble17(0), '0');
  t.equal(formatDouble17(0.083), '0.083000000000000004');
  t.equal(formatDouble17(62.871), '62.871000000000002');
  t.equal(formatDouble17(0.111), '0.111');
  t.equal(formatDouble17(12), '12');
});

t.test('token buckets: burst, refill, per-process share', async (t) => {
  const bucket = new TokenBucket(10 / 1000, 10, 10, 0);
  let ok = 0;
  for (let i = 0; i < 100; i++) if (bucket.take(0)) ok++;
  t.equal(ok, 10, 'the burst');
  t.notOk(bucket.take(50), 'half a token after 50 ms');
  t.ok(bucket.take(100), 'one token after 100 ms');
  t.notOk(bucket.take(90), 'an older clock never refills backwards');
  ok = 0;
  for (let i = 0; i < 100; i++) if (bucket.take(10_000)) ok++;
  t.equal(ok, 10, 'refill stops at the burst');

  const limiter = new RateLimiter();
  limiter.configure({ ops: 100, burst: 0, users: new Map([['fast', 0], ['slow', 4]]) }, 2);
  t.equal(limiter.bucketFor('fast', 0), null, '0 = unlimited');
  t.equal(limiter.bucketFor('anyone', 0)!.burst, 50, 'limit/N per process');
  t.equal(limiter.bucketFor('slow', 0)!.limit, 4);
  t.same(parseRateLimitUsers('alice:1000, bob:50'), new Map([['alice', 1000], ['bob', 50]]));
  t.match(parseRateLimitUsers('alice'), /is not <user>:<commands per second>/);
  t.match(parseRateLimitUsers('alice:x'), /'alice:x'/);
});
