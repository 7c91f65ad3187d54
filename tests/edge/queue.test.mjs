// The ingestion queue (docs/scaling.md): a batch is acknowledged once it is stored as a queued
// row, and applied (dedup, identity, profiles, audiences) shortly after in a group. Reads apply
// what is queued first, so they see every acknowledged event; a crash with batches still queued
// loses none of them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startEdge, DEFAULT_WORKSPACES } from './harness.mjs';

// Queued batches wait a minute for the alarm here, so only reads (and restarts) apply them:
// the kill below then surely finds batches in the queue.
const WORKSPACE = { ...DEFAULT_WORKSPACES[0], apply_delay_ms: 60_000 };

let edge;
before(async () => {
  edge = await startEdge({ workspaces: [WORKSPACE] });
});
after(async () => {
  await edge?.stop();
});

let sequence = 0;
const uniqueId = (prefix) => `${prefix}-${process.pid}-${++sequence}`;
const iso = (ms) => new Date(ms).toISOString();

/** A batch for one user: an identify with `traits`, then `tracks` track calls. */
function batchFor(user, traits, tracks) {
  const now = Date.now();
  return {
    batch: [
      { type: 'identify', messageId: `${user}-id`, userId: user, traits, timestamp: iso(now - 60_000) },
      ...Array.from({ length: tracks }, (_, i) => ({
        type: 'track', messageId: `${user}-t${i}`, userId: user, event: 'Queued', timestamp: iso(now - 50_000 + i),
      })),
    ],
  };
}

async function profileOf(user) {
  return edge.api('GET', `/v1/profiles?type=user_id&value=${encodeURIComponent(user)}`);
}

test('reads right after concurrent batches see every acknowledged event and membership', async () => {
  const tier = uniqueId('tier');
  const seg = await edge.api('POST', '/v1/segments', { id: `q_${sequence}`, condition: { trait: 'tier', op: 'eq', value: tier } });
  assert.equal(seg.status, 201, JSON.stringify(seg.body));
  const before = (await edge.api('GET', '/v1/workspace')).body.events;

  const users = Array.from({ length: 6 }, () => uniqueId('rw'));
  const acks = await Promise.all(users.map((u, i) => edge.post('/v1/batch', batchFor(u, { tier: i % 2 ? tier : 'other' }, 9))));
  assert.deepEqual(acks.map((a) => a.status), users.map(() => 200));

  // No wait: each of these reads must apply the queued batches first.
  const members = (await edge.api('GET', `/v1/segments/${seg.body.id}/members`)).body.members;
  const expected = [];
  for (const [i, u] of users.entries()) {
    const profile = await profileOf(u);
    assert.equal(profile.status, 200, `${u}: ${JSON.stringify(profile.body)}`);
    assert.equal(profile.body.event_count, 10);
    if (i % 2) expected.push(profile.body.id);
  }
  assert.deepEqual(members, expected.sort());
  assert.equal((await edge.api('GET', `/v1/segments/${seg.body.id}`)).body.size, 3);
  const changes = (await edge.api('GET', `/v1/segments/${seg.body.id}/changes`)).body.changes;
  assert.deepEqual(changes.map((c) => c.change), ['added', 'added', 'added']);
  assert.equal((await edge.api('GET', '/v1/workspace')).body.events, before + 60);

  // A re-delivery of an acknowledged batch is stored once, also while the first is queued.
  const again = uniqueId('again');
  await edge.post('/v1/batch', batchFor(again, { tier }, 4));
  await edge.post('/v1/batch', batchFor(again, { tier }, 4));
  assert.equal((await profileOf(again)).body.event_count, 5);
  assert.equal(await edge.stats(), before + 65);
});

test('batches still queued when the edge is killed are applied after the restart', async () => {
  const tier = uniqueId('crash-tier');
  const seg = await edge.api('POST', '/v1/segments', { id: `k_${sequence}`, condition: { trait: 'tier', op: 'eq', value: tier } });
  assert.equal(seg.status, 201);
  const before = await edge.stats();
  const users = Array.from({ length: 4 }, () => uniqueId('killed'));
  const acks = await Promise.all(users.map((u) => edge.post('/v1/batch', batchFor(u, { tier }, 19))));
  assert.deepEqual(acks.map((a) => a.status), [200, 200, 200, 200]);
  // Right after the acknowledgements, well inside the delay before the queue is applied.
  await edge.kill();
  await edge.restart();

  const stats = await fetch(`${edge.url}/v1/admin/stats`, { headers: { Authorization: `Bearer ${edge.secretKey}` } });
  const counts = await stats.json();
  // The object found the four acknowledged batches still queued (the queue was not empty when
  // the edge was killed), applied them, and every event is there.
  assert.equal(counts.queued_at_start, 4, JSON.stringify(counts));
  assert.equal(counts.events, before + 80);
  const ids = [];
  for (const u of users) {
    const profile = await profileOf(u);
    assert.equal(profile.status, 200, `${u} lost: ${JSON.stringify(profile.body)}`);
    assert.equal(profile.body.event_count, 20);
    ids.push(profile.body.id);
  }
  assert.deepEqual((await edge.api('GET', `/v1/segments/${seg.body.id}/members`)).body.members, ids.sort());
});
