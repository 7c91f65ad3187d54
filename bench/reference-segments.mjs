// The six reference segments of the segment issue (S1–S6 of benches/segments.rs), for the JS
// benchmarks.
export const SEGMENTS = {
  S1: { event: 'Order Completed', within: '30d', count: { gte: 2 } },
  S2: { and: [{ event: 'Order Completed', sum: { property: 'revenue', gt: 200 } }, { trait: 'plan', op: 'eq', value: 'pro' }] },
  S3: { and: [{ event: '*', call: 'page', within: '7d', where: [{ property: 'path', op: 'starts_with', value: '/pricing' }] }, { not: { event: 'Order Completed' } }] },
  S4: { event: 'Product Added', within: '14d', not_followed_by: { event: 'Order Completed', within: '1d' } },
  S5: { and: [{ or: [{ trait: 'country', op: 'in', value: ['US', 'CA'] }, { trait: 'age', op: 'gte', value: 40 }] }, { event: 'Email Opened', count: { gte: 3 } }] },
  S6: { last_seen: { before: '60d' } },
};
