#include "api/routes.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/governance_routes.h"
#include "api/kiosk_routes.h"
#include "api/request_routes.h"
#include "api/schemas.h"
#include "carrel/encoding.h"
#include "carrel/outbound_hook.h"
#include "requests/fields.h"

namespace carrel {
namespace {

using ordered = nlohmann::ordered_json;

ApiResponse Ordered(const ordered& body) {
  return ApiResponse{200, "application/json", body.dump()};
}

// ---- public ------------------------------------------------------------------------------

StatusOr<ApiResponse> Healthz(ApiContext& c) {
  CARREL_RETURN_IF_ERROR(WithReadTransaction(
      c.library.store(), [](Transaction& tx) { return tx.QueryInt("SELECT 1").status(); }));
  return JsonResponse({{"status", "ok"}, {"version", CARREL_VERSION}});
}

// What the administrator watches (docs/design.md §2: the administrator runs the server and
// sees no patron): the audit log's size and its latest signed head, the last retention run, the
// last backups (from the log's own entries) and the disk the data directory lives on.
StatusOr<ApiResponse> SystemStatus(ApiContext& c) {
  json audit, last_run = nullptr, last_backup = nullptr, last_keys = nullptr;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(c.library.store(), [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(auto head, c.library.audit().Head(tx));
    audit = {{"size", head.first}, {"signed_size", 0}, {"signed_at", nullptr}};
    auto signed_head = c.library.audit().LatestHead(tx);
    if (signed_head.ok()) {
      audit["signed_size"] = signed_head->size;
      if (signed_head->signed_at) audit["signed_at"] = FormatInstant(*signed_head->signed_at);
    } else if (signed_head.status().code() != StatusCode::kNotFound) {
      return signed_head.status();
    }
    CARREL_ASSIGN_OR_RETURN(std::optional<RetentionRun> run, c.library.retention().LatestRun(tx));
    if (run) {
      last_run = {{"id", run->id},
                  {"day", FormatDate(run->day)},
                  {"started_at", FormatInstant(run->started_at)},
                  {"finished_at",
                   run->finished_at ? json(FormatInstant(*run->finished_at)) : json(nullptr)}};
    }
    // Backups are operations on the library's files, logged as such (few: init, seed,
    // backups, restores, key rotations).
    AuditQuery q;
    q.object_type = "library";
    q.limit = 1000;
    for (;;) {
      CARREL_ASSIGN_OR_RETURN(auto page, c.library.audit().Find(tx, q));
      for (const AuditEntry& e : page) {
        if (e.action == "library.backup") last_backup = FormatInstant(e.time);
        if (e.action == "keyring.backup") last_keys = FormatInstant(e.time);
      }
      if (static_cast<int>(page.size()) < q.limit) break;
      q.after_seq = page.back().seq;
    }
    return Status::Ok();
  }));
  std::error_code ec;
  std::filesystem::space_info space = std::filesystem::space(c.library.dir(), ec);
  int64_t data_bytes = 0;
  for (const auto& entry : std::filesystem::directory_iterator(c.library.dir(), ec)) {
    std::error_code size_ec;
    if (entry.is_regular_file(size_ec)) {
      auto n = entry.file_size(size_ec);
      if (!size_ec) data_bytes += static_cast<int64_t>(n);
    }
  }
  return JsonResponse({{"version", CARREL_VERSION},
                       {"library", c.library.profile().name},
                       {"now", FormatInstant(c.library.clock().Now())},
                       {"audit", audit},
                       {"last_retention_run", last_run},
                       {"last_backup", last_backup},
                       {"last_keyring_backup", last_keys},
                       {"disk", {{"free_bytes", ec ? 0 : static_cast<int64_t>(space.available)},
                                 {"total_bytes", ec ? 0 : static_cast<int64_t>(space.capacity)},
                                 {"data_bytes", data_bytes}}}});
}

ordered WeekJson(const WeekHours& week) {
  ordered out = ordered::object();
  for (int i = 0; i < 7; ++i) out[std::string(WeekdayName(i))] = FormatOpeningPeriod(week[i]);
  return out;
}

StatusOr<ApiResponse> Hours(ApiContext& c) {
  const Calendar& cal = c.library.calendar();
  const Profile& profile = c.library.profile();
  Instant now = c.library.clock().Now();
  Date today = cal.LocalDate(now);
  ordered closed = ordered::array();
  for (Date d : profile.closed_dates) {
    if (d >= today) closed.push_back(FormatDate(d));
  }
  ordered body = {
      {"library", profile.name},
      {"address", profile.address_lines},
      {"time_zone", profile.time_zone},
      {"now", FormatInstant(now)},
      {"today", FormatDate(today)},
      {"library_open", cal.IsLibraryOpen(now)},
      {"cafe_open", cal.IsCafeOpen(now)},
      {"hours", {{"library", WeekJson(cal.library_hours())}, {"cafe", WeekJson(cal.cafe_hours())}}},
      {"closed_dates", closed},
  };
  auto next = cal.NextLibraryOpening(now);
  body["next_opening"] = next ? ordered(FormatInstant(*next)) : ordered(nullptr);
  return Ordered(body);
}

StatusOr<ApiResponse> OpenApi(ApiContext&) {
  return ApiResponse{200, "application/yaml", OpenApiYaml()};
}

StatusOr<ApiResponse> ApiDocs(ApiContext&) { return HtmlDocument(ApiReferenceHtml()); }

// ---- session -----------------------------------------------------------------------------

json SessionJson(const Session& s) {
  return {{"token", s.token},
          {"csrf_token", s.csrf_token},
          {"expires_at", FormatInstant(s.expires_at)},
          {"role", RoleName(s.principal.role)},
          {"id", s.principal.id},
          {"must_change_password", s.principal.must_change_password}};
}

StatusOr<ApiResponse> Login(ApiContext& c) {
  std::optional<Session> session;
  if (Given(c.body, "card_barcode")) {
    std::string card = TextOf(c.body, "card_barcode");
    std::string pin = TextOf(c.body, "pin");
    CARREL_ASSIGN_OR_RETURN(session,
                            c.library.accounts().LoginPatron(card, pin, c.request.remote_address));
  } else {
    std::string user = TextOf(c.body, "username");
    std::string password = TextOf(c.body, "password");
    CARREL_ASSIGN_OR_RETURN(
        session, c.library.accounts().LoginUser(user, password, c.request.remote_address));
  }
  ApiResponse r = JsonResponse(SessionJson(*session), 201);
  r.set_cookie = session->token;
  return r;
}

StatusOr<ApiResponse> Logout(ApiContext& c) {
  CARREL_RETURN_IF_ERROR(c.library.accounts().Logout(c.session_token));
  ApiResponse r = JsonResponse({{"status", "logged out"}});
  r.clear_cookie = true;
  return r;
}

StatusOr<ApiResponse> WhoAmI(ApiContext& c) {
  const Principal& p = *c.principal;
  // A member of staff acts for the Director only while an appointment is in force (and, for an
  // absence appointment, while the Director is recorded absent): the UI shows the request
  // screens then, and only then.
  bool designee = false;
  if (p.kind == Principal::Kind::kUser && p.role == Role::kStaff) {
    CARREL_ASSIGN_OR_RETURN(designee, c.library.requests().IsActingDesignee(p.id));
  }
  return JsonResponse({{"kind", p.kind == Principal::Kind::kPatron ? "patron" : "user"},
                       {"designee", designee},
                       {"id", p.id},
                       {"role", RoleName(p.role)},
                       {"username", p.username},
                       {"must_change_password", p.must_change_password},
                       // A page reloaded in a browser keeps its cookie but not the token it
                       // was given at login; only this origin can read it here.
                       {"csrf_token", p.csrf_token},
                       {"desk_idle_minutes", c.library.profile().desk_idle_minutes}});
}

StatusOr<ApiResponse> ChangePassword(ApiContext& c) {
  std::string old_pw = TextOf(c.body, "password");
  std::string new_pw = TextOf(c.body, "new_password");
  CARREL_RETURN_IF_ERROR(c.library.accounts().ChangePassword(c.principal->id, old_pw, new_pw));
  return JsonResponse({{"status", "password changed; signing key resealed"}});
}

// Step-up signing of a statement: the password is asked again in the same request.
StatusOr<ApiResponse> SignStatement(ApiContext& c) {
  std::string statement = TextOf(c.body, "statement");
  std::string password = TextOf(c.body, "password");
  // Signed as a session proof: whatever the text says, it is never a decision or any other
  // statement carrel acts on (verify it behind the line "carrel/session-proof/v1").
  CARREL_ASSIGN_OR_RETURN(std::string sig,
                          c.library.accounts().Sign(c.principal->id, password,
                                                    SignedPurpose::kSessionProof, statement));
  CARREL_ASSIGN_OR_RETURN(User user, c.library.accounts().GetUser(c.principal->id));
  CARREL_RETURN_IF_ERROR(c.library.RecordOperation(
      c.actor, {"signature.create", "user", std::to_string(user.id), "", "{}"}));
  return JsonResponse({{"signature", Base64Encode(sig)},
                       {"public_key", Base64Encode(user.signing_public_key)},
                       {"algorithm", "Ed25519"},
                       {"signed_context", PurposeContext(SignedPurpose::kSessionProof)}},
                      201);
}

StatusOr<ApiResponse> SigningKeys(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(auto users, c.library.accounts().ListUsers(c.actor));
  json out = json::array();
  for (const User& u : users) {
    if (u.signing_public_key.empty()) continue;
    out.push_back({{"user_id", u.id},
                   {"username", u.username},
                   {"role", RoleName(u.role)},
                   {"public_key", Base64Encode(u.signing_public_key)},
                   {"disabled", u.disabled}});
  }
  return ListPage(c, std::move(out));
}

// ---- users (administrator) ---------------------------------------------------------------

json UserJson(const User& u) {
  json out = {{"id", u.id},
              {"username", u.username},
              {"role", RoleName(u.role)},
              {"disabled", u.disabled},
              {"pending", u.pending},
              {"must_change_password", u.must_change_password}};
  if (!u.location.empty()) out["location"] = u.location;
  return out;
}

StatusOr<ApiResponse> ListUsers(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(auto users, c.library.accounts().ListUsers(c.actor));
  json out = json::array();
  for (const User& u : users) out.push_back(UserJson(u));
  return ListPage(c, std::move(out));
}

// Accounts awaiting approval, for those who approve them, saying who may.
StatusOr<ApiResponse> PendingUsers(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(auto users, c.library.accounts().PendingUsers(c.actor));
  json out = json::array();
  for (const User& u : users) {
    json j = UserJson(u);
    bool by_board = u.role == Role::kDirector || u.role == Role::kBoard;
    j["approved_by"] = by_board ? "a majority of the Board" : "the Director or a designee";
    out.push_back(std::move(j));
  }
  return ListPage(c, std::move(out));
}

// A signed approval (or Board vote): the approver's password again.
StatusOr<ApiResponse> ApproveUser(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(int64_t id, IdParam(c.request, 0));
  std::string password = TextOf(c.body, "password");
  bool designee = false;
  if (c.principal->role == Role::kStaff) {
    CARREL_ASSIGN_OR_RETURN(designee, c.library.requests().IsActingDesignee(c.principal->id));
  }
  CARREL_ASSIGN_OR_RETURN(ApprovalResult r,
                          c.library.accounts().Approve(c.principal->id, password, id, designee));
  return JsonResponse({{"id", id}, {"active", r.active}, {"votes", r.votes}, {"needed", r.needed}});
}

StatusOr<ApiResponse> CreateUser(ApiContext& c) {
  std::string username = TextOf(c.body, "username");
  std::string role_name = TextOf(c.body, "role");
  std::string password = TextOf(c.body, "password");
  CARREL_ASSIGN_OR_RETURN(Role role, ParseRole(role_name));
  // The password is good for one change at the first login; an account that reaches patron
  // data or signs is active only once approved (not by the administrator).
  NewUserOptions options;
  options.needs_approval = true;
  options.must_change_password = true;
  options.location = TextOf(c.body, "location");
  CARREL_ASSIGN_OR_RETURN(User u,
                          c.library.accounts().AddUser(c.actor, username, role, password, options));
  return JsonResponse({{"id", u.id},
                       {"username", u.username},
                       {"role", RoleName(u.role)},
                       {"pending", u.pending},
                       {"must_change_password", u.must_change_password}},
                      201);
}

StatusOr<ApiResponse> DisableUser(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(int64_t id, IdParam(c.request, 0));
  CARREL_RETURN_IF_ERROR(c.library.accounts().SetDisabled(c.actor, id, true));
  return JsonResponse({{"id", id}, {"disabled", true}});
}

StatusOr<ApiResponse> EnableUser(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(int64_t id, IdParam(c.request, 0));
  CARREL_RETURN_IF_ERROR(c.library.accounts().SetDisabled(c.actor, id, false));
  CARREL_ASSIGN_OR_RETURN(User u, c.library.accounts().GetUser(id));
  return JsonResponse({{"id", id}, {"disabled", false}, {"pending", u.pending}});
}

// ---- patrons -----------------------------------------------------------------------------

StatusOr<NewPatron> ReadNewPatron(const json& body) {
  NewPatron p;
  p.card_barcode = TextOf(body, "card_barcode");
  p.name = TextOf(body, "name");
  p.email = TextOf(body, "email");
  p.phone = TextOf(body, "phone");
  p.postal_address = TextOf(body, "postal_address");
  p.juvenile = FlagOf(body, "juvenile", false);
  p.history_opt_in = FlagOf(body, "history_opt_in", false);
  std::string expires = TextOf(body, "expires_on");
  CARREL_ASSIGN_OR_RETURN(p.expires_on, ParseDate(expires));
  return p;
}

StatusOr<ApiResponse> CreatePatron(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(NewPatron p, ReadNewPatron(c.body));
  CARREL_ASSIGN_OR_RETURN(Patron added, c.library.circulation().AddPatron(c.actor, p));
  return JsonResponse(PatronJson(added), 201);
}

// Searches take their terms in the body, never in the URL, which proxies and logs keep.
StatusOr<ApiResponse> SearchPatrons(ApiContext& c) {
  std::vector<Patron> found;
  if (Given(c.body, "card_barcode")) {
    std::string card = TextOf(c.body, "card_barcode");
    auto p = c.library.circulation().FindPatronByBarcode(c.actor, card);
    if (p.ok()) {
      found.push_back(*p);
    } else if (p.status().code() != StatusCode::kNotFound) {
      return p.status();
    }
  } else if (Given(c.body, "email")) {
    std::string email = TextOf(c.body, "email");
    CARREL_ASSIGN_OR_RETURN(found, c.library.circulation().FindPatronsByEmail(c.actor, email));
  } else {
    std::string name = TextOf(c.body, "name");
    CARREL_ASSIGN_OR_RETURN(found, c.library.circulation().FindPatronsByName(c.actor, name));
  }
  json out = json::array();
  for (const Patron& p : found) out.push_back(PatronJson(p));
  return ListPage(c, std::move(out));
}

StatusOr<ApiResponse> GetPatron(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(int64_t id, IdParam(c.request, 0));
  CARREL_ASSIGN_OR_RETURN(Patron p, c.library.circulation().GetPatron(c.actor, id));
  return JsonResponse(PatronJson(p));
}

StatusOr<ApiResponse> UpdatePatron(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(int64_t id, IdParam(c.request, 0));
  PatronChanges changes;
  for (auto [key, field] : {std::pair{"name", &changes.name}, {"email", &changes.email},
                            {"phone", &changes.phone}, {"postal_address", &changes.postal_address}}) {
    if (Given(c.body, key)) *field = TextOf(c.body, key);
  }
  if (Given(c.body, "juvenile")) {
    bool v = FlagOf(c.body, "juvenile", false);
    changes.juvenile = v;
  }
  if (Given(c.body, "expires_on")) {
    std::string v = TextOf(c.body, "expires_on");
    CARREL_ASSIGN_OR_RETURN(Date d, ParseDate(v));
    changes.expires_on = d;
  }
  CARREL_ASSIGN_OR_RETURN(Patron p, c.library.circulation().UpdatePatron(c.actor, id, changes));
  return JsonResponse(PatronJson(p));
}

StatusOr<ApiResponse> DeletePatron(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(int64_t id, IdParam(c.request, 0));
  CARREL_RETURN_IF_ERROR(c.library.circulation().DeletePatron(c.actor, id));
  return JsonResponse({{"id", id}, {"deleted", true}});
}

// Staff never choose or learn a PIN: they start a reset, whose one-time code goes to the
// patron on a slip, and the patron chooses the PIN with it.
StatusOr<ApiResponse> StartPinReset(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(int64_t id, IdParam(c.request, 0));
  const std::vector<std::string>& deliver = c.library.profile().pin_reset_command;
  if (!deliver.empty()) {
    // The library sends codes itself: the desk starts the reset and never sees the code.
    CARREL_ASSIGN_OR_RETURN(Patron p, c.library.circulation().GetPatron(c.actor, id));
    if (p.email.empty() && p.phone.empty()) {
      return FailedPrecondition("the patron has no email or phone to send a code to; add one "
                                "to their record first");
    }
    CARREL_ASSIGN_OR_RETURN(PinReset reset, c.library.accounts().StartPinReset(c.actor, id));
    json message = {{"code", reset.code},
                    {"expires_at", FormatInstant(reset.expires_at)},
                    {"name", p.name},
                    {"email", p.email},
                    {"phone", p.phone}};
    std::thread([deliver, input = message.dump()] {
      (void)RunOutboundHookWithInput(deliver, "pin-reset", input);
    }).detach();
    return JsonResponse({{"id", id},
                         {"sent", true},
                         {"expires_at", FormatInstant(reset.expires_at)},
                         {"min_pin_length", c.library.profile().min_pin_length}},
                        201);
  }
  CARREL_ASSIGN_OR_RETURN(PinReset reset, c.library.accounts().StartPinReset(c.actor, id));
  return JsonResponse({{"id", id},
                       {"code", reset.code},
                       {"expires_at", FormatInstant(reset.expires_at)},
                       {"min_pin_length", c.library.profile().min_pin_length}},
                      201);
}

StatusOr<ApiResponse> FinishPinReset(ApiContext& c) {
  std::string card = TextOf(c.body, "card_barcode");
  std::string code = TextOf(c.body, "code");
  std::string pin = TextOf(c.body, "new_pin");
  CARREL_RETURN_IF_ERROR(c.library.accounts().FinishPinReset(
      card, code, pin, c.library.profile().min_pin_length, c.request.remote_address));
  return JsonResponse({{"pin_set", true}});
}

StatusOr<ApiResponse> PatronLoans(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(int64_t id, IdParam(c.request, 0));
  CARREL_ASSIGN_OR_RETURN(auto loans, c.library.circulation().ActiveLoans(c.actor, id));
  json out = json::array();
  for (const Loan& l : loans) out.push_back(LoanJson(c.library.circulation(), l));
  return ListPage(c, std::move(out));
}

// What a patron owes, for the desk that takes the payment or waives it.
StatusOr<ApiResponse> PatronFines(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(int64_t id, IdParam(c.request, 0));
  CARREL_ASSIGN_OR_RETURN(auto fines, c.library.circulation().PatronFines(c.actor, id));
  json out = json::array();
  for (const Fine& f : fines) out.push_back(FineJson(f));
  return ListPage(c, std::move(out));
}

// ---- items -------------------------------------------------------------------------------

StatusOr<ApiResponse> CreateItem(ApiContext& c) {
  NewItem item;
  item.barcode = TextOf(c.body, "barcode");
  item.title = TextOf(c.body, "title");
  item.author = TextOf(c.body, "author");
  item.call_number = TextOf(c.body, "call_number");
  item.item_type = TextOf(c.body, "item_type");
  CARREL_ASSIGN_OR_RETURN(Item added, c.library.circulation().AddItem(c.actor, item));
  return JsonResponse(ItemJson(added), 201);
}

StatusOr<ApiResponse> GetItem(ApiContext& c) {
  if (c.request.path_params.empty()) return InvalidArgument("missing item barcode");
  CARREL_ASSIGN_OR_RETURN(Item item,
                          c.library.circulation().FindItemByBarcode(c.request.path_params[0]));
  return JsonResponse(ItemJson(item));
}

StatusOr<ApiResponse> UpdateItem(ApiContext& c) {
  if (c.request.path_params.empty()) return InvalidArgument("missing item barcode");
  NewItem changes;
  changes.title = TextOf(c.body, "title");
  changes.author = TextOf(c.body, "author");
  changes.call_number = TextOf(c.body, "call_number");
  changes.item_type = TextOf(c.body, "item_type");
  CARREL_ASSIGN_OR_RETURN(
      Item item, c.library.circulation().UpdateItem(c.actor, c.request.path_params[0], changes));
  return JsonResponse(ItemJson(item));
}

// An item that cannot be found on the shelf: its loan, if any, ends without a fine.
StatusOr<ApiResponse> MarkItemMissing(ApiContext& c) {
  CARREL_RETURN_IF_ERROR(
      c.library.circulation().MarkItemMissing(c.actor, c.request.path_params[0]));
  return JsonResponse({{"barcode", c.request.path_params[0]}, {"status", "missing"}});
}

StatusOr<ApiResponse> WithdrawItem(ApiContext& c) {
  if (c.request.path_params.empty()) return InvalidArgument("missing item barcode");
  CARREL_RETURN_IF_ERROR(c.library.circulation().WithdrawItem(c.actor, c.request.path_params[0]));
  return JsonResponse({{"barcode", c.request.path_params[0]}, {"status", "withdrawn"}});
}

// ---- loans, holds, fines, computer sessions ----------------------------------------------

StatusOr<ApiResponse> Checkout(ApiContext& c) {
  std::string item = TextOf(c.body, "item_barcode");
  std::string card = TextOf(c.body, "card_barcode");
  CARREL_ASSIGN_OR_RETURN(Loan loan, c.library.circulation().Checkout(c.actor, item, card));
  return JsonResponse(LoanJson(c.library.circulation(), loan), 201);
}

StatusOr<ApiResponse> Checkin(ApiContext& c) {
  std::string item = TextOf(c.body, "item_barcode");
  CARREL_ASSIGN_OR_RETURN(CheckinResult r, c.library.circulation().Checkin(c.actor, item));
  return JsonResponse({{"returned_on", FormatDate(r.returned_on)},
                       {"overdue_days", r.overdue_days},
                       {"fine_cents", r.fine_cents},
                       {"to_hold_shelf", r.hold_ready_id != 0}});
}

StatusOr<ApiResponse> Renew(ApiContext& c) {
  std::string item = TextOf(c.body, "item_barcode");
  CARREL_ASSIGN_OR_RETURN(Loan loan, c.library.circulation().Renew(c.actor, item));
  return JsonResponse(LoanJson(c.library.circulation(), loan));
}

StatusOr<ApiResponse> PlaceHold(ApiContext& c) {
  std::string item = TextOf(c.body, "item_barcode");
  std::string card = TextOf(c.body, "card_barcode");
  CARREL_ASSIGN_OR_RETURN(Hold hold, c.library.circulation().PlaceHold(c.actor, item, card));
  return JsonResponse(HoldJson(c.library.circulation(), hold), 201);
}

// The hold shelf, for the desk: who each ready item waits for (their name and the end of their
// card's number, to match the slip), by pickup deadline.
StatusOr<ApiResponse> HoldShelf(ApiContext& c) {
  Circulation& circ = c.library.circulation();
  CARREL_ASSIGN_OR_RETURN(auto holds, circ.ReadyHolds(c.actor));
  json out = json::array();
  for (const Hold& h : holds) {
    json j = HoldJson(circ, h);
    auto patron = circ.GetPatron(c.actor, h.patron_id);
    j["patron_name"] = patron.ok() ? patron->name : "";
    j["card_last4"] = patron.ok() && patron->card_barcode.size() >= 4
                          ? patron->card_barcode.substr(patron->card_barcode.size() - 4)
                          : "";
    out.push_back(std::move(j));
  }
  return ListPage(c, std::move(out));
}

StatusOr<ApiResponse> OpenComputerSessions(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(auto sessions, c.library.circulation().OpenComputerSessions());
  json out = json::array();
  for (const ComputerSession& s : sessions) {
    out.push_back({{"id", s.id}, {"station", s.station}, {"started_at", FormatInstant(s.started_at)}});
  }
  return ListPage(c, std::move(out));
}

StatusOr<ApiResponse> CancelHold(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(int64_t id, IdParam(c.request, 0));
  CARREL_RETURN_IF_ERROR(c.library.circulation().CancelHold(c.actor, id));
  return JsonResponse({{"id", id}, {"status", "cancelled"}});
}

StatusOr<ApiResponse> PayFine(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(int64_t id, IdParam(c.request, 0));
  CARREL_RETURN_IF_ERROR(c.library.circulation().PayFine(c.actor, id));
  return JsonResponse({{"id", id}, {"status", "paid"}});
}

StatusOr<ApiResponse> WaiveFine(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(int64_t id, IdParam(c.request, 0));
  std::string reason = TextOf(c.body, "reason");
  CARREL_ASSIGN_OR_RETURN(WaiverReason r, ParseWaiverReason(reason));
  CARREL_RETURN_IF_ERROR(c.library.circulation().WaiveFine(c.actor, id, r));
  return JsonResponse({{"id", id}, {"status", "waived"}});
}

StatusOr<ApiResponse> StartComputerSession(ApiContext& c) {
  std::string card = TextOf(c.body, "card_barcode");
  std::string station = TextOf(c.body, "station");
  CARREL_ASSIGN_OR_RETURN(ComputerSession s,
                          c.library.circulation().StartComputerSession(c.actor, card, station));
  return JsonResponse({{"id", s.id}, {"station", s.station}, {"started_at", FormatInstant(s.started_at)}},
                      201);
}

StatusOr<ApiResponse> EndComputerSession(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(int64_t id, IdParam(c.request, 0));
  CARREL_RETURN_IF_ERROR(c.library.circulation().EndComputerSession(c.actor, id));
  return JsonResponse({{"id", id}, {"status", "ended"}});
}

// ---- eNews (public) ----------------------------------------------------------------------

StatusOr<ApiResponse> Subscribe(ApiContext& c) {
  std::string email = TextOf(c.body, "email");
  CARREL_ASSIGN_OR_RETURN(std::string token, c.library.circulation().Subscribe(c.actor, email));
  // The confirmation goes to the address, never back to the requester; the answer is the
  // same whether or not the address was already there.
  if (!token.empty()) c.server->DeliverConfirmation(email, token);
  return JsonResponse({{"status", "a confirmation message was sent to the address"}}, 202);
}

StatusOr<ApiResponse> ConfirmSubscription(ApiContext& c) {
  std::string token = TextOf(c.body, "token");
  CARREL_RETURN_IF_ERROR(c.library.circulation().ConfirmSubscription(c.actor, token));
  return JsonResponse({{"status", "confirmed"}});
}

StatusOr<ApiResponse> Unsubscribe(ApiContext& c) {
  std::string token = TextOf(c.body, "token");
  CARREL_RETURN_IF_ERROR(c.library.circulation().Unsubscribe(c.actor, token));
  return JsonResponse({{"status", "unsubscribed"}});
}

// ---- the patron portal (/me) -------------------------------------------------------------

StatusOr<ApiResponse> Me(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(Patron p, c.library.circulation().GetPatron(c.actor, c.principal->id));
  return JsonResponse(PatronJson(p));
}

StatusOr<ApiResponse> MyLoans(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(auto loans,
                          c.library.circulation().ActiveLoans(c.actor, c.principal->id));
  json out = json::array();
  for (const Loan& l : loans) out.push_back(LoanJson(c.library.circulation(), l));
  return ListPage(c, std::move(out));
}

StatusOr<ApiResponse> MyHolds(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(auto holds,
                          c.library.circulation().PatronHolds(c.actor, c.principal->id));
  json out = json::array();
  for (const Hold& h : holds) out.push_back(HoldJson(c.library.circulation(), h));
  return ListPage(c, std::move(out));
}

StatusOr<ApiResponse> MyFines(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(auto fines,
                          c.library.circulation().PatronFines(c.actor, c.principal->id));
  json out = json::array();
  for (const Fine& f : fines) out.push_back(FineJson(f));
  return ListPage(c, std::move(out));
}

// The patron's own renewals and holds: only on their own loans and holds.
StatusOr<ApiResponse> RenewMyLoan(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(int64_t id, IdParam(c.request, 0));
  Circulation& circ = c.library.circulation();
  CARREL_ASSIGN_OR_RETURN(auto loans, circ.ActiveLoans(c.actor, c.principal->id));
  for (const Loan& l : loans) {
    if (l.id != id) continue;
    CARREL_ASSIGN_OR_RETURN(Item item, circ.GetItem(l.item_id));
    CARREL_ASSIGN_OR_RETURN(Loan renewed, circ.Renew(c.actor, item.barcode));
    return JsonResponse(LoanJson(circ, renewed));
  }
  return NotFound("you have no such loan");
}

StatusOr<ApiResponse> PlaceMyHold(ApiContext& c) {
  Circulation& circ = c.library.circulation();
  CARREL_ASSIGN_OR_RETURN(Patron me, circ.GetPatron(c.actor, c.principal->id));
  CARREL_ASSIGN_OR_RETURN(Hold hold,
                          circ.PlaceHold(c.actor, TextOf(c.body, "item_barcode"), me.card_barcode));
  return JsonResponse(HoldJson(circ, hold), 201);
}

StatusOr<ApiResponse> CancelMyHold(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(int64_t id, IdParam(c.request, 0));
  CARREL_ASSIGN_OR_RETURN(auto holds,
                          c.library.circulation().PatronHolds(c.actor, c.principal->id));
  for (const Hold& h : holds) {
    if (h.id != id) continue;
    CARREL_RETURN_IF_ERROR(c.library.circulation().CancelHold(c.actor, id));
    return JsonResponse({{"id", id}, {"status", "cancelled"}});
  }
  return NotFound("you have no such hold");
}

// The public catalogue (no patron data); the terms travel in the body and are kept nowhere.
StatusOr<ApiResponse> SearchCatalogue(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(auto items,
                          c.library.circulation().SearchCatalogue(TextOf(c.body, "terms"), 1000));
  json out = json::array();
  for (const Item& i : items) out.push_back(ItemJson(i));
  return ListPage(c, std::move(out));
}

// The reading history, the export, notices and permissions open only with a PIN the patron
// chose themselves (not one set at the desk), at least the profile's minimum length.
Status RequireChosenPin(ApiContext& c) {
  return c.library.accounts().RequireChosenPin(c.principal->id,
                                               c.library.profile().min_pin_length);
}

StatusOr<ApiResponse> ChangeMyPin(ApiContext& c) {
  std::string current = TextOf(c.body, "current_pin");
  std::string pin = TextOf(c.body, "new_pin");
  CARREL_RETURN_IF_ERROR(c.library.accounts().ChangePatronPin(
      c.principal->id, current, pin, c.library.profile().min_pin_length, c.session_token));
  return JsonResponse({{"pin_set", true}});
}

// A returned loan in the patron's own history, with its title (catalogue data).
json ReturnedLoanJson(Library& library, const ReturnedLoan& r) {
  auto item = library.circulation().GetItem(r.item_id);
  return {{"item_id", r.item_id},
          {"title", item.ok() ? item->title : ""},
          {"author", item.ok() ? item->author : ""},
          {"checked_out_on", FormatDate(r.checked_out_on)},
          {"returned_on", FormatDate(r.returned_on)}};
}

StatusOr<ApiResponse> MyHistory(ApiContext& c) {
  CARREL_RETURN_IF_ERROR(RequireChosenPin(c));
  CARREL_ASSIGN_OR_RETURN(Patron p, c.library.circulation().GetPatron(c.actor, c.principal->id));
  if (!p.history_opt_in) {
    return FailedPrecondition("you have not chosen to keep a reading history");
  }
  CARREL_ASSIGN_OR_RETURN(auto history,
                          c.library.circulation().PatronHistory(c.actor, c.principal->id));
  json out = json::array();
  for (const ReturnedLoan& r : history) out.push_back(ReturnedLoanJson(c.library, r));
  return ListPage(c, std::move(out));
}

StatusOr<ApiResponse> SetMyHistoryOptIn(ApiContext& c) {
  CARREL_RETURN_IF_ERROR(RequireChosenPin(c));
  bool keep = FlagOf(c.body, "keep_history", false);
  CARREL_RETURN_IF_ERROR(c.library.circulation().SetHistoryOptIn(c.actor, c.principal->id, keep));
  return JsonResponse({{"keep_history", keep}});
}

StatusOr<ApiResponse> DeleteMyHistory(ApiContext& c) {
  // Turning the history off deletes it; the patron may turn it on again afterwards.
  CARREL_RETURN_IF_ERROR(RequireChosenPin(c));
  CARREL_ASSIGN_OR_RETURN(Patron p, c.library.circulation().GetPatron(c.actor, c.principal->id));
  CARREL_RETURN_IF_ERROR(c.library.circulation().SetHistoryOptIn(c.actor, c.principal->id, false));
  if (p.history_opt_in) {
    CARREL_RETURN_IF_ERROR(c.library.circulation().SetHistoryOptIn(c.actor, c.principal->id, true));
  }
  return JsonResponse({{"history", "deleted"}});
}

StatusOr<ApiResponse> MyExport(ApiContext& c) {
  CARREL_RETURN_IF_ERROR(RequireChosenPin(c));
  Circulation& circ = c.library.circulation();
  int64_t id = c.principal->id;
  CARREL_ASSIGN_OR_RETURN(Patron p, circ.GetPatron(c.actor, id));
  CARREL_ASSIGN_OR_RETURN(auto loans, circ.ActiveLoans(c.actor, id));
  CARREL_ASSIGN_OR_RETURN(auto holds, circ.PatronHolds(c.actor, id));
  CARREL_ASSIGN_OR_RETURN(auto fines, circ.PatronFines(c.actor, id));
  json out = {{"patron", PatronJson(p)},
              {"loans", json::array()},
              {"holds", json::array()},
              {"fines", json::array()},
              {"history", json::array()}};
  for (const Loan& l : loans) out["loans"].push_back(LoanJson(c.library.circulation(), l));
  for (const Hold& h : holds) out["holds"].push_back(HoldJson(c.library.circulation(), h));
  for (const Fine& f : fines) out["fines"].push_back(FineJson(f));
  CARREL_ASSIGN_OR_RETURN(auto history, circ.PatronHistory(c.actor, id));
  for (const ReturnedLoan& r : history) out["history"].push_back(ReturnedLoanJson(c.library, r));
  out["exported_at"] = FormatInstant(c.library.clock().Now());
  return JsonResponse(out);
}

// ---- the audit log (Director and Board) --------------------------------------------------

StatusOr<ApiResponse> AuditEntries(ApiContext& c) {
  AuditQuery q;
  std::string after = QueryParam(c.request, "after");
  std::string limit = QueryParam(c.request, "limit");
  auto number = [](const std::string& s, int64_t* out) {
    if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos) {
      return false;
    }
    *out = std::stoll(s);
    return true;
  };
  int64_t n = 0;
  if (!after.empty()) {
    if (!number(after, &n)) return InvalidArgument("after must be a sequence number");
    q.after_seq = n;
  }
  if (!limit.empty()) {
    if (!number(limit, &n) || n < 1 || n > 1000) return InvalidArgument("limit must be 1 to 1000");
    q.limit = static_cast<int>(n);
  }
  for (auto [key, field] : {std::pair{"from", &q.from}, std::pair{"to", &q.to}}) {
    std::string text = QueryParam(c.request, key);
    if (text.empty()) continue;
    CARREL_ASSIGN_OR_RETURN(Instant t, ParseInstant(text));
    *field = t;
  }
  q.actor_id = QueryParam(c.request, "actor");
  q.object_type = QueryParam(c.request, "object_type");
  q.object_id = QueryParam(c.request, "object_id");
  q.case_id = QueryParam(c.request, "case");
  std::vector<AuditEntry> entries;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(c.library.store(), [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(entries, c.library.audit().Find(tx, q));
    return c.library.audit().Append(tx, c.actor, {"audit.read", "audit_log", "", "", "{}"}).status();
  }));
  json out = json::array();
  for (const AuditEntry& e : entries) {
    out.push_back({{"seq", e.seq},
                   {"time", FormatInstant(e.time)},
                   {"actor_id", e.actor_id},
                   {"actor_role", e.actor_role},
                   {"action", e.action},
                   {"object_type", e.object_type},
                   {"object_id", e.object_id},
                   {"case_id", e.case_id},
                   {"policy_version", e.policy_version},
                   {"details", json::parse(e.details, nullptr, false)},
                   {"entry", Base64Encode(EncodeAuditEntry(e))}});
  }
  // Paged by sequence number, as every list is paged (ListPage), but by the log's own index.
  json next = nullptr;
  if (static_cast<int>(entries.size()) == q.limit) {
    std::string link = c.request.path + "?";
    for (const auto& [key, value] : c.request.query) {
      if (key != "after" && key != "limit") link += key + "=" + QueryEscape(value) + "&";
    }
    next = link + "after=" + std::to_string(entries.back().seq) + "&limit=" +
           std::to_string(q.limit);
  }
  return JsonResponse({{"entries", out}, {"next", next}});
}

