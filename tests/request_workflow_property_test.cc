// The request workflow under random steps (docs/design.md §7): seeded random sequences of
// steps by random people (staff, the Director, counsel, a designee once appointed, the Board),
// with bodies right and wrong, passwords right, wrong and missing, signatures forged in the
// database and signed decisions replayed from another case, and downloads of the package's
// files by anyone. After every step, two things hold:
//  - nothing left without a valid signed decision covering it: every file that was handed out
//    belongs to a package whose decision, read from the database here and checked here (its
//    Ed25519 signature by the signer's key, its case, its outcome), names every record's
//    patron, category and date;
//  - the audit log verifies.
// A failure prints the seed and the steps that led to it.

#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "carrel/encoding.h"
#include "requests/fields.h"
#include "tests/support/postgres.h"
#include "tests/support/requests_fixture.h"
#include "util/json_schema.h"

namespace carrel {
namespace {

using json = nlohmann::json;
using testing::kPassword;

class WorkflowPropertyTest : public testing::RequestsTest {
 protected:
  template <typename T>
  const T& Pick(const std::vector<T>& from) {
    return from[std::uniform_int_distribution<size_t>(0, from.size() - 1)(rng_)];
  }
  bool Chance(double p) { return std::bernoulli_distribution(p)(rng_); }

  std::string Someone() {
    return Pick(std::vector<std::string>{"staff1", "director1", "director1", "director1",
                                         "counsel1", "counsel2", "deputy1", "board1"});
  }
  std::string Password() {
    double r = std::uniform_real_distribution<double>(0, 1)(rng_);
    return r < 0.75 ? kPassword : r < 0.9 ? "a wrong password" : "";
  }

  int64_t LatestAdvice(const std::string& ref) {
    auto f = requests().Get(U("director1"), ref);
    if (!f.ok() || f->advice.empty()) return 0;
    return Pick(f->advice).id;
  }

  // A body for `action`: mostly one that could be taken, sometimes the schema's example.
  json Body(const std::string& action, const std::string& ref) {
    if (Chance(0.15)) return json(ExampleOf(StepPayloadSchema(action)));
    std::vector<std::string> categories = {"loans", "loan_history", "patron", "holds", "fines"};
    if (action == "consult_counsel") {
      return {{"counsel_id", U(Pick(std::vector<std::string>{"counsel1", "counsel1", "counsel2",
                                                             "counsel2", "director1"}))},
              {"consultation", "called counsel"}};
    }
    if (action == "refer_to_counsel") return json::object();
    if (action == "decline") return {{"explanation", "explained the policy"}};
    if (action == "advise") {
      return {{"proper_form", Chance(0.7)},
              {"enforceable", Chance(0.6)},
              {"court_order_compels", Chance(0.6)},
              {"recommendation",
               Pick(std::vector<std::string>{"comply", "narrow", "challenge", "refuse"})},
              {"advice", "written advice"}};
    }
    if (action == "decide") {
      json chosen = json::array();
      for (const std::string& c : categories) {
        if (Chance(0.4)) chosen.push_back(c);
      }
      json scope = {{"categories", chosen}};
      if (Chance(0.3)) scope["from"] = "2026-01-01";
      if (Chance(0.3)) scope["card_barcodes"] = {Pick(std::vector<std::string>{"P-A", "P-B"})};
      json d = {
          {"outcome", Pick(std::vector<std::string>{"release", "partial", "partial", "refuse"})},
          {"basis", Pick(std::vector<std::string>{"court_order", "court_order", "patron_permission",
                                                  "subpoena"})},
          {"scope", scope}};
      if (int64_t advice = LatestAdvice(ref); advice != 0 && Chance(0.9)) d["advice_id"] = advice;
      return d;
    }
    if (action == "deliver") return {{"to", "the officer named on the order"}, {"how", "by hand"}};
    if (action == "respond_media") return {{"statement", "The library does not comment."}};
    if (action == "nondisclosure") return {{"order", Chance(0.5)}};
    if (action == "close") return {{"release_holds", Chance(0.5)}};
    return json::object();
  }

