// `node dist/loadtest/report/render.js [RESULTS.md]`: redraws the charts of an existing
// results file from its tables (charts/ next to the file) and puts their links in, without
// rerunning any benchmark. `npm run bench` does the same for the sections it writes; this
// is for a file written before charts existed, or after editing charts.ts.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { attachCharts, pruneCharts } from './charts.js';

const SECTION = /<!-- section:(\w+) -->\n([\s\S]*?)<!-- \/section:\1 -->/g;

/** Rewrites every `<!-- section:NAME -->` block of `text` with its charts; returns the new text and the SVGs written. */
export function renderResults(text: string, chartsDir: string): { text: string; files: string[] } {
  const files: string[] = [];
  const out = text.replace(SECTION, (_all, name: string, body: string) => {
    const r = attachCharts(name, body, chartsDir);
    files.push(...r.files);
    return `<!-- section:${name} -->\n${r.markdown.trimEnd()}\n<!-- /section:${name} -->`;
  });
  return { text: out, files };
}

function main(): void {
  const arg = process.argv[2];
  if (arg === '--help' || arg === '-h') {
    console.log('usage: node dist/loadtest/report/render.js [RESULTS.md]   (default loadtest/RESULTS.md)');
    return;
  }
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  const file = path.resolve(arg ?? path.join(root, 'loadtest', 'RESULTS.md'));
  let text: string;
  try { text = fs.readFileSync(file, 'utf8'); } catch (e) {
    process.stderr.write(`render: cannot read ${file}: ${(e as Error).message}\n`);
    process.exit(1);
  }
  const chartsDir = path.join(path.dirname(file), 'charts');
  const r = renderResults(text, chartsDir);
  if (r.text !== text) fs.writeFileSync(file, r.text);
  for (const f of r.files) console.log(`wrote ${path.relative(process.cwd(), f) || f}`);
  for (const f of pruneCharts(chartsDir, r.files)) console.log(`removed ${path.relative(process.cwd(), f) || f} (no longer linked)`);
  console.log(`${r.files.length} chart(s); ${r.text !== text ? 'links updated in' : 'no change to'} ${path.relative(process.cwd(), file) || file}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
