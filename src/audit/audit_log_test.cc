#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

#include "audit/schema.h"
#include "audit/verify.h"
#include "carrel/audit.h"
#include "tests/support/temp_dir.h"

namespace carrel {
namespace {

const unsigned char kSeed[32] = {42, 1, 2, 3};
constexpr char kOrigin[] = "test.example/carrel-log";

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open() {
    SqliteOptions options;
    options.create_if_missing = true;
    auto store = OpenSqliteStore(dir_ / "audit.db", options);
    ASSERT_TRUE(store.ok());
    store_ = std::move(store).value();
    ASSERT_TRUE(store_->Migrate(AuditMigrations()).ok());
    log_ = std::make_unique<AuditLog>(&clock_, "2010-09-15");
  }

  void Append(int n, bool sign_every_100 = false) {
    for (int i = 0; i < n; ++i) {
      Status s = WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
        Actor actor{"user/" + std::to_string(i % 5), "staff"};
        AuditEvent event{"loan.checkout", "loan", std::to_string(i), "", "{}"};
        CARREL_RETURN_IF_ERROR(log_->Append(tx, actor, event).status());
        if (sign_every_100) {
          CARREL_ASSIGN_OR_RETURN(auto size, tx.QueryInt("SELECT count(*) FROM audit_log"));
          if (size % 100 == 0) CARREL_RETURN_IF_ERROR(log_->SignHead(tx, kSeed, kOrigin).status());
        }
        return Status::Ok();
      });
      ASSERT_TRUE(s.ok()) << s.ToString();
      clock_.Advance(std::chrono::seconds(1));
    }
  }

  std::vector<Hash> Leaves() {
    std::vector<Hash> out;
    EXPECT_TRUE(WithReadTransaction(*store_, [&](Transaction& tx) {
      return tx.Exec("SELECT entry FROM audit_log ORDER BY seq", {}, [&](const Row& row) {
        out.push_back(LeafHash(row.Bytes(0)));
        return Status::Ok();
      });
    }).ok());
    return out;
  }

  // Verification cuts the log into chunks checked on several threads; `chunk_level` 3 cuts a
  // small log into many chunks of 8 entries, with heads inside them and on their edges.
  StatusOr<AuditVerification> Verify(std::optional<Checkpoint> earlier = std::nullopt,
                                     int chunk_level = kVerifyChunkLevel) {
    auto v = VerifyAuditLogInChunks(*store_, VerifierFromSeed(kSeed, kOrigin), earlier, nullptr,
                                    chunk_level);
    // Any chunk size gives the same answer.
    auto other = VerifyAuditLogInChunks(*store_, VerifierFromSeed(kSeed, kOrigin), earlier,
                                        nullptr, chunk_level == 3 ? kVerifyChunkLevel : 3);
    EXPECT_EQ(v.ok(), other.ok());
    if (v.ok() && other.ok()) {
      EXPECT_EQ(v->intact, other->intact);
      EXPECT_EQ(v->first_bad_seq, other->first_bad_seq);
      EXPECT_EQ(v->problem, other->problem);
      EXPECT_EQ(v->root, other->root);
      EXPECT_EQ(v->size, other->size);
    }
    return v;
  }

  std::string EntryAt(int64_t seq) {
    std::string entry;
    (void)WithReadTransaction(*store_, [&](Transaction& tx) {
      return tx.Exec("SELECT entry FROM audit_log WHERE seq = ?", {seq}, [&](const Row& r) {
        entry = r.Bytes(0);
        return Status::Ok();
      });
    });
    return entry;
  }

  // One kind of tampering (0 to 5) at entry `at` of a log of `entries`, behind the triggers'
  // back; says where verification must find it and, where it can tell, what it must say.
  Status Mutate(int kind, int64_t at, std::mt19937& rng, int64_t entries, int64_t* expect_seq,
                std::string* expect_problem) {
    switch (kind) {
      case 0: {  // alter one byte of an entry
        std::string entry = EntryAt(at);
        size_t pos = std::uniform_int_distribution<size_t>(0, entry.size() - 1)(rng);
        entry[pos] ^= static_cast<char>(1 + rng() % 255);
        return WithWriteTransaction(*store_, [&](Transaction& tx) {
          return tx.Exec("UPDATE audit_log SET entry = ? WHERE seq = ?", {Blob{entry}, at});
        });
      }
      case 1:  // delete an entry
        *expect_problem = "entry missing";
        return Raw("DELETE FROM audit_log WHERE seq = " + std::to_string(at));
      case 2: {  // insert an entry: everything after it moves up one
        *expect_problem = "entry inserted";
        return WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
          CARREL_RETURN_IF_ERROR(
              tx.Exec("UPDATE audit_log SET seq = -seq - 1 WHERE seq >= ?", {at}));
          CARREL_RETURN_IF_ERROR(tx.Exec("UPDATE audit_log SET seq = -seq WHERE seq < 0"));
          return tx.Exec(
              "INSERT INTO audit_log (seq, entry, leaf_hash) SELECT ?, entry, leaf_hash "
              "FROM audit_log WHERE seq = ?",
              {at, at + 1});
        });
      }
      case 3: {  // reorder two entries
        int64_t other = std::uniform_int_distribution<int64_t>(at + 1, entries - 1)(rng);
        *expect_problem = "entry moved";
        return WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
          CARREL_RETURN_IF_ERROR(tx.Exec("UPDATE audit_log SET seq = -1 WHERE seq = ?", {at}));
          CARREL_RETURN_IF_ERROR(
              tx.Exec("UPDATE audit_log SET seq = ? WHERE seq = ?", {at, other}));
          return tx.Exec("UPDATE audit_log SET seq = ? WHERE seq = -1", {other});
        });
      }
      case 4: {  // replace a signed head with one over another root
        int64_t size = 100 * (1 + at % 2);
        const unsigned char forger[32] = {9, 9, 9};
        Checkpoint forged = SignCheckpoint(kOrigin, size, LeafHash("forged"), forger, kOrigin);
        *expect_seq = size;
        *expect_problem = "head signature bad";
        return WithWriteTransaction(*store_, [&](Transaction& tx) {
          return tx.Exec(
              "UPDATE audit_heads SET note = ?, root = ? WHERE size = ?",
              {forged.note, Blob{std::string(forged.root.begin(), forged.root.end())}, size});
        });
      }
      case 5: {  // rewrite an entry and its leaf hash consistently: only the heads catch it
        at %= 200;
        std::string entry = EntryAt(at);
        auto e = DecodeAuditEntry(entry);
        if (!e.ok()) return e.status();
        e->object_id += "0";
        std::string forged = EncodeAuditEntry(*e);
        Hash leaf = LeafHash(forged);
        *expect_seq = at < 100 ? 100 : 200;
        *expect_problem = "not consistent with the signed head";
        return WithWriteTransaction(*store_, [&](Transaction& tx) {
          return tx.Exec("UPDATE audit_log SET entry = ?, leaf_hash = ? WHERE seq = ?",
                         {Blob{forged}, Blob{std::string(leaf.begin(), leaf.end())}, at});
        });
      }
    }
    return InvalidArgument("no such mutation");
  }

  Status Raw(const std::string& sql) {
    return WithWriteTransaction(*store_, [&](Transaction& tx) { return tx.Exec(sql); });
  }

  testing::TempDir dir_;
  FakeClock clock_{testing::DefaultTestTime()};
  std::unique_ptr<Store> store_;
  std::unique_ptr<AuditLog> log_;
};

