#include "carrel/profile.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace carrel {
namespace {

namespace fs = std::filesystem;

// A valid profile, one string per line so that tests can change a line and know its number.
const std::vector<std::string> kValidLines = {
    "[library]",                                // 1
    "name = \"Test Library\"",                  // 2
    "address = [\"1 Main St\", \"Town\"]",      // 3
    "phone = \"555-0100\"",                     // 4
    "time_zone = \"America/New_York\"",         // 5
    "",                                         // 6
    "[hours]",                                  // 7
    "closed_dates = [\"2026-12-25\"]",          // 8
    "",                                         // 9
    "[hours.library]",                          // 10
    "monday = \"09:00-21:00\"",                 // 11
    "tuesday = \"09:00-21:00\"",                // 12
    "wednesday = \"09:00-21:00\"",              // 13
    "thursday = \"09:00-21:00\"",               // 14
    "friday = \"09:00-18:00\"",                 // 15
    "saturday = \"09:00-17:00\"",               // 16
    "sunday = \"closed\"",                      // 17
    "",                                         // 18
    "[hours.cafe]",                             // 19
    "monday = \"10:00-16:00\"",                 // 20
    "tuesday = \"10:00-16:00\"",                // 21
    "wednesday = \"10:00-16:00\"",              // 22
    "thursday = \"10:00-16:00\"",               // 23
    "friday = \"10:00-16:00\"",                 // 24
    "saturday = \"closed\"",                    // 25
    "sunday = \"closed\"",                      // 26
    "",                                         // 27
    "[circulation]",                            // 28
    "renewal_limit = 2",                        // 29
    "hold_pickup_days = 7",                     // 30
    "fine_per_day_cents = 25",                  // 31
    "fine_cap_cents = 1000",                    // 32
    "",                                         // 33
    "[circulation.loan_days]",                  // 34
    "book = 21",                                // 35
    "dvd = 7",                                  // 36
    "",                                         // 37
    "[policy]",                                 // 38
    "title = \"Privacy Policy\"",               // 39
    "version = \"v1\"",                         // 40
    "document = \"policy.txt\"",                // 41
    "",                                         // 42
    "[[policy.history]]",                       // 43
    "event = \"adopted\"",                      // 44
    "date = \"2003-05-12\"",                    // 45
    "",                                         // 46
    "[[policy.history]]",                       // 47
    "event = \"amended\"",                      // 48
    "date = \"2007-10-17\"",                    // 49
    "note = \"after P.A. 07-227\"",             // 50
    "",                                         // 51
    "[statute]",                                // 52
    "citation = \"Statute 1\"",                 // 53
    "summary = \"Records are confidential.\"",  // 54
};

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) out += line + "\n";
  return out;
}

class ProfileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/carrel_profile_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    WriteFile("policy.txt", "1. Statement of Purpose\nWe keep records private.\n");
  }
  void TearDown() override { fs::remove_all(dir_); }

  void WriteFile(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }

  StatusOr<Profile> Parse(const std::vector<std::string>& lines) {
    return ParseProfile(Join(lines), "test.toml", dir_);
  }

  // The valid profile with line `line` (1-based) replaced.
  static std::vector<std::string> With(int line, const std::string& text) {
    std::vector<std::string> lines = kValidLines;
    lines[static_cast<size_t>(line - 1)] = text;
    return lines;
  }

  // Expects the profile to be refused with "test.toml:LINE: ..." mentioning `words`.
  void ExpectRefusedAt(const std::vector<std::string>& lines, int line, const std::string& words) {
    StatusOr<Profile> p = Parse(lines);
    ASSERT_FALSE(p.ok()) << Join(lines);
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
    const std::string& message = p.status().message();
    std::string prefix = "test.toml:" + std::to_string(line) + ": ";
    EXPECT_EQ(message.substr(0, prefix.size()), prefix) << message;
    EXPECT_NE(message.find(words), std::string::npos) << message;
  }

  fs::path dir_;
};

