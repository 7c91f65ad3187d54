#!/usr/bin/env node
// Crash safety under load: a bounded load generator posts a fixed number of batches (known
// messageIds) to a local edge (wrangler dev on loopback), the edge is killed with SIGKILL while
// batches are in flight, restarted on the same state directory, and every batch that was not
// acknowledged is retried, as Segment SDKs do. Then: every acknowledged event survived the crash,
// every event is stored exactly once, and profiles and a saved segment's members equal what the
// CLI (`tessera profiles`, `tessera eval`) computes from the same events.
//
//   scripts/build.sh wasm www worker && cargo build --bin tessera
//   node bench/crash-safety.mjs                     # 3 runs, kill at 25 %, 50 %, 75 % of batches
//   node bench/crash-safety.mjs --batches 200 --per-batch 50 --kill-at 40,100,160
//
// Loopback only; it stops by itself. Prints one line of figures per run and exits non-zero when
// any event is lost or duplicated or the profiles differ.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { startEdge, basicAuth, ROOT } from '../tests/edge/harness.mjs';

const WORKSPACE = { id: 'crash', write_keys: ['wk_crash'], secret_key: 'sk_crash' };
/** The saved segment whose audience is compared with `tessera eval`. */
export const SEGMENT = { id: 'crash_pro', name: 'Crash pro', condition: { trait: 'plan', op: 'eq', value: 'pro' } };
const BASE_TIME = Date.parse('2025-03-01T00:00:00.000Z');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The CLI binary the test command builds (`cargo test` builds it into the target dir). */
export async function tesseraBinary() {
  const target = process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target');
  const bin = join(target, 'debug', 'tessera');
  try {
    await access(bin);
  } catch {
    execFileSync('cargo', ['build', '--bin', 'tessera', '--locked'], { cwd: ROOT, stdio: 'inherit' });
  }
  return bin;
}

/**
 * The messages of one run: `batches` batches of `perBatch`, deterministic. People have a userId,
 * two anonymous ids and an email; anonymous events are joined by identify and alias calls, so
 * identity resolution has merges to make, and retried batches arrive late and out of order.
 */
export function workload({ batches, perBatch, tag }) {
  const total = batches * perBatch;
  const people = Math.max(10, Math.floor(total / 8));
  const out = [];
  for (let b = 0; b < batches; b++) {
    const batch = [];
    for (let j = 0; j < perBatch; j++) {
      const g = b * perBatch + j;
      // A stride coprime with the pool spreads each person's events over many batches.
      const k = (g * 7919) % people;
      const base = {
        messageId: `${tag}-${g}`,
        timestamp: new Date(BASE_TIME + g * 1000).toISOString(),
      };
      const user = `user-${tag}-${k}`;
      const anon = `anon-${tag}-${k}`;
      switch (g % 6) {
        case 0:
          batch.push({ ...base, type: 'identify', userId: user, anonymousId: anon, traits: { email: `p${k}.${tag}@example.com`, plan: k % 3 === 0 ? 'pro' : 'free' } });
          break;
        case 1:
          batch.push({ ...base, type: 'track', anonymousId: anon, event: 'Product Viewed', properties: { sku: `sku-${g % 13}` } });
          break;
        case 2:
          batch.push({ ...base, type: 'page', anonymousId: `${anon}-web`, name: 'Pricing' });
          break;
        case 3:
          batch.push({ ...base, type: 'alias', userId: user, previousId: `${anon}-web` });
          break;
        case 4:
          batch.push({ ...base, type: 'track', userId: user, event: 'Order Completed', properties: { revenue: g % 100 } });
          break;
        default:
          batch.push({ ...base, type: 'identify', userId: user, traits: { plan: k % 5 === 0 ? 'pro' : 'free' } });
      }
    }
    out.push(batch);
  }
  return { batches: out, people, total };
}

/** Posts one batch; true when acknowledged (200 with every message accepted). */
async function postBatch(url, batch) {
  try {
    const res = await fetch(`${url}/v1/batch`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: basicAuth(WORKSPACE.write_keys[0]) },
      body: JSON.stringify({ batch }),
      signal: AbortSignal.timeout(30_000),
    });
    const body = await res.json().catch(() => ({}));
    if (res.status === 200 && body.rejected?.length) {
      throw new Error(`the edge rejected messages of a valid batch: ${JSON.stringify(body.rejected)}`);
    }
    return res.status === 200;
  } catch (err) {
    if (err.message?.startsWith('the edge rejected')) throw err;
    return false; // connection refused or reset, timeout: not acknowledged
  }
}

