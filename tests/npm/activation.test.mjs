// The activation corpus (tests/fixtures/activation, format in its README) through the package:
// CSV export, Meta normalization and hashing, webhook signatures. The retry policy and the
// resumable sync are the edge's delivery machinery and are not part of the package.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { load, readJson, fixtures } from './install.mjs';

const pkg = await load();
const { Engine, TesseraError, toCsv, csvCell, normalizeMeta, hashMeta, sha256Hex, signWebhook, verifyWebhook } = pkg;
const fixture = (name) => readJson(join(fixtures, 'activation', name));

test('csv_export.json: toCsv gives the exact bytes', () => {
  const f = fixture('csv_export.json');
  assert.equal(toCsv(f.profiles, f.columns), f.csv);
  assert.equal(toCsv(f.profiles, f.columns.split(',')), f.csv);
});

test('csv_export.json: an engine over the same profiles exports the same CSV', () => {
  const f = fixture('csv_export.json');
  const engine = Engine.fromResolved({ profiles: f.profiles, events: [] });
  const csv = engine.exportCsv({ and: [] }, { now: '2026-06-01T00:00:00Z', columns: f.columns.split(',') });
  assert.equal(csv, f.csv);
});

test('csvCell applies the formula-injection guard to every kind of value', () => {
  assert.equal(csvCell('=1+2'), "'=1+2");
  assert.equal(csvCell(-5), "'-5");
  assert.equal(csvCell(true), 'true');
  assert.equal(csvCell(null), '');
  assert.equal(csvCell({ a: 1 }), '{"a":1}');
  assert.equal(csvCell(['@x']), '["@x"]');
});

test('column errors name the column', () => {
  assert.throws(() => toCsv([], ['email', '']), (err) => err instanceof TesseraError && err.code === 'empty_column' && err.path === 'columns[1]');
  assert.throws(() => toCsv([], 'email,email'), (err) => err.code === 'duplicate_column' && err.path === 'columns[1]');
});

test('meta_normalization.json: normalized text and the cell sent', () => {
  const f = fixture('meta_normalization.json');
  assert.equal(sha256Hex('test'), f.sha256_of_test);
  assert.ok(f.cases.length > 10);
  for (const c of f.cases) {
    const where = JSON.stringify(c);
    if (c.note === undefined) assert.equal(normalizeMeta(c.key, c.raw, c.country), c.normalized, where);
    assert.equal(hashMeta(c.key, c.raw, c.country), c.cell, where);
  }
  assert.throws(() => hashMeta('E_MAIL', 'a@b.c'), (err) => err instanceof TesseraError && err.code === 'unknown_meta_key' && err.path === 'key');
});

test('webhook_signature.json: signing and verifying', () => {
  const f = fixture('webhook_signature.json');
  assert.equal(signWebhook(f.body, f.secret), f.signature);
  assert.equal(verifyWebhook(f.body, f.secret, f.signature), true);
  for (const bad of f.rejected) assert.equal(verifyWebhook(f.body, f.secret, bad), false, bad);
  assert.equal(verifyWebhook(`${f.body} `, f.secret, f.signature), false);
});