TEST(ProfileShippedTest, WestportProfileLoads) {
  StatusOr<Profile> p =
      LoadProfile(std::string(CARREL_SOURCE_DIR) + "/profiles/westport/library.toml");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->name, "The Westport Library");
  EXPECT_EQ(p->address_lines, (std::vector<std::string>{"20 Jesup Road", "Westport, CT 06880"}));
  EXPECT_EQ(p->phone, "203.291.4800");
  EXPECT_EQ(p->time_zone, "America/New_York");

  EXPECT_EQ(FormatOpeningPeriod(p->library_hours[0]), "09:00-21:00");
  EXPECT_EQ(FormatOpeningPeriod(p->library_hours[3]), "09:00-21:00");
  EXPECT_EQ(FormatOpeningPeriod(p->library_hours[4]), "09:00-18:00");
  EXPECT_EQ(FormatOpeningPeriod(p->library_hours[5]), "09:00-17:00");
  EXPECT_EQ(FormatOpeningPeriod(p->library_hours[6]), "13:00-17:00");
  EXPECT_EQ(FormatOpeningPeriod(p->cafe_hours[4]), "09:00-17:30");
  EXPECT_EQ(FormatOpeningPeriod(p->cafe_hours[5]), "09:00-16:30");
  EXPECT_EQ(FormatOpeningPeriod(p->cafe_hours[6]), "13:00-16:30");

  ASSERT_EQ(p->closed_dates.size(), 12u);
  EXPECT_EQ(FormatDate(p->closed_dates.front()), "2026-01-01");
  EXPECT_EQ(FormatDate(p->closed_dates.back()), "2027-12-25");
  StatusOr<Date> thanksgiving = ParseDate("2026-11-26");
  EXPECT_TRUE(std::binary_search(p->closed_dates.begin(), p->closed_dates.end(), *thanksgiving));

  EXPECT_EQ(p->loan_days.at("book"), 21);
  EXPECT_EQ(p->loan_days.at("dvd"), 7);
  EXPECT_EQ(p->renewal_limit, 2);
  EXPECT_EQ(p->hold_pickup_days, 7);
  EXPECT_EQ(p->fine_per_day_cents, 20);
  EXPECT_EQ(p->fine_cap_cents, 500);

  EXPECT_EQ(p->policy_title, "Privacy, Confidentiality and Law Enforcement Request Policy");
  EXPECT_EQ(p->policy_version, "2010-09-15");
  EXPECT_EQ(p->policy_document, "policy.txt");
  EXPECT_EQ(p->policy_text.rfind("1. Statement of Purpose", 0), 0u);
  EXPECT_NE(p->policy_text.find("Adopted by the Library Board of Trustees May 12, 2003"),
            std::string::npos);
  EXPECT_EQ(p->policy_text.find("Café Hours"), std::string::npos);
  ASSERT_EQ(p->policy_history.size(), 3u);
  EXPECT_EQ(p->policy_history[0].event, PolicyEventKind::kAdopted);
  EXPECT_EQ(FormatDate(p->policy_history[0].date), "2003-05-12");
  EXPECT_EQ(p->policy_history[1].event, PolicyEventKind::kAmended);
  EXPECT_EQ(FormatDate(p->policy_history[1].date), "2007-10-17");
  EXPECT_EQ(p->policy_history[2].event, PolicyEventKind::kReEndorsed);
  EXPECT_EQ(FormatDate(p->policy_history[2].date), "2010-09-15");

  EXPECT_EQ(p->statute_citation, "Conn. Gen. Stat. § 11-25(b)");
  EXPECT_NE(p->statute_summary.find("P.A. 07-227"), std::string::npos);
}

TEST(ProfileFormatTest, OpeningPeriodsAndWeekdays) {
  EXPECT_EQ(FormatOpeningPeriod(std::nullopt), "closed");
  EXPECT_EQ(FormatOpeningPeriod(OpeningPeriod{13 * 60, 16 * 60 + 30}), "13:00-16:30");
  EXPECT_EQ(FormatOpeningPeriod(OpeningPeriod{0, 24 * 60}), "00:00-24:00");
  EXPECT_EQ(WeekdayName(0), "Monday");
  EXPECT_EQ(WeekdayName(6), "Sunday");
  EXPECT_EQ(WeekdayName(7), "");
}

TEST_F(ProfileTest, ValidProfileParses) {
  StatusOr<Profile> p = Parse(kValidLines);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->library_hours[6], std::nullopt);
  ASSERT_TRUE(p->library_hours[4].has_value());
  EXPECT_EQ(p->library_hours[4]->open_minute, 9 * 60);
  EXPECT_EQ(p->library_hours[4]->close_minute, 18 * 60);
  EXPECT_EQ(p->cafe_hours[5], std::nullopt);
  EXPECT_EQ(p->policy_text, "1. Statement of Purpose\nWe keep records private.\n");
  ASSERT_EQ(p->policy_history.size(), 2u);
  EXPECT_EQ(p->policy_history[0].note, "");
  EXPECT_EQ(p->policy_history[1].note, "after P.A. 07-227");
  EXPECT_EQ(p->loan_days.size(), 2u);
}

