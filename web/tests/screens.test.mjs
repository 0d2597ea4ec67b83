// Every screen of the UI, as the person it is for: no WCAG 2.1 AA violation (axe-core), and no
// sideways scrolling on a phone (360 px) or at 200% zoom (a 1280 px window shows 640 CSS px).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startLibrary, startBrowser, openPage, assertAccessible, heading, demo } from './harness.mjs';

let library;
let browser;

before(async () => {
  library = await startLibrary();
  browser = await startBrowser();
});

after(async () => {
  await browser?.close();
  await library?.stop();
});

const screens = {
  public: [['#/', 'Westport'], ['#/policy', 'Privacy'], ['#/transparency', 'Transparency'],
    ['#/enews', 'eNews'], ['#/enews/confirm', 'Confirm'], ['#/login', 'Staff log in'],
    ['#/login/patron', 'My account'], ['#/pin', 'Choose a new PIN']],
  patron: [['#/me', 'Hello'], ['#/me/history', 'Reading history'], ['#/me/permissions', 'Permissions'],
    ['#/me/notices', 'Notices'], ['#/me/data', 'My data'], ['#/me/pin', 'My PIN']],
  desk: [['#/desk', 'Check out'], ['#/desk/checkin', 'Check in'], ['#/desk/renew', 'Renew'],
    ['#/desk/fines', 'Fines'], ['#/desk/shelf', 'Hold shelf'], ['#/desk/computers', 'Public computers'],
    ['#/desk/register', 'Register a patron'], ['#/desk/pin', 'PIN reset'], ['#/desk/items', 'Items'],
    ['#/desk/request', 'Someone asks']],
};

async function signIn(page, who) {
  if (who === 'patron') {
    await page.goto(library.base + '/#/login/patron');
    await heading(page, 'My account');
    await page.fill('input[name=card_barcode]', demo.card);
    await page.fill('input[name=pin]', demo.pin);
    await page.keyboard.press('Enter');
    await heading(page, 'Hello');
  } else if (who === 'desk') {
    await page.goto(library.base + '/#/login');
    await heading(page, 'Staff log in');
    await page.fill('input[name=username]', 'desk');
    await page.fill('input[name=password]', demo.password);
    await page.keyboard.press('Enter');
    await heading(page, 'Check out');
  }
}

for (const [who, list] of Object.entries(screens)) {
  for (const width of [1280, 640, 360]) {
    test(`${who} screens at ${width} CSS pixels: accessible, nothing wider than the window`, async () => {
      const page = await openPage(browser, library.base, { width, height: 800 });
      await signIn(page, who);
      for (const [hash, title] of list) {
        await page.goto(`${library.base}/${hash}`);
        await heading(page, title);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        assert.ok(overflow <= 1, `${hash} at ${width}px scrolls sideways by ${overflow}px`);
        if (width !== 640) await assertAccessible(page, `${hash} at ${width}px`);
      }
      page.check();
      await page.context_.close();
    });
  }
}
