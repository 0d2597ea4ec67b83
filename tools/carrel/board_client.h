#pragma once

// The Board's commands and the policy's, through the server's API: `carrel policy ...` (the
// policy in force, its versions and changes, amendments and votes) and `carrel board ...`
// (decisions to review, reviews, comments, rulings). Signed steps ask for the password.

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "tools/carrel/commands.h"

namespace carrel::cli {

class BoardCommands : public CommandGroup {
 public:
  BoardCommands() = default;
  BoardCommands(const BoardCommands&) = delete;
  BoardCommands& operator=(const BoardCommands&) = delete;

  void Register(CLI::App* app) override;
  std::optional<int> RunParsed() override;

 private:
  int PolicyShow();
  int PolicyHistory();
  int PolicyDiff();
  int PolicyPropose();
  int PolicyProposals();
  int PolicyVote();
  int PolicyClose();
  int BoardDecisions();
  int BoardReviews();
  int ReviewOpen();
  int ReviewShow();
  int ReviewComment();
  int ReviewRule();

  CLI::App* policy_show_ = nullptr;
  CLI::App* policy_history_ = nullptr;
  CLI::App* policy_diff_ = nullptr;
  CLI::App* policy_propose_ = nullptr;
  CLI::App* policy_proposals_ = nullptr;
  CLI::App* policy_vote_ = nullptr;
  CLI::App* policy_close_ = nullptr;
  CLI::App* board_decisions_ = nullptr;
  CLI::App* board_reviews_ = nullptr;
  CLI::App* review_open_ = nullptr;
  CLI::App* review_show_ = nullptr;
  CLI::App* review_comment_ = nullptr;
  CLI::App* review_rule_ = nullptr;

  std::string server_;
  bool json_ = false;
  std::string label_;
  std::string text_file_;
  std::string title_;
  std::string summary_;
  bool re_endorse_ = false;
  int64_t id_ = 0;
  std::string vote_;
  std::string date_;
  std::string subject_;
  std::string text_;
  std::string outcome_;
};

}  // namespace carrel::cli