StatusOr<ApiResponse> AuditHead(ApiContext& c) {
  CARREL_RETURN_IF_ERROR(
      c.library.RecordOperation(c.actor, {"audit.head.sign", "audit_log", "", "", "{}"}));
  CARREL_ASSIGN_OR_RETURN(Checkpoint head, c.library.SignAuditHead());
  CARREL_ASSIGN_OR_RETURN(NoteVerifier v, c.library.AuditVerifier());
  return JsonResponse({{"size", head.size},
                       {"root", HashBase64(head.root)},
                       {"checkpoint", head.note},
                       {"verifier_key", v.ToString()}});
}

// Public: the latest signed head, for witnesses outside the server. Reads only (anonymous
// traffic never grows the log), and names nothing but sizes and hashes.
StatusOr<ApiResponse> AuditCheckpoint(ApiContext& c) {
  std::optional<Checkpoint> head;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(c.library.store(), [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(head, c.library.audit().LatestHead(tx));
    return Status::Ok();
  }));
  return JsonResponse(
      {{"size", head->size}, {"root", HashBase64(head->root)}, {"checkpoint", head->note}});
}

StatusOr<int64_t> TreeSizeParam(const ApiRequest& request, std::string_view key) {
  std::string s = QueryParam(request, key);
  if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos) {
    return InvalidArgument(std::string(key) + " must be a whole number");
  }
  return std::stoll(s);
}

