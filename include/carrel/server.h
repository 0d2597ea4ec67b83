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
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string remote_address;
  std::string body;
};

struct ApiResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::string set_cookie;   // a session token to set as the session cookie
  bool clear_cookie = false;
};

// Maps a Status to its HTTP status code, in one place (STYLE: one status -> HTTP mapping).
int HttpStatusFor(StatusCode code);
// RFC 9457 problem details for a failed Status. The detail is the status message, which is
// written never to hold PII.
ApiResponse ProblemResponse(const Status& status, std::string_view instance);
ApiResponse ProblemResponse(int http_status, std::string_view title, std::string_view detail,
                            std::string_view instance);

struct ServerOptions {
  size_t max_body_bytes = 64 * 1024;
  int max_json_depth = 8;
  // Attempts per minute per address on login and on public writes (eNews).
  int login_per_minute = 20;
  int public_writes_per_minute = 30;
  bool tls = false;  // cookies get Secure
  std::string tls_cert_file, tls_key_file;
  // Sends an eNews confirmation token to its address (the outbound hook; tests capture it).
  std::function<void(const std::string& email, const std::string& token)> deliver_confirmation;
};

// The carrel HTTP API over a Library. Routes come from one table (api/routes.cc); the
// dispatcher applies authentication, authorization, CSRF, limits and the audit of denials.
class ApiServer {
 public:
  ApiServer(Library* library, ServerOptions options = {});
  ~ApiServer();

  // Dispatches without a socket.
  ApiResponse Handle(const ApiRequest& request);

  // Binds host:port (port 0 picks a free one); returns the bound port.
  StatusOr<int> Bind(const std::string& host, int port);
  // Serves until Stop(). REQUIRES: Bind succeeded.
  Status Serve();
  void Stop();

  const std::string& openapi_yaml() const;
  void DeliverConfirmation(const std::string& email, const std::string& token);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace carrel
