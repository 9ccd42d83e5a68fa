/**
 * Materialises an upstream reply into JS values, for the few replies the proxy must
 * combine (fan-out joins, multi-step commands). Not used on the single-key path,
 * where reply bytes pass through untouched.
 */
import { replyEnd } from '../shared/resp/reply-scanner.js';

export type ReplyValue = number | Buffer | null | ReplyValue[] | { error: string } | { simple: string };

export function isError(v: ReplyValue): v is { error: string } {
  return typeof v === 'object' && v !== null && !Buffer.isBuffer(v) && !Array.isArray(v) && 'error' in v;
}

export function parseReply(buf: Buffer, start: number, end: number): ReplyValue {
  const [v] = parseAt(buf, start, end);
  return v;
}

function lineEnd(buf: Buffer, p: number): number {
  return buf.indexOf(13, p);
}

function parseAt(buf: Buffer, p: number, end: number): [ReplyValue, number] {
  const t = buf[p]!;
  const le = lineEnd(buf, p);
  const line = buf.toString('latin1', p + 1, le);
  const next = le + 2;
  switch (t) {
    case 0x2b: // +
      return [{ simple: line }, next];
    case 0x2d: // -
    case 0x21: // ! (blob error: take the payload)
      if (t === 0x21) {
        const n = Number(line);
        return [{ error: buf.toString('utf8', next, next + n) }, next + n + 2];
      }
      return [{ error: buf.toString('utf8', p + 1, le) }, next];
    case 0x3a: // :
    case 0x2c: // ,
      return [Number(line), next];
    case 0x5f: // _
      return [null, next];
    case 0x24: // $
    case 0x3d: { // =
      const n = Number(line);
      if (n < 0) return [null, next];
      const skip = t === 0x3d ? 4 : 0; // verbatim strings start with "txt:"
      return [Buffer.from(buf.subarray(next + skip, next + n)), next + n + 2];
    }
    case 0x2a: // *
    case 0x7e: // ~
    case 0x25: { // %
      let n = Number(line);
      if (n < 0) return [null, next];
      if (t === 0x25) n *= 2;
      const items: ReplyValue[] = [];
      let q = next;
      for (let i = 0; i < n; i++) {
        const [v, after] = parseAt(buf, q, end);
        items.push(v);
        q = after;
      }
      return [items, q];
    }
    default: {
      // Anything else (verbatim, big number, attribute...) is skipped as one opaque value.
      const after = replyEnd(buf, p, end);
      return [Buffer.from(buf.subarray(p, after)), after];
    }
  }
}
