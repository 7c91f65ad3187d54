// The segment builder end to end in Debian's Chromium (headless) against the real local edge:
// sign in, build a segment by clicking, compare the browser's count with the edge's preview,
// save, reload, export CSV, see the builder's own `Segment Created` event arrive, dark mode.
// Screenshots go to test-artifacts/ (gitignored).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { startEdge, ROOT } from '../edge/harness.mjs';
import { ARTIFACTS, DEMO_WORKSPACES, launch, stableText } from './support.mjs';

const WORKSPACES = DEMO_WORKSPACES;
const NOW = '2026-06-01T00:00:00Z';
const DAY = 86_400_000;

/** 40 shoppers: every third on plan pro, buyers with 0–3 orders in the last month, emails for most. */
function shoppers() {
  const batch = [];
  const end = Date.parse(NOW);
  let n = 0;
  const at = (daysAgo) => new Date(end - daysAgo * DAY - (n % 7) * 3_600_000).toISOString();
  for (let i = 0; i < 40; i++) {
    const userId = `user-${String(i).padStart(3, '0')}`;
    const traits = { plan: i % 3 === 0 ? 'pro' : 'free', country: ['US', 'CA', 'DE', 'FR'][i % 4], age: 20 + i };
    if (i % 5 !== 4) traits.email = `${userId}@example.com`;
    if (i % 4 === 0) traits.phone = `+1 555 010 ${String(1000 + i)}`;
    batch.push({ type: 'identify', userId, traits, messageId: `id-${n++}`, timestamp: at(80 - i) });
    batch.push({ type: 'page', userId, name: 'Pricing', properties: { path: '/pricing' }, messageId: `m-${n++}`, timestamp: at(60 - i) });
    for (let k = 0; k < i % 4; k++) {
      batch.push({ type: 'track', userId, event: 'Order Completed', properties: { revenue: 20 + 10 * k, order_id: `o-${i}-${k}` },
        messageId: `m-${n++}`, timestamp: at(2 + 5 * k + (i % 3)) });
    }
    if (i % 6 === 1) batch.push({ type: 'track', userId, event: 'Product Added', properties: { price: 15 }, messageId: `m-${n++}`, timestamp: at(3) });
  }
  return batch;
}

let edge;
let browser;
before(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  edge = await startEdge({ workspaces: WORKSPACES });
  const res = await edge.post('/v1/batch', { batch: shoppers() });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await edge?.stop();
});

