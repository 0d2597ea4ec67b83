// The Board of Trustees' part of the policy against a real library (policy §5, §6; docs/design.md
// §7, §8): only the Board reviews and amends, a vote adopts only by a majority of those voting, a
// reversal is final and visible wherever the decision is, notices to patrons wait for a
// nondisclosure order to end, deadlines reach the role that must act, and the transparency report
// matches the cases exactly without naming anyone.

#include "carrel/governance.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "carrel/encoding.h"
#include "requests/render.h"
#include "tests/support/requests_fixture.h"
#include "tests/support/store_count.h"

namespace carrel {
namespace {

using json = nlohmann::json;
using std::chrono::days;
using std::chrono::hours;
using testing::D;
using testing::kPassword;

class GovernanceTest : public testing::RequestsTest {
 protected:
  Governance& gov() { return lib().governance(); }

  int64_t Propose(const std::string& text, const std::string& who = "board1") {
    auto p = gov().Propose(U(who), PolicyEventKind::kAmended, lib().profile().policy_title, text,
                           "adds a sentence on notice to patrons");
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return p.ok() ? p->id : 0;
  }

  std::string Amended() {
    const std::string& text = lib().profile().policy_text;
    return text + (text.ends_with('\n') ? "" : "\n") +
           "Patrons are told of any release of their records once the law allows.\n";
  }

  void Vote(const std::string& who, int64_t proposal, const std::string& vote) {
    auto v = gov().Vote(U(who), kPassword, proposal, *ParseBallotVote(vote));
    ASSERT_TRUE(v.ok()) << v.status().ToString();
  }

  int64_t CountRows(const std::string& table) { return testing::RowCount(lib().store(), table); }

  // Rows of `table` whose `column` holds `text` in the clear (sealed columns never do).
  int64_t CountHolding(const std::string& table, const std::string& column,
                       const std::string& text) {
    int64_t n = 0;
    EXPECT_TRUE(WithReadTransaction(lib().store(), [&](Transaction& tx) {
                  return tx.Exec("SELECT " + column + " FROM " + table, {}, [&](const Row& row) {
                    if (row.BytesView(0).find(text) != std::string_view::npos) ++n;
                    return Status::Ok();
                  });
                }).ok());
    return n;
  }

  int64_t DecisionId(const std::string& ref) {
    auto f = requests().Get(U("director1"), ref);
    EXPECT_TRUE(f.ok());
    return f.ok() && !f->decisions.empty() ? f->decisions.back().id : 0;
  }

  // A court-order case released, packaged and delivered to the agency.
  std::string DeliveredCase(CaseIntake in) {
    auto s = requests().Intake(U("staff1"), in);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    std::string ref = s->reference;
    ToCounselConsulted(ref);
    EXPECT_TRUE(Act("director1", ref, "refer_to_counsel").ok());
    int64_t advice = Advise(ref, true, "comply");
    EXPECT_TRUE(Act("director1", ref, "decide", Release(advice), kPassword).ok());
    auto prepared = Act("director1", ref, "prepare_disclosure", json::object(), kPassword);
    EXPECT_TRUE(prepared.ok()) << prepared.status().ToString();
    auto delivered = Act("director1", ref, "deliver", {{"to", "the clerk of court"}, {"how", "by hand"}});
    EXPECT_TRUE(delivered.ok()) << delivered.status().ToString();
    return ref;
  }

