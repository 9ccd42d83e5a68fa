/**
 * Runs `npm run bench`'s entry (dist/loadtest/bench.js) as a child process for the bench
 * tests in test/slow/, with SKIP_MICRO=1 and the given knobs, and collects its output.
 * Past timeoutMs it gets SIGTERM first (bench.js then stops the servers it started, by
 * pid), SIGKILL 3 s later.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The compiled repo root: this file runs as dist/test/helpers/bench-run.js. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export function runBench(env: Record<string, string>, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [path.join(REPO_ROOT, 'dist', 'loadtest', 'bench.js')], {
      cwd: REPO_ROOT, env: { ...process.env, SKIP_MICRO: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '', err = '';
    c.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    c.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const timer = setTimeout(() => { c.kill('SIGTERM'); setTimeout(() => c.kill('SIGKILL'), 3000).unref(); }, timeoutMs);
    c.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout: out, stderr: err }); });
  });
}
