// The audit log inside a real library: every access recorded, fail-closed, verifiable.

#include <gtest/gtest.h>

#include <fstream>

#include "carrel/library.h"
#include "tests/support/faulty_store.h"
#include "tests/support/postgres.h"
#include "tests/support/run.h"
#include "tests/support/store_count.h"
#include "tests/support/temp_dir.h"

namespace carrel {
namespace {

Date D(int y, int m, int d) { return Date(std::chrono::year(y) / m / d); }

class FailClosedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(Library::Init(dir_ / "lib", testing::WestportProfile(), OperatorActor()).ok());
    Library::OpenOptions options{.clock = &clock_, .outbound = nullptr, .store_layer = {}};
    options.store_layer = [this](std::unique_ptr<Store> inner) {
      auto faulty =
          std::make_unique<testing::FaultyStore>(std::move(inner), "INSERT INTO audit_log");
      faulty_ = faulty.get();
      return std::unique_ptr<Store>(std::move(faulty));
    };
    auto lib = Library::Open(dir_ / "lib", options);
    ASSERT_TRUE(lib.ok()) << lib.status().ToString();
    library_ = std::move(lib).value();
    NewPatron p;
    p.card_barcode = "P-1";
    p.name = "Patron One";
    p.expires_on = D(2028, 1, 1);
    auto added = library_->circulation().AddPatron(testing::kStaff, p);
    ASSERT_TRUE(added.ok());
    patron_id_ = added->id;
    ASSERT_TRUE(library_->circulation().AddItem(testing::kStaff, {"I-1", "T", "A", "C", "book"}).ok());
  }

  int64_t AuditCount() { return testing::RowCount(library_->store(), "audit_log"); }

  testing::TempDir dir_;
  FakeClock clock_{testing::DefaultTestTime()};
  testing::FaultyStore* faulty_ = nullptr;
  std::unique_ptr<Library> library_;
  int64_t patron_id_ = 0;
};

TEST_F(FailClosedTest, AReadWhoseAuditEntryFailsReturnsNothing) {
  int64_t before = AuditCount();
  faulty_->Arm(true);
  auto read = library_->circulation().GetPatron(testing::kStaff, patron_id_);
  EXPECT_FALSE(read.ok());
  auto found = library_->circulation().FindPatronByBarcode(testing::kStaff, "P-1");
  EXPECT_FALSE(found.ok());
  auto history = library_->circulation().PatronHistory(testing::kStaff, patron_id_);
  EXPECT_FALSE(history.ok());
  EXPECT_GE(faulty_->failures(), 3);
  faulty_->Arm(false);
  EXPECT_EQ(AuditCount(), before);
  EXPECT_TRUE(library_->circulation().GetPatron(testing::kStaff, patron_id_).ok());
  EXPECT_EQ(AuditCount(), before + 1);
}

TEST_F(FailClosedTest, AChangeWhoseAuditEntryFailsDoesNotHappen) {
  faulty_->Arm(true);
  EXPECT_FALSE(library_->circulation().Checkout(testing::kStaff, "I-1", "P-1").ok());
  faulty_->Arm(false);
  auto loans = library_->circulation().ActiveLoans(testing::kStaff, patron_id_);
  ASSERT_TRUE(loans.ok());
  EXPECT_TRUE(loans->empty());
  auto item = library_->circulation().FindItemByBarcode("I-1");
  ASSERT_TRUE(item.ok());
  EXPECT_EQ(item->status, ItemStatus::kAvailable);
}

