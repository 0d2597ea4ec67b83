// The public pages: open to anyone, no login.

import { get, post } from '../lib/api.js';
import { h, longDate, localTime, hoursText } from '../lib/dom.js';
import { buildForm, notice } from '../lib/forms.js';
import { caseTypes, processes, outcomes, bands, policyEvents, word } from '../lib/words.js';
import { session } from '../app.js';

const days = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

function trouble(answer) {
  return h('section', {}, h('h1', {}, 'Not available'),
    notice('error', answer.problem?.detail || 'The library\u2019s server did not answer. Try again later.'));
}

export async function home() {
  const answer = await get('/api/v1/hours');
  if (!answer.ok) return trouble(answer);
  const hrs = answer.data;
  const todayName = days[new Date(`${hrs.today}T12:00:00Z`).getUTCDay()];
  const status = (open, what) => h('p', { class: `open-now ${open ? 'open' : 'closed'}` },
    h('strong', {}, open ? `${what} is open now.` : `${what} is closed now.`));
  const week = (table, caption) => h('table', { class: 'hours' },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Day'), h('th', { scope: 'col' }, 'Hours'))),
    h('tbody', {}, days.map((d) => h('tr', { class: d === todayName ? 'today' : null },
      h('th', { scope: 'row' }, d === todayName ? `${d} (today)` : d),
      h('td', {}, hoursText(table[d]))))));
  return h('section', { class: 'home' },
    h('h1', {}, hrs.library),
    hrs.address && hrs.address.length ? h('address', {}, hrs.address.map((line, i) => [i ? h('br') : null, line])) : null,
    h('div', { class: 'now' },
      status(hrs.library_open, 'The library'),
      status(hrs.cafe_open, 'The caf\u00e9'),
      !hrs.library_open && hrs.next_opening
        ? h('p', {}, `The library next opens ${localTime(hrs.next_opening, hrs.time_zone)}.`) : null,
      h('p', {}, `Today is ${longDate(hrs.today)}. Library hours today: ${hoursText(hrs.hours.library[todayName])}.`)),
    h('div', { class: 'weeks' },
      week(hrs.hours.library, 'Library hours'),
      week(hrs.hours.cafe, 'Caf\u00e9 hours')),
    h('h2', {}, 'Closed'),
    hrs.closed_dates.length
      ? h('ul', { class: 'closed' }, hrs.closed_dates.map((d) => h('li', {}, longDate(d))))
      : h('p', {}, 'No closings are planned.'),
    h('h2', {}, 'Your privacy'),
    h('p', {}, 'What you read, borrow and ask here stays confidential. ',
      h('a', { href: '#/policy' }, 'Read the library\u2019s privacy policy'),
      ', and ', h('a', { href: '#/transparency' }, 'see how often anyone asked for patron records'), '.'),
    h('p', { class: 'cta' },
      h('a', { class: 'button', href: '#/login/patron' }, 'My account (card and PIN)'),
      ' ', h('a', { class: 'button secondary', href: '#/enews' }, 'Sign up for the eNews')));
}

export async function policy() {
  const [current, versions] = await Promise.all([get('/api/v1/policy'), get('/api/v1/policy/versions')]);
  if (!current.ok) return trouble(current);
  const p = current.data;
  const history = versions.ok ? versions.data.versions : [];
  return h('section', { class: 'policy' },
    h('h1', {}, p.title),
    h('p', { class: 'meta' }, `Version in force: ${p.version}. `, p.statute?.citation ? `The law: ${p.statute.citation}.` : ''),
    p.statute?.summary ? h('p', { class: 'statute' }, p.statute.summary) : null,
    h('h2', {}, 'History'),
    h('ol', { class: 'history' }, history.map((v) => h('li', {},
      h('strong', {}, `${word(policyEvents, v.event)} ${longDate(v.effective_on)}`),
      v.note ? ` \u2014 ${v.note}` : '',
      ' ', h('a', { href: `#/policy/${encodeURIComponent(v.label)}` }, 'Read this version and what it changed')))),
    h('h2', {}, 'The policy'),
    h('div', { class: 'policy-text' }, paragraphs(p.text)));
}

// The policy's text as the library wrote it: numbered sections as headings, "•" lines as
// lists, every other line a paragraph.
function paragraphs(text) {
  const out = [];
  let list = null;
  for (const raw of (text || '').split('\n')) {
    const line = raw.trim();
    if (!line) { list = null; continue; }
    const bullet = line.match(/^[•·*-]\s*(.*)$/);
    if (bullet) {
      if (!list) { list = h('ul'); out.push(list); }
      list.append(h('li', {}, bullet[1]));
      continue;
    }
    list = null;
    const section = line.match(/^(\d+)\.\s+(.{1,80})$/);
    out.push(section ? h('h3', {}, line) : h('p', {}, line));
  }
  return out;
}

