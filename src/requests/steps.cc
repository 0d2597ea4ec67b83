// Requests::Impl::Act: one step of the transition table, its preconditions and its effects; the
// signed decision, the disclosure package built from it and checked again at every download;
// the decline letter.

#include <algorithm>
#include <nlohmann/json.hpp>

#include "carrel/encoding.h"
#include "carrel/requests.h"
#include "requests/fields.h"
#include "requests/impl.h"
#include "requests/package_check.h"
#include "requests/render.h"
#include "requests/step_args.h"
#include "util/enum_names.h"

namespace carrel {

using json = nlohmann::json;

namespace {

// One patron's records in the categories of `scope`, read in one transaction (each call below
// joins it): the records as of one moment, and their audit entries committed together, once.
struct PatronFile {
  std::optional<Patron> person;
  std::vector<Loan> loans;
  std::vector<ReturnedLoan> history;
  std::vector<Hold> holds;
  std::vector<Fine> fines;
  std::map<int64_t, Item> items;  // of the loans, history and holds
};

StatusOr<PatronFile> ReadPatronFile(Store& store, Circulation& circulation, const Actor& actor,
                                    const CaseScope& scope, int64_t patron) {
  PatronFile f;
  auto has = [&](std::string_view c) { return Has(scope.categories, c); };
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(store, [&](Transaction&) -> Status {
    if (has("patron")) {
      auto p = circulation.GetPatron(actor, patron);
      if (p.ok()) {
        f.person = std::move(*p);
      } else if (p.status().code() != StatusCode::kNotFound) {
        return p.status();
      }
    }
    if (has("loans")) {
      CARREL_ASSIGN_OR_RETURN(f.loans, circulation.ActiveLoans(actor, patron));
    }
    if (has("loan_history")) {
      CARREL_ASSIGN_OR_RETURN(f.history, circulation.PatronHistory(actor, patron));
    }
    if (has("holds")) {
      CARREL_ASSIGN_OR_RETURN(f.holds, circulation.PatronHolds(actor, patron));
    }
    if (has("fines")) {
      CARREL_ASSIGN_OR_RETURN(f.fines, circulation.PatronFines(actor, patron));
    }
    std::vector<int64_t> item_ids;
    for (const Loan& l : f.loans) item_ids.push_back(l.item_id);
    for (const ReturnedLoan& r : f.history) item_ids.push_back(r.item_id);
    for (const Hold& h : f.holds) item_ids.push_back(h.item_id);
    CARREL_ASSIGN_OR_RETURN(f.items, circulation.GetItems(item_ids));
    return Status::Ok();
  }));
  return f;
}

// One patron's records in `scope`, appended to `records` (each with its patron, category and
// day; loans, history and holds with their item's barcode and title, the items read together);
// returns the count per category.
StatusOr<json> PatronRecords(Store& store, Circulation& circulation, const Calendar& calendar,
                             const Actor& actor, const CaseScope& scope, int64_t patron,
                             json* records) {
  CARREL_ASSIGN_OR_RETURN(PatronFile f, ReadPatronFile(store, circulation, actor, scope, patron));
  const auto& items = f.items;
  json counts = json::object();
  auto add = [&](const std::string& category, std::optional<Date> day, json fields) {
    if (day && !InRange(*day, scope)) return;
    fields["patron"] = patron;
    fields["category"] = category;
    if (day) fields["date"] = FormatDate(*day);
    records->push_back(std::move(fields));
    counts[category] = counts.value(category, 0) + 1;
  };
  auto item_fields = [&](int64_t item_id) {
    auto it = items.find(item_id);
    if (it == items.end()) return json{{"item", item_id}};
    return json{{"item_barcode", it->second.barcode}, {"title", it->second.title}};
  };
  if (f.person) {
    add("patron", std::nullopt,
        {{"name", f.person->name}, {"card_barcode", f.person->card_barcode}});
  }
  for (const Loan& loan : f.loans) {
    json f = item_fields(loan.item_id);
    f["checked_out_on"] = FormatDate(loan.checked_out_on);
    f["due_on"] = FormatDate(loan.due_on);
    add("loans", loan.checked_out_on, f);
  }
  for (const ReturnedLoan& r : f.history) {
    json f = item_fields(r.item_id);
    f["checked_out_on"] = FormatDate(r.checked_out_on);
    f["returned_on"] = FormatDate(r.returned_on);
    add("loan_history", r.returned_on, f);
  }
  for (const Hold& h : f.holds) {
    json f = item_fields(h.item_id);
    f["status"] = std::string(HoldStatusName(h.status));
    add("holds", calendar.LocalDate(h.placed_at), f);
  }
  for (const Fine& fine : f.fines) {
    add("fines", fine.accrued_on,
        {{"amount_cents", fine.amount_cents},
         {"status", std::string(FineStatusName(fine.status))}});
  }
  return counts;
}

}  // namespace

// ---- the signed decision ------------------------------------------------------------------

// The decision's document if its signature verifies under the key the signer holds in
// carrel, and the signer was the Director or a designee under an appointment valid when they
// signed; kPermissionDenied otherwise.
StatusOr<std::string> Requests::Impl::VerifyDecision(Transaction& tx, const CaseDecision& d) {
  CARREL_RETURN_IF_ERROR(Governance::CheckNotReversed(tx, "decision", d.id));
  auto signer = accounts_->GetUser(d.signed_by);
  if (!signer.ok() || signer->signing_public_key != d.public_key ||
      !Accounts::VerifySignature(d.public_key, SignedPurpose::kDecision, d.document,
                                 d.signature)) {
    return PermissionDenied("the decision's signature does not verify");
  }
  json doc = json::parse(d.document, nullptr, false);
  if (!doc.is_object() || doc.value("signer", int64_t{-1}) != d.signed_by ||
      doc.value("appointment", int64_t{-1}) != d.appointment_id ||
      doc.value("library", "") != library_id_) {
    return PermissionDenied("the decision's document does not match its record");
  }
  if (signer->role == Role::kDirector) return d.document;
  int64_t relied_on = 0;
  if (!CheckAppointment(tx, d.signed_by, d.signed_at, &relied_on, d.appointment_id).ok() ||
      d.appointment_id == 0) {
    return PermissionDenied("the decision's signer held no valid appointment");
  }
  return d.document;
}

namespace {


}  // namespace

