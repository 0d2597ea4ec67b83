// The patron portal: my loans, holds, fines, reading history, my data, the permissions I gave,
// notices of disclosures, and my PIN. Everything here is the signed-in patron's own; the server
// takes the patron from the session, never from the page.

import { get, post, put, del, all, newKey } from '../lib/api.js';
import { h, fill, shortDate, longDate, money, localTime } from '../lib/dom.js';
import { buildForm, notice } from '../lib/forms.js';
import { session, go } from '../app.js';

const sections = [
  ['#/me', 'Loans, holds and fines'],
  ['#/me/history', 'Reading history'],
  ['#/me/permissions', 'Permissions I gave'],
  ['#/me/notices', 'Notices'],
  ['#/me/data', 'My data'],
  ['#/me/pin', 'My PIN'],
];

const categoryWords = {
  patron: 'My name and contact details',
  loans: 'What I have out now',
  loan_history: 'My reading history',
  holds: 'My holds',
  fines: 'My fines',
};

function frame(title, ...content) {
  if (!session.who || session.who.kind !== 'patron') {
    return h('section', { class: 'narrow' }, h('h1', {}, 'My account'),
      h('p', {}, 'Please ', h('a', { href: '#/login/patron' }, 'log in with your library card'), ' first.'));
  }
  const here = location.hash;
  return h('div', { class: 'portal' },
    h('nav', { class: 'subnav', 'aria-label': 'My account' }, h('ul', {}, sections.map(([href, text]) =>
      h('li', {}, h('a', { href, 'aria-current': here === href ? 'page' : null }, text))))),
    h('section', { class: 'portal-main' }, h('h1', {}, title), ...content));
}

function refusal(answer) {
  return notice('error', answer.problem?.detail || 'That could not be done.');
}

// When the PIN was set at the desk, the private parts wait for one the patron chooses.
function pinFirst(answer) {
  if (answer.status === 403 && /PIN of your own/i.test(answer.problem?.detail || '')) {
    return notice('error', 'To see this, first ', h('a', { href: '#/me/pin' }, 'choose a PIN of your own'), ' (the one set at the desk opens only your loans and holds).');
  }
  return refusal(answer);
}

// ---- loans, holds, fines -----------------------------------------------------------------

async function overview() {
  const [me, loans, holds, fines] = await Promise.all([
    get('/api/v1/me'), all('/api/v1/me/loans', 'loans'), all('/api/v1/me/holds', 'holds'), all('/api/v1/me/fines', 'fines')]);
  if (!me.ok) return frame('My account', refusal(me));
  const status = h('div', { class: 'live', 'aria-live': 'polite' });
  const loanRows = h('tbody');
  const drawLoans = (list) => fill(loanRows, list.length ? list.map((l) => loanRow(l, status)) : h('tr', {}, h('td', { colspan: '4' }, 'You have nothing out.')));
  drawLoans(loans.ok ? loans.data.loans : []);
  const renewAll = h('button', {
    type: 'button',
    onclick: async () => {
      renewAll.disabled = true;
      const current = await all('/api/v1/me/loans', 'loans');
      const results = [];
      for (const l of current.ok ? current.data.loans : []) {
        const r = await post(`/api/v1/me/loans/${l.id}/renew`, {}, { idempotencyKey: newKey() });
        results.push(r.ok ? `${l.title}: now due ${shortDate(r.data.due_on)}.` : `${l.title}: not renewed (${r.problem?.detail}).`);
      }
      const fresh = await all('/api/v1/me/loans', 'loans');
      drawLoans(fresh.ok ? fresh.data.loans : []);
      fill(status, h('ul', {}, results.map((t) => h('li', {}, t))));
      renewAll.disabled = false;
    },
  }, 'Renew all');
  const owed = (fines.ok ? fines.data.fines : []).filter((f) => f.status === 'owed');
  return frame(`Hello, ${me.data.name}`,
    h('p', {}, `Card ending ${me.data.card_barcode.slice(-4)}, valid until ${longDate(me.data.expires_on)}.`),
    h('h2', {}, 'My loans'),
    status,
    h('table', { class: 'list' },
      h('thead', {}, h('tr', {}, ['Title', 'Due', 'Renewed', ''].map((t) => h('th', { scope: 'col' }, t)))),
      loanRows),
    loans.ok && loans.data.loans.length ? renewAll : null,
    h('h2', {}, 'My holds'),
    await holdsPart(holds.ok ? holds.data.holds : []),
    h('h2', {}, 'What I owe'),
    owed.length
      ? h('ul', {}, owed.map((f) => h('li', {}, `${money(f.amount_cents)}, since ${longDate(f.accrued_on)}`)),
        h('p', {}, `In all: ${money(owed.reduce((n, f) => n + f.amount_cents, 0))}. Pay at the desk.`))
      : h('p', {}, 'You owe nothing.'));
}

