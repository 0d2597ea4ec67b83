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
  run(['init', '--data', data]);
  run(['demo', 'seed', '--data', data, '--patrons', '30', '--items', String(items), '--loans', '200', '--seed', '11']);
  const server = spawn(carrel, ['serve', '--data', data, '--listen', '127.0.0.1:0'], {
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
    serverLog: () => errors,
    async stop() {
      server.kill('SIGTERM');
      await new Promise((resolve) => server.once('exit', resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
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
  page.on('requestfailed', (r) => problems.push(`failed: ${r.url()}`));
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
