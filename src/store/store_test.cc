// One conformance suite for every Store implementation (docs/design.md §10). Each engine registers
// a factory: SQLite, and PostgreSQL on the tests' server (a fresh database per test).

#include "carrel/store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <map>
#include <stdexcept>
#include <thread>

#include "tests/support/postgres.h"
#include "tests/support/temp_dir.h"

namespace carrel {
namespace {

struct Engine {
  std::string name;
  // Opens (creating when asked) the store called `name` under `dir`.
  std::function<StatusOr<std::unique_ptr<Store>>(const std::filesystem::path& dir, bool create)>
      open;
};

void PrintTo(const Engine& engine, std::ostream* os) { *os << engine.name; }

// The PostgreSQL databases of this run, one per test directory; dropped at exit.
std::map<std::filesystem::path, std::unique_ptr<testing::TestDatabase>>& PostgresDatabases() {
  static auto* databases =
      new std::map<std::filesystem::path, std::unique_ptr<testing::TestDatabase>>();
  return *databases;
}

StatusOr<std::unique_ptr<Store>> OpenPostgresFor(const std::filesystem::path& dir, bool create) {
  auto admin = testing::TestPostgres();
  if (!admin) return Unavailable("no PostgreSQL server for the tests");
  auto& databases = PostgresDatabases();
  auto it = databases.find(dir);
  if (it == databases.end()) {
    if (!create) {
      PostgresOptions missing;
      missing.conninfo = *admin + " dbname=carrel_never_made";
      return OpenPostgresStore(missing);
    }
    it = databases.emplace(dir, std::make_unique<testing::TestDatabase>()).first;
  }
  PostgresOptions options;
  options.conninfo = it->second->conninfo();
  return OpenPostgresStore(options);
}

std::vector<Engine> Engines() {
  return {{"sqlite",
           [](const std::filesystem::path& dir, bool create) {
             SqliteOptions options;
             options.create_if_missing = create;
             return OpenSqliteStore(dir / "store.db", options);
           }},
          {"postgresql", &OpenPostgresFor}};
}

const std::vector<Migration> kMigrations = {
    {1, "things",
     "CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, "
     "payload BLOB, size INTEGER CHECK (size >= 0));"},
    {2, "notes",
     "CREATE TABLE notes (id INTEGER PRIMARY KEY, thing_id INTEGER NOT NULL "
     "REFERENCES things (id), body TEXT);"},
};

class StoreConformanceTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    if (GetParam().name == "postgresql" && !testing::TestPostgres()) {
      GTEST_SKIP() << "CARREL_SKIP_PG=1: not tested on PostgreSQL";
    }
    auto store = GetParam().open(dir_.path(), true);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    ASSERT_TRUE(store_->Migrate(kMigrations).ok());
  }

  int64_t CountThings() {
    int64_t n = -1;
    EXPECT_TRUE(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
                  CARREL_ASSIGN_OR_RETURN(n, tx.QueryInt("SELECT count(*) FROM things"));
                  return Status::Ok();
                }).ok());
    return n;
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreConformanceTest, MigrationsRunOnceAndRecordTheirVersion) {
  auto version = store_->SchemaVersion();
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, 2);
  EXPECT_TRUE(store_->Migrate(kMigrations).ok());  // again: nothing to do
  EXPECT_EQ(*store_->SchemaVersion(), 2);
}

TEST_P(StoreConformanceTest, RefusesASchemaNewerThanItKnows) {
  Status s = store_->Migrate({kMigrations[0]});
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("newer"), std::string::npos);
}

TEST_P(StoreConformanceTest, FailedMigrationLeavesNoTrace) {
  std::vector<Migration> broken = kMigrations;
  broken.push_back({3, "broken", "CREATE TABLE good (x INTEGER); CREATE TABLE oops (;"});
  EXPECT_FALSE(store_->Migrate(broken).ok());
  EXPECT_EQ(*store_->SchemaVersion(), 2);
  Status s = WithReadTransaction(
      *store_, [](Transaction& tx) { return tx.Exec("SELECT count(*) FROM good"); });
  EXPECT_FALSE(s.ok()) << "the half of migration 3 that ran must be rolled back";
}

