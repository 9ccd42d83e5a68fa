// A seeded random write workload over every data type, for the replication tests: the
// same seed gives the same command list, so a replica mismatch can be replayed. Keys
// fall in 8 hash-tag groups ({g0}..{g7}) so multi-key commands (LMOVE, SMOVE,
// *STORE, BITOP, PFMERGE, RENAME, COPY, MSET) stay in one slot, as Redis Cluster and
// Shoal's direct clients require. Names say the type (`{g3}z:7` is a sorted set), so
// most commands hit the right type; the few WRONGTYPE / not-a-number errors are
// harmless (errors change nothing and replicate nothing).
//
// TTLs: most are long (100..10000 s, so nothing expires during the comparison); some
// are short (PX 20..400) so keys expire on the primary during the run and reach the
// replica as DELs: wait > 400 ms after the last command before comparing.
import { rng } from './random.js';

export type Argv = string[];

const GROUPS = 8;
const KEYS_PER_TYPE = 12;
/** Items bloom filters get, and the probe set the comparison checks them with. */
export const BLOOM_UNIVERSE = Array.from({ length: 200 }, (_, i) => `m${i}`);

export type WorkloadOptions = {
  seed: number;
  /** Commands to produce (MULTI/EXEC blocks count every line). */
  count: number;
  /** Include bloom filter commands (BF.*): Shoal yes, plain redis-server has none. */
  bloom: boolean;
};

