// Requests end to end over real HTTP on loopback, as the people involved would take them: an
// officer with no legal process, declined with the letter; a court order taken to counsel,
// partly released, packaged, delivered and acknowledged; and a release the Board of Trustees
// reverses on review before the Board amends the policy by vote. The audit log verifies at the
// end of each.

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <thread>

#include "carrel/library.h"
#include "carrel/server.h"
#include "tests/support/contract_check.h"
#include "tests/support/temp_dir.h"

namespace carrel {
namespace {

using json = nlohmann::json;
constexpr char kPassword[] = "http-requests-password";

class RequestsHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Library& lib = *lib_.library;
    for (auto [name, role] : {std::pair{"desk", Role::kStaff}, {"director", Role::kDirector},
                              {"counsel", Role::kCounsel}, {"trustee1", Role::kBoard},
                              {"trustee2", Role::kBoard}, {"trustee3", Role::kBoard},
                              {"admin", Role::kAdmin}}) {
      auto u = lib.accounts().AddUser(OperatorActor(), UsernameOf(name), role, kPassword);
      ASSERT_TRUE(u.ok());
      ids_[name] = u->id;
    }
    NewPatron p;
    p.card_barcode = "P-100";
    p.name = "Patron One Hundred";
    p.expires_on = Date(std::chrono::year(2030) / 1 / 1);
    ASSERT_TRUE(lib.circulation().AddPatron(testing::kStaff, p).ok());
    ASSERT_TRUE(lib.circulation().AddItem(testing::kStaff, {"B-1", "A Title", "An Author", "C", "book"}).ok());
    ASSERT_TRUE(lib.circulation().Checkout(testing::kStaff, "B-1", "P-100").ok());
    ServerOptions options;
    options.login_per_minute = 1000;
    server_ = std::make_unique<ApiServer>(&lib, testing::ContractChecked(options));
    auto port = server_->Bind("127.0.0.1", 0);
    ASSERT_TRUE(port.ok());
    thread_ = std::thread([this] { (void)server_->Serve(); });
    http_ = std::make_unique<httplib::Client>("127.0.0.1", *port);
    for (int i = 0; i < 100 && !http_->Get("/healthz"); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    for (const char* who :
         {"desk", "director", "counsel", "trustee1", "trustee2", "trustee3", "admin"}) {
      auto res = http_->Post("/api/v1/session",
                             json{{"username", UsernameOf(who)}, {"password", kPassword}}.dump(),
                             "application/json");
      ASSERT_TRUE(res && res->status == 201);
      tokens_[who] = json::parse(res->body)["token"];
    }
  }
  // The library's own first "director" and "admin" (made by Library::Init) keep their names;
  // the test's are others.
  static std::string UsernameOf(const std::string& who) {
    return who == "director" || who == "admin" ? who + "1" : who;
  }
  void TearDown() override {
    server_->Stop();
    if (thread_.joinable()) thread_.join();
  }

  // A call that must succeed with `want`; returns the body.
  std::string Call(const std::string& who, const std::string& method, const std::string& path,
                   const json& body = json::object(), int want = 200) {
    httplib::Headers h;
    if (!who.empty()) h.emplace("Authorization", "Bearer " + tokens_[who]);  // "": the public
    auto res = method == "GET" ? http_->Get(path, h)
                               : http_->Post(path, h, body.dump(), "application/json");
    EXPECT_TRUE(res) << method << " " << path;
    if (!res) return "";
    EXPECT_EQ(res->status, want) << who << " " << method << " " << path << ": " << res->body;
    return res->body;
  }
  json Json(const std::string& who, const std::string& method, const std::string& path,
            const json& body = json::object(), int want = 200) {
    std::string text = Call(who, method, path, body, want);
    json j = json::parse(text, nullptr, false);
    return j.is_discarded() ? json() : j;
  }

