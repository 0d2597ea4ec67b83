// The embedded SQLite implementation of the Store interface.
//
// Writes go through one connection. SQLite admits one writer at a time anyway, and each
// durable commit costs an fsync, so concurrent writers share commits (group commit): each
// write transaction runs inside a savepoint of an outer transaction, and the outer
// transaction commits when no other writer is waiting to join it. A writer is answered only
// after the commit that holds its work, so every answered write is durable (WAL with
// synchronous=FULL). A write that fails rolls back its own savepoint and nothing else.
//
// Store::Write queues its body. The caller that finds nobody writing becomes the combiner:
// it runs the queued bodies (its own among them) one after another in a batch, commits them
// together, wakes their callers, and hands the role to the next caller in the queue once its
// own body is done. A caller thus sleeps at most once and is woken once, instead of many
// threads taking turns at the writer's lock (under load, that turn taking cost more than the
// writes), and with nobody else writing a body runs at once on its caller's thread.
// Begin(kWrite) takes the same lock directly, for callers that hold a transaction open across
// their own code (the demo seeder, tests).
//
// Reads go through a pool of further connections and see only committed data (WAL
// snapshots), so they never wait for a writer's fsync. Checkpoints run on a thread of their
// own, never inside a writer's commit.

#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "carrel/store.h"
#include "store/tables.h"
#include "util/cpu_gate.h"

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
  Value Get(int c) const override {
    switch (sqlite3_column_type(stmt_, c)) {
      case SQLITE_NULL:
        return Value();
      case SQLITE_INTEGER:
        return Value(Int(c));
      case SQLITE_BLOB:
        return Value(Blob{Bytes(c)});
      default:
        return Value(Text(c));
    }
  }

 private:
  sqlite3_stmt* stmt_;
};

struct SqlFunction {
  const char* name;
  SqlBlobFunction fn;
};

std::mutex& FunctionsMutex() {
  static std::mutex mu;
  return mu;
}

std::vector<SqlFunction>& Functions() {
  static std::vector<SqlFunction> functions;
  return functions;
}

void CallBlobFunction(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  auto fn = reinterpret_cast<SqlBlobFunction>(sqlite3_user_data(ctx));
  if (argc != 2) return sqlite3_result_null(ctx);
  const void* p = sqlite3_value_blob(argv[0]);
  std::string_view blob(static_cast<const char*>(p), p != nullptr ? sqlite3_value_bytes(argv[0]) : 0);
  Value v = fn(blob, sqlite3_value_int64(argv[1]));
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          sqlite3_result_null(ctx);
        } else if constexpr (std::is_same_v<T, int64_t>) {
          sqlite3_result_int64(ctx, x);
        } else if constexpr (std::is_same_v<T, std::string>) {
          sqlite3_result_text(ctx, x.data(), static_cast<int>(x.size()), SQLITE_TRANSIENT);
        } else {
          sqlite3_result_blob(ctx, x.bytes.data(), static_cast<int>(x.bytes.size()),
                              SQLITE_TRANSIENT);
        }
      },
      v);
}

