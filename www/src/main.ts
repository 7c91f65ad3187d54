// The segment builder: sign in, load the workspace snapshot into the engine's Web Worker, then
// edit a definition with live previews evaluated in the browser.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './style.css';

import { api, downloadCsv, downloadSnapshot, session, type ApiError, type SavedSegment, type StoredEvent } from './api';
import { initDestinations, showDestinations } from './destinations';
import { $, bytes, fmt, h, ms, pct } from './dom';
import { EngineClient, Superseded } from './engine/client';
import type { EngineError, SavedMap, SegmentDoc } from './engine/protocol';
import { EMPTY_SCHEMA, type Schema } from './engine/schema';
import { conditionTypes, renderRules } from './rules';
import { initSuggest, renderGoals, suggestState } from './suggest';
import { initTheme } from './theme';

const DAY = 86_400_000;
const SAMPLE = 10;
const HISTORY_DAYS = 90;
const HISTORY_CHUNK = 10;

interface State {
  doc: SegmentDoc & { condition: unknown };
  editingId: string | null;
  saved: SavedSegment[];
  localSizes: Map<string, number>;
  schema: Schema;
  profiles: number;
  events: number;
  latestEvent: number | null;
  workspaceId: string;
  writeKey: string | null;
}

const state: State = {
  doc: blank(),
  editingId: null,
  saved: [],
  localSizes: new Map(),
  schema: EMPTY_SCHEMA,
  profiles: 0,
  events: 0,
  latestEvent: null,
  workspaceId: '',
  writeKey: null,
};
let engine: EngineClient | null = null;
let started = false;
let generation = 0;
let historyTimer: ReturnType<typeof setTimeout> | undefined;
let chart: uPlot | null = null;

/** For tests and benchmarks (bench/browser/preview.mjs): the last preview shown, engine state. */
const automation = {
  lastPreview: null as null | { generation: number; count: number; tookMs: number; shownAt: number },
  get busy(): boolean { return engine?.busy ?? false; },
  /** The last suggestion report shown and how many were run (bench/browser/suggest.mjs). */
  get suggestions() { return suggestState; },
  timings: { downloadMs: 0, loadMs: 0, snapshotBytes: 0 },
};
(window as unknown as { tesseraBuilder: typeof automation }).tesseraBuilder = automation;

function blank(): State['doc'] {
  return { name: '', condition: { and: [] } };
}

const show = (el: HTMLElement, visible: boolean) => { el.hidden = !visible; };
const errorText = (e: unknown): string => {
  const err = e as Partial<ApiError & EngineError>;
  if (err?.code) return `${err.code}${err.path ? ` at ${err.path}` : ''}: ${err.message ?? ''}`;
  return String((e as Error)?.message ?? e);
};

// ---------------------------------------------------------------- sign in and loading

function screen(which: 'login' | 'loading' | 'app'): void {
  show($('login-screen'), which === 'login');
  show($('loading-screen'), which === 'loading');
  show($('app'), which === 'app');
  show($('logout'), which !== 'login');
}

