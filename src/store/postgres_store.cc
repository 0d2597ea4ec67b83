// The PostgreSQL implementation of the Store interface (docs/design.md §10: PostgreSQL).
//
// Each transaction has a connection of its own from a pool. A write transaction takes one
// advisory lock at its first statement and holds it to its end, so that writes are serialized
// across every carrel server on the database, as SQLite serializes them within one: ids taken
// as max + 1 stay unique, and the audit log is appended strictly in order. A read transaction
// is a REPEATABLE READ snapshot that never waits for a writer. Rows are streamed one at a time
// (libpq's single-row mode), so a scan over millions of rows holds one row in memory.
//
// A transaction begun inside a Write body on the same store joins it on the body's connection:
// a savepoint for a write, a plain read that sees what the body wrote so far.
//
// A connection that breaks fails the transaction using it (kUnavailable, nothing of it
// committed) and is replaced by a fresh one for the next transaction, through the same
// connection string: with several hosts and target_session_attrs=read-write, that is the new
// primary after a failover.

#include <arpa/inet.h>
#include <libpq-fe.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <vector>

#include "carrel/store.h"
#include "store/postgres_sql.h"
#include "store/tables.h"

namespace carrel {
namespace {

// The advisory lock every write transaction holds ("carrel" in ASCII).
constexpr int64_t kWriteLock = 0x63617272656c;

// PostgreSQL's own type numbers (pg_type.oid), stable across versions.
enum Oid : unsigned {
  kBool = 16,
  kBytea = 17,
  kInt8 = 20,
  kInt2 = 21,
  kInt4 = 23,
  kNumeric = 1700,
};

// SQLSTATE to a status. Messages are PostgreSQL's primary message only: it names constraints
// and tables, while its detail line may quote values (and so PII), which are never kept. A data
// exception's message may quote the value too, so it is replaced.
Status PgStatus(const PGresult* res, PGconn* conn, std::string_view what) {
  const char* state = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  const char* primary = res != nullptr ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string code = state != nullptr ? state : "";
  std::string message(what);
  message += ": ";
  if (code.rfind("22", 0) == 0) {
    message += "a value does not suit its column (SQLSTATE " + code + ")";
  } else if (primary != nullptr) {
    message += primary;
  } else {
    message += "the database connection was lost";
  }
  if (code.empty() || PQstatus(conn) != CONNECTION_OK) return Unavailable(std::move(message));
  if (code == "23505") return AlreadyExists(std::move(message));
  if (code.rfind("23", 0) == 0) return FailedPrecondition(std::move(message));
  // Connection trouble, a server shutting down or read-only (a standby), a serialization
  // failure or deadlock, or no room: worth trying again later.
  if (code.rfind("08", 0) == 0 || code.rfind("57", 0) == 0 || code.rfind("53", 0) == 0 ||
      code == "40001" || code == "40P01" || code == "25006") {
    return Unavailable(std::move(message));
  }
  if (code.rfind("42", 0) == 0 && code != "42501") return Internal(std::move(message));
  if (code == "42501") return PermissionDenied(std::move(message));
  if (code.rfind("XX", 0) == 0) return DataLoss(std::move(message));
  return Internal(std::move(message));
}

// The types read as integers, as SQLite gives them.
bool IsNumber(unsigned type) {
  return type == kInt8 || type == kInt4 || type == kInt2 || type == kBool || type == kNumeric;
}

int64_t ReadBigEndian(const char* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  // Sign-extend the narrower integers.
  if (n < 8 && (static_cast<unsigned char>(p[0]) & 0x80)) v |= ~uint64_t{0} << (8 * n);
  return static_cast<int64_t>(v);
}

// NUMERIC in binary: digit count, weight, sign, scale, then base-10000 digits. Its integer
// part (sums over BIGINT columns are NUMERIC).
int64_t NumericToInt(const char* p, int len) {
  if (len < 8) return 0;
  int ndigits = static_cast<int>(ReadBigEndian(p, 2)) & 0xffff;
  int weight = static_cast<int16_t>(ReadBigEndian(p + 2, 2));
  int sign = static_cast<int>(ReadBigEndian(p + 4, 2)) & 0xffff;
  int64_t v = 0;
  for (int i = 0; i <= weight; ++i) {
    int digit =
        i < ndigits && 8 + 2 * i + 2 <= len ? static_cast<int>(ReadBigEndian(p + 8 + 2 * i, 2)) : 0;
    v = v * 10000 + digit;
  }
  return sign == 0x4000 ? -v : v;
}

// One row of a result in binary format.
class PgRow : public Row {
 public:
  PgRow(const PGresult* res, int row) : res_(res), row_(row) {}
  int size() const override { return PQnfields(res_); }
  bool IsNull(int c) const override { return PQgetisnull(res_, row_, c) != 0; }
  int64_t Int(int c) const override {
    if (IsNull(c)) return 0;
    const char* p = PQgetvalue(res_, row_, c);
    int n = PQgetlength(res_, row_, c);
    switch (PQftype(res_, c)) {
      case kInt8:
        return n == 8 ? ReadBigEndian(p, 8) : 0;
      case kInt4:
        return n == 4 ? ReadBigEndian(p, 4) : 0;
      case kInt2:
        return n == 2 ? ReadBigEndian(p, 2) : 0;
      case kBool:
        return n == 1 && p[0] != 0 ? 1 : 0;
      case kNumeric:
        return NumericToInt(p, n);
      default:
        return std::strtoll(std::string(p, n).c_str(), nullptr, 10);  // text, as SQLite
    }
  }
  std::string Text(int c) const override { return std::string(TextView(c)); }
  std::string Bytes(int c) const override { return std::string(BytesView(c)); }
  std::string_view BytesView(int c) const override {
    if (IsNull(c)) return {};
    return std::string_view(PQgetvalue(res_, row_, c), PQgetlength(res_, row_, c));
  }
  std::string_view TextView(int c) const override {
    if (IsNull(c)) return {};
    if (!IsNumber(PQftype(res_, c))) return BytesView(c);
    // A number read as text, as SQLite gives it.
    scratch_.push_back(std::to_string(Int(c)));
    return scratch_.back();
  }
  Value Get(int c) const override {
    if (IsNull(c)) return Value();
    unsigned type = PQftype(res_, c);
    if (IsNumber(type)) return Value(Int(c));
    if (type == kBytea) return Value(Blob{Bytes(c)});
    return Value(Text(c));
  }