TEST_F(ProfileTest, ClosedDatesAreOptionalAndSorted) {
  StatusOr<Profile> none = Parse(With(8, ""));
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->closed_dates.empty());
  StatusOr<Profile> two = Parse(With(8, "closed_dates = [\"2026-12-25\", \"2026-01-01\"]"));
  ASSERT_TRUE(two.ok()) << two.status().ToString();
  ASSERT_EQ(two->closed_dates.size(), 2u);
  EXPECT_EQ(FormatDate(two->closed_dates[0]), "2026-01-01");
}

TEST_F(ProfileTest, TomlSyntaxErrorNamesTheLine) {
  ExpectRefusedAt(With(30, "hold_pickup_days = = 7"), 30, "");
}

TEST_F(ProfileTest, MissingKeyNamesTheTable) {
  ExpectRefusedAt(With(4, ""), 1, "[library] is missing required key 'phone'");
  ExpectRefusedAt(With(17, ""), 10, "[hours.library] is missing required key 'sunday'");
  ExpectRefusedAt(With(31, ""), 28, "fine_per_day_cents");
  ExpectRefusedAt(With(44, ""), 43, "'event'");
  ExpectRefusedAt(With(54, ""), 52, "'summary'");
}

TEST_F(ProfileTest, MissingTableHasNoLine) {
  std::vector<std::string> lines(kValidLines.begin(), kValidLines.begin() + 51);
  StatusOr<Profile> p = Parse(lines);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(), "test.toml: missing required table [statute]");
}

TEST_F(ProfileTest, UnknownKeysAreNamed) {
  ExpectRefusedAt(With(6, "website = \"x\""), 6, "unknown key 'website' in [library]");
  ExpectRefusedAt(With(18, "mon = \"09:00-12:00\""), 18, "unknown key 'mon' in [hours.library]");
  ExpectRefusedAt(With(33, "grace_days = 1"), 33, "unknown key 'grace_days' in [circulation]");
  ExpectRefusedAt(With(46, "by = \"board\""), 46, "unknown key 'by' in [[policy.history]]");
  std::vector<std::string> extra = kValidLines;
  extra.push_back("[branding]");
  extra.push_back("color = \"red\"");
  ExpectRefusedAt(extra, 55, "unknown key 'branding'");
}

TEST_F(ProfileTest, AuditTableNamesWitnessAndVerifierKey) {
  std::vector<std::string> lines = kValidLines;
  lines.push_back("[audit]");
  lines.push_back("witness_command = [\"/usr/local/bin/keep-head\", \"--to\", \"trustees\"]");
  lines.push_back("verifier_key_file = \"/etc/carrel/verifier.key\"");
  StatusOr<Profile> p = Parse(lines);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->witness_command,
            (std::vector<std::string>{"/usr/local/bin/keep-head", "--to", "trustees"}));
  EXPECT_EQ(p->verifier_key_file, "/etc/carrel/verifier.key");
  std::vector<std::string> unknown = kValidLines;
  unknown.push_back("[audit]");
  unknown.push_back("sign_every = 10");
  ExpectRefusedAt(unknown, static_cast<int>(unknown.size()),
                  "unknown key 'sign_every' in [audit]");
  std::vector<std::string> wrong = kValidLines;
  wrong.push_back("[audit]");
  wrong.push_back("witness_command = \"not an array\"");
  StatusOr<Profile> q = Parse(wrong);
  EXPECT_FALSE(q.ok());
}

TEST_F(ProfileTest, PatronsTableSetsTheShortestPinAPatronChooses) {
  StatusOr<Profile> plain = Parse(kValidLines);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->min_pin_length, 6);
  std::vector<std::string> lines = kValidLines;
  lines.push_back("[patrons]");
  lines.push_back("min_pin_length = 8");
  StatusOr<Profile> p = Parse(lines);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->min_pin_length, 8);
  for (const char* bad : {"min_pin_length = 3", "min_pin_length = 13", "min_pin_length = \"6\"",
                          "pin_length = 6"}) {
    std::vector<std::string> wrong = kValidLines;
    wrong.push_back("[patrons]");
    wrong.push_back(bad);
    StatusOr<Profile> q = Parse(wrong);
    EXPECT_FALSE(q.ok()) << bad;
    EXPECT_NE(q.status().message().find(":" + std::to_string(wrong.size()) + ":"),
              std::string::npos)
        << q.status().message();
  }
}