async function start(): Promise<void> {
  if (!session.key) {
    screen('login');
    $('key').focus();
    return;
  }
  screen('loading');
  show($('loading-error'), false);
  show($('loading-retry'), false);
  try {
    const ws = await api.workspace();
    state.workspaceId = ws.id;
    state.writeKey = ws.write_key ?? (await builderConfig()).writeKey;
    $('workspace').textContent = `Workspace ${ws.id}`;
    $('loading-step').textContent = 'Downloading the snapshot…';
    const bar = $<HTMLProgressElement>('loading-bar');
    const t0 = performance.now();
    const snapshot = await downloadSnapshot((got, total) => {
      if (total > 0) { bar.max = total; bar.value = got; } else bar.removeAttribute('value');
      $('loading-detail').textContent = total > 0 ? `${bytes(got)} of ${bytes(total)}` : bytes(got);
    });
    const downloadMs = performance.now() - t0;
    $('loading-step').textContent = 'Loading the engine…';
    engine ??= new EngineClient();
    const snapshotBytes = snapshot.byteLength;
    const loaded = await engine.load(snapshot);
    state.schema = loaded.schema;
    state.profiles = loaded.profiles;
    state.events = loaded.events;
    state.latestEvent = loaded.schema.latestEvent ?? null;
    renderGoals(loaded.schema);
    automation.timings = { downloadMs, loadMs: loaded.loadMs, snapshotBytes };
    $('snapshot-info').textContent = `${fmt.format(loaded.events)} events · ${fmt.format(loaded.profiles)} profiles · `
      + `snapshot ${bytes(snapshotBytes)} in ${ms(downloadMs)}, loaded in ${ms(loaded.loadMs)}`;
    screen('app');
    await refreshSegments();
    // A refresh keeps what is being edited; a first load starts empty.
    if (started) changed(true);
    else edit(null);
    started = true;
  } catch (err) {
    const e = err as ApiError;
    if (e?.status === 401 || e?.status === 403) {
      session.key = null;
      screen('login');
      const msg = $('login-error');
      msg.textContent = 'That key was not accepted: use the workspace secret key (sk_…), not a write key.';
      show(msg, true);
      return;
    }
    $('loading-error').textContent = `Could not load the workspace. ${errorText(err)}`;
    show($('loading-error'), true);
    show($('loading-retry'), true);
  }
}

/** The builder's own settings (`config.json` next to the page): the usage-analytics write key. */
async function builderConfig(): Promise<{ writeKey: string | null }> {
  try {
    const res = await fetch('config.json');
    const cfg = await res.json();
    return { writeKey: typeof cfg?.analytics?.writeKey === 'string' ? cfg.analytics.writeKey : null };
  } catch {
    return { writeKey: null };
  }
}

$('login').addEventListener('submit', async (e) => {
  e.preventDefault();
  const key = $<HTMLInputElement>('key').value.trim();
  const msg = $('login-error');
  show(msg, false);
  if (!key) { msg.textContent = 'Enter the secret key.'; show(msg, true); return; }
  $<HTMLButtonElement>('login-submit').disabled = true;
  try {
    await api.workspace(key);
    session.key = key;
    $<HTMLInputElement>('key').value = '';
    void start();
  } catch (err) {
    const st = (err as ApiError).status;
    msg.textContent = st === 401 || st === 403
      ? 'That key was not accepted: use the workspace secret key (sk_…), not a write key.'
      : `Could not reach the edge: ${errorText(err)}`;
    show(msg, true);
  } finally {
    $<HTMLButtonElement>('login-submit').disabled = false;
  }
});
$('logout').addEventListener('click', () => { session.key = null; location.reload(); });
$('loading-retry').addEventListener('click', () => void start());
// The snapshot is taken at sign-in; events that arrived since show after a refresh.
$('refresh').addEventListener('click', () => void start());

// ---------------------------------------------------------------- saved segments

async function refreshSegments(): Promise<void> {
  const err = $('segments-error');
  try {
    state.saved = await api.segments();
    show(err, false);
  } catch (e) {
    err.textContent = `Could not list segments. ${errorText(e)}`;
    show(err, true);
  }
  renderSegmentList();
  localSizes();
}

/** Sizes of the saved segments at the editor's evaluation time, from the browser's snapshot. */
function localSizes(): void {
  if (!engine || state.saved.length === 0) return;
  const saved: SavedMap = {};
  for (const s of state.saved) saved[s.id] = { id: s.id, condition: s.condition };
  engine.counts(state.saved.map((s) => ({ condition: { in_segment: s.id } })), nowIso(), saved, 'sizes').then((r) => {
    state.saved.forEach((s, i) => state.localSizes.set(s.id, r.counts[i]));
    renderSegmentList();
  }).catch(() => { /* the sizes from the API stay */ });
}

function renderSegmentList(): void {
  const list = $('segment-list');
  list.replaceChildren(...state.saved.map((s) => {
    // At the editor's evaluation time when known, so the list agrees with the preview.
    const size = state.localSizes.get(s.id) ?? (typeof s.size === 'number' ? s.size : undefined);
    return h('li', {},
      h('button', {
        type: 'button', class: 'segment-item', 'data-id': s.id, 'aria-current': s.id === state.editingId ? 'true' : null,
        title: `${s.name || s.id}: ${size === undefined ? 'size unknown' : `${fmt.format(size)} members`} as of ${nowIso()}`,
        onclick: () => edit(s.id),
      }, h('span', { class: 'seg-name' }, s.name || s.id), h('span', { class: 'seg-size' }, size === undefined ? '…' : fmt.format(size))));
  }));
  show($('segments-empty'), state.saved.length === 0);
}

