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
#include <thread>

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

// A bare store on `db` with one table, t (id, v).
std::unique_ptr<Store> StoreWithTable(const TestDatabase& db) {
  PostgresOptions options;
  options.conninfo = db.conninfo();
  auto store = OpenPostgresStore(options);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  if (!store.ok()) return nullptr;
  EXPECT_TRUE(
      (*store)->Migrate({{1, "t", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"}}).ok());
  return std::move(store).value();
}

// Rows in t, read in a transaction of their own; -1 if the read fails.
int64_t RowsOfT(Store& store) {
  int64_t rows = -1;
  EXPECT_TRUE(WithReadTransaction(store, [&](Transaction& tx) -> Status {
                CARREL_ASSIGN_OR_RETURN(rows, tx.QueryInt("SELECT count(*) FROM t"));
                return Status::Ok();
              }).ok());
  return rows;
}

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
  // The server's role may insert into the log, so it can forge an entry at the end; it is caught,
  // for the entry is not in the tree the log's signed heads commit to.
  ASSERT_EQ(Sql(server,
                "INSERT INTO audit_log (seq, entry, leaf_hash) SELECT seq + 1, entry, leaf_hash "
                "FROM audit_log ORDER BY seq DESC LIMIT 1"),
            "");
  auto forged = RunCarrel({"audit", "verify", "--data", lib, "--key", vkey});
  EXPECT_EQ(forged.exit_code, 1);
  EXPECT_NE(forged.err.find("entry inserted"), std::string::npos) << forged.out << forged.err;
  ASSERT_EQ(Sql(As(data.name(), *owner),
                "ALTER TABLE audit_log DISABLE TRIGGER USER; DELETE FROM audit_log WHERE seq = "
                "(SELECT max(seq) FROM audit_log); ALTER TABLE audit_log ENABLE TRIGGER USER"),
            "");
  ASSERT_EQ(RunCarrel({"audit", "verify", "--data", lib, "--key", vkey}).exit_code, 0);
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
  std::unique_ptr<Store> store = StoreWithTable(db);
  ASSERT_NE(store, nullptr);
  const std::string kill_all =
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
      "datname = '" +
      db.name() + "' AND pid <> pg_backend_pid()";
  {
    auto tx = store->Begin(TransactionMode::kWrite);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE((*tx)->Exec("INSERT INTO t (v) VALUES ('half')").ok());
    ASSERT_TRUE(testing::AdminExec(kill_all).ok());
    Status s = (*tx)->Exec("INSERT INTO t (v) VALUES ('other half')");
    if (s.ok()) s = (*tx)->Commit();
    EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  }
  EXPECT_EQ(RowsOfT(*store), 0) << "nothing of the failed transaction is kept";

  // The same with statements sent without waiting (Transaction::Send): the loss is reported by
  // the commit, nothing is kept, and the next transaction runs on a fresh connection.
  {
    auto tx = store->Begin(TransactionMode::kWrite);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE((*tx)->Send("INSERT INTO t (v) VALUES ('sent')").ok());
    ASSERT_TRUE(testing::AdminExec(kill_all).ok());
    Status s = (*tx)->Send("INSERT INTO t (v) VALUES ('sent too')");
    if (s.ok()) s = (*tx)->Commit();
    EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  }
  ASSERT_TRUE(WithWriteTransaction(*store, [&](Transaction& tx) -> Status {
                return tx.Send("INSERT INTO t (v) VALUES ('after')");
              }).ok());
  EXPECT_EQ(RowsOfT(*store), 1) << "only the transaction after the loss is kept";

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
// failed logins, rate limits per client address, idempotency keys, appointments, the retention
// schedule and the policy version in force; background jobs are locked across them; and the
// audit log both wrote to verifies.
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
  testing::ServeProcess a(lib, {"--trusted-proxy", "127.0.0.1/32"}),
      b(lib, {"--trusted-proxy", "127.0.0.1/32"});
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

  // The rate limit per client address counts attempts on both servers together (20 logins a
  // minute): the address is one a trusted proxy names, so that no earlier login here counts.
  // Kept within one minute of the clock, whose turn starts every count again.
  auto second = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count() %
                60;
  if (second > 40) std::this_thread::sleep_for(std::chrono::seconds(61 - second));
  httplib::Headers proxied = {{"X-Forwarded-For", "192.0.2.77"}};
  int allowed = 0, status = 0;
  for (int i = 0; i < 30; ++i) {
    auto r =
        (i % 2 == 0 ? ca : cb)
            .Post("/api/v1/session", proxied,
                  json{{"username", "desk"}, {"password", kPassword}}.dump(), "application/json");
    ASSERT_TRUE(r);
    status = r->status;
    if (status != 201) break;
    ++allowed;
  }
  EXPECT_EQ(allowed, 20);
  EXPECT_EQ(status, 429);
  proxied = {{"X-Forwarded-For", "192.0.2.78"}};
  auto other =
      cb.Post("/api/v1/session", proxied,
              json{{"username", "desk"}, {"password", kPassword}}.dump(), "application/json");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 201) << "another address has its own count";

  // An appointment signed on one server lets the designee in on the other at once, and its
  // revocation shuts them out there at once.
  auto director_login = login(ca, "demo-director", kPassword);
  ASSERT_EQ(director_login.first, 201) << director_login.second;
  httplib::Headers director = {
      {"Authorization",
       "Bearer " + json::parse(director_login.second)["token"].get<std::string>()}};
  auto me = cb.Get("/api/v1/session", auth);
  ASSERT_TRUE(me && me->status == 200);
  int64_t desk_id = json::parse(me->body)["id"];
  EXPECT_EQ(json::parse(me->body)["designee"], false);
  EXPECT_EQ(cb.Get("/api/v1/appointments", auth)->status, 403);
  Instant now = SystemClock()->Now();
  auto appointed = ca.Post("/api/v1/appointments", director,
                           json{{"designee_id", desk_id},
                                {"scope", "standing"},
                                {"valid_from", FormatInstant(now - std::chrono::minutes(5))},
                                {"valid_to", FormatInstant(now + std::chrono::hours(1))},
                                {"password", kPassword}}
                               .dump(),
                           "application/json");
  ASSERT_TRUE(appointed);
  ASSERT_EQ(appointed->status, 201) << appointed->body;
  EXPECT_EQ(cb.Get("/api/v1/appointments", auth)->status, 200);
  EXPECT_EQ(json::parse(cb.Get("/api/v1/session", auth)->body)["designee"], true);
  auto revoked =
      ca.Post("/api/v1/appointments/" + json::parse(appointed->body)["id"].dump() + "/revoke",
              director, json{{"password", kPassword}}.dump(), "application/json");
  ASSERT_TRUE(revoked);
  ASSERT_EQ(revoked->status, 200) << revoked->body;
  EXPECT_EQ(cb.Get("/api/v1/appointments", auth)->status, 403);

  // A retention schedule the Director signs on one server is the one the other applies.
  auto schedule = cb.Get("/api/v1/retention/schedule", auth);
  ASSERT_TRUE(schedule && schedule->status == 200) << (schedule ? schedule->body : "");
  json current = json::parse(schedule->body);
  auto signed_schedule =
      ca.Post("/api/v1/retention/schedules", director,
              json{{"schedule", json::parse(current["document"].get<std::string>())},
                   {"reason", "re-signed"},
                   {"password", kPassword}}
                  .dump(),
              "application/json");
  ASSERT_TRUE(signed_schedule);
  ASSERT_EQ(signed_schedule->status, 201) << signed_schedule->body;
  auto seen = cb.Get("/api/v1/retention/schedule", auth);
  ASSERT_TRUE(seen && seen->status == 200);
  EXPECT_EQ(json::parse(seen->body)["version"], current["version"].get<int64_t>() + 1)
      << seen->body;

  // A policy version the Board adopts through one server is in force on the other at once: the
  // public policy, and the version its audit entries name.
  auto trustee_login = login(ca, "trustee", kPassword);
  ASSERT_EQ(trustee_login.first, 201) << trustee_login.second;
  httplib::Headers trustee = {
      {"Authorization", "Bearer " + json::parse(trustee_login.second)["token"].get<std::string>()}};
  json policy = json::parse(cb.Get("/api/v1/policy")->body);
  std::string amended = policy["text"].get<std::string>() + "\nOne more line.\n";
  auto proposed =
      ca.Post("/api/v1/policy/proposals", trustee,
              json{{"title", policy["title"]}, {"text", amended}, {"summary", "a line"}}.dump(),
              "application/json");
  ASSERT_TRUE(proposed);
  ASSERT_EQ(proposed->status, 201) << proposed->body;
  std::string ppath = "/api/v1/policy/proposals/" + json::parse(proposed->body)["id"].dump();
  auto ballot = cb.Post(ppath + "/ballots", trustee,
                        json{{"vote", "for"}, {"password", kPassword}}.dump(), "application/json");
  ASSERT_TRUE(ballot);
  ASSERT_EQ(ballot->status, 200) << ballot->body;
  std::string today = FormatInstant(SystemClock()->Now()).substr(0, 10);
  auto closed =
      ca.Post(ppath + "/close", trustee,
              json{{"meeting_date", today}, {"password", kPassword}}.dump(), "application/json");
  ASSERT_TRUE(closed);
  ASSERT_EQ(closed->status, 200) << closed->body;
  ASSERT_EQ(json::parse(closed->body)["state"], "adopted") << closed->body;
  std::string version = json::parse(closed->body)["version"];
  EXPECT_EQ(json::parse(cb.Get("/api/v1/policy")->body)["version"], version);
  std::string after = FormatInstant(SystemClock()->Now() - std::chrono::seconds(1));
  auto checkin = cb.Post("/api/v1/loans/checkin", auth, json{{"item_barcode", "TWO-1"}}.dump(),
                         "application/json");
  ASSERT_TRUE(checkin);
  ASSERT_EQ(checkin->status, 200) << checkin->body;
  auto entries = cb.Get(
      "/api/v1/audit/entries?actor=user/" + std::to_string(desk_id) + "&from=" + after, director);
  ASSERT_TRUE(entries && entries->status == 200) << (entries ? entries->body : "");
  json listed = json::parse(entries->body)["entries"];
  ASSERT_FALSE(listed.empty());
  const json& last = listed.back();  // by sequence: the checkin
  EXPECT_NE(last["action"].get<std::string>().find("checkin"), std::string::npos) << last.dump();
  EXPECT_EQ(last["policy_version"], version) << "the entry the other server wrote names the "
                                                "version in force";

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

// A statement sent without waiting whose failure comes back to a transaction nested in the
// body (which lets it go) still fails the commit: PostgreSQL's COMMIT of the aborted transaction
// is a rollback, and carrel reports it as a failure; nothing of the transaction is kept.
TEST_F(PostgresLibraryTest, AFailureSentAheadCannotBeCommittedAway) {
  TestDatabase db;
  ASSERT_TRUE(db.ok());
  std::unique_ptr<Store> store = StoreWithTable(db);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(WithWriteTransaction(*store, [](Transaction& tx) {
                return tx.Exec("INSERT INTO t (id, v) VALUES (100, 'first')");
              }).ok());
  for (bool nested_write : {true, false}) {
    Status s = WithWriteTransaction(*store, [&](Transaction& tx) -> Status {
      CARREL_RETURN_IF_ERROR(tx.Send("INSERT INTO t (v) VALUES ('kept?')"));
      CARREL_RETURN_IF_ERROR(tx.Send("INSERT INTO t (id, v) VALUES (100, 'again')"));
      Status inner =
          nested_write ? WithWriteTransaction(*store,
                                              [](Transaction& n) {
                                                return n.Exec("INSERT INTO t (v) VALUES ('inner')");
                                              })
                       : WithReadTransaction(*store, [](Transaction& n) {
                           return n.QueryInt("SELECT count(*) FROM t").status();
                         });
      EXPECT_FALSE(inner.ok());
      return Status::Ok();  // the body lets the failure go
    });
    EXPECT_FALSE(s.ok()) << (nested_write ? "nested write" : "nested read");
  }
  EXPECT_EQ(RowsOfT(*store), 1);
  ASSERT_TRUE(
      WithWriteTransaction(
          *store, [](Transaction& tx) { return tx.Send("INSERT INTO t (v) VALUES ('after')"); })
          .ok())
      << "the connection is usable again";
}

// A key one server destroys (a patron deleted, a day's links at retention) is not used from
// another server's memory afterwards: the other's cached copy is dropped at its next use.
TEST_F(PostgresLibraryTest, AKeyDestroyedOnOneServerIsGoneFromEveryServersMemory) {
  TestDatabase data, keys;
  testing::TempDir dir;
  ASSERT_TRUE(Library::Init(dir / "lib", testing::WestportProfile(), OperatorActor(),
                            {data.conninfo(), keys.conninfo(), ""})
                  .ok());
  auto a = Library::Open(dir / "lib", SystemClock());
  auto b = Library::Open(dir / "lib", SystemClock());
  ASSERT_TRUE(a.ok() && b.ok());
  Keyring& ka = (*a)->vault().keyring();
  Keyring& kb = (*b)->vault().keyring();
  const std::string day = Vault::EpochKeyName("loan_link", Date{std::chrono::year{2026} / 11 / 2});
  const std::string patron = Vault::PatronKeyName(7);
  for (const std::string& name : {day, patron}) {
    auto made = ka.GetOrCreate(name);
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    auto held = kb.Get(name);  // now in b's cache
    ASSERT_TRUE(held.ok()) << held.status().ToString();
    EXPECT_EQ(std::string_view(reinterpret_cast<const char*>((*held)->data()), SecretKey::kSize),
              std::string_view(reinterpret_cast<const char*>((*made)->data()), SecretKey::kSize));
    ASSERT_TRUE(kb.Get(name).ok());
  }
  const std::string kept = "field/enews";
  ASSERT_TRUE(kb.GetOrCreate(kept).ok());
  ASSERT_TRUE(ka.Destroy({day}).ok());
  EXPECT_EQ(kb.Get(day).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(kb.GetOrCreate(day).status().code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(kb.Get(patron).ok()) << "a key not destroyed stays usable";
  ASSERT_TRUE(ka.Destroy({patron}).ok());
  EXPECT_EQ(kb.Get(patron).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(kb.Get(kept).ok());
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