 private:
  const PGresult* res_;
  int row_;
  mutable std::deque<std::string> scratch_;
};

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

// One connection and the statements prepared on it. Used by one transaction at a time.
class PgConnection {
 public:
  explicit PgConnection(PGconn* conn) : conn_(conn) {}
  ~PgConnection() { PQfinish(conn_); }
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  bool healthy() const { return PQstatus(conn_) == CONNECTION_OK && !broken_; }
  PGconn* raw() { return conn_; }

  // Runs statements without parameters (several allowed), discarding their rows.
  Status Simple(const std::string& sql, std::string_view what = "database") {
    Free();
    // A statement sent earlier failed: the transaction is over, but a rollback still runs, so
    // that the connection stays usable.
    Status drained = Drain(nullptr);
    if (!drained.ok() && (broken_ || sql.rfind("ROLLBACK", 0) != 0)) return drained;
    Result res(PQexec(conn_, sql.c_str()));
    ExecStatusType st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return Status::Ok();
    Status s = PgStatus(res.get(), conn_, what);
    if (PQstatus(conn_) != CONNECTION_OK) broken_ = true;
    return s;
  }

  // The prepared statement for `sql` (translated and prepared on first use).
  StatusOr<std::pair<std::string, int>> Prepare(std::string_view sql) {
    auto it = prepared_.find(sql);
    if (it != prepared_.end()) return it->second;
    postgres::Query q = postgres::TranslateQuery(sql);
    std::string name = "carrel_" + std::to_string(prepared_.size() + 1);
    Result res(PQprepare(conn_, name.c_str(), q.sql.c_str(), 0, nullptr));
    if (!res || PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
      if (PQstatus(conn_) != CONNECTION_OK) broken_ = true;
      return PgStatus(res.get(), conn_, "preparing a statement");
    }
    return prepared_.emplace(std::string(sql), std::make_pair(name, q.params)).first->second;
  }

  // Statements sent and not yet answered (Send).
  bool pending() const { return pending_ > 0; }
  // A statement's rows are being read (a row callback is running).
  bool streaming() const { return !streams_.empty(); }