TEST_F(ProfileTest, AKioskIsToldTheFirstNameUnlessTheProfileSaysOtherwise) {
  StatusOr<Profile> plain = Parse(kValidLines);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->kiosk_name, "first");
  for (const char* shown : {"first", "full", "none"}) {
    std::vector<std::string> lines = kValidLines;
    lines.push_back("[patrons]");
    lines.push_back(std::string("kiosk_name = \"") + shown + "\"");
    StatusOr<Profile> p = Parse(lines);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_EQ(p->kiosk_name, shown);
  }
  for (const char* bad : {"kiosk_name = \"surname\"", "kiosk_name = true", "kiosk_name = \"\""}) {
    std::vector<std::string> wrong = kValidLines;
    wrong.push_back("[patrons]");
    wrong.push_back(bad);
    StatusOr<Profile> q = Parse(wrong);
    EXPECT_FALSE(q.ok()) << bad;
    EXPECT_NE(q.status().message().find(":" + std::to_string(wrong.size()) + ":"),
              std::string::npos)
        << q.status().message();
  }
}

TEST_F(ProfileTest, IntakeHoldsLapseAfterTheProfilesDays) {
  StatusOr<Profile> plain = Parse(kValidLines);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->intake_hold_days, 14);
  std::vector<std::string> lines = kValidLines;
  lines.push_back("[requests]");
  lines.push_back("intake_hold_days = 30");
  StatusOr<Profile> p = Parse(lines);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->intake_hold_days, 30);
  for (const char* bad : {"intake_hold_days = 0", "intake_hold_days = 366"}) {
    std::vector<std::string> wrong = kValidLines;
    wrong.push_back("[requests]");
    wrong.push_back(bad);
    EXPECT_FALSE(Parse(wrong).ok()) << bad;
  }
}

TEST_F(ProfileTest, WrongTypes) {
  ExpectRefusedAt(With(2, "name = 42"), 2, "name in [library] must be a string, not an integer");
  ExpectRefusedAt(With(3, "address = \"1 Main St\""), 3, "must be an array");
  ExpectRefusedAt(With(3, "address = [\"1 Main St\", 2]"), 3, "address line");
  ExpectRefusedAt(With(29, "renewal_limit = \"two\""), 29, "must be an integer, not a string");
  ExpectRefusedAt(With(35, "book = 21.5"), 35, "must be an integer, not a float");
  ExpectRefusedAt(With(2, "name = \"  \""), 2, "must not be empty");
}

TEST_F(ProfileTest, BadHours) {
  ExpectRefusedAt(With(11, "monday = \"9-21\""), 11, "\"HH:MM-HH:MM\" or \"closed\"");
  ExpectRefusedAt(With(12, "tuesday = \"09:00-25:00\""), 12, "\"HH:MM-HH:MM\"");
  ExpectRefusedAt(With(13, "wednesday = \"09:60-21:00\""), 13, "\"HH:MM-HH:MM\"");
  ExpectRefusedAt(With(20, "monday = \"16:00-10:00\""), 20,
                  "closing time must be after the opening time");
  ExpectRefusedAt(With(21, "tuesday = \"10:00-10:00\""), 21, "after the opening time");
  ExpectRefusedAt(With(22, "wednesday = \"Closed\""), 22, "\"closed\"");
  ExpectRefusedAt(With(23, "thursday = 9"), 23, "must be a string");
  // 24:00 is a valid closing time.
  StatusOr<Profile> late = Parse(With(14, "thursday = \"09:00-24:00\""));
  ASSERT_TRUE(late.ok()) << late.status().ToString();
  EXPECT_EQ(late->library_hours[3]->close_minute, 24 * 60);
}

TEST_F(ProfileTest, BadDates) {
  ExpectRefusedAt(With(8, "closed_dates = [\"2026-02-30\"]"), 8, "not a calendar date");
  ExpectRefusedAt(With(8, "closed_dates = [\"26-12-25\"]"), 8, "YYYY-MM-DD");
  ExpectRefusedAt(With(8, "closed_dates = [2026-12-25]"), 8, "quoted strings");
  ExpectRefusedAt(With(8, "closed_dates = [\"2026-12-25\", \"2026-12-25\"]"), 8, "listed twice");
  ExpectRefusedAt(With(8, "closed_dates = \"2026-12-25\""), 8, "must be an array");
  ExpectRefusedAt(With(45, "date = \"2003-13-12\""), 45, "not a calendar date");
}

