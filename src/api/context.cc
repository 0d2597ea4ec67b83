#include "api/context.h"

namespace carrel {

ApiResponse HtmlDocument(std::string html) {
  ApiResponse r{200, "text/html; charset=utf-8", std::move(html)};
  r.inline_styles = true;
  return r;
}

ApiResponse JsonResponse(const json& body, int status) {
  // Text from the request (a path segment, a query value) may hold bytes that are not UTF-8:
  // they are written as U+FFFD, never thrown over, as in problems.
  return ApiResponse{status, "application/json",
                     body.dump(-1, ' ', false, json::error_handler_t::replace)};
}

StatusOr<int64_t> IdParam(const ApiRequest& request, size_t index) {
  if (index >= request.path_params.size()) return InvalidArgument("missing id in the path");
  const std::string& text = request.path_params[index];
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos) {
    return InvalidArgument("an id in the path must be a positive whole number");
  }
  return std::stoll(text);
}

std::string QueryParam(const ApiRequest& request, std::string_view key) {
  auto it = request.query.find(std::string(key));
  return it == request.query.end() ? std::string() : it->second;
}

json PatronJson(const Patron& p) {
  return {{"id", p.id},
          {"card_barcode", p.card_barcode},
          {"name", p.name},
          {"email", p.email},
          {"phone", p.phone},
          {"postal_address", p.postal_address},
          {"juvenile", p.juvenile},
          {"expires_on", FormatDate(p.expires_on)},
          {"history_opt_in", p.history_opt_in},
          {"last_activity_on", FormatDate(p.last_activity_on)}};
}

namespace {
void AddItem(Circulation& circulation, int64_t item_id, json* out) {
  auto item = circulation.GetItem(item_id);
  (*out)["item_barcode"] = item.ok() ? item->barcode : "";
  (*out)["title"] = item.ok() ? item->title : "";
  (*out)["author"] = item.ok() ? item->author : "";
}
}  // namespace

json LoanJson(Circulation& circulation, const Loan& l) {
  json out = {{"id", l.id},
              {"item_id", l.item_id},
              {"patron_id", l.patron_id},
              {"checked_out_on", FormatDate(l.checked_out_on)},
              {"due_on", FormatDate(l.due_on)},
              {"renewals", l.renewals}};
  AddItem(circulation, l.item_id, &out);
  return out;
}

json HoldJson(Circulation& circulation, const Hold& h) {
  json out = {{"id", h.id},
              {"item_id", h.item_id},
              {"status", HoldStatusName(h.status)},
              {"placed_at", FormatInstant(h.placed_at)}};
  AddItem(circulation, h.item_id, &out);
  out["ready_until"] = h.ready_until ? json(FormatDate(*h.ready_until)) : json(nullptr);
  return out;
}

json FineJson(const Fine& f) {
  return {{"id", f.id},
          {"amount_cents", f.amount_cents},
          {"accrued_on", FormatDate(f.accrued_on)},
          {"status", FineStatusName(f.status)}};
}

json ItemJson(const Item& i) {
  return {{"id", i.id},
          {"barcode", i.barcode},
          {"title", i.title},
          {"author", i.author},
          {"call_number", i.call_number},
          {"item_type", i.item_type},
          {"status", ItemStatusName(i.status)}};
}

}  // namespace carrel
