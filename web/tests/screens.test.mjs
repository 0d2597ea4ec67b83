// Every screen of the UI, as the person it is for: no WCAG 2.1 AA violation (axe-core), and no
// sideways scrolling on a phone (360 px) or at 200% zoom (a 1280 px window shows 640 CSS px).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { world, loginStaff, loginPatron, openPage, assertAccessible, heading } from './harness.mjs';

const w = world();

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
  'demo-director': [['#/office', 'Inbox'], ['#/cases', 'Requests for patron information'],
    ['#/cases/R-2026-0001', 'Request R-2026-0001'], ['#/cases/R-2026-0002', 'Request R-2026-0002'],
    ['#/cases/R-2026-0003', 'Request R-2026-0003'], ['#/appointments', 'Designees'],
    ['#/retention', 'Retention'], ['#/approvals', 'Accounts to approve'], ['#/audit', 'Audit log']],
  counsel: [['#/office', 'Inbox'], ['#/cases', 'My cases'], ['#/cases/R-2026-0002', 'Request R-2026-0002']],
  trustee: [['#/office', 'Inbox'], ['#/board', 'Decisions to review'], ['#/board/amendments', 'Policy amendments'],
    ['#/approvals', 'Accounts to approve'], ['#/appointments', 'Designees'], ['#/retention', 'Retention'],
    ['#/audit', 'Audit log']],
  'demo-admin': [['#/admin', 'User accounts'], ['#/admin/server', 'Server']],
};

async function signIn(page, who) {
  if (who === 'patron') await loginPatron(page, w.library.base);
  else if (who !== 'public') await loginStaff(page, w.library.base, who);
}

// One log-in per person (the server allows few a minute from one address), the window resized.
for (const [who, list] of Object.entries(screens)) {
  test(`${who} screens at 1280, 640 and 360 CSS pixels: accessible, nothing wider than the window`, async () => {
    const page = await openPage(w.browser, w.library.base, { width: 1280, height: 800 });
    await signIn(page, who);
    for (const width of [1280, 640, 360]) {
      await page.setViewportSize({ width, height: 800 });
      for (const [hash, title] of list) {
        // By way of the home page, so that each screen is drawn afresh at this width.
        await page.goto(`${w.library.base}/#/`);
        await page.goto(`${w.library.base}/${hash}`);
        await heading(page, title);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        assert.ok(overflow <= 1, `${hash} at ${width}px scrolls sideways by ${overflow}px`);
        if (width !== 640) await assertAccessible(page, `${hash} at ${width}px`);
      }
    }
    page.check();
    await page.context_.close();
  });
}
