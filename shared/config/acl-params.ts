/**
 * CONFIG GET / CONFIG SET parameters of the ACL (docs/acl.md): Redis's requirepass,
 * aclfile (read-only at run time, as in Redis), acllog-max-len and acl-pubsub-default,
 * and Shoal's per-user rate limits. Workers hold them too (the proxy forwards CONFIG
 * SET to every worker, which must accept it); only the proxy acts on them, through
 * its RuntimeConfig apply hook (proxy/acl/acl-store.ts).
 */
import { intParam, type Param } from './param.js';


/**
 * Parses rate-limit-users: comma-separated `name:ops` pairs (0 = no limit for that
 * user). Returns the map, or an error text naming the bad part.
 */
export function parseRateLimitUsers(text: string): Map<string, number> | string {
  const out = new Map<string, number>();
  if (text.trim() === '') return out;
  for (const part of text.split(',')) {
    const item = part.trim();
    const colon = item.lastIndexOf(':');
    const ops = item.slice(colon + 1);
    if (colon <= 0 || !/^\d+$/.test(ops) || Number(ops) > 1e9) {
      return `'${item}' is not <user>:<commands per second> (e.g. alice:1000,bob:50)`;
    }
    out.set(item.slice(0, colon), Number(ops));
  }
  return out;
}

/** rate-limit-users, validated here so a bad value changes nothing. */
const rateLimitUsersParam: Param = {
  name: 'rate-limit-users',
  get: (rc) => rc.config.rateLimitUsers,
  set: (rc, v) => {
    const parsed = parseRateLimitUsers(v);
    if (typeof parsed === 'string') return parsed;
    rc.config.rateLimitUsers = v;
    return undefined;
  },
};

export const ACL_PARAMS: readonly Param[] = [
  {
    name: 'requirepass',
    get: (rc) => rc.config.requirepass,
    set: (rc, v) => {
      rc.config.requirepass = v;
      return undefined;
    },
  },
  { name: 'aclfile', get: (rc) => rc.config.aclfile, set: () => "can't set immutable config" },
  intParam('acllog-max-len', 'acllogMaxLen', 0, Number.MAX_SAFE_INTEGER),
  {
    name: 'acl-pubsub-default',
    get: (rc) => rc.config.aclPubsubDefault,
    set: (rc, v) => {
      const value = v.toLowerCase();
      if (value !== 'allchannels' && value !== 'resetchannels') return 'argument(s) must be one of the following: allchannels, resetchannels';
      rc.config.aclPubsubDefault = value;
      return undefined;
    },
  },
  intParam('rate-limit-ops', 'rateLimitOps', 0, 1_000_000_000),
  intParam('rate-limit-burst', 'rateLimitBurst', 0, 1_000_000_000),
  rateLimitUsersParam,
];