function savedMap(): SavedMap {
  const map: SavedMap = {};
  for (const s of state.saved) if (s.id !== state.editingId) map[s.id] = { id: s.id, condition: s.condition };
  return map;
}

function edit(id: string | null): void {
  const seg = id ? state.saved.find((s) => s.id === id) : null;
  state.editingId = seg ? seg.id : null;
  state.doc = seg ? structuredClone({ id: seg.id, name: seg.name ?? '', condition: seg.condition }) : blank();
  // The API lists a segment without a description as `"description": null`.
  if (typeof seg?.description === 'string') state.doc.description = seg.description;
  $<HTMLInputElement>('seg-name').value = state.doc.name ?? '';
  $<HTMLInputElement>('seg-desc').value = state.doc.description ?? '';
  show($('create'), !seg);
  show($('save'), !!seg);
  show($('export'), !!seg);
  show($('delete'), !!seg);
  $('save-status').textContent = '';
  showDestinations(state.editingId);
  renderSegmentList();
  changed(true);
}

function documentToSave(): SavedSegment {
  return currentDoc() as SavedSegment;
}

$('create').addEventListener('click', () => void create());
$('save').addEventListener('click', () => void save());
$('delete').addEventListener('click', () => void remove());

async function create(): Promise<void> {
  const status = $('save-status');
  if (!state.doc.name?.trim()) {
    status.textContent = 'Give the segment a name first.';
    $('seg-name').focus();
    return;
  }
  status.textContent = 'Creating…';
  try {
    const created = await api.create(documentToSave());
    void trackCreated(created.id ?? '', state.doc.condition);
    await refreshSegments();
    edit(created.id);
    $('save-status').textContent = `Created “${created.name ?? created.id}”.`;
  } catch (e) {
    status.textContent = `Not created. ${errorText(e)}`;
  }
}

async function save(): Promise<void> {
  if (!state.editingId) return create();
  const status = $('save-status');
  status.textContent = 'Saving…';
  try {
    const doc = { ...documentToSave(), id: state.editingId };
    await api.replace(state.editingId, doc);
    const id = state.editingId;
    await refreshSegments();
    edit(id);
    $('save-status').textContent = 'Saved.';
  } catch (e) {
    status.textContent = `Not saved. ${errorText(e)}`;
  }
}

async function remove(): Promise<void> {
  const id = state.editingId;
  if (!id || !confirm(`Delete the segment “${state.doc.name || id}”? This cannot be undone.`)) return;
  try {
    await api.remove(id);
    await refreshSegments();
    edit(null);
    $('save-status').textContent = 'Deleted.';
  } catch (e) {
    $('save-status').textContent = `Not deleted. ${errorText(e)}`;
  }
}

// ---------------------------------------------------------------- product analytics

/** The builder's anonymous id, kept across sessions like analytics.js does. */
function anonymousId(): string {
  let id = localStorage.getItem('tessera.builder.anonymousId');
  if (!id) {
    id = `builder-${crypto.randomUUID()}`;
    localStorage.setItem('tessera.builder.anonymousId', id);
  }
  return id;
}

