// The web UI's figures for `make bench` (CARREL_BENCH_PARTS=web, or a whole run), in Chromium:
// the desk's time from a scan's Enter to its line on screen, over 200 checkouts, and the bytes
// a first visit to the home page transfers. Prints one JSON object.

import { startLibrary, startBrowser, openPage, heading, demo } from './harness.mjs';

const scans = Number(process.env.CARREL_BENCH_WEB_SCANS || 200);
const library = await startLibrary({ items: Math.max(600, scans * 3) });
const browser = await startBrowser();
const call = async (method, path, token, body) => (await fetch(library.base + path, {
  method, headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
  body: body === undefined ? undefined : JSON.stringify(body),
})).json();
try {
  // First visit: every byte the home page and what it loads transfer (no cache).
  const first = await openPage(browser, library.base);
  let bytes = 0;
  const counted = [];
  first.on('response', (r) => counted.push(r.body().then((b) => { bytes += b.length; }).catch(() => {})));
  await first.goto(library.base + '/');
  await heading(first, 'Westport');
  await first.waitForLoadState('networkidle');
  await Promise.all(counted);
  await first.context_.close();

  const items = (await call('POST', '/api/v1/catalogue/search?limit=1000', null, { terms: 'e' }))
    .items.filter((i) => i.status === 'available').slice(0, scans).map((i) => i.barcode);
  const page = await openPage(browser, library.base);
  await page.goto(library.base + '/#/login');
  await heading(page, 'Staff log in');
  await page.fill('input[name=username]', 'desk');
  await page.fill('input[name=password]', demo.password);
  await page.keyboard.press('Enter');
  await heading(page, 'Check out');
  const times = [];
  // Twenty items to each of ten patrons, as a desk would meet them.
  for (let p = 0; p * 20 < items.length; ++p) {
    if (p > 0) {
      await page.click('text=Done');
      await heading(page, 'Check out');
    }
    await page.waitForFunction(() => document.activeElement?.id === 'card');
    await page.keyboard.type(`2100${String(2 + p).padStart(10, '0')}`);
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.activeElement?.id === 'item');
    const batch = items.slice(p * 20, p * 20 + 20);
    times.push(...await page.evaluate(async (barcodes) => {
      const out = [];
      const input = document.getElementById('item');
      const list = document.querySelector('.scanned');
      for (const code of barcodes) {
        const before = list.children.length;
        input.value = code;
        const start = performance.now();
        input.form.requestSubmit();
        await new Promise((resolve) => {
          const watch = new MutationObserver(() => {
            if (list.children.length > before) { watch.disconnect(); resolve(); }
          });
          watch.observe(list, { childList: true });
        });
        await new Promise((resolve) => requestAnimationFrame(() => resolve()));
        out.push(performance.now() - start);
      }
      return out;
    }, batch));
  }
  const refused = await page.locator('.scanned li.refused').count();
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
  console.log(JSON.stringify({
    first_load_bytes: bytes, scans: times.length, refused_in_last_batch: refused,
    scan_p50_ms: at(0.5), scan_p95_ms: at(0.95), scan_max_ms: times[times.length - 1],
  }));
} finally {
  await browser.close();
  await library.stop();
}
