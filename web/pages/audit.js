// The audit log for the Director and the Board: browsed by time, actor, record and case, a page
// at a time, and checked in this browser rather than taken on the server's word. The page
// verifies the latest checkpoint's Ed25519 signature against a verifier key the reader gives it
// (the key the library printed when it was set up), then each entry shown: its canonical bytes
// hash to a leaf that the server's inclusion proof must lead to the signed root (RFC 9162,
// section 2.1.3.2). Both with WebCrypto.

import { get } from '../lib/api.js';
import { h, fill } from '../lib/dom.js';
import { buildForm, notice } from '../lib/forms.js';
import { officePage, loadPeople, personName, stamp, refusal, scroller } from '../lib/staff.js';

const readers = ['director', 'board'];

// The key given on this page, kept in memory only: the reader pastes it, or loads the file they
// saved it in once (the page keeps nothing in browser storage).
let verifierKey = '';
function savedKey() { return verifierKey; }

// ---- bytes and hashes ---------------------------------------------------------------------------

function fromBase64(text) {
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i += 1) out[i] = raw.charCodeAt(i);
  return out;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

async function sha256(bytes) { return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)); }
const leafHash = (entry) => sha256(concat(Uint8Array.of(0), entry));
const nodeHash = (left, right) => sha256(concat(Uint8Array.of(1), left, right));
const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

// An entry's canonical bytes: version, sequence number, time, then eight length-prefixed strings
// (docs/audit-log-format.md).
function decodeEntry(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 1;
  const seq = Number(view.getBigUint64(at)); at += 8;
  at += 8;  // the time, in the server's clock units
  const text = new TextDecoder('utf-8', { fatal: true });
  const strings = [];
  for (let i = 0; i < 8; i += 1) {
    const n = view.getUint32(at); at += 4;
    strings.push(text.decode(bytes.subarray(at, at + n))); at += n;
  }
  if (at !== bytes.length) throw new Error('trailing bytes');
  const [actor_id, actor_role, action, object_type, object_id, case_id, policy_version, details] = strings;
  return { seq, actor_id, actor_role, action, object_type, object_id, case_id, policy_version, details };
}

function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  return JSON.stringify(value);
}

