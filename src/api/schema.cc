#include "api/schema.h"

namespace carrel {
namespace {

// Records of answers given under an Idempotency-Key (src/api/idempotency.h).
constexpr char kIdempotencySchema[] = R"sql(
CREATE TABLE idempotency_keys (
  id BLOB PRIMARY KEY,
  request BLOB NOT NULL,
  answer BLOB NOT NULL,
  created_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
)sql";

// Attempts per client address and minute, counted where every server on the library sees them
// (src/api/server.cc, RateLimiter). An address is kept only as a keyed hash, for the minute.
constexpr char kRateWindowsSchema[] = R"sql(
CREATE TABLE rate_windows (
  id BLOB PRIMARY KEY,
  minute TEXT NOT NULL,
  attempts INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX rate_windows_minute ON rate_windows (minute);
)sql";

}  // namespace

const std::vector<Migration>& ApiMigrations() {
  static const std::vector<Migration> migrations = {
      {18, "answers kept for retries under an Idempotency-Key", kIdempotencySchema},
      {24, "rate limits every server on the library shares", kRateWindowsSchema},
  };
  return migrations;
}

}  // namespace carrel
