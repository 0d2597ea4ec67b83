// The carrel command: a thin layer over the core library. Every failure prints one line
// "carrel: <reason>" on stderr and exits non-zero; no patron data is ever printed in errors.

#include <pthread.h>
#include <unistd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <atomic>
#include <cstdio>
#include <iostream>
#include <optional>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "carrel/demo.h"
#include "carrel/library.h"
#include "carrel/progress.h"
#include "carrel/server.h"
#include "carrel/outbound_hook.h"
#include "tools/carrel/board_client.h"
#include "tools/carrel/client.h"
#include "tools/carrel/commands.h"
#include "tools/carrel/retention_commands.h"

namespace {

using carrel::Status;

constexpr int kExitUsage = 2;

using carrel::cli::Fail;

// The demo profile of the source tree this binary was built from; --profile names another.
std::filesystem::path DefaultProfile() { return CARREL_DEFAULT_PROFILE; }

Status ParseListen(const std::string& listen, std::string* host, int* port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return carrel::InvalidArgument("--listen must be HOST:PORT, e.g. 127.0.0.1:8080");
  }
  *host = listen.substr(0, colon);
  const std::string digits = listen.substr(colon + 1);
  if (digits.empty() || digits.size() > 5 ||
      digits.find_first_not_of("0123456789") != std::string::npos || std::stoi(digits) > 65535) {
    return carrel::InvalidArgument("--listen port must be a number from 0 to 65535");
  }
  *port = std::stoi(digits);
  return Status::Ok();
}

struct ServeFlags {
  std::string tls_cert, tls_key;
  bool insecure_http = false;
  std::vector<std::string> trusted_proxies;
  size_t max_connections = 2048;
  size_t max_connections_per_client = 128;
  int workers = 0;  // 0: the server's default
  int logins_per_minute = 20;
};

// Each connection is a descriptor: raise the soft limit to the hard one, and keep the
// connection cap below what is left after the files the server itself opens.
size_t FitToDescriptors(size_t wanted) {
  constexpr rlim_t kReserve = 128;
  struct rlimit files = {};
  if (getrlimit(RLIMIT_NOFILE, &files) != 0) return wanted;
  if (files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &files);
    (void)getrlimit(RLIMIT_NOFILE, &files);
  }
  if (files.rlim_cur == RLIM_INFINITY || files.rlim_cur > wanted + kReserve) return wanted;
  return files.rlim_cur > kReserve ? static_cast<size_t>(files.rlim_cur - kReserve) : 1;
}

bool IsLoopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

