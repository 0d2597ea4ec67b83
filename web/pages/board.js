// The Board of Trustees: every decision it may review (releases, refusals, declines, retention
// schedules, appointments), its reviews with comments and signed rulings, and amendments of the
// policy: proposed beside the text in force, voted by signed ballots, and closed.

import { get, post, all, newKey } from '../lib/api.js';
import { h, fill, longDate } from '../lib/dom.js';
import { buildForm, notice } from '../lib/forms.js';
import { session } from '../app.js';
import { outcomes, reviewSubjects, rulings, caseTypes, processes, policyEvents, word } from '../lib/words.js';
import { sideBySide } from '../lib/diff.js';
import {
  officePage, loadPeople, personName, when, refusal, facts, scroller, askPassword, say,
} from '../lib/staff.js';

const board = ['board'];

// Today in the library's own time zone, as YYYY-MM-DD.
function today() {
  return new Date().toLocaleDateString('en-CA', { timeZone: session.timeZone });
}

function reload(event) {
  event?.preventDefault?.();
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

function whatWords(d) {
  if (d.subject === 'decision') return word(outcomes, d.what === 'release' ? 'full' : d.what === 'refuse' ? 'refused' : d.what);
  if (d.subject === 'decline') return 'Declined: no legal process';
  return d.what;
}

function detailWords(d) {
  const x = d.detail || {};
  const parts = [];
  if (x.request_type) parts.push(word(caseTypes, x.request_type));
  if (x.process) parts.push(word(processes, x.process));
  if (x.reason) parts.push(`Why: ${x.reason}`);
  if (x.appointment) parts.push(`By a designee (appointment ${x.appointment})`);
  return parts.join('. ');
}

// ---- decisions and reviews ------------------------------------------------------------------------

export async function decisions() {
  await loadPeople();
  const [list, reviews] = await Promise.all([all('/api/v1/board/decisions', 'decisions'), all('/api/v1/board/reviews', 'reviews')]);
  if (!list.ok) return officePage(board, 'Decisions to review', notice('error', refusal(list)));
  const status = h('div', { 'aria-live': 'polite' });
  const rows = list.data.decisions.map((d) => h('tr', {},
    h('td', {}, word(reviewSubjects, d.subject), d.case ? [' of ', h('strong', {}, d.case)] : ''),
    h('td', {}, whatWords(d), h('br'), h('span', { class: 'meta' }, detailWords(d))),
    h('td', {}, `${when(d.at)}`, d.by ? ` by ${personName(d.by)}` : ''),
    h('td', {}, `Version of ${longDate(d.policy_version)}`),
    h('td', {}, d.board_ruling
      ? h('strong', { class: d.board_ruling.outcome === 'reverse' ? 'warn' : null }, `${word(rulings, d.board_ruling.outcome)} ${when(d.board_ruling.decided_at)}`)
      : d.open_review ? h('a', { href: `#/board/reviews/${d.open_review}` }, `Review ${d.open_review} is open`)
        : openReviewButton(d, status))));
  const reviewRows = reviews.ok ? reviews.data.reviews : [];
  return officePage(board, 'Decisions to review',
    h('p', {}, 'The Board of Trustees may review any decision the Director or a designee made under the policy. A reversal sends a request back to the Director to decide anew.'),
    status,
    scroller('Decisions', h('table', { class: 'list' }, h('caption', {}, 'Decisions, newest first'),
      h('thead', {}, h('tr', {}, ['What', 'Outcome', 'When and by whom', 'Policy in force', 'The Board'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows))),
    h('h2', {}, 'Reviews'),
    reviewRows.length
      ? h('ul', { class: 'reviews' }, reviewRows.map((r) => h('li', {},
        h('a', { href: `#/board/reviews/${r.id}` }, `Review ${r.id}`), `: ${word(reviewSubjects, r.subject)} ${r.subject_id}${r.case ? ` of ${r.case}` : ''} \u2014 `,
        r.outcome ? `${word(rulings, r.outcome)} ${when(r.decided_at)}` : `open since ${when(r.opened_at)}`)))
      : h('p', { class: 'meta' }, 'No reviews yet.'));
}

function openReviewButton(d, status) {
  return h('button', {
    type: 'button', class: 'secondary',
    onclick: (ev) => {
      const cell = ev.currentTarget.parentElement;
      const form = buildForm({
        fields: [{ name: 'reason', label: 'Why the Board reviews it', type: 'textarea', required: true }],
        submitLabel: 'Open the review',
        onSubmit: async (v, { showProblem }) => {
          const answer = await post('/api/v1/board/reviews', { subject: d.subject, subject_id: d.subject_id, reason: v.reason }, { idempotencyKey: newKey() });
          if (!answer.ok) return showProblem(answer.problem);
          location.hash = `#/board/reviews/${answer.data.id}`;
        },
      });
      fill(cell, form);
      form.querySelector('textarea').focus();
      fill(status);
    },
  }, 'Open a review');
}

export async function review(id) {
  await loadPeople();
  const answer = await get(`/api/v1/board/reviews/${encodeURIComponent(id)}`);
  if (!answer.ok) return officePage(board, `Review ${id}`, notice('error', refusal(answer)));
  const r = answer.data;
  const status = h('div', { 'aria-live': 'polite' });
  const parts = [
    h('p', {}, h('a', { href: '#/board' }, 'Back to the decisions')),
    facts([
      ['Under review', `${word(reviewSubjects, r.subject)} ${r.subject_id}${r.case ? ` of request ${r.case}` : ''}`],
      ['Opened', `${when(r.opened_at)} by ${personName(r.opened_by)}`],
      ['Why', r.reason],
      ['Ruling', r.outcome ? `${word(rulings, r.outcome)} ${when(r.decided_at)} by ${personName(r.decided_by)}` : 'Not yet'],
      ['Explanation', r.explanation],
      ['Signature', r.signature ? h('code', { class: 'sig' }, `Ed25519 ${r.signature}`) : ''],
    ]),
    h('h2', {}, 'Comments'),
    r.comments.length
      ? h('ol', { class: 'comments' }, r.comments.map((c) => h('li', {}, h('strong', {}, personName(c.author)), ` ${when(c.at)}: `, c.text)))
      : h('p', { class: 'meta' }, 'No comments yet.'),
    status,
  ];
  if (!r.outcome) {
    parts.push(h('h2', {}, 'Comment'), buildForm({
      fields: [{ name: 'text', label: 'Your comment', type: 'textarea', required: true }],
      submitLabel: 'Add my comment',
      onSubmit: async (v, { showProblem }) => {
        const got = await post(`/api/v1/board/reviews/${r.id}/comments`, { text: v.text });
        if (!got.ok) return showProblem(got.problem);
        reload();
      },
    }));
    parts.push(h('h2', {}, 'Rule'), buildForm({
      fields: [
        { name: 'outcome', label: 'Ruling', type: 'select', required: true, options: [['affirm', 'Affirm the decision'], ['reverse', 'Reverse it (the Director decides anew)'], ['comment', 'Neither: comment only']] },
        { name: 'explanation', label: 'The Board\u2019s explanation', type: 'textarea', required: true },
      ],
      submitLabel: 'Sign the ruling',
      onSubmit: async (v, { showProblem }) => {
        const password = await askPassword('Sign the Board\u2019s ruling', h('p', {}, `${word({ affirm: 'Affirm', reverse: 'Reverse', comment: 'Comment on' }, v.outcome)} ${word(reviewSubjects, r.subject).toLowerCase()} ${r.subject_id}${r.case ? ` of request ${r.case}` : ''}.`));
        if (password === null) return;
        const got = await post(`/api/v1/board/reviews/${r.id}/ruling`, { outcome: v.outcome, explanation: v.explanation, password }, { idempotencyKey: newKey() });
        if (!got.ok) return showProblem(got.problem);
        fill(status, notice('success', `The ruling is signed: ${word(rulings, got.data.outcome).toLowerCase()}.`, ' ', h('a', { href: location.hash, onclick: reload }, 'Show the review as it is now')));
        status.querySelector('a').focus();
      },
    }));
  }
  return officePage(board, `Review ${r.id}`, ...parts);
}

// ---- amendments ---------------------------------------------------------------------------------------

function diffTable(before, after, caption) {
  const rows = sideBySide(before, after).filter(([l, r, kind]) => kind !== 'same' || (l && l.trim()));
  const changed = rows.filter((row) => row[2] !== 'same').length;
  return [
    h('p', {}, changed ? `${changed} ${changed === 1 ? 'line differs' : 'lines differ'}. Removed text is marked \u201cremoved\u201d, added text \u201cadded\u201d.` : 'The text is the same as the version in force.'),
    scroller(caption, h('table', { class: 'side-by-side' }, h('caption', {}, caption),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'In force'), h('th', { scope: 'col' }, 'Proposed'))),
      h('tbody', {}, rows.map(([l, r, kind]) => h('tr', { class: kind },
        h('td', {}, l === null ? '' : kind === 'same' ? l : h('del', {}, h('span', { class: 'visually-hidden' }, 'removed: '), l)),
        h('td', {}, r === null ? '' : kind === 'same' ? r : h('ins', {}, h('span', { class: 'visually-hidden' }, 'added: '), r))))))),
  ];
}

