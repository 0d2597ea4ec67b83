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
  // Time that only moves forward (for intervals: "a minute since the last head"), unaffected
  // by the wall clock being set. Its zero means nothing.
  virtual std::chrono::milliseconds Monotonic() const = 0;
};

// The real clock. Never null; lives for the whole process.
Clock* SystemClock();

// A clock that only moves when told to.
class FakeClock : public Clock {
 public:
  explicit FakeClock(Instant start) : now_(start.time_since_epoch().count()) {}
  Instant Now() const override { return Instant(std::chrono::seconds(now_.load())); }
  std::chrono::milliseconds Monotonic() const override {
    return std::chrono::seconds(elapsed_.load());
  }
  // Setting the time moves monotonic time by as much, when it moves forward.
  void Set(Instant t) {
    int64_t before = now_.exchange(t.time_since_epoch().count());
    if (t.time_since_epoch().count() > before)
      elapsed_.fetch_add(t.time_since_epoch().count() - before);
  }
  void Advance(std::chrono::seconds d) {
    now_.fetch_add(d.count());
    if (d.count() > 0) elapsed_.fetch_add(d.count());
  }

 private:
  std::atomic<int64_t> now_;
  std::atomic<int64_t> elapsed_{0};
};

// "2026-11-29" <-> Date. Parse refuses anything but a valid proleptic Gregorian YYYY-MM-DD.
std::string FormatDate(Date d);
StatusOr<Date> ParseDate(std::string_view text);

// RFC 3339 in UTC: "2026-11-29T14:03:00Z".
std::string FormatInstant(Instant t);
StatusOr<Instant> ParseInstant(std::string_view text);

}  // namespace carrel
