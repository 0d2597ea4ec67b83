// The commands that work on a data directory itself. Every failure prints one line
// "carrel: <reason>" on stderr and exits non-zero; no patron data is ever printed in errors.

#include "tools/carrel/library_commands.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>

#include "carrel/library.h"
#include "carrel/progress.h"
#include "carrel/server.h"

namespace carrel::cli {
namespace {

// The demo profile of the source tree this binary was built from; --profile names another.
std::string DefaultProfile() { return CARREL_DEFAULT_PROFILE; }

StatusOr<std::unique_ptr<Library>> Open(const std::string& data) {
  return Library::Open(data, SystemClock());
}

void AddDataOption(CLI::App* sub, std::string* data, const char* help) {
  sub->add_option("--data", *data, help)->required();
}

}  // namespace

void LibraryCommands::Register(CLI::App* app) {
  profile_ = DefaultProfile();
  CLI::App* init = table_.Add(app, "init", "Create a new library in a data directory",
                              [this] { return Init(); });
  AddDataOption(init, &data_, "Data directory to create the library in");
  init->add_option("--profile", profile_, "Library profile (TOML)")->capture_default_str();
  init->add_option("--database", where_.database,
                   "Keep the records in this PostgreSQL database (postgresql://USER@HOST/DB; the "
                   "password comes from the passfile) instead of SQLite files");
  init->add_option("--keys-database", where_.keys_database,
                   "With --database: the PostgreSQL database of the keyring, another database "
                   "with its own role");
  init->add_option("--runtime-user", where_.runtime_user,
                   "With --database: the role the server connects to the records as (the role in "
                   "--database owns the schema); it may only read and append to the audit log");
  CLI::App* upgrade = table_.Add(
      app, "upgrade",
      "Apply a newer carrel's schema changes as the owner of a PostgreSQL library's database",
      [this] {
        Status s = Library::Upgrade(data_);
        if (!s.ok()) return Fail(s);
        std::printf("carrel: the library's schema is up to date\n");
        return 0;
      });
  AddDataOption(upgrade, &data_, "The library's data directory");
  CLI::App* move = table_.Add(
      app, "migrate-store",
      "Move a library to two PostgreSQL databases (--to, --keys-to), or back to SQLite files "
      "(--to sqlite); the server must be stopped",
      [this] { return MigrateStore(); });
  AddDataOption(move, &data_, "The library's data directory");
  move->add_option("--to", move_to_.database,
                   "postgresql://... for the records (empty, password in the passfile), or "
                   "'sqlite'")
      ->required();
  move->add_option("--keys-to", move_to_.keys_database,
                   "With a PostgreSQL --to: the keyring's database, with its own role");
  move->add_option("--runtime-user", move_to_.runtime_user,
                   "With a PostgreSQL --to: the role the server connects to the records as");
  RegisterServe(app);
  RegisterAccountsAndDemo(app);
  RegisterFiles(app);
  RegisterImport(app);
}

void LibraryCommands::RegisterServe(CLI::App* app) {
  const char* kData = "The library's data directory";
  CLI::App* serve =
      table_.Add(app, "serve", "Serve a library over HTTP", [this] { return Serve(); });
  AddDataOption(serve, &data_, kData);
  serve->add_option("--listen", serve_.listen, "HOST:PORT to listen on")->capture_default_str();
  serve->add_option("--tls-cert", serve_.tls_cert, "PEM certificate: serve HTTPS");
  serve->add_option("--tls-key", serve_.tls_key, "PEM private key for --tls-cert");
  serve->add_flag("--insecure-http", serve_.insecure_http,
                  "Plain HTTP on a non-loopback address (behind a TLS reverse proxy)");
  serve->add_option("--trusted-proxy", serve_.trusted_proxies,
                    "CIDR block of a reverse proxy whose Forwarded / X-Forwarded-For / "
                    "X-Forwarded-Proto are believed (repeatable)");
  serve
      ->add_option("--max-connections", serve_.max_connections,
                   "Open connections in all; more are refused at once with 503")
      ->capture_default_str();
  serve
      ->add_option("--max-connections-per-client", serve_.max_connections_per_client,
                   "Open connections per client address")
      ->capture_default_str();
  serve
      ->add_option("--logins-per-minute", serve_.logins_per_minute,
                   "Log-in attempts a minute from one client address (more get 429)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  serve->add_option("--sip2", serve_.sip2_listen,
                    "HOST:PORT to serve SIP2 on as well, for self-check kiosks (docs/sip2.md)");
  serve->add_option("--sip2-tls", serve_.sip2_tls, "CERT KEY: PEM certificate and key for SIP2")
      ->expected(2);
  serve->add_flag("--sip2-plain", serve_.sip2_plain,
                  "SIP2 without TLS on a non-loopback address (the kiosks' network is trusted, "
                  "or stunnel is in front)");
  serve
      ->add_option("--workers", serve_.workers,
                   "Threads that run requests (default 64); sockets never hold one")
      ->check(CLI::Range(1, 256));
}

// openapi, user add|password, demo seed.
void LibraryCommands::RegisterAccountsAndDemo(CLI::App* app) {
  const char* kData = "The library's data directory";
  table_.Add(app, "openapi",
             "Print the API's OpenAPI 3.1 document (YAML), written from the route table",
             [this] { return OpenApi(); });

  CLI::App* user = app->add_subcommand("user", "User accounts");
  user->require_subcommand(1);
  CLI::App* user_add = table_.Add(
      user, "add", "Create a user; the password is typed twice on a terminal, or read from stdin",
      [this] { return UserAdd(); });
  AddDataOption(user_add, &data_, kData);
  user_add->add_option("--role", role_, "staff, director, counsel, board, admin or kiosk")
      ->required();
  user_add->add_option("--username", username_, "3-32 of a-z 0-9 . _ -")->required();
  user_add->add_option("--location", location_,
                       "Kiosks only (and required): where the kiosk stands, one line");
  CLI::App* user_password = table_.Add(
      user, "password",
      "Change a user's password: the current one, then the new one (typed twice on a terminal; "
      "two lines on stdin)",
      [this] { return UserPassword(); });
  AddDataOption(user_password, &data_, kData);
  user_password->add_option("--username", username_, "The user")->required();

  CLI::App* demo = app->add_subcommand("demo", "Demonstration data");
  demo->require_subcommand(1);
  CLI::App* seed = table_.Add(demo, "seed", "Fill an empty library with synthetic data",
                              [this] { return Seed(); });
  AddDataOption(seed, &data_, kData);
  seed->add_option("--patrons", seed_.patrons, "Number of patrons")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{100000000}));
  seed->add_option("--items", seed_.items, "Number of items")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{100000000}));
  seed->add_option("--loans", seed_.history_loans, "Number of returned loans in history")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{1000000000}));
  seed->add_option("--years", seed_.years, "Years of history")
      ->capture_default_str()
      ->check(CLI::Range(1, 50));
  seed->add_option("--seed", seed_.seed, "Random seed")->capture_default_str();
}

