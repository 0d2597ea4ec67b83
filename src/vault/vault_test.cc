#include "carrel/vault.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>
#include <vector>

#include "carrel/library.h"
#include "tests/support/temp_dir.h"

namespace carrel {
namespace {

class VaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(InitCrypto().ok());
    ASSERT_TRUE(CreateMasterKeyFile(MasterKeyPath(dir_.path())).ok());
    auto keys = LoadMasterKeys(dir_.path());
    ASSERT_TRUE(keys.ok()) << keys.status().ToString();
    auto ring = Keyring::Create(KeyringPath(dir_.path()), std::move(keys).value(), "lib-1",
                                &clock_);
    ASSERT_TRUE(ring.ok()) << ring.status().ToString();
    keyring_ = std::move(ring).value();
  }

  StatusOr<std::unique_ptr<Keyring>> Reopen(std::string library_id = "lib-1") {
    keyring_.reset();
    CARREL_ASSIGN_OR_RETURN(MasterKeys keys, LoadMasterKeys(dir_.path()));
    return Keyring::Open(KeyringPath(dir_.path()), std::move(keys), std::move(library_id),
                         &clock_);
  }

  testing::TempDir dir_;
  FakeClock clock_{testing::DefaultTestTime()};
  std::unique_ptr<Keyring> keyring_;
};

TEST_F(VaultTest, MasterKeyFileIsPrivate) {
  struct stat st;
  ASSERT_EQ(stat(MasterKeyPath(dir_.path()).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  EXPECT_EQ(CreateMasterKeyFile(MasterKeyPath(dir_.path())).code(), StatusCode::kAlreadyExists);
  chmod(MasterKeyPath(dir_.path()).c_str(), 0644);
  auto loose = LoadMasterKeys(dir_.path());
  EXPECT_EQ(loose.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(loose.status().message().find("chmod 600"), std::string::npos);
}

TEST_F(VaultTest, MasterKeyFromEnvironment) {
  SecretKey key = SecretKey::Random();
  setenv("CARREL_MASTER_KEY", EncodeKeyBase64(key).c_str(), 1);
  testing::TempDir empty;
  auto keys = LoadMasterKeys(empty.path());
  unsetenv("CARREL_MASTER_KEY");
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  EXPECT_EQ(MasterKeyId(keys->current), MasterKeyId(key));
  setenv("CARREL_MASTER_KEY", "not base64!", 1);
  auto bad = LoadMasterKeys(empty.path());
  unsetenv("CARREL_MASTER_KEY");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(VaultTest, KeysPersistAndStayTheSame) {
  auto a = keyring_->GetOrCreate("patron/1");
  ASSERT_TRUE(a.ok());
  std::string bytes(reinterpret_cast<const char*>((*a)->data()), SecretKey::kSize);
  auto reopened = Reopen();
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  auto again = (*reopened)->Get("patron/1");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>((*again)->data()), SecretKey::kSize),
            bytes);
  EXPECT_EQ((*reopened)->Get("patron/2").status().code(), StatusCode::kNotFound);
}

// Unwrapped keys stay in memory only while they are used: one untouched for 15 minutes is
// dropped when the next key is cached, one in use stays, and a dropped key loads again the
// same.
TEST_F(VaultTest, KeysNobodyUsesLeaveMemory) {
  auto a = keyring_->GetOrCreate("patron/1");
  ASSERT_TRUE(a.ok());
  std::string bytes(reinterpret_cast<const char*>((*a)->data()), SecretKey::kSize);
  ASSERT_TRUE(keyring_->GetOrCreate("patron/2").ok());
  EXPECT_EQ(keyring_->CachedKeyCount(), 2u);
  clock_.Advance(std::chrono::minutes(10));
  ASSERT_TRUE(keyring_->Get("patron/2").ok());  // patron/2 is in use, patron/1 is not
  clock_.Advance(std::chrono::minutes(6));
  ASSERT_TRUE(keyring_->GetOrCreate("patron/3").ok());
  EXPECT_EQ(keyring_->CachedKeyCount(), 2u);  // patron/1 left, patron/2 and patron/3 stay
  clock_.Advance(std::chrono::minutes(16));
  ASSERT_TRUE(keyring_->GetOrCreate("patron/4").ok());
  EXPECT_EQ(keyring_->CachedKeyCount(), 1u);
  auto again = keyring_->Get("patron/1");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>((*again)->data()), SecretKey::kSize), bytes);
  EXPECT_EQ(keyring_->CachedKeyCount(), 2u);
}

