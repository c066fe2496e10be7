// The page: input, summary, findings, series table, edge simulation, export. All decoding
// runs in worker.js (the wasm module lives there), so the page stays responsive.

import * as fmt from './format.js';
import { labelText } from './matcher.js';
import { startCaptures } from './captures.js';
import { $, el } from './dom.js';

const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
const pending = new Map();
let nextId = 1;
let busy = 0;

function call(op, args = {}, transfer = []) {
  const id = nextId++;
  busy += 1;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, op, ...args }, transfer);
  }).finally(() => { busy -= 1; });
}

worker.onmessage = (event) => {
  const msg = event.data;
  if (msg.op === 'progress') return showProgress(msg);
  const p = pending.get(msg.id);
  if (!p) return undefined;
  pending.delete(msg.id);
  return msg.ok ? p.resolve(msg.result) : p.reject(new Error(msg.error));
};
worker.onerror = (e) => showError('input-error', `the inspector worker failed: ${e.message ?? 'could not load'}`);

function showError(id, message) {
  const node = $(id);
  node.textContent = message ?? '';
  node.hidden = !message;
}

function showProgress({ stage, done, total }) {
  const bar = $('progress-bar');
  if (stage === 'done') { $('progress').hidden = true; return; }
  $('progress').hidden = false;
  if (total > 0) { bar.max = total; bar.value = done; } else { bar.removeAttribute('value'); }
  $('progress-text').textContent = total > 0 ? `${stage}… ${fmt.count(done)} / ${fmt.count(total)}` : `${stage}…`;
}

// ---- input ---------------------------------------------------------------------------

let current = null; // { bytes: Uint8Array, name }
let loads = 0;
let view = { query: '', finding: '', offset: 0, limit: 100, focus: null };

function options() {
  const o = { protocol: $('protocol').value };
  const ct = $('content-type').value.trim();
  if (ct) o.content_type = ct;
  return o;
}

async function load(bytes, name) {
  current = { bytes, name };
  showError('input-error', null);
  showError('edge-error', null);
  $('edge-result').hidden = true; // a decision about the previous payload
  $('summary').dataset.state = 'loading';
  showProgress({ stage: 'reading', done: 0, total: 0 });
  const copy = bytes.slice().buffer; // the worker gets its own copy (transferred)
  try {
    const summary = await call('inspect', { bytes: copy, options: options() }, [copy]);
    view = { ...view, query: '', finding: '', offset: 0, focus: null }; // a new payload, a fresh view
    $('filter').value = '';
    renderSummary(summary, name);
    await renderPage();
    return summary;
  } catch (e) {
    $('summary').dataset.state = 'failed';
    showProgress({ stage: 'done' });
    showError('input-error', e.message);
    return null;
  } finally {
    loads += 1;
    document.body.dataset.loads = String(loads); // tests wait for this
  }
}

async function loadFile(file) {
  if (!file) return;
  showProgress({ stage: `reading ${file.name}`, done: 0, total: 0 });
  const bytes = new Uint8Array(await file.arrayBuffer());
  await load(bytes, `${file.name} (${fmt.bytes(bytes.length)})`);
}

$('file').addEventListener('change', (e) => loadFile(e.target.files[0]));
const zone = $('dropzone');
document.addEventListener('dragover', (e) => { e.preventDefault(); document.body.classList.add('dragging'); });
document.addEventListener('dragleave', (e) => { if (!e.relatedTarget) document.body.classList.remove('dragging'); });
document.addEventListener('drop', (e) => {
  e.preventDefault();
  document.body.classList.remove('dragging');
  loadFile(e.dataTransfer.files[0]);
});
zone.addEventListener('keydown', (e) => { if (e.key === 'Enter') $('file').click(); });

$('paste-go').addEventListener('click', async () => {
  showError('input-error', null);
  try {
    const { bytes, encoding } = await call('decodeText', { text: $('paste').value, encoding: $('paste-encoding').value });
    $('paste-status').textContent = `read as ${encoding}: ${fmt.bytes(bytes.length)}`;
    await load(bytes, `pasted ${encoding}`);
  } catch (e) {
    $('paste-status').textContent = '';
    showError('input-error', `pasted text: ${e.message}`);
  }
});

