// The wasm adapter as Node users get it: built by `scripts/build.sh wasm` into pkg/node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const engine = require('../../pkg/node/tessera_wasm.js');

const track = (overrides = {}) => ({
  type: 'track',
  event: 'Order Completed',
  userId: 'u1',
  messageId: 'm1',
  timestamp: '2026-01-01T10:00:00Z',
  ...overrides,
});
const ndjson = (...messages) => messages.map((m) => JSON.stringify(m)).join('\n');

test('version is the core version', () => {
  assert.match(engine.version(), /^\d+\.\d+\.\d+/);
});

test('NDJSON: good lines are counted, bad lines are listed by line number', () => {
  const text = ndjson(
    track(),
    track({ messageId: 'm2', event: undefined }),
    { type: 'identify', userId: 'u1', messageId: 'm3', timestamp: '2026-01-01T10:00:00Z' },
    track({ messageId: 'm4', timestamp: 'yesterday' }),
  );
  const report = engine.validate(text);
  assert.equal(report.accepted, 2);
  assert.deepEqual(
    report.rejected.map((r) => [r.index, r.code]),
    [[2, 'missing_event'], [4, 'invalid_timestamp']],
  );
  assert.match(report.rejected[0].path, /event$/);
  assert.match(report.rejected[1].path, /timestamp$/);
  for (const r of report.rejected) assert.equal(typeof r.message, 'string');
});

test('NDJSON: blank lines are skipped but still count as lines', () => {
  const report = engine.validate(`${JSON.stringify(track())}\n\n   \n{"type":"track"`);
  assert.equal(report.accepted, 1);
  assert.equal(report.rejected.length, 1);
  assert.equal(report.rejected[0].index, 4);
  assert.equal(report.rejected[0].code, 'invalid_json');
});

test('files need a messageId (unless derived) and a timestamp', () => {
  const text = ndjson(track({ messageId: undefined }), track({ timestamp: undefined }));
  const report = engine.validate(text);
  assert.equal(report.accepted, 0);
  assert.deepEqual(report.rejected.map((r) => r.code), ['missing_message_id', 'missing_timestamp']);
  const derived = engine.validate(text, true);
  assert.equal(derived.accepted, 1);
  assert.deepEqual(derived.rejected.map((r) => r.code), ['missing_timestamp']);
});

test('a batch document is validated message by message', () => {
  const text = JSON.stringify({
    batch: [track(), track({ messageId: 'm2', event: '' }), track({ messageId: 'm3' })],
    context: { library: { name: 'test' } },
  }, null, 2);
  const report = engine.validate(text);
  assert.equal(report.accepted, 2);
  assert.equal(report.rejected.length, 1);
  assert.equal(report.rejected[0].index, 1);
  assert.equal(report.rejected[0].path, 'batch[1].event');
  assert.equal(report.rejected[0].code, 'missing_event');
});

test('a broken batch file is one rejection, not an exception', () => {
  const report = engine.validate('{"batch": 5}');
  assert.equal(report.accepted, 0);
  assert.equal(report.rejected.length, 1);
  assert.equal(report.rejected[0].code, 'wrong_type');
});

test('checkRequest answers like the edge: a well-formed batch lists its bad messages', () => {
  const body = JSON.stringify({ batch: [track({ messageId: undefined, timestamp: undefined }), track({ event: '' })] });
  const report = engine.checkRequest('/v1/b', body, Date.UTC(2026, 0, 2));
  assert.equal(report.accepted, 1);
  assert.deepEqual(report.rejected.map((r) => [r.index, r.path, r.code]), [[1, 'batch[1].event', 'missing_event']]);
});

test('checkRequest throws a real Error with code, path and errors for what the edge answers 400', () => {
  assert.throws(
    () => engine.checkRequest('/v1/track', JSON.stringify(track({ event: undefined })), Date.now()),
    (err) => {
      assert.ok(err instanceof Error, 'a real Error');
      assert.equal(err.code, 'missing_event');
      assert.equal(err.path, 'event');
      assert.equal(err.errors[0].code, 'missing_event');
      return true;
    },
  );
  assert.throws(
    () => engine.checkRequest('/v1/batch', '{"batch": [', Date.now()),
    (err) => {
      assert.ok(err instanceof Error, 'a real Error');
      assert.equal(err.code, 'invalid_json');
      assert.equal(err.path, '');
      assert.ok(Array.isArray(err.errors));
      return true;
    },
  );
});

test('empty input is zero messages, not an error', () => {
  assert.deepEqual(engine.validate(''), { accepted: 0, rejected: [] });
});
