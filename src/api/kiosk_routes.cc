#include "api/kiosk_routes.h"

#include <algorithm>

#include "carrel/encoding.h"

namespace carrel {
namespace {

// The kiosk stands for the client address in the PIN's back-off: every kiosk counts alone,
// wherever its connections come from.
std::string KioskClient(const ApiContext& c) { return "kiosk/" + std::to_string(c.principal->id); }

// The patron whose card and PIN the body carries. Not accepted: kPermissionDenied (the kiosk's
// own session is fine; the patron's card or PIN is not).
StatusOr<int64_t> PatronAtKiosk(ApiContext& c) {
  auto patron = c.library.accounts().VerifyCardPin(TextOf(c.body, "card_barcode"),
                                                   TextOf(c.body, "pin"), KioskClient(c));
  if (patron.status().code() == StatusCode::kUnauthenticated) {
    return PermissionDenied(patron.status().message());
  }
  return patron;
}

json KioskLoanJson(const Item& item, Date due_on, Date today) {
  return {{"item_barcode", item.barcode},
          {"title", item.title},
          {"due_on", FormatDate(due_on)},
          {"overdue", due_on < today}};
}

StatusOr<Loan> LoanOfPatron(Circulation& circ, const Actor& actor, int64_t patron_id,
                            int64_t item_id) {
  CARREL_ASSIGN_OR_RETURN(auto loans, circ.ActiveLoans(actor, patron_id));
  for (const Loan& l : loans) {
    if (l.item_id == item_id) return l;
  }
  return NotFound("the patron has no loan of that item");
}

}  // namespace

std::string KioskName(std::string_view rule, std::string_view name) {
  if (rule == "none") return "";
  if (rule == "full") return std::string(name);
  size_t start = name.find_first_not_of(' ');
  if (start == std::string_view::npos) return "";
  size_t end = name.find(' ', start);
  return std::string(name.substr(start, end == std::string_view::npos ? name.npos : end - start));
}

StatusOr<ApiResponse> KioskStatus(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(User kiosk, c.library.accounts().GetUser(c.principal->id));
  Instant now = c.library.clock().Now();
  const Calendar& cal = c.library.calendar();
  return JsonResponse({{"library", c.library.profile().name},
                       {"location", kiosk.location},
                       {"library_open", cal.IsLibraryOpen(now)},
                       {"now", FormatInstant(now)},
                       {"renewal_limit", c.library.profile().renewal_limit}});
}

StatusOr<ApiResponse> KioskPatron(ApiContext& c) {
  Circulation& circ = c.library.circulation();
  json out = {{"valid_patron", false},
              {"pin_accepted", false},
              {"name", ""},
              {"expired", false},
              {"loans", 0},
              {"overdue", 0},
              {"holds_ready", 0},
              {"holds_waiting", 0},
              {"fines_owed", 0},
              {"owed_cents", 0}};
  std::string card = TextOf(c.body, "card_barcode");
  if (!Given(c.body, "pin")) {
    // Without the PIN a kiosk learns whether the card is one of the library's, and nothing more.
    auto patron = circ.FindPatronByBarcode(c.actor, card);
    if (!patron.ok() && patron.status().code() != StatusCode::kNotFound) return patron.status();
    out["valid_patron"] = patron.ok();
    return JsonResponse(out);
  }
  auto patron_id = PatronAtKiosk(c);
  if (!patron_id.ok()) {
    if (patron_id.status().code() != StatusCode::kPermissionDenied) return patron_id.status();
    auto patron = circ.FindPatronByBarcode(c.actor, card);
    if (!patron.ok() && patron.status().code() != StatusCode::kNotFound) return patron.status();
    out["valid_patron"] = patron.ok();
    return JsonResponse(out);
  }
  CARREL_ASSIGN_OR_RETURN(Patron patron, circ.GetPatron(c.actor, *patron_id));
  Date today = circ.Today();
  CARREL_ASSIGN_OR_RETURN(auto loans, circ.ActiveLoans(c.actor, *patron_id));
  CARREL_ASSIGN_OR_RETURN(auto holds, circ.PatronHolds(c.actor, *patron_id));
  CARREL_ASSIGN_OR_RETURN(auto fines, circ.PatronFines(c.actor, *patron_id));
  const bool lists = c.body.value("lists", false);
  std::vector<int64_t> ids;
  for (const Loan& l : loans) ids.push_back(l.item_id);
  for (const Hold& h : holds) ids.push_back(h.item_id);
  std::map<int64_t, Item> items;
  if (lists) {
    CARREL_ASSIGN_OR_RETURN(items, circ.GetItems(ids));
  }
  auto item_of = [&](int64_t id) {
    auto it = items.find(id);
    return it == items.end() ? Item{} : it->second;
  };
  json loan_list = json::array(), hold_list = json::array(), fine_list = json::array();
  int64_t overdue = 0, ready = 0, waiting = 0, owed = 0, owed_cents = 0;
  for (const Loan& l : loans) {
    overdue += l.due_on < today ? 1 : 0;
    if (lists) loan_list.push_back(KioskLoanJson(item_of(l.item_id), l.due_on, today));
  }
  for (const Hold& h : holds) {
    if (h.status != HoldStatus::kReady && h.status != HoldStatus::kWaiting) continue;
    (h.status == HoldStatus::kReady ? ready : waiting) += 1;
    if (lists) {
      Item item = item_of(h.item_id);
      hold_list.push_back({{"item_barcode", item.barcode},
                           {"title", item.title},
                           {"ready", h.status == HoldStatus::kReady}});
    }
  }
  for (const Fine& f : fines) {
    if (f.status != FineStatus::kOwed) continue;
    ++owed;
    owed_cents += f.amount_cents;
    if (lists) fine_list.push_back({{"id", f.id}, {"amount_cents", f.amount_cents}});
  }
  out["valid_patron"] = true;
  out["pin_accepted"] = true;
  out["name"] = KioskName(c.library.profile().kiosk_name, patron.name);
  out["expired"] = patron.expires_on < today;
  out["loans"] = loans.size();
  out["overdue"] = overdue;
  out["holds_ready"] = ready;
  out["holds_waiting"] = waiting;
  out["fines_owed"] = owed;
  out["owed_cents"] = owed_cents;
  if (lists) {
    out["loan_list"] = std::move(loan_list);
    out["hold_list"] = std::move(hold_list);
    out["fine_list"] = std::move(fine_list);
  }
  return JsonResponse(out);
}

StatusOr<ApiResponse> KioskItem(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(auto state,
                          c.library.circulation().ItemState(c.request.path_params.at(0)));
  return JsonResponse({{"item_barcode", state.item.barcode},
                       {"title", state.item.title},
                       {"call_number", state.item.call_number},
                       {"status", ItemStatusName(state.item.status)},
                       {"due_on", state.due_on ? json(FormatDate(*state.due_on)) : json(nullptr)},
                       {"holds_waiting", state.holds_waiting}});
}

StatusOr<ApiResponse> KioskCheckout(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(int64_t patron_id, PatronAtKiosk(c));
  Circulation& circ = c.library.circulation();
  std::string barcode = TextOf(c.body, "item_barcode");
  auto loan = circ.Checkout(c.actor, barcode, TextOf(c.body, "card_barcode"));
  bool renewal = false;
  if (!loan.ok() && loan.status().code() == StatusCode::kFailedPrecondition) {
    // An item the patron already has out is renewed, as kiosks expect.
    auto item = circ.FindItemByBarcode(barcode);
    if (item.ok() && item->status == ItemStatus::kOnLoan &&
        LoanOfPatron(circ, c.actor, patron_id, item->id).ok()) {
      loan = circ.Renew(c.actor, barcode);
      renewal = true;
    }
  }
  if (!loan.ok()) return loan.status();
  CARREL_ASSIGN_OR_RETURN(Item item, circ.GetItem(loan->item_id));
  json out = KioskLoanJson(item, loan->due_on, circ.Today());
  out["renewal"] = renewal;
  return JsonResponse(out, 201);
}

StatusOr<ApiResponse> KioskCheckin(ApiContext& c) {
  Circulation& circ = c.library.circulation();
  std::string barcode = TextOf(c.body, "item_barcode");
  CARREL_ASSIGN_OR_RETURN(CheckinResult r, circ.Checkin(c.actor, barcode));
  CARREL_ASSIGN_OR_RETURN(Item item, circ.GetItem(r.item_id));
  // Where the returned item goes: to the hold shelf (for someone the kiosk is not told of), or
  // back to the shelves.
  bool hold = r.hold_ready_id != 0;
  return JsonResponse({{"item_barcode", item.barcode},
                       {"title", item.title},
                       {"call_number", item.call_number},
                       {"returned_on", FormatDate(r.returned_on)},
                       {"to_hold_shelf", hold},
                       {"sort_bin", hold ? "hold-shelf" : "reshelve"}});
}

StatusOr<ApiResponse> KioskRenew(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(int64_t patron_id, PatronAtKiosk(c));
  Circulation& circ = c.library.circulation();
  std::string barcode = TextOf(c.body, "item_barcode");
  CARREL_ASSIGN_OR_RETURN(Item item, circ.FindItemByBarcode(barcode));
  CARREL_RETURN_IF_ERROR(LoanOfPatron(circ, c.actor, patron_id, item.id).status());
  CARREL_ASSIGN_OR_RETURN(Loan loan, circ.Renew(c.actor, barcode));
  json out = KioskLoanJson(item, loan.due_on, circ.Today());
  out["renewal"] = true;
  return JsonResponse(out);
}

StatusOr<ApiResponse> KioskRenewAll(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(int64_t patron_id, PatronAtKiosk(c));
  Circulation& circ = c.library.circulation();
  CARREL_ASSIGN_OR_RETURN(auto loans, circ.ActiveLoans(c.actor, patron_id));
  std::vector<int64_t> ids;
  for (const Loan& l : loans) ids.push_back(l.item_id);
  CARREL_ASSIGN_OR_RETURN(auto items, circ.GetItems(ids));
  json renewed = json::array(), refused = json::array();
  Date today = circ.Today();
  for (const Loan& l : loans) {
    auto it = items.find(l.item_id);
    if (it == items.end()) continue;
    auto loan = circ.Renew(c.actor, it->second.barcode);
    if (loan.ok()) {
      renewed.push_back(KioskLoanJson(it->second, loan->due_on, today));
    } else {
      refused.push_back({{"item_barcode", it->second.barcode},
                         {"title", it->second.title},
                         {"reason", loan.status().message()}});
    }
  }
  return JsonResponse({{"renewed", renewed}, {"not_renewed", refused}});
}

StatusOr<ApiResponse> KioskPayFees(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(int64_t patron_id, PatronAtKiosk(c));
  Circulation& circ = c.library.circulation();
  const int64_t amount = c.body.value("amount_cents", int64_t{0});
  const int64_t only = c.body.value("fine_id", int64_t{0});
  CARREL_ASSIGN_OR_RETURN(auto fines, circ.PatronFines(c.actor, patron_id));
  std::vector<int64_t> paying;
  int64_t total = 0;
  for (const Fine& f : fines) {
    if (f.status != FineStatus::kOwed || (only != 0 && f.id != only)) continue;
    paying.push_back(f.id);
    total += f.amount_cents;
  }
  if (paying.empty()) return NotFound("the patron owes no such fee");
  // A kiosk pays whole fees: the one named, or everything owed. A part payment is for the desk.
  if (total != amount) {
    return FailedPrecondition("the amount paid is not the amount owed (" + std::to_string(total) +
                              " cents); nothing was recorded");
  }
  for (int64_t id : paying) CARREL_RETURN_IF_ERROR(circ.PayFine(c.actor, id));
  return JsonResponse({{"paid", paying}, {"paid_cents", total}});
}

StatusOr<ApiResponse> KioskPlaceHold(ApiContext& c) {
  CARREL_RETURN_IF_ERROR(PatronAtKiosk(c).status());
  Circulation& circ = c.library.circulation();
  std::string barcode = TextOf(c.body, "item_barcode");
  CARREL_ASSIGN_OR_RETURN(Hold hold,
                          circ.PlaceHold(c.actor, barcode, TextOf(c.body, "card_barcode")));
  CARREL_ASSIGN_OR_RETURN(Item item, circ.GetItem(hold.item_id));
  return JsonResponse({{"item_barcode", item.barcode}, {"title", item.title}, {"placed", true}},
                      201);
}

StatusOr<ApiResponse> KioskCancelHold(ApiContext& c) {
  CARREL_ASSIGN_OR_RETURN(int64_t patron_id, PatronAtKiosk(c));
  Circulation& circ = c.library.circulation();
  CARREL_ASSIGN_OR_RETURN(Item item, circ.FindItemByBarcode(TextOf(c.body, "item_barcode")));
  CARREL_ASSIGN_OR_RETURN(auto holds, circ.PatronHolds(c.actor, patron_id));
  for (const Hold& h : holds) {
    if (h.item_id != item.id ||
        (h.status != HoldStatus::kWaiting && h.status != HoldStatus::kReady)) {
      continue;
    }
    CARREL_RETURN_IF_ERROR(circ.CancelHold(c.actor, h.id));
    return JsonResponse({{"item_barcode", item.barcode}, {"title", item.title}, {"placed", false}});
  }
  return NotFound("the patron has no hold on that item");
}

}  // namespace carrel
