// Types of @tessera/engine, written by hand to match the contracts in docs/ (events, identity,
// segments, activation). Every function is synchronous once the module is imported.

// ---------------------------------------------------------------- times and JSON

/** A time: a `Date`, an RFC 3339 string (`2026-03-01T00:00:00Z`) or ms since the epoch. */
export type TimeInput = Date | string | number;
/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
/** A JSON object. */
export type JsonObject = { [key: string]: Json };

// ---------------------------------------------------------------- events (Segment messages)

interface MessageBase {
  /** Required in file mode (ingest, validate) unless `deriveIds`. */
  messageId?: string;
  /** Event time. Required in file mode (or `originalTimestamp`). */
  timestamp?: TimeInput;
  originalTimestamp?: TimeInput;
  sentAt?: TimeInput;
  receivedAt?: TimeInput;
  /** At least one of `userId` / `anonymousId` (numbers are read as their text). */
  userId?: string | number | null;
  anonymousId?: string | number | null;
  context?: JsonObject & { traits?: JsonObject };
  integrations?: JsonObject;
}
/** `track`: a named action. */
export interface TrackMessage extends MessageBase { type: 'track'; event: string; properties?: JsonObject }
/** `identify`: who the user is; `traits` set profile traits. */
export interface IdentifyMessage extends MessageBase { type: 'identify'; traits?: JsonObject }
/** `page` / `screen`: a view, with an optional name. */
export interface PageMessage extends MessageBase { type: 'page'; name?: string; category?: string; properties?: JsonObject }
export interface ScreenMessage extends MessageBase { type: 'screen'; name?: string; category?: string; properties?: JsonObject }
/** `group`: the user belongs to a group (group traits never touch the profile). */
export interface GroupMessage extends MessageBase { type: 'group'; groupId: string | number; traits?: JsonObject }
/** `alias`: `previousId` is the same person as `userId`. */
export interface AliasMessage extends MessageBase { type: 'alias'; previousId: string | number }
/** A Segment message of any call type. */
export type Message = TrackMessage | IdentifyMessage | PageMessage | ScreenMessage | GroupMessage | AliasMessage;
/** The call types. */
export type CallType = Message['type'];

/** An accepted event as the core holds it (`timestamp` is the event time, RFC 3339 with ms). */
export interface Event {
  type: CallType;
  messageId: string;
  /** The name of a track call. */
  event?: string;
  /** The name of a page or screen call. */
  name?: string;
  userId?: string;
  anonymousId?: string;
  previousId?: string;
  groupId?: string;
  timestamp: string;
  receivedAt?: string;
  properties?: JsonObject;
  traits?: JsonObject;
  context?: JsonObject;
  integrations?: JsonObject;
}

/** One message that was refused, with a stable code and where. */
export interface Rejection {
  /** Position in an array or batch (0-based), line number in NDJSON (1-based). */
  index: number;
  /** JSON path of the offending field, such as `[3].event` or `batch[1].timestamp`. */
  path: string;
  code: RejectionCode;
  message: string;
}
/** Why a message or request was refused (`events.md`). */
export type RejectionCode =
  | 'invalid_json' | 'invalid_gzip' | 'not_an_object' | 'body_too_large' | 'message_too_large'
  | 'too_many_messages' | 'missing_batch' | 'wrong_type' | 'missing_type' | 'invalid_type'
  | 'missing_id' | 'invalid_id' | 'missing_previous_id' | 'missing_event' | 'missing_group_id'
  | 'invalid_timestamp' | 'missing_timestamp' | 'missing_message_id' | 'io_error';

export interface ValidationReport { accepted: number; rejected: Rejection[] }
export interface IngestReport extends ValidationReport {
  /** Accepted messages whose `messageId` was already held; the earliest event time is kept. */
  duplicates: number;
}
/** Messages: an array of message objects, or NDJSON text (one message a line), a batch
 * document `{"batch": [...]}` or JSON array text, or the same as UTF-8 bytes. */
export type Messages = Message[] | string | Uint8Array;
export interface FileOptions {
  /** Derive a missing `messageId` from the message's text instead of rejecting it. */
  deriveIds?: boolean;
}

