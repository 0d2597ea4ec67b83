#include "carrel/library.h"

#include <pwd.h>
#include <sodium.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <set>

#include "audit/schema.h"
#include "library/location.h"
#include "library/schema.h"
#include "requests/review_source.h"
#include "retention/review_source.h"

namespace carrel {

namespace fs = std::filesystem;

Status InitCrypto() {
  static const int rc = sodium_init();
  if (rc < 0) return Internal("libsodium failed to initialize");
  return Status::Ok();
}

fs::path Library::DatabasePath(const fs::path& dir) { return dir / "carrel.db"; }
fs::path Library::ProfilePath(const fs::path& dir) { return dir / "profile" / "library.toml"; }

Library::Library(fs::path dir, Profile profile, Calendar calendar, const OpenOptions& options,
                 std::unique_ptr<Store> store, std::unique_ptr<Keyring> keyring,
                 std::string library_id, std::optional<Instant> created_at)
    : dir_(std::move(dir)),
      profile_(std::move(profile)),
      calendar_(std::move(calendar)),
      clock_(options.clock),
      own_outbound_(options.outbound != nullptr
                        ? nullptr
                        : std::make_unique<CommandOutbound>(profile_.notify_command,
                                                            profile_.patron_notice_command)),
      outbound_(options.outbound != nullptr ? options.outbound : own_outbound_.get()),
      store_(std::move(store)),
      keyring_(std::move(keyring)),
      vault_(std::make_unique<Vault>(keyring_.get())),
      library_id_(std::move(library_id)),
      audit_(std::make_unique<AuditLog>(clock_, profile_.policy_version)),
      circulation_(std::make_unique<Circulation>(store_.get(), vault_.get(), audit_.get(),
                                                 &profile_, &calendar_, clock_)),
      accounts_(std::make_unique<Accounts>(store_.get(), audit_.get(), vault_.get(), clock_)),
      retention_(std::make_unique<Retention>(RetentionDeps{.store = store_.get(),
                                                           .vault = vault_.get(),
                                                           .audit = audit_.get(),
                                                           .accounts = accounts_.get(),
                                                           .circulation = circulation_.get(),
                                                           .calendar = &calendar_,
                                                           .clock = clock_},
                                             library_id_)),
      governance_(std::make_unique<Governance>(
          GovernanceDeps{.store = store_.get(),
                         .vault = vault_.get(),
                         .audit = audit_.get(),
                         .accounts = accounts_.get(),
                         .profile = &profile_,
                         .clock = clock_,
                         .review_sources = {&RequestsReviewSource(), &RetentionReviewSource()}},
          library_id_)),
      requests_(std::make_unique<Requests>(RequestsDeps{.store = store_.get(),
                                                        .vault = vault_.get(),
                                                        .audit = audit_.get(),
                                                        .accounts = accounts_.get(),
                                                        .circulation = circulation_.get(),
                                                        .retention = retention_.get(),
                                                        .governance = governance_.get(),
                                                        .profile = &profile_,
                                                        .calendar = &calendar_,
                                                        .clock = clock_,
                                                        .outbound = outbound_,
                                                        .library_created = created_at},
                                           library_id_)) {}

Status Library::RecordOperation(const Actor& actor, const AuditEvent& event) {
  return WithWriteTransaction(*store_, [&](Transaction& tx) {
    return audit_->Append(tx, actor, event).status();
  });
}

std::string Library::AuditOrigin() const {
  std::string slug;
  for (char c : profile_.name) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      slug.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    } else if (!slug.empty() && slug.back() != '-') {
      slug.push_back('-');
    }
  }
  while (!slug.empty() && slug.back() == '-') slug.pop_back();
  return "carrel/" + (slug.empty() ? std::string("library") : slug) + "/" +
         library_id_.substr(0, 8);
}

StatusOr<NoteVerifier> Library::AuditVerifier() {
  CARREL_ASSIGN_OR_RETURN(auto seed, keyring_->GetOrCreate("log/signing"));
  return VerifierFromSeed(seed->data(), AuditOrigin());
}

StatusOr<Checkpoint> Library::SignAuditHead() {
  CARREL_ASSIGN_OR_RETURN(auto seed, keyring_->GetOrCreate("log/signing"));
  std::optional<Checkpoint> head;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(head, audit_->SignHead(tx, seed->data(), AuditOrigin()));
    return Status::Ok();
  }));
  return std::move(*head);
}

// Removes what Init made in `dir` (the directories stay), so that a failed Init can be run
// again: the database, the keyring, the copied profile and policy document, and the master key
// when Init made it.
static void RemoveLibraryFiles(const fs::path& dir, const std::string& policy_document,
                               bool remove_key) {
  std::error_code ignored;
  fs::remove(Library::ProfilePath(dir), ignored);
  if (!policy_document.empty()) fs::remove(dir / "profile" / policy_document, ignored);
  for (const char* suffix : {"", "-wal", "-shm"}) {
    fs::remove(fs::path(Library::DatabasePath(dir).string() + suffix), ignored);
    fs::remove(fs::path(KeyringPath(dir).string() + suffix), ignored);
  }
  if (remove_key) fs::remove(MasterKeyPath(dir), ignored);
  fs::remove(DatabaseConfigPath(dir), ignored);
}

