/**
 * Precomputed reply bytes, byte-identical to Redis 7's shared replies. Hot paths
 * write these with one copy instead of formatting.
 */
const b = (s: string): Buffer => Buffer.from(s, 'latin1');

export const Replies = {
  ok: b('+OK\r\n'),
  pong: b('+PONG\r\n'),
  queued: b('+QUEUED\r\n'),
  nullBulk2: b('$-1\r\n'),
  nullArray2: b('*-1\r\n'),
  null3: b('_\r\n'),
  emptyArray: b('*0\r\n'),
  emptyBulk: b('$0\r\n\r\n'),
  zero: b(':0\r\n'),
  one: b(':1\r\n'),
  minusOne: b(':-1\r\n'),
  minusTwo: b(':-2\r\n'),
  crlf: b('\r\n'),
} as const;

/** `:n\r\n` for small n, indexed by n. */
export const SMALL_INTS: readonly Buffer[] = Array.from({ length: 10000 }, (_, i) => b(`:${i}\r\n`));

/** `$n\r\n` bulk headers for small n, indexed by n. */
export const BULK_HEADERS: readonly Buffer[] = Array.from({ length: 1024 }, (_, i) => b(`$${i}\r\n`));

/** `*n\r\n` array headers for small n, indexed by n. */
export const ARRAY_HEADERS: readonly Buffer[] = Array.from({ length: 1024 }, (_, i) => b(`*${i}\r\n`));
