// Destinations through the real edge (wrangler dev + the built worker): webhook and Meta
// destinations of a saved segment, synced to a local receiver this file starts on 127.0.0.1.
// docs/activation.md "Destinations at the edge" is the contract checked here.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { createServer } from 'node:http';

import { startEdge } from './harness.mjs';

const SECRET = 'whsec_test_very_secret';
const TOKEN = 'meta_token_very_secret';
// Short retries so the retry tests take milliseconds.
const FAST = { max_attempts: 3, retry_base_ms: 20 };
const HEX64 = /^[0-9a-f]{64}$/;

let edge;
let receiver;
let receiverUrl;
/** path -> (request) => {status, body?, headers?}; every request is recorded per path. */
const handlers = new Map();
const received = new Map();

before(async () => {
  receiver = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url, 'http://x');
      const body = Buffer.concat(chunks);
      const request = { method: req.method, url, headers: req.headers, raw: body, json: JSON.parse(body.toString() || 'null') };
      if (!received.has(url.pathname)) received.set(url.pathname, []);
      received.get(url.pathname).push(request);
      const handler = handlers.get(url.pathname) ?? (() => ({ status: 404 }));
      const { status, body: answer = { ok: status < 300 }, headers = {} } = handler(request, received.get(url.pathname).length);
      res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
      res.end(JSON.stringify(answer));
    });
  });
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${receiver.address().port}`;
  edge = await startEdge();
});
after(async () => {
  await edge?.stop();
  receiver?.close();
});

let sequence = 0;
const unique = (prefix) => `${prefix}_${process.pid}_${++sequence}`;

/** Users with emails and phones, all with trait `cohort: tag`, and a saved segment of them. */
async function audience(tag, count) {
  const users = Array.from({ length: count }, (_, i) => `${tag}-u${i}`);
  const res = await edge.post('/v1/batch', {
    batch: users.map((u, i) => ({
      type: 'identify',
      userId: u,
      traits: { email: ` ${u}@Example.com `, phone: `+1 (800) 555-${String(1000 + i)}`, cohort: tag },
    })),
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const seg = await edge.api('POST', '/v1/segments', { id: tag, condition: { trait: 'cohort', op: 'eq', value: tag } });
  assert.equal(seg.status, 201, JSON.stringify(seg.body));
  assert.equal(seg.body.size, count);
  return { segment: tag, members: await members(tag) };
}

async function members(segment) {
  const res = await edge.api('GET', `/v1/segments/${segment}/members?limit=10000`);
  assert.equal(res.status, 200);
  return res.body.members;
}

async function webhook(segment, path, extra = {}) {
  const res = await edge.api('POST', `/v1/segments/${segment}/destinations`, {
    type: 'webhook', url: `${receiverUrl}${path}`, secret: SECRET, mode: 'add', ...FAST, ...extra,
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body;
}

async function sync(segment, destination) {
  const res = await edge.api('POST', `/v1/segments/${segment}/destinations/${destination.id}/sync`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

/** Lowercase hex SHA-256, as Meta wants identifiers. */
const sha256 = (text) => createHash('sha256').update(text).digest('hex');
const sign = (raw) => `sha256=${createHmac('sha256', SECRET).update(raw).digest('hex')}`;
const addedIds = (requests) => requests.flatMap((r) => r.json.added.map((p) => p.profile_id));
const removedIds = (requests) => requests.flatMap((r) => r.json.removed.map((p) => p.profile_id));

test('a webhook sync sends the members in signed batches, and the secret is never shown', async () => {
  const tag = unique('hook');
  const { segment, members: ids } = await audience(tag, 5);
  const path = `/${tag}`;
  handlers.set(path, () => ({ status: 200 }));
  const dest = await webhook(segment, path, { batch_size: 2 });
  assert.equal(dest.secret, 'set');

  const record = await sync(segment, dest);
  assert.equal(record.status, 'ok', JSON.stringify(record));
  assert.equal(record.added, 5);
  assert.equal(record.removed, 0);
  assert.deepEqual(record.batches, { planned: 3, sent: 3, acknowledged: 3 });
  assert.equal(record.attempts, 3);
  assert.equal(record.last_error, null);

  const got = received.get(path);
  assert.equal(got.length, 3);
  for (const r of got) {
    assert.equal(r.method, 'POST');
    assert.equal(r.headers['x-signature'], sign(r.raw));
    assert.notEqual(r.headers['x-signature'], sign(Buffer.concat([r.raw, Buffer.from(' ')])));
    assert.match(r.headers['idempotency-key'], /^[0-9a-f]{32}$/);
    assert.equal(r.json.audience, segment);
    assert.ok(!Number.isNaN(Date.parse(r.json.snapshot)));
    assert.ok(r.json.added.length <= 2);
    for (const p of r.json.added) assert.equal(p.traits.cohort, tag);
  }
  assert.equal(new Set(got.map((r) => r.headers['idempotency-key'])).size, 3);
  assert.deepEqual(addedIds(got).sort(), ids);

  // Nothing changed: the next sync has nothing to send.
  const again = await sync(segment, dest);
  assert.equal(again.status, 'ok');
  assert.equal(again.batches.planned, 0);
  assert.equal(received.get(path).length, 3);

  const list = await edge.api('GET', `/v1/segments/${segment}/destinations`);
  assert.equal(list.status, 200);
  assert.equal(list.body.destinations.length, 1);
  assert.equal(list.body.destinations[0].secret, 'set');
  assert.equal(list.body.destinations[0].url, `${receiverUrl}${path}`);
  assert.ok(!JSON.stringify(list.body).includes(SECRET));
  const one = await edge.api('GET', `/v1/segments/${segment}/destinations/${dest.id}`);
  assert.ok(!JSON.stringify(one.body).includes(SECRET));

  const history = await edge.api('GET', `/v1/segments/${segment}/destinations/${dest.id}/syncs`);
  assert.equal(history.body.syncs.length, 2);
  assert.equal(history.body.syncs[1].added, 5);
  assert.ok(history.body.syncs[0].finished_at >= history.body.syncs[0].started_at);
});

test('500 and 429 are retried with the same body and key; 400 is not', async () => {
  const tag = unique('retry');
  const { segment, members: ids } = await audience(tag, 2);

  const flaky = `/${tag}/flaky`;
  handlers.set(flaky, (_req, n) => ({ status: n === 1 ? 500 : 200 }));
  const record500 = await sync(segment, await webhook(segment, flaky));
  assert.equal(record500.status, 'ok', JSON.stringify(record500));
  assert.equal(record500.attempts, 2);
  const [first, second] = received.get(flaky);
  assert.equal(second.headers['idempotency-key'], first.headers['idempotency-key']);
  assert.deepEqual(second.raw, first.raw);
  assert.deepEqual(addedIds([second]).sort(), ids);

  const limited = `/${tag}/limited`;
  handlers.set(limited, (_req, n) => (n === 1 ? { status: 429, headers: { 'Retry-After': '1' } } : { status: 200 }));
  const started = Date.now();
  const record429 = await sync(segment, await webhook(segment, limited));
  assert.equal(record429.status, 'ok', JSON.stringify(record429));
  assert.equal(record429.attempts, 2);
  assert.ok(Date.now() - started >= 1000, 'Retry-After is honoured');
  assert.equal(received.get(limited).length, 2);

  const refused = `/${tag}/refused`;
  handlers.set(refused, () => ({ status: 400, body: { error: 'bad schema' } }));
  const dest = await webhook(segment, refused);
  const record400 = await sync(segment, dest);
  assert.equal(record400.status, 'failed');
  assert.equal(record400.attempts, 1);
  assert.equal(record400.batches.acknowledged, 0);
  assert.match(record400.last_error, /400/);
  assert.match(record400.last_error, /bad schema/);
  assert.equal(received.get(refused).length, 1);
  const history = await edge.api('GET', `/v1/segments/${segment}/destinations/${dest.id}/syncs`);
  assert.equal(history.body.syncs[0].status, 'failed');
  assert.match(history.body.syncs[0].last_error, /400/);

  // 500 forever: the attempts are bounded.
  const down = `/${tag}/down`;
  handlers.set(down, () => ({ status: 503 }));
  const recordDown = await sync(segment, await webhook(segment, down));
  assert.equal(recordDown.status, 'failed');
  assert.equal(recordDown.attempts, FAST.max_attempts);
  assert.equal(received.get(down).length, FAST.max_attempts);
});

test('an interrupted sync is resumed: the next one sends exactly what was not acknowledged', async () => {
  const tag = unique('resume');
  const { segment, members: ids } = await audience(tag, 7);
  const path = `/${tag}`;
  let healthy = false;
  let accepted = [];
  handlers.set(path, (req) => {
    // Takes the first batch, then fails until it recovers.
    if (healthy || accepted.length === 0) {
      accepted.push(req);
      return { status: 200 };
    }
    return { status: 503 };
  });
  const dest = await webhook(segment, path, { batch_size: 2 });
  const cut = await sync(segment, dest);
  assert.equal(cut.status, 'partial', JSON.stringify(cut));
  assert.deepEqual(cut.batches, { planned: 4, sent: 2, acknowledged: 1 });
  assert.match(cut.last_error, /503/);
  assert.equal(accepted.length, 1);
  const firstIds = addedIds(accepted);

  healthy = true;
  const before = accepted.length;
  const resumed = await sync(segment, dest);
  assert.equal(resumed.status, 'ok', JSON.stringify(resumed));
  assert.equal(resumed.added, 5);
  const resentIds = addedIds(accepted.slice(before));
  assert.equal(resentIds.length, 5);
  for (const id of resentIds) assert.ok(!firstIds.includes(id), `no duplicate of ${id}`);
  assert.deepEqual([...firstIds, ...resentIds].sort(), ids);
});

test('mirror mode sends removals after the audience shrinks; add mode does not', async () => {
  const tag = unique('mirror');
  const { segment, members: ids } = await audience(tag, 3);
  const mirrorPath = `/${tag}/mirror`;
  const addPath = `/${tag}/add`;
  handlers.set(mirrorPath, () => ({ status: 200 }));
  handlers.set(addPath, () => ({ status: 200 }));
  const mirror = await webhook(segment, mirrorPath, { mode: 'mirror' });
  const add = await webhook(segment, addPath, { mode: 'add' });
  assert.equal((await sync(segment, mirror)).added, 3);
  assert.equal((await sync(segment, add)).added, 3);

  const gone = ids[1];
  const del = await edge.api('DELETE', `/v1/profiles/${gone}`);
  assert.equal(del.status, 200, JSON.stringify(del.body));
  assert.deepEqual(await members(segment), ids.filter((id) => id !== gone));

  const mirrored = await sync(segment, mirror);
  assert.equal(mirrored.status, 'ok');
  assert.equal(mirrored.removed, 1);
  assert.equal(mirrored.added, 0);
  const last = received.get(mirrorPath).at(-1);
  assert.deepEqual(removedIds([last]), [gone]);
  assert.deepEqual(last.json.added, []);
  assert.equal(last.headers['x-signature'], sign(last.raw));

  const added = await sync(segment, add);
  assert.equal(added.batches.planned, 0);
  assert.equal(received.get(addPath).length, 1);
});

test('a Meta destination follows the Custom Audiences contract', async () => {
  const tag = unique('meta');
  const { segment, members: ids } = await audience(tag, 4);
  const audienceId = `act_${sequence}`;
  const path = `/v19.0/${audienceId}/users`;
  const problems = [];
  handlers.set(path, (req) => {
    const check = (ok, what) => { if (!ok) problems.push(what); };
    check(req.url.searchParams.get('access_token') === TOKEN, 'access_token');
    const { payload, session } = req.json ?? {};
    check(JSON.stringify(payload?.schema) === '["EMAIL","PHONE"]', 'schema');
    check(Array.isArray(payload?.data) && payload.data.length > 0 && payload.data.length <= 10_000, 'rows');
    for (const row of payload?.data ?? []) check(row.length === 2 && row.every((c) => HEX64.test(c)), `row ${row}`);
    check(Number.isInteger(session?.session_id) && session.session_id > 0, 'session_id');
    check(Number.isInteger(session?.batch_seq) && session.batch_seq >= 1, 'batch_seq');
    check(typeof session?.last_batch_flag === 'boolean', 'last_batch_flag');
    check(Number.isInteger(session?.estimated_num_total), 'estimated_num_total');
    return {
      status: 200,
      body: { audience_id: audienceId, session_id: session?.session_id, num_received: payload?.data?.length ?? 0, num_invalid_entries: 0 },
    };
  });
  const created = await edge.api('POST', `/v1/segments/${segment}/destinations`, {
    type: 'meta', audience_id: audienceId, access_token: TOKEN, schema: ['EMAIL', 'PHONE'], mode: 'mirror',
    base_url: `${receiverUrl}/v19.0`, batch_size: 3, ...FAST,
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.access_token, 'set');
  assert.ok(!JSON.stringify(created.body).includes(TOKEN));

  const record = await sync(segment, created.body);
  assert.equal(record.status, 'ok', JSON.stringify(record));
  assert.equal(record.added, 4);
  assert.deepEqual(problems, []);
  const uploads = received.get(path);
  assert.equal(uploads.length, 2);
  assert.ok(uploads.every((r) => r.method === 'POST'));
  const sessions = uploads.map((r) => r.json.session);
  assert.deepEqual(sessions.map((s) => s.batch_seq), [1, 2]);
  assert.deepEqual(sessions.map((s) => s.last_batch_flag), [false, true]);
  assert.equal(sessions[0].session_id, sessions[1].session_id);
  assert.ok(sessions.every((s) => s.estimated_num_total === 4));
  // The known normalization: trimmed, lowercased email; digits-only phone.
  const email = sha256(` ${tag}-u0@Example.com `.trim().toLowerCase());
  const phone = sha256('18005551000');
  const rows = uploads.flatMap((r) => r.json.payload.data);
  assert.ok(rows.some(([e, p]) => e === email && p === phone), 'u0 row hashed as documented');

  // A deleted profile is removed with the row it was added with.
  const del = await edge.api('DELETE', `/v1/profiles/${ids[0]}`);
  assert.equal(del.status, 200);
  const removal = await sync(segment, created.body);
  assert.equal(removal.status, 'ok', JSON.stringify(removal));
  assert.equal(removal.removed, 1);
  const last = received.get(path).at(-1);
  assert.equal(last.method, 'DELETE');
  assert.equal(last.json.payload.data.length, 1);
  assert.ok(rows.some((r) => JSON.stringify(r) === JSON.stringify(last.json.payload.data[0])));
  assert.equal(last.json.session.last_batch_flag, true);
  assert.deepEqual(problems, []);
});

test('destinations: validation, unknown ids, secret key only, delete', async () => {
  const tag = unique('valid');
  const { segment } = await audience(tag, 1);
  const base = `/v1/segments/${segment}/destinations`;
  const missing = await edge.api('POST', base, { type: 'webhook', secret: 's' });
  assert.equal(missing.status, 400);
  assert.equal(missing.body.code, 'missing_field');
  assert.equal(missing.body.path, 'url');
  const badType = await edge.api('POST', base, { type: 'fax', url: receiverUrl, secret: 's' });
  assert.equal(badType.body.code, 'unknown_destination_type');
  const badMode = await edge.api('POST', base, { type: 'webhook', url: receiverUrl, secret: 's', mode: 'sometimes' });
  assert.equal(badMode.body.code, 'unknown_sync_mode');
  const badSchema = await edge.api('POST', base, { type: 'meta', audience_id: '1', access_token: 't', schema: ['SHOE_SIZE'] });
  assert.equal(badSchema.status, 400);
  const bigBatch = await edge.api('POST', base, { type: 'webhook', url: receiverUrl, secret: 's', batch_size: 10_001 });
  assert.equal(bigBatch.body.code, 'out_of_range');
  const noSegment = await edge.api('POST', '/v1/segments/nope/destinations', { type: 'webhook', url: receiverUrl, secret: 's' });
  assert.equal(noSegment.status, 404);
  assert.equal(noSegment.body.code, 'segment_not_found');

  const writeKey = await edge.post(base, { type: 'webhook', url: receiverUrl, secret: 's' });
  assert.equal(writeKey.status, 401);
  // Another workspace has no such segment: a 404, as for every route under a segment.
  const otherSecret = await edge.api('GET', base, undefined, { secretKey: 'sk_other' });
  assert.equal(otherSecret.status, 404);
  assert.equal(otherSecret.body.code, 'segment_not_found');

  const dest = await webhook(segment, `/${tag}`);
  assert.equal((await edge.api('GET', `${base}/d_0000000000000000/syncs`)).status, 404);
  const deleted = await edge.api('DELETE', `${base}/${dest.id}`);
  assert.equal(deleted.status, 200);
  assert.deepEqual((await edge.api('GET', base)).body.destinations, []);
  assert.equal((await edge.api('POST', `${base}/${dest.id}/sync`)).status, 404);
});

test('a scheduled destination syncs from the alarm', async () => {
  // schedule_minutes is at least 1: check the schedule is set, then run it by hand instead of
  // waiting a minute in a test.
  const tag = unique('sched');
  const { segment } = await audience(tag, 1);
  handlers.set(`/${tag}`, () => ({ status: 200 }));
  const dest = await webhook(segment, `/${tag}`, { schedule_minutes: 5 });
  const due = Date.parse(dest.next_sync_at);
  assert.ok(due > Date.now() + 4 * 60_000 && due <= Date.now() + 5 * 60_000 + 1000);
  assert.equal(dest.schedule_minutes, 5);
});
