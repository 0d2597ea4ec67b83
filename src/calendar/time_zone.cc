// TimeZone: reads TZif files (RFC 8536) and applies their POSIX TZ footer rule for instants after
// the last recorded transition. libstdc++ 12 has no std::chrono::tzdb, and setenv("TZ") +
// localtime_r would make the zone process-global state, hence this small reader.

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "carrel/calendar.h"

namespace carrel {

namespace {

constexpr std::string_view kDefaultZoneDir = "/usr/share/zoneinfo";
// Real TZif files are a few KiB; anything this large is not one.
constexpr std::uintmax_t kMaxZoneFileBytes = 1 << 20;
// RFC 8536 §3.2: UT offsets lie in [-89999, 93599] seconds.
constexpr int64_t kMinUtcOffset = -89999;
constexpr int64_t kMaxUtcOffset = 93599;
constexpr int64_t kSecondsPerHour = 3600;
constexpr int64_t kSecondsPerDay = 86400;
// A POSIX rule change happens at 02:00 local time unless the string says otherwise.
constexpr int64_t kDefaultRuleTime = 2 * kSecondsPerHour;

bool IsValidZoneName(std::string_view name) {
  if (name.empty() || name.front() == '/' || name.find("..") != std::string_view::npos) {
    return false;
  }
  for (char c : name) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '_' || c == '-' || c == '+' || c == '.';
    if (!ok) return false;
  }
  return true;
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// Days since 1970-01-01 of the given civil date.
int64_t DaysFromCivil(int year, unsigned month, unsigned day) {
  std::chrono::sys_days d{std::chrono::year{year} / std::chrono::month{month} / day};
  return d.time_since_epoch().count();
}

int YearOfDay(int64_t days) {
  std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{days}}};
  return static_cast<int>(ymd.year());
}

// Big-endian reader over the bytes of a TZif file; every read is bounds-checked.
class ByteReader {
 public:
  explicit ByteReader(std::string_view data) : data_(data) {}

  bool Has(size_t n) const { return data_.size() - pos_ >= n; }
  size_t pos() const { return pos_; }
  std::string_view rest() const { return data_.substr(pos_); }

  bool Skip(size_t n) {
    if (!Has(n)) return false;
    pos_ += n;
    return true;
  }
  bool ReadU8(uint8_t* out) {
    if (!Has(1)) return false;
    *out = static_cast<uint8_t>(data_[pos_++]);
    return true;
  }
  bool ReadBigEndian(size_t n, uint64_t* out) {
    if (!Has(n)) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(data_[pos_ + i]);
    pos_ += n;
    *out = v;
    return true;
  }
  bool ReadI32(int32_t* out) {
    uint64_t v = 0;
    if (!ReadBigEndian(4, &v)) return false;
    *out = static_cast<int32_t>(static_cast<uint32_t>(v));
    return true;
  }
  bool ReadI64(int64_t* out) {
    uint64_t v = 0;
    if (!ReadBigEndian(8, &v)) return false;
    *out = static_cast<int64_t>(v);
    return true;
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

struct TzifHeader {
  char version = 0;
  uint32_t isutcnt = 0;
  uint32_t isstdcnt = 0;
  uint32_t leapcnt = 0;
  uint32_t timecnt = 0;
  uint32_t typecnt = 0;
  uint32_t charcnt = 0;
};

bool ReadHeader(ByteReader* in, TzifHeader* h) {
  if (!in->Has(44) || in->rest().substr(0, 4) != "TZif") return false;
  in->Skip(4);
  uint8_t version = 0;
  in->ReadU8(&version);
  h->version = static_cast<char>(version);
  in->Skip(15);
  std::array<uint32_t*, 6> counts = {&h->isutcnt, &h->isstdcnt, &h->leapcnt,
                                     &h->timecnt, &h->typecnt,  &h->charcnt};
  for (uint32_t* c : counts) {
    uint64_t v = 0;
    in->ReadBigEndian(4, &v);
    *c = static_cast<uint32_t>(v);
  }
  return true;
}

// Bytes of a data block with `time_size`-byte transition times (RFC 8536 §3.2).
uint64_t DataBlockSize(const TzifHeader& h, uint64_t time_size) {
  return uint64_t{h.timecnt} * time_size + h.timecnt + uint64_t{h.typecnt} * 6 + h.charcnt +
         uint64_t{h.leapcnt} * (time_size + 4) + h.isstdcnt + h.isutcnt;
}

}  // namespace

struct TimeZone::Rules {
  struct LocalType {
    int32_t utc_offset = 0;
    bool is_dst = false;
  };