// import koha.
void LibraryCommands::RegisterImport(CLI::App* app) {
  CLI::App* group = app->add_subcommand("import", "Bring records over from another system");
  group->require_subcommand(1);
  CLI::App* koha = table_.Add(
      group, "koha",
      "Import Koha's exports, keeping only what the library's policy keeps (the report lists "
      "what was dropped and every refused row, by file and line)",
      [this] { return ImportKoha(); });
  AddDataOption(koha, &data_, "The library's data directory");
  koha->add_option("--patrons", import_.patrons,
                   "Koha's patron CSV (columns of its borrowers table, with a header line)");
  koha->add_option("--items", import_.items,
                   "MARC 21 bibliographic records with Koha's 952 item fields (ISO 2709 or "
                   "MARCXML)");
  koha->add_option("--loans", import_.loans,
                   "Current loans CSV: cardnumber, barcode, issuedate, date_due[, renewals]");
  koha->add_option("--history", import_.history,
                   "Returned loans CSV: cardnumber, barcode, issuedate, returndate (kept only "
                   "for patrons who keep a reading history)");
  koha->add_option("--fines", import_.fines, "Outstanding fines CSV: cardnumber, amount[, date]");
  koha->add_option("--item-type", import_item_types_,
                   "A Koha item type and the profile's, as KOHA=TYPE (e.g. BK=book); repeatable");
  koha->add_option("--report", import_report_,
                   "Where to write the report (no patron data in it; must not exist)")
      ->capture_default_str();
  koha->add_option("--encoding", import_encoding_, "utf-8 or latin-1")
      ->capture_default_str()
      ->check(CLI::IsMember({"utf-8", "latin-1"}));
  koha->add_flag("--dry-run", import_.dry_run, "Check everything, write nothing");
  koha->add_flag("--strict", import_.strict, "Stop at the first bad row, having written nothing");
}