TEST_P(StoreConformanceTest, CommitMakesChangesVisibleRollbackDiscardsThem) {
  ASSERT_TRUE(WithWriteTransaction(*store_, [](Transaction& tx) {
                return tx.Exec("INSERT INTO things (name, size) VALUES (?, ?)",
                               {std::string("a"), int64_t{1}});
              }).ok());
  {
    auto tx = store_->Begin(TransactionMode::kWrite);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE((*tx)->Exec("INSERT INTO things (name) VALUES ('b')").ok());
    // destroyed without Commit: rolled back
  }
  Status failed = WithWriteTransaction(*store_, [](Transaction& tx) -> Status {
    CARREL_RETURN_IF_ERROR(tx.Exec("INSERT INTO things (name) VALUES ('c')"));
    return InvalidArgument("changed my mind");
  });
  EXPECT_EQ(failed.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CountThings(), 1);
}

TEST_P(StoreConformanceTest, ValuesRoundTrip) {
  std::string bytes("\0\x01\xff binary", 10);
  int64_t id = 0;
  ASSERT_TRUE(WithWriteTransaction(*store_, [&](Transaction& tx) {
                return tx.Exec(
                    "INSERT INTO things (name, payload, size) VALUES (?, ?, ?) RETURNING id",
                    {std::string("é ünïcode"), Blob{bytes}, Value()}, [&](const Row& row) {
                      id = row.Int(0);
                      return Status::Ok();
                    });
              }).ok());
  EXPECT_GT(id, 0);
  ASSERT_TRUE(WithReadTransaction(*store_, [&](Transaction& tx) {
                return tx.Exec("SELECT name, payload, size FROM things WHERE id = ?", {id},
                               [&](const Row& row) {
                                 EXPECT_EQ(row.Text(0), "é ünïcode");
                                 EXPECT_EQ(row.Bytes(1), bytes);
                                 EXPECT_TRUE(row.IsNull(2));
                                 EXPECT_EQ(row.Int(2), 0);
                                 return Status::Ok();
                               });
              }).ok());
}