// Public: a consistency proof between two signed sizes (hashes only), so that a witness can
// check that the log only grew since the head it kept.
StatusOr<ApiResponse> AuditConsistency(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(int64_t from, TreeSizeParam(c.request, "from"));
  CARREL_ASSIGN_OR_RETURN(int64_t to, TreeSizeParam(c.request, "to"));
  json proof = json::array();
  CARREL_RETURN_IF_ERROR(WithReadTransaction(c.library.store(), [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(Checkpoint latest, c.library.audit().LatestHead(tx));
    if (to > latest.size) {
      return InvalidArgument("to is beyond the latest signed head (size " +
                             std::to_string(latest.size) + ")");
    }
    if (from > to) return InvalidArgument("from must not be greater than to");
    CARREL_ASSIGN_OR_RETURN(auto hashes, c.library.audit().ConsistencyProof(tx, from, to));
    for (const Hash& h : hashes) proof.push_back(HashBase64(h));
    return Status::Ok();
  }));
  return JsonResponse({{"from", from}, {"to", to}, {"consistency_proof", proof}});
}

StatusOr<ApiResponse> AuditProof(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(int64_t size, TreeSizeParam(c.request, "size"));
  json out = {{"size", size}};
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(c.library.store(), [&](Transaction& tx) -> Status {
    auto hashes = [](const std::vector<Hash>& v) {
      json a = json::array();
      for (const Hash& h : v) a.push_back(HashBase64(h));
      return a;
    };
    if (!QueryParam(c.request, "index").empty()) {
      CARREL_ASSIGN_OR_RETURN(int64_t index, TreeSizeParam(c.request, "index"));
      CARREL_ASSIGN_OR_RETURN(auto path, c.library.audit().InclusionProof(tx, index, size));
      out["index"] = index;
      out["inclusion_path"] = hashes(path);
    }
    if (!QueryParam(c.request, "from").empty()) {
      CARREL_ASSIGN_OR_RETURN(int64_t from, TreeSizeParam(c.request, "from"));
      CARREL_ASSIGN_OR_RETURN(auto proof, c.library.audit().ConsistencyProof(tx, from, size));
      out["from"] = from;
      out["consistency_proof"] = hashes(proof);
    }
    return c.library.audit().Append(tx, c.actor, {"audit.proof", "audit_log", "", "", "{}"}).status();
  }));
  return JsonResponse(out);
}

}  // namespace

