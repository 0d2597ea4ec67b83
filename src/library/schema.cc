#include "library/schema.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "api/schema.h"
#include "audit/schema.h"
#include "auth/schema.h"
#include "circulation/schema.h"
#include "governance/schema.h"
#include "import/schema.h"
#include "inbox/schema.h"
#include "requests/schema.h"
#include "retention/schema.h"

namespace carrel {
namespace {

// The library's own table: what this database is (its format, the library's id, when it was
// made, the audit log's public key). Databases made before version 20 have it from version 1,
// when it was created with the circulation tables.
constexpr char kLibraryMetaSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS library_meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
)sql";

std::vector<Migration> Join() {
  std::vector<Migration> all = {
      {20, "the library's own table, owned by its module", kLibraryMetaSchema}};
  for (const auto* part : {&CirculationMigrations(), &AuditMigrations(), &AccountsMigrations(),
                           &RetentionMigrations(), &RequestsMigrations(), &GovernanceMigrations(),
                           &ApiMigrations(), &InboxMigrations(), &ImportMigrations()}) {
    all.insert(all.end(), part->begin(), part->end());
  }
  std::sort(all.begin(), all.end(),
            [](const Migration& a, const Migration& b) { return a.version < b.version; });
  // One sequence, 1 to N, no version claimed twice: a programming error, caught at start.
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i].version != static_cast<int>(i) + 1) {
      std::fprintf(stderr, "carrel: schema migration %zu is missing or claimed twice\n", i + 1);
      std::abort();
    }
  }
  return all;
}

}  // namespace

const std::vector<Migration>& LibraryMigrations() {
  static const std::vector<Migration> migrations = Join();
  return migrations;
}

}  // namespace carrel
