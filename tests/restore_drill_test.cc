// The restore drill (docs/reliability.md, docs/deployment.md §7), as an operator runs it with
// the `carrel` command: last night's data backup and the library's key backup restored into a
// fresh directory, served on another port. The audit log verifies against the heads an outside
// witness kept before the backup (and the witness that saw today's head calls the restore the
// rollback it is); a patron deleted after the backup stays unreadable, because the key backup
// carrel keeps current ([backup] keys_file) no longer holds their key; a key backup older than
// the shortest retention period is refused unless accepted knowingly, with a warning.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "carrel/library.h"
#include "tests/support/postgres.h"
#include "tests/support/run.h"
#include "tests/support/temp_dir.h"

namespace carrel {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using testing::RunCarrel;

class RestoreDrillTest : public ::testing::Test {
 protected:
  // `carrel init`, keeping the verifier key it prints.
  std::string Init(const fs::path& dir) {
    CommandResult init = RunCarrel({"init", "--data", dir.string()});
    EXPECT_EQ(init.exit_code, 0) << init.err;
    const std::string label = "carrel: audit log key: ";
    size_t at = init.out.find(label);
    if (at == std::string::npos) return "";
    return init.out.substr(at + label.size(), init.out.find('\n', at) - at - label.size());
  }

  // `carrel audit witness` against `carrel serve` on `dir`, keeping its heads in `store`.
  CommandResult Witness(const fs::path& dir, const fs::path& store) {
    testing::ServeProcess serve(dir.string());
    EXPECT_TRUE(serve.started());
    return RunCarrel({"audit", "witness", "--url",
                      "http://127.0.0.1:" + std::to_string(serve.port()), "--key", vkey_, "--store",
                      store.string()});
  }

  // The day's head signed (`carrel audit head`), then witnessed.
  int SignAndWitness(const fs::path& dir, const fs::path& store) {
    CommandResult head = RunCarrel({"audit", "head", "--data", dir.string()});
    EXPECT_EQ(head.exit_code, 0) << head.err;
    CommandResult w = Witness(dir, store);
    EXPECT_EQ(w.exit_code, 0) << w.err;
    return w.exit_code;
  }

