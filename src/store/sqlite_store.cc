// The embedded SQLite implementation of the Store interface.
//
// One connection, serialized by a mutex held for the life of each transaction: SQLite admits
// one writer at a time anyway, and a single connection lets prepared statements be cached and
// reused across transactions. Durability: WAL with synchronous=FULL, so an answered commit
// survives a power cut.

#include <sqlite3.h>

#include <map>
#include <mutex>

#include "carrel/store.h"

namespace carrel {
namespace {

Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  int extended = db != nullptr ? sqlite3_extended_errcode(db) : rc;
  // SQLite messages name tables and columns, never bound values, so they carry no PII.
  std::string message(what);
  message += ": ";
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
      if (extended == SQLITE_CONSTRAINT_UNIQUE || extended == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return AlreadyExists(std::move(message));
      }
      return FailedPrecondition(std::move(message));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Unavailable(std::move(message));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return DataLoss(std::move(message));
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
      return FailedPrecondition(std::move(message));
    case SQLITE_FULL:
    case SQLITE_IOERR:
      return Unavailable(std::move(message));
    default:
      return Internal(std::move(message));
  }
}

class SqliteRow : public Row {
 public:
  explicit SqliteRow(sqlite3_stmt* stmt) : stmt_(stmt) {}
  int size() const override { return sqlite3_column_count(stmt_); }
  bool IsNull(int c) const override { return sqlite3_column_type(stmt_, c) == SQLITE_NULL; }
  int64_t Int(int c) const override { return sqlite3_column_int64(stmt_, c); }
  std::string Text(int c) const override {
    const unsigned char* p = sqlite3_column_text(stmt_, c);
    if (p == nullptr) return {};
    return std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(stmt_, c));
  }
  std::string Bytes(int c) const override { return std::string(BytesView(c)); }
  std::string_view BytesView(int c) const override {
    const void* p = sqlite3_column_blob(stmt_, c);
    if (p == nullptr) return {};
    return std::string_view(static_cast<const char*>(p), sqlite3_column_bytes(stmt_, c));
  }
  std::string_view TextView(int c) const override {
    const unsigned char* p = sqlite3_column_text(stmt_, c);
    if (p == nullptr) return {};
    return std::string_view(reinterpret_cast<const char*>(p), sqlite3_column_bytes(stmt_, c));
  }

 private:
  sqlite3_stmt* stmt_;
};

class SqliteStore;

class SqliteTransaction : public Transaction {
 public:
  SqliteTransaction(SqliteStore* store, std::unique_lock<std::mutex> lock)
      : store_(store), lock_(std::move(lock)) {}
  ~SqliteTransaction() override;

  Status Exec(std::string_view sql, std::initializer_list<Value> params,
              const RowCallback& on_row) override {
    return Run(sql, params.begin(), params.size(), on_row);
  }
  Status Exec(std::string_view sql, const std::vector<Value>& params,
              const RowCallback& on_row) override {
    return Run(sql, params.data(), params.size(), on_row);
  }
  int64_t changes() const override { return changes_; }
  Status Commit() override;

 private:
  Status Run(std::string_view sql, const Value* params, size_t n, const RowCallback& on_row);

  SqliteStore* store_;
  std::unique_lock<std::mutex> lock_;
  bool done_ = false;
  int64_t changes_ = 0;
};

class SqliteStore : public Store {
 public:
  explicit SqliteStore(sqlite3* db) : db_(db) {}
  ~SqliteStore() override {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }

  Status Configure(const SqliteOptions& options) {
    sqlite3_busy_timeout(db_, options.busy_timeout_ms);
    // Touching the schema reads the header: a file that is not a database fails here.
    RETURN_IF_ERROR(Simple("SELECT count(*) FROM sqlite_master"));
    if (!options.read_only) {
      RETURN_IF_ERROR(Simple("PRAGMA journal_mode=WAL"));
    }
    RETURN_IF_ERROR(Simple("PRAGMA synchronous=FULL"));
    RETURN_IF_ERROR(Simple("PRAGMA foreign_keys=ON"));
    // Sorts and temporary tables stay in memory: no temporary files on disk, ever.
    RETURN_IF_ERROR(Simple("PRAGMA temp_store=MEMORY"));
    if (options.secure_delete) RETURN_IF_ERROR(Simple("PRAGMA secure_delete=ON"));
    return Status::Ok();
  }

  StatusOr<std::unique_ptr<Transaction>> Begin(TransactionMode mode) override {
    std::unique_lock<std::mutex> lock(mu_);
    RETURN_IF_ERROR(Simple(mode == TransactionMode::kWrite ? "BEGIN IMMEDIATE" : "BEGIN"));
    return std::unique_ptr<Transaction>(new SqliteTransaction(this, std::move(lock)));
  }

