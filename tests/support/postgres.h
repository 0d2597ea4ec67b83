// The PostgreSQL server of the tests (docs/design.md §10: PostgreSQL). ctest starts one for
// the run (scripts/postgres-test-cluster.sh, a fixture) and each test takes fresh databases on
// it. CARREL_SKIP_PG=1, set by hand, skips the PostgreSQL tests and says so.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "carrel/status.h"

namespace carrel::testing {

// The administrator's connection string of the tests' server; nullopt when CARREL_SKIP_PG=1
// (with a warning on stderr). A failed expectation when there is no server and no skip.
std::optional<std::string> TestPostgres();

// True when the test run drives libraries on PostgreSQL (CARREL_TEST_ENGINE=postgresql):
// TestLibrary and the CLI tests' `carrel init` then make their libraries there.
bool LibrariesOnPostgres();

// A new, empty database on the tests' server, dropped (with its connections) on destruction.
class TestDatabase {
 public:
  TestDatabase();
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  bool ok() const { return !conninfo_.empty(); }
  // Its connection string (the administrator's role, password from the passfile).
  const std::string& conninfo() const { return conninfo_; }
  const std::string& name() const { return name_; }
  // A role of its own with a password in the tests' passfile, for tests of roles.
  static StatusOr<std::string> NewRole(const std::string& name);

 private:
  std::string name_, conninfo_;
};

// Every file of the tests' server (its data directory: tables, indexes, write-ahead log), for
// tests that scan what reached the disk. Empty without a server.
std::vector<std::filesystem::path> PostgresServerFiles();

// What an insider holding the database runs to remove a refusing trigger: SQLite names the
// trigger alone, PostgreSQL with its table.
std::string DropTriggerSql(std::string_view engine, const std::string& trigger,
                           const std::string& table);

// For a test that works on a library's SQLite files themselves (corrupts, copies or compares
// them): skipped, saying so, when the run drives libraries on PostgreSQL.
#define CARREL_SQLITE_FILES_ONLY()                                                     \
  if (::carrel::testing::LibrariesOnPostgres()) {                                      \
    GTEST_SKIP() << "works on the library's SQLite files, which a PostgreSQL library " \
                    "does not have";                                                   \
  }

// Runs SQL on the tests' server as the administrator (database `dbname`, "" for the default).
Status AdminExec(const std::string& sql, const std::string& dbname = "");

}  // namespace carrel::testing
