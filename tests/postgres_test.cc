// A library on PostgreSQL (docs/design.md §10): its roles, the audit log's protection there,
// bad input at start, a lost connection, and two servers on one database. These always run on
// the tests' PostgreSQL server (skipped, loudly, only with CARREL_SKIP_PG=1).

#include "tests/support/postgres.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "carrel/library.h"
#include "carrel/server.h"
#include "tests/support/run.h"
#include "tests/support/temp_dir.h"

namespace carrel {
namespace {

using json = nlohmann::json;
using testing::RunCarrel;
using testing::TestDatabase;

// The tests' server as `user` in database `db`.
std::string As(const std::string& db, const std::string& user) {
  return *testing::TestPostgres() + " dbname=" + db + " user=" + user;
}

// Runs `sql` through libpq; "" when it succeeds, else its SQLSTATE and message.
std::string Sql(const std::string& conninfo, const std::string& sql) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  std::string out;
  if (PQstatus(conn) != CONNECTION_OK) {
    out = std::string("connect: ") + PQerrorMessage(conn);
  } else {
    PGresult* res = PQexec(conn, sql.c_str());
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
      out = std::string(state != nullptr ? state : "?") + " " + PQresultErrorMessage(res);
    }
    PQclear(res);
  }
  PQfinish(conn);
  return out;
}

void ExpectOneErrorLine(const testing::CommandResult& r) {
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.err.rfind("carrel: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

std::string Unique(const std::string& stem) { return stem + "_" + std::to_string(getpid()); }

class PostgresLibraryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::TestPostgres()) GTEST_SKIP() << "CARREL_SKIP_PG=1: not tested on PostgreSQL";
  }
};

// The server's role reads and appends to the audit log and can do nothing else to it; the
// owner's changes are refused by the triggers, and one made after dropping them is caught by
// `carrel audit verify`; the keys are in another database the server's records role cannot
// open, and the records' database holds no key.
TEST_F(PostgresLibraryTest, RolesKeepTheLogAppendOnlyAndTheKeysApart) {
  auto owner = TestDatabase::NewRole(Unique("carrel_owner"));
  auto runtime = TestDatabase::NewRole(Unique("carrel_server"));
  auto keeper = TestDatabase::NewRole(Unique("carrel_keys"));
  ASSERT_TRUE(owner.ok() && runtime.ok() && keeper.ok());
  TestDatabase data, keys;
  ASSERT_TRUE(data.ok() && keys.ok());
  // As a database administrator makes them: each database owned by its role, the keys' closed
  // to everyone else.
  ASSERT_TRUE(testing::AdminExec("ALTER DATABASE " + data.name() + " OWNER TO " + *owner).ok());
  ASSERT_TRUE(testing::AdminExec("GRANT ALL ON SCHEMA public TO " + *owner, data.name()).ok());
  ASSERT_TRUE(testing::AdminExec("ALTER DATABASE " + keys.name() + " OWNER TO " + *keeper +
                                 "; REVOKE CONNECT ON DATABASE " + keys.name() + " FROM PUBLIC")
                  .ok());
  ASSERT_TRUE(testing::AdminExec("GRANT ALL ON SCHEMA public TO " + *keeper, keys.name()).ok());
  testing::TempDir dir;
  std::string lib = (dir / "lib").string();
  auto init = RunCarrel({"init", "--data", lib, "--database", As(data.name(), *owner),
                         "--keys-database", As(keys.name(), *keeper), "--runtime-user", *runtime});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "lib" / "carrel.db"));
  EXPECT_FALSE(std::filesystem::exists(dir / "lib" / "keyring.db"));

  const std::string server = As(data.name(), *runtime);
  EXPECT_EQ(Sql(server, "SELECT count(*) FROM audit_log"), "");
  EXPECT_EQ(Sql(server, "UPDATE audit_log SET entry = entry").substr(0, 5), "42501");
  EXPECT_EQ(Sql(server, "DELETE FROM audit_log").substr(0, 5), "42501");
  EXPECT_EQ(Sql(server, "TRUNCATE audit_nodes").substr(0, 5), "42501");
  EXPECT_EQ(Sql(server, "DELETE FROM audit_heads").substr(0, 5), "42501");
  EXPECT_EQ(Sql(server, "DELETE FROM schema_migrations").substr(0, 5), "42501");
  EXPECT_NE(Sql(As(keys.name(), *runtime), "SELECT 1"), "") << "the keys' database is closed to it";
  // No key in the records' database: a dump of it holds none.
  EXPECT_NE(Sql(As(data.name(), *owner), "SELECT 1 FROM data_keys"), "");
  EXPECT_NE(Sql(As(data.name(), *owner), "SELECT 1 FROM keyring_meta"), "");
  // The owner is refused by the triggers.
  std::string refused = Sql(As(data.name(), *owner), "UPDATE audit_log SET entry = entry");
  EXPECT_NE(refused.find("append-only"), std::string::npos) << refused;

  // The server runs as its role.
  {
    testing::ServeProcess serve(lib);
    ASSERT_TRUE(serve.started());
    httplib::Client client("127.0.0.1", serve.port());
    auto hours = client.Get("/api/v1/hours");
    ASSERT_TRUE(hours);
    EXPECT_EQ(hours->status, 200);
    auto login =
        client.Post("/api/v1/session", json{{"username", "nobody"}, {"password", "wrong"}}.dump(),
                    "application/json");
    ASSERT_TRUE(login);
    EXPECT_EQ(login->status, 401);
  }

  auto key = RunCarrel({"audit", "key", "--data", lib});
  ASSERT_EQ(key.exit_code, 0) << key.err;
  std::string vkey = key.out.substr(0, key.out.find('\n'));
  auto verified = RunCarrel({"audit", "verify", "--data", lib, "--key", vkey});
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
  // An owner who drops the trigger and edits an entry is caught.
  ASSERT_EQ(Sql(As(data.name(), *owner),
                "DROP TRIGGER audit_log_no_update ON audit_log; UPDATE audit_log SET entry = "
                "entry || '\\x00'::bytea WHERE seq = 1"),
            "");
  auto tampered = RunCarrel({"audit", "verify", "--data", lib, "--key", vkey});
  EXPECT_EQ(tampered.exit_code, 1);
  EXPECT_NE((tampered.out + tampered.err).find("entry 1"), std::string::npos)
      << tampered.out << tampered.err;
}

