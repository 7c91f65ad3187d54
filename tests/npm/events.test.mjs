// The event contract corpus (tests/fixtures/events, format in its README) through the package:
// edge routes with parseRequest, files with parseFile, exactly as tests/events.rs runs them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { load, jsonFiles } from './install.mjs';

const { parseRequest, parseFile, TesseraError } = await load();

function bodyOf(c) {
  if (c.body_text !== undefined) return Buffer.from(c.body_text, 'utf8');
  if (c.body_hex !== undefined) return Buffer.from(c.body_hex, 'hex');
  if (c.body_repeat) {
    const r = c.body_repeat;
    return Buffer.from(r.prefix + Array(r.count).fill(r.repeat).join(r.separator) + r.suffix, 'utf8');
  }
  return Buffer.from(JSON.stringify(c.body), 'utf8');
}

function run(c) {
  const body = bodyOf(c);
  const bytes = (b) => new Uint8Array(b.buffer, b.byteOffset, b.length);
  if (c.route === 'file') {
    const out = parseFile(bytes(body), { deriveIds: !!c.source.derive_ids });
    return { writeKey: undefined, ...out };
  }
  let raw = body;
  let gzip = false;
  if (c.gzip === 'declared') [raw, gzip] = [gzipSync(body), true];
  else if (c.gzip === 'undeclared') raw = gzipSync(body);
  else if (c.gzip === 'declared_raw') gzip = true;
  return parseRequest(c.route, bytes(raw), { receivedAt: c.source.received_at, deriveIds: !!c.source.derive_ids, gzip });
}

const opt = (v) => (v === undefined ? null : v);

function checkEvent(event, want, where) {
  for (const [key, expected] of Object.entries(want)) {
    let got;
    switch (key) {
      case 'type': got = event.type; break;
      case 'messageId': got = event.messageId; break;
      case 'time': got = event.timestamp; break;
      case 'receivedAt': got = opt(event.receivedAt); break;
      case 'name': got = opt(event.type === 'track' ? event.event : event.name); break;
      case 'userId': case 'anonymousId': case 'previousId': case 'groupId': got = opt(event[key]); break;
      case 'properties': case 'traits': case 'context': case 'integrations': got = event[key] ?? {}; break;
      default: assert.fail(`${where}: unknown event key ${key}`);
    }
    assert.deepEqual(got, expected, `${where}: ${key}`);
  }
}

for (const { name: file, data } of jsonFiles('events')) {
  test(`events/${file}`, () => {
    assert.ok(data.cases.length > 0);
    for (const c of data.cases) {
      const where = `${file}: ${c.name}`;
      const expect = c.expect;
      if (expect.error) {
        assert.throws(() => run(c), (err) => {
          assert.ok(err instanceof TesseraError, `${where}: a TesseraError`);
          assert.equal(err.code, expect.error, where);
          if (expect.error_path !== undefined) assert.equal(err.errors[0]?.path, expect.error_path, where);
          return true;
        }, where);
        continue;
      }
      const out = run(c);
      assert.deepEqual(out.rejected.map(({ index, path, code }) => ({ index, path, code })), expect.rejected, `${where}: rejected`);
      assert.equal(out.events.length, expect.accepted, `${where}: accepted`);
      if (expect.events) {
        assert.equal(expect.events.length, out.events.length, where);
        expect.events.forEach((want, i) => checkEvent(out.events[i], want, `${where}: event ${i}`));
      }
      if ('write_key' in expect) assert.equal(out.writeKey ?? null, expect.write_key, `${where}: writeKey`);
      if (expect.dedup) {
        const d = expect.dedup;
        const kept = parseFile(JSON.stringify(out.events), { dedup: true });
        assert.deepEqual(kept.events.map((e) => e.messageId), d.kept, `${where}: kept`);
        assert.equal(kept.duplicates, d.dropped, `${where}: dropped`);
        if (d.kept_names) assert.deepEqual(kept.events.map((e) => e.event ?? e.name ?? null), d.kept_names, where);
        if (d.kept_times) assert.deepEqual(kept.events.map((e) => e.timestamp), d.kept_times, where);
      }
    }
  });
}
