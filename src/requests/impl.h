#pragma once

// The request workflow's insides, behind the public Requests (include/carrel/requests.h): the
// step handlers, the case as loaded for a step, and the dependencies. Only src/requests/ and
// its tests include this header.

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "carrel/requests.h"

namespace carrel {

class Requests::Impl {
 public:
  // Thread-safe.
  Impl(const RequestsDeps& deps, std::string library_id);

  // The role a user acts in on cases now: kCaseDirector, kCaseDesignee (with a valid
  // appointment, and the Director absent when its scope says so), kCaseCounsel or kCaseStaff.
  StatusOr<CaseActorInfo> ResolveActor(int64_t user_id);
  // Whether `user_id` holds a valid appointment now (the API's designee bit).
  StatusOr<bool> IsActingDesignee(int64_t user_id);

  // Appointments and absences: the Director alone, appointments signed (step-up).
  StatusOr<Appointment> Appoint(int64_t director_id, std::string_view password, int64_t designee_id,
                                AppointmentScope scope, Instant from, Instant to);
  Status RevokeAppointment(int64_t director_id, std::string_view password, int64_t id);
  StatusOr<std::vector<Appointment>> Appointments(const Actor& actor);
  StatusOr<Absence> RecordAbsence(int64_t director_id, Instant from, Instant to);
  StatusOr<std::vector<Absence>> Absences(const Actor& actor);

  // Intake: any staff. Places legal holds on the patrons in scope, notifies the Director and
  // acting designees, and returns the new case (its reference only is shown to staff).
  StatusOr<CaseSummary> Intake(int64_t user_id, const CaseIntake& intake);

  // One step of the table with its payload (fields per action, docs/requests.md). `password`
  // for signed steps. Refusals are audited too, naming the rule that refused.
  StatusOr<CaseSummary> Act(int64_t user_id, std::string_view reference, const StepArgs& args,
                            std::string_view password = "");

  StatusOr<std::vector<CaseSummary>> List(int64_t user_id);
  StatusOr<CaseFile> Get(int64_t user_id, std::string_view reference);

  // Documents (scans), sealed under the case key, SHA-256 recorded.
  StatusOr<CaseDocument> AddDocument(int64_t user_id, std::string_view reference,
                                     std::string_view kind, std::string_view filename,
                                     std::string_view content);
  StatusOr<std::pair<CaseDocument, std::string>> ReadDocument(int64_t user_id,
                                                              std::string_view reference,
                                                              int64_t document_id);

  // How many records a decision naming `scope` (the decide step's scope: categories, dates,
  // some of the cards asked about) would release, per category, before it is signed: the
  // Director or a designee only, counts only, audited. kFailedPrecondition beyond the request.
  StatusOr<ScopeCount> CountScope(int64_t user_id, std::string_view reference,
                                  const ScopeChoice& scope);
  // The decline letter (printable HTML) of a declined case.
  StatusOr<std::string> DeclineLetter(int64_t user_id, std::string_view reference);
  // A file of the disclosure package ("disclosure.json", "disclosure.html", "manifest.json",
  // "manifest.sig"), after checking the decision's signature, the manifest's signature, every
  // file's hash and that the decision's scope covers every record. Each download is audited.
  StatusOr<std::string> DisclosureFile(int64_t user_id, std::string_view reference,
                                       std::string_view name);

  // Patron permissions: signed in the portal (the PIN again) or recorded from a signed paper
  // form with its scan.
  StatusOr<PatronPermission> GrantPermission(const Actor& actor, int64_t patron_id,
                                             PatronPermission permission, std::string_view scan);
  Status RevokePermission(const Actor& actor, int64_t patron_id, int64_t permission_id);
  // The scan of a paper permission, for the Director or a designee acting now (audited).
  StatusOr<std::string> PermissionScan(int64_t user_id, int64_t permission_id);
  // The Director or a designee confirms a paper permission against its scan, naming the
  // scan's SHA-256 they checked; until then it is no basis for a release.
  Status ConfirmPermission(int64_t user_id, int64_t permission_id, std::string_view scan_sha256);
  StatusOr<std::vector<PatronPermission>> Permissions(const Actor& actor, int64_t patron_id);

  StatusOr<std::vector<InboxItem>> Inbox(int64_t user_id);
  // What the user's role must act on, with dates: return dates and nondisclosure reviews (the
  // Director and acting designees), requests not acknowledged within the profile's opening
  // hours, advice awaited (the assigned counsel), reviews and votes open (the Board).
  StatusOr<std::vector<Deadline>> Deadlines(int64_t user_id);

  // Sends every queued patron notice no nondisclosure order forbids any longer (an order that
  // has expired, or was lifted), through the profile's patron_notice_command. The server runs
  // it on its own; returns how many went out.
  StatusOr<int64_t> SendDueNotices();
  // The public transparency report (GET /api/v1/transparency): per year of receipt, counts by
  // request type, process and outcome (TransparencyOutcomes()), national-security process in
  // bands of the profile's width, cases under a nondisclosure order in force left out or banded
  // as the profile says. No patron, requester or case reference appears in it.
  StatusOr<TransparencyReport> Transparency();
  // A patron's own notices, sent ones only.
  StatusOr<std::vector<PatronNotice>> MyNotices(const Actor& actor, int64_t patron_id);
  Status MarkRead(int64_t user_id, int64_t item_id);