TEST_P(StoreConformanceTest, ConstraintViolationsHaveTheirOwnCodes) {
  auto insert = [&](const std::string& name, int64_t size) {
    return WithWriteTransaction(*store_, [&](Transaction& tx) {
      return tx.Exec("INSERT INTO things (name, size) VALUES (?, ?)", {name, size});
    });
  };
  ASSERT_TRUE(insert("x", 1).ok());
  EXPECT_EQ(insert("x", 2).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(insert("y", -1).code(), StatusCode::kFailedPrecondition);
  Status fk = WithWriteTransaction(*store_, [](Transaction& tx) {
    return tx.Exec("INSERT INTO notes (thing_id, body) VALUES (999, 'orphan')");
  });
  EXPECT_EQ(fk.code(), StatusCode::kFailedPrecondition) << "foreign keys must be enforced";
  EXPECT_EQ(CountThings(), 1);
}

TEST_P(StoreConformanceTest, ChangesCountsRowsOfTheLastStatement) {
  ASSERT_TRUE(WithWriteTransaction(*store_, [](Transaction& tx) -> Status {
                CARREL_RETURN_IF_ERROR(
                    tx.Exec("INSERT INTO things (name) VALUES ('a'), ('b'), ('c')"));
                EXPECT_EQ(tx.changes(), 3);
                CARREL_RETURN_IF_ERROR(tx.Exec("UPDATE things SET size = 5 WHERE name <> 'a'"));
                EXPECT_EQ(tx.changes(), 2);
                return Status::Ok();
              }).ok());
}

// A statement sent without waiting (Transaction::Send) takes effect like Exec's; its failure is
// reported by the transaction's next statement, changes() or Commit, and nothing of the
// transaction is kept.
TEST_P(StoreConformanceTest, SentStatementsActAndTheirFailureEndsTheTransaction) {
  ASSERT_TRUE(
      WithWriteTransaction(*store_, [](Transaction& tx) -> Status {
        CARREL_RETURN_IF_ERROR(tx.Send("INSERT INTO things (name, size) VALUES (?, ?)",
                                       {std::string("a"), int64_t{1}}));
        CARREL_RETURN_IF_ERROR(tx.Send(
            "INSERT INTO things (name, size) VALUES (?, ?), (?, ?)",
            std::vector<Value>{std::string("b"), int64_t{2}, std::string("c"), int64_t{3}}));
        CARREL_RETURN_IF_ERROR(
            tx.Send("UPDATE things SET size = size + 10 WHERE name <> ?", {std::string("a")}));
        EXPECT_EQ(tx.changes(), 2) << "the last statement sent";
        CARREL_RETURN_IF_ERROR(tx.Send("UPDATE things SET size = 0 WHERE name = 'b'"));
        int64_t size = -1;
        CARREL_ASSIGN_OR_RETURN(size, tx.QueryInt("SELECT size FROM things WHERE name = 'b'"));
        EXPECT_EQ(size, 0) << "a read sees what was sent before it";
        return Status::Ok();
      }).ok());
  EXPECT_EQ(CountThings(), 3);

  // A failure is reported by the statement itself or, when the engine did not wait for it, by
  // the next statement, by changes() or by the commit; the transaction is not kept either way.
  Status s = WithWriteTransaction(*store_, [](Transaction& tx) -> Status {
    CARREL_RETURN_IF_ERROR(tx.Send("INSERT INTO things (name) VALUES ('d')"));
    CARREL_RETURN_IF_ERROR(tx.Send("INSERT INTO things (name) VALUES ('a')"));  // taken
    return tx.Exec("INSERT INTO things (name) VALUES ('e')");
  });
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists) << s.ToString();
  s = WithWriteTransaction(*store_, [](Transaction& tx) -> Status {
    CARREL_RETURN_IF_ERROR(tx.Send("INSERT INTO things (name) VALUES ('d')"));
    CARREL_RETURN_IF_ERROR(tx.Send("INSERT INTO things (name, size) VALUES ('f', -1)"));
    return Status::Ok();
  });
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  s = WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_RETURN_IF_ERROR(tx.Send("INSERT INTO things (name) VALUES ('a')"));
    EXPECT_EQ(tx.changes(), 0) << "a failed statement changed nothing";
    return Status::Ok();
  });
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists) << s.ToString();
  EXPECT_EQ(CountThings(), 3) << "nothing of a failed transaction is kept";

  // Inside a savepoint a failure is its statement's own, and undoes the savepoint alone.
  ASSERT_TRUE(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
                CARREL_RETURN_IF_ERROR(tx.Send("INSERT INTO things (name) VALUES ('h')"));
                Status inner = WithWriteTransaction(*store_, [](Transaction& nested) {
                  return nested.Send("INSERT INTO things (name) VALUES ('a')");
                });
                EXPECT_EQ(inner.code(), StatusCode::kAlreadyExists) << inner.ToString();
                return Status::Ok();
              }).ok());
  EXPECT_EQ(CountThings(), 4);
}

