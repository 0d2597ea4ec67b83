#include "sip2/session.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

#include "carrel/encoding.h"
#include "util/json_schema.h"

namespace carrel::sip2 {
namespace {

using json = nlohmann::json;

// The messages carrel answers, in the order of SIP2's "supported messages" field (BX): patron
// status, checkout, checkin, block patron, SC status, resend, login, patron information, end
// patron session, fee paid, item information, item status update, patron enable, hold, renew,
// renew all.
constexpr char kSupported[] = "YYYNYYYYYYYNNYYY";

// "12.50" from cents.
std::string Money(int64_t cents) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%02lld", static_cast<long long>(cents / 100),
                static_cast<long long>(cents % 100));
  return buf;
}

// Cents from SIP2's fee amount ("12.5", "12.50", "12"); -1 when it is not an amount.
int64_t Cents(std::string_view amount) {
  size_t dot = amount.find('.');
  std::string_view whole = amount.substr(0, dot);
  std::string_view part = dot == std::string_view::npos ? "" : amount.substr(dot + 1);
  if (whole.empty() || whole.size() > 9 || part.size() > 2) return -1;
  auto digits = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (!digits(whole) || !digits(part)) return -1;
  int64_t cents = std::stoll(std::string(whole)) * 100;
  if (!part.empty()) cents += std::stoll(std::string(part)) * (part.size() == 1 ? 10 : 1);
  return cents;
}

// A due date as SIP2 writes dates: the end of the day it is due.
std::string DueDate(const std::string& date) {
  if (date.size() != 10) return "";
  return date.substr(0, 4) + date.substr(5, 2) + date.substr(8, 2) + "    235959";
}

// The fourteen patron status flags: a patron the kiosk may not serve (no valid card and PIN,
// or an expired card) is denied charging, renewing, recalls and holds.
std::string PatronFlags(bool denied) { return denied ? "YYYY          " : "              "; }

// An item barcode as one path segment: letters, digits and . _ - only.
bool PathSafe(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '_' || c == '-';
  });
}

json CardBody(const Message& m) {
  json body = {{"card_barcode", m.Field("AA")}};
  if (m.Has("AD") && !m.Field("AD").empty()) body["pin"] = m.Field("AD");
  return body;
}

}  // namespace

std::string Session::Reply::Detail() const {
  std::string detail = TextOf(body, "detail");
  return detail.empty() ? "the request was refused" : detail;
}

Session::Session(ApiServer* api, const Library* library, std::string peer, bool tls)
    : api_(api), library_(library), peer_(std::move(peer)), tls_(tls) {}

Session::~Session() {
  LogOut();
  sodium_memzero(password_.data(), password_.size());
}

Session::Reply Session::CallOnce(std::string_view method, const std::string& path,
                                 const std::string& body, const std::string& idempotency_key) {
  ApiRequest request;
  request.method = std::string(method);
  request.path = path;
  request.remote_address = peer_;
  request.scheme = tls_ ? "https" : "http";
  if (!token_.empty()) request.headers["authorization"] = "Bearer " + token_;
  if (!idempotency_key.empty()) request.headers["idempotency-key"] = idempotency_key;
  if (method != "GET") {
    request.headers["content-type"] = "application/json";
    request.body = body;
  }
  ApiResponse response = api_->Handle(request);
  Reply reply;
  reply.status = response.status;
  reply.body = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  return reply;
}

Session::Reply Session::Call(std::string_view method, const std::string& path, const json& body,
                             const std::string& idempotency_key) {
  std::string text = body.is_null() ? "" : body.dump();
  Reply reply = CallOnce(method, path, text, idempotency_key);
  // The kiosk's session ran out (idle or too old): it logs in again, once, with what it gave.
  if (reply.status == 401 && !username_.empty() && LogIn(username_, password_)) {
    reply = CallOnce(method, path, text, idempotency_key);
  }
  return reply;
}

