#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "carrel/status.h"

namespace carrel {

// The storage interface (docs/design.md §10). carrel speaks a small portable SQL: `?` placeholders,
// INTEGER/TEXT/BLOB columns, `RETURNING`, no engine-specific functions in shared queries. The
// SQLite implementation is the embedded default; a PostgreSQL one plugs in behind the same
// interface and must pass the same conformance suite (tests/store_conformance_test.cc).

struct Blob {
  std::string bytes;
  bool operator==(const Blob&) const = default;
};

// A bound parameter or a column value. monostate is SQL NULL.
using Value = std::variant<std::monostate, int64_t, std::string, Blob>;

// One result row. Valid only inside the row callback that received it.
class Row {
 public:
  virtual ~Row() = default;
  virtual int size() const = 0;
  virtual bool IsNull(int column) const = 0;
  virtual int64_t Int(int column) const = 0;       // NULL reads as 0
  virtual std::string Text(int column) const = 0;  // NULL reads as ""
  virtual std::string Bytes(int column) const = 0; // BLOB contents
  // The same without a copy; valid only until the callback returns.
  virtual std::string_view BytesView(int column) const = 0;
  virtual std::string_view TextView(int column) const = 0;
  // The value as the engine holds it: an integer, text, bytes or NULL (for copying rows).
  virtual Value Get(int column) const = 0;
};

// One of carrel's tables and its columns, in their order.
struct TableInfo {
  std::string name;
  std::vector<std::string> columns;
};

using RowCallback = std::function<Status(const Row&)>;

// A unit of work. All reads and writes go through one; nothing is visible to others until
// Commit() returns OK. Destroying an uncommitted transaction rolls it back. Not thread-safe:
// one thread uses a transaction at a time.
class Transaction {
 public:
  virtual ~Transaction() = default;

  // Runs one statement. For each result row calls on_row (if given); a non-OK status from the
  // callback stops the statement and is returned. Constraint violations map to
  // kAlreadyExists (unique) or kFailedPrecondition (others); a busy database to kUnavailable.
  virtual Status Exec(std::string_view sql, std::initializer_list<Value> params = {},
                      const RowCallback& on_row = nullptr) = 0;
  virtual Status Exec(std::string_view sql, const std::vector<Value>& params,
                      const RowCallback& on_row) = 0;

  // Runs a statement that returns no rows and whose failure nobody handles but by ending the
  // transaction (an audit entry, a status column set): an engine may send it without waiting
  // for its outcome, which is then reported by the transaction's next Exec, changes() or Commit.
  // The default runs it at once, as Exec.
  virtual Status Send(std::string_view sql, std::initializer_list<Value> params = {}) {
    return Exec(sql, params, nullptr);
  }
  virtual Status Send(std::string_view sql, const std::vector<Value>& params) {
    return Exec(sql, params, nullptr);
  }

  // Rows changed by the last Exec.
  virtual int64_t changes() const = 0;

  // Makes the transaction's changes durable. On failure nothing was committed.
  virtual Status Commit() = 0;

  // Convenience: the first column of the first row as an integer; kNotFound if no row.
  StatusOr<int64_t> QueryInt(std::string_view sql, std::initializer_list<Value> params = {});
};

enum class TransactionMode {
  kRead,   // a consistent snapshot for reading
  kWrite,  // takes the write lock at once (SQLite BEGIN IMMEDIATE), so it cannot deadlock later
};

// One schema step. Migrations run in version order at Open; each in its own transaction,
// recorded in schema_migrations. Versions are never edited once shipped, only appended.
struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;  // may hold several statements
  // The same step on PostgreSQL, where carrel's portable SQL cannot say it (a function the
  // step needs, say). Empty: `sql` is translated (docs/design.md §10: PostgreSQL).
  std::string_view postgresql = {};
};

// Held while one server does a background job; released when destroyed.
class JobLock {
 public:
  virtual ~JobLock() = default;
};

class Store {
 public:
  virtual ~Store() = default;

  // The lock called `name` across every process using this store (a retention run, signing
  // the audit head), or null when another holds it. The default grants it at once: an SQLite
  // library is served by one process.
  virtual StatusOr<std::unique_ptr<JobLock>> TryLockJob(std::string_view name);

  virtual StatusOr<std::unique_ptr<Transaction>> Begin(TransactionMode mode) = 0;

  // Runs `body` in a write transaction and commits it if body returns OK; on any error
  // nothing of it is kept. `body` may run on another thread (the caller waits for it). A
  // transaction `body` begins on the same store joins it: a write (Write or Begin(kWrite)) is
  // a savepoint that its own failure undoes alone, a read sees what `body` wrote so far, and
  // all of it is durable when the outer transaction commits. The default is Begin, body,
  // Commit.
  virtual Status Write(const std::function<Status(Transaction&)>& body);

  // Applies migrations not yet applied; refuses a database newer than `migrations` knows.
  virtual Status Migrate(const std::vector<Migration>& migrations) = 0;
  virtual StatusOr<int> SchemaVersion() = 0;

  // carrel's tables (not the engine's own), each after the tables its foreign keys name, so
  // that rows copied in this order never reference one not yet copied.
  virtual StatusOr<std::vector<TableInfo>> Tables() = 0;

  // Engine name for messages and benchmarks: "sqlite", "postgresql".
  virtual std::string_view engine() const = 0;

