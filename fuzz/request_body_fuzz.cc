// libFuzzer target: a request's query and body as a client could send them, through the route
// validator every request passes before its handler (ReadInput in src/api/contract.cc: the
// size, the nesting depth, the JSON, then the route's contract) and, for the request
// workflow's steps, on into the step's typed arguments (src/requests/step_args.cc), as the
// step's handler reads them. Input: a first line naming the route ("POST /api/v1/..." as the
// route table writes its pattern; any other line picks one by its hash), the query string on
// the second, then the body. Checks, beyond "no crash, no leak, no undefined behaviour":
//  - a refusal is a problem answer (400 or 413, application/problem+json);
//  - a taken step body reads into its arguments, and those written back read again the same.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "api/routes.h"
#include "api/schemas.h"
#include "fuzz/support/fuzz_support.h"
#include "requests/step_args.h"

using carrel::fuzz::Broken;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<carrel::Route>& routes = carrel::RouteTable();
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t first = input.find('\n');
  if (first == std::string_view::npos) return 0;
  std::string_view name = input.substr(0, first);
  const carrel::Route* chosen = nullptr;
  for (const carrel::Route& r : routes) {
    if (name.size() == r.method.size() + 1 + r.pattern.size() && name.starts_with(r.method) &&
        name[r.method.size()] == ' ' && name.ends_with(r.pattern)) {
      chosen = &r;
    }
  }
  const carrel::Route& route =
      chosen != nullptr ? *chosen : routes[std::hash<std::string_view>()(name) % routes.size()];
  std::string_view rest = input.substr(first + 1);
  size_t newline = rest.find('\n');
  std::string_view query = rest.substr(0, newline);
  carrel::ApiRequest request;
  request.method = std::string(route.method);
  request.path = std::string(route.pattern);
  // Path parameters: each its schema's example, so that the body is reached.
  for (size_t at = route.pattern.find('{'); at != std::string_view::npos;
       at = route.pattern.find('{', at + 1)) {
    size_t close = route.pattern.find('}', at);
    nlohmann::json example =
        carrel::ExampleOf(carrel::PathParamSchema(route.pattern.substr(at + 1, close - at - 1)));
    request.path_params.push_back(example.is_string() ? example.get<std::string>()
                                                      : example.dump());
  }
  size_t at = 0;
  while (at < query.size()) {
    size_t end = query.find('&', at);
    if (end == std::string_view::npos) end = query.size();
    std::string_view pair = query.substr(at, end - at);
    size_t eq = pair.find('=');
    request.query.emplace(std::string(pair.substr(0, eq)),
                          eq == std::string_view::npos ? "" : std::string(pair.substr(eq + 1)));
    at = end + 1;
  }
  if (newline != std::string_view::npos) request.body = std::string(rest.substr(newline + 1));

  nlohmann::json body = nlohmann::json::object();
  const bool writes = route.method != "GET";
  std::optional<carrel::ApiResponse> refused =
      carrel::ReadInput(route, request, writes, 64 * 1024, 8, &body);
  if (refused) {
    if ((refused->status != 400 && refused->status != 413) ||
        refused->content_type != "application/problem+json") {
      Broken("request_body", "a refusal that is not a 400 or 413 problem");
    }
    return 0;
  }
  // A step of the request workflow: the handler's reading of the body it was given.
  std::string_view action = route.action;
  if (action.rfind("request.", 0) != 0) return 0;
  std::string step(action.substr(8));
  if (route.contract.body == nullptr || route.contract.body != carrel::StepBodySchema(step)) {
    return 0;
  }
  nlohmann::json payload = body;
  payload.erase("password");
  auto args = carrel::StepArgsFromJson(step, payload);
  if (!args.ok()) return 0;  // the core's own checks (dates in order and the like)
  auto again = carrel::StepArgsFromJson(step, carrel::StepArgsToJson(*args));
  if (!again.ok() ||
      carrel::StepArgsToJson(*again).dump() != carrel::StepArgsToJson(*args).dump()) {
    Broken("request_body", "a step's arguments do not read back as written");
  }
  return 0;
}
