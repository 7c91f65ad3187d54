// Bounded ingestion load on loopback: the real edge (wrangler dev + the built worker, a fresh
// state directory) against a null worker that only reads the body, same batches, same client.
//
//   node bench/edge-load.mjs [--requests 400] [--concurrency 4] [--batch 100] [--users 2000]
//                            [--edge both|plain|segments] [--apply-delay-ms MS]
//                            [--log-level warn] [--no-floor] [--runtime wrangler|miniflare]
//
// Each request is a POST /v1/batch of `--batch` fresh events (identify, track and page calls
// over a pool of `--users` people, so identity merges and profile updates really happen). The run
// sends a fixed number of requests with limited concurrency and stops by itself. It runs the edge
// twice: without saved segments, then with two saved segments (real-time audiences on). Prints
// sustained events/s, p50/p99 latency per batch, CPU per batch by process and the ratio to two
// floors: the null worker, and the null worker plus one hop to a Durable Object
// (bench/null-worker/hop.mjs). wrangler runs with `--log-level warn` for all three. Needs
// `scripts/build.sh worker www` first.
//
// `--runtime miniflare` runs the same three workers (the same build, Durable Objects and SQLite)
// in workerd through Miniflare's API (bench/miniflare-edge.mjs) instead of `wrangler dev`: no
// inspector relaying every subrequest to Node and no proxy process in front, as in production.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { startEdge, basicAuth, answer, ROOT } from '../tests/edge/harness.mjs';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '400' },
    concurrency: { type: 'string', default: '4' },
    batch: { type: 'string', default: '100' },
    users: { type: 'string', default: '2000' },
    edge: { type: 'string', default: 'both' },
    // The workspace's apply_delay_ms (docs/scaling.md); 60000 measures the acknowledgement alone.
    'apply-delay-ms': { type: 'string' },
    // wrangler's log level for the edge and the floor alike (`warn` drops its per-request lines).
    'log-level': { type: 'string', default: 'warn' },
    // Skip the two floors (quick A/B runs of the edge alone; no ratio is printed).
    'no-floor': { type: 'boolean', default: false },
    // What runs the workers: `wrangler dev` (as the tests do) or Miniflare without wrangler.
    runtime: { type: 'string', default: 'wrangler' },
  },
});
const REQUESTS = Number(values.requests);
const CONCURRENCY = Number(values.concurrency);
const BATCH = Number(values.batch);
const USERS = Number(values.users);
const WARMUP = 20;
const WRANGLER_ARGS = values['log-level'] ? ['--log-level', values['log-level']] : [];
const RUNTIME = values.runtime;
if (!['wrangler', 'miniflare'].includes(RUNTIME)) throw new Error('--runtime is wrangler or miniflare');

// A small deterministic generator, so every run sends the same messages.
let seed = 42;
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
let serial = 0;
const PLANS = ['free', 'pro', 'enterprise'];
const EVENTS = ['Product Viewed', 'Product Added', 'Order Completed'];

function message(runTag) {
  serial += 1;
  const u = Math.floor(random() * USERS);
  const time = new Date(Date.now() - Math.floor(random() * 30 * 86_400_000)).toISOString();
  const base = { messageId: `${runTag}-${serial}`, anonymousId: `anon-${u}`, timestamp: time };
  const r = random();
  if (r < 0.15) {
    return { ...base, type: 'identify', userId: `user-${u}`, traits: { email: `user${u}@example.com`, plan: PLANS[u % 3] } };
  }
  if (r < 0.35) return { ...base, type: 'page', name: 'Home', properties: { path: '/' } };
  return { ...base, type: 'track', userId: random() < 0.5 ? `user-${u}` : undefined, event: EVENTS[Math.floor(random() * 3)], properties: { price: Math.round(random() * 10_000) / 100 } };
}

function batches(count, runTag) {
  return Array.from({ length: count }, () => JSON.stringify({ batch: Array.from({ length: BATCH }, () => message(runTag)) }));
}

async function load(url, writeKey, bodies) {
  const latencies = [];
  let next = 0;
  let failures = 0;
  async function worker() {
    while (next < bodies.length) {
      const body = bodies[next++];
      const t0 = performance.now();
      const res = await fetch(`${url}/v1/batch`, {
        method: 'POST',
        headers: { Authorization: basicAuth(writeKey), 'Content-Type': 'application/json' },
        body,
      });
      await res.arrayBuffer();
      latencies.push(performance.now() - t0);
      if (res.status !== 200) failures += 1;
    }
  }
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return { eventsPerSecond: (bodies.length * BATCH) / seconds, p50: at(0.5), p99: at(0.99), failures, seconds };
}

/**
 * CPU seconds used so far by every process of a process group (wrangler and its workerd), from
 * /proc: on a shared machine the load's wall time also counts other processes' turns, the CPU
 * spent per batch does not.
 */
function groupCpuSeconds(pgid, byName = {}) {
  let ticks = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(pid)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // Fields after the command name (which may hold spaces): state is field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) !== pgid) continue;
    const t = Number(fields[11]) + Number(fields[12]);
    ticks += t;
    // The process's name: node (wrangler itself, its proxy and request logging) or workerd.
    let name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    if (name === 'workerd') {
      // wrangler runs two: the user's workers (with the inspector) and its own proxy in front.
      // Miniflare runs one, the user's workers.
      let cmd = '';
      try { cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch { /* gone */ }
      name = RUNTIME === 'miniflare' || cmd.includes('--inspector-addr') ? 'workerd' : 'workerd-proxy';
    }
    byName[name] = (byName[name] ?? 0) + t / 100;
  }
  return ticks / 100;
}

