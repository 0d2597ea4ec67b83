#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "carrel/demo.h"
#include "carrel/koha_import.h"
#include "tools/carrel/commands.h"

namespace carrel::cli {

// How `carrel serve` listens and what it lets in.
struct ServeFlags {
  std::string listen = "127.0.0.1:8080";
  std::string tls_cert, tls_key;
  bool insecure_http = false;
  std::vector<std::string> trusted_proxies;
  size_t max_connections = 2048;
  size_t max_connections_per_client = 128;
  int workers = 0;  // 0: the server's default
  int logins_per_minute = 20;
  // SIP2 for kiosks: off unless an address is given; TLS unless --sip2-plain (or loopback).
  std::string sip2_listen;
  std::vector<std::string> sip2_tls;  // certificate, key
  bool sip2_plain = false;
};

// Serves the library in `data` until SIGINT or SIGTERM (serve.cc).
int RunServe(const std::string& data, const ServeFlags& flags);

// The commands that work on a data directory itself: init, serve, openapi, user add|password,
// demo seed, import koha, backup, backup-keys, restore and keys rotate-master.
class LibraryCommands : public CommandGroup {
 public:
  void Register(CLI::App* app) override;
  std::optional<int> RunParsed() override { return table_.RunParsed(); }

 private:
  void RegisterServe(CLI::App* app);
  void RegisterAccountsAndDemo(CLI::App* app);
  void RegisterFiles(CLI::App* app);
  void RegisterImport(CLI::App* app);
  int Init();
  int MigrateStore();
  int Serve();
  int OpenApi();
  int UserAdd();
  int UserPassword();
  int Seed();
  int ImportKoha();
  int Backup(bool keys);
  int Restore();
  int RotateMasterKey();

  CommandTable table_;
  std::string data_, profile_, role_, username_, out_, from_, keys_, location_;
  bool accept_old_keys_ = false;
  Library::InitOptions where_;
  Library::InitOptions
      move_to_;  // migrate-store  // init: two PostgreSQL databases, or none (SQLite files)
  ServeFlags serve_;
  SeedOptions seed_;
  KohaImportOptions import_;
  std::string import_report_ = "koha-import-report.txt", import_encoding_ = "utf-8";
  std::vector<std::string> import_item_types_;
};

// carrel audit key|head|verify|prove|witness|verify-proof (audit_commands.cc).
class AuditCommands : public CommandGroup {
 public:
  void Register(CLI::App* app) override;
  std::optional<int> RunParsed() override { return table_.RunParsed(); }

 private:
  CommandTable table_;
  std::string data_, from_head_, vkey_, vkey_file_, proof_file_, url_, store_;
  int64_t index_ = -1, size_ = 0;
};

}  // namespace carrel::cli
