// Bringing patrons over from Koha (docs/migrating-from-koha.md): only what the policy keeps comes
// in, sealed like any other record; bad rows are listed by line without their values; a run
// stopped part way continues without duplicates.
#include "carrel/koha_import.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sodium.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "carrel/library.h"
#include "import/marc.h"
#include "tests/support/marc_writer.h"
#include "tests/support/postgres.h"
#include "tests/support/run.h"
#include "tests/support/store_count.h"
#include "tests/support/temp_dir.h"

namespace carrel {
namespace {

Date D(int y, int m, int d) { return Date(std::chrono::year(y) / m / d); }

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

constexpr char kHeader[] =
    "cardnumber,surname,firstname,othernames,streetnumber,address,address2,city,state,zipcode,"
    "country,email,phone,mobile,dateofbirth,branchcode,categorycode,dateenrolled,dateexpiry,sex,"
    "borrowernotes,password,privacy\n";

class KohaImportTest : public ::testing::Test {
 protected:
  std::filesystem::path Write(const std::string& name, const std::string& bytes) {
    std::filesystem::path p = lib_.dir / name;
    std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
    return p;
  }
  StatusOr<KohaImportReport> Import(const std::filesystem::path& patrons,
                                    KohaImportOptions options = {}) {
    options.patrons = patrons;
    options.progress = false;
    return ImportFromKoha(*lib_.library, options);
  }
  int64_t CountRows(const std::string& table) {
    return testing::RowCount(lib_.library->store(), table);
  }
  StatusOr<Patron> Find(const std::string& card) {
    return lib_.circulation().FindPatronByBarcode(testing::kStaff, card);
  }
  testing::TestLibrary lib_;
};

TEST_F(KohaImportTest, KeepsWhatThePolicyKeepsAndCountsWhatItDrops) {
  // Today is 2026-12-01 in the tests; the profile's juvenile age is 18.
  auto file =
      Write("borrowers.csv",
            std::string(kHeader) +
                "K-0001,Ó Briain,Siobhán,Shiv,12,Main Street,Apt 4,Westport,CT,06880,USA,"
                "siobhan@example.org,203-555-0100,203-555-0199,2015-04-01,CPL,J,2020-01-02,"
                "2027-06-30,F,\"likes \"\"mysteries\"\", and maps\",$2a$08$hash,0\n"
                "K-0002,Lee,Kim,,,,,,,,,kim.lee@example.org,,203-555-0150,2008-12-02,CPL,A,,"
                "2028-01-31 00:00:00,,,,1\n"
                "K-0003,Okafor,Chidi,,,,,,,,,not an address,,,2008-12-01,,,,,M,,,2\n");
  auto report = Import(file);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->problems.empty());
  const KohaImportCounts& c = report->patrons;
  EXPECT_EQ(c.rows, 3);
  EXPECT_EQ(c.imported, 3);
  EXPECT_EQ(c.refused, 0);
  EXPECT_EQ(c.juvenile, 2);  // 11 years old, and 17 (18 tomorrow); 18 today is an adult
  EXPECT_EQ(c.history_opt_in, 1);
  EXPECT_EQ(c.default_expiry, 1);
  EXPECT_EQ(c.dropped, (std::map<std::string, int64_t>{{"borrowernotes", 1},
                                                       {"branchcode", 2},
                                                       {"categorycode", 2},
                                                       {"dateenrolled", 1},
                                                       {"email (not an address)", 1},
                                                       {"mobile (a phone number is kept)", 1},
                                                       {"othernames", 1},
                                                       {"password", 1},
                                                       {"sex", 2}}));

  auto a = Find("K-0001");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->name, "Siobhán Ó Briain");
  EXPECT_EQ(a->email, "siobhan@example.org");
  EXPECT_EQ(a->phone, "203-555-0100");
  EXPECT_EQ(a->postal_address, "12 Main Street\nApt 4\nWestport, CT 06880\nUSA");
  EXPECT_TRUE(a->juvenile);
  EXPECT_EQ(a->expires_on, D(2027, 6, 30));
  EXPECT_TRUE(a->history_opt_in);  // Koha privacy 0: keep my history

