// Requests for patron information, as the Director, a designee under a valid appointment and
// counsel handle them: the list, and a case's file with its history and the steps the workflow
// allows now. The steps offered are read from the transition table (GET /api/v1/request-steps),
// so the screen never offers what the workflow would refuse; signed steps ask for the password
// again in a dialog.

import { get, post, newKey } from '../lib/api.js';
import { h, fill, longDate } from '../lib/dom.js';
import { buildForm, notice } from '../lib/forms.js';
import { session } from '../app.js';
import {
  caseTypes, processes, outcomes, caseStates, caseSteps, caseEvents, recordCategories, word,
} from '../lib/words.js';
import {
  officePage, loadPeople, personName, when, refusal, facts, scroller, askPassword, download, say,
} from '../lib/staff.js';

const caseRoles = ['director', 'designee', 'counsel'];

// ---- the list ---------------------------------------------------------------------------------

export async function caseList() {
  const answer = await get('/api/v1/requests');
  await loadPeople();
  const title = session.who?.role === 'counsel' ? 'My cases' : 'Requests for patron information';
  if (!answer.ok) return officePage(caseRoles, title, notice('error', refusal(answer)));
  const open = answer.data.requests.filter((r) => r.state !== 'closed');
  const closed = answer.data.requests.filter((r) => r.state === 'closed');
  const table = (rows, caption) => (rows.length
    ? scroller(caption, h('table', { class: 'list' }, h('caption', {}, caption),
      h('thead', {}, h('tr', {}, ['Request', 'From', 'Legal process', 'Where it stands', 'Received', 'Return date'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows.map((r) => h('tr', {},
        h('th', { scope: 'row' }, h('a', { href: `#/cases/${r.reference}` }, r.reference)),
        h('td', {}, word(caseTypes, r.type)),
        h('td', {}, word(processes, r.process), r.nondisclosure_order ? h('span', { class: 'tag' }, ' Nondisclosure order') : null),
        h('td', {}, word(caseStates, r.state), r.outcome ? h('span', { class: 'meta' }, ` \u2014 ${word(outcomes, r.outcome)}`) : null),
        h('td', {}, when(r.received_at)),
        h('td', {}, r.return_date ? longDate(r.return_date) : ''))))))
    : h('p', { class: 'meta' }, `${caption}: none.`));
  return officePage(caseRoles, title,
    session.who?.role === 'counsel' ? h('p', {}, 'The cases the Director assigned to you. You see each case\u2019s file and record your advice; the Director decides.') : null,
    table(open, 'Open requests'), table(closed, 'Closed requests'));
}

// ---- one case ---------------------------------------------------------------------------------

let stepTable = null;
async function steps() {
  if (stepTable) return stepTable;
  const answer = await get('/api/v1/request-steps');
  stepTable = answer.ok ? answer.data.steps : [];
  return stepTable;
}

function myCaseRole() {
  const who = session.who;
  if (!who) return '';
  if (who.role === 'director') return 'director';
  if (who.role === 'counsel') return 'counsel';
  if (who.role === 'staff' && who.designee) return 'designee';
  return '';
}

export async function caseFile(reference) {
  const [answer, table] = await Promise.all([get(`/api/v1/requests/${encodeURIComponent(reference)}`), steps(), loadPeople()]);
  if (!answer.ok) {
    return officePage(caseRoles, `Request ${reference}`,
      notice('error', answer.status === 403 ? 'This case is not yours to see.' : refusal(answer)),
      h('p', {}, h('a', { href: '#/cases' }, 'Back to the requests')));
  }
  const f = answer.data;
  const role = myCaseRole();
  const allowed = table.filter((s) => s.from.includes(f.state) && s.types.includes(f.type) && s.who.includes(role) && applies(s, f));
  const stepArea = h('div', { class: 'step-area' });
  const result = h('div', { 'aria-live': 'polite' });
  return officePage(caseRoles, `Request ${f.reference}`,
    h('p', {}, h('a', { href: '#/cases' }, 'Back to the requests')),
    facts([
      ['From', word(caseTypes, f.type)],
      ['Where it stands', h('span', { class: 'state' }, word(caseStates, f.state))],
      ['Outcome', f.outcome ? word(outcomes, f.outcome) : ''],
      ['Received', when(f.received_at)],
      ['Counsel', f.counsel_id ? personName(f.counsel_id) : 'None assigned yet'],
      ['Legal process', word(processes, f.process)],
      ['Issued by', f.legal_process.issuing_authority],
      ['Return date', f.legal_process.return_date ? longDate(f.legal_process.return_date) : ''],
      ['Nondisclosure order', f.nondisclosure_order
        ? `In force${f.legal_process.nondisclosure_expires ? `, until ${longDate(f.legal_process.nondisclosure_expires)}` : ''}${f.legal_process.nondisclosure_review ? `; review by ${longDate(f.legal_process.nondisclosure_review)}` : ''}`
        : ''],
    ]),
    h('h2', {}, 'What can be done now'),
    allowed.length
      ? h('ul', { class: 'steps' }, allowed.map((s) => h('li', {},
        h('button', {
          type: 'button', class: 'secondary', 'aria-expanded': 'false',
          onclick: (ev) => {
            for (const b of ev.currentTarget.closest('ul').querySelectorAll('button')) b.setAttribute('aria-expanded', 'false');
            ev.currentTarget.setAttribute('aria-expanded', 'true');
            fill(result);
            fill(stepArea, stepForm(s, f, result));
            stepArea.querySelector('input, select, textarea, button')?.focus();
          },
        }, word(caseSteps, s.action), s.signed ? ' (signed)' : ''))))
      : h('p', { class: 'meta' }, role
        ? 'No step of the workflow is yours to take on this case now.'
        : 'Only the Director, a designee acting under a valid appointment, or the case\u2019s counsel act on a case.'),
    stepArea, result,
    requestSection(f),
    historySection(f),
    adviceSection(f),
    decisionSection(f),
    disclosureSection(f),
    letterSection(f),
    documentSection(f, role),
    noticeSection(f));
}

// The preconditions the table states in words that the case file already answers, so that a
// step the server would refuse is not offered (the server checks them all again).
function applies(step, f) {
  const last = f.decisions[f.decisions.length - 1];
  const reversed = (ruling) => ruling && ruling.outcome === 'reverse';
  switch (step.action) {
    case 'decide':
      if (f.state === 'declined') return reversed(f.decline_board_ruling);
      if (['decided', 'disclosure_prepared', 'released'].includes(f.state)) return Boolean(last) && reversed(last.board_ruling);
      // Counsel is consulted before any decision, except on a patron's own request.
      return !(f.state === 'referred' && f.type !== 'patron_access');
    case 'prepare_disclosure':
      return Boolean(last) && last.outcome !== 'refuse' && !reversed(last.board_ruling);
    case 'close':
      return f.state !== 'decided' || (Boolean(last) && (last.outcome === 'refuse' || reversed(last.board_ruling)));
    case 'decline':
      return f.process === 'none';
    case 'execute_warrant':
      return f.process === 'search_warrant';
    case 'refer_to_counsel':
      return f.process !== 'none';
    default:
      return true;
  }
}

function requestSection(f) {
  const r = f.requester;
  return h('section', { 'aria-labelledby': 'req-h' },
    h('h2', { id: 'req-h' }, 'Who asked, and for what'),
    facts([
      ['Agency', r.agency], ['Name', r.name], ['Badge or ID', r.badge], ['Contact', r.contact],
      ['Call-back number', r.callback_number], ['Where that number comes from', r.callback_source],
      ['How they asked', r.arrived_by], ['What they asked for', f.asked.text],
      ['Records asked about', f.asked.categories.length ? f.asked.categories.map((c) => word(recordCategories, c)).join('; ') : 'Not said: every kind of record'],
      ['Cards named', f.asked.card_barcodes.length ? `${f.asked.card_barcodes.length}` : 'None'],
      ['Period', f.asked.from || f.asked.to ? `${f.asked.from ? longDate(f.asked.from) : 'any time'} to ${f.asked.to ? longDate(f.asked.to) : 'now'}` : ''],
      ['Consultation with counsel', f.consultation],
      ['Statement to the press', f.media_statement],
    ]));
}

function historySection(f) {
  return h('section', { 'aria-labelledby': 'hist-h' },
    h('h2', { id: 'hist-h' }, 'History'),
    h('ol', { class: 'timeline' }, f.events.map((e) => h('li', {},
      h('strong', {}, word(caseEvents, e.action)),
      ` \u2014 ${when(e.at)}, by ${personName(e.actor)}`,
      e.appointment ? ` (as designee, appointment ${e.appointment})` : '',
      h('br'),
      h('span', { class: 'meta' },
        e.from && e.from !== e.to ? `${word(caseStates, e.from)} \u2192 ${word(caseStates, e.to)}. ` : '',
        e.policy_version ? `Policy in force: version of ${longDate(e.policy_version)}.` : 'Policy version not recorded.')))));
}

function adviceSection(f) {
  if (!f.advice.length) return null;
  const recommendation = { comply: 'Comply', narrow: 'Comply in part (narrow the scope)', challenge: 'Challenge the process', refuse: 'Refuse' };
  const yesNo = (v) => (v ? 'Yes' : 'No');
  return h('section', { 'aria-labelledby': 'adv-h' },
    h('h2', { id: 'adv-h' }, 'Counsel\u2019s advice'),
    f.advice.map((a) => h('article', { class: 'card' },
      h('h3', {}, `Advice ${a.id}, ${when(a.at)}, by ${personName(a.counsel_id)}`),
      facts([
        ['Recommendation', word(recommendation, a.recommendation)],
        ['Process in proper form', yesNo(a.proper_form)], ['Enforceable', yesNo(a.enforceable)],
        ['A court order compels production', yesNo(a.court_order_compels)],
      ]),
      h('p', { class: 'prose' }, a.advice))));
}

function scopeWords(scope) {
  const cats = (scope.categories || []).map((c) => word(recordCategories, c)).join('; ');
  const period = scope.from || scope.to ? `, from ${scope.from ? longDate(scope.from) : 'any time'} to ${scope.to ? longDate(scope.to) : 'now'}` : '';
  const n = (scope.patrons || []).length;
  return `${cats || 'nothing'}${period}; ${n} ${n === 1 ? 'patron' : 'patrons'}`;
}

function decisionSection(f) {
  if (!f.decisions.length) return null;
  const bases = { court_order: 'A court order (on counsel\u2019s advice)', patron_permission: 'The patron\u2019s written permission', patron_self: 'The patron\u2019s own request', '': 'None (a refusal)' };
  return h('section', { 'aria-labelledby': 'dec-h', class: 'decisions' },
    h('h2', { id: 'dec-h' }, 'Signed decisions'),
    f.decisions.map((d) => {
      const article = h('article', { class: 'card printable', id: `decision-${d.id}` },
        h('h3', {}, `Decision ${d.id} on request ${f.reference}`),
        facts([
          ['Outcome', word(outcomes, d.outcome)],
          ['Basis', word(bases, d.basis)],
          ['Released', d.outcome === 'refuse' ? 'Nothing' : scopeWords(d.scope)],
          ['Advice relied on', d.advice_id ? `Advice ${d.advice_id}` : ''],
          ['Signed by', `${personName(d.signed_by)}${d.appointment_id ? ` (as designee, appointment ${d.appointment_id})` : ''}`],
          ['Signed', when(d.signed_at)],
          ['Policy in force', `Version of ${longDate(d.policy_version)}`],
          ['Signature', h('code', { class: 'sig' }, `Ed25519 ${d.signature}`)],
          ['Signer\u2019s public key', h('code', { class: 'sig' }, d.public_key)],
          ['The Board\u2019s ruling', d.board_ruling ? `${word({ affirm: 'Affirmed', reverse: 'Reversed', comment: 'Commented on' }, d.board_ruling.outcome)} ${when(d.board_ruling.decided_at)} (review ${d.board_ruling.review})` : 'None'],
        ]));
      article.append(h('p', { class: 'no-print' }, h('button', { type: 'button', class: 'secondary', onclick: () => printPart(article) }, `Print decision ${d.id}`)));
      return article;
    }));
}

// Prints one part of the page (a decision, a manifest) and nothing else.
export function printPart(el) {
  el.classList.add('print-this');
  document.body.classList.add('print-part');
  window.print();
  document.body.classList.remove('print-part');
  el.classList.remove('print-this');
}

function disclosureSection(f) {
  const d = f.disclosure;
  if (!d) return null;
  const manifest = h('div', { 'aria-live': 'polite' });
  const base = `/api/v1/requests/${encodeURIComponent(f.reference)}/disclosure/`;
  const status = h('div', { 'aria-live': 'polite' });
  const article = h('article', { class: 'card printable' },
    h('h3', {}, `Disclosure package of request ${f.reference}`),
    facts([
      ['Built from decision', `Decision ${d.decision_id}`],
      ['Prepared', `${when(d.prepared_at)}, signed by ${personName(d.signed_by)}`],
      ['Delivered', d.delivered_at ? `${when(d.delivered_at)} to ${d.delivered_to}, ${d.delivered_how}` : 'Not yet'],
      ['Receipt acknowledged', d.acknowledged_at ? when(d.acknowledged_at) : 'Not yet'],
    ]),
    manifest);
  const files = session.who?.role === 'counsel' ? null : h('ul', { class: 'files no-print' }, d.files.map((name) => h('li', {},
    h('button', {
      type: 'button', class: 'link',
      onclick: async () => {
        const got = await download(base + name, `${f.reference}-${name}`);
        if (!got.ok) say(status, 'error', got.problem.detail);
        else say(status, 'success', `${name} downloaded. Each download is checked against the signed decision first.`);
      },
    }, `Download ${name}`))));
  const showManifest = async () => {
    const answer = await get(`${base}manifest.json`);
    if (!answer.ok) return say(manifest, 'error', refusal(answer));
    const m = typeof answer.data === 'string' ? JSON.parse(answer.data) : answer.data;
    fill(manifest, h('table', { class: 'list' }, h('caption', {}, 'Manifest: the files and their SHA-256'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'File'), h('th', { scope: 'col' }, 'SHA-256'), h('th', { scope: 'col', class: 'num' }, 'Bytes'))),
      h('tbody', {}, (m.files || []).map((x) => h('tr', {}, h('td', {}, x.name), h('td', {}, h('code', { class: 'sig' }, x.sha256)), h('td', { class: 'num' }, String(x.bytes ?? '')))))));
  };
  return h('section', { 'aria-labelledby': 'pkg-h' },
    h('h2', { id: 'pkg-h' }, 'Disclosure package'),
    article,
    files,
    session.who?.role === 'counsel' ? null : h('p', { class: 'no-print' },
      h('button', { type: 'button', class: 'secondary', onclick: showManifest }, 'Show the manifest'), ' ',
      h('button', { type: 'button', class: 'secondary', onclick: async () => { await showManifest(); printPart(article); } }, 'Print the manifest')),
    status);
}

