// The Engine API as integrators use it: NDJSON and arrays, dedup across calls, lazy store,
// snapshots and what they cannot answer, options errors, suggestions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load } from './install.mjs';

const { Engine, TesseraError, validate, version } = await load();

const NOW = '2026-06-01T00:00:00Z';
const track = (id, user, event, timestamp, properties = {}) => ({ type: 'track', event, userId: user, messageId: id, timestamp, properties });
const isTessera = (code, path) => (err) => {
  assert.ok(err instanceof TesseraError, 'a TesseraError');
  assert.ok(err instanceof Error, 'a real Error');
  assert.equal(err.name, 'TesseraError');
  assert.equal(err.code, code);
  if (path !== undefined) assert.equal(err.path, path);
  assert.equal(typeof err.stack, 'string');
  return true;
};

test('version', () => assert.match(version(), /^\d+\.\d+\.\d+$/));

test('ingest takes NDJSON text and arrays; duplicates across calls keep the earliest', () => {
  const engine = new Engine();
  const ndjson = [track('m1', 'u1', 'Order Completed', '2026-05-30T00:00:00Z'), track('m2', 'u2', 'Signed Up', '2026-05-01T00:00:00Z')]
    .map((m) => JSON.stringify(m)).join('\n');
  assert.deepEqual(engine.ingest(ndjson), { accepted: 2, rejected: [], duplicates: 0 });
  const recent = { event: 'Order Completed', within: '7d' };
  assert.equal(engine.evaluate(recent, { now: NOW }).count, 1);
  const again = engine.ingest([track('m1', 'u1', 'Order Completed', '2026-04-01T00:00:00Z'), { type: 'track', userId: 'u1' }]);
  assert.equal(again.accepted, 1);
  assert.equal(again.duplicates, 1);
  assert.deepEqual(again.rejected.map((r) => [r.index, r.path, r.code]), [[1, '[1].event', 'missing_event']]);
  assert.equal(engine.evaluate(recent, { now: NOW }).count, 0, 'the store was rebuilt after ingest');
  assert.equal(engine.eventCount, 2);
});

test('file mode needs messageId unless deriveIds; validate stores nothing', () => {
  const engine = new Engine();
  const noId = [{ type: 'track', event: 'A', userId: 'u1', timestamp: NOW }];
  assert.deepEqual(engine.validate(noId).rejected.map((r) => r.code), ['missing_message_id']);
  assert.equal(validate(noId, { deriveIds: true }).accepted, 1);
  assert.equal(engine.eventCount, 0);
  assert.equal(engine.ingest(noId, { deriveIds: true }).accepted, 1);
  assert.equal(engine.profiles().length, 1);
});

test('dates are Date objects, RFC 3339 strings or ms', () => {
  const engine = new Engine();
  engine.ingest([track('m1', 'u1', 'A', new Date('2026-05-31T00:00:00Z'))]);
  const within = { event: 'A', within: '2d' };
  for (const now of [new Date(NOW), NOW, Date.parse(NOW)]) assert.equal(engine.evaluate(within, { now }).count, 1);
  assert.throws(() => engine.evaluate(within, { now: 'tomorrow' }), isTessera('invalid_timestamp', 'options.now'));
  assert.throws(() => engine.evaluate(within, {}), isTessera('missing_now', 'options.now'));
});

test('profiles, lookups, explanations', () => {
  const engine = new Engine();
  engine.ingest([
    { type: 'identify', anonymousId: 'a1', messageId: 'm1', timestamp: '2026-05-01T00:00:00Z', traits: { plan: 'pro' } },
    { type: 'identify', anonymousId: 'a1', userId: 'u1', messageId: 'm2', timestamp: '2026-05-02T00:00:00Z', traits: { email: 'Ann@Example.com' } },
  ]);
  const [profile] = engine.profiles();
  assert.deepEqual(profile.identifiers, { anonymous_id: ['a1'], email: ['ann@example.com'], user_id: ['u1'] });
  assert.deepEqual(profile.traits, { plan: 'pro', email: 'Ann@Example.com' });
  assert.equal(engine.profile(profile.id).id, profile.id);
  assert.equal(engine.profileByIdentifier('email', ' ANN@example.com ').id, profile.id);
  assert.equal(engine.profileByIdentifier('user_id', 'nobody'), null);
  assert.equal(engine.profile('p_0000000000000000'), null);
  const explanation = engine.explain(profile.id);
  assert.equal(explanation.profile_id, profile.id);
  assert.deepEqual(explanation.steps.map((s) => s.message_id), ['m1', 'm2']);
  assert.equal(engine.profileIdOfMessage('m2'), profile.id);
});