struct Requests::Impl::StepPlan {
  CaseState to = CaseState::kReceived;  // next state
  std::optional<CaseOutcome> outcome;
  std::optional<int64_t> counsel_id;
  json notes_patch = json::object();
  json audit = json::object();
  uint32_t notify = 0;            // whom to tell (CaseActor bits)
  int64_t notify_user = 0;
  std::string notify_kind;
  // Extra writes inside the step's transaction.
  std::function<Status(Transaction&, const SecretKey&, int64_t case_id)> write;
  bool send_notices = false;  // queued patron notices go out after the commit
};

// What every step's handler is given: who acts, on which case, from which state, with what.
struct Requests::Impl::StepInput {
  const CaseActorInfo& who;
  const Loaded& l;
  CaseState state;
  CaseType type;
  const StepArgs& args;
  std::string_view password;
  Instant now;
  Date today;
  int64_t user_id;
  std::string_view reference;
  std::string_view action;
  bool court_order_process;
};

// A step refused: said in the audit log as Refuse() says it.
Status Requests::Impl::RefuseStep(const StepInput& in, const Status& why) {
  return Refuse(in.who, in.reference, in.action, why);
}

Status Requests::Impl::StepAcknowledge(const StepInput& in, StepPlan& plan) {
  const CaseState state = in.state;
  const Instant now = in.now;
  plan.to = state == CaseState::kReceived ? CaseState::kReferred : state;
  plan.notes_patch["acknowledged_at"] = FormatInstant(now);
  plan.write = [=](Transaction& tx, const SecretKey&, int64_t case_id) -> Status {
    return tx.Exec("UPDATE cases SET acknowledged_at = ? WHERE id = ? AND acknowledged_at IS "
                   "NULL",
                   {FormatInstant(now), case_id});
  };
  return Status::Ok();
}

Status Requests::Impl::StepConsultCounsel(const StepInput& in, StepPlan& plan) {
  const auto& a = std::get<steps::ConsultCounsel>(in.args);
  int64_t counsel = a.counsel_id;
  const std::string& consultation = a.consultation;
  auto c = accounts_->GetUser(counsel);
  if (!c.ok() || c->role != Role::kCounsel || c->disabled) {
    return InvalidArgument("counsel_id must name an active counsel user");
  }
  plan.counsel_id = counsel;
  plan.notes_patch["consultation"] = consultation;
  plan.notify_user = counsel;
  plan.notify_kind = "counsel_assigned";
  plan.audit["counsel"] = counsel;
  return Status::Ok();
}

Status Requests::Impl::StepDecline(const StepInput& in, StepPlan& plan) {
  const Loaded& l = in.l;
  const Instant now = in.now;
  auto refuse = [&in, this](const Status& why) { return RefuseStep(in, why); };
  const std::string& explanation = std::get<steps::Decline>(in.args).explanation;
  if (l.summary.process != "none") {
    return refuse(FailedPrecondition(
        "legal process was presented: refer it to counsel instead of declining"));
  }
  plan.outcome = CaseOutcome::kDeclined;
  plan.notes_patch["declined_at"] = FormatInstant(now);
  if (!explanation.empty()) plan.notes_patch["explanation"] = explanation;
  return Status::Ok();
}

Status Requests::Impl::StepReferToCounsel(const StepInput& in, StepPlan& plan) {
  const Loaded& l = in.l;
  const bool court_order_process = in.court_order_process;
  auto refuse = [&in, this](const Status& why) { return RefuseStep(in, why); };
  int64_t counsel = std::get<steps::ReferToCounsel>(in.args).counsel_id;
  if (l.summary.process == "none") {
    return refuse(FailedPrecondition("no legal process was presented: decline, with the letter"));
  }
  if (counsel != 0) {
    auto c = accounts_->GetUser(counsel);
    if (!c.ok() || c->role != Role::kCounsel || c->disabled) {
      return InvalidArgument("counsel_id must name an active counsel user");
    }
    plan.counsel_id = counsel;
  } else if (l.summary.counsel_id == 0) {
    return refuse(FailedPrecondition("assign counsel first (counsel_id)"));
  }
  plan.to =
      court_order_process ? CaseState::kCounselReview : CaseState::kCounselDeterminationRequired;
  plan.notify_user = counsel != 0 ? counsel : l.summary.counsel_id;
  plan.notify_kind = "counsel_review";
  return Status::Ok();
}

Status Requests::Impl::StepAdvise(const StepInput& in, StepPlan& plan) {
  const CaseState state = in.state;
  const Instant now = in.now;
  const int64_t user_id = in.user_id;
  const auto& a = std::get<steps::Advise>(in.args);
  bool proper_form = a.proper_form;
  bool enforceable = a.enforceable;
  bool compels = a.court_order_compels;
  const std::string recommendation(CounselRecommendationName(a.recommendation));
  std::string advice = a.advice;
  json body = {{"advice", advice}, {"recommended_scope", nullptr}};
  if (a.recommended_scope) body["recommended_scope"] = ScopeToJson(*a.recommended_scope);
  plan.to = state == CaseState::kCounselDeterminationRequired && compels ? CaseState::kCounselReview
                                                                         : state;
  plan.audit["recommendation"] = recommendation;
  plan.audit["court_order_compels"] = compels;
  plan.notify = kCaseDirector | kCaseDesignee;
  plan.notify_kind = "advice_recorded";
  plan.write = [=](Transaction& tx, const SecretKey& key, int64_t case_id) -> Status {
    CARREL_ASSIGN_OR_RETURN(int64_t id,
                            tx.QueryInt("SELECT coalesce(max(id), 0) + 1 FROM counsel_advice"));
    return tx.Exec(
        "INSERT INTO counsel_advice (id, case_id, counsel_id, at, proper_form, enforceable, "
        "court_order_compels, recommendation, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        {id, case_id, user_id, FormatInstant(now), int64_t{proper_form}, int64_t{enforceable},
         int64_t{compels}, recommendation,
         Blob{Vault::Seal(key, "counsel_advice", "body", id, body.dump())}});
  };
  return Status::Ok();
}