  // Sends a prepared statement in pipeline mode without waiting for its outcome, which Drain
  // reads (the next statement, changes() or the commit).
  Status Send(std::string_view sql, const Value* params, size_t n) {
    if (prepared_.find(sql) == prepared_.end()) {
      CARREL_RETURN_IF_ERROR(Drain(nullptr));  // preparing waits for its answer
    }
    CARREL_ASSIGN_OR_RETURN(auto prepared, Prepare(sql));
    if (static_cast<int>(n) != prepared.second) {
      return Internal("statement parameter count mismatch");
    }
    if (PQpipelineStatus(conn_) == PQ_PIPELINE_OFF && PQenterPipelineMode(conn_) != 1) {
      return Unavailable("database: the statement could not be sent");
    }
    Params p(params, n);
    if (PQsendQueryPrepared(conn_, prepared.first.c_str(), static_cast<int>(n), p.values.data(),
                            p.lengths.data(), p.formats.data(), /*resultFormat=*/1) == 0) {
      broken_ = true;
      return Unavailable("database: the statement could not be sent");
    }
    ++pending_;
    return Status::Ok();
  }

  // Commits: COMMIT sent after the statements sent, if any, and every outcome read in one
  // round trip. PostgreSQL answers COMMIT in a transaction an earlier failure ended with
  // ROLLBACK, not an error: that is a failed commit too.
  Status Commit() {
    Free();
    if (PQpipelineStatus(conn_) == PQ_PIPELINE_OFF && PQenterPipelineMode(conn_) != 1) {
      broken_ = true;
      return Unavailable("database: committing: the connection was lost");
    }
    if (PQsendQueryParams(conn_, "COMMIT", 0, nullptr, nullptr, nullptr, nullptr, 0) == 0) {
      broken_ = true;
      pending_ = 0;
      return Unavailable("database: committing: the connection was lost");
    }
    ++pending_;
    std::string tag;
    CARREL_RETURN_IF_ERROR(Drain(nullptr, &tag));
    if (tag != "COMMIT") {
      return Internal("committing: the transaction was rolled back after a failed statement");
    }
    return Status::Ok();
  }

  // Reads the outcomes of the statements sent: the first failure, and the last statement's
  // changed rows into *changes. Leaves pipeline mode.
  Status Drain(int64_t* changes, std::string* last_tag = nullptr) {
    if (pending_ == 0) return Status::Ok();
    Status first;
    if (PQpipelineSync(conn_) != 1) {
      broken_ = true;
      first = Unavailable("database: the connection was lost");
    }
    int64_t last = 0;
    for (int i = 0; i < pending_ && !broken_; ++i) {
      while (PGresult* r = PQgetResult(conn_)) {
        Result res(r);
        ExecStatusType st = PQresultStatus(res.get());
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
          const char* tuples = PQcmdTuples(res.get());
          last = tuples != nullptr && *tuples != '\0' ? std::strtoll(tuples, nullptr, 10) : 0;
          if (last_tag != nullptr) *last_tag = PQcmdStatus(res.get());
        } else if (st != PGRES_PIPELINE_ABORTED && first.ok()) {
          first = PgStatus(res.get(), conn_, "running a statement");
        }
      }
      if (PQstatus(conn_) != CONNECTION_OK) broken_ = true;
    }
    pending_ = 0;
    if (!broken_) {
      Result sync(PQgetResult(conn_));
      if (!sync || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC ||
          PQexitPipelineMode(conn_) != 1) {
        broken_ = true;
      }
    }
    if (broken_ && first.ok()) first = Unavailable("database: the connection was lost");
    if (changes != nullptr) *changes = last;
    return first;
  }

  // Runs a prepared statement, streaming its rows to on_row; sets *changes.
  Status Run(std::string_view sql, const Value* params, size_t n, const RowCallback& on_row,
             int64_t* changes) {
    Free();
    CARREL_RETURN_IF_ERROR(Drain(nullptr));
    CARREL_ASSIGN_OR_RETURN(auto prepared, Prepare(sql));
    if (static_cast<int>(n) != prepared.second) {
      return Internal("statement parameter count mismatch");
    }
    Params p(params, n);
    if (PQsendQueryPrepared(conn_, prepared.first.c_str(), static_cast<int>(n), p.values.data(),
                            p.lengths.data(), p.formats.data(), /*resultFormat=*/1) == 0 ||
        PQsetSingleRowMode(conn_) == 0) {
      broken_ = PQstatus(conn_) != CONNECTION_OK;
      while (PGresult* r = PQgetResult(conn_)) PQclear(r);
      return Unavailable("database: the statement could not be sent");
    }
    Stream stream;
    streams_.push_back(&stream);
    Status outcome;
    *changes = 0;
    for (;;) {
      Result res = stream.Next(conn_);
      if (!res) break;
      ExecStatusType st = PQresultStatus(res.get());
      if (st == PGRES_SINGLE_TUPLE) {
        if (on_row && outcome.ok()) {
          PgRow row(res.get(), 0);
          outcome = on_row(row);  // after an error, the remaining rows are read and dropped
        }
      } else if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        const char* tuples = PQcmdTuples(res.get());
        *changes = tuples != nullptr && *tuples != '\0' ? std::strtoll(tuples, nullptr, 10) : 0;
      } else if (outcome.ok()) {
        outcome = PgStatus(res.get(), conn_, "running a statement");
      }
    }
    streams_.pop_back();
    if (PQstatus(conn_) != CONNECTION_OK) {
      broken_ = true;
      if (outcome.ok()) outcome = Unavailable("database: the connection was lost");
    }
    return outcome;
  }