TEST_P(StoreConformanceTest, RowCallbackErrorStopsTheStatement) {
  ASSERT_TRUE(WithWriteTransaction(*store_, [](Transaction& tx) {
                return tx.Exec("INSERT INTO things (name) VALUES ('a'), ('b'), ('c')");
              }).ok());
  int seen = 0;
  Status s = WithReadTransaction(*store_, [&](Transaction& tx) {
    return tx.Exec("SELECT name FROM things", {}, [&](const Row&) -> Status {
      if (++seen == 2) return DataLoss("stop here");
      return Status::Ok();
    });
  });
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_EQ(seen, 2);
  // The stop is the caller's, not the database's: the transaction goes on.
  ASSERT_TRUE(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
                Status stopped = tx.Exec("SELECT name FROM things", {},
                                         [](const Row&) { return DataLoss("stop"); });
                EXPECT_EQ(stopped.code(), StatusCode::kDataLoss);
                CARREL_ASSIGN_OR_RETURN(int64_t n, tx.QueryInt("SELECT count(*) FROM things"));
                EXPECT_EQ(n, 3);
                return Status::Ok();
              }).ok());
}

TEST_P(StoreConformanceTest, CommittedDataSurvivesReopening) {
  ASSERT_TRUE(WithWriteTransaction(*store_, [](Transaction& tx) {
                return tx.Exec("INSERT INTO things (name) VALUES ('durable')");
              }).ok());
  store_.reset();
  auto reopened = GetParam().open(dir_.path(), false);
  ASSERT_TRUE(reopened.ok());
  store_ = std::move(reopened).value();
  EXPECT_EQ(CountThings(), 1);
}

TEST_P(StoreConformanceTest, ConcurrentWritersAreSerialized) {
  constexpr int kThreads = 4, kEach = 50;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        Status s = WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
          CARREL_ASSIGN_OR_RETURN(int64_t n, tx.QueryInt("SELECT count(*) FROM things"));
          return tx.Exec("INSERT INTO things (name, size) VALUES (?, ?)",
                         {std::to_string(t) + "-" + std::to_string(i), n});
        });
        if (!s.ok()) failures++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(CountThings(), kThreads * kEach);
  // Each insert saw every earlier one: the recorded counts are exactly 0..N-1.
  int64_t distinct = 0;
  ASSERT_TRUE(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
                CARREL_ASSIGN_OR_RETURN(distinct,
                                        tx.QueryInt("SELECT count(DISTINCT size) FROM things"));
                return Status::Ok();
              }).ok());
  EXPECT_EQ(distinct, kThreads * kEach);
}

TEST_P(StoreConformanceTest, AFailedWriterLosesOnlyItsOwnWork) {
  // Writers arriving together may share one commit; one of them failing must not take the
  // others' work with it, nor let its own half-done work in.
  constexpr int kThreads = 6, kEach = 40;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0}, refused{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        bool fail = (i % 3) == t % 3;
        std::string name = std::to_string(t) + "-" + std::to_string(i);
        Status s = WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
          CARREL_RETURN_IF_ERROR(tx.Exec("INSERT INTO things (name, size) VALUES (?, 1)", {name}));
          CARREL_RETURN_IF_ERROR(
              tx.Exec("INSERT INTO things (name, size) VALUES (?, 2)", {name + "-pair"}));
          if (fail) return FailedPrecondition("refused on purpose");
          return Status::Ok();
        });
        (s.ok() ? ok : refused)++;
        EXPECT_EQ(s.ok(), !fail) << s.ToString();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(CountThings(), 2 * ok.load());
  EXPECT_GT(refused.load(), 0);
  // Every answered write is visible, in whole, to a read that starts after it.
  int64_t unpaired = -1;
  ASSERT_TRUE(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
                CARREL_ASSIGN_OR_RETURN(
                    unpaired,
                    tx.QueryInt("SELECT count(*) FROM things a WHERE a.size = 1 AND NOT EXISTS "
                                "(SELECT 1 FROM things b WHERE b.name = a.name || '-pair')"));
                return Status::Ok();
              }).ok());
  EXPECT_EQ(unpaired, 0);
}

