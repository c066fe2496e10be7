// The Web Worker that owns the wasm module and the decoded report, so the page stays live
// while a 32 MiB body is decoded and tens of thousands of series are indexed.
//
// Protocol: the page posts {id, op, ...}; the worker answers {id, ok, result | error} and
// posts {op: 'progress', stage, done, total} while it works. The report string returned by
// the wasm `inspect` is kept verbatim for export (byte-identical to the CLI's JSON).

import init, * as wasm from './pkg/prw_inspector.js';
import { parseFilter, seriesMatches, labelText } from './matcher.js';

const SAMPLES_SHOWN = 50;
const HISTOGRAMS_SHOWN = 10;
const EXEMPLARS_SHOWN = 20;
const PROGRESS_EVERY = 5000;

const ready = init();
let state = null; // { body, json, report, index: [{text, findings: [i], worst}], byRule }
let lastFilter = { key: null, matches: [] };

function progress(stage, done, total) {
  postMessage({ op: 'progress', stage, done, total });
}

function buildIndex(report) {
  const index = report.series.map(() => ({ text: '', findings: [], worst: null }));
  report.series.forEach((s, i) => {
    index[i].text = labelText(s.labels).toLowerCase();
    if (i % PROGRESS_EVERY === 0) progress('indexing series', i, report.series.length);
  });
  const byRule = new Map();
  report.findings.forEach((f, i) => {
    let group = byRule.get(f.rule);
    if (!group) {
      group = { rule: f.rule, severity: f.severity, message: f.message, count: 0, series: [] };
      byRule.set(f.rule, group);
    }
    group.count += 1;
    if (f.series !== null && f.series !== undefined) {
      if (group.series.length < 20 && !group.series.includes(f.series)) group.series.push(f.series);
      const entry = index[f.series];
      if (entry) {
        entry.findings.push(i);
        if (entry.worst !== 'error') entry.worst = f.severity;
      }
    }
  });
  return { index, byRule };
}

function inspect({ bytes, options }) {
  progress('decoding', 0, 0);
  const body = new Uint8Array(bytes);
  const json = wasm.inspect(body, JSON.stringify(options));
  progress('parsing the report', 0, 0);
  const report = JSON.parse(json);
  const { index, byRule } = buildIndex(report);
  state = { body, json, report, index, byRule };
  lastFilter = { key: null, matches: [] };
  progress('done', 1, 1);
  return {
    schema_version: report.schema_version,
    protocol: report.protocol,
    compressed_bytes: report.compressed_bytes,
    decoded_bytes: report.decoded_bytes,
    body_bytes: body.length,
    counts: report.counts,
    verdict: report.verdict,
    error: report.error,
    listed: report.series.length,
    metadata: report.metadata,
    findings_total: report.findings.length,
    finding_groups: [...byRule.values()],
    rules: [...byRule.keys()],
  };
}

function findingPasses(which, entry) {
  switch (which) {
    case '': return true;
    case 'any': return entry.findings.length > 0;
    case 'none': return entry.findings.length === 0;
    case 'error': return entry.worst === 'error';
    default: return entry.findings.some((i) => state.report.findings[i].rule === which);
  }
}

function matching(query, finding) {
  const key = `${finding}\u0000${query}`;
  if (lastFilter.key === key) return lastFilter.matches;
  const filter = parseFilter(query);
  const matches = [];
  const { series } = state.report;
  for (let i = 0; i < series.length; i += 1) {
    const entry = state.index[i];
    if (findingPasses(finding, entry) && seriesMatches(filter, i, series[i].labels, entry.text)) {
      matches.push(i);
    }
  }
  lastFilter = { key, matches };
  return matches;
}

function page({ query, finding, offset, limit }) {
  if (!state) return { total: 0, offset: 0, rows: [] };
  const matches = matching(query, finding);
  const start = Math.max(0, Math.min(offset, Math.max(0, matches.length - 1)));
  const rows = matches.slice(start, start + limit).map((i) => {
    const s = state.report.series[i];
    return {
      index: i,
      labels: s.labels,
      samples: s.samples.slice(0, SAMPLES_SHOWN),
      samples_total: s.samples.length,
      histograms: s.histograms.slice(0, HISTOGRAMS_SHOWN),
      histograms_total: s.histograms.length,
      exemplars: s.exemplars.slice(0, EXEMPLARS_SHOWN),
      exemplars_total: s.exemplars.length,
      metadata: s.metadata,
      findings: state.index[i].findings.map((f) => state.report.findings[f]),
    };
  });
  return { total: matches.length, offset: start, rows };
}

function edge({ config, request }) {
  if (!state) throw new Error('load a payload first');
  return JSON.parse(wasm.simulate_edge(config, state.body, JSON.stringify(request)));
}

// The converted 1.0 body (snappy) of the same simulation, for the download.
function edgeBody({ config, request }) {
  if (!state) throw new Error('load a payload first');
  return wasm.simulate_edge_converted_body(config, state.body, JSON.stringify(request));
}

const ops = {
  version: () => ({ version: wasm.version(), edge: typeof wasm.simulate_edge === 'function' }),
  decodeText: ({ text, encoding }) => {
    const bytes = wasm.decode_text(text, encoding);
    return { bytes, encoding: encoding === 'auto' ? wasm.detect_text_encoding(text) : encoding };
  },
  inspect,
  page,
  export: () => (state ? state.json : null),
  edge,
  edgeBody,
};

onmessage = async (event) => {
  const { id, op } = event.data;
  try {
    await ready;
    const fn = ops[op];
    if (!fn) throw new Error(`unknown operation ${op}`);
    postMessage({ id, ok: true, result: fn(event.data) });
  } catch (e) {
    postMessage({ id, ok: false, error: e instanceof Error ? e.message : String(e) });
  }
};
