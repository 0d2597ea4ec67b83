// The server under hostile traffic, over real loopback sockets: slow clients by the thousand,
// from one address and from many, must not keep the API from answering; deadlines close them;
// caps answer at once. Also the headers every answer carries, and the client address and
// scheme behind a trusted proxy.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "carrel/server.h"
#include "carrel/store.h"
#include "tests/support/raw_http.h"
#include "tests/support/contract_check.h"
#include "tests/support/temp_dir.h"

namespace carrel {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::HeaderOf;
using testing::RawConnection;
using testing::RawRequest;
using testing::StatusOf;
using Clock = std::chrono::steady_clock;

constexpr char kHours[] = "GET /api/v1/hours HTTP/1.1\r\nHost: carrel\r\nConnection: close\r\n\r\n";

std::string Login(std::string_view username, std::string_view password,
                  std::string_view extra_headers = "") {
  std::string body = nlohmann::json{{"username", username}, {"password", password}}.dump();
  return "POST /api/v1/session HTTP/1.1\r\nHost: carrel\r\nConnection: close\r\n"
         "Content-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n" + std::string(extra_headers) + "\r\n" + body;
}

class HostileTrafficTest : public ::testing::Test {
 protected:
  void Start(ServerOptions options) {
    testing::RaiseFileLimit();
    server_ = std::make_unique<ApiServer>(lib_.library.get(),
                                          testing::ContractChecked(std::move(options)));
    auto port = server_->Bind("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.status().ToString();
    port_ = *port;
    thread_ = std::thread([this] { (void)server_->Serve(); });
    for (int i = 0; i < 100 && StatusOf(RawRequest("127.0.0.1", port_, kHours)) != 200; ++i) {
      std::this_thread::sleep_for(milliseconds(20));
    }
  }
  void TearDown() override {
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
  }
  // Waits until the server counts `n` open connections (they are accepted asynchronously).
  void WaitForConnections(size_t n) {
    for (int i = 0; i < 500 && server_->open_connections() < n; ++i) {
      std::this_thread::sleep_for(milliseconds(10));
    }
  }

  testing::TestLibrary lib_;
  std::unique_ptr<ApiServer> server_;
  std::thread thread_;
  int port_ = 0;
};

// Every held connection gets one more header line each round, as a slowloris client sends.
class Trickler {
 public:
  explicit Trickler(std::vector<RawConnection>* held) : held_(held) {
    thread_ = std::thread([this] {
      while (!stop_.load()) {
        for (RawConnection& c : *held_) c.Send("X-Slow: yes\r\n");
        for (int i = 0; i < 10 && !stop_.load(); ++i) std::this_thread::sleep_for(milliseconds(50));
      }
    });
  }
  ~Trickler() {
    stop_ = true;
    thread_.join();
  }

 private:
  std::vector<RawConnection>* held_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST_F(HostileTrafficTest, ThousandsOfSlowClientsDoNotStopTheApi) {
  ServerOptions options;
  options.head_timeout = seconds(4);
  options.max_connections = 2000;
  options.max_connections_per_client = 100;
  Start(options);
  auto started = Clock::now();

  // 1,000 slow connections from one address: the first 100 are held, the rest refused at once.
  std::vector<RawConnection> held;
  size_t refused_at_once = 0;
  for (int i = 0; i < 1000; ++i) {
    RawConnection c("127.0.0.1", port_);
    ASSERT_TRUE(c.connected()) << "connection " << i;
    ASSERT_TRUE(c.Send("GET /api/v1/hours HTTP/1.1\r\nHost: carrel\r\n"));
    held.push_back(std::move(c));
  }
  // 200 more from 200 other addresses (127.0.0.2 to 127.0.0.201): under every cap, all held.
  for (int i = 0; i < 200; ++i) {
    RawConnection c("127.0.0." + std::to_string(2 + i), port_);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.Send("GET /api/v1/hours HTTP/1.1\r\nHost: carrel\r\n"));
    held.push_back(std::move(c));
  }
  // The refused ones have their 503 already, with Retry-After and problem details.
  std::this_thread::sleep_for(milliseconds(500));
  std::vector<RawConnection> kept;
  for (size_t i = 0; i < 1000; ++i) {
    std::string answer = held[i].Receive(milliseconds(5));
    if (answer.empty()) {
      kept.push_back(std::move(held[i]));
      continue;
    }
    ++refused_at_once;
    EXPECT_EQ(StatusOf(answer), 503) << answer;
    EXPECT_EQ(HeaderOf(answer, "Retry-After"), "1");
    EXPECT_EQ(HeaderOf(answer, "Content-Type"), "application/problem+json");
    EXPECT_NE(answer.find("too many connections from this address"), std::string::npos);
  }
  EXPECT_EQ(refused_at_once, 900u);
  for (size_t i = 1000; i < held.size(); ++i) kept.push_back(std::move(held[i]));
  held.clear();
  ASSERT_EQ(kept.size(), 300u);
  WaitForConnections(300);
  EXPECT_EQ(server_->open_connections(), 300u);