function loanRow(l, status) {
  const due = h('td', {}, shortDate(l.due_on));
  const renewed = h('td', {}, String(l.renewals));
  const button = h('button', {
    type: 'button', class: 'secondary', 'aria-label': `Renew ${l.title}`,
    onclick: async () => {
      button.disabled = true;
      const r = await post(`/api/v1/me/loans/${l.id}/renew`, {}, { idempotencyKey: newKey() });
      button.disabled = false;
      if (r.ok) {
        fill(due, shortDate(r.data.due_on));
        fill(renewed, String(r.data.renewals));
        fill(status, `Renewed: ${l.title}, now due ${longDate(r.data.due_on)}.`);
      } else {
        fill(status, `${l.title} was not renewed: ${r.problem?.detail}`);
      }
    },
  }, 'Renew');
  return h('tr', {}, h('td', {}, h('strong', {}, l.title), l.author ? h('br') : null, l.author ? h('span', { class: 'meta' }, l.author) : null), due, renewed, h('td', {}, button));
}

const holdWords = { waiting: 'Waiting', ready: 'Ready for pickup', fulfilled: 'Picked up', cancelled: 'Cancelled', expired: 'Not picked up in time' };

async function holdsPart(holds) {
  const list = h('ul', { class: 'holds' });
  const live = h('div', { 'aria-live': 'polite' });
  const draw = (items) => fill(list, items.length ? items.map((hold) => h('li', {},
    h('strong', {}, hold.title), ` \u2014 ${holdWords[hold.status] || hold.status}`,
    hold.ready_until ? ` until ${longDate(hold.ready_until)}` : '', ' ',
    hold.status === 'waiting' || hold.status === 'ready'
      ? h('button', {
        type: 'button', class: 'link', 'aria-label': `Cancel the hold on ${hold.title}`,
        onclick: async () => {
          const r = await del(`/api/v1/me/holds/${hold.id}`);
          fill(live, r.ok ? `Cancelled the hold on ${hold.title}.` : r.problem?.detail);
          const fresh = await all('/api/v1/me/holds', 'holds');
          draw(fresh.ok ? fresh.data.holds.filter((x) => x.status === 'waiting' || x.status === 'ready') : []);
        },
      }, 'Cancel') : null)) : h('li', {}, 'You have no holds.'));
  draw(holds.filter((x) => x.status === 'waiting' || x.status === 'ready'));
  const results = h('div');
  const search = buildForm({
    fields: [{ name: 'terms', label: 'Find a title or author to place a hold', required: true, hint: 'Your search is not kept.' }],
    submitLabel: 'Search the catalogue',
    onSubmit: async (values, { showProblem }) => {
      const r = await post('/api/v1/catalogue/search', { terms: values.terms });
      if (!r.ok) return showProblem(r.problem);
      const items = r.data.items.slice(0, 20);
      fill(results, items.length ? h('ul', { class: 'results' }, items.map((item) => h('li', {},
        h('strong', {}, item.title), item.author ? ` by ${item.author}` : '', ` (${item.call_number || item.item_type}), `,
        item.status === 'available' ? 'on the shelf ' : 'out now ',
        h('button', {
          type: 'button', class: 'secondary', 'aria-label': `Place a hold on ${item.title}`,
          onclick: async () => {
            const placed = await post('/api/v1/me/holds', { item_barcode: item.barcode }, { idempotencyKey: newKey() });
            fill(live, placed.ok ? `Hold placed: ${item.title}. We will tell you when it is ready.` : `No hold placed: ${placed.problem?.detail}`);
            const fresh = await all('/api/v1/me/holds', 'holds');
            draw(fresh.ok ? fresh.data.holds.filter((x) => x.status === 'waiting' || x.status === 'ready') : []);
          },
        }, 'Place a hold')))) : h('p', {}, 'Nothing found.'));
    },
  });
  return h('div', {}, live, list, search, results);
}

// ---- reading history -----------------------------------------------------------------------

