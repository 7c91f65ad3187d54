// The engine's Web Worker: holds the snapshot and evaluates off the main thread, so loading a
// million events or drawing 90 days of history never freezes the page.
import type { SegmentEngine } from './adapter';
import { readSchema } from './schema';

// The engine package initializes its wasm on import (top-level await). Messages that arrive
// while a module worker is still awaiting are dispatched before any handler could be set, so the
// handler is set right away and the engine is imported dynamically.
const adapter = import('./adapter');

/** `{code, path, message}` of whatever the engine threw. */
function engineError(err: unknown): EngineError {
  const e = err as { code?: unknown; path?: unknown; message?: unknown };
  return {
    code: typeof e?.code === 'string' ? e.code : 'engine_error',
    path: typeof e?.path === 'string' ? e.path : '',
    message: typeof e?.message === 'string' ? e.message : String(err),
  };
}
import type { Answer, Counts, EngineError, Loaded, Request, Suggestions } from './protocol';

let engine: SegmentEngine | null = null;

function handle(req: Request): unknown {
  if (req.kind === 'load') throw new Error('load is asynchronous');
  if (!engine) throw { code: 'engine_not_loaded', path: '', message: 'the snapshot is not loaded yet' };
  switch (req.kind) {
    case 'preview': {
      // Timed here, around the whole call (definition parsing included): what the user waits for.
      const t0 = performance.now();
      const preview = engine.preview(req.doc, req.now, req.sample, req.saved);
      return { ...preview, tookMs: performance.now() - t0 };
    }
    case 'counts': {
      const t0 = performance.now();
      const counts = req.docs.map((doc) => engine!.preview(doc, req.now, 0, req.saved).count);
      return { counts, tookMs: performance.now() - t0 } satisfies Counts;
    }
    case 'history': {
      const t0 = performance.now();
      const counts = req.nows.map((now) => engine!.preview(req.doc, now, 0, req.saved).count);
      return { counts, tookMs: performance.now() - t0 } satisfies Counts;
    }
    case 'suggest': {
      const t0 = performance.now();
      const report = engine.suggest(req.goal, req.horizon, req.now);
      return { ...report, tookMs: performance.now() - t0 } satisfies Suggestions;
    }
  }
}

self.onmessage = async (e: MessageEvent<{ id: number; req: Request }>) => {
  const { id, req } = e.data;
  let answer: Answer;
  try {
    if (req.kind === 'load') {
      const t0 = performance.now();
      const bytes = new Uint8Array(req.bytes);
      engine = await (await adapter).loadEngine(bytes);
      const schema = readSchema(bytes);
      const events = engine.events || schema.events.reduce((n, k) => n + k.count, 0);
      const result: Loaded = { profiles: engine.profiles, events, schema, loadMs: performance.now() - t0 };
      answer = { id, ok: true, result };
    } else {
      answer = { id, ok: true, result: handle(req) };
    }
  } catch (err) {
    answer = { id, ok: false, error: engineError(err) };
  }
  (self as unknown as Worker).postMessage(answer);
};
