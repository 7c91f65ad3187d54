// The page in a real browser (Debian's Chromium, headless), served by the real edge.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startEdge } from '../edge/harness.mjs';
import { launch } from './support.mjs';


let edge;
let browser;
before(async () => {
  edge = await startEdge();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await edge?.stop();
});

test('the page loads the wasm engine and validates pasted events', async () => {
  const page = await browser.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(err.message));
  await page.goto(`${edge.url}/validate.html`);
  await page.waitForFunction(() => /\d/.test(document.getElementById('engine-version').textContent));
  assert.match(await page.textContent('#engine-version'), /^\d+\.\d+\.\d+/);

  await page.click('#example');
  assert.equal(await page.textContent('#summary'), '2 accepted, 2 rejected');
  const codes = await page.$$eval('#rejections tbody tr td:nth-child(3)', (cells) => cells.map((c) => c.textContent));
  assert.deepEqual(codes, ['missing_event', 'invalid_timestamp']);

  await page.fill('#events', '{"batch": 5}');
  await page.click('#validate');
  assert.equal(await page.textContent('#summary'), '0 accepted, 1 rejected');
  assert.deepEqual(problems, []);
});
