// "Suggest audiences" end to end in Debian's Chromium (headless) against the real local edge:
// data with a planted pattern (profiles that viewed /pricing three or more times in the last
// week order far more often), pick the goal with the keyboard, see the pattern among the
// suggestions, open one in the builder and find the live preview counting exactly the size the
// suggestion reported (and the edge agreeing); empty and error states; dark mode.
// Screenshots go to test-artifacts/ (gitignored).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

import { startEdge } from '../edge/harness.mjs';
import { ARTIFACTS, DEMO_WORKSPACES, launch, stableText } from './support.mjs';

const WORKSPACES = DEMO_WORKSPACES;
const NOW = '2026-06-01T00:00:00Z';
const DAY = 86_400_000;
const PROFILES = 600;

/** A small deterministic generator (mulberry32), so the data is the same on every run. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Visitors browsing docs, blog and pricing; a third viewed /pricing 3+ times in the last week and
 * complete orders at 55% against 10% for everyone else. */
function shop() {
  const rnd = random(9);
  const end = Date.parse(NOW);
  const at = (daysAgo) => new Date(end - daysAgo * DAY - Math.floor(rnd() * 3_600_000)).toISOString();
  const out = [];
  let n = 0;
  for (let i = 0; i < PROFILES; i++) {
    const userId = `shopper-${String(i).padStart(4, '0')}`;
    const keen = i % 3 === 0;
    out.push({ type: 'identify', userId, traits: { plan: rnd() < 0.3 ? 'pro' : 'free', email: `${userId}@example.com` },
      messageId: `s-${n++}`, timestamp: at(60 + rnd() * 20) });
    const docs = Math.floor(rnd() * 4);
    for (let k = 0; k < docs; k++) out.push({ type: 'page', userId, properties: { path: '/docs/start' }, messageId: `s-${n++}`, timestamp: at(rnd() * 40) });
    if (rnd() < 0.5) out.push({ type: 'page', userId, properties: { path: '/blog/post' }, messageId: `s-${n++}`, timestamp: at(rnd() * 40) });
    const pricing = keen ? 3 + Math.floor(rnd() * 3) : rnd() < 0.3 ? 1 : 0;
    for (let k = 0; k < pricing; k++) out.push({ type: 'page', userId, properties: { path: '/pricing' }, messageId: `s-${n++}`, timestamp: at(rnd() * 6) });
    if (rnd() < (keen ? 0.55 : 0.1)) {
      out.push({ type: 'track', userId, event: 'Order Completed', properties: { revenue: 20 + Math.floor(rnd() * 80) },
        messageId: `s-${n++}`, timestamp: at(rnd() * 20) });
    }
    if (rnd() < 0.4) out.push({ type: 'track', userId, event: 'Product Viewed', properties: { category: 'Outdoor' }, messageId: `s-${n++}`, timestamp: at(rnd() * 30) });
  }
  return out;
}

let edge;
let browser;
before(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  edge = await startEdge({ workspaces: WORKSPACES });
  const messages = shop();
  for (let i = 0; i < messages.length; i += 400) {
    const res = await edge.post('/v1/batch', { batch: messages.slice(i, i + 400) });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await edge?.stop();
});

const secret = { Authorization: `Bearer ${WORKSPACES[0].secret_key}` };
const number = (text) => Number(String(text).replace(/[^0-9]/g, ''));

async function edgeCount(doc) {
  const res = await fetch(`${edge.url}/v1/segments/preview`, {
    method: 'POST', headers: { ...secret, 'Content-Type': 'application/json' },
    body: JSON.stringify({ segment: doc, now: NOW, sample: 0 }),
  });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  return body.count;
}

