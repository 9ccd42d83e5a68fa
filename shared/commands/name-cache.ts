/**
 * CommandNameCache: command name bytes, exactly as a client sent them, to what the
 * name resolves to (a CommandSpec on the proxy, a CommandEntry on a worker).
 *
 * Resolving a name the plain way costs a string per command (toString, then a Map
 * lookup that hashes it, ~100 ns); this table hashes the argument's bytes in place
 * and compares them, with no allocation. "GET" and "get" are separate entries, as
 * clients repeat their own spelling.
 *
 * Layout: open addressing over SIZE slots, linear probing of at most PROBES slots;
 * a name that finds no free slot within them, or arrives once the table is half full,
 * or is longer than MAX_NAME, is simply not cached (the caller resolves it the slow
 * way each time). Entries are never removed: the set of command names is fixed, and
 * only names that resolved are added, so garbage names cannot fill it.
 */
const SIZE = 512;
const MASK = SIZE - 1;
const PROBES = 8;
const MAX_NAME = 32;

export class CommandNameCache<T> {
  readonly #names: Array<Uint8Array | null> = new Array<Uint8Array | null>(SIZE).fill(null);
  readonly #values: Array<T | undefined> = new Array<T | undefined>(SIZE).fill(undefined);
  #count = 0;

  get(name: Uint8Array): T | undefined {
    const n = name.length;
    if (n > MAX_NAME) return undefined;
    let i = slotOf(name);
    for (let probe = 0; probe < PROBES; probe++) {
      const k = this.#names[i];
      if (k === null || k === undefined) return undefined;
      if (k.length === n && sameBytes(k, name, n)) return this.#values[i];
      i = (i + 1) & MASK;
    }
    return undefined;
  }

  /** Caches `value` for these bytes (copied: callers pass views into a read buffer). */
  set(name: Uint8Array, value: T): void {
    if (name.length > MAX_NAME || this.#count >= SIZE / 2) return;
    let i = slotOf(name);
    for (let probe = 0; probe < PROBES; probe++) {
      if (this.#names[i] === null) {
        this.#names[i] = Uint8Array.from(name);
        this.#values[i] = value;
        this.#count++;
        return;
      }
      i = (i + 1) & MASK;
    }
  }
}

function slotOf(name: Uint8Array): number {
  let h = 0x811c9dc5 ^ name.length; // FNV-1a
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name[i]!, 16777619);
  return (h ^ (h >>> 16)) & MASK;
}

function sameBytes(a: Uint8Array, b: Uint8Array, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}