/** `Segment Created` to the workspace's own ingestion endpoint (docs/builder.md). */
async function trackCreated(segmentId: string, condition: unknown): Promise<void> {
  if (!state.writeKey) return;
  const message = {
    type: 'track',
    event: 'Segment Created',
    anonymousId: anonymousId(),
    messageId: crypto.randomUUID(),
    timestamp: new Date().toISOString(),
    properties: { segment_id: segmentId, condition_types: conditionTypes(condition), workspace: state.workspaceId },
    context: { library: { name: 'tessera-builder', version: '1' }, page: { path: location.pathname, url: location.href, title: document.title } },
  };
  try {
    await fetch('/v1/track', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Basic ${btoa(`${state.writeKey}:`)}` },
      body: JSON.stringify(message),
      keepalive: true,
    });
  } catch {
    // Usage analytics never get in the marketer's way.
  }
}

// ---------------------------------------------------------------- editor: rules and JSON

$('seg-name').addEventListener('input', (e) => { state.doc.name = (e.target as HTMLInputElement).value; changed(false, false); });
$('seg-desc').addEventListener('input', (e) => {
  const v = (e.target as HTMLInputElement).value;
  if (v) state.doc.description = v; else delete state.doc.description;
  changed(false, false);
});
$('as-of').addEventListener('input', () => { changed(false, false); localSizes(); });
$('as-of-latest').addEventListener('click', () => {
  if (state.latestEvent === null) return;
  $<HTMLInputElement>('as-of').value = new Date(state.latestEvent).toISOString().slice(0, 19);
  changed(false, false);
  localSizes();
});

function nowIso(): string {
  const v = $<HTMLInputElement>('as-of').value;
  const t = v ? Date.parse(`${v.length === 16 ? `${v}:00` : v}Z`) : Date.now();
  return new Date(Number.isNaN(t) ? Date.now() : t).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function jsonText(): string {
  const { id, name, description, condition, ...rest } = state.doc as Record<string, unknown>;
  return JSON.stringify({
    ...(id !== undefined && id !== '' ? { id } : {}), ...(name !== undefined && name !== '' ? { name } : {}),
    ...(description !== undefined ? { description } : {}), condition, ...rest,
  }, null, 2);
}

/** After any edit: re-render the rules when their shape changed, sync the JSON, preview. */
function changed(structural: boolean, rules = true): void {
  if (structural && rules) {
    renderRules($('rules'), () => state.doc.condition, (v) => { state.doc.condition = v; }, {
      schema: state.schema,
      segments: state.saved.filter((s) => s.id !== state.editingId).map((s) => ({ id: s.id, name: s.name ?? s.id })),
      errorPath: null,
      onChange: (s) => changed(s),
    });
  }
  const json = $<HTMLTextAreaElement>('json');
  if (document.activeElement !== json) json.value = jsonText();
  preview();
}

$('json').addEventListener('input', () => {
  const text = $<HTMLTextAreaElement>('json').value;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    showDefinitionError({ code: 'invalid_json', path: '', message: (e as Error).message });
    return;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    showDefinitionError({ code: 'wrong_type', path: '', message: 'a segment document is a JSON object' });
    return;
  }
  // The whole document goes to the engine, so a stray top-level key is reported too; a saved
  // segment keeps its id whatever the text says (the id is the segment's address).
  state.doc = parsed as State['doc'];
  if (state.editingId) state.doc.id = state.editingId;
  $<HTMLInputElement>('seg-name').value = typeof state.doc.name === 'string' ? state.doc.name : '';
  $<HTMLInputElement>('seg-desc').value = typeof state.doc.description === 'string' ? state.doc.description : '';
  changed(true);
});
$('json').addEventListener('blur', () => { $<HTMLTextAreaElement>('json').value = jsonText(); });

function selectTab(which: 'rules' | 'json'): void {
  const rules = which === 'rules';
  $('tab-rules').setAttribute('aria-selected', String(rules));
  $('tab-json').setAttribute('aria-selected', String(!rules));
  $('tab-rules').tabIndex = rules ? 0 : -1;
  $('tab-json').tabIndex = rules ? -1 : 0;
  show($('rules-panel'), rules);
  show($('json-panel'), !rules);
  if (!rules) $<HTMLTextAreaElement>('json').value = jsonText();
}
$('tab-rules').addEventListener('click', () => selectTab('rules'));
$('tab-json').addEventListener('click', () => selectTab('json'));
for (const id of ['tab-rules', 'tab-json']) {
  $(id).addEventListener('keydown', (e) => {
    if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
      const next = id === 'tab-rules' ? 'json' : 'rules';
      selectTab(next);
      $(`tab-${next}`).focus();
    }
  });
}

function showDefinitionError(err: EngineError | null): void {
  const box = $('definition-error');
  for (const el of $('rules').querySelectorAll('[data-error]')) {
    el.removeAttribute('data-error');
    el.removeAttribute('aria-invalid');
  }
  if (!err) { show(box, false); return; }
  // The engine's message may repeat the code and path; show them once.
  let message = err.message;
  for (const prefix of [`${err.code} at ${err.path}: `, `${err.code}: `]) if (message.startsWith(prefix)) message = message.slice(prefix.length);
  box.replaceChildren(h('strong', {}, err.code), err.path ? h('span', {}, ' at ', h('code', {}, err.path)) : '', `: ${message}`);
  show(box, true);
  if (err.path) {
    const p = err.path;
    for (const el of $('rules').querySelectorAll<HTMLElement>('[data-key]')) {
      const k = el.dataset.key ?? '';
      if (k === p || k.startsWith(`${p}#`) || k.startsWith(`${p}.`) || k.startsWith(`${p}[`)) {
        el.setAttribute('data-error', '');
        el.setAttribute('aria-invalid', 'true');
      }
    }
  }
  // Nothing shown may belong to an older definition.
  for (const id of ['count', 'share', 'took', 'matchable']) $(id).textContent = '—';
  $('matchable-detail').textContent = '';
  $('share-bar').style.width = '0';
  $('overlaps').replaceChildren();
  $('history-note').textContent = 'Fix the definition to see its history.';
  chart?.destroy();
  chart = null;
  lastChart = null;
}