// backup, backup-keys, restore, keys rotate-master.
void LibraryCommands::RegisterFiles(CLI::App* app) {
  const char* kData = "The library's data directory";
  CLI::App* backup =
      table_.Add(app, "backup", "Write a consistent backup of the library's data (no keys in it)",
                 [this] { return Backup(false); });
  AddDataOption(backup, &data_, kData);
  backup->add_option("--out", out_, "Backup file to write (must not exist)")->required();
  CLI::App* backup_keys = table_.Add(
      app, "backup-keys",
      "Write a backup of the keyring (wrapped keys; keep it apart from data backups and no "
      "longer than the shortest retention period)",
      [this] { return Backup(true); });
  AddDataOption(backup_keys, &data_, kData);
  backup_keys->add_option("--out", out_, "Backup file to write (must not exist)")->required();

  CLI::App* restore =
      table_.Add(app, "restore",
                 "Replace the library's data (and keyring) with backups; the server must "
                 "be stopped",
                 [this] { return Restore(); });
  AddDataOption(restore, &data_, kData);
  restore->add_option("--from", from_, "Data backup written by carrel backup")->required();
  restore->add_option("--keys", keys_, "Keyring backup written by carrel backup-keys");
  restore->add_flag("--accept-old-keys", accept_old_keys_,
                    "Take a key backup older than the shortest retention period (keys destroyed "
                    "on schedule since come back with it)");

  CLI::App* keys = app->add_subcommand("keys", "Key management");
  keys->require_subcommand(1);
  CLI::App* rotate =
      table_.Add(keys, "rotate-master", "Rewrap every data key under a new master key (resumable)",
                 [this] { return RotateMasterKey(); });
  AddDataOption(rotate, &data_, kData);
}

int LibraryCommands::MigrateStore() {
  Library::InitOptions to = move_to_;
  if (to.database == "sqlite") {
    if (!to.keys_database.empty() || !to.runtime_user.empty()) {
      return Fail(InvalidArgument("--keys-to and --runtime-user are for a PostgreSQL --to"));
    }
    to.database.clear();
  } else if (to.keys_database.empty()) {
    return Fail(InvalidArgument("--keys-to is needed: the keyring goes to a database of its own"));
  }
  std::optional<Progress> progress;
  Status s = Library::MoveStore(data_, to, [&](int64_t done, int64_t total) {
    if (!progress) progress.emplace("copying rows", total);
    progress->Set(done);
  });
  if (progress) progress->Finish();
  if (!s.ok()) return Fail(s);
  std::printf(
      "carrel: the library now keeps its records %s; counts and the audit log's root "
      "match\n",
      to.database.empty() ? "in SQLite files" : "on PostgreSQL");
  return 0;
}

int LibraryCommands::Init() {
  if (where_.database.empty() != where_.keys_database.empty()) {
    return Fail(
        InvalidArgument("--database and --keys-database go together: the keyring is "
                        "kept in a database of its own"));
  }
  auto first = Library::Init(data_, profile_, OperatorActor(), where_);
  if (!first.ok()) return Fail(first.status());
  std::printf("carrel: created a library in %s\n", data_.c_str());
  std::printf("carrel: user %s (administrator), password: %s\n", first->admin_username.c_str(),
              first->admin_password.c_str());
  std::printf("carrel: user %s (Library Director), password: %s\n",
              first->director_username.c_str(), first->director_password.c_str());
  std::printf(
      "carrel: these passwords are shown once, and are good only for choosing a new "
      "one at the first login\n");
  std::printf("carrel: audit log key: %s\n", first->audit_key.c_str());
  std::printf("carrel: keep that key, and the signed heads, where the server cannot change them\n");
  return 0;
}

int LibraryCommands::Serve() { return RunServe(data_, serve_); }

int LibraryCommands::OpenApi() {
  std::fputs(OpenApiDocument().c_str(), stdout);
  return 0;
}

