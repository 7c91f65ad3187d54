// Starts the real edge (`wrangler dev` running the built worker) for integration tests.
//
//   import { startEdge } from './harness.mjs';
//   const edge = await startEdge();            // or startEdge({ workspaces: [...] })
//   after(() => edge.stop());
//   await edge.post('/v1/track', message);     // Basic auth with the first write key
//   await edge.api('GET', '/v1/segments');     // Bearer auth with the first secret key
//   await edge.restart();                      // same port and state directory
//   await edge.kill();                         // SIGKILL, as a crash; restart() brings it back
//
// `startEdge({persistTo})` keeps the state in that directory (created if missing, left in place
// by stop()), so a later edge can start on the same state.
// Needs `scripts/build.sh worker www` first (scripts/test.sh does it). Each edge gets a free
// loopback port and a fresh temporary state directory, so test files can run side by side.
import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, rm, access } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WRANGLER = join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
const READY_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 5_000;

/** The workspaces an edge gets unless the caller names its own. */
export const DEFAULT_WORKSPACES = [
  { id: 'test', write_keys: ['wk_test_1', 'wk_test_2'], secret_key: 'sk_test' },
  { id: 'other', write_keys: ['wk_other'], secret_key: 'sk_other' },
];

/** `Authorization` value for a write key, as Segment SDKs send it: base64("KEY:"). */
export const basicAuth = (writeKey) => `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts an edge. Returns `{url, port, workspaces, writeKey, secretKey, post, api, stats, logs,
 * restart, stop}`: `writeKey`/`secretKey` are the first workspace's; `post(path, body, options)`
 * sends JSON (or a Buffer/string as is) with Basic auth (`options.writeKey`, `null` for none),
 * optional gzip and extra headers, and resolves to `{status, headers, body}` with `body` parsed
 * as JSON when it is; `api(method, path, body?, {secretKey, headers})` does the same with Bearer
 * auth (`secretKey: null` for none); `stats(secretKey?)` is the stored event count; `logs()` is
 * wrangler's output so far; `restart()` stops wrangler and starts it again on the same port and
 * state directory (what survives a restart survives an eviction); `kill()` sends SIGKILL to
 * wrangler's process group (workerd included) without any grace, as a crash or power loss would,
 * and waits until it is gone; `state` is the state directory. `wranglerArgs` are added to
 * `wrangler dev`'s command line (the load bench passes its flags to the edge and the floor alike).
 */
export async function startEdge({ workspaces = DEFAULT_WORKSPACES, persistTo, wranglerArgs = [] } = {}) {
  for (const built of ['build/worker/shim.mjs', 'www/dist/index.html']) {
    await access(join(ROOT, built)).catch(() => {
      throw new Error(`${built} is missing: run scripts/build.sh worker www first`);
    });
  }
  const port = await freePort();
  const state = persistTo ?? (await mkdtemp(join(tmpdir(), 'tessera-edge-')));
  if (persistTo) await mkdir(persistTo, { recursive: true });
  const url = `http://127.0.0.1:${port}`;
  let wrangler = await launch({ port, state, workspaces, url, wranglerArgs });

  async function stop() {
    await wrangler.stop();
    if (!persistTo) await rm(state, { recursive: true, force: true });
  }
  async function kill() {
    await wrangler.kill();
  }
  async function restart() {
    await wrangler.stop();
    wrangler = await launch({ port, state, workspaces, url, wranglerArgs });
  }

  const [first] = workspaces;
  async function post(path, body, { writeKey = first.write_keys[0], gzip = false, headers = {} } = {}) {
    let payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    const sent = { 'Content-Type': 'application/json', ...headers };
    if (writeKey) sent.Authorization = basicAuth(writeKey);
    if (gzip) {
      payload = gzipSync(payload);
      sent['Content-Encoding'] = 'gzip';
    }
    const res = await fetch(`${url}${path}`, { method: 'POST', headers: sent, body: payload });
    return answer(res);
  }
  async function api(method, path, body, { secretKey = first.secret_key, headers = {} } = {}) {
    const sent = { ...headers };
    if (secretKey) sent.Authorization = `Bearer ${secretKey}`;
    let payload;
    if (body !== undefined) {
      sent['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const res = await fetch(`${url}${path}`, { method, headers: sent, body: payload });
    return answer(res);
  }
  async function stats(secretKey = first.secret_key) {
    const res = await fetch(`${url}/v1/admin/stats`, { headers: { Authorization: `Bearer ${secretKey}` } });
    const { status, body } = await answer(res);
    if (status !== 200) throw new Error(`stats answered ${status}: ${JSON.stringify(body)}`);
    return body.events;
  }

  return {
    url,
    port,
    workspaces,
    writeKey: first.write_keys[0],
    secretKey: first.secret_key,
    post,
    api,
    stats,
    logs: () => wrangler.output(),
    state,
    restart,
    kill,
    stop,
    /** The process group of wrangler and its workerd (for CPU accounting). */
    processGroup: () => wrangler.pid,
  };
}

/** Starts `wrangler dev` and waits until it answers; `{stop, output}`. */
async function launch({ port, state, workspaces, url, wranglerArgs }) {
  const args = [
    WRANGLER, 'dev',
    '--ip', '127.0.0.1',
    '--port', String(port),
    '--show-interactive-dev-session=false',
    '--persist-to', state,
    '--var', `WORKSPACES:${JSON.stringify(workspaces)}`,
    ...wranglerArgs,
  ];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    // Its own process group, so stop() reaches wrangler's workerd children too.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: 'false',
      WRANGLER_SEND_ERROR_REPORTS: 'false',
      CLOUDFLARE_CF_FETCH_ENABLED: 'false',
      NO_COLOR: '1',
    },
  });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let running = true;
  exited.then(() => { running = false; });

  async function stop() {
    if (running) {
      signal('SIGTERM');
      const done = await Promise.race([exited.then(() => true), sleep(STOP_GRACE_MS).then(() => false)]);
      if (!done) {
        signal('SIGKILL');
        await exited;
      }
    }
  }
  async function kill() {
    if (running) {
      signal('SIGKILL');
      await exited;
    }
  }
  function signal(name) {
    try {
      process.kill(-child.pid, name);
    } catch (err) {
      if (err.code !== 'ESRCH') throw err;
    }
  }

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (!running) {
      await stop();
      throw new Error(`wrangler dev exited before it was ready:\n${output}`);
    }
    try {
      const res = await fetch(`${url}/v1/health`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev was not ready within ${READY_TIMEOUT_MS} ms:\n${output}`);
    }
    await sleep(200);
  }
  return { stop, kill, output: () => output, pid: child.pid };
}

/** `{status, headers, body}` of a fetch response, the body parsed as JSON when it is. */
export async function answer(res) {
  const text = await res.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body };
}
