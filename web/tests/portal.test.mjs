// The patron portal in a real browser: a patron logs in, renews a loan, chooses to keep a
// reading history, downloads their data, gives a permission and revokes it; every screen
// accessible, nothing asked of any other host.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { world, press, loginPatron, openPage, assertAccessible, heading, demo, apiCall } from './harness.mjs';

const w = world(undefined, async () => {
  // The desk lends the demo patron two items the catalogue shows available.
  const desk = (await api('POST', '/api/v1/session', null, { username: 'desk', password: demo.password })).body.token;
  const found = await api('POST', '/api/v1/catalogue/search', null, { terms: 'e' });
  const available = found.body.items.filter((i) => i.status === 'available').slice(0, 2);
  assert.equal(available.length, 2);
  for (const item of available) {
    const lent = await api('POST', '/api/v1/loans', desk, { item_barcode: item.barcode, card_barcode: demo.card });
    assert.equal(lent.status, 201, JSON.stringify(lent.body));
  }
});

const api = (method, path, token, body) => apiCall(w.library.base, method, path, token, body);

async function loggedIn() {
  const page = await openPage(w.browser, w.library.base);
  await loginPatron(page, w.library.base);
  return page;
}

test('a patron sees their loans with titles and renews one', async () => {
  const page = await loggedIn();
  const rows = page.locator('table.list tbody tr');
  assert.ok(await rows.count() >= 2);
  await assertAccessible(page, 'the portal overview');
  // Keyboard: reach the first Renew button and press it.
  await page.locator('table.list button').first().focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /Renewed:|not renewed/.test(document.querySelector('.live')?.textContent || ''));
  assert.match(await page.textContent('.live'), /Renewed: .+, now due /);
  page.check();
  await page.context_.close();
});

test('a patron keeps a reading history, downloads their data, and gives then revokes a permission', async () => {
  const page = await loggedIn();
  await press(page, 'nav.subnav >> text=Reading history');
  await heading(page, 'Reading history');
  const state = await page.textContent('.state');
  if (/do not keep/.test(state)) {
    await press(page, 'text=Keep my reading history');
    await page.waitForFunction(() => /You keep a reading history/.test(document.querySelector('.state')?.textContent || ''));
  }
  await assertAccessible(page, 'the reading history');

  await press(page, 'nav.subnav >> text=My data');
  await heading(page, 'My data');
  const [download] = await Promise.all([page.waitForEvent('download'), press(page, 'text=Download my data')]);
  const saved = JSON.parse(readFileSync(await download.path(), 'utf8'));
  assert.equal(saved.patron.card_barcode, demo.card);
  assert.ok(saved.loans.length >= 2);
  assert.equal(download.suggestedFilename(), 'my-library-data.json');
  await assertAccessible(page, 'my data');

  await press(page, 'nav.subnav >> text=Permissions I gave');
  await heading(page, 'Permissions I gave');
  await page.fill('input[name=recipient]', 'My attorney');
  await page.selectOption('select[name=categories]', 'loans');
  await page.fill('input[name=valid_until]', '2027-06-30');
  await page.fill('input[name=pin]', demo.pin);
  await press(page, 'text=Give this permission');
  await page.waitForSelector('button:has-text("Revoke")');
  await assertAccessible(page, 'the permissions');
  await press(page, 'button:has-text("Revoke")');
  await page.waitForSelector('.permissions em');
  assert.match(await page.textContent('.permissions'), /My attorney[\s\S]*Revoked/);
  page.check();
  await page.context_.close();
});

test('a wrong date on a permission is shown beside its field, and nothing is saved', async () => {
  const page = await loggedIn();
  await press(page, 'nav.subnav >> text=Permissions I gave');
  await heading(page, 'Permissions I gave');
  const before = await page.locator('.permissions li').count();
  await page.fill('input[name=recipient]', 'A neighbour');
  await page.fill('input[name=valid_until]', 'next June');
  await page.fill('input[name=pin]', demo.pin);
  await press(page, 'text=Give this permission');
  await page.waitForSelector('.field-error:not([hidden])');
  assert.match(await page.textContent('.field-error:not([hidden])'), /Until \(YYYY-MM-DD\): must be a date/);
  assert.equal(await page.locator('input[name=valid_until]').getAttribute('aria-invalid'), 'true');
  await assertAccessible(page, 'a refused permission');
  await page.reload();
  await heading(page, 'Permissions I gave');
  assert.equal(await page.locator('.permissions li').count(), before);
  page.check();
  await page.context_.close();
});

test('a patron finds a title in the catalogue, places a hold on it and cancels it, by keyboard', async () => {
  const page = await loggedIn();
  await page.locator('input[name=terms]').focus();
  await page.keyboard.type('e');
  await page.keyboard.press('Enter');
  await page.waitForSelector('.results li');
  // An item that is out now to someone else (a hold waits for it).
  const mine = await page.locator('table.list tbody strong').allTextContents();
  let out = null;
  let title = '';
  for (const row of await page.locator('.results li', { hasText: 'out now' }).all()) {
    title = await row.locator('strong').textContent();
    if (!mine.includes(title)) { out = row; break; }
  }
  assert.ok(out, 'an item out to someone else');
  await out.locator('button').focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /Hold placed|No hold placed/.test(document.body.textContent));
  assert.match(await page.textContent('main'), new RegExp(`Hold placed: ${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.`));
  await assertAccessible(page, 'a hold placed');
  const cancel = page.locator(`button[aria-label="Cancel the hold on ${title}"]`);
  await cancel.focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction((t) => document.body.textContent.includes(`Cancelled the hold on ${t}.`), title);
  page.check();
  await page.context_.close();
});
