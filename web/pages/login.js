// Logging in: staff with username and password, patrons with card and PIN; a patron's new PIN
// with the reset code from the desk; a staff member's first password change.

import { post, get } from '../lib/api.js';
import { h } from '../lib/dom.js';
import { buildForm, notice } from '../lib/forms.js';
import { signedIn, session, go, homeFor } from '../app.js';

async function afterLogin(answer) {
  const me = await get('/api/v1/session');
  signedIn(me.ok ? me.data : { kind: answer.data.role === 'patron' ? 'patron' : 'user', role: answer.data.role, id: answer.data.id, username: '', must_change_password: answer.data.must_change_password },
    answer.data.csrf_token);
}

export async function staffLogin() {
  if (session.who) go(homeFor(session.who));
  const form = buildForm({
    fields: [
      { name: 'username', label: 'Username', required: true, autocomplete: 'username' },
      { name: 'password', label: 'Password', type: 'password', required: true, autocomplete: 'current-password' },
    ],
    submitLabel: 'Log in',
    onSubmit: async (values, { showProblem }) => {
      const answer = await post('/api/v1/session', values);
      if (!answer.ok) return showProblem(answer.problem);
      await afterLogin(answer);
    },
  });
  return h('section', { class: 'narrow' },
    h('h1', {}, 'Staff log in'),
    form,
    h('p', {}, 'A patron? ', h('a', { href: '#/login/patron' }, 'Log in with your library card')));
}

export async function patronLogin() {
  const form = buildForm({
    fields: [
      { name: 'card_barcode', label: 'Library card number', required: true, inputmode: 'numeric', autocomplete: 'username' },
      { name: 'pin', label: 'PIN', type: 'password', required: true, inputmode: 'numeric', autocomplete: 'current-password' },
    ],
    submitLabel: 'Log in',
    onSubmit: async (values, { showProblem }) => {
      const answer = await post('/api/v1/session', values);
      if (!answer.ok) return showProblem(answer.problem);
      await afterLogin(answer);
    },
  });
  return h('section', { class: 'narrow' },
    h('h1', {}, 'My account'),
    h('p', {}, 'Log in with the number on your library card and your PIN.'),
    form,
    h('p', {}, 'Forgot your PIN? Ask at the desk for a reset code, then ', h('a', { href: '#/pin' }, 'choose a new PIN'), '.'),
    h('p', {}, 'Library staff: ', h('a', { href: '#/login' }, 'staff log in')));
}

export async function pinReset() {
  const done = h('div');
  const form = buildForm({
    fields: [
      { name: 'card_barcode', label: 'Library card number', required: true, inputmode: 'numeric' },
      { name: 'code', label: 'Reset code from the desk', required: true, hint: 'It is good for 15 minutes.' },
      { name: 'new_pin', label: 'New PIN', type: 'password', required: true, inputmode: 'numeric', autocomplete: 'new-password', hint: 'Digits only; at least 6.' },
    ],
    submitLabel: 'Set my PIN',
    onSubmit: async (values, { showProblem }) => {
      const answer = await post('/api/v1/pin-reset', values);
      if (!answer.ok) return showProblem(answer.problem);
      form.reset();
      done.replaceChildren(notice('success', 'Your new PIN is set. ', h('a', { href: '#/login/patron' }, 'Log in with it')));
    },
  });
  return h('section', { class: 'narrow' }, h('h1', {}, 'Choose a new PIN'), form, done);
}

export async function changePassword() {
  const done = h('div');
  const form = buildForm({
    fields: [
      { name: 'password', label: 'Current password', type: 'password', required: true, autocomplete: 'current-password' },
      { name: 'new_password', label: 'New password', type: 'password', required: true, autocomplete: 'new-password', hint: 'At least 10 characters.' },
    ],
    submitLabel: 'Change my password',
    onSubmit: async (values, { showProblem }) => {
      const answer = await post('/api/v1/session/password', values);
      if (!answer.ok) return showProblem(answer.problem);
      form.reset();
      if (session.who) session.who.must_change_password = false;
      done.replaceChildren(notice('success', 'Your password is changed.'));
    },
  });
  return h('section', { class: 'narrow' },
    h('h1', {}, 'Choose a new password'),
    session.who?.must_change_password ? h('p', {}, 'The password this account was given is good only for choosing your own.') : null,
    form, done);
}
