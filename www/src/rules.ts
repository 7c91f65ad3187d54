// The rule builder: a form for every condition of the segment language (segments.md), editing
// the definition JSON in place. Value edits mutate the JSON and report `onChange(false)`; edits
// that change the form's shape (a new condition, another operator) replace a node and report
// `onChange(true)`, after which the caller renders the tree again (focus is kept by `data-key`).
import { h } from './dom';
import type { Schema } from './engine/schema';

type Json = unknown;
type Obj = Record<string, Json>;
type Set = (value: Json) => void;

export interface RuleContext {
  schema: Schema;
  /** Saved segments `in_segment` may name (the edited one excluded). */
  segments: { id: string; name: string }[];
  /** The definition error's path (`condition.and[1].op`), to mark the field at fault. */
  errorPath: string | null;
  onChange(structural: boolean): void;
}

const TRAIT_OPS = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'between', 'in', 'not_in', 'contains', 'not_contains',
  'starts_with', 'ends_with', 'exists', 'not_exists', 'before', 'after'];
const OP_LABELS: Record<string, string> = {
  eq: 'is', neq: 'is not', gt: '>', gte: '≥', lt: '<', lte: '≤', between: 'between', in: 'is one of',
  not_in: 'is none of', contains: 'contains', not_contains: 'does not contain', starts_with: 'starts with',
  ends_with: 'ends with', exists: 'exists', not_exists: 'does not exist', before: 'is before', after: 'is after',
};
const CMP_OPS = ['gte', 'gt', 'eq', 'neq', 'lt', 'lte', 'between'];
const AGGREGATES = ['count', 'sum', 'avg', 'min', 'max'];
const STRING_OPS = new Set(['eq', 'neq', 'in', 'not_in', 'contains', 'not_contains', 'starts_with', 'ends_with']);
const NUMERIC = /^-?[0-9]+(\.[0-9]+)?$/;

