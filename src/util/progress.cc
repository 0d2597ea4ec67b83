#include "carrel/progress.h"

#include <unistd.h>

namespace carrel {

Progress::Progress(std::string label, int64_t total, std::FILE* out)
    : label_(std::move(label)),
      total_(total > 0 ? total : 1),
      out_(out),
      tty_(out != nullptr && isatty(fileno(out)) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

Progress::~Progress() { Finish(); }

void Progress::Set(int64_t done) {
  done_ = done;
  if (!tty_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(100) && done_ < total_) return;
  last_draw_ = now;
  Draw();
}

void Progress::Draw() {
  constexpr int kWidth = 30;
  double fraction = static_cast<double>(done_) / static_cast<double>(total_);
  if (fraction > 1) fraction = 1;
  int filled = static_cast<int>(fraction * kWidth);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::string bar(filled, '#');
  bar.append(kWidth - filled, '.');
  std::fprintf(out_, "\r%-18s [%s] %3d%%  %lld/%lld  %.1fs", label_.c_str(), bar.c_str(),
               static_cast<int>(fraction * 100), static_cast<long long>(done_),
               static_cast<long long>(total_), seconds);
  std::fflush(out_);
}

void Progress::Finish() {
  if (finished_) return;
  finished_ = true;
  if (!tty_) return;
  Draw();
  std::fputc('\n', out_);
  std::fflush(out_);
}

}  // namespace carrel