  void Intake() {
    std::string process = Pick(std::vector<std::string>{"none", "subpoena", "court_order",
                                                        "court_order", "search_warrant"});
    std::string type = Pick(
        std::vector<std::string>{"law_enforcement", "law_enforcement", "law_enforcement", "media"});
    std::vector<std::string> cards =
        Chance(0.5) ? std::vector<std::string>{"P-A"} : std::vector<std::string>{"P-A", "P-B"};
    std::string who = Chance(0.85) ? "staff1" : Someone();
    auto s = requests().Intake(U(who), IntakeOf(process, cards, type));
    log_ << "intake " << type << "/" << process << " by " << who << ": "
         << (s.ok() ? s->reference : s.status().ToString()) << "\n";
    if (s.ok()) refs_.push_back(s->reference);
  }

  void Step() {
    const std::string ref = Focus();
    std::string action, who;
    auto file = requests().Get(U("director1"), ref);
    if (file.ok() && Chance(0.7)) {
      // Guided: a step the case's state allows, by someone of a role the step names (so that
      // long histories, up to a package handed out, are reached).
      std::vector<const CaseTransition*> next;
      for (const CaseTransition& t : CaseTransitions()) {
        if ((t.types & file->summary.type) == 0) continue;
        // Closing ends a history early: taken now and then, not as often as the rest.
        if (t.action == "close" && !Chance(0.15)) continue;
        for (CaseState from : t.from) {
          if (from == file->summary.state) next.push_back(&t);
        }
      }
      if (next.empty()) return;
      const CaseTransition& t = *Pick(next);
      action = t.action;
      std::vector<std::string> people;
      if (t.actors & kCaseDirector) people.push_back("director1");
      if (t.actors & kCaseDesignee) people.push_back("deputy1");
      if (t.actors & kCaseCounsel) people.insert(people.end(), {"counsel1", "counsel2"});
      if (t.actors & kCaseStaff) people.push_back("staff1");
      who = people.empty() ? Someone() : Pick(people);
    } else {
      std::vector<std::string> actions;
      for (const CaseTransition& t : CaseTransitions()) {
        if (t.action != "intake") actions.emplace_back(t.action);
      }
      action = Pick(actions);
      who = Someone();
    }
    const std::string password = Password();
    json body = Body(action, ref);
    auto args = StepArgsFromJson(action, body);
    log_ << action << " on " << ref << " by " << who << " " << body.dump() << ": ";
    if (!args.ok()) {
      log_ << args.status().ToString() << "\n";
      return;
    }
    auto s = requests().Act(U(who), ref, *args, password);
    log_ << (s.ok() ? std::string(CaseStateName(s->state)) : s.status().ToString()) << "\n";
  }

  // The step a careful Director would take next on a court-order case, by the right person
  // with a body that can be taken: so that long histories (up to a package handed out) are
  // reached among the random steps around them.
  void Drive() {
    std::vector<std::string> court;
    for (const std::string& r : refs_) {
      auto f = requests().Get(U("director1"), r);
      if (f.ok() && f->summary.type == kLawEnforcement && f->summary.process == "court_order" &&
          f->summary.state != CaseState::kClosed && f->summary.state != CaseState::kDeclined) {
        court.push_back(r);
      }
    }
    if (court.empty()) return;
    const std::string ref = Pick(court);
    auto f = requests().Get(U("director1"), ref);
    std::string who = "director1", action, password;
    json body = json::object();
    std::string counsel = "counsel1";
    for (const auto& [name, id] : users_) {
      if (id == f->summary.counsel_id) counsel = name;
    }
    switch (f->summary.state) {
      case CaseState::kReceived:
        action = "acknowledge";
        break;
      case CaseState::kReferred:
        action = "consult_counsel";
        body = {{"counsel_id", U("counsel1")}, {"consultation", "called counsel"}};
        break;
      case CaseState::kCounselConsulted:
        action = "refer_to_counsel";
        break;
      case CaseState::kCounselDeterminationRequired:
        action = "advise";
        who = counsel;
        body = {{"proper_form", true},
                {"enforceable", true},
                {"court_order_compels", true},
                {"recommendation", "narrow"},
                {"advice", "the order compels a narrow release"}};
        break;
      case CaseState::kCounselReview:
        action = "decide";
        password = kPassword;
        body = {{"outcome", "partial"},
                {"basis", "court_order"},
                {"scope", {{"categories", {"loans", "loan_history"}}}},
                {"advice_id", LatestAdvice(ref)}};
        break;
      case CaseState::kDecided:
        action = "prepare_disclosure";
        password = kPassword;
        break;
      default:
        return;
    }
    auto args = StepArgsFromJson(action, body);
    if (!args.ok()) return;
    auto s = requests().Act(U(who), ref, *args, password);
    log_ << "drive: " << action << " on " << ref << " by " << who << ": "
         << (s.ok() ? std::string(CaseStateName(s->state)) : s.status().ToString()) << "\n";
  }

