#include "carrel/requests.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "carrel/encoding.h"
#include "carrel/inbox.h"
#include "carrel/outbound_hook.h"
#include "requests/fields.h"
#include "requests/impl.h"
#include "requests/render.h"
#include "requests/step_args.h"
#include "util/enum_names.h"

namespace carrel {

using json = nlohmann::json;

namespace {

std::string CaseKeyName(int64_t case_id) { return "case/" + std::to_string(case_id); }

Status CheckCategories(const std::vector<std::string>& categories) {
  for (const std::string& c : categories) {
    const auto& known = DisclosureCategories();
    if (std::find(known.begin(), known.end(), c) == known.end()) {
      return InvalidArgument("unknown record category '" + c +
                             "' (patron, loans, loan_history, holds, fines)");
    }
  }
  return Status::Ok();
}

std::string SealJson(const SecretKey& key, std::string_view table, std::string_view column,
                     int64_t row, const json& value) {
  return Vault::Seal(key, table, column, row, value.dump());
}

StatusOr<json> OpenJson(const SecretKey& key, std::string_view table, std::string_view column,
                        int64_t row, std::string_view sealed) {
  CARREL_ASSIGN_OR_RETURN(std::string plain, Vault::Open(key, table, column, row, sealed));
  json j = json::parse(plain, nullptr, false);
  if (j.is_discarded()) return DataLoss("a sealed case field does not parse");
  return j;
}

json IntakeJson(const CaseIntake& in) {
  return {{"type", CaseTypeName(in.type)},
          {"requester",
           {{"agency", in.agency},
            {"name", in.name},
            {"badge", in.badge},
            {"contact", in.contact},
            {"callback_number", in.callback_number},
            {"callback_source", in.callback_source},
            {"arrived_by", in.arrived_by}}},
          {"asked", in.asked},
          {"card_barcodes", in.card_barcodes},
          {"categories", in.categories},
          {"from", DateJson(in.from)},
          {"to", DateJson(in.to)},
          {"process",
           {{"kind", in.process},
            {"issuing_authority", in.issuing_authority},
            {"date", DateJson(in.process_date)},
            {"return_date", DateJson(in.return_date)},
            {"nondisclosure_order", in.nondisclosure_order},
            {"nondisclosure_expires", DateJson(in.nondisclosure_expires)},
            {"nondisclosure_review", DateJson(in.nondisclosure_review)}}}};
}

StatusOr<CaseIntake> IntakeFromJson(const json& j) {
  CaseIntake in;
  CARREL_ASSIGN_OR_RETURN(in.type, Stored(ParseCaseType(j.value("type", ""))));
  const json& r = j["requester"];
  in.agency = r.value("agency", "");
  in.name = r.value("name", "");
  in.badge = r.value("badge", "");
  in.contact = r.value("contact", "");
  in.callback_number = r.value("callback_number", "");
  in.callback_source = r.value("callback_source", "");
  in.arrived_by = r.value("arrived_by", "");
  in.asked = j.value("asked", "");
  in.card_barcodes = j.value("card_barcodes", std::vector<std::string>{});
  in.categories = j.value("categories", std::vector<std::string>{});
  in.from = DateOf(j, "from");
  in.to = DateOf(j, "to");
  const json& p = j["process"];
  in.process = p.value("kind", "none");
  in.issuing_authority = p.value("issuing_authority", "");
  in.process_date = DateOf(p, "date");
  in.return_date = DateOf(p, "return_date");
  in.nondisclosure_order = p.value("nondisclosure_order", false);
  in.nondisclosure_expires = DateOf(p, "nondisclosure_expires");
  in.nondisclosure_review = DateOf(p, "nondisclosure_review");
  return in;
}

std::string_view ActorWord(uint32_t as) {
  switch (as) {
    case kCaseDirector: return "director";
    case kCaseDesignee: return "designee";
    case kCaseCounsel: return "counsel";
    default: return "staff";
  }
}

}  // namespace

// ---- scopes -------------------------------------------------------------------------------

bool CaseScope::Covers(const CaseScope& inner) const {
  for (int64_t p : inner.patron_ids) {
    if (!std::binary_search(patron_ids.begin(), patron_ids.end(), p)) return false;
  }
  for (const std::string& c : inner.categories) {
    if (!Has(categories, c)) return false;
  }
  if (from && (!inner.from || *inner.from < *from)) return false;
  if (to && (!inner.to || *inner.to > *to)) return false;
  return true;
}

// ---- the case as loaded for one step -------------------------------------------------------

Requests::Impl::Impl(const RequestsDeps& deps, std::string library_id)
    : store_(deps.store),
      vault_(deps.vault),
      audit_(deps.audit),
      accounts_(deps.accounts),
      circulation_(deps.circulation),
      retention_(deps.retention),
      governance_(deps.governance),
      profile_(deps.profile),
      calendar_(deps.calendar),
      clock_(deps.clock),
      library_id_(std::move(library_id)),
      outbound_(deps.outbound),
      library_created_(deps.library_created) {}

namespace {

StatusOr<CaseSummary> SummaryFromRow(const Row& row) {
  // id, reference, type, state, process, outcome, received_at, counsel_id, nondisclosure,
  // return_date
  CaseSummary s;
  s.id = row.Int(0);
  s.reference = row.Text(1);
  CARREL_ASSIGN_OR_RETURN(s.type, Stored(ParseCaseType(row.Text(2))));
  CARREL_ASSIGN_OR_RETURN(s.state, Stored(ParseCaseState(row.Text(3))));
  s.process = row.Text(4);
  CARREL_ASSIGN_OR_RETURN(s.outcome, Stored(ParseCaseOutcome(row.Text(5))));
  if (auto t = ParseInstant(row.Text(6)); t.ok()) s.received_at = *t;
  s.counsel_id = row.Int(7);
  s.nondisclosure_order = row.Int(8) != 0;
  if (!row.IsNull(9)) {
    if (auto d = ParseDate(row.Text(9)); d.ok()) s.return_date = *d;
  }
  return s;
}

constexpr char kSummaryColumns[] =
    "id, reference, type, state, process, outcome, received_at, counsel_id, nondisclosure, "
    "return_date";

}  // namespace

StatusOr<Requests::Impl::Loaded> Requests::Impl::Load(Transaction& tx, std::string_view reference) {
  std::optional<Loaded> out;
  std::string intake_sealed, scope_sealed, notes_sealed;
  CARREL_RETURN_IF_ERROR(tx.Exec(std::string("SELECT ") + kSummaryColumns +
                                     ", intake, scope, notes FROM cases WHERE reference = ?",
                                 {std::string(reference)}, [&](const Row& row) -> Status {
                                   Loaded l;
                                   CARREL_ASSIGN_OR_RETURN(l.summary, SummaryFromRow(row));
                                   l.id = l.summary.id;
                                   intake_sealed = row.Bytes(10);
                                   scope_sealed = row.Bytes(11);
                                   notes_sealed = row.Bytes(12);
                                   out = std::move(l);
                                   return Status::Ok();
                                 }));
  if (!out) return NotFound("no request with that reference");
  CARREL_ASSIGN_OR_RETURN(out->key, vault_->keyring().Get(CaseKeyName(out->id)));
  CARREL_ASSIGN_OR_RETURN(json intake,
                          OpenJson(*out->key, "cases", "intake", out->id, intake_sealed));
  CARREL_ASSIGN_OR_RETURN(out->intake, IntakeFromJson(intake));
  CARREL_ASSIGN_OR_RETURN(json scope, OpenJson(*out->key, "cases", "scope", out->id, scope_sealed));
  CARREL_ASSIGN_OR_RETURN(out->requested, ScopeFromJson(scope));
  CARREL_ASSIGN_OR_RETURN(out->notes, OpenJson(*out->key, "cases", "notes", out->id, notes_sealed));
  return std::move(*out);
}

// ---- who is acting -----------------------------------------------------------------------

Status Requests::Impl::CheckAppointment(Transaction& tx, int64_t user_id, Instant when,
                                        int64_t* appointment, int64_t only) {
  std::string at = FormatInstant(when);
  CARREL_ASSIGN_OR_RETURN(
      int64_t absent, tx.QueryInt("SELECT count(*) FROM director_absences WHERE from_at <= ? AND "
                                  "to_at > ?",
                                  {at, at}));
  *appointment = 0;
  std::string refusal = "no valid written appointment";
  // An appointment the Board reversed is void from its ruling on.
  CARREL_ASSIGN_OR_RETURN(std::vector<int64_t> reversed,
                          Governance::ReversedIn(tx, "appointment", when));
  CARREL_RETURN_IF_ERROR(tx.Exec(
      "SELECT id, scope FROM appointments WHERE designee_id = ? AND valid_from <= ? AND "
      "valid_to > ? AND (revoked_at IS NULL OR revoked_at > ?) ORDER BY scope DESC, id",
      {user_id, at, at, at}, [&](const Row& row) {
        if (std::find(reversed.begin(), reversed.end(), row.Int(0)) != reversed.end()) {
          return Status::Ok();
        }
        if (*appointment != 0 || (only != 0 && row.Int(0) != only)) return Status::Ok();
        if (row.Text(1) == "standing" || absent > 0) {
          *appointment = row.Int(0);
        } else {
          refusal = "the appointment covers the Director's absence only, and the Director is "
                    "present";
        }
        return Status::Ok();
      }));
  if (*appointment == 0) return PermissionDenied(refusal);
  return Status::Ok();
}

StatusOr<CaseActorInfo> Requests::Impl::ResolveActor(int64_t user_id) {
  CARREL_ASSIGN_OR_RETURN(User user, accounts_->GetUser(user_id));
  if (user.disabled) return PermissionDenied("the account is disabled");
  CaseActorInfo who;
  who.user_id = user_id;
  who.actor = Actor{"user/" + std::to_string(user_id), std::string(RoleName(user.role))};
  switch (user.role) {
    case Role::kDirector: who.as = kCaseDirector; return who;
    case Role::kCounsel: who.as = kCaseCounsel; return who;
    case Role::kStaff: break;
    default: return PermissionDenied("your role takes no part in requests");
  }
  who.as = kCaseStaff;
  int64_t appointment = 0;
  Status valid = WithReadTransaction(*store_, [&](Transaction& tx) {
    return CheckAppointment(tx, user_id, clock_->Now(), &appointment);
  });
  if (valid.ok()) {
    who.as = kCaseDesignee;
    who.appointment_id = appointment;
    who.actor.role = "designee";
  }
  return who;
}

StatusOr<bool> Requests::Impl::IsActingDesignee(int64_t user_id) {
  CARREL_ASSIGN_OR_RETURN(CaseActorInfo who, ResolveActor(user_id));
  return who.as == kCaseDesignee;
}

Status Requests::Impl::Refuse(const CaseActorInfo& who, std::string_view reference,
                              std::string_view action, const Status& why) {
  // The refusal is on the log with the step and the kind of refusal, never with case data.
  Status logged = WithWriteTransaction(*store_, [&](Transaction& tx) {
    return audit_
        ->Append(tx, who.actor,
                 {"request.refused", "case", std::string(reference), std::string(reference),
                  json{{"action", action},
                       {"as", ActorWord(who.as)},
                       {"code", std::string(StatusCodeName(why.code()))},
                       {"appointment", who.appointment_id}}
                      .dump()})
        .status();
  });
  if (!logged.ok()) return logged;
  return why;
}

// ---- appointments and absences ------------------------------------------------------------

StatusOr<User> Requests::Impl::ActiveDirector(int64_t user_id, std::string_view refusal) {
  return accounts_->ActiveInRole(user_id, Role::kDirector, refusal);
}

StatusOr<Appointment> Requests::Impl::Appoint(int64_t director_id, std::string_view password,
                                              int64_t designee_id, AppointmentScope scope,
                                              Instant from, Instant to) {
  CARREL_ASSIGN_OR_RETURN(User director,
                          ActiveDirector(director_id, "only the Director appoints designees"));
  if (to <= from) return InvalidArgument("an appointment must end after it starts");
  auto designee = accounts_->GetUser(designee_id);
  if (!designee.ok() || designee->role != Role::kStaff || designee->disabled) {
    return InvalidArgument("a designee must be an active staff user");
  }
  Appointment a;
  a.designee_id = designee_id;
  a.scope = scope;
  a.valid_from = from;
  a.valid_to = to;
  a.signed_by = director_id;
  std::string version;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(a.id, tx.QueryInt("SELECT coalesce(max(id), 0) + 1 FROM appointments"));
    CARREL_ASSIGN_OR_RETURN(version, Governance::VersionInForce(tx));
    return Status::Ok();
  }));
  a.statement = json{
      {"type", "carrel designee appointment"},
      {"library", library_id_},
      {"appointment", a.id},
      {"designee", designee_id},
      {"designee_username", designee->username},
      {"scope", AppointmentScopeName(a.scope)},
      {"valid_from", FormatInstant(from)},
      {"valid_to", FormatInstant(to)},
      {"policy_version",
       version}}.dump();
  CARREL_ASSIGN_OR_RETURN(a.signature, accounts_->Sign(director_id, password,
                                                       SignedPurpose::kAppointment, a.statement));
  Actor actor{"user/" + std::to_string(director_id), "director"};
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_RETURN_IF_ERROR(tx.Exec(
        "INSERT INTO appointments (id, designee_id, scope, valid_from, valid_to, signed_by, "
        "statement, public_key, signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        {a.id, designee_id, std::string(AppointmentScopeName(a.scope)), FormatInstant(from),
         FormatInstant(to), director_id, a.statement, Blob{director.signing_public_key},
         Blob{a.signature}}));
    return audit_
        ->Append(tx, actor,
                 {"appointment.sign", "appointment", std::to_string(a.id), "",
                  json{{"designee", designee_id}, {"scope", AppointmentScopeName(a.scope)}}.dump()})
        .status();
  }));
  return a;
}

