#include "circulation/schema.h"

namespace carrel {
namespace {

// Dates are TEXT 'YYYY-MM-DD' and instants TEXT 'YYYY-MM-DDTHH:MM:SSZ' (UTC): both sort as
// text and read the same on every engine. Only what circulation needs is kept (docs/design.md §3):
// no date of birth (a juvenile flag), dates instead of times wherever a time is not needed.
constexpr char kCirculationSchema[] = R"sql(
-- Patron ids are random (not a registration order). Every PII column is a ciphertext sealed
-- under the patron's own key (the vault); *_bi columns are blind indexes for lookups.
CREATE TABLE patrons (
  id INTEGER PRIMARY KEY,
  card_bi BLOB NOT NULL,
  email_bi BLOB,
  name_bi BLOB NOT NULL,
  card_barcode BLOB NOT NULL,
  name BLOB NOT NULL,
  email BLOB,
  phone BLOB,
  postal_address BLOB,
  juvenile BLOB NOT NULL,
  history_opt_in BLOB NOT NULL,
  expires_on TEXT NOT NULL,
  last_activity_on TEXT NOT NULL
);
CREATE INDEX patrons_card_bi ON patrons (card_bi);
CREATE INDEX patrons_email_bi ON patrons (email_bi) WHERE email_bi IS NOT NULL;
CREATE INDEX patrons_name_bi ON patrons (name_bi);
CREATE INDEX patrons_expires ON patrons (expires_on);

CREATE TABLE items (
  id INTEGER PRIMARY KEY,
  barcode TEXT NOT NULL UNIQUE,
  title TEXT NOT NULL,
  author TEXT NOT NULL DEFAULT '',
  call_number TEXT NOT NULL DEFAULT '',
  item_type TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'available'
    CHECK (status IN ('available', 'on_loan', 'on_hold_shelf', 'missing', 'withdrawn'))
);

-- Active loans only: a returned loan moves to loan_history.
CREATE TABLE loans (
  id INTEGER PRIMARY KEY,
  item_id INTEGER NOT NULL UNIQUE REFERENCES items (id),
  patron_id INTEGER NOT NULL REFERENCES patrons (id),
  checked_out_on TEXT NOT NULL,
  due_on TEXT NOT NULL,
  renewals INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX loans_patron ON loans (patron_id);
CREATE INDEX loans_due ON loans (due_on);

-- Returned loans. The patron link is sealed: under the key of its epoch (the return day) so
-- that destroying one key unlinks a whole day, or, for a patron who opted in to a reading
-- history, under the patron's own key (link_epoch NULL). link_tag finds one patron's links.
CREATE TABLE loan_history (
  id INTEGER PRIMARY KEY,
  item_id INTEGER NOT NULL REFERENCES items (id),
  patron_link BLOB,
  link_epoch TEXT,
  link_tag BLOB,
  checked_out_on TEXT NOT NULL,
  due_on TEXT NOT NULL,
  returned_on TEXT NOT NULL
);
CREATE INDEX loan_history_returned ON loan_history (returned_on);
CREATE INDEX loan_history_epoch ON loan_history (link_epoch) WHERE link_epoch IS NOT NULL;
CREATE INDEX loan_history_tag ON loan_history (link_tag) WHERE link_tag IS NOT NULL;

CREATE TABLE holds (
  id INTEGER PRIMARY KEY,
  item_id INTEGER NOT NULL REFERENCES items (id),
  patron_id INTEGER REFERENCES patrons (id),
  placed_at TEXT NOT NULL,
  status TEXT NOT NULL
    CHECK (status IN ('waiting', 'ready', 'fulfilled', 'cancelled', 'expired')),
  ready_until TEXT,
  ended_on TEXT,
  patron_link BLOB,
  link_epoch TEXT
);
CREATE INDEX holds_queue ON holds (item_id, status, placed_at);
CREATE INDEX holds_patron ON holds (patron_id) WHERE patron_id IS NOT NULL;
CREATE UNIQUE INDEX holds_one_open_per_patron ON holds (item_id, patron_id)
  WHERE status IN ('waiting', 'ready');

CREATE TABLE fines (
  id INTEGER PRIMARY KEY,
  patron_id INTEGER REFERENCES patrons (id),
  loan_history_id INTEGER REFERENCES loan_history (id),
  amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
  accrued_on TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('owed', 'paid', 'waived')),
  settled_on TEXT,
  waiver_reason TEXT
    CHECK (waiver_reason IS NULL OR waiver_reason IN
           ('staff_discretion', 'return_dispute', 'hardship', 'system_error')),
  patron_link BLOB,
  link_epoch TEXT
);
CREATE INDEX fines_patron ON fines (patron_id) WHERE patron_id IS NOT NULL;

CREATE TABLE computer_sessions (
  id INTEGER PRIMARY KEY,
  patron_id INTEGER REFERENCES patrons (id),
  station TEXT NOT NULL,
  started_at TEXT NOT NULL,
  ended_at TEXT,
  patron_link BLOB,
  link_epoch TEXT
);
CREATE UNIQUE INDEX computer_sessions_open_station ON computer_sessions (station)
  WHERE ended_at IS NULL;
CREATE UNIQUE INDEX computer_sessions_open_patron ON computer_sessions (patron_id)
  WHERE ended_at IS NULL;

-- The address is sealed under the eNews key; email_bi finds it.
CREATE TABLE enews_subscriptions (
  id INTEGER PRIMARY KEY,
  email_bi BLOB NOT NULL,
  email BLOB NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'unsubscribed')),
  created_on TEXT NOT NULL,
  confirmed_on TEXT,
  unsubscribed_on TEXT
);
CREATE INDEX enews_email_bi ON enews_subscriptions (email_bi);
)sql";

}  // namespace

// Version 21: the links of holds, fines and computer sessions found by the day whose key
// sealed them (a retention run's survey, a restore's reconciliation). Databases made before
// this version have these indexes from version 5, so it creates them only where missing.
constexpr char kLinkEpochIndexes[] = R"sql(
CREATE INDEX IF NOT EXISTS holds_epoch ON holds (link_epoch) WHERE link_epoch IS NOT NULL;
CREATE INDEX IF NOT EXISTS fines_epoch ON fines (link_epoch) WHERE link_epoch IS NOT NULL;
CREATE INDEX IF NOT EXISTS computer_sessions_epoch ON computer_sessions (link_epoch)
  WHERE link_epoch IS NOT NULL;
)sql";

const std::vector<Migration>& CirculationMigrations() {
  static const std::vector<Migration> migrations = {
      {1, "circulation", kCirculationSchema},
      {21, "indexes on the day keys of links", kLinkEpochIndexes},
  };
  return migrations;
}

}  // namespace carrel