  Status Migrate(const std::vector<Migration>& migrations) override;

  StatusOr<int> SchemaVersion() override {
    int version = 0;
    RETURN_IF_ERROR(WithReadTransaction(*this, [&](Transaction& tx) {
      auto exists = tx.QueryInt(
          "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='schema_migrations'");
      if (!exists.ok()) return exists.status();
      if (*exists == 0) return Status::Ok();
      auto v = tx.QueryInt("SELECT coalesce(max(version), 0) FROM schema_migrations");
      if (!v.ok()) return v.status();
      version = static_cast<int>(*v);
      return Status::Ok();
    }));
    return version;
  }

  std::string_view engine() const override { return "sqlite"; }

  Status Checkpoint() override {
    std::lock_guard<std::mutex> lock(mu_);
    int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    if (rc != SQLITE_OK) return SqliteError(db_, rc, "checkpointing the database");
    return Status::Ok();
  }

  Status BackupTo(const std::filesystem::path& out) override {
    std::error_code ec;
    if (std::filesystem::exists(out, ec)) {
      return AlreadyExists(out.string() + " already exists; carrel will not overwrite it");
    }
    std::filesystem::path partial = out.string() + ".partial";
    std::filesystem::remove(partial, ec);
    sqlite3* dest = nullptr;
    int rc = sqlite3_open_v2(partial.c_str(), &dest,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    Status s;
    if (rc == SQLITE_OK) {
      std::lock_guard<std::mutex> lock(mu_);
      sqlite3_backup* backup = sqlite3_backup_init(dest, "main", db_, "main");
      if (backup == nullptr) {
        s = SqliteError(dest, sqlite3_errcode(dest), "starting the backup");
      } else {
        rc = sqlite3_backup_step(backup, -1);
        sqlite3_backup_finish(backup);
        if (rc != SQLITE_DONE) s = SqliteError(dest, rc, "copying the database");
      }
    } else {
      s = SqliteError(dest, rc, "creating " + partial.string());
    }
    // A backup is one self-contained file: no WAL beside it.
    if (s.ok()) {
      char* err = nullptr;
      rc = sqlite3_exec(dest, "PRAGMA journal_mode=DELETE", nullptr, nullptr, &err);
      sqlite3_free(err);
      if (rc != SQLITE_OK) s = SqliteError(dest, rc, "finishing the backup");
    }
    sqlite3_close_v2(dest);
    if (s.ok()) {
      std::filesystem::rename(partial, out, ec);
      if (ec) s = FailedPrecondition("cannot write " + out.string() + ": " + ec.message());
    }
    if (!s.ok()) std::filesystem::remove(partial, ec);
    return s;
  }

  // REQUIRES: mu_ held (by a transaction) or during Configure.
  Status Simple(const char* sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
    sqlite3_free(err);
    if (rc != SQLITE_OK) return SqliteError(db_, rc, "database");
    return Status::Ok();
  }

  StatusOr<sqlite3_stmt*> Prepare(std::string_view sql) {
    auto it = statements_.find(sql);
    if (it != statements_.end()) return it->second;
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return SqliteError(db_, rc, "preparing a statement");
    if (stmt == nullptr) return InvalidArgument("empty SQL statement");
    statements_.emplace(std::string(sql), stmt);
    return stmt;
  }

  sqlite3* db() { return db_; }

 private:
  sqlite3* db_;
  std::mutex mu_;
  std::map<std::string, sqlite3_stmt*, std::less<>> statements_;
};

SqliteTransaction::~SqliteTransaction() {
  if (!done_) (void)store_->Simple("ROLLBACK");
}

Status SqliteTransaction::Commit() {
  if (done_) return FailedPrecondition("transaction already finished");
  Status s = store_->Simple("COMMIT");
  if (!s.ok()) {
    (void)store_->Simple("ROLLBACK");
  }
  done_ = true;
  return s;
}

Status SqliteTransaction::Run(std::string_view sql, const Value* params, size_t n,
                              const RowCallback& on_row) {
  if (done_) return FailedPrecondition("transaction already finished");
  sqlite3* db = store_->db();
  ASSIGN_OR_RETURN(sqlite3_stmt * stmt, store_->Prepare(sql));
  struct Reset {
    sqlite3_stmt* s;
    ~Reset() {
      sqlite3_reset(s);
      sqlite3_clear_bindings(s);
    }
  } reset{stmt};
  if (static_cast<int>(n) != sqlite3_bind_parameter_count(stmt)) {
    return Internal("statement parameter count mismatch");
  }
  for (size_t i = 0; i < n; ++i) {
    int idx = static_cast<int>(i) + 1;
    int rc = std::visit(
        [&](const auto& v) -> int {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::monostate>) {
            return sqlite3_bind_null(stmt, idx);
          } else if constexpr (std::is_same_v<T, int64_t>) {
            return sqlite3_bind_int64(stmt, idx, v);
          } else if constexpr (std::is_same_v<T, std::string>) {
            return sqlite3_bind_text(stmt, idx, v.data(), static_cast<int>(v.size()),
                                     SQLITE_STATIC);
          } else {
            return sqlite3_bind_blob(stmt, idx, v.bytes.data(), static_cast<int>(v.bytes.size()),
                                     SQLITE_STATIC);
          }
        },
        params[i]);
    if (rc != SQLITE_OK) return SqliteError(db, rc, "binding a parameter");
  }
  SqliteRow row(stmt);
  for (;;) {
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return SqliteError(db, rc, "running a statement");
    if (on_row) RETURN_IF_ERROR(on_row(row));
  }
  changes_ = sqlite3_changes64(db);
  return Status::Ok();
}

