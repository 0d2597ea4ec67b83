// The front desk in a real browser, as a scanner drives it (it types and presses Enter): three
// items checked out one after another, one checked in with a hold trapped, a patron registered
// after a refusal shown beside its fields, and a police request taken in without any lookup.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { world, press, loginStaff, openPage, assertAccessible, heading, demo, apiCall } from './harness.mjs';

let desk;
let available = [];

const w = world(undefined, async () => {
  desk = (await api('POST', '/api/v1/session', null, { username: 'desk', password: demo.password })).body.token;
  const found = await api('POST', '/api/v1/catalogue/search', null, { terms: 'e' });
  available = found.body.items.filter((i) => i.status === 'available');
  assert.ok(available.length >= 5);
});
const api = (method, path, token, body) => apiCall(w.library.base, method, path, token, body);

async function atDesk() {
  const page = await openPage(w.browser, w.library.base);
  await loginStaff(page, w.library.base, 'desk');
  await heading(page, 'Check out');
  return page;
}

test('the desk checks out three items by scanning, one after another', async () => {
  const page = await atDesk();
  await assertAccessible(page, 'the checkout screen');
  // The scanner types into whatever has the focus, then Enter.
  await page.keyboard.type('21000000000002');
  await page.keyboard.press('Enter');
  await page.waitForSelector('.patron-summary dl');
  for (const item of available.slice(0, 3)) {
    await page.keyboard.type(item.barcode);
    await page.keyboard.press('Enter');
  }
  await page.waitForFunction(() => document.querySelectorAll('.scanned li').length === 3);
  const lines = await page.locator('.scanned li').allTextContents();
  for (const [i, item] of available.slice(0, 3).entries()) {
    assert.ok(lines[i].includes(item.title) && /due /.test(lines[i]), lines[i]);
  }
  // The same item again is refused in words, and the focus stays in the field.
  await page.keyboard.type(available[0].barcode);
  await page.keyboard.press('Enter');
  await page.waitForSelector('.scanned li.refused');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'item');
  await assertAccessible(page, 'a checkout in progress');
  page.check();
  await page.context_.close();
});

test('a check-in traps a hold for the hold shelf', async () => {
  const item = available[3];
  assert.equal((await api('POST', '/api/v1/loans', desk, { item_barcode: item.barcode, card_barcode: '21000000000003' })).status, 201);
  assert.equal((await api('POST', '/api/v1/holds', desk, { item_barcode: item.barcode, card_barcode: '21000000000004' })).status, 201);
  const page = await atDesk();
  await page.keyboard.press('Alt+I');
  await heading(page, 'Check in');
  await page.waitForFunction(() => document.activeElement?.id === 'item');
  await page.keyboard.type(item.barcode);
  await page.keyboard.press('Enter');
  await page.waitForSelector('.scanned li.hold');
  assert.match(await page.textContent('.scanned li.hold'), /Put it on the hold shelf for pickup/);
  await assertAccessible(page, 'a check-in');
  page.check();
  await page.context_.close();
});

test('registering a patron shows refusals beside the fields and saves nothing, then registers', async () => {
  const page = await atDesk();
  await press(page, 'text=Register a patron');
  await heading(page, 'Register a patron');
  await page.fill('input[name=card_barcode]', '21999999999999');
  await page.fill('input[name=email]', 'not-an-address');
  await page.fill('input[name=expires_on]', '31/12/2029');
  await press(page, 'button:has-text("Register")');
  await page.waitForSelector('.form-summary:not([hidden])');
  const errors = await page.locator('.field-error:not([hidden])').allTextContents();
  assert.ok(errors.some((e) => /Full name: must not be empty|Full name: is required/.test(e)), errors.join('|'));
  assert.ok(errors.some((e) => /Email: must be an email address/.test(e)), errors.join('|'));
  assert.ok(errors.some((e) => /must be a date/.test(e)), errors.join('|'));
  await assertAccessible(page, 'a refused registration');
  const none = await api('POST', '/api/v1/patrons/search', desk, { card_barcode: '21999999999999' });
  assert.equal(none.body.patrons.length, 0, 'nothing saved');
  await page.fill('input[name=name]', 'Avery New');
  await page.fill('input[name=email]', 'avery@example.org');
  await page.fill('input[name=expires_on]', '2029-12-31');
  await press(page, 'button:has-text("Register")');
  await page.waitForSelector('.notice.success');
  assert.match(await page.textContent('.notice.success'), /Registered: Avery New/);
  page.check();
  await page.context_.close();
});

test('a police request is taken in with the script, and no patron is looked up', async () => {
  const page = await atDesk();
  await press(page, 'text=Someone asks for patron information');
  await heading(page, 'Someone asks for patron information');
  assert.match(await page.textContent('.script'), /release nothing/i);
  await assertAccessible(page, 'the request intake');
  const before = page.requests.length;
  await page.selectOption('select[name=type]', 'law_enforcement');
  await page.fill('input[name=agency]', 'County Police');
  await page.fill('input[name=name]', 'Officer on duty');
  await page.fill('input[name=callback_number]', '555-0100');
  await page.fill('input[name=callback_source]', 'the county\u2019s published directory');
  await page.fill('textarea[name=asked]', 'Who borrowed a book last week');
  await page.selectOption('select[name=process]', 'none');
  await press(page, 'button:has-text("Refer to the Director")');
  await page.waitForSelector('.notice.success');
  const text = await page.textContent('.notice.success');
  assert.match(text, /Referred to the Director as R-\d{4}-\d+/);
  assert.match(text, /I must refer your request to the Library Director/);
  const asked = page.requests.slice(before).map((u) => new URL(u).pathname);
  assert.ok(!asked.some((p) => p.startsWith('/api/v1/patrons')), asked.join(' '));
  page.check();
  await page.context_.close();
});