  // A request from the State Police taken in at the desk (the fields in `what` added); its
  // reference.
  std::string TakeIn(const json& what) {
    json body = {{"type", "law_enforcement"},
                 {"agency", "State Police"},
                 {"callback_number", "555-0199"},
                 {"callback_source", "the agency's published switchboard"}};
    body.update(what);
    return Json("desk", "POST", "/api/v1/requests", body, 201)["reference"];
  }
  // A court order for card P-100's loans, taken to counsel, who advises compliance; the
  // advice's id.
  int64_t CourtOrderAdvised(const std::string& ref) {
    std::string base = "/api/v1/requests/" + ref;
    Json("director", "POST", base + "/acknowledge");
    Json("director", "POST", base + "/consult-counsel",
         {{"counsel_id", ids_["counsel"]}, {"consultation", "sent the order to counsel"}});
    Json("director", "POST", base + "/refer-to-counsel");
    Json("counsel", "POST", base + "/advice",
         {{"proper_form", true}, {"enforceable", true}, {"court_order_compels", true},
          {"recommendation", "comply"}, {"advice", "The order is valid."}});
    return Json("director", "GET", base)["advice"][0]["id"];
  }

  void ExpectLogIntact() {
    auto verifier = lib_.library->AuditVerifier();
    ASSERT_TRUE(verifier.ok());
    auto v = VerifyAuditLog(lib_.library->store(), *verifier, std::nullopt);
    ASSERT_TRUE(v.ok());
    EXPECT_TRUE(v->intact) << v->problem;
  }