TEST_F(VaultTest, WrongMasterKeyOrWrongLibraryIsRefused) {
  ASSERT_TRUE(keyring_->GetOrCreate("patron/1").ok());
  auto other = Reopen("lib-2");
  EXPECT_EQ(other.status().code(), StatusCode::kFailedPrecondition);
  std::filesystem::remove(MasterKeyPath(dir_.path()));
  ASSERT_TRUE(CreateMasterKeyFile(MasterKeyPath(dir_.path())).ok());
  auto wrong = Reopen();
  EXPECT_EQ(wrong.status().code(), StatusCode::kPermissionDenied);
}

TEST_F(VaultTest, DestroyedKeysNeverComeBack) {
  ASSERT_TRUE(keyring_->GetOrCreate("epoch/2026-12-01").ok());
  ASSERT_TRUE(keyring_->Destroy({"epoch/2026-12-01"}).ok());
  EXPECT_TRUE(keyring_->WasDestroyed("epoch/2026-12-01"));
  EXPECT_EQ(keyring_->Get("epoch/2026-12-01").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(keyring_->GetOrCreate("epoch/2026-12-01").status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_TRUE(keyring_->Destroy({"epoch/2026-12-01"}).ok());  // idempotent
}

// A key being destroyed while other threads load it: once Destroy has returned, no thread gets
// the key, from the database or from the cache, however the loads and the destruction
// interleaved.
TEST_F(VaultTest, AKeyDestroyedWhileOthersLoadItIsNotCached) {
  for (int round = 0; round < 40; ++round) {
    std::string name = "epoch/race-" + std::to_string(round);
    ASSERT_TRUE(keyring_->GetOrCreate(name).ok());
    std::atomic<bool> stop{false};
    std::vector<std::thread> loaders;
    for (int t = 0; t < 2; ++t) {
      loaders.emplace_back([&] {
        while (!stop.load()) {
          // Once Destroy has emptied the cache, each load reads the keyring: the race is
          // between that read and the commit of the destruction.
          (void)keyring_->Get(name);
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200 * (round % 5)));
    ASSERT_TRUE(keyring_->Destroy({name}).ok());
    auto after = keyring_->Get(name);
    stop = true;
    for (std::thread& t : loaders) t.join();
    EXPECT_EQ(after.status().code(), StatusCode::kNotFound) << name;
    EXPECT_EQ(keyring_->Get(name).status().code(), StatusCode::kNotFound) << name;
  }
}

TEST_F(VaultTest, BulkCreationSkipsTakenAndDestroyedNames) {
  ASSERT_TRUE(keyring_->GetOrCreate("patron/1").ok());
  ASSERT_TRUE(keyring_->GetOrCreate("patron/3").ok());
  ASSERT_TRUE(keyring_->Destroy({"patron/3"}).ok());
  auto before = keyring_->Get("patron/1");
  ASSERT_TRUE(before.ok());
  auto taken = keyring_->CreateMany({"patron/1", "patron/2", "patron/3", "patron/5"});
  ASSERT_TRUE(taken.ok()) << taken.status().ToString();
  EXPECT_EQ(*taken, (std::vector<std::string>{"patron/1", "patron/3"}));
  EXPECT_TRUE(keyring_->Get("patron/2").ok());
  EXPECT_TRUE(keyring_->Get("patron/5").ok());
  EXPECT_EQ(keyring_->Get("patron/3").status().code(), StatusCode::kNotFound);
  auto after = keyring_->Get("patron/1");  // an existing key is never replaced
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(std::string_view(reinterpret_cast<const char*>((*after)->data()), SecretKey::kSize),
            std::string_view(reinterpret_cast<const char*>((*before)->data()), SecretKey::kSize));
}

TEST_F(VaultTest, DestroyedKeyBytesAreNotInTheKeyringFiles) {
  auto key = keyring_->GetOrCreate("epoch/2026-12-02");
  ASSERT_TRUE(key.ok());
  // The wrapped form is what sits on disk: read it before destruction, look for it after.
  std::string wrapped;
  {
    auto raw_store = OpenSqliteStore(KeyringPath(dir_.path()), {});
    ASSERT_TRUE(raw_store.ok());
    ASSERT_TRUE(WithReadTransaction(**raw_store, [&](Transaction& tx) {
      return tx.Exec("SELECT wrapped FROM data_keys WHERE name = 'epoch/2026-12-02'", {},
                     [&](const Row& row) {
                       wrapped = row.Bytes(0);
                       return Status::Ok();
                     });
    }).ok());
  }
  ASSERT_EQ(wrapped.size(), 24u + 32u + 16u);
  std::string raw(reinterpret_cast<const char*>((*key)->data()), SecretKey::kSize);
  ASSERT_TRUE(keyring_->Destroy({"epoch/2026-12-02"}).ok());
  for (const char* suffix : {"", "-wal"}) {
    std::ifstream in(KeyringPath(dir_.path()).string() + suffix, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    EXPECT_EQ(bytes.find(raw), std::string::npos) << suffix;
    EXPECT_EQ(bytes.find(wrapped), std::string::npos) << "wrapped key left in keyring" << suffix;
  }
}

TEST_F(VaultTest, SealedFieldsAreBoundToTableColumnRowAndKey) {
  auto k1 = keyring_->GetOrCreate("patron/1");
  auto k2 = keyring_->GetOrCreate("patron/2");
  ASSERT_TRUE(k1.ok() && k2.ok());
  std::string c = Vault::Seal(**k1, "patrons", "name", 1, "Canary Name");
  auto back = Vault::Open(**k1, "patrons", "name", 1, c);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, "Canary Name");
  EXPECT_EQ(Vault::Open(**k1, "patrons", "name", 2, c).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(Vault::Open(**k1, "patrons", "email", 1, c).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(Vault::Open(**k1, "items", "name", 1, c).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(Vault::Open(**k2, "patrons", "name", 1, c).status().code(), StatusCode::kDataLoss);
  for (size_t i = 0; i < c.size(); ++i) {
    std::string flipped = c;
    flipped[i] ^= 0x01;
    EXPECT_EQ(Vault::Open(**k1, "patrons", "name", 1, flipped).status().code(),
              StatusCode::kDataLoss)
        << "byte " << i;
  }
  EXPECT_EQ(Vault::Open(**k1, "patrons", "name", 1, c.substr(0, 10)).status().code(),
            StatusCode::kDataLoss);
  auto error = Vault::Open(**k2, "patrons", "name", 1, c);
  EXPECT_EQ(error.status().message().find("Canary"), std::string::npos);
}

TEST_F(VaultTest, BlindIndexesAreKeyedPerFieldAndDeterministic) {
  Vault vault(keyring_.get());
  auto a = vault.BlindIndex("card_barcode", "21000001");
  auto b = vault.BlindIndex("card_barcode", "21000001");
  auto c = vault.BlindIndex("email", "21000001");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->size(), 8u);
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
  EXPECT_EQ(NormalizeName("  Avery   ABBOTT "), "avery abbott");
  EXPECT_EQ(NormalizeEmail(" A@B.org "), "a@b.org");
  EXPECT_EQ(NormalizeBarcode(" 21 00a "), "2100A");
}

TEST_F(VaultTest, RotationCanStopAnywhereAndResume) {
  std::vector<std::string> bytes;
  for (int i = 0; i < 2500; ++i) {
    auto k = keyring_->GetOrCreate("patron/" + std::to_string(i));
    ASSERT_TRUE(k.ok());
    if (i % 500 == 0) bytes.emplace_back(reinterpret_cast<const char*>((*k)->data()), 32);
  }
  ASSERT_TRUE(CreateMasterKeyFile(NextMasterKeyPath(dir_.path())).ok());
  auto rotating = Reopen();
  ASSERT_TRUE(rotating.ok()) << rotating.status().ToString();
  // Stop after 1,000 keys, as if the process died there: every key still opens.
  auto partial = (*rotating)->RewrapToNext(nullptr, 1000);
  ASSERT_TRUE(partial.ok());
  EXPECT_EQ(*partial, 1000);
  auto resumed = Reopen();
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  for (int i = 0; i < 2500; i += 500) {
    auto k = (*resumed)->Get("patron/" + std::to_string(i));
    ASSERT_TRUE(k.ok()) << i;
    EXPECT_EQ(std::string(reinterpret_cast<const char*>((*k)->data()), 32), bytes[i / 500]);
  }
  // Without the next key the half-rotated keyring is refused, not misread.
  std::filesystem::rename(NextMasterKeyPath(dir_.path()), dir_ / "next.saved");
  EXPECT_EQ(Reopen().status().code(), StatusCode::kPermissionDenied);
  std::filesystem::rename(dir_ / "next.saved", NextMasterKeyPath(dir_.path()));
  auto rest = Reopen();
  ASSERT_TRUE(rest.ok());
  auto moved = (*rest)->RewrapToNext(nullptr);
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(*moved, 1500);
  // The next key becomes the master key; the old one opens nothing any more.
  std::filesystem::rename(MasterKeyPath(dir_.path()), dir_ / "old.key");
  std::filesystem::rename(NextMasterKeyPath(dir_.path()), MasterKeyPath(dir_.path()));
  auto done = Reopen();
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  ASSERT_TRUE((*done)->FinishRotation().ok());
  auto k = (*done)->Get("patron/500");
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>((*k)->data()), 32), bytes[1]);
  done->reset();
  std::filesystem::rename(dir_ / "old.key", MasterKeyPath(dir_.path()));
  EXPECT_EQ(Reopen().status().code(), StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace carrel

namespace carrel {
namespace {

// All of a prefix's keys read at once are the keys one by one: none destroyed, none of another
// prefix, the same secrets whether they were cached or unwrapped there.
TEST_F(VaultTest, KeysOfAPrefixReadAtOnceAreTheKeysOneByOne) {
  for (const char* name :
       {"epoch/2026-11-29", "epoch/2026-11-30", "epoch/2026-12-01", "patron/7"}) {
    ASSERT_TRUE(keyring_->GetOrCreate(name).ok());
  }
  ASSERT_TRUE(keyring_->Destroy({"epoch/2026-11-30"}).ok());
  auto reopened = Reopen();  // a cold cache
  ASSERT_TRUE(reopened.ok());
  keyring_ = std::move(reopened).value();
  auto warm = keyring_->Get("epoch/2026-12-01");  // one of them cached already
  ASSERT_TRUE(warm.ok());
  auto all = keyring_->LiveKeysWithSecrets("epoch/");
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].first, "epoch/2026-11-29");
  EXPECT_EQ((*all)[1].first, "epoch/2026-12-01");
  EXPECT_EQ((*all)[1].second, *warm) << "the cached key itself";
  auto one = keyring_->Get("epoch/2026-11-29");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(0, std::memcmp((*one)->data(), (*all)[0].second->data(), SecretKey::kSize));
}

}  // namespace
}  // namespace carrel