async function api(url, path) {
  const res = await fetch(`${url}${path}`, { headers: { Authorization: `Bearer ${WORKSPACE.secret_key}` } });
  const body = await res.json();
  return { status: res.status, body };
}

/**
 * Every stored event reachable from the people's identifiers: `Map<messageId, copies>`, each
 * profile read once, its events paged to the end.
 */
async function storedMessages(url, { people, tag }) {
  const profiles = new Set();
  for (let k = 0; k < people; k++) {
    for (const [type, value] of [['user_id', `user-${tag}-${k}`], ['anonymous_id', `anon-${tag}-${k}`], ['anonymous_id', `anon-${tag}-${k}-web`]]) {
      const res = await api(url, `/v1/profiles?type=${type}&value=${encodeURIComponent(value)}`);
      if (res.status === 200) profiles.add(res.body.id);
      else if (res.status !== 404) throw new Error(`lookup answered ${res.status}: ${JSON.stringify(res.body)}`);
    }
  }
  const copies = new Map();
  for (const id of profiles) {
    let before = '';
    for (;;) {
      const res = await api(url, `/v1/profiles/${id}/events?limit=10000${before && `&before=${encodeURIComponent(before)}`}`);
      if (res.status !== 200) throw new Error(`events answered ${res.status}: ${JSON.stringify(res.body)}`);
      for (const e of res.body.events) {
        const mid = e.messageId ?? e.message_id;
        copies.set(mid, (copies.get(mid) ?? 0) + 1);
      }
      if (!res.body.next_before) break;
      before = res.body.next_before;
    }
  }
  return copies;
}

/**
 * One run: load, SIGKILL when batch `killAt` is dispatched (plus `killDelayMs`), restart on the
 * same state, retry what was not acknowledged, check. Returns the figures.
 */
