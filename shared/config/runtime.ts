/**
 * CONFIG GET / CONFIG SET: the parameters a running process exposes, named as Redis
 * names them. Backed by the process's ShoalConfig; parameters Shoal accepts for
 * client compatibility but does not act on yet (`save`, `appendonly`) are stored and
 * reported honestly as what was set.
 */
import type { ShoalConfig } from './schema.js';
import { parseBytes, EVICTION_POLICY_NAMES } from './schema.js';
import type { ReplyWriter } from '../resp/reply-writer.js';
import { globMatch } from '../glob.js';
import { TLS_PARAMS } from '../tls/params.js';
import { OBSERVABILITY_PARAMS } from './observability-params.js';
import { CLIENT_LIMIT_PARAMS } from './client-limit-params.js';
import { ACL_PARAMS } from './acl-params.js';
import { notifyKeyspaceEventsParam } from '../pubsub/keyspace-flags.js';
import { intParam, type Param } from './param.js';
import { AOF_PARAMS } from './aof-params.js';
import { PERSISTENCE_PARAMS } from './persistence-params.js';
import { REPLICATION_PARAMS } from './replication-params.js';

export type { Param };



function bytesParam(name: string, key: 'maxmemory' | 'protoMaxBulkLen', min: number): Param {
  return {
    name,
    get: (rc) => String(rc.config[key]),
    set: (rc, v) => {
      const n = parseBytes(v);
      if (n === undefined) return 'argument must be a memory value';
      if (n < min) return `argument must be between ${min} and 9223372036854775807 inclusive`;
      rc.config[key] = n;
      return undefined;
    },
  };
}


const policyParam: Param = {
  name: 'maxmemory-policy',
  get: (rc) => rc.config.maxmemoryPolicy,
  set: (rc, v) => {
    const p = v.toLowerCase();
    if (!(EVICTION_POLICY_NAMES as readonly string[]).includes(p)) return `argument(s) must be one of the following: ${EVICTION_POLICY_NAMES.join(', ')}`;
    rc.config.maxmemoryPolicy = p;
    return undefined;
  },
};


const PARAMS: readonly Param[] = [
  bytesParam('maxmemory', 'maxmemory', 0),
  bytesParam('proto-max-bulk-len', 'protoMaxBulkLen', 1024 * 1024),
  policyParam,
  intParam('maxmemory-samples', 'maxmemorySamples', 1, 2147483647),
  intParam('lfu-log-factor', 'lfuLogFactor', 0, 2147483647),
  intParam('lfu-decay-time', 'lfuDecayTime', 0, 2147483647),
  intParam('list-max-listpack-size', 'listMaxListpackSize', -5, 2147483647, 'list-max-ziplist-size'),
  intParam('hash-max-listpack-entries', 'hashMaxListpackEntries', 0, 2147483647, 'hash-max-ziplist-entries'),
  intParam('hash-max-listpack-value', 'hashMaxListpackValue', 0, 2147483647, 'hash-max-ziplist-value'),
  intParam('set-max-intset-entries', 'setMaxIntsetEntries', 0, 2147483647),
  intParam('zset-max-listpack-entries', 'zsetMaxListpackEntries', 0, 2147483647, 'zset-max-ziplist-entries'),
  intParam('zset-max-listpack-value', 'zsetMaxListpackValue', 0, 2147483647, 'zset-max-ziplist-value'),
  ...PERSISTENCE_PARAMS,
  ...AOF_PARAMS,
  ...REPLICATION_PARAMS,
  { name: 'port', get: (rc) => String(rc.port) },
  { name: 'bind', get: (rc) => rc.config.host },
  { name: 'databases', get: () => '1' },
  { name: 'cluster-enabled', get: (rc) => (rc.clusterEnabled ? 'yes' : 'no') },
  { name: 'dir', get: (rc) => rc.config.dataDir },
  ...TLS_PARAMS,
  ...OBSERVABILITY_PARAMS,
  ...CLIENT_LIMIT_PARAMS,
  ...ACL_PARAMS,
  notifyKeyspaceEventsParam,
];

