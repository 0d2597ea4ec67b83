#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "carrel/calendar.h"
#include "carrel/clock.h"

namespace carrel {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

Instant At(const std::string& rfc3339) {
  StatusOr<Instant> t = ParseInstant(rfc3339);
  EXPECT_TRUE(t.ok()) << rfc3339;
  return *t;
}

std::chrono::local_seconds Local(const std::string& date, int h, int m) {
  StatusOr<Date> d = ParseDate(date);
  EXPECT_TRUE(d.ok()) << date;
  return std::chrono::local_seconds(d->time_since_epoch()) + hours(h) + minutes(m);
}

TimeZone MustLoad(const std::string& name) {
  StatusOr<TimeZone> zone = TimeZone::Load(name);
  EXPECT_TRUE(zone.ok()) << zone.status().ToString();
  return zone.ok() ? *zone : TimeZone::Utc();
}

// A private zone directory, installed as $TZDIR for the life of the object.
class ScopedZoneDir {
 public:
  ScopedZoneDir() {
    char tmpl[] = "/tmp/carrel_tz_test_XXXXXX";
    dir_ = mkdtemp(tmpl);
    const char* old = std::getenv("TZDIR");
    if (old != nullptr) old_ = old;
    setenv("TZDIR", dir_.c_str(), 1);
  }
  ~ScopedZoneDir() {
    if (old_) {
      setenv("TZDIR", old_->c_str(), 1);
    } else {
      unsetenv("TZDIR");
    }
    std::filesystem::remove_all(dir_);
  }

  struct Type {
    int32_t offset;
    bool dst;
  };

  // Writes a TZif file; version 0 writes only the 32-bit block, '2' adds the 64-bit block and
  // the footer.
  void WriteZone(const std::string& name, char version, const std::vector<int64_t>& times,
                 const std::vector<uint8_t>& type_indexes, const std::vector<Type>& types,
                 const std::string& footer) {
    std::string out = Block(version, times, type_indexes, types, 4);
    if (version != 0) {
      out += Block(version, times, type_indexes, types, 8);
      out += "\n" + footer + "\n";
    }
    WriteRaw(name, out);
  }

  void WriteRaw(const std::string& name, const std::string& bytes) {
    std::filesystem::path path = dir_ / name;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << bytes;
  }

 private:
  static void Put(std::string* out, uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }

  static std::string Block(char version, const std::vector<int64_t>& times,
                           const std::vector<uint8_t>& type_indexes, const std::vector<Type>& types,
                           int time_size) {
    std::string out = "TZif";
    out.push_back(version);
    out.append(15, '\0');
    const uint32_t charcnt = 4;
    for (uint64_t count : {uint64_t{0}, uint64_t{0}, uint64_t{0}, uint64_t{times.size()},
                           uint64_t{types.size()}, uint64_t{charcnt}}) {
      Put(&out, count, 4);
    }
    for (int64_t t : times) Put(&out, static_cast<uint64_t>(t), time_size);
    for (uint8_t i : type_indexes) out.push_back(static_cast<char>(i));
    for (const Type& type : types) {
      Put(&out, static_cast<uint32_t>(type.offset), 4);
      out.push_back(type.dst ? 1 : 0);
      out.push_back(0);
    }
    out.append("XYZ", 4);  // one designation, NUL-terminated
    return out;
  }