  // The day of a POSIX TZ rule change: Jn, n or Mm.w.d, and the local time of the change.
  struct RuleDate {
    enum class Kind { kJulianNoLeap, kZeroBased, kMonthWeekDay };
    Kind kind = Kind::kMonthWeekDay;
    int day = 0;                      // Jn: 1..365; n: 0..365; Mm.w.d: weekday, 0 = Sunday
    int month = 0;                    // Mm.w.d only
    int week = 0;                     // Mm.w.d only; 5 means the last such weekday
    int64_t time = kDefaultRuleTime;  // seconds after local midnight; may be < 0 or > 24h
  };

  struct PosixRule {
    int64_t std_offset = 0;  // east of Greenwich positive
    bool has_dst = false;
    int64_t dst_offset = 0;
    RuleDate start;  // written in standard time
    RuleDate end;    // written in daylight time
  };

  std::string name;
  std::vector<int64_t> transition_times;  // ascending
  std::vector<uint8_t> transition_types;  // index into types, one per transition
  std::vector<LocalType> types;           // never empty
  std::optional<PosixRule> footer;

  int64_t OffsetAt(int64_t t) const;

  static int64_t RuleDay(const RuleDate& r, int year);
  static int64_t FooterOffset(const PosixRule& rule, int64_t t);
};

namespace {

using Rules = TimeZone::Rules;

// --- POSIX TZ string (the TZif footer) ---

class PosixParser {
 public:
  explicit PosixParser(std::string_view s) : s_(s) {}

  bool Parse(Rules::PosixRule* rule) {
    int64_t posix_offset;
    if (!ParseName() || !ParseHms(24, &posix_offset)) return false;
    rule->std_offset = -posix_offset;  // POSIX counts hours west of Greenwich
    if (s_.empty()) return true;
    if (!ParseName()) return false;
    rule->has_dst = true;
    rule->dst_offset = rule->std_offset + kSecondsPerHour;
    if (!s_.empty() && s_.front() != ',') {
      if (!ParseHms(24, &posix_offset)) return false;
      rule->dst_offset = -posix_offset;
    }
    if (s_.empty()) {
      // No rule given: POSIX leaves it to the implementation; use the current US rule, as
      // glibc and the tz reference code do.
      rule->start = {Rules::RuleDate::Kind::kMonthWeekDay, 0, 3, 2, kDefaultRuleTime};
      rule->end = {Rules::RuleDate::Kind::kMonthWeekDay, 0, 11, 1, kDefaultRuleTime};
      return true;
    }
    if (!Eat(',') || !ParseRuleDate(&rule->start) || !Eat(',') || !ParseRuleDate(&rule->end)) {
      return false;
    }
    return s_.empty();
  }

 private:
  bool Eat(char c) {
    if (s_.empty() || s_.front() != c) return false;
    s_.remove_prefix(1);
    return true;
  }

  bool ParseName() {
    if (Eat('<')) {
      size_t close = s_.find('>');
      if (close == std::string_view::npos || close < 3) return false;
      s_.remove_prefix(close + 1);
      return true;
    }
    size_t n = 0;
    while (n < s_.size() && ((s_[n] >= 'A' && s_[n] <= 'Z') || (s_[n] >= 'a' && s_[n] <= 'z'))) {
      ++n;
    }
    if (n < 3) return false;
    s_.remove_prefix(n);
    return true;
  }

  bool ParseNumber(int64_t max, int64_t* out) {
    size_t n = 0;
    int64_t v = 0;
    while (n < s_.size() && s_[n] >= '0' && s_[n] <= '9' && n < 4) {
      v = v * 10 + (s_[n] - '0');
      ++n;
    }
    if (n == 0 || v > max) return false;
    s_.remove_prefix(n);
    *out = v;
    return true;
  }

  // [+-]hh[:mm[:ss]], in seconds.
  bool ParseHms(int64_t max_hours, int64_t* out) {
    int64_t sign = 1;
    if (Eat('-')) {
      sign = -1;
    } else {
      Eat('+');
    }
    int64_t h, m = 0, sec = 0;
    if (!ParseNumber(max_hours, &h)) return false;
    if (Eat(':')) {
      if (!ParseNumber(59, &m)) return false;
      if (Eat(':') && !ParseNumber(59, &sec)) return false;
    }
    *out = sign * (h * kSecondsPerHour + m * 60 + sec);
    return true;
  }

  bool ParseRuleDate(Rules::RuleDate* r) {
    int64_t a, b, c;
    if (Eat('J')) {
      if (!ParseNumber(365, &a) || a < 1) return false;
      r->kind = Rules::RuleDate::Kind::kJulianNoLeap;
      r->day = static_cast<int>(a);
    } else if (Eat('M')) {
      if (!ParseNumber(12, &a) || a < 1 || !Eat('.') || !ParseNumber(5, &b) || b < 1 || !Eat('.') ||
          !ParseNumber(6, &c)) {
        return false;
      }
      r->kind = Rules::RuleDate::Kind::kMonthWeekDay;
      r->month = static_cast<int>(a);
      r->week = static_cast<int>(b);
      r->day = static_cast<int>(c);
    } else {
      if (!ParseNumber(365, &a)) return false;
      r->kind = Rules::RuleDate::Kind::kZeroBased;
      r->day = static_cast<int>(a);
    }
    r->time = kDefaultRuleTime;
    // RFC 8536 §3.3.1 extends the time to -167..167 hours.
    if (Eat('/') && !ParseHms(167, &r->time)) return false;
    return true;
  }

