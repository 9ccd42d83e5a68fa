// Reads the markdown tables of a RESULTS.md section back into cells, so charts are
// drawn from what the section says (a fresh run and a section carried over from an
// earlier run go through the same path, and `render.js` can redraw an old file).

export interface MdTable {
  head: string[];
  rows: string[][];
  /** Line index (in the text given to parseTables) of the header row and of the last row. */
  firstLine: number;
  lastLine: number;
}

const isRow = (l: string) => l.trimStart().startsWith('|');
const SEPARATOR = /^\|(\s*:?-{3,}:?\s*\|)+\s*$/;

function cells(line: string): string[] {
  const t = line.trim().replace(/^\|/, '').replace(/\|$/, '');
  return t.split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, '|'));
}

/** Every pipe table (header row, separator row, body rows) in `markdown`, in order. */
export function parseTables(markdown: string): MdTable[] {
  const lines = markdown.split('\n');
  const out: MdTable[] = [];
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!isRow(lines[i]!) || !SEPARATOR.test(lines[i + 1]!.trim())) continue;
    const head = cells(lines[i]!);
    const rows: string[][] = [];
    let j = i + 2;
    for (; j < lines.length && isRow(lines[j]!); j++) rows.push(cells(lines[j]!));
    out.push({ head, rows, firstLine: i, lastLine: j - 1 });
    i = j - 1;
  }
  return out;
}

/** A cell as a number: "123", "0.52x", "1,234"; NaN for "n/a", "-", "< 4735 (...)" and the like. */
export function cellNumber(cell: string | undefined): number {
  if (cell === undefined) return NaN;
  const m = /^([0-9][0-9,]*(?:\.[0-9]+)?(?:e[+-]?\d+)?)\s*x?!?$/i.exec(cell.trim());
  return m ? Number(m[1]!.replace(/,/g, '')) : NaN;
}

/** Index of the first header cell matching `re` (-1 if none). */
export function column(t: MdTable, re: RegExp): number {
  return t.head.findIndex((h) => re.test(h));
}
