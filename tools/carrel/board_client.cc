// `carrel policy ...` and `carrel board ...`: the Board of Trustees' work (policy §5, §6)
// through the server, which checks the role, asks the signer's password and audits.

#include "tools/carrel/board_client.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "tools/carrel/client_support.h"
#include "tools/carrel/commands.h"

namespace carrel::cli {
namespace {

std::string Text(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

StatusOr<std::string> ReadTextFile(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return NotFound("cannot read " + file);
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().empty()) return InvalidArgument(file + " is empty");
  return text.str();
}

void PrintProposal(const Json& p) {
  std::printf("proposal %s  %s  %s\n", Text(p, "id").c_str(), Text(p, "event").c_str(),
              Text(p, "state").c_str());
  std::printf("title     %s\nsummary   %s\n", Text(p, "title").c_str(), Text(p, "summary").c_str());
  for (const Json& b : p["ballots"]) {
    std::printf("  %-20s %s  %s\n", Text(b, "member").c_str(), Text(b, "vote").c_str(),
                Text(b, "cast_at").c_str());
  }
  if (!Text(p, "version").empty()) std::printf("in force as version %s\n", Text(p, "version").c_str());
}

void PrintReview(const Json& r) {
  std::printf("review %s  %s %s  %s\n", Text(r, "id").c_str(), Text(r, "subject").c_str(),
              Text(r, "subject_id").c_str(), Text(r, "case").c_str());
  std::printf("opened    %s\nreason    %s\n", Text(r, "opened_at").c_str(),
              Text(r, "reason").c_str());
  for (const Json& c : r["comments"]) {
    std::printf("  %s %s: %s\n", Text(c, "at").c_str(), Text(c, "author").c_str(),
                Text(c, "text").c_str());
  }
  std::string outcome = Text(r, "outcome");
  std::printf("ruling    %s\n", outcome.empty() ? "(open)" : (outcome + " at " +
                                                              Text(r, "decided_at") + ": " +
                                                              Text(r, "explanation"))
                                                             .c_str());
}

StatusOr<std::string> Password() { return ReadPassword("Password (to sign): "); }

}  // namespace

void BoardCommands::Register(CLI::App* app) {
  auto* policy = app->add_subcommand("policy", "The policy: its versions, and amendments by the "
                                               "Board's vote (policy §6), through the server");
  policy->require_subcommand(1);
  policy_show_ = policy->add_subcommand("show", "Print the policy in force (or --version LABEL)");
  policy_show_->add_option("--version", label_, "A version's label (carrel policy history)");
  AddCommon(policy_show_, &server_, &json_);
  policy_history_ = policy->add_subcommand("history", "Every version: adopted, amended, "
                                                      "re-endorsed, with the vote");
  AddCommon(policy_history_, &server_, &json_);
  policy_diff_ = policy->add_subcommand("diff", "What a version changed from the one before");
  policy_diff_->add_option("VERSION", label_, "The version's label")->required();
  AddCommon(policy_diff_, &server_, &json_);
  policy_propose_ = policy->add_subcommand("propose", "Propose an amended text (Board members)");
  policy_propose_->add_option("--text", text_file_, "The whole amended policy, a text file")
      ->required();
  policy_propose_->add_option("--title", title_, "The policy's title")->required();
  policy_propose_->add_option("--summary", summary_, "What the amendment changes, in words")
      ->required();
  policy_propose_->add_flag("--re-endorse", re_endorse_,
                            "A re-endorsement of the text in force, unchanged");
  AddCommon(policy_propose_, &server_, &json_);
  policy_proposals_ = policy->add_subcommand("proposals", "Proposals and their ballots");
  AddCommon(policy_proposals_, &server_, &json_);
  policy_vote_ = policy->add_subcommand("vote", "Cast your signed ballot on a proposal");
  policy_vote_->add_option("PROPOSAL", id_, "The proposal's number")->required();
  policy_vote_->add_option("VOTE", vote_, "for, against or abstain")->required();
  AddCommon(policy_vote_, &server_, &json_);
  policy_close_ = policy->add_subcommand(
      "close", "Close the vote: adopted by a majority of those voting, in force at once");
  policy_close_->add_option("PROPOSAL", id_, "The proposal's number")->required();
  policy_close_->add_option("--meeting-date", date_, "The date of the vote, YYYY-MM-DD")
      ->required();
  AddCommon(policy_close_, &server_, &json_);

  auto* board = app->add_subcommand("board", "The Board of Trustees' review of decisions "
                                             "(policy §5), through the server");
  board->require_subcommand(1);
  board_decisions_ = board->add_subcommand("decisions", "Every decision the Board may review");
  AddCommon(board_decisions_, &server_, &json_);
  board_reviews_ = board->add_subcommand("reviews", "The Board's reviews, open and ruled");
  AddCommon(board_reviews_, &server_, &json_);
  auto* review = board->add_subcommand("review", "Open, read, comment on and rule on a review");
  review->require_subcommand(1);
  review_open_ = review->add_subcommand("open", "Open a review");
  review_open_->add_option("SUBJECT", subject_,
                           "decision, decline, retention_schedule or appointment")
      ->required();
  review_open_->add_option("ID", id_, "Its number (carrel board decisions)")->required();
  review_open_->add_option("--reason", text_, "Why the Board reviews it");
  AddCommon(review_open_, &server_, &json_);
  review_show_ = review->add_subcommand("show", "Show a review");
  review_show_->add_option("REVIEW", id_, "The review's number")->required();
  AddCommon(review_show_, &server_, &json_);
  review_comment_ = review->add_subcommand("comment", "Comment on an open review");
  review_comment_->add_option("REVIEW", id_, "The review's number")->required();
  review_comment_->add_option("--text", text_, "The comment")->required();
  AddCommon(review_comment_, &server_, &json_);
  review_rule_ = review->add_subcommand("rule", "Rule: affirm, reverse or comment (signed)");
  review_rule_->add_option("REVIEW", id_, "The review's number")->required();
  review_rule_->add_option("OUTCOME", outcome_, "affirm, reverse or comment")->required();
  review_rule_->add_option("--explanation", text_, "The Board's reasons")->required();
  AddCommon(review_rule_, &server_, &json_);
}

std::optional<int> BoardCommands::RunParsed() {
  const std::pair<CLI::App*, int (BoardCommands::*)()> commands[] = {
      {policy_show_, &BoardCommands::PolicyShow},
      {policy_history_, &BoardCommands::PolicyHistory},
      {policy_diff_, &BoardCommands::PolicyDiff},
      {policy_propose_, &BoardCommands::PolicyPropose},
      {policy_proposals_, &BoardCommands::PolicyProposals},
      {policy_vote_, &BoardCommands::PolicyVote},
      {policy_close_, &BoardCommands::PolicyClose},
      {board_decisions_, &BoardCommands::BoardDecisions},
      {board_reviews_, &BoardCommands::BoardReviews},
      {review_open_, &BoardCommands::ReviewOpen},
      {review_show_, &BoardCommands::ReviewShow},
      {review_comment_, &BoardCommands::ReviewComment},
      {review_rule_, &BoardCommands::ReviewRule}};
  for (const auto& [command, run] : commands) {
    if (command != nullptr && command->parsed()) return (this->*run)();
  }
  return std::nullopt;
}

int BoardCommands::PolicyShow() {
  std::string path = label_.empty() ? "/api/v1/policy"
                                    : "/api/v1/policy/versions/" + PathSegment(label_);
  return Run(server_, json_, "GET", path, std::nullopt, [](const Json& reply, const std::string&) {
    std::string label = Text(reply, reply.contains("label") ? "label" : "version");
    std::printf("%s (version %s)\n\n", Text(reply, "title").c_str(), label.c_str());
    if (reply["text"].is_null()) {
      std::printf("(the library holds no copy of this version's text)\n");
    } else {
      std::printf("%s\n", Text(reply, "text").c_str());
    }
  });
}

int BoardCommands::PolicyHistory() {
  return Run(server_, json_, "GET", "/api/v1/policy/versions", std::nullopt,
             [](const Json& reply, const std::string&) {
               std::vector<std::vector<std::string>> rows;
               for (const Json& v : reply["versions"]) {
                 std::string vote;
                 if (v["vote"].contains("for")) {
                   vote = std::to_string(v["vote"]["for"].size()) + " for, " +
                          std::to_string(v["vote"]["against"].size()) + " against, " +
                          std::to_string(v["vote"]["abstain"].size()) + " abstaining";
                 }
                 rows.push_back({Text(v, "label"), Text(v, "event"), Text(v, "effective_on"),
                                 v["text_on_file"].get<bool>() ? "yes" : "no", vote});
               }
               PrintTable({"VERSION", "EVENT", "DATE", "TEXT", "VOTE"}, rows);
             });
}

int BoardCommands::PolicyDiff() {
  return Run(server_, json_, "GET",
             "/api/v1/policy/versions/" + PathSegment(label_) + "/changes", std::nullopt,
             [](const Json& reply, const std::string&) {
               if (reply["unchanged"].get<bool>()) {
                 std::printf("version %s left the text unchanged\n", Text(reply, "version").c_str());
                 return;
               }
               for (const Json& l : reply["lines"]) {
                 if (Text(l, "op") != " ") {
                   std::printf("%s %s\n", Text(l, "op").c_str(), Text(l, "text").c_str());
                 }
               }
             });
}

int BoardCommands::PolicyPropose() {
  auto text = ReadTextFile(text_file_);
  if (!text.ok()) return Fail(text.status());
  Json body = {{"event", re_endorse_ ? "re-endorsed" : "amended"},
               {"title", title_},
               {"text", *text},
               {"summary", summary_}};
  return Run(server_, json_, "POST", "/api/v1/policy/proposals", body,
             [](const Json& reply, const std::string&) { PrintProposal(reply); });
}

int BoardCommands::PolicyProposals() {
  return Run(server_, json_, "GET", "/api/v1/policy/proposals", std::nullopt,
             [](const Json& reply, const std::string&) {
               std::vector<std::vector<std::string>> rows;
               for (const Json& p : reply["proposals"]) {
                 rows.push_back({Text(p, "id"), Text(p, "event"), Text(p, "state"),
                                 std::to_string(p["ballots"].size()), Text(p, "title")});
               }
               PrintTable({"PROPOSAL", "EVENT", "STATE", "BALLOTS", "TITLE"}, rows);
             });
}

int BoardCommands::PolicyVote() {
  auto password = Password();
  if (!password.ok()) return Fail(password.status());
  return Run(server_, json_, "POST",
             "/api/v1/policy/proposals/" + std::to_string(id_) + "/ballots",
             Json{{"vote", vote_}, {"password", *password}},
             [](const Json& reply, const std::string&) { PrintProposal(reply); });
}

int BoardCommands::PolicyClose() {
  auto password = Password();
  if (!password.ok()) return Fail(password.status());
  return Run(server_, json_, "POST", "/api/v1/policy/proposals/" + std::to_string(id_) + "/close",
             Json{{"meeting_date", date_}, {"password", *password}},
             [](const Json& reply, const std::string&) { PrintProposal(reply); });
}

int BoardCommands::BoardDecisions() {
  return Run(server_, json_, "GET", "/api/v1/board/decisions", std::nullopt,
             [](const Json& reply, const std::string&) {
               std::vector<std::vector<std::string>> rows;
               for (const Json& d : reply["decisions"]) {
                 std::string ruling = d["board_ruling"].is_null()
                                          ? (d["open_review"].get<int64_t>() != 0 ? "under review"
                                                                                   : "")
                                          : Text(d["board_ruling"], "outcome");
                 rows.push_back({Text(d, "subject"), Text(d, "subject_id"), Text(d, "case"),
                                 Text(d, "what"), Text(d, "at"), ruling});
               }
               PrintTable({"SUBJECT", "ID", "CASE", "WHAT", "WHEN", "BOARD"}, rows);
             });
}

int BoardCommands::BoardReviews() {
  return Run(server_, json_, "GET", "/api/v1/board/reviews", std::nullopt,
             [](const Json& reply, const std::string&) {
               std::vector<std::vector<std::string>> rows;
               for (const Json& r : reply["reviews"]) {
                 rows.push_back({Text(r, "id"), Text(r, "subject"), Text(r, "subject_id"),
                                 Text(r, "case"), Text(r, "opened_at"),
                                 r["outcome"].is_null() ? "(open)" : Text(r, "outcome")});
               }
               PrintTable({"REVIEW", "SUBJECT", "ID", "CASE", "OPENED", "RULING"}, rows);
             });
}

int BoardCommands::ReviewOpen() {
  return Run(server_, json_, "POST", "/api/v1/board/reviews",
             Json{{"subject", subject_}, {"subject_id", id_}, {"reason", text_}},
             [](const Json& reply, const std::string&) { PrintReview(reply); });
}

int BoardCommands::ReviewShow() {
  return Run(server_, json_, "GET", "/api/v1/board/reviews/" + std::to_string(id_), std::nullopt,
             [](const Json& reply, const std::string&) { PrintReview(reply); });
}

int BoardCommands::ReviewComment() {
  return Run(server_, json_, "POST", "/api/v1/board/reviews/" + std::to_string(id_) + "/comments",
             Json{{"text", text_}},
             [](const Json& reply, const std::string&) { PrintReview(reply); });
}

int BoardCommands::ReviewRule() {
  auto password = Password();
  if (!password.ok()) return Fail(password.status());
  return Run(server_, json_, "POST", "/api/v1/board/reviews/" + std::to_string(id_) + "/ruling",
             Json{{"outcome", outcome_}, {"explanation", text_}, {"password", *password}},
             [](const Json& reply, const std::string&) { PrintReview(reply); });
}

}  // namespace carrel::cli
