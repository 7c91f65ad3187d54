// The second floor of bench/edge-load.mjs: a worker that reads the body and hands it to a
// Durable Object with one fetch (as the edge hands a batch to its workspace's object), which
// reads it and answers 200. Against the first floor it measures what one worker-to-object hop
// costs in `wrangler dev` by itself (no storage, no parsing).
import { DurableObject } from 'cloudflare:workers';

export class NullStore extends DurableObject {
  async fetch(request) {
    await request.arrayBuffer();
    // No body, as the edge's object answers an append.
    return new Response(null);
  }
}

export default {
  async fetch(request, env) {
    if (request.method !== 'POST') return new Response('ok');
    const body = await request.arrayBuffer();
    const stub = env.NULL_STORE.get(env.NULL_STORE.idFromName('bench'));
    const answer = await stub.fetch('https://null-store/append', { method: 'POST', body });
    await answer.arrayBuffer();
    return new Response('{"success":true}', { headers: { 'Content-Type': 'application/json' } });
  },
};
