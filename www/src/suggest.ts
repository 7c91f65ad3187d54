// "Suggest audiences": pick a goal and a horizon; the engine worker finds the audiences whose
// goal rate stands out (and the lifecycle audiences) from the loaded snapshot, off the main
// thread. Each comes as an editable definition that "Open in builder" puts into the editor.
import { $, fmt, h, ms, pct } from './dom';
import { Superseded, type EngineClient } from './engine/client';
import type { EngineError, ReadyAudience, SegmentDoc, SuggestedAudience, Suggestions } from './engine/protocol';
import type { Schema } from './engine/schema';

/** Trait paths with at most this many distinct text values are offered as goals. */
const MAX_GOAL_VALUES = 12;

export interface SuggestHost {
  engine(): EngineClient | null;
  schema(): Schema;
  /** The editor's evaluation time (RFC 3339). */
  now(): string;
  /** Loads `doc` into the editor, evaluated at `now` (the time the suggestion was computed at). */
  open(doc: SegmentDoc, now: string): void;
}

/** The last report shown, for tests and benchmarks (bench/browser/suggest.mjs). */
export const suggestState = { last: null as Suggestions | null, runs: 0 };

let host: SuggestHost;

export function initSuggest(h0: SuggestHost): void {
  host = h0;
  $('suggest-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void run();
  });
  document.addEventListener('keydown', (e) => {
    if (e.altKey && e.key.toLowerCase() === 'g' && !$('app').hidden) {
      e.preventDefault();
      $('suggest').scrollIntoView({ block: 'nearest' });
      $('suggest-goal').focus();
    }
  });
}

/** Fills the goal picker from the snapshot: track events by frequency, then trait values. */
export function renderGoals(schema: Schema): void {
  const select = $<HTMLSelectElement>('suggest-goal');
  const previous = select.value;
  const events = schema.events.filter((k) => k.call === 'track' && k.name).map((k) => k.name as string);
  const traits = schema.traits
    .filter((t) => t.values.length > 0 && t.values.length <= MAX_GOAL_VALUES && !t.path.includes('.'))
    .flatMap((t) => t.values.map((v) => ({ path: t.path, value: v })));
  const options: HTMLElement[] = [];
  if (events.length) {
    options.push(h('optgroup', { label: 'Did the event' }, events.map((n) => h('option', { value: `event:${n}` }, n))));
  }
  if (traits.length) {
    options.push(h('optgroup', { label: 'Has the trait' },
      traits.map((t) => h('option', { value: `trait:${t.path}=${t.value}` }, `${t.path} = ${t.value}`))));
  }
  select.replaceChildren(...options);
  const values = [...select.options].map((o) => o.value);
  const preferred = [previous, 'event:Order Completed', values[0]].find((v) => v && values.includes(v));
  if (preferred) select.value = preferred;
  const none = values.length === 0;
  select.disabled = none;
  $<HTMLButtonElement>('suggest-run').disabled = none;
  $('suggest-status').textContent = none ? 'This snapshot has no track events or categorical traits to set a goal with.' : '';
  if (none) $('suggest-results').replaceChildren();
}

async function run(): Promise<void> {
  const engine = host.engine();
  const goal = $<HTMLSelectElement>('suggest-goal').value;
  if (!engine || !goal) return;
  const horizon = $<HTMLSelectElement>('suggest-horizon').value;
  const now = host.now();
  const button = $<HTMLButtonElement>('suggest-run');
  const results = $('suggest-results');
  const status = $('suggest-status');
  const error = $('suggest-error');
  error.hidden = true;
  button.disabled = true;
  results.setAttribute('aria-busy', 'true');
  results.classList.add('busy');
  status.textContent = 'Finding audiences… every candidate is evaluated on the snapshot in your browser.';
  try {
    const report = await engine.suggest(goal, horizon, now);
    suggestState.last = report;
    suggestState.runs++;
    status.textContent = `${report.goal.description}: reached by ${fmt.format(report.goal.reached)} of `
      + `${fmt.format(report.goal.profiles)} profiles (${pct(report.goal.reached, report.goal.profiles)}) as of ${report.now}. `
      + `${fmt.format(report.candidates)} conditions tried in ${ms(report.tookMs)}.`;
    results.replaceChildren(...render(report));
  } catch (err) {
    if (err instanceof Superseded) return;
    const e = err as Partial<EngineError>;
    status.textContent = '';
    error.replaceChildren(h('strong', {}, e.code ?? 'error'), e.path ? h('span', {}, ' at ', h('code', {}, e.path)) : '',
      `: ${e.message ?? String(err)}`);
    error.hidden = false;
    results.replaceChildren();
  } finally {
    button.disabled = false;
    results.setAttribute('aria-busy', 'false');
    results.classList.remove('busy');
  }
}