  testing::TestLibrary lib_;
  std::map<std::string, int64_t> ids_;
  std::map<std::string, std::string> tokens_;
  std::unique_ptr<ApiServer> server_;
  std::unique_ptr<httplib::Client> http_;
  std::thread thread_;
};

TEST_F(RequestsHttpTest, NoProcessIsDeclinedWithTheLetter) {
  json intake = Json("desk", "POST", "/api/v1/requests",
                     {{"type", "law_enforcement"},
                      {"agency", "State Police"},
                      {"name", "Detective on the case"},
                      {"badge", "4411"},
                      {"callback_number", "555-0199"},
                      {"callback_source", "the agency's published switchboard"},
                      {"arrived_by", "in person at the desk"},
                      {"asked", "what a patron borrowed"},
                      {"card_barcodes", {"P-100"}}},
                     201);
  std::string ref = intake["reference"];
  // The desk sees the script and the reference, nothing about any patron.
  EXPECT_NE(intake["script"].get<std::string>().find("Library Director"), std::string::npos);
  EXPECT_EQ(intake.dump().find("Patron One"), std::string::npos);
  EXPECT_EQ(intake.dump().find("patron_id"), std::string::npos);
  Call("desk", "GET", "/api/v1/requests/" + ref, json::object(), 403);
  json inbox = Json("director", "GET", "/api/v1/inbox");
  ASSERT_EQ(inbox["items"].size(), 1u);
  EXPECT_EQ(inbox["items"][0]["case"], ref);
  Json("director", "POST", "/api/v1/requests/" + ref + "/acknowledge");
  Json("director", "POST", "/api/v1/requests/" + ref + "/consult-counsel",
       {{"counsel_id", ids_["counsel"]}, {"consultation", "spoke with counsel by phone"}});
  json declined = Json("director", "POST", "/api/v1/requests/" + ref + "/decline",
                       {{"explanation", "explained the policy and the statute"}});
  EXPECT_EQ(declined["state"], "declined");
  std::string letter = Call("director", "GET", "/api/v1/requests/" + ref + "/letter");
  EXPECT_NE(letter.find(lib_.library->profile().name), std::string::npos);
  EXPECT_NE(letter.find(lib_.library->profile().statute_citation), std::string::npos);
  EXPECT_NE(letter.find(ref), std::string::npos);
  EXPECT_EQ(letter.find("Patron One"), std::string::npos);
  json closed = Json("director", "POST", "/api/v1/requests/" + ref + "/close",
                     {{"release_holds", true}});
  EXPECT_EQ(closed["state"], "closed");
  ExpectLogIntact();
}

TEST_F(RequestsHttpTest, ACourtOrderGoesToCounselAndIsPartlyReleasedDeliveredAndAcknowledged) {
  json intake = Json("desk", "POST", "/api/v1/requests",
                     {{"type", "law_enforcement"},
                      {"agency", "State Police"},
                      {"name", "Detective on the case"},
                      {"callback_number", "555-0199"},
                      {"callback_source", "the agency's published switchboard"},
                      {"asked", "loans and holds of one card"},
                      {"card_barcodes", {"P-100"}},
                      {"categories", {"loans", "holds", "patron"}},
                      {"process", "court_order"},
                      {"issuing_authority", "Superior Court"},
                      {"return_date", "2026-12-20"}},
                     201);
  std::string ref = intake["reference"];
  std::string base = "/api/v1/requests/" + ref;
  Json("desk", "POST", base + "/documents",
       {{"kind", "process"}, {"filename", "order.pdf"}, {"content_base64", "JVBERi0xLjQK"}}, 201);
  Json("director", "POST", base + "/acknowledge");
  Json("director", "POST", base + "/consult-counsel",
       {{"counsel_id", ids_["counsel"]}, {"consultation", "sent the order to counsel"}});
  EXPECT_EQ(Json("director", "POST", base + "/refer-to-counsel")["state"], "counsel_review");
  json file = Json("counsel", "GET", base);
  ASSERT_EQ(file["documents"].size(), 1u);
  EXPECT_EQ(Call("counsel", "GET", base + "/documents/" + file["documents"][0]["id"].dump()),
            "%PDF-1.4\n");
  Json("counsel", "POST", base + "/advice",
       {{"proper_form", true},
        {"enforceable", true},
        {"court_order_compels", true},
        {"recommendation", "narrow"},
        {"advice", "The order is valid; produce the current loans only."}});
  int64_t advice = Json("director", "GET", base)["advice"][0]["id"];
  // Without the password nothing is signed.
  Call("director", "POST", base + "/decision",
       {{"outcome", "partial"}, {"basis", "court_order"}, {"advice_id", advice},
        {"scope", {{"categories", {"loans"}}}}},
       400);
  // Signed with an Idempotency-Key: the retry gets the first answer, one decision is on file.
  json decision = {{"outcome", "partial"},
                   {"basis", "court_order"},
                   {"advice_id", advice},
                   {"scope", {{"categories", {"loans"}}}},
                   {"password", kPassword}};
  httplib::Headers keyed = {{"Authorization", "Bearer " + tokens_["director"]},
                            {"Idempotency-Key", "decision-of-the-director-0001"}};
  auto first = http_->Post(base + "/decision", keyed, decision.dump(), "application/json");
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200) << first->body;
  auto retry = http_->Post(base + "/decision", keyed, decision.dump(), "application/json");
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry->body, first->body);
  EXPECT_EQ(Json("director", "GET", base)["decisions"].size(), 1u);
  json decided = json::parse(first->body);
  EXPECT_EQ(decided["state"], "decided");
  Json("director", "POST", base + "/disclosure", {{"password", kPassword}});
  json package = json::parse(Call("director", "GET", base + "/disclosure/disclosure.json"));
  ASSERT_EQ(package["records"].size(), 1u);
  EXPECT_EQ(package["records"][0]["category"], "loans");
  EXPECT_EQ(package["records"][0]["item_barcode"], "B-1");
  EXPECT_EQ(package.dump().find("Patron One"), std::string::npos) << "the name was not released";
  std::string html = Call("director", "GET", base + "/disclosure/disclosure.html");
  EXPECT_NE(html.find("A Title"), std::string::npos);
  json manifest = json::parse(Call("director", "GET", base + "/disclosure/manifest.json"));
  EXPECT_EQ(manifest["files"].size(), 2u);
  json sig = json::parse(Call("director", "GET", base + "/disclosure/manifest.sig"));
  EXPECT_EQ(sig["algorithm"], "Ed25519");
  Call("counsel", "GET", base + "/disclosure/manifest.json", json::object(), 403);
  Json("director", "POST", base + "/delivery",
       {{"to", "Detective on the case"}, {"how", "sealed envelope, by hand"}});
  json done = Json("director", "POST", base + "/receipt");
  EXPECT_EQ(done["state"], "released");
  json view = Json("director", "GET", base);
  EXPECT_FALSE(view["disclosure"]["acknowledged_at"].is_null());
  EXPECT_EQ(view["disclosure"]["delivered_how"], "sealed envelope, by hand");
  Json("director", "POST", base + "/close");
  ExpectLogIntact();
}