 private:
  // A statement run from inside another's row callback: the other's remaining rows are read
  // into its buffer first, as one connection carries one statement at a time.
  void Free() {
    if (!streams_.empty()) streams_.back()->ReadAll(conn_);
  }

  // The results of one running statement: read from the connection as they come, or from a
  // buffer once a nested statement needed the connection.
  struct Stream {
    std::deque<Result> buffered;
    bool all_read = false;
    Result Next(PGconn* conn) {
      if (!buffered.empty()) {
        Result r = std::move(buffered.front());
        buffered.pop_front();
        return r;
      }
      if (all_read) return nullptr;
      Result r(PQgetResult(conn));
      if (!r) all_read = true;
      return r;
    }
    void ReadAll(PGconn* conn) {
      while (!all_read) {
        Result r(PQgetResult(conn));
        if (!r) {
          all_read = true;
        } else {
          buffered.push_back(std::move(r));
        }
      }
    }
  };

  // A statement's parameters as libpq takes them: integers as text, text, BLOBs in binary.
  struct Params {
    Params(const Value* params, size_t n)
        : numbers(n), values(n, nullptr), lengths(n, 0), formats(n, 0) {
      for (size_t i = 0; i < n; ++i) {
        std::visit(
            [&](const auto& v) {
              using T = std::decay_t<decltype(v)>;
              if constexpr (std::is_same_v<T, int64_t>) {
                numbers[i] = std::to_string(v);
                values[i] = numbers[i].c_str();
              } else if constexpr (std::is_same_v<T, std::string>) {
                values[i] = v.c_str();
                lengths[i] = static_cast<int>(v.size());
              } else if constexpr (std::is_same_v<T, Blob>) {
                values[i] = v.bytes.data();
                lengths[i] = static_cast<int>(v.bytes.size());
                formats[i] = 1;
              }
            },
            params[i]);
      }
    }
    std::vector<std::string> numbers;
    std::vector<const char*> values;
    std::vector<int> lengths, formats;
  };

  PGconn* conn_;
  bool broken_ = false;
  int pending_ = 0;               // statements sent and not yet answered
  std::vector<Stream*> streams_;  // statements running, the innermost last
  std::map<std::string, std::pair<std::string, int>, std::less<>> prepared_;
};

class PgStore;

class PgTransaction : public Transaction {
 public:
  Status Exec(std::string_view sql, std::initializer_list<Value> params,
              const RowCallback& on_row) override {
    return Run(sql, params.begin(), params.size(), on_row);
  }
  Status Exec(std::string_view sql, const std::vector<Value>& params,
              const RowCallback& on_row) override {
    return Run(sql, params.data(), params.size(), on_row);
  }
  // Inside a savepoint a failure must be reported by its own statement (the savepoint alone is
  // undone), and inside a row callback the connection is busy: statements there run at once.
  Status Send(std::string_view sql, std::initializer_list<Value> params) override {
    return Deferred(sql, params.begin(), params.size());
  }
  Status Send(std::string_view sql, const std::vector<Value>& params) override {
    return Deferred(sql, params.data(), params.size());
  }
  int64_t changes() const override {
    if (conn_->pending()) {
      Status s = conn_->Drain(&changes_);
      if (!s.ok()) {
        changes_ = 0;
        if (!nested_) failed_ = s;
      }
    }
    return changes_;
  }

 protected:
  Status Deferred(std::string_view sql, const Value* params, size_t n) {
    if (nested_ || conn_->streaming()) return Run(sql, params, n, nullptr);
    if (done_) return FailedPrecondition("transaction already finished");
    if (!failed_.ok()) return failed_;
    Status s = conn_->Send(sql, params, n);
    if (!s.ok()) failed_ = s;
    return s;
  }

