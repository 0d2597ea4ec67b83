#include "util/cpu_gate.h"

namespace carrel {
namespace {

// The gate whose slot this thread holds, if any.
thread_local CpuGate* held = nullptr;

}  // namespace

void CpuGate::Enter() {
  std::unique_lock<std::mutex> lock(mu_);
  if (free_ > 0) {
    --free_;
    return;
  }
  Waiter me;
  line_.push_back(&me);
  me.cv.wait(lock, [&] { return me.admitted; });
}

void CpuGate::Leave() {
  std::lock_guard<std::mutex> lock(mu_);
  if (line_.empty()) {
    ++free_;
    return;
  }
  // The slot passes straight to the first in line: nobody arriving can take it first.
  Waiter* next = line_.front();
  line_.pop_front();
  next->admitted = true;
  next->cv.notify_one();
}

int CpuGate::free_slots() {
  std::lock_guard<std::mutex> lock(mu_);
  return free_;
}

size_t CpuGate::in_line() {
  std::lock_guard<std::mutex> lock(mu_);
  return line_.size();
}

void CpuGate::Release() {
  if (held == nullptr) return;
  CpuGate* gate = held;
  held = nullptr;
  gate->Leave();
}

CpuGate::Admission::Admission(CpuGate* gate) : gate_(held == nullptr ? gate : nullptr) {
  if (gate_ == nullptr) return;
  gate_->Enter();
  held = gate_;
}

CpuGate::Admission::~Admission() {
  if (held == gate_) Release();
}

}  // namespace carrel
