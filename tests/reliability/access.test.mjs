// The access-control matrix (access-matrix.json) against the real edge: every route of
// docs/api.md with every credential, two workspaces. Besides the status of each cell, personal
// data never leaves without its workspace's secret key: no answer to any other credential
// contains A's emails, user ids or anonymous ids (unless the request itself carried the value),
// and A's secret key never sees B's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

import { startEdge, basicAuth } from '../edge/harness.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const MATRIX = JSON.parse(readFileSync(join(HERE, 'access-matrix.json'), 'utf8'));

const A = { id: 'acme', write_keys: ['wk_acme_1'], secret_key: 'sk_acme' };
const B = { id: 'globex', write_keys: ['wk_globex_1'], secret_key: 'sk_globex' };

/** The Authorization header of each column. */
const AUTHORIZATION = {
  none: null,
  garbage_basic: basicAuth('wk_garbage_7f3a'),
  garbage_bearer: 'Bearer sk_garbage_7f3a',
  a_write_basic: basicAuth(A.write_keys[0]),
  a_write_bearer: `Bearer ${A.write_keys[0]}`,
  b_write_basic: basicAuth(B.write_keys[0]),
  b_secret: `Bearer ${B.secret_key}`,
  a_secret: `Bearer ${A.secret_key}`,
};

// Personal data of each workspace: what must never reach another credential.
const ALICE = { userId: 'acl-alice-5c1', anonymousId: 'acl-anon-alice-9d2', email: 'alice.acl-5c1@example.com' };
const DOOMED = { userId: 'acl-doomed-77e', anonymousId: 'acl-anon-doomed-3b0', email: 'doomed.acl-77e@example.com' };
const BOB = { userId: 'acl-bob-e41', anonymousId: 'acl-anon-bob-c08', email: 'bob.acl-e41@example.net' };
const personal = (people) => people.flatMap((p) => [p.userId, p.anonymousId, p.email]);
const A_PERSONAL = personal([ALICE, DOOMED]);
const B_PERSONAL = personal([BOB]);

let edge;
const ids = {};

const PRO = { trait: 'plan', op: 'eq', value: 'pro' };

before(async () => {
  edge = await startEdge({ workspaces: [A, B] });
  const people = (who, plan) => [
    { type: 'identify', userId: who.userId, anonymousId: who.anonymousId, traits: { email: who.email, plan, name: `${who.userId} name` } },
    { type: 'track', userId: who.userId, event: 'Order Completed', properties: { revenue: 42, email: who.email } },
  ];
  const sent = [
    await edge.post('/v1/batch', { batch: [...people(ALICE, 'pro'), ...people(DOOMED, 'pro')] }, { writeKey: A.write_keys[0] }),
    await edge.post('/v1/batch', { batch: people(BOB, 'pro') }, { writeKey: B.write_keys[0] }),
  ];
  for (const res of sent) assert.equal(res.status, 200, JSON.stringify(res.body));

  for (const doc of [
    { id: 'acl_pro', name: 'ACL pro', condition: PRO },
    { id: 'acl_doomed', name: 'ACL doomed', condition: PRO },
  ]) {
    const res = await edge.api('POST', '/v1/segments', doc, { secretKey: A.secret_key });
    assert.equal(res.status, 201, JSON.stringify(res.body));
  }
  // B has a segment too, so its own lists are not empty.
  const bSegment = await edge.api('POST', '/v1/segments', { id: 'globex_pro', name: 'Globex pro', condition: PRO }, { secretKey: B.secret_key });
  assert.equal(bSegment.status, 201, JSON.stringify(bSegment.body));

  const lookup = async (who) => {
    const res = await edge.api('GET', `/v1/profiles?type=user_id&value=${who.userId}`, undefined, { secretKey: A.secret_key });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.id;
  };
  // Two webhook destinations on A's segment: one to read and sync, one to delete. The URL is a
  // closed loopback port, so a sync fails fast without leaving the machine.
  const destination = async () => {
    const res = await edge.api(
      'POST',
      '/v1/segments/acl_pro/destinations',
      { type: 'webhook', url: 'http://127.0.0.1:9/closed', secret: 'whsec_acl', max_attempts: 1, retry_base_ms: 0 },
      { secretKey: A.secret_key },
    );
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.id;
  };
  Object.assign(ids, {
    A_DESTINATION: await destination(),
    A_DOOMED_DESTINATION: await destination(),
    A_EMAIL: encodeURIComponent(ALICE.email),
    A_USER_ID: encodeURIComponent(ALICE.userId),
    A_PROFILE: await lookup(ALICE),
    A_DOOMED_PROFILE: await lookup(DOOMED),
    A_SEGMENT: 'acl_pro',
    A_DOOMED_SEGMENT: 'acl_doomed',
  });
});
after(async () => {
  await edge?.stop();
});

