// `make screenshots`: a PNG of each main screen of the web UI, on a freshly seeded demo library,
// written to docs/screenshots/ (the README shows them). Not a test; run by hand.

import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLibrary, startBrowser, openPage, heading, demo } from './harness.mjs';

const out = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'screenshots');
mkdirSync(out, { recursive: true });
const library = await startLibrary();
const browser = await startBrowser();
const call = async (method, path, token, body) => (await fetch(library.base + path, {
  method, headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
  body: body === undefined ? undefined : JSON.stringify(body),
})).json();
try {
  const desk = (await call('POST', '/api/v1/session', null, { username: 'desk', password: demo.password })).token;
  const items = (await call('POST', '/api/v1/catalogue/search', null, { terms: 'e' })).items.filter((i) => i.status === 'available');
  for (const item of items.slice(0, 2)) {
    await call('POST', '/api/v1/loans', desk, { item_barcode: item.barcode, card_barcode: demo.card });
  }
  const page = await openPage(browser, library.base, { width: 1100, height: 800 });
  const shot = async (name) => page.screenshot({ path: join(out, `${name}.png`) });
  for (const [hash, title, name] of [['#/', 'Westport', 'home'], ['#/policy', 'Privacy', 'policy'],
    ['#/transparency', 'Transparency', 'transparency']]) {
    await page.goto(`${library.base}/${hash}`);
    await heading(page, title);
    await shot(name);
  }
  await page.goto(`${library.base}/#/login/patron`);
  await heading(page, 'My account');
  await page.fill('input[name=card_barcode]', demo.card);
  await page.fill('input[name=pin]', demo.pin);
  await page.keyboard.press('Enter');
  await heading(page, 'Hello');
  await shot('portal');
  await page.click('text=Log out');
  await page.goto(`${library.base}/#/login`);
  await heading(page, 'Staff log in');
  await page.fill('input[name=username]', 'desk');
  await page.fill('input[name=password]', demo.password);
  await page.keyboard.press('Enter');
  await heading(page, 'Check out');
  await page.keyboard.type('21000000000002');
  await page.keyboard.press('Enter');
  await page.waitForSelector('.patron-summary dl');
  for (const item of items.slice(2, 4)) {
    await page.keyboard.type(item.barcode);
    await page.keyboard.press('Enter');
  }
  await page.keyboard.type(items[2].barcode);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelectorAll('.scanned li').length === 3);
  await shot('desk-checkout');
  await page.click('text=Someone asks for patron information');
  await heading(page, 'Someone asks');
  await shot('desk-request');
  console.log(`screenshots written to ${out}`);
} finally {
  await browser.close();
  await library.stop();
}