Status Requests::Impl::RevokeAppointment(int64_t director_id, std::string_view password,
                                         int64_t id) {
  CARREL_ASSIGN_OR_RETURN(User director,
                          ActiveDirector(director_id, "only the Director revokes appointments"));
  std::string statement = json{{"type", "carrel designee appointment revocation"},
                               {"library", library_id_},
                               {"appointment", id},
                               {"at", FormatInstant(clock_->Now())}}
                              .dump();
  CARREL_ASSIGN_OR_RETURN(
      std::string signature,
      accounts_->Sign(director_id, password, SignedPurpose::kAppointment, statement));
  Actor actor{"user/" + std::to_string(director_id), "director"};
  return WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_RETURN_IF_ERROR(tx.Exec(
        "UPDATE appointments SET revoked_at = ?, revoked_by = ?, revocation = ? WHERE id = ? AND "
        "revoked_at IS NULL",
        {FormatInstant(clock_->Now()), actor.id, Blob{statement + "\n" + signature}, id}));
    if (tx.changes() == 0) return NotFound("no standing appointment with that number");
    return audit_->Append(tx, actor, {"appointment.revoke", "appointment", std::to_string(id), "",
                                      "{}"})
        .status();
  });
}

StatusOr<std::vector<Appointment>> Requests::Impl::Appointments(const Actor& actor) {
  std::vector<Appointment> out;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_RETURN_IF_ERROR(tx.Exec(
        "SELECT id, designee_id, scope, valid_from, valid_to, signed_by, statement, signature, "
        "revoked_at FROM appointments ORDER BY id",
        {}, [&](const Row& row) -> Status {
          Appointment a;
          a.id = row.Int(0);
          a.designee_id = row.Int(1);
          CARREL_ASSIGN_OR_RETURN(a.scope, Stored(ParseAppointmentScope(row.Text(2))));
          CARREL_ASSIGN_OR_RETURN(a.valid_from, ParseInstant(row.Text(3)));
          CARREL_ASSIGN_OR_RETURN(a.valid_to, ParseInstant(row.Text(4)));
          a.signed_by = row.Int(5);
          a.statement = row.Text(6);
          a.signature = row.Bytes(7);
          if (!row.IsNull(8)) {
            CARREL_ASSIGN_OR_RETURN(Instant r, ParseInstant(row.Text(8)));
            a.revoked_at = r;
          }
          out.push_back(std::move(a));
          return Status::Ok();
        }));
    for (Appointment& a : out) {
      CARREL_ASSIGN_OR_RETURN(a.ruling, Governance::RulingOn(tx, "appointment", a.id));
    }
    return audit_->Append(tx, actor, {"appointment.list", "appointment", "", "", "{}"}).status();
  }));
  return out;
}