uint32_t AccessBit(Role role) {
  switch (role) {
    case Role::kStaff: return kStaff;
    case Role::kDirector: return kDirector;
    case Role::kCounsel: return kCounsel;
    case Role::kBoard: return kBoard;
    case Role::kAdmin: return kAdmin;
    case Role::kPatron: return kPatronSelf;
    case Role::kKiosk:
      return kKiosk;
  }
  return 0;
}

// ---- retention ---------------------------------------------------------------------------

json CountsToJson(const std::vector<RetentionCount>& counts) {
  json out = json::array();
  for (const RetentionCount& c : counts) {
    out.push_back({{"category", c.category}, {"days", c.days}, {"remove", c.due},
                   {"held", c.held}, {"listed", c.listed}, {"keys", c.keys}});
  }
  return out;
}

json VersionJson(const ScheduleVersion& v) {
  json rules = json::array();
  for (const RetentionCategory& cat : RetentionCategories()) {
    rules.push_back({{"category", cat.name}, {"trigger", cat.trigger},
                     {"description", cat.description}, {"days", v.schedule.Days(cat.name)}});
  }
  return {{"version", v.version},       {"rules", rules},
          {"document", v.document},     {"signed_by", v.signer},
          {"reason", v.reason},         {"signed_at", FormatInstant(v.signed_at)},
          {"public_key", Base64Encode(v.public_key)},
          {"signature", Base64Encode(v.signature)},
          {"board_ruling", RulingJson(v.ruling)}};
}