// One SQLite connection and its cache of prepared statements. Used by one thread at a time.
class Connection {
 public:
  explicit Connection(sqlite3* db) : db_(db) {}
  ~Connection() {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  static StatusOr<std::unique_ptr<Connection>> Open(const std::filesystem::path& file,
                                                    int flags) {
    sqlite3* db = nullptr;
    int rc = sqlite3_open_v2(file.c_str(), &db, flags, nullptr);
    if (rc != SQLITE_OK) {
      Status s = SqliteError(db, rc, "opening " + file.string());
      sqlite3_close_v2(db);
      return s;
    }
    sqlite3_extended_result_codes(db, 1);
    auto conn = std::make_unique<Connection>(db);
    std::lock_guard<std::mutex> lock(FunctionsMutex());
    for (const SqlFunction& f : Functions()) {
      rc = sqlite3_create_function_v2(db, f.name, 2,
                                      SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS,
                                      reinterpret_cast<void*>(f.fn), CallBlobFunction, nullptr,
                                      nullptr, nullptr);
      if (rc != SQLITE_OK) return SqliteError(db, rc, "defining an SQL function");
    }
    return conn;
  }

  Status Configure(const SqliteOptions& options, bool writer) {
    sqlite3_busy_timeout(db_, options.busy_timeout_ms);
    // Touching the schema reads the header: a file that is not a database fails here.
    CARREL_RETURN_IF_ERROR(Simple("SELECT count(*) FROM sqlite_master"));
    if (writer && !options.read_only) {
      CARREL_RETURN_IF_ERROR(Simple("PRAGMA journal_mode=WAL"));
      CARREL_RETURN_IF_ERROR(
          Simple("PRAGMA wal_autocheckpoint=0"));  // the store's own thread does it
    }
    // Page caches: the one writer's holds the hot pages of every write (indexes, the audit
    // tree); each reader's is smaller, as there are several.
    CARREL_RETURN_IF_ERROR(Simple(writer ? "PRAGMA cache_size=-65536" : "PRAGMA cache_size=-8192"));
    CARREL_RETURN_IF_ERROR(Simple("PRAGMA synchronous=FULL"));
    CARREL_RETURN_IF_ERROR(Simple("PRAGMA foreign_keys=ON"));
    // Sorts and temporary tables stay in memory: no temporary files on disk, ever.
    CARREL_RETURN_IF_ERROR(Simple("PRAGMA temp_store=MEMORY"));
    if (options.secure_delete) CARREL_RETURN_IF_ERROR(Simple("PRAGMA secure_delete=ON"));
    if (options.mmap_bytes > 0) {
      CARREL_RETURN_IF_ERROR(
          Simple(("PRAGMA mmap_size=" + std::to_string(options.mmap_bytes)).c_str()));
    }
    // Pool connections only read; a write through one would bypass group commit.
    if (!writer) CARREL_RETURN_IF_ERROR(Simple("PRAGMA query_only=ON"));
    return Status::Ok();
  }

  // One statement of fixed text (a transaction boundary, a savepoint, a pragma), run from the
  // statement cache: every transaction runs several, and compiling each anew was a tenth of a
  // busy server's time.
  Status Simple(const char* sql) {
    StatusOr<sqlite3_stmt*> stmt = Prepare(sql);
    if (!stmt.ok()) return stmt.status();
    int rc;
    while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) {
    }
    sqlite3_reset(*stmt);
    if (rc != SQLITE_DONE) return SqliteError(db_, rc, "database");
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

  // True when no transaction is open: SQLite rolled the whole transaction back on its own
  // (after an I/O error, a full disk, or an interrupted commit).
  bool autocommit() const { return sqlite3_get_autocommit(db_) != 0; }

  sqlite3* db() { return db_; }

 private:
  sqlite3* db_;
  std::map<std::string, sqlite3_stmt*, std::less<>> statements_;
};

class SqliteStore;

class SqliteTransaction : public Transaction {
 public:
  Status Exec(std::string_view sql, std::initializer_list<Value> params,
              const RowCallback& on_row) override {
    return Run(sql, params.begin(), params.size(), on_row);
  }
  Status Exec(std::string_view sql, const std::vector<Value>& params,
              const RowCallback& on_row) override {
    return Run(sql, params.data(), params.size(), on_row);
  }
  int64_t changes() const override { return changes_; }

 protected:
  explicit SqliteTransaction(Connection* conn) : conn_(conn) {}
  Status Run(std::string_view sql, const Value* params, size_t n, const RowCallback& on_row);

  Connection* conn_;
  bool done_ = false;
  int64_t changes_ = 0;
};

// A read transaction on a pool connection, returned to the pool when it ends.
class SqliteReadTransaction : public SqliteTransaction {
 public:
  SqliteReadTransaction(SqliteStore* store, std::unique_ptr<Connection> conn)
      : SqliteTransaction(conn.get()), store_(store), owned_(std::move(conn)) {}
  ~SqliteReadTransaction() override;
  Status Commit() override;

 private:
  SqliteStore* store_;
  std::unique_ptr<Connection> owned_;
};

// A write transaction: a savepoint inside the writer connection's open batch. Holds the
// writer lock until it is released into the batch or rolled back.
class SqliteWriteTransaction : public SqliteTransaction {
 public:
  SqliteWriteTransaction(SqliteStore* store, Connection* conn,
                         std::unique_lock<std::mutex> lock, uint64_t batch)
      : SqliteTransaction(conn), store_(store), lock_(std::move(lock)), batch_(batch) {}
  ~SqliteWriteTransaction() override;
  Status Commit() override;