// Before signing, the Director sees how many records the scope would release, per category:
// counts only, never for a scope wider than the request, and only the Director or a designee.
TEST_F(RequestsHttpTest, TheDirectorCountsAScopeBeforeSigningAndNeverBeyondTheRequest) {
  std::string ref = TakeIn({{"asked", "loans of one card"},
                            {"card_barcodes", {"P-100"}},
                            {"categories", {"loans", "patron"}},
                            {"process", "court_order"}});
  std::string base = "/api/v1/requests/" + ref;
  json counted = Json("director", "POST", base + "/decision/counts",
                      {{"scope", {{"categories", {"loans", "patron"}}}}});
  EXPECT_EQ(counted["patrons"], 1);
  EXPECT_EQ(counted["records"], 2);
  EXPECT_EQ(counted["counts"]["loans"], 1);
  EXPECT_EQ(counted["counts"]["patron"], 1);
  EXPECT_EQ(counted.dump().find("Patron One"), std::string::npos);
  // A card the request did not name, or a category it did not ask for: refused, not counted.
  Call("director", "POST", base + "/decision/counts",
       {{"scope", {{"categories", {"loans"}}, {"card_barcodes", {"P-999"}}}}}, 409);
  Call("director", "POST", base + "/decision/counts", {{"scope", {{"categories", {"fines"}}}}},
       409);
  for (const char* who : {"desk", "counsel", "trustee1", "admin"}) {
    Call(who, "POST", base + "/decision/counts", {{"scope", {{"categories", {"loans"}}}}}, 403);
  }
  // The count is on the log, as counts; each step of the case names the policy in force.
  json entries = Json("director", "GET", "/api/v1/audit/entries?case=" + ref);
  int counts_logged = 0;
  for (const json& e : entries["entries"]) {
    if (e["action"] != "request.count_scope") continue;
    ++counts_logged;
    EXPECT_EQ(e.dump().find("Patron One"), std::string::npos);
  }
  EXPECT_EQ(counts_logged, 1);
  json file = Json("director", "GET", base);
  ASSERT_FALSE(file["events"].empty());
  for (const json& e : file["events"]) EXPECT_FALSE(e["policy_version"].get<std::string>().empty());
  ExpectLogIntact();
}

// Records delivered cannot be called back, but the Board may still reverse the decision that
// released them; only then is the case decided again, and its record shows both.
TEST_F(RequestsHttpTest, ADeliveredReleaseIsDecidedAgainOnlyAfterTheBoardReversesIt) {
  std::string ref = TakeIn({{"asked", "loans of one card"},
                            {"card_barcodes", {"P-100"}},
                            {"categories", {"loans"}},
                            {"process", "court_order"}});
  std::string base = "/api/v1/requests/" + ref;
  int64_t advice = CourtOrderAdvised(ref);
  json decide = {{"outcome", "partial"}, {"basis", "court_order"}, {"advice_id", advice},
                 {"scope", {{"categories", {"loans"}}}}, {"password", kPassword}};
  Json("director", "POST", base + "/decision", decide);
  Json("director", "POST", base + "/disclosure", {{"password", kPassword}});
  EXPECT_EQ(Json("director", "POST", base + "/delivery", {{"to", "the officer"}, {"how", "by hand"}})["state"],
            "released");
  // Not reversed: no second decision.
  Call("director", "POST", base + "/decision", {{"outcome", "refuse"}, {"password", kPassword}}, 409);
  int64_t decision = Json("director", "GET", base)["decisions"][0]["id"];
  json review = Json("trustee1", "POST", "/api/v1/board/reviews",
                     {{"subject", "decision"}, {"subject_id", decision}, {"reason", "too wide"}}, 201);
  Json("trustee2", "POST", "/api/v1/board/reviews/" + review["id"].dump() + "/ruling",
       {{"outcome", "reverse"}, {"explanation", "the order was stayed"}, {"password", kPassword}});
  EXPECT_EQ(Json("director", "POST", base + "/decision",
                 {{"outcome", "refuse"}, {"password", kPassword}})["state"],
            "decided");
  json file = Json("director", "GET", base);
  ASSERT_EQ(file["decisions"].size(), 2u);
  EXPECT_EQ(file["decisions"][0]["board_ruling"]["outcome"], "reverse");
  EXPECT_EQ(file["decisions"][1]["outcome"], "refuse");
  EXPECT_FALSE(file["disclosure"]["delivered_at"].is_null()) << "the delivery stays on record";
  Json("director", "POST", base + "/close");
  ExpectLogIntact();
}

