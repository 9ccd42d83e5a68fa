/**
 * RESP wire constants: type bytes, line terminators and the protocol limits Redis 7
 * enforces while reading requests. Values only; no logic lives here.
 *
 * Limits (Redis 7.0 networking.c behaviour, checked against redis-server 7.0.15):
 *
 *   inline line / `*n` line / `$n` line   > 64 KiB without its terminator
 *                                          → "too big inline request" /
 *                                            "too big mbulk count string" /
 *                                            "too big bulk count string"
 *   `*n` with n not an int64 or n > INT_MAX → "invalid multibulk length"
 *   `*n` with n <= 0                        → no command (skipped)
 *   `$n` with n not an int64, n < 0 or n > proto-max-bulk-len (512 MiB)
 *                                          → "invalid bulk length"
 *   before AUTH, when a password is set:   `*n` n > 10      → "unauthenticated multibulk length"
 *                                          `$n` n > 16384   → "unauthenticated bulk length"
 */

/** RESP2/RESP3 type bytes (the first byte of every value). */
export const RespType = {
  /** `+` simple string */
  SIMPLE_STRING: 0x2b,
  /** `-` simple error */
  SIMPLE_ERROR: 0x2d,
  /** `:` integer */
  INTEGER: 0x3a,
  /** `$` bulk string (`$-1` is the RESP2 null) */
  BULK_STRING: 0x24,
  /** `*` array (`*-1` is the RESP2 null array) */
  ARRAY: 0x2a,
  /** `_` RESP3 null */
  NULL: 0x5f,
  /** `,` RESP3 double */
  DOUBLE: 0x2c,
  /** `#` RESP3 boolean (`#t` / `#f`) */
  BOOLEAN: 0x23,
  /** `(` RESP3 big number */
  BIG_NUMBER: 0x28,
  /** `!` RESP3 blob error */
  BLOB_ERROR: 0x21,
  /** `=` RESP3 verbatim string (`=15\r\ntxt:Some string\r\n`) */
  VERBATIM_STRING: 0x3d,
  /** `%` RESP3 map (count = number of key/value pairs) */
  MAP: 0x25,
  /** `~` RESP3 set */
  SET: 0x7e,
  /** `>` RESP3 push */
  PUSH: 0x3e,
  /** `|` RESP3 attribute (a map that precedes the value it annotates) */
  ATTRIBUTE: 0x7c,
} as const;

/** `\r` */
export const CR = 0x0d;
/** `\n` */
export const LF = 0x0a;
/** `\r\n` as bytes. */
export const CRLF: Buffer = Buffer.from('\r\n', 'latin1');

/** Redis PROTO_INLINE_MAX_SIZE: the longest inline request or `*`/`$` count line. */
export const PROTO_INLINE_MAX_SIZE = 64 * 1024;

/** Redis default `proto-max-bulk-len` (512 MiB). Settable via CONFIG SET. */
export const DEFAULT_PROTO_MAX_BULK_LEN = 512 * 1024 * 1024;

/** Redis rejects a `*` count above INT_MAX; it has no lower configurable cap. */
export const PROTO_MAX_MULTIBULK_LEN = 2147483647;

/** Largest `*` count accepted before AUTH when a password is required (Redis 7). */
export const PROTO_UNAUTH_MAX_MULTIBULK_LEN = 10;

/** Largest `$` length accepted before AUTH when a password is required (Redis 7). */
export const PROTO_UNAUTH_MAX_BULK_LEN = 16384;