bool Session::LogIn(const std::string& username, const std::string& password) {
  token_.clear();
  Reply session = CallOnce("POST", "/api/v1/session",
                           json{{"username", username}, {"password", password}}.dump(), "");
  if (!session.ok()) {
    spdlog::warn("sip2: a kiosk login was refused ({})", session.status);
    return false;
  }
  if (TextOf(session.body, "role") != "kiosk" || FlagOf(session.body, "must_change_password")) {
    // Only a kiosk account speaks SIP2, and only once its first password has been changed.
    token_ = TextOf(session.body, "token");
    LogOut();
    spdlog::warn("sip2: a login was refused: {}",
                 TextOf(session.body, "role") != "kiosk"
                     ? "the account is not a kiosk's"
                     : "the kiosk's first password must be changed before it is used");
    return false;
  }
  token_ = TextOf(session.body, "token");
  return !token_.empty();
}

void Session::LogOut() {
  if (token_.empty()) return;
  (void)CallOnce("DELETE", "/api/v1/session", "", "");
  token_.clear();
}

std::string Session::KeyOf(std::string_view line) const {
  // Through the sequence number; the checksum adds nothing the rest does not say.
  std::string_view text = line;
  if (text.size() >= 6 && text.substr(text.size() - 6, 2) == "AZ") text.remove_suffix(6);
  unsigned char digest[crypto_generichash_BYTES];
  std::string keyed = username_ + '\n' + std::string(text);
  crypto_generichash(digest, sizeof digest, reinterpret_cast<const unsigned char*>(keyed.data()),
                     keyed.size(), nullptr, 0);
  return "sip2-" + HexEncode(std::string(reinterpret_cast<char*>(digest), sizeof digest));
}

std::string Session::Now() const {
  return Timestamp(library_->calendar().zone().ToLocal(library_->clock().Now()));
}

std::string Session::Finish(Writer& w, const Message& m) const {
  return w.Finish(m.sequence, m.checksummed);
}

std::string Session::Answer(std::string_view line) {
  Message m;
  Refusal refusal = Parse(line, &m);
  if (refusal == Refusal::kBadChecksum) {
    // The one answer a garbled message gets: send it again.
    return Writer("96").Finish(std::nullopt, true);
  }
  if (refusal == Refusal::kNone && m.code == "97") {
    return last_answer_.empty() ? Writer("96").Finish(std::nullopt, true) : last_answer_;
  }
  std::string answer;
  if (refusal != Refusal::kNone) {
    spdlog::info("sip2: a message was refused: {}", RefusalText(refusal));
    if (FixedLength(m.code) < 0 || m.code == "97") {
      return Writer("96").Finish(std::nullopt, true);
    }
    // The fixed fields are not what they should be: the answer cannot echo them.
    m.fixed.clear();
    answer = Refuse(m, RefusalText(refusal));
  } else if (m.code != "93" && !logged_in()) {
    answer = Refuse(m, "the kiosk has not logged in (message 93)");
  } else {
    answer = Dispatch(m, line);
  }
  last_answer_ = answer;
  return answer;
}

std::string Session::Dispatch(const Message& m, std::string_view line) {
  const std::string& c = m.code;
  if (c == "93") return Login(m);
  if (c == "99") return ScStatus(m);
  if (c == "23") return PatronStatus(m);
  if (c == "63") return PatronInformation(m);
  if (c == "11") return Checkout(m, line);
  if (c == "09") return Checkin(m, line);
  if (c == "17") return ItemInformation(m);
  if (c == "29") return Renew(m, line);
  if (c == "65") return RenewAll(m, line);
  if (c == "37") return FeePaid(m, line);
  if (c == "15") return HoldRequest(m, line);
  if (c == "35") return EndPatronSession(m);
  return Refuse(m, "carrel does not take this message");
}