// What each role reaches by combining the steps it is allowed: the administrator creating
// accounts it cannot make usable, the desk taking a request in and then weighing it, counsel on
// its own case, and a designee after the appointment is revoked. None reaches a count of records.
TEST_F(RequestsHttpTest, NoRoleCountsADecisionsRecordsByCombiningWhatItMayDo) {
  std::string ref = TakeIn({{"asked", "loans of one card"},
                            {"card_barcodes", {"P-100"}},
                            {"categories", {"loans"}},
                            {"process", "court_order"}});
  std::string counts = "/api/v1/requests/" + ref + "/decision/counts";
  json scope = {{"scope", {{"categories", {"loans"}}}}};
  // The administrator makes a Director and a counsel: neither works until approved, and the
  // administrator cannot approve them.
  for (auto [name, role] : {std::pair{"second-director", "director"}, {"own-counsel", "counsel"}}) {
    json made = Json("admin", "POST", "/api/v1/users",
                     {{"username", name}, {"role", role}, {"password", "a first password here"}},
                     201);
    EXPECT_TRUE(made["pending"].get<bool>());
    Call("admin", "POST", "/api/v1/users/" + made["id"].dump() + "/approve",
         {{"password", kPassword}}, 403);
    auto login = http_->Post("/api/v1/session",
                             json{{"username", name}, {"password", "a first password here"}}.dump(),
                             "application/json");
    ASSERT_TRUE(login);
    EXPECT_NE(login->status, 201) << name << " logged in before approval";
  }
  for (const char* who : {"admin", "desk", "counsel", "trustee1"}) {
    Call(who, "POST", counts, scope, 403);
  }
  Call("admin", "GET", "/api/v1/requests/" + ref, json::object(), 403);
  Call("desk", "GET", "/api/v1/requests/" + ref, json::object(), 403);
  // The desk as a designee counts while the appointment stands, and not once it is revoked.
  auto iso = [](Instant t) { return FormatInstant(t); };
  Instant now = lib_.library->clock().Now();  // the library's own clock
  json appointment = Json("director", "POST", "/api/v1/appointments",
                          {{"designee_id", ids_["desk"]},
                           {"scope", "standing"},
                           {"valid_from", iso(now - std::chrono::minutes(5))},
                           {"valid_to", iso(now + std::chrono::hours(24))},
                           {"password", kPassword}},
                          201);
  Json("desk", "POST", counts, scope);
  Json("director", "POST", "/api/v1/appointments/" + appointment["id"].dump() + "/revoke",
       {{"password", kPassword}});
  Call("desk", "POST", counts, scope, 403);
  ExpectLogIntact();
}

