// The demo page at /pubsub/demo (docs/websocket-pubsub.md) in headless Chromium
// (Debian's `chromium`, driven by playwright-core): it subscribes over WebSocket and
// shows a message published with redis-cli. The screenshot is kept under
// test/artifacts/ (gitignored). Shoal only; without /usr/bin/chromium the browser
// part is left out with a note (CI installs it: .ci/run).

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { chromium } from 'playwright-core';
import { isShoal, startShoal } from '../helpers/cluster.js';

const execFileP = promisify(execFile);
const CHROMIUM = '/usr/bin/chromium';
/** Source tree's test/artifacts (this file runs as dist/test/integration/*.js). */
const ARTIFACTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'artifacts');

if (!isShoal) {
  t.pass('the demo page is Shoal-only');
} else {
  const target = await startShoal();
  t.teardown(() => target.stop());

  t.test('GET /pubsub/demo serves the page', async (t) => {
    const res = await fetch(`http://127.0.0.1:${target.httpPort}/pubsub/demo`);
    t.equal(res.status, 200);
    t.match(res.headers.get('content-type'), /^text\/html/);
    t.match(await res.text(), /new WebSocket\(url\)/);
  });

  t.test('headless Chromium shows a message published with redis-cli', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed` }, async (t) => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'], timeout: 30_000 });
    t.teardown(() => browser.close());
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${target.httpPort}/pubsub/demo?channel=demo`, { timeout: 15_000 });
    await page.waitForSelector('#status.ok', { timeout: 10_000 });
    t.equal(await page.textContent('#status'), 'subscribed to demo');
    const { stdout } = await execFileP('redis-cli', ['-p', String(target.port), 'PUBLISH', 'demo', 'hello from redis-cli']);
    t.equal(stdout.trim(), '1', 'the page is the one receiver');
    await page.waitForSelector('#messages li.message', { timeout: 10_000 });
    t.equal(await page.textContent('#messages li.message .body'), 'hello from redis-cli');
    t.equal(await page.textContent('#messages li.message .ch'), 'demo');
    // Publishing from the page reaches the page itself (and any RESP subscriber).
    await page.fill('#message', 'from the page');
    await page.click('#publish button');
    await page.waitForFunction("document.querySelectorAll('#messages li.message').length === 2", undefined, { timeout: 10_000 });
    t.equal(await page.textContent('#messages li.message .body'), 'from the page');
    await mkdir(ARTIFACTS, { recursive: true });
    const shot = path.join(ARTIFACTS, 'pubsub-demo.png');
    await page.screenshot({ path: shot });
    t.ok(existsSync(shot), `screenshot saved: ${shot}`);
  });
}
