#include "api/schemas.h"

#include <map>
#include <nlohmann/json.hpp>

#include "carrel/requests.h"
#include "requests/fields.h"

namespace carrel {

using namespace schema;
using ordered = nlohmann::ordered_json;

namespace {

// A username as accounts allow one: 3 to 32 of a-z, 0-9, '.', '_' and '-'.
bool IsUsername(std::string_view s) {
  if (s.size() < 3 || s.size() > 32) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) {
      return false;
    }
  }
  return true;
}

bool IsReference(std::string_view s) {
  // R-<year>-<number>: what Requests::Intake hands out.
  if (s.size() < 8 || s.size() > 24 || s.substr(0, 2) != "R-") return false;
  for (char c : s.substr(2)) {
    if (!(c == '-' || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

ApiSchemas Build() {
  ApiSchemas s;
  SchemaRef when = Timestamp();
  SchemaRef maybe_when = Nullable(Timestamp());
  SchemaRef date = CalendarDate();
  SchemaRef maybe_date = Nullable(CalendarDate());
  SchemaRef text = Text(0, 0);  // an answer's text: any length, may be empty
  SchemaRef count = Integer(0);
  SchemaRef id = Id();
  SchemaRef maybe_id = Integer(0);  // 0 where there is none
  SchemaRef flag = Boolean();
  SchemaRef texts = Array(text);
  SchemaRef base64 = Base64(0);
  SchemaRef role = Enum({"staff", "director", "counsel", "board", "admin", "patron", "kiosk"});

  s.password = Described(Text(1024), "The account's password, asked again for a signed step");
  s.card = Example(Text(64), "21000000000001");
  s.item_code = Example(Text(64), "31000000000001");
  s.reference = Example(Pattern(Text(24), "^R-[0-9]{4}-[0-9]{4,}$", IsReference,
                                "must be a request reference, R-YYYY-NNNN"),
                        "R-2026-0001");
  SchemaRef pin = Text(12);

  // ---- answers ---------------------------------------------------------------------------

  SchemaRef field_error = Named(
      "FieldError",
      Object({Opt("pointer", Text(0, 0)), Opt("parameter", Text(0, 0)), Req("detail", text)}),
      "One refused field: a JSON Pointer into the body, or the name of a path or query "
      "parameter, and why");
  s.problem = Named("Problem",
                    Object({Req("type", text), Req("title", text), Req("status", Integer(100, 599)),
                            Req("detail", text), Req("instance", text),
                            Opt("errors", Array(field_error))}),
                    "Problem details (RFC 9457); `type` names the kind of refusal");
  s.patron = Named("Patron",
                   Object({Req("id", id), Req("card_barcode", text), Req("name", text),
                           Req("email", text), Req("phone", text), Req("postal_address", text),
                           Req("juvenile", flag), Req("expires_on", date),
                           Req("history_opt_in", flag), Req("last_activity_on", date)}),
                   "A patron record (decrypted for the caller; every read is audited)");
  s.loan = Named("Loan",
                 Object({Req("id", id), Req("item_id", id), Req("patron_id", id),
                         Req("checked_out_on", date), Req("due_on", date),
                         Req("renewals", count), Req("item_barcode", text), Req("title", text),
                         Req("author", text)}),
                 "A loan that is out");
  s.hold = Named("Hold",
                 Object({Req("id", id), Req("item_id", id),
                         Req("status", Enum({"waiting", "ready", "fulfilled", "cancelled",
                                             "expired"})),
                         Req("placed_at", when), Req("ready_until", maybe_date),
                         Req("item_barcode", text), Req("title", text), Req("author", text)}));
  s.fine = Named("Fine", Object({Req("id", id), Req("amount_cents", count),
                                 Req("accrued_on", date),
                                 Req("status", Enum({"owed", "paid", "waived"}))}));
  s.item = Named("Item",
                 Object({Req("id", id), Req("barcode", text), Req("title", text),
                         Req("author", text), Req("call_number", text), Req("item_type", text),
                         Req("status", Enum({"available", "on_loan", "on_hold_shelf", "missing",
                                             "withdrawn"}))}));
  s.user = Named("User", Object({Req("id", id), Req("username", text), Req("role", role),
                                 Req("disabled", flag), Req("pending", flag),
                                 Req("must_change_password", flag), Opt("approved_by", text),
                                 Opt("location", text)}));
  s.session = Named(
      "Session",
      Object({Req("token", text), Req("csrf_token", text), Req("expires_at", when),
              Req("role", role), Req("id", id), Req("must_change_password", flag)}),
      "A new session: the bearer token (also set as an HttpOnly cookie) and the CSRF token a "
      "browser sends with every change");
  s.principal = Object({Req("kind", Enum({"patron", "user"})), Req("id", id), Req("role", role),
                        Req("username", text), Req("must_change_password", flag),
                        Req("csrf_token", text),
                        Req("desk_idle_minutes", Integer(1, 240)),
                        Req("designee", Described(flag, "A member of staff acting now as the "
                                                        "Director's designee"))});
  s.week_hours = Map(text);
  s.health = Object({Req("status", Enum({"ok"})), Req("version", text)});
  s.system_status = Named(
      "SystemStatus",
      Object({Req("version", text), Req("library", text), Req("now", when),
              Req("audit", Object({Req("size", count), Req("signed_size", count),
                                   Req("signed_at", maybe_when)})),
              Req("last_retention_run",
                  Nullable(Object({Req("id", id), Req("day", date), Req("started_at", when),
                                   Req("finished_at", maybe_when)}))),
              Req("last_backup", maybe_when), Req("last_keyring_backup", maybe_when),
              Req("disk", Object({Req("free_bytes", count), Req("total_bytes", count),
                                  Req("data_bytes", count)}))}),
      "How the server stands: the audit log's latest signed head, the last retention run, the "
      "last backups and disk space; nothing about any patron");
  s.scope_counts = Named(
      "ScopeCounts",
      Object({Req("patrons", count), Req("records", count), Req("counts", Map(count))}),
      "How many records a decision's scope would release, per category: counts only");
  s.hours = Object({Req("library", text), Req("address", Array(text)),
                    Req("time_zone", text), Req("now", when),
                    Req("today", date), Req("library_open", flag), Req("cafe_open", flag),
                    Req("hours", Object({Req("library", s.week_hours),
                                         Req("cafe", s.week_hours)})),
                    Req("closed_dates", Array(date)), Req("next_opening", maybe_when)});
  s.policy = Object(
      {Req("library", text), Req("title", text), Req("version", text), Req("text", text),
       Req("sha256", text),
       Req("history", Array(Object({Req("event", text), Req("date", date), Req("version", text),
                                    Req("note", text)}))),
       Req("statute", Object({Req("citation", text), Req("summary", text)}))});
  s.policy_version = Named(
      "PolicyVersion",
      Object({Req("label", text), Req("event", Enum({"adopted", "amended", "re-endorsed"})),
              Req("effective_on", date), Req("title", text), Req("text_on_file", flag),
              Req("sha256", text), Req("note", text), Req("proposal", maybe_id),
              Req("vote", Described(Any(), "The Board's recorded vote, where it adopted the "
                                           "version here; null before")),
              Req("recorded_at", when), Opt("text", Nullable(text))}));
  s.policy_changes = Object(
      {Req("version", text), Req("lines_added", count), Req("lines_removed", count),
       Req("unchanged", flag), Req("diff", text),
       Req("lines", Array(Object({Req("op", Enum({"+", "-", " "})), Req("text", text)})))});
  s.ruling = Named("BoardRuling",
                   Nullable(Object({Req("review", id),
                                    Req("outcome", Enum({"affirm", "reverse", "comment"})),
                                    Req("decided_at", when)})),
                   "The Board's ruling on a decision, or null when none");
  SchemaRef ballot = Object({Req("member", text), Req("member_id", id),
                             Req("vote", Enum({"for", "against", "abstain"})),
                             Req("cast_at", when), Req("statement", text),
                             Req("signature", base64)});
  s.proposal = Named(
      "PolicyProposal",
      Object({Req("id", id), Req("event", text), Req("title", text), Req("text", text),
              Req("summary", text), Req("proposed_by", id), Req("proposed_at", when),
              Req("state", text), Req("meeting_date", maybe_date), Req("closed_at", maybe_when),
              Req("version", text), Req("ballots", Array(ballot))}));
  s.review = Named(
      "BoardReview",
      Object({Req("id", id), Req("subject", text), Req("subject_id", id), Req("case", text),
              Req("opened_by", id), Req("opened_at", when), Req("reason", text),
              Req("outcome", Nullable(Enum({"affirm", "reverse", "comment"}))),
              Req("explanation", text), Req("statement", text), Req("signature", text),
              Req("decided_by", maybe_id), Req("decided_at", maybe_when),
              Req("comments", Array(Object({Req("id", id), Req("author", text),
                                            Req("at", when), Req("text", text)})))}));
  s.reviewable = Object({Req("subject", text), Req("subject_id", id), Req("case", text),
                         Req("what", text), Req("at", when), Req("by", maybe_id),
                         Req("policy_version", text), Req("detail", Any()),
                         Req("open_review", maybe_id), Req("board_ruling", s.ruling)});
  SchemaRef rule_row = Object({Req("category", text), Req("trigger", text),
                               Req("description", text), Req("days", count)});
  s.schedule_version = Named(
      "RetentionScheduleVersion",
      Object({Req("version", id), Req("rules", Array(rule_row)), Req("document", text),
              Req("signed_by", text), Req("reason", text), Req("signed_at", when),
              Req("public_key", base64), Req("signature", base64),
              Req("board_ruling", s.ruling)}));
  s.retention_count = Object({Req("category", text), Req("days", count), Req("remove", count),
                              Req("held", count), Req("listed", count), Req("keys", count)});
  s.retention_plan = Named(
      "RetentionPlan",
      Object({Req("schedule_version", id), Req("day", date),
              Req("counts", Array(s.retention_count)), Req("awaiting_reclaim", count)}),
      "What a run would remove today, per category: counts only");
  s.retention_run = Named(
      "RetentionRun",
      Object({Req("id", id), Req("schedule_version", id), Req("day", date),
              Req("started_at", when), Req("finished_at", maybe_when),
              Req("counts", Array(s.retention_count)), Req("destroyed_keys", texts),
              Req("seconds", Number())}));
  s.legal_hold = Named(
      "LegalHold",
      Object({Req("id", id), Req("patron_id", id), Req("from", maybe_date), Req("to", maybe_date),
              Req("reason", text), Req("case_id", text), Req("placed_at", when),
              Req("placed_by", text), Req("released", flag)}));
  s.case_summary = Named(
      "CaseSummary",
      Object({Req("reference", text), Req("type", text), Req("state", text), Req("process", text),
              Req("outcome", text), Req("received_at", when), Req("counsel_id", maybe_id),
              Req("nondisclosure_order", flag), Req("return_date", maybe_date)}),
      "A request for records: where it stands");
  SchemaRef scope = CaseScopeSchema();
  SchemaRef decision = Object(
      {Req("id", id), Req("outcome", text), Req("basis", text), Req("scope", scope),
       Req("advice_id", maybe_id), Req("permission_id", maybe_id), Req("policy_version", text),
       Req("signed_by", id), Req("appointment_id", maybe_id), Req("signed_at", when),
       Req("document", text), Req("public_key", base64), Req("signature", base64),
       Req("board_ruling", s.ruling)});
  s.case_file = Named(
      "CaseFile",
      Extend(s.case_summary,
             {Req("requester", Object({Req("agency", text), Req("name", text), Req("badge", text),
                                       Req("contact", text), Req("callback_number", text),
                                       Req("callback_source", text),
                                       Req("arrived_by", text)})),
              Req("asked", Object({Req("text", text), Req("card_barcodes", texts),
                                   Req("categories", texts), Req("from", maybe_date),
                                   Req("to", maybe_date)})),
              Req("legal_process",
                  Object({Req("kind", text), Req("issuing_authority", text),
                          Req("date", maybe_date), Req("return_date", maybe_date),
                          Req("nondisclosure_order", flag),
                          Req("nondisclosure_expires", maybe_date),
                          Req("nondisclosure_review", maybe_date)})),
              Req("consultation", text), Req("media_statement", text),
              Req("warrant", Any()),
              Req("events", Array(Object({Req("at", when), Req("actor", text),
                                          Req("action", text), Req("from", text),
                                          Req("to", text), Req("appointment", maybe_id),
                                          Req("policy_version", text)}))),
              Req("documents", Array(Object({Req("id", id), Req("kind", text),
                                             Req("filename", text), Req("sha256", text),
                                             Req("bytes", count)}))),
              Req("advice", Array(Object({Req("id", id), Req("counsel_id", id), Req("at", when),
                                          Req("proper_form", flag), Req("enforceable", flag),
                                          Req("court_order_compels", flag),
                                          Req("recommendation", text),
                                          Req("recommended_scope", Nullable(scope)),
                                          Req("advice", text)}))),
              Req("decisions", Array(decision)), Req("decline_board_ruling", s.ruling),
              Req("patron_notices",
                  Array(Object({Req("reference", text), Req("patron", id), Req("state", text),
                                Req("queued_at", when), Req("sent_at", maybe_when)}))),
              Req("disclosure",
                  Nullable(Object({Req("id", id), Req("decision_id", id),
                                   Req("prepared_at", when), Req("signed_by", id),
                                   Req("delivered_to", text), Req("delivered_how", text),
                                   Req("delivered_at", maybe_when),
                                   Req("acknowledged_at", maybe_when),
                                   Req("files", texts)})))}),
      "One request's whole file");
  s.appointment = Named(
      "Appointment",
      Object({Req("id", id), Req("designee_id", id), Req("scope", Enum({"standing", "absence"})),
              Req("valid_from", when), Req("valid_to", when), Req("signed_by", id),
              Req("statement", text), Req("signature", base64), Req("revoked_at", maybe_when),
              Req("board_ruling", s.ruling)}),
      "A designee's written appointment, signed by the Director");
  s.absence = Object({Req("id", id), Req("from", when), Req("to", when),
                      Opt("recorded_by", text)});
  s.permission = Named(
      "Permission",
      Object({Req("id", id), Req("recipient", text), Req("categories", texts),
              Req("from", maybe_date), Req("to", maybe_date), Req("valid_until", date),
              Req("method", Enum({"portal", "paper"})), Req("scan_sha256", text),
              Req("signed_at", when), Req("revoked_at", maybe_when),
              Req("confirmed_at", maybe_when), Req("basis_for_release", flag)}),
      "A patron's written permission to release their records to someone");
  s.inbox = Object(
      {Req("items", Array(Object({Req("id", id), Req("case", text), Req("kind", text),
                                  Req("created_at", when), Req("read", flag)}))),
       Req("deadlines", Array(Object({Req("kind", text), Req("case", text),
                                      Req("subject_id", maybe_id), Req("due", text),
                                      Req("overdue", flag)})))});
  s.case_step = Object({Req("action", text), Req("from", texts), Req("to", text),
                        Req("types", texts), Req("who", texts), Req("signed", flag),
                        Req("precondition", text)});
  s.audit_entry = Named(
      "AuditEntry",
      Object({Req("seq", count), Req("time", when), Req("actor_id", text), Req("actor_role", text),
              Req("action", text), Req("object_type", text), Req("object_id", text),
              Req("case_id", text), Req("policy_version", text), Req("details", Any()),
              Req("entry", Described(base64, "The entry's canonical bytes (its leaf hash is "
                                             "SHA-256 of 0x00 and these), for verifying it "
                                             "against a signed checkpoint"))}),
      "One entry of the tamper-evident log: who did what to which record, never its content");
  SchemaRef counts = Map(count);
  s.transparency = Named(
      "TransparencyReport",
      Object({Req("library", text), Req("policy_version", text), Req("generated_at", when),
              Req("band_width", count), Req("under_nondisclosure", text), Req("notes", text),
              Req("years", Array(Object({Req("year", Integer(1900, 9999)),
                                         Req("requests", count), Req("by_type", counts),
                                         Req("by_process", counts), Req("by_outcome", counts),
                                         Req("board_reversals", count),
                                         Req("in_bands", Map(text))})))}),
      "Requests per year by type, process and outcome; national security counts in bands");
  s.returned_loan = Object({Req("item_id", id), Req("title", text), Req("author", text),
                            Req("checked_out_on", date), Req("returned_on", date)});
  s.signing_key = Object({Req("user_id", id), Req("username", text), Req("role", role),
                          Req("public_key", base64), Req("disabled", flag)});
  s.status_text = Object({Req("status", text)});
  s.id_done = Object({Req("id", id)});

  // ---- request bodies --------------------------------------------------------------------

  s.empty = Object({});

  // ---- kiosks ----------------------------------------------------------------------------

  SchemaRef kiosk_pin = Described(Digits(1, 12), "The patron's PIN, as typed at the kiosk");
  s.kiosk_card = Object({Req("card_barcode", s.card), Opt("pin", kiosk_pin),
                         Opt("lists", Described(Boolean(),
                                                "Also the items out, the holds and "
                                                "the fees owed, one by one"))});
  s.kiosk_card_item = Object(
      {Req("card_barcode", s.card), Req("pin", kiosk_pin), Req("item_barcode", s.item_code)});
  s.kiosk_pay = Object({Req("card_barcode", s.card), Req("pin", kiosk_pin),
                        Req("amount_cents", Integer(1, 100000000)),
                        Opt("fine_id", Described(Id(), "One fee; without it, everything owed"))});
  s.kiosk_status = Named(
      "KioskStatus",
      Object({Req("library", text), Req("location", text), Req("library_open", flag),
              Req("now", when), Req("renewal_limit", count)}),
      "What a kiosk is told when it starts: where it stands, and whether the library is open");
  SchemaRef kiosk_item_line = Object(
      {Req("item_barcode", text), Req("title", text), Req("due_on", date), Req("overdue", flag)});
  s.kiosk_patron = Named(
      "KioskPatron",
      Object({Req("valid_patron", flag), Req("pin_accepted", flag), Req("name", text),
              Req("expired", flag), Req("loans", count), Req("overdue", count),
              Req("holds_ready", count), Req("holds_waiting", count), Req("fines_owed", count),
              Req("owed_cents", count), Opt("loan_list", Array(kiosk_item_line)),
              Opt("hold_list", Array(Object({Req("item_barcode", text), Req("title", text),
                                             Req("ready", flag)}))),
              Opt("fine_list", Array(Object({Req("id", id), Req("amount_cents", count)})))}),
      "A patron as a kiosk sees them: counts, and with the PIN accepted the name the profile "
      "allows; never an email, phone, address or birth date");
  s.kiosk_item = Object(
      {Req("item_barcode", text), Req("title", text), Req("call_number", text),
       Req("status", Enum({"available", "on_loan", "on_hold_shelf", "missing", "withdrawn"})),
       Req("due_on", maybe_date), Req("holds_waiting", count)});
  s.kiosk_loan = Extend(kiosk_item_line, {Req("renewal", flag)});
  s.kiosk_checkin = Object({Req("item_barcode", text), Req("title", text), Req("call_number", text),
                            Req("returned_on", date), Req("to_hold_shelf", flag),
                            Req("sort_bin", Enum({"hold-shelf", "reshelve"}))});
  s.kiosk_renew_all = Object(
      {Req("renewed", Array(kiosk_item_line)),
       Req("not_renewed",
           Array(Object({Req("item_barcode", text), Req("title", text), Req("reason", text)})))});
  s.kiosk_fees = Object({Req("paid", Array(id)), Req("paid_cents", count)});
  s.kiosk_hold = Object({Req("item_barcode", text), Req("title", text), Req("placed", flag)});
  s.login = Named(
      "Login",
      OneOf({Object({Req("username", Example(Text(64), "desk")), Req("password", Text(1024))}),
             Object({Req("card_barcode", s.card), Req("pin", Example(pin, "246810"))})}),
      "Staff log in with username and password; patrons with card barcode and PIN");
  s.change_password = Object({Req("password", Text(1024)), Req("new_password", Text(1024, 10))});
  s.sign_statement = Object({Req("statement", Text(16384)), Req("password", s.password)});
  s.signature = Object({Req("signature", base64), Req("public_key", base64),
                        Req("algorithm", Enum({"Ed25519"})), Req("signed_context", text)});
  s.create_user =
      Object({Req("username", Pattern(Text(32, 3), "^[a-z0-9._-]{3,32}$", IsUsername,
                                      "must be 3 to 32 of a-z, 0-9, '.', '_' and '-'")),
              Req("role", Enum({"staff", "director", "counsel", "board", "admin", "kiosk"})),
              Req("password", Described(Text(1024, 10),
                                        "A first password, at least 10 characters, "
                                        "good only for choosing one's own")),
              Opt("location", Described(Text(80),
                                        "Kiosks only, and required for them: where the "
                                        "kiosk stands, e.g. \"Main floor self-check 1\""))});
  s.password_only = Object({Req("password", s.password)});
  s.new_patron = Named(
      "NewPatron",
      Example(Object({Req("card_barcode", s.card), Req("name", Text(200)), Opt("email", Email()),
                      Opt("phone", Text(40)), Opt("postal_address", Text(400)),
                      Opt("juvenile", Boolean()), Req("expires_on", CalendarDate()),
                      Opt("history_opt_in", Boolean())}),
              ordered{{"card_barcode", "21000000009999"},
                      {"name", "A. Reader"},
                      {"email", "reader@example.org"},
                      {"expires_on", "2029-12-31"}}));
  s.patron_search = OneTermOf(Object({Opt("card_barcode", s.card), Opt("email", Text(254)),
                                      Opt("name", Text(200))}),
                              {"card_barcode", "email", "name"});
  s.patron_changes = Object({Opt("name", Text(200)), Opt("email", Text(254, 0)),
                             Opt("phone", Text(40, 0)), Opt("postal_address", Text(400, 0)),
                             Opt("juvenile", Boolean()), Opt("expires_on", CalendarDate())});
  s.pin_reset_finish = Object({Req("card_barcode", s.card), Req("code", Text(32)),
                               Req("new_pin", pin)});
  s.new_item = Object({Req("barcode", s.item_code), Req("title", Text(1000)),
                       Opt("author", Text(1000)), Opt("call_number", Text(100)),
                       Req("item_type", Text(32))});
  s.item_changes = Object({Opt("title", Text(1000)), Opt("author", Text(1000, 0)),
                           Opt("call_number", Text(100, 0)), Opt("item_type", Text(32))});
  s.checkout = Named("Checkout",
                     Object({Req("item_barcode", s.item_code), Req("card_barcode", s.card)}),
                     "An item to lend, and the card of the patron who borrows it");
  s.item_barcode = Object({Req("item_barcode", s.item_code)});
  s.place_hold = Object({Req("item_barcode", s.item_code), Req("card_barcode", s.card)});
  s.waive = Object({Req("reason", Enum({"staff_discretion", "return_dispute", "hardship",
                                        "system_error"}))});
  s.computer_session = Object({Req("card_barcode", s.card), Req("station", Text(32))});
  s.subscribe = Object({Req("email", Email())});
  s.token = Object({Req("token", Text(128))});
  s.change_pin = Object({Req("current_pin", pin), Req("new_pin", pin)});
  s.keep_history = Object({Req("keep_history", Boolean())});
  SchemaRef schedule_body = Named(
      "RetentionScheduleDraft",
      Object({Req("format", Enum({"carrel-retention-schedule/1"})),
              Req("rules", Array(Object({Req("category", Text(64)),
                                         Req("days", Integer(0, 36500)),
                                         Opt("trigger", Text(400, 0)),
                                         Opt("description", Text(2000, 0))}),
                                 64))}),
      "A retention schedule: how many days each category of record is kept");
  s.sign_schedule = Object(
      {Req("schedule", schedule_body), Req("reason", Text(2000)), Req("password", s.password)});
  s.draft_schedule = Object({Req("schedule", schedule_body)});
  s.place_legal_hold = Object({Req("patron_id", Id()), Opt("from", CalendarDate()), Opt("to", CalendarDate()),
                               Req("reason", Text(2000)), Req("password", s.password)});
  s.appoint = Object({Req("designee_id", Id()), Req("scope", Enum({"standing", "absence"})),
                      Req("valid_from", Timestamp()), Req("valid_to", Timestamp()),
                      Req("password", s.password)});
  s.absence_record = Object({Req("from", Timestamp()), Req("to", Timestamp())});
  s.grant_permission = Extend(PermissionTermsSchema(), {Req("pin", pin)});
  s.paper_permission = Extend(PermissionTermsSchema(), {Req("scan_base64", Base64(0))});
  s.confirm_permission = Object({Req("scan_sha256", Text(64, 64))});
  s.add_document = Object({Req("kind", Text(40)), Req("filename", Text(200)),
                           Req("content_base64", Base64(0))});
  s.propose = Object({Opt("event", Enum({"amended", "re-endorsed"})), Req("title", Text(300)),
                      Req("text", Text(256 * 1024)), Req("summary", Text(4000))});
  s.vote = Object({Req("vote", Enum({"for", "against", "abstain"})), Req("password", s.password)});
  s.close_vote = Object({Req("meeting_date", CalendarDate()), Req("password", s.password)});
  s.open_review = Object({Req("subject", Enum({"decision", "decline", "retention_schedule",
                                               "appointment"})),
                          Req("subject_id", Id()), Opt("reason", Text(8000))});
  s.comment = Object({Req("text", Text(8000))});
  s.rule = Object({Req("outcome", Enum({"affirm", "reverse", "comment"})),
                   Req("explanation", Text(8000)), Req("password", s.password)});
  return s;
}

}  // namespace

const ApiSchemas& Schemas() {
  static const ApiSchemas* schemas = new ApiSchemas(Build());
  return *schemas;
}

SchemaRef StepBodySchema(std::string_view action) {
  static const auto* bodies = [] {
    auto* out = new std::map<std::string, SchemaRef, std::less<>>();
    for (const CaseTransition& t : CaseTransitions()) {
      SchemaRef payload = StepPayloadSchema(t.action);
      if (payload == nullptr || out->count(t.action) != 0) continue;
      (*out)[std::string(t.action)] =
          t.signed_step ? Extend(payload, {Req("password", Schemas().password)}) : payload;
    }
    return out;
  }();
  auto it = bodies->find(action);
  return it == bodies->end() ? nullptr : it->second;
}

SchemaRef ListOf(std::string_view key, SchemaRef items) {
  return Object({Req(key, Array(items)),
                 Req("next", Nullable(Described(
                                 Text(0, 0), "The path of the next page, or null on the last")))});
}

SchemaRef PathParamSchema(std::string_view name) {
  static const auto* params = new std::map<std::string, SchemaRef, std::less<>>{
      {"id", Id()},
      {"ref", Schemas().reference},
      {"barcode", Schemas().item_code},
      {"label", Text(40)},
      {"file", Enum({"disclosure.json", "disclosure.html", "manifest.json", "manifest.sig"})},
  };
  auto it = params->find(name);
  return it == params->end() ? Text(200) : it->second;
}

}  // namespace carrel
