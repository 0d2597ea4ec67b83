#include "tests/support/postgres.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iostream>

namespace carrel::testing {
namespace {

std::string ReadFirstLine(const std::string& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string StateDir() {
  const char* dir = std::getenv("CARREL_TEST_PG_STATE");
  return dir != nullptr && *dir != '\0' ? dir : CARREL_TEST_PG_STATE;
}

}  // namespace

std::optional<std::string> TestPostgres() {
  const char* skip = std::getenv("CARREL_SKIP_PG");
  if (skip != nullptr && std::string_view(skip) == "1") {
    static std::atomic<bool> warned{false};
    if (!warned.exchange(true)) {
      std::cerr << "\n*** CARREL_SKIP_PG=1: the PostgreSQL tests are SKIPPED; carrel on "
                   "PostgreSQL is not being tested ***\n\n";
    }
    return std::nullopt;
  }
  std::string conninfo = ReadFirstLine(StateDir() + "/conninfo");
  if (conninfo.empty()) {
    ADD_FAILURE() << "no PostgreSQL server for the tests in " << StateDir()
                  << ": run them with ctest, which starts one, or set CARREL_SKIP_PG=1 to skip "
                     "them";
    return std::nullopt;
  }
  return conninfo;
}

bool LibrariesOnPostgres() {
  const char* engine = std::getenv("CARREL_TEST_ENGINE");
  return engine != nullptr && std::string_view(engine) == "postgresql";
}

std::vector<std::filesystem::path> PostgresServerFiles() {
  std::vector<std::filesystem::path> files;
  std::string cluster = ReadFirstLine(StateDir() + "/cluster");
  if (cluster.empty()) return files;
  // Everything written so far reaches the files (a checkpoint), not only the WAL.
  (void)AdminExec("CHECKPOINT");
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(cluster, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) files.push_back(it->path());
  }
  return files;
}

std::string DropTriggerSql(std::string_view engine, const std::string& trigger,
                           const std::string& table) {
  if (engine == "postgresql") return "DROP TRIGGER IF EXISTS " + trigger + " ON " + table;
  return "DROP TRIGGER IF EXISTS " + trigger;
}

Status AdminExec(const std::string& sql, const std::string& dbname) {
  auto admin = TestPostgres();
  if (!admin) return FailedPrecondition("no PostgreSQL server for the tests");
  std::string conninfo = *admin + (dbname.empty() ? "" : " dbname=" + dbname);
  PGconn* conn = PQconnectdb(conninfo.c_str());
  Status s;
  if (PQstatus(conn) != CONNECTION_OK) {
    s = Unavailable(std::string("cannot reach the tests' server: ") + PQerrorMessage(conn));
  } else {
    PGresult* res = PQexec(conn, sql.c_str());
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      s = Internal(sql.substr(0, 60) + ": " + PQresultErrorMessage(res));
    }
    PQclear(res);
  }
  PQfinish(conn);
  return s;
}

TestDatabase::TestDatabase() {
  static std::atomic<int> counter{0};
  auto admin = TestPostgres();
  if (!admin) return;
  std::string name = "carrel_test_" + std::to_string(getpid()) + "_" + std::to_string(++counter);
  Status s = AdminExec("CREATE DATABASE " + name + " TEMPLATE template0 ENCODING 'UTF8'");
  if (!s.ok()) {
    ADD_FAILURE() << s.ToString();
    return;
  }
  name_ = name;
  conninfo_ = *admin + " dbname=" + name;
}

TestDatabase::~TestDatabase() {
  if (!name_.empty()) (void)AdminExec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
}

StatusOr<std::string> TestDatabase::NewRole(const std::string& name) {
  std::string password = "pw" + std::to_string(getpid()) + name;
  CARREL_RETURN_IF_ERROR(AdminExec("SET client_min_messages = warning; DROP ROLE IF EXISTS " +
                                   name + "; CREATE ROLE " + name + " LOGIN PASSWORD '" + password +
                                   "'"));
  std::string passfile = StateDir() + "/passfile";
  std::string line = ReadFirstLine(passfile);  // 127.0.0.1:PORT:*:postgres:PASSWORD
  size_t star = line.find(":*:");
  if (star == std::string::npos) return Internal("the tests' passfile does not read");
  std::ofstream out(passfile, std::ios::app);
  out << line.substr(0, star) << ":*:" << name << ":" << password << "\n";
  if (!out) return Internal("cannot write the tests' passfile");
  return name;
}

}  // namespace carrel::testing
