/**
 * The one config loader: defaults ← JSON file (`--config FILE`) ← environment
 * (`SHOAL_*`) ← command-line flags. Every value is validated against the schema; an
 * error names the key, the source and the allowed values.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError } from '../errors.js';
import { CONFIG_KEYS, parseBytes, type ConfigKey, type ShoalConfig } from './schema.js';

export interface LoadOptions {
  argv?: string[];
  env?: NodeJS.ProcessEnv;
  /** Extra boolean/string flags a binary accepts besides config keys. */
  extraFlags?: Record<string, { type: 'boolean' | 'string' }>;
}

export interface Loaded {
  config: ShoalConfig;
  flags: Record<string, string | boolean | undefined>;
}

export function validateValue(spec: ConfigKey, raw: unknown, source: string): string | number {
  const where = `${spec.key} (from ${source})`;
  const kind = spec.kind;
  switch (kind.type) {
    case 'int': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
      if (!Number.isInteger(n) || n < kind.min || n > kind.max) {
        throw new ConfigError(where, `expected an integer from ${kind.min} to ${kind.max}, got ${JSON.stringify(raw)}`);
      }
      return n;
    }
    case 'bytes': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' ? parseBytes(raw) : undefined;
      if (n === undefined || !Number.isInteger(n) || n < kind.min || n > kind.max) {
        throw new ConfigError(where, `expected a size from ${kind.min} to ${kind.max} bytes (units: k kb m mb g gb), got ${JSON.stringify(raw)}`);
      }
      return n;
    }
    case 'enum':
      if (typeof raw !== 'string' || !kind.values.includes(raw)) {
        throw new ConfigError(where, `expected one of ${kind.values.join(', ')}, got ${JSON.stringify(raw)}`);
      }
      return raw;
    case 'string':
      if (typeof raw !== 'string' || (raw === '' && spec.key !== 'save')) throw new ConfigError(where, `expected a non-empty string, got ${JSON.stringify(raw)}`);
      return raw;
  }
}

export function defaultConfig(): ShoalConfig {
  const out: Record<string, unknown> = {};
  for (const k of CONFIG_KEYS) out[k.key] = k.default;
  return out as unknown as ShoalConfig;
}

export function loadConfig(opts: LoadOptions = {}): Loaded {
  const env = opts.env ?? process.env;
  const options: Record<string, { type: 'boolean' | 'string' }> = { config: { type: 'string' }, help: { type: 'boolean' } };
  for (const k of CONFIG_KEYS) options[k.flag] = { type: 'string' };
  Object.assign(options, opts.extraFlags ?? {});
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: opts.argv ?? process.argv.slice(2), options, strict: true, allowPositionals: false }).values as Record<string, string | boolean | undefined>;
  } catch (err) {
    throw new ConfigError('argv', (err as Error).message);
  }

  const config = defaultConfig() as unknown as Record<string, unknown>;
  const file = values['config'];
  if (typeof file === 'string') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError('config', `cannot read ${file}: ${(err as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError('config', `${file} must hold a JSON object`);
    for (const [key, raw] of Object.entries(parsed)) {
      const spec = CONFIG_KEYS.find((k) => k.key === key);
      if (!spec) throw new ConfigError(key, `unknown key in ${file}; known keys: ${CONFIG_KEYS.map((k) => k.key).join(', ')}`);
      config[key] = validateValue(spec, raw, file);
    }
  }
  for (const spec of CONFIG_KEYS) {
    const raw = env[spec.env];
    // An empty variable means "unset", except for `save`, where "" means "no save points" (as Redis).
    if (raw !== undefined && (raw !== '' || spec.key === 'save')) config[spec.key] = validateValue(spec, raw, `env ${spec.env}`);
  }
  for (const spec of CONFIG_KEYS) {
    const raw = values[spec.flag];
    if (typeof raw === 'string') config[spec.key] = validateValue(spec, raw, `--${spec.flag}`);
  }
  return { config: config as unknown as ShoalConfig, flags: values };
}

/** The `--help` text: usage line, then every config flag with its default. */
export function helpText(usage: string, extra: string[] = []): string {
  const lines = [usage, '', 'Options (flag / environment / default):'];
  for (const k of CONFIG_KEYS) lines.push(`  --${k.flag.padEnd(22)} ${k.env.padEnd(26)} ${String(k.default).padEnd(10)} ${k.help}`);
  lines.push(`  --${'config FILE'.padEnd(22)} ${''.padEnd(26)} ${''.padEnd(10)} JSON file with any of the keys above (camelCase)`);
  for (const e of extra) lines.push(`  ${e}`);
  lines.push(`  --${'help'.padEnd(22)} ${''.padEnd(26)} ${''.padEnd(10)} print this help`);
  return lines.join('\n') + '\n';
}

/** The config as SHOAL_* environment variables, so child processes load the same values. */
export function configToEnv(config: ShoalConfig): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of CONFIG_KEYS) env[k.env] = String(config[k.key]);
  return env;
}
