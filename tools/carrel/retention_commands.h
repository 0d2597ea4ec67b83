#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "tools/carrel/commands.h"

namespace carrel::cli {

// carrel retention show|sign|plan|run|history|accounts and carrel retention hold
// place|release|list: the Director's schedule and the retention engine, on a data directory.
class RetentionCommands : public CommandGroup {
 public:
  RetentionCommands() = default;
  RetentionCommands(const RetentionCommands&) = delete;
  RetentionCommands& operator=(const RetentionCommands&) = delete;

  // Adds the subcommands to `app`; options are bound to this object, which must outlive the
  // parse.
  void Register(CLI::App* app) override;
  // Runs the retention subcommand that was parsed, or nullopt if none was.
  std::optional<int> RunParsed() override;

 private:
  int Show();
  int Sign();
  int Plan();
  int Run();
  int History();
  int Accounts();
  int HoldPlace();
  int HoldRelease();
  int HoldList();

  std::string data_, username_, reason_, file_, from_, to_;
  int64_t patron_id_ = 0, hold_id_ = 0;
  bool no_reclaim_ = false, all_ = false;
  CLI::App *show_ = nullptr, *sign_ = nullptr, *plan_ = nullptr, *run_ = nullptr,
           *history_ = nullptr, *accounts_ = nullptr, *hold_place_ = nullptr,
           *hold_release_ = nullptr, *hold_list_ = nullptr;
};

}  // namespace carrel::cli