TEST_P(StoreConformanceTest, ReadsNeitherWaitForNorSeeAnOpenWrite) {
  auto writer = store_->Begin(TransactionMode::kWrite);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Exec("INSERT INTO things (name) VALUES ('pending')").ok());
  // On another thread, so that a read serialized behind the writer would hang the test
  // instead of passing it.
  std::atomic<int64_t> seen{-1};
  std::thread reader([&] { seen = CountThings(); });
  reader.join();
  EXPECT_EQ(seen.load(), 0);
  ASSERT_TRUE((*writer)->Commit().ok());
  EXPECT_EQ(CountThings(), 1);
}

TEST_P(StoreConformanceTest, BackupsHoldWholeTransactionsOnlyWhileWritersRun) {
  if (GetParam().name == "postgresql") {
    // A PostgreSQL library's backup is the portable copy `carrel backup` writes, tested with
    // the library (LibraryOnPostgresTest); the store itself has no file to copy.
    EXPECT_EQ(store_->BackupTo(dir_.path() / "copy.db").code(), StatusCode::kUnimplemented);
    return;
  }
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < 3; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; !stop; ++i) {
        std::string name = std::to_string(t) + "-" + std::to_string(i);
        (void)WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
          CARREL_RETURN_IF_ERROR(tx.Exec("INSERT INTO things (name, size) VALUES (?, 1)", {name}));
          return tx.Exec("INSERT INTO things (name, size) VALUES (?, 2)", {name + "-pair"});
        });
      }
    });
  }
  std::vector<std::filesystem::path> copies;
  for (int b = 0; b < 3; ++b) {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    copies.push_back(dir_.path() / ("copy-" + std::to_string(b) + ".db"));
    ASSERT_TRUE(store_->BackupTo(copies.back()).ok());
    ASSERT_TRUE(store_->Checkpoint().ok());
  }
  stop = true;
  for (auto& th : writers) th.join();
  for (const auto& copy : copies) {
    auto restored = OpenSqliteStore(copy, SqliteOptions{});
    ASSERT_TRUE(restored.ok()) << restored.status().ToString();
    int64_t singles = -1, pairs = -1;
    ASSERT_TRUE(WithReadTransaction(**restored, [&](Transaction& tx) -> Status {
                  CARREL_ASSIGN_OR_RETURN(
                      singles, tx.QueryInt("SELECT count(*) FROM things WHERE size = 1"));
                  CARREL_ASSIGN_OR_RETURN(
                      pairs, tx.QueryInt("SELECT count(*) FROM things WHERE size = 2"));
                  return Status::Ok();
                }).ok());
    EXPECT_EQ(singles, pairs) << copy;
  }
}

