// The public pages in a real browser: hours, the policy and its history, the transparency
// report, the eNews and the login forms; each accessible, each keyboard-only, nothing asked of
// any other host.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { world, openPage, assertAccessible, heading, demo } from './harness.mjs';

const w = world();

test('the home page shows whether the library is open and the week\u2019s hours', async () => {
  const page = await openPage(w.browser, w.library.base);
  await page.goto(w.library.base + '/');
  await heading(page, 'The Westport Library');
  const text = await page.textContent('main');
  assert.match(text, /The library is (open|closed) now\./);
  assert.match(text, /The caf\u00e9 is (open|closed) now\./);
  assert.match(text, /20 Jesup Road/);
  for (const day of ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday']) {
    assert.ok(text.includes(day), day);
  }
  assert.match(await page.textContent('table.hours caption >> nth=0'), /Library hours/);
  assert.match(text, /1:00 PM to 5:00 PM/, 'Sunday afternoons');
  await assertAccessible(page, 'the home page');
  page.check();
  await page.context_.close();
});

test('a visitor to the public pages loads none of the patron\u2019s or staff\u2019s screens', async () => {
  const page = await openPage(w.browser, w.library.base);
  const scripts = [];
  page.on('request', (r) => { if (r.url().endsWith('.js')) scripts.push(new URL(r.url()).pathname.replace(/^\/assets\/[^/]+\//, '')); });
  await page.goto(w.library.base + '/');
  await heading(page, 'The Westport Library');
  await page.waitForLoadState('networkidle');
  const screens = scripts.filter((s) => s.startsWith('pages/')).sort();
  assert.deepEqual(screens, ['pages/login.js', 'pages/public.js']);
  // The desk's screens arrive when a desk screen is asked for.
  const desk = page.waitForRequest((r) => r.url().endsWith('/pages/desk.js'));
  await page.goto(w.library.base + '/#/desk');
  await desk;
  page.check();
  await page.context_.close();
});

test('the policy shows its history and what each version changed', async () => {
  const page = await openPage(w.browser, w.library.base);
  await page.goto(w.library.base + '/#/policy');
  await heading(page, 'Privacy');
  const history = await page.textContent('ol.history');
  for (const year of ['2003', '2007', '2010']) assert.ok(history.includes(year), year);
  assert.match(await page.textContent('.policy-text'), /Law Enforcement/i);
  await assertAccessible(page, 'the policy');
  // A version's changes, reached with the keyboard alone.
  const link = page.locator('ol.history a').nth(1);
  await link.focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => location.hash.startsWith('#/policy/'));
  await page.waitForSelector('main h2');
  const body = await page.textContent('main');
  assert.match(body, /What changed/);
  await assertAccessible(page, 'a policy version');
  page.check();
  await page.context_.close();
});

test('the transparency report is in words, with a table per question', async () => {
  const page = await openPage(w.browser, w.library.base);
  await page.goto(w.library.base + '/#/transparency');
  await heading(page, 'Transparency report');
  const text = await page.textContent('main');
  assert.match(text, /Who asked/);
  assert.match(text, /Declined: no court order or subpoena produced/);
  assert.doesNotMatch(text, /declined_no_process|law_enforcement/, 'no snake_case on screen');
  await assertAccessible(page, 'the transparency report');
  page.check();
  await page.context_.close();
});

test('eNews sign-up shows the refusal beside the field, then thanks', async () => {
  const page = await openPage(w.browser, w.library.base);
  await page.goto(w.library.base + '/#/enews');
  await heading(page, 'eNews');
  await page.keyboard.press('Tab');  // from the heading to the field
  await page.keyboard.type('not an address');
  await page.keyboard.press('Enter');
  const error = page.locator('.field-error');
  await error.waitFor();
  assert.match(await error.textContent(), /Email address: must be an email address/);
  assert.equal(await page.getAttribute('input[name=email]', 'aria-invalid'), 'true');
  await assertAccessible(page, 'an eNews refusal');
  await page.fill('input[name=email]', 'reader@example.org');
  await page.keyboard.press('Enter');
  await page.waitForSelector('.notice.success');
  assert.match(await page.textContent('.notice.success'), /confirm/);
  page.check();
  await page.context_.close();
});

test('a patron logs in with card and PIN using the keyboard only; a wrong PIN is refused in words', async () => {
  const page = await openPage(w.browser, w.library.base);
  await page.goto(w.library.base + '/#/login/patron');
  await heading(page, 'My account');
  await assertAccessible(page, 'the patron login');
  await page.keyboard.press('Tab');
  await page.keyboard.type(demo.card);
  await page.keyboard.press('Tab');
  await page.keyboard.type('000000');
  await page.keyboard.press('Enter');
  await page.waitForSelector('.form-summary:not([hidden])');
  assert.match(await page.textContent('.form-summary'), /not accepted/i);
  await page.fill('input[name=pin]', demo.pin);
  await page.keyboard.press('Enter');
  await page.waitForSelector('text=Patron: signed in');
  // Nothing about the patron went into the address or into browser storage.
  assert.ok(!page.url().includes(demo.card));
  const stored = await page.evaluate(() => [localStorage.length, sessionStorage.length]);
  assert.deepEqual(stored, [0, 0]);
  for (const url of page.requests) assert.ok(!url.includes(demo.card) && !url.includes(demo.pin), url);
  page.check();
  await page.context_.close();
});

test('staff log in, and the shell says who and offers log out', async () => {
  const page = await openPage(w.browser, w.library.base);
  await page.goto(w.library.base + '/#/login');
  await heading(page, 'Staff log in');
  await page.fill('input[name=username]', 'desk');
  await page.fill('input[name=password]', demo.password);
  await page.click('button[type=submit]');
  await page.waitForSelector('text=Front desk: desk');
  // A reload keeps the session (the cookie) and the right to change things (the CSRF token).
  await page.reload();
  await page.waitForSelector('text=Front desk: desk');
  await page.click('text=Log out');
  await page.waitForSelector('text=Log in');
  page.check();
  await page.context_.close();
});

test('every public page fits a phone-width screen and passes at 200% zoom', async () => {
  const page = await openPage(w.browser, w.library.base, { width: 360, height: 740 });
  for (const [hash, title] of [['#/', 'Westport'], ['#/policy', 'Privacy'], ['#/transparency', 'Transparency'], ['#/enews', 'eNews']]) {
    await page.goto(`${w.library.base}/${hash}`);
    await heading(page, title);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 1, `${hash} scrolls sideways by ${overflow}px`);
    await assertAccessible(page, `${hash} on a phone`);
  }
  page.check();
  await page.context_.close();
});