  // While all 300 trickle their heads, ordinary requests from another address are answered.
  {
    Trickler trickler(&kept);
    std::vector<double> ms;
    while (Clock::now() - started < seconds(3) && ms.size() < 40) {
      auto t0 = Clock::now();
      std::string answer = RawRequest("127.0.0.250", port_, kHours, seconds(3));
      ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      ASSERT_EQ(StatusOf(answer), 200) << answer;
    }
    ASSERT_GE(ms.size(), 10u);
    // Loose enough for a sanitizer build; a held worker would make this seconds.
    EXPECT_LT(*std::max_element(ms.begin(), ms.end()), 1000.0);
    // The slow heads are cut at their deadline (4 s after they connected), trickling or not.
    for (RawConnection& c : kept) {
      auto left = started + seconds(8) - Clock::now();
      EXPECT_TRUE(c.ClosedWithin(std::max(milliseconds(1),
                                          std::chrono::duration_cast<milliseconds>(left))));
    }
  }
  EXPECT_LT(Clock::now() - started, seconds(9));
  WaitForConnections(0);
  for (int i = 0; i < 200 && server_->open_connections() > 0; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_EQ(server_->open_connections(), 0u);
}

TEST_F(HostileTrafficTest, TheServerCapRefusesAtOnce) {
  ServerOptions options;
  options.max_connections = 50;
  Start(options);
  std::vector<RawConnection> held;
  for (int i = 0; i < 50; ++i) {
    held.emplace_back("127.0.1." + std::to_string(1 + i), port_);
    ASSERT_TRUE(held.back().Send("GET /api/v1/hours HTTP/1.1\r\n"));
  }
  WaitForConnections(50);
  auto t0 = Clock::now();
  std::string answer = RawRequest("127.0.2.1", port_, kHours, seconds(2));
  EXPECT_LT(Clock::now() - t0, milliseconds(500));
  EXPECT_EQ(StatusOf(answer), 503) << answer;
  EXPECT_EQ(HeaderOf(answer, "Retry-After"), "1");
  EXPECT_NE(answer.find("the server is busy"), std::string::npos);
  // One held connection goes away: the next client is served.
  held.pop_back();
  // Up to 5 s for the server to notice the close (a loaded machine can be slow to).
  for (int i = 0; i < 500 && server_->open_connections() >= 50; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_EQ(StatusOf(RawRequest("127.0.2.1", port_, kHours)), 200);
}

TEST_F(HostileTrafficTest, ASlowBodyIsCutByTheMinimumRate) {
  ServerOptions options;
  options.head_timeout = seconds(1);
  options.min_bytes_per_second = 100;  // a 200-byte body has 1 s + 2 s
  Start(options);
  RawConnection c("127.0.0.1", port_);
  ASSERT_TRUE(c.Send("POST /api/v1/session HTTP/1.1\r\nHost: carrel\r\nContent-Type: "
                     "application/json\r\nContent-Length: 200\r\n\r\n{"));
  auto t0 = Clock::now();
  bool closed = false;
  while (!closed && Clock::now() - t0 < seconds(6)) {
    c.Send(" ");  // one byte a second: far below the rate
    closed = c.ClosedWithin(milliseconds(1000));
  }
  EXPECT_TRUE(closed);
  EXPECT_GE(Clock::now() - t0, milliseconds(2500));
  EXPECT_LT(Clock::now() - t0, milliseconds(4500));
}

TEST_F(HostileTrafficTest, AnIdleKeptAliveConnectionIsClosed) {
  ServerOptions options;
  options.idle_timeout = milliseconds(500);
  Start(options);
  RawConnection c("127.0.0.1", port_);
  ASSERT_TRUE(c.Send("GET /api/v1/hours HTTP/1.1\r\nHost: carrel\r\n\r\n"));
  EXPECT_EQ(StatusOf(c.Receive(seconds(5))), 200);
  // A second request within the idle limit is served on the same connection.
  ASSERT_TRUE(c.Send("GET /api/v1/hours HTTP/1.1\r\nHost: carrel\r\n\r\n"));
  EXPECT_EQ(StatusOf(c.Receive(seconds(5))), 200);
  auto t0 = Clock::now();
  EXPECT_TRUE(c.ClosedWithin(seconds(3)));
  EXPECT_GE(Clock::now() - t0, milliseconds(400));
}

TEST_F(HostileTrafficTest, BodiesOverTheRouteLimitAreRefusedBeforeTheyAreRead) {
  Start(ServerOptions{});
  // Login takes the default limit (64 KiB): a declared 100 MB is refused at once, unread.
  RawConnection c("127.0.0.1", port_);
  ASSERT_TRUE(c.Send("POST /api/v1/session HTTP/1.1\r\nHost: carrel\r\nContent-Type: "
                     "application/json\r\nContent-Length: 100000000\r\n\r\n{"));
  std::string answer = c.Receive(seconds(2));
  EXPECT_EQ(StatusOf(answer), 413) << answer;
  EXPECT_EQ(HeaderOf(answer, "Content-Type"), "application/problem+json");
  EXPECT_TRUE(c.ClosedWithin(seconds(2)));
  // A chunked body is counted as it comes and cut at the limit.
  RawConnection chunked("127.0.0.1", port_);
  std::string big(70 * 1024, 'a');
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", big.size());
  chunked.Send("POST /api/v1/session HTTP/1.1\r\nHost: carrel\r\nContent-Type: "
               "application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
               std::string(size) + big + "\r\n");
  EXPECT_EQ(StatusOf(chunked.Receive(seconds(2))), 413);
  // An oversized head: 431, with problem details.
  std::string head = "GET /api/v1/hours HTTP/1.1\r\nHost: carrel\r\nX-Big: " +
                     std::string(32 * 1024, 'b') + "\r\n\r\n";
  answer = RawRequest("127.0.0.1", port_, head);
  EXPECT_EQ(StatusOf(answer), 431) << answer.substr(0, 200);
  // Garbage: 400 with problem details, and nothing of any parser's words.
  answer = RawRequest("127.0.0.1", port_, "NOT HTTP AT ALL\r\n\r\n");
  EXPECT_EQ(StatusOf(answer), 400) << answer;
  EXPECT_NE(answer.find("the request could not be read"), std::string::npos);
  // The server still answers.
  EXPECT_EQ(StatusOf(RawRequest("127.0.0.1", port_, kHours)), 200);
}

TEST_F(HostileTrafficTest, EveryAnswerCarriesTheBrowserHeaders) {
  Start(ServerOptions{});
  for (std::string request :
       {std::string(kHours),
        std::string("GET /api/v1/nothing-here HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n"),
        Login("nobody", "wrong password"),
        std::string("GET /api/v1/transparency.html HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n")}) {
    std::string answer = RawRequest("127.0.0.1", port_, request);
    ASSERT_NE(StatusOf(answer), 0);
    std::string csp = HeaderOf(answer, "Content-Security-Policy");
    EXPECT_NE(csp.find("default-src 'self'"), std::string::npos) << request;
    // Only carrel's own printable pages may be framed, and by the same origin only.
    bool printable = request.find(".html") != std::string::npos;
    EXPECT_NE(csp.find(printable ? "frame-ancestors 'self'" : "frame-ancestors 'none'"),
              std::string::npos)
        << request;
    EXPECT_EQ(csp.find("script-src"), std::string::npos);  // never loosened for scripts
    EXPECT_EQ(HeaderOf(answer, "Referrer-Policy"), "no-referrer");
    EXPECT_EQ(HeaderOf(answer, "X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(HeaderOf(answer, "Cache-Control"), "no-store");
    EXPECT_EQ(HeaderOf(answer, "Strict-Transport-Security"), "");  // plain HTTP
    EXPECT_EQ(answer.find("exception"), std::string::npos);
  }
}

// Behind a trusted proxy, the client is the one the proxy names: its scheme decides the
// cookie's flags and HSTS, its address the rate limits. From anyone else the same headers
// are ignored.
TEST_F(HostileTrafficTest, ATrustedProxyNamesTheClientAndNobodyElseDoes) {
  ASSERT_TRUE(lib_.library->accounts()
                  .AddUser({"os/test", "operator"}, "staff1", Role::kStaff, "long enough pw")
                  .ok());
  ServerOptions options;
  options.trusted_proxies = {"127.0.0.10/32"};
  options.login_per_minute = 3;
  Start(options);
  const std::string https = "X-Forwarded-For: 198.51.100.7\r\nX-Forwarded-Proto: https\r\n";

  std::string answer = RawRequest("127.0.0.10", port_, Login("staff1", "long enough pw", https));
  ASSERT_EQ(StatusOf(answer), 201) << answer;
  std::string staff_token = nlohmann::json::parse(answer.substr(answer.find("\r\n\r\n") + 4),
                                                  nullptr, false)
                                .value("token", "");
  ASSERT_FALSE(staff_token.empty());
  std::string cookie = HeaderOf(answer, "Set-Cookie");
  EXPECT_EQ(cookie.rfind("__Host-carrel_session=", 0), 0u) << cookie;
  EXPECT_NE(cookie.find("; Secure"), std::string::npos);
  EXPECT_NE(cookie.find("; HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("; SameSite=Strict"), std::string::npos);
  EXPECT_NE(cookie.find("; Path=/"), std::string::npos);
  EXPECT_EQ(cookie.find("Domain"), std::string::npos);
  EXPECT_EQ(HeaderOf(answer, "Strict-Transport-Security"), "max-age=63072000");

  // The same headers from an untrusted peer change nothing: plain HTTP, bare cookie.
  answer = RawRequest("127.0.0.11", port_, Login("staff1", "long enough pw", https));
  ASSERT_EQ(StatusOf(answer), 201) << answer;
  cookie = HeaderOf(answer, "Set-Cookie");
  EXPECT_EQ(cookie.rfind("carrel_session=", 0), 0u) << cookie;
  EXPECT_EQ(cookie.find("Secure"), std::string::npos);
  EXPECT_EQ(HeaderOf(answer, "Strict-Transport-Security"), "");

  // Rate limits count the forwarded client: 198.51.100.8 uses up its three logins (the one
  // above was 198.51.100.7's), and 198.51.100.9, through the same proxy, still may.
  const std::string client8 = "Forwarded: for=198.51.100.8;proto=https\r\n";
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(StatusOf(RawRequest("127.0.0.10", port_, Login("staff1", "bad", client8))), 401);
  }
  answer = RawRequest("127.0.0.10", port_, Login("staff1", "bad", client8));
  EXPECT_EQ(StatusOf(answer), 429);
  EXPECT_EQ(HeaderOf(answer, "Retry-After"), "60");
  EXPECT_EQ(StatusOf(RawRequest("127.0.0.10", port_,
                                Login("staff1", "bad", "X-Forwarded-For: 198.51.100.9\r\n"))),
            401);
  // Served by one process (SQLite), the counts stay in memory; where several servers share the
  // library (PostgreSQL), each is a row under a keyed hash of the address and the minute, and no
  // address is stored either way.
  int64_t windows = -1;
  std::string stored;
  ASSERT_TRUE(WithReadTransaction(lib_.library->store(), [&](Transaction& tx) -> Status {
                CARREL_ASSIGN_OR_RETURN(windows, tx.QueryInt("SELECT count(*) FROM rate_windows"));
                return tx.Exec("SELECT id, minute FROM rate_windows", {}, [&](const Row& row) {
                  stored += row.Bytes(0) + row.Text(1);
                  return Status::Ok();
                });
              }).ok());
  if (lib_.library->store().shared()) {
    EXPECT_GT(windows, 0);
  } else {
    EXPECT_EQ(windows, 0) << "addresses never reach the disk";
  }
  EXPECT_EQ(stored.find("198.51.100"), std::string::npos);
  // A known caller's refusals are audited under a keyed pseudonym of the client the proxy
  // names: two clients, two pseudonyms, and no address anywhere in the log. (A stranger's are
  // counted per route and minute, with no pseudonym at all.)
  for (const char* client : {"198.51.100.20", "198.51.100.21", "198.51.100.20"}) {
    std::string get = std::string("GET /api/v1/audit/entries HTTP/1.1\r\nHost: c\r\n"
                                  "Connection: close\r\nAuthorization: Bearer ") +
                      staff_token + "\r\nX-Forwarded-For: " + client + "\r\n\r\n";
    EXPECT_EQ(StatusOf(RawRequest("127.0.0.10", port_, get)), 403);
  }
  for (int i = 0; i < 3; ++i) {
    std::string get = "GET /api/v1/patrons/1 HTTP/1.1\r\nHost: c\r\nConnection: close\r\n"
                      "X-Forwarded-For: 198.51.100.3" + std::to_string(i) + "\r\n\r\n";
    EXPECT_EQ(StatusOf(RawRequest("127.0.0.10", port_, get)), 401);
  }
  std::vector<std::string> denials;
  std::string whole_log;
  ASSERT_TRUE(WithReadTransaction(lib_.library->store(), [&](Transaction& tx) {
                return tx.Exec("SELECT entry FROM audit_log ORDER BY seq", {},
                               [&](const Row& row) {
                                 std::string entry = row.Bytes(0);
                                 whole_log += entry;
                                 if (entry.find("access.denied") != std::string::npos &&
                                     entry.find("\"count\"") == std::string::npos) {
                                   size_t at = entry.find("\"client\":\"");
                                   denials.push_back(at == std::string::npos
                                                         ? ""
                                                         : entry.substr(at + 10, 16));
                                 }
                                 return Status::Ok();
                               });
              }).ok());
  ASSERT_EQ(denials.size(), 3u);
  EXPECT_EQ(denials[0].size(), 16u);
  EXPECT_NE(denials[0], denials[1]);
  EXPECT_EQ(denials[0], denials[2]);
  EXPECT_EQ(whole_log.find("198.51.100"), std::string::npos);
  EXPECT_EQ(whole_log.find("127.0.0.10"), std::string::npos);

  // An untrusted client cannot dodge its own limit by naming others.
  for (int i = 0; i < 3; ++i) {
    std::string spoof = "X-Forwarded-For: 203.0.113." + std::to_string(i) + "\r\n";
    (void)RawRequest("127.0.0.12", port_, Login("staff1", "bad", spoof));
  }
  EXPECT_EQ(StatusOf(RawRequest("127.0.0.12", port_,
                                Login("staff1", "bad", "X-Forwarded-For: 203.0.113.99\r\n"))),
            429);
}

TEST_F(HostileTrafficTest, ConnectionCapsBehindAProxyCountTheClient) {
  ServerOptions options;
  options.trusted_proxies = {"127.0.0.10/32"};
  options.max_connections_per_client = 5;
  Start(options);
  // Ten proxy connections for ten different clients: all served.
  std::vector<RawConnection> open;
  for (int i = 0; i < 10; ++i) {
    open.emplace_back("127.0.0.10", port_);
    ASSERT_TRUE(open.back().Send("GET /api/v1/hours HTTP/1.1\r\nHost: c\r\nX-Forwarded-For: "
                                 "198.51.100." + std::to_string(i) + "\r\n\r\n"));
    EXPECT_EQ(StatusOf(open.back().Receive(seconds(5))), 200);
  }
  // Six proxy connections for one client: the sixth is refused.
  std::vector<RawConnection> same;
  int refused = 0;
  for (int i = 0; i < 6; ++i) {
    same.emplace_back("127.0.0.10", port_);
    same.back().Send("GET /api/v1/hours HTTP/1.1\r\nHost: c\r\nX-Forwarded-For: 192.0.2.1\r\n\r\n");
    int status = StatusOf(same.back().Receive(seconds(5)));
    if (status == 503) ++refused;
  }
  EXPECT_EQ(refused, 1);
}

}  // namespace
}  // namespace carrel
