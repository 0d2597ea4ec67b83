// Extracting one patron's records for a disclosure (docs/design.md §12): over a library whose
// history holds CARREL_BENCH_RETENTION_ROWS returned loans, the calls the disclosure package
// makes for one patron in scope of every category (the patron, current loans, loan history,
// holds, fines, and each record's item), timed per patron, for random patrons each with a
// cold key cache. Next to it, the bare storage engine reads exactly the same rows by primary
// key (the floor: no tag to compute, nothing to decrypt, no audit entry).

#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <vector>

#include "bench/bench_support.h"
#include "bench/scale/scale.h"
#include "bench/scale/stats.h"
#include "carrel/library.h"

namespace carrel::bench {
namespace {

constexpr int kPatrons = 200;  // patrons extracted, each once

struct Extracted {
  std::vector<int64_t> history_ids;
  std::vector<int64_t> item_ids;
  int64_t records = 0;
};

// What the package gathers for one patron, through the library's own calls, in the order the
// package makes them and in one transaction, as it does (Requests::CollectRecords).
StatusOr<Extracted> Extract(Store& store, Circulation& circ, const Actor& actor, int64_t patron) {
  Extracted out;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(store, [&](Transaction&) -> Status {
    CARREL_ASSIGN_OR_RETURN(Patron p, circ.GetPatron(actor, patron));
    out.records += p.id == patron ? 1 : 0;
    CARREL_ASSIGN_OR_RETURN(auto loans, circ.ActiveLoans(actor, patron));
    CARREL_ASSIGN_OR_RETURN(auto history, circ.PatronHistory(actor, patron));
    CARREL_ASSIGN_OR_RETURN(auto holds, circ.PatronHolds(actor, patron));
    CARREL_ASSIGN_OR_RETURN(auto fines, circ.PatronFines(actor, patron));
    std::vector<int64_t> ids;
    for (const Loan& l : loans) ids.push_back(l.item_id);
    for (const ReturnedLoan& r : history) {
      out.history_ids.push_back(r.history_id);
      ids.push_back(r.item_id);
    }
    for (const Hold& h : holds) ids.push_back(h.item_id);
    CARREL_ASSIGN_OR_RETURN(auto items, circ.GetItems(ids));
    for (int64_t id : ids) {
      if (items.contains(id)) out.item_ids.push_back(id);
    }
    out.records += static_cast<int64_t>(ids.size() + fines.size());
    return Status::Ok();
  }));
  return out;
}

// The same history rows and items read by primary key through the SQLite C API.
StatusOr<double> BareRead(sqlite3* db, const Extracted& e) {
  sqlite3_stmt* history = nullptr;
  sqlite3_stmt* items = nullptr;
  sqlite3_prepare_v3(db,
                     "SELECT id, item_id, checked_out_on, returned_on, patron_link, link_epoch "
                     "FROM loan_history WHERE id = ?",
                     -1, SQLITE_PREPARE_PERSISTENT, &history, nullptr);
  sqlite3_prepare_v3(db, "SELECT id, barcode, title FROM items WHERE id = ?", -1,
                     SQLITE_PREPARE_PERSISTENT, &items, nullptr);
  if (history == nullptr || items == nullptr) {
    sqlite3_finalize(history);
    sqlite3_finalize(items);
    return Internal(std::string("bare statements: ") + sqlite3_errmsg(db));
  }
  int64_t seen = 0;
  auto start = std::chrono::steady_clock::now();
  sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
  auto read = [&](sqlite3_stmt* stmt, int64_t id) {
    sqlite3_bind_int64(stmt, 1, id);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      seen += sqlite3_column_bytes(stmt, 1) > 0 ? 1 : 0;
    }
    sqlite3_reset(stmt);
  };
  for (int64_t id : e.history_ids) read(history, id);
  for (int64_t id : e.item_ids) read(items, id);
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  double seconds = SecondsSince(start);
  sqlite3_finalize(history);
  sqlite3_finalize(items);
  if (seen < static_cast<int64_t>(e.history_ids.size())) {
    return Internal("the bare read found fewer rows than carrel");
  }
  return seconds;
}

}  // namespace

StatusOr<nlohmann::json> MeasureDisclosure(const std::filesystem::path& data, const Clock* clock,
                                           int64_t patrons, const Actor& director) {
  std::vector<double> carrel_us, bare_us;
  std::vector<double> history_rows;
  int64_t records = 0;
  sqlite3* bare = nullptr;
  if (sqlite3_open_v2(Library::DatabasePath(data).c_str(), &bare, SQLITE_OPEN_READONLY, nullptr) !=
      SQLITE_OK) {
    sqlite3_close_v2(bare);
    return FailedPrecondition("cannot open the library's database read-only");
  }
  std::vector<int64_t> ids;
  sqlite3_stmt* list = nullptr;
  sqlite3_prepare_v2(bare, "SELECT id FROM patrons ORDER BY id LIMIT ?", -1, &list, nullptr);
  if (list != nullptr) {
    sqlite3_bind_int64(list, 1, patrons);
    while (sqlite3_step(list) == SQLITE_ROW) ids.push_back(sqlite3_column_int64(list, 0));
  }
  sqlite3_finalize(list);
  if (ids.empty()) {
    sqlite3_close_v2(bare);
    return FailedPrecondition("the library has no patrons");
  }
  std::mt19937_64 random(7);
  std::uniform_int_distribution<size_t> pick(0, ids.size() - 1);
  Status status = Status::Ok();
  for (int i = 0; i < kPatrons && status.ok(); ++i) {
    int64_t patron = ids[pick(random)];
    // A library opened afresh for each patron: every key is cold, as for a case's first package.
    auto library = Library::Open(data, clock);
    if (!library.ok()) {
      status = library.status();
      break;
    }
    Circulation& circ = (*library)->circulation();
    auto start = std::chrono::steady_clock::now();
    auto extracted = Extract((*library)->store(), circ, director, patron);
    double us = SecondsSince(start) * 1e6;
    if (!extracted.ok()) {
      status = extracted.status();
      break;
    }
    carrel_us.push_back(us);
    history_rows.push_back(static_cast<double>(extracted->history_ids.size()));
    records += extracted->records;
    auto floor = BareRead(bare, *extracted);
    if (!floor.ok()) {
      status = floor.status();
      break;
    }
    bare_us.push_back(*floor * 1e6);
  }
  sqlite3_close_v2(bare);
  CARREL_RETURN_IF_ERROR(status);
  nlohmann::json out;
  out["patrons_extracted"] = kPatrons;
  out["records"] = records;
  out["history_rows_per_patron"] = LatencySummary(history_rows);
  out["carrel"] = LatencySummary(carrel_us);
  out["bare"] = LatencySummary(bare_us);
  return out;
}

StatusOr<nlohmann::json> RunDisclosureOnly(const std::filesystem::path& dir) {
  CARREL_RETURN_IF_ERROR(InitCrypto());
  const std::filesystem::path data = dir / "lib";
  FakeClock clock(Instant(std::chrono::sys_days(std::chrono::year(2026) / 12 / 2)) +
                  std::chrono::hours(8));
  int64_t director = 0;
  {
    CARREL_ASSIGN_OR_RETURN(std::unique_ptr<Library> library, Library::Open(data, &clock));
    CARREL_ASSIGN_OR_RETURN(std::vector<User> users,
                            library->accounts().ListUsers(OperatorActor()));
    for (const User& u : users) {
      if (u.username == "demo-director") director = u.id;
    }
  }
  return MeasureDisclosure(data, &clock, 20000, {"user/" + std::to_string(director), "director"});
}

}  // namespace carrel::bench
