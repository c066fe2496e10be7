// Shared by the page drivers (inspector.mjs, captures.mjs): Debian's chromium through
// playwright-core (from PLAYWRIGHT_CORE_DIR, which xtask installs, or ./node_modules; it never
// downloads a browser), one 1400x1000 page, and the page's console errors collected in
// `out.console_errors`.

import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage'];

// Launches chromium and opens a page; `cfg` has `chromium` and `playwright_core`.
export async function openPage(cfg, out, contextOptions = {}) {
  const { chromium } = cfg.playwright_core
    ? await import(pathToFileURL(join(cfg.playwright_core, 'index.mjs')).href)
    : await import('playwright-core');
  const browser = await chromium.launch({ executablePath: cfg.chromium, headless: true, args: FLAGS });
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, ...contextOptions });
  const page = await context.newPage();
  page.setDefaultTimeout(30000);
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    // The "Recent rejections" probe (captures.js) gets a 404 from a static server, as
    // expected; Chromium logs it anyway.
    if (m.location().url.endsWith('/api/v1/captures') && m.text().includes('status of 404')) return;
    out.console_errors.push(m.text());
  });
  page.on('pageerror', (e) => out.console_errors.push(String(e)));
  return { browser, page };
}
