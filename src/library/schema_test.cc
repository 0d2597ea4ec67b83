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

// Version 26 makes the users table again (SQLite cannot change its CHECK in place): a library
// upgraded with accounts, sessions and approvals on file keeps them all, with every reference
// to an account still whole.
TEST(LibrarySchemaTest, KiosksArriveWithoutLosingAnAccountOrAReference) {
  testing::TempDir dir;
  std::unique_ptr<Store> store = testing::NewScratchStore(dir / "upgraded.db");
  ASSERT_NE(store, nullptr);
  std::vector<Migration> before;
  for (const Migration& m : LibraryMigrations()) {
    if (m.version < 26) before.push_back(m);
  }
  ASSERT_TRUE(store->Migrate(before).ok());
  ASSERT_TRUE(WithWriteTransaction(*store, [&](Transaction& tx) -> Status {
                CARREL_RETURN_IF_ERROR(tx.Exec(
                    "INSERT INTO users (id, username, role, password_hash, created_at, approval, "
                    "must_change_password, approval_round) VALUES (1, 'director1', 'director', "
                    "'h1', '2026-01-01T00:00:00Z', 'approved', 0, 0), (2, 'desk1', 'staff', 'h2', "
                    "'2026-01-02T00:00:00Z', 'approved', 1, 1)"));
                CARREL_RETURN_IF_ERROR(tx.Exec(
                    "INSERT INTO sessions (token_hash, user_id, role, csrf_token, created_at, "
                    "last_seen_at) VALUES (x'01', 2, 'staff', 'c', '2026-01-02T00:00:00Z', "
                    "'2026-01-02T00:00:00Z')"));
                return tx.Exec(
                    "INSERT INTO account_approvals (user_id, round, approver_id, statement, "
                    "signature, approved_at) VALUES (2, 1, 1, 's', x'02', '2026-01-02T00:00:00Z')");
              }).ok());
  ASSERT_TRUE(store->Migrate(LibraryMigrations()).ok());
  auto count = [&](const std::string& sql) {
    int64_t n = -1;
    EXPECT_TRUE(WithReadTransaction(*store, [&](Transaction& tx) -> Status {
                  CARREL_ASSIGN_OR_RETURN(n, tx.QueryInt(sql));
                  return Status::Ok();
                }).ok());
    return n;
  };
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE (id, username, role, approval_round, "
                  "must_change_password) IN ((1, 'director1', 'director', 0, 0), (2, 'desk1', "
                  "'staff', 1, 1)) AND location IS NULL"),
            2);
  EXPECT_EQ(count("SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM account_approvals a JOIN users u ON u.id = a.user_id"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM pragma_foreign_key_check"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM sqlite_master WHERE name = 'users_before_kiosks'"), 0);
  // A kiosk stands somewhere; nobody else has a location.
  auto insert = [&](const std::string& values) {
    return WithWriteTransaction(*store, [&](Transaction& tx) {
      return tx.Exec(
          "INSERT INTO users (id, username, role, password_hash, created_at, "
          "location) VALUES " +
          values);
    });
  };
  EXPECT_TRUE(insert("(3, 'kiosk1', 'kiosk', 'h', '2026-01-03T00:00:00Z', 'Lobby')").ok());
  EXPECT_FALSE(insert("(4, 'kiosk2', 'kiosk', 'h', '2026-01-03T00:00:00Z', NULL)").ok());
  EXPECT_FALSE(insert("(5, 'desk2', 'staff', 'h', '2026-01-03T00:00:00Z', 'Lobby')").ok());
}

}  // namespace
}  // namespace carrel
