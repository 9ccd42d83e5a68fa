/**
 * notify-keyspace-events: Redis's event class characters as bit flags, parsed and
 * printed as Redis 7.0 does (notify.c keyspaceEventsStringToFlags / FlagsToString),
 * and the CONFIG parameter. The worker publishes events (shard/keyspace-events.ts).
 */
import type { Param } from '../config/param.js';

export const NOTIFY_KEYSPACE = 1 << 0; // K
export const NOTIFY_KEYEVENT = 1 << 1; // E
export const NOTIFY_GENERIC = 1 << 2; // g
export const NOTIFY_STRING = 1 << 3; // $
export const NOTIFY_LIST = 1 << 4; // l
export const NOTIFY_SET = 1 << 5; // s
export const NOTIFY_HASH = 1 << 6; // h
export const NOTIFY_ZSET = 1 << 7; // z
export const NOTIFY_EXPIRED = 1 << 8; // x
export const NOTIFY_EVICTED = 1 << 9; // e
export const NOTIFY_STREAM = 1 << 10; // t
export const NOTIFY_KEY_MISS = 1 << 11; // m
export const NOTIFY_LOADED = 1 << 12; // module only
export const NOTIFY_MODULE = 1 << 13; // d
export const NOTIFY_NEW = 1 << 14; // n
/** `A`: g$lshzxetd. */
export const NOTIFY_ALL = NOTIFY_GENERIC | NOTIFY_STRING | NOTIFY_LIST | NOTIFY_SET | NOTIFY_HASH | NOTIFY_ZSET | NOTIFY_EXPIRED | NOTIFY_EVICTED | NOTIFY_STREAM | NOTIFY_MODULE;

const CHARS: Readonly<Record<string, number>> = {
  A: NOTIFY_ALL, g: NOTIFY_GENERIC, $: NOTIFY_STRING, l: NOTIFY_LIST, s: NOTIFY_SET, h: NOTIFY_HASH, z: NOTIFY_ZSET,
  x: NOTIFY_EXPIRED, e: NOTIFY_EVICTED, K: NOTIFY_KEYSPACE, E: NOTIFY_KEYEVENT, t: NOTIFY_STREAM, m: NOTIFY_KEY_MISS,
  d: NOTIFY_MODULE, n: NOTIFY_NEW,
};

/** Flags of a notify-keyspace-events string, or -1 for an unknown character. */
export function keyspaceEventsFlags(text: string): number {
  let flags = 0;
  for (const c of text) {
    const f = CHARS[c];
    if (f === undefined) return -1;
    flags |= f;
  }
  return flags;
}

/**
 * The string CONFIG GET shows for flags (Redis's normal form: `AKE`, `gK`, `xE` ...).
 * As Redis 7.0, `n` is not printed next to `A` (A does not include it) although it
 * stays set: `lossless` keeps it, for the stored setting.
 */
export function keyspaceEventsString(flags: number, lossless = false): string {
  let s = '';
  if ((flags & NOTIFY_ALL) === NOTIFY_ALL) {
    s += 'A';
    if (lossless && flags & NOTIFY_NEW) s += 'n';
  } else {
    const order: Array<[number, string]> = [[NOTIFY_GENERIC, 'g'], [NOTIFY_STRING, '$'], [NOTIFY_LIST, 'l'], [NOTIFY_SET, 's'], [NOTIFY_HASH, 'h'], [NOTIFY_ZSET, 'z'],
      [NOTIFY_EXPIRED, 'x'], [NOTIFY_EVICTED, 'e'], [NOTIFY_STREAM, 't'], [NOTIFY_MODULE, 'd'], [NOTIFY_NEW, 'n']];
    for (const [f, c] of order) if (flags & f) s += c;
  }
  if (flags & NOTIFY_KEYSPACE) s += 'K';
  if (flags & NOTIFY_KEYEVENT) s += 'E';
  if (flags & NOTIFY_KEY_MISS) s += 'm';
  return s;
}

export const notifyKeyspaceEventsParam: Param = {
  name: 'notify-keyspace-events',
  get: (rc) => keyspaceEventsString(keyspaceEventsFlags(rc.config.notifyKeyspaceEvents)),
  set: (rc, v) => {
    const flags = keyspaceEventsFlags(v);
    if (flags < 0) return "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";
    rc.config.notifyKeyspaceEvents = keyspaceEventsString(flags, true);
    return undefined;
  },
};