  auto b = Find("K-0002");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->phone, "203-555-0150");  // the mobile, when there is no phone
  EXPECT_TRUE(b->juvenile);
  EXPECT_EQ(b->expires_on, D(2028, 1, 31));
  EXPECT_FALSE(b->history_opt_in);  // privacy 1, Koha's default

  auto c3 = Find("K-0003");
  ASSERT_TRUE(c3.ok());
  EXPECT_FALSE(c3->juvenile);
  EXPECT_EQ(c3->email, "");                   // not an address: dropped, counted
  EXPECT_EQ(c3->expires_on, D(2027, 12, 1));  // none given: a year from the import
  EXPECT_FALSE(c3->history_opt_in);           // privacy 2: never

  // The report says what was kept and dropped, and names no patron.
  std::string text = report->Text();
  EXPECT_NE(text.find("3 imported"), std::string::npos) << text;
  EXPECT_NE(text.find("sex: 2"), std::string::npos) << text;
  for (const char* value : {"Siobh", "Briain", "mysteries", "K-0001", "2015-04-01", "hash"}) {
    EXPECT_EQ(text.find(value), std::string::npos) << value;
    EXPECT_EQ(report->CountsJson().find(value), std::string::npos) << value;
  }
}

TEST_F(KohaImportTest, BadRowsAreListedByFileAndLineWithoutTheirValues) {
  NewPatron existing;
  existing.card_barcode = "K-0100";
  existing.name = "Already Here";
  existing.expires_on = D(2028, 1, 1);
  ASSERT_TRUE(lib_.circulation().AddPatron(testing::kStaff, existing).ok());
  auto file = Write("patrons.csv",
                    "cardnumber,surname,firstname,dateofbirth,dateexpiry,privacy\n"
                    "K-0101,Goodrow,Ada,,2028-01-01,1\n"           // 2
                    "K-0102,,Nosurname,,2028-01-01,1\n"            // 3
                    ",Nocard,Zed,,2028-01-01,1\n"                  // 4
                    "K-0103,Baddate,Bo,1990-02-30,2028-01-01,1\n"  // 5
                    "K-0104,Badexpiry,Cy,,31/12/2028,1\n"          // 6
                    "K-0105,Badprivacy,Di,,2028-01-01,7\n"         // 7
                    "K-0101,Twiceincard,Ed,,2028-01-01,1\n"        // 8
                    "K-0100,Clashwithcarrel,Flo,,2028-01-01,1\n"   // 9
                    "K-0106,Future,Gus,2030-01-01,2028-01-01,1\n"  // 10
                    "K-0107,Toomany,Hal,,2028-01-01,1,extra\n"     // 11
                    "K-0108,Goodrow,Ivy,,2028-01-01,0\n");         // 12
  auto report = Import(file);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->patrons.imported, 2);
  EXPECT_EQ(report->patrons.refused, 9);
  EXPECT_EQ(report->problems,
            (std::vector<std::string>{
                "patrons.csv:3: no surname",
                "patrons.csv:4: no cardnumber",
                "patrons.csv:5: dateofbirth is not a date (YYYY-MM-DD)",
                "patrons.csv:6: dateexpiry is not a date (YYYY-MM-DD)",
                "patrons.csv:7: privacy is not 0, 1 or 2",
                "patrons.csv:8: the same cardnumber as an earlier row",
                "patrons.csv:9: a patron with this cardnumber is already in carrel",
                "patrons.csv:10: dateofbirth is in the future",
                "patrons.csv:11: more fields than the header has columns",
            }));
  EXPECT_TRUE(Find("K-0101").ok());
  EXPECT_TRUE(Find("K-0108").ok());
  EXPECT_EQ(Find("K-0103").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Find("K-0100")->name, "Already Here");  // not overwritten
  std::string text = report->Text();
  for (const char* value : {"Nosurname", "Nocard", "Baddate", "1990-02-30", "31/12/2028",
                            "Twiceincard", "Clashwithcarrel", "extra", "K-01"}) {
    EXPECT_EQ(text.find(value), std::string::npos) << value;
  }
}

TEST_F(KohaImportTest, StrictStopsAtTheFirstBadRowAndDryRunWritesNothing) {
  int64_t before = CountRows("patrons");
  auto file = Write("patrons.csv",
                    "cardnumber,surname\n"
                    "K-0201,Alpha\n"
                    "K-0202,\n"
                    "K-0203,Gamma\n"
                    ",Delta\n");
  KohaImportOptions strict;
  strict.strict = true;
  auto refused = Import(file, strict);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(), "patrons.csv:3: no surname");
  EXPECT_EQ(CountRows("patrons"), before);  // not even the good row before it
  EXPECT_EQ(CountRows("import_progress"), 0);

  KohaImportOptions dry;
  dry.dry_run = true;
  auto checked = Import(file, dry);
  ASSERT_TRUE(checked.ok());
  EXPECT_TRUE(checked->dry_run);
  EXPECT_EQ(checked->patrons.imported, 2);  // would be
  EXPECT_EQ(checked->problems.size(), 2u);
  EXPECT_NE(checked->Text().find("dry run, nothing written"), std::string::npos);
  EXPECT_EQ(CountRows("patrons"), before);
  EXPECT_EQ(CountRows("import_progress"), 0);

  // A strict run on a clean file writes it all.
  auto clean = Write("clean.csv", "cardnumber,surname\nK-0211,One\nK-0212,Two\n");
  auto done = Import(clean, strict);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(CountRows("patrons"), before + 2);
}

