// Measures the inspector page on one body: load time (file chosen -> table shown), next
// page, a label-matcher filter, and main-thread long tasks (> 50 ms) during all of it.
//   node tests/browser/measure.mjs URL BODY_FILE   (CHROMIUM_BIN overrides /usr/bin/chromium)
import { chromium } from 'playwright-core';
const [url, file] = process.argv.slice(2);
const b = await chromium.launch({ executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox','--disable-gpu','--disable-dev-shm-usage'] });
const p = await b.newPage();
await p.goto(url);
await p.waitForSelector('body[data-ready="1"]');
await p.evaluate(() => { window.longtasks = []; new PerformanceObserver((l) => { for (const e of l.getEntries()) window.longtasks.push(e.duration); }).observe({ type: 'longtask', buffered: false }); });
let t = Date.now();
await p.setInputFiles('#file', file);
await p.waitForSelector('body[data-loads="1"]', { timeout: 300000 });
const load = Date.now() - t;
t = Date.now();
await p.click('#next');
await p.waitForFunction(() => document.getElementById('series-table').dataset.query === '||100');
const next = Date.now() - t;
t = Date.now();
await p.fill('#filter', '{mode="iowait", cpu=~"1."}');
await p.waitForFunction(() => document.getElementById('series-table').dataset.query.startsWith('|{mode'));
const filter = Date.now() - t;
const info = await p.textContent('#page-info');
const lt = await p.evaluate(() => window.longtasks);
console.log(JSON.stringify({ load_ms: load, next_page_ms: next, filter_ms: filter, info, counts: await p.textContent('#count-series'), status: await p.textContent('#verdict-status'), main_thread_longtasks_ms: lt.map(Math.round) }));
await b.close();