static Status CreateLibraryFiles(const fs::path& dir, const fs::path& profile_file,
                                 const StoreLocation& where) {
  CARREL_RETURN_IF_ERROR(InitCrypto());
  std::error_code ec;
  if (fs::exists(Library::DatabasePath(dir), ec) || fs::exists(Library::ProfilePath(dir), ec) ||
      fs::exists(KeyringPath(dir), ec) || fs::exists(DatabaseConfigPath(dir), ec)) {
    return AlreadyExists(dir.string() + " already holds a library; carrel will not overwrite it");
  }
  CARREL_ASSIGN_OR_RETURN(Profile profile, LoadProfile(profile_file));
  CARREL_RETURN_IF_ERROR(Calendar::FromProfile(profile).status());

  fs::create_directories(dir / "profile", ec);
  if (ec) return FailedPrecondition("cannot create " + (dir / "profile").string() + ": " + ec.message());
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);

  // Copy the profile and its policy document so the library is self-contained.
  bool made_key = false;
  auto cleanup = [&] { RemoveLibraryFiles(dir, profile.policy_document, made_key); };
  fs::copy_file(profile_file, Library::ProfilePath(dir), ec);
  if (!ec) {
    fs::copy_file(profile_file.parent_path() / profile.policy_document,
                  dir / "profile" / profile.policy_document, fs::copy_options::overwrite_existing,
                  ec);
  }
  if (ec) {
    cleanup();
    return FailedPrecondition("cannot copy the profile into " + dir.string() + ": " + ec.message());
  }

  Status s = where.postgres() ? WriteStoreLocation(dir, where) : Status::Ok();
  auto store = s.ok() ? OpenRecordStore(dir, where, /*create=*/true, /*as_owner=*/true) : s;
  s = store.status();
  if (s.ok() && where.postgres()) {
    auto version = (*store)->SchemaVersion();
    s = version.status();
    if (s.ok() && *version > 0) {
      s = AlreadyExists("the database " + DescribeConninfo(where.data) +
                        " already holds tables; carrel makes a library only in an empty one");
    }
  }
  if (s.ok()) s = (*store)->Migrate(LibraryMigrations());
  if (s.ok() && !where.runtime_user.empty()) {
    s = GrantRuntimeRole(**store, where.runtime_user, AuditAppendOnlyTables());
  }
  unsigned char id[16];
  randombytes_buf(id, sizeof id);
  char hex[33];
  sodium_bin2hex(hex, sizeof hex, id, sizeof id);
  // The master key lives beside the database, never in it; CARREL_MASTER_KEY (or a file named
  // by CARREL_MASTER_KEY_FILE) replaces it.
  const char* env_key = std::getenv("CARREL_MASTER_KEY");
  const char* env_file = std::getenv("CARREL_MASTER_KEY_FILE");
  if (s.ok() && (env_key == nullptr || *env_key == '\0') &&
      (env_file == nullptr || *env_file == '\0')) {
    s = CreateMasterKeyFile(MasterKeyPath(dir));
    made_key = s.ok();
  }
  if (s.ok()) {
    auto keys = LoadMasterKeys(dir);
    s = keys.status();
    if (s.ok() && where.postgres()) {
      auto key_store = OpenKeyStore(where);
      s = key_store.status();
      if (s.ok()) {
        s = Keyring::Create(std::move(key_store).value(), DescribeConninfo(where.keys),
                            std::move(keys).value(), hex, SystemClock())
                .status();
      }
    } else if (s.ok()) {
      s = Keyring::Create(KeyringPath(dir), std::move(keys).value(), hex, SystemClock()).status();
    }
  }
  if (s.ok()) {
    s = WithWriteTransaction(**store, [&](Transaction& tx) -> Status {
      CARREL_RETURN_IF_ERROR(tx.Exec("INSERT INTO library_meta (key, value) VALUES ('format', ?)",
                                     {std::string(kLibraryFormat)}));
      CARREL_RETURN_IF_ERROR(tx.Exec(
          "INSERT INTO library_meta (key, value) VALUES ('library_id', ?)", {std::string(hex)}));
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
  return Open(dir, OpenOptions{.clock = clock, .outbound = nullptr, .store_layer = nullptr});
}

StatusOr<std::unique_ptr<Library>> Library::Open(const fs::path& dir, const OpenOptions& options) {
  const Clock* clock = options.clock;
  CARREL_RETURN_IF_ERROR(InitCrypto());
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return NotFound("no library directory at " + dir.string() + " (create one with carrel init)");
  }
  if ((!fs::exists(DatabasePath(dir), ec) && !fs::exists(DatabaseConfigPath(dir), ec)) ||
      !fs::exists(ProfilePath(dir), ec)) {
    return FailedPrecondition(dir.string() + " is not a carrel library (no carrel.db or profile)");
  }
  CARREL_ASSIGN_OR_RETURN(Profile profile, LoadProfile(ProfilePath(dir)));
  CARREL_ASSIGN_OR_RETURN(Calendar calendar, Calendar::FromProfile(profile));
  CARREL_ASSIGN_OR_RETURN(StoreLocation where, ReadStoreLocation(dir));
  std::string name = where.postgres() ? "the database " + DescribeConninfo(where.data)
                                      : DatabasePath(dir).string();
  CARREL_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenRecordStore(dir, where, false));
  std::string format;
  CARREL_ASSIGN_OR_RETURN(int version, store->SchemaVersion());
  if (version > 0) {
    Status s = WithReadTransaction(*store, [&](Transaction& tx) -> Status {
      return tx.Exec("SELECT value FROM library_meta WHERE key = 'format'", {},
                     [&](const Row& row) {
                       format = row.Text(0);
                       return Status::Ok();
                     });
    });
    if (!s.ok()) format.clear();
  }
  if (format != kLibraryFormat) {
    return FailedPrecondition(name + " is not a carrel library database");
  }
  std::string library_id;
  std::optional<Instant> created_at;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store, [&](Transaction& tx) {
    return tx.Exec("SELECT key, value FROM library_meta WHERE key IN ('library_id', 'created_at')",
                   {}, [&](const Row& row) {
                     if (row.Text(0) == "library_id") library_id = row.Text(1);
                     if (auto t = ParseInstant(row.Text(1));
                         row.Text(0) == "created_at" && t.ok()) {
                       created_at = *t;
                     }
                     return Status::Ok();
                   });
  }));
  CARREL_ASSIGN_OR_RETURN(MasterKeys keys, LoadMasterKeys(dir));
  std::unique_ptr<Keyring> keyring;
  if (where.postgres()) {
    CARREL_ASSIGN_OR_RETURN(std::unique_ptr<Store> key_store, OpenKeyStore(where));
    CARREL_ASSIGN_OR_RETURN(
        keyring, Keyring::Open(std::move(key_store), "the database " + DescribeConninfo(where.keys),
                               std::move(keys), library_id, clock));
  } else {
    CARREL_ASSIGN_OR_RETURN(keyring,
                            Keyring::Open(KeyringPath(dir), std::move(keys), library_id, clock));
  }
  // Only once the keys are known good may anything be changed.
  CARREL_RETURN_IF_ERROR(store->Migrate(LibraryMigrations()));
  if (options.store_layer) store = options.store_layer(std::move(store));
  std::unique_ptr<Library> library(new Library(dir, std::move(profile), std::move(calendar),
                                               options, std::move(store), std::move(keyring),
                                               std::move(library_id), created_at));
  // Keys destroyed (a patron deleted, a day's links at retention) leave the key backup behind:
  // it is made again at once when the profile names one.
  if (!library->profile().key_backup_file.empty()) {
    Library* lib = library.get();
    library->keyring().SetAfterDestroy([lib] {
      if (Status s = lib->RefreshKeyBackup(); !s.ok()) {
        spdlog::error("the key backup {} was not made again after keys were destroyed: {}",
                      lib->profile().key_backup_file, s.message());
      }
    });
  }
  // The policy version in force is the newest on record (the profile's history the first time),
  // read again by every append, so that every server on one database records the same one.
  CARREL_RETURN_IF_ERROR(library->governance().Load());
  library->audit().set_policy_version_source(&Governance::VersionInForce);
  // The log's public key sits beside the log, so `carrel audit verify` needs no secret.
  CARREL_ASSIGN_OR_RETURN(NoteVerifier verifier, library->AuditVerifier());
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(library->store(), [&](Transaction& tx) {
    return tx.Exec(
        "INSERT INTO library_meta (key, value) VALUES ('audit_verifier_key', ?) "
        "ON CONFLICT (key) DO NOTHING",
        {verifier.ToString()});
  }));
  return library;
}