TEST_F(KohaImportTest, AStoppedImportContinuesWhereItStoppedWithoutDuplicates) {
  std::string csv = "cardnumber,surname,privacy\n";
  for (int i = 1; i <= 10; ++i) {
    csv += "K-03" + std::to_string(10 + i) + ",Patron" + std::to_string(i) + "," +
           (i == 5       ? ""
            : i % 2 == 0 ? "0"
                         : "1") +
           "\n";
  }
  csv += ",Refused\n";  // line 12
  auto file = Write("patrons.csv", csv);
  int64_t before = CountRows("patrons");
  KohaImportOptions options;
  options.batch_rows = 3;
  int batches = 0;
  options.after_batch = [&]() -> Status {
    // Killed after the second batch is committed.
    return ++batches == 2 ? Unavailable("killed") : Status::Ok();
  };
  auto stopped = Import(file, options);
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(CountRows("patrons"), before + 6);

  options.after_batch = nullptr;
  auto resumed = Import(file, options);
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  EXPECT_EQ(resumed->patrons.already_done, 6);
  EXPECT_EQ(resumed->patrons.imported, 4);
  EXPECT_EQ(resumed->patrons.refused, 1);
  EXPECT_EQ(resumed->patrons.history_opt_in, 5);  // counted across both runs, once each
  EXPECT_EQ(CountRows("patrons"), before + 10);
  for (int i = 1; i <= 10; ++i) {
    EXPECT_TRUE(Find("K-03" + std::to_string(10 + i)).ok()) << i;
  }
  // Run again: nothing more to do, nothing twice.
  auto again = Import(file, options);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->patrons.imported, 0);
  EXPECT_EQ(again->patrons.already_done, 10);
  EXPECT_EQ(CountRows("patrons"), before + 10);
  // The progress is kept under the file's hash, never its name or content.
  std::string ids;
  ASSERT_TRUE(WithReadTransaction(lib_.library->store(), [&](Transaction& tx) {
                return tx.Exec("SELECT id, counts FROM import_progress", {}, [&](const Row& r) {
                  ids += r.Text(0) + " " + r.Text(1) + "\n";
                  return Status::Ok();
                });
              }).ok());
  EXPECT_EQ(ids.find("patrons.csv"), std::string::npos) << ids;
  EXPECT_EQ(ids.find("Patron"), std::string::npos) << ids;
  EXPECT_EQ(ids.find("K-03"), std::string::npos) << ids;
}