StatusOr<Absence> Requests::Impl::RecordAbsence(int64_t director_id, Instant from, Instant to) {
  CARREL_ASSIGN_OR_RETURN(
      User director,
      ActiveDirector(director_id, "only the Director records the Director's absences"));
  if (to <= from) return InvalidArgument("an absence must end after it starts");
  Absence a;
  a.from = from;
  a.to = to;
  a.recorded_by = "user/" + std::to_string(director_id);
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_RETURN_IF_ERROR(tx.Exec(
        "INSERT INTO director_absences (from_at, to_at, recorded_by, recorded_at) VALUES "
        "(?, ?, ?, ?)",
        {FormatInstant(from), FormatInstant(to), a.recorded_by, FormatInstant(clock_->Now())}));
    CARREL_ASSIGN_OR_RETURN(a.id, tx.QueryInt("SELECT max(id) FROM director_absences"));
    return audit_
        ->Append(tx, Actor{a.recorded_by, "director"},
                 {"absence.record", "absence", std::to_string(a.id), "",
                  json{{"from", FormatInstant(from)}, {"to", FormatInstant(to)}}.dump()})
        .status();
  }));
  return a;
}

StatusOr<std::vector<Absence>> Requests::Impl::Absences(const Actor& actor) {
  std::vector<Absence> out;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_RETURN_IF_ERROR(
        tx.Exec("SELECT id, from_at, to_at, recorded_by FROM director_absences "
                "ORDER BY from_at",
                {}, [&](const Row& row) -> Status {
                  Absence a;
                  a.id = row.Int(0);
                  CARREL_ASSIGN_OR_RETURN(a.from, ParseInstant(row.Text(1)));
                  CARREL_ASSIGN_OR_RETURN(a.to, ParseInstant(row.Text(2)));
                  a.recorded_by = row.Text(3);
                  out.push_back(a);
                  return Status::Ok();
                }));
    return audit_->Append(tx, actor, {"absence.list", "absence", "", "", "{}"}).status();
  }));
  return out;
}

// ---- notifications ------------------------------------------------------------------------

Status Requests::Impl::Notify(Transaction& tx, const std::string& reference, std::string_view kind,
                              uint32_t whom, int64_t user_id) {
  std::set<int64_t> users;
  if (user_id != 0) users.insert(user_id);
  const Instant at = clock_->Now();
  std::string now = FormatInstant(at);
  if ((whom & kCaseDirector) != 0) {
    CARREL_ASSIGN_OR_RETURN(std::vector<int64_t> directors,
                            Accounts::EnabledUsersIn(tx, Role::kDirector));
    users.insert(directors.begin(), directors.end());
  }
  if ((whom & kCaseDesignee) != 0) {
    std::vector<int64_t> designees;
    CARREL_RETURN_IF_ERROR(
        tx.Exec("SELECT DISTINCT designee_id FROM appointments WHERE revoked_at IS NULL AND "
                "valid_from <= ? AND valid_to > ?",
                {now, now}, [&](const Row& row) {
                  designees.push_back(row.Int(0));
                  return Status::Ok();
                }));
    for (int64_t d : designees) {
      int64_t appointment = 0;
      if (CheckAppointment(tx, d, clock_->Now(), &appointment).ok()) users.insert(d);
    }
  }
  if ((whom & kCaseCounsel) != 0 && user_id == 0) {
    CARREL_ASSIGN_OR_RETURN(std::vector<int64_t> counsel,
                            Accounts::EnabledUsersIn(tx, Role::kCounsel));
    users.insert(counsel.begin(), counsel.end());
  }
  for (int64_t u : users) {
    CARREL_RETURN_IF_ERROR(Inbox::PostIn(tx, u, reference, kind, at));
  }
  return Status::Ok();
}

