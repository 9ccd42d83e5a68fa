/**
 * The k6 scripts (loadtest/k6/*.ts) type-check against @types/k6 and the xk6-redis
 * declarations in loadtest/k6/types (k6 itself is not installed here, so this is the
 * check that they are at least well-formed k6 programs).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';

// This file runs as dist/test/loadtest/k6-typecheck.test.js.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

t.test('tsc --noEmit -p loadtest/k6', async (t) => {
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [TSC, '-p', path.join(ROOT, 'loadtest', 'k6', 'tsconfig.json'), '--noEmit'], {
    cwd: ROOT, timeout: 60_000,
  }).catch((e: { stdout?: string; stderr?: string; message: string }) => ({ stdout: e.stdout ?? e.message, stderr: e.stderr ?? '' }));
  t.equal(`${stdout}${stderr}`.trim(), '', 'no type errors');
});