json RunJson(const RetentionRun& r) {
  return {{"id", r.id},
          {"schedule_version", r.schedule_version},
          {"day", FormatDate(r.day)},
          {"started_at", FormatInstant(r.started_at)},
          {"finished_at", r.finished_at ? json(FormatInstant(*r.finished_at)) : json(nullptr)},
          {"counts", CountsToJson(r.counts)},
          {"destroyed_keys", r.destroyed_keys},
          {"seconds", r.seconds}};
}

StatusOr<ApiResponse> GetRetentionSchedule(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(ScheduleVersion v, c.library.retention().Current(c.actor));
  return JsonResponse(VersionJson(v));
}

StatusOr<ApiResponse> RetentionHistory(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(auto versions, c.library.retention().History(c.actor));
  json out = json::array();
  for (const ScheduleVersion& v : versions) out.push_back(VersionJson(v));
  return ListPage(c, std::move(out));
}

// The Director signs a new version with their password in the same request (step-up).
StatusOr<ApiResponse> SignRetentionSchedule(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(RetentionSchedule schedule, ParseSchedule(c.body["schedule"].dump()));
  std::string reason = TextOf(c.body, "reason");
  std::string password = TextOf(c.body, "password");
  CARREL_ASSIGN_OR_RETURN(
      ScheduleVersion v,
      c.library.retention().SignSchedule(c.actor, c.principal->id, password, schedule, reason));
  return JsonResponse(VersionJson(v), 201);
}

StatusOr<ApiResponse> GetRetentionPlan(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(RetentionPlan plan, c.library.retention().Plan(c.actor));
  return JsonResponse({{"schedule_version", plan.schedule_version},
                       {"day", FormatDate(plan.today)},
                       {"counts", CountsToJson(plan.counts)},
                       {"awaiting_reclaim", plan.awaiting_reclaim}});
}

StatusOr<ApiResponse> DraftRetentionPlan(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(RetentionSchedule draft, ParseSchedule(c.body["schedule"].dump()));
  CARREL_ASSIGN_OR_RETURN(RetentionPlan plan, c.library.retention().Plan(c.actor, &draft));
  return JsonResponse({{"schedule_version", plan.schedule_version},
                       {"day", FormatDate(plan.today)},
                       {"counts", CountsToJson(plan.counts)},
                       {"awaiting_reclaim", plan.awaiting_reclaim}});
}

StatusOr<ApiResponse> RetentionRunNow(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(RetentionRun run, c.library.retention().Run(c.actor));
  return JsonResponse(RunJson(run), 201);
}

StatusOr<ApiResponse> RetentionRuns(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(auto runs, c.library.retention().Runs(c.actor));
  json out = json::array();
  for (const RetentionRun& r : runs) out.push_back(RunJson(r));
  return ListPage(c, std::move(out));
}

StatusOr<ApiResponse> AccountsToSettle(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(auto accounts, c.library.retention().AccountsToSettle(c.actor));
  json out = json::array();
  for (const AccountToSettle& a : accounts) {
    out.push_back({{"patron_id", a.patron_id}, {"items_out", a.items_out},
                   {"fines_owed", a.fines_owed}});
  }
  return ListPage(c, std::move(out));
}

json HoldJson(const LegalHold& h) {
  return {{"id", h.id},
          {"patron_id", h.patron_id},
          {"from", h.from ? json(FormatDate(*h.from)) : json(nullptr)},
          {"to", h.to ? json(FormatDate(*h.to)) : json(nullptr)},
          {"reason", h.reason},
          {"case_id", h.case_id},
          {"placed_at", FormatInstant(h.placed_at)},
          {"placed_by", h.placed_by},
          {"released", h.released}};
}

StatusOr<ApiResponse> ListLegalHolds(ApiContext& c) {
  bool all = QueryParam(c.request, "all") == "true";
  CARREL_ASSIGN_OR_RETURN(auto holds, c.library.retention().Holds(c.actor, all));
  json out = json::array();
  for (const LegalHold& h : holds) out.push_back(HoldJson(h));
  return ListPage(c, std::move(out));
}

StatusOr<ApiResponse> PlaceLegalHold(ApiContext& c) {
  LegalHold hold;
  hold.patron_id = c.body["patron_id"].get<int64_t>();
  for (auto [key, field] : {std::pair{"from", &hold.from}, std::pair{"to", &hold.to}}) {
    std::string text = TextOf(c.body, key);
    if (text.empty()) continue;
    CARREL_ASSIGN_OR_RETURN(Date d, ParseDate(text));
    *field = d;
  }
  hold.reason = TextOf(c.body, "reason");
  std::string password = TextOf(c.body, "password");
  CARREL_ASSIGN_OR_RETURN(
      LegalHold placed, c.library.retention().PlaceHold(c.actor, c.principal->id, password, hold));
  return JsonResponse(HoldJson(placed), 201);
}

StatusOr<ApiResponse> ReleaseLegalHold(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(int64_t id, IdParam(c.request, 0));
  std::string password = TextOf(c.body, "password");
  CARREL_RETURN_IF_ERROR(c.library.retention().ReleaseHold(c.actor, c.principal->id, password, id));
  return JsonResponse({{"id", id}, {"released", true}});
}