  explicit PgTransaction(PgConnection* conn) : conn_(conn) {}
  Status Run(std::string_view sql, const Value* params, size_t n, const RowCallback& on_row) {
    if (done_) return FailedPrecondition("transaction already finished");
    if (!failed_.ok()) return failed_;
    Status s = conn_->Run(sql, params, n, on_row, &changes_);
    // PostgreSQL ends a transaction at its first failed statement (SQLite keeps it): later
    // statements get the first failure again, and the caller's error path rolls it back.
    // (A row callback's own error stops only its statement, as on SQLite.)
    if (!s.ok() && !nested_ && PQtransactionStatus(conn_->raw()) != PQTRANS_INTRANS) failed_ = s;
    return s;
  }

  PgConnection* conn_;
  bool done_ = false;
  bool nested_ = false;  // a failed statement undoes only its savepoint
  mutable int64_t changes_ = 0;
  mutable Status failed_;
};

// A transaction on a pool connection of its own: BEGIN ... COMMIT.
class PgTopTransaction : public PgTransaction {
 public:
  PgTopTransaction(PgStore* store, std::unique_ptr<PgConnection> conn)
      : PgTransaction(conn.get()), store_(store), owned_(std::move(conn)) {}
  ~PgTopTransaction() override;
  Status Commit() override {
    if (done_) return FailedPrecondition("transaction already finished");
    done_ = true;
    if (!failed_.ok()) {
      (void)conn_->Simple("ROLLBACK");
      return failed_;
    }
    Status s = conn_->Commit();
    if (!s.ok() && conn_->healthy()) (void)conn_->Simple("ROLLBACK");
    return s;
  }
  PgConnection* connection() { return conn_; }
  int depth = 0;  // savepoints open inside

 private:
  PgStore* store_;
  std::unique_ptr<PgConnection> owned_;
};

// A transaction begun inside a running Write body: a savepoint (a write) or nothing (a read),
// on the body's connection.
class PgNestedTransaction : public PgTransaction {
 public:
  PgNestedTransaction(PgConnection* conn, std::string savepoint)
      : PgTransaction(conn), savepoint_(std::move(savepoint)) {
    nested_ = true;
  }
  ~PgNestedTransaction() override {
    if (!done_ && !savepoint_.empty() && conn_->healthy()) {
      (void)conn_->Simple("ROLLBACK TO SAVEPOINT " + savepoint_ + "; RELEASE SAVEPOINT " +
                          savepoint_);
    }
  }
  Status Commit() override {
    if (done_) return FailedPrecondition("the transaction already ended");
    done_ = true;
    if (savepoint_.empty()) return Status::Ok();
    return conn_->Simple("RELEASE SAVEPOINT " + savepoint_);
  }

 private:
  std::string savepoint_;
};

// The Write bodies running on this thread, innermost last, with their stores.
struct ActiveWrite {
  const PgStore* store;
  PgTopTransaction* tx;
};
thread_local std::vector<ActiveWrite> active_writes;

class PgStore : public Store {
 public:
  PgStore(PostgresOptions options, std::unique_ptr<PgConnection> first)
      : options_(std::move(options)) {
    idle_.push_back(std::move(first));
  }

