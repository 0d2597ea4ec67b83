#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "carrel/clock.h"
#include "carrel/status.h"
#include "carrel/store.h"

namespace carrel {

// Confidentiality at rest (docs/design.md §4). Three layers:
//   master key (KEK)  — outside the database: DIR/master.key (mode 0600) or CARREL_MASTER_KEY;
//   keyring           — DIR/keyring.db, its own SQLite file: every data key wrapped by the KEK;
//   data keys (DEKs)  — one per patron, one per epoch (day) for history links, one per blind
//                       index, plus the library's own signing keys.
// Field ciphertexts are XChaCha20-Poly1305 with associated data naming table, column and row,
// so a ciphertext moved to another row or column does not decrypt. The format of every byte
// string is in docs/security.md.

// 32 secret bytes, locked in memory with sodium_mlock where the system allows (so never
// swapped out) and wiped on destruction. Move-only.
class SecretKey {
 public:
  static constexpr size_t kSize = 32;

  static SecretKey Random();
  // REQUIRES: bytes.size() == kSize, else kInvalidArgument.
  static StatusOr<SecretKey> FromBytes(std::string_view bytes);

  SecretKey(SecretKey&& other) noexcept;
  SecretKey& operator=(SecretKey&& other) noexcept;
  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;
  ~SecretKey();

  const unsigned char* data() const { return bytes_; }
  SecretKey Copy() const;

 private:
  SecretKey();
  unsigned char* bytes_ = nullptr;
};

// The master key(s) a library is opened with. During an interrupted rotation both the current
// and the next key are present; every wrapped key names (by id) the KEK that wraps it.
struct MasterKeys {
  SecretKey current;
  std::optional<SecretKey> next;  // DIR/master.key.next while a rotation is under way
};

// "kek-" + 16 hex digits: a keyed hash of the KEK, safe to store and print.
std::string MasterKeyId(const SecretKey& kek);

// Paths of a library's key material.
std::filesystem::path MasterKeyPath(const std::filesystem::path& dir);
std::filesystem::path NextMasterKeyPath(const std::filesystem::path& dir);
std::filesystem::path KeyringPath(const std::filesystem::path& dir);

// Writes a new random master key file (base64, mode 0600). Refuses to overwrite one.
Status CreateMasterKeyFile(const std::filesystem::path& file);
// Reads the master key: CARREL_MASTER_KEY (base64) if set, else DIR/master.key, refusing a file
// readable or writable by group or others. Also reads DIR/master.key.next if present.
StatusOr<MasterKeys> LoadMasterKeys(const std::filesystem::path& dir);
std::string EncodeKeyBase64(const SecretKey& key);

// The keyring: wrapped data keys by name, in an SQLite file of its own (secure_delete on, WAL
// truncated after destruction). Names are "patron/<id>", "epoch/<YYYY-MM-DD>",
// "blind/<field>", "log/signing" ... Thread-safe; unwrapped keys are cached in guarded memory.
class Keyring {
 public:
  // Creates the keyring file for the library `library_id`; refuses an existing file.
  static StatusOr<std::unique_ptr<Keyring>> Create(const std::filesystem::path& file,
                                                   MasterKeys keys, std::string library_id,
                                                   const Clock* clock);
  // Opens it; refuses a keyring of another library (kFailedPrecondition) or a master key
  // that does not open it (kPermissionDenied).
  static StatusOr<std::unique_ptr<Keyring>> Open(const std::filesystem::path& file,
                                                 MasterKeys keys, std::string library_id,
                                                 const Clock* clock);
  // The same in a store opened by the caller (a PostgreSQL database of its own); `where`
  // names it in messages. Create refuses a store that already holds a keyring.
  static StatusOr<std::unique_ptr<Keyring>> Create(std::unique_ptr<Store> store,
                                                   const std::string& where, MasterKeys keys,
                                                   std::string library_id, const Clock* clock);
  static StatusOr<std::unique_ptr<Keyring>> Open(std::unique_ptr<Store> store,
                                                 const std::string& where, MasterKeys keys,
                                                 std::string library_id, const Clock* clock);
  // The library a backup of a keyring belongs to, once the file is checked whole and a keyring
  // (kDataLoss otherwise). Opens nothing with the master key.
  static StatusOr<std::string> BackupLibraryId(const std::filesystem::path& file);
  // When a keyring backup was made (BackupTo writes it into the copy); nullopt for a backup
  // that does not say (made before carrel recorded it).
  static StatusOr<std::optional<Instant>> BackupTakenAt(const std::filesystem::path& file);
  ~Keyring();

  // The keyring's schema (to make an empty keyring store a copy is made into).
  static const std::vector<Migration>& Schema();