void Requests::Impl::RunNotifyCommand(const std::string& reference) {
  // The alert gets the case reference and nothing else.
  outbound_->RequestArrived(reference);
}

// ---- intake -------------------------------------------------------------------------------

namespace {

// What an intake must hold, whoever takes it.
Status CheckIntake(const CaseIntake& in, CaseType type) {
  if (!Has(LegalProcessNames(), in.process)) {
    return InvalidArgument("process must be one of none, subpoena, court_order, search_warrant, "
                           "national_security_letter, fisa_order, other");
  }
  if (in.asked.empty() || in.asked.size() > 4000) {
    return InvalidArgument("say what is asked (1 to 4000 characters)");
  }
  if ((type == kLawEnforcement || type == kThirdParty) && in.agency.empty() && in.name.empty()) {
    return InvalidArgument("record who is asking: agency or name");
  }
  if (type == kLawEnforcement && in.callback_number.empty()) {
    return InvalidArgument(
        "record a call-back number for the agency, taken from an independent directory");
  }
  if (in.card_barcodes.size() > 100) return InvalidArgument("at most 100 card barcodes");
  CARREL_RETURN_IF_ERROR(CheckCategories(in.categories));
  if (in.from && in.to && *in.to < *in.from) return InvalidArgument("the dates end before they start");
  if (type == kPatronAccess && in.card_barcodes.size() != 1) {
    return InvalidArgument("a patron-access request names the one patron asking");
  }
  if (in.nondisclosure_order && !in.nondisclosure_review) {
    return InvalidArgument("a nondisclosure order needs its review date");
  }
  return Status::Ok();
}

// The scope asked for. Card barcodes become pseudonymous patron ids (through the blind index,
// confirmed by decryption, on carrel's own account); whether any matched is never told to the
// person at the desk.
StatusOr<CaseScope> RequestedScope(Circulation& circulation, const CaseIntake& in) {
  CaseScope requested;
  const Actor resolver = SystemActor("request-intake");
  for (const std::string& card : in.card_barcodes) {
    auto p = circulation.FindPatronByBarcode(resolver, card);
    if (p.ok()) {
      requested.patron_ids.push_back(p->id);
    } else if (p.status().code() != StatusCode::kNotFound &&
               p.status().code() != StatusCode::kInvalidArgument) {
      return p.status();
    }
  }
  std::sort(requested.patron_ids.begin(), requested.patron_ids.end());
  requested.patron_ids.erase(std::unique(requested.patron_ids.begin(), requested.patron_ids.end()),
                             requested.patron_ids.end());
  requested.categories = in.categories.empty()
                             ? std::vector<std::string>(DisclosureCategories().begin(),
                                                        DisclosureCategories().end())
                             : in.categories;
  std::sort(requested.categories.begin(), requested.categories.end());
  requested.from = in.from;
  requested.to = in.to;
  return requested;
}

}  // namespace

StatusOr<CaseSummary> Requests::Impl::Intake(int64_t user_id, const CaseIntake& in) {
  CARREL_ASSIGN_OR_RETURN(CaseActorInfo who, ResolveActor(user_id));
  if (who.as == kCaseCounsel) {
    return Refuse(who, "", "intake", PermissionDenied("counsel does not take requests in"));
  }
  const CaseType type = in.type;
  CARREL_RETURN_IF_ERROR(CheckIntake(in, type));
  CARREL_ASSIGN_OR_RETURN(CaseScope requested, RequestedScope(*circulation_, in));
  CARREL_ASSIGN_OR_RETURN(auto hold_key, retention_->HoldReasonKey());
  Instant now = clock_->Now();
  // The case number is taken inside the transaction that writes the case, so desks taking
  // requests in at the same moment get numbers of their own. The case key is created there
  // too (a rolled-back intake leaves an unused key that the next case of that number takes).
  CaseSummary s;
  s.type = in.type;
  s.state = CaseState::kReceived;
  s.process = in.process;
  s.received_at = now;
  s.nondisclosure_order = in.nondisclosure_order;
  s.return_date = in.return_date;
  const int year = static_cast<int>(std::chrono::year_month_day(calendar_->LocalDate(now)).year());
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(int64_t id, tx.QueryInt("SELECT coalesce(max(id), 0) + 1 FROM cases"));
    CARREL_ASSIGN_OR_RETURN(auto key, vault_->keyring().GetOrCreate(CaseKeyName(id)));
    char reference[32];
    std::snprintf(reference, sizeof reference, "R-%d-%04lld", year, static_cast<long long>(id));
    s.id = id;
    s.reference = reference;
    CARREL_ASSIGN_OR_RETURN(std::string in_force, Governance::VersionInForce(tx));
    CARREL_RETURN_IF_ERROR(tx.Exec(
        "INSERT INTO cases (id, reference, type, state, process, received_at, received_by, "
        "nondisclosure, return_date, intake, scope, notes, nondisclosure_expires, "
        "nondisclosure_review) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        {id, s.reference, std::string(CaseTypeName(s.type)), std::string(CaseStateName(s.state)),
         s.process, FormatInstant(now), user_id, int64_t{in.nondisclosure_order ? 1 : 0},
         in.return_date ? Value(FormatDate(*in.return_date)) : Value(),
         Blob{SealJson(*key, "cases", "intake", id, IntakeJson(in))},
         Blob{SealJson(*key, "cases", "scope", id, ScopeToJson(requested))},
         Blob{SealJson(*key, "cases", "notes", id, json::object())},
         in.nondisclosure_order && in.nondisclosure_expires
             ? Value(FormatDate(*in.nondisclosure_expires))
             : Value(),
         in.nondisclosure_order && in.nondisclosure_review
             ? Value(FormatDate(*in.nondisclosure_review))
             : Value()}));
    CARREL_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO case_events (case_id, at, actor, action, from_state, to_state, "
                "appointment_id, policy_version) VALUES (?, ?, ?, 'intake', '', 'received', ?, ?)",
                {id, FormatInstant(now), who.actor.id, who.appointment_id, in_force}));
    // Records in scope are held from the moment the request arrives. A clerk's hold lapses
    // after the profile's days unless the Director or a designee confirms it by acting on the
    // case; theirs stand until the case is closed.
    std::optional<Date> lapses;
    if (who.as == kCaseStaff) {
      lapses = calendar_->LocalDate(now) + std::chrono::days(profile_->intake_hold_days);
    }
    for (int64_t patron : requested.patron_ids) {
      CARREL_RETURN_IF_ERROR(retention_->PlaceCaseHold(tx, who.actor, *hold_key, s.reference,
                                                       patron, in.from, in.to, lapses));
    }
    CARREL_RETURN_IF_ERROR(
        Notify(tx, s.reference, "new_request", kCaseDirector | kCaseDesignee, 0));
    return audit_
        ->Append(tx, who.actor,
                 {"request.intake", "case", s.reference, s.reference,
                  json{{"type", CaseTypeName(s.type)},
                       {"process", s.process},
                       {"to", "received"},
                       {"appointment", who.appointment_id}}
                      .dump()})
        .status();
  }));
  RunNotifyCommand(s.reference);
  return s;
}

