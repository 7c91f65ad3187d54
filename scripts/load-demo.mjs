// Sends NDJSON messages to a running edge through its public ingestion route, in batches of at
// most 500 KB / 2,500 messages, and prints what the edge answered.
// Usage: node scripts/load-demo.mjs URL WRITE_KEY < events.ndjson
//        node scripts/load-demo.mjs --keys   (prints the first workspace's keys from wrangler.toml)
//        node scripts/load-demo.mjs --segments URL SECRET_KEY   (saves the example segments)
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const MAX_BATCH_BYTES = 512_000;
const MAX_BATCH_MESSAGES = 2_500;
// Room for the `{"batch":[` ... `]}` wrapper and commas.
const ENVELOPE_BYTES = 64;

if (process.argv[2] === '--keys') {
  const toml = readFileSync(new URL('../wrangler.toml', import.meta.url), 'utf8');
  const match = toml.match(/^WORKSPACES\s*=\s*'''(.*?)'''/ms);
  if (!match) throw new Error('no WORKSPACES in wrangler.toml');
  const [first] = JSON.parse(match[1]);
  console.log(`${first.write_keys[0]} ${first.secret_key}`);
  process.exit(0);
}

// Example audiences over `tessera gen` data, saved through the API like a user would.
const EXAMPLE_SEGMENTS = [
  {
    id: 'repeat_buyers',
    name: 'Repeat buyers',
    description: 'Completed two orders or more',
    condition: { event: 'Order Completed', count: { gte: 2 } },
  },
  {
    id: 'paid_plans',
    name: 'Paid plans',
    description: 'On the pro or enterprise plan',
    condition: { trait: 'plan', op: 'in', value: ['pro', 'enterprise'] },
  },
];

if (process.argv[2] === '--segments') {
  const [, , , base, secretKey] = process.argv;
  for (const segment of EXAMPLE_SEGMENTS) {
    const res = await fetch(`${base}/v1/segments`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${secretKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(segment),
    });
    const answer = await res.json();
    if (res.status === 201) console.log(`segment ${segment.id}: ${answer.size} members`);
    else if (answer.code === 'segment_exists') console.log(`segment ${segment.id}: already saved`);
    else throw new Error(`saving ${segment.id} answered ${res.status}: ${JSON.stringify(answer)}`);
  }
  process.exit(0);
}

const [url, writeKey] = process.argv.slice(2);
if (!url || !writeKey) {
  console.error('usage: node scripts/load-demo.mjs URL WRITE_KEY < events.ndjson');
  process.exit(2);
}
const authorization = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
const totals = { sent: 0, accepted: 0, rejected: 0, skipped: 0, requests: 0 };

async function send(lines) {
  const body = `{"batch":[${lines.join(',')}]}`;
  const res = await fetch(`${url}/v1/batch`, {
    method: 'POST',
    headers: { Authorization: authorization, 'Content-Type': 'application/json' },
    body,
  });
  const answer = await res.json().catch(() => ({}));
  if (res.status !== 200) {
    throw new Error(`batch answered ${res.status}: ${JSON.stringify(answer)}`);
  }
  totals.requests += 1;
  totals.sent += lines.length;
  totals.accepted += answer.accepted;
  totals.rejected += answer.rejected.length;
}

let batch = [];
let bytes = ENVELOPE_BYTES;
for await (let line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  if (line.trim() === '') continue;
  // A line that is not JSON at all would spoil its whole batch: the edge can only reject it
  // whole, so it is counted here instead.
  let message;
  try {
    message = JSON.parse(line);
  } catch {
    totals.skipped += 1;
    continue;
  }
  // Demo data is a backfill of history: without `sentAt` the edge keeps each event's own
  // `timestamp` instead of skew-correcting it to the time of loading.
  if (message && typeof message === 'object' && 'sentAt' in message) {
    delete message.sentAt;
    line = JSON.stringify(message);
  }
  const size = Buffer.byteLength(line) + 1;
  if (batch.length > 0 && (bytes + size > MAX_BATCH_BYTES || batch.length >= MAX_BATCH_MESSAGES)) {
    await send(batch);
    batch = [];
    bytes = ENVELOPE_BYTES;
  }
  batch.push(line);
  bytes += size;
}
if (batch.length > 0) await send(batch);
console.log(
  `sent ${totals.sent} messages in ${totals.requests} batches: ${totals.accepted} accepted, ` +
    `${totals.rejected} rejected by the edge, ${totals.skipped} lines that are not JSON skipped`,
);
