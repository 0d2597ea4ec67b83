#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "carrel/clock.h"
#include "carrel/profile.h"
#include "carrel/status.h"

namespace carrel {

// An IANA time zone read from the system's tz database (TZif files under /usr/share/zoneinfo,
// or $TZDIR). Immutable and thread-safe once loaded.
class TimeZone {
 public:
  static StatusOr<TimeZone> Load(const std::string& name);
  static TimeZone Utc();

  const std::string& name() const;
  // UTC offset in force at t (east of Greenwich positive).
  std::chrono::seconds OffsetAt(Instant t) const;
  // Wall-clock time at t, as seconds since the local epoch.
  std::chrono::local_seconds ToLocal(Instant t) const;
  // The instant a local wall-clock time denotes. In a gap (spring forward) the time is moved
  // forward by the gap; in an overlap (fall back) the earlier instant is chosen.
  Instant FromLocal(std::chrono::local_seconds local) const;

  struct Rules;  // implementation detail

 private:
  explicit TimeZone(std::shared_ptr<const Rules> rules) : rules_(std::move(rules)) {}
  std::shared_ptr<const Rules> rules_;
};

// The library's calendar (docs/design.md §9): opening hours per weekday for the library and the
// café, closed dates, and the time zone they are written in. Thread-safe (immutable).
class Calendar {
 public:
  Calendar(WeekHours library, WeekHours cafe, std::vector<Date> closed_dates, TimeZone zone);
  static StatusOr<Calendar> FromProfile(const Profile& profile);

  const TimeZone& zone() const { return zone_; }
  const WeekHours& library_hours() const { return library_; }
  const WeekHours& cafe_hours() const { return cafe_; }

  // The library's local date at t.
  Date LocalDate(Instant t) const;
  // Open at t: a weekday with hours, not a closed date, and open <= local time < close.
  bool IsLibraryOpen(Instant t) const;
  bool IsCafeOpen(Instant t) const;  // the café also closes on the library's closed dates
  // True when d has library hours and is not a closed date.
  bool IsOpenDay(Date d) const;
  // d itself if it is an open day, else the first open day after it; nullopt if none within
  // a year (a calendar with no open day at all).
  std::optional<Date> NextOpenDay(Date d) const;
  // The next instant >= t at which the library opens (t itself if it opens exactly then);
  // nullopt if it never opens within a year.
  std::optional<Instant> NextLibraryOpening(Instant t) const;
  // The instant the current opening period ends if open at t, else t.
  Instant NextLibraryClosing(Instant t) const;
  // Due date for a loan of `loan_days` days starting at t: local date + days, moved forward
  // to the next open day. Falls back to the unmoved date if no open day exists.
  Date DueDate(Instant checkout, int loan_days) const;
  // How long the library was open in [from, to).
  std::chrono::seconds OpenTimeBetween(Instant from, Instant to) const;
  // The instant by which the library will have been open for `span` after `from` (far in the
  // future when it never opens).
  Instant AfterOpenTime(Instant from, std::chrono::seconds span) const;

 private:
  std::optional<OpeningPeriod> PeriodOn(const WeekHours& week, Date d) const;
  bool IsOpen(const WeekHours& week, Instant t) const;

  WeekHours library_;
  WeekHours cafe_;
  std::vector<Date> closed_;  // sorted
  TimeZone zone_;
};

// Monday = 0 .. Sunday = 6.
int WeekdayIndex(Date d);

}  // namespace carrel