// ---------------------------------------------------------------- live preview

/** The document as the engine checks it; a new segment's empty id and name are left out. */
function currentDoc(): SegmentDoc {
  const doc = structuredClone(state.doc) as Record<string, unknown>;
  if (doc.id === '' || doc.id === undefined) delete doc.id;
  if (doc.name === '' || doc.name === undefined) delete doc.name;
  return doc as SegmentDoc;
}

function preview(): void {
  if (!engine) return;
  const g = ++generation;
  const doc = currentDoc();
  const now = nowIso();
  const saved = savedMap();
  clearTimeout(historyTimer);
  engine.cancel('history');
  engine.preview(doc, now, SAMPLE, saved).then((p) => {
    if (g !== generation) return;
    showDefinitionError(null);
    $('count').textContent = fmt.format(p.count);
    $('total').textContent = fmt.format(p.totalProfiles);
    $('share').textContent = pct(p.count, p.totalProfiles);
    $('took').textContent = ms(p.tookMs);
    $('share-bar').style.width = `${p.totalProfiles ? (100 * p.count) / p.totalProfiles : 0}%`;
    renderSample(p.sample, p.count);
    automation.lastPreview = { generation: g, count: p.count, tookMs: p.tookMs, shownAt: performance.now() };
    insights(g, doc, now, saved, p.count);
    historyTimer = setTimeout(() => history(g, doc, now, saved), 250);
  }).catch((err) => {
    if (err instanceof Superseded || g !== generation) return;
    showDefinitionError(err as EngineError);
    renderSample([], 0);
  });
}

function renderSample(ids: string[], count: number): void {
  const list = $('sample');
  if (ids.length === 0) {
    list.replaceChildren(h('li', { class: 'empty' }, count === 0 ? 'No profile matches this definition yet.' : ''));
    return;
  }
  list.replaceChildren(...ids.map((id) => h('li', {},
    h('button', { type: 'button', class: 'link mono', 'data-profile': id, onclick: () => void openProfile(id) }, id))));
}

