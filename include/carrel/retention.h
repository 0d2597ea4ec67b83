#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "carrel/accounts.h"
#include "carrel/audit.h"
#include "carrel/calendar.h"
#include "carrel/circulation.h"
#include "carrel/clock.h"
#include "carrel/governance.h"
#include "carrel/profile.h"
#include "carrel/status.h"
#include "carrel/store.h"
#include "carrel/vault.h"

namespace carrel {

// Retention (policy §3, docs/design.md §6): one schedule, signed by the Director, says how long
// each kind of record is kept after the event that ends its use; the engine deletes what is past
// its period, never what a legal hold covers, and records every run on the audit log as counts and
// destroyed key ids. docs/retention.md describes the categories and the demo schedule's reasoning.

// A kind of record the schedule covers. Links (the tie between a patron and a returned loan,
// an ended hold, a settled fine, an ended computer session) go by destroying the epoch key of
// their day; other records are deleted row by row.
struct RetentionCategory {
  std::string_view name;         // "loan_link"
  std::string_view trigger;      // the event that starts the clock: "return", ...
  std::string_view description;  // one line for people
  std::string_view epoch;        // for links, the epoch category ("loan"); empty otherwise
  bool immediate;                // carrel deletes at the trigger itself: the period must be 0
};
const std::vector<RetentionCategory>& RetentionCategories();

// Whole days a record is kept after the local day of its trigger: a link whose loan came back
// on day D under a 0-day rule is readable through day D and gone from day D+1.
struct RetentionRule {
  std::string category;
  int days = 0;
};

struct RetentionSchedule {
  std::vector<RetentionRule> rules;  // one per category, in RetentionCategories() order
  // The period of `category`; -1 if the schedule has no such rule.
  int Days(std::string_view category) const;
};

// The profile's proposed schedule ([retention] in library.toml), to be signed by the Director.
RetentionSchedule ScheduleFromProfile(const Profile& profile);
// The signed document: canonical JSON, rules in category order, no whitespace.
std::string ScheduleDocument(const RetentionSchedule& schedule);
// Parses and checks a schedule: every category exactly once, 0 <= days <= 36500, immediate
// categories at 0. kInvalidArgument naming the problem.
StatusOr<RetentionSchedule> ParseSchedule(std::string_view json);

// One signed version of the schedule. Versions are never edited: a change is a new version.
struct ScheduleVersion {
  int64_t version = 0;
  RetentionSchedule schedule;
  std::string document;     // exactly what was signed (with the header in SignedMessage)
  int64_t signed_by = 0;    // user id
  std::string signer;       // username
  std::string reason;
  Instant signed_at{};
  std::string public_key;   // the signer's Ed25519 public key at signing
  std::string signature;    // Ed25519 over SignedMessage
  std::optional<BoardRuling> ruling;  // the Board's; a reversed version is never applied
};

// A legal hold: the records of one patron (optionally within a date range of their trigger
// days) that retention must not delete while the hold stands.
struct LegalHold {
  int64_t id = 0;
  int64_t patron_id = 0;
  std::optional<Date> from, to;  // inclusive; unset: open-ended
  std::string reason;            // the Director's words; sealed at rest
  std::string case_id;           // the request case that placed it, if any
  Instant placed_at{};
  std::string placed_by;         // actor id
  bool released = false;
};

// What a run would remove now (a plan) or did remove (a run), per category: counts only.
struct RetentionCount {
  std::string category;
  int days = 0;
  int64_t due = 0;     // records past their period and not held
  int64_t held = 0;    // records past their period kept by a legal hold
  int64_t listed = 0;  // patron accounts past their period kept for staff (items out, fines)
  int64_t keys = 0;    // epoch keys to destroy (links only)
};

struct RetentionPlan {
  int64_t schedule_version = 0;
  Date today{};
  std::vector<RetentionCount> counts;
  int64_t awaiting_reclaim = 0;  // unreadable link ciphertexts not yet cleared from rows
};

struct RetentionRun {
  int64_t id = 0;
  int64_t schedule_version = 0;
  Date day{};
  Instant started_at{};
  std::optional<Instant> finished_at;
  std::vector<RetentionCount> counts;
  std::vector<std::string> destroyed_keys;
  double seconds = 0;
  double key_seconds = 0;  // of which destroying keys in the keyring (this invocation only)
};

// A patron account past its period that cannot go yet: staff settle it first.
struct AccountToSettle {
  int64_t patron_id = 0;
  int64_t items_out = 0;
  int64_t fines_owed = 0;
};

// Background reclaim: rows cleared per transaction, and the pause between batches while more
// remain, so that a reclaim never holds the database long enough to stall the desk.
inline constexpr int64_t kReclaimBatchRows = 200;
inline constexpr std::chrono::milliseconds kReclaimPause{20};

// What Retention works with. None is owned; each must outlive it.
struct RetentionDeps {
  Store* store = nullptr;
  Vault* vault = nullptr;
  AuditLog* audit = nullptr;
  Accounts* accounts = nullptr;
  Circulation* circulation = nullptr;
  const Calendar* calendar = nullptr;
  const Clock* clock = nullptr;
};

class Retention {
 public:
  // Thread-safe.
  Retention(const RetentionDeps& deps, std::string library_id);

  // The schedule in force (kNotFound before the Director has signed one) and every version.
  StatusOr<ScheduleVersion> Current(const Actor& actor);
  StatusOr<std::vector<ScheduleVersion>> History(const Actor& actor);
  // A new version, in force at once: only the Director may sign it, with their password
  // (step-up). kPermissionDenied for any other user or a wrong password.
  StatusOr<ScheduleVersion> SignSchedule(const Actor& actor, int64_t user_id,
                                         std::string_view password,
                                         const RetentionSchedule& schedule,
                                         std::string_view reason);
  // The bytes a schedule signature covers.
  std::string SignedMessage(int64_t version, std::string_view document,
                            std::string_view reason) const;

