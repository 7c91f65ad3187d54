// The one place that knows the wasm engine's JavaScript API. Everything else talks to
// `SegmentEngine`, so swapping the engine build touches only this file.
import { Engine } from '@tessera/engine';
import type { Preview, SavedMap, SegmentDoc, Suggestions } from './protocol';

/** What the builder needs from the engine. */
export interface SegmentEngine {
  profiles: number;
  events: number;
  /** Count and sample of `doc` at `now` (RFC 3339); throws an `EngineError` for a bad definition. */
  preview(doc: SegmentDoc, now: string, sample: number, saved: SavedMap): Preview;
  /** The suggestion report for `goal`; throws an `EngineError` for a bad goal or horizon. */
  suggest(goal: string, horizon: string, now: string): Omit<Suggestions, 'tookMs'>;
}

/** An engine over snapshot `bytes` (the package's module initialized the wasm on import). */
export async function loadEngine(bytes: Uint8Array): Promise<SegmentEngine> {
  const engine = Engine.fromSnapshot(bytes);
  // A snapshot holds no raw events (eventCount 0): the worker counts them from the snapshot.
  return {
    profiles: engine.profileCount,
    events: engine.eventCount,
    preview(doc, now, sample, saved) {
      const r = engine.preview(doc as Parameters<Engine['preview']>[0], { now, sample, segments: saved } as Parameters<Engine['preview']>[1]);
      return { count: r.count, totalProfiles: r.totalProfiles, sample: r.sample, tookMs: r.tookMs };
    },
    suggest(goal, horizon, now) {
      const options = { goal, horizon, now } as Parameters<Engine['suggest']>[0];
      return engine.suggest(options) as unknown as Omit<Suggestions, 'tookMs'>;
    },
  };
}
