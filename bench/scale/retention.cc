// Retention at scale (docs/design.md §6, §12): a library with CARREL_BENCH_RETENTION_ROWS returned
// loans (default 10,000,000) spread over three years; a schedule that keeps links for two years, so
// a run removes the oldest year. Measured in one process:
//   - the way other library systems do it, on a byte-for-byte copy: one SQL UPDATE setting the
//     patron link to NULL for every row returned before the cutoff (one durable transaction);
//   - carrel's run: plan, then the run itself, of which destroying the epoch keys;
//   - the background reclaim of the dead ciphertext (rows/s, for a bounded time), and the
//     latency of checkouts and checkins meanwhile, next to their latency without it.

#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "bench/bench_support.h"
#include "bench/scale/scale.h"
#include "bench/scale/stats.h"
#include "carrel/demo.h"
#include "carrel/library.h"

namespace carrel::bench {
namespace {

namespace fs = std::filesystem;

constexpr int kKeepDays = 730;  // two of the three years of history stay linked
constexpr double kReclaimSeconds = 30;

std::string Barcode(const char* prefix, int64_t n) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%s%010lld", prefix, static_cast<long long>(n));
  return buf;
}

// Other systems' way: one UPDATE over the history table, on the bare copy.
StatusOr<std::pair<double, int64_t>> BareUpdate(const fs::path& db, const std::string& cutoff) {
  sqlite3* conn = nullptr;
  if (sqlite3_open_v2(db.c_str(), &conn, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    sqlite3_close_v2(conn);
    return FailedPrecondition("cannot open " + db.string());
  }
  sqlite3_exec(conn, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", nullptr, nullptr,
               nullptr);
  std::string sql =
      "BEGIN IMMEDIATE; UPDATE loan_history SET patron_link = NULL, link_epoch = NULL, "
      "link_tag = NULL WHERE returned_on < '" + cutoff + "'; COMMIT;";
  auto start = std::chrono::steady_clock::now();
  char* err = nullptr;
  int rc = sqlite3_exec(conn, sql.c_str(), nullptr, nullptr, &err);
  double seconds = SecondsSince(start);
  int64_t changed = sqlite3_total_changes64(conn);
  std::string message = err != nullptr ? err : "";
  sqlite3_free(err);
  sqlite3_close_v2(conn);
  if (rc != SQLITE_OK) return Internal("the bare UPDATE failed: " + message);
  return std::make_pair(seconds, changed);
}

}  // namespace

StatusOr<nlohmann::json> RunRetentionBench(const fs::path& dir) {
  CARREL_ASSIGN_OR_RETURN(int64_t rows, EnvSize("CARREL_BENCH_RETENTION_ROWS", 10000000));
  CARREL_RETURN_IF_ERROR(InitCrypto());
  const fs::path data = dir / "lib";
  nlohmann::json out;
  out["rows"] = rows;
  out["keep_days"] = kKeepDays;
  // 03:00 in Westport: the library is closed, as when the server runs retention.
  FakeClock clock(Instant(std::chrono::sys_days(std::chrono::year(2026) / 12 / 2)) +
                  std::chrono::hours(8));
  CARREL_RETURN_IF_ERROR(
      Library::Init(data, fs::path(CARREL_SOURCE_DIR) / "profiles/westport/library.toml",
                    OperatorActor())
          .status());
  Date today{};
  int64_t director = 0;
  {
    CARREL_ASSIGN_OR_RETURN(std::unique_ptr<Library> library, Library::Open(data, &clock));
    today = library->calendar().LocalDate(clock.Now());
    SeedOptions options;
    options.patrons = 20000;
    options.items = 50000;
    options.history_loans = rows;
    options.years = 3;
    options.progress = false;
    std::fprintf(stderr, "carrel_scale_bench: seeding %lld returned loans over three years\n",
                 static_cast<long long>(rows));
    CARREL_ASSIGN_OR_RETURN(SeedReport report, SeedDemoLibrary(*library, options));
    out["seed_seconds"] = report.seconds;
    // The Director keeps links two years (accounts are not the subject here).
    CARREL_ASSIGN_OR_RETURN(std::vector<User> users,
                            library->accounts().ListUsers(OperatorActor()));
    for (const User& u : users) {
      if (u.username == "demo-director") director = u.id;
    }
    RetentionSchedule schedule = ScheduleFromProfile(library->profile());
    for (RetentionRule& r : schedule.rules) {
      if (r.category.ends_with("_link")) r.days = kKeepDays;
      if (r.category == "patron_account") r.days = 36500;
    }
    CARREL_RETURN_IF_ERROR(library->retention()
                               .SignSchedule({"user/" + std::to_string(director), "director"},
                                             director, kDemoPassword, schedule,
                                             "benchmark: two years of links")
                               .status());
  }  // closing checkpoints the WAL into carrel.db
  out["db_bytes"] = fs::file_size(Library::DatabasePath(data));
  std::fprintf(stderr, "carrel_scale_bench: extracting patrons' records for a disclosure\n");
  CARREL_ASSIGN_OR_RETURN(
      out["disclosure"],
      MeasureDisclosure(data, &clock, 20000, {"user/" + std::to_string(director), "director"}));
  const std::string cutoff = FormatDate(today - std::chrono::days(kKeepDays));
  out["cutoff"] = cutoff;

  // The same removal as other systems do it, on an identical copy.
  const fs::path copy = dir / "update.db";
  fs::copy_file(Library::DatabasePath(data), copy);
  sync();
  std::fprintf(stderr, "carrel_scale_bench: one UPDATE on a copy\n");
  CARREL_ASSIGN_OR_RETURN(auto update, BareUpdate(copy, cutoff));
  out["update_seconds"] = update.first;
  out["update_rows"] = update.second;
  fs::remove(copy);
  fs::remove(copy.string() + "-wal");
  fs::remove(copy.string() + "-shm");
  sync();

  CARREL_ASSIGN_OR_RETURN(std::unique_ptr<Library> library, Library::Open(data, &clock));
  Retention& retention = library->retention();
  const Actor system = SystemActor("retention");
  std::fprintf(stderr, "carrel_scale_bench: retention plan and run\n");
  auto plan_start = std::chrono::steady_clock::now();
  CARREL_ASSIGN_OR_RETURN(RetentionPlan plan, retention.Plan(system));
  out["plan_seconds"] = SecondsSince(plan_start);
  auto run_start = std::chrono::steady_clock::now();
  CARREL_ASSIGN_OR_RETURN(RetentionRun run, retention.Run(system));
  out["run_seconds"] = SecondsSince(run_start);
  out["key_seconds"] = run.key_seconds;
  out["keys_destroyed"] = run.destroyed_keys.size();
  int64_t links = 0;
  for (const RetentionCount& c : run.counts) links += c.due;
  out["links_removed"] = links;
  int64_t planned = 0;
  for (const RetentionCount& c : plan.counts) planned += c.due;
  out["links_planned"] = planned;

  // Checkouts and checkins: a valid card and available items of the seeded library.
  Circulation& circ = library->circulation();
  const Actor desk{"user/1", "staff"};
  std::string card;
  for (int64_t n = 1; n <= 200 && card.empty(); ++n) {
    auto p = circ.FindPatronByBarcode(desk, Barcode("2100", n));
    if (p.ok() && p->expires_on >= today + std::chrono::days(1)) card = p->card_barcode;
  }
  std::vector<std::string> items;
  for (int64_t n = 1; n <= 5000 && items.size() < 20; ++n) {
    auto item = circ.FindItemByBarcode(Barcode("3100", n));
    if (item.ok() && item->status == ItemStatus::kAvailable) items.push_back(item->barcode);
  }
  if (card.empty() || items.empty()) return FailedPrecondition("no valid card or available item");
  size_t next_item = 0;
  auto circulate = [&](int ops, std::vector<double>* us) -> Status {
    for (int i = 0; i < ops; ++i) {
      const std::string& item = items[next_item++ % items.size()];
      auto start = std::chrono::steady_clock::now();
      CARREL_RETURN_IF_ERROR(circ.Checkout(desk, item, card).status());
      us->push_back(SecondsSince(start) * 1e6);
      start = std::chrono::steady_clock::now();
      CARREL_RETURN_IF_ERROR(circ.Checkin(desk, item).status());
      us->push_back(SecondsSince(start) * 1e6);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return Status::Ok();
  };
  std::vector<double> quiet_us;
  CARREL_RETURN_IF_ERROR(circulate(200, &quiet_us));
  out["circulation_quiet"] = LatencySummary(quiet_us);

  // Reclaim in the background, as the server does, for a bounded time; circulation meanwhile.
  std::fprintf(stderr, "carrel_scale_bench: reclaiming for %.0fs while circulating\n",
               kReclaimSeconds);
  std::atomic<bool> stop{false};
  std::atomic<int64_t> cleared{0};
  Status reclaim_status;
  auto reclaim_start = std::chrono::steady_clock::now();
  std::atomic<double> reclaim_busy{0};
  std::thread reclaimer([&] {
    // As the server paces it: a batch, a pause, while more remain.
    while (!stop && SecondsSince(reclaim_start) < kReclaimSeconds) {
      auto n = retention.Reclaim(kReclaimBatchRows);
      if (!n.ok()) {
        reclaim_status = n.status();
        break;
      }
      if (*n == 0) break;
      cleared += *n;
      std::this_thread::sleep_for(kReclaimPause);
    }
    reclaim_busy = SecondsSince(reclaim_start);
  });
  std::vector<double> busy_us;
  Status circulated = Status::Ok();
  while (circulated.ok() && SecondsSince(reclaim_start) < kReclaimSeconds &&
         busy_us.size() < 100000) {
    circulated = circulate(20, &busy_us);
  }
  stop = true;
  reclaimer.join();
  double reclaim_seconds = reclaim_busy.load();
  CARREL_RETURN_IF_ERROR(circulated);
  CARREL_RETURN_IF_ERROR(reclaim_status);
  out["reclaim_seconds"] = reclaim_seconds;
  out["reclaim_batch_rows"] = kReclaimBatchRows;
  out["reclaim_pause_ms"] = kReclaimPause.count();
  out["reclaimed_rows"] = cleared.load();
  out["reclaim_rate"] = static_cast<double>(cleared.load()) / reclaim_seconds;
  out["circulation_during_reclaim"] = LatencySummary(busy_us);
  return out;
}

}  // namespace carrel::bench