StatusOr<Library::FirstRun> Library::Init(const fs::path& dir, const fs::path& profile_file,
                                          const Actor& by, const InitOptions& where) {
  std::error_code ec;
  bool had_key = fs::exists(MasterKeyPath(dir), ec);
  CARREL_RETURN_IF_ERROR(CreateLibraryFiles(dir, profile_file,
                                            StoreLocation{.data = where.database,
                                                          .keys = where.keys_database,
                                                          .runtime_user = where.runtime_user}));
  FirstRun first;
  Status s = [&]() -> Status {
    CARREL_ASSIGN_OR_RETURN(std::unique_ptr<Library> library, Open(dir, SystemClock()));
    CARREL_RETURN_IF_ERROR(library->RecordOperation(by, {"library.init", "library", "", "", "{}"}));
    // The first Director needs no approval: there is nobody yet to give it.
    first.admin_password = NewOneTimePassword();
    first.director_password = NewOneTimePassword();
    NewUserOptions options;
    options.must_change_password = true;
    Accounts& accounts = library->accounts();
    CARREL_RETURN_IF_ERROR(
        accounts.AddUser(by, first.admin_username, Role::kAdmin, first.admin_password, options)
            .status());
    CARREL_RETURN_IF_ERROR(
        accounts
            .AddUser(by, first.director_username, Role::kDirector, first.director_password, options)
            .status());
    CARREL_ASSIGN_OR_RETURN(NoteVerifier verifier, library->AuditVerifier());
    first.audit_key = verifier.ToString();
    return library->SignAuditHead().status();
  }();
  if (!s.ok()) {
    // As if Init had never run: a half-made library would refuse the next Init.
    auto profile = LoadProfile(profile_file);
    RemoveLibraryFiles(dir, profile.ok() ? profile->policy_document : "", !had_key);
    return s;
  }
  return first;
}

}  // namespace carrel

