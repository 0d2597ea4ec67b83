#include "carrel/clock.h"

#include <cstdio>

namespace carrel {
namespace {

class RealClock : public Clock {
 public:
  Instant Now() const override {
    return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  }
  std::chrono::milliseconds Monotonic() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now().time_since_epoch());
  }
};

bool ReadDigits(std::string_view text, size_t pos, size_t n, int* out) {
  if (pos + n > text.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    v = v * 10 + (text[i] - '0');
  }
  *out = v;
  return true;
}

}  // namespace

Clock* SystemClock() {
  static RealClock clock;
  return &clock;
}

std::string FormatDate(Date d) {
  std::chrono::year_month_day ymd(d);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

StatusOr<Date> ParseDate(std::string_view text) {
  int y, m, d;
  if (text.size() != 10 || text[4] != '-' || text[7] != '-' || !ReadDigits(text, 0, 4, &y) ||
      !ReadDigits(text, 5, 2, &m) || !ReadDigits(text, 8, 2, &d)) {
    return InvalidArgument("a date must be written YYYY-MM-DD");
  }
  std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(m),
                                  std::chrono::day(d)};
  if (!ymd.ok()) return InvalidArgument("not a calendar date");
  return Date(ymd);
}

std::string FormatInstant(Instant t) {
  Date day = std::chrono::floor<std::chrono::days>(t);
  auto secs = (t - day).count();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%sT%02lld:%02lld:%02lldZ", FormatDate(day).c_str(),
                static_cast<long long>(secs / 3600), static_cast<long long>(secs / 60 % 60),
                static_cast<long long>(secs % 60));
  return buf;
}

StatusOr<Instant> ParseInstant(std::string_view text) {
  int hh, mm, ss;
  if (text.size() != 20 || text[10] != 'T' || text[13] != ':' || text[16] != ':' ||
      text[19] != 'Z' || !ReadDigits(text, 11, 2, &hh) || !ReadDigits(text, 14, 2, &mm) ||
      !ReadDigits(text, 17, 2, &ss) || hh > 23 || mm > 59 || ss > 60) {
    return InvalidArgument("a time must be written YYYY-MM-DDTHH:MM:SSZ (UTC)");
  }
  CARREL_ASSIGN_OR_RETURN(Date day, ParseDate(text.substr(0, 10)));
  return Instant(day) + std::chrono::hours(hh) + std::chrono::minutes(mm) +
         std::chrono::seconds(ss);
}

}  // namespace carrel
