// Patrons' PINs in the accounts module's own table (version 23): a PIN set on the patrons row
// by an older carrel moves across whole, the old columns are gone (no stale hash stays behind),
// and removing a patron removes their PIN with them.

#include <gtest/gtest.h>

#include "library/schema.h"
#include "tests/support/temp_dir.h"

namespace carrel {
namespace {

std::vector<Migration> UpTo(int version) {
  std::vector<Migration> out;
  for (const Migration& m : LibraryMigrations()) {
    if (m.version <= version) out.push_back(m);
  }
  return out;
}

int64_t Count(Store& store, const std::string& sql) {
  int64_t n = -1;
  EXPECT_TRUE(WithReadTransaction(store,
                                  [&](Transaction& tx) -> Status {
                                    CARREL_ASSIGN_OR_RETURN(n, tx.QueryInt(sql));
                                    return Status::Ok();
                                  })
                  .ok())
      << sql;
  return n;
}

TEST(PatronPinsTest, PinsMoveOffThePatronsTableAndGoWithThePatron) {
  testing::TempDir dir;
  std::unique_ptr<Store> store = testing::NewScratchStore(dir / "old.db");
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Migrate(UpTo(22)).ok());
  ASSERT_TRUE(WithWriteTransaction(*store, [](Transaction& tx) -> Status {
                for (int64_t id : {11, 12}) {
                  CARREL_RETURN_IF_ERROR(tx.Exec(
                      "INSERT INTO patrons (id, card_bi, name_bi, card_barcode, name, juvenile, "
                      "history_opt_in, expires_on, last_activity_on) VALUES (?, x'01', x'02', "
                      "x'03', x'04', x'05', x'06', '2027-01-01', '2026-12-01')",
                      {id}));
                }
                // Patron 11 chose a PIN; patron 12 has none.
                return tx.Exec(
                    "UPDATE patrons SET pin_hash = '$argon2id$demo', pin_chosen = 1, "
                    "pin_length = 6 WHERE id = 11");
              }).ok());
  ASSERT_TRUE(store->Migrate(LibraryMigrations()).ok());
  EXPECT_EQ(Count(*store, "SELECT count(*) FROM patron_pins"), 1);
  EXPECT_EQ(Count(*store,
                  "SELECT count(*) FROM patron_pins WHERE patron_id = 11 AND pin_hash = "
                  "'$argon2id$demo' AND pin_chosen = 1 AND pin_length = 6"),
            1);
  EXPECT_EQ(Count(*store,
                  "SELECT count(*) FROM pragma_table_info('patrons') WHERE name LIKE "
                  "'pin%'"),
            0);
  ASSERT_TRUE(WithWriteTransaction(*store, [](Transaction& tx) {
                return tx.Exec("DELETE FROM patrons WHERE id = 11");
              }).ok());
  EXPECT_EQ(Count(*store, "SELECT count(*) FROM patron_pins"), 0);
}

}  // namespace
}  // namespace carrel
