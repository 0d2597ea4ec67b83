// Handlers of the request workflow's routes (rows in routes.cc). Every step of the transition
// table has its own route; the core (Requests) checks the step, its preconditions and the
// designee's appointment again, and audits each step and each refusal.

#include "api/request_routes.h"

#include <nlohmann/json.hpp>

#include "api/governance_routes.h"
#include "carrel/encoding.h"
#include "requests/fields.h"
#include "requests/step_args.h"

namespace carrel {

namespace {

json ScopeJson(const CaseScope& s) { return ScopeToJson(s); }

json SummaryJson(const CaseSummary& s) {
  return {{"reference", s.reference},
          {"type", CaseTypeName(s.type)},
          {"state", CaseStateName(s.state)},
          {"process", s.process},
          {"outcome", CaseOutcomeName(s.outcome)},
          {"received_at", FormatInstant(s.received_at)},
          {"counsel_id", s.counsel_id},
          {"nondisclosure_order", s.nondisclosure_order},
          {"return_date", DateJson(s.return_date)}};
}

std::string Reference(const ApiContext& c) { return c.request.path_params[0]; }

// A step: the body is the step's payload, less the password a signed step carries.
StatusOr<ApiResponse> Step(ApiContext& c, std::string_view action) {
  json payload = c.body;
  std::string password = TextOf(payload, "password");
  payload.erase("password");
  CARREL_ASSIGN_OR_RETURN(StepArgs args, StepArgsFromJson(action, payload));
  CARREL_ASSIGN_OR_RETURN(CaseSummary s,
                          c.library.requests().Act(c.principal->id, Reference(c), args, password));
  return JsonResponse(SummaryJson(s));
}

json AppointmentJson(const Appointment& a) {
  return {{"id", a.id},
          {"designee_id", a.designee_id},
          {"scope", AppointmentScopeName(a.scope)},
          {"valid_from", FormatInstant(a.valid_from)},
          {"valid_to", FormatInstant(a.valid_to)},
          {"signed_by", a.signed_by},
          {"statement", a.statement},
          {"signature", Base64Encode(a.signature)},
          {"revoked_at", a.revoked_at ? json(FormatInstant(*a.revoked_at)) : json(nullptr)},
          {"board_ruling", RulingJson(a.ruling)}};
}

json PermissionJson(const PatronPermission& p) {
  return {
      {"id", p.id},
      {"recipient", p.recipient},
      {"categories", p.categories},
      {"from", DateJson(p.from)},
      {"to", DateJson(p.to)},
      {"valid_until", FormatDate(p.valid_until)},
      {"method", PermissionMethodName(p.method)},
      {"scan_sha256", p.scan_sha256},
      {"signed_at", FormatInstant(p.signed_at)},
      {"revoked_at", p.revoked_at ? json(FormatInstant(*p.revoked_at)) : json(nullptr)},
      {"confirmed_at", p.confirmed_at ? json(FormatInstant(*p.confirmed_at)) : json(nullptr)},
      {"basis_for_release", p.method != PermissionMethod::kPaper || p.confirmed_at.has_value()}};
}

StatusOr<PatronPermission> PermissionFromBody(const json& body) {
  PatronPermission p;
  p.recipient = TextOf(body, "recipient");
  p.categories = WordsOf(body, "categories");
  p.from = DateOf(body, "from");
  p.to = DateOf(body, "to");
  std::string until = TextOf(body, "valid_until");
  CARREL_ASSIGN_OR_RETURN(p.valid_until, ParseDate(until));
  return p;
}

}  // namespace

StatusOr<ApiResponse> RequestIntake(ApiContext& c) {
  CaseIntake in;
  CARREL_ASSIGN_OR_RETURN(in.type, ParseCaseType(TextOf(c.body, "type")));
  for (auto [key, field] :
       {std::pair{"agency", &in.agency}, {"name", &in.name}, {"badge", &in.badge},
        {"contact", &in.contact}, {"callback_number", &in.callback_number},
        {"callback_source", &in.callback_source}, {"arrived_by", &in.arrived_by},
        {"issuing_authority", &in.issuing_authority}}) {
    *field = TextOf(c.body, key);
  }
  in.asked = TextOf(c.body, "asked");
  in.card_barcodes = WordsOf(c.body, "card_barcodes");
  in.categories = WordsOf(c.body, "categories");
  in.from = DateOf(c.body, "from");
  in.to = DateOf(c.body, "to");
  std::string process = TextOf(c.body, "process");
  if (!process.empty()) in.process = process;
  in.process_date = DateOf(c.body, "process_date");
  in.return_date = DateOf(c.body, "return_date");
  in.nondisclosure_order = FlagOf(c.body, "nondisclosure_order", false);
  in.nondisclosure_expires = DateOf(c.body, "nondisclosure_expires");
  in.nondisclosure_review = DateOf(c.body, "nondisclosure_review");
  CARREL_ASSIGN_OR_RETURN(CaseSummary s, c.library.requests().Intake(c.principal->id, in));
  // What the person at the desk sees: the reference and the script. Nothing about any patron.
  return JsonResponse(
      {{"reference", s.reference},
       {"state", CaseStateName(s.state)},
       {"script",
        "Thank you. I must refer your request to the Library Director, who handles all "
        "requests for the library's confidential information. I cannot release any "
        "information myself. The Director (or the Director's designee) will contact you at "
        "the number you gave."},
       {"release", "nothing: no record may leave without the Director's written authorization"},
       {"notified", "the Library Director and any designee acting for the Director"}},
      201);
}

StatusOr<ApiResponse> RequestList(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(auto cases, c.library.requests().List(c.principal->id));
  json out = json::array();
  for (const CaseSummary& s : cases) out.push_back(SummaryJson(s));
  return ListPage(c, std::move(out));
}

namespace {

// The parts of a case file as the API shows them.
void PutIntake(const CaseIntake& in, json* out) {
  (*out)["requester"] = {{"agency", in.agency},
                         {"name", in.name},
                         {"badge", in.badge},
                         {"contact", in.contact},
                         {"callback_number", in.callback_number},
                         {"callback_source", in.callback_source},
                         {"arrived_by", in.arrived_by}};
  (*out)["asked"] = {{"text", in.asked},
                     {"card_barcodes", in.card_barcodes},
                     {"categories", in.categories},
                     {"from", DateJson(in.from)},
                     {"to", DateJson(in.to)}};
  (*out)["legal_process"] = {{"kind", in.process},
                             {"issuing_authority", in.issuing_authority},
                             {"date", DateJson(in.process_date)},
                             {"return_date", DateJson(in.return_date)},
                             {"nondisclosure_order", in.nondisclosure_order},
                             {"nondisclosure_expires", DateJson(in.nondisclosure_expires)},
                             {"nondisclosure_review", DateJson(in.nondisclosure_review)}};
}

json AdviceJson(const CounselAdvice& a) {
  return {
      {"id", a.id},
      {"counsel_id", a.counsel_id},
      {"at", FormatInstant(a.at)},
      {"proper_form", a.proper_form},
      {"enforceable", a.enforceable},
      {"court_order_compels", a.court_order_compels},
      {"recommendation", CounselRecommendationName(a.recommendation)},
      {"recommended_scope", a.recommended_scope ? ScopeJson(*a.recommended_scope) : json(nullptr)},
      {"advice", a.advice}};
}

json DecisionJson(const CaseDecision& d) {
  return {{"id", d.id},
          {"outcome", CaseOutcomeName(d.outcome)},
          {"basis", d.basis},
          {"scope", ScopeJson(d.scope)},
          {"advice_id", d.advice_id},
          {"permission_id", d.permission_id},
          {"policy_version", d.policy_version},
          {"signed_by", d.signed_by},
          {"appointment_id", d.appointment_id},
          {"signed_at", FormatInstant(d.signed_at)},
          {"document", d.document},
          {"public_key", Base64Encode(d.public_key)},
          {"signature", Base64Encode(d.signature)},
          {"board_ruling", RulingJson(d.ruling)}};
}

json DisclosureJson(const Disclosure& d) {
  return {{"id", d.id},
          {"decision_id", d.decision_id},
          {"prepared_at", FormatInstant(d.prepared_at)},
          {"signed_by", d.signed_by},
          {"delivered_to", d.delivered_to},
          {"delivered_how", d.delivered_how},
          {"delivered_at", d.delivered_at ? json(FormatInstant(*d.delivered_at)) : json(nullptr)},
          {"acknowledged_at",
           d.acknowledged_at ? json(FormatInstant(*d.acknowledged_at)) : json(nullptr)},
          {"files", {"disclosure.json", "disclosure.html", "manifest.json", "manifest.sig"}}};
}

}  // namespace

StatusOr<ApiResponse> RequestView(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(CaseFile f, c.library.requests().Get(c.principal->id, Reference(c)));
  json out = SummaryJson(f.summary);
  PutIntake(f.intake, &out);
  out["consultation"] = f.consultation;
  out["media_statement"] = f.media_statement;
  out["warrant"] = f.warrant ? StepArgsToJson(*f.warrant) : json(nullptr);
  json events = json::array();
  for (const CaseEvent& e : f.events) {
    events.push_back({{"at", FormatInstant(e.at)},
                      {"actor", e.actor},
                      {"action", e.action},
                      {"from", e.from_state ? CaseStateName(*e.from_state) : ""},
                      {"to", CaseStateName(e.to_state)},
                      {"appointment", e.appointment_id},
                      {"policy_version", e.policy_version}});
  }
  out["events"] = events;
  json documents = json::array();
  for (const CaseDocument& d : f.documents) {
    documents.push_back({{"id", d.id}, {"kind", d.kind}, {"filename", d.filename},
                         {"sha256", d.sha256}, {"bytes", d.bytes}});
  }
  out["documents"] = documents;
  json advice = json::array();
  for (const CounselAdvice& a : f.advice) advice.push_back(AdviceJson(a));
  out["advice"] = advice;
  json decisions = json::array();
  for (const CaseDecision& d : f.decisions) decisions.push_back(DecisionJson(d));
  out["decisions"] = decisions;
  out["decline_board_ruling"] = RulingJson(f.decline_ruling);
  json notices = json::array();
  for (const PatronNotice& n : f.notices) {
    notices.push_back({{"reference", n.reference},
                       {"patron", n.patron_id},
                       {"state", NoticeStateName(n.state)},
                       {"queued_at", FormatInstant(n.queued_at)},
                       {"sent_at", n.sent_at ? json(FormatInstant(*n.sent_at)) : json(nullptr)}});
  }
  out["patron_notices"] = notices;
  out["disclosure"] = f.disclosure ? DisclosureJson(*f.disclosure) : json(nullptr);
  return JsonResponse(out);
}

StatusOr<ApiResponse> RequestAcknowledge(ApiContext& c) { return Step(c, "acknowledge"); }
StatusOr<ApiResponse> RequestConsultCounsel(ApiContext& c) { return Step(c, "consult_counsel"); }
StatusOr<ApiResponse> RequestDecline(ApiContext& c) { return Step(c, "decline"); }
StatusOr<ApiResponse> RequestReferToCounsel(ApiContext& c) { return Step(c, "refer_to_counsel"); }
StatusOr<ApiResponse> RequestAdvise(ApiContext& c) { return Step(c, "advise"); }
StatusOr<ApiResponse> RequestDecide(ApiContext& c) { return Step(c, "decide"); }
StatusOr<ApiResponse> RequestPrepareDisclosure(ApiContext& c) {
  return Step(c, "prepare_disclosure");
}
StatusOr<ApiResponse> RequestDeliver(ApiContext& c) { return Step(c, "deliver"); }
StatusOr<ApiResponse> RequestReceipt(ApiContext& c) { return Step(c, "acknowledge_receipt"); }
StatusOr<ApiResponse> RequestMediaResponse(ApiContext& c) { return Step(c, "respond_media"); }
StatusOr<ApiResponse> RequestWarrant(ApiContext& c) { return Step(c, "execute_warrant"); }
StatusOr<ApiResponse> RequestClose(ApiContext& c) { return Step(c, "close"); }
StatusOr<ApiResponse> RequestNondisclosure(ApiContext& c) { return Step(c, "nondisclosure"); }

StatusOr<ApiResponse> RequestAddDocument(ApiContext& c) {
  std::string kind = TextOf(c.body, "kind");
  std::string filename = TextOf(c.body, "filename");
  std::string encoded = TextOf(c.body, "content_base64");
  CARREL_ASSIGN_OR_RETURN(std::string content, Base64Decode(encoded));
  CARREL_ASSIGN_OR_RETURN(
      CaseDocument d,
      c.library.requests().AddDocument(c.principal->id, Reference(c), kind, filename, content));
  return JsonResponse({{"id", d.id}, {"kind", d.kind}, {"sha256", d.sha256}, {"bytes", d.bytes}},
                      201);
}

StatusOr<ApiResponse> RequestReadDocument(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(int64_t id, IdParam(c.request, 1));
  CARREL_ASSIGN_OR_RETURN(auto doc,
                          c.library.requests().ReadDocument(c.principal->id, Reference(c), id));
  ApiResponse r{200, "application/octet-stream", std::move(doc.second)};
  return r;
}

StatusOr<ApiResponse> RequestScopeCounts(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(ScopeChoice scope, ScopeChoiceFromJson(c.body["scope"]));
  CARREL_ASSIGN_OR_RETURN(ScopeCount counted,
                          c.library.requests().CountScope(c.principal->id, Reference(c), scope));
  return JsonResponse({{"patrons", counted.patrons},
                       {"records", counted.records},
                       {"counts", counted.counts}});
}

StatusOr<ApiResponse> RequestLetter(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(std::string html,
                          c.library.requests().DeclineLetter(c.principal->id, Reference(c)));
  return HtmlDocument(std::move(html));
}

StatusOr<ApiResponse> RequestDisclosureFile(ApiContext& c) {
  std::string name = c.request.path_params[1];
  CARREL_ASSIGN_OR_RETURN(std::string content,
                          c.library.requests().DisclosureFile(c.principal->id, Reference(c), name));
  if (name.ends_with(".html")) return HtmlDocument(std::move(content));
  return ApiResponse{200, "application/json", std::move(content)};
}

StatusOr<ApiResponse> RequestSteps(ApiContext&) {
  json rows = json::array();
  for (const CaseTransition& t : CaseTransitions()) {
    json types = json::array(), who = json::array();
    for (CaseType ty : {kLawEnforcement, kMedia, kPatronAccess, kThirdParty}) {
      if ((t.types & ty) != 0) types.push_back(CaseTypeName(ty));
    }
    for (auto [bit, name] : {std::pair{kCaseStaff, "staff"}, {kCaseDirector, "director"},
                             {kCaseDesignee, "designee"}, {kCaseCounsel, "counsel"}}) {
      if ((t.actors & bit) != 0) who.push_back(name);
    }
    json from = json::array();
    for (CaseState state : t.from) from.push_back(CaseStateName(state));
    rows.push_back({{"action", t.action},
                    {"from", from},
                    {"to", CaseNextName(t.to)},
                    {"types", types},
                    {"who", who},
                    {"signed", t.signed_step},
                    {"precondition", t.precondition}});
  }
  json states = json::array();
  for (CaseState state : CaseStates()) states.push_back(CaseStateName(state));
  return JsonResponse({{"states", states}, {"steps", rows}});
}

StatusOr<ApiResponse> InboxList(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(auto items, c.library.requests().Inbox(c.principal->id));
  json out = json::array();
  for (const InboxItem& i : items) {
    out.push_back({{"id", i.id}, {"case", i.case_reference}, {"kind", i.kind},
                   {"created_at", FormatInstant(i.created_at)}, {"read", i.read}});
  }
  CARREL_ASSIGN_OR_RETURN(auto deadlines, c.library.requests().Deadlines(c.principal->id));
  json due = json::array();
  for (const Deadline& d : deadlines) {
    due.push_back({{"kind", d.kind},
                   {"case", d.case_reference},
                   {"subject_id", d.subject_id},
                   {"due", d.due},
                   {"overdue", d.overdue}});
  }
  return JsonResponse({{"items", out}, {"deadlines", due}});
}

StatusOr<ApiResponse> InboxRead(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(int64_t id, IdParam(c.request, 0));
  CARREL_RETURN_IF_ERROR(c.library.requests().MarkRead(c.principal->id, id));
  return JsonResponse({{"id", id}, {"read", true}});
}

StatusOr<ApiResponse> AppointmentList(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(auto list, c.library.requests().Appointments(c.actor));
  json out = json::array();
  for (const Appointment& a : list) out.push_back(AppointmentJson(a));
  return ListPage(c, std::move(out));
}

StatusOr<ApiResponse> AppointmentSign(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(AppointmentScope scope, ParseAppointmentScope(TextOf(c.body, "scope")));
  std::string from_text = TextOf(c.body, "valid_from");
  std::string to_text = TextOf(c.body, "valid_to");
  CARREL_ASSIGN_OR_RETURN(Instant from, ParseInstant(from_text));
  CARREL_ASSIGN_OR_RETURN(Instant to, ParseInstant(to_text));
  std::string password = TextOf(c.body, "password");
  CARREL_ASSIGN_OR_RETURN(
      Appointment a,
      c.library.requests().Appoint(c.principal->id, password, c.body["designee_id"].get<int64_t>(),
                                   scope, from, to));
  return JsonResponse(AppointmentJson(a), 201);
}

StatusOr<ApiResponse> AppointmentRevoke(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(int64_t id, IdParam(c.request, 0));
  std::string password = TextOf(c.body, "password");
  CARREL_RETURN_IF_ERROR(c.library.requests().RevokeAppointment(c.principal->id, password, id));
  return JsonResponse({{"id", id}, {"revoked", true}});
}

StatusOr<ApiResponse> AbsenceList(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(auto list, c.library.requests().Absences(c.actor));
  json out = json::array();
  for (const Absence& a : list) {
    out.push_back({{"id", a.id}, {"from", FormatInstant(a.from)}, {"to", FormatInstant(a.to)},
                   {"recorded_by", a.recorded_by}});
  }
  return ListPage(c, std::move(out));
}

StatusOr<ApiResponse> AbsenceRecord(ApiContext& c) {
  std::string from_text = TextOf(c.body, "from");
  std::string to_text = TextOf(c.body, "to");
  CARREL_ASSIGN_OR_RETURN(Instant from, ParseInstant(from_text));
  CARREL_ASSIGN_OR_RETURN(Instant to, ParseInstant(to_text));
  CARREL_ASSIGN_OR_RETURN(Absence a, c.library.requests().RecordAbsence(c.principal->id, from, to));
  return JsonResponse({{"id", a.id}, {"from", FormatInstant(a.from)}, {"to", FormatInstant(a.to)}},
                      201);
}

StatusOr<ApiResponse> MyPermissions(ApiContext& c) {
  CARREL_RETURN_IF_ERROR(
      c.library.accounts().RequireChosenPin(c.principal->id, c.library.profile().min_pin_length));
  CARREL_ASSIGN_OR_RETURN(auto list, c.library.requests().Permissions(c.actor, c.principal->id));
  json out = json::array();
  for (const PatronPermission& p : list) out.push_back(PermissionJson(p));
  return ListPage(c, std::move(out));
}

// The patron signs in the portal: their PIN again.
StatusOr<ApiResponse> GrantMyPermission(ApiContext& c) {
  CARREL_RETURN_IF_ERROR(
      c.library.accounts().RequireChosenPin(c.principal->id, c.library.profile().min_pin_length));
  CARREL_ASSIGN_OR_RETURN(PatronPermission p, PermissionFromBody(c.body));
  std::string pin = TextOf(c.body, "pin");
  CARREL_RETURN_IF_ERROR(c.library.accounts().CheckPatronPin(c.principal->id, pin));
  p.method = PermissionMethod::kPortal;
  CARREL_ASSIGN_OR_RETURN(PatronPermission granted,
                          c.library.requests().GrantPermission(c.actor, c.principal->id, p, ""));
  return JsonResponse(PermissionJson(granted), 201);
}

StatusOr<ApiResponse> RevokeMyPermission(ApiContext& c) {
  CARREL_RETURN_IF_ERROR(
      c.library.accounts().RequireChosenPin(c.principal->id, c.library.profile().min_pin_length));
  CARREL_ASSIGN_OR_RETURN(int64_t id, IdParam(c.request, 0));
  CARREL_RETURN_IF_ERROR(c.library.requests().RevokePermission(c.actor, c.principal->id, id));
  return JsonResponse({{"id", id}, {"revoked", true}});
}

// Staff record a permission the patron signed on paper, with the scan.
StatusOr<ApiResponse> RecordPaperPermission(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(int64_t patron, IdParam(c.request, 0));
  CARREL_ASSIGN_OR_RETURN(PatronPermission p, PermissionFromBody(c.body));
  std::string encoded = TextOf(c.body, "scan_base64");
  CARREL_ASSIGN_OR_RETURN(std::string scan, Base64Decode(encoded));
  p.method = PermissionMethod::kPaper;
  CARREL_ASSIGN_OR_RETURN(PatronPermission granted,
                          c.library.requests().GrantPermission(c.actor, patron, p, scan));
  return JsonResponse(PermissionJson(granted), 201);
}

// The Director or a designee checks a paper permission's scan, then confirms it.
StatusOr<ApiResponse> PermissionScan(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(int64_t id, IdParam(c.request, 0));
  CARREL_ASSIGN_OR_RETURN(std::string scan,
                          c.library.requests().PermissionScan(c.principal->id, id));
  return JsonResponse({{"id", id}, {"scan_base64", Base64Encode(scan)},
                       {"scan_sha256", Sha256Hex(scan)}});
}

StatusOr<ApiResponse> ConfirmPermission(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(int64_t id, IdParam(c.request, 0));
  std::string sha = TextOf(c.body, "scan_sha256");
  CARREL_RETURN_IF_ERROR(c.library.requests().ConfirmPermission(c.principal->id, id, sha));
  return JsonResponse({{"id", id}, {"confirmed", true}});
}

StatusOr<ApiResponse> PatronPermissions(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(int64_t patron, IdParam(c.request, 0));
  CARREL_ASSIGN_OR_RETURN(auto list, c.library.requests().Permissions(c.actor, patron));
  json out = json::array();
  for (const PatronPermission& p : list) out.push_back(PermissionJson(p));
  return ListPage(c, std::move(out));
}

}  // namespace carrel