  // The cases with a disclosure package prepared.
  std::vector<std::string> Packaged() {
    std::vector<std::string> out;
    for (const std::string& r : refs_) {
      auto f = requests().Get(U("director1"), r);
      if (f.ok() && f->disclosure) out.push_back(r);
    }
    return out;
  }

  // A case to act on: mostly one still open (so that histories grow long), now and then any.
  std::string Focus() {
    if (Chance(0.2)) return Pick(refs_);
    std::vector<std::string> open;
    for (const std::string& ref : refs_) {
      auto f = requests().Get(U("director1"), ref);
      if (f.ok() && f->summary.state != CaseState::kClosed &&
          f->summary.state != CaseState::kDeclined) {
        open.push_back(ref);
      }
    }
    return open.empty() ? Pick(refs_) : Pick(open);
  }

  void Download() {
    // Mostly a case with a package, by the Director; now and then anyone, any case.
    std::string ref = Focus();
    std::vector<std::string> packaged = Packaged();
    if (!packaged.empty() && Chance(0.8)) ref = Pick(packaged);
    const std::string who = Chance(0.5) ? "director1" : Someone();
    const std::string name = Pick(std::vector<std::string>{"disclosure.json", "disclosure.html",
                                                           "manifest.json", "manifest.sig"});
    auto file = requests().DisclosureFile(U(who), ref, name);
    log_ << "download " << name << " of " << ref << " by " << who << ": "
         << (file.ok() ? "handed out" : file.status().ToString()) << "\n";
    if (file.ok()) CheckHandedOut(ref);
  }

  // The decision rows of a case as stored: id, document (opened), signature, key, signer.
  struct StoredDecision {
    int64_t id = 0, signed_by = 0;
    std::string document, signature, public_key;
  };
  std::vector<StoredDecision> Decisions(const std::string& ref) {
    std::vector<StoredDecision> out;
    int64_t case_id = CaseId(ref);
    auto key = lib().keyring().Get("case/" + std::to_string(case_id));
    EXPECT_TRUE(key.ok());
    if (!key.ok()) return out;
    EXPECT_TRUE(WithReadTransaction(lib().store(), [&](Transaction& tx) {
                  return tx.Exec(
                      "SELECT id, document, signature, public_key, signed_by FROM case_decisions "
                      "WHERE case_id = ? ORDER BY id",
                      {case_id}, [&](const Row& row) -> Status {
                        StoredDecision d;
                        d.id = row.Int(0);
                        auto doc = Vault::Open(**key, "case_decisions", "document", d.id,
                                               row.BytesView(1));
                        d.document = doc.ok() ? *doc : "";
                        d.signature = row.Bytes(2);
                        d.public_key = row.Bytes(3);
                        d.signed_by = row.Int(4);
                        out.push_back(std::move(d));
                        return Status::Ok();
                      });
                }).ok());
    return out;
  }

