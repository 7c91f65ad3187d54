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

/** One suggested audience (docs/suggestions.md): an editable segment with its exact size. */
export interface SuggestedAudience {
  segment: SegmentDoc & { id: string; name: string; description: string };
  size: number;
  reached: number;
  rate: number;
  lift: number;
  lift_lower: number;
  explanation: string;
}
/** A lookalike or lifecycle audience. */
export interface ReadyAudience { kind: string; segment: SegmentDoc & { id: string; name: string }; size: number; explanation: string }
/** What `suggest` found (the report of `tessera suggest --format json`), and how long it took. */
export interface Suggestions {
  now: string;
  goal: { description: string; condition: unknown; profiles: number; reached: number; rate: number };
  suggestions: SuggestedAudience[];
  lookalike: ReadyAudience | null;
  lifecycle: ReadyAudience[];
  candidates: number;
  tookMs: number;
}

export type Request =
  | { kind: 'load'; bytes: ArrayBuffer }
  | { kind: 'preview'; doc: SegmentDoc; now: string; sample: number; saved: SavedMap }
  /** One count per definition, all at `now`: overlaps, matchable members. */
  | { kind: 'counts'; docs: SegmentDoc[]; now: string; saved: SavedMap }
  /** One count per `now` for the same definition: the size-over-time chart. */
  | { kind: 'history'; doc: SegmentDoc; nows: string[]; saved: SavedMap }
  /** Audiences for a goal (`event:NAME` or `trait:PATH=VALUE`) within `horizon`, at `now`. */
  | { kind: 'suggest'; goal: string; horizon: string; now: string };

export type Answer =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: EngineError };