async function measured(pgid, url, writeKey, bodies) {
  const namesBefore = {};
  const before = groupCpuSeconds(pgid, namesBefore);
  const r = await load(url, writeKey, bodies);
  const namesAfter = {};
  r.cpuMsPerBatch = ((groupCpuSeconds(pgid, namesAfter) - before) * 1000) / bodies.length;
  r.cpuByProcess = Object.entries(namesAfter)
    .map(([name, s]) => [name, ((s - (namesBefore[name] ?? 0)) * 1000) / bodies.length])
    .filter(([, ms]) => ms > 0)
    .sort((a, b) => b[1] - a[1]);
  return r;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts a worker in its own process group and waits until it answers: `wrangler dev` with a
 * null worker's configuration, or bench/miniflare-edge.mjs with `miniflareArgs`.
 */
async function startWorker({ config, miniflareArgs = [], ready = '/' }) {
  const port = await freePort();
  const state = await mkdtemp(join(tmpdir(), 'tessera-bench-'));
  const args = RUNTIME === 'miniflare'
    ? [join(ROOT, 'bench', 'miniflare-edge.mjs'), '--port', String(port), '--persist', state, ...miniflareArgs]
    : [
      join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js'), 'dev',
      '--config', join(ROOT, 'bench', 'null-worker', config), '--persist-to', state,
      '--ip', '127.0.0.1', '--port', String(port), '--show-interactive-dev-session=false', ...WRANGLER_ARGS,
    ];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', WRANGLER_SEND_ERROR_REPORTS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i += 1) {
    try {
      if ((await fetch(`${url}${ready}`)).ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    pgid: child.pid,
    stop: async () => {
      await new Promise((resolve) => {
        child.once('exit', resolve);
        try { process.kill(-child.pid, 'SIGTERM'); } catch { resolve(); }
      });
      await rm(state, { recursive: true, force: true });
    },
  };
}

/** The edge under Miniflare, with the few members of the harness's edge this bench uses. */
async function startMiniflareEdge(workspace) {
  const worker = await startWorker({
    miniflareArgs: ['--worker', 'edge', '--workspaces', JSON.stringify([workspace])],
    ready: '/v1/health',
  });
  return {
    url: worker.url,
    writeKey: workspace.write_keys[0],
    processGroup: () => worker.pgid,
    api: async (method, path, body) => {
      const headers = { Authorization: `Bearer ${workspace.secret_key}` };
      if (body !== undefined) headers['Content-Type'] = 'application/json';
      const res = await fetch(`${worker.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      return answer(res);
    },
    stop: worker.stop,
  };
}

const fmt = (r) => `${Math.round(r.eventsPerSecond).toLocaleString('en-US')} events/s, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms per batch, CPU ${r.cpuMsPerBatch.toFixed(1)} ms per batch (${r.cpuByProcess.map(([n, ms]) => `${n} ${ms.toFixed(1)}`).join(', ')})${r.failures ? `, ${r.failures} FAILED` : ''}`;

const results = {};
const FLOORS = values['no-floor'] ? [] : [
  ['floor', 'wrangler.toml', 'null worker (floor):'],
  ['hop', 'wrangler-hop.toml', 'null worker + object hop:'],
];
for (const [key, config, label] of FLOORS) {
  const nullWorker = await startWorker({ config, miniflareArgs: ['--worker', key] });
  try {
    await load(nullWorker.url, 'any', batches(WARMUP, 'warm'));
    results[key] = await measured(nullWorker.pgid, nullWorker.url, 'any', batches(REQUESTS, key));
  } finally {
    await nullWorker.stop();
  }
  console.log(`${label.padEnd(28)} ${fmt(results[key])}`);
}

const EDGES = { both: [false, true], plain: [false], segments: [true] }[values.edge];
if (!EDGES) throw new Error('--edge is both, plain or segments');
for (const withSegments of EDGES) {
  const workspace = { id: 'bench', write_keys: ['wk_bench'], secret_key: 'sk_bench' };
  if (values['apply-delay-ms'] !== undefined) workspace.apply_delay_ms = Number(values['apply-delay-ms']);
  const edge = RUNTIME === 'miniflare'
    ? await startMiniflareEdge(workspace)
    : await startEdge({ workspaces: [workspace], wranglerArgs: WRANGLER_ARGS });
  try {
    await load(edge.url, edge.writeKey, batches(WARMUP, `warm${withSegments}`));
    if (withSegments) {
      for (const doc of [
        { id: 'buyers', condition: { event: 'Order Completed', within: '7d', count: { gte: 2 } } },
        { id: 'paid', condition: { trait: 'plan', op: 'in', value: ['pro', 'enterprise'] } },
      ]) {
        const res = await edge.api('POST', '/v1/segments', doc);
        if (res.status !== 201) throw new Error(`segment: ${JSON.stringify(res.body)}`);
      }
    }
    const name = withSegments ? 'edge, 2 saved segments' : 'edge, no saved segments';
    const r = await measured(edge.processGroup(), edge.url, edge.writeKey, batches(REQUESTS, `run${withSegments}`));
    results[name] = r;
    const ws = (await edge.api('GET', '/v1/workspace')).body;
    const ratio = (floor) => `${(r.eventsPerSecond / floor.eventsPerSecond * 100).toFixed(0)}%`;
    const ratios = results.floor ? `${ratio(results.floor)} of the floor, ${ratio(results.hop)} of the floor with the hop; ` : '';
    console.log(`${name.padEnd(28)} ${fmt(r)}  (${ratios}workspace: ${ws.events} events, ${ws.profiles} profiles)`);
  } finally {
    await edge.stop();
  }
}
console.log(`\n${REQUESTS} requests of ${BATCH} events, concurrency ${CONCURRENCY}, ${USERS} people, runtime ${RUNTIME}`);
