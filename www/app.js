// The page's only script: loads the wasm engine and validates what is pasted.
import init, { version, validate } from './pkg/tessera_wasm.js';

const $ = (id) => document.getElementById(id);
const MAX_ROWS = 200;

const EXAMPLE = [
  { type: 'identify', userId: 'u1', messageId: 'm1', timestamp: '2026-01-01T10:00:00Z', traits: { email: 'ada@example.com' } },
  { type: 'track', userId: 'u1', event: 'Order Completed', messageId: 'm2', timestamp: '2026-01-01T10:05:00Z', properties: { total: 42 } },
  { type: 'track', userId: 'u1', messageId: 'm3', timestamp: '2026-01-01T10:06:00Z' },
  { type: 'page', anonymousId: 'a1', name: 'Home', messageId: 'm4', timestamp: 'yesterday' },
].map((m) => JSON.stringify(m)).join('\n');

function show(report) {
  const summary = $('summary');
  summary.className = '';
  summary.textContent = `${report.accepted} accepted, ${report.rejected.length} rejected`;
  const table = $('rejections');
  const body = table.querySelector('tbody');
  body.replaceChildren();
  for (const r of report.rejected.slice(0, MAX_ROWS)) {
    const row = document.createElement('tr');
    for (const text of [r.index, r.path, r.code, r.message]) {
      const cell = document.createElement('td');
      cell.textContent = String(text);
      row.append(cell);
    }
    body.append(row);
  }
  table.hidden = report.rejected.length === 0;
}

function showError(err) {
  const summary = $('summary');
  summary.className = 'error';
  summary.textContent = `${err.code ?? 'error'}: ${err.message}`;
  $('rejections').hidden = true;
}

async function main() {
  try {
    await init();
  } catch (err) {
    $('engine-version').textContent = 'failed to load';
    showError(err);
    return;
  }
  $('engine-version').textContent = version();
  const button = $('validate');
  button.disabled = false;
  button.addEventListener('click', () => {
    try {
      show(validate($('events').value));
    } catch (err) {
      showError(err);
    }
  });
  $('example').addEventListener('click', () => {
    $('events').value = EXAMPLE;
    button.click();
  });
}

main();
