// Finds where one RESP reply ends, on buffer offsets, without decoding it: the load
// generator only needs reply boundaries (to match replies to requests in order) and
// the first word of error replies (errors by type). No allocation except for errors.
// RESP2 and RESP3 types; a type byte that is neither is a protocol error (thrown).

/** Returned by skipReply when the buffer ends before the reply does. */
export const INCOMPLETE = -1;

export class ReplyProtocolError extends Error {
  override name = 'ReplyProtocolError';
}

/** Offset of the '\n' ending the line that starts at pos, or INCOMPLETE. */
function lineEnd(buf: Uint8Array, pos: number, end: number): number {
  for (let i = pos; i < end; i++) {
    if (buf[i] === 13) return i + 1 < end ? i + 1 : INCOMPLETE;
  }
  return INCOMPLETE;
}

/**
 * The offset right after the reply starting at buf[pos], or INCOMPLETE when
 * buf[pos..end) holds only part of it.
 */
export function skipReply(buf: Uint8Array, pos: number, end: number): number {
  if (pos >= end) return INCOMPLETE;
  const type = buf[pos];
  switch (type) {
    case 43: // + simple string
    case 45: // - error
    case 58: // : integer
    case 95: // _ RESP3 null
    case 44: // , double
    case 35: // # boolean
    case 40: { // ( big number
      const nl = lineEnd(buf, pos + 1, end);
      return nl === INCOMPLETE ? INCOMPLETE : nl + 1;
    }
    case 36: // $ bulk string
    case 61: // = verbatim string
    case 33: { // ! bulk error
      let i = pos + 1;
      let n = 0;
      let neg = false;
      if (buf[i] === 45) { neg = true; i++; }
      for (; i < end; i++) {
        const c = buf[i] as number;
        if (c === 13) break;
        if (c < 48 || c > 57) throw new ReplyProtocolError(`bad bulk length byte 0x${c.toString(16)} at offset ${i}`);
        n = n * 10 + (c - 48);
      }
      if (i + 1 >= end) return INCOMPLETE;
      if (neg) return i + 2; // $-1: null
      const after = i + 2 + n + 2;
      return after <= end ? after : INCOMPLETE;
    }
    case 42: // * array
    case 126: // ~ set
    case 62: // > push
    case 37: { // % map (2 per entry)
      let i = pos + 1;
      let n = 0;
      let neg = false;
      if (buf[i] === 45) { neg = true; i++; }
      for (; i < end; i++) {
        const c = buf[i] as number;
        if (c === 13) break;
        if (c < 48 || c > 57) throw new ReplyProtocolError(`bad aggregate length byte 0x${c.toString(16)} at offset ${i}`);
        n = n * 10 + (c - 48);
      }
      if (i + 1 >= end) return INCOMPLETE;
      let p = i + 2;
      if (neg) return p;
      if (type === 37) n *= 2;
      for (let k = 0; k < n; k++) {
        p = skipReply(buf, p, end);
        if (p === INCOMPLETE) return INCOMPLETE;
      }
      return p;
    }
    default:
      throw new ReplyProtocolError(`unexpected reply type byte 0x${(type ?? 0).toString(16)} at offset ${pos}`);
  }
}

/** The error code of an error reply at buf[pos] (`-WRONGTYPE Operation ...` -> `WRONGTYPE`). */
export function errorPrefix(buf: Buffer, pos: number, end: number): string {
  let i = pos + 1;
  while (i < end && buf[i] !== 32 && buf[i] !== 13) i++;
  return buf.toString('latin1', pos + 1, i) || '(empty)';
}

/** The whole first line of an error reply, for messages (AUTH failures). */
export function errorLine(buf: Buffer, pos: number, end: number): string {
  let i = pos + 1;
  while (i < end && buf[i] !== 13) i++;
  return buf.toString('latin1', pos + 1, i);
}