const fill = (path) => path.replace(/\{([A-Z_]+)\}/g, (_, name) => {
  assert.ok(name in ids, `unknown placeholder ${name}`);
  return ids[name];
});

/** Sends one cell; `{status, text, body}` with the body read as text whatever its type. */
async function send(method, path, body, authorization) {
  const headers = {};
  if (authorization) headers.Authorization = authorization;
  let payload;
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const res = await fetch(`${edge.url}${path}`, { method, headers, body: payload });
  // latin1 keeps every byte, so a binary snapshot is searched for the strings it holds.
  const text = Buffer.from(await res.arrayBuffer()).toString('latin1');
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, text, body: parsed, headers: res.headers };
}

const matches = (expected, status) =>
  typeof expected === 'number' ? status === expected : new RegExp(`^${expected.replace(/x/g, '\\d')}$`).test(String(status));

test('the matrix names every route of docs/api.md and a column for every credential', () => {
  assert.deepEqual(Object.keys(AUTHORIZATION).sort(), [...MATRIX.columns].sort());
  assert.deepEqual(Object.keys(MATRIX.credentials).sort(), [...MATRIX.columns].sort());
  for (const row of MATRIX.routes) assert.equal(row.expect.length, MATRIX.columns.length, row.route);
  const api = readFileSync(join(HERE, '..', '..', 'docs', 'api.md'), 'utf8');
  const documented = new Set();
  for (const [, method, path] of api.matchAll(/`(GET|POST|PUT|DELETE) (\/[^`]*)`/g)) {
    documented.add(`${method} ${path}`);
  }
  for (const [, method, first, more] of api.matchAll(/`(POST) (\/v1\/[a-z]+)`((?:, `\/v1\/[a-z]+`)*)/g)) {
    for (const path of [first, ...[...more.matchAll(/`(\/v1\/[a-z]+)`/g)].map((m) => m[1])]) documented.add(`${method} ${path}`);
  }
  // The matrix spells ids as placeholders: compare shapes, `{...}` standing for any segment.
  const shape = (route) => route.replace(/\?.*$/, '').replace(/\{[^}]+\}/g, '{}');
  const covered = new Set(MATRIX.routes.map((r) => shape(r.route)));
  const missing = [...documented].map(shape).filter((r) => !covered.has(r));
  assert.deepEqual(missing, [], 'routes documented in docs/api.md but absent from the matrix');
  for (const route of ['GET /v1/health', 'GET /v1/admin/stats', 'GET /openapi.json']) assert.ok(covered.has(route), route);
});

for (const row of MATRIX.routes) {
  test(`${row.route}: every credential gets its cell of the matrix`, async () => {
    const [method, template] = row.route.split(' ');
    const path = fill(template);
    const destructive = method === 'PUT' || method === 'DELETE';
    // A's target as A sees it, before anyone else tries to change it.
    const before = destructive ? await send('GET', path, undefined, AUTHORIZATION.a_secret) : undefined;
    if (destructive) assert.equal(before.status, 200, `${path} exists before the row`);

    const failures = [];
    for (const [i, column] of MATRIX.columns.entries()) {
      if (destructive && column === 'a_secret') {
        // Nobody else changed A's segment or profile: it reads exactly as before.
        const now = await send('GET', path, undefined, AUTHORIZATION.a_secret);
        assert.equal(now.status, 200);
        assert.deepEqual(now.body, before.body, `${path} was changed by a credential that is not A's secret key`);
      }
      const res = await send(method, path, row.body, AUTHORIZATION[column]);
      const expected = row.expect[i];
      if (!matches(expected, res.status)) {
        failures.push(`${column}: expected ${expected}, got ${res.status} ${res.text.slice(0, 200)}`);
        continue;
      }
      if (res.status === 401) {
        assert.ok(/^(missing|unknown)_(write|secret)_key$/.test(res.body?.code), `${column}: 401 code ${res.text}`);
      }
      // Values the request itself carried may be echoed (a lookup's "not found" names it).
      const asked = `${decodeURIComponent(path)} ${JSON.stringify(row.body ?? '')}`;
      const forbidden = column === 'a_secret' ? B_PERSONAL : A_PERSONAL;
      for (const value of forbidden) {
        if (!asked.includes(value) && res.text.includes(value)) {
          failures.push(`${column}: the answer (${res.status}) contains ${value}, which is not its data`);
        }
      }
      // A secret key's 2xx answers name its own workspace, never the other one.
      if (res.status < 300 && column.endsWith('_secret') && res.body && typeof res.body === 'object') {
        const own = column === 'a_secret' ? A.id : B.id;
        const named = res.body.workspace ?? (row.route === 'GET /v1/workspace' ? res.body.id : undefined);
        if (named !== undefined && named !== own) failures.push(`${column}: answered workspace ${named}`);
      }
    }
    assert.deepEqual(failures, []);
  });
}

