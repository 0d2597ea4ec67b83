#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <vector>

#include "api/context.h"
#include "util/json_schema.h"

namespace carrel {

using RouteHandler = StatusOr<ApiResponse> (*)(ApiContext& context);

// Who may call a route: a set of these bits. kPatron means a patron acting on their own data
// (the /me routes take the patron from the session, so "self" is the only patron there is).
enum Access : uint32_t {
  kAnonymous = 1u << 0,
  kPatronSelf = 1u << 1,
  kStaff = 1u << 2,
  kDirector = 1u << 3,
  kCounsel = 1u << 4,
  kBoard = 1u << 5,
  kAdmin = 1u << 6,
  // A staff user acting under a valid written appointment of the Director (and, for an
  // absence-only appointment, while the Director is recorded absent). The dispatcher checks
  // the appointment before granting this bit; the request core checks it again.
  kDesignee = 1u << 7,
  // A self-check kiosk or automated return (docs/sip2.md): its own routes, and its session.
  kKiosk = 1u << 8,
};
inline constexpr uint32_t kAnyUser = kStaff | kDirector | kCounsel | kBoard | kAdmin;
inline constexpr uint32_t kAnyone = kAnonymous | kPatronSelf | kAnyUser | kKiosk;
inline constexpr uint32_t kDesk = kStaff | kDirector;

uint32_t AccessBit(Role role);

// A query parameter a route reads.
struct QueryParamSpec {
  std::string_view name;
  SchemaRef schema;
  std::string_view description;
  bool required = false;
};

// A successful answer a route gives: its status and what it holds (JSON by its schema, or a
// document of another type).
struct ResponseSpec {
  int status = 200;
  SchemaRef schema = nullptr;  // for application/json
  std::string_view content_type = "application/json";
  std::string_view description;
};

// What a route takes and answers: checked before its handler runs (path parameters, query,
// body), written into the OpenAPI document, and checked against what the handler answered
// when the server is told to (the tests). Built by chaining: Takes(body).Created(loan).
struct Contract {
  SchemaRef body = nullptr;  // nullptr: no body (a write then takes none, or {})
  std::vector<QueryParamSpec> query;
  std::vector<ResponseSpec> responses;
  size_t max_body = 0;   // bytes; 0: the server's default limit
  bool paged = false;    // a list: ?after= and ?limit=, and a next link
  bool idempotent = false;  // takes an Idempotency-Key

  Contract In(SchemaRef schema) const;
  Contract Query(std::string_view name, SchemaRef schema, std::string_view description,
                 bool required = false) const;
  Contract Ok(SchemaRef schema, std::string_view description = "") const;       // 200
  Contract Created(SchemaRef schema, std::string_view description = "") const;  // 201
  Contract Accepted(SchemaRef schema, std::string_view description = "") const; // 202
  Contract Document(std::string_view content_type, std::string_view description) const;
  Contract Limit(size_t bytes) const;
  // A list: its answer is ListOf(key, items), paged by ?after= (the `cursor` member of the
  // last item seen) and ?limit= (at most kMaxPageSize).
  Contract List(std::string_view key, SchemaRef items, std::string_view cursor = "id") const;
  Contract Idempotent() const;

  std::string_view list_key;
  std::string_view cursor;
};
inline constexpr int kDefaultPageSize = 100;
inline constexpr int kMaxPageSize = 1000;

inline Contract Takes(SchemaRef body) { return Contract{}.In(body); }
inline Contract Gives() { return Contract{}; }

// One row per route (STYLE point 6): method, path pattern ("{name}" matches one segment),
// action name, who may call it, whether it changes state, and the handler. Authorization,
// CSRF checks, rate limits and the audit of denials are applied from this table by the
// dispatcher (server.cc), never by hand in handlers. Reads and writes of patron data are
// audited by the core operations the handlers call, in the same transaction.
struct Route {
  std::string_view method;
  std::string_view pattern;
  std::string_view action;
  uint32_t allowed;
  bool mutates;
  RouteHandler handler;
  std::string_view summary;  // one line, also in docs/openapi.yaml
  Contract contract;
};

const std::vector<Route>& RouteTable();

// The OpenAPI 3.1 document of the route table, as YAML (docs/openapi.yaml is a copy of it,
// checked by a test) and the human-readable reference rendered from it.
const std::string& OpenApiYaml();
nlohmann::ordered_json OpenApiJson();
const std::string& ApiReferenceHtml();


// Checks a request against its route's contract (path parameters, query, body), appending each
// refusal to `errors`. `has_body`: the request carried a body (parsed into `body`).
void CheckRequest(const Route& route, const ApiRequest& request, const nlohmann::json& body,
                  bool has_body, std::vector<FieldError>* errors);
// Reads a request's body (when `writes` and it has one: within the route's size, or
// `max_body_bytes`, and `max_json_depth`, a JSON object) into `body` and checks the request
// against the route's contract. nullopt when it is taken, else the problem answer.
std::optional<ApiResponse> ReadInput(const Route& route, const ApiRequest& request, bool writes,
                                     size_t max_body_bytes, int max_json_depth,
                                     nlohmann::json* body);
// Checks an answer against its route's contract: "" when it conforms, else what is wrong.
std::string CheckResponse(const Route& route, const ApiResponse& response);

// Matches `path` against `pattern`; on success fills `params` with the captured segments.
bool MatchRoute(std::string_view pattern, std::string_view path, std::vector<std::string>* params);

// The route for `method` and `path`, with its captures in `params`; nullptr when there is
// none, and then `path_known` says whether the path exists for another method.
const Route* FindRoute(std::string_view method, std::string_view path,
                       std::vector<std::string>* params, bool* path_known = nullptr);

}  // namespace carrel
