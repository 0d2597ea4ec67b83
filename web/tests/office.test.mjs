// A whole law-enforcement request through the screens, by keyboard: the desk takes it in; the
// Director acknowledges it, consults counsel and refers the court order; counsel advises; the
// Director decides a partial release in the signature dialog after counting what it releases,
// builds the package and records its delivery; a trustee opens a review and reverses; the
// Director decides anew. Then what must not be reachable: another counsel's case, and a
// designee's steps outside the appointment. Axe-core on every screen.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  world, openPage, assertAccessible, heading, demo, apiCall, newAccount,
  press, tick, choose, staffPage, sign, tokenFor,
} from './harness.mjs';

const w = world();

const card = '21000000000002';

async function openCase(page, reference) {
  // By way of another screen, so that a case already open is drawn afresh.
  await page.goto(`${w.library.base}/#/`);
  await page.goto(`${w.library.base}/#/cases/${reference}`);
  await heading(page, `Request ${reference}`);
}

// Opens a step's form from "What can be done now".
async function step(page, name) {
  const button = page.locator('ul.steps button', { hasText: name });
  await button.waitFor();
  await press(page, button);
  await page.waitForSelector('.step-area form');
}

async function submitStep(page) {
  await press(page, page.locator('.step-area form .actions button'));
}

// The step's outcome, then the case drawn again ("Show the case as it is now").
async function stepDone(page, reference) {
  const done = page.locator('.notice.success', { hasText: 'The case is now' });
  await done.waitFor();
  const text = await done.textContent();
  await press(page, done.locator('a'));
  await heading(page, `Request ${reference}`);
  await page.waitForFunction(() => !document.querySelector('.step-area form'));
  return text;
}

function assertNoPatronInAddresses(page) {
  for (const url of page.requests) {
    assert.ok(!url.includes(card), `a card number in ${url}`);
  }
}