 private:
  SqliteStore* store_;
  std::unique_lock<std::mutex> lock_;
  uint64_t batch_;
};

// A queued body's transaction: a savepoint the combiner releases or rolls back once the body
// returns.
class SqliteBatchedTransaction : public SqliteTransaction {
 public:
  explicit SqliteBatchedTransaction(Connection* conn) : SqliteTransaction(conn) {}
  Status Commit() override { return FailedPrecondition("the combiner commits this transaction"); }
  void Finish() { done_ = true; }
};

// A transaction begun inside a running body, on the writer connection: a savepoint of its own
// (a nested write, released or rolled back with the body still running), or a read that sees
// what the body and the batch wrote so far.
class SqliteNestedTransaction : public SqliteTransaction {
 public:
  SqliteNestedTransaction(Connection* conn, std::string savepoint)
      : SqliteTransaction(conn), savepoint_(std::move(savepoint)) {}
  ~SqliteNestedTransaction() override {
    if (!done_ && !savepoint_.empty() && !conn_->autocommit()) {
      (void)conn_->Simple(("ROLLBACK TO " + savepoint_).c_str());
      (void)conn_->Simple(("RELEASE " + savepoint_).c_str());
    }
  }
  Status Commit() override {
    if (done_) return FailedPrecondition("the transaction already ended");
    done_ = true;
    if (savepoint_.empty()) return Status::Ok();
    return conn_->Simple(("RELEASE " + savepoint_).c_str());
  }

 private:
  std::string savepoint_;  // "": a read
};

// The store this thread is combining writes for, while one of its bodies runs: a transaction
// that body begins on the same store joins it (Begin, Write), rather than waiting for a batch
// the body itself holds open. (A body may write to another store, such as the key store,
// through that store's own queue.)
thread_local const SqliteStore* combining_for = nullptr;
thread_local int nested_depth = 0;

class SqliteStore : public Store {
 public:
  SqliteStore(std::filesystem::path file, int flags, SqliteOptions options,
              std::unique_ptr<Connection> writer)
      : file_(std::move(file)),
        flags_(flags),
        options_(options),
        writer_(std::move(writer)) {
    if (!options_.read_only) {
      // Checkpoints copy the WAL into the database and fsync it: done by SQLite inside a
      // commit, they would stall every writer waiting on that commit. They run on a thread
      // and a connection of their own instead (PASSIVE: never blocking readers or writers),
      // woken when a commit leaves the WAL longer than kCheckpointPages.
      sqlite3_wal_hook(writer_->db(), &SqliteStore::OnWalCommit, this);
      checkpointer_ = std::thread([this] { CheckpointLoop(); });
    }
  }

  ~SqliteStore() override {
    if (checkpointer_.joinable()) {
      {
        std::lock_guard<std::mutex> lock(ck_mu_);
        ck_stop_ = true;
      }
      ck_cv_.notify_all();
      checkpointer_.join();
    }
    if (!options_.read_only) sqlite3_wal_hook(writer_->db(), nullptr, nullptr);
  }

  StatusOr<std::unique_ptr<Transaction>> Begin(TransactionMode mode) override {
    if (combining_for == this) {
      // Inside a body of this store's batch: read what it wrote, or write in a savepoint.
      if (mode == TransactionMode::kRead) {
        return std::unique_ptr<Transaction>(new SqliteNestedTransaction(writer_.get(), ""));
      }
      std::string savepoint = "carrel_nested_" + std::to_string(nested_depth);
      CARREL_RETURN_IF_ERROR(writer_->Simple(("SAVEPOINT " + savepoint).c_str()));
      return std::unique_ptr<Transaction>(new SqliteNestedTransaction(writer_.get(), savepoint));
    }
    if (mode == TransactionMode::kRead) {
      CARREL_ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn, TakeReader());
      Status s = conn->Simple("BEGIN");
      if (!s.ok()) {
        GiveBackReader(std::move(conn));
        return s;
      }
      return std::unique_ptr<Transaction>(new SqliteReadTransaction(this, std::move(conn)));
    }
    arriving_.fetch_add(1);
    std::unique_lock<std::mutex> lock(mu_);
    arriving_.fetch_sub(1);
    // Join an open batch; otherwise let a checkpoint or backup that is waiting go first.
    cv_.wait(lock, [&] { return batch_open_ || exclusive_waiting_ == 0; });
    if (!batch_open_) {
      CARREL_RETURN_IF_ERROR(writer_->Simple("BEGIN IMMEDIATE"));
      batch_open_ = true;
      batch_members_ = 0;
      ++batch_;
    }
    Status s = writer_->Simple("SAVEPOINT carrel_write");
    if (!s.ok()) {
      LeaveBatch(lock);
      return s;
    }
    return std::unique_ptr<Transaction>(
        new SqliteWriteTransaction(this, writer_.get(), std::move(lock), batch_));
  }

