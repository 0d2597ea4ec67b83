// Card barcode lookup through the blind index on a large library (docs/design.md §4): the barcode
// is normalized, its keyed BLAKE2b index computed, the candidates read by the card_bi index, the
// patron's key unwrapped from the keyring (cold: random patrons of a large library are rarely in
// the key cache) and the candidate's fields decrypted to confirm the match.
//   (a) the lookup itself: SealedRecords::FindPatronByBarcode inside a read transaction;
//   (b) the public, audited call: Circulation::FindPatronByBarcode, a write transaction that
//       also appends a patron.search entry to the audit log and commits durably (fsync).

#include <sodium.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_support.h"
#include "bench/scale/scale.h"
#include "bench/scale/stats.h"
#include "carrel/circulation.h"
#include "carrel/clock.h"
#include "carrel/demo.h"
#include "carrel/library.h"
#include "carrel/store.h"
#include "circulation/sealed_records.h"

namespace carrel::bench {
namespace {

namespace fs = std::filesystem;

// The demo seed's card barcode of patron n (1-based).
std::string PatronBarcode(int64_t n) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "2100%010lld", static_cast<long long>(n));
  return buf;
}

}  // namespace

StatusOr<nlohmann::json> SeedLookupLibrary(const fs::path& dir) {
  CARREL_ASSIGN_OR_RETURN(int64_t patrons, EnvSize("CARREL_BENCH_LOOKUP_PATRONS", 1000000));
  CARREL_RETURN_IF_ERROR(
      Library::Init(dir, fs::path(CARREL_SOURCE_DIR) / "profiles/westport/library.toml",
                    OperatorActor())
          .status());
  FakeClock clock(SystemClock()->Now());
  nlohmann::json out;
  out["patrons"] = patrons;
  {
    CARREL_ASSIGN_OR_RETURN(std::unique_ptr<Library> library, Library::Open(dir, &clock));
    SeedOptions options;
    options.patrons = patrons;
    options.items = 10;
    options.history_loans = 0;
    options.progress = false;
    std::fprintf(stderr, "carrel_scale_bench: seeding %lld patrons for the lookup benchmark\n",
                 static_cast<long long>(patrons));
    CARREL_ASSIGN_OR_RETURN(SeedReport report, SeedDemoLibrary(*library, options));
    std::fprintf(stderr, "carrel_scale_bench: seeded in %.1fs\n", report.seconds);
    out["seed_seconds"] = report.seconds;
  }  // closing checkpoints the WAL into carrel.db
  out["db_bytes"] = fs::file_size(Library::DatabasePath(dir));
  out["keyring_bytes"] = fs::file_size(KeyringPath(dir));
  return out;
}

StatusOr<nlohmann::json> RunLookupBench(const fs::path& dir) {
  CARREL_ASSIGN_OR_RETURN(int64_t patrons, EnvSize("CARREL_BENCH_LOOKUP_PATRONS", 1000000));
  CARREL_ASSIGN_OR_RETURN(int64_t lookups, EnvSize("CARREL_BENCH_LOOKUPS", 20000));
  nlohmann::json out;
  if (!fs::exists(Library::DatabasePath(dir))) {
    CARREL_ASSIGN_OR_RETURN(out, SeedLookupLibrary(dir));
  }
  out["patrons"] = patrons;
  out["lookups"] = lookups;
  out["libsodium"] = sodium_version_string();
  // Write the seed back now, so that the audited lookups' fsyncs do not wait behind it.
  sync();
  // Opened afresh: the keyring's cache starts cold, as after a restart.
  FakeClock clock(SystemClock()->Now());
  CARREL_ASSIGN_OR_RETURN(std::unique_ptr<Library> library, Library::Open(dir, &clock));
  const Actor desk{"user/1", "staff"};
  std::mt19937_64 rng(20261129);
  std::uniform_int_distribution<int64_t> pick(1, patrons);

  // (a) The blind-index lookup.
  SealedRecords records(&library->vault());
  std::vector<double> lookup_us;
  lookup_us.reserve(static_cast<size_t>(lookups));
  double cpu_start = ProcessCpuSeconds();
  for (int64_t i = 0; i < lookups; ++i) {
    const std::string barcode = PatronBarcode(pick(rng));
    auto start = std::chrono::steady_clock::now();
    Status s = WithReadTransaction(library->store(), [&](Transaction& tx) -> Status {
      CARREL_ASSIGN_OR_RETURN(Patron patron, records.FindPatronByBarcode(tx, barcode));
      if (patron.card_barcode != barcode) return Internal("the lookup found another patron");
      return Status::Ok();
    });
    lookup_us.push_back(SecondsSince(start) * 1e6);
    CARREL_RETURN_IF_ERROR(s.WithContext("blind-index lookup"));
  }
  out["blind_index"] = LatencySummary(lookup_us);
  out["blind_index"]["cpu_us_per_lookup"] =
      (ProcessCpuSeconds() - cpu_start) * 1e6 / static_cast<double>(lookups);

  // (b) The audited public call, on other random patrons (their keys are cold too).
  std::vector<double> audited_us;
  audited_us.reserve(static_cast<size_t>(lookups));
  cpu_start = ProcessCpuSeconds();
  for (int64_t i = 0; i < lookups; ++i) {
    const std::string barcode = PatronBarcode(pick(rng));
    auto start = std::chrono::steady_clock::now();
    StatusOr<Patron> patron = library->circulation().FindPatronByBarcode(desk, barcode);
    audited_us.push_back(SecondsSince(start) * 1e6);
    CARREL_RETURN_IF_ERROR(patron.status().WithContext("audited lookup"));
    if (patron->card_barcode != barcode) return Internal("the lookup found another patron");
  }
  out["audited"] = LatencySummary(audited_us);
  out["audited"]["cpu_us_per_lookup"] =
      (ProcessCpuSeconds() - cpu_start) * 1e6 / static_cast<double>(lookups);
  return out;
}

}  // namespace carrel::bench