function insights(g: number, doc: SegmentDoc, now: string, saved: SavedMap, count: number): void {
  if (!engine) return;
  const others = state.saved.filter((s) => s.id !== state.editingId);
  const c = doc.condition;
  const docs: SegmentDoc[] = [
    { condition: { and: [c, { or: [{ has_identifier: 'email' }, { has_identifier: 'phone' }] }] } },
    { condition: { and: [c, { has_identifier: 'email' }] } },
    { condition: { and: [c, { has_identifier: 'phone' }] } },
    ...others.map((s) => ({ condition: { and: [c, { in_segment: s.id }] } })),
  ];
  engine.counts(docs, now, saved).then(({ counts }) => {
    if (g !== generation) return;
    const [any, email, phone, ...overlaps] = counts;
    $('matchable').textContent = `${fmt.format(any)} (${pct(any, count)})`;
    $('matchable-detail').textContent = `email ${fmt.format(email)} · phone ${fmt.format(phone)}`;
    const list = $('overlaps');
    if (others.length === 0) {
      list.replaceChildren(h('li', { class: 'empty' }, 'No other saved segments to compare with.'));
      return;
    }
    list.replaceChildren(...others.map((s, i) => {
      const size = state.localSizes.get(s.id) ?? s.size ?? 0;
      const n = overlaps[i];
      return h('li', {},
        h('span', { class: 'ov-name' }, s.name || s.id),
        h('span', { class: 'ov-count', title: `${fmt.format(n)} of this audience are also in ${s.name || s.id}` },
          `${fmt.format(n)} · ${pct(n, count)} of this · ${pct(n, size)} of theirs`),
        h('span', { class: 'ov-bar', 'aria-hidden': 'true' }, h('span', { style: `width:${count ? (100 * n) / count : 0}%` })));
    }));
  }).catch(() => { /* superseded or the same error the preview shows */ });
}

async function history(g: number, doc: SegmentDoc, now: string, saved: SavedMap): Promise<void> {
  if (!engine) return;
  const end = Date.parse(now);
  const times = Array.from({ length: HISTORY_DAYS }, (_, i) => end - (HISTORY_DAYS - 1 - i) * DAY);
  const counts: number[] = [];
  let took = 0;
  try {
    for (let i = 0; i < times.length; i += HISTORY_CHUNK) {
      const nows = times.slice(i, i + HISTORY_CHUNK).map((t) => new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z'));
      const r = await engine.history(doc, nows, saved);
      if (g !== generation) return;
      counts.push(...r.counts);
      took += r.tookMs;
      drawChart(times.slice(0, counts.length), counts);
    }
    $('history-note').textContent = `${HISTORY_DAYS} point-in-time evaluations in ${ms(took)} (${ms(took / HISTORY_DAYS)} each).`;
  } catch {
    // superseded by a newer edit
  }
}

function drawChart(times: number[], counts: number[]): void {
  lastChart = [times, counts];
  const el = $('chart');
  const data: uPlot.AlignedData = [times.map((t) => t / 1000), counts];
  const styles = getComputedStyle(document.documentElement);
  const stroke = styles.getPropertyValue('--accent').trim() || '#3b5bdb';
  const axis = styles.getPropertyValue('--muted').trim() || '#666';
  const grid = styles.getPropertyValue('--line').trim() || '#ddd';
  const width = Math.max(200, el.clientWidth);
  if (chart && el.dataset.theme === document.documentElement.dataset.theme) {
    chart.setData(data);
    return;
  }
  chart?.destroy();
  el.dataset.theme = document.documentElement.dataset.theme;
  chart = new uPlot({
    width,
    height: 160,
    legend: { show: false },
    cursor: { y: false },
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
    axes: [
      { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } },
      { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, size: 50, values: (_u, vals) => vals.map((v) => (Number.isInteger(v) ? fmt.format(v) : '')) },
    ],
    series: [{}, { label: 'members', stroke, width: 2, fill: `${stroke}22`, points: { show: false } }],
  }, data, el);
}
let lastChart: [number[], number[]] | null = null;
// Resizing keeps the chart (a full-page screenshot resizes the window too); only the width follows.
window.addEventListener('resize', () => {
  if (chart) chart.setSize({ width: Math.max(200, $('chart').clientWidth), height: 160 });
});
/** Draws the last history again, in the current theme's colours. */
function redrawChart(): void {
  chart?.destroy();
  chart = null;
  if (lastChart) drawChart(...lastChart);
}

// ---------------------------------------------------------------- profile panel

