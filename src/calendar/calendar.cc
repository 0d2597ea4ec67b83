#include "carrel/calendar.h"

#include <algorithm>
#include <utility>

namespace carrel {

namespace {

// How far NextOpenDay and NextLibraryOpening look before concluding the library never opens.
constexpr int kSearchDays = 366;

std::chrono::local_seconds LocalMidnight(Date d) {
  return std::chrono::local_seconds(d.time_since_epoch());
}

}  // namespace

int WeekdayIndex(Date d) { return static_cast<int>(std::chrono::weekday(d).iso_encoding()) - 1; }

Calendar::Calendar(WeekHours library, WeekHours cafe, std::vector<Date> closed_dates, TimeZone zone)
    : library_(std::move(library)),
      cafe_(std::move(cafe)),
      closed_(std::move(closed_dates)),
      zone_(std::move(zone)) {
  std::sort(closed_.begin(), closed_.end());
  closed_.erase(std::unique(closed_.begin(), closed_.end()), closed_.end());
}

StatusOr<Calendar> Calendar::FromProfile(const Profile& profile) {
  CARREL_ASSIGN_OR_RETURN(TimeZone zone, TimeZone::Load(profile.time_zone));
  return Calendar(profile.library_hours, profile.cafe_hours, profile.closed_dates, std::move(zone));
}

Date Calendar::LocalDate(Instant t) const {
  auto local_day = std::chrono::floor<std::chrono::days>(zone_.ToLocal(t));
  return Date(local_day.time_since_epoch());
}

std::optional<OpeningPeriod> Calendar::PeriodOn(const WeekHours& week, Date d) const {
  if (std::binary_search(closed_.begin(), closed_.end(), d)) return std::nullopt;
  return week[static_cast<size_t>(WeekdayIndex(d))];
}

bool Calendar::IsOpen(const WeekHours& week, Instant t) const {
  Date d = LocalDate(t);
  std::optional<OpeningPeriod> period = PeriodOn(week, d);
  if (!period) return false;
  // Compare wall-clock times: hours are written in local time, DST days included.
  auto since_midnight = zone_.ToLocal(t) - LocalMidnight(d);
  return since_midnight >= std::chrono::minutes(period->open_minute) &&
         since_midnight < std::chrono::minutes(period->close_minute);
}

bool Calendar::IsLibraryOpen(Instant t) const { return IsOpen(library_, t); }

bool Calendar::IsCafeOpen(Instant t) const { return IsOpen(cafe_, t); }

bool Calendar::IsOpenDay(Date d) const { return PeriodOn(library_, d).has_value(); }

std::optional<Date> Calendar::NextOpenDay(Date d) const {
  for (int i = 0; i <= kSearchDays; ++i) {
    Date day = d + std::chrono::days(i);
    if (IsOpenDay(day)) return day;
  }
  return std::nullopt;
}

std::optional<Instant> Calendar::NextLibraryOpening(Instant t) const {
  Date today = LocalDate(t);
  for (int i = 0; i <= kSearchDays; ++i) {
    Date day = today + std::chrono::days(i);
    std::optional<OpeningPeriod> period = PeriodOn(library_, day);
    if (!period) continue;
    Instant opens = zone_.FromLocal(LocalMidnight(day) + std::chrono::minutes(period->open_minute));
    if (opens >= t) return opens;
  }
  return std::nullopt;
}

Instant Calendar::NextLibraryClosing(Instant t) const {
  if (!IsLibraryOpen(t)) return t;
  Date d = LocalDate(t);
  std::optional<OpeningPeriod> period = PeriodOn(library_, d);
  return zone_.FromLocal(LocalMidnight(d) + std::chrono::minutes(period->close_minute));
}

std::chrono::seconds Calendar::OpenTimeBetween(Instant from, Instant to) const {
  std::chrono::seconds total{0};
  Instant t = from;
  while (t < to) {
    if (IsLibraryOpen(t)) {
      Instant close = std::min(NextLibraryClosing(t), to);
      total += close - t;
      t = close;
    } else {
      std::optional<Instant> next = NextLibraryOpening(t);
      if (!next || *next >= to) break;
      t = *next;
    }
  }
  return total;
}

Instant Calendar::AfterOpenTime(Instant from, std::chrono::seconds span) const {
  Instant t = from;
  while (true) {
    if (IsLibraryOpen(t)) {
      Instant close = NextLibraryClosing(t);
      if (close - t >= span) return t + span;
      span -= close - t;
      t = close;
    } else {
      std::optional<Instant> next = NextLibraryOpening(t);
      if (!next) return from + std::chrono::days(3650);
      t = *next;
    }
  }
}

Date Calendar::DueDate(Instant checkout, int loan_days) const {
  Date due = LocalDate(checkout) + std::chrono::days(loan_days);
  return NextOpenDay(due).value_or(due);
}

}  // namespace carrel