int LibraryCommands::UserAdd() {
  auto role = ParseRole(role_);
  if (!role.ok()) return Fail(role.status());
  auto password = ReadNewPassword();
  if (!password.ok()) return Fail(password.status());
  auto library = Open(data_);
  if (!library.ok()) return Fail(library.status());
  // As through the API: a new password at the first login, and approval first for a role
  // that reaches patron data or signs.
  NewUserOptions options;
  options.needs_approval = true;
  options.must_change_password = true;
  options.location = location_;
  auto added =
      (*library)->accounts().AddUser(OperatorActor(), username_, *role, *password, options);
  if (!added.ok()) return Fail(added.status());
  std::printf("carrel: created %s user %s (id %lld)%s\n", role_.c_str(), username_.c_str(),
              static_cast<long long>(added->id),
              added->pending ? "; it can log in once approved (carrel's users/pending list)" : "");
  std::printf("carrel: the password is good only for choosing a new one at the first login\n");
  return 0;
}

int LibraryCommands::UserPassword() {
  auto current = ReadPassword("Current password: ");
  if (!current.ok()) return Fail(current.status());
  auto fresh = ReadNewPassword();
  if (!fresh.ok()) return Fail(fresh.status());
  auto library = Open(data_);
  if (!library.ok()) return Fail(library.status());
  auto users = (*library)->accounts().ListUsers(OperatorActor());
  if (!users.ok()) return Fail(users.status());
  int64_t id = 0;
  for (const User& u : *users) {
    if (u.username == username_) id = u.id;
  }
  if (id == 0) return Fail(NotFound("no user " + username_));
  Status s = (*library)->accounts().ChangePassword(id, *current, *fresh);
  if (!s.ok()) return Fail(s);
  std::printf("carrel: the password of %s is changed\n", username_.c_str());
  return 0;
}

int LibraryCommands::ImportKoha() {
  std::error_code ec;
  if (std::filesystem::exists(import_report_, ec)) {
    return Fail(AlreadyExists("the report " + import_report_ +
                              " already exists; carrel will not overwrite it"));
  }
  if (import_.patrons.empty() && import_.items.empty() && import_.loans.empty() &&
      import_.history.empty() && import_.fines.empty()) {
    return Fail(InvalidArgument(
        "name at least one file: --patrons, --items, --loans, --history or --fines"));
  }
  for (const std::string& pair : import_item_types_) {
    size_t eq = pair.find('=');
    if (eq == 0 || eq == std::string::npos || eq + 1 == pair.size()) {
      return Fail(InvalidArgument("--item-type takes KOHA=TYPE, as BK=book"));
    }
    import_.item_types[pair.substr(0, eq)] = pair.substr(eq + 1);
  }
  auto library = Open(data_);
  if (!library.ok()) return Fail(library.status());
  import_.encoding = import_encoding_ == "latin-1" ? TextEncoding::kLatin1 : TextEncoding::kUtf8;
  auto report = ImportFromKoha(**library, import_);
  if (!report.ok()) return Fail(report.status());
  if (!import_.dry_run) {
    Status recorded = (*library)->RecordOperation(
        OperatorActor(), {"library.import_koha", "library", "", "", report->CountsJson()});
    if (!recorded.ok()) return Fail(recorded);
  }
  {
    std::ofstream out(import_report_, std::ios::out | std::ios::trunc);
    out << report->Text();
    if (!out) return Fail(Unavailable("could not write the report " + import_report_));
  }
  for (const auto& [what, c] : {std::pair{"patron", &report->patrons},
                                {"item", &report->items},
                                {"current loan", &report->loans},
                                {"returned loan", &report->history},
                                {"fine", &report->fines}}) {
    if (c->rows == 0) continue;
    std::printf("carrel: %s %lld of %lld %s rows, %lld refused (%.1f s, %.0f rows/s)\n",
                import_.dry_run ? "dry run, nothing written: would import" : "imported",
                static_cast<long long>(c->imported + c->already_done),
                static_cast<long long>(c->rows), what, static_cast<long long>(c->refused),
                c->seconds, c->seconds > 0 ? static_cast<double>(c->rows) / c->seconds : 0.0);
  }
  std::printf("carrel: the report is in %s\n", import_report_.c_str());
  if (!import_.dry_run) {
    std::printf(
        "carrel: the export files hold patron data that carrel now keeps sealed; delete them\n");
  }
  return 0;
}

