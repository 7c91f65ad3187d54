// The one place that knows the wasm engine's JavaScript API. Everything else talks to
// `SegmentEngine`, so swapping the engine build touches only this file.
import init, * as wasm from '@tessera/engine';
import type { EngineError, Preview, SavedMap, SegmentDoc } from './protocol';

/** What the builder needs from the engine. */
export interface SegmentEngine {
  profiles: number;
  events: number;
  /** Count and sample of `doc` at `now` (RFC 3339); throws an `EngineError` for a bad definition. */
  preview(doc: SegmentDoc, now: string, sample: number, saved: SavedMap): Preview;
}

/** `{code, path, message}` of whatever the engine threw. */
export function engineError(err: unknown): EngineError {
  const e = err as { code?: unknown; path?: unknown; message?: unknown };
  return {
    code: typeof e?.code === 'string' ? e.code : 'engine_error',
    path: typeof e?.path === 'string' ? e.path : '',
    message: typeof e?.message === 'string' ? e.message : String(err),
  };
}

let ready: Promise<unknown> | null = null;

/** Loads the wasm module once, then the snapshot. */
export async function loadEngine(bytes: Uint8Array, wasmUrl?: string): Promise<SegmentEngine> {
  ready ??= init(wasmUrl ? { module_or_path: wasmUrl } : undefined);
  await ready;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const Engine = (wasm as any).Engine;
  if (!Engine?.fromSnapshot) {
    throw { code: 'engine_missing', path: '', message: 'this engine build has no Engine.fromSnapshot' };
  }
  const engine = Engine.fromSnapshot(bytes);
  // `profileCount`/`eventCount` are getters; a snapshot holds no raw events, so the schema
  // reader's count stands in when the engine reports none.
  const profiles = Number(engine.profileCount ?? 0);
  const events = Number(engine.eventCount ?? 0);
  return {
    profiles,
    events,
    preview(doc, now, sample, saved) {
      const r = engine.preview(doc, { now, sample, segments: saved });
      return {
        count: Number(r.count),
        totalProfiles: Number(r.totalProfiles ?? r.total_profiles ?? profiles),
        sample: Array.from(r.sample ?? [], String),
        tookMs: Number(r.tookMs ?? r.took_ms ?? 0),
      };
    },
  };
}
