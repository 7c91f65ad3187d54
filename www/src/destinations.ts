// The Destinations panel of a saved segment: add a webhook or Meta Custom Audience destination,
// list them (credentials only as "set"), sync now, see each one's sync history, delete.
import { api, type ApiError, type Destination, type SyncRecord } from './api';
import { $, fmt, h } from './dom';

/** Meta's match keys, in the order the API documents them; the first four are ticked by default. */
const META_KEYS = ['EMAIL', 'PHONE', 'FN', 'LN', 'FI', 'GEN', 'DOBY', 'DOBM', 'DOBD', 'CT', 'ST', 'ZIP', 'COUNTRY', 'EXTERN_ID', 'MADID'];
const META_DEFAULT = new Set(['EMAIL', 'PHONE', 'FN', 'LN']);
const HISTORY_SHOWN = 10;

let segmentId: string | null = null;
// A later segment selection makes the answers for an earlier one stale.
let generation = 0;
const busy = new Set<string>();

const show = (el: HTMLElement, visible: boolean) => { el.hidden = !visible; };
const errorText = (e: unknown): string => {
  const err = e as Partial<ApiError>;
  if (err?.code) return `${err.code}${err.path ? ` at ${err.path}` : ''}: ${err.message ?? ''}`;
  return String((e as Error)?.message ?? e);
};
const when = (iso: string | null | undefined): string => (iso ? iso.replace('T', ' ').replace(/(\.\d+)?Z$/, '') : '—');

/** Wires the form once; call before the first `showDestinations`. */
export function initDestinations(): void {
  $('dest-schema').replaceChildren(
    h('legend', { class: 'sr-only' }, 'Match keys sent to Meta'),
    ...META_KEYS.map((k) => h('label', { class: 'check' },
      h('input', { type: 'checkbox', name: 'schema', value: k, checked: META_DEFAULT.has(k) }), k)));
  $('dest-type').addEventListener('change', typeChanged);
  $('dest-form').addEventListener('submit', (e) => { e.preventDefault(); void add(); });
  typeChanged();
}

function typeChanged(): void {
  const type = $<HTMLSelectElement>('dest-type').value;
  for (const el of $('dest-form').querySelectorAll<HTMLElement>('[data-for]')) show(el, el.dataset.for === type);
}

/** Shows the panel for a saved segment, or hides it (`null`: a new, unsaved definition). */
export function showDestinations(id: string | null): void {
  segmentId = id;
  const g = ++generation;
  show($('destinations'), id !== null);
  $('dest-status').textContent = '';
  show($('dest-form-error'), false);
  if (!id) return;
  $('dest-list').replaceChildren();
  show($('dest-empty'), false);
  void load(g);
}

async function load(g = generation): Promise<void> {
  const id = segmentId;
  if (!id) return;
  const err = $('dest-error');
  try {
    const list = await api.destinations(id);
    const histories = await Promise.all(list.map((d) => api.syncs(id, d.id).catch((e) => e as ApiError)));
    if (g !== generation) return;
    show(err, false);
    $('dest-list').replaceChildren(...list.map((d, i) => card(id, d, histories[i])));
    show($('dest-empty'), list.length === 0);
  } catch (e) {
    if (g !== generation) return;
    err.textContent = `Could not list the destinations. ${errorText(e)}`;
    show(err, true);
  }
}

function card(segment: string, d: Destination, history: SyncRecord[] | ApiError): HTMLElement {
  const where = d.type === 'webhook' ? d.url ?? '' : `audience ${d.audience_id ?? ''}`;
  const settings: [string, string][] = d.type === 'webhook'
    ? [['URL', d.url ?? '—'], ['Secret', d.secret ?? '—']]
    : [['Audience ID', d.audience_id ?? '—'], ['Access token', d.access_token ?? '—'], ['Match keys', (d.schema ?? []).join(', ')]];
  settings.push(['Mode', d.mode], ['Batch size', fmt.format(d.batch_size)]);
  if (d.schedule_minutes) settings.push(['Schedule', `every ${d.schedule_minutes} min, next ${when(d.next_sync_at)} UTC`]);
  const status = h('span', { class: 'muted', role: 'status' });
  const syncBtn = h('button', { type: 'button', class: 'primary', 'data-action': 'sync', disabled: busy.has(d.id) },
    busy.has(d.id) ? 'Syncing…' : 'Sync now');
  syncBtn.setAttribute('aria-label', `Sync now: ${where}`);
  const del = h('button', { type: 'button', class: 'danger', 'data-action': 'delete', 'aria-label': `Delete destination ${where}` }, 'Delete');
  syncBtn.addEventListener('click', () => void syncNow(segment, d, syncBtn, status));
  del.addEventListener('click', () => void remove(segment, d, where, status));
  return h('li', { class: 'dest', 'data-id': d.id },
    h('div', { class: 'dest-head' },
      h('span', { class: 'badge' }, d.type === 'webhook' ? 'Webhook' : 'Meta'),
      h('span', { class: 'dest-where mono', title: where }, where),
      h('span', { class: 'badge soft' }, d.mode)),
    h('dl', { class: 'kv small' }, settings.flatMap(([k, v]) => [h('dt', {}, k), h('dd', { class: k === 'Secret' || k === 'Access token' ? 'set' : null }, v)])),
    h('div', { class: 'actions' }, syncBtn, del, status),
    h('h4', {}, 'Sync history'),
    historyTable(history));
}

