// `make screenshots`: a PNG of each main screen of the web UI, on a freshly seeded demo library,
// written to docs/screenshots/ (the README shows them). Not a test; run by hand.

import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLibrary, startBrowser, openPage, heading, demo, loginStaff, loginPatron } from './harness.mjs';

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
  await loginPatron(page, library.base);
  await shot('portal');
  await page.click('text=Log out');
  await heading(page, 'Westport');
  await loginStaff(page, library.base, 'desk');
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
  await page.context_.close();

  // The office: the Director's inbox and a case, counsel's case file, the Board's decisions and
  // an amendment beside the text in force, the audit log checked in the browser, the
  // administrator's accounts and server.
  const as = async (username, steps) => {
    const p = await openPage(browser, library.base, { width: 1100, height: 800 });
    await loginStaff(p, library.base, username);
    for (const [hash, title, name, before] of steps) {
      await p.goto(`${library.base}/#/`);
      await p.goto(`${library.base}/${hash}`);
      await heading(p, title);
      if (before) await before(p);
      await p.waitForTimeout(300);
      await p.screenshot({ path: join(out, `${name}.png`) });
    }
    await p.context_.close();
  };
  const trustee = (await call('POST', '/api/v1/session', null, { username: 'trustee', password: demo.password })).token;
  const policy = await call('GET', '/api/v1/policy');
  await call('POST', '/api/v1/policy/proposals', trustee, {
    title: policy.title, summary: 'Patrons are told of releases as soon as the law allows.',
    text: `${policy.text}\nPatrons are told of any release of their records as soon as the law allows.`,
  });
  await as('demo-director', [
    ['#/office', 'Inbox', 'director-inbox'],
    ['#/cases/R-2026-0002', 'Request R-2026-0002', 'director-case'],
    ['#/cases/R-2026-0003', 'Request R-2026-0003', 'director-steps', async (p) => {
      await p.locator('ul.steps button', { hasText: 'Acknowledge' }).click();
      await p.locator('.step-area form button[type=submit]').click();
      await p.locator('.notice.success a').click();
      await heading(p, 'Request R-2026-0003');
    }],
    ['#/retention', 'Retention', 'director-retention'],
  ]);
  await as('counsel', [['#/cases/R-2026-0002', 'Request R-2026-0002', 'counsel-case']]);
  await as('trustee', [
    ['#/board', 'Decisions to review', 'board-decisions'],
    ['#/board/amendments/1', 'Proposal 1', 'board-amendment', async (p) => {
      await p.locator('table.side-by-side tr.added').first().scrollIntoViewIfNeeded();
    }],
    ['#/audit', 'Audit log', 'board-audit', async (p) => {
      await p.getByLabel('The log\u2019s verifier key').fill(library.auditKey);
      await p.getByRole('button', { name: 'Use this key' }).click();
      await p.getByRole('button', { name: 'Search the log' }).click();
      await p.locator('.notice.success', { hasText: 'Checked in this browser' }).waitFor({ timeout: 20000 });
      await p.locator('details', { hasText: 'The key this page' }).evaluate((d) => { d.open = false; });
    }],
  ]);
  await as('demo-admin', [['#/admin', 'User accounts', 'admin-users'], ['#/admin/server', 'Server', 'admin-server']]);
  console.log(`screenshots written to ${out}`);
} finally {
  await browser.close();
  await library.stop();
}