function letterSection(f) {
  const declined = f.events.some((e) => e.action === 'decline');
  if (!declined) return null;
  const path = `/api/v1/requests/${encodeURIComponent(f.reference)}/letter`;
  const frame = h('iframe', { class: 'letter', src: path, title: `The decline letter of request ${f.reference}` });
  return h('section', { 'aria-labelledby': 'letter-h' },
    h('h2', { id: 'letter-h' }, 'The decline letter'),
    h('p', {}, 'The letter to give the person who asked. It names no patron.'),
    frame,
    h('p', {}, h('button', { type: 'button', onclick: () => frame.contentWindow.print() }, 'Print the letter')));
}

function documentSection(f, role) {
  const status = h('div', { 'aria-live': 'polite' });
  const base = `/api/v1/requests/${encodeURIComponent(f.reference)}/documents`;
  const list = f.documents.length
    ? h('ul', { class: 'files' }, f.documents.map((d) => h('li', {},
      h('button', {
        type: 'button', class: 'link',
        onclick: async () => {
          const got = await download(`${base}/${d.id}`, d.filename);
          say(status, got.ok ? 'success' : 'error', got.ok ? `${d.filename} downloaded; it matched its SHA-256.` : got.problem.detail);
        },
      }, `${d.filename}`),
      ` \u2014 ${word(documentKinds, d.kind)}, ${Math.ceil(d.bytes / 1024)} KB`)))
    : h('p', { class: 'meta' }, 'No documents yet.');
  return h('section', { 'aria-labelledby': 'docs-h' },
    h('h2', { id: 'docs-h' }, 'Documents'),
    list, status,
    role ? attachForm(f) : null);
}

