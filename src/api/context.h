#pragma once

#include <nlohmann/json.hpp>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "carrel/accounts.h"
#include "carrel/library.h"
#include "carrel/server.h"

namespace carrel {

// What a handler gets: the library, the request, who is asking (already authorized by the
// route table), and the parsed JSON body.
struct ApiContext {
  Library& library;
  const ApiRequest& request;
  std::optional<Principal> principal;
  Actor actor;  // the principal's, or "anonymous"/public
  nlohmann::json body;
  std::string session_token;  // the token the request was authenticated with, if any
  ApiServer* server = nullptr;
};

using json = nlohmann::json;

ApiResponse JsonResponse(const json& body, int status = 200);
// A printable page of carrel's own (a letter, a package's HTML, the report): inline styles,
// no script.
ApiResponse HtmlDocument(std::string html);

// Body validation: an object holding only `allowed` keys (the message names an unknown one).
Status RequireObject(const json& body, std::initializer_list<std::string_view> allowed);
StatusOr<std::string> StringField(const json& body, std::string_view key, bool required = true,
                                  size_t max = 1024);
StatusOr<bool> BoolField(const json& body, std::string_view key, bool fallback);
StatusOr<int64_t> IdParam(const ApiRequest& request, size_t index);
std::string QueryParam(const ApiRequest& request, std::string_view key);

json PatronJson(const Patron& p);
json LoanJson(const Loan& l);
json HoldJson(const Hold& h);
json FineJson(const Fine& f);
json ItemJson(const Item& i);

}  // namespace carrel
