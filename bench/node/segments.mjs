// The six reference segments (S1–S6 of benches/segments.rs) in Node through @tessera/engine,
// next to the native CLI on the same data.
//
//   node bench/node/segments.mjs [--events 1000000] [--via-cli] [--tessera target/release/tessera]
//   node bench/node/segments.mjs --snapshot FILE.tsnap   (an existing `tessera snapshot`)
//
// Data: `tessera gen --events N` (NDJSON) → `engine.ingest` (timed) → `engine.snapshot()`.
// Then each segment is evaluated 7 times in Node and 5 times natively with
// `tessera eval SNAPSHOT` on the very same snapshot (its `evaluation_ms`), so both
// sides evaluate the same store. Needs `scripts/build.sh npm` (the package in pkg/npm) and a
// release build of the CLI (`cargo build --release`).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { load, root } from '../../tests/npm/install.mjs';
import { SEGMENTS } from '../reference-segments.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const events = Number(arg('events', '1000000'));
const targetDir = process.env.CARGO_TARGET_DIR ?? join(root, 'target');
const tessera = arg('tessera', join(targetDir, 'release', 'tessera'));
if (!existsSync(tessera)) throw new Error(`${tessera} is missing: cargo build --release (or pass --tessera PATH)`);

const NOW = '2026-06-01T00:00:00Z';

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const work = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
const ndjson = join(work, 'events.ndjson');
const given = arg('snapshot', null);
if (!given) execFileSync(tessera, ['gen', '--events', String(events), '--start', '2026-03-03T00:00:00Z', '-o', ndjson]);

const { Engine, dir } = await load();
const wasm = readFileSync(join(dir, 'node_modules', '@tessera', 'engine', 'wasm', 'tessera_wasm_bg.wasm'));

const snapFile = given ?? join(work, 'events.tsnap');
// wasm32 has 4 GB of memory: past a few million events the engine cannot hold them while it
// ingests, so the snapshot is built by the native streaming pipeline (`tessera snapshot`) and
// Node loads it, which is how the builder and integrators get a big workspace anyway.
const viaCli = process.argv.includes('--via-cli') || events > 2_000_000;
let summary;
if (given) {
  summary = `snapshot ${given}`;
} else if (viaCli) {
  const t0 = performance.now();
  execFileSync(tessera, ['snapshot', ndjson, '-o', snapFile], { stdio: ['ignore', 'ignore', 'inherit'] });
  summary = `snapshot built natively by \`tessera snapshot\` in ${((performance.now() - t0) / 1000).toFixed(1)} s`;
} else {
  // The file is larger than a JS string may be: ingest it in ~64 MB slices cut at line ends.
  const bytes = readFileSync(ndjson);
  let t = performance.now();
  const engine = new Engine();
  const report = { accepted: 0, rejected: [], duplicates: 0 };
  for (let start = 0; start < bytes.length;) {
    let end = Math.min(start + (64 << 20), bytes.length);
    while (end < bytes.length && bytes[end - 1] !== 0x0a) end++;
    const part = engine.ingest(bytes.subarray(start, end));
    report.accepted += part.accepted;
    report.rejected.push(...part.rejected);
    report.duplicates += part.duplicates;
    start = end;
  }
  const ingestMs = performance.now() - t;
  t = performance.now();
  const snapshot = engine.snapshot();
  const buildMs = performance.now() - t;
  writeFileSync(snapFile, snapshot);
  const heapMb = process.memoryUsage().rss / 1e6;
  engine.free();
  summary = `${report.accepted.toLocaleString('en')} events (${report.rejected.length} rejected, ${report.duplicates} duplicates); node ${process.version}: ingest + identity ${(ingestMs / 1000).toFixed(1)} s, store build ${(buildMs / 1000).toFixed(1)} s, RSS after ingest ${heapMb.toFixed(0)} MB`;
}

const loadStart = performance.now();
const loaded = Engine.fromSnapshot(readFileSync(snapFile));
const loadMs = performance.now() - loadStart;

console.log(`${given ? 'given snapshot' : `${events.toLocaleString('en')} generated lines`}, ${loaded.profileCount.toLocaleString('en')} profiles; ${summary}`);
console.log(`snapshot ${(statSync(snapFile).size / 1e6).toFixed(1)} MB loaded by Engine.fromSnapshot in ${loadMs.toFixed(0)} ms`);
console.log(`wasm ${(wasm.length / 1024).toFixed(0)} KB, gzipped ${(gzipSync(wasm, { level: 9 }).length / 1024).toFixed(0)} KB\n`);
// Best and median of each side: on a shared machine a burst of other work lands on one side's
// runs only, so the ratio is taken between the best runs (the least disturbed ones).
console.log('| segment | members | wasm evaluation ms, best / median of 7 | native ms, best / median of 5 | ratio of bests | evaluate() with member ids ms |');
console.log('|---|---|---|---|---|---|');
for (const [name, condition] of Object.entries(SEGMENTS)) {
  // `tookMs` of preview is the evaluation inside wasm (what `evaluation_ms` is natively);
  // evaluate() adds handing every member id to JS.
  const runs = [];
  const whole = [];
  let count = 0;
  for (let i = 0; i < 7; i++) {
    runs.push(loaded.preview(condition, { now: NOW, sample: 0 }).tookMs);
    const start = performance.now();
    count = loaded.evaluate(condition, { now: NOW }).count;
    whole.push(performance.now() - start);
  }
  const segFile = join(work, `${name}.json`);
  writeFileSync(segFile, JSON.stringify({ condition }));
  const native = [];
  for (let i = 0; i < 5; i++) {
    const out = JSON.parse(execFileSync(tessera, ['eval', snapFile, '--segment', segFile, '--now', NOW], { encoding: 'utf8', maxBuffer: 1 << 30 }));
    if (out.count !== count) throw new Error(`${name}: native ${out.count} members, node ${count}`);
    native.push(out.evaluation_ms);
  }
  const [n, r] = [Math.min(...runs), Math.min(...native)];
  console.log(`| ${name} | ${count.toLocaleString('en')} | ${n.toFixed(2)} / ${median(runs).toFixed(2)} | ${r.toFixed(2)} / ${median(native).toFixed(2)} `
    + `| ${(n / r).toFixed(2)}x | ${median(whole).toFixed(2)} |`);
}
rmSync(work, { recursive: true, force: true });
