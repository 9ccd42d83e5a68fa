/**
 * Internal errors: one class, stable codes.
 *
 * `ShoalError.code` is a `SHOAL_ERR_*` string that is never reused or renamed once
 * shipped; tests and log queries key on it. The wire text a Redis client sees is
 * separate (shared/resp/wire-errors.ts): an internal error is mapped to wire text once,
 * at the edge that replies.
 *
 * Across postMessage or internal frames an error travels as `{ code, message }` and is
 * rebuilt with `ShoalError.fromJSON`, because structured clone drops class identity.
 */

export const ErrorCodes = {
  /** Malformed RESP from a client; the connection is closed after the reply. */
  PROTOCOL: 'SHOAL_ERR_PROTOCOL',
  /** A configuration value failed validation; the message names the key. */
  CONFIG: 'SHOAL_ERR_CONFIG',
  /** The slab arena could not satisfy an allocation (page limit reached). */
  ARENA_FULL: 'SHOAL_ERR_ARENA_FULL',
  /** An internal frame was malformed (bad magic, kind or length). */
  FRAME: 'SHOAL_ERR_FRAME',
  /** An upstream shard worker is unreachable or its link broke. */
  UPSTREAM_DOWN: 'SHOAL_ERR_UPSTREAM_DOWN',
  /** An upstream request did not complete within its deadline. */
  UPSTREAM_TIMEOUT: 'SHOAL_ERR_UPSTREAM_TIMEOUT',
  /** The topology file or message is missing or inconsistent. */
  TOPOLOGY: 'SHOAL_ERR_TOPOLOGY',
  /** A child process (shard, proxy) failed to start or exited early. */
  PROCESS: 'SHOAL_ERR_PROCESS',
  /** A persistence file (snapshot, append-only log) is damaged or cannot be written. */
  PERSISTENCE: 'SHOAL_ERR_PERSISTENCE',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class ShoalError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ShoalError';
    this.code = code;
  }

  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }

  static fromJSON(v: { code: ErrorCode; message: string }): ShoalError {
    return new ShoalError(v.code, v.message);
  }
}

/**
 * A RESP protocol violation. `message` is the text after `-ERR ` exactly as Redis words
 * it, e.g. `Protocol error: invalid multibulk length`.
 */
export class ProtocolError extends ShoalError {
  constructor(message: string) {
    super(ErrorCodes.PROTOCOL, message);
    this.name = 'ProtocolError';
  }
}

/** A configuration error; `key` is the dotted config key that failed. */
export class ConfigError extends ShoalError {
  readonly key: string;
  constructor(key: string, message: string) {
    super(ErrorCodes.CONFIG, `config ${key}: ${message}`);
    this.name = 'ConfigError';
    this.key = key;
  }
}