  testing::TempDir tmp_;
  std::string vkey_;
};

TEST_F(RestoreDrillTest, LastNightsBackupsRestoreIntoAFreshDirectoryOnAnotherPort) {
  CARREL_SQLITE_FILES_ONLY();
  const fs::path live = tmp_ / "live", fresh = tmp_ / "fresh", backups = tmp_ / "backups";
  fs::create_directories(backups);
  vkey_ = Init(live);
  ASSERT_FALSE(vkey_.empty());
  // The library keeps its key backup current itself.
  {
    std::ofstream profile(Library::ProfilePath(live), std::ios::app);
    profile << "\n[backup]\nkeys_file = \"" << (backups / "keys.db").string() << "\"\n";
  }
  int64_t leaving = 0, staying = 0;
  {
    auto lib = Library::Open(live, SystemClock());
    ASSERT_TRUE(lib.ok()) << lib.status().ToString();
    auto& circ = (*lib)->circulation();
    for (auto [card, name] : {std::pair{"D-LEAVE", "Drill Leaving"}, {"D-STAY", "Drill Staying"}}) {
      NewPatron p;
      p.card_barcode = card;
      p.name = name;
      p.expires_on =
          std::chrono::floor<std::chrono::days>(SystemClock()->Now()) + std::chrono::days(3650);
      auto added = circ.AddPatron(testing::kStaff, p);
      ASSERT_TRUE(added.ok()) << added.status().ToString();
      (std::string(card) == "D-LEAVE" ? leaving : staying) = added->id;
    }
    ASSERT_TRUE(circ.AddItem(testing::kStaff, {"D-ITEM", "Title", "A", "C", "book"}).ok());
    ASSERT_TRUE(circ.Checkout(testing::kStaff, "D-ITEM", "D-STAY").ok());
  }
  // The witness takes the evening's head; the night's backups are made (the key backup was
  // also made by carrel when the library last destroyed keys; here, by the night's job).
  ASSERT_EQ(SignAndWitness(live, tmp_ / "witness"), 0);
  fs::copy(tmp_ / "witness", tmp_ / "witness-last-night", fs::copy_options::recursive);
  CommandResult data = RunCarrel(
      {"backup", "--data", live.string(), "--out", (backups / "data-last-night.db").string()});
  ASSERT_EQ(data.exit_code, 0) << data.err;
  CommandResult keys = RunCarrel(
      {"backup-keys", "--data", live.string(), "--out", (backups / "keys.db").string() + ".night"});
  ASSERT_EQ(keys.exit_code, 0) << keys.err;
  fs::rename(backups / "keys.db.night", backups / "keys.db");

  // Today: a patron asks to be deleted. carrel makes the key backup again at once.
  {
    auto lib = Library::Open(live, SystemClock());
    ASSERT_TRUE(lib.ok());
    ASSERT_TRUE((*lib)->circulation().DeletePatron(testing::kStaff, leaving).ok());
  }
  ASSERT_EQ(SignAndWitness(live, tmp_ / "witness"), 0);

  // The machine is lost. On another: the master key from where it is kept apart, a fresh
  // directory, last night's data backup and the key backup.
  ASSERT_FALSE(Init(fresh).empty());
  fs::copy_file(live / "master.key", fresh / "master.key", fs::copy_options::overwrite_existing);
  CommandResult restored = RunCarrel({"restore", "--data", fresh.string(), "--from",
                                      (backups / "data-last-night.db").string(), "--keys",
                                      (backups / "keys.db").string()});
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  EXPECT_NE(restored.out.find("1 patron records were crypto-shredded since the backup"),
            std::string::npos)
      << restored.out;

  // The log verifies against the head the witness kept last night, offline and served.
  CommandResult verified =
      RunCarrel({"audit", "verify", "--data", fresh.string(), "--key", vkey_, "--from-head",
                 (tmp_ / "witness-last-night" / "latest").string()});
  EXPECT_EQ(verified.exit_code, 0) << verified.err << verified.out;
  CommandResult witnessed = Witness(fresh, tmp_ / "witness-last-night");
  EXPECT_EQ(witnessed.exit_code, 0) << witnessed.err;
  // The witness that saw today's head knows today's entries are gone: the restored log does not
  // extend the head it kept (a rollback, or a fork once the restored log has grown past it).
  CommandResult today = Witness(fresh, tmp_ / "witness");
  EXPECT_EQ(today.exit_code, 1) << today.out << today.err;
  EXPECT_TRUE(today.err.find("rollback") != std::string::npos ||
              today.err.find("fork") != std::string::npos)
      << today.err;

  // The patron deleted after the backup stays unreadable; the other is there, with the loan.
  {
    auto lib = Library::Open(fresh, SystemClock());
    ASSERT_TRUE(lib.ok()) << lib.status().ToString();
    auto& circ = (*lib)->circulation();
    EXPECT_EQ(circ.GetPatron(testing::kStaff, leaving).status().code(), StatusCode::kNotFound);
    EXPECT_EQ(circ.FindPatronByBarcode(testing::kStaff, "D-LEAVE").status().code(),
              StatusCode::kNotFound);
    auto stay = circ.GetPatron(testing::kStaff, staying);
    ASSERT_TRUE(stay.ok()) << stay.status().ToString();
    EXPECT_EQ(stay->name, "Drill Staying");
    EXPECT_TRUE((*lib)->keyring().WasDestroyed(Vault::PatronKeyName(leaving)));
  }
}

TEST_F(RestoreDrillTest, AKeyBackupOlderThanTheShortestRetentionPeriodIsRefusedUnlessAccepted) {
  CARREL_SQLITE_FILES_ONLY();
  const fs::path live = tmp_ / "live";
  vkey_ = Init(live);
  ASSERT_FALSE(vkey_.empty());
  ASSERT_EQ(RunCarrel({"backup", "--data", live.string(), "--out", (tmp_ / "data.db").string()})
                .exit_code,
            0);
  // A key backup made three days ago (the demo profile's shortest period: loan links, at once,
  // so a day at most).
  {
    FakeClock three_days_ago(SystemClock()->Now() - std::chrono::hours(72));
    auto lib = Library::Open(live, &three_days_ago);
    ASSERT_TRUE(lib.ok());
    ASSERT_TRUE((*lib)->BackupKeys(tmp_ / "old-keys.db").ok());
  }
  auto taken = Keyring::BackupTakenAt(tmp_ / "old-keys.db");
  ASSERT_TRUE(taken.ok() && taken->has_value());
  const std::string before = [&] {
    std::ifstream in(Library::DatabasePath(live), std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }();

  CommandResult refused =
      RunCarrel({"restore", "--data", live.string(), "--from", (tmp_ / "data.db").string(),
                 "--keys", (tmp_ / "old-keys.db").string()});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(refused.err,
            "carrel: the key backup was made 3 day(s) ago, and this library's shortest retention "
            "period is 1 day(s): keys destroyed on schedule since would come back with it. "
            "Restore with a newer key backup, or accept the old one knowingly "
            "(--accept-old-keys)\n");
  std::ifstream in(Library::DatabasePath(live), std::ios::binary);
  std::stringstream after;
  after << in.rdbuf();
  EXPECT_EQ(after.str(), before) << "a refused restore changed the library";

  CommandResult accepted =
      RunCarrel({"restore", "--data", live.string(), "--from", (tmp_ / "data.db").string(),
                 "--keys", (tmp_ / "old-keys.db").string(), "--accept-old-keys"});
  EXPECT_EQ(accepted.exit_code, 0) << accepted.err;
  EXPECT_NE(accepted.err.find("warning: the key backup is older than the shortest retention "
                              "period (3 day(s) old)"),
            std::string::npos)
      << accepted.err;
  // The restore's entry on the log says the old keys were taken knowingly: an operator who
  // brings back destroyed keys this way is seen by the Board. The log verifies.
  CommandResult entries = RunCarrel({"audit", "verify", "--data", live.string(), "--key", vkey_});
  EXPECT_EQ(entries.exit_code, 0) << entries.err;
  auto lib = Library::Open(live, SystemClock());
  ASSERT_TRUE(lib.ok()) << lib.status().ToString();
  std::vector<AuditEntry> found;
  ASSERT_TRUE(WithReadTransaction((*lib)->store(), [&](Transaction& tx) -> Status {
                AuditQuery q;
                q.object_type = "library";
                q.limit = 1000;
                CARREL_ASSIGN_OR_RETURN(found, (*lib)->audit().Find(tx, q));
                return Status::Ok();
              }).ok());
  int accepted_restores = 0;
  for (const AuditEntry& e : found) {
    if (e.action == "library.restore" &&
        e.details.find("\"old_keys_accepted\":true") != std::string::npos) {
      ++accepted_restores;
    }
  }
  EXPECT_EQ(accepted_restores, 1);
}

// Over a library that still exists, a key backup made before a patron was deleted does not
// bring their key back: the keys the replaced keyring had destroyed are destroyed again.
TEST_F(RestoreDrillTest, KeysTheReplacedKeyringDestroyedStayDestroyed) {
  testing::TestLibrary lib;
  NewPatron p;
  p.card_barcode = "D-GONE";
  p.name = "Drill Gone";
  p.expires_on =
      std::chrono::floor<std::chrono::days>(testing::DefaultTestTime()) + std::chrono::days(3650);
  auto added = lib.circulation().AddPatron(testing::kStaff, p);
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  ASSERT_TRUE(lib.library->Backup(lib.dir / "data.bak").ok());
  ASSERT_TRUE(lib.library->BackupKeys(lib.dir / "keys.bak").ok());
  ASSERT_TRUE(lib.circulation().DeletePatron(testing::kStaff, added->id).ok());
  const fs::path dir = lib.library->dir();
  lib.library.reset();

  const fs::path keys = lib.dir / "keys.bak";
  auto report = Library::Restore(dir, lib.dir / "data.bak", &keys, &lib.clock);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->keys_destroyed_again, 1);
  EXPECT_EQ(report->patrons_shredded, 1);
  EXPECT_EQ(report->key_backup_age_days, 0);
  auto reopened = Library::Open(dir, &lib.clock);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_TRUE((*reopened)->keyring().WasDestroyed(Vault::PatronKeyName(added->id)));
  EXPECT_EQ((*reopened)->circulation().GetPatron(testing::kStaff, added->id).status().code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace carrel