// The administrator sees how the server stands, and a draft retention schedule's effect can be
// weighed before the Director signs it; neither says anything about a patron.
TEST_F(RequestsHttpTest, TheServersStandingAndADraftSchedulesPlanAreShownWithoutPatronData) {
  json status = Json("admin", "GET", "/api/v1/system");
  EXPECT_GT(status["audit"]["size"].get<int64_t>(), 0);
  EXPECT_TRUE(status["last_backup"].is_null());
  EXPECT_GT(status["disk"]["total_bytes"].get<int64_t>(), 0);
  EXPECT_GT(status["disk"]["data_bytes"].get<int64_t>(), 0);
  Json("director", "GET", "/api/v1/system");
  Json("trustee1", "GET", "/api/v1/system");
  Call("desk", "GET", "/api/v1/system", json::object(), 403);
  Call("counsel", "GET", "/api/v1/system", json::object(), 403);
  ASSERT_TRUE(lib_.library->RecordOperation(OperatorActor(),
                                            {"library.backup", "library", "", "", "{}"}).ok());
  EXPECT_FALSE(Json("admin", "GET", "/api/v1/system")["last_backup"].is_null());

  json rules = json::array();
  for (const char* category : {"loan_link", "hold_link", "fine_link", "session_link",
                               "enews_unconfirmed", "enews_unsubscribed", "patron_account",
                               "reading_history", "case_file"}) {
    rules.push_back({{"category", category},
                     {"days", std::string_view(category) == "reading_history" ? 0 : 30}});
  }
  json draft = {{"schedule", {{"format", "carrel-retention-schedule/1"}, {"rules", rules}}}};
  Call("admin", "POST", "/api/v1/retention/plan", draft, 409);  // none signed yet
  json schedule = draft["schedule"];
  Json("director", "POST", "/api/v1/retention/schedules",
       {{"schedule", schedule}, {"reason", "the first"}, {"password", kPassword}}, 201);
  json plan = Json("director", "POST", "/api/v1/retention/plan", draft);
  EXPECT_EQ(plan["schedule_version"], 2);
  Call("director", "POST", "/api/v1/retention/plan",
       {{"schedule", {{"format", "carrel-retention-schedule/1"},
                      {"rules", {{{"category", "no_such_category"}, {"days", 1}}}}}}},
       400);
  Call("desk", "POST", "/api/v1/retention/plan", draft, 403);
  EXPECT_EQ(Json("director", "GET", "/api/v1/retention/schedule")["version"], 1)
      << "a plan signs nothing";
}

