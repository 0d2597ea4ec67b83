// The route contract's builders and the one paging convention of list answers.

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "api/problem.h"
#include "api/routes.h"
#include "api/schemas.h"

namespace carrel {

Contract Contract::In(SchemaRef schema) const {
  Contract c = *this;
  c.body = schema;
  return c;
}

Contract Contract::Query(std::string_view name, SchemaRef schema, std::string_view description,
                         bool required) const {
  Contract c = *this;
  c.query.push_back({name, schema, description, required});
  return c;
}

Contract Contract::Ok(SchemaRef schema, std::string_view description) const {
  Contract c = *this;
  c.responses.push_back({200, schema, "application/json", description});
  return c;
}

Contract Contract::Created(SchemaRef schema, std::string_view description) const {
  Contract c = *this;
  c.responses.push_back({201, schema, "application/json", description});
  return c;
}

Contract Contract::Accepted(SchemaRef schema, std::string_view description) const {
  Contract c = *this;
  c.responses.push_back({202, schema, "application/json", description});
  return c;
}

Contract Contract::Document(std::string_view content_type, std::string_view description) const {
  Contract c = *this;
  c.responses.push_back({200, nullptr, content_type, description});
  return c;
}

Contract Contract::Limit(size_t bytes) const {
  Contract c = *this;
  c.max_body = bytes;
  return c;
}

Contract Contract::List(std::string_view key, SchemaRef items, std::string_view cursor) const {
  Contract c = *this;
  c.paged = true;
  c.list_key = key;
  c.cursor = cursor;
  c.query.push_back({"after", schema::Text(200),
                     "The cursor of the last entry already seen (the `next` link carries it)"});
  c.query.push_back({"limit", schema::Integer(1, kMaxPageSize),
                     "Entries per page (default 100, at most 1000)"});
  c.responses.push_back({200, ListOf(key, items), "application/json", ""});
  return c;
}

Contract Contract::Idempotent() const {
  Contract c = *this;
  c.idempotent = true;
  return c;
}

namespace {

// Nesting depth of a JSON text (brackets outside strings); cheap, before parsing.
int JsonDepth(std::string_view text) {
  int depth = 0, max = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') in_string = true;
    if (c == '{' || c == '[') max = std::max(max, ++depth);
    if (c == '}' || c == ']') --depth;
  }
  return max;
}

std::string CursorOf(const nlohmann::json& item, std::string_view key, size_t position) {
  if (key.empty()) return std::to_string(position + 1);
  auto it = item.find(key);
  if (it == item.end()) return std::to_string(position + 1);
  return it->is_string() ? it->get<std::string>() : it->dump();
}

}  // namespace

std::string QueryEscape(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out.push_back(static_cast<char>(ch));
    } else {
      out.push_back('%');
      out.push_back(hex[ch >> 4]);
      out.push_back(hex[ch & 15]);
    }
  }
  return out;
}

StatusOr<ApiResponse> ListPage(const ApiContext& c, nlohmann::json items) {
  const Contract& contract = c.route->contract;
  std::string after = QueryParam(c.request, "after");
  std::string limit_text = QueryParam(c.request, "limit");
  int limit = limit_text.empty() ? kDefaultPageSize : std::stoi(limit_text);  // checked
  size_t start = 0;
  if (!after.empty()) {
    bool found = false;
    for (size_t i = 0; i < items.size(); ++i) {
      if (CursorOf(items[i], contract.cursor, i) == after) {
        start = i + 1;
        found = true;
        break;
      }
    }
    if (!found) {
      return InvalidArgument("after names no entry of this list; start again without it");
    }
  }
  nlohmann::json page = nlohmann::json::array();
  size_t end = std::min(items.size(), start + static_cast<size_t>(limit));
  for (size_t i = start; i < end; ++i) page.push_back(std::move(items[i]));
  nlohmann::json next = nullptr;
  if (end < items.size() && end > start) {
    std::string cursor = CursorOf(page.back(), contract.cursor, end - 1);
    std::string link = c.request.path + "?";
    for (const auto& [key, value] : c.request.query) {
      if (key == "after" || key == "limit") continue;
      link += QueryEscape(key) + "=" + QueryEscape(value) + "&";
    }
    next = link + "after=" + QueryEscape(cursor) + "&limit=" + std::to_string(limit);
  }
  nlohmann::json out = nlohmann::json::object();
  out[std::string(contract.list_key)] = std::move(page);
  out["next"] = std::move(next);
  return JsonResponse(out);
}

}  // namespace carrel

