#include "inbox/schema.h"

namespace carrel {
namespace {

// Version 22: the inbox is this module's. Databases made before it have the table from
// version 8 (when the request workflow created it), so it is created only where missing.
constexpr char kInboxSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS inbox (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL,
  case_reference TEXT NOT NULL,
  kind TEXT NOT NULL,
  created_at TEXT NOT NULL,
  read_at TEXT
);
CREATE INDEX IF NOT EXISTS inbox_user ON inbox (user_id, id);
)sql";

}  // namespace

const std::vector<Migration>& InboxMigrations() {
  static const std::vector<Migration> migrations = {
      {22, "staff inboxes, owned by their own module", kInboxSchema},
  };
  return migrations;
}

}  // namespace carrel