  // Whether other processes may write to this store while this one uses it (several servers on
  // one PostgreSQL database): what a process keeps in memory about the store's rows must then
  // be checked against them. An SQLite library is served by one process.
  virtual bool shared() const { return false; }

  // Moves everything in the write-ahead log into the main file and empties the log, so that
  // bytes overwritten or deleted there do not linger in it. No-op where not applicable.
  virtual Status Checkpoint() = 0;

  // Writes a consistent copy of the whole database to `out` while it stays in use (SQLite's
  // online backup API). Refuses an existing `out`. On failure no partial file is left.
  virtual Status BackupTo(const std::filesystem::path& out) = 0;
};

struct SqliteOptions {
  int busy_timeout_ms = 5000;
  bool create_if_missing = false;
  bool read_only = false;
  // Overwrite deleted content with zeros (PRAGMA secure_delete): for files holding keys.
  bool secure_delete = false;
  // Read through a memory map of up to this many bytes (PRAGMA mmap_size); 0: ordinary reads.
  // For long sequential scans such as audit verification.
  int64_t mmap_bytes = 0;
};

// A memory map for long scans: as large as SQLite allows (its build caps it near 2 GiB).
inline constexpr int64_t kScanMmapBytes = int64_t{2} << 30;

// Opens (or creates, when asked) an SQLite database in WAL mode with synchronous=FULL and
// foreign keys on. Refuses a file that is not an SQLite database (kDataLoss) or fails the
// quick integrity check. Thread-safe: write transactions are serialized on one connection and
// share commits when they arrive together (each is answered only once it is durable); read
// transactions run in parallel on pooled connections and see committed data only.
StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::filesystem::path& file,
                                                 const SqliteOptions& options);

// How a module checks one of its backup files: opens `file` read-only, checks that it is an
// intact SQLite database and returns the key/value rows of `meta_table`, the caller's own table
// of facts about the file. kDataLoss when the file does not open, is damaged or lacks the table.
StatusOr<std::map<std::string, std::string>> ReadBackupMeta(const std::filesystem::path& file,
                                                            std::string_view meta_table);

// A PostgreSQL database (docs/design.md §10). The connection string is a libpq URL or key=value
// list and never holds a password: libpq reads it from the passfile (PGPASSFILE, or the
// `passfile` parameter), so no credential is on a command line or in the profile.
struct PostgresOptions {
  std::string conninfo;
  // Connect as this role rather than the one the connection string names ("": that one).
  std::string user;
  // Connections kept open at most: one per concurrent transaction.
  int max_connections = 32;
  // Checkpoint() rewrites tables so that deleted rows leave the data files (VACUUM FULL), for
  // the keyring; otherwise it is a plain VACUUM.
  bool scrub_deleted = false;
};

// True for a postgresql:// or postgres:// URL (or a libpq key=value string naming dbname=).
bool IsPostgresConninfo(std::string_view spec);

// Connects to the database (refusing a connection string that carries a password), and
// checks that it answers. Transactions: reads are REPEATABLE READ snapshots; writes hold one
// advisory lock from their first statement to their end, so writes are serialized across every
// server on the database as they are on SQLite, and the audit log is appended strictly in order.
// A transaction begun inside a Write body joins it (a savepoint for a write). A lost
// connection is kUnavailable for the transaction that had it and is replaced for the next.
StatusOr<std::unique_ptr<Store>> OpenPostgresStore(const PostgresOptions& options);

// Gives `role` what carrel's server needs on a PostgreSQL store the connecting role owns: read
// and write on every table, except `append_only` tables (read and insert only) and the schema
// versions (read only). The owner runs migrations; the server runs as `role` (docs/design.md
// §10). Run again after each migration.
Status GrantRuntimeRole(Store& store, const std::string& role,
                        const std::vector<std::string>& append_only);

// A connection string without its password-like parts, for messages: host, port, database
// and user only.
std::string DescribeConninfo(std::string_view conninfo);

// A deterministic SQL function of a BLOB and an integer constant, defined on every SQLite
// connection carrel opens, so that indexes can be built on values derived from encoded
// columns (the audit log indexes fields inside its entries this way). Register before opening
// stores; a connection without it (the sqlite3 shell) cannot write rows those indexes cover.
using SqlBlobFunction = Value (*)(std::string_view blob, int64_t arg);
void RegisterSqlFunction(const char* name, SqlBlobFunction fn);

// Copies every row of carrel's tables in `from` (one consistent snapshot of it) into `to`,
// whose schema is the same and whose tables are empty; the engines' own tables and the schema
// versions are not copied. One write transaction per table on `to`. `progress` (may be null)
// is told rows copied and the total.
Status CopyRows(Store& from, Store& to,
                const std::function<void(int64_t done, int64_t total)>& progress);

// A new SQLite file at `out` (refused if it exists) with `migrations` applied and every row of
// `from` copied in: a portable, self-contained copy of a store of any engine. Written beside
// `out` and renamed into place once whole; on failure no file is left.
Status CopyToSqliteFile(Store& from, const std::vector<Migration>& migrations,
                        const std::filesystem::path& out, const SqliteOptions& options,
                        const std::function<void(int64_t done, int64_t total)>& progress);

// Runs `body` in a write transaction and commits it if body returns OK.
Status WithWriteTransaction(Store& store, const std::function<Status(Transaction&)>& body);
Status WithReadTransaction(Store& store, const std::function<Status(Transaction&)>& body);

}  // namespace carrel
