#pragma once

#include <filesystem>
#include <functional>
#include <memory>

#include "carrel/accounts.h"
#include "carrel/audit.h"
#include "carrel/calendar.h"
#include "carrel/circulation.h"
#include "carrel/clock.h"
#include "carrel/governance.h"
#include "carrel/profile.h"
#include "carrel/requests.h"
#include "carrel/retention.h"
#include "carrel/status.h"
#include "carrel/store.h"
#include "carrel/vault.h"

namespace carrel {

// How Library::Restore may proceed.
struct RestoreOptions {
  // Take a key backup older than the shortest retention period of the profile's schedule (at
  // least a day), or one that does not say when it was made. Keys destroyed on schedule since
  // it was made come back with it: records deleted on schedule could be read again.
  bool accept_old_keys = false;
};

// A library on disk: a data directory holding its profile (profile/library.toml and the
// policy document), its database (carrel.db), its keyring (keyring.db) and, unless
// CARREL_MASTER_KEY is set, its master key (master.key). Layout in docs/data-directory.md.
class Library {
 public:
  // What a new library starts with: its first administrator and Director, each with a one-time
  // password (good only for choosing a new one at the first login; shown once, kept nowhere),
  // and the audit log's public verifier key.
  struct FirstRun {
    std::string admin_username = "admin";
    std::string admin_password;
    std::string director_username = "director";
    std::string director_password;
    std::string audit_key;
  };
  // Creates a new library in `dir` from the profile at `profile_file`: its files, the
  // "library.init" audit entry by `by`, the first accounts and a first signed head. Refuses a
  // directory that already holds a library (kAlreadyExists) and a bad profile
  // (kInvalidArgument, with the file and line). On failure nothing is left behind in `dir`
  // except directories it created.
  // Where a new library keeps its records: SQLite files in its directory (the default), or two
  // PostgreSQL databases, empty, made by their administrator: one for the records and one for
  // the keyring, each with a role of its own, so that a dump of the records holds no key. The
  // connection strings go to DIR/database.conf; passwords come from the passfile.
  struct InitOptions {
    std::string database;
    std::string keys_database;
    // The role the server connects to the records as (read and write, the audit log read and
    // append only); empty: the owner's, as `database` names it.
    std::string runtime_user;
  };
  static StatusOr<FirstRun> Init(const std::filesystem::path& dir,
                                 const std::filesystem::path& profile_file, const Actor& by,
                                 const InitOptions& where = {});
  // Moves a library's records and keys to another engine: to the two PostgreSQL databases of
  // `to` (empty, as for Init), or back to SQLite files in its directory when `to` names none.
  // Copies every row from one consistent snapshot, checks that each table's count and the
  // audit log's size and root are the same in the copy, and only then switches the library
  // to it (the old SQLite files are kept as *.moved; old databases are left for their
  // administrator to drop). The server must not be running. `progress` sees rows copied.
  static Status MoveStore(const std::filesystem::path& dir, const InitOptions& to,
                          const std::function<void(int64_t done, int64_t total)>& progress);

  // Applies pending schema migrations as the owner of a PostgreSQL library's records and grants
  // the runtime role its rights on new tables (after installing a newer carrel). SQLite
  // libraries are migrated at every open; this does the same for them.
  static Status Upgrade(const std::filesystem::path& dir);
  // The library's records as they are, neither migrated nor opened with its keys, read only
  // where the engine allows (audit verification).
  static StatusOr<std::unique_ptr<Store>> OpenRecords(const std::filesystem::path& dir);

  // How a library is opened: its clock, where its messages go, and a layer over its store.
  // Pointers are not owned and must outlive the library.
  struct OpenOptions {
    const Clock* clock = nullptr;
    // The Director's alert and patrons' notices; null runs the profile's commands.
    Outbound* outbound = nullptr;
    // Wraps the database store once it is migrated (a test injects faults through it).
    std::function<std::unique_ptr<Store>(std::unique_ptr<Store>)> store_layer;
  };
  // Opens an existing library, running pending schema migrations.
  static StatusOr<std::unique_ptr<Library>> Open(const std::filesystem::path& dir,
                                                 const OpenOptions& options);
  // The same with the profile's commands and the store as it is.
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
  AuditLog& audit() { return *audit_; }
  Accounts& accounts() { return *accounts_; }
  Retention& retention() { return *retention_; }
  Requests& requests() { return *requests_; }
  Governance& governance() { return *governance_; }