  Status Write(const std::function<Status(Transaction&)>& body) override {
    if (combining_for == this) return WriteNested(body);
    if (options_.read_only) return Store::Write(body);  // refused at Begin
    WriteJob job;
    job.body = &body;
    {
      std::unique_lock<std::mutex> q(q_mu_);
      queue_.push_back(&job);
      if (combining_) {
        CpuGate::Release();  // another handler runs while this one waits
        job.cv.wait(q, [&] { return job.done || job.combine; });
        if (job.done) return std::move(job.result);
      }
      combining_ = true;
    }
    Combine(job);
    return std::move(job.result);
  }

  Status Migrate(const std::vector<Migration>& migrations) override;

  StatusOr<int> SchemaVersion() override {
    int version = 0;
    CARREL_RETURN_IF_ERROR(WithReadTransaction(*this, [&](Transaction& tx) {
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

  StatusOr<std::vector<TableInfo>> Tables() override {
    std::vector<TableInfo> tables;
    std::map<std::string, std::set<std::string>> references;
    CARREL_RETURN_IF_ERROR(WithReadTransaction(*this, [&](Transaction& tx) -> Status {
      CARREL_RETURN_IF_ERROR(
          tx.Exec("SELECT name FROM sqlite_master WHERE type = 'table' AND "
                  "name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
                  {}, [&](const Row& row) {
                    tables.push_back({row.Text(0), {}});
                    return Status::Ok();
                  }));
      for (TableInfo& t : tables) {
        CARREL_RETURN_IF_ERROR(tx.Exec("SELECT name FROM pragma_table_info(?) ORDER BY cid",
                                       {t.name}, [&](const Row& row) {
                                         t.columns.push_back(row.Text(0));
                                         return Status::Ok();
                                       }));
        CARREL_RETURN_IF_ERROR(tx.Exec("SELECT \"table\" FROM pragma_foreign_key_list(?)", {t.name},
                                       [&](const Row& row) {
                                         references[t.name].insert(row.Text(0));
                                         return Status::Ok();
                                       }));
      }
      return Status::Ok();
    }));
    return OrderByReferences(std::move(tables), references);
  }

  Status Checkpoint() override {
    Exclusive ex(this);
    sqlite3* db = writer_->db();
    // SQLite runs one checkpoint at a time and refuses a second at once (SQLITE_BUSY, whatever
    // the busy timeout): wait for the thread's, if one is running.
    std::lock_guard<std::mutex> one_at_a_time(ck_run_mu_);
    int rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    if (rc != SQLITE_OK) return SqliteError(db, rc, "checkpointing the database");
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
      // No batch is open while the copy is made, so it holds committed data only.
      Exclusive ex(this);
      sqlite3_backup* backup = sqlite3_backup_init(dest, "main", writer_->db(), "main");
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

  // The writer connection, for migrations (REQUIRES: inside a write transaction).
  Connection& writer() { return *writer_; }

  // A write transaction's work is in the batch: wait for the batch's commit, or commit it
  // when no other writer is waiting to join. REQUIRES: `lock` holds mu_.
  Status Settle(std::unique_lock<std::mutex>& lock, uint64_t batch) {
    ++batch_members_;
    if (arriving_.load() > 0 && batch_members_ < kMaxBatch) {
      // The next writer joins the batch and commits it, or hands it on in turn. The wait is
      // on a lock of its own, so that members waking up do not queue for the writer's.
      lock.unlock();
      CpuGate::Release();  // another handler runs while this one waits
      std::unique_lock<std::mutex> done(done_mu_);
      done_cv_.wait(done, [&] { return finished_ >= batch; });
      auto failed = failures_.find(batch);
      return failed == failures_.end() ? Status::Ok() : failed->second;
    }
    return FinishBatch(lock, Status::Ok());
  }

  // A write transaction rolled back its savepoint (or never opened one): commit the batch for
  // the others if nobody else will. REQUIRES: `lock` holds mu_.
  void LeaveBatch(std::unique_lock<std::mutex>& lock) {
    if (!batch_open_) return;
    if (writer_->autocommit()) {
      // SQLite rolled the whole batch back (I/O error, full disk): its members failed.
      (void)FinishBatch(lock, Unavailable("the database rolled back a transaction after an error"));
      return;
    }
    if (arriving_.load() > 0) return;
    (void)FinishBatch(lock, Status::Ok());
  }

  StatusOr<std::unique_ptr<Connection>> TakeReader() {
    {
      std::lock_guard<std::mutex> lock(pool_mu_);
      if (!readers_.empty()) {
        std::unique_ptr<Connection> c = std::move(readers_.back());
        readers_.pop_back();
        return c;
      }
    }
    int flags = (flags_ & ~SQLITE_OPEN_CREATE);
    CARREL_ASSIGN_OR_RETURN(std::unique_ptr<Connection> c, Connection::Open(file_, flags));
    CARREL_RETURN_IF_ERROR(c->Configure(options_, /*writer=*/false));
    return c;
  }

  void GiveBackReader(std::unique_ptr<Connection> c) {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (readers_.size() < kMaxIdleReaders) readers_.push_back(std::move(c));
  }

 private:
  static constexpr int kMaxBatch = 32;
  static constexpr int kCheckpointPages = 1000;  // as SQLite's own automatic checkpoints

  static int OnWalCommit(void* self, sqlite3*, const char*, int pages) {
    if (pages >= kCheckpointPages) {
      auto* store = static_cast<SqliteStore*>(self);
      {
        std::lock_guard<std::mutex> lock(store->ck_mu_);
        store->ck_wanted_ = true;
      }
      store->ck_cv_.notify_one();
    }
    return SQLITE_OK;
  }

  void CheckpointLoop() {
    // Signals are for the program's own threads, never this one.
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    std::unique_ptr<Connection> conn;
    std::unique_lock<std::mutex> lock(ck_mu_);
    while (true) {
      ck_cv_.wait(lock, [&] { return ck_stop_ || ck_wanted_; });
      if (ck_stop_) return;
      ck_wanted_ = false;
      lock.unlock();
      if (!conn) {
        auto opened = Connection::Open(file_, flags_ & ~SQLITE_OPEN_CREATE);
        if (opened.ok()) {
          conn = std::move(opened).value();
          sqlite3_busy_timeout(conn->db(), options_.busy_timeout_ms);
          // The checkpoint fsyncs the WAL before copying it and the database after.
          (void)conn->Simple("PRAGMA synchronous=FULL");
        }
      }
      if (conn) {
        std::lock_guard<std::mutex> one_at_a_time(ck_run_mu_);
        (void)sqlite3_wal_checkpoint_v2(conn->db(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                        nullptr);
      }
      // At most ten a second, however fast the WAL grows while readers hold it.
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      lock.lock();
    }
  }
  static constexpr size_t kMaxIdleReaders = 16;

  struct WriteJob {
    const std::function<Status(Transaction&)>* body = nullptr;
    Status result;
    bool done = false;
    bool combine = false;  // the caller is to take over as the combiner
    std::condition_variable cv;
  };

  // Runs batches of queued bodies until `own` is done, then hands the role on to the first
  // caller still queued (or ends it when none is).
  void Combine(WriteJob& own) {
    // A body this thread runs may combine for another store in turn, and come back.
    const SqliteStore* outer = combining_for;
    combining_for = this;
    std::vector<WriteJob*> batch;
    std::vector<Status> outcomes;
    for (;;) {
      RunBatch(batch, outcomes);
      std::lock_guard<std::mutex> q(q_mu_);
      if (!own.done) continue;
      if (queue_.empty()) {
        combining_ = false;
      } else {
        queue_.front()->combine = true;
        queue_.front()->cv.notify_one();
      }
      break;
    }
    combining_for = outer;
  }

  // Takes queued bodies as they come (up to kMaxBatch), runs each in a savepoint of one batch,
  // commits the batch, and gives each its outcome.
  void RunBatch(std::vector<WriteJob*>& batch, std::vector<Status>& outcomes) {
    batch.clear();
    outcomes.clear();
    arriving_.fetch_add(1);
    std::unique_lock<std::mutex> lock(mu_);
    arriving_.fetch_sub(1);
    cv_.wait(lock, [&] { return batch_open_ || exclusive_waiting_ == 0; });
    Status begun = Status::Ok();
    if (!batch_open_) {
      begun = writer_->Simple("BEGIN IMMEDIATE");
      if (begun.ok()) {
        batch_open_ = true;
        batch_members_ = 0;
        ++batch_;
      }
    }
    while (batch.size() < static_cast<size_t>(kMaxBatch)) {
      WriteJob* job = nullptr;
      {
        std::lock_guard<std::mutex> q(q_mu_);
        if (queue_.empty()) break;
        job = queue_.front();
        queue_.pop_front();
      }
      batch.push_back(job);
      outcomes.push_back(begun.ok() ? RunBody(*job->body) : begun);
      if (begun.ok() && writer_->autocommit()) {
        // SQLite rolled the whole batch back (I/O error, full disk): all of it failed.
        begun = Unavailable("the database rolled back a transaction after an error");
        for (Status& o : outcomes) o = begun;
      }
    }
    Status committed = begun;
    if (batch_open_) {
      Status ended = FinishBatch(lock, begun);
      if (committed.ok()) committed = std::move(ended);
    }
    lock.unlock();
    std::lock_guard<std::mutex> q(q_mu_);
    for (size_t i = 0; i < batch.size(); ++i) {
      batch[i]->result = outcomes[i].ok() ? committed : std::move(outcomes[i]);
      batch[i]->done = true;
      batch[i]->cv.notify_one();
    }
  }

  // A write begun by a body of this store's batch: a savepoint inside that body, kept or
  // undone on its own; durable when the batch commits.
  Status WriteNested(const std::function<Status(Transaction&)>& body) {
    std::string savepoint = "carrel_nested_" + std::to_string(nested_depth);
    CARREL_RETURN_IF_ERROR(writer_->Simple(("SAVEPOINT " + savepoint).c_str()));
    ++nested_depth;
    SqliteBatchedTransaction tx(writer_.get());
    Status s;
    try {
      s = body(tx);
    } catch (const std::exception&) {
      s = Internal("a write transaction failed unexpectedly");
    }
    --nested_depth;
    tx.Finish();
    if (writer_->autocommit()) return s.ok() ? Unavailable("the database rolled back a transaction") : s;
    if (s.ok()) s = writer_->Simple(("RELEASE " + savepoint).c_str());
    if (!s.ok() && !writer_->autocommit()) {
      (void)writer_->Simple(("ROLLBACK TO " + savepoint).c_str());
      (void)writer_->Simple(("RELEASE " + savepoint).c_str());
    }
    return s;
  }

  // One body in a savepoint of the open batch; its changes are undone if it fails.
  Status RunBody(const std::function<Status(Transaction&)>& body) {
    CARREL_RETURN_IF_ERROR(writer_->Simple("SAVEPOINT carrel_write"));
    SqliteBatchedTransaction tx(writer_.get());
    Status s;
    try {
      s = body(tx);
    } catch (const std::exception&) {
      s = Internal("a write transaction failed unexpectedly");
    }
    tx.Finish();
    if (writer_->autocommit()) return s.ok() ? Unavailable("the database rolled back a transaction") : s;
    if (s.ok()) s = writer_->Simple("RELEASE carrel_write");
    if (!s.ok() && !writer_->autocommit()) {
      (void)writer_->Simple("ROLLBACK TO carrel_write");
      (void)writer_->Simple("RELEASE carrel_write");
    }
    ++batch_members_;
    return s;
  }

  // Holds the writer connection with no batch open, for work that must see or copy committed
  // data only (checkpoints, backups).
  class Exclusive {
   public:
    explicit Exclusive(SqliteStore* s) : s_(s), lock_(s->mu_) {
      ++s_->exclusive_waiting_;
      s_->cv_.wait(lock_, [&] { return !s_->batch_open_; });
      --s_->exclusive_waiting_;
    }
    ~Exclusive() { s_->cv_.notify_all(); }

   private:
    SqliteStore* s_;
    std::unique_lock<std::mutex> lock_;
  };

  // Ends the open batch: commits it (or rolls it back when `failure` is set or SQLite already
  // did) and wakes its waiting members. REQUIRES: `lock` holds mu_.
  Status FinishBatch(std::unique_lock<std::mutex>& lock, Status failure) {
    (void)lock;
    Status result = std::move(failure);
    if (result.ok()) {
      result = writer_->Simple("COMMIT");
      if (!result.ok() && !writer_->autocommit()) (void)writer_->Simple("ROLLBACK");
    } else if (!writer_->autocommit()) {
      (void)writer_->Simple("ROLLBACK");
    }
    {
      std::lock_guard<std::mutex> done(done_mu_);
      if (!result.ok()) {
        failures_.emplace(batch_, result);
        // Members wake within a batch or two; older outcomes are of no use to anyone.
        while (!failures_.empty() && failures_.begin()->first + 1024 < batch_) {
          failures_.erase(failures_.begin());
        }
      }
      finished_ = batch_;
    }
    done_cv_.notify_all();
    batch_open_ = false;
    batch_members_ = 0;
    if (exclusive_waiting_ > 0) cv_.notify_all();  // a checkpoint or backup waits for this
    return result;
  }

  std::filesystem::path file_;
  int flags_;
  SqliteOptions options_;
  std::unique_ptr<Connection> writer_;

  std::mutex mu_;  // the writer connection and the batch state below
  std::condition_variable cv_;
  std::atomic<int> arriving_{0};  // writers waiting for mu_ to begin
  bool batch_open_ = false;
  int exclusive_waiting_ = 0;  // checkpoints and backups waiting for the batch to end
  int batch_members_ = 0;      // write transactions released into the open batch
  uint64_t batch_ = 0;         // number of the open batch, or of the last one

  std::thread checkpointer_;
  std::mutex ck_mu_;      // the checkpointer's wake-up
  std::mutex ck_run_mu_;  // held while a checkpoint runs: the thread's or Checkpoint()'s
  std::condition_variable ck_cv_;
  bool ck_wanted_ = false;
  bool ck_stop_ = false;

  std::mutex done_mu_;  // the outcomes below, which members of a batch wait for
  std::condition_variable done_cv_;
  uint64_t finished_ = 0;      // number of the last batch committed or failed
  std::map<uint64_t, Status> failures_;  // recent failed batches, for their waiting members

  std::mutex pool_mu_;
  std::vector<std::unique_ptr<Connection>> readers_;

  std::mutex q_mu_;  // the queue below and its jobs' outcomes
  std::deque<WriteJob*> queue_;
  bool combining_ = false;  // a caller is running the queue
};

SqliteReadTransaction::~SqliteReadTransaction() {
  if (!done_) (void)conn_->Simple("ROLLBACK");
  store_->GiveBackReader(std::move(owned_));
}

Status SqliteReadTransaction::Commit() {
  if (done_) return FailedPrecondition("transaction already finished");
  done_ = true;
  Status s = conn_->Simple("COMMIT");
  if (!s.ok()) (void)conn_->Simple("ROLLBACK");
  return s;
}

SqliteWriteTransaction::~SqliteWriteTransaction() {
  if (done_) return;
  if (!conn_->autocommit()) {
    (void)conn_->Simple("ROLLBACK TO carrel_write");
    (void)conn_->Simple("RELEASE carrel_write");
  }
  store_->LeaveBatch(lock_);
}

Status SqliteWriteTransaction::Commit() {
  if (done_) return FailedPrecondition("transaction already finished");
  done_ = true;
  Status s = conn_->autocommit() ? Unavailable("the database rolled back a transaction")
                                 : conn_->Simple("RELEASE carrel_write");
  if (!s.ok()) {
    if (!conn_->autocommit()) {
      (void)conn_->Simple("ROLLBACK TO carrel_write");
      (void)conn_->Simple("RELEASE carrel_write");
    }
    store_->LeaveBatch(lock_);
    return s;
  }
  return store_->Settle(lock_, batch_);
}

Status SqliteTransaction::Run(std::string_view sql, const Value* params, size_t n,
                              const RowCallback& on_row) {
  if (done_) return FailedPrecondition("transaction already finished");
  sqlite3* db = conn_->db();
  CARREL_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, conn_->Prepare(sql));
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
    if (on_row) CARREL_RETURN_IF_ERROR(on_row(row));
  }
  changes_ = sqlite3_changes64(db);
  return Status::Ok();
}

Status SqliteStore::Migrate(const std::vector<Migration>& migrations) {
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*this, [](Transaction& tx) {
    return tx.Exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
  }));
  CARREL_ASSIGN_OR_RETURN(int current, SchemaVersion());
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
      sqlite3* db = writer().db();
      int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
      sqlite3_free(err);
      if (rc != SQLITE_OK) {
        return SqliteError(db, rc, "schema migration " + std::to_string(m.version));
      }
      return tx.Exec(
          "INSERT INTO schema_migrations (version, name, applied_at)"
          " VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%SZ','now'))",
          {int64_t{m.version}, std::string(m.name)});
    });
    CARREL_RETURN_IF_ERROR(s.WithContext("migrating the schema"));
  }
  return Status::Ok();
}

}  // namespace