  // The key called `name`, created (and committed to the keyring) if it never existed.
  // kFailedPrecondition if it existed and was destroyed: destroyed keys never come back.
  StatusOr<std::shared_ptr<const SecretKey>> GetOrCreate(std::string_view name);
  // The key called `name`; kNotFound if it never existed or was destroyed.
  StatusOr<std::shared_ptr<const SecretKey>> Get(std::string_view name);
  // Creates many new keys in one keyring transaction (bulk loading). Names already in use, or
  // used once and destroyed, are skipped and returned, so the caller can pick others.
  StatusOr<std::vector<std::string>> CreateMany(const std::vector<std::string>& names);
  bool WasDestroyed(std::string_view name);
  // How many unwrapped keys are held in memory now: those used in the last 15 minutes, at most
  // 65,536 (carrel serve's memory report).
  size_t CachedKeyCount();

  // Destroys keys: wipes them from the cache, deletes their rows (secure_delete zeroes the
  // freed pages), keeps a tombstone (name and time only) and truncates the WAL. Idempotent.
  Status Destroy(const std::vector<std::string>& names);

  // Names of live keys with the given prefix, e.g. "epoch/".
  StatusOr<std::vector<std::string>> LiveKeys(std::string_view prefix);
  // Every live key with the given prefix and its name, read in one keyring transaction (keys
  // not in the cache are unwrapped and cached): for code that needs them all, e.g. a patron's
  // link tags under every day key.
  StatusOr<std::vector<std::pair<std::string, std::shared_ptr<const SecretKey>>>>
  LiveKeysWithSecrets(std::string_view prefix);
  StatusOr<int64_t> LiveKeyCount();

  // Rewraps keys still under the current KEK under `keys.next`, in committed batches, at most
  // `max_keys` of them; returns how many. Stopping anywhere leaves every key readable with
  // the two KEKs, and a later call carries on. REQUIRES: opened with keys.next set.
  StatusOr<int64_t> RewrapToNext(const std::function<void(int64_t done, int64_t total)>& progress,
                                 int64_t max_keys = INT64_MAX);
  // Forgets the old KEK once no key uses it.
  Status FinishRotation();

  // A consistent copy of the keyring file (SQLite online backup), with the time it was made.
  Status BackupTo(const std::filesystem::path& out);
  // Names of every key destroyed (the tombstones: name and time only).
  StatusOr<std::vector<std::string>> DestroyedKeys();
  // Runs `hook` after each Destroy has committed (a library refreshes its key backup there).
  void SetAfterDestroy(std::function<void()> hook);

  const std::string& library_id() const;

 private:
  struct Impl;
  explicit Keyring(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Field encryption and blind indexes over a keyring.
class Vault {
 public:
  explicit Vault(Keyring* keyring) : keyring_(keyring) {}

  Keyring& keyring() { return *keyring_; }

  // XChaCha20-Poly1305 under `key`, associated data "carrel/v1|table|column|row".
  // Output: 24-byte nonce || ciphertext || 16-byte tag.
  static std::string Seal(const SecretKey& key, std::string_view table, std::string_view column,
                          int64_t row, std::string_view plaintext);
  // kDataLoss if the ciphertext was altered, moved, or sealed under another key.
  static StatusOr<std::string> Open(const SecretKey& key, std::string_view table,
                                    std::string_view column, int64_t row,
                                    std::string_view ciphertext);

  // Blind index of a normalized value: BLAKE2b keyed with the field's own key, truncated to
  // 8 bytes. Equal values give equal indexes; candidates must be confirmed by decryption.
  StatusOr<std::string> BlindIndex(std::string_view field, std::string_view normalized);

  // A keyed tag of a patron id under a link key (epoch or patron): lets one patron's history
  // links be found without revealing the patron. 8 bytes.
  static std::string LinkTag(const SecretKey& key, int64_t patron_id);

  // The epoch key sealing the links of one kind of record that ended on `day`: "epoch/" + the
  // epoch, which is "<category>/<YYYY-MM-DD>" (EpochName). Each category has its own keys so
  // that the retention schedule can give each its own period.
  static std::string EpochName(std::string_view category, Date day);
  static std::string EpochKeyName(std::string_view epoch);
  static std::string EpochKeyName(std::string_view category, Date day);
  static std::string PatronKeyName(int64_t patron_id);

 private:
  Keyring* keyring_;
};

// Normalizations used before blind indexing (documented in docs/security.md).
std::string NormalizeBarcode(std::string_view barcode);  // upper-case, no spaces
std::string NormalizeEmail(std::string_view email);      // trimmed, lower-case
std::string NormalizeName(std::string_view name);        // lower-case, single spaces, trimmed

}  // namespace carrel
