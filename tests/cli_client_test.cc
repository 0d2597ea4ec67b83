// The carrel command as an API client: real processes against a real `carrel serve` over
// loopback, with the token file in a temporary config directory.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "carrel/demo.h"
#include "tests/support/run.h"
#include "tests/support/temp_dir.h"

namespace carrel::testing {
namespace {

using nlohmann::json;

std::string FileText(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Sets (or, with nullopt, unsets) an environment variable for one scope; children inherit it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::optional<std::string>& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      setenv(name, value->c_str(), 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// A failure: exit 1, nothing on stdout, one line "carrel: ..." on stderr.
void ExpectFailureLine(const CommandResult& r, const std::string& contains = "") {
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_TRUE(r.err.starts_with("carrel: ")) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  if (!contains.empty()) {
    EXPECT_NE(r.err.find(contains), std::string::npos) << r.err;
  }
}

json ParseOut(const CommandResult& r) {
  json j = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << r.out;
  return j;
}

mode_t ModeOf(const std::filesystem::path& p) {
  struct stat info {};
  if (stat(p.c_str(), &info) != 0) return 0;
  return info.st_mode & 07777;
}

// A loopback port nobody listens on (bound, then released).
int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

// One demo library and server for the suite; each test has its own config directory.
class CliClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    library_dir_ = new TempDir;
    std::string data = (*library_dir_ / "lib").string();
    CommandResult init = RunCarrel({"init", "--data", data});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    ASSERT_NE(init.out.find("user admin"), std::string::npos) << init.out;
    CommandResult seed = RunCarrel({"demo", "seed", "--data", data, "--patrons", "10", "--items",
                                    "20", "--loans", "0", "--seed", "5"});
    ASSERT_EQ(seed.exit_code, 0) << seed.err;
    server_ = new ServeProcess(data);
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete library_dir_;
    library_dir_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    ASSERT_TRUE(server_->started());
    config_ = std::make_unique<TempDir>();
    config_env_ = std::make_unique<ScopedEnv>("CARREL_CONFIG_DIR", config_->path().string());
  }
  void TearDown() override {
    config_env_.reset();
    config_.reset();
  }

  static std::string Url() { return "http://127.0.0.1:" + std::to_string(server_->port()); }
  std::filesystem::path TokenFile() const { return config_->path() / "credentials.json"; }

  static CommandResult Login(const std::string& username, const std::string& password) {
    return RunCarrelWithInput({"login", "--server", Url(), "--username", username},
                              password + "\n");
  }
  static CommandResult LoginDesk() { return Login("desk", kDemoPassword); }

  static TempDir* library_dir_;
  static ServeProcess* server_;
  std::unique_ptr<TempDir> config_;
  std::unique_ptr<ScopedEnv> config_env_;
};

TempDir* CliClientTest::library_dir_ = nullptr;
ServeProcess* CliClientTest::server_ = nullptr;

TEST_F(CliClientTest, LoginStoresAPrivateTokenAndWhoamiShowsTheRole) {
  CommandResult login = LoginDesk();
  ASSERT_EQ(login.exit_code, 0) << login.err;
  EXPECT_EQ(login.out, "carrel: logged in to " + Url() + " as staff\n");
  ASSERT_TRUE(std::filesystem::exists(TokenFile()));
  EXPECT_EQ(ModeOf(TokenFile()), 0600u);
  json file = json::parse(FileText(TokenFile()), nullptr, false);
  ASSERT_TRUE(file.is_object());
  EXPECT_EQ(file.value("server", ""), Url());
  EXPECT_EQ(file.value("username", ""), "desk");
  EXPECT_EQ(file.value("role", ""), "staff");
  EXPECT_FALSE(file.value("token", "").empty());
  EXPECT_FALSE(file.contains("password"));

  CommandResult who = RunCarrel({"whoami"});
  ASSERT_EQ(who.exit_code, 0) << who.err;
  EXPECT_NE(who.out.find("role:"), std::string::npos) << who.out;
  EXPECT_NE(who.out.find("staff"), std::string::npos) << who.out;
  EXPECT_NE(who.out.find("desk"), std::string::npos) << who.out;

  CommandResult who_json = RunCarrel({"whoami", "--json"});
  ASSERT_EQ(who_json.exit_code, 0) << who_json.err;
  json j = ParseOut(who_json);
  EXPECT_EQ(j.value("role", ""), "staff");
  EXPECT_EQ(j.value("kind", ""), "user");
}

TEST_F(CliClientTest, CirculationGoesThroughTheApi) {
  ASSERT_EQ(LoginDesk().exit_code, 0);
  const std::string item = "39990000000001", card = "29990000000001";

  CommandResult added_item =
      RunCarrel({"item", "add", "--barcode", item, "--title", "The Quiet Stacks", "--author",
                 "A. Writer", "--call-number", "FIC WRI", "--type", "book"});
  ASSERT_EQ(added_item.exit_code, 0) << added_item.err;
  EXPECT_NE(added_item.out.find("title:"), std::string::npos) << added_item.out;
  EXPECT_NE(added_item.out.find("The Quiet Stacks"), std::string::npos) << added_item.out;

  CommandResult found_item = RunCarrel({"item", "find", item, "--json"});
  ASSERT_EQ(found_item.exit_code, 0) << found_item.err;
  EXPECT_EQ(ParseOut(found_item).value("status", ""), "available");

  CommandResult added_patron = RunCarrel({"patron", "add", "--card", card, "--name", "Robin Reader",
                                          "--email", "robin@example.org", "--json"});
  ASSERT_EQ(added_patron.exit_code, 0) << added_patron.err;
  json patron = ParseOut(added_patron);
  ASSERT_TRUE(patron.contains("id"));
  // The card expires two years from today unless --expires says otherwise.
  std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  EXPECT_TRUE(patron.value("expires_on", "").starts_with(std::to_string(local.tm_year + 1902)))
      << patron.dump();

  CommandResult by_card = RunCarrel({"patron", "find", "--card", card, "--json"});
  ASSERT_EQ(by_card.exit_code, 0) << by_card.err;
  json found = ParseOut(by_card);
  ASSERT_EQ(found["patrons"].size(), 1u) << found.dump();
  EXPECT_EQ(found["patrons"][0].value("name", ""), "Robin Reader");
  CommandResult by_name = RunCarrel({"patron", "find", "--name", "Robin Reader"});
  ASSERT_EQ(by_name.exit_code, 0) << by_name.err;
  EXPECT_NE(by_name.out.find("NAME"), std::string::npos) << by_name.out;
  EXPECT_NE(by_name.out.find("Robin Reader"), std::string::npos) << by_name.out;
  CommandResult show = RunCarrel({"patron", "show", std::to_string(patron["id"].get<int64_t>())});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("robin@example.org"), std::string::npos) << show.out;

