// Circulation throughput (docs/design.md §12): checkout + checkin through carrel in-process, with
// and without the audit log, the same statements issued straight through the SQLite C API on a copy
// of the same database, and the bare durable single-row transaction rate that bounds them all.
// Every operation is one durable transaction (WAL, synchronous=FULL), so the rates are fsync-bound
// and best read as ratios. The bare run binds values of the same sizes but does no cryptography and
// no auditing: decrypting patron fields, blind indexing, sealing history links, reading the keyring
// and appending to the audit log are carrel's own work. A last benchmark replays, without SQLite,
// the cryptography one checkout + checkin performs, to show its share.
//
// Sizes come from CARREL_BENCH_PATRONS, CARREL_BENCH_ITEMS and CARREL_BENCH_LOANS; the library
// lives in a temporary directory under $TMPDIR (default /tmp), removed when the process exits.

#include <benchmark/benchmark.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "bench/bench_support.h"
#include "carrel/circulation.h"
#include "carrel/clock.h"
#include "carrel/demo.h"
#include "carrel/library.h"
#include "carrel/status.h"
#include "carrel/store.h"
#include "carrel/vault.h"
#include "circulation/sealed_records.h"

namespace carrel {
namespace {

namespace fs = std::filesystem;

// The front desk, as the audit log records it.
const Actor kDesk{"user/1", "staff"};

using bench::EnvSize;
using bench::ScratchDir;

// A bare SQLite connection configured as carrel configures its own (WAL, synchronous=FULL,
// foreign keys on), holding prepared statements for the life of the connection.
class BareDatabase {
 public:
  static StatusOr<std::unique_ptr<BareDatabase>> Open(const fs::path& file) {
    sqlite3* db = nullptr;
    int rc = sqlite3_open_v2(
        file.c_str(), &db,
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_PRIVATECACHE,
        nullptr);
    std::unique_ptr<BareDatabase> out(new BareDatabase(db));
    if (rc != SQLITE_OK) return out->Error("opening " + file.string());
    sqlite3_busy_timeout(db, 5000);
    CARREL_RETURN_IF_ERROR(out->Exec("PRAGMA journal_mode=WAL"));
    CARREL_RETURN_IF_ERROR(out->Exec("PRAGMA synchronous=FULL"));
    CARREL_RETURN_IF_ERROR(out->Exec("PRAGMA foreign_keys=ON"));
    CARREL_ASSIGN_OR_RETURN(out->begin_, out->Prepare("BEGIN IMMEDIATE"));
    CARREL_ASSIGN_OR_RETURN(out->commit_, out->Prepare("COMMIT"));
    return out;
  }

  ~BareDatabase() {
    for (sqlite3_stmt* stmt : statements_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }

  BareDatabase(const BareDatabase&) = delete;
  BareDatabase& operator=(const BareDatabase&) = delete;

  StatusOr<sqlite3_stmt*> Prepare(std::string_view sql) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return Error("preparing a statement");
    statements_.push_back(stmt);
    return stmt;
  }

  Status Exec(const char* sql) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) return Error(sql);
    return Status::Ok();
  }

  // Runs `body` between a prepared BEGIN IMMEDIATE and COMMIT; rolls back if anything fails.
  template <typename Body>
  Status InTransaction(Body&& body) {
    Status s = Done(begin_);
    if (!s.ok()) return s;
    s = body();
    if (s.ok()) s = Done(commit_);
    if (!s.ok()) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return s;
  }

  // Steps a statement with no result rows to completion and resets it.
  Status Done(sqlite3_stmt* stmt) {
    int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE) return Error("running a statement");
    return Status::Ok();
  }

  Status Error(std::string what) const {
    return Internal(std::move(what) + ": " + sqlite3_errmsg(db_));
  }

 private:
  explicit BareDatabase(sqlite3* db) : db_(db) {}

  sqlite3* db_;
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
  std::vector<sqlite3_stmt*> statements_;
};

