// carrel_scale_bench: one-shot measurements on large scratch data sets, too big and too slow to
// repeat under Google Benchmark. Each writes its figures as one JSON object for scripts/bench.sh.

#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>

#include "carrel/audit.h"
#include "carrel/clock.h"
#include "carrel/status.h"

namespace carrel::bench {

// Barcode lookup through the blind index on a large library: CARREL_BENCH_LOOKUP_PATRONS
// patrons (default 1,000,000), CARREL_BENCH_LOOKUPS random lookups of each kind (default
// 20,000). SeedLookupLibrary creates and seeds the library in `dir`, a new directory;
// RunLookupBench measures on it, seeding it first if `dir` holds no library.
StatusOr<nlohmann::json> SeedLookupLibrary(const std::filesystem::path& dir);
StatusOr<nlohmann::json> RunLookupBench(const std::filesystem::path& dir);

// An audit log of CARREL_BENCH_AUDIT_ENTRIES entries (default 10,000,000) in `dir`/carrel.db.
// BuildAuditLog builds it in `dir`, a new directory; RunAuditLogBench times its verification,
// raw SHA-256 over the same bytes and the SQLite scan alone, building it first if `dir` holds
// no log. `dir` is left in place, so that `carrel audit verify --data dir` can be timed as a
// whole process.
StatusOr<nlohmann::json> BuildAuditLog(const std::filesystem::path& dir);
StatusOr<nlohmann::json> RunAuditLogBench(const std::filesystem::path& dir);

// Times VerifyAuditLog alone over a log built in `dir` (for iterating on verification without
// rebuilding the log).
StatusOr<nlohmann::json> RunAuditVerifyOnly(const std::filesystem::path& dir);

// Retention over CARREL_BENCH_RETENTION_ROWS returned loans (default 10,000,000) in a library
// created in `dir`/lib: one SQL UPDATE on a copy next to carrel's run, then the background
// reclaim and circulation latency during it.
StatusOr<nlohmann::json> RunRetentionBench(const std::filesystem::path& dir);
// Within it, before the run, while the whole history is linked: one patron's records extracted
// for a disclosure (random patrons among the first `patrons`, each on a freshly opened library
// in `data`), next to the bare storage engine reading the same rows.
StatusOr<nlohmann::json> MeasureDisclosure(const std::filesystem::path& data, const Clock* clock,
                                           int64_t patrons, const Actor& director);
// The same on a library the retention benchmark left in `dir`/lib (for iterating on it).
StatusOr<nlohmann::json> RunDisclosureOnly(const std::filesystem::path& dir);

}  // namespace carrel::bench
