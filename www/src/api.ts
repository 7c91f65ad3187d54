// The HTTP API (docs/api.md) as the builder calls it, with the secret key from the login screen.

export interface ApiError { status: number; code: string; message: string; path?: string }
export interface SavedSegment {
  id: string; name?: string; description?: string | null; condition: unknown; size?: number; updated_at?: string;
}
export interface Workspace {
  id: string; profiles: number; events: number; unresolved?: number; segments?: number; write_key?: string;
}
export interface Profile {
  id: string; identifiers: Record<string, string[]>; traits: Record<string, unknown>;
  event_count?: number; first_seen?: string; last_seen?: string; redirected_from?: string;
}
export interface StoredEvent {
  type?: string; event?: string; name?: string; timestamp?: string; messageId?: string;
  properties?: Record<string, unknown>; traits?: Record<string, unknown>; [key: string]: unknown;
}

/** A destination as the API lists it: credentials only ever come back as `"set"`. */
export interface Destination {
  id: string; segment_id: string; type: 'webhook' | 'meta'; mode: 'add' | 'mirror'; batch_size: number;
  schedule_minutes: number | null; max_attempts: number; retry_base_ms: number; created_at: string;
  next_sync_at: string | null; url?: string; secret?: string; audience_id?: string; schema?: string[];
  base_url?: string; access_token?: string;
}
export interface SyncRecord {
  id: number; trigger: string; started_at: string; finished_at: string | null; status: 'ok' | 'partial' | 'failed' | string;
  added: number; removed: number; batches: { planned: number; sent: number; acknowledged: number };
  attempts: number; last_error: string | null;
}

const KEY = 'tessera.secretKey';

export const session = {
  get key(): string | null { return sessionStorage.getItem(KEY); },
  set key(v: string | null) { if (v) sessionStorage.setItem(KEY, v); else sessionStorage.removeItem(KEY); },
};

async function failure(res: Response): Promise<ApiError> {
  let body: Partial<ApiError> = {};
  try { body = await res.json(); } catch { /* not JSON */ }
  return {
    status: res.status,
    code: body.code ?? `http_${res.status}`,
    message: body.message ?? res.statusText ?? 'request failed',
    path: body.path,
  };
}

export async function request<T>(method: string, path: string, body?: unknown, key = session.key): Promise<T> {
  const headers: Record<string, string> = {};
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw { status: 0, code: 'network_error', message: String((err as Error).message ?? err) } satisfies ApiError;
  }
  if (!res.ok) throw await failure(res);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

export const api = {
  workspace: (key?: string) => request<Workspace>('GET', '/v1/workspace', undefined, key ?? session.key),
  segments: () => request<{ segments: SavedSegment[] }>('GET', '/v1/segments').then((r) => r.segments ?? []),
  create: (doc: SavedSegment) => request<SavedSegment>('POST', '/v1/segments', doc),
  replace: (id: string, doc: SavedSegment) => request<SavedSegment>('PUT', `/v1/segments/${encodeURIComponent(id)}`, doc),
  remove: (id: string) => request<unknown>('DELETE', `/v1/segments/${encodeURIComponent(id)}`),
  preview: (segment: unknown, now?: string, sample = 10) =>
    request<{ count: number; total_profiles: number; sample: string[]; took_ms: number }>(
      'POST', '/v1/segments/preview', { segment, now, sample }),
  profile: (id: string) => request<Profile>('GET', `/v1/profiles/${encodeURIComponent(id)}`),
  events: (id: string, limit = 50) =>
    request<{ events: StoredEvent[]; next_before?: string | null }>('GET', `/v1/profiles/${encodeURIComponent(id)}/events?limit=${limit}`),
  explain: (id: string) => request<unknown>('GET', `/v1/profiles/${encodeURIComponent(id)}/explain`),
  destinations: (segment: string) =>
    request<{ destinations: Destination[] }>('GET', destinationsPath(segment)).then((r) => r.destinations ?? []),
  addDestination: (segment: string, body: Record<string, unknown>) => request<Destination>('POST', destinationsPath(segment), body),
  removeDestination: (segment: string, id: string) =>
    request<{ deleted: string }>('DELETE', `${destinationsPath(segment)}/${encodeURIComponent(id)}`),
  syncNow: (segment: string, id: string) => request<SyncRecord>('POST', `${destinationsPath(segment)}/${encodeURIComponent(id)}/sync`),
  syncs: (segment: string, id: string) =>
    request<{ syncs: SyncRecord[] }>('GET', `${destinationsPath(segment)}/${encodeURIComponent(id)}/syncs`).then((r) => r.syncs ?? []),
};

function destinationsPath(segment: string): string {
  return `/v1/segments/${encodeURIComponent(segment)}/destinations`;
}

/** Downloads the snapshot, reporting `(received, total)` as bytes arrive (`total` 0 when unknown). */
export async function downloadSnapshot(onProgress: (received: number, total: number) => void): Promise<ArrayBuffer> {
  const res = await fetch('/v1/snapshot', { headers: { Authorization: `Bearer ${session.key}` } });
  if (!res.ok) throw await failure(res);
  const total = Number(res.headers.get('Content-Length') ?? 0);
  if (!res.body) {
    const buf = await res.arrayBuffer();
    onProgress(buf.byteLength, buf.byteLength);
    return buf;
  }
  const reader = res.body.getReader();
  // With a known length, one buffer and no copies; otherwise chunks joined at the end.
  const chunks: Uint8Array[] = [];
  let into = total > 0 ? new Uint8Array(total) : null;
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (into && received + value.length <= into.length) into.set(value, received);
    else {
      if (into) { chunks.push(into.subarray(0, received)); into = null; }
      chunks.push(value);
    }
    received += value.length;
    onProgress(received, total);
  }
  if (into && received === into.length) return into.buffer;
  const out = new Uint8Array(received);
  let at = 0;
  for (const c of into ? [into.subarray(0, received)] : chunks) { out.set(c, at); at += c.length; }
  return out.buffer;
}

/** Fetches the audience CSV with the secret key and hands it to the browser as a download. */
export async function downloadCsv(id: string, columns: string[], now?: string): Promise<{ bytes: number; filename: string }> {
  const q = new URLSearchParams({ columns: columns.join(',') });
  if (now) q.set('now', now);
  const res = await fetch(`/v1/segments/${encodeURIComponent(id)}/export.csv?${q}`, {
    headers: { Authorization: `Bearer ${session.key}` },
  });
  if (!res.ok) throw await failure(res);
  const blob = await res.blob();
  const filename = `${id}.csv`;
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return { bytes: blob.size, filename };
}