namespace carrel {

namespace {

// A path or query parameter's text against its schema: whole numbers are read as such.
void CheckParameter(std::string_view name, SchemaRef schema, const std::string& text,
                    std::vector<FieldError>* errors) {
  std::vector<FieldError> found;
  if (schema->type == SchemaType::kInteger) {
    bool digits = !text.empty() && text.size() <= 18 &&
                  text.find_first_not_of("0123456789") == std::string::npos;
    if (!digits) {
      found.push_back({"", "must be a whole number"});
    } else {
      CheckJson(schema, nlohmann::json(std::stoll(text)), &found, 1);
    }
  } else if (schema->type == SchemaType::kBoolean) {
    if (text != "true" && text != "false") found.push_back({"", "must be true or false"});
  } else {
    CheckJson(schema, nlohmann::json(text), &found, 1);
  }
  for (FieldError& e : found) errors->push_back({std::string(name), e.reason, true});
}

}  // namespace

// The request's JSON body: within the route's size and the server's depth, an object; then
// the whole request against the route's contract.
std::optional<ApiResponse> ReadInput(const Route& route, const ApiRequest& request, bool writes,
                                     size_t max_body_bytes, int max_json_depth,
                                     nlohmann::json* body) {
  const bool has_body = writes && !request.body.empty();
  if (has_body) {
    if (request.body.size() >
        (route.contract.max_body != 0 ? route.contract.max_body : max_body_bytes)) {
      return ProblemResponse(413, "", "the request body is too large", request.path);
    }
    if (JsonDepth(request.body) > max_json_depth) {
      return ProblemResponse(400, "", "the JSON body is nested too deeply", request.path);
    }
    *body = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
    if (body->is_discarded()) {
      return ProblemResponse(400, "", "the request body is not valid JSON", request.path);
    }
    if (!body->is_object()) {
      return ProblemResponse(400, "", "the request body must be a JSON object", request.path);
    }
  }
  std::vector<FieldError> errors;
  CheckRequest(route, request, *body, has_body, &errors);
  if (!errors.empty()) {
    return Problem("invalid-input", 400, DescribeErrors(errors), request.path, &errors);
  }
  return std::nullopt;
}

void CheckRequest(const Route& route, const ApiRequest& request, const nlohmann::json& body,
                  bool has_body, std::vector<FieldError>* errors) {
  // Path parameters, by their names in the pattern.
  size_t index = 0;
  for (size_t at = route.pattern.find('{'); at != std::string_view::npos;
       at = route.pattern.find('{', at + 1)) {
    size_t close = route.pattern.find('}', at);
    std::string_view name = route.pattern.substr(at + 1, close - at - 1);
    if (index < request.path_params.size()) {
      CheckParameter(name, PathParamSchema(name), request.path_params[index], errors);
    }
    ++index;
  }
  const Contract& contract = route.contract;
  for (const auto& [key, value] : request.query) {
    const QueryParamSpec* spec = nullptr;
    for (const QueryParamSpec& q : contract.query) {
      if (q.name == key) spec = &q;
    }
    if (spec == nullptr) {
      errors->push_back({key.substr(0, 40), "is not a parameter of this route", true});
      continue;
    }
    if (request.query.count(key) > 1) {
      errors->push_back({key, "is given more than once", true});
      continue;
    }
    CheckParameter(key, spec->schema, value, errors);
  }
  for (const QueryParamSpec& q : contract.query) {
    if (q.required && request.query.count(std::string(q.name)) == 0) {
      errors->push_back({std::string(q.name), "is required", true});
    }
  }
  if (contract.body != nullptr) {
    CheckJson(contract.body, body, errors);
  } else if (has_body && !(body.is_object() && body.empty())) {
    errors->push_back({"", "this route takes no body (send none, or {})", false});
  }
}

std::string CheckResponse(const Route& route, const ApiResponse& response) {
  if (response.status >= 400) {
    if (response.content_type != "application/problem+json") {
      return "a refusal that is not application/problem+json";
    }
    nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
    std::vector<FieldError> errors;
    if (!CheckJson(Schemas().problem, body, &errors)) return DescribeErrors(errors);
    return "";
  }
  std::string first_breach;
  for (const ResponseSpec& spec : route.contract.responses) {
    if (spec.status != response.status) continue;
    std::string breach;
    if (response.content_type.rfind(spec.content_type, 0) != 0) {
      breach = "answered " + response.content_type + " where the contract says " +
               std::string(spec.content_type);
    } else if (spec.schema != nullptr) {
      nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
      std::vector<FieldError> errors;
      if (!CheckJson(spec.schema, body, &errors)) breach = DescribeErrors(errors);
    }
    if (breach.empty()) return "";
    if (first_breach.empty()) first_breach = breach;
  }
  if (!first_breach.empty()) return first_breach;
  return "answered status " + std::to_string(response.status) + ", which the contract does not "
         "list";
}

}  // namespace carrel
