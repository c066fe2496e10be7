// Drives the inspector's "Recent rejections" panel in Debian's chromium through
// playwright-core and prints what a user sees as one JSON object on stdout. The Rust test
// (tests/tests/inspector_browser_captures.rs) posts the bodies and makes the assertions;
// this script only acts and observes.
//
//   node captures.mjs '{"url": RELAY/inspect/, "static_url": STATIC/index.html,
//                       "write_url": RELAY/api/v1/write, "late_body": PATH,
//                       "chromium": ..., "playwright_core": DIR-or-null, "artifacts": DIR}'

import { readFile } from 'node:fs/promises';

import { openPage } from './page.mjs';

const cfg = JSON.parse(process.argv[2]);
const out = { console_errors: [] };
const { browser, page } = await openPage(cfg, out);
try {
  const text = async (sel) => (await page.textContent(sel)).trim();
  const started = async (url) => {
    await page.goto(url);
    await page.waitForSelector('body[data-ready="1"], #input-error:not([hidden])');
    if (await page.getAttribute('body', 'data-ready') !== '1') {
      throw new Error(`the page did not start: ${await page.textContent('#input-error')}`);
    }
    await page.waitForSelector('#captures[data-probe="done"]', { state: 'attached' });
  };
  const rows = () => page.$$eval('#captures-table tbody tr', (trs) => trs.map((tr) => ({
    id: Number(tr.dataset.id), kind: tr.dataset.kind, text: tr.textContent,
  })));
  const seriesRows = () => page.$$eval('#series-table tbody tr.series-row', (trs) => trs.map((tr) => ({
    index: Number(tr.dataset.index), class: tr.className, labels: tr.cells[1].textContent,
    findings: tr.cells[6].textContent,
  })));
  const findings = () => page.$$eval('#findings-table tbody tr', (trs) => trs.map((tr) => tr.dataset.rule));
  let loads = 0;
  const openCapture = async (id) => {
    loads += 1;
    await page.click(`#captures-table tbody tr[data-id="${id}"]`);
    await page.waitForSelector(`#capture-detail[data-id="${id}"][data-state="loaded"]`);
    await page.waitForSelector(`body[data-loads="${loads}"]`);
    return {
      answer: await text('#capture-answer'),
      verdict: await text('#capture-verdict'),
      detail_title: await text('#capture-detail > h3'),
      status: await text('#verdict-status'),
      content_type: await page.inputValue('#content-type'),
      findings: await findings(),
      series: await seriesRows(),
    };
  };

  // 1. Served by the relay: the panel lists what was refused, newest first.
  await started(cfg.url);
  out.panel_visible = await page.isVisible('#captures');
  out.panel_state = await page.getAttribute('#captures', 'data-state');
  out.rows = await rows();
  const rejected = out.rows.find((r) => r.kind === 'rejected');
  const refused = out.rows.find((r) => r.kind === 'refused');

  // 2. A click on the rejected request decodes it: every finding, offending series highlighted.
  if (rejected) {
    out.rejected = await openCapture(rejected.id);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: `${cfg.artifacts}/inspector-captures-rejected.png`, fullPage: true });
  }

  // 3. A click on the refused batch: the receiver's answer beside prw's own verdict.
  if (refused) {
    out.refused = await openCapture(refused.id);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: `${cfg.artifacts}/inspector-captures-refused.png`, fullPage: true });
  }

  // 3b. A capture that cannot be loaded (its body request answered 404 by the relay, as for
  // an evicted one): the detail box says so in place of the verdict.
  if (rejected) {
    const bodies = '**/api/v1/captures/*';
    const errorsBefore = out.console_errors.length;
    await page.route(bodies, (route) => route.continue({ url: route.request().url().replace(/\/\d+$/, '/999999') }));
    await page.click(`#captures-table tbody tr[data-id="${rejected.id}"]`);
    await page.waitForSelector(`#capture-detail[data-id="${rejected.id}"][data-state="failed"]`);
    out.failed = await text('#capture-verdict');
    await page.unroute(bodies);
    // Chromium logs that 404 as a console error; here it is the expected one.
    const later = out.console_errors.splice(errorsBefore);
    out.console_errors.push(...later.filter((m) => !m.includes('status of 404')));
  }

  // 4. While the panel is open, a new rejection appears without a reload.
  const before = out.rows.length;
  const late = await page.request.post(cfg.write_url, {
    data: await readFile(cfg.late_body),
    headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' },
  });
  out.late_status = late.status();
  await page.waitForFunction((n) => document.querySelectorAll('#captures-table tbody tr').length > n, before);
  out.rows_after = await rows();

  // 5. Served as a static folder (no relay): the panel stays hidden.
  if (cfg.static_url) {
    await started(cfg.static_url);
    out.static_panel_visible = await page.isVisible('#captures');
  }
} catch (e) {
  out.error = String(e.stack ?? e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