// Whether `basis` allows releasing `scope` on this case: the profile's lawful bases, a court order
// established with counsel's advice, or the patron's own valid permission covering the scope.
Status Requests::Impl::CheckReleaseBasis(const StepInput& in, const std::string& basis,
                                         const CaseScope& scope,
                                         const std::optional<CounselAdvice>& advice,
                                         int64_t permission_id, bool reconsidering) {
  const CaseState state = in.state;
  const CaseType type = in.type;
  const Date today = in.today;
  const bool court_order_process = in.court_order_process;
  auto refuse = [&in, this](const Status& why) { return RefuseStep(in, why); };
  if (basis == "patron_self") {
    if (type != kPatronAccess) {
      return refuse(FailedPrecondition("only a patron's own request is answered on patron_self"));
    }
  } else if (type == kPatronAccess) {
    return refuse(FailedPrecondition("a patron-access request is answered on patron_self"));
  } else if (!Has(profile_->lawful_bases, basis)) {
    return refuse(FailedPrecondition("the profile allows no release on the basis '" + basis +
                                     "' (" + profile_->statute_citation + ")"));
  } else if (basis == "court_order") {
    // Established in counsel_review (or before the Board's reversal sent the case back).
    if (state != CaseState::kCounselReview && !reconsidering) {
      return refuse(FailedPrecondition(
          "no court order is established: counsel must record that one compels production"));
    }
    if (!advice) return refuse(FailedPrecondition("name the counsel advice relied on"));
    if (!court_order_process && !advice->court_order_compels) {
      return refuse(FailedPrecondition(
          "the process is not a court order and counsel has not recorded that one compels "
          "production"));
    }
    if (advice->recommendation != CounselRecommendation::kComply &&
        advice->recommendation != CounselRecommendation::kNarrow) {
      return refuse(FailedPrecondition("the advice relied on does not recommend release"));
    }
  } else if (basis == "patron_permission") {
    if (permission_id == 0) return InvalidArgument("name the patron's permission");
    if (scope.patron_ids.size() != 1) {
      return refuse(FailedPrecondition("a patron's permission covers that patron only"));
    }
    std::optional<PatronPermission> permission;
    CARREL_ASSIGN_OR_RETURN(auto all,
                            Permissions(SystemActor("request-decision"), scope.patron_ids[0]));
    for (const PatronPermission& p : all) {
      if (p.id == permission_id) permission = p;
    }
    if (!permission) return refuse(NotFound("no such permission from this patron"));
    if (permission->revoked_at) return refuse(FailedPrecondition("the permission was revoked"));
    if (permission->method == PermissionMethod::kPaper && !permission->confirmed_at) {
      return refuse(FailedPrecondition(
          "a paper permission is no basis for a release until the Director or a designee "
          "has confirmed it against its scan"));
    }
    if (permission->valid_until < today) {
      return refuse(FailedPrecondition("the permission has expired"));
    }
    CaseScope allowed;
    allowed.patron_ids = {permission->patron_id};
    allowed.categories = permission->categories;
    allowed.from = permission->from;
    allowed.to = permission->to;
    if (!allowed.Covers(scope)) {
      return refuse(FailedPrecondition("the scope reaches beyond the patron's permission"));
    }
  } else {
    return refuse(FailedPrecondition("a release needs a basis"));
  }
  return Status::Ok();
}

// A case already decided, packaged, released or declined is decided again only after the Board
// of Trustees reversed its latest decision (or its decline).
Status Requests::Impl::MayDecideAgain(const StepInput& in) {
  const Loaded& l = in.l;
  const CaseState state = in.state;
  std::optional<BoardRuling> ruling;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    if (state == CaseState::kDeclined) {
      CARREL_ASSIGN_OR_RETURN(ruling, Governance::RulingOn(tx, "decline", l.id));
      return Status::Ok();
    }
    CARREL_ASSIGN_OR_RETURN(int64_t last, tx.QueryInt("SELECT coalesce(max(id), 0) FROM "
                                                      "case_decisions WHERE case_id = ?",
                                                      {l.id}));
    CARREL_ASSIGN_OR_RETURN(ruling, Governance::RulingOn(tx, "decision", last));
    return Status::Ok();
  }));
  if (!ruling || ruling->outcome != RulingOutcome::kReverse) {
    return RefuseStep(in, FailedPrecondition("the case is " + std::string(CaseStateName(state)) +
                                             "; it is decided again "
                                             "only after the Board of Trustees reverses it"));
  }
  return Status::Ok();
}

namespace {

// What a decision is checked against, read before it is signed: the policy version in force,
// the case's newest decision, and counsel's advice on the case (the one relied on, if any).
struct DecisionGround {
  std::string version;
  int64_t last_seen = 0;
  int64_t advice_count = 0;
  std::optional<CounselAdvice> advice;
};

StatusOr<DecisionGround> ReadDecisionGround(Store& store, int64_t case_id, int64_t advice_id) {
  DecisionGround g;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(store, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(g.version, Governance::VersionInForce(tx));
    CARREL_ASSIGN_OR_RETURN(g.last_seen,
                            tx.QueryInt("SELECT coalesce(max(id), 0) FROM case_decisions "
                                        "WHERE case_id = ?",
                                        {case_id}));
    CARREL_ASSIGN_OR_RETURN(
        g.advice_count,
        tx.QueryInt("SELECT count(*) FROM counsel_advice WHERE case_id = ?", {case_id}));
    if (advice_id == 0) return Status::Ok();
    return tx.Exec(
        "SELECT id, recommendation, court_order_compels FROM counsel_advice WHERE "
        "id = ? AND case_id = ?",
        {advice_id, case_id}, [&](const Row& row) -> Status {
          CounselAdvice a;
          a.id = row.Int(0);
          CARREL_ASSIGN_OR_RETURN(a.recommendation,
                                  Stored(ParseCounselRecommendation(row.Text(1))));
          a.court_order_compels = row.Int(2) != 0;
          g.advice = a;
          return Status::Ok();
        });
  }));
  return g;
}

// A signed decision as it is stored.
struct SignedDecision {
  CaseOutcome outcome = CaseOutcome::kNone;
  std::string text, signature, public_key, version;
  int64_t signer = 0, appointment = 0, last_seen = 0;
  Instant signed_at{};
};

