// Staff inboxes on a store holding the inbox module's migration alone: an item is posted in
// the poster's transaction (and rolls back with it), a user sees only their own, newest first,
// and marks only their own unread ones read. A database whose inbox came from the request
// workflow's old migration keeps its items when this module's version runs.

#include "carrel/inbox.h"

#include <gtest/gtest.h>

#include "inbox/schema.h"
#include "tests/support/temp_dir.h"

namespace carrel {
namespace {

Instant At(int hour) {
  return Instant(Date(std::chrono::year(2026) / 12 / 1)) + std::chrono::hours(hour);
}

std::vector<InboxItem> Items(Store& store, int64_t user) {
  std::vector<InboxItem> out;
  EXPECT_TRUE(WithReadTransaction(store, [&](Transaction& tx) -> Status {
                CARREL_ASSIGN_OR_RETURN(out, Inbox::ItemsIn(tx, user));
                return Status::Ok();
              }).ok());
  return out;
}

TEST(InboxTest, EachUserSeesAndMarksOnlyTheirOwn) {
  testing::TempDir dir;
  auto store = testing::NewScratchStore(dir / "inbox.db");
  ASSERT_TRUE(store->Migrate(InboxMigrations()).ok());
  ASSERT_TRUE(WithWriteTransaction(*store, [&](Transaction& tx) -> Status {
                CARREL_RETURN_IF_ERROR(Inbox::PostIn(tx, 1, "R-2026-0001", "new_request", At(15)));
                CARREL_RETURN_IF_ERROR(Inbox::PostIn(tx, 2, "R-2026-0001", "new_request", At(15)));
                return Inbox::PostIn(tx, 1, "R-2026-0002", "advice_recorded", At(16));
              }).ok());
  // A post whose transaction fails leaves nothing.
  EXPECT_FALSE(WithWriteTransaction(*store, [&](Transaction& tx) -> Status {
                 CARREL_RETURN_IF_ERROR(Inbox::PostIn(tx, 1, "R-2026-0003", "x", At(17)));
                 return FailedPrecondition("the step failed");
               }).ok());
  auto mine = Items(*store, 1);
  ASSERT_EQ(mine.size(), 2u);
  EXPECT_EQ(mine[0].case_reference, "R-2026-0002");  // newest first
  EXPECT_EQ(mine[0].created_at, At(16));
  EXPECT_FALSE(mine[0].read);
  const int64_t theirs = Items(*store, 2)[0].id;
  auto mark = [&](int64_t user, int64_t item) {
    return WithWriteTransaction(
        *store, [&](Transaction& tx) { return Inbox::MarkReadIn(tx, user, item, At(18)); });
  };
  EXPECT_EQ(mark(1, theirs).code(), StatusCode::kNotFound);  // not mine
  EXPECT_FALSE(Items(*store, 2)[0].read);
  EXPECT_TRUE(mark(1, mine[0].id).ok());
  EXPECT_EQ(mark(1, mine[0].id).code(), StatusCode::kNotFound);  // already read
  EXPECT_TRUE(Items(*store, 1)[0].read);
}

TEST(InboxTest, AnInboxFromTheOldMigrationKeepsItsItems) {
  testing::TempDir dir;
  auto store = testing::NewScratchStore(dir / "old.db");
  // As version 8 made it, before the table was this module's.
  ASSERT_TRUE(store
                  ->Migrate({{8, "requests' inbox, as it was",
                              "CREATE TABLE inbox (id INTEGER PRIMARY KEY, user_id INTEGER NOT "
                              "NULL, case_reference TEXT NOT NULL, kind TEXT NOT NULL, "
                              "created_at TEXT NOT NULL, read_at TEXT);\n"
                              "CREATE INDEX inbox_user ON inbox (user_id, id);"}})
                  .ok());
  ASSERT_TRUE(WithWriteTransaction(*store, [&](Transaction& tx) {
                return Inbox::PostIn(tx, 1, "R-2026-0001", "new_request", At(15));
              }).ok());
  ASSERT_TRUE(store->Migrate(InboxMigrations()).ok());
  ASSERT_EQ(Items(*store, 1).size(), 1u);
}

}  // namespace
}  // namespace carrel
