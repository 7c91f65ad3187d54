// The package in a real browser (Debian's Chromium, headless, via playwright-core): the
// installed package folder is served by a tiny local HTTP server, a page imports it through an
// import map (the `browser` entry) and evaluates a segment.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join, normalize, extname } from 'node:path';
import { chromium } from 'playwright-core';
import { project } from './install.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];
const TYPES = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html', '.json': 'application/json' };

const PAGE = `<!doctype html><meta charset="utf-8"><title>engine</title>
<script type="importmap">{"imports": {"@tessera/engine": "/node_modules/@tessera/engine/browser.js"}}</script>
<script type="module">
  import { Engine, TesseraError, version } from '@tessera/engine';
  const engine = new Engine();
  const ingest = engine.ingest([
    { type: 'track', event: 'Order Completed', userId: 'u1', messageId: 'm1', timestamp: '2026-05-20T00:00:00Z' },
    { type: 'track', event: 'Order Completed', userId: 'u1', messageId: 'm2', timestamp: '2026-05-25T00:00:00Z' },
    { type: 'track', event: 'Order Completed', userId: 'u2', messageId: 'm3', timestamp: '2026-05-25T00:00:00Z' },
    { type: 'track', userId: 'u3', messageId: 'm4', timestamp: '2026-05-25T00:00:00Z' },
  ]);
  const result = engine.evaluate({ event: 'Order Completed', within: '30d', count: { gte: 2 } }, { now: new Date('2026-06-01T00:00:00Z') });
  let error = null;
  try { engine.evaluate({ trait: 'plan', op: 'is' }, { now: '2026-06-01T00:00:00Z' }); }
  catch (e) { error = { isTessera: e instanceof TesseraError, isError: e instanceof Error, code: e.code, path: e.path }; }
  window.outcome = { version: version(), ingest, result, error, user: engine.profileByIdentifier('user_id', 'u1')?.id };
</script>`;

let server;
let browser;
let base;
before(async () => {
  const dir = project();
  server = createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
      return;
    }
    const file = normalize(join(dir, path));
    if (!file.startsWith(dir)) return res.writeHead(403).end();
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
});
after(async () => {
  await browser?.close();
  server?.close();
});

test('the browser entry loads the wasm and evaluates a segment', async () => {
  const page = await browser.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(err.message));
  await page.goto(`${base}/`);
  await page.waitForFunction(() => window.outcome !== undefined, null, { timeout: 20000 });
  const outcome = await page.evaluate(() => window.outcome);
  assert.deepEqual(problems, []);
  assert.match(outcome.version, /^\d+\.\d+\.\d+/);
  assert.equal(outcome.ingest.accepted, 3);
  assert.deepEqual(outcome.ingest.rejected.map((r) => [r.index, r.code]), [[3, 'missing_event']]);
  assert.equal(outcome.result.count, 1);
  assert.deepEqual(outcome.result.members, [outcome.user]);
  assert.deepEqual(outcome.error, { isTessera: true, isError: true, code: 'unknown_operator', path: 'condition.op' });
});
