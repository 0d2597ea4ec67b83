// The Board's and the administrator's screens, and the Director's retention, by keyboard: a
// retention schedule edited and signed after its plan is shown; an amendment proposed beside the
// text in force and adopted by three trustees' signed ballots; a staff account the
// administrator creates and the Director approves; the audit log checked in the browser against
// the key printed at set-up, and a tampered proof caught; the printable pages printed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  world, assertAccessible, heading, demo, apiCall, newAccount, press, choose,
  staffPage, sign, tokenFor, expectDone,
} from './harness.mjs';

const w = world();

test('the Director edits the retention schedule, sees what it would remove, then signs it', async () => {
  const page = await staffPage(w.browser, w.library.base, 'demo-director');
  await page.goto(`${w.library.base}/#/retention`);
  await heading(page, 'Retention');
  await assertAccessible(page, 'the retention schedule');
  const table = await page.locator('table', { hasText: 'What is kept, and for how long' }).textContent();
  assert.match(table, /Who owed a fine.*Kept 30 days from payment or waiver, then deleted/);
  await press(page, page.locator('summary', { hasText: 'Change the schedule' }));
  await page.getByLabel(/^Who owed a fine/).fill('60');
  await page.getByLabel('Why the schedule changes').fill('The auditors asked for two months of settled fines.');
  // Signing before the plan is seen is refused beside the form.
  await press(page, page.getByRole('button', { name: 'Sign the new schedule' }));
  await page.locator('.form-summary', { hasText: 'See the plan first' }).waitFor();
  await press(page, page.getByRole('button', { name: 'Show what it would remove' }));
  await page.locator('caption', { hasText: 'Under this schedule' }).waitFor();
  await assertAccessible(page, 'a draft schedule and its plan');
  await press(page, page.getByRole('button', { name: 'Sign the new schedule' }));
  await sign(page);
  await page.locator('.notice.success', { hasText: 'Version 2 of the schedule is signed' }).waitFor();
  const now = await apiCall(w.library.base, 'GET', '/api/v1/retention/schedule', await tokenFor(w.library.base, 'demo-director'));
  assert.equal(now.body.version, 2);
  assert.equal(now.body.rules.find((r) => r.category === 'fine_link').days, 60);

  // A legal hold placed on one card's records, then released; each signed.
  await page.goto(`${w.library.base}/#/`);
  await page.goto(`${w.library.base}/#/retention`);
  await heading(page, 'Retention');
  await press(page, page.locator('summary', { hasText: 'Place a legal hold' }));
  await page.getByLabel('The patron\u2019s card number').fill('21000000000003');
  await page.getByLabel('Why', { exact: false }).last().fill('A lawsuit names this patron; counsel asked us to keep everything.');
  await press(page, page.getByRole('button', { name: 'Place the hold' }));
  await sign(page);
  const placed = await expectDone(page, 'is placed');
  const id = (await placed.textContent()).match(/Legal hold (\d+)/)[1];
  await press(page, placed.locator('a'));
  await heading(page, 'Retention');
  const row = page.locator('tr', { hasText: 'A lawsuit names this patron' });
  assert.match(await row.textContent(), /Standing/);
  assert.ok(!page.url().includes('21000000000003'));
  await press(page, row.getByRole('button', { name: 'Release' }));
  await sign(page);
  await expectDone(page, `Legal hold ${id} is released`);
  page.check();
  await page.context_.close();
});

