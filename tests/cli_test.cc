// The carrel command as a person uses it: real processes, real files, real HTTP over loopback.

#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>

#include "requests/render.h"
#include "tests/support/postgres.h"
#include "tests/support/run.h"
#include "tests/support/temp_dir.h"

namespace carrel::testing {
namespace {

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Exactly one line on stderr, starting "carrel: ".
void ExpectOneErrorLine(const CommandResult& r) {
  EXPECT_EQ(r.err.rfind("carrel: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(CliTest, HelpForEveryCommand) {
  auto top = RunCarrel({"--help"});
  EXPECT_EQ(top.exit_code, 0);
  for (const char* cmd : {"init", "serve", "demo"}) {
    EXPECT_NE(top.out.find(cmd), std::string::npos) << cmd;
  }
  for (std::vector<std::string> args :
       {std::vector<std::string>{"init", "--help"}, {"serve", "--help"}, {"demo", "--help"},
        {"demo", "seed", "--help"}}) {
    auto r = RunCarrel(args);
    EXPECT_EQ(r.exit_code, 0) << args[0];
    EXPECT_NE(r.out.find("--"), std::string::npos) << args[0];
  }
}

TEST(CliTest, UnknownCommandAndFlagAreUsageErrors) {
  auto r = RunCarrel({"frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  ExpectOneErrorLine(r);
  r = RunCarrel({"init", "--data", "/nonexistent/x", "--colour", "blue"});
  EXPECT_EQ(r.exit_code, 2);
  ExpectOneErrorLine(r);
  r = RunCarrel({"serve"});  // --data is required
  EXPECT_EQ(r.exit_code, 2);
  ExpectOneErrorLine(r);
}

TEST(CliTest, InitRefusesToOverwriteALibrary) {
  CARREL_SQLITE_FILES_ONLY();
  TempDir dir;
  std::string data = (dir / "lib").string();
  auto r = RunCarrel({"init", "--data", data});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string before = ReadFile(dir / "lib" / "carrel.db");
  r = RunCarrel({"init", "--data", data});
  EXPECT_EQ(r.exit_code, 1);
  ExpectOneErrorLine(r);
  EXPECT_NE(r.err.find("will not overwrite"), std::string::npos);
  EXPECT_TRUE(ReadFile(dir / "lib" / "carrel.db") == before) << "file changed";
}

TEST(CliTest, BadProfileNamesFileAndLine) {
  CARREL_SQLITE_FILES_ONLY();
  TempDir dir;
  std::ofstream(dir / "policy.txt") << "Policy text.\n";
  std::string profile = ReadFile(WestportProfile());
  size_t at = profile.find("renewal_limit = 2");
  ASSERT_NE(at, std::string::npos);
  profile.replace(at, 17, "renewal_limit = \"two\"");
  std::ofstream(dir / "bad.toml") << profile;
  auto r = RunCarrel({"init", "--data", (dir / "lib").string(), "--profile",
                      (dir / "bad.toml").string()});
  EXPECT_EQ(r.exit_code, 1);
  ExpectOneErrorLine(r);
  EXPECT_NE(r.err.find("bad.toml:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("renewal_limit"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "lib" / "carrel.db"));
}

TEST(CliTest, ServeRefusesWhatIsNotALibrary) {
  TempDir dir;
  auto missing = RunCarrel({"serve", "--data", (dir / "nothing").string()});
  EXPECT_EQ(missing.exit_code, 1);
  ExpectOneErrorLine(missing);

  std::filesystem::create_directories(dir / "empty");
  auto empty = RunCarrel({"serve", "--data", (dir / "empty").string()});
  EXPECT_EQ(empty.exit_code, 1);
  ExpectOneErrorLine(empty);
  EXPECT_NE(empty.err.find("not a carrel library"), std::string::npos);

  auto bad_listen = RunCarrel({"serve", "--data", (dir / "empty").string(), "--listen", "x"});
  EXPECT_EQ(bad_listen.exit_code, 1);
  ExpectOneErrorLine(bad_listen);
}

TEST(CliTest, CorruptDatabaseIsRefusedAndLeftAlone) {
  CARREL_SQLITE_FILES_ONLY();
  TempDir dir;
  std::string data = (dir / "lib").string();
  ASSERT_EQ(RunCarrel({"init", "--data", data}).exit_code, 0);
  std::string garbage(8192, '\x5a');
  std::ofstream(dir / "lib" / "carrel.db", std::ios::binary | std::ios::trunc) << garbage;
  auto r = RunCarrel({"serve", "--data", data});
  EXPECT_EQ(r.exit_code, 1);
  ExpectOneErrorLine(r);
  EXPECT_NE(r.err.find("not a usable SQLite database"), std::string::npos) << r.err;
  EXPECT_TRUE(ReadFile(dir / "lib" / "carrel.db") == garbage) << "file changed";
}

TEST(CliTest, DemoSeedFillsAnEmptyLibraryOnce) {
  TempDir dir;
  std::string data = (dir / "lib").string();
  ASSERT_EQ(RunCarrel({"init", "--data", data}).exit_code, 0);
  auto r = RunCarrel({"demo", "seed", "--data", data, "--patrons", "200", "--items", "400",
                      "--loans", "3000", "--seed", "7"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("seeded 200 patrons"), std::string::npos) << r.out;
  EXPECT_TRUE(r.err.empty()) << "no progress bar when stderr is not a terminal: " << r.err;
  {
    // The demo's requests went through the workflow: one declined, one partly released and
    // delivered (its patron told), one new.
    auto lib = Library::Open(data, SystemClock());
    ASSERT_TRUE(lib.ok()) << lib.status().ToString();
    auto report = (*lib)->requests().Transparency();
    ASSERT_TRUE(report.ok());
    const auto outcomes = TransparencyReportJson(*report)["years"][0]["by_outcome"];
    EXPECT_EQ(outcomes["declined_no_process"], 1);
    EXPECT_EQ(outcomes["partial"].get<int>() + outcomes["no_records"].get<int>(), 1);
    EXPECT_EQ(outcomes["pending"], 1);
    int64_t sent = 0;
    ASSERT_TRUE(WithReadTransaction((*lib)->store(), [&](Transaction& tx) -> Status {
                  CARREL_ASSIGN_OR_RETURN(
                      sent, tx.QueryInt("SELECT count(*) FROM patron_notices WHERE state = "
                                        "'sent'"));
                  return Status::Ok();
                }).ok());
    EXPECT_EQ(sent, 1);
  }
  auto again = RunCarrel({"demo", "seed", "--data", data, "--patrons", "10"});
  EXPECT_EQ(again.exit_code, 1);
  ExpectOneErrorLine(again);
  auto bad = RunCarrel({"demo", "seed", "--data", data, "--patrons", "0"});
  EXPECT_EQ(bad.exit_code, 2);
}

// A new library in `dir`, served on a free loopback port; null if it could not be made.
std::unique_ptr<ServeProcess> ServeNewLibrary(const TempDir& dir) {
  std::string data = (dir / "lib").string();
  if (RunCarrel({"init", "--data", data}).exit_code != 0) return nullptr;
  return std::make_unique<ServeProcess>(data);
}

TEST(CliTest, ServeAnswersOverHttpAndStopsCleanly) {
  TempDir dir;
  std::unique_ptr<ServeProcess> server = ServeNewLibrary(dir);
  ASSERT_TRUE(server != nullptr && server->started());
  httplib::Client client("127.0.0.1", server->port());
  auto health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto hours = client.Get("/api/v1/hours");
  ASSERT_TRUE(hours);
  EXPECT_EQ(hours->status, 200);
  EXPECT_NE(hours->body.find("09:00-21:00"), std::string::npos);
  auto missing = client.Get("/api/v1/no-such-thing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->get_header_value("Content-Type"), "application/problem+json");
  EXPECT_EQ(server->Stop(), 0);
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

// SIGUSR1 asks a running server for its memory figures (what the soak samples): one line of
// numbers, and the server carries on.
TEST(CliTest, ServeReportsItsMemoryOnSigusr1AndCarriesOn) {
  TempDir dir;
  std::unique_ptr<ServeProcess> server = ServeNewLibrary(dir);
  ASSERT_TRUE(server != nullptr && server->started());
  httplib::Client client("127.0.0.1", server->port());
  ASSERT_TRUE(client.Get("/api/v1/hours"));
  server->Signal(SIGUSR1);
  std::string line = server->NextLineWith("carrel: memory:");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(line, m,
                               std::regex("carrel: memory: resident ([0-9]+) KiB, heap in use "
                                          "([0-9]+) KiB, heap free but held [0-9]+ KiB, SQLite "
                                          "([0-9]+) KiB \\(highest ([0-9]+) KiB\\), keys [0-9]+")))
      << line;
  EXPECT_GT(std::stoll(m[1]), 1024);              // a running server holds a MiB at least
  if (!LibrariesOnPostgres()) {
    EXPECT_GT(std::stoll(m[3]), 0);  // on SQLite, its connections hold SQLite memory
  }
  EXPECT_GE(std::stoll(m[4]), std::stoll(m[3]));  // the highest is at least the current
  // glibc's heap figures; under AddressSanitizer its own allocator serves, and they are 0.
  if (!kSanitized) {
    EXPECT_GE(std::stoll(m[2]), std::stoll(m[3]));  // SQLite's part is within the heap
  }
  auto hours = client.Get("/api/v1/hours");
  ASSERT_TRUE(hours);
  EXPECT_EQ(hours->status, 200);
  EXPECT_EQ(server->Stop(), 0);
}

// The log-in rate per client address is the operator's to set (a library behind one address
// may need more); past it, 429 at once.
TEST(CliTest, ServeTakesTheLoginRateAndRefusesANonsenseOne) {
  TempDir dir;
  std::string data = (dir / "lib").string();
  ASSERT_EQ(RunCarrel({"init", "--data", data}).exit_code, 0);
  CommandResult zero = RunCarrel({"serve", "--data", data, "--logins-per-minute", "0"});
  EXPECT_NE(zero.exit_code, 0);
  EXPECT_NE(zero.err.find("logins-per-minute"), std::string::npos) << zero.err;
  ServeProcess server(data, {"--logins-per-minute", "2"});
  ASSERT_TRUE(server.started());
  httplib::Client client("127.0.0.1", server.port());
  std::vector<int> statuses;
  for (int i = 0; i < 3; ++i) {
    auto res = client.Post("/api/v1/session", R"({"username":"nobody","password":"wrong password"})",
                           "application/json");
    ASSERT_TRUE(res);
    statuses.push_back(res->status);
  }
  EXPECT_EQ(statuses, (std::vector<int>{401, 401, 429}));
  EXPECT_EQ(server.Stop(), 0);
}

}  // namespace
}  // namespace carrel::testing

namespace carrel::testing {
namespace {

// The Director's password as `carrel init` printed it.
std::string InitPassword(const std::string& init_out, const std::string& user) {
  std::string marker = "user " + user + " ";
  size_t at = init_out.find(marker);
  if (at == std::string::npos) return "";
  at = init_out.find("password: ", at) + 10;
  return init_out.substr(at, init_out.find('\n', at) - at);
}

TEST(RetentionCliTest, TheDirectorSignsThenPlansAndRunsAreCountsOnly) {
  TempDir dir;
  std::string data = (dir / "lib").string();
  auto init = RunCarrel({"init", "--data", data});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  std::string director_pw = InitPassword(init.out, "director");
  ASSERT_FALSE(director_pw.empty()) << init.out;
  // The printed password is good for choosing a new one, nothing else.
  auto early = RunCarrelWithInput({"retention", "sign", "--data", data, "--username", "director",
                                   "--reason", "adopted"},
                                  director_pw + "\n");
  EXPECT_EQ(early.exit_code, 1);
  ExpectOneErrorLine(early);
  EXPECT_NE(early.err.find("choose a new password first"), std::string::npos) << early.err;
  auto changed = RunCarrelWithInput({"user", "password", "--data", data, "--username", "director"},
                                    director_pw + "\nthe director's own password\n");
  ASSERT_EQ(changed.exit_code, 0) << changed.err;
  director_pw = "the director's own password";

  // Before the Director signs: nothing is deleted, and the commands say so in one line.
  auto show = RunCarrel({"retention", "show", "--data", data});
  EXPECT_EQ(show.exit_code, 0);
  EXPECT_NE(show.out.find("No retention schedule is in force"), std::string::npos) << show.out;
  auto plan = RunCarrel({"retention", "plan", "--data", data});
  EXPECT_EQ(plan.exit_code, 1);
  ExpectOneErrorLine(plan);

  // The administrator cannot sign; a wrong password cannot; a bad file is refused plainly.
  auto admin = RunCarrelWithInput({"retention", "sign", "--data", data, "--username", "admin",
                                   "--reason", "mine"},
                                  InitPassword(init.out, "admin") + "\n");
  EXPECT_EQ(admin.exit_code, 1);
  ExpectOneErrorLine(admin);
  auto wrong = RunCarrelWithInput({"retention", "sign", "--data", data, "--username", "director",
                                   "--reason", "adopted"},
                                  "not-the-password\n");
  EXPECT_EQ(wrong.exit_code, 1);
  ExpectOneErrorLine(wrong);
  std::ofstream(dir / "bad.json") << "{\"format\":\"carrel-retention-schedule/1\",\"rules\":[]}";
  auto bad = RunCarrelWithInput({"retention", "sign", "--data", data, "--username", "director",
                                 "--reason", "adopted", "--file", (dir / "bad.json").string()},
                                director_pw + "\n");
  EXPECT_EQ(bad.exit_code, 1);
  ExpectOneErrorLine(bad);

  auto sign = RunCarrelWithInput({"retention", "sign", "--data", data, "--username", "director",
                                  "--reason", "adopted by the Director"},
                                 director_pw + "\n");
  ASSERT_EQ(sign.exit_code, 0) << sign.err;
  EXPECT_NE(sign.out.find("version 1 is in force"), std::string::npos);
  show = RunCarrel({"retention", "show", "--data", data});
  EXPECT_NE(show.out.find("version 1, signed by director"), std::string::npos) << show.out;

  ASSERT_EQ(RunCarrel({"demo", "seed", "--data", data, "--patrons", "50", "--items", "100",
                       "--loans", "300"})
                .exit_code,
            0);
  plan = RunCarrel({"retention", "plan", "--data", data});
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_NE(plan.out.find("loan_link"), std::string::npos);
  auto run = RunCarrel({"retention", "run", "--data", data});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("keys destroyed"), std::string::npos);
  auto history = RunCarrel({"retention", "history", "--data", data});
  EXPECT_EQ(history.exit_code, 0);
  EXPECT_NE(history.out.find("finished"), std::string::npos) << history.out;
  auto holds = RunCarrel({"retention", "hold", "list", "--data", data});
  EXPECT_EQ(holds.exit_code, 0);
  // The demo's released request holds its patron's records; the declined one was closed and
  // its hold released.
  EXPECT_NE(holds.out.find("records in the scope of request R-"), std::string::npos) << holds.out;
  EXPECT_EQ(std::count(holds.out.begin(), holds.out.end(), '\n'), 1) << holds.out;
}

}  // namespace
}  // namespace carrel::testing
