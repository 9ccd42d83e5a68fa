// Reads a whole keyspace over RESP (SCAN, then pipelined TYPE / PEXPIRETIME / per-type
// reads) and compares two of them: the replication tests check a replica against its
// primary this way. Shoal has no DUMP, so values are compared by what clients read:
// strings (also bitmaps and HyperLogLogs) byte for byte, lists in order, sets, hashes
// and sorted sets order-free where the type is (sorted sets in rank order, scores as
// the server prints them), bloom filters by BF.INFO plus BF.MEXISTS over a probe
// universe the caller names. Absolute expiry times (PEXPIRETIME) are compared within
// a tolerance.
//
// A direct client reading a replica must send READONLY first (Redis Cluster); this
// file does it on every connection it opens (harmless on a primary).
import { RespClient, type RespValue } from './run.js';

export type KeyEntry = { type: string; exp: number; value: string };
export type Keyspace = Map<string, KeyEntry>;

const CHUNK = 1000;

/** A reply as comparable text (Buffers as base64, at any depth). */
function text(v: RespValue): string {
  const norm = (x: RespValue): unknown => (Buffer.isBuffer(x) ? x.toString('base64') : Array.isArray(x) ? x.map(norm) : typeof x === 'bigint' ? x.toString() : x);
  const n = norm(v);
  return typeof n === 'string' ? n : JSON.stringify(n);
}

function pairsSorted(flat: RespValue): string {
  if (!Array.isArray(flat)) return text(flat);
  const pairs: string[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) pairs.push(`${text(flat[i]!)}=${text(flat[i + 1]!)}`);
  return pairs.sort().join(',');
}

async function pipelined(c: RespClient, cmds: readonly (readonly (string | Buffer)[])[]): Promise<RespValue[]> {
  const out: RespValue[] = [];
  for (let i = 0; i < cmds.length; i += CHUNK) {
    out.push(...(await Promise.all(cmds.slice(i, i + CHUNK).map((argv) => c.run(argv, { buffers: true, timeoutMs: 30_000 })))));
  }
  return out;
}

/** Every key name on `port` (SCAN with COUNT 1000; duplicates folded). */
export async function scanKeys(c: RespClient): Promise<Buffer[]> {
  const seen = new Map<string, Buffer>();
  let cursor = '0';
  for (let rounds = 0; rounds < 1_000_000; rounds++) {
    const r = (await c.run(['SCAN', cursor, 'COUNT', '1000'], { buffers: true, timeoutMs: 30_000 })) as RespValue;
    if (!Array.isArray(r)) throw new Error(`SCAN answered ${text(r)}`);
    cursor = (r[0] as Buffer).toString();
    for (const k of r[1] as Buffer[]) seen.set(k.toString('latin1'), k);
    if (cursor === '0') break;
  }
  return [...seen.values()];
}

/** The keyspace of the server on `port`; `bloomProbe` = items to test in every bloom filter. */
export async function readKeyspace(port: number, opts: { bloomProbe?: readonly string[] } = {}): Promise<Keyspace> {
  const c = await RespClient.connect(port);
  try {
    await c.run(['READONLY']);
    const keys = await scanKeys(c);
    const meta = await pipelined(c, keys.flatMap((k) => [['TYPE', k], ['PEXPIRETIME', k]]));
    const types = keys.map((_k, i) => (meta[2 * i] as Buffer).toString());
    const reads = keys.map((k, i): (string | Buffer)[][] => {
      switch (types[i]) {
        case 'string': return [['GET', k]];
        case 'list': return [['LRANGE', k, '0', '-1']];
        case 'set': return [['SMEMBERS', k]];
        case 'hash': return [['HGETALL', k]];
        case 'zset': return [['ZRANGE', k, '0', '-1', 'WITHSCORES']];
        case 'MBbloom--': return [['BF.INFO', k], ...(opts.bloomProbe?.length ? [['BF.MEXISTS', k, ...opts.bloomProbe]] : [])];
        default: return [];
      }
    });
    const values = await pipelined(c, reads.flat());
    const out: Keyspace = new Map();
    let v = 0;
    keys.forEach((k, i) => {
      const type = types[i]!;
      const got = values.slice(v, v + reads[i]!.length);
      v += reads[i]!.length;
      let value: string;
      switch (type) {
        case 'set': value = Array.isArray(got[0]) ? (got[0] as Buffer[]).map((b) => b.toString('base64')).sort().join(',') : text(got[0]!); break;
        case 'hash': value = pairsSorted(got[0]!); break;
        default: value = got.map(text).join('|');
      }
      out.set(k.toString('latin1'), { type, exp: Number(meta[2 * i + 1]), value });
    });
    return out;
  } finally {
    await c.close();
  }
}

/**
 * Differences between `want` (the primary) and `got` (the replica), at most `limit`
 * lines: missing, extra, type, value, or expiry beyond `ttlToleranceMs`.
 */
export function diffKeyspaces(want: Keyspace, got: Keyspace, ttlToleranceMs: number, limit = 20): string[] {
  const out: string[] = [];
  const push = (s: string): void => {
    if (out.length < limit) out.push(s);
    else if (out.length === limit) out.push('…');
  };
  const short = (s: string): string => (s.length > 120 ? `${s.slice(0, 120)}…(${s.length} chars)` : s);
  for (const [k, w] of want) {
    const g = got.get(k);
    if (g === undefined) push(`missing on replica: ${k} (${w.type})`);
    else if (g.type !== w.type) push(`type of ${k}: replica ${g.type}, primary ${w.type}`);
    else if (g.value !== w.value) push(`value of ${k} (${w.type}): replica ${short(g.value)}, primary ${short(w.value)}`);
    else if ((w.exp < 0 || g.exp < 0) ? w.exp !== g.exp : Math.abs(w.exp - g.exp) > ttlToleranceMs) push(`PEXPIRETIME of ${k}: replica ${g.exp}, primary ${w.exp}`);
  }
  for (const [k, g] of got) if (!want.has(k)) push(`extra on replica: ${k} (${g.type})`);
  return out;
}