// Bad input at start: one clear line and a non-zero exit, and no password ever echoed.
TEST_F(PostgresLibraryTest, BadInputAtStartIsOneClearLine) {
  testing::TempDir dir;
  auto init = [&](const std::string& name, const std::string& database, const std::string& keys) {
    return RunCarrel(
        {"init", "--data", (dir / name).string(), "--database", database, "--keys-database", keys});
  };
  auto with_password = init("a", "postgresql://someone:s3cr3tword@127.0.0.1:5432/x",
                            "postgresql://someone@127.0.0.1:5432/y");
  ExpectOneErrorLine(with_password);
  EXPECT_NE(with_password.err.find("passfile"), std::string::npos) << with_password.err;
  EXPECT_EQ(with_password.err.find("s3cr3tword"), std::string::npos);

  auto unreachable = init("b", "host=127.0.0.1 port=1 dbname=x user=nobody",
                          "host=127.0.0.1 port=1 dbname=y user=nobody");
  ExpectOneErrorLine(unreachable);
  EXPECT_NE(unreachable.err.find("cannot reach"), std::string::npos) << unreachable.err;

  TestDatabase a_data, a_keys, b_data, b_keys;
  std::string stranger = Unique("carrel_stranger");
  ASSERT_TRUE(testing::AdminExec("SET client_min_messages = warning; DROP ROLE IF EXISTS " +
                                 stranger + "; CREATE ROLE " + stranger +
                                 " LOGIN PASSWORD 'not-in-the-passfile'")
                  .ok());
  auto wrong_login = init("c", As(a_data.name(), stranger), a_keys.conninfo());
  ExpectOneErrorLine(wrong_login);
  EXPECT_NE(wrong_login.err.find("cannot log in"), std::string::npos) << wrong_login.err;

  auto same = init("d", a_data.conninfo(), a_data.conninfo());
  ExpectOneErrorLine(same);
  EXPECT_NE(same.err.find("database of its own"), std::string::npos) << same.err;

  ASSERT_EQ(init("a-lib", a_data.conninfo(), a_keys.conninfo()).exit_code, 0);
  auto taken = init("e", a_data.conninfo(), b_keys.conninfo());
  ExpectOneErrorLine(taken);
  EXPECT_NE(taken.err.find("already holds"), std::string::npos) << taken.err;

  // A library pointed at another library's keyring refuses to start.
  ASSERT_EQ(init("b-lib", b_data.conninfo(), b_keys.conninfo()).exit_code, 0);
  {
    std::filesystem::path conf = dir / "b-lib" / "database.conf";
    std::ifstream in(conf);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    in.close();
    std::string swapped =
        std::regex_replace(text, std::regex("keys = [^\n]*"), "keys = " + a_keys.conninfo());
    std::ofstream(conf, std::ios::trunc) << swapped;
    auto serve = RunCarrel({"serve", "--data", (dir / "b-lib").string()});
    ExpectOneErrorLine(serve);
    EXPECT_NE(serve.err.find("another library"), std::string::npos) << serve.err;
    std::ofstream(conf, std::ios::trunc) << text;
  }
  // A schema newer than this carrel.
  ASSERT_TRUE(testing::AdminExec("INSERT INTO schema_migrations VALUES (999, 'from the future', "
                                 "'2030-01-01T00:00:00Z')",
                                 b_data.name())
                  .ok());
  auto newer = RunCarrel({"serve", "--data", (dir / "b-lib").string()});
  ExpectOneErrorLine(newer);
  EXPECT_NE(newer.err.find("newer"), std::string::npos) << newer.err;
}