const documentKinds = {
  process: 'The legal process (order, subpoena, warrant)',
  warrant_inventory: 'Warrant inventory',
  correspondence: 'Correspondence',
  permission_form: 'A patron\u2019s signed permission',
  other: 'Other',
};

function attachForm(f) {
  const done = h('div', { 'aria-live': 'polite' });
  const file = h('input', { type: 'file', id: `attach-${f.reference}`, name: 'file' });
  const form = buildForm({
    fields: [{ name: 'kind', label: 'What the document is', type: 'select', options: Object.entries(documentKinds) }],
    submitLabel: 'Attach the document',
    onSubmit: async (values, { showProblem }) => {
      const chosen = file.files[0];
      if (!chosen) return showProblem({ title: 'Choose a file', detail: 'Choose the scanned document to attach.' });
      const content = await base64Of(chosen);
      const answer = await post(`/api/v1/requests/${encodeURIComponent(f.reference)}/documents`, { kind: values.kind, filename: chosen.name.slice(0, 200), content_base64: content });
      if (!answer.ok) return showProblem(answer.problem);
      fill(done, notice('success', `Attached, stored encrypted. SHA-256 ${answer.data.sha256}.`, ' ', h('a', { href: `#/cases/${f.reference}`, onclick: reload }, 'Show it in the list')));
    },
  });
  form.insertBefore(h('div', { class: 'field' }, h('label', { for: file.id }, 'Scanned file'), file), form.querySelector('.actions'));
  return h('details', {}, h('summary', {}, 'Attach a document'), form, done);
}

