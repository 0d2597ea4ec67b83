#include "requests/schema.h"

namespace carrel {
namespace {

constexpr char kRequestsSchema[] = R"sql(
CREATE TABLE cases (
  id INTEGER PRIMARY KEY,
  reference TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  state TEXT NOT NULL,
  process TEXT NOT NULL,
  outcome TEXT NOT NULL DEFAULT '',
  received_at TEXT NOT NULL,
  received_by INTEGER NOT NULL,
  counsel_id INTEGER NOT NULL DEFAULT 0,
  nondisclosure INTEGER NOT NULL DEFAULT 0,
  return_date TEXT,
  intake BLOB NOT NULL,
  scope BLOB NOT NULL,
  notes BLOB NOT NULL,
  closed_at TEXT
);

CREATE TABLE case_events (
  id INTEGER PRIMARY KEY,
  case_id INTEGER NOT NULL REFERENCES cases (id),
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  from_state TEXT NOT NULL,
  to_state TEXT NOT NULL,
  appointment_id INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX case_events_case ON case_events (case_id, id);
CREATE TRIGGER case_events_no_update BEFORE UPDATE ON case_events
  BEGIN SELECT RAISE(ABORT, 'a case event is never edited'); END;

CREATE TABLE case_documents (
  id INTEGER PRIMARY KEY,
  case_id INTEGER NOT NULL REFERENCES cases (id),
  kind TEXT NOT NULL,
  filename BLOB NOT NULL,
  sha256 TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  content BLOB NOT NULL,
  added_at TEXT NOT NULL,
  added_by TEXT NOT NULL
);
CREATE INDEX case_documents_case ON case_documents (case_id);

CREATE TABLE counsel_advice (
  id INTEGER PRIMARY KEY,
  case_id INTEGER NOT NULL REFERENCES cases (id),
  counsel_id INTEGER NOT NULL,
  at TEXT NOT NULL,
  proper_form INTEGER NOT NULL,
  enforceable INTEGER NOT NULL,
  court_order_compels INTEGER NOT NULL,
  recommendation TEXT NOT NULL,
  body BLOB NOT NULL
);
CREATE INDEX counsel_advice_case ON counsel_advice (case_id);
CREATE TRIGGER counsel_advice_no_update BEFORE UPDATE ON counsel_advice
  BEGIN SELECT RAISE(ABORT, 'advice is never edited: record new advice'); END;

CREATE TABLE case_decisions (
  id INTEGER PRIMARY KEY,
  case_id INTEGER NOT NULL REFERENCES cases (id),
  outcome TEXT NOT NULL,
  document BLOB NOT NULL,
  signed_by INTEGER NOT NULL,
  appointment_id INTEGER NOT NULL,
  public_key BLOB NOT NULL,
  signature BLOB NOT NULL,
  signed_at TEXT NOT NULL
);
CREATE INDEX case_decisions_case ON case_decisions (case_id);
CREATE TRIGGER case_decisions_no_update BEFORE UPDATE ON case_decisions
  BEGIN SELECT RAISE(ABORT, 'a signed decision is never edited'); END;

CREATE TABLE disclosures (
  id INTEGER PRIMARY KEY,
  case_id INTEGER NOT NULL UNIQUE REFERENCES cases (id),
  decision_id INTEGER NOT NULL REFERENCES case_decisions (id),
  manifest BLOB NOT NULL,
  signature BLOB NOT NULL,
  signed_by INTEGER NOT NULL,
  public_key BLOB NOT NULL,
  files BLOB NOT NULL,
  prepared_at TEXT NOT NULL,
  delivery BLOB,
  delivered_at TEXT,
  acknowledged_at TEXT
);

CREATE TABLE appointments (
  id INTEGER PRIMARY KEY,
  designee_id INTEGER NOT NULL,
  scope TEXT NOT NULL CHECK (scope IN ('standing', 'absence')),
  valid_from TEXT NOT NULL,
  valid_to TEXT NOT NULL,
  signed_by INTEGER NOT NULL,
  statement TEXT NOT NULL,
  public_key BLOB NOT NULL,
  signature BLOB NOT NULL,
  revoked_at TEXT,
  revoked_by TEXT,
  revocation BLOB
);
CREATE INDEX appointments_designee ON appointments (designee_id);

CREATE TABLE director_absences (
  id INTEGER PRIMARY KEY,
  from_at TEXT NOT NULL,
  to_at TEXT NOT NULL,
  recorded_by TEXT NOT NULL,
  recorded_at TEXT NOT NULL
);

CREATE TABLE patron_permissions (
  id INTEGER PRIMARY KEY,
  patron_id INTEGER NOT NULL,
  body BLOB NOT NULL,
  valid_until TEXT NOT NULL,
  method TEXT NOT NULL CHECK (method IN ('portal', 'paper')),
  scan_sha256 TEXT NOT NULL,
  scan BLOB,
  signed_at TEXT NOT NULL,
  revoked_at TEXT
);
CREATE INDEX patron_permissions_patron ON patron_permissions (patron_id);
)sql";

constexpr char kNoticesSchema[] = R"sql(
-- A nondisclosure order's dates are kept in the clear beside the sealed intake, so that
-- notices and inbox deadlines can be found without opening every case.
ALTER TABLE cases ADD COLUMN nondisclosure_expires TEXT;
ALTER TABLE cases ADD COLUMN nondisclosure_review TEXT;
ALTER TABLE cases ADD COLUMN acknowledged_at TEXT;
-- The policy version a decision was signed under (also inside the signed document), and how
-- many records a package held (the transparency report counts "no records").
ALTER TABLE case_decisions ADD COLUMN policy_version TEXT NOT NULL DEFAULT '';
ALTER TABLE disclosures ADD COLUMN records INTEGER NOT NULL DEFAULT 0;

CREATE TABLE patron_notices (
  id INTEGER PRIMARY KEY,
  reference TEXT NOT NULL UNIQUE,
  case_id INTEGER NOT NULL REFERENCES cases (id),
  patron_id INTEGER NOT NULL,
  body BLOB NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('queued', 'sent')),
  queued_at TEXT NOT NULL,
  sent_at TEXT
);
CREATE INDEX patron_notices_queued ON patron_notices (state) WHERE state = 'queued';
CREATE INDEX patron_notices_patron ON patron_notices (patron_id);
)sql";