test('a court order goes from the desk to counsel, is partly released, reversed by the Board and decided anew', async () => {
  // The desk takes it in, looking nothing up.
  const desk = await staffPage(w.browser, w.library.base, 'desk');
  await desk.goto(`${w.library.base}/#/desk/request`);
  await heading(desk, 'Someone asks for patron information');
  await desk.getByLabel('Agency or organization').fill('State Police');
  await desk.getByLabel('Their name').fill('Detective on the case');
  await desk.getByLabel('Number to call them back').fill('203-555-0199');
  await desk.getByLabel('Where that number comes from').fill('the state directory');
  await desk.getByLabel('What they asked for').fill('what one card has out now');
  await desk.getByLabel('Library card numbers they named (one per line)').fill(card);
  await choose(desk, desk.getByLabel('Legal papers they showed'), 'court_order');
  await desk.getByLabel('Court or authority that issued them').fill('Superior Court');
  await press(desk, desk.getByRole('button', { name: 'Refer to the Director' }));
  const referred = await desk.locator('.notice.success').textContent();
  const reference = referred.match(/R-\d{4}-\d{4}/)[0];
  assertNoPatronInAddresses(desk);
  desk.check();

  // The Director: the inbox names it; acknowledge, consult counsel, refer.
  const director = await staffPage(w.browser, w.library.base, 'demo-director');
  await heading(director, 'Inbox');
  await assertAccessible(director, 'the Director\u2019s inbox');
  await press(director, director.locator('.deadlines a', { hasText: reference }).first());
  await heading(director, `Request ${reference}`);
  await assertAccessible(director, 'a new case');
  assert.deepEqual(await director.locator('ul.steps button').allTextContents(),
    ['Acknowledge the request', 'Record a nondisclosure order']);
  await step(director, 'Acknowledge the request');
  await submitStep(director);
  assert.match(await stepDone(director, reference), /acknowledged by the director/i);
  // The order's scan, attached (stored encrypted) and read back against its SHA-256.
  await press(director, director.locator('summary', { hasText: 'Attach a document' }));
  await director.getByLabel('Scanned file').setInputFiles({ name: 'court-order.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4 the order\n') });
  await press(director, director.getByRole('button', { name: 'Attach the document' }));
  await director.locator('.notice.success', { hasText: 'stored encrypted' }).waitFor();
  await openCase(director, reference);
  const [scan] = await Promise.all([
    director.waitForEvent('download'),
    press(director, director.getByRole('button', { name: 'court-order.pdf' })),
  ]);
  assert.equal(scan.suggestedFilename(), 'court-order.pdf');
  await step(director, 'Consult legal counsel');
  await director.getByLabel('What you asked counsel').fill('Is the order valid and how far must we go?');
  await submitStep(director);
  await stepDone(director, reference);
  await step(director, 'Refer the legal process to counsel');
  await submitStep(director);
  assert.match(await stepDone(director, reference), /court order to review/);

  // Counsel advises on their case.
  const counsel = await staffPage(w.browser, w.library.base, 'counsel');
  await heading(counsel, 'Inbox');
  await counsel.goto(`${w.library.base}/#/cases`);
  await heading(counsel, 'My cases');
  await assertAccessible(counsel, 'counsel\u2019s cases');
  await press(counsel, counsel.getByRole('link', { name: reference }));
  await heading(counsel, `Request ${reference}`);
  await assertAccessible(counsel, 'counsel\u2019s case file');
  assert.deepEqual(await counsel.locator('ul.steps button').allTextContents(), ['Record counsel\u2019s written advice']);
  await step(counsel, 'Record counsel\u2019s written advice');
  for (const label of ['The process is in proper form', 'The process is enforceable', 'A court order compels production']) {
    await tick(counsel, counsel.getByLabel(label));
  }
  await choose(counsel, counsel.getByLabel('Recommendation'), 'narrow');
  await counsel.getByLabel('Your written advice').fill('The order is valid. Produce the loans current today only.');
  await submitStep(counsel);
  await stepDone(counsel, reference);
  counsel.check();

  // The Director decides a partial release: the scope narrowed to loans, counted, then signed.
  await openCase(director, reference);
  await step(director, 'Decide: release, partial release or refusal');
  await assertAccessible(director, 'the decision form');
  for (const box of await director.locator('fieldset.scope input[name=category]').all()) {
    if ((await box.getAttribute('value')) !== 'loans' && await box.isChecked()) await tick(director, box);
  }
  // Signing before counting is refused beside the form, and nothing is signed.
  await submitStep(director);
  await director.locator('.form-summary', { hasText: 'Count the records' }).waitFor();
  await press(director, director.getByRole('button', { name: 'Count the records' }));
  const counted = await director.locator('.counts caption').textContent();
  assert.match(counted, /releases \d+ records? about 1 patron/);
  // A wrong password: the signature is refused, said beside the form, and nothing is signed.
  await submitStep(director);
  await sign(director, 'not my password at all');
  const refused = director.locator('.step-area .form-summary');
  await refused.waitFor();
  assert.match(await refused.textContent(), /password was not accepted; nothing was signed/);
  await submitStep(director);
  await sign(director);
  assert.match(await stepDone(director, reference), /decided and signed/i);
  assert.match(await director.locator('.decisions').textContent(), /Items checked out now; 1 patron/);

  // The package, its manifest and a download, then the delivery.
  await step(director, 'Build and sign the disclosure package');
  await submitStep(director);
  await sign(director);
  await stepDone(director, reference);
  await press(director, director.getByRole('button', { name: 'Show the manifest' }));
  await director.locator('caption', { hasText: 'Manifest' }).waitFor();
  const [download] = await Promise.all([
    director.waitForEvent('download'),
    press(director, director.getByRole('button', { name: 'Download manifest.json' })),
  ]);
  assert.equal(download.suggestedFilename(), `${reference}-manifest.json`);
  await step(director, 'Record the delivery of the package');
  await director.getByLabel('Delivered to').fill('Detective on the case, State Police');
  await director.getByLabel('How').fill('sealed envelope, by hand');
  await submitStep(director);
  assert.match(await stepDone(director, reference), /records delivered/i);
  await assertAccessible(director, 'a released case');

  // A trustee opens a review of the decision and reverses it with a signed ruling.
  const trustee = await staffPage(w.browser, w.library.base, 'trustee');
  await trustee.goto(`${w.library.base}/#/board`);
  await heading(trustee, 'Decisions to review');
  await assertAccessible(trustee, 'the decisions to review');
  const row = trustee.locator('tr', { hasText: reference }).filter({ hasText: 'Release decision' });
  await press(trustee, row.getByRole('button', { name: 'Open a review' }));
  await row.getByLabel('Why the Board reviews it').fill('A patron complained that more than the order asked was released.');
  await press(trustee, row.getByRole('button', { name: 'Open the review' }));
  await heading(trustee, 'Review ');
  await assertAccessible(trustee, 'an open review');
  await trustee.getByLabel('Your comment').fill('The order was stayed on appeal; counsel confirms.');
  await press(trustee, trustee.getByRole('button', { name: 'Add my comment' }));
  await trustee.locator('ol.comments li', { hasText: 'stayed on appeal' }).waitFor();
  await choose(trustee, trustee.getByLabel('Ruling'), 'reverse');
  await trustee.getByLabel('The Board\u2019s explanation').fill('The order was stayed on appeal before the release.');
  await press(trustee, trustee.getByRole('button', { name: 'Sign the ruling' }));
  await sign(trustee);
  await trustee.locator('.notice.success', { hasText: 'reversed' }).waitFor();
  trustee.check();

  // The Director sees the reversal on the decision it reverses, and decides anew: a refusal.
  await openCase(director, reference);
  assert.match(await director.locator('.decisions article').first().textContent(), /The Board\u2019s rulingReversed/);
  await step(director, 'Decide: release, partial release or refusal');
  await choose(director, director.locator('select[name=outcome]'), 'refuse');
  await submitStep(director);
  await sign(director);
  await stepDone(director, reference);
  assert.equal(await director.locator('.decisions article').count(), 2);
  assertNoPatronInAddresses(director);
  director.check();
  for (const p of [desk, director, counsel, trustee]) await p.context_.close();
});