TEST_F(AuditLogTest, RootMatchesAnIndependentComputationAtEverySize) {
  std::vector<Hash> leaves;
  for (int n = 1; n <= 130; ++n) {
    Append(1);
    leaves = Leaves();
    ASSERT_TRUE(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
                  CARREL_ASSIGN_OR_RETURN(auto head, log_->Head(tx));
                  EXPECT_EQ(head.first, n);
                  EXPECT_EQ(head.second, NaiveRoot(leaves)) << n;
                  return Status::Ok();
                }).ok());
  }
}

TEST_F(AuditLogTest, StoredProofsVerify) {
  Append(300);
  std::vector<Hash> leaves = Leaves();
  ASSERT_TRUE(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    for (int n : {1, 2, 3, 7, 8, 9, 64, 100, 255, 256, 257, 300}) {
      std::vector<Hash> prefix(leaves.begin(), leaves.begin() + n);
      Hash root = NaiveRoot(prefix);
      CARREL_ASSIGN_OR_RETURN(Hash stored_root, log_->RootAt(tx, n));
      EXPECT_EQ(stored_root, root);
      for (int i = 0; i < n; ++i) {
        CARREL_ASSIGN_OR_RETURN(auto path, log_->InclusionProof(tx, i, n));
        EXPECT_TRUE(VerifyInclusion(leaves[i], i, n, path, root)) << i << "/" << n;
      }
      for (int m = 1; m <= n; ++m) {
        CARREL_ASSIGN_OR_RETURN(auto proof, log_->ConsistencyProof(tx, m, n));
        std::vector<Hash> first(leaves.begin(), leaves.begin() + m);
        EXPECT_TRUE(VerifyConsistency(m, n, NaiveRoot(first), root, proof)) << m << "->" << n;
      }
    }
    EXPECT_EQ(log_->InclusionProof(tx, 5, 301).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(log_->ConsistencyProof(tx, 10, 301).status().code(), StatusCode::kInvalidArgument);
    return Status::Ok();
  }).ok());
}