TEST_F(FailClosedTest, EntriesNameActorsAndPseudonymsOnly) {
  ASSERT_TRUE(library_->circulation().Checkout(testing::kStaff, "I-1", "P-1").ok());
  ASSERT_TRUE(library_->circulation().GetPatron(testing::kStaff, patron_id_).ok());
  std::vector<AuditEntry> entries;
  ASSERT_TRUE(WithReadTransaction(library_->store(), [&](Transaction& tx) -> Status {
    AuditQuery q;
    q.actor_id = "user/1";
    CARREL_ASSIGN_OR_RETURN(entries, library_->audit().Find(tx, q));
    return Status::Ok();
  }).ok());
  std::vector<std::string> actions;
  for (const AuditEntry& e : entries) {
    actions.push_back(e.action);
    EXPECT_EQ(e.actor_role, "staff");
    EXPECT_EQ(e.policy_version, "2010-09-15");
    for (const std::string* field : {&e.object_id, &e.details}) {
      EXPECT_EQ(field->find("P-1"), std::string::npos);
      EXPECT_EQ(field->find("Patron One"), std::string::npos);
    }
  }
  EXPECT_NE(std::find(actions.begin(), actions.end(), "patron.create"), actions.end());
  EXPECT_NE(std::find(actions.begin(), actions.end(), "loan.checkout"), actions.end());
  EXPECT_NE(std::find(actions.begin(), actions.end(), "patron.view"), actions.end());
  // No entry names both a patron and an item: the log must not become a reading history.
  for (const AuditEntry& e : entries) {
    if (e.action == "loan.checkout") {
      EXPECT_EQ(e.details, "{}");
      EXPECT_EQ(e.object_type, "loan");
    }
  }
  // Paged by sequence number and filtered by object.
  ASSERT_TRUE(WithReadTransaction(library_->store(), [&](Transaction& tx) -> Status {
    AuditQuery q;
    q.object_type = "patron";
    q.object_id = std::to_string(patron_id_);
    q.limit = 1;
    CARREL_ASSIGN_OR_RETURN(auto page1, library_->audit().Find(tx, q));
    EXPECT_EQ(page1.size(), 1u);
    q.after_seq = page1[0].seq;
    CARREL_ASSIGN_OR_RETURN(auto page2, library_->audit().Find(tx, q));
    EXPECT_EQ(page2.size(), 1u);
    EXPECT_GT(page2[0].seq, page1[0].seq);
    return Status::Ok();
  }).ok());
}

TEST(AuditCliTest, HeadKeyVerifyAndProofs) {
  testing::TempDir dir;
  std::string data = (dir / "lib").string();
  auto init = testing::RunCarrel({"init", "--data", data});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  EXPECT_NE(init.out.find("audit log key: carrel/the-westport-library/"), std::string::npos)
      << init.out;
  ASSERT_EQ(testing::RunCarrel({"demo", "seed", "--data", data, "--patrons", "20", "--items",
                                "40", "--loans", "100"})
                .exit_code,
            0);
  auto key = testing::RunCarrel({"audit", "key", "--data", data});
  ASSERT_EQ(key.exit_code, 0) << key.err;
  std::string vkey = key.out.substr(0, key.out.find('\n'));
  auto head = testing::RunCarrel({"audit", "head", "--data", data});
  ASSERT_EQ(head.exit_code, 0) << head.err;
  std::ofstream(dir / "head1.txt") << head.out;
  auto verify = testing::RunCarrel({"audit", "verify", "--data", data, "--key", vkey});
  EXPECT_EQ(verify.exit_code, 0) << verify.err;
  EXPECT_NE(verify.out.find("intact"), std::string::npos) << verify.out;

  // More entries, then check the log against the earlier head, and prove inclusion.
  ASSERT_EQ(testing::RunCarrel({"backup", "--data", data, "--out", (dir / "b.db").string()})
                .exit_code,
            0);
  auto later = testing::RunCarrel({"audit", "verify", "--data", data, "--key", vkey,
                                   "--from-head", (dir / "head1.txt").string()});
  EXPECT_EQ(later.exit_code, 0) << later.err;
  auto proof = testing::RunCarrel({"audit", "prove", "--data", data, "--index", "1",
                                   "--from-head", (dir / "head1.txt").string()});
  ASSERT_EQ(proof.exit_code, 0) << proof.err;
  std::ofstream(dir / "proof.json") << proof.out;
  auto checked = testing::RunCarrel(
      {"audit", "verify-proof", "--key", vkey, "--proof", (dir / "proof.json").string()});
  EXPECT_EQ(checked.exit_code, 0) << checked.err << checked.out;

  // Bad input: a head that does not parse, a proof for a size beyond the log.
  std::ofstream(dir / "junk.txt") << "not a checkpoint\n";
  auto junk = testing::RunCarrel({"audit", "verify", "--data", data, "--key", vkey,
                                  "--from-head", (dir / "junk.txt").string()});
  EXPECT_EQ(junk.exit_code, 1);
  EXPECT_EQ(std::count(junk.err.begin(), junk.err.end(), '\n'), 1) << junk.err;
  auto far = testing::RunCarrel({"audit", "prove", "--data", data, "--index", "1", "--size",
                                 "99999999"});
  EXPECT_EQ(far.exit_code, 1);
  EXPECT_EQ(std::count(far.err.begin(), far.err.end(), '\n'), 1) << far.err;
}

