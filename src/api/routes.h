#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "api/context.h"

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
};
inline constexpr uint32_t kAnyUser = kStaff | kDirector | kCounsel | kBoard | kAdmin;
inline constexpr uint32_t kAnyone = kAnonymous | kPatronSelf | kAnyUser;
inline constexpr uint32_t kDesk = kStaff | kDirector;

uint32_t AccessBit(Role role);

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
  size_t max_body = 0;       // bytes; 0: the server's default limit
};

const std::vector<Route>& RouteTable();

// Matches `path` against `pattern`; on success fills `params` with the captured segments.
bool MatchRoute(std::string_view pattern, std::string_view path, std::vector<std::string>* params);

// The route for `method` and `path`, with its captures in `params`; nullptr when there is
// none, and then `path_known` says whether the path exists for another method.
const Route* FindRoute(std::string_view method, std::string_view path,
                       std::vector<std::string>* params, bool* path_known = nullptr);

}  // namespace carrel
