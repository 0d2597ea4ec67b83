#include "carrel/library.h"

#include <sodium.h>

#include <cstdlib>
#include <fstream>

#include "store/schema.h"

namespace carrel {

namespace fs = std::filesystem;

Status InitCrypto() {
  static const int rc = sodium_init();
  if (rc < 0) return Internal("libsodium failed to initialize");
  return Status::Ok();
}

fs::path Library::DatabasePath(const fs::path& dir) { return dir / "carrel.db"; }
fs::path Library::ProfilePath(const fs::path& dir) { return dir / "profile" / "library.toml"; }

Library::Library(fs::path dir, Profile profile, Calendar calendar, const Clock* clock,
                 std::unique_ptr<Store> store, std::unique_ptr<Keyring> keyring,
                 std::string library_id)
    : dir_(std::move(dir)),
      profile_(std::move(profile)),
      calendar_(std::move(calendar)),
      clock_(clock),
      store_(std::move(store)),
      keyring_(std::move(keyring)),
      vault_(std::make_unique<Vault>(keyring_.get())),
      library_id_(std::move(library_id)),
      circulation_(std::make_unique<Circulation>(store_.get(), vault_.get(), &profile_,
                                                 &calendar_, clock_)) {}

Status Library::Init(const fs::path& dir, const fs::path& profile_file) {
  RETURN_IF_ERROR(InitCrypto());
  std::error_code ec;
  if (fs::exists(DatabasePath(dir), ec) || fs::exists(ProfilePath(dir), ec) ||
      fs::exists(KeyringPath(dir), ec)) {
    return AlreadyExists(dir.string() + " already holds a library; carrel will not overwrite it");
  }
  ASSIGN_OR_RETURN(Profile profile, LoadProfile(profile_file));
  RETURN_IF_ERROR(Calendar::FromProfile(profile).status());

  fs::create_directories(dir / "profile", ec);
  if (ec) return FailedPrecondition("cannot create " + (dir / "profile").string() + ": " + ec.message());
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);

  // Copy the profile and its policy document so the library is self-contained.
  bool made_key = false;
  auto cleanup = [&] {
    std::error_code ignored;
    fs::remove(ProfilePath(dir), ignored);
    fs::remove(dir / "profile" / profile.policy_document, ignored);
    for (const char* suffix : {"", "-wal", "-shm"}) {
      fs::remove(fs::path(DatabasePath(dir).string() + suffix), ignored);
      fs::remove(fs::path(KeyringPath(dir).string() + suffix), ignored);
    }
    if (made_key) fs::remove(MasterKeyPath(dir), ignored);
  };
  fs::copy_file(profile_file, ProfilePath(dir), ec);
  if (!ec) {
    fs::copy_file(profile_file.parent_path() / profile.policy_document,
                  dir / "profile" / profile.policy_document, fs::copy_options::overwrite_existing,
                  ec);
  }
  if (ec) {
    cleanup();
    return FailedPrecondition("cannot copy the profile into " + dir.string() + ": " + ec.message());
  }

  SqliteOptions options;
  options.create_if_missing = true;
  auto store = OpenSqliteStore(DatabasePath(dir), options);
  Status s = store.status();
  if (s.ok()) s = (*store)->Migrate(LibraryMigrations());
  unsigned char id[16];
  randombytes_buf(id, sizeof id);
  char hex[33];
  sodium_bin2hex(hex, sizeof hex, id, sizeof id);
  // The master key lives beside the database, never in it; CARREL_MASTER_KEY replaces it.
  const char* env_key = std::getenv("CARREL_MASTER_KEY");
  if (s.ok() && (env_key == nullptr || *env_key == '\0')) {
    s = CreateMasterKeyFile(MasterKeyPath(dir));
    made_key = s.ok();
  }
  if (s.ok()) {
    auto keys = LoadMasterKeys(dir);
    s = keys.status();
    if (s.ok()) {
      s = Keyring::Create(KeyringPath(dir), std::move(keys).value(), hex, SystemClock()).status();
    }
  }
  if (s.ok()) {
    s = WithWriteTransaction(**store, [&](Transaction& tx) -> Status {
      RETURN_IF_ERROR(tx.Exec("INSERT INTO library_meta (key, value) VALUES ('format', ?)",
                              {std::string(kLibraryFormat)}));
      RETURN_IF_ERROR(tx.Exec("INSERT INTO library_meta (key, value) VALUES ('library_id', ?)",
                              {std::string(hex)}));
      return tx.Exec("INSERT INTO library_meta (key, value) VALUES ('created_at', ?)",
                     {FormatInstant(SystemClock()->Now())});
    });
  }
  if (!s.ok()) {
    store = Status(s);  // close before removing the files
    cleanup();
    return s;
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<Library>> Library::Open(const fs::path& dir, const Clock* clock) {
  RETURN_IF_ERROR(InitCrypto());
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return NotFound("no library directory at " + dir.string() + " (create one with carrel init)");
  }
  if (!fs::exists(DatabasePath(dir), ec) || !fs::exists(ProfilePath(dir), ec)) {
    return FailedPrecondition(dir.string() + " is not a carrel library (no carrel.db or profile)");
  }
  ASSIGN_OR_RETURN(Profile profile, LoadProfile(ProfilePath(dir)));
  ASSIGN_OR_RETURN(Calendar calendar, Calendar::FromProfile(profile));
  ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenSqliteStore(DatabasePath(dir), {}));
  std::string format;
  Status s = WithReadTransaction(*store, [&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(int64_t has_meta,
                     tx.QueryInt("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                                 "name = 'library_meta'"));
    if (has_meta == 0) return Status::Ok();
    return tx.Exec("SELECT value FROM library_meta WHERE key = 'format'", {},
                   [&](const Row& row) {
                     format = row.Text(0);
                     return Status::Ok();
                   });
  });
  RETURN_IF_ERROR(s.WithContext(DatabasePath(dir).string()));
  if (format != kLibraryFormat) {
    return FailedPrecondition(DatabasePath(dir).string() + " is not a carrel library database");
  }
  std::string library_id;
  RETURN_IF_ERROR(WithReadTransaction(*store, [&](Transaction& tx) {
    return tx.Exec("SELECT value FROM library_meta WHERE key = 'library_id'", {},
                   [&](const Row& row) {
                     library_id = row.Text(0);
                     return Status::Ok();
                   });
  }));
  ASSIGN_OR_RETURN(MasterKeys keys, LoadMasterKeys(dir));
  ASSIGN_OR_RETURN(std::unique_ptr<Keyring> keyring,
                   Keyring::Open(KeyringPath(dir), std::move(keys), library_id, clock));
  // Only once the keys are known good may anything be changed.
  RETURN_IF_ERROR(store->Migrate(LibraryMigrations()));
  return std::unique_ptr<Library>(new Library(dir, std::move(profile), std::move(calendar), clock,
                                              std::move(store), std::move(keyring),
                                              std::move(library_id)));
}

}  // namespace carrel