TEST_F(RequestsHttpTest, TheBoardReversesAReleaseAndAmendsThePolicyByVote) {
  // A court order, released in part on counsel's advice.
  std::string ref = TakeIn({{"name", "Detective on the case"},
                            {"asked", "loans of one card"},
                            {"card_barcodes", {"P-100"}},
                            {"categories", {"loans"}},
                            {"process", "court_order"}});
  std::string base = "/api/v1/requests/" + ref;
  int64_t advice = CourtOrderAdvised(ref);
  Json("director", "POST", base + "/decision",
       {{"outcome", "partial"}, {"basis", "court_order"}, {"advice_id", advice},
        {"scope", {{"categories", {"loans"}}}}, {"password", kPassword}});

  // The Board sees the decision (no patron in it) and reviews it.
  Call("director", "GET", "/api/v1/board/decisions", json::object(), 403);
  json decisions = Json("trustee1", "GET", "/api/v1/board/decisions");
  int64_t decision = 0;
  for (const json& d : decisions["decisions"]) {
    if (d["subject"] == "decision" && d["case"] == ref) decision = d["subject_id"];
  }
  ASSERT_NE(decision, 0);
  EXPECT_EQ(decisions.dump().find("P-100"), std::string::npos);
  json review = Json("trustee1", "POST", "/api/v1/board/reviews",
                     {{"subject", "decision"}, {"subject_id", decision},
                      {"reason", "a trustee asked to see it"}},
                     201);
  std::string path = "/api/v1/board/reviews/" + review["id"].dump();
  Json("trustee2", "POST", path + "/comments", {{"text", "loans only, as counsel said"}}, 201);
  Call("director", "POST", path + "/ruling",
       {{"outcome", "affirm"}, {"explanation", "mine"}, {"password", kPassword}}, 403);
  Call("trustee3", "POST", path + "/ruling", {{"outcome", "reverse"}, {"explanation", "no"}}, 400);
  json ruled = Json("trustee3", "POST", path + "/ruling",
                    {{"outcome", "reverse"},
                     {"explanation", "the order was stayed on appeal"},
                     {"password", kPassword}});
  EXPECT_EQ(ruled["outcome"], "reverse");
  EXPECT_EQ(ruled["comments"].size(), 1u);
  // The reversal is on the decision, and nothing can be packaged from it.
  json file = Json("director", "GET", base);
  EXPECT_EQ(file["decisions"][0]["board_ruling"]["outcome"], "reverse");
  Call("director", "POST", base + "/disclosure", {{"password", kPassword}}, 403);
  Call("trustee1", "POST", path + "/ruling",
       {{"outcome", "affirm"}, {"explanation", "again"}, {"password", kPassword}}, 409);
  json again = Json("director", "POST", base + "/decision",
                    {{"outcome", "refuse"}, {"password", kPassword}});
  EXPECT_EQ(again["outcome"], "refuse");

  // An amendment, proposed and adopted by a majority of those voting.
  json policy = Json("", "GET", "/api/v1/policy");
  EXPECT_EQ(policy["version"], "2010-09-15");
  std::string text = policy["text"];
  std::string amended = text + (text.ends_with("\n") ? "" : "\n") +
                        "Patrons are told of any release once the law allows.\n";
  Call("director", "POST", "/api/v1/policy/proposals",
       {{"title", policy["title"]}, {"text", amended}, {"summary", "notice"}}, 403);
  json proposal = Json("trustee1", "POST", "/api/v1/policy/proposals",
                       {{"title", policy["title"]},
                        {"text", amended},
                        {"summary", "tells patrons of releases"}},
                       201);
  std::string ppath = "/api/v1/policy/proposals/" + proposal["id"].dump();
  Json("trustee1", "POST", ppath + "/ballots", {{"vote", "for"}, {"password", kPassword}});
  Json("trustee2", "POST", ppath + "/ballots", {{"vote", "for"}, {"password", kPassword}});
  Json("trustee3", "POST", ppath + "/ballots", {{"vote", "against"}, {"password", kPassword}});
  Call("director", "POST", ppath + "/ballots", {{"vote", "for"}, {"password", kPassword}}, 403);
  json inbox = Json("trustee1", "GET", "/api/v1/inbox");
  EXPECT_EQ(inbox["deadlines"][0]["kind"], "policy_vote_to_close");
  json adopted = Json("trustee1", "POST", ppath + "/close",
                      {{"meeting_date", "2026-12-01"}, {"password", kPassword}});
  EXPECT_EQ(adopted["state"], "adopted");
  EXPECT_EQ(adopted["version"], "2026-12-01");
  // Public at once, with its history and what changed.
  policy = Json("", "GET", "/api/v1/policy");
  EXPECT_EQ(policy["version"], "2026-12-01");
  EXPECT_EQ(policy["text"], amended);
  ASSERT_EQ(policy["history"].size(), 4u);
  EXPECT_EQ(policy["history"][0]["event"], "adopted");
  EXPECT_EQ(policy["history"][0]["date"], "2003-05-12");
  EXPECT_EQ(policy["history"][1]["date"], "2007-10-17");
  EXPECT_EQ(policy["history"][2]["event"], "re-endorsed");
  EXPECT_EQ(policy["history"][3]["event"], "amended");
  json versions = Json("", "GET", "/api/v1/policy/versions");
  EXPECT_EQ(versions["versions"][3]["vote"]["for"].size(), 2u);
  EXPECT_EQ(versions["versions"][3]["vote"]["against"].size(), 1u);
  json changes = Json("", "GET", "/api/v1/policy/versions/2026-12-01/changes");
  EXPECT_EQ(changes["lines_added"], 1);
  EXPECT_EQ(changes["lines_removed"], 0);
  // The public report counts the case and the reversal, naming nobody.
  json report = Json("", "GET", "/api/v1/transparency");
  EXPECT_EQ(report["policy_version"], "2026-12-01");
  EXPECT_EQ(report["years"][0]["board_reversals"], 1);
  EXPECT_EQ(report["years"][0]["by_outcome"]["defective_process"].get<int>() +
                report["years"][0]["by_outcome"]["refused"].get<int>(),
            1);
  EXPECT_EQ(report.dump().find("P-100"), std::string::npos);
  EXPECT_EQ(report.dump().find(ref), std::string::npos);
  std::string page = Call("", "GET", "/api/v1/transparency.html");
  EXPECT_NE(page.find("transparency report"), std::string::npos);
  ExpectLogIntact();
}