  CaseIntake CourtOrder(std::vector<std::string> cards = {"P-A"}) {
    CaseIntake in;
    in.agency = "County Police";
    in.name = "Officer on duty";
    in.callback_number = "555-0100";
    in.callback_source = "the county's published directory";
    in.asked = "circulation records";
    in.card_barcodes = std::move(cards);
    in.process = "court_order";
    return in;
  }
};

TEST_F(GovernanceTest, ThePolicyHistoryFromTheProfileIsKeptAsVersions) {
  auto history = gov().History();
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 3u);
  EXPECT_EQ((*history)[0].label, "2003-05-12");
  EXPECT_EQ((*history)[0].event, PolicyEventKind::kAdopted);
  EXPECT_EQ((*history)[1].label, "2007-10-17");
  EXPECT_EQ((*history)[1].event, PolicyEventKind::kAmended);
  EXPECT_EQ((*history)[2].label, "2010-09-15");
  EXPECT_EQ((*history)[2].event, PolicyEventKind::kReEndorsed);
  // The library has the text re-endorsed in 2010, which is the 2007 amendment's; not 2003's.
  EXPECT_FALSE((*history)[0].text.has_value());
  ASSERT_TRUE((*history)[1].text.has_value());
  EXPECT_EQ(*(*history)[1].text, lib().profile().policy_text);
  EXPECT_EQ(*(*history)[2].text, lib().profile().policy_text);
  EXPECT_EQ((*history)[2].sha256, Sha256Hex(lib().profile().policy_text));
  auto current = gov().Current();
  ASSERT_TRUE(current.ok());
  EXPECT_EQ(current->label, "2010-09-15");
  // A re-endorsement changed nothing; the 2007 amendment cannot be compared with a text the
  // library does not hold.
  auto same = gov().Changes("2010-09-15");
  ASSERT_TRUE(same.ok());
  for (const DiffLine& l : *same) EXPECT_EQ(l.op, ' ') << l.text;
  EXPECT_EQ(gov().Changes("2007-10-17").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(gov().Changes("1999-01-01").status().code(), StatusCode::kNotFound);
  // Loading again records nothing twice, and no version can be edited or removed.
  ASSERT_TRUE(gov().Load().ok());
  EXPECT_EQ(CountRows("policy_versions"), 3);
  Status edit = WithWriteTransaction(lib().store(), [](Transaction& tx) {
    return tx.Exec("UPDATE policy_versions SET body = 'rewritten' WHERE label = '2010-09-15'");
  });
  EXPECT_FALSE(edit.ok());
  Status drop = WithWriteTransaction(lib().store(), [](Transaction& tx) {
    return tx.Exec("DELETE FROM policy_versions");
  });
  EXPECT_FALSE(drop.ok());
}

TEST_F(GovernanceTest, OnlyBoardMembersProposeVoteAdoptAndReview) {
  auto admin = lib().accounts().AddUser(OperatorActor(), "admin1", Role::kAdmin, kPassword);
  ASSERT_TRUE(admin.ok());
  users_["admin1"] = admin->id;
  std::string ref = DecidedCase();
  int64_t decision = DecisionId(ref);
  for (const char* who : {"staff1", "director1", "counsel1", "deputy1", "admin1"}) {
    EXPECT_EQ(gov().Propose(U(who), PolicyEventKind::kAmended, "T", Amended(), "s").status().code(),
              StatusCode::kPermissionDenied)
        << who;
    EXPECT_EQ(gov().OpenReview(U(who), "decision", decision, "why").status().code(),
              StatusCode::kPermissionDenied)
        << who;
    EXPECT_EQ(gov().ReviewableItems(U(who)).status().code(), StatusCode::kPermissionDenied) << who;
  }
  int64_t proposal = Propose(Amended());
  auto review = gov().OpenReview(U("board1"), "decision", decision, "the scope looks wide");
  ASSERT_TRUE(review.ok()) << review.status().ToString();
  for (const char* who : {"staff1", "director1", "counsel1", "deputy1", "admin1"}) {
    EXPECT_EQ(gov().Vote(U(who), kPassword, proposal, BallotVote::kFor).status().code(),
              StatusCode::kPermissionDenied)
        << who;
    EXPECT_EQ(gov().CloseVote(U(who), kPassword, proposal, D(2026, 12, 1)).status().code(),
              StatusCode::kPermissionDenied)
        << who;
    EXPECT_EQ(
        gov().Rule(U(who), kPassword, review->id, RulingOutcome::kReverse, "no").status().code(),
        StatusCode::kPermissionDenied)
        << who;
    EXPECT_EQ(gov().AddComment(U(who), review->id, "a word").status().code(),
              StatusCode::kPermissionDenied)
        << who;
  }
  EXPECT_EQ(CountRows("policy_proposals"), 1);
  EXPECT_EQ(CountRows("policy_ballots"), 0);
  EXPECT_EQ(CountRows("review_comments"), 0);
  EXPECT_EQ(CountRows("board_reviews WHERE outcome <> ''"), 0);
  // The Board's own password signs; another's does not.
  EXPECT_EQ(gov().Vote(U("board1"), "not the password", proposal, BallotVote::kFor).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(CountRows("policy_ballots"), 0);
}

TEST_F(GovernanceTest, AVoteWithoutAMajorityOfThoseVotingDoesNotAdopt) {
  const std::string amended = Amended();
  int64_t tied = Propose(amended);
  Vote("board1", tied, "for");
  Vote("board2", tied, "against");
  Vote("board3", tied, "abstain");
  EXPECT_EQ(gov().Vote(U("board1"), kPassword, tied, BallotVote::kAgainst).status().code(),
            StatusCode::kAlreadyExists);  // a ballot is never changed
  auto closed = gov().CloseVote(U("board2"), kPassword, tied, D(2026, 11, 30));
  ASSERT_TRUE(closed.ok()) << closed.status().ToString();
  EXPECT_EQ(closed->state, ProposalState::kNotAdopted);
  EXPECT_EQ(gov().Current()->label, "2010-09-15");
  EXPECT_EQ(gov().Vote(U("board3"), kPassword, tied, BallotVote::kFor).status().code(),
            StatusCode::kFailedPrecondition);  // the vote is closed

  int64_t against = Propose(amended);
  Vote("board1", against, "for");
  Vote("board2", against, "against");
  Vote("board3", against, "against");
  EXPECT_EQ(gov().CloseVote(U("board1"), kPassword, against, D(2026, 11, 30))->state,
            ProposalState::kNotAdopted);
  EXPECT_EQ(gov().History()->size(), 3u);

  // Abstentions are not votes: one for and two abstaining adopts.
  int64_t proposal = Propose(amended);
  int64_t stale = Propose(amended + "\nAnother sentence.\n", "board2");
  EXPECT_EQ(gov().CloseVote(U("board1"), kPassword, proposal, D(2026, 11, 30)).status().code(),
            StatusCode::kFailedPrecondition);  // nobody has voted
  Vote("board1", proposal, "for");
  Vote("board2", proposal, "abstain");
  Vote("board3", proposal, "abstain");
  EXPECT_EQ(gov().CloseVote(U("board1"), kPassword, proposal, D(2027, 1, 1)).status().code(),
            StatusCode::kInvalidArgument);  // a vote is not dated in the future
  auto adopted = gov().CloseVote(U("board3"), kPassword, proposal, D(2026, 11, 30));
  ASSERT_TRUE(adopted.ok()) << adopted.status().ToString();
  EXPECT_EQ(adopted->state, ProposalState::kAdopted);
  EXPECT_EQ(adopted->version_label, "2026-11-30");

  // The new version is in force at once, public, with its vote and what it changed.
  auto current = gov().Current();
  ASSERT_TRUE(current.ok());
  EXPECT_EQ(current->label, "2026-11-30");
  EXPECT_EQ(current->event, PolicyEventKind::kAmended);
  EXPECT_EQ(current->text, amended);
  ASSERT_TRUE(current->vote.has_value());
  EXPECT_EQ(current->vote->in_favour, std::vector<std::string>{"board1"});
  EXPECT_TRUE(current->vote->against.empty());
  EXPECT_EQ(current->vote->abstaining.size(), 2u);
  EXPECT_EQ(FormatDate(current->vote->meeting_date), "2026-11-30");
  EXPECT_TRUE(current->vote->majority_of_those_voting);
  EXPECT_EQ(gov().History()->size(), 4u);
  auto changes = gov().Changes("2026-11-30");
  ASSERT_TRUE(changes.ok());
  int added = 0, removed = 0;
  for (const DiffLine& l : *changes) {
    if (l.op == '+') {
      ++added;
      EXPECT_EQ(l.text, "Patrons are told of any release of their records once the law allows.");
    }
    if (l.op == '-') ++removed;
  }
  EXPECT_EQ(added, 1);
  EXPECT_EQ(removed, 0);
  // A proposal made on the text before is not adopted over the new one.
  Vote("board1", stale, "for");
  EXPECT_EQ(gov().CloseVote(U("board1"), kPassword, stale, D(2026, 11, 30)).status().code(),
            StatusCode::kFailedPrecondition);

  // Every entry and every decision from now on records the new version.
  std::string ref = DecidedCase();
  auto f = requests().Get(U("director1"), ref);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->decisions.back().policy_version, "2026-11-30");
  auto entries = CaseEntries(ref);
  ASSERT_FALSE(entries.empty());
  for (const AuditEntry& e : entries) EXPECT_EQ(e.policy_version, "2026-11-30") << e.action;
  auto letter_case = Intake("none");
  ToCounselConsulted(letter_case);
  ASSERT_TRUE(Act("director1", letter_case, "decline").ok());
  auto letter = requests().DeclineLetter(U("director1"), letter_case);
  ASSERT_TRUE(letter.ok());
  EXPECT_NE(letter->find("version of 2026-11-30"), std::string::npos);
}

TEST_F(GovernanceTest, AReversalIsFinalAndShownWhereverTheDecisionIsShown) {
  std::string ref = DecidedCase();
  int64_t decision = DecisionId(ref);
  auto review = gov().OpenReview(U("board1"), "decision", decision, "a trustee asked");
  ASSERT_TRUE(review.ok()) << review.status().ToString();
  EXPECT_EQ(review->case_reference, ref);
  EXPECT_EQ(gov().OpenReview(U("board2"), "decision", decision, "again").status().code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(gov().OpenReview(U("board2"), "decision", 999999, "none").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(gov().OpenReview(U("board2"), "patron", 1, "no").status().code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE(gov().AddComment(U("board2"), review->id, "counsel's advice was to narrow").ok());
  EXPECT_EQ(ParseRulingOutcome("overturn").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(gov()
                .Rule(U("board3"), "wrong password", review->id, RulingOutcome::kReverse, "x")
                .status()
                .code(),
            StatusCode::kPermissionDenied);
  auto ruled = gov().Rule(U("board3"), kPassword, review->id, RulingOutcome::kReverse,
                          "the order did not reach the loan history");
  ASSERT_TRUE(ruled.ok()) << ruled.status().ToString();
  EXPECT_EQ(ruled->outcome, RulingOutcome::kReverse);
  ASSERT_EQ(ruled->comments.size(), 1u);
  EXPECT_EQ(ruled->comments[0].text, "counsel's advice was to narrow");
  EXPECT_EQ(ruled->reason, "a trustee asked");
  // The ruling is signed by the member's own key.
  auto member = lib().accounts().GetUser(U("board3"));
  ASSERT_TRUE(member.ok());
  EXPECT_TRUE(Accounts::VerifySignature(member->signing_public_key, SignedPurpose::kRuling,
                                        ruled->statement, ruled->signature));

  // Shown on the decision in the case file and in the Board's list.
  auto f = requests().Get(U("director1"), ref);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(f->decisions.back().ruling.has_value());
  EXPECT_EQ(f->decisions.back().ruling->outcome, RulingOutcome::kReverse);
  EXPECT_EQ(f->decisions.back().ruling->review_id, review->id);
  auto items = gov().ReviewableItems(U("board1"));
  ASSERT_TRUE(items.ok());
  bool listed = false;
  for (const Reviewable& r : *items) {
    if (r.subject == "decision" && r.subject_id == decision) {
      listed = true;
      ASSERT_TRUE(r.ruling.has_value());
      EXPECT_EQ(r.ruling->outcome, RulingOutcome::kReverse);
      EXPECT_EQ(r.case_reference, ref);
      // What it is shown: the kind of request and process, no patron (the detail has no field
      // for one).
      EXPECT_FALSE(r.detail.request_type.empty());
      EXPECT_FALSE(r.detail.process.empty());
    }
  }
  EXPECT_TRUE(listed);
  // A reversed release discloses nothing.
  EXPECT_EQ(Act("director1", ref, "prepare_disclosure", json::object(), kPassword).status().code(),
            StatusCode::kPermissionDenied);
  // Final: no second ruling, no new review, not even by editing the row.
  EXPECT_EQ(gov()
                .Rule(U("board1"), kPassword, review->id, RulingOutcome::kAffirm, "on reflection")
                .status()
                .code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(gov().OpenReview(U("board1"), "decision", decision, "again").status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(gov().AddComment(U("board1"), review->id, "late").status().code(),
            StatusCode::kFailedPrecondition);
  Status edit = WithWriteTransaction(lib().store(), [&](Transaction& tx) {
    return tx.Exec("UPDATE board_reviews SET outcome = 'affirm' WHERE id = ?", {review->id});
  });
  EXPECT_FALSE(edit.ok());
  // The Director decides again, on the Board's reversal.
  auto again = Act("director1", ref, "decide", {{"outcome", "refuse"}}, kPassword);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->outcome, CaseOutcome::kRefuse);
  // A decision nobody reversed is not decided again.
  EXPECT_EQ(Act("director1", ref, "decide", {{"outcome", "refuse"}}, kPassword).status().code(),
            StatusCode::kFailedPrecondition);
  // Every step of the review is on the log, with the case and no patron.
  std::set<std::string> actions;
  for (const AuditEntry& e : CaseEntries(ref)) {
    actions.insert(e.action);
    if (e.action.starts_with("board.")) {
      EXPECT_EQ(e.details.find(std::to_string(patrons_["P-A"])), std::string::npos) << e.action;
    }
  }
  for (const char* a : {"board.review.open", "board.review.comment", "board.review.rule"}) {
    EXPECT_TRUE(actions.count(a)) << a;
  }
  // Comments and reasons are sealed at rest.
  EXPECT_EQ(CountHolding("review_comments", "body", "narrow"), 0);
}

TEST_F(GovernanceTest, AReversedReleaseIsNotDeliveredNorCountedAndMayBeDecidedAnew) {
  std::string ref = DecidedCase();
  ASSERT_TRUE(Act("director1", ref, "prepare_disclosure", json::object(), kPassword).ok());
  auto review = gov().OpenReview(U("board1"), "decision", DecisionId(ref), "");
  ASSERT_TRUE(review.ok());
  ASSERT_TRUE(
      gov()
          .Rule(U("board1"), kPassword, review->id, RulingOutcome::kReverse, "stayed on appeal")
          .ok());
  // The package prepared is never delivered nor served, and the release is not reported as one.
  EXPECT_EQ(Act("director1", ref, "deliver", {{"to", "the clerk"}, {"how", "by hand"}})
                .status()
                .code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(requests().DisclosureFile(U("director1"), ref, "disclosure.json").status().code(),
            StatusCode::kPermissionDenied);
  auto report = requests().Transparency();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(TransparencyReportJson(*report)["years"][0]["by_outcome"]["partial"], 0);
  EXPECT_EQ(TransparencyReportJson(*report)["years"][0]["by_outcome"]["pending"], 1);
  EXPECT_EQ(TransparencyReportJson(*report)["years"][0]["board_reversals"], 1);
  // Decided anew (on the loans only), packaged and delivered: the new package is the one in play.
  auto f = requests().Get(U("director1"), ref);
  ASSERT_TRUE(f.ok());
  auto again = Act("director1", ref, "decide", Release(f->advice.back().id, {"loans"}), kPassword);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  ASSERT_TRUE(Act("director1", ref, "prepare_disclosure", json::object(), kPassword).ok());
  ASSERT_TRUE(Act("director1", ref, "deliver", {{"to", "the clerk"}, {"how", "by hand"}}).ok());
  auto package = requests().DisclosureFile(U("director1"), ref, "disclosure.json");
  ASSERT_TRUE(package.ok()) << package.status().ToString();
  json records = json::parse(*package)["records"];
  ASSERT_FALSE(records.empty());
  for (const json& r : records) EXPECT_EQ(r["category"], "loans");
  f = requests().Get(U("director1"), ref);
  ASSERT_TRUE(f.ok() && f->disclosure.has_value());
  EXPECT_EQ(f->disclosure->decision_id, f->decisions.back().id);
  EXPECT_EQ(CountRows("disclosures"), 2);  // the first package stays on record
  EXPECT_EQ(TransparencyReportJson(*requests().Transparency())["years"][0]["by_outcome"]["partial"],
            1);
}

TEST_F(GovernanceTest, AReversedAppointmentEndsAndAReversedScheduleIsSetAside) {
  Instant now = lib_.clock.Now();
  auto appointment =
      requests().Appoint(U("director1"), kPassword, U("deputy1"), AppointmentScope::kStanding,
                         now - hours(1), now + hours(24 * 30));
  ASSERT_TRUE(appointment.ok());
  EXPECT_TRUE(*requests().IsActingDesignee(U("deputy1")));
  auto review = gov().OpenReview(U("board1"), "appointment", appointment->id, "");
  ASSERT_TRUE(review.ok());
  ASSERT_TRUE(
      gov().Rule(U("board2"), kPassword, review->id, RulingOutcome::kReverse, "not needed").ok());
  EXPECT_FALSE(*requests().IsActingDesignee(U("deputy1")));
  auto list = requests().Appointments(OperatorActor());
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  ASSERT_TRUE((*list)[0].ruling.has_value());
  EXPECT_EQ((*list)[0].ruling->outcome, RulingOutcome::kReverse);

  Actor director{"user/" + std::to_string(U("director1")), "director"};
  RetentionSchedule schedule = ScheduleFromProfile(lib().profile());
  ASSERT_TRUE(lib().retention().SignSchedule(director, U("director1"), kPassword, schedule, "first").ok());
  auto second = lib().retention().SignSchedule(director, U("director1"), kPassword, schedule, "second");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(lib().retention().Current(director)->version, second->version);
  auto schedule_review = gov().OpenReview(U("board1"), "retention_schedule", second->version, "");
  ASSERT_TRUE(schedule_review.ok());
  ASSERT_TRUE(
      gov()
          .Rule(U("board1"), kPassword, schedule_review->id, RulingOutcome::kReverse, "too short")
          .ok());
  auto in_force = lib().retention().Current(director);
  ASSERT_TRUE(in_force.ok());
  EXPECT_EQ(in_force->version, second->version - 1);
}

TEST_F(GovernanceTest, AQueuedNoticeIsHeldWhileANondisclosureOrderIsActiveAndGoesOutWhenItExpires) {
  ASSERT_TRUE(lib().profile().notify_patrons);
  auto sent = [&] { return lib_.outbound.notices(); };  // what the hook was given
  Date today = lib().calendar().LocalDate(lib_.clock.Now());
  CaseIntake in = CourtOrder();
  in.nondisclosure_order = true;
  in.nondisclosure_expires = today + days(7);
  in.nondisclosure_review = today + days(5);
  std::string ref = DeliveredCase(in);
  // Queued, not sent: nothing through the hook, nothing in the patron's portal.
  auto f = requests().Get(U("director1"), ref);
  ASSERT_TRUE(f.ok());
  ASSERT_EQ(f->notices.size(), 1u);
  EXPECT_EQ(f->notices[0].state, NoticeState::kQueued);
  EXPECT_EQ(f->notices[0].patron_id, patrons_["P-A"]);
  EXPECT_TRUE(sent().empty());
  Actor patron{"patron/" + std::to_string(patrons_["P-A"]), "patron"};
  EXPECT_TRUE(requests().MyNotices(patron, patrons_["P-A"])->empty());
  // The review date and the expiry are in the Director's inbox.
  auto due = requests().Deadlines(U("director1"));
  ASSERT_TRUE(due.ok());
  std::set<std::string> kinds;
  for (const Deadline& d : *due) {
    if (d.case_reference == ref) kinds.insert(d.kind);
  }
  EXPECT_TRUE(kinds.count("nondisclosure_review"));
  EXPECT_TRUE(kinds.count("nondisclosure_expires"));
  // The day before the order expires, still held.
  lib_.clock.Advance(days(6));
  EXPECT_EQ(*requests().SendDueNotices(), 0);
  EXPECT_TRUE(sent().empty());
  // The day it expires, the notice goes out, once.
  lib_.clock.Advance(days(1));
  EXPECT_EQ(*requests().SendDueNotices(), 1);
  EXPECT_EQ(*requests().SendDueNotices(), 0);
  ASSERT_EQ(sent().size(), 1u);
  EXPECT_EQ(sent()[0], f->notices[0].reference);  // the hook gets the reference, nothing else
  EXPECT_EQ(sent()[0].find(ref), std::string::npos);
  auto mine = requests().MyNotices(patron, patrons_["P-A"]);
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->size(), 1u);
  EXPECT_NE((*mine)[0].text.find(ref), std::string::npos);
  EXPECT_NE((*mine)[0].text.find("a court order"), std::string::npos);
  EXPECT_TRUE(requests().MyNotices(Actor{"patron/x", "patron"}, patrons_["P-B"])->empty());
  // Sealed under the patron's key at rest.
  EXPECT_EQ(CountHolding("patron_notices", "body", "court order"), 0);
}

TEST_F(GovernanceTest, NoticesWithoutAnOrderGoAtOnceAndLiftingAnOrderReleasesThem) {
  auto sent = [&] { return lib_.outbound.notices(); };  // what the hook was given
  DeliveredCase(CourtOrder());
  EXPECT_EQ(sent().size(), 1u);
  CaseIntake in = CourtOrder({"P-B"});
  in.nondisclosure_order = true;  // no expiry: held until lifted
  in.nondisclosure_review = lib().calendar().LocalDate(lib_.clock.Now()) + days(90);
  std::string ref = DeliveredCase(in);
  lib_.clock.Advance(days(400));
  EXPECT_EQ(*requests().SendDueNotices(), 0);
  EXPECT_EQ(sent().size(), 1u);
  // Staff and counsel cannot lift it; the Director can.
  EXPECT_EQ(Act("staff1", ref, "nondisclosure", {{"order", false}}).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(Act("director1", ref, "nondisclosure", {{"order", false}, {"expires", "2027-01-01"}})
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE(Act("director1", ref, "nondisclosure", {{"order", false}}).ok());
  EXPECT_EQ(sent().size(), 2u);
}

TEST_F(GovernanceTest, DeadlinesReachTheRoleThatMustAct) {
  Date today = lib().calendar().LocalDate(lib_.clock.Now());
  CaseIntake in = CourtOrder();
  in.return_date = today + days(3);
  auto s = requests().Intake(U("staff1"), in);
  ASSERT_TRUE(s.ok());
  std::string ref = s->reference;
  auto kinds_for = [&](const std::string& who) {
    std::map<std::string, bool> kinds;  // kind -> overdue
    auto due = requests().Deadlines(U(who));
    EXPECT_TRUE(due.ok()) << who;
    if (due.ok()) {
      for (const Deadline& d : *due) kinds[d.kind] = d.overdue;
    }
    return kinds;
  };
  auto director = kinds_for("director1");
  EXPECT_TRUE(director.count("return_date"));
  EXPECT_FALSE(director["return_date"]);
  ASSERT_TRUE(director.count("acknowledge"));
  EXPECT_FALSE(director["acknowledge"]);
  EXPECT_TRUE(kinds_for("staff1").empty());
  EXPECT_TRUE(kinds_for("counsel1").empty());
  // 10:00 on an open Tuesday: three hours later the request is overdue (two open hours).
  lib_.clock.Advance(hours(3));
  EXPECT_TRUE(kinds_for("director1")["acknowledge"]);
  ASSERT_TRUE(Act("director1", ref, "acknowledge").ok());
  EXPECT_FALSE(kinds_for("director1").count("acknowledge"));
  // Counsel, once assigned to review the order, sees it; the Board sees reviews and votes.
  ASSERT_TRUE(Act("director1", ref, "consult_counsel",
                  {{"counsel_id", U("counsel1")}, {"consultation", "called"}})
                  .ok());
  ASSERT_TRUE(Act("director1", ref, "refer_to_counsel").ok());
  EXPECT_TRUE(kinds_for("counsel1").count("advice_due"));
  EXPECT_FALSE(kinds_for("counsel2").count("advice_due"));
  int64_t proposal = Propose(Amended());
  EXPECT_TRUE(kinds_for("board2").count("policy_vote_open"));
  Vote("board2", proposal, "for");
  EXPECT_TRUE(kinds_for("board2").count("policy_vote_to_close"));
  auto appointment =
      requests().Appoint(U("director1"), kPassword, U("deputy1"), AppointmentScope::kStanding,
                         lib_.clock.Now() - hours(1), lib_.clock.Now() + hours(48));
  ASSERT_TRUE(appointment.ok());
  EXPECT_TRUE(kinds_for("deputy1").count("return_date"));  // an acting designee acts too
  ASSERT_TRUE(gov().OpenReview(U("board1"), "appointment", appointment->id, "").ok());
  EXPECT_TRUE(kinds_for("board3").count("board_review_open"));
  // Past the return date it is overdue.
  lib_.clock.Advance(days(5));
  EXPECT_TRUE(kinds_for("director1")["return_date"]);
}

TEST_F(GovernanceTest, TheTransparencyReportMatchesTheCasesExactlyAndNamesNoPatron) {
  // Declined for want of process.
  std::string declined = Intake("none");
  ToCounselConsulted(declined);
  ASSERT_TRUE(Act("director1", declined, "decline").ok());
  // A partial release that produced records.
  DeliveredCase(CourtOrder());
  // A release that found no records: patron B holds nothing on the shelf.
  {
    auto s = requests().Intake(U("staff1"), CourtOrder({"P-B"}));
    ASSERT_TRUE(s.ok());
    ToCounselConsulted(s->reference);
    ASSERT_TRUE(Act("director1", s->reference, "refer_to_counsel").ok());
    int64_t advice = Advise(s->reference, true, "comply");
    json release = Release(advice, {"holds"});
    release["outcome"] = "release";
    ASSERT_TRUE(Act("director1", s->reference, "decide", release, kPassword).ok());
    ASSERT_TRUE(Act("director1", s->reference, "prepare_disclosure", json::object(), kPassword).ok());
  }
  // A subpoena counsel found defective, refused.
  {
    std::string ref = Intake("subpoena");
    ToCounselConsulted(ref);
    ASSERT_EQ(Act("director1", ref, "refer_to_counsel")->state,
              CaseState::kCounselDeterminationRequired);
    ASSERT_TRUE(Act("counsel1", ref, "advise",
                    {{"proper_form", false}, {"enforceable", false}, {"court_order_compels", false},
                     {"recommendation", "refuse"}, {"advice", "not served properly"}})
                    .ok());
    ASSERT_TRUE(Act("director1", ref, "decide", {{"outcome", "refuse"}}, kPassword).ok());
  }
  // A media request answered with a statement; one request still pending.
  std::string media = Intake("none", {}, "media");
  ASSERT_TRUE(Act("director1", media, "acknowledge").ok());
  ASSERT_TRUE(Act("director1", media, "respond_media", {{"statement", "no comment"}}).ok());
  Intake("none");
  // National-security process: bands only. A case under an order in force: left out.
  Intake("national_security_letter");
  Intake("fisa_order");
  CaseIntake gagged = CourtOrder();
  gagged.nondisclosure_order = true;
  gagged.nondisclosure_review = lib().calendar().LocalDate(lib_.clock.Now()) + days(90);
  ASSERT_TRUE(requests().Intake(U("staff1"), gagged).ok());

  auto report = requests().Transparency();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(TransparencyReportJson(*report)["years"].size(), 1u);
  const json y = TransparencyReportJson(*report)["years"][0];
  EXPECT_EQ(y["year"], 2026);
  EXPECT_EQ(y["requests"], 6);
  EXPECT_EQ(y["by_type"],
            json({{"law_enforcement", 5}, {"media", 1}, {"patron_access", 0}, {"third_party", 0}}));
  EXPECT_EQ(y["by_process"], json({{"none", 3},
                                   {"subpoena", 1},
                                   {"court_order", 2},
                                   {"search_warrant", 0},
                                   {"other", 0}}));
  EXPECT_EQ(y["by_outcome"], json({{"declined_no_process", 1},
                                   {"defective_process", 1},
                                   {"refused", 0},
                                   {"no_records", 1},
                                   {"partial", 1},
                                   {"full", 0},
                                   {"media_statement", 1},
                                   {"pending", 1},
                                   {"closed_without_decision", 0}}));
  EXPECT_EQ(y["in_bands"],
            json({{"national_security_letters", "0-249"}, {"fisa_orders", "0-249"}}));
  EXPECT_EQ(y["board_reversals"], 0);
  // Nothing that names a patron, a requester or a case.
  std::string text = TransparencyReportJson(*report).dump();
  for (const auto& [card, id] : patrons_) {
    EXPECT_EQ(text.find(card), std::string::npos);
    EXPECT_EQ(text.find(std::to_string(id)), std::string::npos);
  }
  for (const char* word : {"Patron", "County Police", "Officer", "555-0100", "R-2026", "\"patron\""}) {
    EXPECT_EQ(text.find(word), std::string::npos) << word;
  }
  // When the order ends, the case is counted.
  lib_.clock.Advance(days(1));
  CaseIntake later = CourtOrder();
  later.nondisclosure_order = true;
  later.nondisclosure_expires = lib().calendar().LocalDate(lib_.clock.Now()) + days(2);
  later.nondisclosure_review = *later.nondisclosure_expires;
  ASSERT_TRUE(requests().Intake(U("staff1"), later).ok());
  EXPECT_EQ(TransparencyReportJson(*requests().Transparency())["years"][0]["requests"], 6);
  lib_.clock.Advance(days(2));
  EXPECT_EQ(TransparencyReportJson(*requests().Transparency())["years"][0]["requests"], 7);
}

// A profile whose history has two events on one day, and whose version label repeats an
// earlier date: every version still gets its own label and the library opens.
TEST(GovernanceLoadTest, HistoryEventsOnOneDayGetTheirOwnLabels) {
  testing::TempDir dir;
  std::filesystem::path source = testing::WestportProfile();
  std::ifstream in(source);
  std::stringstream toml;
  toml << in.rdbuf();
  std::string text = toml.str();
  size_t at = text.find("version = \"2010-09-15\"");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, std::string("version = \"2010-09-15\"").size(), "version = \"2007-10-17\"");
  at = text.find("date = \"2010-09-15\"");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, std::string("date = \"2010-09-15\"").size(), "date = \"2007-10-17\"");
  std::filesystem::create_directories(dir / "profile");
  std::ofstream(dir / "profile" / "library.toml") << text;
  std::filesystem::copy_file(source.parent_path() / "policy.txt", dir / "profile" / "policy.txt");
  ASSERT_TRUE(Library::Init(dir / "lib", dir / "profile" / "library.toml", OperatorActor()).ok());
  FakeClock clock(testing::DefaultTestTime());
  auto lib = Library::Open(dir / "lib", &clock);
  ASSERT_TRUE(lib.ok()) << lib.status().ToString();
  auto history = (*lib)->governance().History();
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 3u);
  EXPECT_EQ((*history)[0].label, "2003-05-12");
  EXPECT_EQ((*history)[1].label, "2007-10-17-2");
  EXPECT_EQ((*history)[2].label, "2007-10-17");  // the version in force keeps the profile's label
  EXPECT_EQ((*lib)->governance().Current()->label, "2007-10-17");
}

}  // namespace
}  // namespace carrel