async function history() {
  const me = await get('/api/v1/me');
  if (!me.ok) return frame('Reading history', refusal(me));
  const keep = me.data.history_opt_in;
  const live = h('div', { 'aria-live': 'polite' });
  const choose = (on) => h('button', {
    type: 'button',
    onclick: async () => {
      const r = await put('/api/v1/me/history', { keep_history: on });
      if (!r.ok) return fill(live, pinFirst(r));
      go('#/me/history');
    },
  }, on ? 'Keep my reading history' : 'Stop keeping it and delete it');
  let list = null;
  if (keep) {
    const r = await all('/api/v1/me/history', 'history');
    list = r.ok
      ? (r.data.history.length
        ? h('table', { class: 'list' }, h('thead', {}, h('tr', {}, ['Title', 'Borrowed', 'Returned'].map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', {}, r.data.history.map((x) => h('tr', {}, h('td', {}, x.title || 'A title no longer in the catalogue'), h('td', {}, shortDate(x.checked_out_on)), h('td', {}, shortDate(x.returned_on))))))
        : h('p', {}, 'Nothing returned since you chose to keep your history.'))
      : pinFirst(r);
  }
  return frame('Reading history',
    h('p', {}, 'The library forgets what you borrowed soon after you return it, unless you ask it to keep a list for you. Only you can see the list, and you can delete it at any time.'),
    h('p', { class: 'state' }, keep ? 'You keep a reading history.' : 'You do not keep a reading history.'),
    live,
    h('p', {}, choose(!keep)),
    list);
}

// ---- my data -------------------------------------------------------------------------------

async function data() {
  const live = h('div', { 'aria-live': 'polite' });
  const button = h('button', {
    type: 'button',
    onclick: async () => {
      const r = await get('/api/v1/me/export');
      if (!r.ok) return fill(live, pinFirst(r));
      const blob = new Blob([JSON.stringify(r.data, null, 2)], { type: 'application/json' });
      const url = URL.createObjectURL(blob);
      const link = h('a', { href: url, download: 'my-library-data.json' }, 'download');
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      fill(live, notice('success', 'Your data was downloaded as my-library-data.json.'));
    },
  }, 'Download my data');
  return frame('My data',
    h('p', {}, 'Everything the library holds about you: your details, what you have out, your holds and fines, and your reading history if you keep one. It is downloaded to this device only.'),
    button, live);
}

// ---- permissions ---------------------------------------------------------------------------

async function permissions() {
  const r = await all('/api/v1/me/permissions', 'permissions');
  if (!r.ok) return frame('Permissions I gave', pinFirst(r));
  const live = h('div', { 'aria-live': 'polite' });
  const current = r.data.permissions;
  const list = current.length ? h('ul', { class: 'permissions' }, current.map((p) => h('li', {},
    h('strong', {}, p.recipient), ` may receive: ${p.categories.map((c) => categoryWords[c] || c).join(', ') || 'nothing named'}`,
    `, until ${longDate(p.valid_until)}. `,
    p.revoked_at ? h('em', {}, `Revoked ${localTime(p.revoked_at, session.timeZone)}.`)
      : h('button', {
        type: 'button', class: 'secondary', 'aria-label': `Revoke the permission for ${p.recipient}`,
        onclick: async () => {
          const done = await post(`/api/v1/me/permissions/${p.id}/revoke`, {});
          if (!done.ok) return fill(live, refusal(done));
          go('#/me/permissions');
        },
      }, 'Revoke')))) : h('p', {}, 'You have given no one permission to receive your records.');
  const form = buildForm({
    fields: [
      { name: 'recipient', label: 'Who may receive them', required: true, hint: 'A person or an organization, for example your attorney.' },
      { name: 'categories', label: 'Which records', type: 'select', required: true, options: Object.entries(categoryWords) },
      { name: 'valid_until', label: 'Until (YYYY-MM-DD)', required: true, hint: 'The permission ends on this date.' },
      { name: 'pin', label: 'Your PIN, to sign', type: 'password', required: true, inputmode: 'numeric' },
    ],
    submitLabel: 'Give this permission',
    onSubmit: async (values, { showProblem }) => {
      const answer = await post('/api/v1/me/permissions', {
        recipient: values.recipient, categories: [values.categories], valid_until: values.valid_until, pin: values.pin,
      });
      if (!answer.ok) return showProblem(answer.problem);
      go('#/me/permissions');
    },
  });
  return frame('Permissions I gave',
    h('p', {}, 'The library releases your records to someone else only with your written permission, or when the law compels it. Here you can give a permission, and revoke one at any time.'),
    live, list, h('h2', {}, 'Give a permission'), form);
}

// ---- notices ---------------------------------------------------------------------------------

async function notices() {
  const r = await all('/api/v1/me/notices', 'notices');
  if (!r.ok) return frame('Notices', pinFirst(r));
  return frame('Notices',
    h('p', {}, 'If the library is ever compelled by law to release records about you, it tells you here as soon as the law allows.'),
    r.data.notices.length
      ? h('ul', {}, r.data.notices.map((n) => h('li', {}, h('p', {}, n.text), h('p', { class: 'meta' }, n.sent_at ? `Sent ${localTime(n.sent_at, session.timeZone)}` : ''))))
      : h('p', {}, 'There are no notices for you.'));
}

// ---- PIN -------------------------------------------------------------------------------------

async function pin() {
  const done = h('div');
  const form = buildForm({
    fields: [
      { name: 'current_pin', label: 'Current PIN', type: 'password', required: true, inputmode: 'numeric', autocomplete: 'current-password' },
      { name: 'new_pin', label: 'New PIN', type: 'password', required: true, inputmode: 'numeric', autocomplete: 'new-password', hint: 'Digits only; at least 6.' },
    ],
    submitLabel: 'Change my PIN',
    onSubmit: async (values, { showProblem }) => {
      const answer = await put('/api/v1/me/pin', values);
      if (!answer.ok) return showProblem(answer.problem);
      form.reset();
      fill(done, notice('success', 'Your new PIN is set.'));
    },
  });
  return frame('My PIN', form, done);
}

export const routes = [
  [/^#\/me$/, overview],
  [/^#\/me\/history$/, history],
  [/^#\/me\/data$/, data],
  [/^#\/me\/permissions$/, permissions],
  [/^#\/me\/notices$/, notices],
  [/^#\/me\/pin$/, pin],
];