// Stores the decision inside the step's transaction, once what was checked still holds: no
// other decision came in meanwhile (a case decided again after a reversal keeps its state),
// and the policy version signed is still in force.
std::function<Status(Transaction&, const SecretKey&, int64_t)> DecisionWriter(SignedDecision d) {
  return [d = std::move(d)](Transaction& tx, const SecretKey& key, int64_t case_id) -> Status {
    CARREL_ASSIGN_OR_RETURN(int64_t newest, tx.QueryInt("SELECT coalesce(max(id), 0) FROM "
                                                        "case_decisions WHERE case_id = ?",
                                                        {case_id}));
    if (newest != d.last_seen) {
      return FailedPrecondition("another decision was signed on this case meanwhile; look again");
    }
    CARREL_ASSIGN_OR_RETURN(std::string in_force, Governance::VersionInForce(tx));
    if (in_force != d.version) {
      return FailedPrecondition("the Board amended the policy while you signed; sign again");
    }
    CARREL_ASSIGN_OR_RETURN(int64_t id,
                            tx.QueryInt("SELECT coalesce(max(id), 0) + 1 FROM case_decisions"));
    return tx.Exec(
        "INSERT INTO case_decisions (id, case_id, outcome, document, signed_by, appointment_id, "
        "public_key, signature, signed_at, policy_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        {id, case_id, std::string(CaseOutcomeName(d.outcome)),
         Blob{Vault::Seal(key, "case_decisions", "document", id, d.text)}, d.signer, d.appointment,
         Blob{d.public_key}, Blob{d.signature}, FormatInstant(d.signed_at), d.version});
  };
}

}  // namespace

Status Requests::Impl::StepDecide(const StepInput& in, StepPlan& plan) {
  auto refuse = [&in, this](const Status& why) { return RefuseStep(in, why); };
  const auto& a = std::get<steps::Decide>(in.args);
  const CaseOutcome outcome = a.outcome;
  std::string basis = a.basis;
  int64_t advice_id = a.advice_id;
  int64_t permission_id = a.permission_id;
  if (in.password.empty()) return InvalidArgument("a decision is signed: give your password");
  if (in.type != kPatronAccess && in.state == CaseState::kReferred) {
    return refuse(FailedPrecondition("consult counsel before deciding (policy §4)"));
  }
  CARREL_ASSIGN_OR_RETURN(DecisionGround ground, ReadDecisionGround(*store_, in.l.id, advice_id));
  // A case already decided (or declined) is decided again only after the Board reversed it.
  const bool reconsidering = in.state == CaseState::kDecided ||
                             in.state == CaseState::kDisclosurePrepared ||
                             in.state == CaseState::kReleased || in.state == CaseState::kDeclined;
  if (reconsidering) CARREL_RETURN_IF_ERROR(MayDecideAgain(in));
  // The advice relied on, if any, must be this case's.
  if (advice_id != 0 && !ground.advice) return refuse(NotFound("no such advice on this case"));
  CaseScope scope;
  if (outcome != CaseOutcome::kRefuse) {
    auto chosen = DecisionScopeOf(in.l, a.scope);
    if (!chosen.ok()) {
      return chosen.status().code() == StatusCode::kFailedPrecondition ? refuse(chosen.status())
                                                                        : chosen.status();
    }
    scope = *chosen;
    if (scope.categories.empty()) return InvalidArgument("name the categories released");
    CARREL_RETURN_IF_ERROR(
        CheckReleaseBasis(in, basis, scope, ground.advice, permission_id, reconsidering));
  } else {
    basis.clear();
    if (in.type != kPatronAccess && ground.advice_count == 0) {
      return refuse(FailedPrecondition("decide on counsel's advice: none is recorded"));
    }
  }
  json document = {{"type", "carrel release decision"},
                   {"library", library_id_},
                   {"case", in.l.summary.reference},
                   {"outcome", CaseOutcomeName(outcome)},
                   {"basis", basis},
                   {"scope", ScopeToJson(scope)},
                   {"advice", advice_id},
                   {"permission", permission_id},
                   {"policy_version", ground.version},
                   {"signer", in.user_id},
                   {"appointment", in.who.appointment_id},
                   {"signed_at", FormatInstant(in.now)}};
  SignedDecision d;
  d.outcome = outcome;
  d.text = document.dump();
  d.version = ground.version;
  d.signer = in.user_id;
  d.appointment = in.who.appointment_id;
  d.last_seen = ground.last_seen;
  d.signed_at = in.now;
  CARREL_ASSIGN_OR_RETURN(
      d.signature, accounts_->Sign(in.user_id, in.password, SignedPurpose::kDecision, d.text));
  CARREL_ASSIGN_OR_RETURN(User signer, accounts_->GetUser(in.user_id));
  d.public_key = signer.signing_public_key;
  plan.outcome = outcome;
  plan.audit["outcome"] = CaseOutcomeName(outcome);
  plan.audit["basis"] = basis;
  plan.audit["document_sha256"] = Sha256Hex(d.text);
  plan.write = DecisionWriter(std::move(d));
  return Status::Ok();
}

namespace {

// The manifest a disclosure package is signed under: the decision it carries out, and the
// SHA-256 and size of each file.
json PackageManifest(std::string_view library_id, const std::string& reference,
                     const CaseDecision& decision, const std::string& disclosure_json,
                     const std::string& disclosure_html, size_t records, int64_t user_id,
                     Instant now) {
  auto file = [](const char* name, const std::string& text) {
    return json{{"name", name}, {"sha256", Sha256Hex(text)}, {"bytes", text.size()}};
  };
  return {{"type", "carrel disclosure manifest"},
          {"library", library_id},
          {"case", reference},
          {"decision", decision.id},
          {"decision_sha256", Sha256Hex(decision.document)},
          {"files",
           {file("disclosure.json", disclosure_json), file("disclosure.html", disclosure_html)}},
          {"records", records},
          {"no_records", records == 0},
          {"prepared_by", user_id},
          {"prepared_at", FormatInstant(now)}};
}

// A signed disclosure package as it is stored.
struct SignedPackage {
  int64_t decision_id = 0, signer = 0, records = 0;
  std::string manifest, signature, public_key, files;
  Instant prepared_at{};
};

// Stores the package inside the step's transaction, unless the Board reversed its decision
// meanwhile.
std::function<Status(Transaction&, const SecretKey&, int64_t)> PackageWriter(SignedPackage p) {
  return [p = std::move(p)](Transaction& tx, const SecretKey& key, int64_t case_id) -> Status {
    CARREL_RETURN_IF_ERROR(Governance::CheckNotReversed(tx, "decision", p.decision_id));
    CARREL_ASSIGN_OR_RETURN(int64_t id,
                            tx.QueryInt("SELECT coalesce(max(id), 0) + 1 FROM disclosures"));
    return tx.Exec(
        "INSERT INTO disclosures (id, case_id, decision_id, manifest, signature, signed_by, "
        "public_key, files, prepared_at, records) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        {id, case_id, p.decision_id,
         Blob{Vault::Seal(key, "disclosures", "manifest", id, p.manifest)}, Blob{p.signature},
         p.signer, Blob{p.public_key}, Blob{Vault::Seal(key, "disclosures", "files", id, p.files)},
         FormatInstant(p.prepared_at), p.records});
  };
}

}  // namespace