// RFC 9162, 2.1.3.2: does `path` lead from the leaf at `index` to `root` in a tree of `size`?
async function includes(index, size, leaf, path, root) {
  if (index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && same(r, root);
}

// A checkpoint (C2SP signed note) checked against a verifier key NAME+KEYID+BASE64(0x01||key).
// Answers { ok, size, root } or { ok: false, why }.
async function openCheckpoint(note, vkey) {
  // The name and key id end at the first two '+'; the base64 key may hold more.
  const text = vkey.trim();
  const a = text.indexOf('+');
  const b = a < 0 ? -1 : text.indexOf('+', a + 1);
  if (b < 0) return { ok: false, why: 'The verifier key is not in the form NAME+KEYID+KEY.' };
  const [name, keyIdHex, keyText] = [text.slice(0, a), text.slice(a + 1, b), text.slice(b + 1)];
  let typed;
  try { typed = fromBase64(keyText); } catch { return { ok: false, why: 'The verifier key is not base64.' }; }
  if (typed.length !== 33 || typed[0] !== 1) return { ok: false, why: 'The verifier key is not an Ed25519 key.' };
  const publicKey = typed.subarray(1);
  const id = (await sha256(concat(new TextEncoder().encode(`${name}\n`), typed))).subarray(0, 4);
  if (Array.from(id, (b) => b.toString(16).padStart(2, '0')).join('') !== keyIdHex.toLowerCase()) {
    return { ok: false, why: 'The verifier key\u2019s id does not match the key: it was mistyped.' };
  }
  const split = note.indexOf('\n\n');
  if (split < 0) return { ok: false, why: 'The checkpoint is not a signed note.' };
  const body = note.slice(0, split + 1);
  const lines = body.split('\n');
  const size = Number(lines[1]);
  const root = fromBase64(lines[2]);
  const prefix = `\u2014 ${name} `;
  const sigLine = note.slice(split + 2).split('\n').find((l) => l.startsWith(prefix));
  if (!sigLine) return { ok: false, why: 'The checkpoint is not signed by the key you gave.' };
  const sig = fromBase64(sigLine.slice(prefix.length));
  if (sig.length !== 68 || !same(sig.subarray(0, 4), id)) return { ok: false, why: 'The checkpoint is not signed by the key you gave.' };
  let good = false;
  try {
    const key = await crypto.subtle.importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify']);
    good = await crypto.subtle.verify({ name: 'Ed25519' }, key, sig.subarray(4), new TextEncoder().encode(body));
  } catch {
    return { ok: false, why: 'This browser cannot check Ed25519 signatures.' };
  }
  if (!good) return { ok: false, why: 'The checkpoint\u2019s signature does not verify with the key you gave.' };
  return { ok: true, size, root, origin: lines[0] };
}

// ---- the page -------------------------------------------------------------------------------------

export async function auditLog() {
  const people = await loadPeople();
  const results = h('div');
  const summary = h('div', { 'aria-live': 'polite' });
  const keyForm = buildForm({
    fields: [
      { name: 'key', label: 'The log\u2019s verifier key', value: savedKey(), hint: 'The key the library printed when it was set up, kept by the Board. The page checks the server\u2019s signature with this key, not with one the server offers.' },
    ],
    submitLabel: 'Use this key',
    onSubmit: async (v, { showProblem }) => {
      if (!v.key) return showProblem({ errors: [{ pointer: '/key', detail: 'paste the verifier key' }] });
      verifierKey = v.key;
      fill(summary, notice('success', 'The key is set. Search the log to check its entries.'));
    },
  });
  // Kept by the reader, not the browser: saved once as a file, loaded from it next time.
  const keyFile = h('input', { type: 'file', id: 'audit-key-file', accept: '.txt,text/plain' });
  keyFile.addEventListener('change', async () => {
    const chosen = keyFile.files[0];
    if (!chosen) return;
    const text = (await chosen.text()).trim().split('\n').pop().trim();
    keyForm.controls.key.control.value = text;
    keyForm.requestSubmit();
  });
  const saveKey = h('button', {
    type: 'button', class: 'secondary',
    onclick: () => {
      const text = keyForm.controls.key.control.value.trim();
      if (!text) return;
      const url = URL.createObjectURL(new Blob([`${text}\n`], { type: 'text/plain' }));
      const a = h('a', { href: url, download: 'audit-log-key.txt' });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    },
  }, 'Save the key as a file');
  keyForm.append(h('div', { class: 'field' }, h('label', { for: keyFile.id }, 'Or load the key from the file you saved it in'), keyFile), h('p', {}, saveKey));
  const actors = [['', 'Anyone'], ['operator', 'The server operator'], ...[...people.values()].map((p) => [`user/${p.user_id}`, `${p.username} (${p.role})`])];
  const search = buildForm({
    fields: [
      { name: 'from', label: 'From', type: 'datetime-local' },
      { name: 'to', label: 'Until', type: 'datetime-local' },
      { name: 'actor', label: 'Who acted', type: 'select', options: actors },
      { name: 'object_type', label: 'Kind of record', type: 'select', options: [['', 'Any'], ...['case', 'patron', 'item', 'loan', 'hold', 'fine', 'user', 'key', 'retention_schedule', 'legal_hold', 'appointment', 'audit_log', 'library', 'session'].map((k) => [k, k.replaceAll('_', ' ')])] },
      { name: 'object_id', label: 'Record number' },
      { name: 'case', label: 'Request (for example R-2026-0001)' },
    ],
    submitLabel: 'Search the log',
    onSubmit: async (v, { showProblem }) => {
      const q = new URLSearchParams({ limit: '25' });
      if (v.from) q.set('from', new Date(v.from).toISOString().replace(/\.\d{3}Z$/, 'Z'));
      if (v.to) q.set('to', new Date(v.to).toISOString().replace(/\.\d{3}Z$/, 'Z'));
      for (const k of ['actor', 'object_type', 'object_id', 'case']) if (v[k]) q.set(k, v[k]);
      await showPage(`/api/v1/audit/entries?${q}`, results, summary, showProblem);
    },
  });
  search.classList.add('filters');
  const page = officePage(readers, 'Audit log',
    h('p', {}, 'Every access to a record and every step taken is an entry of this log, appended in order and never changed. Entries name records by number, never by what they hold.'),
    h('details', { open: !savedKey() }, h('summary', {}, 'The key this page checks the log with'), keyForm),
    search, summary, results);
  setTimeout(() => search.requestSubmit(), 0);
  return page;
}

async function showPage(path, results, summary, showProblem) {
  const answer = await get(path);
  if (!answer.ok) return showProblem(answer.problem);
  const entries = answer.data.entries;
  const cells = new Map();
  const rows = entries.map((e) => {
    const cell = h('td', { class: 'check' }, 'Checking\u2026');
    cells.set(e.seq, cell);
    let details = '';
    try { details = canonical(e.details); } catch { details = ''; }
    return h('tr', {},
      h('td', { class: 'num' }, String(e.seq)), h('td', {}, stamp(e.time)),
      h('td', {}, personName(e.actor_id), h('br'), h('span', { class: 'meta' }, e.actor_role)),
      h('td', {}, e.action, h('br'), h('span', { class: 'meta' }, `policy ${e.policy_version}`),
        details && details !== '{}' ? h('details', {}, h('summary', {}, 'Details'), h('code', { class: 'sig' }, details)) : null),
      h('td', {}, `${e.object_type.replaceAll('_', ' ')} ${e.object_id}`, e.case_id && e.object_id !== e.case_id ? [h('br'), h('span', { class: 'meta' }, e.case_id)] : null),
      cell);
  });
  const next = answer.data.next;
  fill(results,
    entries.length ? scroller('Audit entries', h('table', { class: 'list audit' }, h('caption', {}, `Entries ${entries[0].seq} to ${entries[entries.length - 1].seq}`),
      h('thead', {}, h('tr', {}, ['#', 'When', 'Who', 'What', 'Record', 'Checked'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows))) : h('p', { class: 'meta' }, 'No entries match.'),
    next ? h('p', {}, h('button', { type: 'button', class: 'secondary', onclick: () => showPage(next, results, summary, showProblem) }, 'Next page')) : null);
  await verify(entries, cells, summary);
}

async function verify(entries, cells, summary) {
  const vkey = savedKey();
  const mark = (cell, ok, text) => { cell.className = ok ? 'check ok' : 'check bad'; fill(cell, h('strong', {}, ok ? 'Verified' : 'Does not verify'), h('br'), h('span', { class: 'meta' }, text)); };
  if (!vkey) {
    for (const cell of cells.values()) fill(cell, 'Not checked: no key');
    fill(summary, notice('error', 'Give the log\u2019s verifier key above: without it the page cannot check what the server shows.'));
    return;
  }
  const head = await get('/api/v1/audit/head');
  if (!head.ok) { fill(summary, notice('error', refusal(head))); return; }
  const checkpoint = await openCheckpoint(head.data.checkpoint, vkey);
  if (!checkpoint.ok) {
    for (const cell of cells.values()) mark(cell, false, 'the checkpoint did not verify');
    fill(summary, notice('error', `The log does not verify. ${checkpoint.why}`));
    return;
  }
  let bad = 0;
  for (const e of entries) {
    const cell = cells.get(e.seq);
    let ok = false;
    let why = '';
    try {
      const bytes = fromBase64(e.entry);
      const d = decodeEntry(bytes);
      const shown = d.seq === e.seq && d.actor_id === e.actor_id && d.actor_role === e.actor_role && d.action === e.action
        && d.object_type === e.object_type && d.object_id === e.object_id && d.case_id === e.case_id
        && d.policy_version === e.policy_version && canonical(JSON.parse(d.details)) === canonical(e.details);
      if (!shown) {
        why = 'what is shown differs from the entry\u2019s bytes';
      } else {
        const proof = await get(`/api/v1/audit/proof?size=${checkpoint.size}&index=${e.seq}`);
        if (!proof.ok) why = 'no proof was given';
        else {
          ok = await includes(e.seq, checkpoint.size, await leafHash(bytes), proof.data.inclusion_path.map(fromBase64), checkpoint.root);
          if (!ok) why = 'its proof does not lead to the signed root';
        }
      }
    } catch {
      why = 'its bytes do not decode';
    }
    if (!ok) bad += 1;
    mark(cell, ok, ok ? `in the signed log of ${checkpoint.size}` : why);
  }
  fill(summary, bad
    ? notice('error', `Warning: ${bad} of the ${entries.length} entries shown do not verify against the checkpoint signed by your key. The log or what the server shows has been changed; tell the Board.`)
    : notice('success', `Checked in this browser: the checkpoint of ${checkpoint.size} entries is signed by your key, and every entry shown (${entries.length}) is in it.`));
}

export const routes = [[/^#\/audit$/, auditLog]];