test('preview samples members; the store is built once and reused', () => {
  const engine = new Engine();
  engine.ingest(Array.from({ length: 50 }, (_, i) => track(`m${i}`, `u${i}`, 'Seen', '2026-05-01T00:00:00Z')));
  const first = engine.preview({ event: 'Seen' }, { now: NOW, sample: 3 });
  assert.equal(first.count, 50);
  assert.equal(first.totalProfiles, 50);
  assert.equal(first.sample.length, 3);
  assert.equal(typeof first.tookMs, 'number');
  assert.deepEqual(engine.preview({ event: 'Seen' }, { now: NOW, sample: 3 }).sample, first.sample);
});

test('snapshots evaluate the same; what they cannot answer is a needs_events error', () => {
  const engine = new Engine();
  engine.ingest([track('m1', 'u1', 'A', '2026-05-01T00:00:00Z'), track('m2', 'u2', 'B', '2026-05-01T00:00:00Z')]);
  const bytes = engine.snapshot();
  assert.ok(bytes instanceof Uint8Array);
  const copy = Engine.fromSnapshot(bytes);
  assert.deepEqual(copy.evaluate({ event: 'A' }, { now: NOW }), engine.evaluate({ event: 'A' }, { now: NOW }));
  assert.equal(copy.profileCount, 2);
  assert.equal(copy.exportCsv({ event: 'A' }, { now: NOW }).split('\r\n')[0], 'profile_id');
  assert.throws(() => copy.profiles(), isTessera('needs_events', ''));
  assert.throws(() => copy.exportCsv({ event: 'A' }, { now: NOW, columns: ['email'] }), isTessera('needs_events', 'options.columns'));
  assert.throws(() => copy.ingest([]), isTessera('needs_events'));
  assert.throws(() => Engine.fromSnapshot(new Uint8Array([1, 2, 3])), isTessera('snapshot_version'));
});

test('saved segments and definition errors carry the core paths', () => {
  const engine = new Engine();
  engine.ingest([track('m1', 'u1', 'A', '2026-05-01T00:00:00Z')]);
  const segments = { did_a: { condition: { event: 'A' } } };
  assert.equal(engine.evaluate({ in_segment: 'did_a' }, { now: NOW, segments }).count, 1);
  assert.equal(engine.evaluate({ id: 'x', condition: { in_segment: 'did_a' } }, { now: NOW, segments: [{ id: 'did_a', condition: { event: 'A' } }] }).count, 1);
  assert.throws(() => engine.evaluate({ and: [{ event: 'A', within: 'soon' }] }, { now: NOW }), isTessera('bad_duration'));
  assert.throws(() => engine.evaluate({ in_segment: 'nope' }, { now: NOW }), isTessera('unknown_segment', 'condition.in_segment'));
  assert.throws(() => new Engine({ identity: { limits: { email: 0 } } }), isTessera('invalid_limit', 'options.identity.limits.email'));
});

test('exportCsv writes the members with their columns', () => {
  const engine = new Engine();
  engine.ingest([{ type: 'identify', userId: 'u1', messageId: 'm1', timestamp: '2026-05-01T00:00:00Z', traits: { plan: '=1+2', email: 'a@x.com' } }]);
  const csv = engine.exportCsv({ trait: 'plan', op: 'exists' }, { now: NOW, columns: ['email', 'plan'] });
  const id = engine.profiles()[0].id;
  assert.equal(csv, `profile_id,email,plan\r\n${id},a@x.com,'=1+2\r\n`);
  assert.throws(() => engine.exportCsv({ and: [] }, { now: NOW, columns: ['email', ''] }), isTessera('empty_column', 'options.columns[1]'));
});

test('suggest finds the planted audience and names bad goals', () => {
  const engine = new Engine();
  const messages = [];
  for (let i = 0; i < 400; i++) {
    const pro = i % 2 === 0;
    messages.push({ type: 'identify', userId: `u${i}`, messageId: `i${i}`, timestamp: '2026-04-01T00:00:00Z', traits: { plan: pro ? 'pro' : 'free' } });
    if (pro ? i % 4 === 0 : i % 20 === 1) messages.push(track(`o${i}`, `u${i}`, 'Order Completed', '2026-05-20T00:00:00Z'));
  }
  engine.ingest(messages);
  const report = engine.suggest({ goal: 'event:Order Completed', horizon: '30d', now: NOW, top: 3 });
  assert.equal(report.goal.profiles, 400);
  assert.ok(report.suggestions.some((s) => JSON.stringify(s.segment).includes('"pro"')), JSON.stringify(report.suggestions));
  assert.throws(() => engine.suggest({ goal: 'orders', now: NOW }), isTessera('bad_goal', 'options.goal'));
  // A snapshot holds everything suggestions read: the same report.
  const copy = Engine.fromSnapshot(engine.snapshot());
  assert.deepEqual(copy.suggest({ goal: 'event:Order Completed', horizon: '30d', now: NOW, top: 3 }), report);
});