namespace carrel {

Status Library::Backup(const fs::path& out) {
  if (store_->engine() == "sqlite") return store_->BackupTo(out);
  // Another engine: the same portable SQLite file, made from one consistent snapshot.
  return CopyToSqliteFile(*store_, LibraryMigrations(), out, SqliteOptions{}, nullptr);
}

namespace {

// Rows per table and the audit log's size and root: what must be the same after a move.
StatusOr<std::string> Fingerprint(Store& store) {
  CARREL_ASSIGN_OR_RETURN(std::vector<TableInfo> tables, store.Tables());
  std::string out;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(store, [&](Transaction& tx) -> Status {
    for (const TableInfo& t : tables) {
      if (t.name == "schema_migrations") continue;
      CARREL_ASSIGN_OR_RETURN(int64_t n, tx.QueryInt("SELECT count(*) FROM " + t.name));
      out += t.name + "=" + std::to_string(n) + "\n";
    }
    return Status::Ok();
  }));
  return out;
}

}  // namespace

Status Library::MoveStore(const fs::path& dir, const InitOptions& to,
                          const std::function<void(int64_t done, int64_t total)>& progress) {
  // The library opens (keys and all) where it is before anything is copied.
  std::pair<int64_t, Hash> head_before;
  {
    CARREL_ASSIGN_OR_RETURN(std::unique_ptr<Library> library, Open(dir, SystemClock()));
    CARREL_RETURN_IF_ERROR(WithReadTransaction(library->store(), [&](Transaction& tx) -> Status {
      CARREL_ASSIGN_OR_RETURN(head_before, library->audit().Head(tx));
      return Status::Ok();
    }));
  }
  CARREL_ASSIGN_OR_RETURN(StoreLocation from, ReadStoreLocation(dir));
  StoreLocation target{
      .data = to.database, .keys = to.keys_database, .runtime_user = to.runtime_user};
  if (from.postgres() == target.postgres()) {
    return InvalidArgument(from.postgres()
                               ? "the library is on PostgreSQL already (move it to SQLite first)"
                               : "the library is on SQLite already: name the PostgreSQL "
                                 "databases to move it to");
  }
  CARREL_ASSIGN_OR_RETURN(std::unique_ptr<Store> data_from,
                          OpenRecordStore(dir, from, false, /*as_owner=*/true));
  std::unique_ptr<Store> keys_from;
  if (from.postgres()) {
    CARREL_ASSIGN_OR_RETURN(keys_from, OpenKeyStore(from));
  } else {
    CARREL_ASSIGN_OR_RETURN(keys_from, OpenSqliteStore(KeyringPath(dir), SqliteOptions{}));
  }
  std::error_code ec;
  if (!target.postgres() &&
      (fs::exists(DatabasePath(dir), ec) || fs::exists(KeyringPath(dir), ec))) {
    return AlreadyExists("SQLite files are already in " + dir.string() +
                         "; carrel will not overwrite them");
  }
  std::unique_ptr<Store> data_to, keys_to;
  if (target.postgres()) {
    PostgresOptions options;
    options.conninfo = target.data;
    CARREL_ASSIGN_OR_RETURN(data_to, OpenPostgresStore(options));
    options.conninfo = target.keys;
    options.scrub_deleted = true;
    CARREL_ASSIGN_OR_RETURN(keys_to, OpenPostgresStore(options));
    for (Store* s : {data_to.get(), keys_to.get()}) {
      CARREL_ASSIGN_OR_RETURN(int version, s->SchemaVersion());
      if (version > 0) {
        return AlreadyExists(
            "a database to move to already holds tables; carrel moves a "
            "library only into empty ones");
      }
    }
  } else {
    SqliteOptions options;
    options.create_if_missing = true;
    CARREL_ASSIGN_OR_RETURN(data_to, OpenSqliteStore(DatabasePath(dir), options));
    options.secure_delete = true;
    CARREL_ASSIGN_OR_RETURN(keys_to, OpenSqliteStore(KeyringPath(dir), options));
  }
  auto undo_files = [&] {
    if (target.postgres()) return;
    data_to.reset();
    keys_to.reset();
    std::error_code ignored;
    for (const char* suffix : {"", "-wal", "-shm"}) {
      fs::remove(DatabasePath(dir).string() + suffix, ignored);
      fs::remove(KeyringPath(dir).string() + suffix, ignored);
    }
  };
  Status s = [&]() -> Status {
    CARREL_RETURN_IF_ERROR(data_to->Migrate(LibraryMigrations()));
    CARREL_RETURN_IF_ERROR(keys_to->Migrate(Keyring::Schema()));
    CARREL_RETURN_IF_ERROR(CopyRows(*keys_from, *keys_to, nullptr).WithContext("the keys"));
    CARREL_RETURN_IF_ERROR(CopyRows(*data_from, *data_to, progress).WithContext("the records"));
    for (auto [a, b] :
         {std::pair{data_from.get(), data_to.get()}, std::pair{keys_from.get(), keys_to.get()}}) {
      CARREL_ASSIGN_OR_RETURN(std::string before, Fingerprint(*a));
      CARREL_ASSIGN_OR_RETURN(std::string after, Fingerprint(*b));
      if (before != after) return DataLoss("the copy's row counts differ from the library's");
    }
    if (!target.runtime_user.empty()) {
      CARREL_RETURN_IF_ERROR(
          GrantRuntimeRole(*data_to, target.runtime_user, AuditAppendOnlyTables()));
    }
    return Status::Ok();
  }();
  if (!s.ok()) {
    undo_files();
    return s;
  }
  data_to.reset();
  keys_to.reset();
  data_from.reset();
  keys_from.reset();
  // The switch: the location file written (or set aside), the old files set aside.
  if (target.postgres()) {
    CARREL_RETURN_IF_ERROR(WriteStoreLocation(dir, target));
    for (const fs::path& f : {DatabasePath(dir), KeyringPath(dir)}) {
      for (const char* suffix : {"-wal", "-shm"}) fs::remove(f.string() + suffix, ec);
      fs::rename(f, f.string() + ".moved", ec);
    }
  } else {
    fs::rename(DatabaseConfigPath(dir), DatabaseConfigPath(dir).string() + ".moved", ec);
  }
  if (ec) return FailedPrecondition("cannot switch the library to its copy: " + ec.message());
  CARREL_ASSIGN_OR_RETURN(std::unique_ptr<Library> moved, Open(dir, SystemClock()));
  std::pair<int64_t, Hash> head_after;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(moved->store(), [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(head_after, moved->audit().Head(tx));
    return Status::Ok();
  }));
  if (head_after != head_before) {
    return DataLoss("the moved audit log's root differs from the library's");
  }
  return moved->RecordOperation(
      OperatorActor(),
      {"library.store.move", "library", "", "",
       std::string(R"({"to":")") + (target.postgres() ? "postgresql" : "sqlite") + "\"}"});
}

