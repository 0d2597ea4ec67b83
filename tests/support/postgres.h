// The PostgreSQL server of the tests (docs/design.md §10: PostgreSQL). ctest starts one for
// the run (scripts/postgres-test-cluster.sh, a fixture) and each test takes fresh databases on
// it. CARREL_SKIP_PG=1, set by hand, skips the PostgreSQL tests and says so.
#pragma once

#include <optional>
#include <string>

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

// Runs SQL on the tests' server as the administrator (database `dbname`, "" for the default).
Status AdminExec(const std::string& sql, const std::string& dbname = "");

}  // namespace carrel::testing