async function openProfile(id: string): Promise<void> {
  const dialog = $<HTMLDialogElement>('profile-dialog');
  const body = $('profile-body');
  $('profile-title').textContent = `Profile ${id}`;
  body.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  dialog.showModal();
  const [profile, events, explain] = await Promise.allSettled([api.profile(id), api.events(id, 50), api.explain(id)]);
  const parts: HTMLElement[] = [];
  if (profile.status === 'fulfilled') {
    const p = profile.value;
    parts.push(h('section', {}, h('h3', {}, 'Identifiers'),
      h('dl', { class: 'kv' }, Object.entries(p.identifiers ?? {}).flatMap(([k, vs]) => [h('dt', {}, k), h('dd', { class: 'mono' }, vs.join(', '))]))),
      h('p', { class: 'muted' }, `${fmt.format(p.event_count ?? 0)} events · first seen ${p.first_seen ?? '—'} · last seen ${p.last_seen ?? '—'}`));
    parts.push(h('section', {}, h('h3', {}, 'Traits'),
      Object.keys(p.traits ?? {}).length
        ? h('dl', { class: 'kv' }, Object.entries(p.traits).flatMap(([k, v]) => [h('dt', {}, k), h('dd', { class: 'mono' }, typeof v === 'string' ? v : JSON.stringify(v))]))
        : h('p', { class: 'empty' }, 'No traits.')));
  } else {
    parts.push(h('p', { class: 'error' }, `Could not load the profile. ${errorText(profile.reason)}`));
  }
  if (events.status === 'fulfilled') {
    const list = events.value.events ?? [];
    parts.push(h('section', {}, h('h3', {}, `Timeline (latest ${list.length})`),
      list.length ? h('ol', { class: 'timeline' }, list.map(eventRow)) : h('p', { class: 'empty' }, 'No events.')));
  } else {
    parts.push(h('p', { class: 'error' }, `Could not load the events. ${errorText(events.reason)}`));
  }
  if (explain.status === 'fulfilled') {
    parts.push(h('section', {}, h('h3', {}, 'Why these identifiers are one profile'), explanation(explain.value)));
  } else {
    parts.push(h('p', { class: 'error' }, `Could not load the merge explanation. ${errorText(explain.reason)}`));
  }
  body.replaceChildren(...parts);
}

function eventRow(e: StoredEvent): HTMLElement {
  const label = e.type === 'track' ? e.event : e.type === 'page' || e.type === 'screen' ? `${e.type}: ${e.name ?? e.properties?.path ?? ''}` : e.type;
  const props = e.properties && Object.keys(e.properties).length ? JSON.stringify(e.properties) : '';
  return h('li', {}, h('time', { class: 'muted mono' }, e.timestamp ?? ''), h('strong', {}, String(label ?? '')), props ? h('div', { class: 'mono small muted' }, props.slice(0, 240)) : null);
}

type Ident = { type: string; value: string };
interface Explanation {
  steps?: { message_id: string; call: string; time: string; created?: string | null; identifiers?: Ident[]; added?: Ident[]; joined?: Ident | null; merged?: string[]; into: string }[];
  blocked?: { message_id: string; call: string; time: string; dropped: Ident; held_by?: string | null; over_limit?: { type: string; values: number; limit: number }[] }[];
}

/** The merge explanation in sentences, as `tessera explain` prints it. */
function explanation(x: unknown): HTMLElement {
  const e = x as Explanation;
  if (!Array.isArray(e?.steps)) return h('pre', { class: 'mono small' }, JSON.stringify(x, null, 2));
  const ids = (list: Ident[] = []) => list.map((i) => `${i.type} ${i.value}`).join(', ');
  const steps = e.steps.map((s) => {
    const through = `through ${s.call} ${s.message_id} at ${s.time}`;
    const parts: string[] = [];
    if (s.created) parts.push(`${ids(s.identifiers)} created the profile ${through}`);
    else if (s.added?.length) parts.push(`${ids(s.added)} joined ${s.joined ? `${s.joined.type} ${s.joined.value}` : s.into} ${through}`);
    if (s.merged?.length) parts.push(`profile ${s.merged.join(', ')} merged into ${s.into} (the event carried ${ids(s.identifiers)}) ${through}`);
    return h('li', {}, parts.join('; '));
  });
  const blocked = (e.blocked ?? []).map((b) => h('li', {},
    `${b.dropped.type} ${b.dropped.value}${b.held_by ? ` (held by ${b.held_by})` : ''} was kept out of ${b.call} ${b.message_id} at ${b.time}: joining would give `
    + (b.over_limit ?? []).map((o) => `${o.type} ${o.values} values (limit ${o.limit})`).join(', ')));
  return h('div', {},
    steps.length ? h('ol', { class: 'explain' }, steps) : h('p', { class: 'empty' }, 'No joins recorded.'),
    h('h4', {}, 'Blocked merges'),
    blocked.length ? h('ul', { class: 'explain' }, blocked) : h('p', { class: 'empty' }, 'None.'));
}