test('a marketer asks for audiences, opens one, and the preview counts what was suggested', async () => {
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, colorScheme: 'light' });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(err.message));
  await page.goto(`${edge.url}/`);
  await page.evaluate((key) => sessionStorage.setItem('tessera.secretKey', key), WORKSPACES[0].secret_key);
  await page.reload();
  await page.waitForSelector('#app:not([hidden])', { timeout: 30_000 });
  await page.fill('#as-of', NOW.slice(0, 19));

  // The goal picker lists the data's track events and categorical traits; the help is linked.
  const goals = await page.$$eval('#suggest-goal option', (os) => os.map((o) => o.value));
  assert.ok(goals.includes('event:Order Completed') && goals.includes('event:Product Viewed'), goals.join());
  assert.ok(goals.includes('trait:plan=pro'), goals.join());
  assert.equal(await page.getAttribute('#suggest a[href="docs/suggestions.html"]', 'target'), '_blank');

  // Keyboard only: Alt+G jumps to the goal, then to the horizon and the Suggest button.
  await page.keyboard.press('Alt+g');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'suggest-goal');
  await page.selectOption('#suggest-goal', 'event:Order Completed');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'suggest-horizon');
  await page.selectOption('#suggest-horizon', '30d');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'suggest-run');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#suggestions li', { timeout: 60_000 });
  assert.equal(await page.getAttribute('#suggest-results', 'aria-busy'), 'false');
  assert.match(await page.textContent('#suggest-status'), /Order Completed: reached by \d+ of 600 profiles/);

  // The planted pattern is among the top three, with its lift, rate and explanation.
  const report = await page.evaluate(() => window.tesseraBuilder.suggestions.last);
  assert.equal(Date.parse(report.now), Date.parse(NOW));
  const top = report.suggestions.slice(0, 3);
  const planted = top.findIndex((s) => JSON.stringify(s.segment.condition).includes('/pricing'));
  assert.ok(planted >= 0, JSON.stringify(top.map((s) => s.explanation)));
  assert.ok(report.suggestions[planted].lift > 2, report.suggestions[planted].explanation);
  const card = page.locator(`#suggestions li[data-suggestion="${planted}"]`);
  assert.match(await card.textContent(), /\/pricing/);
  assert.match(await card.textContent(), /× lift/);
  assert.match(await card.textContent(), /goal rate [\d.]+% vs [\d.]+% overall/);
  const size = number(await card.locator('[data-size]').textContent());
  assert.equal(size, report.suggestions[planted].size);
  assert.ok(report.lifecycle.length >= 4, 'lifecycle audiences are listed');
  assert.ok(await page.locator('#lifecycle li').count() >= 4);
  await page.screenshot({ path: join(ARTIFACTS, 'suggest-light.png'), fullPage: true });

  // Open in builder: the rule builder and the JSON hold the definition, the preview its size.
  await card.getByRole('button', { name: /Open .* in the builder/ }).click();
  const shown = number(await stableText(page, '#count'));
  assert.equal(shown, size, 'the live preview counts the suggested size');
  assert.equal(await page.inputValue('#seg-name'), report.suggestions[planted].segment.name);
  assert.ok(await page.locator('#rules [data-key]').count() > 0, 'the rules view shows the definition');
  await page.click('#tab-json');
  const doc = JSON.parse(await page.inputValue('#json'));
  assert.deepEqual(doc.condition, report.suggestions[planted].segment.condition);
  assert.equal(doc.id, undefined, 'a suggestion opens as a new segment');
  assert.equal(await edgeCount(doc), size, 'the edge counts the same');
  await page.click('#tab-rules');

  // A lifecycle audience opens the same way.
  const lifecycle = page.locator('#lifecycle li').first();
  const lifecycleSize = number(await lifecycle.locator('[data-size]').textContent());
  await lifecycle.getByRole('button', { name: /Open .* in the builder/ }).click();
  await page.waitForFunction((s) => document.getElementById('count').textContent.replace(/,/g, '') === String(s), lifecycleSize, { timeout: 10_000 });

  // Dark mode, like the rest of the page.
  await page.click('#theme');
  assert.equal(await page.getAttribute('html', 'data-theme'), 'dark');
  await page.locator('#suggest').scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(ARTIFACTS, 'suggest-dark.png'), fullPage: true });
  await page.click('#theme');

  assert.deepEqual(problems, []);
  await context.close();
});

test('the panel says when nobody reached the goal and shows engine errors with code and path', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems = [];
  page.on('pageerror', (err) => problems.push(err.message));
  await page.goto(`${edge.url}/`);
  await page.evaluate((key) => sessionStorage.setItem('tessera.secretKey', key), WORKSPACES[0].secret_key);
  await page.reload();
  await page.waitForSelector('#app:not([hidden])', { timeout: 30_000 });

  // Before any event: nobody reached the goal, so nothing is suggested, and the page says why.
  await page.fill('#as-of', '2020-01-01T00:00:00');
  await page.selectOption('#suggest-goal', 'event:Order Completed');
  await page.click('#suggest-run');
  await page.waitForFunction(() => window.tesseraBuilder.suggestions.runs === 1, null, { timeout: 60_000 });
  assert.match(await page.textContent('#suggest-results'), /Nobody reached Order Completed/);
  assert.equal(await page.locator('#suggestions li').count(), 0);

  // A goal the engine refuses shows its code and path, and no stale results.
  await page.evaluate(() => {
    const select = document.getElementById('suggest-goal');
    select.append(new Option('broken', 'trait:=x'));
    select.value = 'trait:=x';
  });
  await page.click('#suggest-run');
  await page.waitForSelector('#suggest-error:not([hidden])', { timeout: 30_000 });
  assert.match(await page.textContent('#suggest-error'), /^bad_goal at options\.goal: /);
  assert.equal((await page.textContent('#suggest-results')).trim(), '');
  assert.equal(await page.isDisabled('#suggest-run'), false);

  assert.deepEqual(problems, []);
  await page.close();
});