TEST_F(AuditLogTest, RowsCannotBeUpdatedOrDeleted) {
  Append(3);
  EXPECT_FALSE(Raw("UPDATE audit_log SET entry = x'00' WHERE seq = 1").ok());
  EXPECT_FALSE(Raw("DELETE FROM audit_log WHERE seq = 2").ok());
  EXPECT_FALSE(Raw("DELETE FROM audit_nodes").ok());
  ASSERT_TRUE(WithWriteTransaction(*store_, [&](Transaction& tx) {
    return log_->SignHead(tx, kSeed, kOrigin).status();
  }).ok());
  EXPECT_FALSE(Raw("UPDATE audit_heads SET size = 2").ok());
  EXPECT_FALSE(Raw("DELETE FROM audit_heads").ok());
  auto v = Verify();
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->intact);
}

TEST_F(AuditLogTest, RolledBackAppendsLeaveNoTrace) {
  Append(5);
  Status failed = WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_RETURN_IF_ERROR(
        log_->Append(tx, {"user/1", "staff"}, {"x", "y", "1", "", "{}"}).status());
    CARREL_RETURN_IF_ERROR(
        log_->Append(tx, {"user/1", "staff"}, {"x", "y", "2", "", "{}"}).status());
    return FailedPrecondition("the access failed");
  });
  EXPECT_FALSE(failed.ok());
  Append(4);
  std::vector<Hash> leaves = Leaves();
  EXPECT_EQ(leaves.size(), 9u);
  ASSERT_TRUE(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
                CARREL_ASSIGN_OR_RETURN(auto head, log_->Head(tx));
                EXPECT_EQ(head.second, NaiveRoot(leaves));
                return Status::Ok();
              }).ok());
  auto v = Verify();
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->intact) << v->problem << " at " << v->first_bad_seq;
}

