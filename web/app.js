// carrel's web UI: one page that draws each screen from the JSON API. Screens are chosen by the
// part of the address after "#", which never holds anything about a patron.

import { get, del, setCsrf } from './lib/api.js';
import { h, fill, focusHeading } from './lib/dom.js';
import * as publicPages from './pages/public.js';
import * as login from './pages/login.js';
import { menuFor, forgetPeople } from './lib/staff.js';

const main = document.getElementById('main');
const shell = document.getElementById('shell');

// Who is signed in: { kind, id, role, username } or null. Kept in memory only.
export const session = { who: null, library: '', timeZone: undefined };

const routes = [
  [/^#?\/?$/, publicPages.home],
  [/^#\/policy$/, publicPages.policy],
  [/^#\/policy\/([^/]+)$/, publicPages.policyVersion],
  [/^#\/transparency$/, publicPages.transparency],
  [/^#\/enews$/, publicPages.enews],
  [/^#\/enews\/(confirm|unsubscribe)$/, publicPages.enewsToken],
  [/^#\/login$/, login.staffLogin],
  [/^#\/login\/patron$/, login.patronLogin],
  [/^#\/pin$/, login.pinReset],
  [/^#\/password$/, login.changePassword],
];

// The patron's and staff's screens are fetched the first time one of them is asked for, so that a
// visitor to the public pages loads only those. Each part's routes join the table when it arrives.
const parts = [
  [/^#\/me(\/|$)/, () => import('./pages/portal.js')],
  [/^#\/desk(\/|$)/, () => import('./pages/desk.js')],
  [/^#\/cases(\/|$)/, () => import('./pages/cases.js')],
  [/^#\/(office|appointments|retention|approvals)$/, () => import('./pages/office.js')],
  [/^#\/board(\/|$)/, () => import('./pages/board.js')],
  [/^#\/admin(\/|$)/, () => import('./pages/admin.js')],
  [/^#\/audit$/, () => import('./pages/audit.js')],
];
const loaded = new Set();

async function loadPartFor(hash) {
  const part = parts.find(([pattern]) => pattern.test(hash));
  if (!part || loaded.has(part)) return;
  const module = await part[1]();
  if (!loaded.has(part)) {
    loaded.add(part);
    routes.push(...module.routes);
  }
}

export function go(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

// Screens are drawn from answers that arrive in any order: only the latest one asked for is shown.
let drawing = 0;

async function render() {
  const hash = location.hash || '#/';
  const mine = ++drawing;
  try {
    await loadPartFor(hash);
  } catch (err) {
    if (mine !== drawing) return;
    fill(main, h('section', {}, h('h1', {}, 'Something went wrong'), h('p', {}, 'This page could not be loaded. Check the connection and try again.')));
    focusHeading(main);
    console.error(err);
    return;
  }
  if (mine !== drawing) return;
  for (const [pattern, page] of routes) {
    const m = hash.match(pattern);
    if (!m) continue;
    fill(main, h('p', { class: 'loading', role: 'status' }, 'Loading\u2026'));
    let view;
    try {
      view = await page(...m.slice(1).map(decodeURIComponent));
    } catch (err) {
      view = h('section', {}, h('h1', {}, 'Something went wrong'), h('p', {}, 'This page could not be shown. Try again, or go back to the home page.'));
      console.error(err);
    }
    if (mine !== drawing) return;
    fill(main, view);
    focusHeading(main);
    drawShell();
    return;
  }
  fill(main, h('section', {}, h('h1', {}, 'Page not found'), h('p', {}, h('a', { href: '#/' }, 'Go to the home page'))));
  focusHeading(main);
}

function roleWords(who) {
  if (!who) return '';
  if (who.kind === 'patron') return 'Patron';
  if (who.role === 'staff' && who.designee) return 'Designee of the Director';
  return { staff: 'Front desk', director: 'Library Director', counsel: 'Legal counsel', board: 'Board of Trustees', admin: 'Administrator', kiosk: 'Self-check kiosk' }[who.role] || who.role;
}

function has(hash) { return [...routes, ...parts].some(([pattern]) => pattern.test(hash)); }

export function homeFor(who) {
  if (!who) return '#/';
  if (who.must_change_password) return '#/password';
  if (who.kind === 'patron' && has('#/me')) return '#/me';
  if (who.role === 'admin') return '#/admin';
  if (who.role === 'director' || who.role === 'counsel' || who.role === 'board' || who.designee) return '#/office';
  if (who.role === 'staff' && has('#/desk')) return '#/desk';
  return '#/';
}

function drawShell() {
  const who = session.who;
  const links = [
    ['#/', 'Home'], ['#/policy', 'Privacy policy'], ['#/transparency', 'Transparency report'], ['#/enews', 'eNews'],
  ];
  if (who && who.kind === 'patron' && has('#/me')) links.push(['#/me', 'My account']);
  if (who && who.role === 'staff' && !who.designee && has('#/desk')) links.push(['#/desk', 'Front desk']);
  const menu = menuFor(who);
  if (menu.length) links.push([menu[0][0], who.role === 'admin' ? 'Administration' : 'My work']);
  const here = location.hash || '#/';
  fill(shell,
    h('div', { class: 'bar' },
      h('a', { class: 'brand', href: '#/' }, session.library || 'Library'),
      h('nav', { 'aria-label': 'Main' }, h('ul', {}, links.map(([href, text]) =>
        h('li', {}, h('a', { href, 'aria-current': here === href ? 'page' : null }, text))))),
      h('div', { class: 'who' }, who
        ? [h('span', {}, `${roleWords(who)}: ${who.kind === 'patron' ? 'signed in' : who.username}`),
          h('button', { type: 'button', class: 'link', onclick: logout }, 'Log out')]
        : h('a', { href: '#/login' }, 'Log in'))));
}

async function logout() {
  await del('/api/v1/session');
  session.who = null;
  setCsrf('');
  forgetPeople();
  go('#/');
}

// Signs the page in with a new session (from a login form).
export async function signedIn(who, csrf) {
  session.who = who;
  setCsrf(csrf);
  await noteDesignee(who);
  go(homeFor(who));
}

// A member of staff acts as the Director's designee only while an appointment is in force; the
// session says so (the login's own answer does not).
async function noteDesignee(who) {
  if (!who || who.kind !== 'user' || who.role !== 'staff' || who.designee !== undefined) return;
  const me = await get('/api/v1/session');
  who.designee = me.ok && me.data.designee === true;
}

export function signedOut() {
  session.who = null;
  setCsrf('');
  forgetPeople();
}

async function start() {
  const [me, hours] = await Promise.all([get('/api/v1/session'), get('/api/v1/hours')]);
  if (hours.ok) {
    session.library = hours.data.library;
    session.timeZone = hours.data.time_zone;
    document.title = hours.data.library;
  }
  if (me.ok) {
    session.who = me.data;
    setCsrf(me.data.csrf_token);
    await noteDesignee(session.who);
  }
  window.addEventListener('hashchange', render);
  drawShell();
  await render();
}

start();
