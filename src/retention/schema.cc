#include "retention/schema.h"

namespace carrel {
namespace {

constexpr char kRetentionSchema[] = R"sql(
CREATE TABLE retention_schedules (
  version INTEGER PRIMARY KEY,
  document TEXT NOT NULL,
  signed_by INTEGER NOT NULL,
  signer TEXT NOT NULL,
  public_key BLOB NOT NULL,
  signature BLOB NOT NULL,
  reason TEXT NOT NULL,
  signed_at TEXT NOT NULL
);
CREATE TRIGGER retention_schedules_no_update BEFORE UPDATE ON retention_schedules
  BEGIN SELECT RAISE(ABORT, 'a schedule version is never edited: sign a new one'); END;
CREATE TRIGGER retention_schedules_no_delete BEFORE DELETE ON retention_schedules
  BEGIN SELECT RAISE(ABORT, 'a schedule version is never edited: sign a new one'); END;

CREATE TABLE retention_runs (
  id INTEGER PRIMARY KEY,
  schedule_version INTEGER NOT NULL,
  run_day TEXT NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  counts TEXT NOT NULL DEFAULT '{}',
  milliseconds INTEGER NOT NULL DEFAULT 0
);

-- Epoch keys a run destroys: noted before, marked after, cleared from rows ("reclaimed") later.
CREATE TABLE retention_keys (
  key_name TEXT PRIMARY KEY,
  epoch TEXT NOT NULL,
  category TEXT NOT NULL,
  run_id INTEGER NOT NULL REFERENCES retention_runs (id),
  links INTEGER NOT NULL,
  destroyed INTEGER NOT NULL DEFAULT 0,
  reclaimed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX retention_keys_reclaim ON retention_keys (reclaimed) WHERE destroyed = 1;

CREATE TABLE legal_holds (
  id INTEGER PRIMARY KEY,
  patron_id INTEGER NOT NULL,
  from_day TEXT,
  to_day TEXT,
  reason BLOB NOT NULL,
  case_id TEXT NOT NULL DEFAULT '',
  placed_by TEXT NOT NULL,
  placed_at TEXT NOT NULL,
  signature BLOB NOT NULL,
  released_by TEXT,
  released_at TEXT
);
CREATE INDEX legal_holds_active ON legal_holds (patron_id) WHERE released_at IS NULL;
)sql";

// Version 16: holds a clerk's intake placed lapse unless the Director or a designee confirms.
constexpr char kIntakeHoldsSchema[] = R"sql(
ALTER TABLE legal_holds ADD COLUMN expires_on TEXT;
ALTER TABLE legal_holds ADD COLUMN confirmed_by TEXT;
ALTER TABLE legal_holds ADD COLUMN confirmed_at TEXT;
)sql";

}  // namespace

const std::vector<Migration>& RetentionMigrations() {
  static const std::vector<Migration> migrations = {
      {5, "retention schedules, runs and legal holds", kRetentionSchema},
      {16, "intake holds lapse unless confirmed", kIntakeHoldsSchema},
  };
  return migrations;
}

}  // namespace carrel