  CommandResult out = RunCarrel({"checkout", "--item", item, "--card", card, "--json"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  json loan = ParseOut(out);
  EXPECT_FALSE(loan.value("due_on", "").empty());
  EXPECT_EQ(loan.value("renewals", -1), 0);
  EXPECT_EQ(ParseOut(RunCarrel({"item", "find", item, "--json"})).value("status", ""), "on_loan");

  CommandResult again = RunCarrel({"checkout", "--item", item, "--card", card});
  ExpectFailureLine(again, "the item is already on loan");

  CommandResult renewed = RunCarrel({"renew", "--item", item});
  ASSERT_EQ(renewed.exit_code, 0) << renewed.err;
  EXPECT_NE(renewed.out.find("renewals:"), std::string::npos) << renewed.out;
  EXPECT_NE(renewed.out.find("due:"), std::string::npos) << renewed.out;

  CommandResult in = RunCarrel({"checkin", "--item", item, "--json"});
  ASSERT_EQ(in.exit_code, 0) << in.err;
  json returned = ParseOut(in);
  EXPECT_FALSE(returned.value("returned_on", "").empty());
  EXPECT_EQ(returned.value("fine_cents", -1), 0);

  CommandResult out_human = RunCarrel({"checkout", "--item", item, "--card", card});
  ASSERT_EQ(out_human.exit_code, 0) << out_human.err;
  EXPECT_NE(out_human.out.find("due:"), std::string::npos) << out_human.out;
  CommandResult in_human = RunCarrel({"checkin", "--item", item});
  ASSERT_EQ(in_human.exit_code, 0) << in_human.err;
  EXPECT_NE(in_human.out.find("returned:"), std::string::npos) << in_human.out;

  ExpectFailureLine(RunCarrel({"item", "find", "no/such item"}));
}

TEST_F(CliClientTest, PatronSessionMayNotSearchPatrons) {
  // A patron of our own with a PIN (a seeded card may have expired, depending on the seed).
  const std::string card = "29990000000002";
  ASSERT_EQ(LoginDesk().exit_code, 0);
  CommandResult added =
      RunCarrel({"patron", "add", "--card", card, "--name", "Pat Portal", "--json"});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  int64_t id = ParseOut(added).value("id", int64_t{0});
  // The desk prints a reset code; the patron chooses the PIN with it.
  CommandResult slip = RunCarrel({"patron", "pin-reset", std::to_string(id)});
  ASSERT_EQ(slip.exit_code, 0) << slip.err;
  EXPECT_NE(slip.out.find("PIN reset code: "), std::string::npos) << slip.out;
  CommandResult reset = RunCarrel({"patron", "pin-reset", std::to_string(id), "--json"});
  ASSERT_EQ(reset.exit_code, 0) << reset.err;
  std::string code = ParseOut(reset).value("code", "");
  ASSERT_EQ(code.size(), 9u) << reset.out;
  httplib::Client http("127.0.0.1", server_->port());
  auto pin = http.Post("/api/v1/pin-reset",
                       json{{"card_barcode", card}, {"code", code}, {"new_pin", kDemoPin}}.dump(),
                       "application/json");
  ASSERT_TRUE(pin);
  ASSERT_EQ(pin->status, 200) << pin->body;

  CommandResult login = RunCarrelWithInput({"login", "--server", Url(), "--card", card},
                                           std::string(kDemoPin) + "\n");
  ASSERT_EQ(login.exit_code, 0) << login.err;
  EXPECT_NE(login.out.find("as patron"), std::string::npos) << login.out;
  EXPECT_EQ(ModeOf(TokenFile()), 0600u);
  ExpectFailureLine(RunCarrel({"patron", "find", "--card", card}), "your role may not do this");
  CommandResult who = RunCarrel({"whoami"});
  ASSERT_EQ(who.exit_code, 0) << who.err;
  EXPECT_NE(who.out.find("patron"), std::string::npos) << who.out;
}

TEST_F(CliClientTest, LogoutEndsTheSessionAndRemovesTheToken) {
  ASSERT_EQ(LoginDesk().exit_code, 0);
  std::string token = json::parse(FileText(TokenFile()), nullptr, false).value("token", "");
  ASSERT_FALSE(token.empty());
  CommandResult logout = RunCarrel({"logout"});
  ASSERT_EQ(logout.exit_code, 0) << logout.err;
  EXPECT_FALSE(std::filesystem::exists(TokenFile()));
  ExpectFailureLine(RunCarrel({"whoami"}), "not logged in");

  // The token is dead on the server too.
  httplib::Client http("127.0.0.1", server_->port());
  httplib::Headers bearer = {{"Authorization", "Bearer " + token}};
  auto who = http.Get("/api/v1/session", bearer);
  ASSERT_TRUE(who);
  EXPECT_EQ(who->status, 401);
}

TEST_F(CliClientTest, TokenFileLooserThan0600IsRefused) {
  ASSERT_EQ(LoginDesk().exit_code, 0);
  for (mode_t mode : {0644, 0640, 0604}) {
    ASSERT_EQ(chmod(TokenFile().c_str(), mode), 0);
    char text[8];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode));
    ExpectFailureLine(RunCarrel({"whoami"}), text);
  }
  ASSERT_EQ(chmod(TokenFile().c_str(), 0600), 0);
  EXPECT_EQ(RunCarrel({"whoami"}).exit_code, 0);
}

TEST_F(CliClientTest, WrongPasswordIsOneLineAndStoresNothing) {
  CommandResult r = Login("trustee", "not-the-password");
  ExpectFailureLine(r, "not accepted");
  EXPECT_FALSE(std::filesystem::exists(TokenFile()));
  // No password at all on stdin.
  ExpectFailureLine(RunCarrel({"login", "--server", Url(), "--username", "trustee"}),
                    "no password");
}

TEST_F(CliClientTest, ServerNotRunningIsOneLine) {
  int port = ClosedPort();
  ASSERT_GT(port, 0);
  const std::string dead = "http://127.0.0.1:" + std::to_string(port);
  CommandResult r = RunCarrelWithInput({"login", "--server", dead, "--username", "desk"},
                                       std::string(kDemoPassword) + "\n");
  ExpectFailureLine(r, "cannot reach the server at " + dead);
  EXPECT_FALSE(std::filesystem::exists(TokenFile()));

  ASSERT_EQ(LoginDesk().exit_code, 0);
  ExpectFailureLine(RunCarrel({"whoami", "--server", dead}), "cannot reach the server at " + dead);
}

TEST_F(CliClientTest, XdgConfigHomeHoldsAPrivateDirectory) {
  ScopedEnv no_override("CARREL_CONFIG_DIR", std::nullopt);
  ScopedEnv xdg("XDG_CONFIG_HOME", (config_->path() / "xdg").string());
  ASSERT_EQ(LoginDesk().exit_code, 0);
  std::filesystem::path dir = config_->path() / "xdg" / "carrel";
  EXPECT_EQ(ModeOf(dir), 0700u);
  EXPECT_EQ(ModeOf(dir / "credentials.json"), 0600u);
  EXPECT_EQ(RunCarrel({"whoami"}).exit_code, 0);
}

TEST_F(CliClientTest, BadArgumentsAndAddresses) {
  EXPECT_EQ(RunCarrel({"patron", "find", "--card", "1", "--name", "x"}).exit_code, 2);
  EXPECT_EQ(RunCarrel({"patron", "find"}).exit_code, 2);
  EXPECT_EQ(RunCarrel({"patron", "show", "abc"}).exit_code, 2);
  EXPECT_EQ(RunCarrel({"login", "--username", "desk"}).exit_code, 2);
  EXPECT_EQ(RunCarrel({"login", "--server", Url()}).exit_code, 2);
  ExpectFailureLine(RunCarrel({"login", "--server", "ftp://127.0.0.1", "--username", "desk"}),
                    "server address");
  ExpectFailureLine(RunCarrel({"login", "--server", Url() + "/api", "--username", "desk"}),
                    "server address");
  // A password never crosses a network in the clear.
  ExpectFailureLine(
      RunCarrel({"login", "--server", "http://library.example.org", "--username", "desk"}),
      "https://");
  ExpectFailureLine(RunCarrel({"checkin", "--item", "1"}), "not logged in");
}


TEST_F(CliClientTest, RequestsTakenInAndStepsTakenFromTheCommandLine) {
  ASSERT_EQ(LoginDesk().exit_code, 0);
  std::filesystem::path intake = config_->path() / "intake.json";
  {
    std::ofstream f(intake);
    f << R"({"type": "law_enforcement", "agency": "County Police", "name": "Officer",
             "callback_number": "555-0100", "callback_source": "county directory",
             "asked": "who borrowed a book", "process": "none"})";
  }
  CommandResult in = RunCarrel({"request", "intake", "--file", intake.string()});
  ASSERT_EQ(in.exit_code, 0) << in.err;
  EXPECT_NE(in.out.find("Library Director"), std::string::npos) << in.out;
  CommandResult in_json = RunCarrel({"request", "intake", "--file", intake.string(), "--json"});
  ASSERT_EQ(in_json.exit_code, 0) << in_json.err;
  std::string ref = ParseOut(in_json).value("reference", "");
  ASSERT_FALSE(ref.empty());
  // The desk can take requests in, and that is all.
  CommandResult denied = RunCarrel({"request", "act", ref, "acknowledge"});
  EXPECT_NE(denied.exit_code, 0);
  EXPECT_EQ(std::count(denied.err.begin(), denied.err.end(), '\n'), 1) << denied.err;
  CommandResult bad = RunCarrel({"request", "act", ref, "levitate"});
  EXPECT_NE(bad.exit_code, 0);
  ASSERT_EQ(Login("demo-director", kDemoPassword).exit_code, 0);
  CommandResult steps = RunCarrel({"request", "steps"});
  ASSERT_EQ(steps.exit_code, 0) << steps.err;
  EXPECT_NE(steps.out.find("refer_to_counsel"), std::string::npos);
  CommandResult ack = RunCarrel({"request", "act", ref, "acknowledge", "--json"});
  ASSERT_EQ(ack.exit_code, 0) << ack.err;
  EXPECT_EQ(ParseOut(ack).value("state", ""), "referred");
  CommandResult list = RunCarrel({"request", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find(ref), std::string::npos);
  CommandResult show = RunCarrel({"request", "show", ref});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("acknowledge"), std::string::npos);
}

