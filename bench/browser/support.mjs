// What the browser benchmarks share: a cached generated snapshot, the built page served with
// that snapshot behind the read routes the builder needs at start, and Chromium.
import { createServer } from 'node:http';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';

import { ROOT } from '../../tests/edge/harness.mjs';
export { launch } from '../../tests/browser/support.mjs';

/** A numeric `--name value` argument. */
export const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
export const p95 = (xs) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))];

/** Runs the CLI: `TESSERA_BIN` when set, else `cargo run --release`. */
function tessera(args) {
  const bin = process.env.TESSERA_BIN;
  const [cmd, full] = bin ? [bin, args] : ['cargo', ['run', '--release', '--quiet', '--locked', '--bin', 'tessera', '--', ...args]];
  const r = spawnSync(cmd, full, { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`tessera ${args.join(' ')} failed`);
}

/** `tessera gen --events N --seed 1 [--planted]` + `tessera snapshot`, cached in
 * test-artifacts/bench/ under `name`. */
export function snapshotFile(name, events, planted = false) {
  const dir = join(ROOT, 'test-artifacts', 'bench');
  mkdirSync(dir, { recursive: true });
  const snap = join(dir, `${name}_${events}.tsnap`);
  if (!existsSync(snap)) {
    const ndjson = join(dir, `${name}_${events}.ndjson`);
    const gen = ['gen', '--events', String(events), '--seed', '1', ...(planted ? ['--planted'] : []), '-o', ndjson];
    if (!existsSync(ndjson)) tessera(gen);
    tessera(['snapshot', ndjson, '-o', snap]);
  }
  return snap;
}

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.json': 'application/json' };

/** Serves www/dist with `snapshot` as the workspace snapshot, on a free loopback port. */
export function serve(snapshot, events) {
  const dist = join(ROOT, 'www', 'dist');
  if (!existsSync(join(dist, 'index.html'))) throw new Error('www/dist is missing: run scripts/build.sh www first');
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://bench').pathname;
    const json = (body) => { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end(JSON.stringify(body)); };
    if (path === '/v1/workspace') return json({ id: 'bench', profiles: 0, events, segments: 0 });
    if (path === '/v1/segments') return json({ segments: [] });
    if (path === '/v1/snapshot') {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': snapshot.length });
      return res.end(snapshot);
    }
    const file = normalize(join(dist, path === '/' ? 'index.html' : path));
    if (!file.startsWith(dist) || !existsSync(file) || statSync(file).isDirectory()) { res.writeHead(404); return res.end(); }
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