StatusOr<int64_t> Transaction::QueryInt(std::string_view sql, std::initializer_list<Value> params) {
  std::optional<int64_t> out;
  CARREL_RETURN_IF_ERROR(Exec(sql, params, [&](const Row& row) {
    if (!out) out = row.Int(0);
    return Status::Ok();
  }));
  if (!out) return NotFound("no row");
  return *out;
}

void RegisterSqlFunction(const char* name, SqlBlobFunction fn) {
  std::lock_guard<std::mutex> lock(FunctionsMutex());
  for (SqlFunction& f : Functions()) {
    if (std::string_view(f.name) == name) {
      f.fn = fn;
      return;
    }
  }
  Functions().push_back({name, fn});
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
  CARREL_ASSIGN_OR_RETURN(std::unique_ptr<Connection> writer, Connection::Open(file, flags));
  Status s = writer->Configure(options, /*writer=*/true);
  if (!s.ok()) {
    if (s.code() == StatusCode::kDataLoss) {
      return DataLoss(file.string() + " is not a usable SQLite database (corrupt or not a database)");
    }
    return s.WithContext("opening " + file.string());
  }
  return std::unique_ptr<Store>(
      std::make_unique<SqliteStore>(file, flags, options, std::move(writer)));
}

StatusOr<std::unique_ptr<JobLock>> Store::TryLockJob(std::string_view) {
  return std::make_unique<JobLock>();
}