test('a step the workflow refuses says why and changes nothing; a decline prints its letter', async () => {
  const director = await staffPage(w.browser, w.library.base, 'demo-director');
  const intake = await apiCall(w.library.base, 'POST', '/api/v1/requests', await tokenFor(w.library.base, 'desk'),
    { type: 'law_enforcement', agency: 'County Sheriff', callback_number: '203-555-0100', callback_source: 'the county directory', asked: 'anything on one card', process: 'none' });
  const reference = intake.body.reference;
  await openCase(director, reference);
  await step(director, 'Acknowledge the request');
  await submitStep(director);
  await stepDone(director, reference);
  await step(director, 'Consult legal counsel');
  await director.getByLabel('What you asked counsel').fill('No papers at all.');
  await submitStep(director);
  await stepDone(director, reference);
  // No process: decline is offered, referral to counsel is not.
  const offered = await director.locator('ul.steps button').allTextContents();
  assert.ok(offered.includes('Decline (no legal process was presented)'));
  assert.ok(!offered.some((t) => t.startsWith('Refer the legal process')));
  // A refusal without counsel's advice on file: refused in plain words, nothing written.
  await step(director, 'Decide: release, partial release or refusal');
  await choose(director, director.locator('select[name=outcome]'), 'refuse');
  await submitStep(director);
  await sign(director);
  const summary = director.locator('.step-area .form-summary');
  await summary.waitFor();
  assert.match(await summary.textContent(), /counsel's advice: none is recorded/);
  const seen = await apiCall(w.library.base, 'GET', `/api/v1/requests/${reference}`, await tokenFor(w.library.base, 'demo-director'));
  assert.equal(seen.body.decisions.length, 0);
  assert.equal(seen.body.state, 'counsel_consulted');
  // Cancelling the dialog sends nothing.
  await submitStep(director);
  await director.waitForSelector('dialog.sign[open]');
  await director.keyboard.press('Escape');
  await director.waitForSelector('dialog.sign', { state: 'detached' });
  // Declined: the letter is shown, ready to print.
  await step(director, 'Decline (no legal process was presented)');
  await submitStep(director);
  await stepDone(director, reference);
  const letter = director.frameLocator('iframe.letter');
  await letter.locator('body').waitFor();
  assert.match(await letter.locator('body').textContent(), /court order|subpoena/i);
  await assertAccessible(director, 'a declined case with its letter');
  director.check();
  await director.context_.close();
});

test('counsel cannot open another counsel\u2019s case, and sees no step on it', async () => {
  const other = await newAccount(w.library.base, 'second-counsel', 'counsel');
  const director = await tokenFor(w.library.base, 'demo-director');
  const desk = await tokenFor(w.library.base, 'desk');
  const intake = await apiCall(w.library.base, 'POST', '/api/v1/requests', desk,
    { type: 'law_enforcement', agency: 'State Police', callback_number: '203-555-0199', callback_source: 'the state directory', asked: 'one card', card_barcodes: [card], process: 'subpoena' });
  const reference = intake.body.reference;
  const base = `/api/v1/requests/${reference}`;
  assert.equal((await apiCall(w.library.base, 'POST', `${base}/acknowledge`, director, {})).status, 200);
  const keys = await apiCall(w.library.base, 'GET', '/api/v1/signing-keys', director);
  const first = keys.body.keys.find((k) => k.username === 'counsel').user_id;
  assert.equal((await apiCall(w.library.base, 'POST', `${base}/consult-counsel`, director, { counsel_id: first, consultation: 'a subpoena' })).status, 200);

  const page = await staffPage(w.browser, w.library.base, 'second-counsel', other.password);
  await heading(page, 'Inbox');
  await page.goto(`${w.library.base}/#/cases`);
  await heading(page, 'My cases');
  assert.equal(await page.getByRole('link', { name: reference }).count(), 0);
  await openCase(page, reference);
  assert.match(await page.locator('.notice').textContent(), /not yours to see/);
  assert.equal(await page.locator('ul.steps button').count(), 0);
  assert.ok(!(await page.locator('main').textContent()).includes('State Police'));
  await assertAccessible(page, 'a case refused to counsel');
  page.check();
  await page.context_.close();
});

test('a designee acts only inside the appointment: outside it, no request and no signing step', async () => {
  const deputy = await newAccount(w.library.base, 'deputy', 'staff');
  const director = await tokenFor(w.library.base, 'demo-director');
  const desk = await tokenFor(w.library.base, 'desk');
  const intake = await apiCall(w.library.base, 'POST', '/api/v1/requests', desk,
    { type: 'media', name: 'A reporter', contact: 'newsroom switchboard', asked: 'who borrowed a book' });
  const reference = intake.body.reference;
  const now = Date.now();
  const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  // An appointment for absences only, and the Director is not absent: it gives nothing now.
  const appointed = await apiCall(w.library.base, 'POST', '/api/v1/appointments', director,
    { designee_id: deputy.id, scope: 'absence', valid_from: iso(now - 3600e3), valid_to: iso(now + 86400e3), password: demo.password });
  assert.equal(appointed.status, 201, JSON.stringify(appointed.body));

  let page = await staffPage(w.browser, w.library.base, 'deputy', deputy.password);
  await heading(page, 'Check out');
  assert.ok(!(await page.locator('.shell').textContent()).includes('My work'));
  await openCase(page, reference);
  assert.match(await page.locator('main').textContent(), /not part of your role/);
  assert.equal(await page.locator('ul.steps button').count(), 0);
  await assertAccessible(page, 'a case outside the appointment');
  page.check();
  await page.context_.close();

  // Recorded absent now: the same designee sees the request and its steps.
  const absent = await apiCall(w.library.base, 'POST', '/api/v1/absences', director, { from: iso(now - 60e3), to: iso(now + 3600e3) });
  assert.equal(absent.status, 201, JSON.stringify(absent.body));
  page = await staffPage(w.browser, w.library.base, 'deputy', deputy.password);
  await heading(page, 'Inbox');
  await openCase(page, reference);
  const steps = await page.locator('ul.steps button').allTextContents();
  assert.ok(steps.includes('Acknowledge the request'), steps.join(', '));
  await assertAccessible(page, 'a case inside the appointment');
  page.check();
  await page.context_.close();
});

test('the desk records a search warrant executed on the spot; the Director finds it on the case', async () => {
  const desk = await staffPage(w.browser, w.library.base, 'desk');
  await desk.goto(`${w.library.base}/#/desk/request`);
  await heading(desk, 'Someone asks for patron information');
  await desk.getByLabel('Agency or organization').fill('Federal agents');
  await desk.getByLabel('Number to call them back').fill('203-555-0111');
  await desk.getByLabel('Where that number comes from').fill('the field office\u2019s published number');
  await desk.getByLabel('What they asked for').fill('the public computers\u2019 hard drives');
  await choose(desk, desk.getByLabel('Legal papers they showed'), 'search_warrant');
  await press(desk, desk.getByRole('button', { name: 'Refer to the Director' }));
  const reference = (await desk.locator('.notice.success').first().textContent()).match(/R-\d{4}-\d{4}/)[0];
  await desk.getByLabel(/^Officers present/).fill('Agent A, badge 101\nAgent B, badge 102');
  await desk.getByLabel(/^Computers or devices/).fill('public computer 3');
  await assertAccessible(desk, 'the warrant form at the desk');
  await press(desk, desk.getByRole('button', { name: 'Record the warrant' }));
  await desk.locator('.notice.success', { hasText: 'The warrant is recorded' }).waitFor();
  desk.check();
  await desk.context_.close();

  const director = await staffPage(w.browser, w.library.base, 'demo-director');
  await openCase(director, reference);
  assert.match(await director.locator('.facts').first().textContent(), /Search warrant executed on the spot/);
  assert.match(await director.locator('.timeline').textContent(), /Search warrant executed/);
  director.check();
  await director.context_.close();
});

test('the Director appoints a designee in writing and revokes the appointment', async () => {
  const deputy = await newAccount(w.library.base, 'stand-in', 'staff');
  const director = await staffPage(w.browser, w.library.base, 'demo-director');
  await director.goto(`${w.library.base}/#/appointments`);
  await heading(director, 'Designees');
  await choose(director, director.getByLabel('Staff member'), String(deputy.id));
  await choose(director, director.getByLabel('When they may act'), 'standing');
  const local = (ms) => new Date(ms - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  await director.locator('input[name=valid_from]').fill(local(Date.now() - 60e3));
  await director.locator('input[name=valid_to]').fill(local(Date.now() + 7 * 86400e3));
  await press(director, director.getByRole('button', { name: 'Sign the appointment' }));
  await sign(director);
  await director.locator('.notice.success', { hasText: 'signed' }).waitFor();
  await director.goto(`${w.library.base}/#/`);
  await director.goto(`${w.library.base}/#/appointments`);
  await heading(director, 'Designees');
  const row = director.locator('tr', { hasText: 'stand-in' });
  assert.match(await row.textContent(), /In force/);
  await assertAccessible(director, 'the appointments');

  let page = await staffPage(w.browser, w.library.base, 'stand-in', deputy.password);
  await heading(page, 'Inbox');
  assert.match(await page.locator('.shell').textContent(), /Designee of the Director/);
  await page.context_.close();

  await press(director, row.getByRole('button', { name: 'Revoke' }));
  await sign(director);
  await director.locator('.notice.success', { hasText: 'revoked' }).waitFor();
  page = await staffPage(w.browser, w.library.base, 'stand-in', deputy.password);
  await heading(page, 'Check out');
  await page.goto(`${w.library.base}/#/cases`);
  await heading(page, 'Requests for patron information');
  assert.match(await page.locator('main').textContent(), /not part of your role/);
  page.check();
  await page.context_.close();
  director.check();
  await director.context_.close();
});