test('three trustees adopt an amendment proposed beside the text in force', async () => {
  const second = await newAccount(w.library.base, 'trustee-two', 'board');
  const third = await newAccount(w.library.base, 'trustee-three', 'board', {
    approvers: [{ token: await tokenFor(w.library.base, 'trustee'), password: demo.password }, second],
  });
  const first = await staffPage(w.browser, w.library.base, 'trustee');
  await first.goto(`${w.library.base}/#/board/amendments`);
  await heading(first, 'Policy amendments');
  await assertAccessible(first, 'the amendments');
  await press(first, first.locator('summary', { hasText: 'Propose an amendment' }));
  const text = first.getByLabel('The full text proposed');
  const added = 'Patrons are told of any release of their records as soon as the law allows.';
  await text.fill(`${await text.inputValue()}\n${added}`);
  await first.getByLabel('What changes, in a sentence or two').fill('Patrons are told of releases.');
  await press(first, first.getByRole('button', { name: 'Compare with the text in force' }));
  const diff = first.locator('table.side-by-side');
  await diff.waitFor();
  assert.match(await diff.locator('tr.added').textContent(), new RegExp(added));
  await assertAccessible(first, 'a proposal beside the text in force');
  await press(first, first.getByRole('button', { name: 'Propose', exact: true }));
  await heading(first, 'Proposal ');
  const proposal = first.url().match(/amendments\/(\d+)/)[1];

  const voters = [
    [first, 'for', demo.password],
    [await staffPage(w.browser, w.library.base, 'trustee-two', second.password), 'for', second.password],
    [await staffPage(w.browser, w.library.base, 'trustee-three', third.password), 'against', third.password],
  ];
  for (const [page, vote, password] of voters) {
    await page.goto(`${w.library.base}/#/board/amendments/${proposal}`);
    await heading(page, `Proposal ${proposal}`);
    await choose(page, page.getByLabel('Your vote'), vote);
    await press(page, page.getByRole('button', { name: 'Sign my ballot' }));
    await sign(page, password);
    await expectDone(page, 'ballot is signed');
    page.check();
    if (page !== first) await page.context_.close();
  }
  await first.goto(`${w.library.base}/#/board`);
  await first.goto(`${w.library.base}/#/board/amendments/${proposal}`);
  await heading(first, `Proposal ${proposal}`);
  assert.match(await first.locator('main').textContent(), /2 for, 1 against, 0 abstaining/);
  await assertAccessible(first, 'a proposal with its ballots');
  assert.match(await first.getByLabel('Date of the Board meeting').inputValue(), /^\d{4}-\d{2}-\d{2}$/, 'today, by default');
  await press(first, first.getByRole('button', { name: 'Close the vote' }));
  await sign(first);
  await expectDone(first, 'Adopted');
  const policy = await apiCall(w.library.base, 'GET', '/api/v1/policy');
  assert.ok(policy.body.text.includes(added));
  first.check();
  await first.context_.close();
});