export class RuntimeConfig {
  readonly values = new Map<string, string>();
  /**
   * Run after a CONFIG SET applied all its values (names as given in Redis's spelling):
   * settings that take effect together (TLS certificates) are rebuilt here. A hook
   * returning an error rolls the whole SET back, as Redis does.
   */
  readonly applyHooks: Array<(changed: readonly string[]) => { param: string; message: string } | undefined> = [];
  constructor(readonly config: ShoalConfig, readonly port: number, readonly clusterEnabled: boolean) {}

  /** CONFIG GET parameter [parameter ...] */
  get(out: ReplyWriter, patterns: readonly Buffer[]): void {
    const hits: Param[] = [];
    for (const p of PARAMS) {
      const name = Buffer.from(p.name);
      if (patterns.some((pat) => globMatch(pat, 0, pat.length, name, 0, name.length, true))) hits.push(p);
    }
    out.mapHeader(hits.length);
    for (const p of hits) {
      out.bulk(p.name);
      out.bulk(p.get(this));
    }
  }

  /** CONFIG SET parameter value [parameter value ...]: all or nothing, as Redis 7. */
  set(out: ReplyWriter, args: readonly Buffer[]): void {
    if (args.length === 0 || args.length % 2 !== 0) return out.error("ERR wrong number of arguments for 'config|set' command");
    const pending: Array<[Param, string]> = [];
    for (let i = 0; i < args.length; i += 2) {
      const name = args[i]!.toString().toLowerCase();
      const p = PARAMS.find((x) => x.name === name || x.alias === name);
      if (!p || !p.set) return out.error(`ERR Unknown option or number of arguments for CONFIG SET - '${args[i]!.toString()}'`);
      if (pending.some(([q]) => q === p)) return out.error(`ERR CONFIG SET failed (possibly related to argument '${name}') - duplicate parameter`);
      pending.push([p, args[i + 1]!.toString()]);
    }
    const saved = { ...this.config };
    const savedValues = new Map(this.values);
    for (const [p, v] of pending) {
      const err = p.set!(this, v);
      if (err !== undefined) {
        Object.assign(this.config, saved);
        this.values.clear();
        for (const [k, val] of savedValues) this.values.set(k, val);
        return out.error(`ERR CONFIG SET failed (possibly related to argument '${p.name}') - ${err}`);
      }
    }
    for (const hook of this.applyHooks) {
      const failed = hook(pending.map(([p]) => p.name));
      if (failed !== undefined) {
        Object.assign(this.config, saved);
        this.values.clear();
        for (const [k, val] of savedValues) this.values.set(k, val);
        return out.error(`ERR CONFIG SET failed (possibly related to argument '${failed.param}') - ${failed.message}`);
      }
    }
    out.ok();
  }

  /** Every settable parameter's current value, for other processes of the same tier. */
  settableValues(): Array<[string, string]> {
    return PARAMS.filter((p) => p.set !== undefined).map((p) => [p.name, p.get(this)]);
  }

  /**
   * Applies values another process reported (settableValues): each that differs is set
   * through its parameter, without hooks. Returns the names of values refused.
   */
  adoptValues(values: ReadonlyArray<readonly [string, string]>): string[] {
    const refused: string[] = [];
    for (const [name, v] of values) {
      const p = PARAMS.find((x) => x.name === name);
      if (p?.set === undefined || p.get(this) === v) continue;
      if (p.set(this, v) !== undefined) refused.push(name);
    }
    return refused;
  }

  /** CONFIG GET|SET|RESETSTAT|REWRITE|HELP, argv including "config". */
  command(out: ReplyWriter, argv: readonly Buffer[], resetStats: () => void): void {
    const sub = argv[1]!.toString('latin1').toLowerCase();
    if (sub === 'get') {
      if (argv.length < 3) return out.error("ERR wrong number of arguments for 'config|get' command");
      return this.get(out, argv.slice(2));
    }
    if (sub === 'set') return this.set(out, argv.slice(2));
    if (sub === 'resetstat') {
      resetStats();
      return out.ok();
    }
    if (sub === 'rewrite') return out.error('ERR The server is running without a config file');
    if (sub === 'help') return out.bulkArray(['CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:', 'GET <pattern>', 'SET <directive> <value>', 'RESETSTAT', 'REWRITE', 'HELP']);
    out.error(`ERR unknown subcommand '${argv[1]!.toString()}'. Try CONFIG HELP.`);
  }
}
