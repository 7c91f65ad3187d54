// The floor for bench/edge-load.mjs: a worker that reads the request body and answers 200,
// so the figure measured against it is what wrangler dev and the loopback cost by themselves.
export default {
  async fetch(request) {
    if (request.method === 'POST') await request.arrayBuffer();
    return new Response('{"success":true}', { headers: { 'Content-Type': 'application/json' } });
  },
};
