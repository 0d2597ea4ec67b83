// The API's names for things, in the words a library's public uses.

export const caseTypes = {
  law_enforcement: 'Police and other law enforcement',
  media: 'News media',
  patron_access: 'Patrons asking for their own records',
  third_party: 'Other people or organizations',
};

export const processes = {
  none: 'No court order or subpoena produced',
  subpoena: 'Subpoena',
  court_order: 'Court order',
  search_warrant: 'Search warrant',
  national_security_letter: 'National security letter',
  fisa_order: 'Foreign Intelligence Surveillance Act order',
  other: 'Other legal process',
};

export const outcomes = {
  declined_no_process: 'Declined: no court order or subpoena produced',
  defective_process: 'Refused: the legal process was defective',
  refused: 'Refused',
  no_records: 'Answered: the library held no such records',
  partial: 'Some records released, as the law required',
  full: 'Records released, as the law required',
  media_statement: 'A statement given to the press; no records released',
  pending: 'Still being handled',
  closed_without_decision: 'Closed without a decision',
};

export const bands = {
  national_security_letters: 'National security letters',
  fisa_orders: 'Foreign Intelligence Surveillance Act orders',
  under_nondisclosure_order: 'Requests under a nondisclosure order still in force',
};

export const policyEvents = {
  adopted: 'Adopted',
  amended: 'Amended',
  're-endorsed': 'Re-endorsed',
};

export function word(table, key) {
  return table[key] || String(key).replaceAll('_', ' ');
}

// Where a request stands, and the steps of the workflow, in the words the Director uses.
export const caseStates = {
  received: 'Received at the desk, not yet acknowledged',
  warrant_executed: 'Search warrant executed on the spot',
  referred: 'Acknowledged by the Director',
  counsel_consulted: 'Counsel consulted',
  declined: 'Declined (no legal process)',
  counsel_review: 'With counsel: a court order to review',
  counsel_determination_required: 'With counsel: the process needs counsel\u2019s determination',
  decided: 'Decided and signed',
  disclosure_prepared: 'Disclosure package prepared',
  released: 'Records delivered',
  closed: 'Closed',
};

export const caseSteps = {
  intake: 'Taken in',
  execute_warrant: 'Record a search warrant executed on the spot',
  acknowledge: 'Acknowledge the request',
  consult_counsel: 'Consult legal counsel',
  decline: 'Decline (no legal process was presented)',
  refer_to_counsel: 'Refer the legal process to counsel',
  advise: 'Record counsel\u2019s written advice',
  decide: 'Decide: release, partial release or refusal',
  prepare_disclosure: 'Build and sign the disclosure package',
  deliver: 'Record the delivery of the package',
  acknowledge_receipt: 'Record the recipient\u2019s acknowledgement',
  nondisclosure: 'Record a nondisclosure order',
  respond_media: 'Record the statement given to the press',
  close: 'Close the case',
};

// The same steps as they read in a case's history (past tense).
export const caseEvents = {
  intake: 'Taken in',
  execute_warrant: 'Search warrant executed',
  acknowledge: 'Acknowledged',
  consult_counsel: 'Counsel consulted',
  decline: 'Declined',
  refer_to_counsel: 'Referred to counsel',
  advise: 'Counsel advised',
  decide: 'Decision signed',
  prepare_disclosure: 'Disclosure package built and signed',
  deliver: 'Package delivered',
  acknowledge_receipt: 'Receipt acknowledged',
  nondisclosure: 'Nondisclosure order recorded',
  respond_media: 'Statement to the press recorded',
  close: 'Closed',
};

export const recordCategories = {
  patron: 'The patron\u2019s registration (name, card)',
  loans: 'Items checked out now',
  loan_history: 'Items returned (reading history)',
  holds: 'Holds',
  fines: 'Fines and fees',
};

export const inboxKinds = {
  new_request: 'A new request for patron information',
  advice_recorded: 'Counsel recorded advice',
  counsel_assigned: 'A case was assigned to you',
  counsel_review: 'A case came to you for review',
  warrant_executed: 'A search warrant was executed',
  advice_due: 'Advice is due',
  acknowledge: 'Acknowledge the request',
  return_date: 'Return date of the legal process',
  nondisclosure_review: 'Review the nondisclosure order',
  nondisclosure_expires: 'The nondisclosure order expires',
  board_review_open: 'A Board review is open',
  policy_vote_open: 'A vote on the policy is open',
  policy_vote_to_close: 'A vote on the policy is ready to close',
};

export const roles = {
  staff: 'Front desk', director: 'Library Director', counsel: 'Legal counsel',
  board: 'Board of Trustees', admin: 'Administrator', kiosk: 'Self-check kiosk',
};

export const retentionCategories = {
  loan_link: 'Who borrowed what (the link between a patron and a returned item)',
  hold_link: 'Who placed a hold (after it is filled or cancelled)',
  fine_link: 'Who owed a fine (after it is paid or waived)',
  session_link: 'Who used a public computer',
  enews_unconfirmed: 'eNews sign-ups never confirmed',
  enews_unsubscribed: 'eNews addresses after unsubscribing',
  patron_account: 'Patron accounts after the card expires and nothing is owed',
  reading_history: 'Reading history a patron chose to delete or stop keeping',
  case_file: 'Files of requests for patron information, after they close',
};

export const reviewSubjects = {
  decision: 'Release decision', decline: 'Decline', retention_schedule: 'Retention schedule', appointment: 'Designee appointment',
};

export const rulings = { affirm: 'Affirmed', reverse: 'Reversed', comment: 'Commented on' };
