/**
 * The ACL's view of the command table (shared/commands/table.ts): every command, and
 * every subcommand of a container command (CONFIG GET, CLIENT LIST ...), is an entry
 * with an ACL id — its index in each user's allowed-commands bitmap — and a bitmask
 * of ACL categories. Built once at load; nothing here changes afterwards.
 *
 *   id:      0 ............ commands (table order) ............ | subcommands ... |
 *   entry:   get set ... config ... client ...                    config|get ...
 *
 * Categories are Redis's 21, in Redis's order, followed by any category only Shoal's
 * rows use (`bloom`), so `+@bloom` works and ACL CAT lists it.
 */
import { COMMANDS } from '../../shared/commands/table.js';
import { CMD_NOAUTH, CMD_READONLY, CMD_WRITE, hasKeys, type CommandSpec } from '../../shared/commands/spec.js';
import { CONTAINER_CATEGORIES, KEY_ACCESS, PERM_ALL, PERM_READ, REDIS_CATEGORIES } from './redis-acl-data.js';

export interface AclEntry {
  /** Index into AclUser.allowed. */
  readonly id: number;
  /** `get`, or `config|get` for a subcommand (Redis's fullname). */
  readonly fullname: string;
  readonly spec: CommandSpec;
  /** Bitmask over CATEGORIES. */
  readonly categories: number;
  readonly parent: AclEntry | null;
  /** A container's subcommands (empty otherwise). */
  readonly subcommands: AclEntry[];
  /** Runs whatever the user's rules (Redis's no_auth commands: AUTH HELLO QUIT RESET). */
  readonly noAuth: boolean;
  /** The command names keys (table positions or numkeys), so key patterns apply. */
  readonly hasKeys: boolean;
}

/** Every ACL category name, Redis's first. */
export const CATEGORIES: readonly string[] = (() => {
  const names = [...REDIS_CATEGORIES];
  for (const spec of COMMANDS) for (const c of spec.acl) if (!names.includes(c)) names.push(c);
  return names;
})();

// Category masks are 32-bit ints (`&` on them): one bit per category.
if (CATEGORIES.length > 31) throw new Error(`too many ACL categories for a 32-bit mask: ${CATEGORIES.length}`);
const CATEGORY_BITS = new Map<string, number>(CATEGORIES.map((name, i) => [name, 1 << i]));

/** The category's bit, or 0 for an unknown name (case-insensitive, as Redis). */
export function categoryBit(name: string): number {
  return CATEGORY_BITS.get(name.toLowerCase()) ?? 0;
}

function categoryMask(names: readonly string[]): number {
  let m = 0;
  for (const n of names) m |= categoryBit(n);
  return m;
}

/** Top-level entries in table order (subcommands hang off their parent). */
export const TOP_LEVEL: readonly AclEntry[] = COMMANDS.map((spec, id) => {
  const container = CONTAINER_CATEGORIES[spec.name];
  return {
    id, fullname: spec.name, spec,
    categories: categoryMask(container ? container.categories.split(' ') : spec.acl),
    parent: null, subcommands: [], noAuth: (spec.flags & CMD_NOAUTH) !== 0, hasKeys: hasKeys(spec),
  };
});

/** Every entry indexed by id. */
export const ENTRIES: readonly AclEntry[] = (() => {
  const all: AclEntry[] = [...TOP_LEVEL];
  for (const parent of TOP_LEVEL) {
    const container = CONTAINER_CATEGORIES[parent.spec.name];
    for (const sub of parent.spec.subcommands ?? []) {
      const cats = container?.subcommands[sub];
      const entry: AclEntry = {
        id: all.length, fullname: `${parent.spec.name}|${sub}`, spec: parent.spec,
        categories: cats !== undefined ? categoryMask(cats.split(' ')) : categoryMask(parent.spec.acl),
        parent, subcommands: [], noAuth: false, hasKeys: false,
      };
      parent.subcommands.push(entry);
      all.push(entry);
    }
  }
  return all;
})();

export const ENTRY_COUNT = ENTRIES.length;

const BY_FULLNAME = new Map<string, AclEntry>(ENTRIES.map((e) => [e.fullname, e]));

/**
 * An entry by Redis's ACL name rules: `name` or `container|sub`, case-insensitive;
 * `get|x` (a subcommand of a command without any) and deeper names are not found.
 */
export function lookupEntry(name: string): AclEntry | undefined {
  const lower = name.toLowerCase();
  const bar = lower.indexOf('|');
  if (bar < 0) return BY_FULLNAME.get(lower);
  if (lower.indexOf('|', bar + 1) >= 0) return undefined;
  const parent = BY_FULLNAME.get(lower.slice(0, bar));
  if (parent === undefined || parent.subcommands.length === 0) return undefined;
  return BY_FULLNAME.get(lower);
}

const BY_SPEC = new Map<CommandSpec, AclEntry>(TOP_LEVEL.map((e) => [e.spec, e]));

/**
 * The entry a command line is checked against: the subcommand's for a container
 * (an unknown subcommand falls back on the container itself; its handler replies
 * the unknown-subcommand error once the check passes).
 */
export function entryFor(spec: CommandSpec, argv: readonly Buffer[]): AclEntry {
  const top = BY_SPEC.get(spec)!;
  if (top.subcommands.length === 0 || argv.length < 2) return top;
  return BY_FULLNAME.get(`${top.fullname}|${argv[1]!.toString('latin1').toLowerCase()}`) ?? top;
}

/**
 * [first key, other keys] permission bits a command needs. Rows missing from the
 * Redis data: a read-only command reads its keys, any other command may read and
 * write them (the safe side).
 */
export function keyAccess(spec: CommandSpec): readonly [number, number] {
  const known = KEY_ACCESS[spec.name];
  if (known !== undefined) return known;
  if (spec.flags & CMD_READONLY && !(spec.flags & CMD_WRITE)) return [PERM_READ, PERM_READ];
  return [PERM_ALL, PERM_ALL];
}