const isObj = (v: Json): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A typed scalar from a text field: numbers and booleans as such, anything else a string. */
export function parseScalar(text: string): string | number | boolean {
  const t = text.trim();
  if (NUMERIC.test(t)) return Number(t);
  if (t === 'true' || t === 'false') return t === 'true';
  return text;
}
const showScalar = (v: Json): string => (v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** The kinds of condition a definition uses, for product analytics (`condition_types`). */
export function conditionTypes(condition: Json): string[] {
  const kinds = new Set<string>();
  const walk = (c: Json): void => {
    if (!isObj(c)) return;
    for (const k of ['and', 'or'] as const) if (Array.isArray(c[k])) { kinds.add(k); (c[k] as Json[]).forEach(walk); }
    if ('not' in c) { kinds.add('not'); walk(c.not); }
    for (const k of ['trait', 'event', 'first_seen', 'last_seen', 'in_segment', 'has_identifier']) if (k in c) kinds.add(k);
    if ('event' in c) {
      for (const k of ['where', 'within', 'between', 'followed_by', 'not_followed_by', ...AGGREGATES]) if (k in c) kinds.add(k);
    }
  };
  walk(condition);
  return [...kinds].sort();
}

/** A new condition of `kind`, filled with something sensible from the schema. */
export function newCondition(kind: string, schema: Schema, segments: { id: string }[]): Obj {
  const firstEvent = schema.events.find((e) => e.call === 'track' && e.name)?.name ?? 'Order Completed';
  switch (kind) {
    case 'trait': return { trait: schema.traits[0]?.path ?? 'plan', op: 'exists' };
    case 'event': return { event: firstEvent, within: '30d' };
    case 'sequence': {
      const has = (name: string) => schema.events.some((e) => e.call === 'track' && e.name === name);
      const first = has('Product Added') ? 'Product Added' : firstEvent;
      const then = has('Order Completed') ? 'Order Completed' : firstEvent;
      return { event: first, within: '14d', not_followed_by: { event: then, within: '1d' } };
    }
    case 'seen': return { last_seen: { before: '60d' } };
    case 'in_segment': return { in_segment: segments[0]?.id ?? '' };
    case 'has_identifier': return { has_identifier: schema.identifiers.find((i) => i.type === 'email')?.type ?? 'email' };
    case 'group': return { or: [] };
    default: return { and: [] };
  }
}

let uid = 0;
const nextId = (): string => `f${++uid}`;

/** Renders the condition `root` (read and written through `get`/`set`) into `into`. */
export function renderRules(into: HTMLElement, get: () => Json, set: Set, ctx: RuleContext): void {
  const focusKey = (document.activeElement as HTMLElement | null)?.dataset?.key;
  uid = 0;
  into.replaceChildren(datalists(ctx.schema), node(get(), set, null, 'condition', ctx));
  if (focusKey) (into.querySelector(`[data-key="${CSS.escape(focusKey)}"]`) as HTMLElement | null)?.focus();
}

function datalists(schema: Schema): HTMLElement {
  const list = (id: string, values: string[]) => h('datalist', { id }, values.map((v) => h('option', { value: v })));
  const names = (call: string) => schema.events.filter((e) => e.call === call && e.name).map((e) => e.name as string);
  return h('div', { hidden: true },
    list('dl-track', names('track')), list('dl-page', ['*', ...names('page')]), list('dl-screen', ['*', ...names('screen')]),
    list('dl-props', schema.properties.map((p) => p.path)), list('dl-traits', schema.traits.map((p) => p.path)),
    list('dl-ids', schema.identifiers.map((i) => i.type)));
}

function valuesList(schema: Schema, kind: 'traits' | 'properties', path: string): string | null {
  const col = schema[kind].find((p) => p.path === path);
  if (!col || col.values.length === 0) return null;
  return `dl-${kind}-${col.path.replace(/[^\w-]/g, '_')}`;
}

/** A labelled control; the label is visually hidden when `hide`. */
function field(label: string, control: HTMLElement, hide = true): HTMLElement {
  const id = control.id || nextId();
  control.id = id;
  return h('span', { class: 'field' }, h('label', { for: id, class: hide ? 'sr-only' : '' }, label), control);
}

function select(key: string, label: string, value: string, options: [string, string][], onchange: (v: string) => void, invalid = false): HTMLElement {
  const s = h('select', { 'data-key': key, 'aria-invalid': invalid ? 'true' : null },
    options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)));
  if (!options.some(([v]) => v === value)) s.prepend(h('option', { value, selected: true }, value));
  s.addEventListener('change', () => onchange(s.value));
  return field(label, s);
}

function input(key: string, label: string, value: string, oninput: (v: string) => void, attrs: Record<string, string> = {}, invalid = false): HTMLElement {
  const el = h('input', { 'data-key': key, value, spellcheck: 'false', autocomplete: 'off', 'aria-invalid': invalid ? 'true' : null, ...attrs });
  el.addEventListener('input', () => oninput(el.value));
  return field(label, el);
}

function iconButton(key: string, text: string, label: string, onclick: () => void, cls = 'icon'): HTMLElement {
  return h('button', { type: 'button', class: cls, 'data-key': key, 'aria-label': label, title: label, onclick: () => onclick() }, text);
}

const at = (ctx: RuleContext, path: string): boolean =>
  !!ctx.errorPath && (ctx.errorPath === path || ctx.errorPath.startsWith(`${path}.`) || ctx.errorPath.startsWith(`${path}[`));
const exactly = (ctx: RuleContext, path: string): boolean => ctx.errorPath === path;

/** One condition, with its NOT toggle and remove button. */
function node(value: Json, set: Set, remove: (() => void) | null, path: string, ctx: RuleContext): HTMLElement {
  let negated = false;
  let inner = value;
  let innerSet = set;
  let innerPath = path;
  if (isObj(value) && 'not' in value && Object.keys(value).length === 1) {
    negated = true;
    inner = value.not;
    innerSet = (v) => set({ not: v });
    innerPath = `${path}.not`;
  }
  const toggleNot = () => { set(negated ? inner : { not: value }); ctx.onChange(true); };
  const tools = h('span', { class: 'tools' },
    iconButton(`${path}#not`, negated ? 'NOT' : 'not', negated ? 'Remove NOT' : 'Negate (NOT)', toggleNot, negated ? 'toggle on' : 'toggle'),
    remove ? iconButton(`${path}#remove`, '×', 'Remove condition', () => { remove(); ctx.onChange(true); }) : null);
  const body = condition(inner, innerSet, innerPath, ctx);
  const kind = kindOf(inner);
  return h('div', { class: `cond cond-${kind}${negated ? ' negated' : ''}${at(ctx, path) ? ' has-error' : ''}`, 'data-kind': kind },
    h('div', { class: 'cond-head' }, h('span', { class: 'kind' }, negated ? `NOT ${KIND_LABELS[kind]}` : KIND_LABELS[kind]), tools),
    body);
}