  StatusOr<std::unique_ptr<Transaction>> Begin(TransactionMode mode) override {
    if (PgTopTransaction* outer = ActiveFor()) {
      if (mode == TransactionMode::kRead) {
        return std::unique_ptr<Transaction>(new PgNestedTransaction(outer->connection(), ""));
      }
      std::string savepoint = "carrel_nested_" + std::to_string(++outer->depth);
      CARREL_RETURN_IF_ERROR(outer->connection()->Simple("SAVEPOINT " + savepoint));
      return std::unique_ptr<Transaction>(new PgNestedTransaction(outer->connection(), savepoint));
    }
    const std::string begin =
        mode == TransactionMode::kRead
            ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
            : "BEGIN; SELECT pg_advisory_xact_lock(" + std::to_string(kWriteLock) + ")";
    Status s;
    // An idle connection may have died with its server (a restart, a failover) without anyone
    // noticing: nothing has run on it yet, so the next one is tried, up to a fresh connection.
    for (int attempt = 0; attempt <= options_.max_connections; ++attempt) {
      CARREL_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> conn, Take());
      s = conn->Simple(begin, "beginning a transaction");
      if (s.ok()) return std::unique_ptr<Transaction>(new PgTopTransaction(this, std::move(conn)));
      bool broken = !conn->healthy();
      GiveBack(std::move(conn));
      if (!broken) break;
    }
    return s;
  }

  Status Write(const std::function<Status(Transaction&)>& body) override {
    if (PgTopTransaction* outer = ActiveFor()) {
      CARREL_ASSIGN_OR_RETURN(std::unique_ptr<Transaction> tx, Begin(TransactionMode::kWrite));
      Status s = RunBody(body, *tx);
      if (s.ok()) s = tx->Commit();
      (void)outer;
      return s;
    }
    CARREL_ASSIGN_OR_RETURN(std::unique_ptr<Transaction> tx, Begin(TransactionMode::kWrite));
    auto* top = static_cast<PgTopTransaction*>(tx.get());
    active_writes.push_back({this, top});
    Status s = RunBody(body, *tx);
    active_writes.pop_back();
    if (!s.ok()) return s;
    return tx->Commit();
  }

  Status Migrate(const std::vector<Migration>& migrations) override;
  StatusOr<int> SchemaVersion() override;
  std::string_view engine() const override { return "postgresql"; }
  bool shared() const override { return true; }

  StatusOr<std::vector<TableInfo>> Tables() override {
    std::vector<TableInfo> tables;
    std::map<std::string, std::set<std::string>> references;
    CARREL_RETURN_IF_ERROR(WithReadTransaction(*this, [&](Transaction& tx) -> Status {
      std::map<std::string, size_t> index;
      CARREL_RETURN_IF_ERROR(
          tx.Exec("SELECT c.relname, a.attname FROM pg_class c JOIN pg_namespace n ON n.oid = "
                  "c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid WHERE n.nspname = "
                  "current_schema() AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped "
                  "ORDER BY c.relname, a.attnum",
                  {}, [&](const Row& row) {
                    std::string table = row.Text(0);
                    auto [it, fresh] = index.emplace(table, tables.size());
                    if (fresh) tables.push_back({table, {}});
                    tables[it->second].columns.push_back(row.Text(1));
                    return Status::Ok();
                  }));
      return tx.Exec(
          "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c "
          "JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
          "WHERE c.contype = 'f' AND n.nspname = current_schema()",
          {}, [&](const Row& row) {
            references[row.Text(0)].insert(row.Text(1));
            return Status::Ok();
          });
    }));
    return OrderByReferences(std::move(tables), references);
  }

  Status Checkpoint() override {
    // Deleted rows stay in the data files until VACUUM reuses their space; VACUUM FULL
    // rewrites the tables, so deleted keys leave them at once (docs/design.md §10).
    CARREL_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> conn, Take());
    Status s = conn->Simple(options_.scrub_deleted ? "VACUUM FULL" : "VACUUM", "vacuuming");
    GiveBack(std::move(conn));
    // A role may vacuum only the tables it owns; the rest is the owner's maintenance.
    if (s.code() == StatusCode::kPermissionDenied) return Status::Ok();
    return s;
  }

  // A session-level advisory lock on a connection kept for as long as the lock is held.
  StatusOr<std::unique_ptr<JobLock>> TryLockJob(std::string_view name) override {
    uint64_t key = 1469598103934665603ull;  // FNV-1a: the same number in every process
    for (char c : name) key = (key ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    std::string k = std::to_string(static_cast<int64_t>(key));
    CARREL_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> conn, Take());
    bool got = false;
    int64_t changes = 0;
    Status s = conn->Run(
        "SELECT pg_try_advisory_lock(" + k + ")", nullptr, 0,
        [&](const Row& row) {
          got = row.Int(0) != 0;
          return Status::Ok();
        },
        &changes);
    if (!s.ok() || !got) {
      GiveBack(std::move(conn));
      CARREL_RETURN_IF_ERROR(s);
      return std::unique_ptr<JobLock>();
    }
    struct Held : JobLock {
      PgStore* store;
      std::unique_ptr<PgConnection> conn;
      std::string key;
      ~Held() override {
        if (conn->healthy()) (void)conn->Simple("SELECT pg_advisory_unlock(" + key + ")");
        store->GiveBack(std::move(conn));
      }
    };
    auto held = std::make_unique<Held>();
    held->store = this;
    held->conn = std::move(conn);
    held->key = k;
    return std::unique_ptr<JobLock>(std::move(held));
  }

  Status BackupTo(const std::filesystem::path&) override {
    return Unimplemented(
        "a PostgreSQL library is backed up by carrel backup, which writes a portable copy");
  }

  StatusOr<std::unique_ptr<PgConnection>> Take() {
    for (;;) {
      std::unique_ptr<PgConnection> conn;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (idle_.empty()) break;
        conn = std::move(idle_.back());
        idle_.pop_back();
      }
      if (conn->healthy()) return conn;
      // Broken while idle (the server restarted, a failover): dropped, try the next.
    }
    return Connect(options_);
  }

  void GiveBack(std::unique_ptr<PgConnection> conn) {
    if (!conn->healthy() || PQtransactionStatus(conn->raw()) != PQTRANS_IDLE ||
        PQpipelineStatus(conn->raw()) != PQ_PIPELINE_OFF || conn->pending()) {
      return;
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (static_cast<int>(idle_.size()) < options_.max_connections) {
      idle_.push_back(std::move(conn));
    }
  }

  static StatusOr<std::unique_ptr<PgConnection>> Connect(const PostgresOptions& options) {
    std::vector<const char*> keys = {"dbname", "application_name", "connect_timeout"};
    std::vector<const char*> values = {options.conninfo.c_str(), "carrel", "10"};
    if (!options.user.empty()) {
      keys.push_back("user");
      values.push_back(options.user.c_str());
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);
    auto conn = std::make_unique<PgConnection>(
        PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1));
    if (PQstatus(conn->raw()) != CONNECTION_OK) {
      return ConnectError(conn->raw(), options);
    }
    // Dates and times are text carrel formats itself; nothing depends on the server's settings
    // but these.
    CARREL_RETURN_IF_ERROR(
        conn->Simple("SET client_encoding = 'UTF8'; SET standard_conforming_strings = on; "
                     "SET client_min_messages = warning; SET TIME ZONE 'UTC'",
                     "configuring the connection"));
    return conn;
  }

 private:
  static Status ConnectError(PGconn* conn, const PostgresOptions& options) {
    std::string why = PQerrorMessage(conn);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    // The first line says it (libpq repeats itself per host tried).
    if (size_t nl = why.find('\n'); nl != std::string::npos) why.resize(nl);
    std::string where = DescribeConninfo(options.conninfo);
    if (!options.user.empty()) where += " as " + options.user;
    if (why.find("password") != std::string::npos ||
        why.find("authentication") != std::string::npos) {
      return PermissionDenied("cannot log in to the database " + where + ": " + why +
                              " (the password comes from the passfile: PGPASSFILE or "
                              "~/.pgpass)");
    }
    if (why.find("does not exist") != std::string::npos) {
      return NotFound("the database " + where + " does not exist: " + why);
    }
    return Unavailable("cannot reach the database " + where + ": " + why);
  }

  PgTopTransaction* ActiveFor() const {
    for (auto it = active_writes.rbegin(); it != active_writes.rend(); ++it) {
      if (it->store == this) return it->tx;
    }
    return nullptr;
  }

  static Status RunBody(const std::function<Status(Transaction&)>& body, Transaction& tx) {
    try {
      return body(tx);
    } catch (const std::exception&) {
      return Internal("a write transaction failed unexpectedly");
    }
  }

  PostgresOptions options_;
  std::mutex mu_;
  std::vector<std::unique_ptr<PgConnection>> idle_;
};