Status Store::Write(const std::function<Status(Transaction&)>& body) {
  CARREL_ASSIGN_OR_RETURN(auto tx, Begin(TransactionMode::kWrite));
  CARREL_RETURN_IF_ERROR(body(*tx));
  return tx->Commit();
}

Status WithWriteTransaction(Store& store, const std::function<Status(Transaction&)>& body) {
  return store.Write(body);
}

Status WithReadTransaction(Store& store, const std::function<Status(Transaction&)>& body) {
  CARREL_ASSIGN_OR_RETURN(auto tx, store.Begin(TransactionMode::kRead));
  CARREL_RETURN_IF_ERROR(body(*tx));
  return tx->Commit();
}

StatusOr<std::map<std::string, std::string>> ReadBackupMeta(const std::filesystem::path& file,
                                                            std::string_view meta_table) {
  SqliteOptions options;
  options.read_only = true;
  auto store = OpenSqliteStore(file, options);
  if (!store.ok()) {
    return DataLoss(file.string() + " is not a usable backup (" + store.status().message() + ")");
  }
  std::map<std::string, std::string> meta;
  std::string integrity;
  Status s = WithReadTransaction(**store, [&](Transaction& tx) -> Status {
    CARREL_RETURN_IF_ERROR(tx.Exec("PRAGMA quick_check", {}, [&](const Row& row) {
      if (integrity.empty()) integrity = row.Text(0);
      return Status::Ok();
    }));
    // The table is the caller's (the store knows no domain's tables).
    return tx.Exec("SELECT key, value FROM " + std::string(meta_table), {}, [&](const Row& row) {
      meta[row.Text(0)] = row.Text(1);
      return Status::Ok();
    });
  });
  if (!s.ok() || integrity != "ok") {
    return DataLoss(file.string() + " is not a complete carrel backup (truncated or damaged)");
  }
  return meta;
}

}  // namespace carrel
