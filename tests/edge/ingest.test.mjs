// Ingestion through the real edge (wrangler dev + the built worker), as SDKs and browsers use it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { Analytics } from '@segment/analytics-node';

import { startEdge } from './harness.mjs';

let edge;
before(async () => {
  edge = await startEdge();
});
after(async () => {
  await edge?.stop();
});

let sequence = 0;
const uniqueId = (prefix) => `${prefix}-${process.pid}-${++sequence}`;
const track = (overrides = {}) => ({
  type: 'track',
  event: 'Order Completed',
  userId: 'u1',
  messageId: uniqueId('m'),
  timestamp: '2026-01-01T10:00:00Z',
  properties: { total: 42 },
  ...overrides,
});

/** Runs `send` and returns how many events the first workspace stored meanwhile. */
async function storedBy(send) {
  const before = await edge.stats();
  await send();
  return (await edge.stats()) - before;
}

test('@segment/analytics-node sends identify and track events that get stored', async () => {
  const analytics = new Analytics({
    writeKey: edge.writeKey,
    host: edge.url,
    path: '/v1/batch',
    flushAt: 3,
    flushInterval: 100,
    maxRetries: 0,
  });
  const failures = [];
  analytics.on('error', (err) => failures.push(err));
  const stored = await storedBy(async () => {
    analytics.identify({ userId: 'sdk-user', traits: { email: 'ada@example.com', plan: 'pro' } });
    for (let i = 0; i < 4; i += 1) {
      analytics.track({ userId: 'sdk-user', event: 'Song Played', properties: { n: i } });
    }
    analytics.page({ anonymousId: 'sdk-anon', name: 'Home' });
    await analytics.closeAndFlush({ timeout: 20_000 });
  });
  assert.deepEqual(failures, []);
  assert.equal(stored, 6);
});

test('a single-call route answers {"success": true} and stores the event', async () => {
  let res;
  const stored = await storedBy(async () => {
    res = await edge.post('/v1/track', track());
  });
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, { success: true });
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  assert.equal(stored, 1);
});

test('shorthand routes work like the long ones', async () => {
  const stored = await storedBy(async () => {
    const t = await edge.post('/v1/t', track());
    const i = await edge.post('/v1/i', { type: 'identify', userId: 'u1', traits: { a: 1 } });
    const b = await edge.post('/v1/b', { batch: [track(), track()] });
    assert.deepEqual([t.status, i.status, b.status], [200, 200, 200]);
    assert.deepEqual(b.body, { success: true, accepted: 2, rejected: [] });
  });
  assert.equal(stored, 4);
});

