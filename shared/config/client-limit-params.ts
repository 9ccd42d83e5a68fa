/**
 * CONFIG GET / CONFIG SET parameters of the client limits (docs/resilience.md):
 * maxclients, timeout, tcp-keepalive, client-query-buffer-limit and
 * client-output-buffer-limit, named, ranged and worded as in Redis 7. Workers hold them
 * too (the proxy forwards CONFIG SET to every worker, which must accept it), but only
 * the proxy acts on them (proxy/client-limits.ts).
 */
import { intParam, LLONG_MAX_TEXT, type Param } from './param.js';
import { formatOutputBufferLimit, outputLimitsFrom, parseOutputBufferLimit } from './output-buffer-limit.js';


/** Redis memtoull for memory configs; a value past 2^63 reads as out of range, as in Redis. */
const queryBufferLimitParam: Param = {
  name: 'client-query-buffer-limit',
  get: (rc) => String(rc.config.clientQueryBufferLimit),
  set: (rc, v) => {
    const m = /^(\d+)(b|k|kb|m|mb|g|gb)?$/i.exec(v);
    if (!m) return 'argument must be a memory value';
    const mul: Record<string, number> = { '': 1, b: 1, k: 1000, kb: 1024, m: 1e6, mb: 1024 ** 2, g: 1e9, gb: 1024 ** 3 };
    const n = Number(m[1]) * mul[(m[2] ?? '').toLowerCase()]!;
    const min = 1024 * 1024;
    if (n < min || n > 2 ** 63) return `argument must be between ${min} and ${LLONG_MAX_TEXT} inclusive`;
    rc.config.clientQueryBufferLimit = Math.min(n, Number.MAX_SAFE_INTEGER);
    return undefined;
  },
};

const outputBufferLimitParam: Param = {
  name: 'client-output-buffer-limit',
  get: (rc) => {
    const limits = outputLimitsFrom(rc.config.clientOutputBufferLimit);
    return typeof limits === 'string' ? rc.config.clientOutputBufferLimit : formatOutputBufferLimit(limits);
  },
  set: (rc, v) => {
    const base = outputLimitsFrom(rc.config.clientOutputBufferLimit);
    if (typeof base === 'string') return base;
    const next = parseOutputBufferLimit(v, base);
    if (typeof next === 'string') return next;
    rc.config.clientOutputBufferLimit = formatOutputBufferLimit(next);
    return undefined;
  },
};

export const CLIENT_LIMIT_PARAMS: readonly Param[] = [
  intParam('maxclients', 'maxclients', 1, 4294967295),
  intParam('timeout', 'timeout', 0, 2147483647),
  intParam('tcp-keepalive', 'tcpKeepalive', 0, 2147483647),
  queryBufferLimitParam,
  outputBufferLimitParam,
];
