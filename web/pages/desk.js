// The front desk, keyboard first: a barcode scanner types and presses Enter. Check out (card,
// then items one after another), check in, renew, register a patron, start a PIN reset, and on
// every screen the one action for "someone asks for patron information". The desk clears itself
// after ten minutes without a key or a click.

import { get, post, newKey } from '../lib/api.js';
import { h, fill, shortDate, longDate, money } from '../lib/dom.js';
import { buildForm, notice } from '../lib/forms.js';
import { session, go } from '../app.js';
import { caseTypes, processes } from '../lib/words.js';

const tabs = [
  ['#/desk', 'Check out', 'Alt+O'],
  ['#/desk/checkin', 'Check in', 'Alt+I'],
  ['#/desk/renew', 'Renew', 'Alt+R'],
  ['#/desk/fines', 'Fines', ''],
  ['#/desk/shelf', 'Hold shelf', ''],
  ['#/desk/computers', 'Computers', ''],
  ['#/desk/register', 'Register a patron', ''],
  ['#/desk/pin', 'PIN reset', ''],
  ['#/desk/items', 'Items', ''],
];

const refusals = {
  'wrong-state': 'Not possible now',
  'not-found': 'Not found',
  'invalid-input': 'Check what was typed',
};

function desk(title, ...content) {
  const who = session.who;
  if (!who || !(who.role === 'staff' || who.role === 'director')) {
    return h('section', { class: 'narrow' }, h('h1', {}, 'Front desk'),
      h('p', {}, 'Please ', h('a', { href: '#/login' }, 'log in'), ' with a desk account first.'));
  }
  armIdleTimer();
  const here = location.hash;
  return h('div', { class: 'desk' },
    h('div', { class: 'desk-bar' },
      h('nav', { 'aria-label': 'Desk' }, h('ul', {}, tabs.map(([href, text, key]) =>
        h('li', {}, h('a', { href, 'aria-current': here === href ? 'page' : null, 'aria-keyshortcuts': key || null }, text,
          key ? h('span', { class: 'key' }, ` (${key})`) : null))))),
      h('a', { class: 'button danger', href: '#/desk/request' }, 'Someone asks for patron information')),
    h('section', {}, h('h1', {}, title), ...content));
}