int LibraryCommands::Seed() {
  auto library = Open(data_);
  if (!library.ok()) return Fail(library.status());
  auto report = SeedDemoLibrary(**library, seed_);
  if (!report.ok()) return Fail(report.status());
  Status recorded = (*library)->RecordOperation(
      OperatorActor(), {"library.demo_seed", "library", "", "",
                        "{\"patrons\":" + std::to_string(report->patrons) +
                            ",\"history_loans\":" + std::to_string(report->history_loans) + "}"});
  if (!recorded.ok()) return Fail(recorded);
  std::printf(
      "carrel: seeded %lld patrons, %lld items, %lld returned loans, %lld current loans, "
      "%lld holds, %lld fines in %.1fs\n",
      static_cast<long long>(report->patrons), static_cast<long long>(report->items),
      static_cast<long long>(report->history_loans), static_cast<long long>(report->active_loans),
      static_cast<long long>(report->holds), static_cast<long long>(report->fines),
      report->seconds);
  if (seed_.demo_accounts) {
    std::printf(
        "carrel: demo logins (password %s): desk (front desk), demo-director, counsel, "
        "trustee (Board), demo-admin, demo-kiosk (SIP2); patron portal: card 21000000000001, "
        "PIN %s\n",
        kDemoPassword, kDemoPin);
  }
  return 0;
}

int LibraryCommands::Backup(bool keys) {
  auto library = Open(data_);
  if (!library.ok()) return Fail(library.status());
  Status s = (*library)->RecordOperation(
      OperatorActor(), {keys ? "keyring.backup" : "library.backup", "library", "", "", "{}"});
  if (s.ok()) s = keys ? (*library)->BackupKeys(out_) : (*library)->Backup(out_);
  if (!s.ok()) return Fail(s);
  std::printf("carrel: wrote %s\n", out_.c_str());
  return 0;
}

int LibraryCommands::Restore() {
  std::filesystem::path keys_path = keys_;
  RestoreOptions options;
  options.accept_old_keys = accept_old_keys_;
  auto report =
      Library::Restore(data_, from_, keys_.empty() ? nullptr : &keys_path, SystemClock(), options);
  if (!report.ok()) return Fail(report.status());
  if (report->old_keys_accepted) {
    std::fprintf(stderr,
                 "carrel: warning: the key backup is older than the shortest retention period "
                 "(%s); keys destroyed on schedule since it was made are back until retention "
                 "runs again\n",
                 report->key_backup_age_days >= 0
                     ? (std::to_string(report->key_backup_age_days) + " day(s) old").c_str()
                     : "it does not say when it was made");
  }
  auto reopened = Open(data_);
  if (!reopened.ok()) return Fail(reopened.status());
  Status recorded = (*reopened)->RecordOperation(
      OperatorActor(),
      {"library.restore", "library", "", "",
       "{\"keys_destroyed_again\":" + std::to_string(report->keys_destroyed_again) +
           ",\"links_unreadable\":" + std::to_string(report->links_unreadable) +
           ",\"old_keys_accepted\":" + (report->old_keys_accepted ? "true" : "false") +
           ",\"patrons_shredded\":" + std::to_string(report->patrons_shredded) + "}"});
  if (!recorded.ok()) return Fail(recorded);
  std::printf(
      "carrel: restored %s; %lld patron records were crypto-shredded since the backup "
      "and removed; %lld links are unreadable (their keys were destroyed); %lld keys the "
      "replaced keyring had destroyed were destroyed again\n",
      data_.c_str(), static_cast<long long>(report->patrons_shredded),
      static_cast<long long>(report->links_unreadable),
      static_cast<long long>(report->keys_destroyed_again));
  return 0;
}

int LibraryCommands::RotateMasterKey() {
  std::optional<Progress> progress;
  auto moved = Library::RotateMasterKey(data_, SystemClock(), [&](int64_t done, int64_t total) {
    if (!progress) progress.emplace("rewrapping keys", total);
    progress->Set(done);
  });
  if (progress) progress->Finish();
  if (!moved.ok()) return Fail(moved.status());
  auto reopened = Open(data_);
  if (!reopened.ok()) return Fail(reopened.status());
  Status recorded = (*reopened)->RecordOperation(
      OperatorActor(),
      {"key.rotate_master", "keyring", "", "", "{\"rewrapped\":" + std::to_string(*moved) + "}"});
  if (!recorded.ok()) return Fail(recorded);
  std::printf("carrel: rewrapped %lld data keys under a new master key\n",
              static_cast<long long>(*moved));
  return 0;
}

}  // namespace carrel::cli