function base64Of(fileObject) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(',')[1] || '');
    reader.onerror = reject;
    reader.readAsDataURL(fileObject);
  });
}

function noticeSection(f) {
  if (!f.patron_notices.length) return null;
  const sent = f.patron_notices.filter((n) => n.state === 'sent').length;
  const held = f.patron_notices.length - sent;
  return h('section', { 'aria-labelledby': 'notices-h' },
    h('h2', { id: 'notices-h' }, 'Notices to patrons'),
    h('p', {}, `${sent} ${sent === 1 ? 'patron was' : 'patrons were'} told that records about them were released.`,
      held ? ` ${held} ${held === 1 ? 'notice waits' : 'notices wait'} until no nondisclosure order forbids it.` : ''));
}

function reload(event) {
  event?.preventDefault?.();
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

// ---- the steps ----------------------------------------------------------------------------------

// Sends one step; a signed step asks for the password first. Answers like post().
async function act(f, step, body, what) {
  const path = `/api/v1/requests/${encodeURIComponent(f.reference)}/${stepPaths[step.action]}`;
  if (step.signed) {
    const password = await askPassword(word(caseSteps, step.action), what);
    if (password === null) return { ok: false, cancelled: true };
    body = { ...body, password };
  }
  return post(path, body, { idempotencyKey: newKey() });
}

const stepPaths = {
  execute_warrant: 'warrant', acknowledge: 'acknowledge', consult_counsel: 'consult-counsel',
  decline: 'decline', refer_to_counsel: 'refer-to-counsel', advise: 'advice', decide: 'decision',
  prepare_disclosure: 'disclosure', deliver: 'delivery', acknowledge_receipt: 'receipt',
  nondisclosure: 'nondisclosure', respond_media: 'media-response', close: 'close',
};

function peopleWithRole(role) {
  const out = [];
  for (const [id, p] of (peopleMap() || new Map())) if (p.role === role && !p.disabled) out.push([String(id), p.username]);
  return out;
}
let cachedPeople = null;
function peopleMap() { return cachedPeople; }

function lines(text) { return text.split('\n').map((l) => l.trim()).filter(Boolean); }
function instant(local) { return local ? new Date(local).toISOString().replace(/\.\d{3}Z$/, 'Z') : undefined; }

function stepForm(step, f, result) {
  const after = async (answer, showProblem, message) => {
    if (answer.cancelled) return;
    if (!answer.ok) return showProblem(answer.problem);
    fill(result, notice('success', message || `Done: ${word(caseEvents, step.action).toLowerCase()}. The case is now: ${word(caseStates, answer.data.state).toLowerCase()}.`,
      ' ', h('a', { href: `#/cases/${f.reference}`, onclick: reload }, 'Show the case as it is now')));
    result.querySelector('a')?.focus();
  };
  const simple = (fields, submitLabel, toBody, what) => buildForm({
    fields, submitLabel,
    onSubmit: async (values, { showProblem }) => after(await act(f, step, toBody(values), what && what(values)), showProblem),
  });
  const precondition = h('p', { class: 'hint' }, `When: ${step.precondition}.`);
  let form;
  switch (step.action) {
    case 'acknowledge':
      form = simple([], 'Acknowledge', () => ({}));
      break;
    case 'consult_counsel': {
      const counsel = peopleWithRole('counsel');
      form = simple([
        { name: 'counsel_id', label: 'Counsel', type: 'select', required: true, options: counsel.length ? counsel : [['', 'No counsel account is active']] },
        { name: 'consultation', label: 'What you asked counsel', type: 'textarea', required: true },
      ], 'Consult counsel', (v) => ({ counsel_id: Number(v.counsel_id), consultation: v.consultation }));
      break;
    }
    case 'decline':
      form = simple([{ name: 'explanation', label: 'Explanation for the file (optional)', type: 'textarea' }], 'Decline the request',
        (v) => (v.explanation ? { explanation: v.explanation } : {}));
      break;
    case 'refer_to_counsel': {
      const counsel = peopleWithRole('counsel');
      form = simple([{ name: 'counsel_id', label: 'Counsel', type: 'select', options: [['', 'The counsel already consulted'], ...counsel] }],
        'Refer to counsel', (v) => (v.counsel_id ? { counsel_id: Number(v.counsel_id) } : {}));
      break;
    }
    case 'advise':
      form = simple([
        { name: 'proper_form', label: 'The process is in proper form', type: 'checkbox' },
        { name: 'enforceable', label: 'The process is enforceable', type: 'checkbox' },
        { name: 'court_order_compels', label: 'A court order compels production', type: 'checkbox' },
        { name: 'recommendation', label: 'Recommendation', type: 'select', required: true, options: [['comply', 'Comply'], ['narrow', 'Comply in part (narrow the scope)'], ['challenge', 'Challenge the process'], ['refuse', 'Refuse']] },
        { name: 'advice', label: 'Your written advice', type: 'textarea', required: true, rows: 8 },
      ], 'Record my advice', (v) => ({ proper_form: v.proper_form, enforceable: v.enforceable, court_order_compels: v.court_order_compels, recommendation: v.recommendation, advice: v.advice }));
      break;
    case 'decide':
      form = decideForm(step, f, after);
      break;
    case 'prepare_disclosure':
      form = simple([], 'Build and sign the package', () => ({}), () => h('p', {}, `You sign the package of request ${f.reference}, built from the signed decision. Every record in it is checked against the decision\u2019s scope.`));
      break;
    case 'deliver':
      form = simple([
        { name: 'to', label: 'Delivered to', required: true, hint: 'The person and agency who received the package.' },
        { name: 'how', label: 'How', required: true, hint: 'For example: sealed envelope, by hand.' },
        { name: 'at', label: 'When (leave empty for now)', type: 'datetime-local' },
      ], 'Record the delivery', (v) => ({ to: v.to, how: v.how, ...(v.at ? { at: instant(v.at) } : {}) }));
      break;
    case 'acknowledge_receipt':
      form = simple([{ name: 'at', label: 'When they acknowledged it (leave empty for now)', type: 'datetime-local' }], 'Record the acknowledgement',
        (v) => (v.at ? { at: instant(v.at) } : {}));
      break;
    case 'respond_media':
      form = simple([{ name: 'statement', label: 'The statement given', type: 'textarea', required: true, hint: 'It discloses no record: the Media Policy applies.' }],
        'Record the statement', (v) => ({ statement: v.statement }));
      break;
    case 'execute_warrant':
      form = simple([
        { name: 'officers', label: 'Officers present (one per line)', type: 'textarea', required: true },
        { name: 'executed_at', label: 'When it was executed', type: 'datetime-local', required: true },
        { name: 'items_seized', label: 'Items taken (one barcode per line)', type: 'textarea' },
        { name: 'devices', label: 'Devices taken or copied (one per line)', type: 'textarea' },
        { name: 'notes', label: 'Notes', type: 'textarea' },
      ], 'Record the warrant', (v) => ({
        officers: lines(v.officers), executed_at: instant(v.executed_at),
        ...(v.items_seized ? { items_seized: lines(v.items_seized) } : {}),
        ...(v.devices ? { devices: lines(v.devices) } : {}),
        ...(v.notes ? { notes: v.notes } : {}),
      }));
      break;
    case 'nondisclosure':
      form = simple([
        { name: 'order', label: 'A nondisclosure order is in force', type: 'checkbox', value: f.nondisclosure_order },
        { name: 'expires', label: 'It expires on', type: 'date' },
        { name: 'review', label: 'Review it by', type: 'date' },
      ], 'Record the order', (v) => ({ order: v.order, ...(v.expires ? { expires: v.expires } : {}), ...(v.review ? { review: v.review } : {}) }));
      break;
    case 'close':
      form = simple(session.who?.role === 'director'
        ? [{ name: 'release_holds', label: 'Release the legal holds this case placed', type: 'checkbox' }] : [],
      'Close the case', (v) => (v.release_holds ? { release_holds: true } : {}));
      break;
    default:
      form = h('p', {}, 'This step has no form here.');
  }
  return h('section', { class: 'card', 'aria-labelledby': `step-${step.action}` },
    h('h3', { id: `step-${step.action}` }, word(caseSteps, step.action)), precondition, form);
}

// The decision: its outcome, basis and exact scope, chosen from what was asked (never wider),
// with the counts per category shown before signing.
function decideForm(step, f, after) {
  const bases = [['court_order', 'A court order (on counsel\u2019s advice)'], ['patron_permission', 'The patron\u2019s written permission'], ['patron_self', 'The patron\u2019s own request']];
  const advice = f.advice.map((a) => [String(a.id), `Advice ${a.id} (${when(a.at)})`]);
  const counts = h('div', { class: 'counts', 'aria-live': 'polite' });
  let counted = null;  // the scope last counted, as sent
  // A request that named no category asked for every kind of record.
  const asked = f.asked.categories.length ? f.asked.categories : Object.keys(recordCategories);
  const catBoxes = asked.map((c) => h('div', { class: 'field checkbox' },
    h('input', { type: 'checkbox', id: `cat-${c}`, name: 'category', value: c, checked: true }),
    h('label', { for: `cat-${c}` }, word(recordCategories, c))));
  const cardBoxes = f.asked.card_barcodes.map((card, i) => h('div', { class: 'field checkbox' },
    h('input', { type: 'checkbox', id: `card-${i}`, name: 'card', value: card, checked: true }),
    h('label', { for: `card-${i}` }, `Card ${card}`)));
  const scopeOf = (values) => {
    const scope = { categories: catBoxes.map((d) => d.querySelector('input')).filter((i) => i.checked).map((i) => i.value) };
    if (cardBoxes.length) scope.card_barcodes = cardBoxes.map((d) => d.querySelector('input')).filter((i) => i.checked).map((i) => i.value);
    if (values.from) scope.from = values.from;
    if (values.to) scope.to = values.to;
    return scope;
  };
  const form = buildForm({
    fields: [
      { name: 'outcome', label: 'Decision', type: 'select', required: true, options: [['partial', 'Release part of what was asked'], ['release', 'Release what was asked'], ['refuse', 'Refuse']] },
      { name: 'basis', label: 'Lawful basis for a release', type: 'select', options: bases },
      { name: 'advice_id', label: 'Counsel\u2019s advice relied on', type: 'select', options: advice.length ? [...advice].reverse() : [['', 'No advice recorded']] },
      { name: 'permission_id', label: 'The patron\u2019s permission (its number), when that is the basis', inputmode: 'numeric' },
      { name: 'from', label: 'Records from (optional)', type: 'date', value: f.asked.from || '' },
      { name: 'to', label: 'Records to (optional)', type: 'date', value: f.asked.to || '' },
    ],
    submitLabel: 'Sign the decision',
    onSubmit: async (values, { showProblem }) => {
      const body = { outcome: values.outcome };
      if (values.outcome !== 'refuse') {
        body.basis = values.basis;
        body.scope = scopeOf(values);
        if (!counted || JSON.stringify(counted) !== JSON.stringify(body.scope)) {
          return showProblem({ title: 'Count first', detail: 'Count the records this scope releases before you sign: press \u201cCount the records\u201d.' });
        }
        if (values.basis === 'patron_permission' && values.permission_id) body.permission_id = Number(values.permission_id);
      }
      if (values.advice_id) body.advice_id = Number(values.advice_id);
      const what = h('div', {}, h('p', {}, `Request ${f.reference}: ${word(outcomes, values.outcome === 'release' ? 'full' : values.outcome === 'partial' ? 'partial' : 'refused')}.`),
        body.scope ? h('p', {}, `Released: ${scopeWords({ ...body.scope, patrons: body.scope.card_barcodes || f.asked.card_barcodes })}.`) : null);
      after(await act(f, step, body, what), showProblem);
    },
  });
  const countButton = h('button', {
    type: 'button', class: 'secondary',
    onclick: async () => {
      const values = Object.fromEntries(Object.entries(form.controls).map(([k, v]) => [k, v.control.value]));
      const scope = scopeOf(values);
      const answer = await post(`/api/v1/requests/${encodeURIComponent(f.reference)}/decision/counts`, { scope });
      if (!answer.ok) { counted = null; return say(counts, 'error', refusal(answer)); }
      counted = scope;
      const c = answer.data;
      fill(counts, h('table', { class: 'list' },
        h('caption', {}, `This scope releases ${c.records} ${c.records === 1 ? 'record' : 'records'} about ${c.patrons} ${c.patrons === 1 ? 'patron' : 'patrons'}`),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Records'), h('th', { scope: 'col', class: 'num' }, 'How many'))),
        h('tbody', {}, Object.entries(c.counts).map(([cat, n]) => h('tr', {}, h('td', {}, word(recordCategories, cat)), h('td', { class: 'num' }, String(n)))))));
    },
  }, 'Count the records');
  const scopeSet = h('fieldset', { class: 'scope' },
    h('legend', {}, 'What is released (never more than was asked)'),
    catBoxes,
    cardBoxes.length ? h('p', { class: 'hint' }, 'Of the cards the request named:') : null,
    cardBoxes,
    h('p', {}, countButton), counts);
  form.insertBefore(scopeSet, form.querySelector('.actions'));
  return form;
}

export async function preparePeople() { cachedPeople = await loadPeople(); }

export const routes = [
  [/^#\/cases$/, async () => { await preparePeople(); return caseList(); }],
  [/^#\/cases\/(R-[0-9A-Za-z-]+)$/, async (ref) => { await preparePeople(); return caseFile(ref); }],
];