  // Counts only, no PII. kFailedPrecondition when no schedule is in force. With `draft`, what
  // a run would remove under that schedule instead (before the Director signs it); the plan's
  // schedule_version is then the version the draft would become.
  StatusOr<RetentionPlan> Plan(const Actor& actor, const RetentionSchedule* draft = nullptr);
  // Removes what the plan lists. Idempotent and crash-safe: every step is atomic, an
  // unfinished run is finished by the next one, and a key is destroyed only after the held
  // links under it were moved out. `progress` (done, total steps) is called now and then;
  // `after_step`, for tests, after every step (it may end the process).
  StatusOr<RetentionRun> Run(const Actor& actor,
                             const std::function<void(int64_t, int64_t)>& progress = nullptr,
                             const std::function<void(int64_t)>& after_step = nullptr);
  StatusOr<std::vector<RetentionRun>> Runs(const Actor& actor, int limit = 50);
  // The newest run's id, day and times (no counts, no keys), within `tx`; nullopt before the
  // first. For the server's standing: nothing in it concerns a patron, so it is not audited.
  StatusOr<std::optional<RetentionRun>> LatestRun(Transaction& tx);
  // Clears up to `max_rows` unreadable link ciphertexts (keys destroyed) from rows; returns how
  // many. Small batches: the server calls it in the background between circulation work.
  StatusOr<int64_t> Reclaim(int64_t max_rows);
  // The library day a run judges by, and whether a run is due (none finished for it yet).
  Date Today() const;
  StatusOr<bool> RunDueToday();
  // What the server does now and then: runs retention when the library is closed and no run
  // has finished this library day (after downtime, the one run catches up on everything due).
  // nullopt when nothing was due.
  StatusOr<std::optional<RetentionRun>> RunIfDue(const Actor& actor);

  // Legal holds: placed and released by the Director, with their password (step-up); the
  // statement is signed like a schedule. (Request cases will place holds of their own.)
  StatusOr<LegalHold> PlaceHold(const Actor& actor, int64_t user_id, std::string_view password,
                                LegalHold hold);
  Status ReleaseHold(const Actor& actor, int64_t user_id, std::string_view password,
                     int64_t hold_id);
  StatusOr<std::vector<LegalHold>> Holds(const Actor& actor, bool include_released);
  // Holds a request case places when it is opened with a scope, inside the case's own
  // transaction (the case record is the written statement), and releases when the Director
  // closes it saying so. `reason_key` seals the reason: HoldReasonKey().
  StatusOr<std::shared_ptr<const SecretKey>> HoldReasonKey();
  // A hold placed by a clerk's intake (`expires_on` set) lapses after that day unless the
  // Director or a designee confirms it (ConfirmCaseHolds, on any step they take on the case),
  // so that no clerk can keep records from their deletion by filing a request alone.
  Status PlaceCaseHold(Transaction& tx, const Actor& actor, const SecretKey& reason_key,
                       const std::string& case_id, int64_t patron_id, std::optional<Date> from,
                       std::optional<Date> to, std::optional<Date> expires_on = std::nullopt);
  Status ConfirmCaseHolds(Transaction& tx, const Actor& actor, const std::string& case_id);
  StatusOr<int64_t> ReleaseCaseHolds(Transaction& tx, const Actor& actor,
                                     const std::string& case_id);
  // Accounts past their period that are kept because items are out or fines owed.
  StatusOr<std::vector<AccountToSettle>> AccountsToSettle(const Actor& actor);

 private:
  struct Work;
  StatusOr<ScheduleVersion> CurrentVersion(Transaction& tx);
  StatusOr<Work> Survey(const RetentionSchedule& schedule, int64_t version, Date today);
  Status SurveyKeys(Transaction& tx, const RetentionSchedule& schedule, Date today,
                    const std::vector<std::string>& live, const std::vector<LegalHold>& holds,
                    Work* out);
  Status SurveyRows(Transaction& tx, const RetentionSchedule& schedule, Date today,
                    const std::vector<LegalHold>& holds, Work* out);
  Status StartOrResumeRun(const Actor& actor, ScheduleVersion* version, RetentionRun* run);
  Status MarkNotedKeys(RetentionRun* run);
  Status DestroyDueKeys(const Work& w, RetentionRun* run, const std::function<void()>& stepped);
  Status RemoveDueSubscriptions(const Work& w, RetentionRun* run,
                                const std::function<void()>& stepped);
  Status ShredDueAccounts(const Actor& actor, const Work& w, RetentionRun* run,
                          const std::function<void()>& stepped);
  Status FinishRun(const Actor& actor, RetentionRun* run);
  StatusOr<std::vector<LegalHold>> ActiveHolds(Transaction& tx);
  // Checks that `user_id` is the Director and signs `message` with their password.
  StatusOr<std::pair<User, std::string>> DirectorSigns(int64_t user_id, std::string_view password,
                                                       SignedPurpose purpose,
                                                       std::string_view message);
  Status MoveHeldLinks(Transaction& tx, const std::string& epoch,
                       const std::vector<LegalHold>& holds, int64_t* moved);

  Store* store_;
  Vault* vault_;
  AuditLog* audit_;
  Accounts* accounts_;
  Circulation* circulation_;
  const Calendar* calendar_;
  const Clock* clock_;
  std::string library_id_;
};

}  // namespace carrel
