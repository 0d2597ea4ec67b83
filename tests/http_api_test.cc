// The HTTP API over real loopback sockets (port 0), and the same routes without a socket.

#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "api/routes.h"
#include "carrel/server.h"
#include "tests/support/contract_check.h"
#include "tests/support/temp_dir.h"

namespace carrel {
namespace {

using nlohmann::json;

class HttpApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ApiServer>(lib_.library.get(), testing::ContractChecked());
    auto port = server_->Bind("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.status().ToString();
    port_ = *port;
    thread_ = std::thread([this] { (void)server_->Serve(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
    for (int i = 0; i < 100 && !client_->Get("/healthz"); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  void TearDown() override {
    server_->Stop();
    if (thread_.joinable()) thread_.join();
  }

  testing::TestLibrary lib_;
  std::unique_ptr<ApiServer> server_;
  std::unique_ptr<httplib::Client> client_;
  std::thread thread_;
  int port_ = 0;
};

TEST_F(HttpApiTest, HoursSayWhetherLibraryAndCafeAreOpen) {
  // 2026-12-01 15:00Z is Tuesday 10:00 in Westport: both open.
  auto res = client_->Get("/api/v1/hours");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  json body = json::parse(res->body);
  EXPECT_EQ(body["library"], "The Westport Library");
  EXPECT_EQ(body["time_zone"], "America/New_York");
  EXPECT_TRUE(body["library_open"].get<bool>());
  EXPECT_TRUE(body["cafe_open"].get<bool>());
  EXPECT_EQ(body["hours"]["library"]["Sunday"], "13:00-17:00");
  EXPECT_EQ(body["hours"]["cafe"]["Saturday"], "09:00-16:30");
  EXPECT_EQ(body["closed_dates"][0], "2026-12-25");

  // Tuesday 18:00 local: library open, café closed.
  lib_.clock.Set(testing::DefaultTestTime() + std::chrono::hours(8));
  body = json::parse(client_->Get("/api/v1/hours")->body);
  EXPECT_TRUE(body["library_open"].get<bool>());
  EXPECT_FALSE(body["cafe_open"].get<bool>());

  // Saturday 18:00 local: closed; opens Sunday 13:00 (18:00Z).
  lib_.clock.Set(Instant(Date(std::chrono::year(2026) / 12 / 5)) + std::chrono::hours(23));
  body = json::parse(client_->Get("/api/v1/hours")->body);
  EXPECT_FALSE(body["library_open"].get<bool>());
  EXPECT_EQ(body["next_opening"], "2026-12-06T18:00:00Z");
}

TEST_F(HttpApiTest, PolicyIsPublicWithItsHistory) {
  auto res = client_->Get("/api/v1/policy");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  json body = json::parse(res->body);
  EXPECT_EQ(body["version"], "2010-09-15");
  EXPECT_NE(body["text"].get<std::string>().find("Law Enforcement Requests"), std::string::npos);
  ASSERT_EQ(body["history"].size(), 3u);
  EXPECT_EQ(body["history"][0]["event"], "adopted");
  EXPECT_EQ(body["history"][0]["date"], "2003-05-12");
  EXPECT_EQ(body["history"][2]["event"], "re-endorsed");
  EXPECT_NE(body["statute"]["citation"].get<std::string>().find("11-25"), std::string::npos);
}

// Found by the request_body fuzz target (fuzz/corpus/request_body/regression-query-key-not-utf8):
// a query parameter whose name is not UTF-8 once percent-decoded was named in the refusal, and
// writing the refusal threw: the client got a 500 where a 400 was due.
TEST_F(HttpApiTest, AQueryKeyThatIsNotUtf8GetsAPlainRefusal) {
  auto res = client_->Get("/api/v1/hours?%FF%FE=1&caf%C3=2");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400) << res->body;
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/problem+json");
  json body = json::parse(res->body);  // well-formed JSON, the bad bytes replaced
  ASSERT_EQ(body["errors"].size(), 2u) << res->body;
  EXPECT_EQ(body["errors"][0]["detail"], "is not a parameter of this route");
}

TEST_F(HttpApiTest, UnknownPathsAndMethodsGetProblemDetails) {
  auto res = client_->Get("/api/v1/no-such-collection/12");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/problem+json");
  json body = json::parse(res->body);
  EXPECT_EQ(body["status"], 404);
  EXPECT_EQ(body["title"], "Not found");
  EXPECT_FALSE(body["detail"].get<std::string>().empty());

  auto post = client_->Post("/api/v1/hours", "{}", "application/json");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
  EXPECT_EQ(json::parse(post->body)["status"], 405);
}

TEST(RouteTableTest, PatternsMatchWholeSegments) {
  std::vector<std::string> params;
  EXPECT_TRUE(MatchRoute("/api/v1/items/{barcode}", "/api/v1/items/31000", &params));
  ASSERT_EQ(params.size(), 1u);
  EXPECT_EQ(params[0], "31000");
  EXPECT_FALSE(MatchRoute("/api/v1/items/{barcode}", "/api/v1/items/", &params));
  EXPECT_FALSE(MatchRoute("/api/v1/items/{barcode}", "/api/v1/items/1/x", &params));
  EXPECT_FALSE(MatchRoute("/api/v1/hours", "/api/v1/hoursx", &params));
  EXPECT_TRUE(MatchRoute("/api/v1/hours", "/api/v1/hours", &params));
}

TEST(RouteTableTest, EveryRouteIsUniqueAndNamed) {
  std::set<std::string> seen;
  for (const Route& r : RouteTable()) {
    EXPECT_FALSE(r.action.empty());
    EXPECT_TRUE(seen.insert(std::string(r.method) + " " + std::string(r.pattern)).second)
        << r.pattern;
  }
}

TEST(ProblemTest, StatusCodesMapToHttp) {
  EXPECT_EQ(HttpStatusFor(StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusFor(StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusFor(StatusCode::kFailedPrecondition), 409);
  EXPECT_EQ(HttpStatusFor(StatusCode::kPermissionDenied), 403);
  EXPECT_EQ(HttpStatusFor(StatusCode::kUnauthenticated), 401);
  EXPECT_EQ(HttpStatusFor(StatusCode::kDataLoss), 500);
  // Internal details stay in the operator's log.
  ApiResponse r = ProblemResponse(Internal("disk path /secret failed"), "/x");
  EXPECT_EQ(r.body.find("/secret"), std::string::npos);
}

}  // namespace
}  // namespace carrel
