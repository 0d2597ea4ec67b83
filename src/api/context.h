#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "carrel/accounts.h"
#include "carrel/library.h"
#include "carrel/server.h"
#include "util/json_schema.h"

namespace carrel {

struct Route;

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
  const Route* route = nullptr;  // the row being served
};

using json = nlohmann::json;

ApiResponse JsonResponse(const json& body, int status = 200);
// A printable page of carrel's own (a letter, a package's HTML, the report): inline styles,
// no script.
ApiResponse HtmlDocument(std::string html);

// Path and query parameters, already checked against the route's contract.
StatusOr<int64_t> IdParam(const ApiRequest& request, size_t index);
std::string QueryParam(const ApiRequest& request, std::string_view key);
// Percent-encodes a query value (RFC 3986 unreserved characters stay as they are).
std::string QueryEscape(std::string_view s);

// A list answer, one page of `items` (each a JSON object with the route's cursor member) after
// the `after` cursor given in the query, with the next page's path; kInvalidArgument for a
// cursor that names no entry.
StatusOr<ApiResponse> ListPage(const ApiContext& c, nlohmann::json items);

json PatronJson(const Patron& p);
// A loan or hold with its item's barcode, title and author (catalogue data, not patron data;
// read through `circulation`).
json LoanJson(Circulation& circulation, const Loan& l);
json HoldJson(Circulation& circulation, const Hold& h);
json FineJson(const Fine& f);
json ItemJson(const Item& i);

}  // namespace carrel
