#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "carrel/status.h"

namespace carrel {

// Instants are UTC seconds; civil dates are days. Local (library) time is the calendar's job.
using Instant = std::chrono::sys_seconds;
using Date = std::chrono::sys_days;

// Where carrel gets the current time. Injected everywhere so that tests move a fake clock
// instead of sleeping. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Instant Now() const = 0;
};

// The real clock. Never null; lives for the whole process.
Clock* SystemClock();

// A clock that only moves when told to.
class FakeClock : public Clock {
 public:
  explicit FakeClock(Instant start) : now_(start.time_since_epoch().count()) {}
  Instant Now() const override { return Instant(std::chrono::seconds(now_.load())); }
  void Set(Instant t) { now_.store(t.time_since_epoch().count()); }
  void Advance(std::chrono::seconds d) { now_.fetch_add(d.count()); }

 private:
  std::atomic<int64_t> now_;
};

// "2026-11-29" <-> Date. Parse refuses anything but a valid proleptic Gregorian YYYY-MM-DD.
std::string FormatDate(Date d);
StatusOr<Date> ParseDate(std::string_view text);

// RFC 3339 in UTC: "2026-11-29T14:03:00Z".
std::string FormatInstant(Instant t);
StatusOr<Instant> ParseInstant(std::string_view text);

}  // namespace carrel
