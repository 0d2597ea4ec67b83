// Where a library keeps its records and keys (docs/data-directory.md): SQLite files in its
// directory (carrel.db, keyring.db), the default; or two PostgreSQL databases named in
// DIR/database.conf, one for the records and one, with a role of its own, for the keyring.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "carrel/status.h"
#include "carrel/store.h"

namespace carrel {

struct StoreLocation {
  std::string data;  // connection strings, no passwords in them; empty: SQLite
  std::string keys;
  // The role the server connects to the records as; empty: the one `data` names. The role in
  // `data` owns the schema and runs migrations (carrel init, carrel upgrade).
  std::string runtime_user;
  bool postgres() const { return !data.empty(); }
};

std::filesystem::path DatabaseConfigPath(const std::filesystem::path& dir);

// The library's location: DIR/database.conf if present, else its SQLite files.
StatusOr<StoreLocation> ReadStoreLocation(const std::filesystem::path& dir);
// Writes DIR/database.conf (mode 0600, synced). Refuses connection strings with passwords.
Status WriteStoreLocation(const std::filesystem::path& dir, const StoreLocation& where);

// Opens the records' store (SQLite: created when asked) or the keyring's (PostgreSQL only);
// as the owner, or as the runtime role where one is named.
StatusOr<std::unique_ptr<Store>> OpenRecordStore(const std::filesystem::path& dir,
                                                 const StoreLocation& where, bool create,
                                                 bool as_owner = false);
StatusOr<std::unique_ptr<Store>> OpenKeyStore(const StoreLocation& where);

}  // namespace carrel