// A connection lost in the middle of a transaction fails that transaction alone, with nothing
// of it kept; the next one gets a fresh connection. Over HTTP: the database out of reach is a
// 503, and the server answers again once it is back.
TEST_F(PostgresLibraryTest, ALostConnectionFailsItsTransactionAndTheServerRecovers) {
  TestDatabase db;
  ASSERT_TRUE(db.ok());
  PostgresOptions options;
  options.conninfo = db.conninfo();
  auto store = OpenPostgresStore(options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE(
      (*store)->Migrate({{1, "t", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"}}).ok());
  const std::string kill_all =
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
      "datname = '" +
      db.name() + "' AND pid <> pg_backend_pid()";
  {
    auto tx = (*store)->Begin(TransactionMode::kWrite);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE((*tx)->Exec("INSERT INTO t (v) VALUES ('half')").ok());
    ASSERT_TRUE(testing::AdminExec(kill_all).ok());
    Status s = (*tx)->Exec("INSERT INTO t (v) VALUES ('other half')");
    if (s.ok()) s = (*tx)->Commit();
    EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  }
  int64_t rows = -1;
  ASSERT_TRUE(WithReadTransaction(**store, [&](Transaction& tx) -> Status {
                CARREL_ASSIGN_OR_RETURN(rows, tx.QueryInt("SELECT count(*) FROM t"));
                return Status::Ok();
              }).ok());
  EXPECT_EQ(rows, 0) << "nothing of the failed transaction is kept";

  // The same through a server.
  TestDatabase data, keys;
  testing::TempDir dir;
  ASSERT_TRUE(Library::Init(dir / "lib", testing::WestportProfile(), OperatorActor(),
                            {data.conninfo(), keys.conninfo(), ""})
                  .ok());
  auto library = Library::Open(dir / "lib", SystemClock());
  ASSERT_TRUE(library.ok()) << library.status().ToString();
  ApiServer server(library->get());
  auto port = server.Bind("127.0.0.1", 0);
  ASSERT_TRUE(port.ok());
  std::thread serving([&] { (void)server.Serve(); });
  httplib::Client client("127.0.0.1", *port);
  auto login = [&] {
    auto r = client.Post("/api/v1/session", json{{"username", "x"}, {"password", "y"}}.dump(),
                         "application/json");
    return r ? r->status : -1;
  };
  EXPECT_EQ(login(), 401);
  ASSERT_TRUE(testing::AdminExec("ALTER DATABASE " + data.name() + " ALLOW_CONNECTIONS false; " +
                                 std::regex_replace(kill_all, std::regex(db.name()), data.name()))
                  .ok());
  EXPECT_EQ(login(), 503);
  ASSERT_TRUE(testing::AdminExec("ALTER DATABASE " + data.name() + " ALLOW_CONNECTIONS true").ok());
  EXPECT_EQ(login(), 401) << "the server recovers by itself";
  // Its idle connections cut (a server restart, a failover): nothing had run on them, so the
  // next request goes through on a fresh one.
  ASSERT_TRUE(
      testing::AdminExec(std::regex_replace(kill_all, std::regex(db.name()), data.name())).ok());
  EXPECT_EQ(login(), 401);
  server.Stop();
  serving.join();
}

// Two `carrel serve` processes on one PostgreSQL library share sessions, the back-off after
// failed logins and idempotency keys; background jobs are locked across them; and the audit log
// both wrote to verifies.
TEST_F(PostgresLibraryTest, TwoServersShareOneLibrary) {
  TestDatabase data, keys;
  testing::TempDir dir;
  std::string lib = (dir / "lib").string();
  ASSERT_EQ(RunCarrel({"init", "--data", lib, "--database", data.conninfo(), "--keys-database",
                       keys.conninfo()})
                .exit_code,
            0);
  auto seeded = RunCarrel({"demo", "seed", "--data", lib, "--patrons", "20", "--items", "40",
                           "--loans", "40", "--seed", "3"});
  ASSERT_EQ(seeded.exit_code, 0) << seeded.err;
  testing::ServeProcess a(lib), b(lib);
  ASSERT_TRUE(a.started() && b.started());
  httplib::Client ca("127.0.0.1", a.port()), cb("127.0.0.1", b.port());
  const std::string kPassword = "westport-demo-2026";
  auto login = [&](httplib::Client& c, const std::string& user, const std::string& password) {
    auto r = c.Post("/api/v1/session", json{{"username", user}, {"password", password}}.dump(),
                    "application/json");
    return r ? std::make_pair(r->status, r->body) : std::make_pair(-1, std::string());
  };
  // A session made on one server is good on the other.
  auto made = login(ca, "desk", kPassword);
  ASSERT_EQ(made.first, 201) << made.second;
  std::string token = json::parse(made.second)["token"];
  httplib::Headers auth = {{"Authorization", "Bearer " + token}};
  auto whoami = cb.Get("/api/v1/session", auth);
  ASSERT_TRUE(whoami);
  EXPECT_EQ(whoami->status, 200) << whoami->body;

  // An Idempotency-Key retried on the other server gets the first answer, the work done once.
  std::string item = json{{"barcode", "TWO-1"}, {"title", "Shared"}, {"item_type", "book"}}.dump();
  auto added = ca.Post("/api/v1/items", auth, item, "application/json");
  ASSERT_TRUE(added);
  ASSERT_EQ(added->status, 201) << added->body;
  httplib::Headers once = auth;
  once.emplace("Idempotency-Key", "two-servers-checkout-0001");
  std::string checkout = json{{"item_barcode", "TWO-1"}, {"card_barcode", "21000000000001"}}.dump();
  auto first = ca.Post("/api/v1/loans", once, checkout, "application/json");
  auto retried = cb.Post("/api/v1/loans", once, checkout, "application/json");
  ASSERT_TRUE(first && retried);
  EXPECT_EQ(first->status, 201) << first->body;
  EXPECT_EQ(retried->status, first->status) << retried->body;
  EXPECT_EQ(retried->body, first->body);
  auto again = cb.Post("/api/v1/loans", auth, checkout, "application/json");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 409) << "one loan only: " << again->body;

  // Failed logins on both count together: the account waits on either.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(login(i % 2 == 0 ? ca : cb, "counsel", "not the password").first, 401);
  }
  EXPECT_EQ(login(cb, "counsel", kPassword).first, 429);
  EXPECT_EQ(login(ca, "counsel", kPassword).first, 429);

  // A job lock is held by one process at a time.
  PostgresOptions options;
  options.conninfo = data.conninfo();
  auto s1 = OpenPostgresStore(options), s2 = OpenPostgresStore(options);
  ASSERT_TRUE(s1.ok() && s2.ok());
  auto held = (*s1)->TryLockJob("test-job");
  ASSERT_TRUE(held.ok() && *held != nullptr);
  auto refused = (*s2)->TryLockJob("test-job");
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(*refused, nullptr);
  held->reset();
  auto later = (*s2)->TryLockJob("test-job");
  ASSERT_TRUE(later.ok());
  EXPECT_NE(*later, nullptr);

  EXPECT_EQ(a.Stop(), 0);
  EXPECT_EQ(b.Stop(), 0);
  auto key = RunCarrel({"audit", "key", "--data", lib});
  std::string vkey = key.out.substr(0, key.out.find('\n'));
  auto verified = RunCarrel({"audit", "verify", "--data", lib, "--key", vkey});
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
}

// A library moves to PostgreSQL and back with `carrel migrate-store`: every row, the same audit
// root and heads (its log verifies against a head signed before the move), readable patrons.
TEST_F(PostgresLibraryTest, ALibraryMovesToPostgresqlAndBack) {
  testing::TempDir dir;
  std::string lib = (dir / "lib").string();
  ASSERT_EQ(RunCarrel({"init", "--data", lib, "--database", "", "--keys-database", ""}).exit_code,
            0);
  auto seeded = RunCarrel({"demo", "seed", "--data", lib, "--patrons", "30", "--items", "60",
                           "--loans", "200", "--seed", "5"});
  ASSERT_EQ(seeded.exit_code, 0) << seeded.err;
  auto key = RunCarrel({"audit", "key", "--data", lib});
  std::string vkey = key.out.substr(0, key.out.find('\n'));
  auto head = RunCarrel({"audit", "head", "--data", lib});
  ASSERT_EQ(head.exit_code, 0) << head.err;
  std::ofstream(dir / "head.txt") << head.out;
  auto verify = [&] {
    return RunCarrel({"audit", "verify", "--data", lib, "--key", vkey, "--from-head",
                      (dir / "head.txt").string()});
  };
  ASSERT_EQ(verify().exit_code, 0);

  TestDatabase data, keys;
  auto moved = RunCarrel(
      {"migrate-store", "--data", lib, "--to", data.conninfo(), "--keys-to", keys.conninfo()});
  ASSERT_EQ(moved.exit_code, 0) << moved.err;
  EXPECT_TRUE(std::filesystem::exists(dir / "lib" / "database.conf"));
  EXPECT_FALSE(std::filesystem::exists(dir / "lib" / "carrel.db"));
  auto on_pg = verify();
  EXPECT_EQ(on_pg.exit_code, 0) << on_pg.err;
  {
    auto library = Library::Open(lib, SystemClock());
    ASSERT_TRUE(library.ok()) << library.status().ToString();
    EXPECT_EQ((*library)->store().engine(), "postgresql");
    auto patron = (*library)->circulation().FindPatronByBarcode(testing::kStaff, "21000000000001");
    EXPECT_TRUE(patron.ok()) << patron.status().ToString();
  }
  // And back to SQLite files.
  auto again = RunCarrel({"migrate-store", "--data", lib, "--to", "sqlite"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "lib" / "database.conf"));
  EXPECT_TRUE(std::filesystem::exists(dir / "lib" / "carrel.db"));
  auto back = verify();
  EXPECT_EQ(back.exit_code, 0) << back.err;
  // Moving into databases that hold a library already is refused, and changes nothing.
  auto refused = RunCarrel(
      {"migrate-store", "--data", lib, "--to", data.conninfo(), "--keys-to", keys.conninfo()});
  ExpectOneErrorLine(refused);
  EXPECT_NE(refused.err.find("empty"), std::string::npos) << refused.err;
  EXPECT_TRUE(std::filesystem::exists(dir / "lib" / "carrel.db"));
}

}  // namespace
}  // namespace carrel