const KIND_LABELS: Record<string, string> = {
  and: 'All of', or: 'Any of', trait: 'Trait', event: 'Event', seen: 'Activity', in_segment: 'In segment',
  has_identifier: 'Has identifier', raw: 'JSON', not: 'NOT',
};

function kindOf(c: Json): string {
  if (!isObj(c)) return 'raw';
  if (Array.isArray(c.and)) return 'and';
  if (Array.isArray(c.or)) return 'or';
  if ('not' in c) return 'not';
  if (typeof c.trait === 'string') return 'trait';
  if (typeof c.event === 'string') return 'event';
  if (isObj(c.first_seen) || isObj(c.last_seen)) return 'seen';
  if (typeof c.in_segment === 'string') return 'in_segment';
  if (typeof c.has_identifier === 'string') return 'has_identifier';
  return 'raw';
}

function condition(c: Json, set: Set, path: string, ctx: RuleContext): HTMLElement {
  const kind = kindOf(c);
  const o = c as Obj;
  switch (kind) {
    case 'and': case 'or': return group(o, kind, set, path, ctx);
    case 'not': return node(o.not, (v) => set({ not: v }), null, `${path}.not`, ctx);
    case 'trait': return filter(o, 'trait', path, ctx);
    case 'event': return eventCondition(o, path, ctx);
    case 'seen': return seen(o, set, path, ctx);
    case 'in_segment':
      return h('div', { class: 'row' }, 'Member of',
        select(`${path}.in_segment`, 'Saved segment', o.in_segment as string,
          ctx.segments.map((s) => [s.id, s.name || s.id]), (v) => { o.in_segment = v; ctx.onChange(false); }, at(ctx, `${path}.in_segment`)));
    case 'has_identifier':
      return h('div', { class: 'row' }, 'Holds an identifier of type',
        input(`${path}.has_identifier`, 'Identifier type', o.has_identifier as string, (v) => { o.has_identifier = v; ctx.onChange(false); }, { list: 'dl-ids', size: '14' }));
    default: return raw(c, set, path, ctx);
  }
}

function raw(c: Json, set: Set, path: string, ctx: RuleContext): HTMLElement {
  const ta = h('textarea', { 'data-key': `${path}#raw`, rows: 3, spellcheck: 'false', class: 'mono' }, JSON.stringify(c));
  ta.addEventListener('input', () => {
    try { set(JSON.parse(ta.value)); ta.removeAttribute('aria-invalid'); ctx.onChange(false); } catch { ta.setAttribute('aria-invalid', 'true'); }
  });
  ta.addEventListener('change', () => ctx.onChange(true));
  return h('div', { class: 'row' }, field('Condition JSON', ta));
}

const ADD: [string, string][] = [
  ['trait', 'Trait'], ['event', 'Event'], ['sequence', 'Sequence'], ['seen', 'First/last seen'],
  ['in_segment', 'In segment'], ['has_identifier', 'Has identifier'], ['group', 'Group'],
];

