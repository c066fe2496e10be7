// "Recent rejections": what the relay serving this page refused, from its capture store
// (GET ../api/v1/captures, docs/inspector.md). The panel is shown only when that probe
// answers a JSON list (or says capture is off); served as a static folder it stays hidden.
// While the panel is open and the page visible, the list refreshes every few seconds. A
// click fetches the capture's body and hands it to the page's own decoder (the same wasm
// inspector as a dropped file), then shows the relay's or the receiver's answer beside what
// prw thinks of the body; a body that cannot be loaded (evicted, relay gone) says so, with
// the relay's answer, in place of the verdict. Everything is rendered with textContent: captured texts come from
// senders and receivers and are never parsed as HTML.

import { $, el } from './dom.js';
import * as fmt from './format.js';

const API = new URL('../api/v1/captures', document.baseURI);
const REFRESH_MS = 3000;

let open = null; // (bytes, name, contentType) => Promise<summary | null>, from app.js
let panel = null;
let selected = null; // the id shown in the detail box
let timer = null;
let lastJson = '';

function statusBadge(status) {
  return el('span', { class: `status s${String(status)[0]}`, text: String(status) });
}

function clock(ms) {
  return fmt.utc(ms).slice(11, 19);
}

function who(c) {
  if (c.kind === 'refused') return `→ ${c.destination ?? '?'}${c.tenant ? ` (${c.tenant})` : ''}`;
  return `${c.remote ?? '?'}${c.tenant ? ` (${c.tenant})` : ''}`;
}

function row(c) {
  const tr = el('tr', {
    class: `capture-row${c.id === selected ? ' focus' : ''}`,
    'data-id': c.id,
    'data-kind': c.kind,
    tabindex: '0',
    title: c.body ? 'decode this capture in the page' : (c.body_missing ?? 'no body kept'),
    onclick: () => show(c),
    onkeydown: (e) => { if (e.key === 'Enter') show(c); },
  },
  el('td', { class: 'mono', text: clock(c.time), title: fmt.utc(c.time) }),
  el('td', { text: c.kind === 'rejected' ? 'rejected by the relay' : 'refused by a destination' }),
  el('td', {}, statusBadge(c.status)),
  el('td', { class: 'mono summary', text: c.summary }),
  el('td', { text: who(c) }),
  el('td', { text: c.protocol ?? '–' }),
  el('td', { text: c.body ? fmt.bytes(c.bytes) : `${fmt.bytes(c.bytes)}, not kept` }));
  return tr;
}

function renderList(list) {
  const table = $('captures-table');
  table.hidden = list.length === 0;
  $('captures-empty').hidden = list.length > 0;
  table.tBodies[0].replaceChildren(...list.map(row));
  panel.dataset.count = String(list.length);
  $('captures-updated').textContent = `${list.length} kept · updated ${new Date().toLocaleTimeString()}`;
}

async function refresh() {
  try {
    const res = await fetch(API, { cache: 'no-store', credentials: 'same-origin' });
    if (!res.ok) throw new Error(`${res.status} ${(await res.text()).trim()}`);
    const json = await res.text();
    $('captures-error').hidden = true;
    if (json !== lastJson) {
      lastJson = json;
      renderList(JSON.parse(json));
    }
  } catch (e) {
    $('captures-error').textContent = `could not refresh the list: ${e.message}`;
    $('captures-error').hidden = false;
  }
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(async () => {
    if ($('captures-box').open && !document.hidden) await refresh();
    schedule();
  }, REFRESH_MS);
}

function side(title, status, ...body) {
  return el('div', { class: 'capture-side' }, el('h3', {}, statusBadge(status), ` ${title}`), ...body);
}

