// Profiles, segments and audiences through the real edge (wrangler dev + the built worker):
// docs/api.md route by route, with the keys that may and may not read them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Analytics } from '@segment/analytics-node';

import { startEdge, DEFAULT_WORKSPACES, ROOT } from './harness.mjs';

// A short re-evaluation period so window expiry is seen within the test.
const WORKSPACES = [
  { ...DEFAULT_WORKSPACES[0], reevaluate_seconds: 2 },
  DEFAULT_WORKSPACES[1],
  { id: 'fixture', write_keys: ['wk_fixture'], secret_key: 'sk_fixture' },
];

let edge;
before(async () => {
  edge = await startEdge({ workspaces: WORKSPACES });
});
after(async () => {
  await edge?.stop();
});

let sequence = 0;
const uniqueId = (prefix) => `${prefix}-${process.pid}-${++sequence}`;
const iso = (ms) => new Date(ms).toISOString();
const DAY = 86_400_000;

const READ_ROUTES = [
  ['GET', '/v1/workspace'],
  ['GET', '/v1/snapshot'],
  ['GET', '/v1/profiles?type=user_id&value=x'],
  ['GET', '/v1/profiles/p_0000000000000000'],
  ['GET', '/v1/profiles/p_0000000000000000/events'],
  ['GET', '/v1/profiles/p_0000000000000000/explain'],
  ['DELETE', '/v1/profiles/p_0000000000000000'],
  ['GET', '/v1/segments'],
  ['POST', '/v1/segments', { id: 'x', condition: { trait: 'plan', op: 'exists' } }],
  ['POST', '/v1/segments/preview', { segment: { condition: { trait: 'plan', op: 'exists' } } }],
  ['GET', '/v1/segments/x'],
  ['PUT', '/v1/segments/x', { condition: { trait: 'plan', op: 'exists' } }],
  ['DELETE', '/v1/segments/x'],
  ['GET', '/v1/segments/x/members'],
  ['GET', '/v1/segments/x/changes'],
  ['GET', '/v1/segments/x/export.csv'],
];

async function profileOf(type, value, secretKey) {
  const res = await edge.api('GET', `/v1/profiles?type=${type}&value=${encodeURIComponent(value)}`, undefined, { secretKey });
  return res;
}

test('events sent with @segment/analytics-node become a profile found by its userId', async () => {
  const user = uniqueId('sdk');
  const analytics = new Analytics({ writeKey: edge.writeKey, host: edge.url, flushAt: 10, flushInterval: 50, maxRetries: 0 });
  const now = Date.now();
  analytics.identify({ userId: user, anonymousId: `${user}-anon`, traits: { email: `${user}@Example.com`, plan: 'pro' }, timestamp: new Date(now - 1000) });
  analytics.track({ userId: user, event: 'Song Played', properties: { n: 1 }, timestamp: new Date(now) });
  await analytics.closeAndFlush({ timeout: 20_000 });

  const res = await profileOf('user_id', user);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.match(res.body.id, /^p_[0-9a-f]{16}$/);
  assert.deepEqual(res.body.identifiers.user_id, [user]);
  assert.deepEqual(res.body.identifiers.email, [`${user}@example.com`]);
  assert.equal(res.body.traits.plan, 'pro');
  assert.equal(res.body.event_count, 2);
  // The same profile by another identifier (normalized like the core does) and by id.
  const byEmail = await profileOf('email', ` ${user}@EXAMPLE.com`);
  assert.equal(byEmail.body.id, res.body.id);
  const byId = await edge.api('GET', `/v1/profiles/${res.body.id}`);
  assert.deepEqual(byId.body, res.body);
  const events = await edge.api('GET', `/v1/profiles/${res.body.id}/events`);
  assert.deepEqual(events.body.events.map((e) => e.type), ['track', 'identify']);
  const explain = await edge.api('GET', `/v1/profiles/${res.body.id}/explain`);
  assert.equal(explain.status, 200);
  assert.equal(typeof explain.body, 'object');
});