TEST_F(KohaImportTest, AnImportKilledPartWayContinuesOnTheNextRunWithoutDuplicates) {
  constexpr int kPatrons = 40000;
  std::string csv = "cardnumber,surname,firstname,privacy\n";
  for (int i = 1; i <= kPatrons; ++i) {
    csv += "K-" + std::to_string(1000000 + i) + ",Surname" + std::to_string(i) + ",Given," +
           (i % 7 == 0 ? "0" : "1") + "\n";
  }
  auto file = Write("borrowers.csv", csv);
  std::string data = (lib_.dir / "lib").string();
  std::string report = (lib_.dir / "first-report.txt").string();
  std::string binary = CARREL_BINARY;
  std::vector<std::string> args = {binary,      "import",      "koha",     "--data", data,
                                   "--patrons", file.string(), "--report", report};
  pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    dup2(devnull, 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  ASSERT_GT(pid, 0);
  // Killed as soon as its first batch is committed.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (CountRows("import_progress") == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the import ended before it could be killed";
  int64_t after_kill = CountRows("patrons");
  EXPECT_GT(after_kill, 0);
  EXPECT_LT(after_kill, kPatrons);
  EXPECT_EQ(after_kill % 2000, 0) << "only whole batches are committed";

  std::filesystem::remove(report);
  auto rerun = testing::RunCarrel(
      {"import", "koha", "--data", data, "--patrons", file.string(), "--report", report});
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  EXPECT_NE(rerun.out.find("imported " + std::to_string(kPatrons) + " of " +
                           std::to_string(kPatrons) + " patron rows, 0 refused"),
            std::string::npos)
      << rerun.out;
  EXPECT_EQ(CountRows("patrons"), kPatrons);
  int64_t distinct = -1;
  ASSERT_TRUE(WithReadTransaction(lib_.library->store(), [&](Transaction& tx) -> Status {
                CARREL_ASSIGN_OR_RETURN(distinct,
                                        tx.QueryInt("SELECT count(DISTINCT card_bi) FROM patrons"));
                return Status::Ok();
              }).ok());
  EXPECT_EQ(distinct, kPatrons);
  EXPECT_TRUE(Find("K-1000001").ok());
  EXPECT_TRUE(Find("K-" + std::to_string(1000000 + kPatrons)).ok());
  std::string text = ReadFile(report);
  EXPECT_NE(text.find("by an earlier run"), std::string::npos) << text;
  EXPECT_NE(
      text.find("keeping their reading history (Koha privacy 0): " + std::to_string(kPatrons / 7)),
      std::string::npos)
      << text;
}

TEST_F(KohaImportTest, FilesThatAreNotKohaPatronExportsAreRefusedWithNothingWritten) {
  int64_t before = CountRows("patrons");
  struct Case {
    std::string bytes;
    std::string says;
  };
  std::vector<Case> cases = {
      {"surname,firstname\nNg,Al\n", "has no cardnumber column"},
      {"cardnumber,firstname\nK-1,Al\n", "has no surname column"},
      {"", "is empty"},
      {"cardnumber,surname,cardnumber\nK-1,Ng,K-2\n",
       "bad.csv: columns 1 and 3 of the header have the same name"},
      {std::string("cardnumber,surname\nK-1,N\0g\n", 25), "it is not a CSV text file"},
      {std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16), "it is not a CSV text file"},
      {"cardnumber,surname\nK-1,Mu\xF1oz\n", "line 2 is not UTF-8"},
      {"cardnumber,surname\nK-1,\"Ng\n", "line 2 opens a quoted field that is never closed"},
  };
  for (const Case& c : cases) {
    auto file = Write("bad.csv", c.bytes);
    auto r = Import(file);
    ASSERT_FALSE(r.ok()) << c.says;
    EXPECT_NE(r.status().message().find(c.says), std::string::npos) << r.status().ToString();
    EXPECT_EQ(CountRows("patrons"), before) << c.says;
  }
  // Latin-1, when the operator says so.
  auto latin1 = Write("latin1.csv", "cardnumber,surname,firstname\nK-0401,Mu\xF1oz,Jos\xE9\n");
  KohaImportOptions options;
  options.encoding = TextEncoding::kLatin1;
  ASSERT_TRUE(Import(latin1, options).ok());
  EXPECT_EQ(Find("K-0401")->name, "Jos\xC3\xA9 Mu\xC3\xB1oz");
  auto none = ImportFromKoha(*lib_.library, KohaImportOptions{});
  EXPECT_EQ(none.status().code(), StatusCode::kInvalidArgument);

  // A bad file anywhere stops the import before anything is written, a good file before it
  // included.
  KohaImportOptions both;
  both.progress = false;
  both.patrons = Write("good.csv", "cardnumber,surname\nK-0451,Ng\n");
  both.history = Write("bad-history.csv",
                       "cardnumber,barcode,issuedate,returndate\n"
                       "K-0451,B-1,2025-01-01,2025-01-02\n"
                       "K-0451,\"B-1,2025-01-01,2025-01-02\n");
  auto stopped = ImportFromKoha(*lib_.library, both);
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.status().message(),
            "bad-history.csv: line 3 opens a quoted field that is never closed");
  EXPECT_EQ(Find("K-0451").status().code(), StatusCode::kNotFound);
  both.history.clear();
  both.items = Write("not-marc.mrc", "cardnumber,surname\n");
  stopped = ImportFromKoha(*lib_.library, both);
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.status().message(), "not-marc.mrc is neither MARC 21 (ISO 2709) nor MARCXML");
  EXPECT_EQ(Find("K-0451").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(CountRows("import_progress"), 1);  // the Latin-1 file's, above
}

