// The carrel command: a thin layer over the core library, its commands a table of groups (each
// group's subcommands are rows of its own CommandTable). Every failure prints one line
// "carrel: <reason>" on stderr and exits non-zero; no patron data is ever printed in errors.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "tools/carrel/board_client.h"
#include "tools/carrel/client.h"
#include "tools/carrel/commands.h"
#include "tools/carrel/library_commands.h"
#include "tools/carrel/retention_commands.h"

int main(int argc, char** argv) {
  using namespace carrel::cli;
  CLI::App app{"carrel: a library records system that keeps the library's privacy promises",
               "carrel"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(CARREL_VERSION));

  // On a data directory: init, serve, openapi, user, demo, backup, restore, keys; the audit
  // log; the retention engine. Through a running server's API: login, whoami, patron, item,
  // checkout, request...; policy and board.
  std::vector<std::unique_ptr<CommandGroup>> groups;
  groups.push_back(std::make_unique<LibraryCommands>());
  groups.push_back(std::make_unique<AuditCommands>());
  groups.push_back(std::make_unique<ClientCommands>());
  groups.push_back(std::make_unique<BoardCommands>());
  groups.push_back(std::make_unique<RetentionCommands>());
  for (auto& group : groups) group->Register(&app);

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

  for (auto& group : groups) {
    if (std::optional<int> code = group->RunParsed()) return *code;
  }
  return kExitUsage;
}
