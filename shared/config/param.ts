/**
 * A CONFIG GET / CONFIG SET parameter (shared/config/runtime.ts holds the table) and
 * the integer parameter every numeric key uses, parsed and worded as Redis 7 does.
 */
import type { RuntimeConfig } from './runtime.js';
import type { ShoalConfig } from './schema.js';

export interface Param {
  name: string;
  /** Redis's older name for the parameter (CONFIG SET accepts it, GET matches it). */
  alias?: string;
  get(rc: RuntimeConfig): string;
  /** Returns an error detail (Redis's text after ` - `), or undefined when applied. */
  set?(rc: RuntimeConfig, v: string): string | undefined;
}

/** Redis's LLONG_MAX as its range errors print it. */
export const LLONG_MAX_TEXT = '9223372036854775807';

/** Redis string2ll for numeric configs: an optional '-', no '+', spaces or leading zeros. */
export function parseConfigInteger(v: string): number | undefined {
  if (!/^(0|-?[1-9]\d{0,18})$/.test(v)) return undefined;
  return Number(v);
}

type IntKey = { [K in keyof ShoalConfig]: ShoalConfig[K] extends number ? K : never }[keyof ShoalConfig];

/** An integer parameter in [min, max]; max = Number.MAX_SAFE_INTEGER reads as LLONG_MAX in errors. */
export function intParam(name: string, key: IntKey, min: number, max: number, alias?: string): Param {
  const maxText = max === Number.MAX_SAFE_INTEGER ? LLONG_MAX_TEXT : String(max);
  return {
    name,
    ...(alias ? { alias } : {}),
    get: (rc) => String(rc.config[key]),
    set: (rc, v) => {
      const n = parseConfigInteger(v);
      if (n === undefined) return "argument couldn't be parsed into an integer";
      if (n < min || n > max) return `argument must be between ${min} and ${maxText} inclusive`;
      rc.config[key] = n;
      return undefined;
    },
  };
}
