// What other modules read of the Board's tables, through Governance's ...In calls, on a store
// holding the governance module's migrations alone: a reversal counts only for its kind of
// subject and only from its ruling on; an open review is listed until it is ruled on; a vote
// is "to close" for the member who has voted on it.

#include <gtest/gtest.h>

#include "carrel/governance.h"
#include "governance/schema.h"
#include "tests/support/temp_dir.h"

namespace carrel {
namespace {

Instant At(int day, int hour) {
  return Instant(Date(std::chrono::year(2026) / 12 / day)) + std::chrono::hours(hour);
}

class GovernanceReadsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = testing::NewScratchStore(dir_ / "governance.db");
    ASSERT_NE(store_, nullptr);
    ASSERT_TRUE(store_->Migrate(GovernanceMigrations()).ok());
  }

  // A review of `subject` number `id`, ruled `outcome` at `decided` (open when outcome is "").
  void Review(int64_t review, const std::string& subject, int64_t id, const std::string& outcome,
              Instant decided) {
    ASSERT_TRUE(
        WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
          CARREL_RETURN_IF_ERROR(tx.Exec(
              "INSERT INTO board_reviews (id, subject, subject_id, case_reference, "
              "opened_by, opened_at, reason) VALUES (?, ?, ?, ?, 7, ?, x'00')",
              {review, subject, id, "case-" + std::to_string(id), FormatInstant(At(1, 15))}));
          if (outcome.empty()) return Status::Ok();
          return tx.Exec(
              "UPDATE board_reviews SET outcome = ?, decided_by = 7, decided_at = ? "
              "WHERE id = ?",
              {outcome, FormatInstant(decided), review});
        }).ok());
  }

  template <typename F>
  auto Read(F f) {
    decltype(f(std::declval<Transaction&>()).value()) out{};
    EXPECT_TRUE(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
                  CARREL_ASSIGN_OR_RETURN(out, f(tx));
                  return Status::Ok();
                }).ok());
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(GovernanceReadsTest, AReversalCountsForItsKindOfSubjectAndFromItsRulingOn) {
  Review(1, "appointment", 5, "reverse", At(3, 15));
  Review(2, "appointment", 6, "affirm", At(3, 15));
  Review(3, "decision", 5, "reverse", At(3, 15));  // the same number, another kind
  Review(4, "appointment", 8, "", At(3, 15));      // still open
  auto reversed = [&](std::optional<Instant> by) {
    return Read([&](Transaction& tx) { return Governance::ReversedIn(tx, "appointment", by); });
  };
  EXPECT_EQ(reversed(std::nullopt), std::vector<int64_t>{5});
  EXPECT_EQ(reversed(At(3, 15)), std::vector<int64_t>{5});  // at the ruling itself
  EXPECT_TRUE(reversed(At(3, 14)).empty());                 // before it: still good
  EXPECT_EQ(Read([&](Transaction& tx) { return Governance::ReversedIn(tx, "decision"); }),
            std::vector<int64_t>{5});
  EXPECT_TRUE(Read([&](Transaction& tx) { return Governance::ReversedIn(tx, "decline"); }).empty());
}

TEST_F(GovernanceReadsTest, AReviewIsOpenUntilRuledOn) {
  Review(1, "decision", 10, "", At(2, 15));
  Review(2, "decline", 11, "comment", At(2, 15));
  Review(3, "retention_schedule", 2, "", At(2, 15));
  auto open = Read([&](Transaction& tx) { return Governance::OpenReviewsIn(tx); });
  ASSERT_EQ(open.size(), 2u);
  EXPECT_EQ(open[0].id, 1);
  EXPECT_EQ(open[0].case_reference, "case-10");
  EXPECT_EQ(open[0].opened_at, FormatInstant(At(1, 15)));
  EXPECT_EQ(open[1].id, 3);
}

TEST_F(GovernanceReadsTest, AnOpenVoteIsToCloseForAMemberWhoHasVoted) {
  EXPECT_TRUE(Read([&](Transaction& tx) { return Governance::OpenVotesIn(tx, 7); }).empty());
  ASSERT_TRUE(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
                for (int64_t id : {1, 2, 3}) {
                  CARREL_RETURN_IF_ERROR(tx.Exec(
                      "INSERT INTO policy_proposals (id, event, title, body, summary, "
                      "proposed_by, proposed_at, base_version, state) VALUES (?, 'amended', "
                      "'t', 'b', 's', 7, ?, 1, ?)",
                      {id, FormatInstant(At(1, 15)), std::string(id == 3 ? "adopted" : "open")}));
                }
                return tx.Exec(
                    "INSERT INTO policy_ballots (proposal_id, member_id, vote, cast_at, "
                    "statement, public_key, signature) VALUES (2, 7, 'for', ?, '{}', x'00', "
                    "x'00')",
                    {FormatInstant(At(2, 15))});
              }).ok());
  auto votes = Read([&](Transaction& tx) { return Governance::OpenVotesIn(tx, 7); });
  ASSERT_EQ(votes.size(), 2u);  // the adopted one is closed
  EXPECT_EQ(votes[0].proposal_id, 1);
  EXPECT_FALSE(votes[0].voted);
  EXPECT_EQ(votes[1].proposal_id, 2);
  EXPECT_TRUE(votes[1].voted);
  // Another member has voted on neither.
  for (const auto& v : Read([&](Transaction& tx) { return Governance::OpenVotesIn(tx, 8); })) {
    EXPECT_FALSE(v.voted);
  }
}

}  // namespace
}  // namespace carrel
