#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "carrel/library.h"
#include "carrel/status.h"

namespace carrel {

// A request as the route handlers see it: no sockets, so handlers are tested directly.
struct ApiRequest {
  std::string method;
  std::string path;
  std::vector<std::string> path_params;  // captures of the route's pattern
  std::multimap<std::string, std::string> query;
  std::string body;
};

struct ApiResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

// Maps a Status to its HTTP status code, in one place (STYLE: one status -> HTTP mapping).
int HttpStatusFor(StatusCode code);
// RFC 9457 problem details for a failed Status. The detail is the status message, which is
// written never to hold PII.
ApiResponse ProblemResponse(const Status& status, std::string_view instance);
ApiResponse ProblemResponse(int http_status, std::string_view title, std::string_view detail,
                            std::string_view instance);

// The carrel HTTP API over a Library. Routes come from one table (api/routes.cc).
class ApiServer {
 public:
  explicit ApiServer(Library* library);
  ~ApiServer();

  // Dispatches without a socket.
  ApiResponse Handle(const ApiRequest& request);

  // Binds host:port (port 0 picks a free one); returns the bound port.
  StatusOr<int> Bind(const std::string& host, int port);
  // Serves until Stop(). REQUIRES: Bind succeeded.
  Status Serve();
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace carrel