// One use of a prepared statement: binds in order, steps, and resets when it goes out of scope
// so the statement is ready for the next use. Bound text and blobs must outlive the use.
class StatementUse {
 public:
  StatementUse(BareDatabase& db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~StatementUse() { sqlite3_reset(stmt_); }

  StatementUse& Bind(int64_t v) {
    Check(sqlite3_bind_int64(stmt_, ++bound_, v));
    return *this;
  }
  StatementUse& Bind(std::string_view v) {
    Check(sqlite3_bind_text(stmt_, ++bound_, v.data(), static_cast<int>(v.size()), SQLITE_STATIC));
    return *this;
  }
  StatementUse& BindBlob(std::string_view v) {
    Check(sqlite3_bind_blob(stmt_, ++bound_, v.data(), static_cast<int>(v.size()), SQLITE_STATIC));
    return *this;
  }

  // True when the statement produced a row, false when it finished.
  StatusOr<bool> Step() {
    if (bind_rc_ != SQLITE_OK) return db_.Error("binding a parameter");
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return db_.Error("running a statement");
  }

  int64_t Int(int column) const { return sqlite3_column_int64(stmt_, column); }
  std::string_view Text(int column) const {
    const unsigned char* p = sqlite3_column_text(stmt_, column);
    if (p == nullptr) return {};
    return std::string_view(reinterpret_cast<const char*>(p),
                            static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
  }

 private:
  void Check(int rc) {
    if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  }

  BareDatabase& db_;
  sqlite3_stmt* stmt_;
  int bound_ = 0;
  int bind_rc_ = SQLITE_OK;
};

// The statements Circulation::Checkout and Circulation::Checkin run on carrel.db for an
// available item with no holds, lent to a patron with a valid card and returned on the day,
// without carrel's layers: no validation, no Status plumbing or row objects, no decryption or
// blind indexing (the patron is looked up by a card_bi read once in advance) and no sealing
// (the history link binds fixed bytes of the sealed size). The SQL text is carrel's.
class BareCirculation {
 public:
  // `today` and `due_by_type` are ISO dates as carrel stores them.
  static StatusOr<std::unique_ptr<BareCirculation>> Open(
      const fs::path& file, std::string today, std::map<std::string, std::string> due_by_type) {
    CARREL_ASSIGN_OR_RETURN(std::unique_ptr<BareDatabase> db, BareDatabase::Open(file));
    std::unique_ptr<BareCirculation> out(
        new BareCirculation(std::move(db), std::move(today), std::move(due_by_type)));
    BareDatabase& d = *out->db_;
    CARREL_ASSIGN_OR_RETURN(
        out->item_by_barcode_,
        d.Prepare("SELECT id, barcode, title, author, call_number, item_type, status "
                  "FROM items WHERE barcode = ?"));
    CARREL_ASSIGN_OR_RETURN(out->patron_by_card_bi_,
                            d.Prepare(std::string(kPatronColumns) + "card_bi = ?"));
    CARREL_ASSIGN_OR_RETURN(out->patron_by_id_, d.Prepare(std::string(kPatronColumns) + "id = ?"));
    CARREL_ASSIGN_OR_RETURN(
        out->insert_loan_,
        d.Prepare("INSERT INTO loans (item_id, patron_id, checked_out_on, due_on, "
                  "renewals) VALUES (?, ?, ?, ?, 0) RETURNING id"));
    CARREL_ASSIGN_OR_RETURN(out->set_item_status_,
                            d.Prepare("UPDATE items SET status = ? WHERE id = ?"));
    CARREL_ASSIGN_OR_RETURN(out->touch_patron_,
                            d.Prepare("UPDATE patrons SET last_activity_on = ? WHERE id = ? AND "
                                      "last_activity_on <> ?"));
    CARREL_ASSIGN_OR_RETURN(
        out->active_loan_,
        d.Prepare("SELECT id, item_id, patron_id, checked_out_on, due_on, renewals "
                  "FROM loans WHERE item_id = ?"));
    CARREL_ASSIGN_OR_RETURN(out->next_history_id_,
                            d.Prepare("SELECT coalesce(max(id), 0) + 1 FROM loan_history"));
    CARREL_ASSIGN_OR_RETURN(
        out->insert_history_,
        d.Prepare("INSERT INTO loan_history (id, item_id, patron_link, link_epoch, "
                  "link_tag, checked_out_on, due_on, returned_on) VALUES (?, ?, ?, "
                  "?, ?, ?, ?, ?)"));
    CARREL_ASSIGN_OR_RETURN(out->delete_loan_, d.Prepare("DELETE FROM loans WHERE id = ?"));
    CARREL_ASSIGN_OR_RETURN(
        out->first_waiting_hold_,
        d.Prepare("SELECT id FROM holds WHERE item_id = ? AND status = 'waiting' "
                  "ORDER BY placed_at, id LIMIT 1"));
    return out;
  }

  Status Checkout(std::string_view item_barcode, std::string_view card_bi) {
    return db_->InTransaction([&]() -> Status {
      int64_t item_id = 0;
      const std::string* due_on = nullptr;
      {
        StatementUse item(*db_, item_by_barcode_);
        CARREL_ASSIGN_OR_RETURN(bool found, item.Bind(item_barcode).Step());
        if (!found) return NotFound("no item with that barcode");
        if (item.Text(6) != "available") return FailedPrecondition("the item is not available");
        auto due = due_by_type_.find(std::string(item.Text(5)));
        if (due == due_by_type_.end()) return FailedPrecondition("no loan period");
        item_id = item.Int(0);
        due_on = &due->second;
      }
      int64_t patron_id = 0;
      {
        StatementUse patron(*db_, patron_by_card_bi_);
        CARREL_ASSIGN_OR_RETURN(bool found, patron.BindBlob(card_bi).Step());
        if (!found) return NotFound("no patron with that card barcode");
        if (patron.Text(8) < today_) return FailedPrecondition("the card has expired");
        patron_id = patron.Int(0);
        // Carrel reads every candidate of the truncated blind index.
        while (found) {
          CARREL_ASSIGN_OR_RETURN(found, patron.Step());
        }
      }
      {
        StatementUse loan(*db_, insert_loan_);
        CARREL_ASSIGN_OR_RETURN(
            bool row, loan.Bind(item_id).Bind(patron_id).Bind(today_).Bind(*due_on).Step());
        if (!row) return Internal("INSERT ... RETURNING gave no row");
      }
      CARREL_RETURN_IF_ERROR(SetItemStatus(item_id, "on_loan"));
      return TouchPatron(patron_id);
    });
  }

  Status Checkin(std::string_view item_barcode) {
    return db_->InTransaction([&]() -> Status {
      int64_t item_id = 0;
      {
        StatementUse item(*db_, item_by_barcode_);
        CARREL_ASSIGN_OR_RETURN(bool found, item.Bind(item_barcode).Step());
        if (!found) return NotFound("no item with that barcode");
        item_id = item.Int(0);
      }
      int64_t loan_id = 0;
      int64_t patron_id = 0;
      std::string checked_out_on;
      std::string due_on;
      {
        StatementUse loan(*db_, active_loan_);
        CARREL_ASSIGN_OR_RETURN(bool found, loan.Bind(item_id).Step());
        if (!found) return FailedPrecondition("the item is not on loan");
        loan_id = loan.Int(0);
        patron_id = loan.Int(2);
        checked_out_on = loan.Text(3);
        due_on = loan.Text(4);
      }
      int64_t history_id = 0;
      {
        StatementUse next(*db_, next_history_id_);
        CARREL_ASSIGN_OR_RETURN(bool row, next.Step());
        if (!row) return Internal("no next history id");
        history_id = next.Int(0);
      }
      {
        // Carrel reads the patron to learn whether the link goes under the patron's own key.
        StatementUse patron(*db_, patron_by_id_);
        CARREL_ASSIGN_OR_RETURN(bool found, patron.Bind(patron_id).Step());
        if (!found) return NotFound("no such patron");
      }
      {
        StatementUse history(*db_, insert_history_);
        CARREL_ASSIGN_OR_RETURN(bool row, history.Bind(history_id)
                                              .Bind(item_id)
                                              .BindBlob(sealed_link_)
                                              .Bind(today_)
                                              .BindBlob(link_tag_)
                                              .Bind(checked_out_on)
                                              .Bind(due_on)
                                              .Bind(today_)
                                              .Step());
        if (row) return Internal("INSERT gave a row");
      }
      {
        StatementUse remove(*db_, delete_loan_);
        CARREL_RETURN_IF_ERROR(remove.Bind(loan_id).Step().status());
      }
      // Returned on the day it was lent: never overdue, so no fine.
      CARREL_RETURN_IF_ERROR(TouchPatron(patron_id));
      {
        StatementUse hold(*db_, first_waiting_hold_);
        CARREL_ASSIGN_OR_RETURN(bool waiting, hold.Bind(item_id).Step());
        if (waiting) return FailedPrecondition("the benchmark picked an item with holds");
      }
      return SetItemStatus(item_id, "available");
    });
  }

 private:
  // As in src/circulation/sealed_records.cc.
  static constexpr char kPatronColumns[] =
      "SELECT id, card_barcode, name, email, phone, postal_address, juvenile, history_opt_in, "
      "expires_on, last_activity_on FROM patrons WHERE ";
  // Nonce, sealed 8-byte patron id, authentication tag; and the 8-byte link tag.
  static constexpr size_t kSealedLinkSize = 24 + 8 + 16;
  static constexpr size_t kLinkTagSize = 8;

  BareCirculation(std::unique_ptr<BareDatabase> db, std::string today,
                  std::map<std::string, std::string> due_by_type)
      : db_(std::move(db)),
        today_(std::move(today)),
        due_by_type_(std::move(due_by_type)),
        sealed_link_(kSealedLinkSize, '\x5a'),
        link_tag_(kLinkTagSize, '\xa5') {}

  Status SetItemStatus(int64_t item_id, std::string_view status) {
    StatementUse update(*db_, set_item_status_);
    return update.Bind(status).Bind(item_id).Step().status();
  }

  Status TouchPatron(int64_t patron_id) {
    StatementUse update(*db_, touch_patron_);
    return update.Bind(today_).Bind(patron_id).Bind(today_).Step().status();
  }

  std::unique_ptr<BareDatabase> db_;
  std::string today_;
  std::map<std::string, std::string> due_by_type_;
  std::string sealed_link_;
  std::string link_tag_;
  sqlite3_stmt* item_by_barcode_ = nullptr;
  sqlite3_stmt* patron_by_card_bi_ = nullptr;
  sqlite3_stmt* patron_by_id_ = nullptr;
  sqlite3_stmt* insert_loan_ = nullptr;
  sqlite3_stmt* set_item_status_ = nullptr;
  sqlite3_stmt* touch_patron_ = nullptr;
  sqlite3_stmt* active_loan_ = nullptr;
  sqlite3_stmt* next_history_id_ = nullptr;
  sqlite3_stmt* insert_history_ = nullptr;
  sqlite3_stmt* delete_loan_ = nullptr;
  sqlite3_stmt* first_waiting_hold_ = nullptr;
};

// A patron with a valid card, as the counter sees them (the barcode) and as the bare benchmark
// finds them (the stored blind index of the barcode).
struct Borrower {
  std::string card_barcode;
  std::string card_bi;
};

// A patron's sealed fields as stored, with what it takes to open them: the material for
// replaying a checkout + checkin's cryptography without the database.
struct CryptoSample {
  int64_t id = 0;
  std::string card_barcode;
  std::shared_ptr<const SecretKey> key;
  std::vector<std::pair<std::string, std::string>> sealed_fields;  // column, ciphertext
};

// The seeded library every circulation benchmark shares, built on first use: seeded, closed
// so that its WAL is checkpointed, copied byte for byte for the bare benchmark, and reopened
// (so carrel starts with a cold keyring cache, as after a restart).
class SeededLibrary {
 public:
  // Never null; check status() before use. Lives for the whole process.
  static SeededLibrary* Get() {
    static SeededLibrary* const seeded = [] {
      auto* s = new SeededLibrary();
      s->status_ = s->Build();
      return s;
    }();
    return seeded;
  }

  const Status& status() const { return status_; }
  Library& library() { return *library_; }
  const fs::path& bare_copy() const { return bare_copy_; }
  const std::string& today() const { return today_; }
  const std::map<std::string, std::string>& due_by_type() const { return due_by_type_; }

  // The n-th checkout: an available item with no holds, in shuffled catalogue order, and a
  // patron with a valid card, cycling through both so that both benchmarks meet the same
  // sequence and each run meets patrons the previous runs have not touched.
  const std::string& ItemBarcode(uint64_t n) const { return items_[n % items_.size()]; }
  const Borrower& BorrowerFor(uint64_t n) const { return borrowers_[n % borrowers_.size()]; }

  // Circulation over the same store and vault with no audit log: what auditing costs.
  Circulation& unaudited() { return *unaudited_; }

  // Valid patrons the circulation benchmarks never lend to, with their keys unwrapped.
  const std::vector<CryptoSample>& crypto_samples() const { return crypto_samples_; }

 private:
  // Enough for every iteration of both in-process benchmarks over all repetitions, so that
  // carrel meets cold patron keys as often as a library of this size would.
  static constexpr int64_t kBorrowers = 60000;
  // Patrons whose fields the cryptography replay opens, taken from the other end of the id
  // order so that their keys, unwrapped here, are not the borrowers' keys.
  static constexpr int64_t kCryptoSamples = 256;

  SeededLibrary() : clock_(SystemClock()->Now()) {}

  Status Build() {
    CARREL_ASSIGN_OR_RETURN(int64_t patrons, EnvSize("CARREL_BENCH_PATRONS", 100000));
    CARREL_ASSIGN_OR_RETURN(int64_t items, EnvSize("CARREL_BENCH_ITEMS", 200000));
    CARREL_ASSIGN_OR_RETURN(int64_t loans, EnvSize("CARREL_BENCH_LOANS", 1000000));
    CARREL_ASSIGN_OR_RETURN(fs::path scratch, ScratchDir());
    fs::path dir = scratch / "library";
    CARREL_RETURN_IF_ERROR(
        Library::Init(dir, fs::path(CARREL_SOURCE_DIR) / "profiles/westport/library.toml",
                      OperatorActor())
            .status());
    CARREL_ASSIGN_OR_RETURN(library_, Library::Open(dir, &clock_));
    SeedOptions options;
    options.patrons = patrons;
    options.items = items;
    options.history_loans = loans;
    options.progress = false;
    std::fprintf(stderr, "carrel_bench: seeding %lld patrons, %lld items, %lld returned loans\n",
                 static_cast<long long>(patrons), static_cast<long long>(items),
                 static_cast<long long>(loans));
    CARREL_ASSIGN_OR_RETURN(SeedReport report, SeedDemoLibrary(*library_, options));
    std::fprintf(stderr, "carrel_bench: seeded in %.1fs\n", report.seconds);

    Instant now = clock_.Now();
    today_ = FormatDate(library_->calendar().LocalDate(now));
    for (const auto& [type, days] : library_->profile().loan_days) {
      due_by_type_[type] = FormatDate(library_->calendar().DueDate(now, days));
    }
    std::vector<std::pair<int64_t, std::string>> valid;  // patron id, card_bi
    CARREL_RETURN_IF_ERROR(WithReadTransaction(library_->store(), [&](Transaction& tx) -> Status {
      CARREL_RETURN_IF_ERROR(
          tx.Exec("SELECT barcode FROM items WHERE status = 'available' AND NOT EXISTS "
                  "(SELECT 1 FROM holds WHERE holds.item_id = items.id AND "
                  "status IN ('waiting', 'ready')) ORDER BY id",
                  {}, [&](const Row& row) {
                    items_.push_back(row.Text(0));
                    return Status::Ok();
                  }));
      // Patron ids are random, so id order is no order at all.
      return tx.Exec("SELECT id, card_bi FROM patrons WHERE expires_on >= ? ORDER BY id LIMIT ?",
                     {today_, kBorrowers}, [&](const Row& row) {
                       valid.emplace_back(row.Int(0), row.Bytes(1));
                       return Status::Ok();
                     });
    }));
    if (items_.empty() || valid.empty()) {
      return FailedPrecondition("the seeded library has no available item or no valid patron");
    }
    std::shuffle(items_.begin(), items_.end(), std::mt19937_64(1));
    // The barcodes are decrypted straight from the sealed records: the audited public call
    // would commit (and fsync) one audit entry per borrower before anything is measured.
    SealedRecords records(&library_->vault());
    CARREL_RETURN_IF_ERROR(WithReadTransaction(library_->store(), [&](Transaction& tx) -> Status {
      for (auto& [id, card_bi] : valid) {
        CARREL_ASSIGN_OR_RETURN(Patron patron, records.GetPatron(tx, id));
        borrowers_.push_back({patron.card_barcode, std::move(card_bi)});
      }
      return Status::Ok();
    }));

    library_.reset();  // the last connection checkpoints the WAL into carrel.db
    bare_copy_ = scratch / "bare.db";
    std::error_code ec;
    fs::copy_file(Library::DatabasePath(dir), bare_copy_, ec);
    fs::path wal = Library::DatabasePath(dir).string() + "-wal";
    if (!ec && fs::exists(wal)) fs::copy_file(wal, bare_copy_.string() + "-wal", ec);
    if (ec) return FailedPrecondition("cannot copy the seeded database: " + ec.message());
    // Write back the seed and the copy now: a commit's fsync would otherwise wait behind
    // hundreds of megabytes of dirty pages, and the first benchmark would pay for it.
    sync();
    CARREL_ASSIGN_OR_RETURN(library_, Library::Open(dir, &clock_));
    // The constructor admits a null log for this benchmark only.
    unaudited_ = std::make_unique<Circulation>(&library_->store(), &library_->vault(), nullptr,
                                               &library_->profile(), &library_->calendar(),
                                               &clock_);
    return LoadCryptoSamples();
  }

  Status LoadCryptoSamples() {
    static constexpr const char* kSealedColumns[] = {
        "card_barcode", "name", "email", "phone", "postal_address", "juvenile", "history_opt_in"};
    CARREL_RETURN_IF_ERROR(WithReadTransaction(library_->store(), [&](Transaction& tx) -> Status {
      return tx.Exec(
          "SELECT id, card_barcode, name, email, phone, postal_address, juvenile, "
          "history_opt_in FROM patrons WHERE expires_on >= ? ORDER BY id DESC LIMIT ?",
          {today_, kCryptoSamples}, [&](const Row& row) -> Status {
            CryptoSample sample;
            sample.id = row.Int(0);
            for (int c = 1; c <= 7; ++c) {
              if (row.IsNull(c)) continue;
              sample.sealed_fields.emplace_back(kSealedColumns[c - 1], row.Bytes(c));
            }
            crypto_samples_.push_back(std::move(sample));
            return Status::Ok();
          });
    }));
    if (crypto_samples_.empty()) return FailedPrecondition("the seeded library has no patrons");
    for (CryptoSample& sample : crypto_samples_) {
      CARREL_ASSIGN_OR_RETURN(sample.key, library_->keyring().Get(Vault::PatronKeyName(sample.id)));
      CARREL_ASSIGN_OR_RETURN(sample.card_barcode,
                              Vault::Open(*sample.key, "patrons", "card_barcode", sample.id,
                                          sample.sealed_fields.front().second));
    }
    return Status::Ok();
  }

  Status status_;
  FakeClock clock_;  // holds still so that every operation falls on the same library day
  std::unique_ptr<Library> library_;
  fs::path bare_copy_;
  std::string today_;
  std::map<std::string, std::string> due_by_type_;
  std::vector<std::string> items_;
  std::vector<Borrower> borrowers_;
  std::unique_ptr<Circulation> unaudited_;
  std::vector<CryptoSample> crypto_samples_;
};

void SetOperationsProcessed(benchmark::State& state, int64_t per_iteration) {
  state.SetItemsProcessed(state.iterations() * per_iteration);
}

// The n-th checkout + checkin of carrel in-process. Both in-process benchmarks draw n from one
// sequence, so that neither meets patrons (and patron keys) the other has already warmed.
uint64_t next_in_process = 0;

void RunInProcess(benchmark::State& state, Circulation& circulation, SeededLibrary& seeded) {
  for (auto _ : state) {
    uint64_t n = next_in_process++;
    const std::string& item = seeded.ItemBarcode(n);
    Status s = circulation.Checkout(kDesk, item, seeded.BorrowerFor(n).card_barcode).status();
    if (s.ok()) s = circulation.Checkin(kDesk, item).status();
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
  }
  SetOperationsProcessed(state, 2);
}

void BM_CheckoutCheckin_InProcess(benchmark::State& state) {
  SeededLibrary* seeded = SeededLibrary::Get();
  if (!seeded->status().ok()) {
    state.SkipWithError(seeded->status().ToString().c_str());
    return;
  }
  RunInProcess(state, seeded->library().circulation(), *seeded);
}

// The same with a Circulation that has no audit log: no entry, no tree nodes, no leaf hash.
void BM_CheckoutCheckin_InProcessNoAudit(benchmark::State& state) {
  SeededLibrary* seeded = SeededLibrary::Get();
  if (!seeded->status().ok()) {
    state.SkipWithError(seeded->status().ToString().c_str());
    return;
  }
  RunInProcess(state, seeded->unaudited(), *seeded);
}

void BM_CheckoutCheckin_BareSqlite(benchmark::State& state) {
  SeededLibrary* seeded = SeededLibrary::Get();
  if (!seeded->status().ok()) {
    state.SkipWithError(seeded->status().ToString().c_str());
    return;
  }
  static BareCirculation* const bare = [&]() -> BareCirculation* {
    auto opened =
        BareCirculation::Open(seeded->bare_copy(), seeded->today(), seeded->due_by_type());
    if (!opened.ok()) {
      std::fprintf(stderr, "carrel_bench: %s\n", opened.status().ToString().c_str());
      return nullptr;
    }
    return std::move(opened).value().release();
  }();
  if (bare == nullptr) {
    state.SkipWithError("cannot open the bare copy of the seeded database");
    return;
  }
  static uint64_t next = 0;
  for (auto _ : state) {
    uint64_t n = next++;
    const std::string& item = seeded->ItemBarcode(n);
    Status s = bare->Checkout(item, seeded->BorrowerFor(n).card_bi);
    if (s.ok()) s = bare->Checkin(item);
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
  }
  SetOperationsProcessed(state, 2);
}

void BM_BareDurableTransaction(benchmark::State& state) {
  StatusOr<fs::path> scratch = ScratchDir();
  if (!scratch.ok()) {
    state.SkipWithError(scratch.status().ToString().c_str());
    return;
  }
  auto db = BareDatabase::Open(*scratch / "durable.db");
  Status s = db.status();
  sqlite3_stmt* insert = nullptr;
  if (s.ok()) {
    s = (*db)->Exec(
        "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, "
        "at TEXT NOT NULL)");
  }
  if (s.ok()) {
    auto prepared = (*db)->Prepare("INSERT INTO events (at) VALUES (?)");
    s = prepared.status();
    if (s.ok()) insert = *prepared;
  }
  if (!s.ok()) {
    state.SkipWithError(s.ToString().c_str());
    return;
  }
  BareDatabase& bare = **db;
  const std::string at = "2026-01-01T00:00:00Z";
  for (auto _ : state) {
    s = bare.InTransaction([&]() -> Status {
      StatementUse use(bare, insert);
      return use.Bind(at).Step().status();
    });
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
  }
  SetOperationsProcessed(state, 1);
}

// The cryptography of one checkout + checkin, replayed on real sealed fields without SQLite:
//   checkout: the card barcode's blind index; the patron's key unwrapped from the keyring (cold:
//             an XChaCha20-Poly1305 open of 32 bytes, here under a stand-in key encryption key);
//             every sealed field of the patron opened;
//   checkin:  every sealed field opened again (the patron is read for their history choice);
//             the history link sealed (8 bytes) and its link tag computed.
// The patron, epoch and blind-index keys come from the keyring's cache, as they do in carrel.
// `parts` selects which of these calls to make, so that each can be measured alone too.
enum CryptoPart : unsigned {
  kBlindIndex = 1,
  kKeyUnwrap = 2,
  kFieldOpens = 4,
  kLinkSeal = 8,
  kAllCrypto = 15,
};

void ReplayCrypto(benchmark::State& state, unsigned parts) {
  SeededLibrary* seeded = SeededLibrary::Get();
  if (!seeded->status().ok()) {
    state.SkipWithError(seeded->status().ToString().c_str());
    return;
  }
  Vault& vault = seeded->library().vault();
  const std::vector<CryptoSample>& samples = seeded->crypto_samples();
  const SecretKey kek = SecretKey::Random();
  std::vector<std::string> wrapped;
  for (const CryptoSample& sample : samples) {
    wrapped.push_back(Vault::Seal(
        kek, "data_keys", "wrapped", sample.id,
        std::string_view(reinterpret_cast<const char*>(sample.key->data()), SecretKey::kSize)));
  }
  const std::string link_bytes(8, '\x2a');
  size_t n = 0;
  int64_t calls = 0;
  Status s;
  for (auto _ : state) {
    const size_t i = n++ % samples.size();
    const CryptoSample& p = samples[i];
    if (parts & kBlindIndex) {
      StatusOr<std::string> index =
          vault.BlindIndex("card_barcode", NormalizeBarcode(p.card_barcode));
      if (!index.ok()) s = index.status();
      benchmark::DoNotOptimize(index);
      ++calls;
    }
    if (parts & kKeyUnwrap) {
      StatusOr<std::string> key = Vault::Open(kek, "data_keys", "wrapped", p.id, wrapped[i]);
      if (!key.ok()) s = key.status();
      benchmark::DoNotOptimize(key);
      ++calls;
    }
    if (parts & kFieldOpens) {
      for (int read = 0; read < 2; ++read) {  // checkout, then checkin
        for (const auto& [column, sealed] : p.sealed_fields) {
          StatusOr<std::string> field = Vault::Open(*p.key, "patrons", column, p.id, sealed);
          if (!field.ok()) s = field.status();
          benchmark::DoNotOptimize(field);
          ++calls;
        }
      }
    }
    if (parts & kLinkSeal) {
      std::string link = Vault::Seal(*p.key, "loan_history", "patron_link",
                                     static_cast<int64_t>(n), link_bytes);
      std::string tag = Vault::LinkTag(*p.key, p.id);
      benchmark::DoNotOptimize(link);
      benchmark::DoNotOptimize(tag);
      calls += 2;
    }
  }
  if (!s.ok()) {
    state.SkipWithError(s.ToString().c_str());
    return;
  }
  // Calls per checkout + checkin, for the document.
  const double iterations = static_cast<double>(state.iterations());
  state.counters["calls"] = iterations > 0 ? static_cast<double>(calls) / iterations : 0;
  SetOperationsProcessed(state, 2);
}

void BM_CheckoutCheckinCrypto_All(benchmark::State& state) { ReplayCrypto(state, kAllCrypto); }
void BM_CheckoutCheckinCrypto_BlindIndex(benchmark::State& state) {
  ReplayCrypto(state, kBlindIndex);
}
void BM_CheckoutCheckinCrypto_KeyUnwrap(benchmark::State& state) {
  ReplayCrypto(state, kKeyUnwrap);
}
void BM_CheckoutCheckinCrypto_FieldOpens(benchmark::State& state) {
  ReplayCrypto(state, kFieldOpens);
}
void BM_CheckoutCheckinCrypto_LinkSeal(benchmark::State& state) {
  ReplayCrypto(state, kLinkSeal);
}

// The first four are fsync-bound at a few hundred to a few thousand operations a second, and
// this machine's fsync rate drifts over seconds. scripts/bench.sh repeats the suite many times
// in random order with short minimum times, so every benchmark samples the same slow and fast
// spells of the disk and the medians compare like with like.
BENCHMARK(BM_CheckoutCheckin_InProcess)->UseRealTime()->MinTime(0.4)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CheckoutCheckin_InProcessNoAudit)
    ->UseRealTime()
    ->MinTime(0.4)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CheckoutCheckin_BareSqlite)
    ->UseRealTime()
    ->MinTime(0.4)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_BareDurableTransaction)->UseRealTime()->MinTime(0.4)->Unit(benchmark::kMicrosecond);
// CPU-bound: no fsync, so CPU time is the figure.
BENCHMARK(BM_CheckoutCheckinCrypto_All)->MinTime(0.1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CheckoutCheckinCrypto_BlindIndex)->MinTime(0.1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CheckoutCheckinCrypto_KeyUnwrap)->MinTime(0.1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CheckoutCheckinCrypto_FieldOpens)->MinTime(0.1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CheckoutCheckinCrypto_LinkSeal)->MinTime(0.1)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace carrel
