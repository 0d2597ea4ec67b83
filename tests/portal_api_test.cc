// What a patron can reach through the routes that act on "my" loans and holds, by combining
// what it is allowed: ids of another patron's loan or hold are not theirs, whatever they guess.

#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "carrel/server.h"
#include "tests/support/contract_check.h"
#include "tests/support/temp_dir.h"

namespace carrel {
namespace {

using nlohmann::json;
constexpr char kPin[] = "735190";

TEST(PortalApiTest, APatronCannotRenewOrCancelAnotherPatronsLoanOrHold) {
  testing::TestLibrary lib;
  Library& l = *lib.library;
  Actor setup{"os/test", "operator"};
  std::map<std::string, int64_t> ids;
  for (const char* card : {"P-A", "P-B"}) {
    NewPatron p;
    p.card_barcode = card;
    p.name = std::string("Patron ") + card;
    p.expires_on = Date(std::chrono::year(2029) / 1 / 1);
    auto added = l.circulation().AddPatron(testing::kStaff, p);
    ASSERT_TRUE(added.ok());
    ids[card] = added->id;
    ASSERT_TRUE(l.accounts().SetPatronPin(setup, added->id, kPin,
                                          Accounts::PinOrigin::kChosenByPatron).ok());
  }
  for (const char* item : {"I-1", "I-2"}) {
    ASSERT_TRUE(l.circulation().AddItem(testing::kStaff, {item, "T", "A", "C", "book"}).ok());
  }
  auto loan = l.circulation().Checkout(testing::kStaff, "I-1", "P-B");
  ASSERT_TRUE(loan.ok());
  ASSERT_TRUE(l.circulation().Checkout(testing::kStaff, "I-2", "P-A").ok());
  auto hold = l.circulation().PlaceHold(testing::kStaff, "I-2", "P-B");
  ASSERT_TRUE(hold.ok());

  ApiServer server(&l, testing::ContractChecked());
  auto port = server.Bind("127.0.0.1", 0);
  ASSERT_TRUE(port.ok());
  std::thread serving([&] { (void)server.Serve(); });
  httplib::Client client("127.0.0.1", *port);
  for (int i = 0; i < 100 && !client.Get("/healthz"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto login = client.Post("/api/v1/session", json{{"card_barcode", "P-A"}, {"pin", kPin}}.dump(),
                           "application/json");
  ASSERT_EQ(login->status, 201);
  httplib::Headers a = {{"Authorization",
                         "Bearer " + json::parse(login->body)["token"].get<std::string>()}};

  // P-A names P-B's loan and hold by id: not found, and nothing changes.
  auto renew = client.Post("/api/v1/me/loans/" + std::to_string(loan->id) + "/renew", a, "{}",
                           "application/json");
  EXPECT_EQ(renew->status, 404);
  auto cancel = client.Delete("/api/v1/me/holds/" + std::to_string(hold->id), a);
  EXPECT_EQ(cancel->status, 404);
  auto loans = l.circulation().ActiveLoans(testing::kStaff, ids["P-B"]);
  ASSERT_TRUE(loans.ok());
  ASSERT_EQ(loans->size(), 1u);
  EXPECT_EQ((*loans)[0].renewals, 0);
  auto holds = l.circulation().PatronHolds(testing::kStaff, ids["P-B"]);
  ASSERT_TRUE(holds.ok());
  EXPECT_EQ(holds->size(), 1u);
  // A hold placed for "me" is P-A's, whatever else the body says (it takes no card).
  auto mine = client.Post("/api/v1/me/holds", a,
                          json{{"item_barcode", "I-1"}, {"card_barcode", "P-B"}}.dump(),
                          "application/json");
  EXPECT_EQ(mine->status, 400) << "a card is not a field here";
  server.Stop();
  serving.join();
}

}  // namespace
}  // namespace carrel
