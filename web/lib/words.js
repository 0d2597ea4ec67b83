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
