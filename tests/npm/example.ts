// Type-checked against the installed package by types.test.mjs (`tsc --noEmit`): what an
// integrator writes, plus lines the types must refuse.
import { Engine, TesseraError, hashMeta, type Condition, type Message, type Profile } from '@tessera/engine';

const messages: Message[] = [
  { type: 'track', event: 'Order Completed', userId: 'u1', messageId: 'm1', timestamp: new Date(), properties: { revenue: 120 } },
  { type: 'identify', userId: 'u1', messageId: 'm2', timestamp: '2026-05-01T00:00:00Z', traits: { plan: 'pro' } },
  { type: 'page', name: 'Pricing', anonymousId: 'a1', messageId: 'm3', timestamp: '2026-05-02T00:00:00Z' },
];

const buyers: Condition = {
  and: [
    { event: 'Order Completed', within: '30d', sum: { property: 'revenue', gt: 100 } },
    { trait: 'plan', op: 'in', value: ['pro', 'enterprise'] },
    { not: { event: '*', call: 'page', where: [{ property: 'path', op: 'starts_with', value: '/pricing' }] } },
    { event: 'Product Added', not_followed_by: { event: 'Order Completed', within: '1d' } },
    { last_seen: { before: '60d' } },
    { has_identifier: 'email' },
  ],
};

const engine = new Engine({ identity: { priorities: ['email'], limits: { user_id: 1 } } });
const report = engine.ingest(messages);
const firstCode: string | undefined = report.rejected[0]?.code;
const result = engine.evaluate(buyers, { now: new Date('2026-06-01T00:00:00Z') });
const count: number = result.count;
const preview = engine.preview({ condition: buyers, id: 'buyers' }, { now: '2026-06-01T00:00:00Z', sample: 5 });
const took: number = preview.tookMs;
const profile: Profile | null = engine.profileByIdentifier('user_id', 'u1');
const csv: string = engine.exportCsv(buyers, { now: Date.now(), columns: ['email', 'plan'] });
const copy: Engine = Engine.fromSnapshot(engine.snapshot());
const cell: string = hashMeta('EMAIL', 'a@example.com');

try {
  engine.evaluate({ trait: 'plan', op: 'eq', value: 'pro' }, { now: '2026-06-01T00:00:00Z' });
} catch (err) {
  if (err instanceof TesseraError) {
    const where: string = `${err.code} at ${err.path}`;
    console.log(where);
  }
}

// @ts-expect-error: `is` is not an operator.
const badOperator: Condition = { trait: 'plan', op: 'is', value: 'pro' };
// @ts-expect-error: aggregates are exclusive: count and sum together are refused.
const twoAggregates: Condition = { event: 'Order Completed', count: { gte: 2 }, sum: { property: 'revenue', gt: 1 } };
// @ts-expect-error: a track message needs its event name.
const noEventName: Message = { type: 'track', userId: 'u1' };
// @ts-expect-error: `now` is required: the engine never reads the clock.
engine.evaluate(buyers, {});
// @ts-expect-error: not a Meta key.
hashMeta('E_MAIL', 'a@example.com');

console.log(firstCode, count, took, profile?.traits, csv, copy.profileCount, cell, badOperator, twoAggregates, noEventName);
