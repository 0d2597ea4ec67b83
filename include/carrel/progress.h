#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace carrel {

// A one-line progress bar for long operations (seeding, import, retention, verification).
// Draws only when `out` is a terminal, at most ten times a second; silent otherwise.
class Progress {
 public:
  Progress(std::string label, int64_t total, std::FILE* out = stderr);
  ~Progress();  // finishes the line

  void Advance(int64_t n = 1) { Set(done_ + n); }
  void Set(int64_t done);
  void Finish();

 private:
  void Draw();

  std::string label_;
  int64_t total_;
  int64_t done_ = 0;
  std::FILE* out_;
  bool tty_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace carrel