const std::vector<Route>& RouteTable() {
  // Built once: each row with its contract (api/schemas.h), checked before its handler runs.
  static const std::vector<Route> routes = [] {
  using namespace schema;
  const ApiSchemas& S = Schemas();
  SchemaRef text = Text(0, 0);
  SchemaRef flag = Boolean();
  SchemaRef count = Integer(0);
  SchemaRef when = Timestamp();
  SchemaRef id_status = Object({Req("id", Id()), Req("status", text)});
  return std::vector<Route>{
      // method, path, action, who, mutates, handler, summary
      {"GET", "/healthz", "health.check", kAnyone, false, Healthz, "Liveness and database check",
       Gives().Ok(S.health)},
      {"GET", "/api/v1/system", "system.status", kAdmin | kDirector | kBoard, false, SystemStatus,
       "How the server stands: latest signed audit head, last retention run, last backups, "
       "disk space",
       Gives().Ok(S.system_status)},
      {"GET", "/api/v1/hours", "calendar.hours", kAnyone, false, Hours,
       "This week's hours; whether the library and the café are open now", Gives().Ok(S.hours)},
      {"GET", "/api/v1/policy", "policy.current", kAnyone, false, PolicyCurrent,
       "The policy in force (public): its text, version, history and the statute",
       Gives().Ok(S.policy)},
      {"GET", "/api/v1/policy/versions", "policy.versions", kAnyone, false, PolicyVersions,
       "Every version of the policy: adopted, amended, re-endorsed, with the Board's vote",
       Gives().List("versions", S.policy_version, "label")},
      {"GET", "/api/v1/policy/versions/{label}", "policy.version", kAnyone, false,
       PolicyVersionText, "One version of the policy with its text (when on file)",
       Gives().Ok(S.policy_version)},
      {"GET", "/api/v1/policy/versions/{label}/changes", "policy.version.changes", kAnyone, false,
       PolicyVersionChanges, "What a version changed from the one before it (a line diff)",
       Gives().Ok(S.policy_changes)},
      {"GET", "/api/v1/transparency", "transparency.report", kAnyone, false, TransparencyJson,
       "The public transparency report: requests per year by type, process and outcome",
       Gives().Ok(S.transparency)},
      {"GET", "/api/v1/transparency.html", "transparency.page", kAnyone, false, TransparencyPage,
       "The transparency report as a printable page",
       Gives().Document("text/html", "The report as a printable page")},
      {"GET", "/api/v1/openapi.yaml", "api.describe", kAnyone, false, OpenApi,
       "This API's OpenAPI 3.1 document", Gives().Document("application/yaml", "This document")},
      {"GET", "/api/docs", "api.reference", kAnyone, false, ApiDocs,
       "This API's reference, to read in a browser (rendered from the OpenAPI document)",
       Gives().Document("text/html", "The reference")},

      {"POST", "/api/v1/session", "session.login", kAnyone, true, Login,
       "Log in with username and password, or card barcode and PIN",
       Takes(S.login).Created(S.session)},
      {"GET", "/api/v1/session", "session.whoami", kPatronSelf | kAnyUser | kKiosk, false, WhoAmI,
       "Who the session belongs to", Gives().Ok(S.principal)},
      {"DELETE", "/api/v1/session", "session.logout", kPatronSelf | kAnyUser | kKiosk, true, Logout,
       "End the session", Gives().Ok(S.status_text)},
      {"POST", "/api/v1/session/password", "session.password", kAnyUser | kKiosk, true,
       ChangePassword, "Change one's password (reseals the signing key)",
       Takes(S.change_password).Ok(S.status_text)},
      {"POST", "/api/v1/session/signature", "session.sign", kStaff | kDirector | kCounsel | kBoard,
       true, SignStatement, "Sign a statement with one's own key; needs the password again",
       Takes(S.sign_statement).Created(S.signature)},
      {"GET", "/api/v1/signing-keys", "keys.list", kAnyUser, false, SigningKeys,
       "Public signing keys of every user, for verification",
       Gives().List("keys", S.signing_key, "user_id")},

      {"GET", "/api/v1/users", "user.list", kAdmin, false, ListUsers, "List user accounts",
       Gives().List("users", S.user)},
      {"POST", "/api/v1/users", "user.create", kAdmin, true, CreateUser, "Create a user account",
       Takes(S.create_user)
           .Created(Object({Req("id", Id()), Req("username", text), Req("role", text),
                            Req("pending", flag), Req("must_change_password", flag)}))},
      {"POST", "/api/v1/users/{id}/disable", "user.disable", kAdmin, true, DisableUser,
       "Disable a user; their sessions end at once",
       Gives().Ok(Object({Req("id", Id()), Req("disabled", flag)}))},
      {"GET", "/api/v1/users/pending", "user.pending", kDirector | kDesignee | kBoard, false,
       PendingUsers, "Accounts awaiting approval", Gives().List("users", S.user)},
      {"POST", "/api/v1/users/{id}/approve", "user.approve", kDirector | kDesignee | kBoard, true,
       ApproveUser, "Approve an account, or vote for it as a Board member (password again)",
       Takes(S.password_only)
           .Ok(Object(
               {Req("id", Id()), Req("active", flag), Req("votes", count), Req("needed", count)}))
           .Idempotent()},
      {"POST", "/api/v1/users/{id}/enable", "user.enable", kAdmin, true, EnableUser,
       "Enable a user again",
       Gives().Ok(Object({Req("id", Id()), Req("disabled", flag), Req("pending", flag)}))},

      {"POST", "/api/v1/patrons", "patron.create", kDesk, true, CreatePatron, "Register a patron",
       Takes(S.new_patron).Created(S.patron).Idempotent()},
      {"POST", "/api/v1/patrons/search", "patron.search", kDesk, false, SearchPatrons,
       "Find patrons by card barcode, email or full name (terms in the body)",
       Takes(S.patron_search).List("patrons", S.patron)},
      {"GET", "/api/v1/patrons/{id}", "patron.view", kDesk, false, GetPatron, "A patron record",
       Gives().Ok(S.patron)},
      {"PATCH", "/api/v1/patrons/{id}", "patron.update", kDesk, true, UpdatePatron,
       "Change a patron record", Takes(S.patron_changes).Ok(S.patron)},
      {"DELETE", "/api/v1/patrons/{id}", "patron.delete", kDesk, true, DeletePatron,
       "Delete a patron (crypto-shredding)",
       Gives().Ok(Object({Req("id", Id()), Req("deleted", flag)}))},
      {"POST", "/api/v1/patrons/{id}/pin-reset", "patron.pin_reset", kDesk, true, StartPinReset,
       "Start a PIN reset: a one-time code for the patron, valid 15 minutes",
       Gives().Created(Object({Req("id", Id()), Opt("sent", flag), Opt("code", text),
                               Req("expires_at", when), Req("min_pin_length", count)}),
                       "The code for the slip, or `sent` where the library sends codes itself")},
      {"POST", "/api/v1/pin-reset", "pin_reset.finish", kAnyone, true, FinishPinReset,
       "Choose a new PIN with the card number and a reset code from the desk",
       Takes(S.pin_reset_finish).Ok(Object({Req("pin_set", flag)}))},
      {"GET", "/api/v1/patrons/{id}/loans", "patron.loans", kDesk, false, PatronLoans,
       "A patron's active loans", Gives().List("loans", S.loan)},

      {"GET", "/api/v1/patrons/{id}/fines", "patron.fines", kDesk, false, PatronFines,
       "What a patron owes", Gives().List("fines", S.fine)},
      {"POST", "/api/v1/items", "item.create", kDesk, true, CreateItem, "Add an item",
       Takes(S.new_item).Created(S.item)},
      {"GET", "/api/v1/items/{barcode}", "item.view", kDesk, false, GetItem, "An item",
       Gives().Ok(S.item)},
      {"PATCH", "/api/v1/items/{barcode}", "item.update", kDesk, true, UpdateItem,
       "Change an item's catalogue data", Takes(S.item_changes).Ok(S.item)},
      {"POST", "/api/v1/items/{barcode}/missing", "item.missing", kDesk, true, MarkItemMissing,
       "Mark an item missing (a loan on it ends without a fine)",
       Gives().Ok(Object({Req("barcode", text), Req("status", text)}))},
      {"POST", "/api/v1/items/{barcode}/withdraw", "item.withdraw", kDesk, true, WithdrawItem,
       "Withdraw an item from circulation",
       Gives().Ok(Object({Req("barcode", text), Req("status", text)}))},

      {"POST", "/api/v1/loans", "loan.checkout", kDesk, true, Checkout, "Check an item out",
       Takes(S.checkout).Created(S.loan).Idempotent()},
      {"POST", "/api/v1/loans/checkin", "loan.checkin", kDesk, true, Checkin, "Check an item in",
       Takes(S.item_barcode)
           .Ok(Object({Req("returned_on", CalendarDate()), Req("overdue_days", count),
                       Req("fine_cents", count), Req("to_hold_shelf", flag)}))
           .Idempotent()},
      {"POST", "/api/v1/loans/renew", "loan.renew", kDesk, true, Renew, "Renew a loan",
       Takes(S.item_barcode).Ok(S.loan).Idempotent()},
      {"POST", "/api/v1/holds", "hold.place", kDesk, true, PlaceHold, "Place a hold",
       Takes(S.place_hold).Created(S.hold).Idempotent()},
      {"GET", "/api/v1/holds/shelf", "hold.shelf", kDesk, false, HoldShelf,
       "The hold shelf: items ready for pickup, for whom, until when",
       Gives().List("holds", Extend(S.hold, {Req("patron_name", text), Req("card_last4", text)}))},
      {"GET", "/api/v1/computer-sessions", "computer_session.list", kDesk, false,
       OpenComputerSessions, "Public-computer sessions not yet ended, by station",
       Gives().List("sessions",
                    Object({Req("id", Id()), Req("station", text), Req("started_at", when)}))},
      {"DELETE", "/api/v1/holds/{id}", "hold.cancel", kDesk, true, CancelHold, "Cancel a hold",
       Gives().Ok(id_status)},
      {"POST", "/api/v1/fines/{id}/pay", "fine.pay", kDesk, true, PayFine, "Record a payment",
       Gives().Ok(id_status).Idempotent()},
      {"POST", "/api/v1/fines/{id}/waive", "fine.waive", kDesk, true, WaiveFine, "Waive a fine",
       Takes(S.waive).Ok(id_status).Idempotent()},
      {"POST", "/api/v1/computer-sessions", "computer_session.start", kDesk, true,
       StartComputerSession, "Start a public-computer session",
       Takes(S.computer_session)
           .Created(Object({Req("id", Id()), Req("station", text), Req("started_at", when)}))},
      {"POST", "/api/v1/computer-sessions/{id}/end", "computer_session.end", kDesk, true,
       EndComputerSession, "End a public-computer session", Gives().Ok(id_status)},

      // ---- kiosks (docs/sip2.md): called by `carrel serve --sip2`, one per SIP2 message ----
      {"GET", "/api/v1/kiosk", "kiosk.status", kKiosk, false, KioskStatus,
       "Where this kiosk stands, and whether the library is open (SIP2 SC status)",
       Gives().Ok(S.kiosk_status)},
      {"POST", "/api/v1/kiosk/patron", "kiosk.patron", kKiosk, false, KioskPatron,
       "A patron's standing at a kiosk: with the card alone, whether it is valid; with the PIN, "
       "counts and, when asked, lists (SIP2 patron status and information)",
       Takes(S.kiosk_card).Ok(S.kiosk_patron)},
      {"GET", "/api/v1/kiosk/items/{barcode}", "kiosk.item", kKiosk, false, KioskItem,
       "An item's status and due date, naming nobody (SIP2 item information)",
       Gives().Ok(S.kiosk_item)},
      {"POST", "/api/v1/kiosk/checkout", "kiosk.checkout", kKiosk, true, KioskCheckout,
       "Lend an item to the patron whose card and PIN are given (an item they have out is "
       "renewed)",
       Takes(S.kiosk_card_item).Created(S.kiosk_loan).Idempotent()},
      {"POST", "/api/v1/kiosk/checkin", "kiosk.checkin", kKiosk, true, KioskCheckin,
       "Return an item; says whether it goes to the hold shelf, never for whom",
       Takes(S.item_barcode).Ok(S.kiosk_checkin).Idempotent()},
      {"POST", "/api/v1/kiosk/renew", "kiosk.renew", kKiosk, true, KioskRenew,
       "Renew one of the patron's loans (card and PIN)",
       Takes(S.kiosk_card_item).Ok(S.kiosk_loan).Idempotent()},
      {"POST", "/api/v1/kiosk/renew-all", "kiosk.renew_all", kKiosk, true, KioskRenewAll,
       "Renew every loan the patron has out that may be renewed (card and PIN)",
       Takes(S.kiosk_card).Ok(S.kiosk_renew_all).Idempotent()},
      {"POST", "/api/v1/kiosk/fees", "kiosk.fee_paid", kKiosk, true, KioskPayFees,
       "Record a payment taken by the kiosk: one fee, or everything owed, in full",
       Takes(S.kiosk_pay).Ok(S.kiosk_fees).Idempotent()},
      {"POST", "/api/v1/kiosk/holds", "kiosk.hold.place", kKiosk, true, KioskPlaceHold,
       "Place a hold for the patron (card and PIN)",
       Takes(S.kiosk_card_item).Created(S.kiosk_hold).Idempotent()},
      {"POST", "/api/v1/kiosk/holds/cancel", "kiosk.hold.cancel", kKiosk, true, KioskCancelHold,
       "Cancel the patron's hold on an item (card and PIN)",
       Takes(S.kiosk_card_item).Ok(S.kiosk_hold).Idempotent()},
      {"POST", "/api/v1/enews/subscribe", "enews.subscribe", kAnyone, true, Subscribe,
       "Subscribe to the eNews (a confirmation is sent to the address)",
       Takes(S.subscribe).Accepted(S.status_text)},
      {"POST", "/api/v1/enews/confirm", "enews.confirm", kAnyone, true, ConfirmSubscription,
       "Confirm a subscription with the emailed token", Takes(S.token).Ok(S.status_text)},
      {"POST", "/api/v1/enews/unsubscribe", "enews.unsubscribe", kAnyone, true, Unsubscribe,
       "Unsubscribe with the token in any newsletter", Takes(S.token).Ok(S.status_text)},

      {"GET", "/api/v1/me", "me.view", kPatronSelf, false, Me, "My patron record",
       Gives().Ok(S.patron)},
      {"PUT", "/api/v1/me/pin", "me.pin", kPatronSelf, true, ChangeMyPin,
       "Choose a new PIN (the current one again)",
       Takes(S.change_pin).Ok(Object({Req("pin_set", flag)}))},
      {"GET", "/api/v1/me/loans", "me.loans", kPatronSelf, false, MyLoans, "My loans",
       Gives().List("loans", S.loan)},
      {"GET", "/api/v1/me/holds", "me.holds", kPatronSelf, false, MyHolds, "My holds",
       Gives().List("holds", S.hold)},
      {"GET", "/api/v1/me/fines", "me.fines", kPatronSelf, false, MyFines, "What I owe",
       Gives().List("fines", S.fine)},
      {"POST", "/api/v1/me/loans/{id}/renew", "me.loan.renew", kPatronSelf, true, RenewMyLoan,
       "Renew one of my loans", Gives().Ok(S.loan).Idempotent()},
      {"POST", "/api/v1/me/holds", "me.hold.place", kPatronSelf, true, PlaceMyHold,
       "Place a hold on an item for myself", Takes(S.item_barcode).Created(S.hold).Idempotent()},
      {"DELETE", "/api/v1/me/holds/{id}", "me.hold.cancel", kPatronSelf, true, CancelMyHold,
       "Cancel one of my holds", Gives().Ok(id_status)},
      {"POST", "/api/v1/catalogue/search", "catalogue.search", kAnyone, false, SearchCatalogue,
       "Search the catalogue by title, author or call number (the terms in the body, kept "
       "nowhere)",
       Takes(Object({Req("terms", Text(200))})).List("items", S.item)},
      {"GET", "/api/v1/me/history", "me.history", kPatronSelf, false, MyHistory,
       "My reading history, if I chose to keep one", Gives().List("history", S.returned_loan, "")},
      {"PUT", "/api/v1/me/history", "me.history.choice", kPatronSelf, true, SetMyHistoryOptIn,
       "Keep a reading history or not (turning it off deletes it)",
       Takes(S.keep_history).Ok(Object({Req("keep_history", flag)}))},
      {"DELETE", "/api/v1/me/history", "me.history.delete", kPatronSelf, true, DeleteMyHistory,
       "Delete my reading history now", Gives().Ok(Object({Req("history", Enum({"deleted"}))}))},
      {"GET", "/api/v1/me/export", "me.export", kPatronSelf, false, MyExport,
       "Everything the library holds about me, as JSON",
       Gives().Ok(Object({Req("patron", S.patron), Req("loans", Array(S.loan)),
                          Req("holds", Array(S.hold)), Req("fines", Array(S.fine)),
                          Req("history", Array(S.returned_loan)), Req("exported_at", when)}))},

      {"GET", "/api/v1/retention/schedule", "retention.schedule", kAnyUser, false,
       GetRetentionSchedule, "The retention schedule in force, with its signature",
       Gives().Ok(S.schedule_version)},
      {"GET", "/api/v1/retention/schedules", "retention.schedules", kAnyUser, false,
       RetentionHistory, "Every version of the retention schedule: who signed, when and why",
       Gives().List("versions", S.schedule_version, "version")},
      {"POST", "/api/v1/retention/schedules", "retention.schedule.sign", kDirector, true,
       SignRetentionSchedule, "Sign a new schedule version (the Director; needs the password)",
       Takes(S.sign_schedule).Created(S.schedule_version)},
      {"GET", "/api/v1/retention/plan", "retention.plan", kDirector | kBoard | kAdmin, false,
       GetRetentionPlan, "What a run would remove now: counts per category, held counts",
       Gives().Ok(S.retention_plan)},
      {"POST", "/api/v1/retention/plan", "retention.plan.draft", kDirector | kBoard | kAdmin, false,
       DraftRetentionPlan,
       "What a run would remove today under a draft schedule, before it is signed",
       Takes(S.draft_schedule).Ok(S.retention_plan)},
      {"POST", "/api/v1/retention/runs", "retention.run", kDirector | kAdmin, true, RetentionRunNow,
       "Run retention now (the server also runs it daily when closed)",
       Gives().Created(S.retention_run)},
      {"GET", "/api/v1/retention/runs", "retention.runs", kDirector | kBoard | kAdmin, false,
       RetentionRuns, "Past retention runs: counts, destroyed keys, schedule version",
       Gives().List("runs", S.retention_run)},
      {"GET", "/api/v1/retention/accounts", "retention.accounts", kDesk, false, AccountsToSettle,
       "Expired, inactive accounts kept only for items out or fines owed",
       Gives().List(
           "accounts",
           Object({Req("patron_id", Id()), Req("items_out", count), Req("fines_owed", count)}),
           "patron_id")},
      {"GET", "/api/v1/legal-holds", "legal_hold.list", kDirector | kCounsel | kBoard, false,
       ListLegalHolds, "Legal holds (standing; ?all=true for released too)",
       Gives().Query("all", Boolean(), "true: released holds too").List("holds", S.legal_hold)},
      {"POST", "/api/v1/legal-holds", "legal_hold.place", kDirector, true, PlaceLegalHold,
       "Place a legal hold on a patron's records (the Director; needs the password)",
       Takes(S.place_legal_hold).Created(S.legal_hold)},
      {"POST", "/api/v1/legal-holds/{id}/release", "legal_hold.release", kDirector, true,
       ReleaseLegalHold, "Release a legal hold (the Director; needs the password)",
       Takes(S.password_only).Ok(Object({Req("id", Id()), Req("released", flag)}))},

      // Requests for confidential information (policy §4): intake by any staff, every other
      // step by the Director or a designee under a valid appointment, advice by counsel.
      {"GET", "/api/v1/request-steps", "request.steps", kAnyUser, false, RequestSteps,
       "The request workflow's transition table: states, steps, who may take them",
       Gives().Ok(Object({Req("states", Array(text)), Req("steps", Array(S.case_step))}))},
      {"POST", "/api/v1/requests", "request.intake", kStaff | kDirector | kDesignee, true,
       RequestIntake, "Take a request in: who asks, what, under what process (staff)",
       Takes(CaseIntakeSchema())
           .Created(Object({Req("reference", text), Req("state", text), Req("script", text),
                            Req("release", text), Req("notified", text)}),
                    "The reference and what to say to the requester; nothing about any patron")
           .Idempotent()},
      {"GET", "/api/v1/requests", "request.list", kDirector | kDesignee | kCounsel, false,
       RequestList, "Requests (counsel: only the cases assigned to them)",
       Gives().List("requests", S.case_summary, "reference")},
      {"GET", "/api/v1/requests/{ref}", "request.view", kDirector | kDesignee | kCounsel, false,
       RequestView, "One request's file: intake, events, documents, advice, decisions",
       Gives().Ok(S.case_file)},
      {"POST", "/api/v1/requests/{ref}/acknowledge", "request.acknowledge", kDirector | kDesignee,
       true, RequestAcknowledge, "Acknowledge a referred request",
       Takes(StepBodySchema("acknowledge")).Ok(S.case_summary).Idempotent()},
      {"POST", "/api/v1/requests/{ref}/consult-counsel", "request.consult_counsel",
       kDirector | kDesignee, true, RequestConsultCounsel,
       "Assign counsel and record the consultation",
       Takes(StepBodySchema("consult_counsel")).Ok(S.case_summary).Idempotent()},
      {"POST", "/api/v1/requests/{ref}/decline", "request.decline", kDirector | kDesignee, true,
       RequestDecline, "Decline a request that came with no legal process",
       Takes(StepBodySchema("decline")).Ok(S.case_summary).Idempotent()},
      {"POST", "/api/v1/requests/{ref}/refer-to-counsel", "request.refer_to_counsel",
       kDirector | kDesignee, true, RequestReferToCounsel,
       "Refer the legal process presented to counsel for review",
       Takes(StepBodySchema("refer_to_counsel")).Ok(S.case_summary).Idempotent()},
      {"POST", "/api/v1/requests/{ref}/advice", "request.advise", kCounsel, true, RequestAdvise,
       "Record counsel's written advice (the case's counsel only)",
       Takes(StepBodySchema("advise")).Ok(S.case_summary).Idempotent()},
      {"POST", "/api/v1/requests/{ref}/decision", "request.decide", kDirector | kDesignee, true,
       RequestDecide, "Sign a release, partial release or refusal (needs the password)",
       Takes(StepBodySchema("decide")).Ok(S.case_summary).Idempotent()},
      {"POST", "/api/v1/requests/{ref}/decision/counts", "request.count_scope",
       kDirector | kDesignee, false, RequestScopeCounts,
       "How many records a decision's scope would release, per category, before signing "
       "(counts only; never beyond what was asked)",
       Takes(Object({Req("scope", DecisionScopeSchema())})).Ok(S.scope_counts)},
      {"POST", "/api/v1/requests/{ref}/disclosure", "request.prepare_disclosure",
       kDirector | kDesignee, true, RequestPrepareDisclosure,
       "Build and sign the disclosure package from the signed scope (needs the password)",
       Takes(StepBodySchema("prepare_disclosure")).Ok(S.case_summary).Idempotent()},
      {"GET", "/api/v1/requests/{ref}/disclosure/{file}", "request.disclosure.download",
       kDirector | kDesignee, false, RequestDisclosureFile,
       "A file of the disclosure package, checked against the signed decision",
       Gives()
           .Document("application/json", "disclosure.json, manifest.json or manifest.sig")
           .Document("text/html", "disclosure.html")},
      {"POST", "/api/v1/requests/{ref}/delivery", "request.deliver", kDirector | kDesignee, true,
       RequestDeliver, "Record the package's delivery: to whom, how, when",
       Takes(StepBodySchema("deliver")).Ok(S.case_summary).Idempotent()},
      {"POST", "/api/v1/requests/{ref}/receipt", "request.acknowledge_receipt",
       kDirector | kDesignee, true, RequestReceipt, "Record the recipient's acknowledgement",
       Takes(StepBodySchema("acknowledge_receipt")).Ok(S.case_summary).Idempotent()},
      {"POST", "/api/v1/requests/{ref}/media-response", "request.respond_media",
       kDirector | kDesignee, true, RequestMediaResponse,
       "Record the statement given to the press (discloses nothing)",
       Takes(StepBodySchema("respond_media")).Ok(S.case_summary).Idempotent()},
      {"POST", "/api/v1/requests/{ref}/warrant", "request.execute_warrant",
       kStaff | kDirector | kDesignee, true, RequestWarrant,
       "Record a search warrant executed on the spot: officers, time, what was taken",
       Takes(StepBodySchema("execute_warrant")).Ok(S.case_summary).Idempotent()},
      {"POST", "/api/v1/requests/{ref}/nondisclosure", "request.nondisclosure",
       kDirector | kDesignee, true, RequestNondisclosure,
       "Record a nondisclosure order's state, expiry and review date (lifting it sends held "
       "notices)",
       Takes(StepBodySchema("nondisclosure")).Ok(S.case_summary).Idempotent()},
      {"POST", "/api/v1/requests/{ref}/close", "request.close", kDirector | kDesignee, true,
       RequestClose, "Close a case (releasing its legal holds is the Director's call)",
       Takes(StepBodySchema("close")).Ok(S.case_summary).Idempotent()},
      {"GET", "/api/v1/requests/{ref}/letter", "request.letter", kDirector | kDesignee | kCounsel,
       false, RequestLetter, "The decline letter of a declined request (printable HTML)",
       Gives().Document("text/html", "The decline letter, printable")},
      {"POST", "/api/v1/requests/{ref}/documents", "request.document.add",
       kStaff | kDirector | kDesignee | kCounsel, true, RequestAddDocument,
       "Attach a scanned document (stored encrypted, SHA-256 recorded)",
       Takes(S.add_document)
           .Created(Object(
               {Req("id", Id()), Req("kind", text), Req("sha256", text), Req("bytes", count)}))
           .Limit(kDocumentBodyBytes)},
      {"GET", "/api/v1/requests/{ref}/documents/{id}", "request.document.read",
       kDirector | kDesignee | kCounsel, false, RequestReadDocument,
       "A document of the case, checked against its SHA-256",
       Gives().Document("application/octet-stream", "The document, as scanned")},

      {"GET", "/api/v1/inbox", "inbox.list", kAnyUser, false, InboxList,
       "My inbox: requests and steps that need me, and the deadlines my role must meet",
       Gives().Ok(S.inbox)},
      {"POST", "/api/v1/inbox/{id}/read", "inbox.read", kAnyUser, true, InboxRead,
       "Mark an inbox item read", Gives().Ok(Object({Req("id", Id()), Req("read", flag)}))},
      {"GET", "/api/v1/appointments", "appointment.list", kDirector | kDesignee | kBoard, false,
       AppointmentList, "Designee appointments, with their signed statements",
       Gives().List("appointments", S.appointment)},
      {"POST", "/api/v1/appointments", "appointment.sign", kDirector, true, AppointmentSign,
       "Appoint a designee in writing (the Director; needs the password)",
       Takes(S.appoint).Created(S.appointment)},
      {"POST", "/api/v1/appointments/{id}/revoke", "appointment.revoke", kDirector, true,
       AppointmentRevoke, "Revoke an appointment (the Director; needs the password)",
       Takes(S.password_only).Ok(Object({Req("id", Id()), Req("revoked", flag)}))},
      {"GET", "/api/v1/absences", "absence.list", kDirector | kDesignee | kBoard, false,
       AbsenceList, "The Director's recorded absences", Gives().List("absences", S.absence)},
      {"POST", "/api/v1/absences", "absence.record", kDirector, true, AbsenceRecord,
       "Record an absence of the Director", Takes(S.absence_record).Created(S.absence)},
      {"GET", "/api/v1/me/permissions", "me.permissions", kPatronSelf, false, MyPermissions,
       "My written permissions to release my records", Gives().List("permissions", S.permission)},
      {"POST", "/api/v1/me/permissions", "me.permission.grant", kPatronSelf, true,
       GrantMyPermission, "Sign a permission to release my records (needs the PIN again)",
       Takes(S.grant_permission).Created(S.permission)},
      {"POST", "/api/v1/me/permissions/{id}/revoke", "me.permission.revoke", kPatronSelf, true,
       RevokeMyPermission, "Revoke one of my permissions",
       Gives().Ok(Object({Req("id", Id()), Req("revoked", flag)}))},
      {"GET", "/api/v1/patrons/{id}/permissions", "patron.permissions", kDesk, false,
       PatronPermissions, "A patron's written permissions",
       Gives().List("permissions", S.permission)},
      {"POST", "/api/v1/patrons/{id}/permissions", "patron.permission.record", kDesk, true,
       RecordPaperPermission, "Record a permission the patron signed on paper, with its scan",
       Takes(S.paper_permission).Created(S.permission).Limit(kDocumentBodyBytes)},
      {"GET", "/api/v1/permissions/{id}/scan", "permission.scan", kDirector | kDesignee, false,
       PermissionScan, "The scan of a paper permission, to check before confirming it",
       Gives().Ok(
           Object({Req("id", Id()), Req("scan_base64", Base64(0)), Req("scan_sha256", text)}))},
      {"POST", "/api/v1/permissions/{id}/confirm", "permission.confirm", kDirector | kDesignee,
       true, ConfirmPermission,
       "Confirm a paper permission against its scan (until then it is no basis for release)",
       Takes(S.confirm_permission).Ok(Object({Req("id", Id()), Req("confirmed", flag)}))},

      // The Board of Trustees (policy §5, §6): review of every decision, amendments by vote.
      {"GET", "/api/v1/board/decisions", "board.decisions", kBoard, false, BoardDecisions,
       "Every decision the Board may review: releases, refusals, declines, retention schedules, "
       "appointments, with any ruling",
       Gives().List("decisions", S.reviewable, "")},
      {"GET", "/api/v1/board/reviews", "board.review.list", kBoard, false, BoardReviewList,
       "The Board's reviews, open and ruled", Gives().List("reviews", S.review)},
      {"POST", "/api/v1/board/reviews", "board.review.open", kBoard, true, BoardReviewOpen,
       "Open a review of a decision, decline, retention schedule or appointment",
       Takes(S.open_review).Created(S.review).Idempotent()},
      {"GET", "/api/v1/board/reviews/{id}", "board.review.view", kBoard, false, BoardReviewView,
       "One review with its reason, comments and ruling", Gives().Ok(S.review)},
      {"POST", "/api/v1/board/reviews/{id}/comments", "board.review.comment", kBoard, true,
       BoardReviewComment, "Comment on an open review", Takes(S.comment).Created(S.review)},
      {"POST", "/api/v1/board/reviews/{id}/ruling", "board.review.rule", kBoard, true,
       BoardReviewRule, "Rule on a review: affirm, reverse or comment (needs the password)",
       Takes(S.rule).Ok(S.review).Idempotent()},
      {"GET", "/api/v1/policy/proposals", "policy.proposal.list", kBoard, false, ProposalList,
       "Proposed amendments and re-endorsements, with their ballots",
       Gives().List("proposals", S.proposal)},
      {"POST", "/api/v1/policy/proposals", "policy.proposal.create", kBoard, true, ProposalCreate,
       "Propose an amended policy text (or a re-endorsement)",
       Takes(S.propose).Created(S.proposal).Limit(kPolicyBodyBytes)},
      {"GET", "/api/v1/policy/proposals/{id}", "policy.proposal.view", kBoard, false, ProposalView,
       "One proposal with its text and ballots", Gives().Ok(S.proposal)},
      {"POST", "/api/v1/policy/proposals/{id}/ballots", "policy.proposal.vote", kBoard, true,
       ProposalVote, "Cast a signed ballot: for, against or abstain (needs the password)",
       Takes(S.vote).Ok(S.proposal).Idempotent()},
      {"POST", "/api/v1/policy/proposals/{id}/close", "policy.proposal.close", kBoard, true,
       ProposalClose,
       "Close the vote: adopted by a majority of those voting, in force at once (needs the "
       "password)",
       Takes(S.close_vote).Ok(S.proposal).Idempotent()},
      {"GET", "/api/v1/me/notices", "me.notices", kPatronSelf, false, MyNotices,
       "Notices that records about me were released",
       Gives().List("notices",
                    Object({Req("reference", text), Req("sent_at", Nullable(Timestamp())),
                            Req("text", text)}),
                    "")},

      {"GET", "/api/v1/audit/entries", "audit.entries", kDirector | kBoard, false, AuditEntries,
       "Audit entries by time, actor, object or case, paged by sequence number",
       Gives()
           .Query("from", Timestamp(), "Entries at or after this time")
           .Query("to", Timestamp(), "Entries before this time")
           .Query("actor", Text(200), "Entries by this actor (user/3, patron/12, operator)")
           .Query("object_type", Text(64), "Entries about this kind of record")
           .Query("object_id", Text(200), "Entries about this record")
           .Query("case", Text(40), "Entries of this request")
           .List("entries", S.audit_entry, "seq")},
      {"GET", "/api/v1/audit/head", "audit.head", kDirector | kBoard, false, AuditHead,
       "Sign and return the current tree head",
       Gives().Ok(Object({Req("size", count), Req("root", text), Req("checkpoint", text),
                          Req("verifier_key", text)}))},
      {"GET", "/api/v1/audit/proof", "audit.proof", kDirector | kBoard, false, AuditProof,
       "Inclusion (index) and/or consistency (from) proof for a tree size",
       Gives()
           .Query("size", count, "The tree size the proofs are for", true)
           .Query("index", count, "An entry (0-based) to prove included")
           .Query("from", count, "An earlier size to prove consistent")
           .Ok(Object({Req("size", count), Opt("index", count), Opt("inclusion_path", Array(text)),
                       Opt("from", count), Opt("consistency_proof", Array(text))}))},
      {"GET", "/api/v1/audit/checkpoint", "audit.checkpoint", kAnyone, false, AuditCheckpoint,
       "The latest signed tree head (public, for witnesses)",
       Gives().Ok(Object({Req("size", count), Req("root", text), Req("checkpoint", text)}))},
      {"GET", "/api/v1/audit/consistency", "audit.consistency", kAnyone, false, AuditConsistency,
       "Consistency proof between two tree sizes up to the latest signed head (public)",
       Gives()
           .Query("from", count, "The earlier tree size", true)
           .Query("to", count, "The later tree size", true)
           .Ok(Object(
               {Req("from", count), Req("to", count), Req("consistency_proof", Array(text))}))},
  };
  }();
  return routes;
}

const Route* FindRoute(std::string_view method, std::string_view path,
                       std::vector<std::string>* params, bool* path_known) {
  if (path_known != nullptr) *path_known = false;
  for (const Route& r : RouteTable()) {
    if (!MatchRoute(r.pattern, path, params)) continue;
    if (path_known != nullptr) *path_known = true;
    if (r.method == method) return &r;
  }
  return nullptr;
}

bool MatchRoute(std::string_view pattern, std::string_view path,
                std::vector<std::string>* params) {
  params->clear();
  size_t pi = 0, si = 0;
  while (pi < pattern.size() && si < path.size()) {
    if (pattern[pi] == '{') {
      size_t close = pattern.find('}', pi);
      size_t end = path.find('/', si);
      if (end == std::string_view::npos) end = path.size();
      if (end == si) return false;  // empty segment
      params->emplace_back(path.substr(si, end - si));
      pi = close + 1;
      si = end;
      continue;
    }
    if (pattern[pi] != path[si]) return false;
    ++pi;
    ++si;
  }
  return pi == pattern.size() && si == path.size();
}

}  // namespace carrel
