#include "carrel/jobs.h"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "carrel/library.h"
#include "carrel/outbound_hook.h"

namespace carrel {

using std::chrono::milliseconds;

struct Jobs::State {
  Library* library;
  JobsOptions options;

  // Head signing: the size last handed to the witness, and when (monotonic).
  int64_t signed_size = -1;
  milliseconds head_at{0};
  // Retention, notices, reclaim: when last looked at (monotonic); nullopt before the first pass.
  std::optional<milliseconds> duties_at;
  bool more_to_reclaim = false;

  std::mutex mu;
  std::condition_variable wake;
  bool stopping = false;
  bool stopped = false;
  std::thread thread;

  milliseconds Monotonic() const { return library->clock().Monotonic(); }

  void SignHeadIfDue(JobsPass* pass);
  void DoDuties(JobsPass* pass);
  void Reclaim(JobsPass* pass);
  void HandToWitness(const Checkpoint& head, bool wait);
};

void Jobs::State::HandToWitness(const Checkpoint& head, bool wait) {
  // The witness keeps heads where the server cannot change them (public: no PII).
  const auto& command = library->profile().witness_command;
  if (wait) {
    (void)RunOutboundHookAndWait(command, head.note);
  } else {
    RunOutboundHook(command, head.note);
  }
}

void Jobs::State::SignHeadIfDue(JobsPass* pass) {
  int64_t size = 0;
  Status counted = WithReadTransaction(library->store(), [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(size, library->audit().Size(tx));
    return Status::Ok();
  });
  if (!counted.ok()) {
    spdlog::error("audit log size not read: {}", counted.message());
    return;
  }
  bool due = size > signed_size && (size - signed_size >= options.head_entries ||
                                    Monotonic() - head_at >= options.head_interval);
  if (!due) return;
  auto lock = library->store().TryLockJob("head-signer");
  if (!lock.ok() || *lock == nullptr) return;  // another server signs
  auto head = library->SignAuditHead();
  if (!head.ok()) {
    spdlog::error("cannot sign the audit head: {}", head.status().message());
    return;
  }
  if (head->size != signed_size) {
    HandToWitness(*head, /*wait=*/false);
    pass->head_signed = head->size;
  }
  signed_size = head->size;
  head_at = Monotonic();
}

void Jobs::State::DoDuties(JobsPass* pass) {
  // One server at a time does the duties (several may serve one PostgreSQL database).
  auto lock = library->store().TryLockJob("duties");
  if (!lock.ok() || *lock == nullptr) return;
  auto run = library->retention().RunIfDue(SystemActor("retention"));
  if (!run.ok()) {
    spdlog::error("retention run failed: {}", run.status().message());
  } else if (run->has_value()) {
    const RetentionRun& done = **run;
    pass->retention_run = done.id;
    pass->keys_destroyed = static_cast<int64_t>(done.destroyed_keys.size());
    spdlog::info("retention run {}: {} keys destroyed in {:.2f}s", done.id,
                 done.destroyed_keys.size(), done.seconds);
  }
  auto notices = library->requests().SendDueNotices();
  if (!notices.ok()) {
    spdlog::error("patron notices not sent: {}", notices.status().message());
  } else {
    pass->notices_sent = *notices;
  }
}

void Jobs::State::Reclaim(JobsPass* pass) {
  auto cleared = library->retention().Reclaim(kReclaimBatchRows);
  if (!cleared.ok()) {
    spdlog::error("dead ciphertext not cleared: {}", cleared.status().message());
    more_to_reclaim = false;
    return;
  }
  pass->rows_reclaimed = *cleared;
  more_to_reclaim = *cleared > 0;
}

Jobs::Jobs(Library* library, JobsOptions options) : state_(std::make_unique<State>()) {
  state_->library = library;
  state_->options = options;
  state_->head_at = state_->Monotonic();
}

Jobs::~Jobs() { Stop(); }

JobsPass Jobs::RunDue() {
  State& s = *state_;
  JobsPass pass;
  s.SignHeadIfDue(&pass);
  milliseconds now = s.Monotonic();
  bool duties = !s.duties_at || now - *s.duties_at >= s.options.duty_interval;
  if (duties) {
    s.duties_at = now;
    s.DoDuties(&pass);
  }
  if (duties || s.more_to_reclaim) s.Reclaim(&pass);
  pass.more_to_reclaim = s.more_to_reclaim;
  return pass;
}

void Jobs::Start() {
  State& s = *state_;
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.thread.joinable() || s.stopping) return;
  s.thread = std::thread([this] {
    State& st = *state_;
    std::unique_lock<std::mutex> lock(st.mu);
    milliseconds pause = st.options.tick;
    while (!st.wake.wait_for(lock, pause, [&] { return st.stopping; })) {
      lock.unlock();
      JobsPass pass = RunDue();
      // While dead ciphertext is left, the next batch follows soon: small batches never hold
      // the writer for long.
      pause = pass.more_to_reclaim ? std::min(st.options.tick, milliseconds(kReclaimPause))
                                   : st.options.tick;
      lock.lock();
    }
  });
}

void Jobs::Stop() {
  State& s = *state_;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.stopped) return;
    s.stopping = true;
    s.stopped = true;
  }
  s.wake.notify_all();
  if (s.thread.joinable()) s.thread.join();
  // The final head covers everything served, and goes to the witness like every other.
  auto head = s.library->SignAuditHead();
  if (!head.ok()) {
    spdlog::error("cannot sign the final audit head: {}", head.status().message());
  } else if (head->size != s.signed_size) {
    s.HandToWitness(*head, /*wait=*/true);
    s.signed_size = head->size;
  }
}

}  // namespace carrel
