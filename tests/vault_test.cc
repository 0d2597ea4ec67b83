// Confidentiality at rest, end to end (docs/design.md §4): real files, real backups, real keys.

#include "carrel/vault.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "carrel/library.h"
#include "tests/support/postgres.h"
#include "tests/support/run.h"
#include "tests/support/temp_dir.h"

namespace carrel {
namespace {

using std::chrono::hours;

Date D(int y, int m, int d) { return Date(std::chrono::year(y) / m / d); }

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Base64(std::string_view s) {
  std::string out(sodium_base64_ENCODED_LEN(s.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(s.data()),
                    s.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return out;
}

std::string Hex(std::string_view s, bool upper) {
  std::string out;
  for (unsigned char c : s) {
    char buf[3];
    std::snprintf(buf, sizeof buf, upper ? "%02X" : "%02x", c);
    out += buf;
  }
  return out;
}

std::string Utf16(std::string_view s, bool big_endian) {
  std::string out;
  for (char c : s) {
    if (big_endian) out.push_back('\0');
    out.push_back(c);
    if (!big_endian) out.push_back('\0');
  }
  return out;
}

// Every form in which a canary could leak: raw, UTF-16 both ways, hex both cases, and base64
// at each of the three alignments (the middle of the encoding, which does not depend on what
// surrounds it).
std::vector<std::string> Encodings(const std::string& canary) {
  std::vector<std::string> forms = {canary, Utf16(canary, false), Utf16(canary, true),
                                    Hex(canary, false), Hex(canary, true)};
  for (int pad = 0; pad < 3; ++pad) {
    std::string b = Base64(std::string(pad, 'x') + canary);
    // Drop the characters that mix the pad and the tail with the neighbours.
    size_t skip = pad == 0 ? 0 : 4;
    if (b.size() > skip + 8) forms.push_back(b.substr(skip, b.size() - skip - 4));
  }
  return forms;
}

class VaultEndToEndTest : public ::testing::Test {
 protected:
  Circulation& circ() { return lib_.circulation(); }
  void SetDay(Date d) { lib_.clock.Set(Instant(d) + hours(15)); }
  std::filesystem::path data() { return lib_.dir / "lib"; }

  int64_t AddPatron(const std::string& barcode, const std::string& name,
                    const std::string& email, bool history = false) {
    NewPatron p;
    p.card_barcode = barcode;
    p.name = name;
    p.email = email;
    p.phone = "555-" + barcode;
    p.postal_address = "1 " + name + " Street";
    p.expires_on = D(2028, 1, 1);
    p.history_opt_in = history;
    auto added = circ().AddPatron(testing::kStaff, p);
    EXPECT_TRUE(added.ok()) << added.status().ToString();
    return added.ok() ? added->id : 0;
  }

  void AddItem(const std::string& barcode) {
    ASSERT_TRUE(circ().AddItem(testing::kStaff, {barcode, "Title", "Author", "FIC", "book"}).ok());
  }

  testing::TestLibrary lib_;
};

TEST_F(VaultEndToEndTest, CanariesAppearNowhereOnDisk) {
  std::ostringstream log;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
  auto logger = std::make_shared<spdlog::logger>("canary", sink);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(logger);

  const std::vector<std::string> canaries = {
      "CANARYBARCODE4417", "Quillon Vexmarrow", "quillon.vexmarrow.canary@example.net",
      "Zeppelin Canary Lane 4471", "CANARYPHONE9921", "CANARYBARCODE5528",
      "Orsolya Thistlewick", "thistlewick.canary@example.net"};
  NewPatron p;
  p.card_barcode = canaries[0];
  p.name = canaries[1];
  p.email = canaries[2];
  p.postal_address = canaries[3];
  p.phone = canaries[4];
  p.expires_on = D(2028, 1, 1);
  p.history_opt_in = true;
  auto first = circ().AddPatron(testing::kStaff, p);
  ASSERT_TRUE(first.ok());
  ASSERT_GT(AddPatron(canaries[5], canaries[6], canaries[7]), 0);
  AddItem("I-1");
  AddItem("I-2");
  // A control: catalogue data is not PII and is stored in the clear, so the scan must find it.
  ASSERT_TRUE(circ().AddItem(testing::kStaff, {"I-3", "CONTROLTITLE8812", "Author", "FIC", "book"}).ok());
  ASSERT_TRUE(circ().Checkout(testing::kStaff, "I-1", canaries[0]).ok());
  ASSERT_TRUE(circ().Checkout(testing::kStaff, "I-2", canaries[5]).ok());
  SetDay(D(2027, 1, 20));  // late: fines
  ASSERT_TRUE(circ().Checkin(testing::kStaff, "I-1").ok());
  ASSERT_TRUE(circ().Checkin(testing::kStaff, "I-2").ok());
  ASSERT_TRUE(circ().PlaceHold(testing::kStaff, "I-1", canaries[5]).ok());
  auto session = circ().StartComputerSession(testing::kStaff, canaries[0], "PC-1");
  ASSERT_TRUE(session.ok());
  ASSERT_TRUE(circ().EndComputerSession(testing::kStaff, session->id).ok());
  ASSERT_TRUE(circ().Subscribe(testing::kStaff, canaries[7]).ok());
  // Lookups still work through the blind indexes.
  ASSERT_TRUE(circ().FindPatronByBarcode(testing::kStaff, canaries[0]).ok());
  ASSERT_EQ(circ().FindPatronsByEmail(testing::kStaff, canaries[2])->size(), 1u);
  ASSERT_EQ(circ().FindPatronsByName(testing::kStaff, "quillon  VEXMARROW")->size(), 1u);

  ASSERT_TRUE(lib_.library->Backup(lib_.dir / "data.bak").ok());
  ASSERT_TRUE(lib_.library->BackupKeys(lib_.dir / "keys.bak").ok());
  auto cli = testing::RunCarrel({"backup", "--data", data().string(), "--out",
                                 (lib_.dir / "cli.bak").string()});
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  spdlog::set_default_logger(previous);

  std::vector<std::filesystem::path> files = {
      data() / "carrel.db", data() / "carrel.db-wal", data() / "keyring.db",
      data() / "keyring.db-wal", lib_.dir / "data.bak", lib_.dir / "keys.bak",
      lib_.dir / "cli.bak"};
  if (testing::LibrariesOnPostgres()) {
    // On PostgreSQL the records are in the server's files: every one of them is scanned.
    for (const auto& f : testing::PostgresServerFiles()) files.push_back(f);
  }
  std::vector<std::pair<std::string, std::string>> haystacks;
  for (const auto& f : files) {
    if (std::filesystem::exists(f)) haystacks.emplace_back(f.string(), ReadFile(f));
  }
  haystacks.emplace_back("log", log.str());
  haystacks.emplace_back("cli output", cli.out + cli.err);
  ASSERT_GE(haystacks.size(), 6u);
  EXPECT_NE(ReadFile(lib_.dir / "data.bak").find("CONTROLTITLE8812"), std::string::npos)
      << "the scan must be able to see what is stored in the clear";
  if (testing::LibrariesOnPostgres()) {
    bool seen = false;
    for (const auto& [where, bytes] : haystacks)
      seen |= bytes.find("CONTROLTITLE8812") != std::string::npos;
    EXPECT_TRUE(seen) << "the scan must see the server's files";
  }
  for (const std::string& canary : canaries) {
    for (const std::string& form : Encodings(canary)) {
      for (const auto& [where, bytes] : haystacks) {
        EXPECT_EQ(bytes.find(form), std::string::npos)
            << "canary " << canary << " found in " << where;
      }
    }
  }
}

TEST_F(VaultEndToEndTest, MovedOrAlteredCiphertextsAreDataLoss) {
  int64_t a = AddPatron("P-A", "Patron Alpha", "a@example.org");
  int64_t b = AddPatron("P-B", "Patron Beta", "b@example.org");
  Store& store = lib_.library->store();
  auto exec = [&](const std::string& sql, std::initializer_list<Value> params) {
    ASSERT_TRUE(WithWriteTransaction(store, [&](Transaction& tx) {
      return tx.Exec(sql, params);
    }).ok());
  };
  // Swap the names of two patrons: each is under the other's key and row.
  exec("UPDATE patrons SET name = (SELECT name FROM patrons WHERE id = ?) WHERE id = ?",
       {a, b});
  EXPECT_EQ(circ().GetPatron(testing::kStaff, b).status().code(), StatusCode::kDataLoss);
  EXPECT_TRUE(circ().GetPatron(testing::kStaff, a).ok());
  // Move a's email into a's phone column: same key, wrong column.
  exec("UPDATE patrons SET phone = email WHERE id = ?", {a});
  EXPECT_EQ(circ().GetPatron(testing::kStaff, a).status().code(), StatusCode::kDataLoss);
  // Flip one byte of a sealed field.
  int64_t c = AddPatron("P-C", "Patron Gamma", "c@example.org");
  std::string sealed;
  ASSERT_TRUE(WithReadTransaction(store, [&](Transaction& tx) {
    return tx.Exec("SELECT name FROM patrons WHERE id = ?", {c}, [&](const Row& row) {
      sealed = row.Bytes(0);
      return Status::Ok();
    });
  }).ok());
  sealed[sealed.size() / 2] ^= 0x20;
  exec("UPDATE patrons SET name = ? WHERE id = ?", {Blob{sealed}, c});
  auto read = circ().FindPatronByBarcode(testing::kStaff, "P-C");
  EXPECT_EQ(read.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(read.status().message().find("Gamma"), std::string::npos);
}

TEST_F(VaultEndToEndTest, DeletedPatronStaysGoneInOlderBackups) {
  int64_t id = AddPatron("P-GONE", "Departed Reader", "gone@example.org", /*history=*/true);
  AddPatron("P-STAY", "Staying Reader", "stay@example.org");
  AddItem("I-1");
  ASSERT_TRUE(circ().Checkout(testing::kStaff, "I-1", "P-GONE").ok());
  ASSERT_TRUE(circ().Checkin(testing::kStaff, "I-1").ok());
  ASSERT_TRUE(lib_.library->Backup(lib_.dir / "before.bak").ok());

  ASSERT_TRUE(circ().DeletePatron(testing::kStaff, id).ok());
  EXPECT_EQ(circ().FindPatronByBarcode(testing::kStaff, "P-GONE").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(lib_.library->keyring().WasDestroyed(Vault::PatronKeyName(id)));
  lib_.library.reset();

  auto report = Library::Restore(data(), lib_.dir / "before.bak", nullptr, &lib_.clock);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->patrons_shredded, 1);
  auto reopened = Library::Open(data(), &lib_.clock);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->circulation().FindPatronByBarcode(testing::kStaff, "P-GONE").status().code(),
            StatusCode::kNotFound);
  EXPECT_TRUE((*reopened)->circulation().FindPatronByBarcode(testing::kStaff, "P-STAY").ok());
  EXPECT_EQ((*reopened)->circulation().GetPatron(testing::kStaff, id).status().code(), StatusCode::kNotFound);
}

TEST_F(VaultEndToEndTest, DestroyingAnEpochUnlinksExactlyThatDay) {
  int64_t reader = AddPatron("P-R", "Reader", "r@example.org");
  for (int i = 1; i <= 4; ++i) AddItem("I-" + std::to_string(i));
  ASSERT_TRUE(circ().Checkout(testing::kStaff, "I-1", "P-R").ok());
  ASSERT_TRUE(circ().Checkout(testing::kStaff, "I-2", "P-R").ok());
  ASSERT_TRUE(circ().Checkout(testing::kStaff, "I-3", "P-R").ok());
  SetDay(D(2026, 12, 2));
  auto day1a = circ().Checkin(testing::kStaff, "I-1");
  auto day1b = circ().Checkin(testing::kStaff, "I-2");
  SetDay(D(2026, 12, 3));
  auto day2 = circ().Checkin(testing::kStaff, "I-3");
  ASSERT_TRUE(day1a.ok() && day1b.ok() && day2.ok());
  ASSERT_TRUE(lib_.library->Backup(lib_.dir / "older.bak").ok());

  ASSERT_TRUE(lib_.library->keyring().Destroy({Vault::EpochKeyName("loan", D(2026, 12, 2))}).ok());
  EXPECT_EQ(*circ().ReturnedLoanPatron(testing::kStaff, day1a->history_id), std::nullopt);
  EXPECT_EQ(*circ().ReturnedLoanPatron(testing::kStaff, day1b->history_id), std::nullopt);
  EXPECT_EQ(*circ().ReturnedLoanPatron(testing::kStaff, day2->history_id), std::optional<int64_t>(reader));
  auto history = circ().PatronHistory(testing::kStaff, reader);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ((*history)[0].history_id, day2->history_id);
  lib_.library.reset();

  // The older backup still holds the day's sealed links; without the key they stay closed.
  auto report = Library::Restore(data(), lib_.dir / "older.bak", nullptr, &lib_.clock);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->links_unreadable, 2);
  auto reopened = Library::Open(data(), &lib_.clock);
  ASSERT_TRUE(reopened.ok());
  Circulation& again = (*reopened)->circulation();
  EXPECT_EQ(*again.ReturnedLoanPatron(testing::kStaff, day1a->history_id), std::nullopt);
  EXPECT_EQ(*again.ReturnedLoanPatron(testing::kStaff, day2->history_id), std::optional<int64_t>(reader));
}

TEST_F(VaultEndToEndTest, OptedInHistoryIsUnderThePatronsOwnKey) {
  int64_t keeper = AddPatron("P-K", "Keeper", "k@example.org", /*history=*/true);
  AddItem("I-1");
  ASSERT_TRUE(circ().Checkout(testing::kStaff, "I-1", "P-K").ok());
  SetDay(D(2026, 12, 2));
  auto back = circ().Checkin(testing::kStaff, "I-1");
  ASSERT_TRUE(back.ok());
  // Destroying the day's epoch key does not touch a history the patron chose to keep.
  ASSERT_TRUE(lib_.library->keyring().Destroy({Vault::EpochKeyName("loan", D(2026, 12, 2))}).ok());
  auto history = circ().PatronHistory(testing::kStaff, keeper);
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->size(), 1u);
  // Nobody without the patron in hand can follow the link.
  EXPECT_EQ(*circ().ReturnedLoanPatron(testing::kStaff, back->history_id), std::nullopt);
}

TEST(VaultCliTest, WrongOrLooseMasterKeyIsRefusedAndNothingChanges) {
  CARREL_SQLITE_FILES_ONLY();
  testing::TempDir dir;
  std::string data = (dir / "lib").string();
  ASSERT_EQ(testing::RunCarrel({"init", "--data", data}).exit_code, 0);
  std::string db_before = ReadFile(dir / "lib" / "carrel.db");
  std::string keyring_before = ReadFile(dir / "lib" / "keyring.db");
  std::filesystem::rename(dir / "lib" / "master.key", dir / "real.key");

  auto missing = testing::RunCarrel({"serve", "--data", data});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("no master key"), std::string::npos) << missing.err;

