// The identity corpus (tests/fixtures/identity, format in its README) through the package:
// one engine ingests the events at once (batch), another one by one in reverse file order
// (incremental, late events included); both must reach the expected profiles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load, jsonFiles } from './install.mjs';

const { Engine } = await load();

function applyActions(engine, actions = []) {
  const deleted = [];
  for (const action of actions) {
    if (action.delete_profile) {
      const { type, value } = action.delete_profile;
      const profile = engine.profileByIdentifier(type, value);
      assert.ok(profile, `a profile holds ${type}:${value}`);
      deleted.push(...engine.deleteProfile(profile.id).messageIds);
    } else if (action.remove_identifier) {
      const { type, value } = action.remove_identifier;
      engine.removeIdentifier(type, value);
    } else {
      assert.fail(`unknown action ${JSON.stringify(action)}`);
    }
  }
  return deleted;
}

function batch(data) {
  const engine = new Engine({ identity: data.settings });
  const report = engine.ingest(data.events);
  assert.deepEqual(report.rejected, []);
  const deleted = applyActions(engine, data.actions);
  if (data.events_after) engine.ingest(data.events_after);
  return { engine, deleted };
}

function incremental(data) {
  const engine = new Engine({ identity: data.settings });
  for (const event of [...data.events].reverse()) engine.ingest([event]);
  const deleted = applyActions(engine, data.actions);
  for (const event of [...(data.events_after ?? [])].reverse()) engine.ingest([event]);
  return { engine, deleted };
}

// Identifier maps compared by content, whatever the key order of the fixture.
const canonical = (identifiers) => JSON.stringify(Object.keys(identifiers).sort().map((k) => [k, identifiers[k]]));
const partition = (profiles) => profiles.map((p) => canonical(p.identifiers)).sort();

for (const { name: file, data } of jsonFiles('identity')) {
  test(`identity/${file}`, () => {
    const expected = data.expected;
    const runs = { batch: batch(data), incremental: incremental(data) };
    assert.deepEqual(runs.incremental.engine.profiles(), runs.batch.engine.profiles(), 'batch and incremental agree');
    for (const [how, { engine, deleted }] of Object.entries(runs)) {
      const where = `${file} (${how})`;
      const profiles = engine.profiles();
      assert.deepEqual(partition(profiles), partition(expected.profiles), `${where}: partition`);
      if (expected.unresolved !== undefined) assert.equal(engine.unresolvedCount, expected.unresolved, `${where}: unresolved`);
      for (const want of expected.profiles) {
        const got = profiles.find((p) => canonical(p.identifiers) === canonical(want.identifiers));
        if (want.id !== undefined) assert.equal(got.id, want.id, `${where}: id`);
        if (want.traits !== undefined) assert.deepEqual(got.traits, want.traits, `${where}: traits`);
        if (want.event_count !== undefined) assert.equal(got.event_count, want.event_count, `${where}: event_count`);
        if (want.first_seen !== undefined) assert.equal(got.first_seen, want.first_seen, `${where}: first_seen`);
        if (want.last_seen !== undefined) assert.equal(got.last_seen, want.last_seen, `${where}: last_seen`);
        const [type, values] = Object.entries(want.identifiers).find(([, v]) => v.length > 0);
        assert.equal(engine.profileByIdentifier(type, values[0])?.id, got.id, `${where}: by identifier`);
      }
      for (const [old, current] of Object.entries(expected.redirects ?? {})) {
        assert.equal(engine.profile(old)?.id ?? null, current, `${where}: redirect ${old}`);
      }
      for (const b of expected.blocked ?? []) {
        const owner = engine.profileIdOfMessage(b.message_id);
        assert.ok(owner, `${where}: ${b.message_id} resolved`);
        const explanation = engine.explain(owner);
        const found = explanation.blocked.some((x) => x.message_id === b.message_id
          && x.dropped.type === b.dropped.type && x.dropped.value === b.dropped.value
          && b.over_limit.every((t) => x.over_limit.some((o) => o.type === t)));
        assert.ok(found, `${where}: blocked ${JSON.stringify(b)} not in ${JSON.stringify(explanation.blocked)}`);
      }
      if (expected.deleted_message_ids) assert.deepEqual(deleted.sort(), expected.deleted_message_ids, `${where}: deleted`);
    }
  });
}