const secret = { Authorization: `Bearer ${WORKSPACES[0].secret_key}` };
async function getJson(path) {
  const res = await fetch(`${edge.url}${path}`, { headers: secret });
  return { status: res.status, body: await res.json() };
}
test('a marketer builds, previews, saves, exports a segment; dark mode', async () => {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1440, height: 900 }, colorScheme: 'light' });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(err.message));

  // Sign in.
  await page.goto(`${edge.url}/`);
  await page.waitForSelector('#login-screen:not([hidden])');
  await page.screenshot({ path: join(ARTIFACTS, 'builder-login.png') });
  await page.fill('#key', 'wk_demo_local');
  await page.click('#login-submit');
  await page.waitForSelector('#login-error:not([hidden])');
  await page.fill('#key', WORKSPACES[0].secret_key);
  await page.click('#login-submit');
  await page.waitForSelector('#app:not([hidden])', { timeout: 30_000 });
  assert.match(await page.textContent('#snapshot-info'), /profiles/);

  // Build: orders in the last 30 days, at least twice, and plan is pro.
  await page.fill('#as-of', NOW.slice(0, 19));
  await page.fill('#seg-name', 'Pro repeat buyers');
  await page.click('#rules [data-add="event"]');
  await page.fill('#rules [data-key="condition.and[0].event"]', 'Order Completed');
  await page.fill('#rules [data-key="condition.and[0].within#n"]', '30');
  await page.fill('#rules [data-key="condition.and[0].count.gte"]', '2');
  await page.click('#rules [data-add="trait"]');
  await page.fill('#rules [data-key="condition.and[1].trait"]', 'plan');
  await page.selectOption('#rules [data-key="condition.and[1].op"]', 'eq');
  await page.fill('#rules [data-key="condition.and[1].value"]', 'pro');
  const shown = Number((await stableText(page, '#count')).replace(/,/g, ''));

  // The same definition on the edge gives the same count.
  await page.click('#tab-json');
  const doc = JSON.parse(await page.inputValue('#json'));
  assert.deepEqual(doc.condition, {
    and: [
      { event: 'Order Completed', within: '30d', count: { gte: 2 } },
      { trait: 'plan', op: 'eq', value: 'pro' },
    ],
  });
  const res = await fetch(`${edge.url}/v1/segments/preview`, {
    method: 'POST', headers: { ...secret, 'Content-Type': 'application/json' },
    body: JSON.stringify({ segment: doc, now: NOW, sample: 10 }),
  });
  const api = await res.json();
  assert.equal(res.status, 200, JSON.stringify(api));
  assert.equal(shown, api.count);
  assert.ok(shown > 0, 'the test data has pro repeat buyers');

  // A definition error shows its code and path, and the JSON edit flows back to the rules.
  await page.fill('#json', JSON.stringify({ ...doc, condition: { and: [doc.condition.and[0], { trait: 'plan', op: 'equals', value: 'pro' }] } }));
  await page.waitForSelector('#definition-error:not([hidden])');
  assert.match(await page.textContent('#definition-error'), /unknown_operator at condition\.and\[1\]\.op/);
  await page.fill('#json', JSON.stringify(doc, null, 2));
  await page.waitForSelector('#definition-error', { state: 'hidden' });
  await page.click('#tab-rules');
  assert.equal(await page.inputValue('#rules [data-key="condition.and[1].value"]'), 'pro');

  await stableText(page, '#count');
  await page.waitForFunction(() => document.querySelector('#chart canvas') !== null);
  await page.waitForFunction(() => /evaluations/.test(document.getElementById('history-note').textContent));
  await page.screenshot({ path: join(ARTIFACTS, 'builder-light.png'), fullPage: true });

  // Save; the builder reports its own usage to the workspace.
  const eventsBefore = (await getJson('/v1/workspace')).body.events;
  await page.click('#create');
  await page.waitForSelector('#segment-list [data-id]');
  const id = await page.getAttribute('#segment-list [data-id]', 'data-id');
  assert.match(await page.textContent('#save-status'), /Created/);
  const anonymousId = await page.evaluate(() => localStorage.getItem('tessera.builder.anonymousId'));
  let created = null;
  for (let i = 0; i < 50 && !created; i++) {
    const prof = await getJson(`/v1/profiles?type=anonymous_id&value=${encodeURIComponent(anonymousId)}`);
    if (prof.status === 200) {
      const events = await getJson(`/v1/profiles/${encodeURIComponent(prof.body.id)}/events?limit=10`);
      created = (events.body.events ?? []).find((e) => e.event === 'Segment Created');
    }
    if (!created) await page.waitForTimeout(100);
  }
  assert.ok(created, 'Segment Created arrived');
  assert.deepEqual(created.properties.condition_types, ['and', 'count', 'event', 'trait', 'within']);
  assert.equal((await getJson('/v1/workspace')).body.events, eventsBefore + 1);

  // Reload: still signed in (session storage), the segment is listed with its size.
  await page.reload();
  await page.waitForSelector(`#segment-list [data-id="${id}"]`, { timeout: 30_000 });
  assert.equal(await page.textContent(`#segment-list [data-id="${id}"] .seg-name`), 'Pro repeat buyers');
  await page.click(`#segment-list [data-id="${id}"]`);
  await page.fill('#as-of', NOW.slice(0, 19));
  await page.waitForFunction(([sel, n]) => document.querySelector(sel)?.textContent === n,
    [`#segment-list [data-id="${id}"] .seg-size`, String(api.count)], { timeout: 10_000 });
  const again = await stableText(page, '#count');
  assert.equal(Number(again.replace(/,/g, '')), api.count, `after reload: ${again} ${await page.textContent('#definition-error')}`);

  // Keyboard: Alt+J switches to the JSON view and back; Ctrl+S saves the selected segment.
  await page.keyboard.press('Alt+j');
  assert.equal(await page.isVisible('#json'), true);
  await page.keyboard.press('Alt+j');
  assert.equal(await page.isVisible('#rules'), true);
  await page.focus('#seg-desc');
  await page.keyboard.type('Pro plan, two orders in 30 days');
  await page.keyboard.press('Control+s');
  await page.waitForFunction(() => document.getElementById('save-status').textContent === 'Saved.');
  assert.equal((await getJson(`/v1/segments/${id}`)).body.description, 'Pro plan, two orders in 30 days');

  // A member's profile.
  await page.click('#sample [data-profile]');
  await page.waitForSelector('#profile-dialog[open] .timeline');
  await page.screenshot({ path: join(ARTIFACTS, 'builder-profile.png') });
  await page.click('#profile-dialog [data-close]');

  // Export CSV with the email column.
  await page.click('#export');
  await page.check('#export-columns input[value="email"]');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-download')]);
  const csv = await readFile(await download.path(), 'utf8');
  const rows = csv.trimEnd().split('\r\n');
  assert.match(rows[0], /^profile_id,/);
  assert.ok(rows[0].split(',').includes('email'));
  assert.equal(rows.length - 1, api.count);
  await page.keyboard.press('Escape');

  // Dark mode, remembered across reloads.
  await page.click('#theme');
  assert.equal(await page.getAttribute('html', 'data-theme'), 'dark');
  await stableText(page, '#count');
  await page.waitForFunction(() => document.querySelector('#chart canvas') !== null);
  await page.waitForTimeout(400);
  await page.screenshot({ path: join(ARTIFACTS, 'builder-dark.png'), fullPage: true });
  await page.reload();
  await page.waitForSelector('#app:not([hidden])', { timeout: 30_000 });
  assert.equal(await page.getAttribute('html', 'data-theme'), 'dark');

  assert.deepEqual(problems, []);
  await context.close();
});