std::string Session::Refuse(const Message& m, std::string_view why) {
  const std::string& c = m.code;
  const std::string now = Now();
  std::string ao = m.Field("AO");
  if (c == "93") {
    Writer w("94");
    w.Fixed("0");
    return Finish(w, m);
  }
  if (c == "99") {
    Writer w("98");
    w.Fixed("NNNNNN").Fixed("000").Fixed("000").Fixed(now).Fixed("2.00");
    w.Field("AO", ao).Field("BX", kSupported).Field("AF", why);
    return Finish(w, m);
  }
  if (c == "23" || c == "63") {
    Writer w(c == "23" ? "24" : "64");
    w.Fixed(PatronFlags(true)).Fixed("000").Fixed(now);
    if (c == "63") w.Fixed("000000000000000000000000");
    w.Field("AO", ao).Field("AA", m.Field("AA")).Field("AE", "").Field("BL", "N");
    w.Field("AF", why);
    return Finish(w, m);
  }
  if (c == "11" || c == "29") {
    Writer w(c == "11" ? "12" : "30");
    w.Fixed("0NUN").Fixed(now);
    w.Field("AO", ao).Field("AA", m.Field("AA")).Field("AB", m.Field("AB")).Field("AJ", "");
    w.Field("AH", "").Field("AF", why);
    return Finish(w, m);
  }
  if (c == "09") {
    Writer w("10");
    w.Fixed("0NUN").Fixed(now);
    w.Field("AO", ao).Field("AB", m.Field("AB")).Field("AQ", "").Field("AF", why);
    return Finish(w, m);
  }
  if (c == "17") {
    Writer w("18");
    w.Fixed("01").Fixed("00").Fixed("01").Fixed(now);
    w.Field("AB", m.Field("AB")).Field("AJ", "").Field("AF", why);
    return Finish(w, m);
  }
  if (c == "65") {
    Writer w("66");
    w.Fixed("0").Fixed("0000").Fixed("0000").Fixed(now);
    w.Field("AO", ao).Field("AF", why);
    return Finish(w, m);
  }
  if (c == "37") {
    Writer w("38");
    w.Fixed("N").Fixed(now);
    w.Field("AO", ao).Field("AA", m.Field("AA")).Field("AF", why);
    return Finish(w, m);
  }
  if (c == "15") {
    Writer w("16");
    w.Fixed("0N").Fixed(now);
    w.Field("AO", ao).Field("AA", m.Field("AA")).Field("AF", why);
    return Finish(w, m);
  }
  if (c == "35") {
    Writer w("36");
    w.Fixed("N").Fixed(now);
    w.Field("AO", ao).Field("AA", m.Field("AA")).Field("AF", why);
    return Finish(w, m);
  }
  return Writer("96").Finish(std::nullopt, true);
}

std::string Session::Login(const Message& m) {
  LogOut();
  sodium_memzero(password_.data(), password_.size());
  username_ = m.Field("CN");
  password_ = m.Field("CO");
  bool ok = LogIn(username_, password_);
  if (!ok) {
    sodium_memzero(password_.data(), password_.size());
    password_.clear();
    username_.clear();
  }
  Writer w("94");
  w.Fixed(ok ? "1" : "0");
  return Finish(w, m);
}

std::string Session::ScStatus(const Message& m) {
  Reply r = Call("GET", "/api/v1/kiosk", nullptr);
  if (!r.ok()) return Refuse(m, r.Detail());
  bool open = FlagOf(r.body, "library_open");
  Writer w("98");
  // Online; returns at any hour (a book drop works while the library is closed), lending while
  // it is open; the library decides renewals; no status updates, no offline work; 3 s before
  // the kiosk may retry, 3 retries.
  w.YesNo(true).YesNo(true).YesNo(open).YesNo(true).YesNo(false).YesNo(false);
  w.Fixed("030").Fixed("003").Fixed(Now()).Fixed("2.00");
  w.Field("AO", m.Field("AO")).Field("AM", TextOf(r.body, "library"));
  w.Field("BX", kSupported).Field("AN", TextOf(r.body, "location"));
  if (!open) w.Field("AF", "The library is closed: returns only.");
  return Finish(w, m);
}