  // Records an operation on the library's files (init, backup, restore, key rotation, seed)
  // as its own audit entry.
  Status RecordOperation(const Actor& actor, const AuditEvent& event);

  // The log's name in checkpoints, e.g. "carrel/the-westport-library/3fa2b1c0".
  std::string AuditOrigin() const;
  // The Ed25519 note verifier key of the audit log (public; printed at init).
  StatusOr<NoteVerifier> AuditVerifier();
  // Signs the current tree head (or returns the latest if nothing was appended since).
  StatusOr<Checkpoint> SignAuditHead();
  const std::string& library_id() const { return library_id_; }

  // A consistent online copy of the bulk data, with no keys in it.
  Status Backup(const std::filesystem::path& out);
  // A consistent copy of the keyring (wrapped keys only; the master key is never in it), with
  // the time it was made.
  Status BackupKeys(const std::filesystem::path& out);
  // Makes the profile's [backup] keys_file again (staged beside it, then moved over it); run
  // after every destruction of keys when the profile names one.
  Status RefreshKeyBackup();

  // What a restore found and did (docs/design.md §4: backups made before a key was destroyed
  // restore to a library in which what that key protected stays unreadable).
  struct RestoreReport {
    int64_t patrons_shredded = 0;     // rows of patrons whose key had been destroyed: removed
    int64_t links_unreadable = 0;     // history, hold, fine, session links under destroyed keys
    // Keys the library being replaced had destroyed that the key backup still held: destroyed
    // again.
    int64_t keys_destroyed_again = 0;
    // The key backup's age in whole days (-1: no key backup, or one that does not say), and
    // whether it was older than allowed and taken because RestoreOptions said so.
    int64_t key_backup_age_days = -1;
    bool old_keys_accepted = false;
  };
  // Replaces the library's data (and keyring, when `keys_backup` is given) with backups.
  // Both are checked first (an SQLite database of this library, intact; a key backup no older
  // than the shortest retention period unless `options` accept it); on any failure the library
  // is left as it was. Keys the replaced keyring had destroyed stay destroyed. The server must
  // not be running.
  static StatusOr<RestoreReport> Restore(const std::filesystem::path& dir,
                                         const std::filesystem::path& data_backup,
                                         const std::filesystem::path* keys_backup,
                                         const Clock* clock, const RestoreOptions& options = {});

  // Rewraps every data key under a new master key (master.key.next, then master.key).
  // Resumable: an interrupted rotation is finished by running it again. Refused when the
  // master key comes from CARREL_MASTER_KEY.
  static StatusOr<int64_t> RotateMasterKey(
      const std::filesystem::path& dir, const Clock* clock,
      const std::function<void(int64_t done, int64_t total)>& progress);

  // Unlinks sealed links whose keys were destroyed and removes patrons whose key is gone.
  StatusOr<RestoreReport> Reconcile();

  static std::filesystem::path DatabasePath(const std::filesystem::path& dir);
  static std::filesystem::path ProfilePath(const std::filesystem::path& dir);

 private:
  Library(std::filesystem::path dir, Profile profile, Calendar calendar, const OpenOptions& options,
          std::unique_ptr<Store> store, std::unique_ptr<Keyring> keyring, std::string library_id,
          std::optional<Instant> created_at);

  std::filesystem::path dir_;
  Profile profile_;
  Calendar calendar_;
  const Clock* clock_;
  std::unique_ptr<Outbound> own_outbound_;  // the profile's commands, unless given another
  Outbound* outbound_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Keyring> keyring_;
  std::unique_ptr<Vault> vault_;
  std::string library_id_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<Circulation> circulation_;
  std::unique_ptr<Accounts> accounts_;
  std::unique_ptr<Retention> retention_;
  std::unique_ptr<Governance> governance_;
  std::unique_ptr<Requests> requests_;
};

// Initializes libsodium once; call before using crypto or randomness. Thread-safe.
Status InitCrypto();

}  // namespace carrel
