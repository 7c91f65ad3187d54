// Preview latency of the segment builder in headless Chromium at 1M events.
//
//   node bench/browser/preview.mjs [--events 1000000] [--rounds 15]
//
// Builds a snapshot with `tessera gen --events N --seed 1` + `tessera snapshot` (cached in
// test-artifacts/bench/), serves the built page (www/dist, `scripts/build.sh www` first) with
// the snapshot behind the three read routes the builder needs at start, signs in, then times
// each of the six reference segments of benches/segments.rs: pasted into the JSON view, the
// engine's time in the Web Worker and the round trip from the edit to the count on screen.
// Environment: TESSERA_BIN (a built `tessera`; default `cargo run --release --bin tessera --`).
import { readFileSync } from 'node:fs';

import { arg, launch, median, p95, serve, signedIn, snapshotFile } from './support.mjs';
import { SEGMENTS } from '../reference-segments.mjs';

const EVENTS = arg('events', 1_000_000);
const ROUNDS = arg('rounds', 15);
const NOW = '2026-06-01T00:00:00Z';
const TARGET_MS = 16;

const snapshot = readFileSync(snapshotFile('events', EVENTS));
const server = await serve(snapshot, EVENTS);
const url = `http://127.0.0.1:${server.address().port}/`;
const browser = await launch();
try {
  const { page, errors, timings: t } = await signedIn(browser, url);
  console.log(`tessera gen --events ${EVENTS}: ${await page.textContent('#snapshot-info')}`);
  console.log(`snapshot ${(snapshot.length / 1e6).toFixed(1)} MB: download ${t.downloadMs.toFixed(0)} ms, `
    + `load into the worker's engine (with the schema read) ${t.loadMs.toFixed(0)} ms`);
  await page.fill('#as-of', NOW.slice(0, 19));
  await page.click('#tab-json');

  console.log(`\npreview at ${NOW}, ${ROUNDS} rounds each (median / p95; target ≤ ${TARGET_MS} ms engine time)`);
  console.log('segment   members   engine (worker)      edit → count on screen');
  let worst = 0;
  for (const [name, condition] of Object.entries(SEGMENTS)) {
    const engine = [];
    const roundTrip = [];
    let count = 0;
    for (let r = 0; r < ROUNDS; r++) {
      // Wait for the previous round's insights and history to finish: one preview at a time.
      await page.waitForFunction(() => !window.tesseraBuilder.busy, null, { timeout: 120_000, polling: 20 });
      // Alternate the window so each round is a real change (no result can be reused).
      const doc = { condition: r % 2 ? { and: [condition] } : condition };
      const before = await page.evaluate(() => window.tesseraBuilder.lastPreview?.generation ?? 0);
      const started = await page.evaluate((text) => {
        const ta = document.getElementById('json');
        ta.value = text;
        const at = performance.now();
        ta.dispatchEvent(new Event('input'));
        return at;
      }, JSON.stringify(doc));
      await page.waitForFunction((g) => (window.tesseraBuilder.lastPreview?.generation ?? 0) > g, before, { timeout: 60_000, polling: 'raf' });
      const last = await page.evaluate(() => window.tesseraBuilder.lastPreview);
      if (r > 0) { engine.push(last.tookMs); roundTrip.push(last.shownAt - started); }
      count = last.count;
    }
    worst = Math.max(worst, median(engine));
    console.log(`${name.padEnd(8)}${String(count).padStart(9)}   ${median(engine).toFixed(2).padStart(6)} / ${p95(engine).toFixed(2).padStart(6)} ms   `
      + `${median(roundTrip).toFixed(1).padStart(6)} / ${p95(roundTrip).toFixed(1).padStart(6)} ms`);
  }
  console.log(`\nworst median engine time ${worst.toFixed(2)} ms: ${worst <= TARGET_MS ? 'within' : 'over'} the ${TARGET_MS} ms target`);
  if (errors.length) console.log(`page errors: ${errors.join('; ')}`);
} finally {
  await browser.close();
  server.close();
}
