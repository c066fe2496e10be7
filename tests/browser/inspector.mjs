// Drives the inspector page in Debian's chromium through playwright-core and prints what a
// user would see as one JSON object on stdout. The Rust test (tests/tests/inspector_browser.rs)
// makes the assertions; this script only acts and observes.
//
//   node inspector.mjs '{"url": ..., "chromium": ..., "artifacts": DIR,
//                        "playwright_core": DIR-or-null,
//                        "bodies": {"valid": PATH, "findings": PATH, "malformed": PATH,
//                                   "large": PATH, "capture": PATH-or-null, "v2": PATH-or-null},
//                        "edge_config": JSON-or-null, "edge_bridge": {"config", "headers"}-or-null}'

import { readFile } from 'node:fs/promises';

import { openPage } from './page.mjs';

const cfg = JSON.parse(process.argv[2]);
const out = { console_errors: [] };
const { browser, page } = await openPage(cfg, out, { acceptDownloads: true });
try {
  await page.goto(cfg.url);
  await page.waitForSelector('body[data-ready="1"], #input-error:not([hidden])');
  if (await page.getAttribute('body', 'data-ready') !== '1') {
    // e.g. a wasm-opt that broke the module (binaryen 108: externref table read as anyref)
    throw new Error(`the page did not start: ${await page.textContent('#input-error')}`);
  }
  out.version = await page.textContent('#version');

  let loads = 0;
  const upload = async (path) => {
    loads += 1;
    await page.setInputFiles('#file', path);
    await page.waitForSelector(`body[data-loads="${loads}"]`);
  };
  const shot = async (name) => {
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: `${cfg.artifacts}/${name}`, fullPage: true });
  };
  const text = async (sel) => (await page.textContent(sel)).trim();
  const summary = async () => ({
    state: await page.getAttribute('#summary', 'data-state'),
    status: await text('#verdict-status'),
    verdict: await text('#verdict-text'),
    retry: await page.getAttribute('#verdict', 'data-retry'),
    error: await page.isVisible('#report-error') ? await text('#report-error') : null,
    input_error: await page.isVisible('#input-error') ? await text('#input-error') : null,
    protocol: await text('#fact-protocol'),
    compressed: await text('#fact-compressed'),
    decoded: await text('#fact-decoded'),
    counts: Object.fromEntries(await Promise.all(['series', 'samples', 'histograms', 'exemplars', 'metadata', 'findings']
      .map(async (k) => [k, await text(`#count-${k}`)]))),
    page_info: await text('#page-info'),
  });
  const rows = () => page.$$eval('#series-table tbody tr.series-row', (trs) => trs.map((tr) => ({
    index: Number(tr.dataset.index),
    class: tr.className,
    labels: tr.cells[1].textContent,
    samples: tr.cells[2].textContent,
    histograms: tr.cells[3].textContent,
    exemplars: tr.cells[4].textContent,
    findings: tr.cells[6].textContent,
  })));
  const findings = () => page.$$eval('#findings-table tbody tr', (trs) => trs.map((tr) => ({
    rule: tr.dataset.rule, severity: tr.cells[1].textContent, count: tr.cells[2].textContent,
    message: tr.cells[3].textContent,
  })));
  const setFilter = async (query) => {
    await page.fill('#filter', query);
    await page.waitForFunction((q) => document.getElementById('series-table').dataset.query === `|${q}|0`, query);
    return rows();
  };

  // 1. A valid body (generated with prw-core: stale marker, histogram, exemplar, metadata).
  await upload(cfg.bodies.valid);
  out.valid = { summary: await summary(), rows: await rows(), findings: await findings(),
    no_findings_shown: await page.isVisible('#no-findings') };
  out.valid.filtered_job_api = (await setFilter('{job="api"}')).map((r) => r.index);
  out.valid.filtered_substring = (await setFilter('a:9100')).map((r) => r.index);
  out.valid.filter_error = await (async () => {
    await page.fill('#filter', '{job=}');
    await page.waitForSelector('#filter-error:visible');
    return text('#filter-error');
  })();
  await setFilter('');
  await shot('inspector-valid.png');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
  out.valid.export = await readFile(await download.path(), 'utf8');
  out.valid.export_name = download.suggestedFilename();

  // The Content-Type option: a receiver answers an unknown type with 415.
  loads += 1;
  await page.fill('#content-type', 'text/plain');
  await page.dispatchEvent('#content-type', 'change');
  await page.waitForSelector(`body[data-loads="${loads}"]`);
  out.valid.text_plain = await summary();
  loads += 1;
  await page.fill('#content-type', '');
  await page.dispatchEvent('#content-type', 'change');
  await page.waitForSelector(`body[data-loads="${loads}"]`);

  // 2. A payload with findings: rows highlighted, findings listed, 400.
  await upload(cfg.bodies.findings);
  out.findings = { summary: await summary(), rows: await rows(), findings: await findings() };
  await page.click('#findings-table tbody tr .series-link:not(:first-child)');
  await page.waitForFunction(() => document.getElementById('series-table').dataset.query.startsWith('|#'));
  out.findings.focused = await page.$$eval('#series-table tbody tr.focus', (trs) => trs.map((tr) => Number(tr.dataset.index)));
  out.findings.edge_panel = await page.isVisible('#edge');
  if (cfg.edge_config !== null && out.findings.edge_panel) {
    await page.fill('#edge-config', cfg.edge_config);
    await page.click('#edge-go');
    await page.waitForSelector('#edge-result:visible, #edge-error:visible');
    out.findings.edge = {
      error: await page.isVisible('#edge-error') ? await text('#edge-error') : null,
      status: await page.isVisible('#edge-result') ? await text('#edge-status') : null,
      outcome: await page.isVisible('#edge-result') ? await text('#edge-outcome') : null,
      json: await page.isVisible('#edge-result') ? JSON.parse(await text('#edge-json')) : null,
    };
  }
  await shot('inspector-findings.png');

  // 2b. A 2.0 body under `upstream_protocol: v1`: the converted request and its download.
  if (cfg.bodies.v2 && cfg.edge_bridge) {
    await upload(cfg.bodies.v2);
    await page.fill('#edge-config', cfg.edge_bridge.config);
    await page.fill('#edge-headers', cfg.edge_bridge.headers);
    await page.click('#edge-go');
    await page.waitForSelector('#edge-result:visible, #edge-error:visible');
    out.bridge = {
      error: await page.isVisible('#edge-error') ? await text('#edge-error') : null,
      converted_shown: await page.isVisible('#edge-converted'),
      note: await text('#edge-converted-note'),
      json: await page.isVisible('#edge-result') ? JSON.parse(await text('#edge-json')) : null,
    };
    if (out.bridge.converted_shown) {
      const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#edge-download')]);
      out.bridge.download_name = dl.suggestedFilename();
      out.bridge.download = Array.from(await readFile(await dl.path()));
    }
    await shot('inspector-bridge.png');
  }

  // 3. A malformed body: the error and the verdict are shown.
  await upload(cfg.bodies.malformed);
  out.malformed = { summary: await summary(), rows: await rows() };
  await shot('inspector-malformed.png');

  // 4. A real Prometheus capture, when the fixtures are there.
  if (cfg.bodies.capture) {
    await upload(cfg.bodies.capture);
    out.capture = { summary: await summary(), rows: await rows() };
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
    out.capture.export = await readFile(await dl.path(), 'utf8');
    await shot('inspector-capture.png');
  }

  // 5. A large body: whole counts, pages of 100, a filter over every series.
  await upload(cfg.bodies.large);
  out.large = { summary: await summary(), rows: (await rows()).length };
  await page.click('#next');
  await page.waitForFunction(() => document.getElementById('series-table').dataset.query === '||100');
  out.large.second_page = await text('#page-info');
  out.large.first_on_second_page = (await rows())[0].index;
  out.large.filtered = (await setFilter('{job="j7"}')).length;
  out.large.filtered_info = await text('#page-info');
  await setFilter('');

  // 6. The valid body pasted as base64.
  loads += 1;
  await page.click('#paste-box summary');
  await page.fill('#paste', (await readFile(cfg.bodies.valid)).toString('base64'));
  await page.click('#paste-go');
  await page.waitForSelector(`body[data-loads="${loads}"]`);
  out.pasted = { summary: await summary(), status_line: await text('#paste-status') };
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out));