// ---------------------------------------------------------------- identity

/** Identity settings: priorities (highest first) and per-type limits. */
export interface IdentitySettings {
  priorities?: string[];
  limits?: { [identifierType: string]: number };
}
/** Built-in identifier types; custom ones (`crm_id`) come from `context.externalIds`. */
export type IdentifierType = 'user_id' | 'email' | 'phone' | 'anonymous_id' | (string & {});
export interface Identifier { type: IdentifierType; value: string }

/** A resolved profile. */
export interface Profile {
  /** `p_` + 16 hex digits, stable across runtimes. */
  id: string;
  identifiers: { [type: string]: string[] };
  traits: JsonObject;
  event_count: number;
  first_seen: string;
  last_seen: string;
}

/** One event that created, extended or merged the profile. */
export interface JoinStep {
  message_id: string;
  call: CallType;
  time: string;
  /** The profile id this event created, if any. */
  created: string | null;
  identifiers: Identifier[];
  added: Identifier[];
  joined: Identifier | null;
  merged: string[];
  into: string;
}
/** A merge that merge protection refused. */
export interface BlockedMerge {
  message_id: string;
  call: CallType;
  time: string;
  dropped: Identifier;
  held_by: string | null;
  over_limit: { type: string; limit: number; values: number }[];
}
/** Why a profile's identifiers are one person. */
export interface Explanation {
  profile_id: string;
  requested_id: string;
  identifiers: Identifier[];
  steps: JoinStep[];
  blocked: BlockedMerge[];
}
export interface Deletion { profileId: string; messageIds: string[]; identifiers: Identifier[] }

// ---------------------------------------------------------------- segment definitions

/** A duration: `30d`, `2w`, `12h`, `15m`, `45s`. */
export type DurationText = `${number}${'s' | 'm' | 'h' | 'd' | 'w'}`;
/** A time bound: a duration before `now`, or an absolute RFC 3339 time. */
export type TimeBound = DurationText | string;
export type Scalar = string | number | boolean | null;

/** Operators on traits and event properties. */
export type TraitCondition =
  | { trait: string; op: 'eq' | 'neq'; value: Scalar; ignore_case?: boolean }
  | { trait: string; op: 'gt' | 'gte' | 'lt' | 'lte'; value: number | string }
  | { trait: string; op: 'between'; value: [number | string, number | string] }
  | { trait: string; op: 'in' | 'not_in'; value: Scalar[]; ignore_case?: boolean }
  | { trait: string; op: 'contains' | 'not_contains' | 'starts_with' | 'ends_with'; value: string | number | boolean; ignore_case?: boolean }
  | { trait: string; op: 'exists' | 'not_exists' }
  | { trait: string; op: 'before' | 'after'; value: TimeBound };
/** The same operators on an event property (inside `where`). */
export type PropertyFilter = TraitCondition extends infer T
  ? T extends { trait: string } ? Omit<T, 'trait'> & { property: string } : never
  : never;

/** A numeric test: `{gte: 2}`, `{between: [1, 5]}`. */
export type NumberTest =
  | { eq: number } | { neq: number } | { gt: number } | { gte: number } | { lt: number } | { lte: number }
  | { between: [number, number] };
/** An aggregate over a numeric property of the matching events. */
export type PropertyAggregate = NumberTest & { property: string };

/** Which events: by name (`*` for any), optionally call type and property filters. */
export interface EventMatch {
  /** A track event name, a page/screen name, or `*`. */
  event: string;
  call?: CallType;
  where?: PropertyFilter[];
}
/** A step that must (or must not) follow the matching event. */
export interface SequenceStep extends EventMatch { within: DurationText }

