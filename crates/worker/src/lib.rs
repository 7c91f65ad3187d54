//! The Cloudflare Worker: routes, auth and Durable Object storage over the core.
