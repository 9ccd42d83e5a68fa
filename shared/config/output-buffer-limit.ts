/**
 * `client-output-buffer-limit`: Redis's per-class output limits, parsed and printed in
 * Redis's exact format (config.c updateClientOutputBufferLimit / CONFIG GET):
 *
 *   normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60
 *   <class> <hard bytes> <soft bytes> <soft seconds>, repeated
 *
 * A CONFIG SET value names any subset of the classes (`replica` is an alias of `slave`,
 * class names are case-insensitive, sizes take Redis's memory units); the classes it
 * does not name keep their limits. 0 means no limit. Errors are Redis's strings.
 */

/** One class's limits: close at `hard` bytes, or after `softSeconds` above `soft` bytes. */
export interface OutputLimit {
  hard: number;
  soft: number;
  softSeconds: number;
}

/** The classes in Redis's CONFIG GET order. `master` exists in Redis but cannot be set. */
export const OUTPUT_CLASSES = ['normal', 'slave', 'pubsub'] as const;
export type OutputClassName = (typeof OUTPUT_CLASSES)[number];

export type OutputLimits = Record<OutputClassName, OutputLimit>;

export const DEFAULT_OUTPUT_BUFFER_LIMIT = 'normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60';

/** Redis memtoull: digits with an optional b/k/kb/m/mb/g/gb unit (k = 1000, kb = 1024). */
function memToBytes(text: string): number | undefined {
  const m = /^(\d+)(b|k|kb|m|mb|g|gb)?$/i.exec(text);
  if (!m) return undefined;
  const mul: Record<string, number> = { '': 1, b: 1, k: 1000, kb: 1024, m: 1e6, mb: 1024 ** 2, g: 1e9, gb: 1024 ** 3 };
  const n = Number(m[1]) * mul[(m[2] ?? '').toLowerCase()]!;
  return Number.isSafeInteger(n) ? n : undefined;
}

function className(token: string): OutputClassName | undefined {
  const t = token.toLowerCase();
  if (t === 'normal' || t === 'pubsub' || t === 'slave') return t;
  if (t === 'replica') return 'slave';
  return undefined;
}

/**
 * Applies `text` on top of `base`. Returns the new limits, or Redis's error detail
 * (the text after `CONFIG SET failed (...) - `). Nothing changes on error.
 */
export function parseOutputBufferLimit(text: string, base: OutputLimits): OutputLimits | string {
  // sdssplitlen(" "): every single space separates, so doubled or edge spaces make empty tokens.
  const tokens = text === '' ? [] : text.split(' ');
  if (tokens.length % 4 !== 0) return 'Wrong number of arguments in buffer limit configuration.';
  const next: OutputLimits = { normal: { ...base.normal }, slave: { ...base.slave }, pubsub: { ...base.pubsub } };
  for (let i = 0; i < tokens.length; i += 4) {
    const cls = className(tokens[i]!);
    if (cls === undefined) return 'Invalid client class specified in buffer limit configuration.';
    const hard = memToBytes(tokens[i + 1]!);
    const soft = memToBytes(tokens[i + 2]!);
    const secondsText = tokens[i + 3]!;
    const seconds = /^\+?\d+$/.test(secondsText) ? Number(secondsText) : NaN;
    if (hard === undefined || soft === undefined || !Number.isSafeInteger(seconds)) {
      return 'Error in hard, soft or soft_seconds setting in buffer limit configuration.';
    }
    next[cls] = { hard, soft, softSeconds: seconds };
  }
  return next;
}

/** CONFIG GET's form: every class, sizes in bytes. */
export function formatOutputBufferLimit(limits: OutputLimits): string {
  return OUTPUT_CLASSES.map((c) => `${c} ${limits[c].hard} ${limits[c].soft} ${limits[c].softSeconds}`).join(' ');
}

const ZERO: OutputLimits = {
  normal: { hard: 0, soft: 0, softSeconds: 0 },
  slave: { hard: 0, soft: 0, softSeconds: 0 },
  pubsub: { hard: 0, soft: 0, softSeconds: 0 },
};

/** The default limits (Redis 7's). */
export const DEFAULT_OUTPUT_LIMITS = parseOutputBufferLimit(DEFAULT_OUTPUT_BUFFER_LIMIT, ZERO) as OutputLimits;

/** Parses a complete value (a config file or flag), on top of the defaults. */
export function outputLimitsFrom(text: string): OutputLimits | string {
  return parseOutputBufferLimit(text, DEFAULT_OUTPUT_LIMITS);
}