/** Every case of the segment conformance corpus (tests/fixtures/segments/). */
async function corpus() {
  const dir = join(ROOT, 'tests', 'fixtures', 'segments');
  const out = [];
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.json')).sort()) {
    const fixture = JSON.parse(await readFile(join(dir, file), 'utf8'));
    for (const c of fixture.cases) out.push({ file, ...c });
  }
  return out;
}

test('the rules view has a form for every definition of the corpus; errors show code and path', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems = [];
  page.on('pageerror', (err) => problems.push(err.message));
  await page.goto(`${edge.url}/`);
  await page.evaluate((key) => sessionStorage.setItem('tessera.secretKey', key), WORKSPACES[0].secret_key);
  await page.reload();
  await page.waitForSelector('#app:not([hidden])', { timeout: 30_000 });
  await page.click('#tab-json');

  const cases = await corpus();
  let valid = 0;
  let invalid = 0;
  for (const c of cases) {
    const doc = c.segment ?? { condition: c.condition };
    const text = JSON.stringify(doc);
    await page.fill('#json', text);
    if (c.error) {
      // Saved segments of the fixture are not in this workspace: skip the errors about them.
      if (['unknown_segment', 'segment_cycle'].includes(c.error.code) || c.error.path.startsWith('segments.')) continue;
      const expected = c.error.path ? `${c.error.code} at ${c.error.path}:` : `${c.error.code}:`;
      await page.waitForFunction((exp) => {
        const box = document.getElementById('definition-error');
        return !box.hidden && box.textContent.startsWith(exp);
      }, expected, { timeout: 5_000 }).catch(() => {});
      const shown = await page.textContent('#definition-error');
      assert.ok(shown.startsWith(expected), `${c.file} ${c.name}: shows "${shown}", expected "${expected}"`);
      invalid++;
    } else {
      // A valid definition renders as form cards only (no raw JSON fallback) and the rules
      // give back exactly the document that went in.
      const raw = await page.$$eval('#rules [data-kind="raw"]', (els) => els.length);
      assert.equal(raw, 0, `${c.file} ${c.name}: a condition has no form`);
      await page.click('#tab-rules');
      await page.click('#tab-json');
      assert.deepEqual(JSON.parse(await page.inputValue('#json')), doc, `${c.file} ${c.name}`);
      valid++;
    }
  }
  assert.ok(valid > 100 && invalid > 40, `${valid} valid and ${invalid} invalid cases checked`);
  assert.deepEqual(problems, []);
  await page.close();
});