Status Library::Upgrade(const fs::path& dir) {
  CARREL_ASSIGN_OR_RETURN(StoreLocation where, ReadStoreLocation(dir));
  if (!where.postgres()) return Open(dir, SystemClock()).status();
  CARREL_ASSIGN_OR_RETURN(std::unique_ptr<Store> store,
                          OpenRecordStore(dir, where, false, /*as_owner=*/true));
  CARREL_RETURN_IF_ERROR(store->Migrate(LibraryMigrations()));
  if (!where.runtime_user.empty()) {
    CARREL_RETURN_IF_ERROR(GrantRuntimeRole(*store, where.runtime_user, AuditAppendOnlyTables()));
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<Store>> Library::OpenRecords(const fs::path& dir) {
  CARREL_ASSIGN_OR_RETURN(StoreLocation where, ReadStoreLocation(dir));
  if (!where.postgres()) {
    SqliteOptions options;
    options.read_only = true;
    options.mmap_bytes = kScanMmapBytes;
    return OpenSqliteStore(DatabasePath(dir), options);
  }
  return OpenRecordStore(dir, where, false);
}

Status Library::BackupKeys(const fs::path& out) { return keyring_->BackupTo(out); }

Status Library::RefreshKeyBackup() {
  // Written beside the old one and moved over it: the file is whole at every moment.
  fs::path file = profile_.key_backup_file;
  fs::path staged = file.string() + ".new";
  std::error_code ec;
  fs::remove(staged, ec);
  Status s = keyring_->BackupTo(staged);
  if (s.ok()) {
    fs::rename(staged, file, ec);
    if (ec) s = Unavailable("cannot move " + staged.string() + " into place: " + ec.message());
  }
  if (!s.ok()) fs::remove(staged, ec);
  return s;
}

StatusOr<Library::RestoreReport> Library::Reconcile() {
  RestoreReport report;
  // Patrons whose key is gone were crypto-shredded after the backup was taken.
  CARREL_ASSIGN_OR_RETURN(std::vector<int64_t> patrons, circulation_->AllPatronIds());
  for (int64_t id : patrons) {
    if (!keyring_->WasDestroyed(Vault::PatronKeyName(id))) continue;
    CARREL_RETURN_IF_ERROR(circulation_->ForgetPatron(SystemActor("restore"), id));
    ++report.patrons_shredded;
  }
  // Links sealed under destroyed epoch keys can never be opened again: clear them.
  CARREL_ASSIGN_OR_RETURN(std::vector<std::string> live, keyring_->LiveKeys("epoch/"));
  std::set<std::string> live_days;
  for (const std::string& name : live) live_days.insert(name.substr(6));
  CARREL_ASSIGN_OR_RETURN(report.links_unreadable, circulation_->ClearLinksOutside(live_days));
  return report;
}

namespace {

// The library a backup of the data belongs to, once the file is checked whole.
StatusOr<std::string> DataBackupLibraryId(const fs::path& file) {
  CARREL_ASSIGN_OR_RETURN(auto meta, ReadBackupMeta(file, "library_meta"));
  if (meta["format"] != kLibraryFormat || meta["library_id"].empty()) {
    return DataLoss(file.string() + " is not a complete carrel backup (truncated or damaged)");
  }
  return meta["library_id"];
}

Status CopyFileDurably(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::remove(to, ec);
  fs::copy_file(from, to, ec);
  if (ec) return FailedPrecondition("cannot copy " + from.string() + ": " + ec.message());
  FILE* f = std::fopen(to.c_str(), "rb+");
  if (f == nullptr) return FailedPrecondition("cannot open " + to.string());
  std::fflush(f);
  int rc = fsync(fileno(f));
  std::fclose(f);
  if (rc != 0) return Unavailable("cannot sync " + to.string());
  return Status::Ok();
}

// Replaces every row of `live` with the rows of the backup file `backup`, in one transaction:
// on failure the database is as it was. The refusing triggers (the audit log's, a ruling's)
// are set aside for that transaction only; foreign keys stay checked.
Status ReplaceRows(Store& live, const fs::path& backup) {
  SqliteOptions options;
  options.read_only = true;
  CARREL_ASSIGN_OR_RETURN(std::unique_ptr<Store> source, OpenSqliteStore(backup, options));
  CARREL_ASSIGN_OR_RETURN(std::vector<TableInfo> tables, live.Tables());
  std::erase_if(tables, [](const TableInfo& t) { return t.name == "schema_migrations"; });
  return live.Write([&](Transaction& tx) -> Status {
    for (auto t = tables.rbegin(); t != tables.rend(); ++t) {
      CARREL_RETURN_IF_ERROR(tx.Exec("ALTER TABLE " + t->name + " DISABLE TRIGGER USER"));
      CARREL_RETURN_IF_ERROR(tx.Exec("DELETE FROM " + t->name));
    }
    CARREL_RETURN_IF_ERROR(CopyRows(*source, live, nullptr));
    for (const TableInfo& t : tables) {
      CARREL_RETURN_IF_ERROR(tx.Exec("ALTER TABLE " + t.name + " ENABLE TRIGGER USER"));
    }
    return Status::Ok();
  });
}

// The keys the keyring being replaced had destroyed (nothing when it does not open as this
// library's: a fresh directory, another library).
std::vector<std::string> ReplacedTombstones(const fs::path& dir, const StoreLocation& where,
                                            const std::string& data_id, const Clock* clock) {
  auto keys = LoadMasterKeys(dir);
  if (!keys.ok()) return {};
  StatusOr<std::unique_ptr<Keyring>> ring = NotFound("");
  if (where.postgres()) {
    auto store = OpenKeyStore(where);
    if (!store.ok()) return {};
    ring = Keyring::Open(std::move(store).value(), "the keyring", std::move(keys).value(), data_id,
                         clock);
  } else {
    std::error_code ec;
    if (!fs::exists(KeyringPath(dir), ec)) return {};
    ring = Keyring::Open(KeyringPath(dir), std::move(keys).value(), data_id, clock);
  }
  if (!ring.ok()) return {};
  auto names = (*ring)->DestroyedKeys();
  return names.ok() ? *names : std::vector<std::string>();
}

// After the swap: keys the replaced keyring had destroyed are destroyed again (a key backup
// made before they were must not bring them back), then what lay under destroyed keys goes.
StatusOr<Library::RestoreReport> ReconcileAfterRestore(Library& library,
                                                       const std::vector<std::string>& tombstones) {
  std::vector<std::string> back;
  for (const std::string& name : tombstones) {
    if (!library.keyring().WasDestroyed(name)) back.push_back(name);
  }
  if (!back.empty()) CARREL_RETURN_IF_ERROR(library.keyring().Destroy(back));
  CARREL_ASSIGN_OR_RETURN(Library::RestoreReport report, library.Reconcile());
  report.keys_destroyed_again = static_cast<int64_t>(back.size());
  return report;
}

// A key backup no older than the shortest retention period of the profile's schedule (a day
// at least): older, keys destroyed on schedule since would come back with it.
Status CheckKeyBackupAge(const fs::path& dir, const fs::path& keys_backup, const Clock* clock,
                         const RestoreOptions& options, Library::RestoreReport* report) {
  CARREL_ASSIGN_OR_RETURN(std::optional<Instant> made, Keyring::BackupTakenAt(keys_backup));
  CARREL_ASSIGN_OR_RETURN(Profile profile, LoadProfile(Library::ProfilePath(dir)));
  int shortest = 36500;
  for (const auto& [category, days] : profile.retention_days) shortest = std::min(shortest, days);
  const int allowed = std::max(shortest, 1);
  std::string age;
  if (made) {
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(clock->Now() - *made).count();
    report->key_backup_age_days = std::max<int64_t>(0, seconds / 86400);
    if (seconds <= int64_t{allowed} * 86400) return Status::Ok();
    age = "was made " + std::to_string(report->key_backup_age_days) + " day(s) ago";
  } else {
    age = "does not say when it was made";
  }
  if (options.accept_old_keys) {
    report->old_keys_accepted = true;
    return Status::Ok();
  }
  return FailedPrecondition(
      "the key backup " + age + ", and this library's shortest retention period is " +
      std::to_string(allowed) +
      " day(s): keys destroyed on schedule since would come back with it. Restore with a newer "
      "key backup, or accept the old one knowingly (--accept-old-keys)");
}

// Library::Restore for a library on PostgreSQL: the key backup is proved to open with the
// master key on a scratch copy, then each database's rows are replaced in one transaction.
StatusOr<Library::RestoreReport> RestoreIntoDatabases(
    const fs::path& dir, const StoreLocation& where, const fs::path& data_backup,
    const fs::path* keys_backup, const std::string& data_id, const Clock* clock,
    const std::vector<std::string>& tombstones) {
  if (keys_backup != nullptr) {
    fs::path scratch = dir / "keyring.restore-check";
    auto remove_scratch = [&] {
      std::error_code ignored;
      for (const char* suffix : {"", "-wal", "-shm"})
        fs::remove(scratch.string() + suffix, ignored);
    };
    remove_scratch();
    Status s = CopyFileDurably(*keys_backup, scratch);
    if (s.ok()) {
      auto keys = LoadMasterKeys(dir);
      s = keys.status();
      if (s.ok()) s = Keyring::Open(scratch, std::move(keys).value(), data_id, clock).status();
    }
    remove_scratch();
    CARREL_RETURN_IF_ERROR(s);
  }
  CARREL_ASSIGN_OR_RETURN(std::unique_ptr<Store> data, OpenRecordStore(dir, where, false));
  if (keys_backup == nullptr) {
    // The keyring stays: it must be this library's.
    CARREL_ASSIGN_OR_RETURN(std::unique_ptr<Store> key_store, OpenKeyStore(where));
    CARREL_ASSIGN_OR_RETURN(MasterKeys keys, LoadMasterKeys(dir));
    CARREL_RETURN_IF_ERROR(Keyring::Open(std::move(key_store),
                                         "the database " + DescribeConninfo(where.keys),
                                         std::move(keys), data_id, clock)
                               .status());
    CARREL_RETURN_IF_ERROR(ReplaceRows(*data, data_backup).WithContext("restoring the records"));
  } else {
    // The keys' transaction holds the records' inside it: a failure in either leaves both.
    CARREL_ASSIGN_OR_RETURN(std::unique_ptr<Store> key_store, OpenKeyStore(where));
    CARREL_RETURN_IF_ERROR(key_store->Write([&](Transaction&) -> Status {
      CARREL_RETURN_IF_ERROR(
          ReplaceRows(*key_store, *keys_backup).WithContext("restoring the keys"));
      return ReplaceRows(*data, data_backup).WithContext("restoring the records");
    }));
  }
  data.reset();
  CARREL_ASSIGN_OR_RETURN(std::unique_ptr<Library> library, Library::Open(dir, clock));
  return ReconcileAfterRestore(*library, tombstones);
}

}  // namespace

StatusOr<Library::RestoreReport> Library::Restore(const fs::path& dir, const fs::path& data_backup,
                                                  const fs::path* keys_backup, const Clock* clock,
                                                  const RestoreOptions& options) {
  CARREL_RETURN_IF_ERROR(InitCrypto());
  std::error_code ec;
  if (!fs::exists(ProfilePath(dir), ec)) {
    return FailedPrecondition(dir.string() + " is not a carrel library (no profile); create it "
                                             "with carrel init first");
  }
  CARREL_ASSIGN_OR_RETURN(std::string data_id, DataBackupLibraryId(data_backup));
  if (keys_backup != nullptr) {
    CARREL_ASSIGN_OR_RETURN(std::string keys_id, Keyring::BackupLibraryId(*keys_backup));
    if (keys_id != data_id) {
      return FailedPrecondition("the key backup belongs to another library than the data backup");
    }
  }
  RestoreReport checked;
  if (keys_backup != nullptr) {
    CARREL_RETURN_IF_ERROR(CheckKeyBackupAge(dir, *keys_backup, clock, options, &checked));
  }
  CARREL_ASSIGN_OR_RETURN(StoreLocation where, ReadStoreLocation(dir));
  const std::vector<std::string> tombstones = keys_backup != nullptr
                                                  ? ReplacedTombstones(dir, where, data_id, clock)
                                                  : std::vector<std::string>();
  auto finish = [&](StatusOr<RestoreReport> report) -> StatusOr<RestoreReport> {
    if (report.ok()) {
      report->key_backup_age_days = checked.key_backup_age_days;
      report->old_keys_accepted = checked.old_keys_accepted;
    }
    return report;
  };
  if (where.postgres()) {
    return finish(
        RestoreIntoDatabases(dir, where, data_backup, keys_backup, data_id, clock, tombstones));
  }
  // Stage next to the live files, prove the staged pair opens with the master key, then swap.
  fs::path staged_data = DatabasePath(dir).string() + ".restore";
  fs::path staged_keys = KeyringPath(dir).string() + ".restore";
  auto unstage = [&] {
    std::error_code ignored;
    for (const char* suffix : {"", "-wal", "-shm"}) {
      fs::remove(staged_data.string() + suffix, ignored);
      fs::remove(staged_keys.string() + suffix, ignored);
    }
  };
  Status s = CopyFileDurably(data_backup, staged_data);
  if (s.ok()) s = CopyFileDurably(keys_backup != nullptr ? *keys_backup : KeyringPath(dir),
                                  staged_keys);
  if (s.ok()) {
    auto keys = LoadMasterKeys(dir);
    s = keys.status();
    if (s.ok()) {
      auto ring = Keyring::Open(staged_keys, std::move(keys).value(), data_id, clock);
      s = ring.status();
    }
  }
  if (!s.ok()) {
    unstage();
    return s;
  }
  // The live files (with their WAL) are set aside, not removed, until the restored library has
  // opened and been reconciled: on a failure there they are put back as they were.
  std::vector<fs::path> live = {DatabasePath(dir)};
  if (keys_backup != nullptr) live.push_back(KeyringPath(dir));
  auto aside = [](const fs::path& f) { return fs::path(f.string() + ".before-restore"); };
  auto each_file = [&](const std::function<void(const fs::path&)>& fn) {
    for (const fs::path& f : live) {
      for (const char* suffix : {"", "-wal", "-shm"}) fn(fs::path(f.string() + suffix));
    }
  };
  each_file([&](const fs::path& f) {
    std::error_code ignored;
    fs::remove(aside(f), ignored);
    if (fs::exists(f, ignored)) fs::rename(f, aside(f), ec);
  });
  auto put_back = [&] {
    each_file([&](const fs::path& f) {
      std::error_code ignored;
      fs::remove(f, ignored);
      if (fs::exists(aside(f), ignored)) fs::rename(aside(f), f, ignored);
    });
  };
  if (!ec) fs::rename(staged_data, DatabasePath(dir), ec);
  if (!ec && keys_backup != nullptr) fs::rename(staged_keys, KeyringPath(dir), ec);
  unstage();
  if (ec) {
    put_back();
    return FailedPrecondition("cannot move the restored files into place: " + ec.message());
  }
  StatusOr<RestoreReport> report = [&]() -> StatusOr<RestoreReport> {
    CARREL_ASSIGN_OR_RETURN(std::unique_ptr<Library> library, Open(dir, clock));
    return ReconcileAfterRestore(*library, tombstones);
  }();
  if (!report.ok()) {
    put_back();
    return report.status();
  }
  each_file([&](const fs::path& f) {
    std::error_code ignored;
    fs::remove(aside(f), ignored);
  });
  return finish(std::move(report));
}

StatusOr<int64_t> Library::RotateMasterKey(
    const fs::path& dir, const Clock* clock,
    const std::function<void(int64_t done, int64_t total)>& progress) {
  const char* env_key = std::getenv("CARREL_MASTER_KEY");
  if (env_key != nullptr && *env_key != '\0') {
    return FailedPrecondition("rotate-master rotates the key file; unset CARREL_MASTER_KEY and "
                              "run it where master.key is");
  }
  std::error_code ec;
  if (!fs::exists(NextMasterKeyPath(dir), ec)) {
    // Make sure the library opens with the current key before starting.
    CARREL_RETURN_IF_ERROR(Open(dir, clock).status());
    CARREL_RETURN_IF_ERROR(CreateMasterKeyFile(NextMasterKeyPath(dir)));
  }
  int64_t moved = 0;
  {
    CARREL_ASSIGN_OR_RETURN(std::unique_ptr<Library> library, Open(dir, clock));
    CARREL_ASSIGN_OR_RETURN(moved, library->keyring().RewrapToNext(progress));
  }
  fs::rename(NextMasterKeyPath(dir), MasterKeyPath(dir), ec);
  if (ec) return FailedPrecondition("cannot install the new master key: " + ec.message());
  CARREL_ASSIGN_OR_RETURN(std::unique_ptr<Library> library, Open(dir, clock));
  CARREL_RETURN_IF_ERROR(library->keyring().FinishRotation());
  return moved;
}

}  // namespace carrel