// ---- reading cases ------------------------------------------------------------------------

StatusOr<std::vector<CaseSummary>> Requests::Impl::List(int64_t user_id) {
  CARREL_ASSIGN_OR_RETURN(CaseActorInfo who, ResolveActor(user_id));
  if (who.as == kCaseStaff) {
    return Refuse(who, "", "list", PermissionDenied("staff take requests in and refer them; "
                                                    "cases are for the Director"));
  }
  std::vector<CaseSummary> out;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    std::string sql = std::string("SELECT ") + kSummaryColumns + " FROM cases";
    std::vector<Value> params;
    if (who.as == kCaseCounsel) {
      sql += " WHERE counsel_id = ?";
      params.push_back(user_id);
    }
    sql += " ORDER BY id DESC";
    CARREL_RETURN_IF_ERROR(tx.Exec(sql, params, [&](const Row& row) -> Status {
      CARREL_ASSIGN_OR_RETURN(CaseSummary summary, SummaryFromRow(row));
      out.push_back(std::move(summary));
      return Status::Ok();
    }));
    return audit_->Append(tx, who.actor, {"request.list", "case", "", "", "{}"}).status();
  }));
  return out;
}

namespace {

// Whether `who` may see the case at all: the Director, an acting designee, or its counsel.
Status MaySee(const CaseActorInfo& who, const CaseSummary& s) {
  if (who.as == kCaseDirector || who.as == kCaseDesignee) return Status::Ok();
  if (who.as == kCaseCounsel && s.counsel_id == who.user_id) return Status::Ok();
  if (who.as == kCaseCounsel) return PermissionDenied("counsel sees only the cases assigned to them");
  return PermissionDenied("staff take requests in and refer them; cases are for the Director");
}

}  // namespace

StatusOr<std::vector<CaseDecision>> Requests::Impl::ReadDecisions(Transaction& tx,
                                                                  const Loaded& l) {
  std::vector<CaseDecision> out;
  CARREL_RETURN_IF_ERROR(tx.Exec(
      "SELECT id, document, signed_by, appointment_id, public_key, signature, signed_at FROM "
      "case_decisions WHERE case_id = ? ORDER BY id",
      {l.id}, [&](const Row& row) -> Status {
        CaseDecision d;
        d.id = row.Int(0);
        CARREL_ASSIGN_OR_RETURN(
            d.document, Vault::Open(*l.key, "case_decisions", "document", d.id, row.BytesView(1)));
        d.signed_by = row.Int(2);
        d.appointment_id = row.Int(3);
        d.public_key = row.Bytes(4);
        d.signature = row.Bytes(5);
        CARREL_ASSIGN_OR_RETURN(d.signed_at, ParseInstant(row.Text(6)));
        json doc = json::parse(d.document, nullptr, false);
        if (doc.is_object()) {
          CARREL_ASSIGN_OR_RETURN(d.outcome, Stored(ParseCaseOutcome(doc.value("outcome", ""))));
          d.basis = doc.value("basis", "");
          d.advice_id = doc.value("advice", int64_t{0});
          d.permission_id = doc.value("permission", int64_t{0});
          d.policy_version = doc.value("policy_version", "");
          if (doc.contains("scope")) {
            if (auto sc = ScopeFromJson(doc["scope"]); sc.ok()) d.scope = *sc;
          }
        }
        out.push_back(std::move(d));
        return Status::Ok();
      }));
  for (CaseDecision& d : out) {
    CARREL_ASSIGN_OR_RETURN(d.ruling, Governance::RulingOn(tx, "decision", d.id));
  }
  return out;
}