TEST_F(CliClientTest, TheBoardReviewsAndAmendsFromTheCommandLine) {
  ASSERT_EQ(Login("trustee", kDemoPassword).exit_code, 0);
  CommandResult history = RunCarrel({"policy", "history"});
  ASSERT_EQ(history.exit_code, 0) << history.err;
  for (const char* date : {"2003-05-12", "2007-10-17", "2010-09-15"}) {
    EXPECT_NE(history.out.find(date), std::string::npos) << history.out;
  }
  CommandResult same = RunCarrel({"policy", "diff", "2010-09-15"});
  ASSERT_EQ(same.exit_code, 0) << same.err;
  EXPECT_NE(same.out.find("unchanged"), std::string::npos) << same.out;
  // The demo's signed retention schedule is among what the Board may review.
  CommandResult decisions = RunCarrel({"board", "decisions"});
  ASSERT_EQ(decisions.exit_code, 0) << decisions.err;
  EXPECT_NE(decisions.out.find("retention_schedule"), std::string::npos) << decisions.out;
  CommandResult opened = RunCarrel({"board", "review", "open", "retention_schedule", "1",
                                    "--reason", "the annual look at the schedule", "--json"});
  ASSERT_EQ(opened.exit_code, 0) << opened.err;
  std::string review = std::to_string(ParseOut(opened).value("id", 0));
  ASSERT_EQ(RunCarrel({"board", "review", "comment", review, "--text", "reasonable"}).exit_code, 0);
  CommandResult ruled = RunCarrelWithInput(
      {"board", "review", "rule", review, "comment", "--explanation", "noted, no change"},
      std::string(kDemoPassword) + "\n");
  ASSERT_EQ(ruled.exit_code, 0) << ruled.err;
  EXPECT_NE(ruled.out.find("comment at"), std::string::npos) << ruled.out;
  CommandResult again = RunCarrelWithInput(
      {"board", "review", "rule", review, "affirm", "--explanation", "twice"},
      std::string(kDemoPassword) + "\n");
  EXPECT_NE(again.exit_code, 0);
  EXPECT_EQ(std::count(again.err.begin(), again.err.end(), '\n'), 1) << again.err;

  // An amendment: proposed from a file, voted, adopted (one trustee in the demo: one vote).
  CommandResult current = RunCarrel({"policy", "show", "--json"});
  ASSERT_EQ(current.exit_code, 0) << current.err;
  std::string text = ParseOut(current).value("text", "");
  std::filesystem::path amended = config_->path() / "amended.txt";
  {
    std::ofstream f(amended);
    f << text << (text.ends_with("\n") ? "" : "\n") << "Notice of releases is given.\n";
  }
  CommandResult proposed =
      RunCarrel({"policy", "propose", "--text", amended.string(), "--title", "Privacy Policy",
                 "--summary", "notice of releases", "--json"});
  ASSERT_EQ(proposed.exit_code, 0) << proposed.err;
  std::string id = std::to_string(ParseOut(proposed).value("id", 0));
  CommandResult voted =
      RunCarrelWithInput({"policy", "vote", id, "for"}, std::string(kDemoPassword) + "\n");
  ASSERT_EQ(voted.exit_code, 0) << voted.err;
  std::string today = FormatDate(std::chrono::floor<std::chrono::days>(
      std::chrono::system_clock::now()));
  CommandResult closed = RunCarrelWithInput({"policy", "close", id, "--meeting-date", today},
                                            std::string(kDemoPassword) + "\n");
  ASSERT_EQ(closed.exit_code, 0) << closed.err;
  EXPECT_NE(closed.out.find("adopted"), std::string::npos) << closed.out;
  CommandResult diff = RunCarrel({"policy", "diff", today});
  ASSERT_EQ(diff.exit_code, 0) << diff.err;
  EXPECT_EQ(diff.out, "+ Notice of releases is given.\n");
  // The desk cannot vote.
  ASSERT_EQ(LoginDesk().exit_code, 0);
  CommandResult desk = RunCarrelWithInput({"policy", "vote", id, "for"},
                                          std::string(kDemoPassword) + "\n");
  EXPECT_NE(desk.exit_code, 0);
}

}  // namespace
}  // namespace carrel::testing