int RunServe(const std::string& data, const std::string& listen, const ServeFlags& flags) {
  // Memory of the server may hold patron data: never write it to a core file.
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

  // SIGINT and SIGTERM are taken by one thread that stops the server (below); every thread,
  // including those the library starts when it opens, leaves them blocked.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::string host;
  int port = 0;
  if (Status s = ParseListen(listen, &host, &port); !s.ok()) return Fail(s);
  bool tls = !flags.tls_cert.empty() || !flags.tls_key.empty();
  if (tls && (flags.tls_cert.empty() || flags.tls_key.empty())) {
    return Fail(carrel::InvalidArgument("HTTPS needs both --tls-cert and --tls-key"));
  }
  if (!tls && !IsLoopback(host) && !flags.insecure_http) {
    return Fail(carrel::InvalidArgument(
        "without TLS carrel listens on loopback only; give --tls-cert and --tls-key, or "
        "--insecure-http behind a reverse proxy that terminates TLS"));
  }
  if (flags.max_connections_per_client == 0 || flags.max_connections == 0) {
    return Fail(carrel::InvalidArgument("connection caps must be at least 1"));
  }
  auto library = carrel::Library::Open(data, carrel::SystemClock());
  // The key is in the keyring's memory now: its text is wiped where the environment keeps it
  // (also what /proc/PID/environ shows) and the variable removed, so nothing inherits it.
  if (char* key = std::getenv("CARREL_MASTER_KEY"); key != nullptr) {
    sodium_memzero(key, std::strlen(key));
    unsetenv("CARREL_MASTER_KEY");
  }
  if (!library.ok()) return Fail(library.status());
  carrel::ServerOptions options;
  options.tls = tls;
  options.tls_cert_file = flags.tls_cert;
  options.tls_key_file = flags.tls_key;
  options.trusted_proxies = flags.trusted_proxies;
  options.max_connections = FitToDescriptors(flags.max_connections);
  options.max_connections_per_client =
      std::min(flags.max_connections_per_client, options.max_connections);
  if (flags.workers > 0) options.workers = flags.workers;
  options.login_per_minute = flags.logins_per_minute;
  if (const char* check = std::getenv("CARREL_CHECK_CONTRACT"); check && std::string(check) == "1") {
    // The tests' servers check every answer against the API contract; a breach is logged
    // (the route and what is wrong, never the answer) and answered as a server error.
    options.contract_breach = [](std::string_view action, int status, const std::string& what) {
      spdlog::error("contract breach: {} answered {}: {}", action, status, what);
    };
  }
  options.jobs = carrel::JobsOptions();
  carrel::ApiServer server(library->get(), options);
  auto bound = server.Bind(host, port);
  if (!bound.ok()) return Fail(bound.status());
  std::atomic<bool> stop_signalled{false};
  std::thread stopper([&] {
    int signal = 0;
    sigwait(&stop_signals, &signal);
    stop_signalled = true;
    server.Stop();
  });
  std::printf("carrel: serving %s at %s://%s:%d/ (Ctrl-C stops)\n",
              (*library)->profile().name.c_str(), tls ? "https" : "http", host.c_str(), *bound);
  if (!tls) {
    std::printf("carrel: plain HTTP%s\n", IsLoopback(host)
                                              ? " on loopback only"
                                              : ", as asked (--insecure-http): put TLS in front");
  }
  std::fflush(stdout);
  // The scheduled jobs (head signing and the witness, retention, notices, reclaim) run
  // inside the server while it serves.
  Status s = server.Serve();
  // Serve ended on its own: wake the waiting thread (the signal stays blocked everywhere else).
  if (!stop_signalled.load()) kill(getpid(), SIGTERM);
  stopper.join();
  if (!s.ok()) return Fail(s);
  std::printf("carrel: stopped\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"carrel: a library records system that keeps the library's privacy promises",
               "carrel"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(CARREL_VERSION));

  std::string data;
  std::string profile = DefaultProfile().string();
  auto* init = app.add_subcommand("init", "Create a new library in a data directory");
  init->add_option("--data", data, "Data directory to create the library in")->required();
  init->add_option("--profile", profile, "Library profile (TOML)")->capture_default_str();

  std::string listen = "127.0.0.1:8080";
  auto* serve = app.add_subcommand("serve", "Serve a library over HTTP");
  serve->add_option("--data", data, "The library's data directory")->required();
  serve->add_option("--listen", listen, "HOST:PORT to listen on")->capture_default_str();
  ServeFlags serve_flags;
  serve->add_option("--tls-cert", serve_flags.tls_cert, "PEM certificate: serve HTTPS");
  serve->add_option("--tls-key", serve_flags.tls_key, "PEM private key for --tls-cert");
  serve->add_flag("--insecure-http", serve_flags.insecure_http,
                  "Plain HTTP on a non-loopback address (behind a TLS reverse proxy)");
  serve->add_option("--trusted-proxy", serve_flags.trusted_proxies,
                    "CIDR block of a reverse proxy whose Forwarded / X-Forwarded-For / "
                    "X-Forwarded-Proto are believed (repeatable)");
  serve->add_option("--max-connections", serve_flags.max_connections,
                    "Open connections in all; more are refused at once with 503")
      ->capture_default_str();
  serve->add_option("--max-connections-per-client", serve_flags.max_connections_per_client,
                    "Open connections per client address")
      ->capture_default_str();
  serve->add_option("--logins-per-minute", serve_flags.logins_per_minute,
                    "Log-in attempts a minute from one client address (more get 429)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  serve->add_option("--workers", serve_flags.workers,
                    "Threads that run requests (default 64); sockets never hold one")
      ->check(CLI::Range(1, 256));

  auto* openapi = app.add_subcommand(
      "openapi", "Print the API's OpenAPI 3.1 document (YAML), written from the route table");

  std::string role_name, username;
  auto* user = app.add_subcommand("user", "User accounts");
  user->require_subcommand(1);
  auto* user_add = user->add_subcommand(
      "add", "Create a user; the password is typed twice on a terminal, or read from stdin");
  user_add->add_option("--data", data, "The library's data directory")->required();
  user_add->add_option("--role", role_name, "staff, director, counsel, board or admin")->required();
  user_add->add_option("--username", username, "3-32 of a-z 0-9 . _ -")->required();

  auto* user_password = user->add_subcommand(
      "password", "Change a user's password: the current one, then the new one (typed twice on "
                  "a terminal; two lines on stdin)");
  user_password->add_option("--data", data, "The library's data directory")->required();
  user_password->add_option("--username", username, "The user")->required();

  auto* demo = app.add_subcommand("demo", "Demonstration data");
  demo->require_subcommand(1);
  carrel::SeedOptions seed;
  auto* seed_cmd = demo->add_subcommand("seed", "Fill an empty library with synthetic data");
  seed_cmd->add_option("--data", data, "The library's data directory")->required();
  seed_cmd->add_option("--patrons", seed.patrons, "Number of patrons")
      ->capture_default_str()->check(CLI::Range(int64_t{1}, int64_t{100000000}));
  seed_cmd->add_option("--items", seed.items, "Number of items")
      ->capture_default_str()->check(CLI::Range(int64_t{1}, int64_t{100000000}));
  seed_cmd->add_option("--loans", seed.history_loans, "Number of returned loans in history")
      ->capture_default_str()->check(CLI::Range(int64_t{0}, int64_t{1000000000}));
  seed_cmd->add_option("--years", seed.years, "Years of history")
      ->capture_default_str()->check(CLI::Range(1, 50));
  seed_cmd->add_option("--seed", seed.seed, "Random seed")->capture_default_str();

  std::string out_file;
  auto* backup = app.add_subcommand("backup", "Write a consistent backup of the library's data "
                                              "(no keys in it)");
  backup->add_option("--data", data, "The library's data directory")->required();
  backup->add_option("--out", out_file, "Backup file to write (must not exist)")->required();

  auto* backup_keys = app.add_subcommand(
      "backup-keys", "Write a backup of the keyring (wrapped keys; keep it apart from data "
                     "backups and no longer than the shortest retention period)");
  backup_keys->add_option("--data", data, "The library's data directory")->required();
  backup_keys->add_option("--out", out_file, "Backup file to write (must not exist)")->required();

  std::string from_file, keys_file;
  auto* restore = app.add_subcommand("restore", "Replace the library's data (and keyring) with "
                                                "backups; the server must be stopped");
  restore->add_option("--data", data, "The library's data directory")->required();
  restore->add_option("--from", from_file, "Data backup written by carrel backup")->required();
  restore->add_option("--keys", keys_file, "Keyring backup written by carrel backup-keys");

  auto* keys = app.add_subcommand("keys", "Key management");
  keys->require_subcommand(1);
  auto* rotate = keys->add_subcommand(
      "rotate-master", "Rewrap every data key under a new master key (resumable)");
  rotate->add_option("--data", data, "The library's data directory")->required();

  auto* audit = app.add_subcommand("audit", "The tamper-evident audit log");
  audit->require_subcommand(1);
  auto* audit_key = audit->add_subcommand("key", "Print the log's public verifier key");
  audit_key->add_option("--data", data, "The library's data directory")->required();
  auto* audit_head = audit->add_subcommand("head", "Sign and print the current tree head "
                                                   "(a C2SP tlog-checkpoint)");
  audit_head->add_option("--data", data, "The library's data directory")->required();
  std::string from_head, vkey, proof_file;
  auto* audit_verify = audit->add_subcommand(
      "verify", "Recompute every entry and the tree; check every signed head (needs no keys)");
  audit_verify->add_option("--data", data, "The library's data directory")->required();
  audit_verify->add_option("--from-head", from_head,
                           "An earlier signed head the log must be consistent with");
  std::string vkey_file;
  audit_verify->add_option("--key", vkey, "The log's verifier key, as carrel init printed it");
  audit_verify->add_option("--key-file", vkey_file,
                           "A file outside the data directory holding the verifier key");
  int64_t index = -1, size = 0;
  auto* audit_prove = audit->add_subcommand(
      "prove", "Write a proof (JSON) that an entry is in the log and/or that the log grew "
               "from an earlier head");
  audit_prove->add_option("--data", data, "The library's data directory")->required();
  audit_prove->add_option("--index", index, "Sequence number of the entry to prove");
  audit_prove->add_option("--size", size, "Tree size of a stored signed head (default: now)");
  audit_prove->add_option("--from-head", from_head, "Earlier signed head for a consistency proof");
  std::string witness_url, witness_store;
  auto* audit_witness = audit->add_subcommand(
      "witness", "Keep the server's signed heads elsewhere and check that the log only grew");
  audit_witness->add_option("--url", witness_url, "The server, e.g. https://library.example.org")
      ->required();
  audit_witness->add_option("--key", vkey, "The log's verifier key, as carrel init printed it")
      ->required();
  audit_witness->add_option("--store", witness_store, "Directory for the heads this witness keeps")
      ->required();
  auto* audit_check = audit->add_subcommand(
      "verify-proof", "Check a proof with nothing but the log's public key");
  audit_check->add_option("--key", vkey, "The log's verifier key (carrel audit key)")->required();
  audit_check->add_option("--proof", proof_file, "Proof file written by carrel audit prove")
      ->required();

  carrel::cli::ClientCommands client;  // login, whoami, patron, item, checkout... via the API
  client.Register(&app);
  carrel::cli::BoardCommands board;  // policy and board, via the API
  board.Register(&app);
  carrel::cli::RetentionCommands retention;  // the schedule, runs and legal holds
  retention.Register(&app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    std::fprintf(stderr, "carrel: %s (see carrel --help)\n", what.c_str());
    return kExitUsage;
  }

  if (init->parsed()) {
    auto first = carrel::Library::Init(data, profile, carrel::OperatorActor());
    if (!first.ok()) return Fail(first.status());
    std::printf("carrel: created a library in %s\n", data.c_str());
    std::printf("carrel: user %s (administrator), password: %s\n",
                first->admin_username.c_str(), first->admin_password.c_str());
    std::printf("carrel: user %s (Library Director), password: %s\n",
                first->director_username.c_str(), first->director_password.c_str());
    std::printf("carrel: these passwords are shown once, and are good only for choosing a new "
                "one at the first login\n");
    std::printf("carrel: audit log key: %s\n", first->audit_key.c_str());
    std::printf("carrel: keep that key, and the signed heads, where the server cannot change them\n");
    return 0;
  }
  if (serve->parsed()) return RunServe(data, listen, serve_flags);
  if (openapi->parsed()) {
    std::fputs(carrel::OpenApiDocument().c_str(), stdout);
    return 0;
  }
  if (user_add->parsed()) {
    auto role = carrel::ParseRole(role_name);
    if (!role.ok()) return Fail(role.status());
    auto password = carrel::cli::ReadNewPassword();
    if (!password.ok()) return Fail(password.status());
    auto library = carrel::Library::Open(data, carrel::SystemClock());
    if (!library.ok()) return Fail(library.status());
    // As through the API: a new password at the first login, and approval first for a role
    // that reaches patron data or signs.
    carrel::NewUserOptions options;
    options.needs_approval = true;
    options.must_change_password = true;
    auto added = (*library)->accounts().AddUser(carrel::OperatorActor(), username, *role,
                                                *password, options);
    if (!added.ok()) return Fail(added.status());
    std::printf("carrel: created %s user %s (id %lld)%s\n", role_name.c_str(), username.c_str(),
                static_cast<long long>(added->id),
                added->pending ? "; it can log in once approved (carrel's users/pending list)" : "");
    std::printf("carrel: the password is good only for choosing a new one at the first login\n");
    return 0;
  }
  if (user_password->parsed()) {
    auto current = carrel::cli::ReadPassword("Current password: ");
    if (!current.ok()) return Fail(current.status());
    auto fresh = carrel::cli::ReadNewPassword();
    if (!fresh.ok()) return Fail(fresh.status());
    auto library = carrel::Library::Open(data, carrel::SystemClock());
    if (!library.ok()) return Fail(library.status());
    auto users = (*library)->accounts().ListUsers(carrel::OperatorActor());
    if (!users.ok()) return Fail(users.status());
    int64_t id = 0;
    for (const carrel::User& u : *users) {
      if (u.username == username) id = u.id;
    }
    if (id == 0) return Fail(carrel::NotFound("no user " + username));
    carrel::Status s = (*library)->accounts().ChangePassword(id, *current, *fresh);
    if (!s.ok()) return Fail(s);
    std::printf("carrel: the password of %s is changed\n", username.c_str());
    return 0;
  }
  if (seed_cmd->parsed()) {
    auto library = carrel::Library::Open(data, carrel::SystemClock());
    if (!library.ok()) return Fail(library.status());
    auto report = carrel::SeedDemoLibrary(**library, seed);
    if (!report.ok()) return Fail(report.status());
    Status recorded = (*library)->RecordOperation(
        carrel::OperatorActor(),
        {"library.demo_seed", "library", "", "",
         "{\"patrons\":" + std::to_string(report->patrons) + ",\"history_loans\":" +
             std::to_string(report->history_loans) + "}"});
    if (!recorded.ok()) return Fail(recorded);
    std::printf(
        "carrel: seeded %lld patrons, %lld items, %lld returned loans, %lld current loans, "
        "%lld holds, %lld fines in %.1fs\n",
        static_cast<long long>(report->patrons), static_cast<long long>(report->items),
        static_cast<long long>(report->history_loans),
        static_cast<long long>(report->active_loans), static_cast<long long>(report->holds),
        static_cast<long long>(report->fines), report->seconds);
    if (seed.demo_accounts) {
      std::printf("carrel: demo logins (password %s): desk (front desk), demo-director, counsel, "
                  "trustee (Board), demo-admin; patron portal: card 21000000000001, PIN %s\n",
                  carrel::kDemoPassword, carrel::kDemoPin);
    }
    return 0;
  }
  if (backup->parsed() || backup_keys->parsed()) {
    auto library = carrel::Library::Open(data, carrel::SystemClock());
    if (!library.ok()) return Fail(library.status());
    Status s = (*library)->RecordOperation(
        carrel::OperatorActor(),
        {backup->parsed() ? "library.backup" : "keyring.backup", "library", "", "", "{}"});
    if (s.ok()) s = backup->parsed() ? (*library)->Backup(out_file) : (*library)->BackupKeys(out_file);
    if (!s.ok()) return Fail(s);
    std::printf("carrel: wrote %s\n", out_file.c_str());
    return 0;
  }
  if (restore->parsed()) {
    std::filesystem::path keys_path = keys_file;
    auto report = carrel::Library::Restore(data, from_file, keys_file.empty() ? nullptr : &keys_path,
                                           carrel::SystemClock());
    if (!report.ok()) return Fail(report.status());
    auto reopened = carrel::Library::Open(data, carrel::SystemClock());
    if (!reopened.ok()) return Fail(reopened.status());
    Status recorded = (*reopened)->RecordOperation(
        carrel::OperatorActor(),
        {"library.restore", "library", "", "",
         "{\"patrons_shredded\":" + std::to_string(report->patrons_shredded) +
             ",\"links_unreadable\":" + std::to_string(report->links_unreadable) + "}"});
    if (!recorded.ok()) return Fail(recorded);
    std::printf("carrel: restored %s; %lld patron records were crypto-shredded since the backup "
                "and removed; %lld links are unreadable (their keys were destroyed)\n",
                data.c_str(), static_cast<long long>(report->patrons_shredded),
                static_cast<long long>(report->links_unreadable));
    return 0;
  }
  if (rotate->parsed()) {
    std::optional<carrel::Progress> progress;
    auto moved = carrel::Library::RotateMasterKey(
        data, carrel::SystemClock(), [&](int64_t done, int64_t total) {
          if (!progress) progress.emplace("rewrapping keys", total);
          progress->Set(done);
        });
    if (progress) progress->Finish();
    if (!moved.ok()) return Fail(moved.status());
    auto reopened = carrel::Library::Open(data, carrel::SystemClock());
    if (!reopened.ok()) return Fail(reopened.status());
    Status recorded = (*reopened)->RecordOperation(
        carrel::OperatorActor(),
        {"key.rotate_master", "keyring", "", "",
         "{\"rewrapped\":" + std::to_string(*moved) + "}"});
    if (!recorded.ok()) return Fail(recorded);
    std::printf("carrel: rewrapped %lld data keys under a new master key\n",
                static_cast<long long>(*moved));
    return 0;
  }
  if (audit_key->parsed()) return carrel::cli::AuditKey(data);
  if (audit_head->parsed()) return carrel::cli::AuditHead(data);
  if (audit_verify->parsed()) return carrel::cli::AuditVerify(data, from_head, vkey, vkey_file);
  if (audit_prove->parsed()) return carrel::cli::AuditProve(data, index, size, from_head);
  if (audit_check->parsed()) return carrel::cli::AuditVerifyProof(vkey, proof_file);
  if (audit_witness->parsed()) {
    return carrel::cli::AuditWitness(witness_url, vkey, witness_store);
  }
  if (std::optional<int> code = client.RunParsed()) return *code;
  if (std::optional<int> code = board.RunParsed()) return *code;
  if (std::optional<int> code = retention.RunParsed()) return *code;
  return kExitUsage;
}