test('read routes refuse a missing key, a write key and another workspace\'s data', async () => {
  for (const [method, path, body] of READ_ROUTES) {
    const none = await edge.api(method, path, body, { secretKey: null });
    assert.equal(none.status, 401, `${method} ${path} without a key`);
    assert.equal(none.body.code, 'missing_secret_key');
    const asBearer = await edge.api(method, path, body, { secretKey: edge.writeKey });
    assert.equal(asBearer.status, 401, `${method} ${path} with the write key as bearer`);
    const res = await fetch(`${edge.url}${path}`, {
      method,
      headers: { Authorization: `Basic ${Buffer.from(`${edge.writeKey}:`).toString('base64')}`, 'Content-Type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    });
    assert.equal(res.status, 401, `${method} ${path} with Basic write key`);
  }
  // A profile of workspace "test" is not visible with workspace "other"'s secret key.
  const user = uniqueId('iso');
  await edge.post('/v1/identify', { userId: user, traits: { plan: 'a' } });
  assert.equal((await profileOf('user_id', user)).status, 200);
  const other = WORKSPACES[1].secret_key;
  const elsewhere = await profileOf('user_id', user, other);
  assert.equal(elsewhere.status, 404);
  assert.equal(elsewhere.body.code, 'profile_not_found');
  const id = (await profileOf('user_id', user)).body.id;
  assert.equal((await edge.api('GET', `/v1/profiles/${id}`, undefined, { secretKey: other })).status, 404);
});

test('a late event that merges two profiles gives the core\'s answer (fixture merge_keeps_earliest_id)', async () => {
  const fixture = JSON.parse(readFileSync(join(ROOT, 'tests/fixtures/identity/merge_keeps_earliest_id.json'), 'utf8'));
  const [expected] = fixture.expected.profiles;
  const [oldId, currentId] = Object.entries(fixture.expected.redirects)[0];
  const writeKey = 'wk_fixture';
  const secretKey = 'sk_fixture';
  // Everything but the earliest event first: two profiles, neither with the final id.
  const [earliest, ...rest] = fixture.events;
  assert.equal((await edge.post('/v1/batch', { batch: rest }, { writeKey })).status, 200);
  const beforeLate = (await profileOf('user_id', '42', secretKey)).body;
  assert.notEqual(beforeLate.id, currentId);
  assert.deepEqual(beforeLate.identifiers.anonymous_id, ['a1', 'a2']);

  assert.equal((await edge.post('/v1/batch', { batch: [earliest] }, { writeKey })).status, 200);
  const afterLate = (await profileOf('user_id', '42', secretKey)).body;
  assert.equal(afterLate.id, currentId);
  assert.deepEqual(afterLate.identifiers, expected.identifiers);
  assert.deepEqual(afterLate.traits, expected.traits);
  assert.equal(afterLate.event_count, expected.event_count);
  // The merged-away id redirects; the id held before the late event no longer stands alone.
  const redirected = await edge.api('GET', `/v1/profiles/${oldId}`, undefined, { secretKey });
  assert.equal(redirected.status, 200);
  assert.equal(redirected.body.id, currentId);
  assert.equal(redirected.body.redirected_from, oldId);
  const { body: workspace } = await edge.api('GET', '/v1/workspace', undefined, { secretKey });
  const { storage_bytes: storageBytes, ...counts } = workspace;
  assert.deepEqual(counts, { id: 'fixture', profiles: 1, events: 3, unresolved: 0, segments: 0 });
  assert.ok(storageBytes > 0);
});

test('segments: create, list, preview, members, changes, CSV, replace, delete', async () => {
  const tag = uniqueId('seg').replace(/-/g, '_');
  const now = Date.now();
  const plans = ['pro', 'pro', 'free'];
  const users = plans.map((_, i) => `${tag}-u${i}`);
  await edge.post('/v1/batch', {
    batch: users.map((u, i) => ({ type: 'identify', userId: u, timestamp: iso(now - DAY), traits: { email: `${u}@x.com`, plan: plans[i], cohort: tag } })),
  });
  const doc = { name: `Pro ${tag}`, condition: { and: [{ trait: 'plan', op: 'eq', value: 'pro' }, { trait: 'cohort', op: 'eq', value: tag }] } };

  const bad = await edge.api('POST', '/v1/segments/preview', { segment: { condition: { trait: 'plan', op: 'is' } } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.code, 'unknown_operator');
  assert.equal(bad.body.path, 'segment.condition.op');

  const preview = await edge.api('POST', '/v1/segments/preview', { segment: doc, sample: 1 });
  assert.equal(preview.status, 200, JSON.stringify(preview.body));
  assert.equal(preview.body.count, 2);
  assert.ok(preview.body.total_profiles >= 3);
  assert.equal(preview.body.sample.length, 1);
  assert.equal(typeof preview.body.took_ms, 'number');

  const created = await edge.api('POST', '/v1/segments', doc);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.id;
  assert.equal(id, `pro_${tag.toLowerCase()}`);
  assert.equal(created.body.size, 2);
  assert.equal((await edge.api('POST', '/v1/segments', doc)).body.code, 'segment_exists');
  const list = await edge.api('GET', '/v1/segments');
  assert.ok(list.body.segments.some((s) => s.id === id && s.size === 2));

  const expectedIds = [];
  for (const u of users.slice(0, 2)) expectedIds.push((await profileOf('user_id', u)).body.id);
  expectedIds.sort();
  const page1 = await edge.api('GET', `/v1/segments/${id}/members?limit=1`);
  const page2 = await edge.api('GET', `/v1/segments/${id}/members?limit=1&cursor=${page1.body.next_cursor}`);
  assert.deepEqual([...page1.body.members, ...page2.body.members], expectedIds);
  assert.equal(page2.body.next_cursor, null);

  // Real time: the free user upgrades and joins; a pro user downgrades and leaves.
  const since = iso(Date.now() - 1);
  await edge.post('/v1/batch', {
    batch: [
      { type: 'identify', userId: users[2], traits: { plan: 'pro' } },
      { type: 'identify', userId: users[0], traits: { plan: 'free' } },
    ],
  });
  const changes = await edge.api('GET', `/v1/segments/${id}/changes?since=${since}`);
  const summary = changes.body.changes.map((c) => c.change).sort();
  assert.deepEqual(summary, ['added', 'removed'], JSON.stringify(changes.body));
  assert.equal((await edge.api('GET', `/v1/segments/${id}`)).body.size, 2);

  const csv = await fetch(`${edge.url}/v1/segments/${id}/export.csv?columns=email,user_id,plan`, {
    headers: { Authorization: `Bearer ${edge.secretKey}` },
  });
  assert.equal(csv.status, 200);
  assert.equal(csv.headers.get('content-type'), 'text/csv; charset=utf-8; header=present');
  assert.match(csv.headers.get('content-disposition'), /^attachment/);
  assert.ok(!Number.isNaN(Date.parse(csv.headers.get('x-tessera-snapshot-time'))));
  const rows = (await csv.text()).trim().split('\r\n');
  assert.equal(rows[0], 'profile_id,email,user_id,plan');
  assert.deepEqual(rows.slice(1).map((r) => r.split(',')[2]).sort(), [users[1], users[2]].sort());
  assert.ok(rows.slice(1).every((r) => r.endsWith(',pro')));
  const badColumns = await edge.api('GET', `/v1/segments/${id}/export.csv?columns=email,,plan`);
  assert.equal(badColumns.status, 400);

  // in_segment dependency blocks deletion; replacing works.
  const outer = await edge.api('POST', '/v1/segments', { id: `${id}_outer`, condition: { in_segment: id } });
  assert.equal(outer.status, 201, JSON.stringify(outer.body));
  assert.equal(outer.body.size, 2);
  const inUse = await edge.api('DELETE', `/v1/segments/${id}`);
  assert.equal(inUse.status, 409);
  assert.equal(inUse.body.code, 'segment_in_use');
  const replaced = await edge.api('PUT', `/v1/segments/${id}`, { ...doc, condition: { trait: 'cohort', op: 'eq', value: tag } });
  assert.equal(replaced.status, 200, JSON.stringify(replaced.body));
  assert.equal(replaced.body.size, 3);
  assert.equal((await edge.api('GET', `/v1/segments/${id}_outer`)).body.size, 3);
  assert.equal((await edge.api('DELETE', `/v1/segments/${id}_outer`)).status, 200);
  assert.equal((await edge.api('DELETE', `/v1/segments/${id}`)).status, 200);
  assert.equal((await edge.api('GET', `/v1/segments/${id}`)).body.code, 'segment_not_found');
});

test('a time window expires by itself (alarm re-evaluation)', async () => {
  const user = uniqueId('window');
  const windowMs = 60 * 60 * 1000;
  // Inside the one-hour window for about four more seconds.
  await edge.post('/v1/track', { userId: user, event: `Expiring ${user}`, timestamp: iso(Date.now() - windowMs + 4_000) });
  const seg = await edge.api('POST', '/v1/segments', { id: `w_${sequence}`, condition: { event: `Expiring ${user}`, within: '1h' } });
  assert.equal(seg.body.size, 1, JSON.stringify(seg.body));
  const deadline = Date.now() + 15_000;
  let size = 1;
  while (size !== 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    size = (await edge.api('GET', `/v1/segments/${seg.body.id}`)).body.size;
  }
  assert.equal(size, 0);
  const changes = await edge.api('GET', `/v1/segments/${seg.body.id}/changes`);
  assert.deepEqual(changes.body.changes.map((c) => c.change), ['added', 'removed']);
  await edge.api('DELETE', `/v1/segments/${seg.body.id}`);
});

test('a privacy deletion removes events, identifiers and memberships, and late events do not bring it back', async () => {
  const user = uniqueId('gone');
  const message = { type: 'identify', userId: user, messageId: uniqueId('m'), traits: { email: `${user}@x.com`, plan: 'gone' } };
  await edge.post('/v1/identify', message);
  await edge.post('/v1/track', { userId: user, event: 'Viewed' });
  const seg = await edge.api('POST', '/v1/segments', { id: `gone_${sequence}`, condition: { trait: 'plan', op: 'eq', value: 'gone' } });
  assert.equal(seg.body.size, 1);
  const profile = (await profileOf('user_id', user)).body;
  const eventsBefore = await edge.stats();

  const del = await edge.api('DELETE', `/v1/profiles/${profile.id}`);
  assert.equal(del.status, 200, JSON.stringify(del.body));
  assert.deepEqual(del.body.deleted, { profile_id: profile.id, events: 2, identifiers: 2 });
  assert.equal(await edge.stats(), eventsBefore - 2);
  assert.equal((await edge.api('GET', `/v1/profiles/${profile.id}`)).status, 404);
  assert.equal((await profileOf('email', `${user}@x.com`)).status, 404);
  assert.equal((await edge.api('GET', `/v1/segments/${seg.body.id}`)).body.size, 0);

  // A retry of a deleted message and a new event with the suppressed identifiers create nothing.
  await edge.post('/v1/identify', message);
  await edge.post('/v1/track', { userId: user, event: 'Viewed again' });
  assert.equal((await profileOf('user_id', user)).status, 404);
  assert.equal((await edge.api('GET', `/v1/segments/${seg.body.id}/members`)).body.members.length, 0);
  await edge.api('DELETE', `/v1/segments/${seg.body.id}`);
});

test('GET /openapi.json describes every route of docs/api.md', async () => {
  const res = await fetch(`${edge.url}/openapi.json`);
  assert.equal(res.status, 200);
  const doc = await res.json();
  assert.match(doc.openapi, /^3\.1/);
  const api = readFileSync(join(ROOT, 'docs/api.md'), 'utf8');
  const routes = [...api.matchAll(/`(GET|POST|PUT|DELETE) (\/[^`?\s]*)/g)].map(([, m, p]) => [m.toLowerCase(), p]);
  assert.ok(routes.length > 15);
  for (const [method, path] of routes) {
    assert.ok(doc.paths[path]?.[method], `${method} ${path} is in openapi.json`);
  }
});

test('restart: profiles, segments and memberships survive', async () => {
  const user = uniqueId('keep');
  await edge.post('/v1/identify', { userId: user, traits: { plan: 'kept' } });
  const seg = await edge.api('POST', '/v1/segments', { id: `kept_${sequence}`, condition: { trait: 'plan', op: 'eq', value: 'kept' } });
  const profile = (await profileOf('user_id', user)).body;
  const workspace = (await edge.api('GET', '/v1/workspace')).body;

  await edge.restart();

  assert.deepEqual((await profileOf('user_id', user)).body, profile);
  assert.deepEqual((await edge.api('GET', '/v1/workspace')).body, workspace);
  const after = await edge.api('GET', `/v1/segments/${seg.body.id}`);
  assert.equal(after.body.size, 1);
  assert.deepEqual((await edge.api('GET', `/v1/segments/${seg.body.id}/members`)).body.members, [profile.id]);
  // And the rebuilt graph keeps resolving: a new event for the same user joins the profile.
  await edge.post('/v1/track', { userId: user, event: 'Back' });
  assert.equal((await profileOf('user_id', user)).body.event_count, profile.event_count + 1);
});