function historyTable(history: SyncRecord[] | ApiError): HTMLElement {
  if (!Array.isArray(history)) return h('p', { class: 'error' }, `Could not load the history. ${errorText(history)}`);
  if (history.length === 0) return h('p', { class: 'empty' }, 'No syncs yet. Press Sync now to send the audience.');
  const head = ['Status', 'Trigger', 'Added', 'Removed', 'Batches', 'Attempts', 'Started (UTC)', 'Finished (UTC)', 'Last error'];
  return h('div', { class: 'table-wrap' }, h('table', { class: 'syncs' },
    h('caption', { class: 'sr-only' }, `Latest ${Math.min(history.length, HISTORY_SHOWN)} syncs, newest first`),
    h('thead', {}, h('tr', {}, head.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, history.slice(0, HISTORY_SHOWN).map((s) => h('tr', { 'data-sync': s.id, 'data-status': s.status },
      h('td', {}, h('span', { class: `sync-status ${s.status}` }, s.status)),
      h('td', {}, s.trigger),
      h('td', { class: 'num', 'data-col': 'added' }, fmt.format(s.added)),
      h('td', { class: 'num', 'data-col': 'removed' }, fmt.format(s.removed)),
      h('td', { class: 'num', title: 'acknowledged / sent / planned' },
        `${s.batches.acknowledged} / ${s.batches.sent} / ${s.batches.planned}`),
      h('td', { class: 'num' }, fmt.format(s.attempts)),
      h('td', { class: 'mono' }, when(s.started_at)),
      h('td', { class: 'mono' }, s.finished_at ? when(s.finished_at) : 'running'),
      h('td', { class: 'last-error' }, s.last_error ?? '—'))))));
}

async function syncNow(segment: string, d: Destination, btn: HTMLButtonElement, status: HTMLElement): Promise<void> {
  busy.add(d.id);
  btn.disabled = true;
  btn.textContent = 'Syncing…';
  status.textContent = 'Sending the audience…';
  try {
    const record = await api.syncNow(segment, d.id);
    busy.delete(d.id);
    if (segment !== segmentId) return;
    await load();
    announce(`Sync ${record.status}: ${fmt.format(record.added)} added, ${fmt.format(record.removed)} removed.`);
  } catch (e) {
    busy.delete(d.id);
    btn.disabled = false;
    btn.textContent = 'Sync now';
    status.textContent = (e as ApiError).code === 'sync_in_progress'
      ? 'A sync of this destination is already running; try again when it is done.'
      : `Sync failed. ${errorText(e)}`;
  }
}

async function remove(segment: string, d: Destination, where: string, status: HTMLElement): Promise<void> {
  if (!confirm(`Delete the destination ${where}? Its sync history goes with it; nothing is removed at the destination.`)) return;
  try {
    await api.removeDestination(segment, d.id);
    if (segment !== segmentId) return;
    await load();
    announce('Destination deleted.');
  } catch (e) {
    status.textContent = `Not deleted. ${errorText(e)}`;
  }
}

function announce(text: string): void {
  $('dest-status').textContent = text;
}

async function add(): Promise<void> {
  const segment = segmentId;
  if (!segment) return;
  const box = $('dest-form-error');
  show(box, false);
  const type = $<HTMLSelectElement>('dest-type').value;
  const body: Record<string, unknown> = { type, mode: $<HTMLSelectElement>('dest-mode').value };
  const fields: [string, string][] = type === 'webhook'
    ? [['url', 'dest-url'], ['secret', 'dest-secret']]
    : [['audience_id', 'dest-audience'], ['access_token', 'dest-token']];
  for (const [key, id] of fields) {
    const input = $<HTMLInputElement>(id);
    input.removeAttribute('aria-invalid');
    body[key] = input.value.trim();
  }
  if (type === 'meta') {
    body.schema = [...$('dest-schema').querySelectorAll<HTMLInputElement>('input[name=schema]:checked')].map((c) => c.value);
  }
  const missing = fields.find(([key]) => !body[key]);
  if (missing) return fail({ status: 0, code: 'missing_field', path: missing[0], message: `${missing[0]} is required` });
  if (type === 'meta' && (body.schema as string[]).length === 0) {
    return fail({ status: 0, code: 'missing_field', path: 'schema', message: 'tick at least one match key' });
  }
  const button = $<HTMLButtonElement>('dest-add');
  button.disabled = true;
  announce('Adding…');
  try {
    await api.addDestination(segment, body);
    for (const [, id] of fields) $<HTMLInputElement>(id).value = '';
    if (segment !== segmentId) return;
    await load();
    announce('Destination added. Press Sync now to send the audience.');
  } catch (e) {
    fail(e as ApiError);
  } finally {
    button.disabled = false;
  }

  function fail(err: ApiError): void {
    announce('');
    box.textContent = `Not added. ${errorText(err)}`;
    show(box, true);
    const input = ({ url: 'dest-url', secret: 'dest-secret', audience_id: 'dest-audience', access_token: 'dest-token' } as Record<string, string>)[err.path ?? ''];
    if (input) {
      $(input).setAttribute('aria-invalid', 'true');
      $(input).focus();
    }
  }
}
