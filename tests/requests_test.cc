// The request workflow (policy §4) against a real library: each test tries to break one of the
// invariants of docs/design.md §7 — no disclosure without a verified signed authorization covering
// every record, a lawful basis for every release, staff at intake only, counsel on their own
// cases, designees only under a valid appointment, media never disclosing, held records
// surviving retention, every step and every refusal on the audit log.

#include "carrel/requests.h"

#include <gtest/gtest.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "api/routes.h"
#include "carrel/encoding.h"
#include "carrel/library.h"
#include "tests/support/postgres.h"
#include "tests/support/requests_fixture.h"

namespace carrel {
namespace {

using json = nlohmann::json;
using std::chrono::hours;
using testing::D;
using testing::kPassword;
using testing::RequestsTest;

TEST_F(RequestsTest, TheTransitionTableIsWholeAndEveryStepHasItsRoute) {
  std::set<CaseState> states(CaseStates().begin(), CaseStates().end());
  std::set<std::string_view> actions;
  for (const CaseTransition& t : CaseTransitions()) {
    EXPECT_TRUE(actions.insert(t.action).second) << "one row per step: " << t.action;
    for (CaseState from : t.from) {
      EXPECT_TRUE(states.count(from)) << t.action << " " << CaseStateName(from);
    }
    if (t.to.kind == CaseNext::kTo) {
      EXPECT_TRUE(states.count(t.to.state)) << t.action;
    }
    EXPECT_FALSE(t.precondition.empty()) << t.action;
    // Media requests can never reach a step that releases anything.
    if (t.action == "decide" || t.action == "prepare_disclosure" || t.action == "deliver") {
      EXPECT_EQ(t.types & kMedia, 0u) << t.action;
    }
    if (t.action == "intake") continue;
    // The route of the step lets in exactly the roles the table names.
    const Route* route = nullptr;
    for (const Route& r : RouteTable()) {
      if (r.action == "request." + std::string(t.action)) route = &r;
    }
    ASSERT_NE(route, nullptr) << t.action;
    uint32_t want = 0;
    if (t.actors & kCaseStaff) want |= kStaff;
    if (t.actors & kCaseDirector) want |= kDirector;
    if (t.actors & kCaseDesignee) want |= kDesignee;
    if (t.actors & kCaseCounsel) want |= kCounsel;
    EXPECT_EQ(route->allowed, want) << t.action;
  }
}

TEST_F(RequestsTest, StaffTakeRequestsInAndNothingElse) {
  std::string ref = Intake("none");
  ASSERT_FALSE(ref.empty());
  // The Director is told at once, in the inbox and through the outbound hook (reference only).
  auto inbox = requests().Inbox(U("director1"));
  ASSERT_TRUE(inbox.ok());
  ASSERT_EQ(inbox->size(), 1u);
  EXPECT_EQ((*inbox)[0].case_reference, ref);
  EXPECT_EQ(lib_.outbound.requests(), std::vector<std::string>{ref});
  for (const char* step : {"acknowledge", "consult_counsel", "decline", "decide", "close"}) {
    auto s = Act("staff1", ref, step);
    EXPECT_EQ(s.status().code(), StatusCode::kPermissionDenied) << step;
  }
  EXPECT_EQ(requests().List(U("staff1")).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(requests().Get(U("staff1"), ref).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(requests().DeclineLetter(U("staff1"), ref).status().code(),
            StatusCode::kPermissionDenied);
  // The Board takes no part in cases here (its review is a separate workflow).
  EXPECT_EQ(requests().Intake(U("board1"), CaseIntake{}).status().code(),
            StatusCode::kPermissionDenied);
}

TEST_F(RequestsTest, NoProcessMeansDeclineWithTheLetter) {
  std::string ref = Intake("none");
  ToCounselConsulted(ref);
  EXPECT_EQ(Act("director1", ref, "refer_to_counsel").status().code(),
            StatusCode::kFailedPrecondition);
  auto s = Act("director1", ref, "decline", {{"explanation", "explained the policy"}});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->state, CaseState::kDeclined);
  auto letter = requests().DeclineLetter(U("director1"), ref);
  ASSERT_TRUE(letter.ok()) << letter.status().ToString();
  const Profile& p = lib().profile();
  for (const std::string& want :
       {p.name, p.address_lines.front(), ref, p.statute_citation, std::string("Law Enforcement Requests"),
        FormatDate(lib().calendar().LocalDate(lib_.clock.Now()))}) {
    EXPECT_NE(letter->find(want), std::string::npos) << want;
  }
  EXPECT_EQ(letter->find("Patron P-"), std::string::npos);
  // Counsel not assigned cannot read it; a case with process cannot be declined.
  std::string other = Intake("subpoena");
  ToCounselConsulted(other);
  EXPECT_EQ(Act("director1", other, "decline").status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(RequestsTest, ASubpoenaAloneUnlocksNothingUnderTheConnecticutProfile) {
  std::string ref = Intake("subpoena");
  ToCounselConsulted(ref);
  auto referred = Act("director1", ref, "refer_to_counsel");
  ASSERT_TRUE(referred.ok());
  EXPECT_EQ(referred->state, CaseState::kCounselDeterminationRequired);
  // Nothing can be released: not on the subpoena, not on advice that no order compels it.
  EXPECT_EQ(Act("director1", ref, "decide", Release(0), kPassword).status().code(),
            StatusCode::kFailedPrecondition);
  int64_t weak = Advise(ref, false, "comply");
  EXPECT_EQ(Act("director1", ref, "decide", Release(weak), kPassword).status().code(),
            StatusCode::kFailedPrecondition);
  json on_subpoena = Release(weak);
  on_subpoena["basis"] = "subpoena";
  EXPECT_EQ(Act("director1", ref, "decide", on_subpoena, kPassword).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(Act("director1", ref, "prepare_disclosure", json::object(), kPassword).status().code(),
            StatusCode::kFailedPrecondition);
  // Counsel records that a court order compels production: now, and only now, a release.
  int64_t compels = Advise(ref, true, "comply");
  auto f = requests().Get(U("director1"), ref);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->summary.state, CaseState::kCounselReview);
  auto decided = Act("director1", ref, "decide", Release(compels), kPassword);
  ASSERT_TRUE(decided.ok()) << decided.status().ToString();
  EXPECT_EQ(decided->outcome, CaseOutcome::kPartial);
}

TEST_F(RequestsTest, ACourtOrderReleaseNeedsCounselsAdviceRecommendingIt) {
  std::string ref = Intake("court_order");
  ToCounselConsulted(ref);
  ASSERT_EQ(Act("director1", ref, "refer_to_counsel")->state, CaseState::kCounselReview);
  EXPECT_EQ(Act("director1", ref, "decide", Release(0), kPassword).status().code(),
            StatusCode::kFailedPrecondition);  // no advice relied on
  EXPECT_EQ(Act("director1", ref, "decide", {{"outcome", "refuse"}}, kPassword).status().code(),
            StatusCode::kFailedPrecondition);  // nor a refusal without advice
  int64_t challenge = Advise(ref, true, "challenge");
  EXPECT_EQ(Act("director1", ref, "decide", Release(challenge), kPassword).status().code(),
            StatusCode::kFailedPrecondition);
  int64_t comply = Advise(ref, true, "comply");
  EXPECT_EQ(Act("director1", ref, "decide", Release(comply), "wrong password").status().code(),
            StatusCode::kPermissionDenied);
  // The scope may not reach beyond the request: no other card.
  json wider = Release(comply);
  wider["scope"]["card_barcodes"] = {"P-B"};
  EXPECT_EQ(Act("director1", ref, "decide", wider, kPassword).status().code(),
            StatusCode::kFailedPrecondition);
  auto s = Act("director1", ref, "decide", Release(comply), kPassword);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto f = requests().Get(U("director1"), ref);
  ASSERT_TRUE(f.ok());
  ASSERT_EQ(f->decisions.size(), 1u);
  EXPECT_EQ(f->decisions[0].advice_id, comply);
  EXPECT_EQ(f->decisions[0].policy_version, lib().profile().policy_version);
  EXPECT_EQ(f->decisions[0].scope.patron_ids, std::vector<int64_t>{patrons_["P-A"]});
}

TEST_F(RequestsTest, NoDisclosureWithoutAVerifiedSignedAuthorizationCoveringEveryRecord) {
  std::string ref = DecidedCase();
  int64_t case_id = CaseId(ref);
  auto key = lib().keyring().Get("case/" + std::to_string(case_id));
  ASSERT_TRUE(key.ok());
  // Someone with the database widens the signed scope to patron B: refused.
  std::string original;
  int64_t decision_id = 0;
  ASSERT_TRUE(WithReadTransaction(lib().store(), [&](Transaction& tx) {
    return tx.Exec("SELECT id, document FROM case_decisions WHERE case_id = ?", {case_id},
                   [&](const Row& row) -> Status {
                     decision_id = row.Int(0);
                     CARREL_ASSIGN_OR_RETURN(
                         original, Vault::Open(**key, "case_decisions", "document", decision_id,
                                               row.BytesView(1)));
                     return Status::Ok();
                   });
  }).ok());
  json widened = json::parse(original);
  widened["scope"]["patrons"] = {patrons_["P-A"], patrons_["P-B"]};
  auto rewrite = [&](const std::string& column, const Value& v) {
    ASSERT_TRUE(WithWriteTransaction(lib().store(), [&](Transaction& tx) -> Status {
                  CARREL_RETURN_IF_ERROR(tx.Exec(testing::DropTriggerSql(
                      lib().store().engine(), "case_decisions_no_update", "case_decisions")));
                  return tx.Exec("UPDATE case_decisions SET " + column + " = ? WHERE id = ?",
                                 {v, decision_id});
                }).ok());
  };
  rewrite("document", Blob{Vault::Seal(**key, "case_decisions", "document", decision_id,
                                       widened.dump())});
  EXPECT_EQ(Act("director1", ref, "prepare_disclosure", json::object(), kPassword).status().code(),
            StatusCode::kPermissionDenied);
  // The right document under a forged signature: refused.
  rewrite("document", Blob{Vault::Seal(**key, "case_decisions", "document", decision_id, original)});
  std::string signature;
  ASSERT_TRUE(WithReadTransaction(lib().store(), [&](Transaction& tx) {
    return tx.Exec("SELECT signature FROM case_decisions WHERE id = ?", {decision_id},
                   [&](const Row& row) {
                     signature = row.Bytes(0);
                     return Status::Ok();
                   });
  }).ok());
  std::string forged = signature;
  forged[5] ^= 1;
  rewrite("signature", Blob{forged});
  EXPECT_EQ(Act("director1", ref, "prepare_disclosure", json::object(), kPassword).status().code(),
            StatusCode::kPermissionDenied);
  rewrite("signature", Blob{signature});

  // Restored: the package is built from the signed scope only.
  auto prepared = Act("director1", ref, "prepare_disclosure", json::object(), kPassword);
  ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
  auto file = requests().DisclosureFile(U("director1"), ref, "disclosure.json");
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  json package = json::parse(*file);
  ASSERT_FALSE(package["records"].empty());
  for (const json& r : package["records"]) {
    EXPECT_EQ(r["patron"], patrons_["P-A"]);
    EXPECT_TRUE(r["category"] == "loans" || r["category"] == "loan_history") << r.dump();
  }
  EXPECT_EQ(file->find("Patron P-"), std::string::npos) << "the patron category was not released";
  auto manifest = requests().DisclosureFile(U("director1"), ref, "manifest.json");
  ASSERT_TRUE(manifest.ok());
  EXPECT_NE(manifest->find("disclosure.html"), std::string::npos);

  // A record slipped into the stored package, with a manifest re-signed by the Director's own
  // key so that every hash and signature checks: still refused, the record is outside scope.
  std::string files_sealed, manifest_text;
  int64_t disclosure_id = 0;
  ASSERT_TRUE(WithReadTransaction(lib().store(), [&](Transaction& tx) {
    return tx.Exec("SELECT id, files, manifest FROM disclosures WHERE case_id = ?", {case_id},
                   [&](const Row& row) -> Status {
                     disclosure_id = row.Int(0);
                     CARREL_ASSIGN_OR_RETURN(
                         files_sealed, Vault::Open(**key, "disclosures", "files", disclosure_id,
                                                   row.BytesView(1)));
                     CARREL_ASSIGN_OR_RETURN(
                         manifest_text, Vault::Open(**key, "disclosures", "manifest", disclosure_id,
                                                    row.BytesView(2)));
                     return Status::Ok();
                   });
  }).ok());
  json files = json::parse(files_sealed);
  json tampered = json::parse(files["disclosure.json"].get<std::string>());
  tampered["records"].push_back({{"patron", patrons_["P-B"]}, {"category", "loan_history"},
                                 {"date", FormatDate(D(2026, 12, 1))}});
  files["disclosure.json"] = tampered.dump(2);
  json m = json::parse(manifest_text);
  m["files"][0]["sha256"] = Sha256Hex(files["disclosure.json"].get<std::string>());
  std::string new_manifest = m.dump(2);
  auto resigned = lib().accounts().Sign(U("director1"), kPassword, SignedPurpose::kDisclosure,
                                        new_manifest);
  ASSERT_TRUE(resigned.ok());
  ASSERT_TRUE(WithWriteTransaction(lib().store(), [&](Transaction& tx) {
    return tx.Exec("UPDATE disclosures SET files = ?, manifest = ?, signature = ? WHERE id = ?",
                   {Blob{Vault::Seal(**key, "disclosures", "files", disclosure_id, files.dump())},
                    Blob{Vault::Seal(**key, "disclosures", "manifest", disclosure_id, new_manifest)},
                    Blob{*resigned}, disclosure_id});
  }).ok());
  for (const char* name : {"disclosure.json", "disclosure.html", "manifest.json", "manifest.sig"}) {
    EXPECT_EQ(requests().DisclosureFile(U("director1"), ref, name).status().code(),
              StatusCode::kPermissionDenied)
        << name;
  }
  // And a file changed without re-signing fails its hash.
  files["disclosure.json"] = "{}";
  ASSERT_TRUE(WithWriteTransaction(lib().store(), [&](Transaction& tx) {
    return tx.Exec("UPDATE disclosures SET files = ? WHERE id = ?",
                   {Blob{Vault::Seal(**key, "disclosures", "files", disclosure_id, files.dump())},
                    disclosure_id});
  }).ok());
  EXPECT_EQ(requests().DisclosureFile(U("director1"), ref, "disclosure.json").status().code(),
            StatusCode::kPermissionDenied);
}

TEST_F(RequestsTest, ThePatronsSignedPermissionIsABasisUntilRevokedOrExpired) {
  std::string ref = Intake("none", {"P-A"}, "third_party");
  ToCounselConsulted(ref);
  PatronPermission p;
  p.recipient = "County Police";
  p.categories = {"loans"};
  p.valid_until = D(2027, 1, 31);
  p.method = PermissionMethod::kPortal;
  Actor patron{"patron/" + std::to_string(patrons_["P-A"]), "patron"};
  auto granted = requests().GrantPermission(patron, patrons_["P-A"], p, "");
  ASSERT_TRUE(granted.ok()) << granted.status().ToString();
  json decide = {{"outcome", "release"},
                 {"basis", "patron_permission"},
                 {"permission_id", granted->id},
                 {"scope", {{"categories", {"loans", "loan_history"}}}}};
  // Wider than the permission: refused.
  EXPECT_EQ(Act("director1", ref, "decide", decide, kPassword).status().code(),
            StatusCode::kFailedPrecondition);
  decide["scope"]["categories"] = {"loans"};
  // Expired: refused.
  lib_.clock.Set(Instant(D(2027, 2, 2)) + hours(15));
  EXPECT_EQ(Act("director1", ref, "decide", decide, kPassword).status().code(),
            StatusCode::kFailedPrecondition);
  lib_.clock.Set(testing::DefaultTestTime());
  auto s = Act("director1", ref, "decide", decide, kPassword);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  // A second case: the patron revoked the permission first.
  std::string other = Intake("none", {"P-A"}, "third_party");
  ToCounselConsulted(other);
  ASSERT_TRUE(requests().RevokePermission(patron, patrons_["P-A"], granted->id).ok());
  EXPECT_EQ(Act("director1", other, "decide", decide, kPassword).status().code(),
            StatusCode::kFailedPrecondition);
  // A paper permission needs its scan.
  p.method = PermissionMethod::kPaper;
  EXPECT_EQ(requests().GrantPermission(testing::kStaff, patrons_["P-A"], p, "").status().code(),
            StatusCode::kInvalidArgument);
  auto paper = requests().GrantPermission(testing::kStaff, patrons_["P-A"], p, "%PDF-scan");
  ASSERT_TRUE(paper.ok());
  EXPECT_EQ(paper->scan_sha256.size(), 64u);

  // A clerk's paper permission is no basis for release until the Director (or a designee)
  // has looked at the scan and confirmed it, naming the scan they checked.
  decide["permission_id"] = paper->id;
  EXPECT_EQ(Act("director1", other, "decide", decide, kPassword).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(requests().PermissionScan(U("staff1"), paper->id).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(requests().ConfirmPermission(U("staff1"), paper->id, paper->scan_sha256).code(),
            StatusCode::kPermissionDenied);
  auto scan = requests().PermissionScan(U("director1"), paper->id);
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(*scan, "%PDF-scan");
  EXPECT_EQ(requests().ConfirmPermission(U("director1"), paper->id, std::string(64, '0')).code(),
            StatusCode::kFailedPrecondition);
  ASSERT_TRUE(requests().ConfirmPermission(U("director1"), paper->id, Sha256Hex(*scan)).ok());
  auto released = Act("director1", other, "decide", decide, kPassword);
  ASSERT_TRUE(released.ok()) << released.status().ToString();
}

TEST_F(RequestsTest, ADesigneeActsOnlyUnderAValidAppointment) {
  std::string ref = Intake("court_order");
  // No appointment: the deputy is staff.
  EXPECT_EQ(Act("deputy1", ref, "acknowledge").status().code(), StatusCode::kPermissionDenied);
  Instant now = lib_.clock.Now();
  auto a = requests().Appoint(U("director1"), kPassword, U("deputy1"), AppointmentScope::kAbsence,
                              now - hours(1), now + hours(48));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  // Only the Director appoints, with the password.
  EXPECT_EQ(requests()
                .Appoint(U("deputy1"), kPassword, U("deputy1"), AppointmentScope::kStanding, now,
                         now + hours(1))
                .status()
                .code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(requests()
                .Appoint(U("director1"), "wrong", U("deputy1"), AppointmentScope::kStanding, now,
                         now + hours(1))
                .status()
                .code(),
            StatusCode::kPermissionDenied);
  // An absence appointment while the Director is present: refused.
  EXPECT_EQ(Act("deputy1", ref, "acknowledge").status().code(), StatusCode::kPermissionDenied);
  ASSERT_TRUE(requests().RecordAbsence(U("director1"), now, now + hours(8)).ok());
  auto s = Act("deputy1", ref, "acknowledge");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto f = requests().Get(U("director1"), ref);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->events.back().appointment_id, a->id) << "the appointment relied on is recorded";
  // The Director is back: refused again. Past the appointment's end: refused.
  lib_.clock.Set(now + hours(9));
  EXPECT_EQ(Act("deputy1", ref, "consult_counsel",
                {{"counsel_id", U("counsel1")}, {"consultation", "x"}}).status().code(),
            StatusCode::kPermissionDenied);
  auto standing = requests().Appoint(U("director1"), kPassword, U("deputy1"),
                                     AppointmentScope::kStanding, now + hours(9), now + hours(10));
  ASSERT_TRUE(standing.ok());
  EXPECT_TRUE(Act("deputy1", ref, "consult_counsel",
                  {{"counsel_id", U("counsel1")}, {"consultation", "x"}}).ok());
  lib_.clock.Set(now + hours(11));
  EXPECT_EQ(Act("deputy1", ref, "refer_to_counsel").status().code(), StatusCode::kPermissionDenied);
  // Revoked: refused.
  auto again = requests().Appoint(U("director1"), kPassword, U("deputy1"),
                                  AppointmentScope::kStanding, now + hours(11), now + hours(100));
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(requests().RevokeAppointment(U("director1"), kPassword, again->id).ok());
  EXPECT_EQ(Act("deputy1", ref, "refer_to_counsel").status().code(), StatusCode::kPermissionDenied);
  // A designee may not release a case's legal holds; only the Director.
}

TEST_F(RequestsTest, CounselSeesAndAdvisesOnlyTheirOwnCases) {
  std::string ref = Intake("court_order");
  ToCounselConsulted(ref);
  ASSERT_TRUE(Act("director1", ref, "refer_to_counsel").ok());
  EXPECT_EQ(requests().Get(U("counsel2"), ref).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Act("counsel2", ref, "advise", {{"recommendation", "comply"}, {"advice", "x"}})
                .status()
                .code(),
            StatusCode::kPermissionDenied);
  auto mine = requests().List(U("counsel2"));
  ASSERT_TRUE(mine.ok());
  EXPECT_TRUE(mine->empty());
  auto theirs = requests().List(U("counsel1"));
  ASSERT_TRUE(theirs.ok());
  EXPECT_EQ(theirs->size(), 1u);
  EXPECT_TRUE(requests().Get(U("counsel1"), ref).ok());
  // Counsel advises; counsel never decides.
  EXPECT_EQ(Act("counsel1", ref, "decide", {{"outcome", "refuse"}}, kPassword).status().code(),
            StatusCode::kPermissionDenied);
  auto inbox = requests().Inbox(U("counsel1"));
  ASSERT_TRUE(inbox.ok());
  EXPECT_FALSE(inbox->empty());
}

TEST_F(RequestsTest, MediaRequestsNeverDisclose) {
  std::string ref = Intake("none", {"P-A"}, "media");
  ASSERT_TRUE(Act("director1", ref, "acknowledge").ok());
  for (const char* step : {"consult_counsel", "decide", "prepare_disclosure", "deliver"}) {
    EXPECT_EQ(Act("director1", ref, step, json::object(), kPassword).status().code(),
              StatusCode::kFailedPrecondition)
        << step;
  }
  auto s = Act("director1", ref, "respond_media", {{"statement", "The library does not "
                                                                  "discuss its patrons."}});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->state, CaseState::kClosed);
  EXPECT_EQ(requests().DisclosureFile(U("director1"), ref, "disclosure.json").status().code(),
            StatusCode::kNotFound);
}

TEST_F(RequestsTest, APatronsOwnRequestIsAnsweredFromTheirOwnRecords) {
  std::string ref = Intake("none", {"P-A"}, "patron_access");
  ASSERT_TRUE(Act("director1", ref, "acknowledge").ok());
  json decide = {{"outcome", "release"},
                 {"basis", "court_order"},
                 {"scope", {{"categories", {"patron", "loans", "loan_history"}}}}};
  // Only the patron's own request is the basis here.
  EXPECT_EQ(Act("director1", ref, "decide", decide, kPassword).status().code(),
            StatusCode::kFailedPrecondition);
  decide["basis"] = "patron_self";
  auto s = Act("director1", ref, "decide", decide, kPassword);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_TRUE(Act("director1", ref, "prepare_disclosure", json::object(), kPassword).ok());
  auto file = requests().DisclosureFile(U("director1"), ref, "disclosure.json");
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  json package = json::parse(*file);
  std::multiset<std::string> categories;
  for (const json& r : package["records"]) {
    EXPECT_EQ(r["patron"], patrons_["P-A"]);
    categories.insert(r["category"].get<std::string>());
  }
  EXPECT_EQ(categories.count("patron"), 1u);
  EXPECT_EQ(categories.count("loans"), 1u);
  EXPECT_EQ(categories.count("loan_history"), 1u);
  EXPECT_NE(file->find("Patron P-A"), std::string::npos);
  // patron_self answers a patron's own request only.
  std::string police = Intake("court_order");
  ToCounselConsulted(police);
  ASSERT_TRUE(Act("director1", police, "refer_to_counsel").ok());
  EXPECT_EQ(Act("director1", police, "decide", decide, kPassword).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST_F(RequestsTest, HeldRecordsSurviveRetentionUntilTheDirectorReleasesTheHold) {
  auto v = lib().retention().SignSchedule(Actor{"user/" + std::to_string(U("director1")), "director"},
                                          U("director1"), kPassword,
                                          ScheduleFromProfile(lib().profile()), "demo");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  std::string ref = Intake("court_order", {"P-A"});
  auto holds = lib().retention().Holds(testing::kStaff, false);
  ASSERT_TRUE(holds.ok());
  ASSERT_EQ(holds->size(), 1u);
  EXPECT_EQ((*holds)[0].case_id, ref);
  EXPECT_EQ((*holds)[0].patron_id, patrons_["P-A"]);
  // Days later, retention unlinks returned loans: patron A's are held, patron B's go.
  lib_.clock.Set(testing::DefaultTestTime() + hours(24 * 3));
  Actor director{"user/" + std::to_string(U("director1")), "director"};
  ASSERT_TRUE(lib().retention().Run(director).ok());
  auto a = lib().circulation().PatronHistory(testing::kStaff, patrons_["P-A"]);
  auto b = lib().circulation().PatronHistory(testing::kStaff, patrons_["P-B"]);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 1u);
  EXPECT_EQ(b->size(), 0u);
  // Closing the case keeps the hold unless the Director says so; a designee cannot.
  ToCounselConsulted(ref);
  ASSERT_TRUE(Act("director1", ref, "refer_to_counsel").ok());
  int64_t advice = Advise(ref, true, "refuse");
  ASSERT_TRUE(Act("director1", ref, "decide", {{"outcome", "refuse"}, {"advice_id", advice}},
                  kPassword).ok());
  Instant now = lib_.clock.Now();
  ASSERT_TRUE(requests()
                  .Appoint(U("director1"), kPassword, U("deputy1"), AppointmentScope::kStanding,
                           now, now + hours(10))
                  .ok());
  EXPECT_EQ(Act("deputy1", ref, "close", {{"release_holds", true}}).status().code(),
            StatusCode::kPermissionDenied);
  ASSERT_TRUE(Act("director1", ref, "close", {{"release_holds", true}}).ok());
  holds = lib().retention().Holds(testing::kStaff, false);
  ASSERT_TRUE(holds.ok());
  EXPECT_TRUE(holds->empty());
}

// A clerk cannot keep records from their deletion by filing requests alone: the holds a
// clerk's intake places lapse after the profile's days unless the Director or a designee
// confirms them, which any step they take on the case does.
TEST_F(RequestsTest, AClerksHoldLapsesUnlessTheDirectorActsOnTheCase) {
  Actor director{"user/" + std::to_string(U("director1")), "director"};
  ASSERT_TRUE(lib().retention()
                  .SignSchedule(director, U("director1"), kPassword,
                                ScheduleFromProfile(lib().profile()), "demo")
                  .ok());
  std::string confirmed = Intake("none", {"P-A"});
  std::string lapsing = Intake("none", {"P-B"});
  ASSERT_TRUE(Act("director1", confirmed, "acknowledge").ok());
  auto history_sizes = [&] {
    auto a = lib().circulation().PatronHistory(testing::kStaff, patrons_["P-A"]);
    auto b = lib().circulation().PatronHistory(testing::kStaff, patrons_["P-B"]);
    EXPECT_TRUE(a.ok() && b.ok());
    return std::pair<size_t, size_t>(a.ok() ? a->size() : 99, b.ok() ? b->size() : 99);
  };
  // Within the profile's days both hold.
  lib_.clock.Set(testing::DefaultTestTime() + hours(24 * 3));
  ASSERT_TRUE(lib().retention().Run(director).ok());
  EXPECT_EQ(history_sizes(), (std::pair<size_t, size_t>(1, 1)));
  // After them, only the hold the Director confirmed does.
  lib_.clock.Set(testing::DefaultTestTime() +
                 hours(24 * (lib().profile().intake_hold_days + 2)));
  ASSERT_TRUE(lib().retention().Run(director).ok());
  EXPECT_EQ(history_sizes(), (std::pair<size_t, size_t>(1, 0)));
  std::multiset<std::string> confirmed_actions, lapsing_actions;
  for (const AuditEntry& e : CaseEntries(confirmed)) confirmed_actions.insert(e.action);
  for (const AuditEntry& e : CaseEntries(lapsing)) lapsing_actions.insert(e.action);
  EXPECT_EQ(confirmed_actions.count("legal_hold.confirm"), 1u);
  EXPECT_EQ(lapsing_actions.count("legal_hold.confirm"), 0u);
}

TEST_F(RequestsTest, ASearchWarrantIsRecordedAndGoesToCounsel) {
  std::string ref = Intake("search_warrant");
  auto s = Act("staff1", ref, "execute_warrant",
               {{"officers", {"Officer on duty"}},
                {"executed_at", FormatInstant(lib_.clock.Now())},
                {"items_seized", {"I-2"}},
                {"devices", {"public computer 3"}}});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->state, CaseState::kWarrantExecuted);
  auto item = lib().circulation().FindItemByBarcode("I-2");
  ASSERT_TRUE(item.ok());
  EXPECT_EQ(item->status, ItemStatus::kMissing);
  auto inbox = requests().Inbox(U("counsel1"));
  ASSERT_TRUE(inbox.ok());
  ASSERT_FALSE(inbox->empty());
  EXPECT_EQ(inbox->front().kind, "warrant_executed");
  // A warrant on any other case: refused.
  std::string other = Intake("court_order");
  EXPECT_EQ(Act("staff1", other, "execute_warrant",
                {{"officers", {"x"}}, {"executed_at", FormatInstant(lib_.clock.Now())}})
                .status()
                .code(),
            StatusCode::kFailedPrecondition);
  auto review = Act("director1", ref, "refer_to_counsel", {{"counsel_id", U("counsel1")}});
  ASSERT_TRUE(review.ok()) << review.status().ToString();
  EXPECT_EQ(review->state, CaseState::kCounselReview);
}

TEST_F(RequestsTest, EveryStepAndEveryRefusalIsOnTheAuditLogWithThePolicyVersion) {
  std::string ref = DecidedCase();
  (void)Act("staff1", ref, "close");                                  // refused: role
  (void)Act("director1", ref, "decline");                             // refused: state
  ASSERT_TRUE(Act("director1", ref, "prepare_disclosure", json::object(), kPassword).ok());
  ASSERT_TRUE(Act("director1", ref, "deliver", {{"to", "Officer"}, {"how", "in person"}}).ok());
  auto f = requests().Get(U("director1"), ref);
  ASSERT_TRUE(f.ok());
  std::vector<AuditEntry> entries = CaseEntries(ref);
  std::multiset<std::string> actions;
  for (const AuditEntry& e : entries) {
    actions.insert(e.action);
    EXPECT_EQ(e.policy_version, lib().profile().policy_version);
    EXPECT_EQ(e.details.find("Patron P-"), std::string::npos);
  }
  for (const CaseEvent& e : f->events) {
    EXPECT_GE(actions.count("request." + e.action), 1u) << e.action;
  }
  EXPECT_EQ(actions.count("request.refused"), 2u);
  EXPECT_GE(actions.count("legal_hold.place"), 1u);
}

TEST_F(RequestsTest, DesksTakingRequestsInAtOnceGetTheirOwnCases) {
  std::vector<std::thread> desks;
  std::mutex mu;
  std::vector<std::string> refs;
  for (int t = 0; t < 4; ++t) {
    desks.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        std::string ref = Intake("none", {"P-B"});
        std::lock_guard<std::mutex> lock(mu);
        refs.push_back(ref);
      }
    });
  }
  for (std::thread& d : desks) d.join();
  std::set<std::string> distinct(refs.begin(), refs.end());
  EXPECT_EQ(distinct.size(), 20u);
  EXPECT_EQ(distinct.count(""), 0u);
  for (const std::string& ref : distinct) {
    auto f = requests().Get(U("director1"), ref);
    ASSERT_TRUE(f.ok()) << ref << ": " << f.status().ToString();
    EXPECT_EQ(f->events.size(), 1u);
  }
}

// A state or outcome carrel does not know, written into the database behind its back, is data
// loss when the case is read: never taken for a blank or for another state.
TEST_F(RequestsTest, ACaseEditedOnDiskToAnUnknownStateReadsAsDataLoss) {
  std::string ref = Intake("none");
  ASSERT_TRUE(requests().Get(U("director1"), ref).ok());
  for (const char* edit : {"UPDATE cases SET state = 'approved' WHERE reference = ?",
                           "UPDATE cases SET state = 'received', outcome = 'granted' WHERE "
                           "reference = ?"}) {
    ASSERT_TRUE(WithWriteTransaction(lib().store(), [&](Transaction& tx) {
                  return tx.Exec(edit, {ref});
                }).ok());
    EXPECT_EQ(requests().Get(U("director1"), ref).status().code(), StatusCode::kDataLoss) << edit;
    EXPECT_EQ(requests().List(U("director1")).status().code(), StatusCode::kDataLoss) << edit;
  }
}

TEST_F(RequestsTest, BadInputIsRefusedAndWritesNothing) {
  CaseIntake in;
  EXPECT_EQ(ParseCaseType("gossip").status().code(), StatusCode::kInvalidArgument);
  in.asked = "x";
  in.type = kLawEnforcement;
  in.agency = "Police";
  EXPECT_EQ(requests().Intake(U("staff1"), in).status().code(), StatusCode::kInvalidArgument)
      << "no call-back number";
  in.callback_number = "555";
  in.process = "hearsay";
  EXPECT_EQ(requests().Intake(U("staff1"), in).status().code(), StatusCode::kInvalidArgument);
  in.process = "none";
  in.categories = {"everything"};
  EXPECT_EQ(requests().Intake(U("staff1"), in).status().code(), StatusCode::kInvalidArgument);
  int64_t cases = -1;
  ASSERT_TRUE(WithReadTransaction(lib().store(), [&](Transaction& tx) -> Status {
                CARREL_ASSIGN_OR_RETURN(cases, tx.QueryInt("SELECT count(*) FROM cases"));
                return Status::Ok();
              }).ok());
  EXPECT_EQ(cases, 0);
  std::string ref = Intake("none");
  EXPECT_EQ(Act("director1", ref, "acknowledge", {{"surprise", 1}}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Act("director1", ref, "fly").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Act("director1", "R-0000-9999", "acknowledge").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace carrel