namespace {

// The parts of a case file, each read within the viewing transaction.
StatusOr<std::vector<CaseEvent>> ReadEvents(Transaction& tx, int64_t case_id) {
  std::vector<CaseEvent> events;
  CARREL_RETURN_IF_ERROR(
      tx.Exec("SELECT at, actor, action, from_state, to_state, appointment_id, "
              "policy_version FROM case_events WHERE case_id = ? ORDER BY id",
              {case_id}, [&](const Row& row) -> Status {
                CaseEvent e;
                CARREL_ASSIGN_OR_RETURN(e.at, ParseInstant(row.Text(0)));
                e.actor = row.Text(1);
                e.action = row.Text(2);
                if (!row.Text(3).empty()) {
                  CARREL_ASSIGN_OR_RETURN(e.from_state, Stored(ParseCaseState(row.Text(3))));
                }
                CARREL_ASSIGN_OR_RETURN(e.to_state, Stored(ParseCaseState(row.Text(4))));
                e.appointment_id = row.Int(5);
                e.policy_version = row.Text(6);
                events.push_back(e);
                return Status::Ok();
              }));
  return events;
}

StatusOr<std::vector<CaseDocument>> ReadDocuments(Transaction& tx, const SecretKey& key,
                                                  int64_t case_id) {
  std::vector<CaseDocument> documents;
  CARREL_RETURN_IF_ERROR(tx.Exec(
      "SELECT id, kind, filename, sha256, bytes FROM case_documents WHERE "
      "case_id = ? ORDER BY id",
      {case_id}, [&](const Row& row) -> Status {
        CaseDocument d;
        d.id = row.Int(0);
        d.kind = row.Text(1);
        CARREL_ASSIGN_OR_RETURN(
            d.filename, Vault::Open(key, "case_documents", "filename", d.id, row.BytesView(2)));
        d.sha256 = row.Text(3);
        d.bytes = row.Int(4);
        documents.push_back(d);
        return Status::Ok();
      }));
  return documents;
}

StatusOr<std::vector<CounselAdvice>> ReadAdvice(Transaction& tx, const SecretKey& key,
                                                int64_t case_id) {
  std::vector<CounselAdvice> advice;
  CARREL_RETURN_IF_ERROR(tx.Exec(
      "SELECT id, counsel_id, at, proper_form, enforceable, court_order_compels, "
      "recommendation, body FROM counsel_advice WHERE case_id = ? ORDER BY id",
      {case_id}, [&](const Row& row) -> Status {
        CounselAdvice a;
        a.id = row.Int(0);
        a.counsel_id = row.Int(1);
        CARREL_ASSIGN_OR_RETURN(a.at, ParseInstant(row.Text(2)));
        a.proper_form = row.Int(3) != 0;
        a.enforceable = row.Int(4) != 0;
        a.court_order_compels = row.Int(5) != 0;
        CARREL_ASSIGN_OR_RETURN(a.recommendation, Stored(ParseCounselRecommendation(row.Text(6))));
        CARREL_ASSIGN_OR_RETURN(json body,
                                OpenJson(key, "counsel_advice", "body", a.id, row.BytesView(7)));
        a.advice = body.value("advice", "");
        if (body.contains("recommended_scope") && !body["recommended_scope"].is_null()) {
          CARREL_ASSIGN_OR_RETURN(CaseScope rs, ScopeFromJson(body["recommended_scope"]));
          a.recommended_scope = rs;
        }
        advice.push_back(std::move(a));
        return Status::Ok();
      }));
  return advice;
}

StatusOr<std::optional<Disclosure>> ReadLatestDisclosure(Transaction& tx, const SecretKey& key,
                                                         int64_t case_id) {
  std::optional<Disclosure> disclosure;
  CARREL_RETURN_IF_ERROR(tx.Exec(
      "SELECT id, decision_id, manifest, signature, signed_by, prepared_at, delivery, "
      "delivered_at, acknowledged_at FROM disclosures WHERE case_id = ? ORDER BY id DESC "
      "LIMIT 1",
      {case_id}, [&](const Row& row) -> Status {
        Disclosure d;
        d.id = row.Int(0);
        d.decision_id = row.Int(1);
        CARREL_ASSIGN_OR_RETURN(
            d.manifest, Vault::Open(key, "disclosures", "manifest", d.id, row.BytesView(2)));
        d.signature = row.Bytes(3);
        d.signed_by = row.Int(4);
        CARREL_ASSIGN_OR_RETURN(d.prepared_at, ParseInstant(row.Text(5)));
        if (!row.IsNull(6)) {
          CARREL_ASSIGN_OR_RETURN(json delivery,
                                  OpenJson(key, "disclosures", "delivery", d.id, row.BytesView(6)));
          d.delivered_to = delivery.value("to", "");
          d.delivered_how = delivery.value("how", "");
        }
        if (!row.IsNull(7)) {
          CARREL_ASSIGN_OR_RETURN(Instant t, ParseInstant(row.Text(7)));
          d.delivered_at = t;
        }
        if (!row.IsNull(8)) {
          CARREL_ASSIGN_OR_RETURN(Instant t, ParseInstant(row.Text(8)));
          d.acknowledged_at = t;
        }
        disclosure = std::move(d);
        return Status::Ok();
      }));
  return disclosure;
}

}  // namespace

StatusOr<CaseFile> Requests::Impl::Get(int64_t user_id, std::string_view reference) {
  CARREL_ASSIGN_OR_RETURN(CaseActorInfo who, ResolveActor(user_id));
  CaseFile f;
  Status seen = Status::Ok();
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(Loaded l, Load(tx, reference));
    seen = MaySee(who, l.summary);
    if (!seen.ok()) return Status::Ok();
    f.summary = l.summary;
    f.intake = l.intake;
    f.consultation = l.notes.value("consultation", "");
    f.media_statement = l.notes.value("media_statement", "");
    if (Given(l.notes, "warrant")) {
      // Recorded as the step's body; a note that no longer reads is shown as nothing.
      auto warrant = StepArgsFromJson("execute_warrant", l.notes["warrant"]);
      if (warrant.ok()) f.warrant = std::get<steps::ExecuteWarrant>(*warrant);
    }
    CARREL_ASSIGN_OR_RETURN(f.events, ReadEvents(tx, l.id));
    CARREL_ASSIGN_OR_RETURN(f.documents, ReadDocuments(tx, *l.key, l.id));
    CARREL_ASSIGN_OR_RETURN(f.advice, ReadAdvice(tx, *l.key, l.id));
    CARREL_ASSIGN_OR_RETURN(f.decisions, ReadDecisions(tx, l));
    CARREL_ASSIGN_OR_RETURN(f.disclosure, ReadLatestDisclosure(tx, *l.key, l.id));
    CARREL_ASSIGN_OR_RETURN(f.decline_ruling, Governance::RulingOn(tx, "decline", l.id));
    CARREL_ASSIGN_OR_RETURN(f.notices, CaseNotices(tx, l.id));
    return audit_
        ->Append(tx, who.actor,
                 {"request.view", "case", std::string(reference), std::string(reference),
                  json{{"appointment", who.appointment_id}}.dump()})
        .status();
  }));
  if (!seen.ok()) return Refuse(who, reference, "view", seen);
  return f;
}

// ---- documents ----------------------------------------------------------------------------

StatusOr<CaseDocument> Requests::Impl::AddDocument(int64_t user_id, std::string_view reference,
                                                   std::string_view kind, std::string_view filename,
                                                   std::string_view content) {
  CARREL_ASSIGN_OR_RETURN(CaseActorInfo who, ResolveActor(user_id));
  if (kind.empty() || kind.size() > 40 || filename.empty() || filename.size() > 200) {
    return InvalidArgument("a document needs a kind (up to 40 characters) and a file name");
  }
  if (content.empty()) return InvalidArgument("the document is empty");
  CaseDocument d;
  d.kind = std::string(kind);
  d.filename = std::string(filename);
  d.sha256 = Sha256Hex(content);
  d.bytes = static_cast<int64_t>(content.size());
  Status allowed = Status::Ok();
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(Loaded l, Load(tx, reference));
    // Staff add the papers they were handed while the case is new; later, the Director, a
    // designee or the case's counsel.
    if (who.as == kCaseStaff) {
      allowed =
          l.summary.state == CaseState::kReceived || l.summary.state == CaseState::kWarrantExecuted
              ? Status::Ok()
              : PermissionDenied("staff add documents only while a request is new");
    } else {
      allowed = MaySee(who, l.summary);
    }
    if (!allowed.ok()) return Status::Ok();
    if (l.summary.state == CaseState::kClosed) {
      allowed = FailedPrecondition("the case is closed");
      return Status::Ok();
    }
    CARREL_ASSIGN_OR_RETURN(d.id,
                            tx.QueryInt("SELECT coalesce(max(id), 0) + 1 FROM case_documents"));
    CARREL_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO case_documents (id, case_id, kind, filename, sha256, bytes, content, "
                "added_at, added_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                {d.id, l.id, d.kind,
                 Blob{Vault::Seal(*l.key, "case_documents", "filename", d.id, filename)}, d.sha256,
                 d.bytes, Blob{Vault::Seal(*l.key, "case_documents", "content", d.id, content)},
                 FormatInstant(clock_->Now()), who.actor.id}));
    return audit_
        ->Append(tx, who.actor,
                 {"request.document.add", "case_document", std::to_string(d.id),
                  std::string(reference),
                  json{{"kind", d.kind}, {"sha256", d.sha256}, {"bytes", d.bytes}}.dump()})
        .status();
  }));
  if (!allowed.ok()) return Refuse(who, reference, "add_document", allowed);
  return d;
}