  std::string_view s_;
};

Status ParseTzif(std::string_view data, Rules* rules) {
  auto bad = [&](std::string_view why) {
    return DataLoss("time zone file for " + rules->name +
                    " is not valid TZif: " + std::string(why));
  };
  ByteReader in(data);
  TzifHeader h;
  if (!ReadHeader(&in, &h)) return bad("bad header");
  uint64_t time_size = 4;
  if (h.version != 0) {
    // Version 2+: skip the 32-bit block and read the 64-bit one that follows it.
    if (!in.Skip(DataBlockSize(h, 4))) return bad("truncated");
    if (!ReadHeader(&in, &h)) return bad("bad second header");
    time_size = 8;
  }
  if (h.typecnt == 0 || h.typecnt > 256 || h.charcnt == 0) return bad("no local time types");
  if ((h.isutcnt != 0 && h.isutcnt != h.typecnt) || (h.isstdcnt != 0 && h.isstdcnt != h.typecnt)) {
    return bad("inconsistent counts");
  }
  // Leap-second ("right/") zones count TAI-like seconds; Instant is POSIX time.
  if (h.leapcnt != 0) return bad("leap-second zone files are not supported");
  if (!in.Has(DataBlockSize(h, time_size))) return bad("truncated");

  rules->transition_times.resize(h.timecnt);
  for (uint32_t i = 0; i < h.timecnt; ++i) {
    if (time_size == 8) {
      in.ReadI64(&rules->transition_times[i]);
    } else {
      int32_t t32 = 0;
      in.ReadI32(&t32);
      rules->transition_times[i] = t32;
    }
    if (i > 0 && rules->transition_times[i] <= rules->transition_times[i - 1]) {
      return bad("transition times out of order");
    }
  }
  rules->transition_types.resize(h.timecnt);
  for (uint32_t i = 0; i < h.timecnt; ++i) {
    in.ReadU8(&rules->transition_types[i]);
    if (rules->transition_types[i] >= h.typecnt) return bad("transition type out of range");
  }
  rules->types.resize(h.typecnt);
  for (uint32_t i = 0; i < h.typecnt; ++i) {
    int32_t offset = 0;
    uint8_t is_dst = 0, designation = 0;
    in.ReadI32(&offset);
    in.ReadU8(&is_dst);
    in.ReadU8(&designation);
    if (offset < kMinUtcOffset || offset > kMaxUtcOffset || is_dst > 1 ||
        designation >= h.charcnt) {
      return bad("local time type out of range");
    }
    rules->types[i] = {offset, is_dst == 1};
  }
  in.Skip(h.charcnt + h.isstdcnt + h.isutcnt);

  if (time_size == 8) {
    std::string_view rest = in.rest();
    if (rest.empty() || rest.front() != '\n') return bad("missing footer");
    size_t end = rest.find('\n', 1);
    if (end == std::string_view::npos) return bad("unterminated footer");
    std::string_view tz = rest.substr(1, end - 1);
    if (!tz.empty()) {
      Rules::PosixRule rule;
      if (!PosixParser(tz).Parse(&rule) || rule.std_offset < kMinUtcOffset ||
          rule.std_offset > kMaxUtcOffset || rule.dst_offset < kMinUtcOffset ||
          rule.dst_offset > kMaxUtcOffset) {
        return bad("unreadable TZ footer \"" + std::string(tz) + "\"");
      }
      rules->footer = rule;
    }
  }
  return Status::Ok();
}

StatusOr<std::string> ReadZoneFile(const std::filesystem::path& path, const std::string& name) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return NotFound("no time zone named " + name);
  }
  std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec || size > kMaxZoneFileBytes)
    return DataLoss("time zone file for " + name + " is unusable");
  std::ifstream file(path, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (file.bad()) return Unavailable("cannot read the time zone file for " + name);
  return data;
}

}  // namespace