function group(o: Obj, kind: 'and' | 'or', set: Set, path: string, ctx: RuleContext): HTMLElement {
  const items = o[kind] as Json[];
  const children = items.map((child, i) =>
    h('li', {}, node(child, (v) => { items[i] = v; }, () => { items.splice(i, 1); }, `${path}.${kind}[${i}]`, ctx)));
  const add = (what: string) => { items.push(newCondition(what, ctx.schema, ctx.segments)); ctx.onChange(true); };
  return h('div', { class: 'group' },
    h('div', { class: 'row' },
      select(`${path}#match`, 'Match', kind, [['and', 'All of these hold (AND)'], ['or', 'Any of these holds (OR)']],
        (v) => { set({ [v]: items }); ctx.onChange(true); })),
    items.length ? h('ol', { class: 'children' }, children)
      : h('p', { class: 'empty' }, kind === 'and' ? 'No conditions: every profile matches.' : 'No conditions: no profile matches.'),
    h('div', { class: 'add', role: 'group', 'aria-label': 'Add a condition' }, h('span', { class: 'muted' }, 'Add'),
      ADD.map(([what, label]) => h('button', { type: 'button', class: 'add-btn', 'data-add': what, 'data-key': `${path}#add-${what}`, onclick: () => add(what) }, `+ ${label}`))));
}

/** A trait condition (`key` = 'trait') or a property filter (`key` = 'property'). */
function filter(o: Obj, key: 'trait' | 'property', path: string, ctx: RuleContext): HTMLElement {
  const op = typeof o.op === 'string' ? o.op : 'eq';
  const kind = key === 'trait' ? 'traits' : 'properties';
  const row = h('div', { class: 'row' },
    input(`${path}.${key}`, key === 'trait' ? 'Trait path' : 'Property path', String(o[key] ?? ''),
      (v) => { o[key] = v; ctx.onChange(false); }, { list: key === 'trait' ? 'dl-traits' : 'dl-props', size: '16', placeholder: key === 'trait' ? 'plan' : 'revenue' }, exactly(ctx, `${path}.${key}`)),
    select(`${path}.op`, 'Operator', op, TRAIT_OPS.map((x) => [x, OP_LABELS[x]]), (v) => { changeOp(o, v); ctx.onChange(true); }, exactly(ctx, `${path}.op`)),
    valueEditor(o, op, path, ctx, valuesList(ctx.schema, kind, String(o[key] ?? ''))));
  if (STRING_OPS.has(op)) {
    const cb = h('input', { type: 'checkbox', 'data-key': `${path}.ignore_case`, checked: o.ignore_case === true });
    cb.addEventListener('change', () => { if (cb.checked) o.ignore_case = true; else delete o.ignore_case; ctx.onChange(false); });
    row.append(h('label', { class: 'check' }, cb, 'ignore case'));
  }
  const list = valuesList(ctx.schema, kind, String(o[key] ?? ''));
  if (list) {
    const col = ctx.schema[kind].find((p) => p.path === o[key]);
    row.append(h('datalist', { id: list }, (col?.values ?? []).map((v) => h('option', { value: v }))));
  }
  return row;
}

function changeOp(o: Obj, op: string): void {
  const old = o.value;
  o.op = op;
  const scalar = Array.isArray(old) ? old[0] : old;
  if (op === 'exists' || op === 'not_exists') delete o.value;
  else if (op === 'between') o.value = Array.isArray(old) && old.length === 2 ? old : [typeof scalar === 'number' ? scalar : 0, 100];
  else if (op === 'in' || op === 'not_in') o.value = Array.isArray(old) ? old : scalar === undefined || scalar === '' ? [] : [scalar];
  else if (['gt', 'gte', 'lt', 'lte'].includes(op)) o.value = typeof scalar === 'number' ? scalar : 0;
  else if (op === 'before' || op === 'after') o.value = typeof scalar === 'string' && scalar ? scalar : '30d';
  else o.value = scalar ?? '';
}