StatusOr<CaseDecision> Requests::Impl::LatestVerifiedDecision(const Loaded& l) {
  std::optional<CaseDecision> decision;
  Status verified = Status::Ok();
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    auto decisions = ReadDecisions(tx, l);
    if (!decisions.ok()) {
      verified = PermissionDenied("the decision's document does not open");
      return Status::Ok();
    }
    if (decisions->empty()) return Status::Ok();
    decision = decisions->back();
    verified = VerifyDecision(tx, *decision).status();
    return Status::Ok();
  }));
  if (!decision) return FailedPrecondition("no signed decision on this case");
  if (!verified.ok()) return verified;
  return *decision;
}

Status Requests::Impl::StepPrepareDisclosure(const StepInput& in, StepPlan& plan) {
  const Loaded& l = in.l;
  auto refuse = [&in, this](const Status& why) { return RefuseStep(in, why); };
  if (in.password.empty()) return InvalidArgument("a disclosure is signed: give your password");
  auto decision = LatestVerifiedDecision(l);
  if (!decision.ok()) return refuse(decision.status());
  json doc = json::parse(decision->document);
  std::string outcome = doc.value("outcome", "");
  if (outcome != "release" && outcome != "partial") {
    return refuse(FailedPrecondition("the decision releases nothing"));
  }
  CARREL_ASSIGN_OR_RETURN(CaseScope scope, ScopeFromJson(doc["scope"]));
  json produced;
  CARREL_ASSIGN_OR_RETURN(json records, CollectRecords(in.who.actor, scope, &produced));
  json package = {{"case", l.summary.reference},
                  {"library", profile_->name},
                  {"decision", decision->id},
                  {"outcome", outcome},
                  {"basis", doc.value("basis", "")},
                  {"policy_version", doc.value("policy_version", "")},
                  {"prepared_at", FormatInstant(in.now)},
                  {"scope", ScopeToJson(scope)},
                  {"requested",
                   {{"card_barcodes", l.intake.card_barcodes},
                    {"categories", l.intake.categories},
                    {"from", DateJson(l.intake.from)},
                    {"to", DateJson(l.intake.to)}}},
                  {"produced", produced},
                  {"no_records", records.empty()},
                  {"records", records}};
  CARREL_RETURN_IF_ERROR(CheckRecordsCovered(package, scope));
  std::string disclosure_json = package.dump(2);
  std::string disclosure_html = DisclosureHtml(*profile_, package);
  SignedPackage p;
  p.decision_id = decision->id;
  p.signer = in.user_id;
  p.records = static_cast<int64_t>(records.size());
  p.manifest = PackageManifest(library_id_, l.summary.reference, *decision, disclosure_json,
                               disclosure_html, records.size(), in.user_id, in.now)
                   .dump(2);
  p.prepared_at = in.now;
  CARREL_ASSIGN_OR_RETURN(p.signature, accounts_->Sign(in.user_id, in.password,
                                                       SignedPurpose::kDisclosure, p.manifest));
  CARREL_ASSIGN_OR_RETURN(User signer, accounts_->GetUser(in.user_id));
  p.public_key = signer.signing_public_key;
  p.files = json{{"disclosure.json", disclosure_json}, {"disclosure.html", disclosure_html}}.dump();
  plan.audit["records"] = records.size();
  plan.audit["manifest_sha256"] = Sha256Hex(p.manifest);
  plan.write = PackageWriter(std::move(p));
  return Status::Ok();
}

Status Requests::Impl::StepDeliver(const StepInput& in, StepPlan& plan) {
  const Loaded& l = in.l;
  const Instant now = in.now;
  auto refuse = [&in, this](const Status& why) { return RefuseStep(in, why); };
  const auto& a = std::get<steps::Deliver>(in.args);
  const std::string& to = a.to;
  const std::string& how = a.how;
  Instant at = a.at.value_or(now);
  json delivery = {{"to", to}, {"how", how}};
  const Loaded* loaded_case = &l;
  // Nothing goes out on a decision the Board reversed.
  Status not_reversed = Status::Ok();
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(
        int64_t decision_id,
        tx.QueryInt("SELECT decision_id FROM disclosures WHERE case_id = ? ORDER BY "
                    "id DESC LIMIT 1",
                    {l.id}));
    not_reversed = Governance::CheckNotReversed(tx, "decision", decision_id);
    return Status::Ok();
  }));
  if (!not_reversed.ok()) return refuse(not_reversed);
  plan.write = [=, this](Transaction& tx, const SecretKey& key, int64_t case_id) -> Status {
    CARREL_ASSIGN_OR_RETURN(
        int64_t id, tx.QueryInt("SELECT max(id) FROM disclosures WHERE case_id = ?", {case_id}));
    CARREL_ASSIGN_OR_RETURN(int64_t decision_id,
                            tx.QueryInt("SELECT decision_id FROM disclosures WHERE id = ?", {id}));
    CARREL_RETURN_IF_ERROR(Governance::CheckNotReversed(tx, "decision", decision_id));  // meanwhile
    CARREL_RETURN_IF_ERROR(
        tx.Exec("UPDATE disclosures SET delivery = ?, delivered_at = ? WHERE id = ?",
                {Blob{Vault::Seal(key, "disclosures", "delivery", id, delivery.dump())},
                 FormatInstant(at), id}));
    // The patrons whose records went out are told, once no nondisclosure order forbids it.
    CARREL_ASSIGN_OR_RETURN(auto decisions, ReadDecisions(tx, *loaded_case));
    for (const CaseDecision& d : decisions) {
      if (d.id == decision_id) return QueueNotices(tx, *loaded_case, d, at);
    }
    return Status::Ok();
  };
  return Status::Ok();
}

Status Requests::Impl::StepNondisclosure(const StepInput& in, StepPlan& plan) {
  const CaseState state = in.state;
  const auto& a = std::get<steps::Nondisclosure>(in.args);
  bool order = a.order;
  std::optional<Date> expires = a.expires;
  std::optional<Date> review = a.review;
  if (!order && (expires || review)) {
    return InvalidArgument("a lifted order has no expiry or review date");
  }
  plan.to = state;
  plan.audit["order"] = order;
  plan.audit["expires"] = DateJson(expires);
  plan.audit["review"] = DateJson(review);
  plan.write = [=](Transaction& tx, const SecretKey&, int64_t case_id) -> Status {
    return tx.Exec(
        "UPDATE cases SET nondisclosure = ?, nondisclosure_expires = ?, nondisclosure_review = "
        "? WHERE id = ?",
        {int64_t{order ? 1 : 0}, expires ? Value(FormatDate(*expires)) : Value(),
         review ? Value(FormatDate(*review)) : Value(), case_id});
  };
  plan.send_notices = true;
  return Status::Ok();
}