int64_t TimeZone::Rules::RuleDay(const RuleDate& r, int year) {
  using namespace std::chrono;
  int64_t jan1 = DaysFromCivil(year, 1, 1);
  switch (r.kind) {
    case RuleDate::Kind::kJulianNoLeap: {
      // Jn never counts February 29: day 60 is always March 1.
      bool leap = year_month_day{sys_days{days{jan1}}}.year().is_leap();
      return jan1 + r.day - 1 + ((leap && r.day >= 60) ? 1 : 0);
    }
    case RuleDate::Kind::kZeroBased:
      return jan1 + r.day;
    case RuleDate::Kind::kMonthWeekDay: {
      year_month ym = std::chrono::year{year} / month{static_cast<unsigned>(r.month)};
      weekday wd{static_cast<unsigned>(r.day)};
      sys_days d =
          r.week == 5 ? sys_days{ym / wd[last]} : sys_days{ym / wd[static_cast<unsigned>(r.week)]};
      return d.time_since_epoch().count();
    }
  }
  return jan1;
}

int64_t TimeZone::Rules::FooterOffset(const PosixRule& rule, int64_t t) {
  if (!rule.has_dst) return rule.std_offset;
  // The changes of the neighbouring years too, so that rules whose change times stray past
  // midnight or a year end are still ordered correctly.
  int year = YearOfDay(FloorDiv(t + rule.std_offset, kSecondsPerDay));
  std::vector<std::pair<int64_t, bool>> changes;  // (UTC instant, daylight time after it)
  for (int y = year - 1; y <= year + 1; ++y) {
    changes.emplace_back(
        RuleDay(rule.start, y) * kSecondsPerDay + rule.start.time - rule.std_offset, true);
    changes.emplace_back(RuleDay(rule.end, y) * kSecondsPerDay + rule.end.time - rule.dst_offset,
                         false);
  }
  // At equal instants the end sorts first, so "DST all year" rules (RFC 8536 §3.3.1) stay on DST.
  std::sort(changes.begin(), changes.end());
  bool dst = false;
  for (const auto& [when, to_dst] : changes) {
    if (when > t) break;
    dst = to_dst;
  }
  return dst ? rule.dst_offset : rule.std_offset;
}

int64_t TimeZone::Rules::OffsetAt(int64_t t) const {
  if (transition_times.empty()) {
    return footer ? FooterOffset(*footer, t) : types[0].utc_offset;
  }
  if (t < transition_times.front()) return types[0].utc_offset;
  if (t > transition_times.back() && footer) return FooterOffset(*footer, t);
  auto it = std::upper_bound(transition_times.begin(), transition_times.end(), t);
  size_t i = static_cast<size_t>(it - transition_times.begin()) - 1;
  return types[transition_types[i]].utc_offset;
}

StatusOr<TimeZone> TimeZone::Load(const std::string& name) {
  if (!IsValidZoneName(name)) return InvalidArgument("not a time zone name: " + name);
  const char* env_dir = std::getenv("TZDIR");
  std::filesystem::path dir =
      (env_dir != nullptr && env_dir[0] != '\0') ? env_dir : std::string(kDefaultZoneDir);
  CARREL_ASSIGN_OR_RETURN(std::string data, ReadZoneFile(dir / name, name));
  auto rules = std::make_shared<Rules>();
  rules->name = name;
  CARREL_RETURN_IF_ERROR(ParseTzif(data, rules.get()));
  return TimeZone(std::move(rules));
}

TimeZone TimeZone::Utc() {
  static const std::shared_ptr<const Rules> utc = [] {
    auto rules = std::make_shared<Rules>();
    rules->name = "UTC";
    rules->types.push_back({0, false});
    return rules;
  }();
  return TimeZone(utc);
}

const std::string& TimeZone::name() const { return rules_->name; }

std::chrono::seconds TimeZone::OffsetAt(Instant t) const {
  return std::chrono::seconds(rules_->OffsetAt(t.time_since_epoch().count()));
}

std::chrono::local_seconds TimeZone::ToLocal(Instant t) const {
  return std::chrono::local_seconds(t.time_since_epoch() + OffsetAt(t));
}

Instant TimeZone::FromLocal(std::chrono::local_seconds local) const {
  const int64_t l = local.time_since_epoch().count();
  // Offsets are under 26 hours, so the offsets in force a day either side of `l` read as UTC
  // include both sides of any transition that `l` could fall near.
  const std::array<int64_t, 3> candidates = {rules_->OffsetAt(l - kSecondsPerDay),
                                             rules_->OffsetAt(l),
                                             rules_->OffsetAt(l + kSecondsPerDay)};
  std::optional<int64_t> best;
  for (int64_t offset : candidates) {
    int64_t t = l - offset;
    if (rules_->OffsetAt(t) == offset && (!best || t < *best)) best = t;  // earliest in overlap
  }
  if (!best) {
    // A gap: with the offset from before the transition, the wall time lands after it,
    // moved forward by the size of the gap.
    for (int64_t offset : candidates) {
      int64_t t = l - offset;
      if (rules_->OffsetAt(t) > offset && (!best || t < *best)) best = t;
    }
  }
  if (!best) best = l - rules_->OffsetAt(l);
  return Instant(std::chrono::seconds(*best));
}

}  // namespace carrel
