// The config loader: precedence (defaults < file < env < flags) and errors that name
// the key, the source and the allowed values.
import t from 'tap';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../shared/config/load.js';
import { parseBytes } from '../../../shared/config/schema.js';
import { ConfigError } from '../../../shared/errors.js';

t.test('defaults', async (t) => {
  const { config } = loadConfig({ argv: [], env: {} });
  t.equal(config.port, 6380);
  t.equal(config.httpPort, 8080);
  t.equal(config.workers, 2);
  t.equal(config.shardBasePort, 7000);
});

t.test('precedence: file < env < flags', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-cfg-'));
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ port: 7001, workers: 3, maxmemory: '1mb' }));
  const { config } = loadConfig({ argv: ['--config', file, '--port', '7003'], env: { SHOAL_PORT: '7002', SHOAL_WORKERS: '4' } });
  t.equal(config.port, 7003);
  t.equal(config.workers, 4);
  t.equal(config.maxmemory, 1024 * 1024);
});

t.test('errors name the key and allowed values', async (t) => {
  t.throws(() => loadConfig({ argv: ['--port', 'abc'], env: {} }), { name: 'ConfigError', message: /port \(from --port\): expected an integer from 0 to 65535, got "abc"/ });
  t.throws(() => loadConfig({ argv: [], env: { SHOAL_LOG_LEVEL: 'loud' } }), { message: /logLevel \(from env SHOAL_LOG_LEVEL\): expected one of fatal, error, warn, info, debug, trace, silent/ });
  t.throws(() => loadConfig({ argv: ['--nope'], env: {} }), ConfigError);
  const dir = mkdtempSync(join(tmpdir(), 'shoal-cfg-'));
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ prot: 1 }));
  t.throws(() => loadConfig({ argv: ['--config', file], env: {} }), { message: /prot: unknown key .* known keys: host, port/ });
  writeFileSync(file, '{ not json');
  t.throws(() => loadConfig({ argv: ['--config', file], env: {} }), { message: /cannot read/ });
});

t.test('memory units as Redis', async (t) => {
  t.equal(parseBytes('100'), 100);
  t.equal(parseBytes('1k'), 1000);
  t.equal(parseBytes('1kb'), 1024);
  t.equal(parseBytes('100mb'), 100 * 1024 * 1024);
  t.equal(parseBytes('2GB'), 2 * 1024 ** 3);
  t.equal(parseBytes('1.5mb'), undefined);
  t.equal(parseBytes('-1'), undefined);
});