for (const d of document.querySelectorAll('dialog')) {
  d.querySelector('[data-close]')?.addEventListener('click', () => d.close());
  d.addEventListener('click', (e) => { if (e.target === d) d.close(); });
}

// ---------------------------------------------------------------- export

$('export').addEventListener('click', () => {
  const box = $('export-columns');
  const ids = state.schema.identifiers.map((i) => i.type);
  const traits = state.schema.traits.map((t) => t.path).filter((p) => !ids.includes(p));
  const defaults = new Set(['user_id', 'email', 'phone']);
  const option = (name: string, group: string) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', name: 'column', value: name, checked: group === 'id' && defaults.has(name) }), name);
  box.replaceChildren(
    h('legend', {}, 'Columns (profile_id is always first)'),
    h('div', { class: 'col-group' }, h('h3', {}, 'Identifiers'), ids.length ? ids.map((n) => option(n, 'id')) : h('p', { class: 'empty' }, 'None in this snapshot.')),
    h('div', { class: 'col-group' }, h('h3', {}, 'Traits'), traits.length ? traits.map((n) => option(n, 'trait')) : h('p', { class: 'empty' }, 'None in this snapshot.')));
  show($('export-error'), false);
  $('export-status').textContent = '';
  $<HTMLDialogElement>('export-dialog').showModal();
});

$('export-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const id = state.editingId;
  if (!id) return;
  const columns = [...$('export-columns').querySelectorAll<HTMLInputElement>('input[name=column]:checked')].map((c) => c.value);
  const status = $('export-status');
  status.textContent = 'Exporting…';
  show($('export-error'), false);
  try {
    const got = await downloadCsv(id, columns, $<HTMLInputElement>('as-of').value ? nowIso() : undefined);
    status.textContent = `Downloaded ${got.filename} (${bytes(got.bytes)}).`;
  } catch (err) {
    status.textContent = '';
    $('export-error').textContent = `Export failed. ${errorText(err)}`;
    show($('export-error'), true);
  }
});

// ---------------------------------------------------------------- keyboard

document.addEventListener('keydown', (e) => {
  if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 's' && !$('app').hidden) {
    e.preventDefault();
    void (state.editingId ? save() : create());
  } else if (e.altKey && e.key.toLowerCase() === 'n' && !$('app').hidden) {
    e.preventDefault();
    edit(null);
    $('seg-name').focus();
  } else if (e.altKey && e.key.toLowerCase() === 'j' && !$('app').hidden) {
    e.preventDefault();
    selectTab($('json-panel').hidden ? 'json' : 'rules');
  }
});
$('new-segment').addEventListener('click', () => { edit(null); $('seg-name').focus(); });

// ---------------------------------------------------------------- suggestions

/** A suggested audience into the editor as a new segment, evaluated at the suggestion's time so
 * the preview counts what the suggestion counted. */
function openSuggested(doc: SegmentDoc, now: string): void {
  edit(null);
  state.doc = { ...structuredClone(doc), condition: doc.condition };
  $<HTMLInputElement>('seg-name').value = state.doc.name ?? '';
  $<HTMLInputElement>('seg-desc').value = state.doc.description ?? '';
  $<HTMLInputElement>('as-of').value = now.slice(0, 19);
  changed(true);
  localSizes();
  $('save-status').textContent = `Opened the suggestion, evaluated as of ${now}. Name it and press Create segment to keep it.`;
  $('editor').scrollIntoView({ block: 'start' });
  $('seg-name').focus();
}

initSuggest({ engine: () => engine, schema: () => state.schema, now: nowIso, open: openSuggested });
initTheme(redrawChart);
initDestinations();
void start();
