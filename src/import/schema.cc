#include "import/schema.h"

namespace carrel {
namespace {

// One row per file being imported, named by what the file is and a hash of its content (never
// its name or path): the first line not yet imported and the counts so far (numbers only),
// written in the same transaction as the rows they count.
constexpr char kImportProgressSchema[] = R"sql(
CREATE TABLE import_progress (
  id TEXT PRIMARY KEY,
  next_line INTEGER NOT NULL,
  counts TEXT NOT NULL
);
)sql";

}  // namespace

const std::vector<Migration>& ImportMigrations() {
  static const std::vector<Migration> migrations = {
      {25, "how far each import has come", kImportProgressSchema},
  };
  return migrations;
}

}  // namespace carrel