TEST(AuditCliTest, VerifyNamesTheFirstBadEntry) {
  CARREL_SQLITE_FILES_ONLY();
  testing::TempDir dir;
  std::string data = (dir / "lib").string();
  ASSERT_EQ(testing::RunCarrel({"init", "--data", data}).exit_code, 0);
  ASSERT_EQ(testing::RunCarrel({"demo", "seed", "--data", data, "--patrons", "5", "--items",
                                "10", "--loans", "10"})
                .exit_code,
            0);
  ASSERT_EQ(testing::RunCarrel({"audit", "head", "--data", data}).exit_code, 0);
  auto key = testing::RunCarrel({"audit", "key", "--data", data});
  std::string vkey = key.out.substr(0, key.out.find('\n'));
  {
    auto store = OpenSqliteStore(dir / "lib" / "carrel.db", {});
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE(WithWriteTransaction(**store, [](Transaction& tx) -> Status {
                  CARREL_RETURN_IF_ERROR(tx.Exec("DROP TRIGGER audit_log_no_update"));
                  return tx.Exec("UPDATE audit_log SET entry = entry || x'00' WHERE seq = 1");
                }).ok());
  }
  auto r = testing::RunCarrel({"audit", "verify", "--data", data, "--key", vkey});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("entry 1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("altered"), std::string::npos) << r.err;
}

// Verification trusts only a key from outside the data directory it checks: whoever could
// rewrite the log could rewrite a key stored beside it.
TEST(AuditCliTest, VerifyTrustsOnlyAKeyFromOutsideTheDataDirectory) {
  CARREL_SQLITE_FILES_ONLY();
  testing::TempDir dir;
  std::string data = (dir / "lib").string();
  auto init = testing::RunCarrel({"init", "--data", data});
  ASSERT_EQ(init.exit_code, 0);
  const std::string label = "audit log key: ";
  size_t at = init.out.find(label);
  ASSERT_NE(at, std::string::npos);
  std::string vkey = init.out.substr(at + label.size(), init.out.find('\n', at) - at - label.size());
  ASSERT_EQ(testing::RunCarrel({"audit", "head", "--data", data}).exit_code, 0);

  auto none = testing::RunCarrel({"audit", "verify", "--data", data});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_EQ(none.err,
            "carrel: audit verify needs the log's verifier key from outside the data directory: "
            "--key VKEY, --key-file FILE, or [audit] verifier_key_file in the profile\n");
  std::ofstream(dir / "lib" / "vkey.txt") << vkey << "\n";
  auto inside = testing::RunCarrel(
      {"audit", "verify", "--data", data, "--key-file", (dir / "lib" / "vkey.txt").string()});
  EXPECT_EQ(inside.exit_code, 1);
  EXPECT_NE(inside.err.find("is inside the data directory"), std::string::npos) << inside.err;
  std::ofstream(dir / "vkey.txt") << vkey << "\n";
  auto outside = testing::RunCarrel(
      {"audit", "verify", "--data", data, "--key-file", (dir / "vkey.txt").string()});
  EXPECT_EQ(outside.exit_code, 0) << outside.err;

  // The insider swaps the key stored beside the log for one of their own: verification with the
  // library's real key is unmoved, and their key does not verify the heads.
  auto other = testing::RunCarrel({"init", "--data", (dir / "other").string()});
  at = other.out.find(label);
  std::string their_key =
      other.out.substr(at + label.size(), other.out.find('\n', at) - at - label.size());
  {
    auto store = OpenSqliteStore(dir / "lib" / "carrel.db", {});
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE(WithWriteTransaction(**store, [&](Transaction& tx) {
      return tx.Exec("UPDATE library_meta SET value = ? WHERE key = 'audit_verifier_key'",
                     {their_key});
    }).ok());
  }
  EXPECT_EQ(testing::RunCarrel({"audit", "verify", "--data", data, "--key", vkey}).exit_code, 0);
  EXPECT_EQ(testing::RunCarrel({"audit", "verify", "--data", data, "--key", their_key}).exit_code,
            1);
}

}  // namespace
}  // namespace carrel