std::string Session::PatronStatus(const Message& m) {
  Reply r = Call("POST", "/api/v1/kiosk/patron", CardBody(m));
  if (!r.ok()) return Refuse(m, r.Detail());
  bool accepted = FlagOf(r.body, "pin_accepted");
  Writer w("24");
  w.Fixed(PatronFlags(!accepted || FlagOf(r.body, "expired"))).Fixed("000").Fixed(Now());
  w.Field("AO", m.Field("AO")).Field("AA", m.Field("AA")).Field("AE", TextOf(r.body, "name"));
  w.Field("BL", FlagOf(r.body, "valid_patron") ? "Y" : "N");
  if (m.Has("AD")) w.Field("CQ", accepted ? "Y" : "N");
  if (accepted) w.Field("BV", Money(IntOf(r.body, "owed_cents")));
  if (!m.Has("AD"))
    w.Field("AF", "Enter your PIN.");
  else if (!accepted)
    w.Field("AF", "The card number or PIN was not accepted.");
  else if (FlagOf(r.body, "expired"))
    w.Field("AF", "Your card has expired; please see the desk.");
  return Finish(w, m);
}

std::string Session::PatronInformation(const Message& m) {
  // The summary field asks for one list: hold items, overdue, charged, fines, recalls, or
  // unavailable holds.
  std::string summary = m.fixed.size() >= 31 ? m.fixed.substr(21, 10) : std::string(10, ' ');
  json body = CardBody(m);
  body["lists"] = summary.find('Y') != std::string::npos;
  Reply r = Call("POST", "/api/v1/kiosk/patron", body);
  if (!r.ok()) return Refuse(m, r.Detail());
  bool accepted = FlagOf(r.body, "pin_accepted");
  Writer w("64");
  w.Fixed(PatronFlags(!accepted || FlagOf(r.body, "expired"))).Fixed("000").Fixed(Now());
  w.Count(IntOf(r.body, "holds_ready"), 4).Count(IntOf(r.body, "overdue"), 4);
  w.Count(IntOf(r.body, "loans"), 4).Count(IntOf(r.body, "fines_owed"), 4).Count(0, 4);
  w.Count(IntOf(r.body, "holds_waiting"), 4);
  w.Field("AO", m.Field("AO")).Field("AA", m.Field("AA")).Field("AE", TextOf(r.body, "name"));
  w.Field("BL", FlagOf(r.body, "valid_patron") ? "Y" : "N");
  if (m.Has("AD")) w.Field("CQ", accepted ? "Y" : "N");
  if (accepted) {
    w.Field("BV", Money(IntOf(r.body, "owed_cents")));
    // BP and BQ pick which of the list's items, counting from 1.
    auto bound = [&](const char* id, int64_t fallback) {
      std::string v = m.Field(id);
      bool digits = !v.empty() && v.size() <= 5 &&
                    std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
      return digits ? std::stoll(v) : fallback;
    };
    int64_t first = std::max<int64_t>(1, bound("BP", 1));
    int64_t last = bound("BQ", 1000000);
    auto list = [&](const char* key, const char* id, auto&& keep, auto&& line) {
      int64_t n = 0;
      auto it = r.body.find(key);
      if (it == r.body.end() || !it->is_array()) return;
      for (const json& e : *it) {
        if (!keep(e)) continue;
        ++n;
        if (n >= first && n <= last) w.Field(id, line(e));
      }
    };
    auto barcode = [](const json& e) { return TextOf(e, "item_barcode"); };
    auto all = [](const json&) { return true; };
    if (summary[0] == 'Y')
      list(
          "hold_list", "AS", [](const json& e) { return FlagOf(e, "ready"); }, barcode);
    if (summary[1] == 'Y')
      list(
          "loan_list", "AT", [](const json& e) { return FlagOf(e, "overdue"); }, barcode);
    if (summary[2] == 'Y') list("loan_list", "AU", all, barcode);
    if (summary[3] == 'Y') {
      list("fine_list", "AV", all, [](const json& e) {
        return std::to_string(IntOf(e, "id")) + " " + Money(IntOf(e, "amount_cents"));
      });
    }
    if (summary[5] == 'Y')
      list(
          "hold_list", "CD", [](const json& e) { return !FlagOf(e, "ready"); }, barcode);
  } else {
    w.Field("AF", m.Has("AD") ? "The card number or PIN was not accepted." : "Enter your PIN.");
  }
  return Finish(w, m);
}