interface EventConditionBase extends EventMatch {
  /** Only events within this duration before `now`. */
  within?: DurationText;
  /** Only events between two bounds (durations before `now` or absolute times). */
  between?: [TimeBound, TimeBound];
  followed_by?: SequenceStep;
  not_followed_by?: SequenceStep;
}
/** An event condition with at most one aggregate (`count` by default: at least one). */
export type EventCondition = EventConditionBase & (
  | { count?: NumberTest; sum?: never; avg?: never; min?: never; max?: never }
  | { sum: PropertyAggregate; count?: never; avg?: never; min?: never; max?: never }
  | { avg: PropertyAggregate; count?: never; sum?: never; min?: never; max?: never }
  | { min: PropertyAggregate; count?: never; sum?: never; avg?: never; max?: never }
  | { max: PropertyAggregate; count?: never; sum?: never; avg?: never; min?: never }
);

/** A segment condition (`segments.md`). */
export type Condition =
  | { and: Condition[] }
  | { or: Condition[] }
  | { not: Condition }
  | TraitCondition
  | EventCondition
  | { first_seen: { before: TimeBound } | { after: TimeBound } }
  | { last_seen: { before: TimeBound } | { after: TimeBound } }
  | { in_segment: string }
  | { has_identifier: IdentifierType };

/** A whole segment document. */
export interface SegmentDocument {
  id?: string;
  name?: string;
  description?: string;
  condition: Condition;
}
/** What evaluate, preview and exportCsv take: a document or a bare condition. */
export type SegmentDefinition = SegmentDocument | Condition;
/** Saved segments for `in_segment`: id → document, or documents with `id`. */
export type SavedSegments = { [id: string]: SegmentDocument } | (SegmentDocument & { id: string })[];

export interface EvaluateOptions {
  /** The evaluation time; required (the engine never reads the clock). */
  now: TimeInput;
  segments?: SavedSegments;
}
export interface PreviewOptions extends EvaluateOptions {
  /** How many member ids to sample (default 10), spread over the sorted members. */
  sample?: number;
}
export interface ExportOptions extends EvaluateOptions {
  /** Columns after `profile_id`: `email`, `user_id`, `phone`, `anonymous_id`,
   * `identifiers.<type>`, trait paths (`plan`, `address.city`, `traits.<path>`). */
  columns?: string[] | string;
}
export interface Evaluation { count: number; members: string[] }
export interface Preview { count: number; totalProfiles: number; sample: string[]; tookMs: number }

// ---------------------------------------------------------------- suggestions

export interface SuggestOptions {
  /** `event:NAME` (did the event within the horizon) or `trait:PATH=VALUE`. */
  goal: `event:${string}` | `trait:${string}=${string}`;
  /** The goal's window (default `30d`). */
  horizon?: DurationText;
  /** Evaluation time; default the latest event's. */
  now?: TimeInput;
  /** How many suggestions (default 5). */
  top?: number;
  /** Smallest audience worth suggesting (default 30 profiles, and at least 1% of all). */
  minProfiles?: number;
  /** The money property for high-value audiences. */
  revenue?: { event: string; property: string };
}
export interface SuggestedAudience {
  segment: SegmentDocument; size: number; reached: number; rate: number; lift: number; lift_lower: number; explanation: string;
}
export interface LifecycleAudience { kind: string; segment: SegmentDocument; size: number; explanation: string }
export interface SuggestionReport {
  now: string;
  goal: { description: string; condition: Condition; profiles: number; reached: number; rate: number };
  suggestions: SuggestedAudience[];
  lookalike: LifecycleAudience | null;
  lifecycle: LifecycleAudience[];
  candidates: number;
  hypotheses: number;
  z: number;
}

// ---------------------------------------------------------------- errors

/** Every error the engine throws: a real `Error` with a stable snake_case `code` and the JSON
 * `path` of the offending input (`""` when the whole input is at fault). */
export class TesseraError extends Error {
  readonly name: 'TesseraError';
  readonly code: string;
  readonly path: string;
  /** For request errors (`checkRequest`, `parseRequest`): every rejected message. */
  readonly errors?: Rejection[];
}

// ---------------------------------------------------------------- the engine

export interface EngineOptions { identity?: IdentitySettings }