export async function crashRun({ batches = 40, perBatch = 25, killAt = 20, killDelayMs = 5, concurrency = 4, tag = `r${process.pid}`, cli, log = () => {} }) {
  const work = workload({ batches, perBatch, tag });
  const state = await mkdtemp(join(tmpdir(), 'tessera-crash-'));
  let edge = await startEdge({ workspaces: [WORKSPACE], persistTo: state });
  try {
    const saved = await fetch(`${edge.url}/v1/segments`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${WORKSPACE.secret_key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(SEGMENT),
    });
    if (saved.status !== 201) throw new Error(`saving the segment answered ${saved.status}`);

    // Phase 1: load until the kill. Batches in flight at the kill are neither known stored nor lost.
    const acked = new Array(batches).fill(false);
    let next = 0;
    let killing;
    const t0 = Date.now();
    const worker = async () => {
      while (!killing && next < batches) {
        const i = next++;
        if (i === killAt) killing = sleep(killDelayMs).then(() => edge.kill());
        acked[i] = await postBatch(edge.url, work.batches[i]);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    await killing;
    const ackedBeforeCrash = acked.filter(Boolean).length;
    const loadMs = Date.now() - t0;
    log(`run ${tag}: killed at batch ${killAt}; ${ackedBeforeCrash} of ${batches} batches acknowledged`);

    // Phase 2: the same state directory, as after a crash.
    await edge.restart();
    const ackedIds = work.batches.filter((_, i) => acked[i]).flatMap((b) => b.map((m) => m.messageId));
    const afterCrash = await storedMessages(edge.url, { ...work, tag });
    const lostAcknowledged = ackedIds.filter((id) => !afterCrash.has(id)).length;
    const storedAfterCrash = [...afterCrash.values()].reduce((a, b) => a + b, 0);

    // Phase 3: retry everything not acknowledged, in order, until acknowledged (SDK behaviour).
    let retries = 0;
    for (let i = 0; i < batches; i++) {
      for (let attempt = 0; !acked[i]; attempt++) {
        if (attempt === 10) throw new Error(`batch ${i} was never acknowledged`);
        if (attempt > 0) await sleep(200 * attempt);
        retries++;
        acked[i] = await postBatch(edge.url, work.batches[i]);
      }
    }

    // Checks: counts, then every event by messageId, then the CLI's answer on the same events.
    const workspace = (await api(edge.url, '/v1/workspace')).body;
    const stored = await storedMessages(edge.url, { ...work, tag });
    const sentIds = work.batches.flat().map((m) => m.messageId);
    const lost = sentIds.filter((id) => !stored.has(id)).length;
    // Every sent id read back once and a row count equal to the ids found: nothing twice.
    const duplicates = [...stored.values()].reduce((a, n) => a + (n - 1), 0) + (workspace.events - stored.size);
    const unexpected = [...stored.keys()].filter((id) => !id.startsWith(`${tag}-`)).length;

    const dir = await mkdtemp(join(tmpdir(), 'tessera-crash-cli-'));
    let profileDiffs;
    let segmentDiff;
    let cliProfiles;
    try {
      const file = join(dir, 'events.ndjson');
      await writeFile(file, work.batches.flat().map((m) => JSON.stringify(m)).join('\n') + '\n');
      const segmentFile = join(dir, 'segment.json');
      await writeFile(segmentFile, JSON.stringify(SEGMENT));
      const bin = cli ?? (await tesseraBinary());
      const expected = JSON.parse(execFileSync(bin, ['profiles', file, '--format', 'json'], { maxBuffer: 1 << 28 }));
      cliProfiles = expected.profiles.length;
      profileDiffs = [];
      for (const p of expected.profiles) {
        const res = await api(edge.url, `/v1/profiles/${p.id}`);
        const identifiers = (x) => JSON.stringify(Object.fromEntries(Object.entries(x ?? {}).map(([k, v]) => [k, [...v].sort()]).sort()));
        if (res.status !== 200 || res.body.id !== p.id || res.body.redirected_from) {
          profileDiffs.push(`${p.id}: edge answered ${res.status} ${JSON.stringify(res.body).slice(0, 120)}`);
        } else if (identifiers(res.body.identifiers) !== identifiers(p.identifiers) || res.body.event_count !== p.event_count) {
          profileDiffs.push(`${p.id}: edge ${identifiers(res.body.identifiers)} (${res.body.event_count} events), CLI ${identifiers(p.identifiers)} (${p.event_count})`);
        }
      }
      if (workspace.profiles !== cliProfiles) profileDiffs.push(`edge has ${workspace.profiles} profiles, CLI ${cliProfiles}`);
      const evaluated = JSON.parse(execFileSync(bin, ['eval', file, '--segment', segmentFile, '--format', 'json'], { maxBuffer: 1 << 28 }));
      const members = (await api(edge.url, `/v1/segments/${SEGMENT.id}/members?limit=10000`)).body.members;
      segmentDiff = JSON.stringify([...members].sort()) === JSON.stringify([...evaluated.members].sort())
        ? null
        : `edge ${members.length} members, CLI ${evaluated.members.length}`;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }

    return {
      killAt,
      batches,
      sent: work.total,
      ackedBeforeCrash: ackedBeforeCrash * perBatch,
      storedAfterCrash,
      lostAcknowledged,
      retriedBatches: retries,
      storedCount: workspace.events,
      stored: [...stored.values()].reduce((a, b) => a + b, 0),
      lost,
      duplicates,
      unexpected,
      profiles: workspace.profiles,
      cliProfiles,
      profileDiffs,
      segmentDiff,
      loadMs,
    };
  } finally {
    await edge.stop();
    await rm(state, { recursive: true, force: true });
  }
}

/** True when a run lost or duplicated nothing and agrees with the CLI. */
export const clean = (r) =>
  r.lostAcknowledged === 0 && r.lost === 0 && r.duplicates === 0 && r.unexpected === 0 &&
  r.storedCount === r.sent && r.stored === r.sent && r.profileDiffs.length === 0 && r.segmentDiff === null;

async function main() {
  const args = process.argv.slice(2);
  const opt = (name, fallback) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : fallback;
  };
  const batches = Number(opt('batches', 200));
  const perBatch = Number(opt('per-batch', 50));
  const killAts = opt('kill-at', [0.25, 0.5, 0.75].map((f) => Math.floor(batches * f)).join(',')).split(',').map(Number);
  const cli = await tesseraBinary();
  let ok = true;
  console.log('| kill at batch | sent | acknowledged before the kill | stored after restart | acknowledged but lost | batches retried | stored in the end | duplicates | lost | profiles (edge / CLI) | segment members equal |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const [n, killAt] of killAts.entries()) {
    const r = await crashRun({ batches, perBatch, killAt, killDelayMs: 3 + 7 * n, tag: `c${n}`, cli, log: (m) => console.error(m) });
    ok &&= clean(r);
    console.log(`| ${r.killAt} of ${r.batches} | ${r.sent} | ${r.ackedBeforeCrash} | ${r.storedAfterCrash} | ${r.lostAcknowledged} | ${r.retriedBatches} | ${r.stored} (count ${r.storedCount}) | ${r.duplicates} | ${r.lost} | ${r.profiles} / ${r.cliProfiles}${r.profileDiffs.length ? ` (${r.profileDiffs.length} differ: ${r.profileDiffs.slice(0, 3).join('; ')})` : ''} | ${r.segmentDiff ?? 'yes'} |`);
  }
  process.exitCode = ok ? 0 : 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await main();
}