  ASSERT_TRUE(CreateMasterKeyFile(dir / "lib" / "master.key").ok());
  auto wrong = testing::RunCarrel({"serve", "--data", data});
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.err.find("does not open"), std::string::npos) << wrong.err;
  EXPECT_EQ(std::count(wrong.err.begin(), wrong.err.end(), '\n'), 1);

  std::filesystem::rename(dir / "real.key", dir / "lib" / "master.key");
  chmod((dir / "lib" / "master.key").c_str(), 0640);
  auto loose = testing::RunCarrel({"serve", "--data", data});
  EXPECT_EQ(loose.exit_code, 1);
  EXPECT_NE(loose.err.find("chmod 600"), std::string::npos) << loose.err;
  EXPECT_TRUE(ReadFile(dir / "lib" / "carrel.db") == db_before) << "file changed";
  EXPECT_TRUE(ReadFile(dir / "lib" / "keyring.db") == keyring_before) << "file changed";
}

TEST(VaultCliTest, KeyringOfAnotherLibraryIsRefused) {
  CARREL_SQLITE_FILES_ONLY();
  testing::TempDir dir;
  ASSERT_EQ(testing::RunCarrel({"init", "--data", (dir / "a").string()}).exit_code, 0);
  ASSERT_EQ(testing::RunCarrel({"init", "--data", (dir / "b").string()}).exit_code, 0);
  std::filesystem::copy_file(dir / "b" / "keyring.db", dir / "a" / "keyring.db",
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(dir / "b" / "master.key", dir / "a" / "master.key",
                             std::filesystem::copy_options::overwrite_existing);
  auto r = testing::RunCarrel({"serve", "--data", (dir / "a").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("another library"), std::string::npos) << r.err;
}

TEST(VaultCliTest, TruncatedBackupIsRefusedAndLibraryKept) {
  CARREL_SQLITE_FILES_ONLY();
  testing::TempDir dir;
  std::string data = (dir / "lib").string();
  ASSERT_EQ(testing::RunCarrel({"init", "--data", data}).exit_code, 0);
  ASSERT_EQ(testing::RunCarrel({"demo", "seed", "--data", data, "--patrons", "50", "--items",
                                "100", "--loans", "500"})
                .exit_code,
            0);
  auto b = testing::RunCarrel({"backup", "--data", data, "--out", (dir / "full.bak").string()});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  std::string full = ReadFile(dir / "full.bak");
  std::ofstream(dir / "cut.bak", std::ios::binary) << full.substr(0, full.size() / 2);
  std::string before = ReadFile(dir / "lib" / "carrel.db");
  auto r = testing::RunCarrel({"restore", "--data", data, "--from", (dir / "cut.bak").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_TRUE(ReadFile(dir / "lib" / "carrel.db") == before) << "file changed";
  EXPECT_FALSE(std::filesystem::exists(dir / "lib" / "carrel.db.restore"));
  // A whole backup restores.
  auto ok = testing::RunCarrel({"restore", "--data", data, "--from", (dir / "full.bak").string()});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  auto again = testing::RunCarrel({"backup", "--data", data, "--out", (dir / "full.bak").string()});
  EXPECT_EQ(again.exit_code, 1) << "never overwrites";
}

TEST(VaultCliTest, MasterKeyRotationKeepsTheLibraryReadable) {
  CARREL_SQLITE_FILES_ONLY();
  testing::TempDir dir;
  std::string data = (dir / "lib").string();
  ASSERT_EQ(testing::RunCarrel({"init", "--data", data}).exit_code, 0);
  ASSERT_EQ(testing::RunCarrel({"demo", "seed", "--data", data, "--patrons", "300", "--items",
                                "300", "--loans", "1000"})
                .exit_code,
            0);
  std::string old_key = ReadFile(dir / "lib" / "master.key");
  // The sealed patron data, as stored: rotation must not rewrite it.
  auto sealed_data = [&] {
    std::string out;
    auto store = OpenSqliteStore(dir / "lib" / "carrel.db", {});
    EXPECT_TRUE(store.ok());
    EXPECT_TRUE(WithReadTransaction(**store, [&](Transaction& tx) {
      return tx.Exec("SELECT card_barcode, name, email FROM patrons ORDER BY id", {},
                     [&](const Row& row) {
                       out += row.Bytes(0) + row.Bytes(1) + row.Bytes(2);
                       return Status::Ok();
                     });
    }).ok());
    return out;
  };
  std::string sealed_before = sealed_data();
  auto r = testing::RunCarrel({"keys", "rotate-master", "--data", data});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("rewrapped"), std::string::npos);
  EXPECT_NE(ReadFile(dir / "lib" / "master.key"), old_key);
  EXPECT_FALSE(std::filesystem::exists(dir / "lib" / "master.key.next"));
  EXPECT_TRUE(sealed_data() == sealed_before) << "bulk data untouched";
  FakeClock clock(testing::DefaultTestTime());
  auto library = Library::Open(data, &clock);
  ASSERT_TRUE(library.ok()) << library.status().ToString();
  EXPECT_TRUE((*library)->circulation().FindPatronByBarcode(testing::kStaff, "21000000000001").ok());
}

}  // namespace
}  // namespace carrel
