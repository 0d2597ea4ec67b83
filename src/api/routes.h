#pragma once

#include <string_view>
#include <vector>

#include "carrel/library.h"
#include "carrel/server.h"

namespace carrel {

using RouteHandler = StatusOr<ApiResponse> (*)(Library& library, const ApiRequest& request);

// One row per route (STYLE point 6): method, path pattern ("{name}" matches one segment),
// action name, whether it changes state, and the handler. Authorization and audit (later
// issues) hang off this table, never off hand-written checks in handlers.
struct Route {
  std::string_view method;
  std::string_view pattern;
  std::string_view action;
  bool mutates;
  RouteHandler handler;
};

const std::vector<Route>& RouteTable();

// Matches `path` against `pattern`; on success fills `params` with the captured segments.
bool MatchRoute(std::string_view pattern, std::string_view path, std::vector<std::string>* params);

}  // namespace carrel