  std::filesystem::path dir_;
  std::optional<std::string> old_;
};

TEST(TimeZoneTest, UtcIsZeroEverywhere) {
  TimeZone utc = TimeZone::Utc();
  EXPECT_EQ(utc.name(), "UTC");
  EXPECT_EQ(utc.OffsetAt(At("2026-07-01T12:00:00Z")), seconds(0));
  EXPECT_EQ(utc.OffsetAt(At("1900-01-01T00:00:00Z")), seconds(0));
  EXPECT_EQ(utc.FromLocal(Local("2026-03-08", 2, 30)), At("2026-03-08T02:30:00Z"));
  EXPECT_EQ(utc.ToLocal(At("2026-03-08T02:30:00Z")), Local("2026-03-08", 2, 30));
  TimeZone loaded = MustLoad("UTC");
  EXPECT_EQ(loaded.OffsetAt(At("2026-07-01T12:00:00Z")), seconds(0));
}

TEST(TimeZoneTest, NewYorkAroundTheSpring2026Switch) {
  TimeZone ny = MustLoad("America/New_York");
  EXPECT_EQ(ny.name(), "America/New_York");
  EXPECT_EQ(ny.OffsetAt(At("2026-03-08T06:59:59Z")), hours(-5));
  EXPECT_EQ(ny.OffsetAt(At("2026-03-08T07:00:00Z")), hours(-4));
}

TEST(TimeZoneTest, NewYorkAroundTheAutumn2026Switch) {
  TimeZone ny = MustLoad("America/New_York");
  EXPECT_EQ(ny.OffsetAt(At("2026-11-01T05:59:59Z")), hours(-4));
  EXPECT_EQ(ny.OffsetAt(At("2026-11-01T06:00:00Z")), hours(-5));
  EXPECT_EQ(ny.ToLocal(At("2026-11-01T06:00:00Z")), Local("2026-11-01", 1, 0));
}

TEST(TimeZoneTest, NewYorkFarFutureUsesTheFooterRule) {
  TimeZone ny = MustLoad("America/New_York");
  EXPECT_EQ(ny.OffsetAt(At("2090-01-15T12:00:00Z")), hours(-5));
  EXPECT_EQ(ny.OffsetAt(At("2090-07-01T12:00:00Z")), hours(-4));
  // Second Sunday of March and first Sunday of November 2090, 02:00 local.
  EXPECT_EQ(ny.OffsetAt(At("2090-03-12T06:59:59Z")), hours(-5));
  EXPECT_EQ(ny.OffsetAt(At("2090-03-12T07:00:00Z")), hours(-4));
  EXPECT_EQ(ny.OffsetAt(At("2090-11-05T05:59:59Z")), hours(-4));
  EXPECT_EQ(ny.OffsetAt(At("2090-11-05T06:00:00Z")), hours(-5));
}

TEST(TimeZoneTest, NewYorkIn1990UsesTheRulesOfThen) {
  TimeZone ny = MustLoad("America/New_York");
  EXPECT_EQ(ny.OffsetAt(At("1990-01-15T12:00:00Z")), hours(-5));
  EXPECT_EQ(ny.OffsetAt(At("1990-07-01T12:00:00Z")), hours(-4));
  // DST began on the first Sunday of April then, not the second Sunday of March.
  EXPECT_EQ(ny.OffsetAt(At("1990-03-15T12:00:00Z")), hours(-5));
  EXPECT_EQ(ny.OffsetAt(At("1990-04-01T06:59:59Z")), hours(-5));
  EXPECT_EQ(ny.OffsetAt(At("1990-04-01T07:00:00Z")), hours(-4));
  EXPECT_EQ(ny.OffsetAt(At("1990-10-28T05:59:59Z")), hours(-4));
  EXPECT_EQ(ny.OffsetAt(At("1990-10-28T06:00:00Z")), hours(-5));
}

TEST(TimeZoneTest, FromLocalOrdinaryTime) {
  TimeZone ny = MustLoad("America/New_York");
  EXPECT_EQ(ny.FromLocal(Local("2026-01-15", 9, 0)), At("2026-01-15T14:00:00Z"));
  EXPECT_EQ(ny.FromLocal(Local("2026-07-15", 9, 0)), At("2026-07-15T13:00:00Z"));
  Instant t = At("2026-05-05T17:45:00Z");
  EXPECT_EQ(ny.FromLocal(ny.ToLocal(t)), t);
}

TEST(TimeZoneTest, FromLocalInTheSpringGapMovesForward) {
  TimeZone ny = MustLoad("America/New_York");
  // 02:30 does not exist on 2026-03-08; it becomes 03:30 EDT.
  EXPECT_EQ(ny.FromLocal(Local("2026-03-08", 2, 30)), At("2026-03-08T07:30:00Z"));
  EXPECT_EQ(ny.FromLocal(Local("2026-03-08", 2, 0)), At("2026-03-08T07:00:00Z"));
  EXPECT_EQ(ny.FromLocal(Local("2026-03-08", 3, 0)), At("2026-03-08T07:00:00Z"));
  EXPECT_EQ(ny.FromLocal(Local("2026-03-08", 1, 59)), At("2026-03-08T06:59:00Z"));
  // And the same in the footer-rule era.
  EXPECT_EQ(ny.FromLocal(Local("2090-03-12", 2, 30)), At("2090-03-12T07:30:00Z"));
}

TEST(TimeZoneTest, FromLocalInTheAutumnOverlapTakesTheEarlierInstant) {
  TimeZone ny = MustLoad("America/New_York");
  // 01:30 happens twice on 2026-11-01: first EDT (05:30Z), then EST (06:30Z).
  EXPECT_EQ(ny.FromLocal(Local("2026-11-01", 1, 30)), At("2026-11-01T05:30:00Z"));
  EXPECT_EQ(ny.FromLocal(Local("2026-11-01", 2, 0)), At("2026-11-01T07:00:00Z"));
  EXPECT_EQ(ny.FromLocal(Local("2090-11-05", 1, 30)), At("2090-11-05T05:30:00Z"));
}

TEST(TimeZoneTest, SouthernHemisphereRule) {
  TimeZone sydney = MustLoad("Australia/Sydney");
  EXPECT_EQ(sydney.OffsetAt(At("2090-04-01T15:59:59Z")), hours(11));
  EXPECT_EQ(sydney.OffsetAt(At("2090-04-01T16:00:00Z")), hours(10));
  EXPECT_EQ(sydney.OffsetAt(At("2090-09-30T15:59:59Z")), hours(10));
  EXPECT_EQ(sydney.OffsetAt(At("2090-09-30T16:00:00Z")), hours(11));
}

TEST(TimeZoneTest, RejectsPathsThatLeaveTheZoneDirectory) {
  StatusOr<TimeZone> up = TimeZone::Load("../../etc/passwd");
  ASSERT_FALSE(up.ok());
  EXPECT_EQ(up.status().code(), StatusCode::kInvalidArgument);
  StatusOr<TimeZone> absolute = TimeZone::Load("/usr/share/zoneinfo/UTC");
  ASSERT_FALSE(absolute.ok());
  EXPECT_EQ(absolute.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(TimeZone::Load("").ok());
}

TEST(TimeZoneTest, UnknownZoneIsNotFound) {
  StatusOr<TimeZone> zone = TimeZone::Load("America/Atlantis");
  ASSERT_FALSE(zone.ok());
  EXPECT_EQ(zone.status().code(), StatusCode::kNotFound);
  StatusOr<TimeZone> dir = TimeZone::Load("America");
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().code(), StatusCode::kNotFound);
}

TEST(TimeZoneTest, ReadsZonesFromTzdir) {
  ScopedZoneDir dir;
  dir.WriteZone("Test/Plain", '2', {}, {}, {{-3 * 3600, false}}, "");
  TimeZone zone = MustLoad("Test/Plain");
  EXPECT_EQ(zone.OffsetAt(At("2026-07-01T00:00:00Z")), hours(-3));
  // The system's zones are not visible through a private TZDIR.
  EXPECT_FALSE(TimeZone::Load("America/New_York").ok());
}

TEST(TimeZoneTest, CorruptZoneFileIsRefused) {
  ScopedZoneDir dir;
  dir.WriteRaw("Test/Garbage", "this is not a TZif file at all, not even close to one.....");
  StatusOr<TimeZone> zone = TimeZone::Load("Test/Garbage");
  ASSERT_FALSE(zone.ok());
  EXPECT_EQ(zone.status().code(), StatusCode::kDataLoss);
  dir.WriteRaw("Test/Truncated", "TZif2");
  EXPECT_FALSE(TimeZone::Load("Test/Truncated").ok());
}

TEST(TimeZoneTest, VersionOneFileWithTransitions) {
  ScopedZoneDir dir;
  // Standard -5h until 2000-01-01T00:00Z, then -4h.
  dir.WriteZone("Test/V1", 0, {946684800}, {1}, {{-5 * 3600, false}, {-4 * 3600, true}}, "");
  TimeZone zone = MustLoad("Test/V1");
  EXPECT_EQ(zone.OffsetAt(At("1999-12-31T23:59:59Z")), hours(-5));
  EXPECT_EQ(zone.OffsetAt(At("2000-01-01T00:00:00Z")), hours(-4));
  EXPECT_EQ(zone.OffsetAt(At("2090-01-01T00:00:00Z")), hours(-4));  // no footer: last type
}

TEST(TimeZoneTest, FooterJulianDayForms) {
  ScopedZoneDir dir;
  // Jn never counts February 29; n (zero-based) does. In leap year 2028, J60 is March 1 and
  // 59 is February 29. Both end on zero-based day 300 = 2028-10-27.
  dir.WriteZone("Test/J", '2', {}, {}, {{-3 * 3600, false}}, "XST3XDT,J60,300");
  dir.WriteZone("Test/N", '2', {}, {}, {{-3 * 3600, false}}, "XST3XDT,59,300");
  TimeZone j = MustLoad("Test/J");
  TimeZone n = MustLoad("Test/N");
  EXPECT_EQ(j.OffsetAt(At("2028-02-29T12:00:00Z")), hours(-3));
  EXPECT_EQ(n.OffsetAt(At("2028-02-29T12:00:00Z")), hours(-2));
  EXPECT_EQ(j.OffsetAt(At("2028-03-01T04:59:59Z")), hours(-3));
  EXPECT_EQ(j.OffsetAt(At("2028-03-01T05:00:00Z")), hours(-2));
  EXPECT_EQ(n.OffsetAt(At("2028-02-29T05:00:00Z")), hours(-2));
  EXPECT_EQ(j.OffsetAt(At("2028-10-27T03:59:59Z")), hours(-2));
  EXPECT_EQ(j.OffsetAt(At("2028-10-27T04:00:00Z")), hours(-3));
  // In a common year both name March 1.
  EXPECT_EQ(j.OffsetAt(At("2027-03-01T05:00:00Z")), hours(-2));
  EXPECT_EQ(n.OffsetAt(At("2027-03-01T05:00:00Z")), hours(-2));
  EXPECT_EQ(n.OffsetAt(At("2027-02-28T12:00:00Z")), hours(-3));
}

TEST(TimeZoneTest, FooterQuotedNamesAndNegativeTimes) {
  ScopedZoneDir dir;
  // Greenland's rule: changes at -01:00 and 00:00 local, i.e. 01:00 UTC both ways.
  dir.WriteZone("Test/Nuuk", '2', {}, {}, {{-2 * 3600, false}}, "<-02>2<-01>,M3.5.0/-1,M10.5.0/0");
  TimeZone zone = MustLoad("Test/Nuuk");
  EXPECT_EQ(zone.OffsetAt(At("2090-03-26T00:59:59Z")), hours(-2));
  EXPECT_EQ(zone.OffsetAt(At("2090-03-26T01:00:00Z")), hours(-1));
  EXPECT_EQ(zone.OffsetAt(At("2090-10-29T00:59:59Z")), hours(-1));
  EXPECT_EQ(zone.OffsetAt(At("2090-10-29T01:00:00Z")), hours(-2));
}

TEST(TimeZoneTest, FooterWithoutDaylightTimeAndWithMinutes) {
  ScopedZoneDir dir;
  dir.WriteZone("Test/Tehran", '2', {}, {}, {{12600, false}}, "<+0330>-3:30");
  TimeZone zone = MustLoad("Test/Tehran");
  EXPECT_EQ(zone.OffsetAt(At("2090-06-01T00:00:00Z")), hours(3) + minutes(30));
}

TEST(TimeZoneTest, FooterDaylightTimeAllYear) {
  ScopedZoneDir dir;
  // RFC 8536 §3.3.1: DST from January 1 00:00 to December 31 25:00 means DST all year.
  dir.WriteZone("Test/AllYear", '2', {}, {}, {{-4 * 3600, true}}, "EST5EDT4,0/0,J365/25");
  TimeZone zone = MustLoad("Test/AllYear");
  for (const char* t : {"2090-01-01T00:30:00Z", "2090-01-01T05:00:00Z", "2090-07-01T00:00:00Z",
                        "2090-12-31T23:59:59Z", "2091-01-01T05:00:00Z"}) {
    EXPECT_EQ(zone.OffsetAt(At(t)), hours(-4)) << t;
  }
}

TEST(TimeZoneTest, TransitionsThenFooter) {
  ScopedZoneDir dir;
  // Fixed +1h until 2030-01-01, then the EU rule from the footer.
  dir.WriteZone("Test/Mixed", '2', {-2000000000, 1893456000}, {0, 0}, {{3600, false}},
                "CET-1CEST,M3.5.0,M10.5.0/3");
  TimeZone zone = MustLoad("Test/Mixed");
  EXPECT_EQ(zone.OffsetAt(At("1900-01-01T00:00:00Z")), hours(1));  // before: type 0
  EXPECT_EQ(zone.OffsetAt(At("2029-07-01T00:00:00Z")), hours(1));  // from the data
  EXPECT_EQ(zone.OffsetAt(At("2030-07-01T00:00:00Z")), hours(2));  // from the footer
  EXPECT_EQ(zone.OffsetAt(At("2030-12-01T00:00:00Z")), hours(1));
}

TEST(TimeZoneTest, BadFooterIsRefused) {
  ScopedZoneDir dir;
  dir.WriteZone("Test/BadFooter", '2', {}, {}, {{0, false}}, "EST5EDT,M13.1.0,M11.1.0");
  StatusOr<TimeZone> zone = TimeZone::Load("Test/BadFooter");
  ASSERT_FALSE(zone.ok());
  EXPECT_EQ(zone.status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace carrel
