// Crash safety, small: the load of bench/crash-safety.mjs with small numbers, the edge killed
// with SIGKILL mid-load, restarted on the same state, unacknowledged batches retried. Nothing
// acknowledged is lost, nothing is stored twice, and the profiles and a saved segment's audience
// equal the CLI's on the same events.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { crashRun, tesseraBinary } from '../../bench/crash-safety.mjs';

test('SIGKILL under load loses no acknowledged event and stores retried batches once', async () => {
  const cli = await tesseraBinary();
  const r = await crashRun({ batches: 30, perBatch: 20, killAt: 12, killDelayMs: 5, tag: `t${process.pid}`, cli });
  // The kill really happened mid-load: some batches were not acknowledged and had to be retried.
  assert.ok(r.ackedBeforeCrash < r.sent, `the kill came after every batch: ${JSON.stringify(r)}`);
  assert.ok(r.retriedBatches > 0);
  assert.equal(r.lostAcknowledged, 0, 'acknowledged events missing after the restart');
  assert.ok(r.storedAfterCrash >= r.ackedBeforeCrash);
  assert.equal(r.lost, 0, 'events missing after the retries');
  assert.equal(r.duplicates, 0, 'events stored twice');
  assert.equal(r.unexpected, 0);
  assert.equal(r.stored, r.sent);
  assert.equal(r.storedCount, r.sent, 'GET /v1/workspace counts every event once');
  assert.deepEqual(r.profileDiffs, [], 'profiles differ from `tessera profiles`');
  assert.ok(r.cliProfiles > 0);
  assert.equal(r.segmentDiff, null, 'the saved segment differs from `tessera eval`');
});