// A checkpoint asked for (the end of a bulk load, before a backup) while the store's own
// thread is checkpointing a long log waits for it instead of failing: SQLite refuses a second
// checkpoint at once, whatever the busy timeout.
TEST_P(StoreConformanceTest, AnExplicitCheckpointWaitsForTheStoresOwn) {
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::thread writer([&] {
    const std::string page(64 * 1024, 'x');  // every commit grows the log by 16 or more pages
    for (int i = 0; i < 2000 && !stop.load(); ++i) {
      Status s = WithWriteTransaction(*store_, [&](Transaction& tx) {
        return tx.Exec("INSERT INTO things (name, payload) VALUES (?, ?)",
                       {"w" + std::to_string(i), Blob{page}});
      });
      if (!s.ok()) failures++;
    }
  });
  for (int i = 0; i < 40; ++i) {
    Status s = store_->Checkpoint();
    EXPECT_TRUE(s.ok()) << s.ToString();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  stop = true;
  writer.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_TRUE(store_->Checkpoint().ok());
}

TEST_P(StoreConformanceTest, MissingStoreIsNotCreatedUnlessAsked) {
  testing::TempDir other;
  auto missing = GetParam().open(other.path(), false);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(Engines, StoreConformanceTest, ::testing::ValuesIn(Engines()),
                         [](const auto& info) { return info.param.name; });

TEST(SqliteStoreTest, IsDurableWal) {
  testing::TempDir dir;
  SqliteOptions options;
  options.create_if_missing = true;
  auto store = OpenSqliteStore(dir / "d.db", options);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE(WithReadTransaction(**store, [](Transaction& tx) -> Status {
                std::string mode;
                int64_t sync = -1, fk = -1;
                CARREL_RETURN_IF_ERROR(tx.Exec("PRAGMA journal_mode", {}, [&](const Row& r) {
                  mode = r.Text(0);
                  return Status::Ok();
                }));
                CARREL_ASSIGN_OR_RETURN(sync, tx.QueryInt("PRAGMA synchronous"));
                CARREL_ASSIGN_OR_RETURN(fk, tx.QueryInt("PRAGMA foreign_keys"));
                EXPECT_EQ(mode, "wal");
                EXPECT_EQ(sync, 2) << "synchronous=FULL";
                EXPECT_EQ(fk, 1);
                CARREL_ASSIGN_OR_RETURN(int64_t temp_store, tx.QueryInt("PRAGMA temp_store"));
                EXPECT_EQ(temp_store, 2) << "no temporary files";
                return Status::Ok();
              }).ok());
}

// Queued writes (WithWriteTransaction) and writes that hold their transaction open
// (Begin(kWrite)) at once from many threads: every outcome is the caller's own, a body that
// throws or fails loses its own work only, and a write begun inside a write on the same
// database is refused rather than waiting for itself, while one on another database goes on.
TEST_P(StoreConformanceTest, QueuedAndHeldWritersMixAndKeepTheirOwnOutcomes) {
  testing::TempDir other_dir;
  auto other = GetParam().open(other_dir.path(), true);
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE((*other)->Migrate(kMigrations).ok());
  std::atomic<int> kept{0}, failed{0}, threw{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 12; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 60; ++i) {
        std::string name = std::to_string(t) + "-" + std::to_string(i);
        if (t % 4 == 0) {  // holds its transaction open across its own code
          auto tx = store_->Begin(TransactionMode::kWrite);
          ASSERT_TRUE(tx.ok());
          ASSERT_TRUE((*tx)->Exec("INSERT INTO things (name, size) VALUES (?, 1)", {name}).ok());
          ASSERT_TRUE((*tx)->Commit().ok());
          ++kept;
          continue;
        }
        Status s;
        try {
          s = WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
            CARREL_RETURN_IF_ERROR(
                tx.Exec("INSERT INTO things (name, size) VALUES (?, 1)", {name}));
            if (i % 7 == 3) throw std::runtime_error("a body that throws");
            if (i % 5 == 2)
              return tx.Exec("INSERT INTO things (name, size) VALUES (?, -1)", {name + "-bad"});
            if (i % 11 == 4) {
              // A write begun inside the body joins it (a savepoint), whatever thread runs it.
              Status nested =
                  WithWriteTransaction(*store_, [](Transaction&) { return Status::Ok(); });
              EXPECT_TRUE(nested.ok()) << nested.ToString();
              CARREL_RETURN_IF_ERROR(WithWriteTransaction(**other, [&](Transaction& o) {
                return o.Exec("INSERT INTO things (name, size) VALUES (?, 1)", {name});
              }));
            }
            return Status::Ok();
          });
        } catch (const std::exception&) {
          ++threw;  // thrown on the caller's own thread: the body still lost its work
          continue;
        }
        if (s.ok()) {
          ++kept;
        } else {
          ++failed;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_GT(failed.load(), 0);
  EXPECT_EQ(CountThings(), kept.load());
  int64_t negative = -1, elsewhere = -1;
  ASSERT_TRUE(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
                CARREL_ASSIGN_OR_RETURN(negative,
                                        tx.QueryInt("SELECT count(*) FROM things WHERE size < 0"));
                return Status::Ok();
              }).ok());
  ASSERT_TRUE(WithReadTransaction(**other, [&](Transaction& tx) -> Status {
                CARREL_ASSIGN_OR_RETURN(elsewhere, tx.QueryInt("SELECT count(*) FROM things"));
                return Status::Ok();
              }).ok());
  EXPECT_EQ(negative, 0);
  EXPECT_GT(elsewhere, 0);
  // Nothing is left queued or locked: one more write of each kind goes through.
  ASSERT_TRUE(WithWriteTransaction(*store_, [](Transaction& tx) {
                return tx.Exec("INSERT INTO things (name, size) VALUES ('last', 1)");
              }).ok());
  EXPECT_EQ(CountThings(), kept.load() + 1);
  (void)threw;
}