TEST_F(ProfileTest, BadCirculationNumbers) {
  ExpectRefusedAt(With(35, "book = 0"), 35, "loan_days for 'book' must be between 1 and");
  ExpectRefusedAt(With(36, "dvd = -7"), 36, "between 1 and");
  ExpectRefusedAt(With(31, "fine_per_day_cents = -1"), 31, "between 0 and");
  ExpectRefusedAt(With(32, "fine_cap_cents = -500"), 32, "fine_cap_cents");
  ExpectRefusedAt(With(29, "renewal_limit = -1"), 29, "renewal_limit");
  ExpectRefusedAt(With(30, "hold_pickup_days = 0"), 30, "hold_pickup_days");
  std::vector<std::string> no_types = With(35, "");
  no_types[35] = "";
  ExpectRefusedAt(no_types, 34, "at least one item type");
}

TEST_F(ProfileTest, BadTimeZone) {
  ExpectRefusedAt(With(5, "time_zone = \"Mars/Olympus_Mons\""), 5, "time_zone");
  ExpectRefusedAt(With(5, "time_zone = \"../../etc/passwd\""), 5, "time_zone");
}

TEST_F(ProfileTest, PolicyDocumentMustBeReadableAndNotEmpty) {
  ExpectRefusedAt(With(41, "document = \"missing.txt\""), 41, "'missing.txt' cannot be read");
  WriteFile("blank.txt", "  \n\n");
  ExpectRefusedAt(With(41, "document = \"blank.txt\""), 41, "'blank.txt' is empty");
  ExpectRefusedAt(With(41, "document = \"/etc/hostname\""), 41, "relative to the profile");
}

TEST_F(ProfileTest, PolicyHistoryEventsAndOrder) {
  ExpectRefusedAt(With(48, "event = \"repealed\""), 48,
                  "must be one of adopted, amended, re-endorsed");
  ExpectRefusedAt(With(49, "date = \"2001-01-01\""), 49, "not in date order");
  ExpectRefusedAt(With(50, "note = 3"), 50, "note");
  std::vector<std::string> no_history(kValidLines.begin(), kValidLines.begin() + 42);
  no_history.insert(no_history.end(), kValidLines.begin() + 51, kValidLines.end());
  ExpectRefusedAt(no_history, 38, "[policy] is missing required key 'history'");
}

TEST(ProfileLoadTest, MissingFileIsNotFound) {
  StatusOr<Profile> p = LoadProfile("/nonexistent/carrel/library.toml");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kNotFound);
}

TEST_F(ProfileTest, LoadProfileNamesTheFileInMessages) {
  WriteFile("library.toml", Join(With(29, "renewal_limit = \"x\"")));
  fs::path file = dir_ / "library.toml";
  StatusOr<Profile> p = LoadProfile(file);
  ASSERT_FALSE(p.ok());
  std::string prefix = file.string() + ":29: ";
  EXPECT_EQ(p.status().message().substr(0, prefix.size()), prefix) << p.status().message();

  WriteFile("library.toml", Join(kValidLines));
  StatusOr<Profile> good = LoadProfile(file);
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ(good->policy_document, "policy.txt");
}

}  // namespace
}  // namespace carrel

namespace carrel {
namespace {

TEST(ProfileDeskTest, TheDeskIdleTimeIsTenMinutesUnlessTheProfileSaysOtherwise) {
  const std::string dir = std::string(CARREL_SOURCE_DIR) + "/profiles/westport";
  std::string text;
  {
    std::ifstream in(dir + "/library.toml");
    std::stringstream s;
    s << in.rdbuf();
    text = s.str();
  }
  auto parse = [&](const std::string& body) { return ParseProfile(body, "library.toml", dir); };
  auto plain = parse(text);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(plain->desk_idle_minutes, 10);
  auto with = [&](const std::string& line) {
    std::string out = text;
    out.replace(out.find("[circulation]\n"), 14, "[circulation]\n" + line + "\n");
    return out;
  };
  auto three = parse(with("desk_idle_minutes = 3"));
  ASSERT_TRUE(three.ok()) << three.status().ToString();
  EXPECT_EQ(three->desk_idle_minutes, 3);
  for (const char* bad : {"desk_idle_minutes = 0", "desk_idle_minutes = 241"}) {
    EXPECT_FALSE(parse(with(bad)).ok()) << bad;
  }
}

}  // namespace
}  // namespace carrel
