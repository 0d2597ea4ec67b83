#pragma once

// The carrel command as an API client: login, logout, whoami, patron, item, checkout, checkin
// and renew. Library work goes only through a running server's API, authenticated by the
// token that `carrel login` stores, so the server stays the one point that enforces roles.

#include <CLI/CLI.hpp>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "carrel/status.h"
#include "tools/carrel/commands.h"

namespace carrel::cli {

// Where `carrel login` keeps its token: $CARREL_CONFIG_DIR/credentials.json, else
// $XDG_CONFIG_HOME/carrel/credentials.json, else $HOME/.config/carrel/credentials.json.
StatusOr<std::filesystem::path> CredentialsPath();

// Checks a server address ("http://host:port" or "https://host[:port]", an optional
// trailing slash) and returns it without the slash. Plain HTTP is accepted on loopback only.
StatusOr<std::string> NormalizeServerUrl(const std::string& url);

// The client subcommands, their options, and how to run the one that was given.
class ClientCommands : public CommandGroup {
 public:
  ClientCommands() = default;
  ClientCommands(const ClientCommands&) = delete;
  ClientCommands& operator=(const ClientCommands&) = delete;

  // Adds the client subcommands to `app`. The options are bound to this object, which must
  // outlive the parse.
  void Register(CLI::App* app) override;

  // Runs the client subcommand that was parsed and returns its exit status, or nullopt if
  // the command line named none of them.
  std::optional<int> RunParsed() override;

 private:
  void RegisterSession(CLI::App* app);
  void RegisterPatrons(CLI::App* app);
  void RegisterCirculation(CLI::App* app);
  void RegisterRequests(CLI::App* app);
  int Login();
  int Logout();
  int WhoAmI();
  int PatronFind();
  int PatronShow();
  int PatronPinReset();
  int PatronAdd();
  int Checkout();
  int Checkin();
  int Renew();
  int ItemAdd();
  int ItemFind();
  int RequestSteps();
  int RequestList();
  int RequestShow();
  int RequestIntake();
  int RequestAct();

  CLI::App* login_ = nullptr;
  CLI::App* logout_ = nullptr;
  CLI::App* whoami_ = nullptr;
  CLI::App* patron_find_ = nullptr;
  CLI::App* patron_show_ = nullptr;
  CLI::App* patron_pin_reset_ = nullptr;
  CLI::App* patron_add_ = nullptr;
  CLI::App* checkout_ = nullptr;
  CLI::App* checkin_ = nullptr;
  CLI::App* renew_ = nullptr;
  CLI::App* item_add_ = nullptr;
  CLI::App* item_find_ = nullptr;
  CLI::App* request_steps_ = nullptr;
  CLI::App* request_list_ = nullptr;
  CLI::App* request_show_ = nullptr;
  CLI::App* request_intake_ = nullptr;
  CLI::App* request_act_ = nullptr;

  // Option values; each subcommand binds the ones it takes.
  std::string server_;
  bool json_ = false;
  std::string username_;
  std::string card_;
  std::string email_;
  std::string name_;
  std::string phone_;
  std::string address_;
  std::string expires_;
  bool juvenile_ = false;
  int64_t patron_id_ = 0;
  std::string item_;
  std::string title_;
  std::string author_;
  std::string call_number_;
  std::string item_type_;
  std::string reference_;
  std::string step_;
  std::string file_;
  bool sign_ = false;
};

}  // namespace carrel::cli