for (const id of ['protocol', 'content-type']) {
  $(id).addEventListener('change', () => { if (current) load(current.bytes, current.name); });
}

// ---- summary and findings --------------------------------------------------------------

function renderSummary(s, name) {
  $('summary').hidden = false;
  $('source-name').textContent = name;
  const status = $('verdict-status');
  status.textContent = s.verdict.status;
  status.className = `status s${String(s.verdict.status)[0]}`;
  $('verdict-text').textContent = fmt.verdictText(s.verdict);
  $('verdict').dataset.retry = s.verdict.retry;
  showError('report-error', s.error ? `input could not be read: ${s.error}` : null);
  $('fact-protocol').textContent = s.protocol;
  $('fact-body').textContent = s.compressed_bytes === null ? 'raw protobuf' : 'snappy';
  $('fact-compressed').textContent = fmt.bytes(s.compressed_bytes);
  $('fact-decoded').textContent = fmt.bytes(s.decoded_bytes);
  for (const k of ['series', 'samples', 'histograms', 'exemplars', 'metadata']) {
    $(`count-${k}`).textContent = fmt.count(s.counts[k]);
  }
  $('count-findings').textContent = fmt.count(s.findings_total);
  $('summary').dataset.state = 'done';
  $('listed-note').textContent = s.listed < s.counts.series ? `(${fmt.count(s.listed)} of ${fmt.count(s.counts.series)} series listed)` : '';
  renderFindings(s);
  renderRequestMetadata(s.metadata);
  const select = $('finding-filter');
  for (const o of [...select.options]) if (o.value.includes('.')) o.remove();
  for (const rule of s.rules) select.append(el('option', { value: rule, text: `rule ${rule}` }));
  if (!s.rules.includes(view.finding) && view.finding.includes('.')) view.finding = '';
  select.value = view.finding;
  $('series').hidden = false;
  $('edge').hidden = !edgeAvailable;
}

function renderFindings(s) {
  $('findings').hidden = false;
  $('no-findings').hidden = s.findings_total > 0;
  $('findings-table').hidden = s.findings_total === 0;
  const body = $('findings-table').tBodies[0];
  body.replaceChildren(...s.finding_groups.map((g) => el('tr', { 'data-rule': g.rule, class: `sev-${g.severity}` },
    el('td', { class: 'mono', text: g.rule }),
    el('td', { class: `sev ${g.severity}`, text: g.severity }),
    el('td', { text: fmt.count(g.count) }),
    el('td', { text: g.message }),
    el('td', {},
      el('a', { class: 'series-link', text: 'show all', onclick: () => filterBy('', g.rule, null) }),
      ...g.series.slice(0, 8).map((i) => el('a', { class: 'series-link', text: `#${i}`, onclick: () => filterBy(`#${i}`, '', i) }))))));
}

function renderRequestMetadata(metadata) {
  const section = $('request-metadata');
  section.hidden = !metadata || metadata.length === 0;
  if (section.hidden) return;
  section.querySelector('tbody').replaceChildren(...metadata.map((m) => el('tr', {},
    el('td', { class: 'mono', text: m.metric_family_name ?? '' }), el('td', { text: m.type }),
    el('td', { text: m.unit }), el('td', { text: m.help }))));
}

function filterBy(query, finding, focus) {
  $('filter').value = query;
  $('finding-filter').value = finding;
  view = { ...view, query, finding, offset: 0, focus };
  renderPage();
  $('series').scrollIntoView({ behavior: 'instant', block: 'start' });
}

// ---- series table ---------------------------------------------------------------------

function labelsCell(labels) {
  // Body order, so a finding about order is visible; `name{...}` when __name__ comes first.
  const td = el('td', { class: 'labels' });
  const named = labels.length > 0 && labels[0][0] === '__name__';
  if (named) td.append(el('span', { class: 'metric', text: labels[0][1] }));
  td.append('{');
  labels.slice(named ? 1 : 0).forEach(([n, v], i) => {
    if (i > 0) td.append(', ');
    td.append(el('span', { class: 'pair' }, el('span', { class: 'name', text: n }), `=${JSON.stringify(v)}`));
  });
  td.append('}');
  td.title = labelText(labels);
  return td;
}