test('after the matrix, A still holds its data and B never gained any of it', async () => {
  const a = await send('GET', '/v1/workspace', undefined, AUTHORIZATION.a_secret);
  const b = await send('GET', '/v1/workspace', undefined, AUTHORIZATION.b_secret);
  assert.equal(a.body.id, A.id);
  assert.equal(b.body.id, B.id);
  const alice = await send('GET', `/v1/profiles/${ids.A_PROFILE}`, undefined, AUTHORIZATION.a_secret);
  assert.equal(alice.status, 200);
  assert.deepEqual(alice.body.identifiers.email, [ALICE.email]);
  // The snapshot and export of B, read with B's key, hold B's people and none of A's.
  const snapshot = await send('GET', '/v1/snapshot', undefined, AUTHORIZATION.b_secret);
  assert.ok(snapshot.text.includes(BOB.email), 'B reads its own people in its snapshot');
  for (const value of A_PERSONAL) assert.ok(!snapshot.text.includes(value), `B's snapshot holds ${value}`);
  const csv = await send('GET', '/v1/segments/globex_pro/export.csv?columns=email,user_id', undefined, AUTHORIZATION.b_secret);
  assert.equal(csv.status, 200);
  assert.ok(csv.text.includes(BOB.email));
  for (const value of A_PERSONAL) assert.ok(!csv.text.includes(value), `B's export holds ${value}`);
  // A's own export and snapshot do hold A's people: the checks above can fail.
  const aCsv = await send('GET', '/v1/segments/acl_pro/export.csv?columns=email,user_id', undefined, AUTHORIZATION.a_secret);
  assert.ok(aCsv.text.includes(ALICE.email));
  const aSnapshot = await send('GET', '/v1/snapshot', undefined, AUTHORIZATION.a_secret);
  assert.ok(aSnapshot.text.includes(ALICE.email));
  // The doomed profile was deleted by A's secret key only, at the end of its row.
  const doomed = await send('GET', `/v1/profiles?type=user_id&value=${DOOMED.userId}`, undefined, AUTHORIZATION.a_secret);
  assert.equal(doomed.status, 404);
});
