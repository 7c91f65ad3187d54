// Messages between the page and the engine's Web Worker. Every request carries an `id`; the
// worker answers `{id, ok: true, result}` or `{id, ok: false, error}`.
import type { Schema } from './schema';

/** A segment document (segments.md): `{id?, name?, description?, condition}`. */
export type SegmentDoc = { id?: string; name?: string; description?: string; condition: unknown };
/** Saved segments by id, for `in_segment`. */
export type SavedMap = Record<string, SegmentDoc>;

export interface Loaded { profiles: number; events: number; schema: Schema; loadMs: number }
export interface Preview { count: number; totalProfiles: number; sample: string[]; tookMs: number }
export interface Counts { counts: number[]; tookMs: number }
export interface EngineError { code: string; path: string; message: string }

export type Request =
  | { kind: 'load'; bytes: ArrayBuffer }
  | { kind: 'preview'; doc: SegmentDoc; now: string; sample: number; saved: SavedMap }
  /** One count per definition, all at `now`: overlaps, matchable members. */
  | { kind: 'counts'; docs: SegmentDoc[]; now: string; saved: SavedMap }
  /** One count per `now` for the same definition: the size-over-time chart. */
  | { kind: 'history'; doc: SegmentDoc; nows: string[]; saved: SavedMap };

export type Answer =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: EngineError };