export async function policyVersion(label) {
  const [version, changes] = await Promise.all([
    get(`/api/v1/policy/versions/${encodeURIComponent(label)}`),
    get(`/api/v1/policy/versions/${encodeURIComponent(label)}/changes`)]);
  if (!version.ok) return trouble(version);
  const v = version.data;
  let diff = null;
  if (changes.ok) {
    const c = changes.data;
    diff = c.unchanged
      ? h('p', {}, 'The text did not change from the version before it.')
      : [h('p', {}, `${c.lines_added} lines added and ${c.lines_removed} lines removed. Added lines are marked \u201cadded\u201d, removed lines \u201cremoved\u201d.`),
        h('div', { class: 'diff' }, c.lines.filter((l) => l.op !== ' ' || l.text.trim()).map((l) =>
          l.op === '+' ? h('ins', {}, h('span', { class: 'visually-hidden' }, 'added: '), l.text)
            : l.op === '-' ? h('del', {}, h('span', { class: 'visually-hidden' }, 'removed: '), l.text)
              : h('p', {}, l.text)))];
  }
  return h('section', { class: 'policy' },
    h('p', {}, h('a', { href: '#/policy' }, 'Back to the policy in force')),
    h('h1', {}, `${v.title}: ${word(policyEvents, v.event).toLowerCase()} ${longDate(v.effective_on)}`),
    v.note ? h('p', {}, v.note) : null,
    h('h2', {}, 'What changed'),
    diff || h('p', {}, 'The library holds no earlier text to compare with.'),
    h('h2', {}, 'The text of this version'),
    v.text ? h('div', { class: 'policy-text' }, paragraphs(v.text)) : h('p', {}, 'The library holds no copy of this version\u2019s text.'));
}

// A wide table in a box that scrolls sideways on a narrow screen, reachable by keyboard.
function scroller(label, table) {
  return h('div', { class: 'scroller', role: 'region', 'aria-label': label, tabindex: '0' }, table);
}

// A bar of a chart, its length set through the CSS object model (the page allows no inline
// style attribute).
function bar(percent) {
  const el = h('span', { class: 'bar', 'aria-hidden': 'true' });
  el.style.width = `${Math.max(percent, 0.5).toFixed(1)}%`;
  return el;
}

export async function transparency() {
  const answer = await get('/api/v1/transparency');
  if (!answer.ok) return trouble(answer);
  const r = answer.data;
  const years = [...r.years].reverse();
  // One row per kind (in the order of the words above), one column per year.
  const tableOf = (caption, key, words) => {
    const present = Object.keys(r.years[0]?.[key] || {});
    const keys = [...Object.keys(words).filter((k) => present.includes(k)),
      ...present.filter((k) => !(k in words))];
    return scroller(caption, h('table', { class: 'report' },
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Kind'), years.map((y) => h('th', { scope: 'col', class: 'num' }, String(y.year))))),
      h('tbody', {}, keys.map((k) => h('tr', {}, h('th', { scope: 'row' }, word(words, k)),
        years.map((y) => h('td', { class: 'num' }, String(y[key][k]))))))));
  };
  const max = Math.max(1, ...years.map((y) => y.requests));
  return h('section', { class: 'transparency' },
    h('h1', {}, 'Transparency report'),
    h('p', {}, r.notes),
    h('h2', {}, 'Requests for patron records each year'),
    h('ul', { class: 'bars' }, years.map((y) => h('li', {},
      h('span', { class: 'bar-label' }, String(y.year)),
      bar((y.requests / max) * 100),
      h('span', { class: 'bar-value' }, `${y.requests} ${y.requests === 1 ? 'request' : 'requests'}`)))),
    tableOf('Who asked', 'by_type', caseTypes),
    tableOf('What legal process came with the request', 'by_process', processes),
    tableOf('What the library did', 'by_outcome', outcomes),
    scroller(`Reported only in bands of ${r.band_width}`, h('table', { class: 'report' },
      h('caption', {}, `Reported only in bands of ${r.band_width}`),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Kind'), years.map((y) => h('th', { scope: 'col', class: 'num' }, String(y.year))))),
      h('tbody', {}, Object.keys(r.years[0]?.in_bands || {}).map((k) => h('tr', {}, h('th', { scope: 'row' }, word(bands, k)),
        years.map((y) => h('td', { class: 'num' }, y.in_bands[k]))))))),
    h('p', {}, `Decisions the Board of Trustees reversed: ${years.reduce((n, y) => n + y.board_reversals, 0)} in all years shown.`),
    h('p', { class: 'meta' }, `Report prepared ${localTime(r.generated_at, session.timeZone)} under policy version ${r.policy_version}. `,
      h('a', { href: '/api/v1/transparency.html' }, 'Printable version')));
}

export async function enews() {
  const done = h('div');
  const form = buildForm({
    fields: [{ name: 'email', label: 'Email address', type: 'email', required: true, autocomplete: 'email' }],
    submitLabel: 'Sign up',
    onSubmit: async (values, { showProblem }) => {
      const answer = await post('/api/v1/enews/subscribe', { email: values.email });
      if (!answer.ok) return showProblem(answer.problem);
      form.reset();
      done.replaceChildren(notice('success', 'Thank you. If this address is not signed up yet, a message is on its way to it: follow its link to confirm.'));
    },
  });
  return h('section', {},
    h('h1', {}, 'Sign up for the eNews'),
    h('p', {}, 'The library\u2019s newsletter, by email. The library keeps your address for this only, and you can leave with the link in any issue.'),
    form, done);
}

// The links in eNews messages: #/enews/confirm and #/enews/unsubscribe; the token is pasted or
// typed, never carried in the address.
export async function enewsToken(what) {
  const confirm = what === 'confirm';
  const done = h('div');
  const form = buildForm({
    fields: [{ name: 'token', label: 'The code from the message', required: true }],
    submitLabel: confirm ? 'Confirm my sign-up' : 'Stop sending me the eNews',
    onSubmit: async (values, { showProblem }) => {
      const answer = await post(`/api/v1/enews/${confirm ? 'confirm' : 'unsubscribe'}`, { token: values.token });
      if (!answer.ok) return showProblem(answer.problem);
      form.reset();
      done.replaceChildren(notice('success', confirm ? 'Confirmed: you will receive the eNews.' : 'Done: no more eNews will be sent to you.'));
    },
  });
  return h('section', {}, h('h1', {}, confirm ? 'Confirm your eNews sign-up' : 'Leave the eNews'), form, done);
}