function render(report: Suggestions): HTMLElement[] {
  const out: HTMLElement[] = [];
  const total = report.goal.profiles;
  if (report.goal.reached === 0) {
    out.push(h('p', { class: 'empty' }, `Nobody reached ${report.goal.description} within the horizon as of ${report.now}: `
      + 'there is nothing to learn from. Try a longer horizon, another goal, or a later “Evaluate as of”.'));
  } else if (report.suggestions.length === 0) {
    out.push(h('p', { class: 'empty' }, `No audience stands out with confidence for ${report.goal.description}: `
      + 'no behaviour or trait in this data raises the goal rate by more than chance would.'));
  } else {
    out.push(h('h3', {}, 'Audiences that reach the goal more often'),
      h('ol', { class: 'sugg-list', id: 'suggestions' }, report.suggestions.map((s, i) => suggestion(s, i, report, total))));
  }
  const ready = [...(report.lookalike ? [report.lookalike] : []), ...report.lifecycle];
  if (ready.length) {
    out.push(h('h3', {}, 'Lookalikes and lifecycle'),
      h('ul', { class: 'sugg-list', id: 'lifecycle' }, ready.map((a) => readyAudience(a, report, total))));
  }
  return out;
}

function suggestion(s: SuggestedAudience, i: number, report: Suggestions, total: number): HTMLElement {
  return h('li', { class: 'sugg', 'data-suggestion': i },
    h('div', { class: 'sugg-head' },
      h('strong', { class: 'sugg-name' }, s.segment.name),
      h('span', { class: 'sugg-lift', title: `At least ${s.lift_lower.toFixed(2)}× with 95% confidence` }, `${s.lift.toFixed(1)}× lift`)),
    h('p', { class: 'small muted sugg-why' }, s.explanation),
    h('div', { class: 'sugg-foot' },
      h('span', { class: 'sugg-size' }, h('span', { 'data-size': '' }, fmt.format(s.size)), ` profiles (${pct(s.size, total)})`),
      h('span', { class: 'small' }, `goal rate ${pct(s.reached, s.size)} vs ${pct(report.goal.reached, total)} overall`),
      openButton(s.segment, report.now, s.segment.name)));
}

function readyAudience(a: ReadyAudience, report: Suggestions, total: number): HTMLElement {
  return h('li', { class: 'sugg', 'data-kind': a.kind },
    h('div', { class: 'sugg-head' }, h('strong', { class: 'sugg-name' }, a.segment.name),
      h('span', { class: 'sugg-kind small muted' }, a.kind.replace('_', ' '))),
    h('p', { class: 'small muted sugg-why' }, a.explanation),
    h('div', { class: 'sugg-foot' },
      h('span', { class: 'sugg-size' }, h('span', { 'data-size': '' }, fmt.format(a.size)), ` profiles (${pct(a.size, total)})`),
      openButton(a.segment, report.now, a.segment.name)));
}

function openButton(segment: SegmentDoc & { name?: string }, now: string, name = 'this audience'): HTMLElement {
  return h('button', {
    type: 'button', class: 'sugg-open', 'aria-label': `Open “${name}” in the builder`,
    onclick: () => {
      // A suggestion is a starting point: a new, unsaved definition without the suggestion's id.
      const { id: _id, ...doc } = structuredClone(segment) as SegmentDoc & { id?: string };
      host.open(doc, now);
    },
  }, 'Open in builder');
}
