// Error classes keep stable codes and survive a trip through JSON (postMessage, frames).
import t from 'tap';
import { ShoalError, ErrorCodes, ProtocolError, ConfigError } from '../../shared/errors.js';

t.test('codes are unique and prefixed', async (t) => {
  const codes = Object.values(ErrorCodes);
  t.equal(new Set(codes).size, codes.length);
  for (const c of codes) t.match(c, /^SHOAL_ERR_[A-Z_]+$/);
});

t.test('every code round-trips through JSON', async (t) => {
  for (const code of Object.values(ErrorCodes)) {
    const e = new ShoalError(code, `message for ${code}`);
    const back = ShoalError.fromJSON(JSON.parse(JSON.stringify(e)));
    t.equal(back.code, code);
    t.equal(back.message, `message for ${code}`);
    t.ok(back instanceof ShoalError);
  }
});

t.test('subclasses carry their codes', async (t) => {
  t.equal(new ProtocolError('Protocol error: x').code, ErrorCodes.PROTOCOL);
  const c = new ConfigError('port', 'bad');
  t.equal(c.code, ErrorCodes.CONFIG);
  t.equal(c.key, 'port');
  t.match(c.message, /^config port: bad$/);
});
