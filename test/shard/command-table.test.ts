// Every command-table row has an implementation on the worker, and key positions
// agree with the grammar, so proxy routing and shard dispatch cannot drift.
import t from 'tap';
import { COMMANDS, INTERNAL_COMMANDS, lookupCommand } from '../../shared/commands/table.js';
import { keyIndexes, arityOk } from '../../shared/commands/spec.js';
import { HANDLERS } from '../../shard/worker/server.js';
import { CONNECTION_COMMANDS } from '../../shared/connection/commands.js';

t.test('every row has a handler', async (t) => {
  for (const spec of [...COMMANDS, ...INTERNAL_COMMANDS]) {
    const has = HANDLERS[spec.name] !== undefined || CONNECTION_COMMANDS.includes(spec.name);
    t.ok(has, `${spec.name} has a handler`);
  }
});

t.test('every handler has a row', async (t) => {
  for (const name of Object.keys(HANDLERS)) t.ok(lookupCommand(name) ?? INTERNAL_COMMANDS.find((s) => s.name === name), `${name} is in the table`);
});

const args = (n: number): Buffer[] => Array.from({ length: n }, (_, i) => Buffer.from(`a${i}`));

t.test('key positions', async (t) => {
  const mset = lookupCommand('mset')!;
  t.same(keyIndexes(mset, args(5)), [1, 3]);
  const mget = lookupCommand('mget')!;
  t.same(keyIndexes(mget, args(4)), [1, 2, 3]);
  t.same(keyIndexes(lookupCommand('ping')!, args(1)), []);
  t.same(keyIndexes(lookupCommand('rename')!, args(3)), [1, 2]);
});

t.test('arity', async (t) => {
  t.ok(arityOk(lookupCommand('get')!, 2));
  t.notOk(arityOk(lookupCommand('get')!, 3));
  t.ok(arityOk(lookupCommand('set')!, 5));
  t.notOk(arityOk(lookupCommand('set')!, 2));
});

t.test('names are lower case and unique', async (t) => {
  const names = COMMANDS.map((c) => c.name);
  t.equal(new Set(names).size, names.length);
  for (const n of names) t.equal(n, n.toLowerCase());
});
