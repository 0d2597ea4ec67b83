// The administrator: user accounts (created, disabled, enabled; pending approvals shown) and how
// the server stands. Nothing here is about any patron, and the administrator approves nothing:
// a new staff, counsel or kiosk account waits for the Director, a Director or Board account for
// the Board.

import { get, post, all } from '../lib/api.js';
import { h, fill } from '../lib/dom.js';
import { buildForm, notice } from '../lib/forms.js';
import { roles, word } from '../lib/words.js';
import { officePage, when, refusal, scroller, say, facts } from '../lib/staff.js';

const admin = ['admin'];

function reload(event) {
  event?.preventDefault?.();
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

export async function users() {
  const list = await all('/api/v1/users', 'users');
  if (!list.ok) return officePage(admin, 'User accounts', notice('error', refusal(list)));
  const status = h('div', { 'aria-live': 'polite' });
  const standing = (u) => (u.disabled ? 'Disabled' : u.pending ? 'Waiting for approval' : u.must_change_password ? 'Active; must choose a password' : 'Active');
  const act = (u, verb) => h('button', {
    type: 'button', class: 'secondary',
    onclick: async () => {
      const answer = await post(`/api/v1/users/${u.id}/${verb}`);
      if (!answer.ok) return say(status, 'error', refusal(answer));
      fill(status, notice('success', verb === 'disable' ? `${u.username} is disabled; their sessions ended.` : `${u.username} is enabled again.`,
        ' ', h('a', { href: location.hash, onclick: reload }, 'Show the list as it is now')));
      status.querySelector('a').focus();
    },
  }, verb === 'disable' ? `Disable ${u.username}` : `Enable ${u.username}`);
  const pending = list.data.users.filter((u) => u.pending && !u.disabled);
  const form = buildForm({
    fields: [
      { name: 'username', label: 'Username', required: true },
      { name: 'role', label: 'Role', type: 'select', options: Object.entries(roles) },
      { name: 'password', label: 'A first password', type: 'password', required: true, autocomplete: 'new-password', hint: 'At least 10 characters. The person must choose their own at first log-in.' },
      { name: 'location', label: 'Where the kiosk stands', hint: 'Self-check kiosks only, for example \u201cMain floor, by the entrance\u201d. Leave it empty for a person\u2019s account.' },
    ],
    submitLabel: 'Create the account',
    onSubmit: async (v, { showProblem }) => {
      const body = { ...v };
      if (!body.location) delete body.location;
      const answer = await post('/api/v1/users', body);
      if (!answer.ok) return showProblem(answer.problem);
      form.reset();
      fill(status, notice('success', `${answer.data.username} is created as ${word(roles, answer.data.role).toLowerCase()}.`,
        answer.data.pending ? ` It works once ${answer.data.role === 'director' || answer.data.role === 'board' ? 'the Board approves it' : 'the Director approves it'}.` : '',
        ' ', h('a', { href: location.hash, onclick: reload }, 'Show the list as it is now')));
      status.querySelector('a').focus();
    },
  });
  return officePage(admin, 'User accounts',
    status,
    pending.length ? h('p', {}, `${pending.length} ${pending.length === 1 ? 'account waits' : 'accounts wait'} for approval: ${pending.map((u) => u.username).join(', ')}.`) : null,
    scroller('User accounts', h('table', { class: 'list' }, h('caption', {}, 'Accounts'),
      h('thead', {}, h('tr', {}, ['Username', 'Role', 'Standing', 'Approved by', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, list.data.users.map((u) => h('tr', {},
        h('th', { scope: 'row' }, u.username), h('td', {}, u.location ? `${word(roles, u.role)} (${u.location})` : word(roles, u.role)), h('td', {}, standing(u)),
        h('td', {}, u.approved_by || ''), h('td', {}, act(u, u.disabled ? 'enable' : 'disable'))))))),
    h('h2', {}, 'Create an account'), form);
}

function bytes(n) {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return `${i ? v.toFixed(1) : v} ${units[i]}`;
}

export async function server() {
  const answer = await get('/api/v1/system');
  if (!answer.ok) return officePage(admin, 'Server', notice('error', refusal(answer)));
  const s = answer.data;
  const freeShare = s.disk.total_bytes ? s.disk.free_bytes / s.disk.total_bytes : 1;
  const run = s.last_retention_run;
  return officePage(admin, 'Server',
    facts([
      ['carrel version', s.version],
      ['Checked', when(s.now)],
      ['Audit log', `${s.audit.size} entries; the latest signed head covers ${s.audit.signed_size}${s.audit.signed_at ? `, signed ${when(s.audit.signed_at)}` : ' (none signed yet)'}`],
      ['Last retention run', run ? `${run.finished_at ? `Finished ${when(run.finished_at)}` : `Started ${when(run.started_at)}, not finished`}` : 'None yet'],
      ['Last backup of the data', s.last_backup ? when(s.last_backup) : h('strong', { class: 'warn' }, 'None recorded')],
      ['Last backup of the keys', s.last_keyring_backup ? when(s.last_keyring_backup) : h('strong', { class: 'warn' }, 'None recorded')],
      ['Disk', [`${bytes(s.disk.free_bytes)} free of ${bytes(s.disk.total_bytes)}; the library\u2019s files take ${bytes(s.disk.data_bytes)}`,
        freeShare < 0.1 ? h('strong', { class: 'warn' }, ' (less than a tenth free)') : null]],
    ]),
    h('p', {}, 'Backups are made on the server with ', h('code', {}, 'carrel backup'), ' and ', h('code', {}, 'carrel backup-keys'), '; keep the two apart.'));
}

export const routes = [
  [/^#\/admin$/, users],
  [/^#\/admin\/server$/, server],
];
