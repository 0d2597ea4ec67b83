#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "carrel/status.h"

namespace carrel {

class Library;

// The work a running server does on its own (docs/design.md §5 and §6), on the library's
// injected clock so that tests drive it with a fake one:
// - signs a tree head of the audit log every `head_entries` entries or `head_interval`,
//   whichever comes first, and hands each new head to the profile's witness command;
// - checks every `duty_interval` whether retention is due (once a library day, while the
//   library is closed; a missed day is caught up by the next run) and sends patron notices
//   whose nondisclosure order has ended;
// - clears dead ciphertext in small batches, a batch every `duty_interval`, back to back
//   (with a short pause) while there is more.
// Intervals are measured in the clock's monotonic time; "a library day" in its civil time.
struct JobsOptions {
  int64_t head_entries = 1000;
  std::chrono::seconds head_interval{60};
  std::chrono::seconds duty_interval{30};
  // How often the thread started by Start() wakes to look (real time).
  std::chrono::milliseconds tick{2000};
};

// What one pass did.
struct JobsPass {
  std::optional<int64_t> head_signed;    // size of a newly signed head
  std::optional<int64_t> retention_run;  // id of a retention run
  int64_t keys_destroyed = 0;
  int64_t notices_sent = 0;
  int64_t rows_reclaimed = 0;
  bool more_to_reclaim = false;  // the next pass should come soon
};

class Jobs {
 public:
  // `library` is not owned and outlives the jobs.
  explicit Jobs(Library* library, JobsOptions options = {});
  ~Jobs();  // Stop()s
  Jobs(const Jobs&) = delete;
  Jobs& operator=(const Jobs&) = delete;

  // Does whatever is due now. A failed job is logged (one line, no PII) and tried again on a
  // later pass; the others still run. One caller at a time: not concurrently with Start().
  JobsPass RunDue();

  // A thread that calls RunDue() every tick until Stop().
  void Start();
  // Ends the thread (if started) and signs a final head covering everything served, waiting
  // for the witness command to take it: the process may be about to end. Idempotent.
  void Stop();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace carrel
