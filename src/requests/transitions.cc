// The request workflow as one table (docs/requests.md draws it). Requests::Impl::Act looks every
// step up here: the state it may start from, who may take it, the types it applies to, whether it
// is a signed written statement, its precondition in words, and the handler that checks that
// precondition and plans the step (steps.cc). Intake has no handler: a new case is made by
// Requests::Impl::Intake.

#include "carrel/requests.h"
#include "requests/impl.h"
#include "util/enum_names.h"
namespace carrel {

namespace {

// Each state with its name, in the order of the workflow.
constexpr std::pair<CaseState, std::string_view> kStateNames[] = {
    {CaseState::kReceived, "received"},
    {CaseState::kWarrantExecuted, "warrant_executed"},
    {CaseState::kReferred, "referred"},
    {CaseState::kCounselConsulted, "counsel_consulted"},
    {CaseState::kDeclined, "declined"},
    {CaseState::kCounselReview, "counsel_review"},
    {CaseState::kCounselDeterminationRequired, "counsel_determination_required"},
    {CaseState::kDecided, "decided"},
    {CaseState::kDisclosurePrepared, "disclosure_prepared"},
    {CaseState::kReleased, "released"},
    {CaseState::kClosed, "closed"},
};

constexpr std::pair<CaseOutcome, std::string_view> kOutcomeNames[] = {
    {CaseOutcome::kNone, ""},
    {CaseOutcome::kRelease, "release"},
    {CaseOutcome::kPartial, "partial"},
    {CaseOutcome::kRefuse, "refuse"},
    {CaseOutcome::kDeclined, "declined"},
    {CaseOutcome::kMediaStatement, "media_statement"},
};

constexpr std::pair<CounselRecommendation, std::string_view> kRecommendationNames[] = {
    {CounselRecommendation::kComply, "comply"},
    {CounselRecommendation::kNarrow, "narrow"},
    {CounselRecommendation::kChallenge, "challenge"},
    {CounselRecommendation::kRefuse, "refuse"},
};

constexpr std::pair<NoticeState, std::string_view> kNoticeStateNames[] = {
    {NoticeState::kQueued, "queued"}, {NoticeState::kSent, "sent"}};

constexpr std::pair<AppointmentScope, std::string_view> kAppointmentScopeNames[] = {
    {AppointmentScope::kStanding, "standing"}, {AppointmentScope::kAbsence, "absence"}};

constexpr std::pair<PermissionMethod, std::string_view> kPermissionMethodNames[] = {
    {PermissionMethod::kPortal, "portal"}, {PermissionMethod::kPaper, "paper"}};

}  // namespace

std::string_view CounselRecommendationName(CounselRecommendation r) {
  return NameOf(kRecommendationNames, r);
}

StatusOr<CounselRecommendation> ParseCounselRecommendation(std::string_view name) {
  return ValueNamed(kRecommendationNames, name, "recommendation");
}

std::string_view NoticeStateName(NoticeState state) { return NameOf(kNoticeStateNames, state); }

StatusOr<NoticeState> ParseNoticeState(std::string_view name) {
  return ValueNamed(kNoticeStateNames, name, "a notice's state");
}

std::string_view AppointmentScopeName(AppointmentScope scope) {
  return NameOf(kAppointmentScopeNames, scope);
}

StatusOr<AppointmentScope> ParseAppointmentScope(std::string_view name) {
  return ValueNamed(kAppointmentScopeNames, name, "scope");
}

std::string_view PermissionMethodName(PermissionMethod method) {
  return NameOf(kPermissionMethodNames, method);
}

StatusOr<PermissionMethod> ParsePermissionMethod(std::string_view name) {
  return ValueNamed(kPermissionMethodNames, name, "method");
}

std::string_view CaseStateName(CaseState state) { return NameOf(kStateNames, state); }

StatusOr<CaseState> ParseCaseState(std::string_view name) {
  return ValueNamed(kStateNames, name, "a case's state");
}

const std::vector<CaseState>& CaseStates() {
  static const std::vector<CaseState> states = [] {
    std::vector<CaseState> out;
    for (const auto& [s, name] : kStateNames) out.push_back(s);
    return out;
  }();
  return states;
}

std::string_view CaseOutcomeName(CaseOutcome outcome) { return NameOf(kOutcomeNames, outcome); }

StatusOr<CaseOutcome> ParseCaseOutcome(std::string_view name) {
  return ValueNamed(kOutcomeNames, name, "outcome");
}

std::string CaseNextName(const CaseNext& next) {
  switch (next.kind) {
    case CaseNext::kTo:
      return std::string(CaseStateName(next.state));
    case CaseNext::kStays:
      return "";
    case CaseNext::kChosenByStep:
      return "*";
  }
  return "";
}

namespace {

// What each step requires beyond its state, type and role, in words (the API shows them; each
// is checked by the step's handler in steps.cc).
constexpr std::string_view kIntakePre =
    "none: any staff member records what was asked and by whom; nothing is looked up";
constexpr std::string_view kWarrantPre =
    "the process presented is a search warrant, served on the spot";
constexpr std::string_view kAcknowledgePre =
    "none (a warrant case stays where it is; a received case is referred)";
constexpr std::string_view kConsultPre = "the counsel named is an active counsel user";
constexpr std::string_view kDeclinePre = "no legal process was presented";
constexpr std::string_view kReferPre =
    "legal process was presented; a court order goes to counsel_review, any other process to "
    "counsel_determination_required";
constexpr std::string_view kAdvisePre =
    "the counsel assigned to the case; advice that a court order compels production moves a "
    "case needing a determination to counsel_review";
constexpr std::string_view kDecidePre =
    "a release needs a basis the profile allows: a court order (counsel_review, with counsel's "
    "advice relied on) or the patron's valid written permission covering the scope; a "
    "patron-access release needs the patron's own request; a refusal needs counsel's advice; "
    "the scope lies within what was asked; a declined, decided or released case is decided "
    "again only after the Board of Trustees reversed the decline or decision";
constexpr std::string_view kPreparePre =
    "the decision is a release or partial release whose signature verifies";
constexpr std::string_view kDeliverPre = "none: records to whom, how and when the package went";
constexpr std::string_view kReceiptPre = "none: records the recipient's acknowledgement";
constexpr std::string_view kOrderPre =
    "none: records the order in force (or lifted), its expiry and its review date; queued "
    "patron notices go out once no order forbids them";
constexpr std::string_view kMediaPre =
    "none: the Director's statement under the Media Policy; no step of a media case can "
    "disclose a record";
constexpr std::string_view kClosePre =
    "a decided case only after a refusal; releasing the case's legal holds is for the Director "
    "alone";

using enum CaseState;
using States = std::vector<CaseState>;
const States kNew = {};
const States kAtDesk = {kReceived, kWarrantExecuted};
const States kDecidable = {
    kReferred, kCounselConsulted, kCounselReview,      kCounselDeterminationRequired,
    kDeclined, kDecided,          kDisclosurePrepared, kReleased};
const States kAdvisable = {kCounselReview, kCounselDeterminationRequired};
const States kClosable = {kDeclined, kDecided, kReleased, kReferred, kCounselDeterminationRequired};
const States kAnyState(CaseStates().begin(), CaseStates().end());
constexpr CaseNext kStays = CaseNext::kStays, kChosen = CaseNext::kChosenByStep;

constexpr uint32_t kHead = kCaseDirector | kCaseDesignee;  // the Director or acting designee
constexpr uint32_t kStaffOrHead = kCaseStaff | kHead;
constexpr uint32_t kLegal = kLawEnforcement | kThirdParty;
constexpr uint32_t kReleasable = kLegal | kPatronAccess;
constexpr bool kSigned = true, kPlain = false;

}  // namespace

// The workflow: one row per step. "to" is kChosen when the handler picks the next state,
// kStays when the case stays where it is.
const std::vector<Requests::Impl::WorkflowStep>& Requests::Impl::Workflow() {
  using R = Requests::Impl;
  using enum CaseState;
  // A table, one row per line.
  // clang-format off
  static const std::vector<WorkflowStep> table = {
      // action, from, to, types, who, signed, precondition; handler
      {{"intake", kNew, kReceived, kAllCaseTypes, kStaffOrHead, kPlain, kIntakePre}, nullptr},
      {{"execute_warrant", {kReceived}, kWarrantExecuted, kLawEnforcement, kStaffOrHead, kPlain, kWarrantPre}, &R::StepExecuteWarrant},
      {{"acknowledge", kAtDesk, kChosen, kAllCaseTypes, kHead, kPlain, kAcknowledgePre}, &R::StepAcknowledge},
      {{"consult_counsel", {kReferred}, kCounselConsulted, kLegal, kHead, kPlain, kConsultPre}, &R::StepConsultCounsel},
      {{"decline", {kCounselConsulted}, kDeclined, kLegal, kHead, kPlain, kDeclinePre}, &R::StepDecline},
      {{"refer_to_counsel", {kCounselConsulted, kWarrantExecuted}, kChosen, kLegal, kHead, kPlain, kReferPre}, &R::StepReferToCounsel},
      {{"advise", kAdvisable, kChosen, kLegal, kCaseCounsel, kPlain, kAdvisePre}, &R::StepAdvise},
      {{"decide", kDecidable, kDecided, kReleasable, kHead, kSigned, kDecidePre}, &R::StepDecide},
      {{"prepare_disclosure", {kDecided}, kDisclosurePrepared, kReleasable, kHead, kSigned, kPreparePre}, &R::StepPrepareDisclosure},
      {{"deliver", {kDisclosurePrepared}, kReleased, kReleasable, kHead, kPlain, kDeliverPre}, &R::StepDeliver},
      {{"acknowledge_receipt", {kReleased}, kStays, kReleasable, kHead, kPlain, kReceiptPre}, &R::StepAcknowledgeReceipt},
      {{"nondisclosure", kAnyState, kStays, kLegal, kHead, kPlain, kOrderPre}, &R::StepNondisclosure},
      {{"respond_media", {kReferred}, kClosed, kMedia, kHead, kPlain, kMediaPre}, &R::StepRespondMedia},
      {{"close", kClosable, kClosed, kAllCaseTypes, kHead, kPlain, kClosePre}, &R::StepClose},
  };
  // clang-format on
  return table;
}

const std::vector<CaseTransition>& CaseTransitions() {
  static const std::vector<CaseTransition> rows = [] {
    std::vector<CaseTransition> out;
    for (const Requests::Impl::WorkflowStep& step : Requests::Impl::Workflow())
      out.push_back(step.row);
    return out;
  }();
  return rows;
}

std::string_view CaseTypeName(CaseType type) {
  switch (type) {
    case kLawEnforcement: return "law_enforcement";
    case kMedia: return "media";
    case kPatronAccess: return "patron_access";
    case kThirdParty: return "third_party";
  }
  return "";
}

StatusOr<CaseType> ParseCaseType(std::string_view name) {
  for (CaseType t : {kLawEnforcement, kMedia, kPatronAccess, kThirdParty}) {
    if (CaseTypeName(t) == name) return t;
  }
  return InvalidArgument("type must be law_enforcement, media, patron_access or third_party");
}

const std::vector<std::string_view>& DisclosureCategories() {
  static const std::vector<std::string_view> categories = {"patron", "loans", "loan_history",
                                                            "holds", "fines"};
  return categories;
}

}  // namespace carrel