TEST_F(AuditLogTest, SignedHeadsAreCheckpointsAndNeverDiverge) {
  Append(10);
  Checkpoint first;
  ASSERT_TRUE(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
                CARREL_ASSIGN_OR_RETURN(first, log_->SignHead(tx, kSeed, kOrigin));
                CARREL_ASSIGN_OR_RETURN(Checkpoint again, log_->SignHead(tx, kSeed, kOrigin));
                EXPECT_EQ(again.note, first.note) << "no new entries: the same head";
                return Status::Ok();
              }).ok());
  EXPECT_EQ(first.size, 10);
  auto opened = OpenCheckpoint(first.note, VerifierFromSeed(kSeed, kOrigin));
  ASSERT_TRUE(opened.ok());
  Append(5);
  auto v = Verify(first);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->intact);
  EXPECT_EQ(v->size, 15);

  // Rewrite history behind the signer's back: it refuses to sign on top of it.
  ASSERT_TRUE(Raw("DROP TRIGGER audit_log_no_update").ok());
  ASSERT_TRUE(Raw("DROP TRIGGER audit_nodes_no_delete").ok());
  ASSERT_TRUE(Raw("UPDATE audit_log SET leaf_hash = zeroblob(32) WHERE seq = 3").ok());
  ASSERT_TRUE(Raw("DELETE FROM audit_nodes").ok());
  Status s = WithWriteTransaction(*store_, [&](Transaction& tx) {
    return log_->SignHead(tx, kSeed, kOrigin).status();
  });
  EXPECT_FALSE(s.ok());
}

// The tamper test: every kind of change to a seeded log is detected at the right place.
TEST_F(AuditLogTest, VerifyFindsEveryMutation) {
  constexpr int kEntries = 250;
  Append(kEntries, /*sign_every_100=*/true);
  store_.reset();
  auto read_file = [](const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  // Checkpoint the WAL into the file so one file is the whole log.
  {
    auto s = OpenSqliteStore(dir_ / "audit.db", {});
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE((*s)->Checkpoint().ok());
  }
  std::string pristine = read_file(dir_ / "audit.db");
  std::mt19937 rng(20261129);
  int detected = 0, total = 0;
  for (int round = 0; round < 1000; ++round) {
    std::filesystem::remove(dir_ / "audit.db-wal");
    std::filesystem::remove(dir_ / "audit.db-shm");
    std::ofstream(dir_ / "audit.db", std::ios::binary | std::ios::trunc) << pristine;
    auto opened = OpenSqliteStore(dir_ / "audit.db", {});
    ASSERT_TRUE(opened.ok());
    store_ = std::move(opened).value();
    for (const char* t : {"audit_log_no_update", "audit_log_no_delete", "audit_heads_no_update",
                          "audit_heads_no_delete"}) {
      ASSERT_TRUE(Raw(std::string("DROP TRIGGER ") + t).ok());
    }
    int kind = round % 6;
    int64_t at = std::uniform_int_distribution<int64_t>(0, kEntries - 2)(rng);
    int64_t expect_seq = at;
    std::string expect_problem;
    Status m = Mutate(kind, at, rng, kEntries, &expect_seq, &expect_problem);
    ASSERT_TRUE(m.ok()) << m.ToString();
    auto v = Verify();
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    ++total;
    bool right = !v->intact && v->first_bad_seq == expect_seq &&
                 (expect_problem.empty() || v->problem == expect_problem);
    if (right) ++detected;
    EXPECT_TRUE(right) << "mutation " << kind << " at " << at << ": got '" << v->problem
                       << "' at " << v->first_bad_seq;
    store_.reset();
  }
  EXPECT_EQ(detected, total);
}

}  // namespace
}  // namespace carrel

