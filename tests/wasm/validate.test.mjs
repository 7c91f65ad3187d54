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

test('NDJSON: good lines are counted, bad lines are listed with their line index', () => {
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
    [[1, 'missing_event'], [3, 'invalid_timestamp']],
  );
  assert.match(report.rejected[0].path, /event$/);
  assert.match(report.rejected[1].path, /timestamp$/);
  for (const r of report.rejected) assert.equal(typeof r.message, 'string');
});

test('NDJSON: blank lines are skipped but keep later lines at their line index', () => {
  const report = engine.validate(`${JSON.stringify(track())}\n\n   \n{"type":"track"`);
  assert.equal(report.accepted, 1);
  assert.equal(report.rejected.length, 1);
  assert.equal(report.rejected[0].index, 3);
  assert.equal(report.rejected[0].code, 'invalid_json');
});

test('files need a messageId and a timestamp', () => {
  const report = engine.validate(ndjson(track({ messageId: undefined }), track({ timestamp: undefined })));
  assert.equal(report.accepted, 0);
  assert.deepEqual(report.rejected.map((r) => r.code), ['missing_message_id', 'missing_timestamp']);
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

test('a batch document that cannot be read throws an Error with code and path', () => {
  assert.throws(
    () => engine.validate('{"batch": 5}'),
    (err) => {
      assert.ok(err instanceof Error, 'a real Error');
      assert.equal(typeof err.code, 'string');
      assert.match(err.code, /^[a-z_]+$/);
      assert.equal(typeof err.path, 'string');
      assert.ok(Array.isArray(err.errors));
      return true;
    },
  );
});

test('empty input is zero messages, not an error', () => {
  assert.deepEqual(engine.validate(''), { accepted: 0, rejected: [] });
});
