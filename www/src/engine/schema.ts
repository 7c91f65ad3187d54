// What a snapshot holds, for the builder's pickers: event names per call, property and trait
// paths with a few of their string values, identifier types. Read straight from the snapshot
// bytes (format 2, src/segment/snapshot.rs) in the Web Worker; an unknown format gives an empty
// schema, never an error, because evaluation does not depend on it.

export interface EventKind { call: string; name: string | null; count: number }
export interface Path { path: string; entries: number; values: string[] }
export interface IdentifierType { type: string; profiles: number }
export interface Schema {
  events: EventKind[];
  properties: Path[];
  traits: Path[];
  identifiers: IdentifierType[];
  /** Time of the newest event (ms since the epoch), `null` when there is none. */
  latestEvent?: number | null;
}

export const EMPTY_SCHEMA: Schema = { events: [], properties: [], traits: [], identifiers: [] };

const CALLS = ['track', 'identify', 'page', 'screen', 'group', 'alias'];
/** The snapshot format this reader follows (`SNAPSHOT_VERSION` in src/segment/snapshot.rs). */
const SNAPSHOT_FORMAT = 2;
const MAX_VALUES = 40;

class Reader {
  pos: number;
  constructor(private readonly data: Uint8Array, start: number, private readonly end: number) {
    this.pos = start;
  }
  varint(): number {
    let x = 0;
    let scale = 1;
    for (;;) {
      if (this.pos >= this.end) throw new Error('snapshot ends early');
      const b = this.data[this.pos++];
      x += (b & 0x7f) * scale;
      if (b < 0x80) return x;
      scale *= 128;
    }
  }
  skipVarints(n: number): void {
    const { data, end } = this;
    let pos = this.pos;
    for (let i = 0; i < n; i++) {
      while (pos < end && data[pos] >= 0x80) pos++;
      pos++;
    }
    if (pos > end) throw new Error('snapshot ends early');
    this.pos = pos;
  }
  bytes(): Uint8Array {
    const len = this.varint();
    if (this.pos + len > this.end) throw new Error('snapshot ends early');
    const out = this.data.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
}

const text = new TextDecoder();

function columns(r: Reader): Path[] {
  const out: Path[] = [];
  const n = r.varint();
  for (let i = 0; i < n; i++) {
    const path = text.decode(r.bytes());
    const entries = r.varint();
    r.bytes();
    const strings = r.varint();
    const values: string[] = [];
    for (let s = 0; s < strings; s++) {
      const b = r.bytes();
      if (values.length < MAX_VALUES) values.push(text.decode(b));
    }
    r.skipVarints(r.varint());
    r.bytes();
    out.push({ path, entries, values });
  }
  return out.sort((a, b) => b.entries - a.entries || a.path.localeCompare(b.path));
}

/** The schema of snapshot `bytes`, or the empty schema when it is not format 2. */
export function readSchema(bytes: Uint8Array): Schema {
  if (bytes.length < 24 || text.decode(bytes.subarray(0, 5)) !== 'TSNAP') return EMPTY_SCHEMA;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(8, true) !== SNAPSHOT_FORMAT) return EMPTY_SCHEMA;
  try {
    const r = new Reader(bytes, 20, bytes.length - 4);
    const times = r.varint();
    let time = 0;
    let latestEvent: number | null = null;
    for (let i = 0; i < times; i++) {
      const z = r.varint();
      time += z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      if (latestEvent === null || time > latestEvent) latestEvent = time;
    }
    const profiles = r.varint();
    for (let i = 0; i < profiles; i++) {
      r.bytes();
      r.varint();
    }
    const events: EventKind[] = [];
    const kinds = r.varint();
    for (let i = 0; i < kinds; i++) {
      const call = CALLS[r.varint()] ?? 'track';
      const name = r.varint() === 1 ? text.decode(r.bytes()) : null;
      const count = r.varint();
      r.skipVarints(count); // the rows, in time order
      events.push({ call, name, count });
    }
    const properties = columns(r);
    const traits = columns(r);
    const identifiers: IdentifierType[] = [];
    const types = r.varint();
    for (let i = 0; i < types; i++) {
      const type = text.decode(r.bytes());
      const n = r.varint();
      r.skipVarints(n);
      identifiers.push({ type, profiles: n });
    }
    events.sort((a, b) => b.count - a.count);
    return { events, properties, traits, identifiers, latestEvent };
  } catch {
    return EMPTY_SCHEMA;
  }
}