Status Requests::Impl::StepAcknowledgeReceipt(const StepInput& in, StepPlan& plan) {
  const CaseState state = in.state;
  const Instant now = in.now;
  Instant at = std::get<steps::AcknowledgeReceipt>(in.args).at.value_or(now);
  plan.to = state;
  plan.write = [=](Transaction& tx, const SecretKey&, int64_t case_id) -> Status {
    return tx.Exec("UPDATE disclosures SET acknowledged_at = ? WHERE id = (SELECT max(id) FROM "
                   "disclosures WHERE case_id = ?)",
                   {FormatInstant(at), case_id});
  };
  return Status::Ok();
}

Status Requests::Impl::StepRespondMedia(const StepInput& in, StepPlan& plan) {
  const std::string& statement = std::get<steps::RespondMedia>(in.args).statement;
  plan.outcome = CaseOutcome::kMediaStatement;
  plan.notes_patch["media_statement"] = statement;
  return Status::Ok();
}

Status Requests::Impl::StepExecuteWarrant(const StepInput& in, StepPlan& plan) {
  const CaseActorInfo& who = in.who;
  const Loaded& l = in.l;
  const auto& a = std::get<steps::ExecuteWarrant>(in.args);
  auto refuse = [&in, this](const Status& why) { return RefuseStep(in, why); };
  if (l.summary.process != "search_warrant") {
    return refuse(FailedPrecondition("only a search warrant is executed on the spot"));
  }
  if (a.officers.empty()) return InvalidArgument("name the officers who executed the warrant");
  const std::vector<std::string>& seized = a.items_seized;
  for (const std::string& barcode : seized) {
    CARREL_RETURN_IF_ERROR(circulation_->MarkItemMissing(who.actor, barcode));
  }
  plan.notes_patch["warrant"] = StepArgsToJson(in.args);
  plan.notify = kCaseDirector | kCaseDesignee | kCaseCounsel;
  plan.notify_kind = "warrant_executed";
  plan.audit["items_seized"] = seized.size();
  return Status::Ok();
}

Status Requests::Impl::StepClose(const StepInput& in, StepPlan& plan) {
  const CaseActorInfo& who = in.who;
  const Loaded& l = in.l;
  const CaseState state = in.state;
  const Instant now = in.now;
  auto refuse = [&in, this](const Status& why) { return RefuseStep(in, why); };
  bool release_holds = std::get<steps::Close>(in.args).release_holds;
  if (state == CaseState::kDecided && l.summary.outcome != CaseOutcome::kRefuse) {
    return refuse(FailedPrecondition("a release is closed once it was delivered"));
  }
  if (release_holds && who.as != kCaseDirector) {
    return refuse(PermissionDenied("only the Director releases a case's legal holds"));
  }
  plan.audit["release_holds"] = release_holds;
  Actor actor = who.actor;
  std::string ref = l.summary.reference;
  plan.write = [=, this](Transaction& tx, const SecretKey&, int64_t case_id) -> Status {
    CARREL_RETURN_IF_ERROR(
        tx.Exec("UPDATE cases SET closed_at = ? WHERE id = ?", {FormatInstant(now), case_id}));
    if (!release_holds) return Status::Ok();
    return retention_->ReleaseCaseHolds(tx, actor, ref).status();
  };
  return Status::Ok();
}

StatusOr<CaseSummary> Requests::Impl::Act(int64_t user_id, std::string_view reference,
                                          const StepArgs& args, std::string_view password) {
  const std::string_view action = StepName(args);
  CARREL_ASSIGN_OR_RETURN(CaseActorInfo who, ResolveActor(user_id));
  const WorkflowStep* step = nullptr;
  for (const WorkflowStep& row : Workflow()) {
    if (row.row.action == action && row.handler != nullptr) step = &row;
  }
  if (step == nullptr) {
    return InvalidArgument("there is no step called '" + std::string(action) + "'");
  }
  if ((step->row.actors & who.as) == 0) {
    std::string why = who.as == kCaseStaff
                          ? "staff take requests in and refer them to the Director; only the "
                            "Director or a designee appointed in writing acts on them"
                          : who.as == kCaseCounsel
                                ? "counsel advises; the Director or a designee decides"
                                : "only the counsel assigned to the case records advice";
    return Refuse(who, reference, action, PermissionDenied(why));
  }
  std::optional<Loaded> loaded;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(Loaded l, Load(tx, reference));
    loaded = std::move(l);
    return Status::Ok();
  }));
  const Loaded& l = *loaded;
  if (who.as == kCaseCounsel && l.summary.counsel_id != user_id) {
    return Refuse(who, reference, action,
                  PermissionDenied("counsel acts only on the cases assigned to them"));
  }
  const CaseType type = l.summary.type;
  const Instant now = clock_->Now();
  StepInput in{who,
               l,
               l.summary.state,
               type,
               args,
               password,
               now,
               calendar_->LocalDate(now),
               user_id,
               reference,
               action,
               Has(profile_->court_orders, l.summary.process)};
  if ((step->row.types & type) == 0) {
    return RefuseStep(in, FailedPrecondition("a " + std::string(CaseTypeName(type)) +
                                             " request has no step '" + std::string(action) + "'"));
  }
  if (std::find(step->row.from.begin(), step->row.from.end(), in.state) == step->row.from.end()) {
    return RefuseStep(
        in, FailedPrecondition("the case is " + std::string(CaseStateName(in.state)) + "; '" +
                               std::string(action) + "' is not a step from there"));
  }
  // The step's contract (the same one the API checks first): for any caller.
  CARREL_RETURN_IF_ERROR(CheckAgainst(StepPayloadSchema(action), StepArgsToJson(args)));
  StepPlan plan;
  // A step that leaves the state alone plans it so; one that chooses sets it in its handler.
  plan.to = step->row.to.kind == CaseNext::kTo ? step->row.to.state : in.state;
  plan.send_notices = action == "deliver";
  CARREL_RETURN_IF_ERROR((this->*(step->handler))(in, plan));
  return CommitStep(in, plan);
}