Status SqliteStore::Migrate(const std::vector<Migration>& migrations) {
  RETURN_IF_ERROR(WithWriteTransaction(*this, [](Transaction& tx) {
    return tx.Exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
  }));
  ASSIGN_OR_RETURN(int current, SchemaVersion());
  int newest = 0;
  for (const Migration& m : migrations) newest = std::max(newest, m.version);
  if (current > newest) {
    return FailedPrecondition("the database schema (version " + std::to_string(current) +
                              ") is newer than this carrel (version " + std::to_string(newest) +
                              "); upgrade carrel");
  }
  for (const Migration& m : migrations) {
    if (m.version <= current) continue;
    Status s = WithWriteTransaction(*this, [&](Transaction& tx) {
      // Several statements: sqlite3_exec runs them all inside the open transaction, so a
      // migration and its record commit together or not at all.
      char* err = nullptr;
      std::string sql(m.sql);
      int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
      sqlite3_free(err);
      if (rc != SQLITE_OK) {
        return SqliteError(db_, rc, "schema migration " + std::to_string(m.version));
      }
      return tx.Exec(
          "INSERT INTO schema_migrations (version, name, applied_at)"
          " VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%SZ','now'))",
          {int64_t{m.version}, std::string(m.name)});
    });
    RETURN_IF_ERROR(s.WithContext("migrating the schema"));
  }
  return Status::Ok();
}

}  // namespace

StatusOr<int64_t> Transaction::QueryInt(std::string_view sql, std::initializer_list<Value> params) {
  std::optional<int64_t> out;
  RETURN_IF_ERROR(Exec(sql, params, [&](const Row& row) {
    if (!out) out = row.Int(0);
    return Status::Ok();
  }));
  if (!out) return NotFound("no row");
  return *out;
}

StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::filesystem::path& file,
                                                 const SqliteOptions& options) {
  std::error_code ec;
  if (!options.create_if_missing && !std::filesystem::exists(file, ec)) {
    return NotFound("no database file at " + file.string());
  }
  int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_PRIVATECACHE;
  if (options.read_only) {
    flags |= SQLITE_OPEN_READONLY;
  } else {
    flags |= SQLITE_OPEN_READWRITE;
    if (options.create_if_missing) flags |= SQLITE_OPEN_CREATE;
  }
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(file.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    Status s = SqliteError(db, rc, "opening " + file.string());
    sqlite3_close_v2(db);
    return s;
  }
  sqlite3_extended_result_codes(db, 1);
  auto store = std::make_unique<SqliteStore>(db);
  Status s = store->Configure(options);
  if (!s.ok()) {
    if (s.code() == StatusCode::kDataLoss) {
      return DataLoss(file.string() + " is not a usable SQLite database (corrupt or not a database)");
    }
    return s.WithContext("opening " + file.string());
  }
  return std::unique_ptr<Store>(std::move(store));
}

Status WithWriteTransaction(Store& store, const std::function<Status(Transaction&)>& body) {
  ASSIGN_OR_RETURN(auto tx, store.Begin(TransactionMode::kWrite));
  RETURN_IF_ERROR(body(*tx));
  return tx->Commit();
}

Status WithReadTransaction(Store& store, const std::function<Status(Transaction&)>& body) {
  ASSIGN_OR_RETURN(auto tx, store.Begin(TransactionMode::kRead));
  RETURN_IF_ERROR(body(*tx));
  return tx->Commit();
}

}  // namespace carrel
