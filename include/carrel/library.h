#pragma once

#include <filesystem>
#include <memory>

#include "carrel/calendar.h"
#include "carrel/circulation.h"
#include "carrel/clock.h"
#include "carrel/profile.h"
#include "carrel/status.h"
#include "carrel/store.h"
#include "carrel/vault.h"

namespace carrel {

// A library on disk: a data directory holding its profile (profile/library.toml and the
// policy document), its database (carrel.db), its keyring (keyring.db) and, unless
// CARREL_MASTER_KEY is set, its master key (master.key). Layout in docs/data-directory.md.
class Library {
 public:
  // Creates a new library in `dir` from the profile at `profile_file`. Refuses a directory that
  // already holds a library (kAlreadyExists) and a bad profile (kInvalidArgument, with the
  // file and line). On failure nothing is left behind in `dir` except directories it created.
  static Status Init(const std::filesystem::path& dir, const std::filesystem::path& profile_file);

  // Opens an existing library, running pending schema migrations. `clock` is not owned.
  static StatusOr<std::unique_ptr<Library>> Open(const std::filesystem::path& dir,
                                                 const Clock* clock);

  const std::filesystem::path& dir() const { return dir_; }
  const Profile& profile() const { return profile_; }
  const Calendar& calendar() const { return calendar_; }
  const Clock& clock() const { return *clock_; }
  Store& store() { return *store_; }
  Keyring& keyring() { return *keyring_; }
  Vault& vault() { return *vault_; }
  Circulation& circulation() { return *circulation_; }
  const std::string& library_id() const { return library_id_; }

  static std::filesystem::path DatabasePath(const std::filesystem::path& dir);
  static std::filesystem::path ProfilePath(const std::filesystem::path& dir);

 private:
  Library(std::filesystem::path dir, Profile profile, Calendar calendar, const Clock* clock,
          std::unique_ptr<Store> store, std::unique_ptr<Keyring> keyring, std::string library_id);

  std::filesystem::path dir_;
  Profile profile_;
  Calendar calendar_;
  const Clock* clock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Keyring> keyring_;
  std::unique_ptr<Vault> vault_;
  std::string library_id_;
  std::unique_ptr<Circulation> circulation_;
};

// Initializes libsodium once; call before using crypto or randomness. Thread-safe.
Status InitCrypto();

}  // namespace carrel
