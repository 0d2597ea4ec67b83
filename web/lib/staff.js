// What the Director's, counsel's, the Board's and the administrator's screens share: the menu of
// each role, the names of the people behind user ids, the dialog that asks for the password
// before anything is signed, and small pieces of page.

import { get, all } from './api.js';
import { h, fill } from './dom.js';
import { session } from '../app.js';

// The screens each role reaches, in the order they use them.
const menus = {
  director: [['#/office', 'Inbox'], ['#/cases', 'Requests'], ['#/appointments', 'Designees'],
    ['#/retention', 'Retention'], ['#/approvals', 'Accounts to approve'], ['#/audit', 'Audit log'], ['#/desk', 'Front desk']],
  designee: [['#/office', 'Inbox'], ['#/cases', 'Requests'], ['#/desk', 'Front desk']],
  counsel: [['#/office', 'Inbox'], ['#/cases', 'My cases']],
  board: [['#/office', 'Inbox'], ['#/board', 'Decisions to review'], ['#/board/amendments', 'Policy amendments'],
    ['#/approvals', 'Accounts to approve'], ['#/appointments', 'Designees'], ['#/retention', 'Retention'], ['#/audit', 'Audit log']],
  admin: [['#/admin', 'User accounts'], ['#/admin/server', 'Server']],
};

// The menu a signed-in user sees: a member of staff acting as a designee gets the Director's
// request screens while the appointment lasts.
export function menuFor(who) {
  if (!who || who.kind !== 'user') return [];
  if (who.role === 'staff') return who.designee ? menus.designee : [];
  return menus[who.role] || [];
}

export function hasRole(...wanted) {
  const who = session.who;
  if (!who || who.kind !== 'user') return false;
  return wanted.includes(who.role) || (wanted.includes('designee') && who.designee === true);
}

// A screen of the office: its own menu beside the content. `roles` lists who may open it.
export function officePage(roles, title, ...content) {
  if (!hasRole(...roles)) {
    return h('section', { class: 'narrow' }, h('h1', {}, title),
      session.who
        ? h('p', {}, 'This page is not part of your role. ', h('a', { href: '#/' }, 'Go to the home page'))
        : h('p', {}, 'Please ', h('a', { href: '#/login' }, 'log in'), ' first.'));
  }
  const here = location.hash;
  const menu = menuFor(session.who);
  return h('div', { class: 'office' },
    h('nav', { class: 'subnav', 'aria-label': 'Sections' }, h('ul', {}, menu.map(([href, text]) =>
      h('li', {}, h('a', { href, 'aria-current': here === href ? 'page' : null }, text))))),
    h('div', { class: 'office-main' }, h('h1', {}, title), ...content));
}

// Everyone with an account, by id: name and role, from the public signing keys (no patron is
// ever among them).
let people = null;
export async function loadPeople() {
  if (people) return people;
  const answer = await all('/api/v1/signing-keys', 'keys');
  people = new Map();
  if (answer.ok) for (const k of answer.data.keys) people.set(k.user_id, k);
  return people;
}
export function forgetPeople() { people = null; }

// "user/4" or 4 as the person's username; "operator" and others as they are.
export function personName(actor) {
  const id = typeof actor === 'number' ? actor : Number(String(actor).replace(/^user\//, ''));
  const p = people && Number.isFinite(id) ? people.get(id) : null;
  if (p) return p.username;
  if (actor === 'operator') return 'the server operator';
  if (String(actor).startsWith('system')) return 'carrel itself';
  return String(actor);
}

// An instant in the library's time zone, with its year: "December 2, 2026 at 11:01 AM".
export function when(instant) {
  return instant ? new Date(instant).toLocaleString('en-US', {
    timeZone: session.timeZone, year: 'numeric', month: 'long', day: 'numeric', hour: 'numeric', minute: '2-digit',
  }) : '';
}

// The same, short, to the second: "Dec 2, 2026, 10:23:46 AM" (for the audit log's rows).
export function stamp(instant) {
  return instant ? new Date(instant).toLocaleString('en-US', {
    timeZone: session.timeZone, year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit', second: '2-digit',
  }) : '';
}

// A refusal in plain words: the server's own detail, whatever the kind.
export function refusal(answer) {
  const p = answer.problem || {};
  const text = p.detail || p.title || 'Not done';
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}${/[.!?]$/.test(text) ? '' : '.'}`;
}

// A definition list from [term, value] pairs, skipping empty values.
export function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(([, v]) => v !== '' && v !== null && v !== undefined && v !== false)
    .map(([t, v]) => [h('dt', {}, t), h('dd', {}, v)]));
}

// A wide table that scrolls sideways on a narrow screen, reachable by keyboard.
export function scroller(label, table) {
  return h('div', { class: 'scroller', role: 'region', 'aria-label': label, tabindex: '0' }, table);
}

// ---- signing: the password again ------------------------------------------------------------

// Asks for the password before a signed step (step-up). Resolves with the password, or null when
// the person cancels. `what` says in plain words what will be signed.
export function askPassword(title, what) {
  return new Promise((resolve) => {
    const id = `sign-${Math.random().toString(36).slice(2)}`;
    const input = h('input', { id: `${id}-pw`, type: 'password', autocomplete: 'current-password', required: true, spellcheck: 'false' });
    const error = h('p', { class: 'field-error', id: `${id}-err`, hidden: true }, 'Type your password to sign.');
    const dialog = h('dialog', { class: 'sign', 'aria-labelledby': `${id}-title`, 'aria-describedby': `${id}-what` });
    let answered = false;
    const finish = (value) => {
      if (answered) return;
      answered = true;
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    const form = h('form', { method: 'dialog', novalidate: true },
      h('h2', { id: `${id}-title` }, title),
      h('div', { id: `${id}-what` }, what),
      h('p', {}, 'Your signature is made with your own key. Type your password to sign; nothing is signed until you do.'),
      h('div', { class: 'field' }, h('label', { for: `${id}-pw` }, 'Your password'), input, error),
      h('div', { class: 'actions' },
        h('button', { type: 'submit' }, 'Sign'),
        ' ',
        h('button', { type: 'button', class: 'secondary', onclick: () => finish(null) }, 'Cancel')));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (!input.value) {
        error.hidden = false;
        input.setAttribute('aria-invalid', 'true');
        input.setAttribute('aria-describedby', error.id);
        input.focus();
        return;
      }
      finish(input.value);
    });
    dialog.addEventListener('cancel', (event) => { event.preventDefault(); finish(null); });
    dialog.append(form);
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  });
}

// The status line under a list while it loads or when it is empty.
export function emptyLine(text) { return h('p', { class: 'meta' }, text); }

// Opens a file the API answers (a document, a package file) as a download, without putting
// anything but the API path in any address.
export async function download(path, filename) {
  const res = await fetch(path, { credentials: 'same-origin', cache: 'no-store' });
  if (!res.ok) {
    let detail = 'The file could not be fetched.';
    try { detail = (await res.json()).detail || detail; } catch { /* not JSON */ }
    return { ok: false, problem: { detail } };
  }
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  return { ok: true };
}

// Replaces a region's content with a notice.
export function say(region, kind, ...text) {
  fill(region, h('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text));
}

export { get };