function valueEditor(o: Obj, op: string, path: string, ctx: RuleContext, list: string | null): HTMLElement | null {
  const bad = at(ctx, `${path}.value`);
  const changed = () => ctx.onChange(false);
  if (op === 'exists' || op === 'not_exists') return null;
  if (op === 'between') {
    // Rendering never changes the document: the pair is written on the first edit.
    const pair = Array.isArray(o.value) ? (o.value as Json[]) : [0, 0];
    const edit = (i: number, v: string) => { pair[i] = parseScalar(v); o.value = pair; changed(); };
    return h('span', { class: 'pair' },
      input(`${path}.value[0]`, 'From', showScalar(pair[0]), (v) => edit(0, v), { inputmode: 'decimal', size: '6' }, bad),
      h('span', { class: 'muted' }, 'and'),
      input(`${path}.value[1]`, 'To', showScalar(pair[1]), (v) => edit(1, v), { inputmode: 'decimal', size: '6' }, bad));
  }
  if (op === 'in' || op === 'not_in') {
    const arr = Array.isArray(o.value) ? (o.value as Json[]) : [];
    return input(`${path}.value`, 'Values, comma separated', arr.map(showScalar).join(', '), (v) => {
      o.value = v.split(',').map((s) => s.trim()).filter((s) => s !== '').map(parseScalar);
      changed();
    }, { placeholder: 'US, CA', size: '18' }, bad);
  }
  if (['gt', 'gte', 'lt', 'lte'].includes(op)) {
    return input(`${path}.value`, 'Number', showScalar(o.value), (v) => { o.value = parseScalar(v); changed(); }, { inputmode: 'decimal', size: '8' }, bad);
  }
  if (op === 'before' || op === 'after') {
    return input(`${path}.value`, 'Duration ago or time', showScalar(o.value), (v) => { o.value = v.trim(); changed(); }, { placeholder: '30d or 2026-01-01T00:00:00Z', size: '22' }, bad);
  }
  const attrs: Record<string, string> = { placeholder: 'value', size: '16' };
  if (list) attrs.list = list;
  return input(`${path}.value`, 'Value', showScalar(o.value), (v) => { o.value = parseScalar(v); changed(); }, attrs, bad);
}

const DURATION = /^(\d+)([mhdw])$/;
const UNITS: [string, string][] = [['m', 'minutes'], ['h', 'hours'], ['d', 'days'], ['w', 'weeks']];

function duration(key: string, label: string, value: string, set: (v: string) => void, ctx: RuleContext, invalid: boolean): HTMLElement {
  const m = DURATION.exec(value) ?? [value, value.replace(/\D/g, '') || '30', 'd'];
  let n = m[1];
  let unit = m[2];
  return h('span', { class: 'pair' },
    input(`${key}#n`, `${label}: amount`, n, (v) => { n = v.trim(); set(`${n}${unit}`); ctx.onChange(false); }, { inputmode: 'numeric', size: '4' }, invalid),
    select(`${key}#unit`, `${label}: unit`, unit, UNITS, (v) => { unit = v; set(`${n}${unit}`); ctx.onChange(false); }));
}

function eventName(o: Obj, path: string, ctx: RuleContext, withCall = true): HTMLElement[] {
  const call = typeof o.call === 'string' ? o.call : 'track';
  return [
    withCall ? select(`${path}.call`, 'Call type', call, [['track', 'Track'], ['page', 'Page view'], ['screen', 'Screen view']], (v) => {
      if (v === 'track') delete o.call; else o.call = v;
      if (v !== 'track' && o.event !== '*') o.event = '*';
      ctx.onChange(true);
    }, exactly(ctx, `${path}.call`)) : h('span'),
    input(`${path}.event`, 'Event name', String(o.event ?? ''), (v) => { o.event = v; ctx.onChange(false); },
      { list: `dl-${call}`, size: '18', placeholder: call === 'track' ? 'Order Completed' : '* (any)' }, exactly(ctx, `${path}.event`)),
  ];
}

function whereList(o: Obj, path: string, ctx: RuleContext): HTMLElement {
  const where = Array.isArray(o.where) ? (o.where as Obj[]) : [];
  const rows = where.map((f, i) => h('li', { class: at(ctx, `${path}.where[${i}]`) ? 'has-error' : '' },
    h('span', { class: 'muted' }, i === 0 ? 'where' : 'and'),
    filter(f, 'property', `${path}.where[${i}]`, ctx),
    iconButton(`${path}.where[${i}]#remove`, '×', 'Remove property filter', () => {
      where.splice(i, 1);
      if (where.length === 0) delete o.where;
      ctx.onChange(true);
    })));
  return h('div', { class: 'where' },
    rows.length ? h('ol', { class: 'filters' }, rows) : null,
    h('button', { type: 'button', class: 'link', 'data-key': `${path}#add-where`, onclick: () => {
      const first = ctx.schema.properties[0]?.path ?? 'revenue';
      o.where = [...where, { property: first, op: 'exists' }];
      ctx.onChange(true);
    } }, '+ Property filter'));
}