function samplesCell(row) {
  const td = el('td', { class: 'samples' });
  for (const s of row.samples) {
    const v = fmt.isStale(s.v) ? el('span', { class: 'stale', text: 'stale marker' }) : fmt.value(s.v);
    td.append(el('div', { 'data-t': s.t }, `${fmt.utc(s.t)}  `, v, el('span', { class: 'raw', text: `  (${s.t})` })));
  }
  if (row.samples_total > row.samples.length) td.append(el('div', { class: 'hint', text: `… ${fmt.count(row.samples_total - row.samples.length)} more (see the JSON export)` }));
  return td;
}

function histogramsCell(row) {
  const td = el('td', { class: 'hist' });
  for (const h of row.histograms) {
    const d = el('details', row.histograms.length <= 2 ? { open: '' } : {}, el('summary', {},
      `${fmt.utc(h.t)} count=${fmt.value(h.count)} sum=${fmt.value(h.sum)} schema=${h.schema}`));
    d.append(el('div', { text: `zero: threshold ${fmt.value(h.zero_threshold)}, count ${fmt.value(h.zero_count)}; ${h.float ? 'float' : 'integer'}; reset hint ${h.reset_hint}; raw t ${h.t}` }));
    for (const [lo, hi, c] of [...fmt.buckets(h, true), ...fmt.buckets(h, false)].slice(0, 60)) {
      d.append(el('div', { text: `(${fmt.bound(lo)}, ${fmt.bound(hi)}]: ${fmt.value(c)}` }));
    }
    td.append(d);
  }
  if (row.histograms_total > row.histograms.length) td.append(el('div', { class: 'hint', text: `… ${row.histograms_total - row.histograms.length} more` }));
  return td;
}

function exemplarsCell(row) {
  const td = el('td', { class: 'mono' });
  for (const e of row.exemplars) {
    td.append(el('div', { text: `${labelText(e.labels)} ${fmt.value(e.v)} @ ${e.t === 0 ? 'no timestamp' : fmt.utc(e.t)}` }));
  }
  if (row.exemplars_total > row.exemplars.length) td.append(el('div', { class: 'hint', text: `… ${row.exemplars_total - row.exemplars.length} more` }));
  return td;
}

function metadataCell(m) {
  if (!m) return el('td');
  return el('td', {}, el('div', { text: `${m.type}${m.unit ? ` (${m.unit})` : ''}` }), el('div', { class: 'hint', text: m.help }));
}

function findingsCell(findings) {
  const td = el('td');
  for (const f of findings) {
    const where = [f.sample !== null && f.sample !== undefined ? `sample ${f.sample}` : null, f.label ? `label ${f.label}` : null].filter(Boolean).join(', ');
    td.append(el('div', {}, el('span', { class: `badge ${f.severity}`, text: f.rule }), where ? ` ${where}` : '', el('div', { class: 'hint', text: f.message })));
  }
  return td;
}

function seriesRow(row) {
  const worst = row.findings.some((f) => f.severity === 'error') ? 'error' : row.findings.length ? 'warning' : '';
  const tr = el('tr', { class: `series-row${worst ? ` sev-${worst}` : ''}${row.index === view.focus ? ' focus' : ''}`, 'data-index': row.index, 'data-findings': row.findings.length },
    el('td', { class: 'mono', text: row.index }), labelsCell(row.labels), samplesCell(row), histogramsCell(row),
    exemplarsCell(row), metadataCell(row.metadata), findingsCell(row.findings));
  return tr;
}

let renderSeq = 0;
async function renderPage() {
  const seq = ++renderSeq;
  let page;
  try {
    page = await call('page', { query: view.query, finding: view.finding, offset: view.offset, limit: view.limit });
    showError('filter-error', null);
  } catch (e) {
    if (seq === renderSeq) showError('filter-error', e.message);
    return;
  }
  if (seq !== renderSeq) return; // a newer request superseded this one
  view.offset = page.offset;
  $('series-table').tBodies[0].replaceChildren(...page.rows.map(seriesRow));
  const last = Math.min(page.total, page.offset + page.rows.length);
  $('page-info').textContent = page.total === 0 ? 'no series match' : `${fmt.count(page.offset + 1)}–${fmt.count(last)} of ${fmt.count(page.total)}`;
  $('page-info').dataset.total = page.total;
  $('series-table').dataset.query = `${view.finding}|${view.query}|${page.offset}`; // tests wait for this
  $('prev').disabled = page.offset === 0;
  $('next').disabled = last >= page.total;
}