TEST_F(KohaImportTest, UnusualNamesAndAddressesAreSealedAndFoundNowhereOnDisk) {
  std::ostringstream log;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("canary", sink));
  const std::vector<std::string> canaries = {"CANARYKOHACARD7731",
                                             "Þórhildur-Zanzibarová",
                                             "O'Canaryhaughnessy",
                                             "zanzibarova.canary@example.net",
                                             "4471 Kohacanary Boulevard, \"Rear\"",
                                             "Canaryville-sur-Mer",
                                             "CANARYPHONE6630",
                                             "王蜜蜂金丝雀"};
  auto file = Write(
      "canary.csv",
      "cardnumber,firstname,surname,email,address,city,phone,dateofbirth,dateexpiry,privacy\n" +
          canaries[0] + "," + canaries[1] + "," + canaries[2] + "," + canaries[3] + ",\"" +
          "4471 Kohacanary Boulevard, \"\"Rear\"\"" + "\"," + canaries[5] + "," + canaries[6] +
          ",1961-07-19,2029-01-01,0\n"
          "CANARYKOHACARD7732," +
          canaries[7] + ",Wang,,,,,,2029-01-01,1\n");
  auto report = Import(file);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->patrons.imported, 2);
  auto p = Find(canaries[0]);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->name, canaries[1] + " " + canaries[2]);
  EXPECT_EQ(p->postal_address, canaries[4] + "\n" + canaries[5]);
  ASSERT_TRUE(lib_.library->Backup(lib_.dir / "data.bak").ok());
  ASSERT_TRUE(lib_.library->BackupKeys(lib_.dir / "keys.bak").ok());
  // The command too: its output, and a second library's files.
  std::string report_file = (lib_.dir / "report.txt").string();
  auto cli = testing::RunCarrel({"import", "koha", "--data", (lib_.dir / "lib").string(),
                                 "--patrons", file.string(), "--report", report_file});
  EXPECT_EQ(cli.exit_code, 0) << cli.err;  // every row refused now: already in carrel
  spdlog::set_default_logger(previous);

  std::filesystem::path data = lib_.dir / "lib";
  std::vector<std::filesystem::path> files = {data / "carrel.db",    data / "carrel.db-wal",
                                              data / "keyring.db",   data / "keyring.db-wal",
                                              lib_.dir / "data.bak", lib_.dir / "keys.bak"};
  if (testing::LibrariesOnPostgres()) {
    for (const auto& f : testing::PostgresServerFiles()) files.push_back(f);
  }
  std::vector<std::pair<std::string, std::string>> haystacks;
  for (const auto& f : files) {
    if (std::filesystem::exists(f)) haystacks.emplace_back(f.string(), ReadFile(f));
  }
  haystacks.emplace_back("report", report->Text() + report->CountsJson());
  haystacks.emplace_back("the command's report", ReadFile(report_file));
  haystacks.emplace_back("the command's output", cli.out + cli.err);
  haystacks.emplace_back("log", log.str());
  ASSERT_GE(haystacks.size(), 5u);
  // The birth date is not kept anywhere either.
  std::vector<std::string> secrets = canaries;
  secrets.push_back("1961-07-19");
  for (const std::string& secret : secrets) {
    for (const auto& [where, bytes] : haystacks) {
      EXPECT_EQ(bytes.find(secret), std::string::npos) << secret << " found in " << where;
    }
  }
}

