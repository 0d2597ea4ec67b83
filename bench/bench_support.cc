#include "bench/bench_support.h"

#include <stdlib.h>

#include <cstdlib>
#include <string>
#include <system_error>

namespace carrel::bench {
namespace {

namespace fs = std::filesystem;

fs::path* scratch_dir = nullptr;

void RemoveScratchDir() {
  std::error_code ignored;
  fs::remove_all(*scratch_dir, ignored);
}

}  // namespace

StatusOr<int64_t> EnvSize(const char* name, int64_t fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  char* end = nullptr;
  long long n = std::strtoll(text, &end, 10);
  if (*end != '\0' || n < 1) {
    return InvalidArgument(std::string(name) + " must be a positive whole number");
  }
  return static_cast<int64_t>(n);
}

StatusOr<fs::path> ScratchDir() {
  if (scratch_dir != nullptr) return *scratch_dir;
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/carrel-bench-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    return FailedPrecondition("cannot create a temporary directory from " + pattern);
  }
  scratch_dir = new fs::path(pattern);
  std::atexit(RemoveScratchDir);
  return *scratch_dir;
}

}  // namespace carrel::bench