StatusOr<std::pair<CaseDocument, std::string>> Requests::Impl::ReadDocument(
    int64_t user_id, std::string_view reference, int64_t document_id) {
  CARREL_ASSIGN_OR_RETURN(CaseActorInfo who, ResolveActor(user_id));
  std::optional<std::pair<CaseDocument, std::string>> out;
  Status allowed = Status::Ok();
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(Loaded l, Load(tx, reference));
    allowed = MaySee(who, l.summary);
    if (!allowed.ok()) return Status::Ok();
    CARREL_RETURN_IF_ERROR(tx.Exec(
        "SELECT id, kind, filename, sha256, bytes, content FROM case_documents WHERE id = ? AND "
        "case_id = ?",
        {document_id, l.id}, [&](const Row& row) -> Status {
          CaseDocument d;
          d.id = row.Int(0);
          d.kind = row.Text(1);
          CARREL_ASSIGN_OR_RETURN(d.filename, Vault::Open(*l.key, "case_documents", "filename",
                                                          d.id, row.BytesView(2)));
          d.sha256 = row.Text(3);
          d.bytes = row.Int(4);
          CARREL_ASSIGN_OR_RETURN(
              std::string content,
              Vault::Open(*l.key, "case_documents", "content", d.id, row.BytesView(5)));
          if (Sha256Hex(content) != d.sha256) {
            return DataLoss("the stored document does not match its recorded SHA-256");
          }
          out = std::make_pair(std::move(d), std::move(content));
          return Status::Ok();
        }));
    if (!out) return NotFound("no such document in this case");
    return audit_
        ->Append(tx, who.actor, {"request.document.read", "case_document",
                                 std::to_string(document_id), std::string(reference), "{}"})
        .status();
  }));
  if (!allowed.ok()) return Refuse(who, reference, "read_document", allowed);
  return std::move(*out);
}

// ---- patron permissions --------------------------------------------------------------------

StatusOr<PatronPermission> Requests::Impl::GrantPermission(const Actor& actor, int64_t patron_id,
                                                           PatronPermission p,
                                                           std::string_view scan) {
  if (p.recipient.empty() || p.recipient.size() > 400) {
    return InvalidArgument("say to whom the records may go (1 to 400 characters)");
  }
  if (p.categories.empty()) return InvalidArgument("name the records the permission covers");
  CARREL_RETURN_IF_ERROR(CheckCategories(p.categories));
  if (p.from && p.to && *p.to < *p.from) return InvalidArgument("the dates end before they start");
  Date today = calendar_->LocalDate(clock_->Now());
  if (p.valid_until < today) return InvalidArgument("the permission would already have expired");
  if (p.method == PermissionMethod::kPaper && scan.empty()) {
    return InvalidArgument("a paper permission is recorded with the scan of the signed form");
  }
  std::sort(p.categories.begin(), p.categories.end());
  p.patron_id = patron_id;
  p.signed_at = clock_->Now();
  p.scan_sha256 = scan.empty() ? "" : Sha256Hex(scan);
  CARREL_ASSIGN_OR_RETURN(auto key, vault_->keyring().Get(Vault::PatronKeyName(patron_id)));
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(bool exists, Circulation::PatronExistsIn(tx, patron_id));
    if (!exists) return NotFound("no such patron");
    CARREL_ASSIGN_OR_RETURN(p.id,
                            tx.QueryInt("SELECT coalesce(max(id), 0) + 1 FROM patron_permissions"));
    json body = {{"type", "carrel patron permission"},
                 {"library", library_id_},
                 {"permission", p.id},
                 {"patron", patron_id},
                 {"recipient", p.recipient},
                 {"categories", p.categories},
                 {"from", DateJson(p.from)},
                 {"to", DateJson(p.to)},
                 {"valid_until", FormatDate(p.valid_until)},
                 {"method", PermissionMethodName(p.method)},
                 {"signed_at", FormatInstant(p.signed_at)}};
    CARREL_RETURN_IF_ERROR(tx.Exec(
        "INSERT INTO patron_permissions (id, patron_id, body, valid_until, method, scan_sha256, "
        "scan, signed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        {p.id, patron_id, Blob{SealJson(*key, "patron_permissions", "body", p.id, body)},
         FormatDate(p.valid_until), std::string(PermissionMethodName(p.method)), p.scan_sha256,
         scan.empty() ? Value()
                      : Value(Blob{Vault::Seal(*key, "patron_permissions", "scan", p.id, scan)}),
         FormatInstant(p.signed_at)}));
    return audit_
        ->Append(tx, actor,
                 {"permission.grant", "patron_permission", std::to_string(p.id), "",
                  json{{"patron", patron_id}, {"method", PermissionMethodName(p.method)}}.dump()})
        .status();
  }));
  return p;
}

Status Requests::Impl::RevokePermission(const Actor& actor, int64_t patron_id,
                                        int64_t permission_id) {
  return WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_RETURN_IF_ERROR(
        tx.Exec("UPDATE patron_permissions SET revoked_at = ? WHERE id = ? AND patron_id = ? AND "
                "revoked_at IS NULL",
                {FormatInstant(clock_->Now()), permission_id, patron_id}));
    if (tx.changes() == 0) return NotFound("no standing permission with that number");
    return audit_->Append(tx, actor, {"permission.revoke", "patron_permission",
                                      std::to_string(permission_id), "",
                                      json{{"patron", patron_id}}.dump()})
        .status();
  });
}