export function replicationWorkload(opts: WorkloadOptions): Argv[] {
  const r = rng(opts.seed);
  const int = (n: number): number => Math.floor(r() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  // Inside MULTI every command uses one tag: Redis Cluster refuses a transaction across slots.
  let pinnedTag: string | null = null;
  const tag = (): string => pinnedTag ?? `{g${int(GROUPS)}}`;
  const key = (t: string, kind: string): string => `${t}${kind}:${int(KEYS_PER_TYPE)}`;
  const member = (n = 40): string => `m${int(n)}`;
  const float = (): string => (r() * 200 - 100).toFixed(int(4));
  const longTtl = (): string[] => pick([['EX', String(100 + int(9900))], ['PX', String(100_000 + int(9_900_000))], ['EXAT', String(Math.floor(Date.now() / 1000) + 100 + int(9000))]]);

  const gens: Array<[weight: number, gen: () => Argv[]]> = [
    // strings
    [6, () => {
      const t = tag();
      const extra = int(10);
      const base: Argv = ['SET', key(t, 's'), `v${int(1000)}`];
      if (extra === 0) return [[...base, ...longTtl()]];
      if (extra === 1) return [[...base, 'PX', String(20 + int(380))]];
      if (extra === 2) return [[...base, 'KEEPTTL']];
      if (extra === 3) return [[...base, pick(['NX', 'XX'])]];
      if (extra === 4) return [[...base, 'GET']];
      return [base];
    }],
    [3, () => [['INCRBYFLOAT', key(tag(), 'n'), float()]]],
    [2, () => [['INCRBY', key(tag(), 'i'), String(int(2000) - 1000)]]],
    [3, () => [['APPEND', key(tag(), 's'), `+${int(100)}`]]],
    [2, () => [['SETRANGE', key(tag(), 's'), String(int(40)), `r${int(100)}`]]],
    [1, () => [['GETDEL', key(tag(), 's')]]],
    [1, () => [['GETEX', key(tag(), 's'), ...longTtl()]]],
    [1, () => {
      const t = tag();
      return [['MSET', key(t, 's'), `ms${int(100)}`, key(t, 's'), `ms${int(100)}`]];
    }],
    // lists
    [5, () => [[pick(['LPUSH', 'RPUSH']), key(tag(), 'l'), ...Array.from({ length: 1 + int(4) }, () => `e${int(100)}`)]]],
    [3, () => [[pick(['LPOP', 'RPOP']), key(tag(), 'l'), ...(r() < 0.5 ? [String(1 + int(3))] : [])]]],
    [3, () => {
      const t = tag();
      return [['LMOVE', key(t, 'l'), key(t, 'l'), pick(['LEFT', 'RIGHT']), pick(['LEFT', 'RIGHT'])]];
    }],
    [1, () => [['LSET', key(tag(), 'l'), String(int(6) - 3), `set${int(10)}`]]],
    [1, () => [['LTRIM', key(tag(), 'l'), String(int(3)), String(int(20) - 5)]]],
    [1, () => [['LREM', key(tag(), 'l'), String(int(5) - 2), `e${int(100)}`]]],
    [1, () => [['LINSERT', key(tag(), 'l'), pick(['BEFORE', 'AFTER']), `e${int(100)}`, `ins${int(10)}`]]],
    [1, () => {
      const t = tag();
      return [['LMPOP', '2', key(t, 'l'), key(t, 'l'), pick(['LEFT', 'RIGHT']), 'COUNT', String(1 + int(3))]];
    }],
    // hashes
    [5, () => [['HSET', key(tag(), 'h'), `x${int(30)}`, `hv${int(100)}`, ...(r() < 0.3 ? [`x${int(30)}`, `hv${int(100)}`] : [])]]],
    [2, () => [['HDEL', key(tag(), 'h'), `x${int(30)}`]]],
    [2, () => [['HINCRBY', key(tag(), 'h'), `c${int(5)}`, String(int(100) - 50)]]],
    [3, () => [['HINCRBYFLOAT', key(tag(), 'h'), `f${int(5)}`, float()]]],
    [1, () => [['HSETNX', key(tag(), 'h'), `x${int(30)}`, 'nx']]],
    // sets
    [5, () => [['SADD', key(tag(), 'set'), ...Array.from({ length: 1 + int(4) }, () => member())]]],
    [2, () => [['SREM', key(tag(), 'set'), member(), member()]]],
    [3, () => [['SPOP', key(tag(), 'set'), ...(r() < 0.5 ? [String(1 + int(4))] : [])]]],
    [1, () => {
      const t = tag();
      return [['SMOVE', key(t, 'set'), key(t, 'set'), member()]];
    }],
    [2, () => {
      const t = tag();
      return [[pick(['SINTERSTORE', 'SUNIONSTORE', 'SDIFFSTORE']), key(t, 'set'), key(t, 'set'), key(t, 'set')]];
    }],
    // sorted sets
    [5, () => [['ZADD', key(tag(), 'z'), ...Array.from({ length: 1 + int(3) }, () => [pick([String(int(100)), float(), '-inf', 'inf']), member()]).flat()]]],
    [2, () => [['ZINCRBY', key(tag(), 'z'), float(), member()]]],
    [1, () => [['ZREM', key(tag(), 'z'), member()]]],
    [3, () => [[pick(['ZPOPMIN', 'ZPOPMAX']), key(tag(), 'z'), ...(r() < 0.5 ? [String(1 + int(3))] : [])]]],
    [3, () => {
      const t = tag();
      return [[pick(['ZUNIONSTORE', 'ZINTERSTORE']), key(t, 'z'), '2', key(t, 'z'), key(t, 'z'), 'WEIGHTS', String(1 + int(3)), float(), 'AGGREGATE', pick(['SUM', 'MIN', 'MAX'])]];
    }],
    [1, () => [['ZREMRANGEBYRANK', key(tag(), 'z'), '0', String(int(3))]]],
    [1, () => {
      const t = tag();
      return [['ZRANGESTORE', key(t, 'z'), key(t, 'z'), '0', String(int(10))]];
    }],
    // bitmaps
    [4, () => [['SETBIT', key(tag(), 'b'), String(int(2000)), String(int(2))]]],
    [2, () => {
      const t = tag();
      const op = pick(['AND', 'OR', 'XOR', 'NOT']);
      return [['BITOP', op, key(t, 'b'), key(t, 'b'), ...(op === 'NOT' ? [] : [key(t, 'b')])]];
    }],
    [2, () => [['BITFIELD', key(tag(), 'b'), 'SET', pick(['u8', 'i16', 'u4']), String(int(500)), String(int(200)), 'INCRBY', 'i8', String(int(300)), String(int(200) - 100)]]],
    // HyperLogLog
    [4, () => [['PFADD', key(tag(), 'p'), ...Array.from({ length: 1 + int(5) }, () => `hll${int(5000)}`)]]],
    [1, () => {
      const t = tag();
      return [['PFMERGE', key(t, 'p'), key(t, 'p'), key(t, 'p')]];
    }],
    // generic keyspace
    [3, () => [['EXPIRE', key(tag(), pick(['s', 'l', 'h', 'set', 'z', 'b', 'p', 'n'])), String(100 + int(9900))]]],
    [1, () => [['PEXPIRE', key(tag(), pick(['s', 'l', 'h', 'set', 'z'])), String(20 + int(380))]]],
    [1, () => [['PEXPIREAT', key(tag(), pick(['s', 'l', 'h'])), String(Date.now() + 200_000 + int(1_000_000))]]],
    [1, () => [['PERSIST', key(tag(), pick(['s', 'l', 'h', 'set', 'z']))]]],
    [2, () => [[pick(['DEL', 'UNLINK']), key(tag(), pick(['s', 'l', 'h', 'set', 'z', 'b', 'p', 'n', 'i']))]]],
    [2, () => {
      const t = tag();
      const kind = pick(['s', 'l', 'h', 'set', 'z']);
      return [[pick(['RENAME', 'RENAMENX']), key(t, kind), key(t, kind)]];
    }],
    [2, () => {
      const t = tag();
      const kind = pick(['s', 'l', 'h', 'set', 'z', 'b', 'p']);
      return [['COPY', key(t, kind), key(t, kind), ...(r() < 0.5 ? ['REPLACE'] : [])]];
    }],
  ];
  if (opts.bloom) {
    gens.push(
      [3, () => [['BF.ADD', key(tag(), 'bf'), pick(BLOOM_UNIVERSE)]]],
      [1, () => [['BF.MADD', key(tag(), 'bf'), pick(BLOOM_UNIVERSE), pick(BLOOM_UNIVERSE)]]],
      [1, () => [['BF.INSERT', key(tag(), 'bf'), 'CAPACITY', '50', 'ITEMS', pick(BLOOM_UNIVERSE), pick(BLOOM_UNIVERSE)]]],
    );
  }
  const total = gens.reduce((s, [w]) => s + w, 0);
  const one = (): Argv[] => {
    let x = r() * total;
    for (const [w, g] of gens) {
      x -= w;
      if (x < 0) return g();
    }
    return gens[0]![1]();
  };

  const out: Argv[] = [];
  while (out.length < opts.count) {
    if (r() < 0.03) {
      // A transaction: its commands replicate together (MULTI ... EXEC in the stream).
      out.push(['MULTI']);
      pinnedTag = `{g${int(GROUPS)}}`;
      for (let n = 2 + int(3); n > 0; n--) out.push(...one());
      pinnedTag = null;
      out.push(['EXEC']);
    } else {
      out.push(...one());
    }
  }
  return out;
}