namespace carrel {
namespace {

TEST_F(AuditLogTest, TimesNeverDecreaseWhenTheClockStepsBackAndRangesStayExact) {
  Append(10);  // times T+0 .. T+9, the clock now at T+10
  clock_.Set(testing::DefaultTestTime() + std::chrono::seconds(3));  // the clock steps back
  Append(3);   // would be T+3, T+4, T+5: recorded at T+9, the latest time already on the log
  std::vector<Instant> times;
  ASSERT_TRUE(WithReadTransaction(*store_, [&](Transaction& tx) {
                return tx.Exec(
                    "SELECT entry FROM audit_log ORDER BY seq", {}, [&](const Row& row) -> Status {
                      CARREL_ASSIGN_OR_RETURN(AuditEntry e, DecodeAuditEntry(row.BytesView(0)));
                      times.push_back(e.time);
                      return Status::Ok();
                    });
              }).ok());
  ASSERT_EQ(times.size(), 13u);
  EXPECT_TRUE(std::is_sorted(times.begin(), times.end()));
  EXPECT_EQ(times[12], testing::DefaultTestTime() + std::chrono::seconds(9));
  // Every range [from, to) of whole seconds finds exactly the entries a scan would.
  for (int from = -1; from <= 11; ++from) {
    for (int to = from; to <= 12; ++to) {
      AuditQuery q;
      q.from = testing::DefaultTestTime() + std::chrono::seconds(from);
      q.to = testing::DefaultTestTime() + std::chrono::seconds(to);
      std::vector<int64_t> got, want;
      for (size_t i = 0; i < times.size(); ++i) {
        if (times[i] >= *q.from && times[i] < *q.to) want.push_back(static_cast<int64_t>(i));
      }
      ASSERT_TRUE(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
                    CARREL_ASSIGN_OR_RETURN(auto found, log_->Find(tx, q));
                    for (const AuditEntry& e : found) got.push_back(e.seq);
                    return Status::Ok();
                  }).ok());
      EXPECT_EQ(got, want) << "from " << from << " to " << to;
    }
  }
  // A reopened log (its right edge reloaded) keeps the rule too.
  log_ = std::make_unique<AuditLog>(&clock_, "2010-09-15");
  clock_.Set(testing::DefaultTestTime());
  Append(1);
  std::vector<AuditEntry> found;
  ASSERT_TRUE(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    AuditQuery q;
    q.after_seq = 12;
    CARREL_ASSIGN_OR_RETURN(found, log_->Find(tx, q));
    return Status::Ok();
  }).ok());
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].time, testing::DefaultTestTime() + std::chrono::seconds(9));
}

TEST_F(AuditLogTest, FindsByTimeActorObjectAndCaseThroughIndexesOnTheEntries) {
  Append(20);  // one second apart; actors user/0..4; objects loan/0..19
  ASSERT_TRUE(WithWriteTransaction(*store_, [&](Transaction& tx) {
    return log_->Append(tx, {"user/9", "director"}, {"case.open", "case", "7", "case-7", "{}"})
        .status();
  }).ok());
  auto find = [&](AuditQuery q) {
    std::vector<int64_t> seqs;
    EXPECT_TRUE(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
                  CARREL_ASSIGN_OR_RETURN(auto found, log_->Find(tx, q));
                  for (const AuditEntry& e : found) seqs.push_back(e.seq);
                  return Status::Ok();
                }).ok());
    return seqs;
  };
  AuditQuery by_actor;
  by_actor.actor_id = "user/3";
  EXPECT_EQ(find(by_actor), (std::vector<int64_t>{3, 8, 13, 18}));
  AuditQuery by_object;
  by_object.object_type = "loan";
  by_object.object_id = "11";
  EXPECT_EQ(find(by_object), (std::vector<int64_t>{11}));
  AuditQuery by_case;
  by_case.case_id = "case-7";
  EXPECT_EQ(find(by_case), (std::vector<int64_t>{20}));
  AuditQuery by_time;
  by_time.from = testing::DefaultTestTime() + std::chrono::seconds(5);
  by_time.to = testing::DefaultTestTime() + std::chrono::seconds(8);
  EXPECT_EQ(find(by_time), (std::vector<int64_t>{5, 6, 7}));
  // The searches use the indexes built on the entries, not a scan of the log.
  for (const char* where :
       {"carrel_audit_field(entry, 1) = 'user/3'",
        "carrel_audit_field(entry, 3) = 'loan' AND carrel_audit_field(entry, 4) = '11'",
        "carrel_audit_field(entry, 5) <> '' AND carrel_audit_field(entry, 5) = 'case-7'"}) {
    std::string plan;
    ASSERT_TRUE(WithReadTransaction(*store_, [&](Transaction& tx) {
      return tx.Exec(std::string("EXPLAIN QUERY PLAN SELECT entry FROM audit_log WHERE ") + where,
                     {}, [&](const Row& row) {
                       plan += row.Text(3);
                       return Status::Ok();
                     });
    }).ok());
    EXPECT_NE(plan.find("USING INDEX audit_log_"), std::string::npos) << where << ": " << plan;
  }
}

