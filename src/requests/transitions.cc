// The request workflow as one table (docs/requests.md draws it). Requests::Act looks every step
// up here: the state it may start from, who may take it, the types it applies to, and whether
// it is a signed written statement. The preconditions are checked in requests.cc, each named
// here in words.

#include "carrel/requests.h"

namespace carrel {

const std::vector<std::string_view>& CaseStates() {
  static const std::vector<std::string_view> states = {
      "received",          "warrant_executed", "referred",
      "counsel_consulted", "declined",         "counsel_review",
      "counsel_determination_required",        "decided",
      "disclosure_prepared",                   "released",
      "closed"};
  return states;
}

const std::vector<CaseTransition>& CaseTransitions() {
  constexpr uint32_t kHead = kCaseDirector | kCaseDesignee;  // the Director or acting designee
  constexpr uint32_t kLegal = kLawEnforcement | kThirdParty;
  static const std::vector<CaseTransition> table = {
      // action, from, to, types, who, signed, precondition
      {"intake", {}, "received", kAllCaseTypes, kCaseStaff | kHead, false,
       "none: any staff member records what was asked and by whom; nothing is looked up"},
      {"execute_warrant", {"received"}, "warrant_executed", kLawEnforcement, kCaseStaff | kHead,
       false, "the process presented is a search warrant, served on the spot"},
      {"acknowledge", {"received", "warrant_executed"}, "*", kAllCaseTypes, kHead, false,
       "none (a warrant case stays where it is; a received case is referred)"},
      {"consult_counsel", {"referred"}, "counsel_consulted", kLegal, kHead, false,
       "the counsel named is an active counsel user"},
      {"decline", {"counsel_consulted"}, "declined", kLegal, kHead, false,
       "no legal process was presented"},
      {"refer_to_counsel", {"counsel_consulted", "warrant_executed"}, "*", kLegal, kHead, false,
       "legal process was presented; a court order goes to counsel_review, any other process "
       "to counsel_determination_required"},
      {"advise", {"counsel_review", "counsel_determination_required"}, "*", kLegal,
       kCaseCounsel, false,
       "the counsel assigned to the case; advice that a court order compels production moves a "
       "case needing a determination to counsel_review"},
      {"decide",
       {"referred", "counsel_consulted", "counsel_review", "counsel_determination_required",
        "declined", "decided", "disclosure_prepared", "released"},
       "decided", kLegal | kPatronAccess, kHead, true,
       "a release needs a basis the profile allows: a court order (counsel_review, with "
       "counsel's advice relied on) or the patron's valid written permission covering the "
       "scope; a patron-access release needs the patron's own request; a refusal needs "
       "counsel's advice; the scope lies within what was asked; a declined, decided or released "
       "case is decided again only after the Board of Trustees reversed the decline or "
       "decision"},
      {"prepare_disclosure", {"decided"}, "disclosure_prepared", kLegal | kPatronAccess, kHead,
       true, "the decision is a release or partial release whose signature verifies"},
      {"deliver", {"disclosure_prepared"}, "released", kLegal | kPatronAccess, kHead, false,
       "none: records to whom, how and when the package went"},
      {"acknowledge_receipt", {"released"}, "", kLegal | kPatronAccess, kHead, false,
       "none: records the recipient's acknowledgement"},
      {"nondisclosure",
       {"received", "warrant_executed", "referred", "counsel_consulted", "declined",
        "counsel_review", "counsel_determination_required", "decided", "disclosure_prepared",
        "released", "closed"},
       "", kLegal, kHead, false,
       "none: records the order in force (or lifted), its expiry and its review date; queued "
       "patron notices go out once no order forbids them"},
      {"respond_media", {"referred"}, "closed", kMedia, kHead, false,
       "none: the Director's statement under the Media Policy; no step of a media case can "
       "disclose a record"},
      {"close", {"declined", "decided", "released", "referred", "counsel_determination_required"},
       "closed", kAllCaseTypes, kHead, false,
       "a decided case only after a refusal; releasing the case's legal holds is for the "
       "Director alone"},
  };
  return table;
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