// The step, its event and its audit entry commit together, or not at all; then any patron
// notices no order holds back go out.
StatusOr<CaseSummary> Requests::Impl::CommitStep(const StepInput& in, const StepPlan& plan) {
  const Loaded& l = in.l;
  const CaseActorInfo& who = in.who;
  CaseSummary after = l.summary;
  after.state = plan.to;
  if (plan.outcome) after.outcome = *plan.outcome;
  if (plan.counsel_id) after.counsel_id = *plan.counsel_id;
  json notes = l.notes;
  for (const auto& [k, v] : plan.notes_patch.items()) notes[k] = v;
  Status changed = Status::Ok();
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(int64_t same,
                            tx.QueryInt("SELECT count(*) FROM cases WHERE id = ? AND "
                                        "state = ?",
                                        {l.id, std::string(CaseStateName(in.state))}));
    if (same == 0) {
      changed = FailedPrecondition("the case moved on meanwhile; look again");
      return Status::Ok();
    }
    if (plan.write) CARREL_RETURN_IF_ERROR(plan.write(tx, *l.key, l.id));
    if (who.as == kCaseDirector || who.as == kCaseDesignee) {
      // Acting on the case confirms the holds a clerk's intake placed.
      CARREL_RETURN_IF_ERROR(retention_->ConfirmCaseHolds(tx, who.actor, l.summary.reference));
    }
    CARREL_RETURN_IF_ERROR(tx.Exec(
        "UPDATE cases SET state = ?, outcome = ?, counsel_id = ?, notes = ? WHERE id = ?",
        {std::string(CaseStateName(after.state)), std::string(CaseOutcomeName(after.outcome)),
         after.counsel_id, Blob{Vault::Seal(*l.key, "cases", "notes", l.id, notes.dump())}, l.id}));
    CARREL_ASSIGN_OR_RETURN(std::string in_force, Governance::VersionInForce(tx));
    CARREL_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO case_events (case_id, at, actor, action, from_state, to_state, "
                "appointment_id, policy_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                {l.id, FormatInstant(in.now), who.actor.id, std::string(in.action),
                 std::string(CaseStateName(in.state)), std::string(CaseStateName(after.state)),
                 who.appointment_id, in_force}));
    if (!plan.notify_kind.empty()) {
      CARREL_RETURN_IF_ERROR(
          Notify(tx, after.reference, plan.notify_kind, plan.notify, plan.notify_user));
    }
    json details = plan.audit;
    details["from"] = CaseStateName(in.state);
    details["to"] = CaseStateName(after.state);
    details["appointment"] = who.appointment_id;
    return audit_
        ->Append(tx, who.actor,
                 {"request." + std::string(in.action), "case", after.reference, after.reference,
                  details.dump()})
        .status();
  }));
  if (!changed.ok()) return RefuseStep(in, changed);
  if (plan.send_notices) {
    // Notices no order holds back go out now; the rest wait for the order to end.
    (void)SendDueNotices();
  }
  return after;
}

// ---- records for a disclosure -------------------------------------------------------------

StatusOr<json> Requests::Impl::CollectRecords(const Actor& actor, const CaseScope& scope,
                                              json* produced) {
  json records = json::array();
  *produced = json::array();
  for (int64_t patron : scope.patron_ids) {
    CARREL_ASSIGN_OR_RETURN(json counts, PatronRecords(*store_, *circulation_, *calendar_, actor,
                                                       scope, patron, &records));
    produced->push_back({{"patron", patron}, {"records", counts}});
  }
  return records;
}

// The scope a decision names: categories and dates, and optionally some of the cards the
// request asked about (never another patron); kFailedPrecondition when it reaches beyond what
// was asked.
StatusOr<CaseScope> Requests::Impl::DecisionScopeOf(const Loaded& l, const ScopeChoice& choice) {
  json parsed = {{"categories", choice.categories},
                 {"from", DateJson(choice.from)},
                 {"to", DateJson(choice.to)}};
  CARREL_ASSIGN_OR_RETURN(CaseScope scope, ScopeFromJson(parsed));
  scope.patron_ids = l.requested.patron_ids;
  if (choice.card_barcodes) {
    std::vector<int64_t> chosen;
    for (const std::string& card : *choice.card_barcodes) {
      if (!Has(l.intake.card_barcodes, card)) {
        return FailedPrecondition("the scope names a card the request did not ask about");
      }
      auto p = circulation_->FindPatronByBarcode(SystemActor("request-decision"), card);
      if (p.ok()) chosen.push_back(p->id);
    }
    std::sort(chosen.begin(), chosen.end());
    chosen.erase(std::unique(chosen.begin(), chosen.end()), chosen.end());
    scope.patron_ids = chosen;
  }
  if (!l.requested.Covers(scope)) {
    return FailedPrecondition("the scope reaches beyond what was asked");
  }
  return scope;
}

StatusOr<ScopeCount> Requests::Impl::CountScope(int64_t user_id, std::string_view reference,
                                                const ScopeChoice& scope_choice) {
  CARREL_ASSIGN_OR_RETURN(CaseActorInfo who, ResolveActor(user_id));
  if (who.as != kCaseDirector && who.as != kCaseDesignee) {
    return Refuse(who, reference, "count_scope",
                  PermissionDenied("only the Director or a designee weighs a decision's scope"));
  }
  std::optional<Loaded> loaded;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(Loaded l, Load(tx, reference));
    loaded = std::move(l);
    return Status::Ok();
  }));
  if (loaded->summary.type == kMedia) {
    return Refuse(who, reference, "count_scope",
                  FailedPrecondition("no step of a media request discloses a record"));
  }
  auto scope = DecisionScopeOf(*loaded, scope_choice);
  if (!scope.ok()) {
    return scope.status().code() == StatusCode::kFailedPrecondition
               ? Refuse(who, reference, "count_scope", scope.status())
               : scope.status();
  }
  ScopeCount out;
  out.patrons = static_cast<int64_t>(scope->patron_ids.size());
  for (const std::string& c : scope->categories) out.counts[c] = 0;
  json produced;
  CARREL_ASSIGN_OR_RETURN(json records, CollectRecords(who.actor, *scope, &produced));
  for (const json& r : records) ++out.counts[r.value("category", "")];
  out.records = static_cast<int64_t>(records.size());
  json details = {{"patrons", out.patrons}, {"records", out.records}, {"counts", out.counts}};
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    return audit_->Append(tx, who.actor, {"request.count_scope", "case", loaded->summary.reference,
                                          loaded->summary.reference, details.dump()})
        .status();
  }));
  return out;
}

