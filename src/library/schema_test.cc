// The library database's migrations, joined from every module: one sequence with no gap and no
// version claimed twice, each table created by one module only, and a fresh database built by
// them alone.

#include "library/schema.h"

#include <gtest/gtest.h>

#include "carrel/store.h"
#include "tests/support/temp_dir.h"

namespace carrel {
namespace {

TEST(LibrarySchemaTest, OneSequenceOfVersionsFromEveryModule) {
  const auto& all = LibraryMigrations();
  ASSERT_FALSE(all.empty());
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].version, static_cast<int>(i) + 1);
    EXPECT_FALSE(all[i].name.empty());
    EXPECT_FALSE(all[i].sql.empty());
  }
}

TEST(LibrarySchemaTest, AFreshDatabaseIsBuiltAndAgainIsANoOp) {
  testing::TempDir dir;
  std::unique_ptr<Store> store = testing::NewScratchStore(dir / "fresh.db");
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Migrate(LibraryMigrations()).ok());
  ASSERT_TRUE(store->Migrate(LibraryMigrations()).ok());
  // A table of each module's, and the library module's own.
  for (const char* table : {"patrons", "audit_log", "users", "retention_schedules", "cases",
                            "policy_versions", "idempotency_keys", "library_meta", "inbox"}) {
    int64_t n = 0;
    ASSERT_TRUE(WithReadTransaction(*store, [&](Transaction& tx) -> Status {
                  CARREL_ASSIGN_OR_RETURN(
                      n, tx.QueryInt("SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                                     "AND name = ?",
                                     {std::string(table)}));
                  return Status::Ok();
                }).ok());
    EXPECT_EQ(n, 1) << table;
  }
}

}  // namespace
}  // namespace carrel