std::string Session::Checkout(const Message& m, std::string_view line) {
  if (!m.Has("AD") || m.Field("AD").empty()) return Refuse(m, "Enter your PIN to borrow.");
  json body = CardBody(m);
  body["item_barcode"] = m.Field("AB");
  Reply r = Call("POST", "/api/v1/kiosk/checkout", body, KeyOf(line));
  if (!r.ok()) return Refuse(m, r.Detail());
  Writer w("12");
  w.Fixed("1").YesNo(FlagOf(r.body, "renewal")).Fixed("N").Fixed("Y").Fixed(Now());
  w.Field("AO", m.Field("AO")).Field("AA", m.Field("AA")).Field("AB", m.Field("AB"));
  w.Field("AJ", TextOf(r.body, "title")).Field("AH", DueDate(TextOf(r.body, "due_on")));
  return Finish(w, m);
}

std::string Session::Checkin(const Message& m, std::string_view line) {
  Reply r =
      Call("POST", "/api/v1/kiosk/checkin", json{{"item_barcode", m.Field("AB")}}, KeyOf(line));
  if (!r.ok()) return Refuse(m, r.Detail());
  bool hold = FlagOf(r.body, "to_hold_shelf");
  Writer w("10");
  w.Fixed("1").Fixed("Y").Fixed("N").YesNo(hold).Fixed(Now());
  w.Field("AO", m.Field("AO")).Field("AB", m.Field("AB")).Field("AQ", "");
  w.Field("AJ", TextOf(r.body, "title")).Field("CL", TextOf(r.body, "sort_bin"));
  w.Field("CS", TextOf(r.body, "call_number"));
  // A hold is for this library; whose it is, the returns machine is never told.
  if (hold) w.Field("CV", "01").Field("AF", "On hold: put it on the hold shelf.");
  return Finish(w, m);
}

std::string Session::ItemInformation(const Message& m) {
  std::string barcode = m.Field("AB");
  if (!PathSafe(barcode)) return Refuse(m, "no such item");
  Reply r = Call("GET", "/api/v1/kiosk/items/" + barcode, nullptr);
  if (!r.ok()) return Refuse(m, r.Detail());
  std::string status = TextOf(r.body, "status");
  const char* circulation = status == "available"       ? "03"
                            : status == "on_loan"       ? "04"
                            : status == "on_hold_shelf" ? "08"
                            : status == "missing"       ? "13"
                                                        : "01";
  Writer w("18");
  w.Fixed(circulation).Fixed("00").Fixed("01").Fixed(Now());
  w.Field("CF", std::to_string(IntOf(r.body, "holds_waiting")));
  if (r.body.contains("due_on") && r.body["due_on"].is_string()) {
    w.Field("AH", DueDate(TextOf(r.body, "due_on")));
  }
  w.Field("AB", barcode).Field("AJ", TextOf(r.body, "title"));
  return Finish(w, m);
}