// ---- documents out ------------------------------------------------------------------------

namespace {

// The newest package of a case as stored, unsealed.
struct StoredPackage {
  int64_t id = 0, preparer = 0, decision_id = 0;
  std::string manifest, files, signature, preparer_key;
};

// nullopt when no package was prepared; kPermissionDenied when the stored one does not open.
StatusOr<std::optional<StoredPackage>> ReadStoredPackage(Transaction& tx, const SecretKey& key,
                                                         int64_t case_id) {
  std::optional<StoredPackage> out;
  Status opened = Status::Ok();
  CARREL_RETURN_IF_ERROR(
      tx.Exec("SELECT id, manifest, signature, signed_by, public_key, files, decision_id "
              "FROM disclosures WHERE case_id = ? ORDER BY id DESC LIMIT 1",
              {case_id}, [&](const Row& row) -> Status {
                StoredPackage p;
                p.id = row.Int(0);
                auto m = Vault::Open(key, "disclosures", "manifest", p.id, row.BytesView(1));
                auto f = Vault::Open(key, "disclosures", "files", p.id, row.BytesView(5));
                if (!m.ok() || !f.ok()) {
                  opened = PermissionDenied("the package or its decision does not open");
                  return Status::Ok();
                }
                p.manifest = *m;
                p.files = *f;
                p.signature = row.Bytes(2);
                p.preparer = row.Int(3);
                p.preparer_key = row.Bytes(4);
                p.decision_id = row.Int(6);
                out = std::move(p);
                return Status::Ok();
              }));
  CARREL_RETURN_IF_ERROR(opened);
  return out;
}

// One file of a checked package.
std::string PackageFile(const StoredPackage& p, std::string_view name) {
  if (name == "manifest.json") return p.manifest;
  if (name == "manifest.sig") {
    return json{{"algorithm", "Ed25519"},
                {"signed_by", p.preparer},
                {"public_key", Base64Encode(p.preparer_key)},
                {"signature", Base64Encode(p.signature)}}
        .dump(2);
  }
  return json::parse(p.files)[std::string(name)].get<std::string>();
}

}  // namespace

StatusOr<std::string> Requests::Impl::DisclosureFile(int64_t user_id, std::string_view reference,
                                                     std::string_view name) {
  CARREL_ASSIGN_OR_RETURN(CaseActorInfo who, ResolveActor(user_id));
  if (name != "disclosure.json" && name != "disclosure.html" && name != "manifest.json" &&
      name != "manifest.sig") {
    return NotFound("a package holds disclosure.json, disclosure.html, manifest.json and "
                    "manifest.sig");
  }
  if (who.as != kCaseDirector && who.as != kCaseDesignee) {
    return Refuse(who, reference, "download_disclosure",
                  PermissionDenied("only the Director or a designee handles a disclosure"));
  }
  std::string out;
  Status refused = Status::Ok();
  // Every download checks the package again: its decision's signature, the manifest's, the
  // files against the manifest and the records against the decision's scope.
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(Loaded l, Load(tx, reference));
    auto stored = ReadStoredPackage(tx, *l.key, l.id);
    std::optional<CaseDecision> decision;
    if (!stored.ok()) {
      refused = stored.status();
    } else if (stored->has_value()) {
      auto decisions = ReadDecisions(tx, l);
      if (!decisions.ok()) {
        refused = PermissionDenied("the package or its decision does not open");
      } else {
        for (const CaseDecision& d : *decisions) {
          if (d.id == (*stored)->decision_id) decision = d;
        }
      }
    }
    if (!refused.ok()) return Status::Ok();
    if (!decision) return NotFound("no disclosure package has been prepared for this case");
    const StoredPackage& p = **stored;
    refused = VerifyDecision(tx, *decision).status();
    if (!refused.ok()) return Status::Ok();
    auto signer = accounts_->GetUser(p.preparer);
    if (!signer.ok() || signer->signing_public_key != p.preparer_key ||
        !Accounts::VerifySignature(p.preparer_key, SignedPurpose::kDisclosure, p.manifest,
                                   p.signature)) {
      refused = PermissionDenied("the manifest's signature does not verify");
      return Status::Ok();
    }
    refused = CheckPackageAgainstDecision(p.manifest, p.files, decision->id, decision->document,
                                          l.summary.reference);
    if (!refused.ok()) return Status::Ok();
    out = PackageFile(p, name);
    return audit_
        ->Append(
            tx, who.actor,
            {"request.disclosure.download", "disclosure", std::to_string(p.id), l.summary.reference,
             json{{"file", name}, {"appointment", who.appointment_id}}.dump()})
        .status();
  }));
  if (!refused.ok()) return Refuse(who, reference, "download_disclosure", refused);
  return out;
}

StatusOr<std::string> Requests::Impl::DeclineLetter(int64_t user_id, std::string_view reference) {
  CARREL_ASSIGN_OR_RETURN(CaseActorInfo who, ResolveActor(user_id));
  std::string out;
  Status refused = Status::Ok();
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(Loaded l, Load(tx, reference));
    if (who.as != kCaseDirector && who.as != kCaseDesignee &&
        !(who.as == kCaseCounsel && l.summary.counsel_id == user_id)) {
      refused = PermissionDenied("the letter is the Director's");
      return Status::Ok();
    }
    if (l.summary.outcome != CaseOutcome::kDeclined) {
      refused = FailedPrecondition("the case was not declined");
      return Status::Ok();
    }
    std::string addressee = l.intake.agency;
    if (!l.intake.name.empty()) {
      addressee = l.intake.name + (addressee.empty() ? "" : ", " + addressee);
    }
    Instant declined = clock_->Now();
    if (l.notes.contains("declined_at")) {
      if (auto t = ParseInstant(l.notes["declined_at"].get<std::string>()); t.ok()) declined = *t;
    }
    CARREL_ASSIGN_OR_RETURN(PolicyVersion policy, Governance::InForceAt(tx, declined));
    out = DeclineLetterHtml(*profile_, policy, l.summary.reference,
                            calendar_->LocalDate(declined), addressee);
    return audit_
        ->Append(tx, who.actor,
                 {"request.letter", "case", l.summary.reference, l.summary.reference, "{}"})
        .status();
  }));
  if (!refused.ok()) return Refuse(who, reference, "decline_letter", refused);
  return out;
}

}  // namespace carrel