test('the hold shelf lists what waits for whom; computers are started and ended at the desk', async () => {
  const item = available[4];
  assert.equal((await api('POST', '/api/v1/loans', desk, { item_barcode: item.barcode, card_barcode: '21000000000005' })).status, 201);
  assert.equal((await api('POST', '/api/v1/holds', desk, { item_barcode: item.barcode, card_barcode: '21000000000006' })).status, 201);
  assert.equal((await api('POST', '/api/v1/loans/checkin', desk, { item_barcode: item.barcode })).status, 200);
  const page = await atDesk();
  await press(page, 'text=Hold shelf');
  await heading(page, 'Hold shelf');
  const row = page.locator('table.list tbody tr', { hasText: item.title });
  assert.equal(await row.count(), 1);
  assert.match(await row.textContent(), /0006/);
  await assertAccessible(page, 'the hold shelf');
  await press(page, 'nav >> text=Computers');
  await heading(page, 'Public computers');
  await page.fill('input[name=card_barcode]', '21000000000007');
  await page.fill('input[name=station]', '3');
  await page.keyboard.press('Enter');
  await page.waitForSelector('button[aria-label="End the session on station 3"]');
  await assertAccessible(page, 'the public computers');
  await press(page, 'button[aria-label="End the session on station 3"]');
  await page.waitForSelector('text=No computer is in use.');
  page.check();
  await page.context_.close();
});

test('items are added, marked missing and withdrawn at the desk; the desk knows its idle time', async () => {
  const page = await atDesk();
  assert.equal(await page.evaluate(async () => (await (await fetch('/api/v1/session')).json()).desk_idle_minutes), 10);
  await press(page, 'nav >> text=Items');
  await heading(page, 'Items');
  await page.fill('input[name=barcode]', 'NEW-0001');
  await page.fill('input[name=title]', 'A Brand New Book');
  await press(page, 'button:has-text("Add the item")');
  await page.waitForSelector('text=Added: A Brand New Book (NEW-0001).');
  await assertAccessible(page, 'the items screen');
  await page.fill('#missing', 'NEW-0001');
  await page.press('#missing', 'Enter');
  await page.waitForSelector('text=NEW-0001: marked missing.');
  await page.fill('#withdraw', 'NEW-0001');
  await page.press('#withdraw', 'Enter');
  await page.waitForSelector('text=NEW-0001: withdrawn from circulation.');
  const item = await api('GET', '/api/v1/items/NEW-0001', desk);
  assert.equal(item.body.status, 'withdrawn');
  page.check();
  await page.context_.close();
});

test('a fine from an overdue return is paid at the desk', async () => {
  // An overdue loan of the demo library, returned: it leaves a fine.
  const today = new Date().toISOString().slice(0, 10);
  let card = null;
  for (let n = 1; n <= 30 && !card; ++n) {
    const c = `2100${String(n).padStart(10, '0')}`;
    const found = await api('POST', '/api/v1/patrons/search', desk, { card_barcode: c });
    const patron = found.body.patrons[0];
    if (!patron) continue;
    const loans = await api('GET', `/api/v1/patrons/${patron.id}/loans`, desk);
    for (const loan of loans.body.loans) {
      if (loan.due_on >= today) continue;
      const back = await api('POST', '/api/v1/loans/checkin', desk, { item_barcode: loan.item_barcode });
      if (back.body.fine_cents > 0) { card = c; break; }
    }
  }
  assert.ok(card, 'the demo library has an overdue loan with a fine');
  const page = await atDesk();
  await press(page, 'nav >> text=Fines');
  await heading(page, 'Fines');
  await page.waitForFunction(() => document.activeElement?.id === 'card');
  await page.keyboard.type(card);
  await page.keyboard.press('Enter');
  await page.waitForSelector('ul.fines li');
  await assertAccessible(page, 'a patron\u2019s fines');
  const before = await page.locator('ul.fines li').count();
  await press(page, 'button:has-text("Record payment")');
  await page.waitForSelector('text=recorded.');
  assert.equal(await page.locator('ul.fines li').count(), before - 1);
  page.check();
  await page.context_.close();
});

test('the desk clears itself after the idle time: the patron on screen is gone', async () => {
  const page = await openPage(w.browser, w.library.base);
  await page.clock.install();
  await page.goto(w.library.base + '/#/login');
  await heading(page, 'Staff log in');
  await page.fill('input[name=username]', 'desk');
  await page.fill('input[name=password]', demo.password);
  await page.keyboard.press('Enter');
  await heading(page, 'Check out');
  await page.waitForFunction(() => document.activeElement?.id === 'card');
  await page.keyboard.type('21000000000002');
  await page.keyboard.press('Enter');
  await page.waitForSelector('.patron-summary dl');
  await page.clock.fastForward('09:00');
  assert.equal(await page.locator('.patron-summary dl').count(), 1, 'still there after nine minutes');
  await page.clock.fastForward('02:00');
  await page.waitForFunction(() => !document.querySelector('.patron-summary dl') && document.getElementById('card'));
  page.check();
  await page.context_.close();
});
