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

}  // namespace

const std::vector<Migration>& ApiMigrations() {
  static const std::vector<Migration> migrations = {
      {18, "answers kept for retries under an Idempotency-Key", kIdempotencySchema},
  };
  return migrations;
}

}  // namespace carrel
