/**
 * Argument parsing helpers for handlers, in Redis's `...OrReply` style: each returns
 * the parsed value, or `undefined` after writing the error reply, so the handler
 * only has to `return`.
 */
import { parseInt64, parseSafeInt } from '../../shared/resp/numbers.js';
import { WireErrors } from '../../shared/resp/wire-errors.js';
import type { ReplyWriter } from '../../shared/resp/reply-writer.js';

export function intOrReply(out: ReplyWriter, arg: Buffer): number | undefined {
  const v = parseSafeInt(arg);
  if (v === null) {
    out.error(WireErrors.notInteger);
    return undefined;
  }
  return v;
}

/** A full int64 (bigint beyond 2^53). */
export function int64OrReply(out: ReplyWriter, arg: Buffer): number | bigint | undefined {
  const v = parseInt64(arg);
  if (v === null) {
    out.error(WireErrors.notInteger);
    return undefined;
  }
  return v;
}

/** Case-insensitive compare of an argument with a lower-case ASCII word. */
export function argIs(arg: Buffer, lowerWord: string): boolean {
  if (arg.length !== lowerWord.length) return false;
  for (let i = 0; i < arg.length; i++) {
    let c = arg[i]!;
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lowerWord.charCodeAt(i)) return false;
  }
  return true;
}

export const INT64_MAX = 9223372036854775807n;
export const INT64_MIN = -9223372036854775808n;