// A problem as one plain line for a scanned barcode.
function reason(answer) {
  const p = answer.problem || {};
  const text = p.detail || refusals[(p.type || '').split('problem-')[1]] || 'Not done';
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}${/[.!?]$/.test(text) ? '' : '.'}`;
}

// A field that keeps the focus: scan, Enter, the next scan.
function scanField(label, id, onScan, { autofocus = true } = {}) {
  const input = h('input', { id, name: id, autocomplete: 'off', inputmode: 'text', spellcheck: 'false' });
  const form = h('form', { class: 'scan', novalidate: true },
    h('label', { for: id }, label), input, h('button', { type: 'submit' }, 'Enter'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const value = input.value.trim();
    if (!value) return;
    input.value = '';
    await onScan(value);
    input.focus();
  });
  if (autofocus) setTimeout(() => input.focus(), 0);
  return form;
}

// ---- check out -----------------------------------------------------------------------------

async function checkout() {
  const summary = h('div', { class: 'patron-summary', 'aria-live': 'polite' });
  const lines = h('ol', { class: 'scanned', 'aria-live': 'polite' });
  const area = h('div');
  let card = '';
  const lent = [];
  const itemStep = () => scanField('Scan or type an item barcode', 'item', async (barcode) => {
    const answer = await post('/api/v1/loans', { item_barcode: barcode, card_barcode: card }, { idempotencyKey: newKey() });
    if (answer.ok) {
      lent.push(answer.data);
      lines.append(h('li', { class: 'ok' }, h('strong', {}, answer.data.title), ` \u2014 due ${longDate(answer.data.due_on)}`));
    } else {
      lines.append(h('li', { class: 'refused' }, `${barcode}: not lent. ${reason(answer)}`));
    }
  });
  const done = h('button', {
    type: 'button',
    onclick: () => {
      if (lent.length) printSlip(lent);
      go('#/desk');
    },
  }, 'Done');
  const cardStep = scanField('Scan or type the patron\u2019s card', 'card', async (value) => {
    const found = await post('/api/v1/patrons/search', { card_barcode: value });
    const patron = found.ok ? found.data.patrons[0] : null;
    if (!patron) {
      fill(summary, notice('error', found.ok ? 'No patron has that card.' : reason(found)));
      return;
    }
    card = value;
    const [loans, fines] = await Promise.all([get(`/api/v1/patrons/${patron.id}/loans`), get(`/api/v1/patrons/${patron.id}/fines`)]);
    const owed = fines.ok ? fines.data.fines.filter((f) => f.status === 'owed').reduce((n, f) => n + f.amount_cents, 0) : 0;
    const expired = patron.expires_on < new Date().toISOString().slice(0, 10);
    fill(summary, h('dl', {},
      h('dt', {}, 'Patron'), h('dd', {}, patron.name),
      h('dt', {}, 'Card valid until'), h('dd', { class: expired ? 'warn' : null }, longDate(patron.expires_on), expired ? ' (expired: renew the card before lending)' : ''),
      h('dt', {}, 'Items out'), h('dd', {}, loans.ok ? String(loans.data.loans.length) : '?'),
      h('dt', {}, 'Owes'), h('dd', { class: owed ? 'warn' : null }, owed ? `${money(owed)} (see Fines)` : 'Nothing')));
    fill(area, itemStep(), lines, done);
  });
  fill(area, cardStep);
  return desk('Check out', summary, area);
}

function printSlip(loans) {
  const slip = h('div', { class: 'slip' },
    h('p', {}, session.library), h('p', {}, `Checked out ${shortDate(new Date().toISOString().slice(0, 10))}`),
    h('ul', {}, loans.map((l) => h('li', {}, `${l.title}: due ${shortDate(l.due_on)}`))));
  document.body.append(slip);
  document.body.classList.add('printing');
  window.print();
  document.body.classList.remove('printing');
  slip.remove();
}

// ---- check in ------------------------------------------------------------------------------

async function checkin() {
  const lines = h('ol', { class: 'scanned', 'aria-live': 'polite' });
  const field = scanField('Scan or type an item barcode', 'item', async (barcode) => {
    const answer = await post('/api/v1/loans/checkin', { item_barcode: barcode }, { idempotencyKey: newKey() });
    const item = await get(`/api/v1/items/${encodeURIComponent(barcode)}`);
    const title = item.ok ? item.data.title : barcode;
    if (!answer.ok) {
      lines.append(h('li', { class: 'refused' }, `${title}: ${reason(answer)}`));
      return;
    }
    const r = answer.data;
    lines.append(h('li', { class: r.to_hold_shelf ? 'hold' : 'ok' },
      h('strong', {}, title), ' \u2014 returned',
      r.overdue_days ? `, ${r.overdue_days} days late` : '',
      r.fine_cents ? `, fine ${money(r.fine_cents)}` : '',
      r.to_hold_shelf ? h('span', { class: 'trap' }, '. Put it on the hold shelf for pickup.') : '.'));
  });
  return desk('Check in', field, lines);
}

// ---- renew ---------------------------------------------------------------------------------

async function renew() {
  const lines = h('ol', { class: 'scanned', 'aria-live': 'polite' });
  const field = scanField('Scan or type an item barcode', 'item', async (barcode) => {
    const answer = await post('/api/v1/loans/renew', { item_barcode: barcode }, { idempotencyKey: newKey() });
    lines.append(answer.ok
      ? h('li', { class: 'ok' }, h('strong', {}, answer.data.title), ` \u2014 now due ${longDate(answer.data.due_on)}`)
      : h('li', { class: 'refused' }, `${barcode}: not renewed. ${reason(answer)}`));
  });
  return desk('Renew', field, lines);
}

// ---- fines ---------------------------------------------------------------------------------

const waiverWords = [
  ['staff_discretion', 'Staff discretion'],
  ['return_dispute', 'The patron says it was returned'],
  ['hardship', 'Hardship'],
  ['system_error', 'A mistake of the system'],
];

async function fines() {
  const area = h('div', { 'aria-live': 'polite' });
  const show = async (patron) => {
    const list = await get(`/api/v1/patrons/${patron.id}/fines`);
    if (!list.ok) return fill(area, notice('error', reason(list)));
    const owed = list.data.fines.filter((f) => f.status === 'owed');
    fill(area, h('h2', {}, `${patron.name} owes ${money(owed.reduce((n, f) => n + f.amount_cents, 0))}`),
      owed.length ? h('ul', { class: 'fines' }, owed.map((f) => {
        const why = h('select', { 'aria-label': `Reason to waive the fine of ${money(f.amount_cents)}` },
          waiverWords.map(([v, t]) => h('option', { value: v }, t)));
        const act = async (path, body, done) => {
          const r = await post(path, body, { idempotencyKey: newKey() });
          if (!r.ok) return fill(area, notice('error', reason(r)));
          await show(patron);
          area.prepend(notice('success', done));
        };
        return h('li', {}, `${money(f.amount_cents)}, since ${longDate(f.accrued_on)} `,
          h('button', { type: 'button', onclick: () => act(`/api/v1/fines/${f.id}/pay`, {}, `Payment of ${money(f.amount_cents)} recorded.`) }, 'Record payment'),
          ' ', why, ' ',
          h('button', { type: 'button', class: 'secondary', onclick: () => act(`/api/v1/fines/${f.id}/waive`, { reason: why.value }, `Fine of ${money(f.amount_cents)} waived.`) }, 'Waive'));
      })) : h('p', {}, 'Nothing owed.'));
  };
  const field = scanField('Scan or type the patron\u2019s card', 'card', async (value) => {
    const found = await post('/api/v1/patrons/search', { card_barcode: value });
    const patron = found.ok ? found.data.patrons[0] : null;
    if (!patron) return fill(area, notice('error', found.ok ? 'No patron has that card.' : reason(found)));
    await show(patron);
  });
  return desk('Fines', field, area);
}

// ---- the hold shelf ------------------------------------------------------------------------

async function shelf() {
  const list = await get('/api/v1/holds/shelf?limit=1000');
  if (!list.ok) return desk('Hold shelf', notice('error', reason(list)));
  const holds = list.data.holds;
  return desk('Hold shelf',
    h('p', {}, 'Items waiting for pickup, the soonest deadline first. A hold not picked up by its date passes to the next patron in line.'),
    holds.length ? h('table', { class: 'list' },
      h('thead', {}, h('tr', {}, ['Item', 'For', 'Card ends', 'Pick up by'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, holds.map((x) => h('tr', {},
        h('td', {}, h('strong', {}, x.title), h('br'), h('span', { class: 'meta' }, x.item_barcode)),
        h('td', {}, x.patron_name), h('td', {}, x.card_last4), h('td', {}, x.ready_until ? longDate(x.ready_until) : '')))))
      : h('p', {}, 'Nothing is waiting on the hold shelf.'));
}

// ---- public computers ---------------------------------------------------------------------------

async function computers() {
  const live = h('div', { 'aria-live': 'polite' });
  const open = await get('/api/v1/computer-sessions');
  const list = open.ok && open.data.sessions.length
    ? h('ul', { class: 'sessions' }, open.data.sessions.map((s) => h('li', {},
      `Station ${s.station}, since ${new Date(s.started_at).toLocaleTimeString('en-US', { timeZone: session.timeZone, hour: 'numeric', minute: '2-digit' })} `,
      h('button', {
        type: 'button', class: 'secondary', 'aria-label': `End the session on station ${s.station}`,
        onclick: async () => {
          const r = await post(`/api/v1/computer-sessions/${s.id}/end`);
          if (!r.ok) return fill(live, notice('error', reason(r)));
          go('#/desk/computers');
        },
      }, 'End'))))
    : h('p', {}, 'No computer is in use.');
  const form = buildForm({
    fields: [
      { name: 'card_barcode', label: 'The patron\u2019s card', required: true },
      { name: 'station', label: 'Station', required: true, hint: 'The number on the computer.' },
    ],
    submitLabel: 'Start a session',
    onSubmit: async (values, { showProblem }) => {
      const r = await post('/api/v1/computer-sessions', values);
      if (!r.ok) return showProblem(r.problem);
      go('#/desk/computers');
    },
  });
  return desk('Public computers', live, h('h2', {}, 'In use'), list, h('h2', {}, 'Start a session'), form);
}

// ---- items ---------------------------------------------------------------------------------

async function items() {
  const added = h('div', { 'aria-live': 'polite' });
  const form = buildForm({
    fields: [
      { name: 'barcode', label: 'Item barcode', required: true },
      { name: 'title', label: 'Title', required: true },
      { name: 'author', label: 'Author' },
      { name: 'call_number', label: 'Call number' },
      { name: 'item_type', label: 'Kind of item', type: 'select', required: true,
        options: [['book', 'Book'], ['dvd', 'DVD'], ['audiobook', 'Audiobook'], ['magazine', 'Magazine'], ['equipment', 'Equipment']] },
    ],
    submitLabel: 'Add the item',
    onSubmit: async (values, { showProblem }) => {
      const body = { barcode: values.barcode, title: values.title, item_type: values.item_type };
      if (values.author) body.author = values.author;
      if (values.call_number) body.call_number = values.call_number;
      const answer = await post('/api/v1/items', body);
      if (!answer.ok) return showProblem(answer.problem);
      form.reset();
      fill(added, notice('success', `Added: ${answer.data.title} (${answer.data.barcode}).`));
    },
  });
  const missing = h('ol', { class: 'scanned', 'aria-live': 'polite' });
  const lost = scanField('Mark an item missing: scan or type its barcode', 'missing', async (barcode) => {
    const answer = await post(`/api/v1/items/${encodeURIComponent(barcode)}/missing`);
    missing.append(answer.ok ? h('li', { class: 'ok' }, `${barcode}: marked missing.`)
      : h('li', { class: 'refused' }, `${barcode}: not marked. ${reason(answer)}`));
  }, { autofocus: false });
  const withdrawn = h('ol', { class: 'scanned', 'aria-live': 'polite' });
  const withdraw = scanField('Withdraw an item: scan or type its barcode', 'withdraw', async (barcode) => {
    const answer = await post(`/api/v1/items/${encodeURIComponent(barcode)}/withdraw`);
    withdrawn.append(answer.ok ? h('li', { class: 'ok' }, `${barcode}: withdrawn from circulation.`)
      : h('li', { class: 'refused' }, `${barcode}: not withdrawn. ${reason(answer)}`));
  }, { autofocus: false });
  return desk('Items', h('h2', {}, 'Add an item'), form, added, h('h2', {}, 'Withdraw an item'), withdraw, withdrawn,
    h('h2', {}, 'Mark an item missing'), lost, missing);
}

// ---- register a patron -----------------------------------------------------------------------

async function register() {
  const done = h('div', { 'aria-live': 'polite' });
  const nextYear = new Date();
  nextYear.setFullYear(nextYear.getFullYear() + 3);
  const form = buildForm({
    fields: [
      { name: 'card_barcode', label: 'Card number', required: true, hint: 'Scan the new card.' },
      { name: 'name', label: 'Full name', required: true, autocomplete: 'off' },
      { name: 'email', label: 'Email', type: 'email', hint: 'Optional.' },
      { name: 'phone', label: 'Phone', type: 'tel', hint: 'Optional.' },
      { name: 'postal_address', label: 'Postal address', type: 'textarea', rows: 3, hint: 'Optional.' },
      { name: 'juvenile', label: 'Under 18', type: 'checkbox' },
      { name: 'expires_on', label: 'Card valid until (YYYY-MM-DD)', required: true, value: nextYear.toISOString().slice(0, 10) },
    ],
    submitLabel: 'Register',
    onSubmit: async (values, { showProblem }) => {
      const body = { card_barcode: values.card_barcode, name: values.name, juvenile: values.juvenile, expires_on: values.expires_on };
      for (const k of ['email', 'phone', 'postal_address']) if (values[k]) body[k] = values[k];
      const answer = await post('/api/v1/patrons', body, { idempotencyKey: newKey() });
      if (!answer.ok) return showProblem(answer.problem);
      form.reset();
      fill(done, notice('success', `Registered: ${answer.data.name}, card ${answer.data.card_barcode}. `,
        'Start a ', h('a', { href: '#/desk/pin' }, 'PIN reset'), ' so that the patron can choose a PIN.'));
    },
  });
  return desk('Register a patron', h('p', {}, 'Only what the library keeps: no date of birth, no ID number.'), form, done);
}

// ---- PIN reset -------------------------------------------------------------------------------

async function pinReset() {
  const done = h('div', { 'aria-live': 'polite' });
  const form = buildForm({
    fields: [{ name: 'card_barcode', label: 'The patron\u2019s card', required: true }],
    submitLabel: 'Start a PIN reset',
    onSubmit: async (values, { showProblem }) => {
      const found = await post('/api/v1/patrons/search', { card_barcode: values.card_barcode });
      if (!found.ok) return showProblem(found.problem);
      const patron = found.data.patrons[0];
      if (!patron) return showProblem({ title: 'Not found', detail: 'No patron has that card.' });
      const answer = await post(`/api/v1/patrons/${patron.id}/pin-reset`);
      if (!answer.ok) return showProblem(answer.problem);
      form.reset();
      fill(done, answer.data.sent
        ? notice('success', 'A reset code was sent to the patron. It is good until ', new Date(answer.data.expires_at).toLocaleTimeString(), '.')
        : notice('success', 'Give the patron this code on paper: ', h('strong', { class: 'code' }, answer.data.code),
          `. With it they choose a new PIN of at least ${answer.data.min_pin_length} digits, on this site under \u201cMy account\u201d. It is good for 15 minutes. Staff never choose or see the PIN.`));
    },
  });
  return desk('PIN reset', form, done);
}

// ---- someone asks for patron information ---------------------------------------------------

async function request() {
  const done = h('div', { 'aria-live': 'polite' });
  const form = buildForm({
    fields: [
      { name: 'type', label: 'Who is asking', type: 'select', required: true, options: Object.entries(caseTypes) },
      { name: 'agency', label: 'Agency or organization' },
      { name: 'name', label: 'Their name' },
      { name: 'badge', label: 'Badge or ID number' },
      { name: 'callback_number', label: 'Number to call them back', hint: 'For police: the agency’s number, not one the caller gives.' },
      { name: 'callback_source', label: 'Where that number comes from', hint: 'For example: the county’s published directory.' },
      { name: 'arrived_by', label: 'How they asked', hint: 'In person, by phone, by email\u2026' },
      { name: 'asked', label: 'What they asked for', type: 'textarea', required: true },
      { name: 'card_barcodes', label: 'Library card numbers they named (one per line)', type: 'textarea', rows: 2, hint: 'Copy them from their papers. Do not look anyone up.' },
      { name: 'process', label: 'Legal papers they showed', type: 'select', options: Object.entries(processes) },
      { name: 'issuing_authority', label: 'Court or authority that issued them' },
      { name: 'return_date', label: 'Date the papers must be answered by', type: 'date' },
    ],
    submitLabel: 'Refer to the Director',
    onSubmit: async (values, { showProblem }) => {
      const body = { type: values.type, asked: values.asked };
      for (const k of ['agency', 'name', 'badge', 'callback_number', 'callback_source', 'arrived_by', 'process', 'issuing_authority', 'return_date']) if (values[k]) body[k] = values[k];
      const cards = values.card_barcodes.split('\n').map((c) => c.trim()).filter(Boolean);
      if (cards.length) body.card_barcodes = cards;
      const answer = await post('/api/v1/requests', body, { idempotencyKey: newKey() });
      if (!answer.ok) return showProblem(answer.problem);
      form.remove();
      fill(done, notice('success', h('p', {}, `Referred to the Director as ${answer.data.reference}. Release nothing.`),
        h('p', {}, 'Say to the person asking:'), h('blockquote', {}, answer.data.script)),
      values.process === 'search_warrant' ? warrantForm(answer.data.reference) : null);
    },
  });
  return desk('Someone asks for patron information',
    h('div', { class: 'script' },
      h('p', {}, h('strong', {}, 'Do not look anything up, and release nothing.'), ' The library\u2019s policy sends every request for patron information to the Library Director at once. Write down who is asking and what for, and refer it.')),
    form, done);
}

// A search warrant is executed on the spot: the officers do not wait for the Director. The desk
// records who came, when, and what they took.
function warrantForm(reference) {
  const done = h('div', { 'aria-live': 'polite' });
  const now = new Date(Date.now() - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  const lines = (text) => text.split('\n').map((l) => l.trim()).filter(Boolean);
  const form = buildForm({
    fields: [
      { name: 'officers', label: 'Officers present, with their badge numbers (one per line)', type: 'textarea', required: true },
      { name: 'executed_at', label: 'When it was executed', type: 'datetime-local', required: true, value: now },
      { name: 'items_seized', label: 'Items they took (one barcode per line)', type: 'textarea' },
      { name: 'devices', label: 'Computers or devices they took or copied (one per line)', type: 'textarea' },
      { name: 'notes', label: 'Anything else the Director should know', type: 'textarea' },
    ],
    submitLabel: 'Record the warrant',
    onSubmit: async (v, { showProblem }) => {
      const body = { officers: lines(v.officers), executed_at: new Date(v.executed_at).toISOString().replace(/\.\d{3}Z$/, 'Z') };
      if (v.items_seized) body.items_seized = lines(v.items_seized);
      if (v.devices) body.devices = lines(v.devices);
      if (v.notes) body.notes = v.notes;
      const answer = await post(`/api/v1/requests/${encodeURIComponent(reference)}/warrant`, body, { idempotencyKey: newKey() });
      if (!answer.ok) return showProblem(answer.problem);
      form.remove();
      fill(done, notice('success', `The warrant is recorded on ${reference}. The Director has been told.`));
    },
  });
  return h('section', { 'aria-labelledby': 'warrant-h' },
    h('h2', { id: 'warrant-h' }, 'A search warrant executed now'),
    h('p', {}, 'Do not stand in the officers’ way. Ask for a copy of the warrant and its inventory, and write down what they take.'),
    form, done);
}

// ---- idle and shortcuts -------------------------------------------------------------------------

let idleTimer = null;
function armIdleTimer() {
  if (idleTimer) return;
  const idleMinutes = session.who?.desk_idle_minutes || 10;  // the profile's, from the session
  const reset = () => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      if (location.hash.startsWith('#/desk')) {
        go('#/desk');
        window.dispatchEvent(new Event('hashchange'));
      }
      reset();
    }, idleMinutes * 60 * 1000);
  };
  for (const ev of ['keydown', 'pointerdown']) document.addEventListener(ev, reset, { passive: true });
  reset();
}

document.addEventListener('keydown', (event) => {
  if (!event.altKey || !location.hash.startsWith('#/desk')) return;
  const target = { o: '#/desk', i: '#/desk/checkin', r: '#/desk/renew' }[event.key.toLowerCase()];
  if (target) {
    event.preventDefault();
    go(target);
  }
});

export const routes = [
  [/^#\/desk$/, checkout],
  [/^#\/desk\/checkin$/, checkin],
  [/^#\/desk\/renew$/, renew],
  [/^#\/desk\/register$/, register],
  [/^#\/desk\/pin$/, pinReset],
  [/^#\/desk\/request$/, request],
  [/^#\/desk\/fines$/, fines],
  [/^#\/desk\/items$/, items],
  [/^#\/desk\/shelf$/, shelf],
  [/^#\/desk\/computers$/, computers],
];
