// Audience suggestions in the segment builder, in headless Chromium, at 1M events.
//
//   node bench/browser/suggest.mjs [--events 1000000] [--rounds 3]
//
// Builds a snapshot with `tessera gen --events N --seed 1 --planted` + `tessera snapshot`
// (cached in test-artifacts/bench/), serves the built page (www/dist, `scripts/build.sh www`
// first) with the snapshot behind the three read routes the builder needs at start, signs in,
// sets "Evaluate as of" to the latest event, then runs "Suggest audiences" for Order Completed
// within 30 days: the engine's time in the Web Worker (summary + every candidate evaluated), the
// time from the click to the results on screen, and the longest gap between animation frames on
// the page meanwhile (the page must not freeze). Finally opens the top suggestion and checks the
// live preview counts its reported size.
// Environment: TESSERA_BIN (a built `tessera`; default `cargo run --release --bin tessera --`).
import { readFileSync } from 'node:fs';

import { arg, launch, median, serve, snapshotFile } from './support.mjs';

const EVENTS = arg('events', 1_000_000);
const ROUNDS = arg('rounds', 3);
const GOAL = 'event:Order Completed';
const HORIZON = '30d';

const snapshot = readFileSync(snapshotFile('planted', EVENTS, true));
const server = await serve(snapshot, EVENTS);
const url = `http://127.0.0.1:${server.address().port}/`;
const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.fill('#key', 'sk_bench');
  await page.click('#login-submit');
  await page.waitForSelector('#app:not([hidden])', { timeout: 300_000 });
  const t = await page.evaluate(() => window.tesseraBuilder.timings);
  console.log(`tessera gen --events ${EVENTS} --planted: ${await page.textContent('#snapshot-info')}`);
  console.log(`snapshot ${(snapshot.length / 1e6).toFixed(1)} MB: download ${t.downloadMs.toFixed(0)} ms, load ${t.loadMs.toFixed(0)} ms`);
  await page.click('#as-of-latest');
  await page.selectOption('#suggest-goal', GOAL);
  await page.selectOption('#suggest-horizon', HORIZON);

  const engine = [];
  const onScreen = [];
  const gaps = [];
  let report = null;
  for (let r = 0; r < ROUNDS; r++) {
    await page.waitForFunction(() => !window.tesseraBuilder.busy, null, { timeout: 120_000, polling: 20 });
    const runs = await page.evaluate(() => window.tesseraBuilder.suggestions.runs);
    // The longest gap between animation frames while the worker suggests: the page's freeze.
    await page.evaluate(() => {
      const w = window;
      w.benchGap = 0;
      let last = performance.now();
      const tick = (now) => { w.benchGap = Math.max(w.benchGap, now - last); last = now; if (!w.benchStop) requestAnimationFrame(tick); };
      w.benchStop = false;
      requestAnimationFrame(tick);
      w.benchClick = performance.now();
      document.getElementById('suggest-run').click();
    });
    await page.waitForFunction((n) => window.tesseraBuilder.suggestions.runs > n, runs, { timeout: 600_000, polling: 'raf' });
    const shown = await page.evaluate(() => { window.benchStop = true; return { at: performance.now() - window.benchClick, gap: window.benchGap }; });
    report = await page.evaluate(() => window.tesseraBuilder.suggestions.last);
    engine.push(report.tookMs);
    onScreen.push(shown.at);
    gaps.push(shown.gap);
  }
  console.log(`\nsuggest ${GOAL} within ${HORIZON} as of ${report.now}: ${report.candidates} candidate conditions, `
    + `goal reached by ${report.goal.reached} of ${report.goal.profiles} profiles`);
  console.log(`engine (worker, summary + evaluations): median ${median(engine).toFixed(0)} ms of ${ROUNDS} (${engine.map((x) => x.toFixed(0)).join(', ')})`);
  console.log(`click → results on screen:             median ${median(onScreen).toFixed(0)} ms`);
  console.log(`longest frame gap on the page meanwhile: ${Math.max(...gaps).toFixed(1)} ms`);
  for (const s of report.suggestions) console.log(`  ${s.explanation} (${s.size} profiles)`);
  for (const a of report.lifecycle) console.log(`  ${a.kind}: ${a.size} profiles`);

  if (report.suggestions.length) {
    await page.locator('#suggestions li').first().getByRole('button').click();
    const size = report.suggestions[0].size;
    await page.waitForFunction((s) => document.getElementById('count').textContent.replace(/,/g, '') === String(s), size, { timeout: 60_000 });
    console.log(`opened the top suggestion: the live preview counts ${size}, its reported size`);
  }
  if (errors.length) console.log(`page errors: ${errors.join('; ')}`);
} finally {
  await browser.close();
  server.close();
}
