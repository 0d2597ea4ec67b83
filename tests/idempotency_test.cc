// Retries with an Idempotency-Key: the first answer again and the work done once, the key
// refused with another request, nothing stored readable without the key, records gone after a
// day; and a checkout whose server dies between its commit and its answer, retried after a
// restart, gives the client its loan with the item out once.

#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "carrel/demo.h"
#include "carrel/server.h"
#include "tests/support/contract_check.h"
#include "tests/support/run.h"
#include "tests/support/store_count.h"
#include "tests/support/temp_dir.h"

namespace carrel {
namespace {

using nlohmann::json;
constexpr char kPassword[] = "idempotency test password";
constexpr char kKey[] = "3f1c9a7e-checkout-0001";

class IdempotencyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Library& lib = *lib_.library;
    Actor setup{"os/test", "operator"};
    for (auto [name, role] : {std::pair{"staff1", Role::kStaff}, {"staff2", Role::kStaff}}) {
      ASSERT_TRUE(lib.accounts().AddUser(setup, name, role, kPassword).ok());
    }
    NewPatron p;
    p.card_barcode = "P-1";
    p.name = "Ada Borrower";
    p.email = "ada@example.org";
    p.expires_on = Date(std::chrono::year(2029) / 1 / 1);
    ASSERT_TRUE(lib.circulation().AddPatron(testing::kStaff, p).ok());
    for (const char* item : {"I-1", "I-2"}) {
      ASSERT_TRUE(lib.circulation().AddItem(testing::kStaff, {item, "T", "A", "C", "book"}).ok());
    }
    server_ = std::make_unique<ApiServer>(&lib, testing::ContractChecked());
    auto port = server_->Bind("127.0.0.1", 0);
    ASSERT_TRUE(port.ok());
    thread_ = std::thread([this] { (void)server_->Serve(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", *port);
    for (int i = 0; i < 100 && !client_->Get("/healthz"); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    staff_ = Login("staff1");
  }
  void TearDown() override {
    server_->Stop();
    if (thread_.joinable()) thread_.join();
  }

  std::string Login(const std::string& name) {
    auto res = client_->Post("/api/v1/session",
                             json{{"username", name}, {"password", kPassword}}.dump(),
                             "application/json");
    return res && res->status == 201 ? json::parse(res->body)["token"].get<std::string>() : "";
  }

  httplib::Result Post(const std::string& path, const json& body, const std::string& token,
                       std::optional<std::string> key) {
    httplib::Headers headers = {{"Authorization", "Bearer " + token}};
    if (key) headers.emplace("Idempotency-Key", *key);
    return client_->Post(path, headers, body.dump(), "application/json");
  }

  int64_t Count(const std::string& sql) { return testing::QueryCount(lib_.library->store(), sql); }

  testing::TestLibrary lib_;
  std::unique_ptr<ApiServer> server_;
  std::unique_ptr<httplib::Client> client_;
  std::thread thread_;
  std::string staff_;
};

TEST_F(IdempotencyTest, ARetryGetsTheFirstAnswerAndTheWorkIsDoneOnce) {
  json checkout = {{"item_barcode", "I-1"}, {"card_barcode", "P-1"}};
  auto first = Post("/api/v1/loans", checkout, staff_, kKey);
  ASSERT_EQ(first->status, 201) << first->body;
  auto again = Post("/api/v1/loans", checkout, staff_, kKey);
  ASSERT_EQ(again->status, 201) << again->body;
  EXPECT_EQ(again->body, first->body);
  EXPECT_EQ(again->get_header_value("Idempotent-Replayed"), "true");
  EXPECT_EQ(Count("SELECT count(*) FROM loans"), 1);
  // Without the key the same request is new work, refused as the item is out.
  EXPECT_EQ(Post("/api/v1/loans", checkout, staff_, std::nullopt)->status, 409);
  // The same key with another request is refused, and does nothing.
  auto other = Post("/api/v1/loans", {{"item_barcode", "I-2"}, {"card_barcode", "P-1"}}, staff_,
                    kKey);
  EXPECT_EQ(other->status, 422);
  EXPECT_EQ(json::parse(other->body)["type"], "/api/docs#problem-idempotency-key-reused");
  EXPECT_EQ(Count("SELECT count(*) FROM loans"), 1);
  // Keys belong to their caller: another clerk's same key is their own.
  auto theirs = Post("/api/v1/loans", {{"item_barcode", "I-2"}, {"card_barcode", "P-1"}},
                     Login("staff2"), kKey);
  EXPECT_EQ(theirs->status, 201);
  EXPECT_EQ(Count("SELECT count(*) FROM loans"), 2);
}

TEST_F(IdempotencyTest, RefusalsAreNotKeptAndRetryRunsAgain) {
  json checkout = {{"item_barcode", "I-9"}, {"card_barcode", "P-1"}};
  EXPECT_EQ(Post("/api/v1/loans", checkout, staff_, kKey)->status, 404);
  EXPECT_EQ(Count("SELECT count(*) FROM idempotency_keys"), 0);
  ASSERT_TRUE(lib_.library->circulation().AddItem(testing::kStaff, {"I-9", "T", "A", "C", "book"})
                  .ok());
  EXPECT_EQ(Post("/api/v1/loans", checkout, staff_, kKey)->status, 201);
}

TEST_F(IdempotencyTest, KeysAreCheckedAndTakenOnlyWhereDeclared) {
  json checkout = {{"item_barcode", "I-1"}, {"card_barcode", "P-1"}};
  auto short_key = Post("/api/v1/loans", checkout, staff_, "short");
  EXPECT_EQ(short_key->status, 400);
  EXPECT_EQ(json::parse(short_key->body)["errors"][0]["parameter"], "Idempotency-Key");
  // A route whose retry is not made safe says so rather than ignoring the key.
  auto item = Post("/api/v1/items", {{"barcode", "I-3"}, {"title", "T"}, {"item_type", "book"}},
                   staff_, kKey);
  EXPECT_EQ(item->status, 400);
  EXPECT_EQ(Count("SELECT count(*) FROM items"), 2);
}

TEST_F(IdempotencyTest, NothingStoredIsReadableAndRecordsGoAfterADay) {
  json patron = {{"card_barcode", "P-2"},
                 {"name", "Grace Newcomer"},
                 {"email", "grace@example.org"},
                 {"expires_on", "2029-06-30"}};
  ASSERT_EQ(Post("/api/v1/patrons", patron, staff_, kKey)->status, 201);
  ASSERT_EQ(Count("SELECT count(*) FROM idempotency_keys"), 1);
  std::string stored;
  ASSERT_TRUE(WithReadTransaction(lib_.library->store(), [&](Transaction& tx) {
    return tx.Exec("SELECT id, request, answer, created_at FROM idempotency_keys", {},
                   [&](const Row& row) {
                     for (int i = 0; i < 4; ++i) stored += row.Bytes(i);
                     return Status::Ok();
                   });
  }).ok());
  for (const char* plain : {"Grace", "grace@example.org", "P-2", kKey, "patron"}) {
    EXPECT_EQ(stored.find(plain), std::string::npos) << plain;
  }
  // A day later the record is gone (at the next keyed request), and the key is new again.
  lib_.clock.Advance(std::chrono::hours(25));
  staff_ = Login("staff1");
  ASSERT_EQ(Post("/api/v1/loans", {{"item_barcode", "I-1"}, {"card_barcode", "P-2"}}, staff_,
                 "another-key-of-16-chars")
                ->status,
            201);
  EXPECT_EQ(Count("SELECT count(*) FROM idempotency_keys"), 1);
  EXPECT_EQ(Post("/api/v1/patrons", patron, staff_, kKey)->status, 409) << "the work again";
}

// The server dies after the checkout's commit and before its answer. The client retries with
// the same key once the server is back: it gets its loan, and the item is out once.
TEST(IdempotencyRestartTest, ACheckoutCommittedBeforeACrashIsAnsweredOnRetry) {
  testing::TempDir dir;
  std::string data = (dir / "lib").string();
  ASSERT_EQ(testing::RunCarrel({"init", "--data", data}).exit_code, 0);
  ASSERT_EQ(testing::RunCarrel({"demo", "seed", "--data", data, "--patrons", "5", "--items", "10",
                                "--loans", "0", "--seed", "3"})
                .exit_code,
            0);
  const std::string card = "21000000000004";
  std::string item, token;
  json checkout;
  {
    // The server of the first try stops between its commit and its answer.
    setenv("CARREL_FAULT", "exit-after-idempotent-commit", 1);
    testing::ServeProcess crashing(data);
    unsetenv("CARREL_FAULT");
    ASSERT_TRUE(crashing.started());
    httplib::Client c("127.0.0.1", crashing.port());
    auto login = c.Post("/api/v1/session",
                        json{{"username", "desk"}, {"password", kDemoPassword}}.dump(),
                        "application/json");
    ASSERT_TRUE(login && login->status == 201);
    token = json::parse(login->body)["token"];
    httplib::Headers auth = {{"Authorization", "Bearer " + token}};
    for (int i = 1; i <= 10 && item.empty(); ++i) {
      char barcode[24];
      std::snprintf(barcode, sizeof barcode, "3100%010d", i);
      auto got = c.Get(std::string("/api/v1/items/") + barcode, auth);
      if (got && got->status == 200 && json::parse(got->body)["status"] == "available") {
        item = barcode;
      }
    }
    ASSERT_FALSE(item.empty());
    checkout = {{"item_barcode", item}, {"card_barcode", card}};
    auth.emplace("Idempotency-Key", kKey);
    auto lost = c.Post("/api/v1/loans", auth, checkout.dump(), "application/json");
    EXPECT_FALSE(lost) << "the server answered: " << lost->status;
    EXPECT_EQ(crashing.Stop(), 86) << "stopped at the fault point";
  }
  testing::ServeProcess restarted(data);
  ASSERT_TRUE(restarted.started());
  httplib::Client c("127.0.0.1", restarted.port());
  httplib::Headers auth = {{"Authorization", "Bearer " + token}, {"Idempotency-Key", kKey}};
  auto retried = c.Post("/api/v1/loans", auth, checkout.dump(), "application/json");
  ASSERT_TRUE(retried);
  ASSERT_EQ(retried->status, 201) << retried->body;
  EXPECT_EQ(retried->get_header_value("Idempotent-Replayed"), "true");
  json loan = json::parse(retried->body);
  // The item is out once, on that loan.
  auto item_now = c.Get("/api/v1/items/" + item, {{"Authorization", "Bearer " + token}});
  EXPECT_EQ(json::parse(item_now->body)["status"], "on_loan");
  auto loans = c.Get("/api/v1/patrons/" + std::to_string(loan["patron_id"].get<int64_t>()) +
                         "/loans",
                     {{"Authorization", "Bearer " + token}});
  ASSERT_EQ(loans->status, 200);
  int out = 0;
  json listed = json::parse(loans->body);
  for (const json& l : listed["loans"]) out += l["item_id"] == loan["item_id"];
  EXPECT_EQ(out, 1) << loans->body << "\n" << retried->body;
  // Retried once more, the same answer; without the key, the item is already out.
  auto third = c.Post("/api/v1/loans", auth, checkout.dump(), "application/json");
  EXPECT_EQ(third->body, retried->body);
  auth.erase("Idempotency-Key");
  EXPECT_EQ(c.Post("/api/v1/loans", auth, checkout.dump(), "application/json")->status, 409);
}

}  // namespace
}  // namespace carrel