  // A file of `ref`'s package was handed out: the package, read here from the database, is
  // covered by a decision that verifies here.
  void CheckHandedOut(const std::string& ref) {
    ++handed_out_;
    int64_t case_id = CaseId(ref);
    auto key = lib().keyring().Get("case/" + std::to_string(case_id));
    ASSERT_TRUE(key.ok());
    std::string files, manifest;
    ASSERT_TRUE(
        WithReadTransaction(lib().store(), [&](Transaction& tx) {
          return tx.Exec(
              "SELECT id, files, manifest FROM disclosures WHERE case_id = ? "
              "ORDER BY id DESC LIMIT 1",
              {case_id}, [&](const Row& row) -> Status {
                int64_t id = row.Int(0);
                CARREL_ASSIGN_OR_RETURN(
                    files, Vault::Open(**key, "disclosures", "files", id, row.BytesView(1)));
                CARREL_ASSIGN_OR_RETURN(
                    manifest, Vault::Open(**key, "disclosures", "manifest", id, row.BytesView(2)));
                return Status::Ok();
              });
        }).ok());
    json m = json::parse(manifest);
    const StoredDecision* decision = nullptr;
    std::vector<StoredDecision> decisions = Decisions(ref);
    for (const StoredDecision& d : decisions) {
      if (d.id == m["decision"].get<int64_t>()) decision = &d;
    }
    ASSERT_NE(decision, nullptr) << "a package left with no decision in its case\n" << log_.str();
    auto signer = lib().accounts().GetUser(decision->signed_by);
    ASSERT_TRUE(signer.ok());
    EXPECT_TRUE(signer->role == Role::kDirector || decision->signed_by == U("deputy1"))
        << log_.str();
    EXPECT_EQ(signer->signing_public_key, decision->public_key)
        << "a package left under a decision signed by a key not its signer's\n"
        << log_.str();
    ASSERT_TRUE(Accounts::VerifySignature(decision->public_key, SignedPurpose::kDecision,
                                          decision->document, decision->signature))
        << "a package left under a decision whose signature does not verify\n"
        << log_.str();
    json doc = json::parse(decision->document);
    EXPECT_EQ(doc["case"], ref) << "a package left under another case's decision\n" << log_.str();
    EXPECT_TRUE(doc["outcome"] == "release" || doc["outcome"] == "partial") << log_.str();
    json package = json::parse(json::parse(files)["disclosure.json"].get<std::string>());
    const json& scope = doc["scope"];
    for (const json& r : package["records"]) {
      bool patron = false, category = false;
      for (const json& p : scope["patrons"]) patron = patron || p == r["patron"];
      for (const json& c : scope["categories"]) category = category || c == r["category"];
      EXPECT_TRUE(patron && category)
          << "a record outside the signed scope left: " << r.dump() << "\n"
          << log_.str();
      if (r.contains("date") && scope["from"].is_string()) {
        EXPECT_GE(r["date"].get<std::string>(), scope["from"].get<std::string>()) << log_.str();
      }
      if (r.contains("date") && scope["to"].is_string()) {
        EXPECT_LE(r["date"].get<std::string>(), scope["to"].get<std::string>()) << log_.str();
      }
    }
  }

