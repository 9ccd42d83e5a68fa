/**
 * ACL LOG: the recent denials of this proxy process, newest first, as Redis 7.0.15
 * keeps them: a denial like one of the 10 newest entries (same reason, context,
 * object and user, within 60 s) bumps that entry's count and moves it to the front
 * instead of adding one; the list holds at most acllog-max-len entries.
 *
 * Entry fields (7.0.15 has no entry-id / timestamp-created fields; those came in 7.2):
 * count, reason, context, object, username, age-seconds, client-info.
 */
import type { ReplyWriter } from '../../shared/resp/reply-writer.js';

export type DenialReason = 'command' | 'key' | 'channel' | 'auth';
export type DenialContext = 'toplevel' | 'multi';

interface LogEntry {
  count: number;
  reason: DenialReason;
  context: DenialContext;
  object: string;
  username: string;
  /** ms, last update. */
  ctime: number;
  clientInfo: string;
}

/** Redis's ACL_LOG_GROUPING_MAX_TIME_DELTA. */
const GROUPING_MS = 60_000;
/** Entries scanned for one to group with. */
const GROUPING_SCAN = 10;

/** A double as C's %.17g prints it (Redis's addReplyDouble). */
export function formatDouble17(x: number): string {
  if (x === 0) return '0';
  const exp = Math.floor(Math.log10(Math.abs(x)));
  if (exp < -4 || exp >= 17) {
    const [m, e] = x.toExponential(16).split('e') as [string, string];
    const mant = m.includes('.') ? m.replace(/0+$/, '').replace(/\.$/, '') : m;
    const n = Number(e);
    return `${mant}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  const s = x.toPrecision(17);
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

export class AclLog {
  /** Newest first. */
  #entries: LogEntry[] = [];
  #maxLen: number;

  constructor(maxLen: number) {
    this.#maxLen = maxLen;
  }

  /** acllog-max-len changed: drops the oldest entries beyond it. */
  resize(maxLen: number): void {
    this.#maxLen = maxLen;
    if (this.#entries.length > maxLen) this.#entries.length = maxLen;
  }

  get length(): number {
    return this.#entries.length;
  }

  add(reason: DenialReason, context: DenialContext, object: string, username: string, clientInfo: string, now = Date.now()): void {
    const list = this.#entries;
    const scan = Math.min(GROUPING_SCAN, list.length);
    for (let i = 0; i < scan; i++) {
      const e = list[i]!;
      if (e.reason === reason && e.context === context && Math.abs(e.ctime - now) <= GROUPING_MS && e.object === object && e.username === username) {
        e.count++;
        e.ctime = now;
        e.clientInfo = clientInfo;
        list.splice(i, 1);
        list.unshift(e);
        return;
      }
    }
    list.unshift({ count: 1, reason, context, object, username, ctime: now, clientInfo });
    if (list.length > this.#maxLen) list.length = this.#maxLen;
  }

  reset(): void {
    this.#entries = [];
  }

  /** ACL LOG [count]: `count` newest entries as maps (arrays of pairs in RESP2). */
  write(out: ReplyWriter, count: number, now = Date.now()): void {
    const n = Math.max(0, Math.min(count, this.#entries.length));
    out.arrayHeader(n);
    for (let i = 0; i < n; i++) {
      const e = this.#entries[i]!;
      out.mapHeader(7);
      out.bulk('count'); out.integer(e.count);
      out.bulk('reason'); out.bulk(e.reason);
      out.bulk('context'); out.bulk(e.context);
      out.bulk('object'); out.bulkLatin1(e.object);
      out.bulk('username'); out.bulkLatin1(e.username);
      out.bulk('age-seconds'); out.double(formatDouble17((now - e.ctime) / 1000));
      out.bulk('client-info'); out.bulkLatin1(e.clientInfo);
    }
  }
}
