// Runs a worker of bench/edge-load.mjs in workerd through Miniflare's programmatic API, without
// `wrangler dev`: no inspector, no DevTools events relayed to Node, no proxy process in front.
// The same built worker, Durable Object and SQLite storage as `wrangler dev` runs; what it leaves
// out is the development machinery, which production does not have either.
//
//   node bench/miniflare-edge.mjs --worker edge|floor|hop --port N --persist DIR [--workspaces JSON]
//
// Prints `ready <url>` once it answers, and runs until it gets SIGTERM. The load bench starts it
// in its own process group, so the CPU it counts is this process and its workerd.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Miniflare } from 'miniflare';

import { ROOT } from '../tests/edge/harness.mjs';

const { values } = parseArgs({
  options: {
    worker: { type: 'string' },
    port: { type: 'string' },
    persist: { type: 'string' },
    workspaces: { type: 'string' },
  },
});

// The compatibility date of wrangler.toml (and of the null workers' configurations).
const COMPATIBILITY_DATE = '2026-04-01';

const WORKERS = {
  // wrangler.toml: the built worker (build/index.js with its wasm), the EventStore class with
  // SQLite, the page as static assets (the API routes go to the worker first).
  edge: () => ({
    scriptPath: join(ROOT, 'build', 'index.js'),
    modules: true,
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
    durableObjects: { EVENT_STORE: { className: 'EventStore', useSQLite: true } },
    bindings: { WORKSPACES: values.workspaces },
    assets: {
      directory: join(ROOT, 'www', 'dist'),
      // wrangler.toml's `run_worker_first`, as wrangler passes it on.
      routerConfig: { has_user_worker: true, static_routing: { user_worker: ['/v1/*', '/openapi.json'] } },
    },
  }),
  // bench/null-worker/wrangler.toml
  floor: () => ({ scriptPath: join(ROOT, 'bench', 'null-worker', 'index.mjs'), modules: true }),
  // bench/null-worker/wrangler-hop.toml
  hop: () => ({
    scriptPath: join(ROOT, 'bench', 'null-worker', 'hop.mjs'),
    modules: true,
    durableObjects: { NULL_STORE: { className: 'NullStore', useSQLite: true } },
  }),
};

const worker = WORKERS[values.worker];
if (!worker) throw new Error('--worker is edge, floor or hop');
const mf = new Miniflare({
  ...worker(),
  // Module paths are resolved from here, whatever the working directory.
  modulesRoot: ROOT,
  compatibilityDate: COMPATIBILITY_DATE,
  host: '127.0.0.1',
  port: Number(values.port),
  durableObjectsPersist: values.persist,
});
const url = await mf.ready;
console.log(`ready ${url.origin}`);

async function stop() {
  await mf.dispose();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