test('the administrator creates a staff account that the Director approves; the administrator sees no patron', async () => {
  const admin = await staffPage(w.browser, w.library.base, 'demo-admin');
  await heading(admin, 'User accounts');
  await assertAccessible(admin, 'the user accounts');
  await admin.getByLabel('Username').fill('new-clerk');
  await choose(admin, admin.getByLabel('Role'), 'staff');
  await admin.getByLabel('A first password').fill('a-first-password-for-the-clerk');
  await press(admin, admin.getByRole('button', { name: 'Create the account' }));
  await expectDone(admin, 'works once the Director approves it');
  // A refusal is shown beside the field it names.
  await admin.getByLabel('Username').fill('new-clerk');
  await admin.getByLabel('A first password').fill('short');
  await press(admin, admin.getByRole('button', { name: 'Create the account' }));
  const beside = admin.locator('.field-error:not([hidden])');
  await beside.first().waitFor();
  assert.match(await beside.first().textContent(), /A first password: .*at least 10/);
  assert.equal(await admin.getByLabel('A first password').getAttribute('aria-invalid'), 'true');
  await admin.goto(`${w.library.base}/#/admin/server`);
  await heading(admin, 'Server');
  await assertAccessible(admin, 'the server\u2019s standing');
  const standing = await admin.locator('main').textContent();
  assert.match(standing, /Audit log\d+ entries/);
  assert.match(standing, /Last backup of the dataNone recorded/);
  // Nothing about any patron on any administrator screen, nor in what the screens asked for.
  const patrons = await apiCall(w.library.base, 'POST', '/api/v1/patrons/search', await tokenFor(w.library.base, 'desk'), { card_barcode: demo.card });
  const name = patrons.body.patrons[0].name;
  for (const hash of ['#/admin', '#/admin/server']) {
    await admin.goto(`${w.library.base}/${hash}`);
    await admin.waitForTimeout(300);
    assert.ok(!(await admin.locator('body').textContent()).includes(name));
  }
  assert.ok(admin.requests.every((u) => !u.includes('/patrons')));
  admin.check();
  await admin.context_.close();

  const director = await staffPage(w.browser, w.library.base, 'demo-director');
  await director.goto(`${w.library.base}/#/approvals`);
  await heading(director, 'Accounts to approve');
  await assertAccessible(director, 'the accounts to approve');
  const line = director.locator('ul.approvals li', { hasText: 'new-clerk' });
  await line.waitFor().catch(async () => { throw new Error(`not listed: ${await director.locator('main').innerText()}`); });
  await press(director, line.getByRole('button', { name: 'Approve' }));
  await sign(director);
  await expectDone(director, 'new-clerk is approved');
  director.check();
  await director.context_.close();
  const login = await apiCall(w.library.base, 'POST', '/api/v1/session', null, { username: 'new-clerk', password: 'a-first-password-for-the-clerk' });
  assert.equal(login.status, 201);
});

test('a trustee checks the audit log in the browser with the key printed at set-up, and a tampered proof is caught', async () => {
  assert.ok(w.library.auditKey, 'init printed the audit log key');
  const page = await staffPage(w.browser, w.library.base, 'trustee');
  await page.goto(`${w.library.base}/#/audit`);
  await heading(page, 'Audit log');
  // The key as the trustee saved it once, in a file of their own.
  await page.getByLabel('Or load the key from the file you saved it in').setInputFiles({
    name: 'audit-log-key.txt', mimeType: 'text/plain', buffer: Buffer.from(`${w.library.auditKey}\n`),
  });
  await page.locator('.notice.success', { hasText: 'The key is set' }).waitFor();
  assert.equal(await page.getByLabel('The log\u2019s verifier key').inputValue(), w.library.auditKey);
  await press(page, page.getByRole('button', { name: 'Search the log' }));
  const verified = page.locator('.notice.success', { hasText: 'Checked in this browser' });
  await verified.waitFor({ timeout: 20000 });
  assert.match(await verified.textContent(), /every entry shown \(25\) is in it/);
  await assertAccessible(page, 'the audit log, verified');

  // Another key than the library's: nothing verifies.
  const other = w.library.auditKey.replace(/\+[0-9a-f]{8}\+/, '+00000000+');
  await page.getByLabel('The log\u2019s verifier key').fill(other);
  await press(page, page.getByRole('button', { name: 'Use this key' }));
  await press(page, page.getByRole('button', { name: 'Search the log' }));
  await page.locator('.notice', { hasText: 'The log does not verify' }).waitFor({ timeout: 20000 });

  // The right key, and a server that alters one proof: that entry is flagged.
  await page.getByLabel('The log\u2019s verifier key').fill(w.library.auditKey);
  await press(page, page.getByRole('button', { name: 'Use this key' }));
  await page.route('**/api/v1/audit/proof?*', async (route) => {
    const res = await route.fetch();
    const body = await res.json();
    if (body.index === 4 && body.inclusion_path.length) {
      body.inclusion_path[0] = body.inclusion_path[0].startsWith('A') ? `B${body.inclusion_path[0].slice(1)}` : `A${body.inclusion_path[0].slice(1)}`;
    }
    await route.fulfill({ response: res, body: JSON.stringify(body) });
  });
  await press(page, page.getByRole('button', { name: 'Search the log' }));
  const warning = page.locator('.notice', { hasText: 'do not verify' });
  await warning.waitFor({ timeout: 20000 });
  assert.match(await warning.textContent(), /1 of the 25 entries shown do not verify/);
  const flagged = page.locator('tr', { has: page.locator('td.check.bad') });
  assert.equal(await flagged.count(), 1);
  assert.match(await flagged.locator('td').first().textContent(), /^4$/);
  await page.unroute('**/api/v1/audit/proof?*');
  // Searching by request: only its entries.
  await page.getByLabel('Request (for example R-2026-0001)').fill('R-2026-0001');
  await press(page, page.getByRole('button', { name: 'Search the log' }));
  await page.locator('.notice.success', { hasText: 'Checked in this browser' }).waitFor({ timeout: 20000 });
  const cases = await page.locator('table.audit tbody tr').allTextContents();
  assert.ok(cases.length > 0 && cases.every((t) => t.includes('R-2026-0001')));
  const stored = await page.evaluate(() => [localStorage.length, sessionStorage.length]);
  assert.deepEqual(stored, [0, 0], 'nothing in browser storage');
  page.check();
  await page.context_.close();
});

