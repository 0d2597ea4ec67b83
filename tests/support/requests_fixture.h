#pragma once

// A library with the people and patrons of a request (staff, the Director, two counsel, a
// designee, three Board members; patrons P-A and P-B with loans), and the steps most request tests
// take: the fixture of tests/requests_test.cc and tests/governance_test.cc.

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "carrel/library.h"
#include "carrel/requests.h"
#include "requests/step_args.h"
#include "tests/support/temp_dir.h"

namespace carrel::testing {

using json = nlohmann::json;

inline constexpr char kPassword[] = "requests-test-password";

inline Date D(int y, unsigned m, unsigned d) {
  return std::chrono::sys_days(std::chrono::year(y) / std::chrono::month(m) / std::chrono::day(d));
}

class RequestsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (auto [name, role] : {std::pair{"staff1", Role::kStaff}, {"director1", Role::kDirector},
                              {"counsel1", Role::kCounsel}, {"counsel2", Role::kCounsel},
                              {"deputy1", Role::kStaff}, {"board1", Role::kBoard},
                              {"board2", Role::kBoard}, {"board3", Role::kBoard}}) {
      auto u = lib().accounts().AddUser(OperatorActor(), name, role, kPassword);
      ASSERT_TRUE(u.ok()) << u.status().ToString();
      users_[name] = u->id;
    }
    for (const char* card : {"P-A", "P-B"}) {
      NewPatron p;
      p.card_barcode = card;
      p.name = std::string("Patron ") + card;
      p.expires_on = D(2030, 1, 1);
      auto added = lib().circulation().AddPatron(kStaff, p);
      ASSERT_TRUE(added.ok());
      patrons_[card] = added->id;
    }
    for (const char* item : {"I-1", "I-2", "I-3"}) {
      ASSERT_TRUE(lib().circulation().AddItem(kStaff, {item, "Title", "A", "C", "book"}).ok());
    }
    // Patron A has a returned loan and one out; patron B one returned loan.
    ASSERT_TRUE(lib().circulation().Checkout(kStaff, "I-1", "P-A").ok());
    ASSERT_TRUE(lib().circulation().Checkin(kStaff, "I-1").ok());
    ASSERT_TRUE(lib().circulation().Checkout(kStaff, "I-2", "P-A").ok());
    ASSERT_TRUE(lib().circulation().Checkout(kStaff, "I-3", "P-B").ok());
    ASSERT_TRUE(lib().circulation().Checkin(kStaff, "I-3").ok());
  }

  Library& lib() { return *lib_.library; }
  Requests& requests() { return lib().requests(); }
  int64_t U(const std::string& name) { return users_[name]; }

  // A request as the desk takes it in: an officer, a call-back number from a directory.
  static CaseIntake IntakeOf(const std::string& process, std::vector<std::string> cards,
                             const std::string& type) {
    CaseIntake in;
    in.type = *ParseCaseType(type);
    in.agency = "County Police";
    in.name = "Officer on duty";
    in.badge = "0000";
    in.callback_number = "555-0100";
    in.callback_source = "the county's published directory";
    in.arrived_by = "in person";
    in.asked = "circulation records";
    in.card_barcodes = std::move(cards);
    in.process = process;
    return in;
  }

  std::string Intake(const std::string& process, std::vector<std::string> cards = {"P-A"},
                     const std::string& type = "law_enforcement") {
    auto s = requests().Intake(U("staff1"), IntakeOf(process, std::move(cards), type));
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? s->reference : "";
  }

  StatusOr<CaseSummary> Act(const std::string& who, const std::string& ref,
                            const std::string& action, const json& payload = json::object(),
                            const std::string& password = "") {
    // The API's reading of a step's body, then the core: the core checks the contract itself.
    CARREL_ASSIGN_OR_RETURN(StepArgs args, StepArgsFromJson(action, payload));
    return requests().Act(U(who), ref, args, password);
  }

  // Received -> referred -> counsel consulted (counsel1).
  void ToCounselConsulted(const std::string& ref) {
    ASSERT_TRUE(Act("director1", ref, "acknowledge").ok());
    auto s = Act("director1", ref, "consult_counsel",
                 {{"counsel_id", U("counsel1")}, {"consultation", "called counsel at once"}});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
  }

  int64_t Advise(const std::string& ref, bool compels, const std::string& recommendation) {
    auto s = Act("counsel1", ref, "advise",
                 {{"proper_form", true},
                  {"enforceable", compels},
                  {"court_order_compels", compels},
                  {"recommendation", recommendation},
                  {"advice", "written advice"}});
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    auto f = requests().Get(U("director1"), ref);
    EXPECT_TRUE(f.ok());
    return f.ok() && !f->advice.empty() ? f->advice.back().id : 0;
  }

  json Release(int64_t advice_id, std::vector<std::string> categories = {"loans", "loan_history"}) {
    json decision = {{"outcome", "partial"},
                     {"basis", "court_order"},
                     {"scope", {{"categories", categories}}}};
    if (advice_id != 0) decision["advice_id"] = advice_id;  // absent: no advice named
    return decision;
  }

  // A court-order case decided for a partial release.
  std::string DecidedCase() {
    std::string ref = Intake("court_order");
    ToCounselConsulted(ref);
    EXPECT_TRUE(Act("director1", ref, "refer_to_counsel").ok());
    int64_t advice = Advise(ref, true, "narrow");
    auto s = Act("director1", ref, "decide", Release(advice), kPassword);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return ref;
  }

  int64_t CaseId(const std::string& ref) {
    int64_t id = 0;
    EXPECT_TRUE(WithReadTransaction(lib().store(), [&](Transaction& tx) -> Status {
                  CARREL_ASSIGN_OR_RETURN(
                      id, tx.QueryInt("SELECT id FROM cases WHERE reference = ?", {ref}));
                  return Status::Ok();
                }).ok());
    return id;
  }

  std::vector<AuditEntry> CaseEntries(const std::string& ref) {
    std::vector<AuditEntry> out;
    EXPECT_TRUE(WithReadTransaction(lib().store(), [&](Transaction& tx) -> Status {
      AuditQuery q;
      q.case_id = ref;
      q.limit = 1000;
      CARREL_ASSIGN_OR_RETURN(out, lib().audit().Find(tx, q));
      return Status::Ok();
    }).ok());
    return out;
  }

  TestLibrary lib_;
  std::map<std::string, int64_t> users_, patrons_;
};

}  // namespace carrel::testing