  // The request workflow's steps (steps.cc): one handler per row of the transition table.
  struct StepPlan;
  struct StepInput;
  using StepHandler = Status (Impl::*)(const StepInput&, StepPlan&);
  // A row of the workflow (transitions.cc): the step as the API describes it, and its handler.
  struct WorkflowStep {
    CaseTransition row;
    StepHandler handler;
  };
  static const std::vector<WorkflowStep>& Workflow();
  Status RefuseStep(const StepInput& in, const Status& why);
  StatusOr<CaseSummary> CommitStep(const StepInput& in, const StepPlan& plan);
  Status HeadDeadlines(Transaction& tx, Instant now, std::vector<Deadline>* deadlines);
  Status CounselDeadlines(Transaction& tx, int64_t user_id, Date today,
                          std::vector<Deadline>* deadlines);
  Status BoardDeadlines(Transaction& tx, int64_t user_id, std::vector<Deadline>* deadlines);
  Status MayDecideAgain(const StepInput& in);
  Status CheckReleaseBasis(const StepInput& in, const std::string& basis, const CaseScope& scope,
                           const std::optional<CounselAdvice>& advice, int64_t permission_id,
                           bool reconsidering);
  Status StepAcknowledge(const StepInput& in, StepPlan& plan);
  Status StepConsultCounsel(const StepInput& in, StepPlan& plan);
  Status StepDecline(const StepInput& in, StepPlan& plan);
  Status StepReferToCounsel(const StepInput& in, StepPlan& plan);
  Status StepAdvise(const StepInput& in, StepPlan& plan);
  Status StepDecide(const StepInput& in, StepPlan& plan);
  Status StepPrepareDisclosure(const StepInput& in, StepPlan& plan);
  Status StepDeliver(const StepInput& in, StepPlan& plan);
  Status StepNondisclosure(const StepInput& in, StepPlan& plan);
  Status StepAcknowledgeReceipt(const StepInput& in, StepPlan& plan);
  Status StepRespondMedia(const StepInput& in, StepPlan& plan);
  Status StepExecuteWarrant(const StepInput& in, StepPlan& plan);
  Status StepClose(const StepInput& in, StepPlan& plan);
  // A case as read for one step: its row, and its intake, requested scope and notes unsealed.
  struct Loaded {
    int64_t id = 0;
    CaseSummary summary;
    CaseIntake intake;
    CaseScope requested;
    nlohmann::json notes;
    std::shared_ptr<const SecretKey> key;
  };
  StatusOr<Loaded> Load(Transaction& tx, std::string_view reference);
  // The case's signed decisions, oldest first, their statements unsealed (kDataLoss if one
  // does not open).
  static StatusOr<std::vector<CaseDecision>> ReadDecisions(Transaction& tx, const Loaded& l);
  Status Refuse(const CaseActorInfo& who, std::string_view reference, std::string_view action,
                const Status& why);
  // Whether `user_id` held a valid appointment at `when` (not revoked by then, and for an
  // absence appointment, the Director recorded absent then); `only`, when set, names the one
  // appointment that counts. Sets `appointment` to the one relied on.
  Status CheckAppointment(Transaction& tx, int64_t user_id, Instant when, int64_t* appointment,
                          int64_t only = 0);
  StatusOr<User> ActiveDirector(int64_t user_id, std::string_view refusal);
  Status Notify(Transaction& tx, const std::string& reference, std::string_view kind, uint32_t whom,
                int64_t user_id);
  StatusOr<CaseScope> DecisionScopeOf(const Loaded& l, const ScopeChoice& scope);
  StatusOr<nlohmann::json> CollectRecords(const Actor& actor, const CaseScope& scope,
                                          nlohmann::json* produced);
  StatusOr<std::string> VerifyDecision(Transaction& tx, const CaseDecision& decision);
  // The case's latest decision, verified; kFailedPrecondition when there is none.
  StatusOr<CaseDecision> LatestVerifiedDecision(const Loaded& l);
  void RunNotifyCommand(const std::string& reference);
  // Queues a notice for each patron in the released scope (in the deliver step's transaction).
  Status QueueNotices(Transaction& tx, const Loaded& l, const CaseDecision& decision, Instant now);
  StatusOr<std::vector<PatronNotice>> CaseNotices(Transaction& tx, int64_t case_id);

 private:
  Store* store_;
  Vault* vault_;
  AuditLog* audit_;
  Accounts* accounts_;
  Circulation* circulation_;
  Retention* retention_;
  Governance* governance_;
  const Profile* profile_;
  const Calendar* calendar_;
  const Clock* clock_;
  std::string library_id_;
  Outbound* outbound_;
  std::optional<Instant> library_created_;
};

}  // namespace carrel