PgTopTransaction::~PgTopTransaction() {
  if (!done_ && conn_->healthy()) (void)conn_->Simple("ROLLBACK");
  store_->GiveBack(std::move(owned_));
}

StatusOr<int> PgStore::SchemaVersion() {
  int version = 0;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*this, [&](Transaction& tx) -> Status {
    bool exists = false;
    CARREL_RETURN_IF_ERROR(
        tx.Exec("SELECT to_regclass('schema_migrations') IS NOT NULL", {}, [&](const Row& row) {
          exists = row.Int(0) != 0;
          return Status::Ok();
        }));
    if (!exists) return Status::Ok();
    CARREL_ASSIGN_OR_RETURN(int64_t v,
                            tx.QueryInt("SELECT coalesce(max(version), 0) FROM schema_migrations"));
    version = static_cast<int>(v);
    return Status::Ok();
  }));
  return version;
}

Status PgStore::Migrate(const std::vector<Migration>& migrations) {
  CARREL_ASSIGN_OR_RETURN(int current, SchemaVersion());
  int newest = 0;
  for (const Migration& m : migrations) newest = std::max(newest, m.version);
  if (current > newest) {
    return FailedPrecondition("the database schema (version " + std::to_string(current) +
                              ") is newer than this carrel (version " + std::to_string(newest) +
                              "); upgrade carrel");
  }
  if (current == newest) return Status::Ok();
  for (const Migration& m : migrations) {
    if (m.version <= current) continue;
    std::string sql;
    if (!m.postgresql.empty()) {
      sql = std::string(m.postgresql);
    } else {
      auto translated = postgres::TranslateSchema(m.sql);
      if (!translated.ok()) {
        return translated.status().WithContext("schema migration " + std::to_string(m.version));
      }
      sql = std::move(translated).value();
    }
    Status s = Write([&](Transaction& tx) -> Status {
      PgConnection* conn = ActiveFor()->connection();
      // Under the write lock: another server may have applied it meanwhile.
      CARREL_RETURN_IF_ERROR(
          conn->Simple("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, "
                       "name TEXT NOT NULL, applied_at TEXT NOT NULL)",
                       "schema migrations"));
      CARREL_ASSIGN_OR_RETURN(int64_t done, tx.QueryInt("SELECT count(*) FROM schema_migrations "
                                                        "WHERE version = ?",
                                                        {int64_t{m.version}}));
      if (done > 0) return Status::Ok();
      CARREL_RETURN_IF_ERROR(
          conn->Simple(std::string(postgres::SupportFunctions()), "defining carrel's functions"));
      CARREL_RETURN_IF_ERROR(conn->Simple(sql, "schema migration " + std::to_string(m.version)));
      return tx.Exec(
          "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, "
          "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))",
          {int64_t{m.version}, std::string(m.name)});
    });
    CARREL_RETURN_IF_ERROR(s.WithContext("migrating the schema"));
  }
  return Status::Ok();
}

}  // namespace

