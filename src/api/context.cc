#include "api/context.h"

#include <set>

namespace carrel {

ApiResponse HtmlDocument(std::string html) {
  ApiResponse r{200, "text/html; charset=utf-8", std::move(html)};
  r.inline_styles = true;
  return r;
}

ApiResponse JsonResponse(const json& body, int status) {
  return ApiResponse{status, "application/json", body.dump()};
}

Status RequireObject(const json& body, std::initializer_list<std::string_view> allowed) {
  if (!body.is_object()) return InvalidArgument("the request body must be a JSON object");
  for (const auto& [key, value] : body.items()) {
    bool known = false;
    for (std::string_view a : allowed) known = known || a == key;
    if (!known) {
      // Field names are the API's own words, never patron data; cap the length anyway.
      return InvalidArgument("unknown field \"" + key.substr(0, 40) + "\"");
    }
  }
  return Status::Ok();
}

StatusOr<std::string> StringField(const json& body, std::string_view key, bool required,
                                  size_t max) {
  auto it = body.find(std::string(key));
  if (it == body.end() || it->is_null()) {
    if (required) return InvalidArgument("field \"" + std::string(key) + "\" is required");
    return std::string();
  }
  if (!it->is_string()) {
    return InvalidArgument("field \"" + std::string(key) + "\" must be a string");
  }
  std::string value = it->get<std::string>();
  if (value.size() > max) {
    return InvalidArgument("field \"" + std::string(key) + "\" is too long");
  }
  return value;
}

StatusOr<bool> BoolField(const json& body, std::string_view key, bool fallback) {
  auto it = body.find(std::string(key));
  if (it == body.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) {
    return InvalidArgument("field \"" + std::string(key) + "\" must be true or false");
  }
  return it->get<bool>();
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

json LoanJson(const Loan& l) {
  return {{"id", l.id},
          {"item_id", l.item_id},
          {"patron_id", l.patron_id},
          {"checked_out_on", FormatDate(l.checked_out_on)},
          {"due_on", FormatDate(l.due_on)},
          {"renewals", l.renewals}};
}

json HoldJson(const Hold& h) {
  json out = {{"id", h.id},
              {"item_id", h.item_id},
              {"status", HoldStatusName(h.status)},
              {"placed_at", FormatInstant(h.placed_at)}};
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