constexpr char kDisclosuresPerDecisionSchema[] = R"sql(
-- A package belongs to one decision, and a case may have more than one: after the Board
-- reverses a release, a package prepared for it stays on record and a new decision may have
-- its own. The newest package of a case is the one in play.
CREATE TABLE disclosures_by_decision (
  id INTEGER PRIMARY KEY,
  case_id INTEGER NOT NULL REFERENCES cases (id),
  decision_id INTEGER NOT NULL UNIQUE REFERENCES case_decisions (id),
  manifest BLOB NOT NULL,
  signature BLOB NOT NULL,
  signed_by INTEGER NOT NULL,
  public_key BLOB NOT NULL,
  files BLOB NOT NULL,
  prepared_at TEXT NOT NULL,
  delivery BLOB,
  delivered_at TEXT,
  acknowledged_at TEXT,
  records INTEGER NOT NULL DEFAULT 0
);
INSERT INTO disclosures_by_decision (id, case_id, decision_id, manifest, signature, signed_by,
  public_key, files, prepared_at, delivery, delivered_at, acknowledged_at, records)
  SELECT id, case_id, decision_id, manifest, signature, signed_by, public_key, files,
         prepared_at, delivery, delivered_at, acknowledged_at, records FROM disclosures;
DROP TABLE disclosures;
ALTER TABLE disclosures_by_decision RENAME TO disclosures;
CREATE INDEX disclosures_case ON disclosures (case_id, id);
)sql";

// Version 17: paper permissions confirmed against their scans.
constexpr char kPermissionConfirmationSchema[] = R"sql(
ALTER TABLE patron_permissions ADD COLUMN confirmed_by TEXT;
ALTER TABLE patron_permissions ADD COLUMN confirmed_at TEXT;
)sql";

// Version 19: each step of a case records the policy version in force when it was taken
// (events before this version show none).
constexpr char kCaseEventPolicySchema[] = R"sql(
ALTER TABLE case_events ADD COLUMN policy_version TEXT NOT NULL DEFAULT '';
)sql";

}  // namespace

const std::vector<Migration>& RequestsMigrations() {
  static const std::vector<Migration> migrations = {
      // Its inbox moved to the inbox module (version 22), which creates it where missing.
      {8, "requests, appointments, permissions and inboxes", kRequestsSchema},
      {10, "nondisclosure dates, patron notices, disclosure counts", kNoticesSchema},
      {11, "a disclosure package per decision", kDisclosuresPerDecisionSchema},
      {17, "paper permissions confirmed against their scans", kPermissionConfirmationSchema},
      {19, "the policy version in force on each step of a case", kCaseEventPolicySchema},
  };
  return migrations;
}

}  // namespace carrel