TEST(SqliteStoreTest, NotADatabaseIsDataLoss) {
  testing::TempDir dir;
  std::ofstream(dir / "junk.db") << std::string(4096, 'j');
  auto store = OpenSqliteStore(dir / "junk.db", {});
  EXPECT_EQ(store.status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace carrel

namespace carrel {
namespace {

// A transaction begun inside a write body joins it: a nested write is a savepoint that its own
// failure undoes alone, a nested read sees what the body wrote, and all of it commits (or not)
// with the outer body. The API runs a handler this way when it must record the handler's
// answer in the same commit as its work (Idempotency-Key).
TEST_P(StoreConformanceTest, TransactionsBegunInsideABodyJoinIt) {
  Status outer = WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_RETURN_IF_ERROR(tx.Exec("INSERT INTO things (name, size) VALUES ('outer', 1)"));
    // A nested write that fails loses its own work only.
    Status failed = WithWriteTransaction(*store_, [](Transaction& inner) -> Status {
      CARREL_RETURN_IF_ERROR(inner.Exec("INSERT INTO things (name, size) VALUES ('lost', 1)"));
      return inner.Exec("INSERT INTO things (name, size) VALUES ('bad', -1)");
    });
    EXPECT_EQ(failed.code(), StatusCode::kFailedPrecondition);
    // One that succeeds is kept, and a read begun inside sees both it and the outer row.
    EXPECT_TRUE(WithWriteTransaction(*store_, [](Transaction& inner) {
                  return inner.Exec("INSERT INTO things (name, size) VALUES ('kept', 1)");
                }).ok());
    int64_t seen = -1;
    EXPECT_TRUE(WithReadTransaction(*store_, [&](Transaction& read) -> Status {
                  CARREL_ASSIGN_OR_RETURN(seen, read.QueryInt("SELECT count(*) FROM things"));
                  return Status::Ok();
                }).ok());
    EXPECT_EQ(seen, 2);
    // A transaction held open inside the body is a savepoint too.
    auto held = store_->Begin(TransactionMode::kWrite);
    EXPECT_TRUE(held.ok());
    if (held.ok()) {
      EXPECT_TRUE((*held)->Exec("INSERT INTO things (name, size) VALUES ('held', 1)").ok());
      EXPECT_TRUE((*held)->Commit().ok());
    }
    auto dropped = store_->Begin(TransactionMode::kWrite);
    EXPECT_TRUE(dropped.ok());
    if (dropped.ok()) {
      EXPECT_TRUE((*dropped)->Exec("INSERT INTO things (name, size) VALUES ('dropped', 1)").ok());
      dropped->reset();  // ended without a commit: undone
    }
    return Status::Ok();
  });
  ASSERT_TRUE(outer.ok()) << outer.ToString();
  EXPECT_EQ(CountThings(), 3) << "outer, kept and held";
  // When the outer body fails, what its nested writes did goes with it.
  Status failed = WithWriteTransaction(*store_, [&](Transaction&) -> Status {
    EXPECT_TRUE(WithWriteTransaction(*store_, [](Transaction& inner) {
                  return inner.Exec("INSERT INTO things (name, size) VALUES ('gone', 1)");
                }).ok());
    return FailedPrecondition("the outer body changed its mind");
  });
  EXPECT_FALSE(failed.ok());
  EXPECT_EQ(CountThings(), 3);
}

}  // namespace
}  // namespace carrel