namespace {

StatusOr<std::vector<PatronPermission>> ReadPermissions(Transaction& tx, const SecretKey& key,
                                                        const std::string& where,
                                                        const std::vector<Value>& params) {
  std::vector<PatronPermission> out;
  CARREL_RETURN_IF_ERROR(tx.Exec(
      "SELECT id, patron_id, body, method, scan_sha256, revoked_at, confirmed_at FROM "
      "patron_permissions " +
          where + " ORDER BY id",
      params, [&](const Row& row) -> Status {
        PatronPermission p;
        p.id = row.Int(0);
        p.patron_id = row.Int(1);
        CARREL_ASSIGN_OR_RETURN(
            json body, OpenJson(key, "patron_permissions", "body", p.id, row.BytesView(2)));
        if (body.value("patron", int64_t{-1}) != p.patron_id ||
            body.value("permission", int64_t{-1}) != p.id) {
          return DataLoss("a stored permission does not match its row");
        }
        p.recipient = body.value("recipient", "");
        p.categories = body.value("categories", std::vector<std::string>{});
        p.from = DateOf(body, "from");
        p.to = DateOf(body, "to");
        CARREL_ASSIGN_OR_RETURN(p.valid_until, ParseDate(body.value("valid_until", "")));
        CARREL_ASSIGN_OR_RETURN(p.signed_at, ParseInstant(body.value("signed_at", "")));
        CARREL_ASSIGN_OR_RETURN(p.method, Stored(ParsePermissionMethod(row.Text(3))));
        p.scan_sha256 = row.Text(4);
        if (!row.IsNull(5)) {
          CARREL_ASSIGN_OR_RETURN(Instant r, ParseInstant(row.Text(5)));
          p.revoked_at = r;
        }
        if (!row.IsNull(6)) {
          CARREL_ASSIGN_OR_RETURN(Instant c, ParseInstant(row.Text(6)));
          p.confirmed_at = c;
        }
        out.push_back(std::move(p));
        return Status::Ok();
      }));
  return out;
}

}  // namespace

namespace {
// The patron a permission belongs to (its row names the patron, a pseudonymous id).
StatusOr<int64_t> PermissionPatron(Store& store, int64_t permission_id, PermissionMethod* method) {
  int64_t patron = 0;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(store, [&](Transaction& tx) {
    return tx.Exec("SELECT patron_id, method FROM patron_permissions WHERE id = ?", {permission_id},
                   [&](const Row& row) -> Status {
                     patron = row.Int(0);
                     CARREL_ASSIGN_OR_RETURN(*method, Stored(ParsePermissionMethod(row.Text(1))));
                     return Status::Ok();
                   });
  }));
  if (patron == 0) return NotFound("no such permission");
  return patron;
}
}  // namespace

StatusOr<std::string> Requests::Impl::PermissionScan(int64_t user_id, int64_t permission_id) {
  CARREL_ASSIGN_OR_RETURN(CaseActorInfo who, ResolveActor(user_id));
  if (who.as != kCaseDirector && who.as != kCaseDesignee) {
    return PermissionDenied("only the Director or a designee acting now checks a permission's scan");
  }
  PermissionMethod method = PermissionMethod::kPortal;
  CARREL_ASSIGN_OR_RETURN(int64_t patron, PermissionPatron(*store_, permission_id, &method));
  if (method != PermissionMethod::kPaper)
    return FailedPrecondition("a permission given in the portal has no scan");
  CARREL_ASSIGN_OR_RETURN(auto key, vault_->keyring().Get(Vault::PatronKeyName(patron)));
  std::string scan;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_RETURN_IF_ERROR(tx.Exec("SELECT scan FROM patron_permissions WHERE id = ?",
                                   {permission_id}, [&](const Row& row) -> Status {
                                     CARREL_ASSIGN_OR_RETURN(
                                         scan, Vault::Open(*key, "patron_permissions", "scan",
                                                           permission_id, row.BytesView(0)));
                                     return Status::Ok();
                                   }));
    return audit_->Append(tx, who.actor, {"permission.scan.view", "patron_permission",
                                          std::to_string(permission_id), "",
                                          json{{"patron", patron}}.dump()})
        .status();
  }));
  return scan;
}

Status Requests::Impl::ConfirmPermission(int64_t user_id, int64_t permission_id,
                                         std::string_view scan_sha256) {
  CARREL_ASSIGN_OR_RETURN(CaseActorInfo who, ResolveActor(user_id));
  if (who.as != kCaseDirector && who.as != kCaseDesignee) {
    return PermissionDenied("only the Director or a designee acting now confirms a permission");
  }
  PermissionMethod method = PermissionMethod::kPortal;
  CARREL_ASSIGN_OR_RETURN(int64_t patron, PermissionPatron(*store_, permission_id, &method));
  if (method != PermissionMethod::kPaper) {
    return FailedPrecondition("a permission given in the portal needs no confirmation");
  }
  return WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_RETURN_IF_ERROR(tx.Exec(
        "UPDATE patron_permissions SET confirmed_by = ?, confirmed_at = ? WHERE id = ? AND "
        "scan_sha256 = ? AND revoked_at IS NULL AND confirmed_at IS NULL",
        {who.actor.id, FormatInstant(clock_->Now()), permission_id, std::string(scan_sha256)}));
    if (tx.changes() == 0) {
      return FailedPrecondition("nothing confirmed: the scan's SHA-256 does not match, or the "
                                "permission was revoked or is already confirmed");
    }
    return audit_->Append(tx, who.actor, {"permission.confirm", "patron_permission",
                                          std::to_string(permission_id), "",
                                          json{{"appointment", who.appointment_id},
                                               {"patron", patron}}
                                              .dump()})
        .status();
  });
}

StatusOr<std::vector<PatronPermission>> Requests::Impl::Permissions(const Actor& actor,
                                                                    int64_t patron_id) {
  CARREL_ASSIGN_OR_RETURN(auto key, vault_->keyring().Get(Vault::PatronKeyName(patron_id)));
  std::vector<PatronPermission> out;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(out, ReadPermissions(tx, *key, "WHERE patron_id = ?", {patron_id}));
    return audit_->Append(tx, actor, {"permission.list", "patron", std::to_string(patron_id), "",
                                      "{}"})
        .status();
  }));
  return out;
}

// ---- inbox --------------------------------------------------------------------------------

StatusOr<std::vector<InboxItem>> Requests::Impl::Inbox(int64_t user_id) {
  std::vector<InboxItem> out;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(out, Inbox::ItemsIn(tx, user_id));
    return Status::Ok();
  }));
  return out;
}

Status Requests::Impl::MarkRead(int64_t user_id, int64_t item_id) {
  return WithWriteTransaction(*store_, [&](Transaction& tx) {
    return Inbox::MarkReadIn(tx, user_id, item_id, clock_->Now());
  });
}

}  // namespace carrel
