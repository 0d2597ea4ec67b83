#pragma once

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <numeric>
#include <vector>

#include <nlohmann/json.hpp>

namespace carrel::bench {

// Seconds on the steady clock since `start`.
inline double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// CPU seconds this process has used so far (user and system, all threads).
inline double ProcessCpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

// Median, 99th percentile (nearest rank), mean and maximum of latencies in microseconds.
inline nlohmann::json LatencySummary(std::vector<double> us) {
  nlohmann::json out;
  out["count"] = us.size();
  if (us.empty()) return out;
  std::sort(us.begin(), us.end());
  auto rank = [&](double q) {
    size_t i = static_cast<size_t>(q * static_cast<double>(us.size()) + 0.999999);
    return us[std::clamp<size_t>(i, 1, us.size()) - 1];
  };
  out["median_us"] = rank(0.5);
  out["p99_us"] = rank(0.99);
  out["mean_us"] = std::accumulate(us.begin(), us.end(), 0.0) / static_cast<double>(us.size());
  out["max_us"] = us.back();
  return out;
}

}  // namespace carrel::bench
