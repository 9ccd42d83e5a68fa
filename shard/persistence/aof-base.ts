/**
 * A RESP base file for the append-only log: the worker's data at one point in time as
 * one `SHOAL.RESTOREKEY key type expireAt value REPLACE` per live key (registry.ts
 * dumpValue bytes; absolute expiry in unix ms, 0 = none). Built synchronously, so the
 * point in time is exact: the caller switches the log to a new incremental file in
 * the same event-loop turn.
 */
import type { Keyspace } from '../keyspace.js';
import { dumpValue } from '../types/registry.js';
import { encodeCommand, encodedLength } from './aof-format.js';

const RESTOREKEY = Buffer.from('SHOAL.RESTOREKEY');
const REPLACE = Buffer.from('REPLACE');
const SMALL = Array.from({ length: 16 }, (_, i) => Buffer.from(String(i)));

export function dumpBaseResp(ks: Keyspace): { bytes: Buffer; keys: number } {
  const now = ks.now;
  const parts: Buffer[] = [];
  let cur = Buffer.allocUnsafe(1 << 20);
  let pos = 0;
  let keys = 0;
  let cursor = 0;
  do {
    cursor = ks.index.scan(cursor, (ref) => {
      const exp = ks.expireAt(ref);
      if (exp !== 0 && exp <= now) return;
      const argv = [RESTOREKEY, ks.keyCopy(ref), SMALL[ks.type(ref)] ?? Buffer.from(String(ks.type(ref))), exp === 0 ? SMALL[0]! : Buffer.from(String(exp)), dumpValue(ks, ref), REPLACE];
      const need = encodedLength(argv);
      if (pos + need > cur.length) {
        parts.push(cur.subarray(0, pos));
        cur = Buffer.allocUnsafe(Math.max(1 << 20, need));
        pos = 0;
      }
      pos = encodeCommand(cur, pos, argv);
      keys++;
    });
  } while (cursor !== 0);
  parts.push(cur.subarray(0, pos));
  return { bytes: parts.length === 1 ? parts[0]! : Buffer.concat(parts), keys };
}