/** A resolved profile given to `Engine.fromResolved`. */
export interface ResolvedProfile { id: string; identifiers?: { [type: string]: string[] }; traits?: JsonObject }
/** An event of `Engine.fromResolved`: `profile` is the id it belongs to (absent: no one). */
export interface ResolvedEvent {
  profile?: string;
  type?: CallType;
  event?: string;
  name?: string;
  timestamp: string;
  messageId?: string;
  properties?: JsonObject;
}

export class Engine {
  constructor(options?: EngineOptions);
  /** An engine over a snapshot (`engine.snapshot()` or `tessera snapshot`). It evaluates,
   * previews, exports `profile_id` and suggests (the same report as over the events); profiles
   * and explanations throw `needs_events`. */
  static fromSnapshot(bytes: Uint8Array): Engine;
  /** An engine over profiles resolved elsewhere (no identity resolution, no ingest). */
  static fromResolved(input: { profiles: ResolvedProfile[]; events?: ResolvedEvent[] }): Engine;

  ingest(messages: Messages, options?: FileOptions): IngestReport;
  validate(messages: Messages, options?: FileOptions): ValidationReport;
  readonly eventCount: number;
  readonly profileCount: number;
  readonly unresolvedCount: number;

  profiles(): Profile[];
  profile(id: string): Profile | null;
  profileByIdentifier(type: IdentifierType, value: string): Profile | null;
  profileIdOfMessage(messageId: string): string | null;
  explain(id: string): Explanation | null;
  deleteProfile(id: string): Deletion | null;
  removeIdentifier(type: IdentifierType, value: string): boolean;

  evaluate(definition: SegmentDefinition, options: EvaluateOptions): Evaluation;
  preview(definition: SegmentDefinition, options: PreviewOptions): Preview;
  exportCsv(definition: SegmentDefinition, options: ExportOptions): string;
  snapshot(): Uint8Array;
  suggest(options: SuggestOptions): SuggestionReport;

  /** Frees the wasm memory now instead of at garbage collection. */
  free(): void;
  [Symbol.dispose](): void;
}

// ---------------------------------------------------------------- standalone functions

export function version(): string;
/** Validates messages in file mode (as `tessera validate`). */
export function validate(messages: Messages, options?: FileOptions | boolean): ValidationReport;
/** What the edge answers to `body` posted on `path` at `receivedAt` (ms); throws the 400. */
export function checkRequest(path: string, body: string | Uint8Array, receivedAt: number): ValidationReport;
export interface ParseRequestOptions extends FileOptions {
  /** The edge's receive time; without it the body is read as a file replay. */
  receivedAt?: TimeInput;
  /** The body is declared gzip (`Content-Encoding: gzip`). */
  gzip?: boolean;
}
export function parseRequest(path: string, body: string | Uint8Array, options?: ParseRequestOptions):
  { writeKey: string | null; events: Event[]; rejected: Rejection[] };
export function parseFile(messages: Messages, options?: FileOptions & { dedup?: boolean }):
  { events: Event[]; rejected: Rejection[]; duplicates: number };

/** Meta Custom Audiences keys. */
export type MetaKey = 'EMAIL' | 'PHONE' | 'FN' | 'LN' | 'FI' | 'GEN' | 'DOBY' | 'DOBM' | 'DOBD'
  | 'CT' | 'ST' | 'ZIP' | 'COUNTRY' | 'EXTERN_ID' | 'MADID';
/** The normalized text before hashing, or `null` when nothing is left. */
export function normalizeMeta(key: MetaKey, value: string, country?: string): string | null;
/** The cell Meta receives: SHA-256 hex (EXTERN_ID, MADID: plain), `""` when nothing is left. */
export function hashMeta(key: MetaKey, value: string, country?: string): string;
export function sha256Hex(text: string): string;
/** One CSV cell before quoting, with the formula-injection guard. */
export function csvCell(value: Json | undefined): string;
/** A CSV file of these profiles: `profile_id`, then the columns. */
export function toCsv(profiles: ResolvedProfile[], columns: string[] | string): string;
/** The `X-Signature` header value of a webhook body. */
export function signWebhook(body: string, secret: string): string;
export function verifyWebhook(body: string, secret: string, header: string): boolean;