test('a text/plain body with the write key inside is taken (browsers skip preflight this way)', async () => {
  let res;
  const stored = await storedBy(async () => {
    res = await edge.post('/v1/track', { ...track(), writeKey: edge.writeKey }, {
      writeKey: null,
      headers: { 'Content-Type': 'text/plain' },
    });
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(stored, 1);
});

test('gzip bodies are decoded, whether declared or recognized by their magic bytes', async () => {
  const stored = await storedBy(async () => {
    const declared = await edge.post('/v1/batch', { batch: [track(), track()] }, { gzip: true });
    assert.equal(declared.status, 200, JSON.stringify(declared.body));
    assert.equal(declared.body.accepted, 2);
    const undeclared = await edge.post('/v1/batch', gzipSync(JSON.stringify({ batch: [track()] })), {
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(undeclared.status, 200, JSON.stringify(undeclared.body));
    assert.equal(undeclared.body.accepted, 1);
  });
  assert.equal(stored, 3);
});

test('CORS preflight is answered', async () => {
  const res = await fetch(`${edge.url}/v1/batch`, {
    method: 'OPTIONS',
    headers: {
      Origin: 'https://shop.example.com',
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'authorization, content-type',
    },
  });
  assert.ok(res.status === 204 || res.status === 200, `status ${res.status}`);
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  assert.match(res.headers.get('access-control-allow-methods'), /POST/);
  assert.match(res.headers.get('access-control-allow-headers').toLowerCase(), /authorization/);
});

test('a body that is not JSON is a 400 with code and message', async () => {
  const res = await edge.post('/v1/batch', '{"batch": [', {});
  assert.equal(res.status, 400);
  assert.equal(res.body.success, false);
  assert.equal(res.body.code, 'invalid_json');
  assert.equal(typeof res.body.message, 'string');
});

test('an invalid message on a single-call route is a 400 with its code', async () => {
  const stored = await storedBy(async () => {
    const res = await edge.post('/v1/track', track({ event: undefined }));
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'missing_event');
    assert.equal(typeof res.body.message, 'string');
    assert.equal(res.body.errors[0].code, 'missing_event');
  });
  assert.equal(stored, 0);
});

test('a batch keeps its good messages and lists the bad ones', async () => {
  let res;
  const stored = await storedBy(async () => {
    res = await edge.post('/v1/batch', { batch: [track(), track({ event: '' }), track()] });
  });
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, {
    success: true,
    accepted: 2,
    rejected: [{ index: 1, path: 'batch[1].event', code: 'missing_event' }],
  });
  assert.equal(stored, 2);
});

test('a missing or unknown write key is a 401', async () => {
  const stored = await storedBy(async () => {
    const missing = await edge.post('/v1/track', track(), { writeKey: null });
    assert.equal(missing.status, 401);
    assert.equal(missing.body.code, 'missing_write_key');
    assert.equal(typeof missing.body.message, 'string');
    const unknown = await edge.post('/v1/track', track(), { writeKey: 'wk_nobody' });
    assert.equal(unknown.status, 401);
    assert.equal(unknown.body.code, 'unknown_write_key');
    const unknownInBody = await edge.post('/v1/track', { ...track(), writeKey: 'wk_nobody' }, { writeKey: null });
    assert.equal(unknownInBody.status, 401);
    const secretAsWriteKey = await edge.post('/v1/track', track(), { writeKey: edge.secretKey });
    assert.equal(secretAsWriteKey.status, 401);
  });
  assert.equal(stored, 0);
});

test('reading stats needs the secret key, not a write key', async () => {
  const none = await fetch(`${edge.url}/v1/admin/stats`);
  assert.equal(none.status, 401);
  const writeKey = await fetch(`${edge.url}/v1/admin/stats`, {
    headers: { Authorization: `Bearer ${edge.writeKey}` },
  });
  assert.equal(writeKey.status, 401);
});

test('each workspace stores only its own events', async () => {
  const [, other] = edge.workspaces;
  const before = await edge.stats(other.secret_key);
  const res = await edge.post('/v1/track', track(), { writeKey: other.write_keys[0] });
  assert.equal(res.status, 200);
  assert.equal((await edge.stats(other.secret_key)) - before, 1);
});

test('the same messageId sent twice is acknowledged twice and stored once', async () => {
  const message = track();
  const stored = await storedBy(async () => {
    const first = await edge.post('/v1/track', message);
    const retry = await edge.post('/v1/track', message);
    const inBatch = await edge.post('/v1/batch', { batch: [message, { ...message, timestamp: '2025-06-01T00:00:00Z' }] });
    assert.deepEqual([first.status, retry.status, inBatch.status], [200, 200, 200]);
    assert.equal(inBatch.body.accepted, 2);
  });
  assert.equal(stored, 1);
});

test('unknown paths are a 404 with a code, and the page is served at /', async () => {
  const res = await edge.post('/v1/nope', track());
  assert.equal(res.status, 404);
  assert.equal(res.body.code, 'not_found');
  const page = await fetch(`${edge.url}/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<title>Tessera\b/);
});

test('an oversize message or batch is refused; in a batch only the oversize message is', async () => {
  const big = 'x'.repeat(40_000);
  const stored = await storedBy(async () => {
    const single = await edge.post('/v1/track', track({ properties: { big } }));
    assert.equal(single.status, 400);
    assert.equal(single.body.code, 'message_too_large');
    const mixed = await edge.post('/v1/batch', { batch: [track(), track({ properties: { big } })] });
    assert.equal(mixed.status, 200, JSON.stringify(mixed.body));
    assert.equal(mixed.body.accepted, 1);
    assert.equal(mixed.body.rejected[0].code, 'message_too_large');
    const huge = await edge.post('/v1/batch', { batch: Array.from({ length: 20 }, () => track({ properties: { big: 'y'.repeat(30_000) } })) });
    assert.equal(huge.status, 400);
    assert.equal(huge.body.code, 'body_too_large');
  });
  assert.equal(stored, 1);
});
