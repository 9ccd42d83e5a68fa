/** Helpers for INFO text shared by proxy and shard. */

/** Sections of a bare INFO (or INFO default), in Redis's order. */
export const DEFAULT_SECTIONS: readonly string[] = ['server', 'clients', 'memory', 'persistence', 'stats', 'replication', 'cpu', 'cluster', 'keyspace'];
/** INFO all / everything. */
export const ALL_SECTIONS: readonly string[] = [...DEFAULT_SECTIONS, 'commandstats'];

/** Section names an INFO command asks for (argv without the command), defaults expanded. */
export function requestedSections(args: readonly Buffer[]): readonly string[] {
  const names = args.map((a) => a.toString().toLowerCase());
  if (names.length === 0 || names.includes('default')) return DEFAULT_SECTIONS;
  if (names.includes('all') || names.includes('everything')) return ALL_SECTIONS;
  return names;
}

/** Redis's bytesToHuman: 1.23K, 4.56M, ... */
export function formatBytesHuman(n: number): string {
  if (n < 1024) return `${n}B`;
  const units = ['K', 'M', 'G', 'T', 'P'];
  let v = n;
  let i = -1;
  do {
    v /= 1024;
    i++;
  } while (v >= 1024 && i < units.length - 1);
  return `${v.toFixed(2)}${units[i]}`;
}

/** Parses INFO text into [section, [key, value][]] pairs, keeping order. */
export function parseInfo(text: string): Array<[string, Array<[string, string]>]> {
  const out: Array<[string, Array<[string, string]>]> = [];
  let cur: Array<[string, string]> | null = null;
  for (const line of text.split('\r\n')) {
    if (line.startsWith('# ')) {
      cur = [];
      out.push([line.slice(2), cur]);
    } else if (cur && line.includes(':')) {
      const i = line.indexOf(':');
      cur.push([line.slice(0, i), line.slice(i + 1)]);
    }
  }
  return out;
}
