// carrel retention ...: the schedule, plans, runs and legal holds, on the data directory.

#include "tools/carrel/retention_commands.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "carrel/library.h"
#include "carrel/progress.h"
#include "tools/carrel/commands.h"

namespace carrel::cli {
namespace {

StatusOr<std::unique_ptr<Library>> OpenLibrary(const std::string& data) {
  return Library::Open(data, SystemClock());
}

// The user called `username`, who must be the Director to sign.
StatusOr<User> FindUser(Library& lib, const std::string& username) {
  CARREL_ASSIGN_OR_RETURN(std::vector<User> users, lib.accounts().ListUsers(OperatorActor()));
  for (const User& u : users) {
    if (u.username == username) return u;
  }
  return NotFound("no user called " + username);
}

Actor ActorOf(const User& u) { return Actor{"user/" + std::to_string(u.id), std::string(RoleName(u.role))}; }

void PrintCounts(const std::vector<RetentionCount>& counts) {
  std::printf("%-20s %6s %10s %8s %8s %6s\n", "category", "days", "remove", "held", "listed",
              "keys");
  for (const RetentionCount& c : counts) {
    std::printf("%-20s %6d %10lld %8lld %8lld %6lld\n", c.category.c_str(), c.days,
                static_cast<long long>(c.due), static_cast<long long>(c.held),
                static_cast<long long>(c.listed), static_cast<long long>(c.keys));
  }
}

void PrintSchedule(const RetentionSchedule& s) {
  for (const RetentionCategory& c : RetentionCategories()) {
    std::printf("  %-20s %5d days after %s\n", std::string(c.name).c_str(), s.Days(c.name),
                std::string(c.trigger).c_str());
  }
}

StatusOr<std::optional<Date>> OptionalDate(const std::string& text) {
  if (text.empty()) return std::optional<Date>();
  CARREL_ASSIGN_OR_RETURN(Date d, ParseDate(text));
  return std::optional<Date>(d);
}

}  // namespace

void RetentionCommands::Register(CLI::App* app) {
  auto* retention = app->add_subcommand("retention", "The retention schedule, runs and legal holds");
  retention->require_subcommand(1);
  auto data_option = [&](CLI::App* cmd) {
    cmd->add_option("--data", data_, "Library data directory")->required();
  };
  show_ = retention->add_subcommand("show", "Print the schedule in force (or the profile's "
                                            "proposal when none is signed)");
  data_option(show_);
  sign_ = retention->add_subcommand("sign", "Sign a new schedule version as the Director "
                                            "(password asked)");
  data_option(sign_);
  sign_->add_option("--username", username_, "The Director's username")->required();
  sign_->add_option("--reason", reason_, "Why the schedule is adopted or changed")->required();
  sign_->add_option("--file", file_, "Schedule JSON (default: the profile's proposal)");
  plan_ = retention->add_subcommand("plan", "Count what a run would remove now (no PII)");
  data_option(plan_);
  run_ = retention->add_subcommand("run", "Remove what is past its period, then reclaim space");
  data_option(run_);
  run_->add_flag("--no-reclaim", no_reclaim_, "Leave dead ciphertext for the server to reclaim");
  history_ = retention->add_subcommand("history", "List past runs");
  data_option(history_);
  accounts_ = retention->add_subcommand(
      "accounts", "Patron accounts past their period kept for items out or fines owed");
  data_option(accounts_);
  auto* hold = retention->add_subcommand("hold", "Legal holds");
  hold->require_subcommand(1);
  hold_place_ = hold->add_subcommand("place", "Place a legal hold (the Director, password asked)");
  data_option(hold_place_);
  hold_place_->add_option("--username", username_, "The Director's username")->required();
  hold_place_->add_option("--patron-id", patron_id_, "The patron's id")->required();
  hold_place_->add_option("--from", from_, "First trigger day covered (YYYY-MM-DD)");
  hold_place_->add_option("--to", to_, "Last trigger day covered (YYYY-MM-DD)");
  hold_place_->add_option("--reason", reason_, "Why (kept sealed; no patron names)")->required();
  hold_release_ = hold->add_subcommand("release", "Release a legal hold (the Director)");
  data_option(hold_release_);
  hold_release_->add_option("--username", username_, "The Director's username")->required();
  hold_release_->add_option("--id", hold_id_, "The hold's number")->required();
  hold_list_ = hold->add_subcommand("list", "List standing legal holds");
  data_option(hold_list_);
  hold_list_->add_flag("--all", all_, "Include released holds");
}

std::optional<int> RetentionCommands::RunParsed() {
  if (show_->parsed()) return Show();
  if (sign_->parsed()) return Sign();
  if (plan_->parsed()) return Plan();
  if (run_->parsed()) return Run();
  if (history_->parsed()) return History();
  if (accounts_->parsed()) return Accounts();
  if (hold_place_->parsed()) return HoldPlace();
  if (hold_release_->parsed()) return HoldRelease();
  if (hold_list_->parsed()) return HoldList();
  return std::nullopt;
}

int RetentionCommands::Show() {
  auto lib = OpenLibrary(data_);
  if (!lib.ok()) return Fail(lib.status());
  auto current = (*lib)->retention().Current(OperatorActor());
  if (current.status().code() == StatusCode::kNotFound) {
    std::printf("No retention schedule is in force: nothing is deleted until the Director signs "
                "one (carrel retention sign). The profile proposes:\n");
    PrintSchedule(ScheduleFromProfile((*lib)->profile()));
    return 0;
  }
  if (!current.ok()) return Fail(current.status());
  std::printf("Retention schedule version %lld, signed by %s on %s (\"%s\"):\n",
              static_cast<long long>(current->version), current->signer.c_str(),
              FormatInstant(current->signed_at).c_str(), current->reason.c_str());
  PrintSchedule(current->schedule);
  return 0;
}

int RetentionCommands::Sign() {
  auto lib = OpenLibrary(data_);
  if (!lib.ok()) return Fail(lib.status());
  RetentionSchedule schedule = ScheduleFromProfile((*lib)->profile());
  if (!file_.empty()) {
    std::ifstream in(file_);
    if (!in) return Fail(NotFound("cannot read " + file_));
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = ParseSchedule(text.str());
    if (!parsed.ok()) return Fail(parsed.status());
    schedule = *parsed;
  }
  auto user = FindUser(**lib, username_);
  if (!user.ok()) return Fail(user.status());
  auto password = ReadPassword("Password: ");
  if (!password.ok()) return Fail(password.status());
  auto v = (*lib)->retention().SignSchedule(ActorOf(*user), user->id, *password, schedule, reason_);
  if (!v.ok()) return Fail(v.status());
  std::printf("carrel: retention schedule version %lld is in force\n",
              static_cast<long long>(v->version));
  return 0;
}

int RetentionCommands::Plan() {
  auto lib = OpenLibrary(data_);
  if (!lib.ok()) return Fail(lib.status());
  auto plan = (*lib)->retention().Plan(OperatorActor());
  if (!plan.ok()) return Fail(plan.status());
  std::printf("Retention plan for %s under schedule version %lld:\n",
              FormatDate(plan->today).c_str(), static_cast<long long>(plan->schedule_version));
  PrintCounts(plan->counts);
  std::printf("Unreadable link ciphertexts awaiting reclaim: %lld\n",
              static_cast<long long>(plan->awaiting_reclaim));
  return 0;
}

int RetentionCommands::Run() {
  auto lib = OpenLibrary(data_);
  if (!lib.ok()) return Fail(lib.status());
  std::optional<Progress> progress;
  auto run = (*lib)->retention().Run(OperatorActor(), [&](int64_t done, int64_t total) {
    if (!progress) progress.emplace("retention", total);
    progress->Set(done);
  });
  if (progress) progress->Finish();
  if (!run.ok()) return Fail(run.status());
  std::printf("carrel: retention run %lld under schedule version %lld: %zu keys destroyed in "
              "%.2fs\n",
              static_cast<long long>(run->id), static_cast<long long>(run->schedule_version),
              run->destroyed_keys.size(), run->seconds);
  PrintCounts(run->counts);
  if (no_reclaim_) return 0;
  auto plan = (*lib)->retention().Plan(OperatorActor());
  if (!plan.ok()) return Fail(plan.status());
  if (plan->awaiting_reclaim == 0) return 0;
  Progress reclaim("reclaiming", plan->awaiting_reclaim);
  int64_t cleared = 0;
  for (;;) {
    auto n = (*lib)->retention().Reclaim(kReclaimBatchRows);
    if (!n.ok()) return Fail(n.status());
    if (*n == 0) break;
    cleared += *n;
    reclaim.Set(cleared);
  }
  reclaim.Finish();
  std::printf("carrel: cleared %lld unreadable link ciphertexts\n", static_cast<long long>(cleared));
  return 0;
}

int RetentionCommands::History() {
  auto lib = OpenLibrary(data_);
  if (!lib.ok()) return Fail(lib.status());
  auto runs = (*lib)->retention().Runs(OperatorActor());
  if (!runs.ok()) return Fail(runs.status());
  for (const RetentionRun& r : *runs) {
    int64_t removed = 0, held = 0;
    for (const RetentionCount& c : r.counts) {
      removed += c.due;
      held += c.held;
    }
    std::printf("run %lld  %s  schedule v%lld  %s  removed %lld, held %lld, keys destroyed %zu, "
                "%.2fs\n",
                static_cast<long long>(r.id), FormatDate(r.day).c_str(),
                static_cast<long long>(r.schedule_version),
                r.finished_at ? "finished" : "unfinished", static_cast<long long>(removed),
                static_cast<long long>(held), r.destroyed_keys.size(), r.seconds);
  }
  if (runs->empty()) std::printf("no retention runs yet\n");
  return 0;
}

int RetentionCommands::Accounts() {
  auto lib = OpenLibrary(data_);
  if (!lib.ok()) return Fail(lib.status());
  auto list = (*lib)->retention().AccountsToSettle(OperatorActor());
  if (!list.ok()) return Fail(list.status());
  for (const AccountToSettle& a : *list) {
    std::printf("patron %lld: %lld items out, %lld fines owed\n", static_cast<long long>(a.patron_id),
                static_cast<long long>(a.items_out), static_cast<long long>(a.fines_owed));
  }
  if (list->empty()) std::printf("no accounts waiting to be settled\n");
  return 0;
}

int RetentionCommands::HoldPlace() {
  auto lib = OpenLibrary(data_);
  if (!lib.ok()) return Fail(lib.status());
  LegalHold hold;
  hold.patron_id = patron_id_;
  hold.reason = reason_;
  auto from = OptionalDate(from_);
  auto to = OptionalDate(to_);
  if (!from.ok() || !to.ok()) return Fail(InvalidArgument("--from and --to are YYYY-MM-DD dates"));
  hold.from = *from;
  hold.to = *to;
  auto user = FindUser(**lib, username_);
  if (!user.ok()) return Fail(user.status());
  auto password = ReadPassword("Password: ");
  if (!password.ok()) return Fail(password.status());
  auto placed = (*lib)->retention().PlaceHold(ActorOf(*user), user->id, *password, hold);
  if (!placed.ok()) return Fail(placed.status());
  std::printf("carrel: legal hold %lld placed\n", static_cast<long long>(placed->id));
  return 0;
}

int RetentionCommands::HoldRelease() {
  auto lib = OpenLibrary(data_);
  if (!lib.ok()) return Fail(lib.status());
  auto user = FindUser(**lib, username_);
  if (!user.ok()) return Fail(user.status());
  auto password = ReadPassword("Password: ");
  if (!password.ok()) return Fail(password.status());
  Status s = (*lib)->retention().ReleaseHold(ActorOf(*user), user->id, *password, hold_id_);
  if (!s.ok()) return Fail(s);
  std::printf("carrel: legal hold %lld released; its records go at the next run if past their "
              "period\n",
              static_cast<long long>(hold_id_));
  return 0;
}

int RetentionCommands::HoldList() {
  auto lib = OpenLibrary(data_);
  if (!lib.ok()) return Fail(lib.status());
  auto holds = (*lib)->retention().Holds(OperatorActor(), all_);
  if (!holds.ok()) return Fail(holds.status());
  for (const LegalHold& h : *holds) {
    std::printf("hold %lld  patron %lld  %s..%s  %s  placed %s  %s\n",
                static_cast<long long>(h.id), static_cast<long long>(h.patron_id),
                h.from ? FormatDate(*h.from).c_str() : "", h.to ? FormatDate(*h.to).c_str() : "",
                h.released ? "released" : "standing", FormatInstant(h.placed_at).c_str(),
                h.reason.c_str());
  }
  if (holds->empty()) std::printf("no legal holds\n");
  return 0;
}

}  // namespace carrel::cli
