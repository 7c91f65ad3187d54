// What the browser tests (and bench/browser) share: Debian's Chromium launched headless, where
// screenshots go, the demo workspace the builder's usage analytics write to, and a wait for the
// live preview to settle.
import { join } from 'node:path';
import { chromium } from 'playwright-core';

import { ROOT } from '../edge/harness.mjs';

export const ARTIFACTS = join(ROOT, 'test-artifacts');

// The builder's usage analytics use the demo write key (www/public/config.json).
export const DEMO_WORKSPACES = [{ id: 'demo', write_keys: ['wk_demo_local'], secret_key: 'sk_demo_local' }];

/** Debian's Chromium, headless, with the background chatter off. */
export const launch = () => chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});

/** The text at `selector` once it stops changing: the preview updates on every edit. */
export async function stableText(page, selector) {
  let last = null;
  for (let i = 0; i < 50; i++) {
    const now = await page.textContent(selector);
    if (now === last && now !== '—') return now;
    last = now;
    await page.waitForTimeout(120);
  }
  return last;
}