export async function amendments() {
  await loadPeople();
  const [proposals, policy, versions] = await Promise.all([all('/api/v1/policy/proposals', 'proposals'), get('/api/v1/policy'), all('/api/v1/policy/versions', 'versions')]);
  if (!proposals.ok) return officePage(board, 'Policy amendments', notice('error', refusal(proposals)));
  const preview = h('div', { 'aria-live': 'polite' });
  const current = policy.ok ? policy.data.text : '';
  const form = buildForm({
    fields: [
      { name: 'event', label: 'What the Board proposes', type: 'select', options: [['amended', 'An amended text'], ['re-endorsed', 'To re-endorse the text as it is']] },
      { name: 'title', label: 'Title', required: true, value: policy.ok ? policy.data.title : '' },
      { name: 'summary', label: 'What changes, in a sentence or two', type: 'textarea', required: true },
      { name: 'text', label: 'The full text proposed', type: 'textarea', required: true, rows: 16, value: current },
    ],
    submitLabel: 'Propose',
    onSubmit: async (v, { showProblem }) => {
      const answer = await post('/api/v1/policy/proposals', { event: v.event, title: v.title, summary: v.summary, text: v.text });
      if (!answer.ok) return showProblem(answer.problem);
      location.hash = `#/board/amendments/${answer.data.id}`;
    },
  });
  form.insertBefore(h('div', {}, h('p', {}, h('button', {
    type: 'button', class: 'secondary',
    onclick: () => fill(preview, diffTable(current, form.controls.text.control.value, 'The proposal beside the text in force')),
  }, 'Compare with the text in force')), preview), form.querySelector('.actions'));
  return officePage(board, 'Policy amendments',
    h('p', {}, 'A trustee proposes a text; each trustee casts a signed ballot; the vote is closed with the date of the meeting. A majority of those voting adopts it, in force at once.'),
    h('h2', {}, 'Proposals'),
    proposals.data.proposals.length
      ? h('ul', {}, proposals.data.proposals.map((p) => h('li', {},
        h('a', { href: `#/board/amendments/${p.id}` }, `Proposal ${p.id}: ${p.title}`),
        ` \u2014 ${p.state === 'open' ? 'vote open' : p.state}, ${p.ballots.length} ${p.ballots.length === 1 ? 'ballot' : 'ballots'}`)))
      : h('p', { class: 'meta' }, 'None.'),
    h('details', {}, h('summary', {}, 'Propose an amendment'), form),
    h('h2', {}, 'The policy\u2019s history'),
    versions.ok ? h('ul', { class: 'history' }, versions.data.versions.map((v) => h('li', {},
      h('a', { href: `#/policy/${encodeURIComponent(v.label)}` }, `${word(policyEvents, v.event)} ${longDate(v.effective_on)}`),
      v.vote ? ` \u2014 by the Board\u2019s vote${v.proposal ? ` on proposal ${v.proposal}` : ''}` : '', v.note ? ` (${v.note})` : ''))) : null);
}