TEST_F(RequestsHttpTest, BadInputToTheBoardGetsProblemDetailsAndWritesNothing) {
  auto count = [&](const char* table) {
    int64_t n = 0;
    EXPECT_TRUE(WithReadTransaction(lib_.library->store(), [&](Transaction& tx) -> Status {
                  CARREL_ASSIGN_OR_RETURN(
                      n, tx.QueryInt(std::string("SELECT count(*) FROM ") + table));
                  return Status::Ok();
                }).ok());
    return n;
  };
  auto refused = [&](const std::string& path, const json& body, int want) {
    httplib::Headers h{{"Authorization", "Bearer " + tokens_["trustee1"]}};
    auto res = http_->Post(path, h, body.dump(), "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, want) << path << " " << body.dump() << ": " << res->body;
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/problem+json");
    json problem = json::parse(res->body, nullptr, false);
    ASSERT_TRUE(problem.is_object());
    EXPECT_FALSE(problem.value("detail", "").empty());
  };
  refused("/api/v1/board/reviews", {{"subject", "decision"}, {"subject_id", 1}, {"extra", 1}}, 400);
  refused("/api/v1/board/reviews", {{"subject", "patron"}, {"subject_id", 1}}, 400);
  refused("/api/v1/board/reviews", {{"subject", "decision"}, {"subject_id", -3}}, 400);
  refused("/api/v1/board/reviews", {{"subject", "decision"}, {"subject_id", 424242}}, 404);
  refused("/api/v1/policy/proposals", {{"title", "T"}, {"text", ""}, {"summary", "s"}}, 400);
  refused("/api/v1/policy/proposals",
          {{"event", "repealed"}, {"title", "T"}, {"text", "x"}, {"summary", "s"}}, 400);
  json policy = Json("", "GET", "/api/v1/policy");
  refused("/api/v1/policy/proposals",
          {{"title", policy["title"]}, {"text", policy["text"]}, {"summary", "no change"}}, 400);
  json proposal = Json("trustee1", "POST", "/api/v1/policy/proposals",
                       {{"title", policy["title"]},
                        {"text", policy["text"].get<std::string>() + "\nOne more line.\n"},
                        {"summary", "one line"}},
                       201);
  std::string ppath = "/api/v1/policy/proposals/" + proposal["id"].dump();
  refused(ppath + "/ballots", {{"vote", "maybe"}, {"password", kPassword}}, 400);
  refused(ppath + "/ballots", {{"vote", "for"}}, 400);
  refused(ppath + "/close", {{"meeting_date", "the 1st"}, {"password", kPassword}}, 400);
  refused(ppath + "/close", {{"meeting_date", "2026-12-01"}, {"password", kPassword}}, 409);
  refused("/api/v1/policy/proposals/nine/ballots", {{"vote", "for"}, {"password", kPassword}},
          400);
  refused("/api/v1/board/reviews/77/ruling",
          {{"outcome", "reverse"}, {"explanation", "x"}, {"password", kPassword}}, 404);
  EXPECT_EQ(count("policy_proposals"), 1);
  EXPECT_EQ(count("policy_ballots"), 0);
  EXPECT_EQ(count("board_reviews"), 0);
  EXPECT_EQ(count("policy_versions"), 3);
  ExpectLogIntact();
}

}  // namespace
}  // namespace carrel
