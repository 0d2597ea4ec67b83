#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "carrel/accounts.h"
#include "carrel/audit.h"
#include "carrel/calendar.h"
#include "carrel/circulation.h"
#include "carrel/clock.h"
#include "carrel/governance.h"
#include "carrel/inbox.h"
#include "carrel/outbound_hook.h"
#include "carrel/profile.h"
#include "carrel/retention.h"
#include "carrel/status.h"
#include "carrel/store.h"
#include "carrel/vault.h"

namespace carrel {

// Requests for confidential information (policy §4, docs/design.md §7): every request is a case
// that moves through one transition table; nothing leaves the library without the Director's (or an
// appointed designee's) signed written authorization on a basis the profile allows.
// docs/requests.md shows the table as a diagram.

// Who may take a step. A designee is a user acting under a valid written appointment.
enum CaseActor : uint32_t {
  kCaseStaff = 1u << 0,
  kCaseDirector = 1u << 1,
  kCaseDesignee = 1u << 2,
  kCaseCounsel = 1u << 3,  // the counsel assigned to the case only
};

// Request types, as bits so that a transition can name the types it applies to.
enum CaseType : uint32_t {
  kLawEnforcement = 1u << 0,
  kMedia = 1u << 1,
  kPatronAccess = 1u << 2,
  kThirdParty = 1u << 3,
};
inline constexpr uint32_t kAllCaseTypes = kLawEnforcement | kMedia | kPatronAccess | kThirdParty;
std::string_view CaseTypeName(CaseType type);
StatusOr<CaseType> ParseCaseType(std::string_view name);

// Where a case stands, in the order of the workflow. Stored and shown by name (CaseStateName).
enum class CaseState : uint8_t {
  kReceived,
  kWarrantExecuted,
  kReferred,
  kCounselConsulted,
  kDeclined,
  kCounselReview,
  kCounselDeterminationRequired,
  kDecided,
  kDisclosurePrepared,
  kReleased,
  kClosed,
};
std::string_view CaseStateName(CaseState state);  // "received", "warrant_executed", ...
StatusOr<CaseState> ParseCaseState(std::string_view name);
// Every state a case can be in, in the order of the workflow.
const std::vector<CaseState>& CaseStates();

// Where a case stands decided or how it ended (none while pending). A signed decision is a
// release, a partial release or a refusal; a decline and a statement to the media end a case
// without one.
enum class CaseOutcome : uint8_t { kNone, kRelease, kPartial, kRefuse, kDeclined, kMediaStatement };
std::string_view CaseOutcomeName(CaseOutcome outcome);  // "" for kNone, "release", ...
StatusOr<CaseOutcome> ParseCaseOutcome(std::string_view name);

// Where a step of the table leads: to a state, or the case stays where it is, or the step itself
// decides (as refer_to_counsel does, by the process presented).
struct CaseNext {
  enum Kind : uint8_t { kTo, kStays, kChosenByStep };
  Kind kind = kStays;
  CaseState state = CaseState::kReceived;                     // for kTo
  constexpr CaseNext(CaseState to) : kind(kTo), state(to) {}  // NOLINT: a table reads better
  constexpr CaseNext(Kind k) : kind(k) {}                     // NOLINT
};
// The state's name, "" for kStays and "*" for kChosenByStep (as the API shows the table).
std::string CaseNextName(const CaseNext& next);

// One row of the transition table: in `from` (any of them), `actors` may take `action` on a
// case of one of `types`, if `precondition` holds (checked in code, described here); the case
// moves as `to` says.
struct CaseTransition {
  std::string_view action;
  std::vector<CaseState> from;  // empty: a new case
  CaseNext to;
  uint32_t types;
  uint32_t actors;
  bool signed_step;  // step-up: the actor's password signs a written statement
  std::string_view precondition;
};
const std::vector<CaseTransition>& CaseTransitions();

// What counsel recommends the Director do with a request.
enum class CounselRecommendation : uint8_t { kComply, kNarrow, kChallenge, kRefuse };
std::string_view CounselRecommendationName(CounselRecommendation r);  // "comply", ...
StatusOr<CounselRecommendation> ParseCounselRecommendation(std::string_view name);

// A notice to a patron is queued until no nondisclosure order forbids it, then sent.
enum class NoticeState : uint8_t { kQueued, kSent };
std::string_view NoticeStateName(NoticeState state);  // "queued", "sent"
StatusOr<NoticeState> ParseNoticeState(std::string_view name);

// A designee's appointment stands at all times, or only while the Director is recorded absent.
enum class AppointmentScope : uint8_t { kStanding, kAbsence };
std::string_view AppointmentScopeName(AppointmentScope scope);  // "standing", "absence"
StatusOr<AppointmentScope> ParseAppointmentScope(std::string_view name);

// How a patron gave written permission: in the portal with their PIN again, or on a signed paper
// form that staff recorded with its scan.
enum class PermissionMethod : uint8_t { kPortal, kPaper };
std::string_view PermissionMethodName(PermissionMethod method);  // "portal", "paper"
StatusOr<PermissionMethod> ParsePermissionMethod(std::string_view name);

// What an intake records. The requester's identity and what is asked are sealed at rest under
// the case's own key; card barcodes are resolved to pseudonymous patron ids without telling
// the person at the desk whether any matched.
struct CaseIntake {
  CaseType type = kLawEnforcement;
  // Requester.
  std::string agency, name, badge, contact, callback_number, callback_source, arrived_by;
  // What is asked.
  std::string asked;
  std::vector<std::string> card_barcodes;
  std::vector<std::string> categories;  // DisclosureCategories()
  std::optional<Date> from, to;
  // Legal process presented.
  std::string process = "none";  // LegalProcessNames()
  std::string issuing_authority;
  std::optional<Date> process_date, return_date;
  bool nondisclosure_order = false;
  std::optional<Date> nondisclosure_expires, nondisclosure_review;
};

// The outcomes the transparency report counts, in its order.
const std::vector<std::string_view>& TransparencyOutcomes();

// Categories of records a scope can name and a disclosure can contain.
const std::vector<std::string_view>& DisclosureCategories();

// An exact scope: patrons (by pseudonymous id), categories, an optional date range.
struct CaseScope {
  std::vector<int64_t> patron_ids;  // sorted, unique
  std::vector<std::string> categories;
  std::optional<Date> from, to;
  // Whether every patron, category and day of `inner` lies inside this scope.
  bool Covers(const CaseScope& inner) const;
};

// What a decision releases, as the Director chooses it: categories and a period, and
// optionally some of the cards the request asked about (absent: every patron it names).
struct ScopeChoice {
  std::vector<std::string> categories;
  std::optional<Date> from, to;
  std::optional<std::vector<std::string>> card_barcodes;
};

// What each step of the request workflow takes: one type per step (the step's name is its
// type's). The API reads its JSON bodies into these; the core checks them against the same
// contract whoever calls.
namespace steps {
struct Acknowledge {};
struct ConsultCounsel {
  int64_t counsel_id = 0;
  std::string consultation;
};
struct Decline {
  std::string explanation;  // optional
};
struct ReferToCounsel {
  int64_t counsel_id = 0;  // 0: the counsel already consulted
};
struct Advise {
  bool proper_form = false;
  bool enforceable = false;
  bool court_order_compels = false;
  CounselRecommendation recommendation = CounselRecommendation::kRefuse;
  std::string advice;
  std::optional<CaseScope> recommended_scope;
};
struct Decide {
  CaseOutcome outcome = CaseOutcome::kNone;  // kRelease, kPartial or kRefuse
  std::string basis;                         // the lawful basis of a release
  ScopeChoice scope;
  int64_t advice_id = 0;      // the advice relied on, if any
  int64_t permission_id = 0;  // the patron's written permission relied on, if any
};
struct PrepareDisclosure {};
struct Deliver {
  std::string to;
  std::string how;
  std::optional<Instant> at;  // absent: now
};
struct AcknowledgeReceipt {
  std::optional<Instant> at;  // absent: now
};
struct RespondMedia {
  std::string statement;
};
struct ExecuteWarrant {
  std::vector<std::string> officers;
  Instant executed_at{};
  std::vector<std::string> items_seized;  // item barcodes
  std::vector<std::string> devices;
  std::string notes;
};
struct Nondisclosure {
  bool order = false;
  std::optional<Date> expires, review;
};
struct Close {
  bool release_holds = false;
};
}  // namespace steps

using StepArgs =
    std::variant<steps::Acknowledge, steps::ConsultCounsel, steps::Decline, steps::ReferToCounsel,
                 steps::Advise, steps::Decide, steps::PrepareDisclosure, steps::Deliver,
                 steps::AcknowledgeReceipt, steps::RespondMedia, steps::ExecuteWarrant,
                 steps::Nondisclosure, steps::Close>;
// The step's name as the workflow table and the API call it ("consult_counsel", ...).
std::string_view StepName(const StepArgs& args);

struct CaseSummary {
  int64_t id = 0;
  std::string reference;  // "R-2026-0001", the case id on audit entries
  CaseType type = kLawEnforcement;
  CaseState state = CaseState::kReceived;
  std::string process;
  CaseOutcome outcome = CaseOutcome::kNone;
  Instant received_at{};
  int64_t counsel_id = 0;
  bool nondisclosure_order = false;
  std::optional<Date> return_date;
};

struct CaseEvent {
  Instant at{};
  std::string actor;  // actor id
  std::string action;
  std::optional<CaseState> from_state;  // none: the intake that made the case
  CaseState to_state = CaseState::kReceived;
  int64_t appointment_id = 0;  // the appointment a designee relied on
  std::string policy_version;  // in force when the step was taken ("" before migration 19)
};

// What a decision's scope would release, counted before it is signed.
struct ScopeCount {
  int64_t patrons = 0;
  int64_t records = 0;
  std::map<std::string, int64_t> counts;  // per category
};

struct CaseDocument {
  int64_t id = 0;
  std::string kind;      // "process", "permission_form", "warrant_inventory", ...
  std::string filename;
  std::string sha256;    // hex, of the document as received
  int64_t bytes = 0;
};

struct CounselAdvice {
  int64_t id = 0;
  int64_t counsel_id = 0;
  Instant at{};
  bool proper_form = false;
  bool enforceable = false;
  bool court_order_compels = false;
  CounselRecommendation recommendation = CounselRecommendation::kRefuse;
  std::optional<CaseScope> recommended_scope;
  std::string advice;  // counsel's words, sealed at rest
};

struct CaseDecision {
  int64_t id = 0;
  CaseOutcome outcome = CaseOutcome::kNone;  // kRelease, kPartial or kRefuse
  std::string basis;  // court_order | patron_permission | patron_self | "" for refuse
  CaseScope scope;
  int64_t advice_id = 0;
  int64_t permission_id = 0;
  std::string policy_version;
  int64_t signed_by = 0;
  int64_t appointment_id = 0;
  std::string document;    // the signed JSON
  std::string public_key;  // the signer's, at signing
  std::string signature;
  Instant signed_at{};
  std::optional<BoardRuling> ruling;  // the Board's, when it affirmed or reversed this decision
};

// A disclosure package: what was built from the signed scope, and its chain of custody.
struct Disclosure {
  int64_t id = 0;
  int64_t decision_id = 0;
  std::string manifest;  // JSON: files and their SHA-256, decision, requested vs produced
  std::string signature;  // Ed25519 of the preparer over the manifest
  int64_t signed_by = 0;
  Instant prepared_at{};
  std::optional<Instant> delivered_at, acknowledged_at;
  std::string delivered_to, delivered_how;  // sealed at rest
};

// A notice to a patron that records about them were released. Queued when the package is
// delivered (where the profile says patrons are notified) and sent only when no nondisclosure
// order forbids it; the text is sealed under the patron's key and read in their portal.
struct PatronNotice {
  int64_t id = 0;
  std::string reference;  // "N-...": random, what the outbound hook is given
  std::string case_reference;
  int64_t patron_id = 0;
  NoticeState state = NoticeState::kQueued;
  Instant queued_at{};
  std::optional<Instant> sent_at;
  std::string text;  // for the patron's own view only
};

// The public transparency report: per year of receipt, requests counted by type, process and
// outcome (every known one listed, zeros included), national-security process only in bands.
struct TransparencyYear {
  int year = 0;
  int64_t requests = 0;
  std::map<std::string, int64_t> by_type, by_process, by_outcome;
  int64_t board_reversals = 0;
  std::string national_security_letters;                 // a band, "0-249"
  std::string fisa_orders;                               // a band
  std::optional<std::string> under_nondisclosure_order;  // a band, when the profile bands them
};
struct TransparencyReport {
  std::string library;
  std::string policy_version;
  Instant generated_at{};
  int band_width = 0;
  std::string under_nondisclosure;  // the profile's choice: "omit" or "band"
  std::string notes;                // how to read it, in words
  std::vector<TransparencyYear> years;
};

// The whole case as the Director, a designee or its counsel sees it.
struct CaseFile {
  CaseSummary summary;
  CaseIntake intake;
  std::vector<CaseEvent> events;
  std::vector<CaseDocument> documents;
  std::vector<CounselAdvice> advice;
  std::vector<CaseDecision> decisions;
  std::optional<Disclosure> disclosure;
  std::string consultation;   // the Director's record of consulting counsel
  std::string media_statement;
  std::optional<steps::ExecuteWarrant> warrant;  // as recorded when executed
  std::optional<BoardRuling> decline_ruling;  // the Board's ruling on a decline
  std::vector<PatronNotice> notices;       // notices to patrons of the release
};

// Something a role must act on by a date: the inbox's deadlines, computed when asked.
struct Deadline {
  std::string kind;  // "return_date", "nondisclosure_review", "nondisclosure_expires",
                     // "acknowledge", "advice_due", "board_review_open", "policy_vote_open"
  std::string case_reference;
  int64_t subject_id = 0;  // a review or proposal number where there is no case
  std::string due;         // a date or an instant
  bool overdue = false;
};

// A designee's written appointment, signed by the Director.
struct Appointment {
  int64_t id = 0;
  int64_t designee_id = 0;
  AppointmentScope scope = AppointmentScope::kAbsence;
  Instant valid_from{}, valid_to{};
  int64_t signed_by = 0;
  std::string statement;
  std::string signature;
  std::optional<Instant> revoked_at;
  std::optional<BoardRuling> ruling;  // a reversal ends the appointment when it is made
};

struct Absence {
  int64_t id = 0;
  Instant from{}, to{};
  std::string recorded_by;
};

// A patron's written permission to release their records.
struct PatronPermission {
  int64_t id = 0;
  int64_t patron_id = 0;
  std::string recipient;  // to whom (sealed under the patron's key)
  std::vector<std::string> categories;
  std::optional<Date> from, to;  // the records' dates
  Date valid_until{};
  PermissionMethod method = PermissionMethod::kPortal;
  std::string scan_sha256;
  Instant signed_at{};
  std::optional<Instant> revoked_at;
  // A paper permission is no basis for a release until the Director or a designee confirms it
  // against the scan; a portal one (the patron's own PIN) needs no confirmation.
  std::optional<Instant> confirmed_at;
};

// Who is acting on a case, resolved from the principal: the Director, a designee (and the
// appointment relied on), counsel, or staff.
struct CaseActorInfo {
  Actor actor;
  int64_t user_id = 0;
  uint32_t as = 0;  // one CaseActor bit
  int64_t appointment_id = 0;
};

// What Requests works with. None is owned; each must outlive it.
struct RequestsDeps {
  Store* store = nullptr;
  Vault* vault = nullptr;
  AuditLog* audit = nullptr;
  Accounts* accounts = nullptr;
  Circulation* circulation = nullptr;
  Retention* retention = nullptr;
  Governance* governance = nullptr;
  const Profile* profile = nullptr;
  const Calendar* calendar = nullptr;
  const Clock* clock = nullptr;
  Outbound* outbound = nullptr;            // the Director's alert and patrons' notices
  std::optional<Instant> library_created;  // the transparency report's first year
};

class Requests {
 public:
  // Thread-safe.
  Requests(const RequestsDeps& deps, std::string library_id);

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
                                             PatronPermission permission,
                                             std::string_view scan);
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

  ~Requests();
  Requests(const Requests&) = delete;
  Requests& operator=(const Requests&) = delete;

 private:
  // The workflow's handlers, the case as loaded for a step and the dependencies
  // (src/requests/impl.h).
  class Impl;
  friend const std::vector<CaseTransition>& CaseTransitions();  // the table's rows
  std::unique_ptr<Impl> impl_;
};

}  // namespace carrel