export async function amendment(id) {
  await loadPeople();
  const [answer, policy] = await Promise.all([get(`/api/v1/policy/proposals/${encodeURIComponent(id)}`), get('/api/v1/policy')]);
  if (!answer.ok) return officePage(board, `Proposal ${id}`, notice('error', refusal(answer)));
  const p = answer.data;
  const status = h('div', { 'aria-live': 'polite' });
  const tally = { for: 0, against: 0, abstain: 0 };
  for (const b of p.ballots) tally[b.vote] += 1;
  const mine = p.ballots.find((b) => b.member_id === session.who?.id);
  const parts = [
    h('p', {}, h('a', { href: '#/board/amendments' }, 'Back to the amendments')),
    facts([
      ['Proposed', `${when(p.proposed_at)} by ${personName(p.proposed_by)}`],
      ['What', p.event === 're-endorsed' ? 'To re-endorse the policy' : 'An amended text'],
      ['Summary', p.summary],
      ['The vote', p.state === 'open' ? 'Open' : `${p.state}${p.closed_at ? ` ${when(p.closed_at)}` : ''}${p.meeting_date ? `, at the meeting of ${longDate(p.meeting_date)}` : ''}`],
      ['Ballots', `${tally.for} for, ${tally.against} against, ${tally.abstain} abstaining`],
      ['Version adopted', p.version],
    ]),
    status,
  ];
  if (p.state === 'open') {
    parts.push(h('h2', {}, mine ? 'Your ballot' : 'Cast your ballot'));
    if (mine) parts.push(h('p', {}, `You voted ${mine.vote} ${when(mine.cast_at)}.`));
    else {
      parts.push(buildForm({
        fields: [{ name: 'vote', label: 'Your vote', type: 'select', required: true, options: [['for', 'For'], ['against', 'Against'], ['abstain', 'Abstain']] }],
        submitLabel: 'Sign my ballot',
        onSubmit: async (v, { showProblem }) => {
          const password = await askPassword('Sign your ballot', h('p', {}, `You vote ${v.vote} proposal ${p.id}: \u201c${p.title}\u201d.`));
          if (password === null) return;
          const got = await post(`/api/v1/policy/proposals/${p.id}/ballots`, { vote: v.vote, password }, { idempotencyKey: newKey() });
          if (!got.ok) return showProblem(got.problem);
          fill(status, notice('success', 'Your ballot is signed and counted.', ' ', h('a', { href: location.hash, onclick: reload }, 'Show the proposal as it is now')));
          status.querySelector('a').focus();
        },
      }));
    }
    parts.push(h('h2', {}, 'Close the vote'), buildForm({
      fields: [{ name: 'meeting_date', label: 'Date of the Board meeting', type: 'date', required: true, value: today() }],
      submitLabel: 'Close the vote',
      onSubmit: async (v, { showProblem }) => {
        const password = await askPassword('Close the vote', h('p', {}, `With ${tally.for} for and ${tally.against} against, the proposal is ${tally.for > tally.against ? 'adopted and in force at once' : 'not adopted'}.`));
        if (password === null) return;
        const got = await post(`/api/v1/policy/proposals/${p.id}/close`, { meeting_date: v.meeting_date, password }, { idempotencyKey: newKey() });
        if (!got.ok) return showProblem(got.problem);
        fill(status, notice('success', got.data.state === 'adopted' ? `Adopted: the policy of ${longDate(got.data.version)} is in force.` : `The vote is closed: ${got.data.state}.`,
          ' ', h('a', { href: location.hash, onclick: reload }, 'Show the proposal as it is now')));
        status.querySelector('a').focus();
      },
    }));
  }
  if (p.ballots.length) {
    parts.push(h('h2', {}, 'Signed ballots'), h('ul', {}, p.ballots.map((b) => h('li', {}, `${b.member}: ${b.vote}, ${when(b.cast_at)} `, h('code', { class: 'sig' }, b.signature.slice(0, 24) + '\u2026')))));
  }
  parts.push(h('h2', {}, 'The proposal beside the policy in force'), diffTable(policy.ok ? policy.data.text : '', p.text, `Proposal ${p.id} beside the text in force`));
  return officePage(board, `Proposal ${p.id}: ${p.title}`, ...parts);
}

export const routes = [
  [/^#\/board$/, decisions],
  [/^#\/board\/reviews\/(\d+)$/, review],
  [/^#\/board\/amendments$/, amendments],
  [/^#\/board\/amendments\/(\d+)$/, amendment],
];