let filterTimer = null;
$('filter').addEventListener('input', () => {
  clearTimeout(filterTimer);
  filterTimer = setTimeout(() => { view = { ...view, query: $('filter').value, offset: 0, focus: null }; renderPage(); }, 150);
});
$('finding-filter').addEventListener('change', () => { view = { ...view, finding: $('finding-filter').value, offset: 0 }; renderPage(); });
$('page-size').addEventListener('change', () => { view = { ...view, limit: Number($('page-size').value), offset: 0 }; renderPage(); });
$('prev').addEventListener('click', () => { view = { ...view, offset: Math.max(0, view.offset - view.limit) }; renderPage(); });
$('next').addEventListener('click', () => { view = { ...view, offset: view.offset + view.limit }; renderPage(); });

// ---- export and edge ------------------------------------------------------------------

$('export').addEventListener('click', async () => {
  const json = await call('export');
  if (json === null) return;
  const url = URL.createObjectURL(new Blob([json], { type: 'application/json' }));
  const a = el('a', { href: url, download: 'prw-report.json' });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
});

function parseHeaders(text) {
  const headers = [];
  text.split('\n').forEach((line, n) => {
    if (!line.trim()) return;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`header line ${n + 1} is not "Name: value"`);
    headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  });
  return headers;
}

let edgeAsked = null; // the last simulation's arguments, for the 1.0 body download

function edgeRequest() {
  const headers = parseHeaders($('edge-headers').value);
  const ct = $('content-type').value.trim();
  if (ct && !headers.some(([n]) => n.toLowerCase() === 'content-type')) headers.push(['Content-Type', ct]);
  return { method: $('edge-method').value, path: $('edge-path').value, headers, now_ms: Date.now() };
}

$('edge-go').addEventListener('click', async () => {
  showError('edge-error', null);
  $('edge-result').hidden = true;
  try {
    edgeAsked = { config: $('edge-config').value, request: edgeRequest() };
    const d = await call('edge', edgeAsked);
    $('edge-converted').hidden = !d.converted;
    if (d.converted) {
      const w = d.converted.written;
      $('edge-converted-note').textContent =
        `${d.converted.body_bytes} bytes, ${w.series} series, ${w.samples} samples, ${w.histograms} histograms, ${w.exemplars} exemplars, ${w.metadata} metadata`;
    }
    const status = $('edge-status');
    status.textContent = d.status ?? 'forward';
    status.className = `status s${String(d.status ?? 2)[0]}`;
    $('edge-outcome').textContent = d.summary;
    $('edge-json').textContent = JSON.stringify(d, null, 2);
    $('edge-result').hidden = false;
  } catch (e) {
    showError('edge-error', e.message);
  }
});

$('edge-download').addEventListener('click', async () => {
  if (!edgeAsked) return;
  try {
    const bytes = await call('edgeBody', edgeAsked);
    const url = URL.createObjectURL(new Blob([bytes], { type: 'application/x-protobuf' }));
    const a = el('a', { href: url, download: 'converted-v1.bin' });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (e) {
    showError('edge-error', e.message);
  }
});

// ---- start ----------------------------------------------------------------------------

let edgeAvailable = false;
call('version').then((v) => {
  $('version').textContent = `prw-inspector ${v.version}`;
  edgeAvailable = v.edge;
  document.body.dataset.ready = '1';
}).catch((e) => showError('input-error', `could not load the WebAssembly module: ${e.message}`));

// "Recent rejections" (captures.js): a capture is decoded like a dropped file, with the
// Content-Type it was sent with.
startCaptures((bytes, name, contentType) => {
  $('content-type').value = contentType ?? '';
  return load(bytes, name);
});

export function isBusy() { return busy > 0; }