test('the decline letter, a signed decision, the disclosure manifest and the transparency report print cleanly', async () => {
  const page = await staffPage(w.browser, w.library.base, 'demo-director');
  // The demo's declined request and its letter, as printed.
  const letter = await page.context().newPage();
  await letter.goto(`${w.library.base}/api/v1/requests/R-2026-0001/letter`);
  await letter.emulateMedia({ media: 'print' });
  const letterText = await letter.locator('body').innerText();
  assert.match(letterText, /R-2026-0001/);
  assert.ok(!letterText.includes('21000000000002'));
  await letter.close();

  // A signed decision printed alone: the page's menus, forms and other sections are not printed.
  await page.goto(`${w.library.base}/#/cases/R-2026-0002`);
  await heading(page, 'Request R-2026-0002');
  await page.emulateMedia({ media: 'print' });
  const decision = page.locator('.decisions article').first();
  await decision.evaluate((el) => { el.classList.add('print-this'); document.body.classList.add('print-part'); });
  assert.ok(await decision.isVisible());
  assert.match(await decision.innerText(), /Signed by\s+demo-director/);
  assert.ok(!(await decision.innerText()).includes('Print decision'));
  for (const hidden of ['.shell', '.subnav', 'ul.steps', '.footer']) {
    assert.equal(await page.locator(hidden).first().isVisible(), false, `${hidden} is not printed`);
  }
  const shown = await page.evaluate(() => [...document.querySelectorAll('main h2')].filter((e) => getComputedStyle(e).visibility === 'visible').length);
  assert.equal(shown, 0, 'no other section is printed');
  await decision.evaluate((el) => { el.classList.remove('print-this'); document.body.classList.remove('print-part'); });

  // The manifest, shown and printed the same way.
  await page.emulateMedia({ media: 'screen' });
  await press(page, page.getByRole('button', { name: 'Show the manifest' }));
  await page.locator('caption', { hasText: 'Manifest' }).waitFor();
  await page.emulateMedia({ media: 'print' });
  const pkg = page.locator('article', { hasText: 'Disclosure package of request' });
  await pkg.evaluate((el) => { el.classList.add('print-this'); document.body.classList.add('print-part'); });
  assert.match(await pkg.innerText(), /disclosure\.json\s+[0-9a-f]{64}/);
  assert.equal(await page.locator('.files').isVisible(), false);

  // The transparency report, public, as printed.
  const report = await page.context().newPage();
  await report.goto(`${w.library.base}/#/transparency`);
  await heading(report, 'Transparency');
  await report.emulateMedia({ media: 'print' });
  assert.equal(await report.locator('.shell').isVisible(), false);
  assert.match(await report.locator('main').innerText(), /20\d\d/);
  await report.close();
  page.check();
  await page.context_.close();
});