TEST(AuditSchemaTest, LogsWrittenBeforeTheDerivedIndexesMigrateIntact) {
  testing::TempDir dir;
  SqliteOptions options;
  options.create_if_missing = true;
  auto store = OpenSqliteStore(dir / "audit.db", options);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->Migrate({AuditMigrations().front()}).ok());
  // Entries as the first schema stored them, with copies of their fields in columns.
  FakeClock clock(testing::DefaultTestTime());
  for (int64_t seq = 0; seq < 5; ++seq) {
    AuditEntry e;
    e.seq = seq;
    e.time = clock.Now();
    e.actor_id = "user/" + std::to_string(seq % 2);
    e.actor_role = "staff";
    e.action = "patron.view";
    e.object_type = "patron";
    e.object_id = std::to_string(100 + seq);
    e.policy_version = "2010-09-15";
    e.details = "{}";
    std::string bytes = EncodeAuditEntry(e);
    Hash leaf = LeafHash(bytes);
    ASSERT_TRUE(WithWriteTransaction(**store, [&](Transaction& tx) {
      return tx.Exec(
          "INSERT INTO audit_log (seq, entry, leaf_hash, time, actor_id, action, object_type, "
          "object_id, case_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '')",
          {seq, Blob{bytes}, Blob{std::string(leaf.begin(), leaf.end())},
           FormatInstant(e.time), e.actor_id, e.action, e.object_type, e.object_id});
    }).ok());
  }
  // ... and the tree nodes the first schema kept, as it kept them.
  ASSERT_TRUE(WithWriteTransaction(**store, [&](Transaction& tx) -> Status {
    std::vector<Hash> leaves;
    CARREL_RETURN_IF_ERROR(
        tx.Exec("SELECT leaf_hash FROM audit_log ORDER BY seq", {}, [&](const Row& row) {
          Hash h;
          std::string b = row.Bytes(0);
          std::copy(b.begin(), b.end(), h.begin());
          leaves.push_back(h);
          return Status::Ok();
        }));
    std::vector<Hash> level1 = {NodeHash(leaves[0], leaves[1]), NodeHash(leaves[2], leaves[3])};
    Hash level2 = NodeHash(level1[0], level1[1]);
    auto blob = [](const Hash& h) { return Blob{std::string(h.begin(), h.end())}; };
    CARREL_RETURN_IF_ERROR(tx.Exec("INSERT INTO audit_nodes VALUES (1, 0, ?)", {blob(level1[0])}));
    CARREL_RETURN_IF_ERROR(tx.Exec("INSERT INTO audit_nodes VALUES (1, 1, ?)", {blob(level1[1])}));
    return tx.Exec("INSERT INTO audit_nodes VALUES (2, 0, ?)", {blob(level2)});
  }).ok());
  Status migrated = (*store)->Migrate(AuditMigrations());
  ASSERT_TRUE(migrated.ok()) << migrated.ToString();
  AuditLog log(&clock, "2010-09-15");
  ASSERT_TRUE(WithWriteTransaction(**store, [&](Transaction& tx) {
    return log.Append(tx, {"user/1", "staff"}, {"patron.view", "patron", "105", "", "{}"})
        .status();
  }).ok());
  std::vector<int64_t> seqs;
  ASSERT_TRUE(WithReadTransaction(**store, [&](Transaction& tx) -> Status {
    AuditQuery q;
    q.actor_id = "user/1";
    CARREL_ASSIGN_OR_RETURN(auto found, log.Find(tx, q));
    for (const AuditEntry& e : found) seqs.push_back(e.seq);
    return Status::Ok();
  }).ok());
  EXPECT_EQ(seqs, (std::vector<int64_t>{1, 3, 5}));
  auto v = VerifyAuditLog(**store, VerifierFromSeed(kSeed, kOrigin), std::nullopt);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->intact) << v->problem;
  EXPECT_EQ(v->size, 6);
}

}  // namespace
}  // namespace carrel