function eventCondition(o: Obj, path: string, ctx: RuleContext): HTMLElement {
  const windowKind = 'within' in o ? 'within' : 'between' in o ? 'between' : 'all';
  const windowRow = h('div', { class: 'row' }, h('span', { class: 'muted' }, 'When'),
    select(`${path}#window`, 'Time window', windowKind, [['all', 'any time'], ['within', 'in the last'], ['between', 'between']], (v) => {
      delete o.within; delete o.between;
      if (v === 'within') o.within = '30d';
      if (v === 'between') {
        const day = 86_400_000;
        const end = new Date(Math.floor(Date.now() / day) * day);
        o.between = [new Date(end.getTime() - 30 * day).toISOString().replace('.000Z', 'Z'), end.toISOString().replace('.000Z', 'Z')];
      }
      ctx.onChange(true);
    }));
  if (windowKind === 'within') windowRow.append(duration(`${path}.within`, 'Window', String(o.within), (v) => { o.within = v; }, ctx, at(ctx, `${path}.within`)));
  if (windowKind === 'between') {
    const pair = Array.isArray(o.between) ? (o.between as string[]) : ['', ''];
    const edit = (i: number, v: string) => { pair[i] = v.trim(); o.between = pair; ctx.onChange(false); };
    windowRow.append(
      input(`${path}.between[0]`, 'From (RFC 3339)', showScalar(pair[0]), (v) => edit(0, v), { size: '20' }, at(ctx, `${path}.between`)),
      h('span', { class: 'muted' }, 'to'),
      input(`${path}.between[1]`, 'Until (RFC 3339, excluded)', showScalar(pair[1]), (v) => edit(1, v), { size: '20' }, at(ctx, `${path}.between`)));
  }

  const agg = AGGREGATES.find((a) => a in o) ?? 'count';
  const spec: Obj = isObj(o[agg]) ? (o[agg] as Obj) : { gte: 1 };
  const cmpKeys = Object.keys(spec).filter((k) => k !== 'property');
  const cmp = cmpKeys[0] ?? 'gte';
  const aggRow = h('div', { class: 'row' }, h('span', { class: 'muted' }, 'and its'),
    select(`${path}#aggregate`, 'Aggregate', agg, [['count', 'count'], ['sum', 'sum of'], ['avg', 'average of'], ['min', 'minimum of'], ['max', 'maximum of']], (v) => {
      const old = { ...spec };
      for (const a of AGGREGATES) delete o[a];
      const next: Obj = {};
      if (v !== 'count') next.property = typeof old.property === 'string' ? old.property : (ctx.schema.properties.find((p) => /revenue|price|total/.test(p.path))?.path ?? 'revenue');
      for (const k of Object.keys(old)) if (k !== 'property') next[k] = old[k];
      if (Object.keys(next).filter((k) => k !== 'property').length === 0) next.gte = 1;
      o[v] = next;
      ctx.onChange(true);
    }, exactly(ctx, `${path}.${agg}`)));
  const writeSpec = () => { if (!(agg in o)) { for (const a of AGGREGATES) delete o[a]; o[agg] = spec; } };
  if (agg !== 'count') {
    aggRow.append(input(`${path}.${agg}.property`, 'Numeric property', String(spec.property ?? ''), (v) => { spec.property = v; writeSpec(); ctx.onChange(false); },
      { list: 'dl-props', size: '12' }, at(ctx, `${path}.${agg}.property`)));
  }
  aggRow.append(select(`${path}.${agg}#op`, 'Comparison', cmp, CMP_OPS.map((x) => [x, OP_LABELS[x]]), (v) => {
    const old = spec[cmp];
    delete spec[cmp];
    const scalar = Array.isArray(old) ? old[0] : old;
    spec[v] = v === 'between' ? [typeof scalar === 'number' ? scalar : 0, 10] : typeof scalar === 'number' ? scalar : 1;
    writeSpec();
    ctx.onChange(true);
  }, at(ctx, `${path}.${agg}.${cmp}`)));
  if (cmp === 'between') {
    const pair = Array.isArray(spec.between) ? (spec.between as Json[]) : [0, 10];
    aggRow.append(
      input(`${path}.${agg}.between[0]`, 'From', showScalar(pair[0]), (v) => { pair[0] = parseScalar(v); spec.between = pair; writeSpec(); ctx.onChange(false); }, { inputmode: 'decimal', size: '5' }),
      h('span', { class: 'muted' }, 'and'),
      input(`${path}.${agg}.between[1]`, 'To', showScalar(pair[1]), (v) => { pair[1] = parseScalar(v); spec.between = pair; writeSpec(); ctx.onChange(false); }, { inputmode: 'decimal', size: '5' }));
  } else {
    aggRow.append(input(`${path}.${agg}.${cmp}`, 'Number', showScalar(spec[cmp] ?? 1), (v) => { spec[cmp] = parseScalar(v); writeSpec(); ctx.onChange(false); },
      { inputmode: 'decimal', size: '6' }, at(ctx, `${path}.${agg}.${cmp}`)));
  }
  if (cmpKeys.length > 1) aggRow.append(h('span', { class: 'muted' }, `(+ ${cmpKeys.slice(1).map((k) => `${OP_LABELS[k]} ${showScalar(spec[k])}`).join(', ')}: edit in JSON)`));

  const seqKind = 'followed_by' in o ? 'followed_by' : 'not_followed_by' in o ? 'not_followed_by' : 'none';
  const seqRow = h('div', { class: 'row' }, h('span', { class: 'muted' }, 'Then'),
    select(`${path}#sequence`, 'Sequence', seqKind, [['none', '—'], ['followed_by', 'followed by'], ['not_followed_by', 'not followed by']], (v) => {
      const step = (o.followed_by ?? o.not_followed_by ?? { event: 'Order Completed', within: '1d' }) as Obj;
      delete o.followed_by; delete o.not_followed_by;
      if (v !== 'none') o[v] = step;
      ctx.onChange(true);
    }, exactly(ctx, `${path}.not_followed_by`)));
  let stepBlock: HTMLElement | null = null;
  if (seqKind !== 'none') {
    const step = o[seqKind] as Obj;
    const sp = `${path}.${seqKind}`;
    seqRow.append(...eventName(step, sp, ctx),
      h('span', { class: 'muted' }, 'within'),
      duration(`${sp}.within`, 'Follow-up window', String(step.within ?? '1d'), (v) => { step.within = v; }, ctx, at(ctx, `${sp}.within`)));
    stepBlock = h('div', { class: 'step' }, whereList(step, sp, ctx));
  }

  return h('div', { class: 'event' },
    h('div', { class: 'row' }, h('span', { class: 'muted' }, 'Did'), ...eventName(o, path, ctx)),
    whereList(o, path, ctx), windowRow, aggRow, seqRow, stepBlock);
}

function seen(o: Obj, set: Set, path: string, ctx: RuleContext): HTMLElement {
  const which = isObj(o.first_seen) ? 'first_seen' : 'last_seen';
  const bounds = o[which] as Obj;
  const bound = (k: 'before' | 'after') => input(`${path}.${which}.${k}`, k === 'before' ? 'Before (duration ago or time)' : 'After (duration ago or time)',
    showScalar(bounds[k]), (v) => { if (v.trim()) bounds[k] = v.trim(); else delete bounds[k]; ctx.onChange(false); },
    { placeholder: k === 'before' ? 'e.g. 60d' : 'optional', size: '12' }, at(ctx, `${path}.${which}.${k}`));
  return h('div', { class: 'row' },
    select(`${path}#seen`, 'First or last seen', which, [['first_seen', 'First seen'], ['last_seen', 'Last seen']], (v) => { set({ [v]: bounds }); ctx.onChange(true); }),
    h('span', { class: 'muted' }, 'before'), bound('before'), h('span', { class: 'muted' }, 'and after'), bound('after'));
}