TEST_F(KohaImportTest, TheCommandWritesAReportAnAuditEntryAndRefusesInOneLine) {
  std::string data = (lib_.dir / "lib").string();
  auto file = Write("borrowers.csv", "cardnumber,surname,sex\nK-0501,Ng,F\nK-0502,,M\n");
  std::string report = (lib_.dir / "report.txt").string();
  auto dry = testing::RunCarrel({"import", "koha", "--data", data, "--patrons", file.string(),
                                 "--report", report, "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_NE(dry.out.find("dry run, nothing written: would import 1 of 2"), std::string::npos)
      << dry.out;
  EXPECT_EQ(Find("K-0501").status().code(), StatusCode::kNotFound);
  // The report is never overwritten.
  auto again = testing::RunCarrel(
      {"import", "koha", "--data", data, "--patrons", file.string(), "--report", report});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_EQ(again.err,
            "carrel: the report " + report + " already exists; carrel will not overwrite it\n");
  std::filesystem::remove(report);

  auto run = testing::RunCarrel(
      {"import", "koha", "--data", data, "--patrons", file.string(), "--report", report});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("imported 1 of 2 patron rows, 1 refused"), std::string::npos);
  EXPECT_NE(run.out.find("delete them"), std::string::npos);
  std::string text = ReadFile(report);
  EXPECT_NE(text.find("borrowers.csv:3: no surname"), std::string::npos) << text;
  EXPECT_NE(text.find("sex: 1"), std::string::npos) << text;
  EXPECT_TRUE(Find("K-0501").ok());
  int64_t entries = 0;
  Status counted = WithReadTransaction(lib_.library->store(), [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(entries, tx.QueryInt("SELECT count(*) FROM audit_log WHERE "
                                                 "carrel_audit_field(entry, 2) = ?",
                                                 {std::string("library.import_koha")}));
    return Status::Ok();
  });
  ASSERT_TRUE(counted.ok()) << counted.ToString();
  EXPECT_EQ(entries, 1);  // the dry run left none
  // Nothing of the input is copied into the data directory.
  for (const auto& entry : std::filesystem::recursive_directory_iterator(data)) {
    EXPECT_NE(entry.path().filename(), "borrowers.csv");
  }

  std::filesystem::remove(report);
  auto bad = Write("bad.csv", "surname\nNg\n");
  auto refused = testing::RunCarrel(
      {"import", "koha", "--data", data, "--patrons", bad.string(), "--report", report});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_EQ(refused.err,
            "carrel: bad.csv has no cardnumber column: is it a Koha export with its header "
            "line?\n");
  EXPECT_FALSE(std::filesystem::exists(report));
  auto encoding = testing::RunCarrel(
      {"import", "koha", "--data", data, "--patrons", file.string(), "--encoding", "ebcdic"});
  EXPECT_EQ(encoding.exit_code, 2);
}

using testing::Iso2709;
using testing::MarcField;

// A catalogue in MARC with Koha's 952 item fields, every state Koha gives an item.
std::string Catalogue() {
  auto record = [](std::string title, std::string author,
                   std::vector<std::vector<std::pair<char, std::string>>> items) {
    std::vector<MarcField> f = {
        {"001", "bib", {}}, {"100", "", {{'a', author}}}, {"245", "", {{'a', title}}}};
    for (auto& i : items) f.push_back({"952", "", i});
    return Iso2709(f);
  };
  return record("War and peace /", "Tolstoy, Leo,",
                {{{'p', "B-1"}, {'o', "FIC TOL"}, {'y', "BK"}, {'a', "CPL"}, {'b', "CPL"}},
                 {{'p', "B-2"}, {'y', "BK"}, {'1', "1"}},     // lost
                 {{'p', "B-3"}, {'y', "BK"}, {'0', "1"}},     // withdrawn
                 {{'p', "B-4"}, {'y', "BK"}, {'7', "1"}}}) +  // not for loan
         record("Casablanca", "Curtiz, Michael,",
                {{{'p', "D-1"}, {'y', "DVD"}, {'0', "0"}},  // "0": not withdrawn
                 {{'y', "DVD"}},                            // no barcode
                 {{'p', "D-2"}, {'y', "ZZ"}},               // a type the profile does not lend
                 {{'p', "B-1"}, {'y', "BK"}}}) +            // a barcode seen already
         Iso2709({{"245", "", {{'a', "A record with no items"}}}});
}

TEST_F(KohaImportTest, ItemsComeFromMarcAndCarryTheirKohaStates) {
  auto file = Write("catalogue.mrc", Catalogue());
  KohaImportOptions options;
  options.items = file;
  options.item_types = {{"BK", "book"}};  // DVD is the profile's "dvd" as it is
  options.progress = false;
  auto report = ImportFromKoha(*lib_.library, options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  const KohaImportCounts& c = report->items;
  EXPECT_EQ(c.rows, 8);
  EXPECT_EQ(c.imported, 3);
  EXPECT_EQ(c.refused, 3);
  EXPECT_EQ(c.notes,
            (std::map<std::string, int64_t>{{"bibliographic records without a 952 item field", 1},
                                            {"lost in Koha (952 $1): imported as missing", 1},
                                            {"not for loan in Koha (952 $7): not brought over", 1},
                                            {"withdrawn in Koha (952 $0): not brought over", 1}}));
  EXPECT_EQ(c.dropped.at("952 $a (branch: carrel is one library)"), 1);
  EXPECT_EQ(report->problems,
            (std::vector<std::string>{
                "catalogue.mrc: record 2, item 2: no barcode (952 $p)",
                "catalogue.mrc: record 2, item 3: item type ZZ is not one the profile lends: "
                "map it with --item-type ZZ=TYPE",
                "catalogue.mrc: record 2, item 4: the same barcode as an earlier item"}));
  auto b1 = lib_.circulation().FindItemByBarcode("B-1");
  ASSERT_TRUE(b1.ok());
  EXPECT_EQ(b1->title, "War and peace");
  EXPECT_EQ(b1->author, "Tolstoy, Leo");
  EXPECT_EQ(b1->call_number, "FIC TOL");
  EXPECT_EQ(b1->item_type, "book");
  EXPECT_EQ(b1->status, ItemStatus::kAvailable);
  EXPECT_EQ(lib_.circulation().FindItemByBarcode("B-2")->status, ItemStatus::kMissing);
  EXPECT_EQ(lib_.circulation().FindItemByBarcode("D-1")->item_type, "dvd");
  for (const char* absent : {"B-3", "B-4", "D-2"}) {
    EXPECT_EQ(lib_.circulation().FindItemByBarcode(absent).status().code(), StatusCode::kNotFound)
        << absent;
  }
  // The same catalogue in MARCXML, into another library, gives the same items.
  testing::TestLibrary other;
  std::vector<std::vector<MarcField>> xml_records = {
      {{"245", "", {{'a', "War and peace /"}}}, {"952", "", {{'p', "B-1"}, {'y', "BK"}}}}};
  auto xml = Write("catalogue.xml", testing::MarcXml(xml_records));
  options.items = xml;
  auto from_xml = ImportFromKoha(*other.library, options);
  ASSERT_TRUE(from_xml.ok()) << from_xml.status().ToString();
  EXPECT_EQ(other.circulation().FindItemByBarcode("B-1")->title, "War and peace");
}

// Found by the marc fuzz target: a leader whose position 11 gives subfield codes longer than a
// subfield holds made YAZ read past the subfield's end. Such records, and subfield codes that
// are not ASCII, are refused by number; the records before them are read.
TEST_F(KohaImportTest, MarcRecordsThatAreNotMarc21AreRefusedByNumber) {
  const std::vector<MarcField> good = {{"245", "", {{'a', "A title"}}}};
  const std::vector<MarcField> short_subfield = {{"245", "", {{'a', ""}}}};
  std::string long_codes = Iso2709(short_subfield);
  long_codes[11] = '9';
  std::string xml = testing::MarcXml({good, short_subfield});
  size_t second = xml.find("a2200000", xml.find("a2200000") + 1);
  ASSERT_NE(second, std::string::npos);
  xml[second + 2] = '9';
  // YAZ reads the leader's last text node: what comes before a comment does not hide it.
  std::string split_xml = xml;
  split_xml.insert(split_xml.rfind("<leader>") + 8, "x<!-- -->");
  const std::string marc21 = "is not MARC 21: its leader must hold 22 at positions 10 and 11";
  struct Case {
    std::string name, bytes, refusal;
  } cases[] = {
      {"long-codes.mrc", Iso2709(good) + long_codes, "record 2 " + marc21},
      {"long-codes.xml", xml, "record 2 " + marc21},
      {"split-leader.xml", split_xml, "record 2 " + marc21},
      {"high-code.mrc", Iso2709(good, true) + Iso2709({{"245", "", {{'\xe1', ""}}}}, true),
       "record 2 is not MARC 21: a subfield code is not an ASCII letter or digit"},
  };
  for (const Case& c : cases) {
    auto reader = MarcReader::Open(Write(c.name, c.bytes));
    ASSERT_TRUE(reader.ok()) << c.name;
    MarcRecord record;
    auto first = (*reader)->Next(&record);
    ASSERT_TRUE(first.ok() && *first) << c.name;
    EXPECT_EQ(record.title, "A title") << c.name;
    auto refused = (*reader)->Next(&record);
    EXPECT_EQ(refused.status().message(), c.refusal) << c.name;
  }
}

TEST_F(KohaImportTest, LoansHistoryAndFinesFollowThePatronsAndItems) {
  auto patrons = Write("patrons.csv",
                       "cardnumber,surname,privacy\n"
                       "K-0601,Keeps,0\n"      // keeps a reading history
                       "K-0602,Forgets,1\n");  // does not
  auto items = Write("catalogue.mrc", Catalogue());
  auto loans = Write("loans.csv",
                     "cardnumber,barcode,issuedate,date_due,renewals,branchcode\n"
                     "K-0601,B-1,2026-11-20,2026-12-11,1,CPL\n"
                     "K-0602,B-2,2026-11-20,2026-12-11,0,CPL\n"  // lost: not on the shelf
                     "K-0602,B-1,2026-11-21,2026-12-12,0,\n"     // the same item again
                     "K-9999,D-1,2026-11-21,2026-12-12,0,\n"     // no such patron
                     "K-0602,Z-9,2026-11-21,2026-12-12,0,\n"     // no such item
                     "K-0602,D-1,2026-11-21,soon,0,\n");         // a bad date
  auto history = Write("old_issues.csv",
                       "cardnumber,barcode,issuedate,returndate\n"
                       "K-0601,D-1,2025-01-02,2025-01-20\n"
                       "K-0601,B-1,2025-02-02,2025-02-20\n"
                       "K-0602,D-1,2025-03-02,2025-03-20\n"    // keeps no history
                       "K-0602,B-1,2025-04-02,2025-04-20\n"    // nor this
                       "K-0601,D-1,2025-05-20,2025-05-02\n");  // returned before lent
  auto fines = Write("accountlines.csv",
                     "cardnumber,amount,description,date\n"
                     "K-0602,2.50,Overdue: a title named here,2026-10-01\n"
                     "K-0601,0.00,,\n"
                     "K-0601,12,,\n"
                     "K-0601,-3,,\n");
  KohaImportOptions options;
  options.patrons = patrons;
  options.items = items;
  options.loans = loans;
  options.history = history;
  options.fines = fines;
  options.item_types = {{"BK", "book"}};
  options.progress = false;

  // A dry run of everything together checks the loans against the patrons and items it would
  // have brought in, and writes nothing.
  options.dry_run = true;
  int64_t before = CountRows("loans");
  auto dry = ImportFromKoha(*lib_.library, options);
  ASSERT_TRUE(dry.ok()) << dry.status().ToString();
  EXPECT_EQ(dry->loans.imported, 1);
  EXPECT_EQ(dry->history.imported, 2);
  EXPECT_EQ(dry->fines.imported, 2);
  EXPECT_EQ(CountRows("loans"), before);
  EXPECT_EQ(CountRows("patrons"), 0);

  options.dry_run = false;
  auto report = ImportFromKoha(*lib_.library, options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->loans.imported, 1);
  EXPECT_EQ(report->loans.refused, 5);
  EXPECT_EQ(report->loans.dropped.at("branchcode"), 1);  // counted on rows brought over
  EXPECT_EQ(report->history.imported, 2);
  EXPECT_EQ(report->history.refused, 1);
  EXPECT_EQ(report->history.notes.at("returned loans of patrons who keep no reading history: "
                                     "not brought over (policy §2, §3)"),
            2);
  EXPECT_EQ(report->fines.imported, 2);
  EXPECT_EQ(report->fines.refused, 1);
  EXPECT_EQ(report->fines.dropped.at("description"), 1);
  std::vector<std::string> loan_problems(report->problems.begin(), report->problems.end());
  EXPECT_NE(std::find(loan_problems.begin(), loan_problems.end(),
                      "loans.csv:3: the item is not on the shelf in carrel"),
            loan_problems.end());
  EXPECT_NE(std::find(loan_problems.begin(), loan_problems.end(),
                      "old_issues.csv:6: returndate is before issuedate"),
            loan_problems.end());
  EXPECT_NE(std::find(loan_problems.begin(), loan_problems.end(),
                      "accountlines.csv:5: amount is not a sum of money (12.50)"),
            loan_problems.end());
  for (const std::string& p : report->problems) {
    EXPECT_EQ(p.find("K-0"), std::string::npos) << p;
    EXPECT_EQ(p.find("a title named here"), std::string::npos) << p;
  }

  auto keeps = Find("K-0601");
  auto forgets = Find("K-0602");
  ASSERT_TRUE(keeps.ok() && forgets.ok());
  auto lent = lib_.circulation().ActiveLoans(testing::kStaff, keeps->id);
  ASSERT_TRUE(lent.ok());
  ASSERT_EQ(lent->size(), 1u);
  EXPECT_EQ((*lent)[0].due_on, D(2026, 12, 11));
  EXPECT_EQ((*lent)[0].renewals, 1);
  EXPECT_EQ(lib_.circulation().FindItemByBarcode("B-1")->status, ItemStatus::kOnLoan);
  // The imported loan is an ordinary loan: it comes back at the desk.
  EXPECT_TRUE(lib_.circulation().Checkin(testing::kStaff, "B-1").ok());
  // The reading history came over for the patron who keeps one, under their own key.
  auto kept = lib_.circulation().PatronHistory(testing::kStaff, keeps->id);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->size(), 3u);  // two imported, and the loan just returned
  auto none = lib_.circulation().PatronHistory(testing::kStaff, forgets->id);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  auto owed = lib_.circulation().PatronFines(testing::kStaff, forgets->id);
  ASSERT_TRUE(owed.ok());
  ASSERT_EQ(owed->size(), 1u);
  EXPECT_EQ((*owed)[0].amount_cents, 250);
  auto twelve = lib_.circulation().PatronFines(testing::kStaff, keeps->id);
  ASSERT_TRUE(twelve.ok());
  ASSERT_EQ(twelve->size(), 1u);
  EXPECT_EQ((*twelve)[0].amount_cents, 1200);
  std::string text = report->Text();
  EXPECT_NE(text.find("Returned loans (reading histories): 5 rows; 2 imported"), std::string::npos)
      << text;
}

}  // namespace
}  // namespace carrel