async function show(c) {
  selected = c.id;
  for (const tr of $('captures-table').tBodies[0].rows) tr.classList.toggle('focus', Number(tr.dataset.id) === c.id);
  const detail = $('capture-detail');
  detail.hidden = false;
  detail.dataset.id = String(c.id);
  detail.dataset.state = 'loading';
  const theirs = c.kind === 'refused'
    ? side(`destination ${c.destination} answered`, c.status, el('pre', { id: 'capture-answer', text: c.answer || '(empty answer)' }))
    : side('the relay answered', c.status,
      el('pre', { id: 'capture-answer', text: c.answer }),
      c.rules.length ? el('p', { class: 'hint', text: 'the relay stops at the first failing rule; the page lists every finding' }) : null);
  const ours = el('div', { class: 'capture-side', id: 'capture-verdict' }, el('h3', { text: 'prw in this page' }),
    el('p', { class: 'hint', text: c.body ? 'decoding…' : (c.body_missing ?? 'no body kept') }));
  const removed = c.removed_headers.length ? ` · credentials removed: ${c.removed_headers.join(', ')}` : '';
  detail.replaceChildren(
    el('h3', { text: `Capture #${c.id}: ${c.kind === 'refused' ? `batch refused by ${c.destination}` : 'request rejected by the relay'}, ${fmt.utc(c.time)}` }),
    el('div', { class: 'capture-compare' }, theirs, ours),
    el('details', {}, el('summary', { text: `${c.headers.length} header${c.headers.length === 1 ? '' : 's'}${removed}` }),
      el('pre', { text: c.headers.map(([n, v]) => `${n}: ${v}`).join('\n') })));
  if (!c.body) { detail.dataset.state = 'no-body'; return; }
  try {
    let res;
    try {
      res = await fetch(new URL(String(c.id), `${API.href}/`), { cache: 'no-store', credentials: 'same-origin' });
    } catch (e) {
      throw new Error(`the relay did not answer (${e.message})`);
    }
    if (!res.ok) throw new Error(`the relay answered ${res.status}: ${(await res.text()).trim() || res.statusText}`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const summary = await open(bytes, `capture #${c.id} (${fmt.bytes(bytes.length)})`, c.content_type);
    if (selected !== c.id) return; // another capture was clicked meanwhile
    ours.replaceChildren(el('h3', {}, statusBadge(summary?.verdict?.status ?? '?'), ' prw in this page'));
    if (summary) {
      const findings = summary.findings_total;
      ours.append(el('p', { text: summary.error ? `the body cannot be read: ${summary.error}`
        : findings === 0 ? 'prw finds the batch valid: no finding'
          : `${fmt.count(findings)} finding${findings === 1 ? '' : 's'}: ${summary.rules.join(', ')} (highlighted below)` }),
      el('p', { class: 'hint', text: fmt.verdictText(summary.verdict) }));
    }
    detail.dataset.state = 'loaded';
  } catch (e) {
    if (selected !== c.id) return;
    ours.replaceChildren(el('h3', { text: 'prw in this page' }),
      el('p', { class: 'error', id: 'capture-load-error', text: `Could not load capture #${c.id}: ${e.message}` }));
    detail.dataset.state = 'failed';
  }
}

function build(offReason) {
  const box = el('details', { id: 'captures-box', open: '' },
    el('summary', {}, el('h2', { text: 'Recent rejections' }), ' ',
      el('span', { class: 'hint', id: 'captures-updated' })),
    el('p', { class: 'hint', text: 'What this relay refused: write requests it answered 4xx, and batches a destination refused with a non-retryable 4xx. Click one to decode it here.' }));
  if (offReason !== null) {
    box.append(el('p', { id: 'captures-off', text: `Capture is off on this relay: ${offReason}` }));
    panel.replaceChildren(box);
    panel.dataset.state = 'off';
    return;
  }
  box.append(
    el('p', { id: 'captures-error', class: 'error', hidden: '' }),
    el('p', { id: 'captures-empty', class: 'hint', text: 'Nothing refused yet. A malformed payload posted to /api/v1/write shows up here.' }),
    el('table', { id: 'captures-table', hidden: '' },
      el('thead', {}, el('tr', {}, ...['Time (UTC)', 'Kind', 'Status', 'Summary', 'From / to', 'Protocol', 'Body']
        .map((h) => el('th', { text: h })))),
      el('tbody')),
    el('div', { id: 'capture-detail', hidden: '' }));
  panel.replaceChildren(box);
  panel.dataset.state = 'on';
  box.addEventListener('toggle', () => { if (box.open) refresh(); });
}

// Probes the relay; shows the panel when it answers. `openCapture(bytes, name, contentType)`
// decodes a body in the page and resolves to its summary.
export async function startCaptures(openCapture) {
  open = openCapture;
  panel = $('captures');
  try {
    await probe();
  } finally {
    panel.dataset.probe = 'done'; // tests wait for this
  }
}

async function probe() {
  let res;
  try {
    res = await fetch(API, { cache: 'no-store', credentials: 'same-origin' });
  } catch {
    return; // no relay behind this page
  }
  const type = res.headers.get('content-type') ?? '';
  if (res.ok && type.startsWith('application/json')) {
    build(null);
    panel.hidden = false;
    lastJson = await res.text();
    renderList(JSON.parse(lastJson));
    schedule();
  } else if (res.status === 404) {
    const text = (await res.text()).trim();
    if (!text.startsWith('capture is off: ')) return; // a static server: no relay
    build(text.slice('capture is off: '.length));
    panel.hidden = false;
  }
}
