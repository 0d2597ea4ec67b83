#include "auth/schema.h"

namespace carrel {
namespace {

constexpr char kAccountsSchema[] = R"sql(
CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL CHECK (role IN ('staff', 'director', 'counsel', 'board', 'admin')),
  password_hash TEXT NOT NULL,
  signing_public_key BLOB,
  signing_secret_sealed BLOB,
  signing_salt BLOB,
  disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
  created_at TEXT NOT NULL
);

-- Sessions are found by the hash of their token; the token itself is never stored.
CREATE TABLE sessions (
  token_hash BLOB PRIMARY KEY,
  user_id INTEGER REFERENCES users (id),
  patron_id INTEGER REFERENCES patrons (id) ON DELETE CASCADE,
  role TEXT NOT NULL,
  csrf_token TEXT NOT NULL,
  created_at TEXT NOT NULL,
  last_seen_at TEXT NOT NULL,
  CHECK ((user_id IS NULL) <> (patron_id IS NULL))
);
CREATE INDEX sessions_user ON sessions (user_id) WHERE user_id IS NOT NULL;

-- Failed logins per account: "user:<username>" or "card:<blind index, hex>".
CREATE TABLE login_failures (
  subject TEXT PRIMARY KEY,
  failures INTEGER NOT NULL,
  locked_until TEXT
);

ALTER TABLE patrons ADD COLUMN pin_hash TEXT;
)sql";

// Version 13: whether a patron chose their PIN (and its length, for the profile's minimum),
// and one-time reset codes started at the desk.
constexpr char kPinResetSchema[] = R"sql(
ALTER TABLE patrons ADD COLUMN pin_chosen INTEGER NOT NULL DEFAULT 0 CHECK (pin_chosen IN (0, 1));
ALTER TABLE patrons ADD COLUMN pin_length INTEGER NOT NULL DEFAULT 0;
CREATE TABLE pin_resets (
  patron_id INTEGER PRIMARY KEY REFERENCES patrons (id) ON DELETE CASCADE,
  code_hash TEXT NOT NULL,
  expires_at TEXT NOT NULL
);
)sql";

// Version 14: an account whose role reaches patron data or signs is active only once approved
// (existing accounts were made before this rule and stay approved); a password set for an
// account is good for one change only. Each approval, or Board vote, is a signed statement.
constexpr char kApprovalSchema[] = R"sql(
ALTER TABLE users ADD COLUMN approval TEXT NOT NULL DEFAULT 'approved'
  CHECK (approval IN ('pending', 'approved'));
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0
  CHECK (must_change_password IN (0, 1));
CREATE TABLE account_approvals (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users (id),
  round INTEGER NOT NULL,
  approver_id INTEGER NOT NULL REFERENCES users (id),
  statement TEXT NOT NULL,
  signature BLOB NOT NULL,
  approved_at TEXT NOT NULL,
  UNIQUE (user_id, round, approver_id)
);
ALTER TABLE users ADD COLUMN approval_round INTEGER NOT NULL DEFAULT 0;
)sql";

// Version 15: failures are counted under a keyed hash of the username or card (never the
// typed text: a mistyped card number or email would otherwise land here), and rows go when
// their window ends. Rows kept under the old names are dropped.
constexpr char kLoginFailuresKeyedSchema[] = R"sql(
DELETE FROM login_failures;
ALTER TABLE login_failures ADD COLUMN last_failed_at TEXT;
)sql";

// Version 23: patrons' PINs move off circulation's patrons table into this module's own,
// removed with the patron. The old columns are dropped, so no stale hash stays behind.
constexpr char kPatronPinsSchema[] = R"sql(
CREATE TABLE patron_pins (
  patron_id INTEGER PRIMARY KEY REFERENCES patrons (id) ON DELETE CASCADE,
  pin_hash TEXT NOT NULL,
  pin_chosen INTEGER NOT NULL DEFAULT 0 CHECK (pin_chosen IN (0, 1)),
  pin_length INTEGER NOT NULL DEFAULT 0
);
INSERT INTO patron_pins (patron_id, pin_hash, pin_chosen, pin_length)
  SELECT id, pin_hash, pin_chosen, pin_length FROM patrons WHERE pin_hash IS NOT NULL;
ALTER TABLE patrons DROP COLUMN pin_hash;
ALTER TABLE patrons DROP COLUMN pin_chosen;
ALTER TABLE patrons DROP COLUMN pin_length;
)sql";

// Version 26: kiosks (self-check machines, automated returns) are accounts with a role of their
// own and a location. SQLite cannot change a CHECK in place, so the table is copied out and
// made again under its own name (references to it stay as they are; the foreign keys are
// checked at commit, when every row is back).
constexpr char kKioskSchema[] = R"sql(
PRAGMA defer_foreign_keys = ON;
CREATE TABLE users_before_kiosks AS SELECT * FROM users;
DROP TABLE users;
CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL CHECK (role IN ('staff', 'director', 'counsel', 'board', 'admin', 'kiosk')),
  password_hash TEXT NOT NULL,
  signing_public_key BLOB,
  signing_secret_sealed BLOB,
  signing_salt BLOB,
  disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
  created_at TEXT NOT NULL,
  approval TEXT NOT NULL DEFAULT 'approved' CHECK (approval IN ('pending', 'approved')),
  must_change_password INTEGER NOT NULL DEFAULT 0 CHECK (must_change_password IN (0, 1)),
  approval_round INTEGER NOT NULL DEFAULT 0,
  location TEXT,
  CHECK ((role = 'kiosk') = (location IS NOT NULL))
);
INSERT INTO users (id, username, role, password_hash, signing_public_key, signing_secret_sealed,
                   signing_salt, disabled, created_at, approval, must_change_password,
                   approval_round)
  SELECT id, username, role, password_hash, signing_public_key, signing_secret_sealed,
         signing_salt, disabled, created_at, approval, must_change_password, approval_round
  FROM users_before_kiosks;
DROP TABLE users_before_kiosks;
)sql";

constexpr char kKioskSchemaPostgresql[] = R"sql(
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
  CHECK (role IN ('staff', 'director', 'counsel', 'board', 'admin', 'kiosk'));
ALTER TABLE users ADD COLUMN location TEXT;
ALTER TABLE users ADD CONSTRAINT users_kiosk_location
  CHECK ((role = 'kiosk') = (location IS NOT NULL));
)sql";

}  // namespace

const std::vector<Migration>& AccountsMigrations() {
  static const std::vector<Migration> migrations = {
      {3, "accounts and sessions", kAccountsSchema},
      {13, "patron-chosen PINs and one-time reset codes", kPinResetSchema},
      {14, "account approvals and first-login password changes", kApprovalSchema},
      {15, "failed logins under keyed hashes", kLoginFailuresKeyedSchema},
      {23, "patrons' PINs in a table of their own", kPatronPinsSchema},
      {26, "kiosk accounts and their locations", kKioskSchema, kKioskSchemaPostgresql},
  };
  return migrations;
}

}  // namespace carrel