  // Someone with the database alters a signed decision: flips a bit of its signature, widens
  // its scope to every patron and category, or puts in its place a decision signed on
  // another case (a replay); then puts it back.
  void Forge() {
    std::vector<std::string> packaged = Packaged();
    const std::string ref = !packaged.empty() && Chance(0.7) ? Pick(packaged) : Pick(refs_);
    std::vector<StoredDecision> decisions = Decisions(ref);
    if (decisions.empty()) return;
    const StoredDecision& d = Pick(decisions);
    int64_t case_id = CaseId(ref);
    auto key = lib().keyring().Get("case/" + std::to_string(case_id));
    ASSERT_TRUE(key.ok());
    std::string document = d.document, signature = d.signature, public_key = d.public_key;
    int how = std::uniform_int_distribution<int>(0, 2)(rng_);
    if (how == 0 && !signature.empty()) {
      signature[std::uniform_int_distribution<size_t>(0, signature.size() - 1)(rng_)] ^= 1;
      log_ << "forge: a bit of decision " << d.id << "'s signature\n";
    } else if (how == 1) {
      json doc = json::parse(document, nullptr, false);
      if (!doc.is_object()) return;
      doc["outcome"] = "release";
      doc["scope"]["patrons"] = {patrons_["P-A"], patrons_["P-B"]};
      doc["scope"]["categories"] = {"loans", "loan_history", "patron", "holds", "fines"};
      doc["scope"]["from"] = nullptr;
      doc["scope"]["to"] = nullptr;
      document = doc.dump();
      log_ << "forge: decision " << d.id << "'s scope widened to everything\n";
    } else {
      std::vector<StoredDecision> elsewhere;
      for (const std::string& other : refs_) {
        if (other == ref) continue;
        for (StoredDecision& o : Decisions(other)) elsewhere.push_back(std::move(o));
      }
      if (elsewhere.empty()) return;
      const StoredDecision& o = Pick(elsewhere);
      document = o.document;
      signature = o.signature;
      public_key = o.public_key;
      log_ << "forge: decision " << o.id << " of another case replayed as decision " << d.id
           << "\n";
    }
    auto rewrite = [&](const std::string& doc, const std::string& sig, const std::string& pub) {
      ASSERT_TRUE(WithWriteTransaction(lib().store(), [&](Transaction& tx) -> Status {
                    CARREL_RETURN_IF_ERROR(tx.Exec(testing::DropTriggerSql(
                        lib().store().engine(), "case_decisions_no_update", "case_decisions")));
                    return tx.Exec(
                        "UPDATE case_decisions SET document = ?, signature = ?, public_key = ? "
                        "WHERE id = ?",
                        {Blob{Vault::Seal(**key, "case_decisions", "document", d.id, doc)},
                         Blob{sig}, Blob{pub}, d.id});
                  }).ok());
    };
    rewrite(document, signature, public_key);
    // The Director asks for the package while the decision is altered: it is refused, or what
    // is handed out is checked here against the decision as stored (altered).
    auto file = requests().DisclosureFile(U("director1"), ref, "disclosure.json");
    if (file.ok()) {
      CheckHandedOut(ref);
    } else if (file.status().code() == StatusCode::kPermissionDenied) {
      ++forged_refused_;
    }
    log_ << "  download while altered: " << (file.ok() ? "handed out" : file.status().ToString())
         << "\n";
    // And the alteration is put back, as the steps around go on.
    rewrite(d.document, d.signature, d.public_key);
  }

  void Appoint() {
    Instant now = lib_.clock.Now();
    auto a =
        requests().Appoint(U("director1"), Password(), U("deputy1"), AppointmentScope::kStanding,
                           now, now + std::chrono::hours(24 * 30));
    log_ << "appoint deputy1: " << (a.ok() ? "appointed" : a.status().ToString()) << "\n";
  }

  void ExpectLogIntact() {
    auto verifier = lib().AuditVerifier();
    ASSERT_TRUE(verifier.ok());
    auto v = VerifyAuditLog(lib().store(), *verifier, std::nullopt);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    ASSERT_TRUE(v->intact) << v->problem << "\n" << log_.str();
  }

  void Run(uint64_t seed, int steps) {
    rng_.seed(seed);
    log_ << "seed " << seed << "\n";
    Intake();
    for (int i = 0; i < steps && !HasFatalFailure() && !HasNonfatalFailure(); ++i) {
      double r = std::uniform_real_distribution<double>(0, 1)(rng_);
      if (r < 0.08 || refs_.empty()) {
        Intake();
      } else if (r < 0.55) {
        Step();
      } else if (r < 0.70) {
        Drive();
      } else if (r < 0.88) {
        Download();
      } else if (r < 0.95) {
        Forge();
      } else {
        Appoint();
      }
      lib_.clock.Advance(std::chrono::minutes(std::uniform_int_distribution<int>(1, 600)(rng_)));
      ExpectLogIntact();
    }
  }

  std::mt19937_64 rng_;
  std::vector<std::string> refs_;
  std::ostringstream log_;
  int handed_out_ = 0, forged_refused_ = 0;
};

// Each seed is its own history; together they reach every state (packages are handed out,
// and forged ones refused), which the counts below make sure of.
TEST_F(WorkflowPropertyTest, NothingLeavesWithoutAValidSignedDecisionCoveringIt) {
  for (uint64_t seed : {11u, 23u, 37u}) {
    Run(seed, 120);
    if (HasFailure()) return;
  }
  EXPECT_GT(handed_out_, 0) << "no package was ever handed out: the steps reach too little\n"
                            << log_.str();
  EXPECT_GT(forged_refused_, 0) << "no package under a forged decision was ever asked for\n"
                                << log_.str();
  std::printf("%d files handed out, %d refused under a forged decision\n", handed_out_,
              forged_refused_);
}

}  // namespace
}  // namespace carrel