std::string Session::Renew(const Message& m, std::string_view line) {
  if (!m.Has("AD") || m.Field("AD").empty()) return Refuse(m, "Enter your PIN to renew.");
  if (m.Field("AB").empty()) return Refuse(m, "Scan the item to renew it.");
  json body = CardBody(m);
  body["item_barcode"] = m.Field("AB");
  Reply r = Call("POST", "/api/v1/kiosk/renew", body, KeyOf(line));
  if (!r.ok()) return Refuse(m, r.Detail());
  Writer w("30");
  w.Fixed("1").Fixed("Y").Fixed("N").Fixed("N").Fixed(Now());
  w.Field("AO", m.Field("AO")).Field("AA", m.Field("AA")).Field("AB", m.Field("AB"));
  w.Field("AJ", TextOf(r.body, "title")).Field("AH", DueDate(TextOf(r.body, "due_on")));
  return Finish(w, m);
}

std::string Session::RenewAll(const Message& m, std::string_view line) {
  if (!m.Has("AD") || m.Field("AD").empty()) return Refuse(m, "Enter your PIN to renew.");
  Reply r = Call("POST", "/api/v1/kiosk/renew-all", CardBody(m), KeyOf(line));
  if (!r.ok()) return Refuse(m, r.Detail());
  const json& renewed = r.body.value("renewed", json::array());
  const json& refused = r.body.value("not_renewed", json::array());
  Writer w("66");
  w.Fixed("1").Count(static_cast<long long>(renewed.size()), 4);
  w.Count(static_cast<long long>(refused.size()), 4).Fixed(Now());
  w.Field("AO", m.Field("AO"));
  for (const json& e : renewed) w.Field("BM", TextOf(e, "item_barcode"));
  for (const json& e : refused) w.Field("BN", TextOf(e, "item_barcode"));
  return Finish(w, m);
}

std::string Session::FeePaid(const Message& m, std::string_view line) {
  if (!m.Has("AD") || m.Field("AD").empty()) return Refuse(m, "Enter your PIN to pay.");
  int64_t cents = Cents(m.Field("BV"));
  if (cents <= 0) return Refuse(m, "the amount paid is not an amount");
  json body = CardBody(m);
  body["amount_cents"] = cents;
  std::string fee = m.Field("CG");
  if (!fee.empty()) {
    if (fee.size() > 18 || !std::all_of(fee.begin(), fee.end(), ::isdigit) || fee[0] == '0') {
      return Refuse(m, "no such fee");
    }
    body["fine_id"] = std::stoll(fee);
  }
  Reply r = Call("POST", "/api/v1/kiosk/fees", body, KeyOf(line));
  if (!r.ok()) return Refuse(m, r.Detail());
  Writer w("38");
  w.Fixed("Y").Fixed(Now());
  w.Field("AO", m.Field("AO")).Field("AA", m.Field("AA"));
  if (m.Has("BK")) w.Field("BK", m.Field("BK"));
  return Finish(w, m);
}

std::string Session::HoldRequest(const Message& m, std::string_view line) {
  char mode = m.fixed.empty() ? ' ' : m.fixed[0];
  if (mode != '+' && mode != '-') return Refuse(m, "A hold is changed at the desk.");
  if (!m.Has("AD") || m.Field("AD").empty()) return Refuse(m, "Enter your PIN.");
  if (m.Field("AB").empty()) return Refuse(m, "Scan the item.");
  json body = CardBody(m);
  body["item_barcode"] = m.Field("AB");
  Reply r = Call("POST", mode == '+' ? "/api/v1/kiosk/holds" : "/api/v1/kiosk/holds/cancel", body,
                 KeyOf(line));
  if (!r.ok()) return Refuse(m, r.Detail());
  Writer w("16");
  w.Fixed("1").Fixed("N").Fixed(Now());
  w.Field("AO", m.Field("AO")).Field("AA", m.Field("AA")).Field("AB", m.Field("AB"));
  w.Field("AJ", TextOf(r.body, "title"));
  return Finish(w, m);
}

std::string Session::EndPatronSession(const Message& m) {
  // Nothing of the patron's is held between messages: the kiosk forgets them, and so do we.
  Writer w("36");
  w.Fixed("Y").Fixed(Now());
  w.Field("AO", m.Field("AO")).Field("AA", m.Field("AA"));
  return Finish(w, m);
}

}  // namespace carrel::sip2
