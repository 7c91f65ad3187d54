// The segment conformance corpus (tests/fixtures/segments, format in its README) through the
// package: an engine over the given profiles, its snapshot reloaded, same members for both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load, jsonFiles } from './install.mjs';

const { Engine, TesseraError } = await load();

const files = jsonFiles('segments');

test('the corpus is all there', () => {
  assert.ok(files.length >= 8);
  assert.ok(files.reduce((n, f) => n + f.data.cases.length, 0) >= 100);
});

for (const { name: file, data } of files) {
  test(`segments/${file}`, () => {
    const engine = Engine.fromResolved({ profiles: data.profiles, events: data.events ?? [] });
    const reloaded = Engine.fromSnapshot(engine.snapshot());
    const saved = { ...(data.segments ?? {}) };
    data.cases.forEach((c, i) => {
      const where = `${file}: case ${i} (${c.name})`;
      Object.assign(saved, c.segments ?? {});
      const definition = c.segment ?? { condition: c.condition };
      const options = { now: c.now ?? data.now, segments: saved };
      if (c.error) {
        assert.throws(() => engine.evaluate(definition, options), (err) => {
          assert.ok(err instanceof TesseraError && err instanceof Error, `${where}: a TesseraError`);
          assert.deepEqual({ code: err.code, path: err.path }, c.error, where);
          return true;
        }, where);
        return;
      }
      const expected = [...c.expect].sort();
      const result = engine.evaluate(definition, options);
      assert.deepEqual(result.members, expected, where);
      assert.equal(result.count, expected.length, where);
      assert.deepEqual(reloaded.evaluate(definition, options), result, `${where}: snapshot`);
      const preview = engine.preview(definition, { ...options, sample: 2 });
      assert.equal(preview.count, expected.length, `${where}: preview`);
      assert.equal(preview.totalProfiles, data.profiles.length, `${where}: preview`);
      assert.ok(preview.sample.every((id) => expected.includes(id)), `${where}: sample`);
    });
  });
}
