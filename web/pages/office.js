// The Director's office, and what the Board and counsel share of it: the inbox with its
// deadlines, designee appointments and absences, the retention schedule (in words, edited and
// signed after its plan's counts are shown), retention runs, legal holds, and the accounts that
// wait for approval.

import { get, post, all, newKey } from '../lib/api.js';
import { h, fill, longDate } from '../lib/dom.js';
import { buildForm, notice } from '../lib/forms.js';
import { session } from '../app.js';
import { inboxKinds, retentionCategories, roles, word, rulings } from '../lib/words.js';
import {
  officePage, loadPeople, personName, when, refusal, facts, scroller, askPassword, say, hasRole,
} from '../lib/staff.js';

const everyone = ['director', 'designee', 'counsel', 'board'];

function reload(event) {
  event?.preventDefault?.();
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

function doneLine(region, text) {
  fill(region, notice('success', text, ' ', h('a', { href: location.hash, onclick: reload }, 'Show the page as it is now')));
  region.querySelector('a')?.focus();
}

// ---- home: the inbox ----------------------------------------------------------------------------

export async function office() {
  await loadPeople();
  const [inbox, cases, pending, holds] = await Promise.all([
    get('/api/v1/inbox'),
    hasRole('director', 'designee', 'counsel') ? get('/api/v1/requests') : null,
    hasRole('director', 'designee', 'board') ? get('/api/v1/users/pending') : null,
    hasRole('director', 'board', 'counsel') ? get('/api/v1/legal-holds') : null,
  ]);
  const parts = [];
  if (!inbox.ok) return officePage(everyone, 'Inbox', notice('error', refusal(inbox)));
  const caseLink = (ref) => (ref ? h('a', { href: `#/cases/${ref}` }, ref) : null);
  const deadlineLink = (d) => {
    if (d.kind === 'board_review_open') return h('a', { href: `#/board/reviews/${d.subject_id}` }, `Review ${d.subject_id}`);
    if (d.kind.startsWith('policy_vote')) return h('a', { href: '#/board/amendments' }, 'Policy amendments');
    return caseLink(d.case);
  };
  const due = (d) => (/^\d{4}-\d{2}-\d{2}$/.test(d.due) ? longDate(d.due) : when(d.due));
  parts.push(h('section', { 'aria-labelledby': 'dl-h' },
    h('h2', { id: 'dl-h' }, 'Deadlines'),
    inbox.data.deadlines.length
      ? h('ul', { class: 'deadlines' }, inbox.data.deadlines.map((d) => h('li', { class: d.overdue ? 'overdue' : null },
        h('strong', {}, word(inboxKinds, d.kind)), ': ', deadlineLink(d), ` \u2014 by ${due(d)}`,
        d.overdue ? h('strong', { class: 'warn' }, ' (overdue)') : null)))
      : h('p', { class: 'meta' }, 'Nothing is due.')));
  const unread = inbox.data.items.filter((i) => !i.read);
  const status = h('div', { 'aria-live': 'polite' });
  parts.push(h('section', { 'aria-labelledby': 'in-h' },
    h('h2', { id: 'in-h' }, `Messages (${unread.length} unread)`),
    inbox.data.items.length
      ? h('ul', { class: 'inbox' }, inbox.data.items.map((i) => h('li', { class: i.read ? 'read' : 'unread' },
        i.read ? null : h('strong', {}, 'New: '),
        word(inboxKinds, i.kind), i.case ? [' \u2014 ', caseLink(i.case)] : null, h('span', { class: 'meta' }, ` ${when(i.created_at)} `),
        i.read ? null : h('button', {
          type: 'button', class: 'link',
          onclick: async (ev) => {
            const answer = await post(`/api/v1/inbox/${i.id}/read`);
            if (!answer.ok) return say(status, 'error', refusal(answer));
            ev.target.closest('li').className = 'read';
            ev.target.remove();
            say(status, 'success', 'Marked read.');
          },
        }, 'Mark read'))))
      : h('p', { class: 'meta' }, 'No messages.'),
    status));
  if (cases && cases.ok) {
    const open = cases.data.requests.filter((r) => r.state !== 'closed');
    parts.push(h('section', { 'aria-labelledby': 'oc-h' },
      h('h2', { id: 'oc-h' }, 'Open requests'),
      h('p', {}, open.length ? `${open.length} open: ` : 'None open.', open.map((r, n) => [n ? ', ' : '', caseLink(r.reference)]))));
  }
  if (holds && holds.ok) {
    parts.push(h('section', { 'aria-labelledby': 'lh-h' },
      h('h2', { id: 'lh-h' }, 'Legal holds'),
      h('p', {}, `${holds.data.holds.length} standing. `, hasRole('director', 'board') ? h('a', { href: '#/retention' }, 'See them under Retention') : null)));
  }
  if (pending && pending.ok) {
    parts.push(h('section', { 'aria-labelledby': 'pa-h' },
      h('h2', { id: 'pa-h' }, 'Accounts awaiting approval'),
      h('p', {}, pending.data.users.length ? `${pending.data.users.length} waiting. ` : 'None waiting. ',
        pending.data.users.length ? h('a', { href: '#/approvals' }, 'Approve or vote') : null)));
  }
  return officePage(everyone, 'Inbox', ...parts);
}

// ---- designees: appointments and absences --------------------------------------------------------

export async function appointments() {
  const people = await loadPeople();
  const [list, absences] = await Promise.all([all('/api/v1/appointments', 'appointments'), all('/api/v1/absences', 'absences')]);
  if (!list.ok) return officePage(['director', 'board'], 'Designees', notice('error', refusal(list)));
  const director = hasRole('director');
  const status = h('div', { 'aria-live': 'polite' });
  const now = Date.now();
  const rows = list.data.appointments.map((a) => {
    const live = !a.revoked_at && Date.parse(a.valid_from) <= now && now < Date.parse(a.valid_to);
    return h('tr', {},
      h('td', {}, personName(a.designee_id)),
      h('td', {}, a.scope === 'standing' ? 'Standing' : 'Only while the Director is recorded absent'),
      h('td', {}, `${when(a.valid_from)} to ${when(a.valid_to)}`),
      h('td', {}, a.revoked_at ? `Revoked ${when(a.revoked_at)}` : live ? 'In force' : Date.parse(a.valid_from) > now ? 'Not yet in force' : 'Ended',
        a.board_ruling ? ` \u2014 Board: ${word(rulings, a.board_ruling.outcome)}` : ''),
      h('td', {}, h('details', {}, h('summary', {}, 'Signed statement'), h('p', { class: 'prose' }, a.statement), h('code', { class: 'sig' }, a.signature))),
      director && !a.revoked_at ? h('td', {}, h('button', {
        type: 'button', class: 'secondary',
        onclick: async () => {
          const password = await askPassword(`Revoke the appointment of ${personName(a.designee_id)}`, h('p', {}, 'From now on they act as front-desk staff only.'));
          if (password === null) return;
          const answer = await post(`/api/v1/appointments/${a.id}/revoke`, { password });
          if (!answer.ok) return say(status, 'error', refusal(answer));
          doneLine(status, 'The appointment is revoked.');
        },
      }, 'Revoke')) : h('td', {}));
  });
  const staff = [...people.values()].filter((p) => p.role === 'staff' && !p.disabled).map((p) => [String(p.user_id), p.username]);
  const appointForm = director ? buildForm({
    fields: [
      { name: 'designee_id', label: 'Staff member', type: 'select', required: true, options: staff.length ? staff : [['', 'No staff account']] },
      { name: 'scope', label: 'When they may act', type: 'select', options: [['absence', 'Only while I am recorded absent'], ['standing', 'At any time (standing)']] },
      { name: 'valid_from', label: 'From', type: 'datetime-local', required: true },
      { name: 'valid_to', label: 'Until', type: 'datetime-local', required: true },
    ],
    submitLabel: 'Sign the appointment',
    onSubmit: async (v, { showProblem }) => {
      const body = { designee_id: Number(v.designee_id), scope: v.scope, valid_from: iso(v.valid_from), valid_to: iso(v.valid_to) };
      const password = await askPassword('Appoint a designee', h('p', {}, `${personName(body.designee_id)} may act for you on requests for patron information (${v.scope === 'standing' ? 'at any time' : 'while you are recorded absent'}) from ${when(body.valid_from)} until ${when(body.valid_to)}.`));
      if (password === null) return;
      const answer = await post('/api/v1/appointments', { ...body, password });
      if (!answer.ok) return showProblem(answer.problem);
      doneLine(status, `Appointment ${answer.data.id} signed.`);
    },
  }) : null;
  const absenceForm = director ? buildForm({
    fields: [
      { name: 'from', label: 'Absent from', type: 'datetime-local', required: true },
      { name: 'to', label: 'Back on', type: 'datetime-local', required: true },
    ],
    submitLabel: 'Record the absence',
    onSubmit: async (v, { showProblem }) => {
      const answer = await post('/api/v1/absences', { from: iso(v.from), to: iso(v.to) });
      if (!answer.ok) return showProblem(answer.problem);
      doneLine(status, 'The absence is recorded.');
    },
  }) : null;
  return officePage(['director', 'board'], 'Designees',
    h('p', {}, 'A designee acts for the Director on requests for patron information, only under a written appointment the Director signed, and only within its period.'),
    status,
    rows.length ? scroller('Appointments', h('table', { class: 'list' }, h('caption', {}, 'Appointments'),
      h('thead', {}, h('tr', {}, ['Designee', 'Scope', 'Period', 'Standing', 'Statement', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows))) : h('p', { class: 'meta' }, 'No appointments.'),
    appointForm ? [h('h2', {}, 'Appoint a designee'), appointForm] : null,
    h('h2', {}, 'Absences of the Director'),
    absences.ok && absences.data.absences.length
      ? h('ul', {}, absences.data.absences.map((a) => h('li', {}, `${when(a.from)} to ${when(a.to)}`)))
      : h('p', { class: 'meta' }, 'None recorded.'),
    absenceForm);
}

function iso(local) { return local ? new Date(local).toISOString().replace(/\.\d{3}Z$/, 'Z') : ''; }

// ---- retention ---------------------------------------------------------------------------------

function keptWords(rule) {
  if (rule.days === 0) return `Deleted at once${rule.trigger ? ` (${rule.trigger})` : ''}`;
  const years = rule.days % 365 === 0 ? rule.days / 365 : 0;
  const span = years ? `${years} ${years === 1 ? 'year' : 'years'}` : `${rule.days} ${rule.days === 1 ? 'day' : 'days'}`;
  return `Kept ${span}${rule.trigger ? ` from ${rule.trigger}` : ''}, then deleted`;
}

export async function retention() {
  await loadPeople();
  const director = hasRole('director');
  const [current, history, runs, holds] = await Promise.all([
    get('/api/v1/retention/schedule'), all('/api/v1/retention/schedules', 'versions'),
    all('/api/v1/retention/runs', 'runs'), all('/api/v1/legal-holds?all=true', 'holds'),
  ]);
  const status = h('div', { 'aria-live': 'polite' });
  const parts = [status];
  if (current.ok) {
    const v = current.data;
    parts.push(h('h2', {}, `The schedule in force (version ${v.version})`),
      h('p', {}, `Signed by ${v.signed_by} ${when(v.signed_at)}.`,
        v.board_ruling ? ` The Board ${word(rulings, v.board_ruling.outcome).toLowerCase()} it.` : ''),
      h('p', {}, h('strong', {}, 'Why: '), v.reason),
      h('p', {}, 'The policy keeps a record only as long as the library needs it; each period below starts from the event named.'),
      scroller('The schedule', h('table', { class: 'list' }, h('caption', {}, 'What is kept, and for how long'),
        h('thead', {}, h('tr', {}, ['Records', 'How long', 'What they are'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, v.rules.map((r) => h('tr', {}, h('th', { scope: 'row' }, word(retentionCategories, r.category)), h('td', {}, keptWords(r)), h('td', {}, r.description)))))));
    if (director) parts.push(scheduleEditor(v, status));
  } else {
    parts.push(notice('error', refusal(current)));
  }
  if (history.ok && history.data.versions.length > 1) {
    parts.push(h('h2', {}, 'Earlier versions'),
      h('ul', {}, history.data.versions.map((v) => h('li', {}, `Version ${v.version}: signed by ${v.signed_by} ${when(v.signed_at)} \u2014 ${v.reason}`))));
  }
  parts.push(h('h2', {}, 'Retention runs'));
  if (runs.ok && runs.data.runs.length) {
    parts.push(scroller('Retention runs', h('table', { class: 'list' }, h('caption', {}, 'Past runs: what each removed'),
      h('thead', {}, h('tr', {}, ['Day', 'Finished', 'Schedule', 'Removed', 'Kept by a legal hold', 'Keys destroyed'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, runs.data.runs.map((r) => h('tr', {},
        h('td', {}, longDate(r.day)), h('td', {}, r.finished_at ? when(r.finished_at) : 'Not finished'),
        h('td', {}, `Version ${r.schedule_version}`),
        h('td', { class: 'num' }, String(r.counts.reduce((n, c) => n + c.remove, 0))),
        h('td', { class: 'num' }, String(r.counts.reduce((n, c) => n + c.held, 0))),
        h('td', {}, r.destroyed_keys.length ? h('details', {}, h('summary', {}, `${r.destroyed_keys.length} keys`), h('ul', { class: 'keys' }, r.destroyed_keys.map((k) => h('li', {}, h('code', {}, k))))) : 'None')))))));
  } else {
    parts.push(h('p', { class: 'meta' }, runs.ok ? 'No run yet. The server runs retention each day while the library is closed.' : refusal(runs)));
  }
  if (director) {
    parts.push(h('p', {}, h('button', {
      type: 'button', class: 'secondary',
      onclick: async () => {
        const answer = await post('/api/v1/retention/runs');
        if (!answer.ok) return say(status, 'error', refusal(answer));
        doneLine(status, `Run finished: ${answer.data.counts.reduce((n, c) => n + c.remove, 0)} records removed, ${answer.data.destroyed_keys.length} keys destroyed.`);
      },
    }, 'Run retention now')));
  }
  parts.push(legalHolds(holds, status));
  return officePage(['director', 'board'], 'Retention', ...parts);
}

function scheduleEditor(v, status) {
  const planArea = h('div', { 'aria-live': 'polite' });
  let planned = null;
  const fields = v.rules.map((r) => ({ name: r.category, label: `${word(retentionCategories, r.category)}: days kept`, inputmode: 'numeric', value: String(r.days), hint: `After ${r.trigger}. 0 deletes at once.` }));
  fields.push({ name: 'reason', label: 'Why the schedule changes', type: 'textarea', required: true });
  const draftOf = (values) => ({
    format: 'carrel-retention-schedule/1',
    rules: v.rules.map((r) => ({ category: r.category, days: Number(values[r.category]), trigger: r.trigger, description: r.description })),
  });
  const form = buildForm({
    fields,
    submitLabel: 'Sign the new schedule',
    onSubmit: async (values, { showProblem }) => {
      const schedule = draftOf(values);
      if (!planned || JSON.stringify(planned) !== JSON.stringify(schedule)) {
        return showProblem({ title: 'See the plan first', detail: 'Press \u201cShow what it would remove\u201d to see the counts before you sign.' });
      }
      const password = await askPassword('Sign the retention schedule', h('p', {}, `A new version of the schedule, in force at once. Why: ${values.reason}`));
      if (password === null) return;
      const answer = await post('/api/v1/retention/schedules', { schedule, reason: values.reason, password });
      if (!answer.ok) return showProblem(answer.problem);
      doneLine(status, `Version ${answer.data.version} of the schedule is signed and in force.`);
    },
  });
  const planButton = h('button', {
    type: 'button', class: 'secondary',
    onclick: async () => {
      const values = Object.fromEntries(Object.entries(form.controls).map(([k, c]) => [k, c.control.value.trim()]));
      const schedule = draftOf(values);
      const answer = await post('/api/v1/retention/plan', { schedule });
      if (!answer.ok) { planned = null; return say(planArea, 'error', refusal(answer)); }
      planned = schedule;
      fill(planArea, h('table', { class: 'list' }, h('caption', {}, `Under this schedule, a run today would remove`),
        h('thead', {}, h('tr', {}, ['Records', 'Removed', 'Kept by a legal hold', 'Kept for staff to settle'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, answer.data.counts.map((c) => h('tr', {}, h('td', {}, word(retentionCategories, c.category)),
          h('td', { class: 'num' }, String(c.remove)), h('td', { class: 'num' }, String(c.held)), h('td', { class: 'num' }, String(c.listed)))))));
    },
  }, 'Show what it would remove');
  form.insertBefore(h('div', {}, h('p', {}, planButton), planArea), form.querySelector('.actions'));
  return h('details', { class: 'editor' }, h('summary', {}, 'Change the schedule'), form);
}

function legalHolds(holds, status) {
  const director = hasRole('director');
  const parts = [h('h2', {}, 'Legal holds')];
  parts.push(h('p', {}, 'A legal hold keeps a patron\u2019s records from deletion while a request or a lawsuit needs them.'));
  if (!holds.ok) return [...parts, notice('error', refusal(holds))];
  const rows = holds.data.holds;
  parts.push(rows.length ? scroller('Legal holds', h('table', { class: 'list' }, h('caption', {}, 'Legal holds'),
    h('thead', {}, h('tr', {}, ['Hold', 'Request', 'Period', 'Why', 'Placed', 'Standing', ''].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows.map((x) => h('tr', {},
      h('td', {}, String(x.id)), h('td', {}, x.case_id ? h('a', { href: `#/cases/${x.case_id}` }, x.case_id) : ''),
      h('td', {}, x.from || x.to ? `${x.from ? longDate(x.from) : 'any time'} to ${x.to ? longDate(x.to) : 'now'}` : 'All records'),
      h('td', {}, x.reason), h('td', {}, `${when(x.placed_at)} by ${personName(x.placed_by)}`),
      h('td', {}, x.released ? 'Released' : 'Standing'),
      h('td', {}, director && !x.released ? h('button', {
        type: 'button', class: 'secondary',
        onclick: async () => {
          const password = await askPassword(`Release legal hold ${x.id}`, h('p', {}, 'The records it kept are deleted on schedule again.'));
          if (password === null) return;
          const answer = await post(`/api/v1/legal-holds/${x.id}/release`, { password });
          if (!answer.ok) return say(status, 'error', refusal(answer));
          doneLine(status, `Legal hold ${x.id} is released.`);
        },
      }, 'Release') : null)))))) : h('p', { class: 'meta' }, 'None.'));
  if (director) {
    const form = buildForm({
      fields: [
        { name: 'card', label: 'The patron\u2019s card number', required: true, inputmode: 'numeric' },
        { name: 'from', label: 'Records from (optional)', type: 'date' },
        { name: 'to', label: 'Records to (optional)', type: 'date' },
        { name: 'reason', label: 'Why', type: 'textarea', required: true },
      ],
      submitLabel: 'Place the hold',
      onSubmit: async (v, { showProblem }) => {
        const found = await post('/api/v1/patrons/search', { card_barcode: v.card });
        if (!found.ok) return showProblem({ ...found.problem, errors: (found.problem.errors || []).map((e) => ({ ...e, pointer: '/card' })) });
        const patron = found.data.patrons[0];
        if (!patron) return showProblem({ title: 'Not found', errors: [{ pointer: '/card', detail: 'no patron has that card' }] });
        const password = await askPassword('Place a legal hold', h('p', {}, `The records of card ${v.card} are kept from deletion until you release the hold.`));
        if (password === null) return;
        const body = { patron_id: patron.id, reason: v.reason, password };
        if (v.from) body.from = v.from;
        if (v.to) body.to = v.to;
        const answer = await post('/api/v1/legal-holds', body);
        if (!answer.ok) return showProblem(answer.problem);
        doneLine(status, `Legal hold ${answer.data.id} is placed.`);
      },
    });
    parts.push(h('details', {}, h('summary', {}, 'Place a legal hold'), form));
  }
  return parts;
}

// ---- accounts to approve -------------------------------------------------------------------------

export async function approvals() {
  await loadPeople();
  const pending = await all('/api/v1/users/pending', 'users');
  if (!pending.ok) return officePage(['director', 'designee', 'board'], 'Accounts to approve', notice('error', refusal(pending)));
  const status = h('div', { 'aria-live': 'polite' });
  const board = session.who?.role === 'board';
  return officePage(['director', 'designee', 'board'], 'Accounts to approve',
    h('p', {}, 'An account the administrator creates for staff or counsel works only once the Director approves it; a Director or Board account, once the Board approves it by resolution. The administrator never approves an account.'),
    status,
    pending.data.users.length
      ? h('ul', { class: 'approvals' }, pending.data.users.map((u) => h('li', {},
        h('strong', {}, u.username), ` \u2014 ${word(roles, u.role)} `,
        h('button', {
          type: 'button',
          onclick: async () => {
            const password = await askPassword(board ? `Vote to approve ${u.username}` : `Approve ${u.username}`,
              h('p', {}, `${u.username} would work as ${word(roles, u.role).toLowerCase()}.`));
            if (password === null) return;
            const answer = await post(`/api/v1/users/${u.id}/approve`, { password }, { idempotencyKey: newKey() });
            if (!answer.ok) return say(status, 'error', refusal(answer));
            doneLine(status, answer.data.active ? `${u.username} is approved and may log in.` : `Your vote is recorded: ${answer.data.votes} of the ${answer.data.needed} needed.`);
          },
        }, board ? 'Vote to approve' : 'Approve'))))
      : h('p', { class: 'meta' }, 'No account is waiting.'));
}

export const routes = [
  [/^#\/office$/, office],
  [/^#\/appointments$/, appointments],
  [/^#\/retention$/, retention],
  [/^#\/approvals$/, approvals],
];
