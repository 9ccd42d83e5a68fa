/**
 * Redis glob matching over bytes (KEYS, SCAN MATCH, later PSUBSCRIBE):
 * `*` any run, `?` one byte, `[abc]` `[^a]` `[a-z]` classes, `\x` a literal x.
 * Works on byte ranges so a key inside an arena page is matched in place.
 */
export function globMatch(p: Uint8Array, pStart: number, pEnd: number, s: Uint8Array, sStart: number, sEnd: number, nocase = false): boolean {
  return match(p, pStart, pEnd, s, sStart, sEnd, nocase, 0) === 1;
}

const lower = (c: number): number => (c >= 65 && c <= 90 ? c + 32 : c);

/** Returns 1 on match, 0 on no match, -1 to abort (a `*` already failed further on). */
function match(p: Uint8Array, pi: number, pEnd: number, s: Uint8Array, si: number, sEnd: number, nocase: boolean, depth: number): number {
  if (depth > 1000) return -1; // bound recursion like Redis's nesting limit
  while (pi < pEnd && si < sEnd) {
    const c = p[pi]!;
    if (c === 42 /* * */) {
      while (pi + 1 < pEnd && p[pi + 1] === 42) pi++;
      if (pi + 1 === pEnd) return 1;
      for (let k = si; k < sEnd; k++) {
        const r = match(p, pi + 1, pEnd, s, k, sEnd, nocase, depth + 1);
        if (r !== 0) return r;
      }
      return -1;
    } else if (c === 63 /* ? */) {
      si++;
    } else if (c === 91 /* [ */) {
      pi++;
      const not = p[pi] === 94; /* ^ */
      if (not) pi++;
      let matched = false;
      const sc = nocase ? lower(s[si]!) : s[si]!;
      while (pi < pEnd) {
        let pc = p[pi]!;
        if (pc === 92 /* \ */ && pi + 2 < pEnd) {
          pi++;
          pc = p[pi]!;
          if ((nocase ? lower(pc) : pc) === sc) matched = true;
        } else if (pc === 93 /* ] */) {
          break;
        } else if (pi + 2 < pEnd && p[pi + 1] === 45 /* - */) {
          let start = p[pi]!;
          let end = p[pi + 2]!;
          if (start > end) [start, end] = [end, start];
          if (nocase) {
            start = lower(start);
            end = lower(end);
          }
          pi += 2;
          if (sc >= start && sc <= end) matched = true;
        } else if ((nocase ? lower(pc) : pc) === sc) {
          matched = true;
        }
        pi++;
      }
      if (pi >= pEnd) pi = pEnd - 1; // unterminated class: Redis treats end of pattern as ']'
      if (not) matched = !matched;
      if (!matched) return 0;
      si++;
    } else {
      let lit = c;
      if (c === 92 /* \ */ && pi + 1 < pEnd) {
        pi++;
        lit = p[pi]!;
      }
      if (nocase ? lower(lit) !== lower(s[si]!) : lit !== s[si]) return 0;
      si++;
    }
    pi++;
  }
  if (si === sEnd) {
    while (pi < pEnd && p[pi] === 42) pi++;
    return pi === pEnd ? 1 : 0;
  }
  return 0;
}
