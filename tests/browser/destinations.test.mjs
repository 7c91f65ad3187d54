// The builder's Destinations panel in Debian's Chromium (headless) against the real local edge:
// sign in, open a saved segment, add a webhook destination pointing at a receiver this file
// starts on 127.0.0.1, sync it from the page, read the history row, delete the destination.
// Screenshots go to test-artifacts/ (gitignored).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';

import { startEdge } from '../edge/harness.mjs';
import { ARTIFACTS, DEMO_WORKSPACES, launch } from './support.mjs';

const WORKSPACES = DEMO_WORKSPACES;
const SECRET = 'whsec_browser_test_secret';
const MEMBERS = 7;

let edge;
let browser;
let receiver;
let receiverUrl;
/** Every webhook request the receiver got: {signatureOk, json}. */
const received = [];

before(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  receiver = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const expected = `sha256=${createHmac('sha256', SECRET).update(raw).digest('hex')}`;
      received.push({ signatureOk: req.headers['x-signature'] === expected, json: JSON.parse(raw.toString() || 'null') });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${receiver.address().port}/hook`;
  edge = await startEdge({ workspaces: WORKSPACES });
  // Ten customers; the VIPs (every one but three) are the segment.
  const batch = Array.from({ length: 10 }, (_, i) => ({
    type: 'identify', userId: `cust-${i}`, messageId: `id-${i}`,
    traits: { email: `cust-${i}@example.com`, tier: i < MEMBERS ? 'vip' : 'regular' },
  }));
  const res = await edge.post('/v1/batch', { batch });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await edge?.stop();
  receiver?.close();
});

test('a marketer adds a webhook destination to a saved segment, syncs it, sees the history, deletes it', async () => {
  const seg = await edge.api('POST', '/v1/segments', { id: 'vips', name: 'VIP customers', condition: { trait: 'tier', op: 'eq', value: 'vip' } });
  assert.equal(seg.status, 201, JSON.stringify(seg.body));
  assert.equal(seg.body.size, MEMBERS);
  const members = await edge.api('GET', '/v1/segments/vips/members?limit=1000');
  assert.equal(members.status, 200);

  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, colorScheme: 'light' });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('dialog', (d) => d.accept());

  await page.goto(`${edge.url}/`);
  await page.waitForSelector('#login-screen:not([hidden])');
  await page.fill('#key', WORKSPACES[0].secret_key);
  await page.click('#login-submit');
  await page.waitForSelector('#app:not([hidden])', { timeout: 30_000 });

  // A new, unsaved definition has no destinations panel; the saved segment has one, empty.
  assert.equal(await page.isVisible('#destinations'), false);
  await page.click('#segment-list [data-id="vips"]');
  await page.waitForSelector('#destinations:not([hidden])');
  await page.waitForSelector('#dest-empty:not([hidden])');

  // Mistakes are reported on the field: a missing secret, then the edge's own check of the URL.
  await page.fill('#dest-url', receiverUrl);
  await page.click('#dest-add');
  await page.waitForSelector('#dest-form-error:not([hidden])');
  assert.match(await page.textContent('#dest-form-error'), /missing_field at secret/);
  assert.equal(await page.getAttribute('#dest-secret', 'aria-invalid'), 'true');
  await page.fill('#dest-url', 'ftp://example.com/x');
  await page.fill('#dest-secret', SECRET);
  await page.click('#dest-add');
  await page.waitForFunction(() => /invalid_url at url/.test(document.getElementById('dest-form-error').textContent));

  // The Meta fields appear only for Meta, with the default match keys ticked.
  await page.selectOption('#dest-type', 'meta');
  assert.equal(await page.isVisible('#dest-audience'), true);
  assert.equal(await page.isVisible('#dest-url'), false);
  assert.equal(await page.isChecked('#dest-schema input[value="EMAIL"]'), true);
  assert.equal(await page.isChecked('#dest-schema input[value="COUNTRY"]'), false);
  await page.selectOption('#dest-type', 'webhook');

  // Add it for real (keyboard: Enter in the form submits).
  await page.fill('#dest-url', receiverUrl);
  await page.fill('#dest-secret', SECRET);
  await page.selectOption('#dest-mode', 'mirror');
  await page.focus('#dest-secret');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#dest-list .dest');
  assert.equal(await page.isVisible('#dest-form-error'), false);
  const card = '#dest-list .dest';
  const text = await page.textContent(card);
  assert.ok(text.includes(receiverUrl));
  assert.ok(!text.includes(SECRET), 'the secret is never shown');
  assert.equal(await page.textContent(`${card} dd.set`), 'set');
  assert.match(text, /mirror/);
  assert.match(text, /No syncs yet/);
  assert.equal(await page.inputValue('#dest-secret'), '', 'the form forgets the secret once added');

  // Sync now: a history row with status ok, the whole audience added.
  await page.click(`${card} [data-action="sync"]`);
  await page.waitForSelector(`${card} tr[data-status]`, { timeout: 30_000 });
  assert.equal(await page.getAttribute(`${card} tbody tr`, 'data-status'), 'ok');
  assert.equal(await page.textContent(`${card} tbody tr [data-col="added"]`), String(MEMBERS));
  assert.equal(await page.textContent(`${card} tbody tr [data-col="removed"]`), '0');
  assert.match(await page.textContent('#dest-status'), /Sync ok: 7 added, 0 removed/);
  assert.equal(await page.isEnabled(`${card} [data-action="sync"]`), true);

  // The receiver got exactly the members, signed.
  assert.ok(received.length >= 1);
  assert.ok(received.every((r) => r.signatureOk), 'every batch is signed with the secret');
  assert.ok(received.every((r) => r.json.audience === 'vips'));
  const got = received.flatMap((r) => r.json.added.map((p) => p.profile_id)).sort();
  assert.deepEqual(got, [...members.body.members].sort());

  // The edge lists it with the credential only as "set".
  const list = await edge.api('GET', '/v1/segments/vips/destinations');
  assert.equal(list.body.destinations.length, 1);
  assert.equal(list.body.destinations[0].mode, 'mirror');

  // A second sync has nothing to send; the newest row is first.
  const requestsBefore = received.length;
  await page.click(`${card} [data-action="sync"]`);
  await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 2, `${card} tbody tr`);
  assert.equal(await page.textContent(`${card} tbody tr [data-col="added"]`), '0');
  assert.equal(received.length, requestsBefore);

  await page.screenshot({ path: join(ARTIFACTS, 'destinations-light.png'), fullPage: true });
  await page.click('#theme');
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(ARTIFACTS, 'destinations-dark.png'), fullPage: true });

  // Switching to a new definition hides the panel; back to the segment shows the same card.
  await page.click('#new-segment');
  assert.equal(await page.isVisible('#destinations'), false);
  await page.click('#segment-list [data-id="vips"]');
  await page.waitForSelector(`${card} tbody tr`);

  // Delete.
  await page.click(`${card} [data-action="delete"]`);
  await page.waitForSelector('#dest-empty:not([hidden])');
  assert.equal(await page.$$eval('#dest-list .dest', (els) => els.length), 0);
  assert.equal((await edge.api('GET', '/v1/segments/vips/destinations')).body.destinations.length, 0);

  assert.deepEqual(problems, []);
  await context.close();
});