Status GrantRuntimeRole(Store& store, const std::string& role,
                        const std::vector<std::string>& append_only) {
  if (store.engine() != "postgresql") return Status::Ok();
  auto name_ok = [](const std::string& n) {
    return !n.empty() && std::all_of(n.begin(), n.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
    });
  };
  if (!name_ok(role)) return InvalidArgument("a role name is letters, digits and underscores");
  std::string tables;
  for (const std::string& t : append_only) {
    if (!name_ok(t)) return InvalidArgument("not a table name");
    tables += (tables.empty() ? "" : ", ") + t;
  }
  return store.Write([&](Transaction& tx) -> Status {
    CARREL_RETURN_IF_ERROR(tx.Exec("GRANT USAGE ON SCHEMA public TO " + role));
    CARREL_RETURN_IF_ERROR(
        tx.Exec("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " + role));
    CARREL_RETURN_IF_ERROR(
        tx.Exec("REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_migrations FROM " + role));
    if (tables.empty()) return Status::Ok();
    return tx.Exec("REVOKE UPDATE, DELETE, TRUNCATE ON " + tables + " FROM " + role);
  });
}

bool IsPostgresConninfo(std::string_view spec) {
  return spec.rfind("postgresql://", 0) == 0 || spec.rfind("postgres://", 0) == 0 ||
         spec.find("dbname=") != std::string_view::npos;
}

std::string DescribeConninfo(std::string_view conninfo) {
  char* err = nullptr;
  PQconninfoOption* options = PQconninfoParse(std::string(conninfo).c_str(), &err);
  if (options == nullptr) {
    PQfreemem(err);
    return "(an unreadable connection string)";
  }
  std::string host, port, db, user;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    std::string_view k = o->keyword;
    if (k == "host" || k == "hostaddr") host = host.empty() ? o->val : host;
    if (k == "port") port = o->val;
    if (k == "dbname") db = o->val;
    if (k == "user") user = o->val;
  }
  PQconninfoFree(options);
  std::string out = "'" + (db.empty() ? std::string("(default)") : db) + "'";
  if (!host.empty()) out += " on " + host + (port.empty() ? "" : ":" + port);
  if (!user.empty()) out += " as " + user;
  return out;
}

StatusOr<std::unique_ptr<Store>> OpenPostgresStore(const PostgresOptions& options) {
  char* err = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(options.conninfo.c_str(), &err);
  if (parsed == nullptr) {
    std::string why = err != nullptr ? err : "unreadable";
    PQfreemem(err);
    while (!why.empty() && why.back() == '\n') why.pop_back();
    return InvalidArgument("the database connection string does not read: " + why);
  }
  bool has_password = false;
  for (PQconninfoOption* o = parsed; o->keyword != nullptr; ++o) {
    if (std::string_view(o->keyword) == "password" && o->val != nullptr && *o->val != '\0') {
      has_password = true;
    }
  }
  PQconninfoFree(parsed);
  if (has_password) {
    return InvalidArgument(
        "the database connection string holds a password: put it in a passfile (PGPASSFILE "
        "or ~/.pgpass) and leave it out of the string");
  }
  CARREL_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> first, PgStore::Connect(options));
  return std::unique_ptr<Store>(std::make_unique<PgStore>(options, std::move(first)));
}

}  // namespace carrel
