// Usage:
//   carrel_scale_bench lookup-seed --dir DIR --json FILE    seeds the lookup library in DIR
//   carrel_scale_bench lookup --dir DIR --json FILE         measures lookups (seeds if needed)
//   carrel_scale_bench audit-build --dir DIR --json FILE    builds the audit log in DIR
//   carrel_scale_bench audit-log --dir DIR --json FILE      measures verification (builds if
//                                                           needed); leaves the log in DIR
//   carrel_scale_bench audit-verify --dir DIR --json FILE   times VerifyAuditLog alone
//   carrel_scale_bench retention --dir DIR --json FILE      retention of a year of links
//   carrel_scale_bench disclosure --dir DIR --json FILE     one patron's records, on the library
//                                                           a retention run left in DIR
// The two builds are separate commands so that scripts/bench.sh can run them side by side.
// Progress goes to stderr, figures to FILE. Exits non-zero when a measurement cannot be made.

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "bench/scale/scale.h"

namespace {

int Usage() {
  std::fprintf(
      stderr,
      "usage: carrel_scale_bench "
      "lookup-seed|lookup|audit-build|audit-log|audit-verify|retention|disclosure --dir DIR "
      "--json "
      "FILE\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage();
  std::string_view what = argv[1];
  std::string json_path, dir;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string_view flag = argv[i];
    if (flag == "--json") {
      json_path = argv[i + 1];
    } else if (flag == "--dir") {
      dir = argv[i + 1];
    } else {
      return Usage();
    }
  }
  if (json_path.empty() || dir.empty() || argc % 2 != 0) return Usage();
  carrel::StatusOr<nlohmann::json> figures = carrel::Internal("no measurement");
  if (what == "lookup-seed") {
    figures = carrel::bench::SeedLookupLibrary(dir);
  } else if (what == "lookup") {
    figures = carrel::bench::RunLookupBench(dir);
  } else if (what == "audit-build") {
    figures = carrel::bench::BuildAuditLog(dir);
  } else if (what == "audit-log") {
    figures = carrel::bench::RunAuditLogBench(dir);
  } else if (what == "audit-verify") {
    figures = carrel::bench::RunAuditVerifyOnly(dir);
  } else if (what == "disclosure") {
    figures = carrel::bench::RunDisclosureOnly(dir);
  } else if (what == "retention") {
    figures = carrel::bench::RunRetentionBench(dir);
  } else {
    return Usage();
  }
  if (!figures.ok()) {
    std::fprintf(stderr, "carrel_scale_bench: %s\n", figures.status().ToString().c_str());
    return 1;
  }
  std::ofstream out(json_path);
  out << figures->dump(2) << "\n";
  if (!out) {
    std::fprintf(stderr, "carrel_scale_bench: cannot write %s\n", json_path.c_str());
    return 1;
  }
  return 0;
}
