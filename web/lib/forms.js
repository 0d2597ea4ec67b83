// Forms: labelled fields, and the server's refusal shown beside the field it names (problem
// details' `errors`), with a summary announced to screen readers. Nothing is half saved: the
// server checks the whole body before it writes anything.

import { h, fill } from './dom.js';

let counter = 0;

// fields: [{ name, label, type, required, hint, autocomplete, inputmode, options, value }]
export function buildForm({ fields, submitLabel, onSubmit, className }) {
  const summary = h('div', { class: 'form-summary', role: 'alert', hidden: true });
  const controls = {};
  const rows = fields.map((f) => {
    const id = `f${++counter}-${f.name}`;
    const described = [];
    const hint = f.hint ? h('p', { class: 'hint', id: `${id}-hint` }, f.hint) : null;
    if (hint) described.push(`${id}-hint`);
    const error = h('p', { class: 'field-error', id: `${id}-error`, hidden: true });
    let control;
    if (f.type === 'select') {
      control = h('select', { id, name: f.name, required: f.required },
        f.options.map(([value, text]) => h('option', { value, selected: value === f.value }, text)));
    } else if (f.type === 'textarea') {
      control = h('textarea', { id, name: f.name, required: f.required, rows: f.rows || 4 }, f.value || '');
    } else if (f.type === 'checkbox') {
      control = h('input', { id, name: f.name, type: 'checkbox', checked: f.value === true });
    } else {
      control = h('input', {
        id, name: f.name, type: f.type || 'text', required: f.required, autocomplete: f.autocomplete || 'off',
        inputmode: f.inputmode, value: f.value ?? '', spellcheck: f.type === 'password' ? 'false' : null,
      });
    }
    if (described.length) control.setAttribute('aria-describedby', described.join(' '));
    controls[f.name] = { control, error, field: f, hintId: hint ? `${id}-hint` : '' };
    const label = h('label', { for: id }, f.label, f.required ? h('span', { class: 'req' }, ' (required)') : null);
    return f.type === 'checkbox'
      ? h('div', { class: 'field checkbox' }, control, label, hint, error)
      : h('div', { class: 'field' }, label, hint, control, error);
  });
  const button = h('button', { type: 'submit' }, submitLabel);
  const form = h('form', { class: className || 'form', novalidate: true }, summary, rows, h('div', { class: 'actions' }, button));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form, controls, summary);
    button.disabled = true;
    try {
      await onSubmit(values(controls), {
        showProblem: (problem) => showProblem(problem, controls, summary),
        clear: () => clearErrors(form, controls, summary),
        controls,
      });
    } finally {
      button.disabled = false;
    }
  });
  form.controls = controls;
  return form;
}

function values(controls) {
  const out = {};
  for (const [name, { control, field }] of Object.entries(controls)) {
    if (field.type === 'checkbox') out[name] = control.checked;
    else out[name] = control.value.trim();
  }
  return out;
}

function clearErrors(form, controls, summary) {
  summary.hidden = true;
  fill(summary);
  for (const { control, error, hintId } of Object.values(controls)) {
    control.removeAttribute('aria-invalid');
    error.hidden = true;
    fill(error);
    if (hintId) control.setAttribute('aria-describedby', hintId);
    else control.removeAttribute('aria-describedby');
  }
}

// Shows a refusal: each field the server named gets its reason beside it; the summary lists
// them (and says the server's detail when no field is named).
export function showProblem(problem, controls, summary) {
  const named = [];
  for (const e of problem.errors || []) {
    const name = (e.pointer || '').split('/')[1] || e.parameter;
    const entry = controls[name];
    if (!entry) continue;
    named.push([entry, e.detail]);
    entry.control.setAttribute('aria-invalid', 'true');
    fill(entry.error, `${entry.field.label}: ${e.detail}`);
    entry.error.hidden = false;
    entry.control.setAttribute('aria-describedby', [entry.hintId, entry.error.id].filter(Boolean).join(' '));
  }
  const heading = named.length ? 'Please correct the following.' : (problem.title || 'Not done');
  fill(summary,
    h('p', { class: 'summary-title' }, heading),
    named.length
      ? h('ul', {}, named.map(([entry, detail]) => h('li', {}, h('a', { href: `#${entry.control.id}`, onclick: (ev) => { ev.preventDefault(); entry.control.focus(); } }, `${entry.field.label}: ${detail}`))))
      : h('p', {}, problem.detail || ''));
  summary.hidden = false;
  if (named.length) named[0][0].control.focus();
  else summary.focus?.();
}

// A message above or below a form: success (polite) or trouble (assertive).
export function notice(kind, ...children) {
  return h('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, children);
}
