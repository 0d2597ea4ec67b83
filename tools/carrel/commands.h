#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "carrel/status.h"

namespace carrel::cli {

// The exit status of a command line CLI11 refused (and of a command that ran none).
inline constexpr int kExitUsage = 2;

// A group of subcommands (carrel's commands are a table of groups, tools/carrel/main.cc):
// each adds its subcommands and their options, bound to itself, and runs the one parsed.
class CommandGroup {
 public:
  virtual ~CommandGroup() = default;
  virtual void Register(CLI::App* app) = 0;
  // The exit status of the group's subcommand that was parsed; nullopt if none was.
  virtual std::optional<int> RunParsed() = 0;
};

// A group's subcommands and what runs each, as rows filled while they are registered.
class CommandTable {
 public:
  CLI::App* Add(CLI::App* parent, const std::string& name, const std::string& help,
                std::function<int()> run) {
    CLI::App* sub = parent->add_subcommand(name, help);
    rows_.emplace_back(sub, std::move(run));
    return sub;
  }
  std::optional<int> RunParsed() const {
    for (const auto& [sub, run] : rows_) {
      if (sub->parsed()) return run();
    }
    return std::nullopt;
  }

 private:
  std::vector<std::pair<CLI::App*, std::function<int()>>> rows_;
};

// Prints "carrel: <message>" on one line and returns the failure exit status.
int Fail(const Status& status);

// A new password: typed twice without echo on a terminal, or one line of stdin.
StatusOr<std::string> ReadNewPassword();
// An existing password (for signing): typed once without echo, or one line of stdin.
StatusOr<std::string> ReadPassword(const char* prompt);

int AuditKey(const std::string& data);
int AuditHead(const std::string& data);
int AuditVerify(const std::string& data, const std::string& from_head, const std::string& vkey,
                const std::string& key_file);
int AuditProve(const std::string& data, int64_t index, int64_t size, const std::string& from_head);
int AuditVerifyProof(const std::string& vkey, const std::string& proof_file);
// Fetches URL's public checkpoint, checks it with VKEY and against the head kept in STORE
// (a rollback or a fork fails with one line), then keeps it.
int AuditWitness(const std::string& url, const std::string& vkey, const std::string& store);

}  // namespace carrel::cli
