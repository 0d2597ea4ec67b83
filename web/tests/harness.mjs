// The browser tests' world: a demo library of its own, `carrel serve` on a free loopback port,
// and Debian's Chromium driven by playwright-core. Every request the page makes is recorded: a
// test fails if any goes to another host, or if the page logs an error (a refused script or
// style, a failed request, an exception).

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
export const carrel = process.env.CARREL_BINARY || join(root, 'build', 'release', 'carrel');
const axeSource = readFileSync(join(here, '..', 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

export const demo = { password: 'westport-demo-2026', card: '21000000000001', pin: '246810' };

function run(args) {
  const r = spawnSync(carrel, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `carrel ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

// A seeded library and its server; stop() ends both.
export async function startLibrary({ items = 60 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'carrel-web-'));
  const data = join(dir, 'lib');
  const init = run(['init', '--data', data]);
  const auditKey = (init.match(/audit log key: (\S+)/) || [])[1];
  run(['demo', 'seed', '--data', data, '--patrons', '30', '--items', String(items), '--loans', '200', '--seed', '11']);
  // Every test logs in from the one loopback address, many times a minute.
  const server = spawn(carrel, ['serve', '--data', data, '--listen', '127.0.0.1:0', '--logins-per-minute', '1000'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CARREL_CHECK_CONTRACT: '1' },
  });
  const base = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no serving line: ${out}`)), 20000);
    server.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/serving .* at (http:\/\/127\.0\.0\.1:\d+)\//);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    server.on('exit', (code) => reject(new Error(`carrel serve exited ${code}: ${out}`)));
  });
  let errors = '';
  server.stderr.on('data', (chunk) => { errors += chunk; });
  return {
    base,
    data,
    auditKey,
    serverLog: () => errors,
    async stop() {
      server.kill('SIGTERM');
      await new Promise((resolve) => server.once('exit', resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// A test file's world: its own library and a browser, started before its tests and stopped after
// them. The fields are set once the tests run.
// `setup`, when given, runs once both are up (hooks of a file are not ordered among themselves).
export function world(options, setup) {
  const w = { library: null, browser: null };
  before(async () => {
    w.library = await startLibrary(options);
    w.browser = await startBrowser();
    if (setup) await setup(w);
  });
  after(async () => {
    await w.browser?.close();
    await w.library?.stop();
  });
  return w;
}

export async function startBrowser() {
  return chromium.launch({
    executablePath: process.env.CARREL_CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-default-apps', '--disable-extensions'],
  });
}

// A page on `base` that records what it asks for and what it complains about.
export async function openPage(browser, base, { width = 1280, height = 900 } = {}) {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  const requests = [];
  const problems = [];
  page.on('request', (r) => requests.push(r.url()));
  // A refusal of the API (4xx) is the page's business to show, and the browser logs it as an
  // error; anything else logged as an error is a problem, and so is a file of the UI that does
  // not load or a server error.
  page.on('console', (m) => {
    if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) {
      problems.push(`console: ${m.text()}`);
    }
  });
  page.on('response', (r) => {
    const api = new URL(r.url()).pathname.startsWith('/api/');
    if (r.status() >= 500 || (r.status() >= 400 && !api)) problems.push(`${r.status()}: ${r.url()}`);
  });
  page.on('pageerror', (e) => problems.push(`exception: ${e.message}`));
  // A request cut short because the page moved on (net::ERR_ABORTED) is no fault of the page.
  page.on('requestfailed', (r) => {
    if (!/ERR_ABORTED/.test(r.failure()?.errorText || '')) problems.push(`failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  page.check = () => {
    const elsewhere = requests.filter((u) => !u.startsWith(base + '/') && !u.startsWith(`blob:${base}/`));
    assert.deepEqual(elsewhere, [], 'the page asked another host');
    assert.deepEqual(problems, [], 'the page reported errors');
  };
  page.requests = requests;
  page.context_ = context;
  return page;
}

// axe-core on the page as it is now: WCAG 2.1 A and AA rules, no violation allowed. (Evaluated
// through the DevTools protocol, which the page's Content-Security-Policy does not govern.)
export async function assertAccessible(page, what) {
  await page.evaluate(`${axeSource}\n;0`);
  const result = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
  }));
  const found = result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join('; ')})`);
  assert.deepEqual(found, [], `accessibility of ${what}`);
}

// Waits for a screen to be drawn: its main heading holds `text`.
export async function heading(page, text) {
  await page.waitForFunction((t) => document.querySelector('main h1')?.textContent.includes(t), text, { timeout: 10000 });
}

// One call of the JSON API from the test itself (setting up what a screen then shows).
export async function apiCall(base, method, path, token, body) {
  const res = await fetch(base + path, {
    method,
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

// An API session of a demo account, made once per server (the server allows few log-ins a
// minute from one address).
const tokens = new Map();
export async function tokenFor(base, username) {
  const key = `${base} ${username}`;
  if (!tokens.has(key)) {
    const answer = await apiCall(base, 'POST', '/api/v1/session', null, { username, password: demo.password });
    assert.equal(answer.status, 201, JSON.stringify(answer.body));
    tokens.set(key, answer.body.token);
  }
  return tokens.get(key);
}

// A new account as the library makes one: the administrator creates it, the Director (staff,
// counsel) or a trustee (Director, Board) approves it, and its holder chooses a password at the
// first log-in. Answers { id, token }.
export async function newAccount(base, username, role, { password = `${username}-chosen-password`, approvers } = {}) {
  const login = async (name, pw) => (await apiCall(base, 'POST', '/api/v1/session', null, { username: name, password: pw })).body;
  const admin = { token: await tokenFor(base, 'demo-admin') };
  const first = `${username}-first-password`;
  const created = await apiCall(base, 'POST', '/api/v1/users', admin.token, { username, role, password: first });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  // A Board resolution may need more than one trustee's vote: each approver votes until it passes.
  const voters = approvers || [{ token: await tokenFor(base, role === 'board' || role === 'director' ? 'trustee' : 'demo-director'), password: demo.password }];
  let active = false;
  for (const voter of voters) {
    const approved = await apiCall(base, 'POST', `/api/v1/users/${created.body.id}/approve`, voter.token, { password: voter.password });
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    active = approved.body.active;
    if (active) break;
  }
  assert.ok(active, `${username} was not approved by the votes given`);
  const session = await login(username, first);
  const changed = await apiCall(base, 'POST', '/api/v1/session/password', session.token, { password: first, new_password: password });
  assert.equal(changed.status, 200, JSON.stringify(changed.body));
  return { id: created.body.id, token: (await login(username, password)).token, password };
}

// Keyboard only: a control gets the focus and a key acts on it, as Tab then Enter or Space would.
export async function press(page, target) {
  const locator = typeof target === 'string' ? page.locator(target).first() : target;
  await locator.focus();
  await page.keyboard.press('Enter');
}
export async function tick(page, locator) {
  await locator.focus();
  await page.keyboard.press('Space');
}
// A select moved by the arrow keys until it shows `value`.
export async function choose(page, locator, value) {
  await locator.focus();
  await page.keyboard.press('Home');
  for (let i = 0; i < 30 && (await locator.inputValue()) !== value; i += 1) await page.keyboard.press('ArrowDown');
  assert.equal(await locator.inputValue(), value);
}

// Logs a member of staff in through the login screen of `page`.
export async function loginStaff(page, base, username, password = demo.password) {
  await page.goto(`${base}/#/login`);
  await heading(page, 'Staff log in');
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await page.keyboard.press('Enter');
  try {
    await page.waitForFunction(() => !document.querySelector('main h1')?.textContent.includes('log in'), null, { timeout: 10000 });
  } catch (err) {
    throw new Error(`${username} could not log in: ${await page.locator('main').textContent()}`);
  }
}

// Logs the demo patron in to the portal on `page`, with card and PIN.
export async function loginPatron(page, base) {
  await page.goto(`${base}/#/login/patron`);
  await heading(page, 'My account');
  await page.fill('input[name=card_barcode]', demo.card);
  await page.fill('input[name=pin]', demo.pin);
  await page.keyboard.press('Enter');
  await heading(page, 'Hello');
}

// A new page with a member of staff logged in.
export async function staffPage(browser, base, username, password = demo.password) {
  const page = await openPage(browser, base);
  await loginStaff(page, base, username, password);
  return page;
}

// Signs in the password dialog, by keyboard: the focus is on the password when it opens.
export async function sign(page, password = demo.password) {
  await page.waitForSelector('dialog.sign[open]');
  await assertAccessible(page, 'the signature dialog');
  await page.keyboard.type(password);
  await page.keyboard.press('Enter');
  await page.waitForSelector('dialog.sign', { state: 'detached' });
}

// Waits for a success notice holding `text`; on failure says what the page shows instead.
export async function expectDone(page, text, timeout = 15000) {
  const done = page.locator('.notice.success', { hasText: text });
  try {
    await done.first().waitFor({ timeout });
  } catch {
    throw new Error(`no notice "${text}"; the page shows: ${(await page.locator('main').innerText()).slice(0, 1500)}`);
  }
  return done.first();
}
