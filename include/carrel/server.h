#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "carrel/jobs.h"
#include "carrel/library.h"
#include "carrel/status.h"

namespace carrel {

struct Route;

// A request as the route handlers see it: no sockets, so handlers are tested directly.
struct ApiRequest {
  std::string method;
  std::string path;
  std::vector<std::string> path_params;  // captures of the route's pattern
  std::multimap<std::string, std::string> query;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string remote_address;  // the client's: behind a trusted proxy, the one it names
  std::string scheme = "http";  // "https" when the client used TLS, to carrel or to the proxy
  std::string body;
};

struct ApiResponse {
  ApiResponse() = default;
  ApiResponse(int status_code, std::string type, std::string text)
      : status(status_code), content_type(std::move(type)), body(std::move(text)) {}

  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::string set_cookie;   // a session token to set as the session cookie
  bool clear_cookie = false;
  // A printable document of carrel's own with inline styles (and no script): its
  // Content-Security-Policy allows inline style.
  bool inline_styles = false;
  std::vector<std::pair<std::string, std::string>> headers;  // any further headers
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
  bool tls = false;
  std::string tls_cert_file, tls_key_file;
  // Peers (CIDR blocks) believed about the client they forward for (Forwarded,
  // X-Forwarded-For, X-Forwarded-Proto); everyone else is the client.
  std::vector<std::string> trusted_proxies;
  // Transport limits (see docs/deployment.md): deadlines, rates and caps.
  std::chrono::milliseconds head_timeout{10000};  // the whole request head
  std::chrono::milliseconds idle_timeout{5000};   // a kept-alive connection between requests
  size_t min_bytes_per_second = 16 * 1024;        // bodies in, answers out
  size_t max_connections = 2048;                  // in all; beyond, 503 at once
  size_t max_connections_per_client = 128;        // per client address
  int workers = 64;                               // threads running handlers
  // Handlers running at once, the others waiting in line (see docs/design.md, "The HTTP
  // server"): -1 chooses twice the cores when the library's store works on the handlers' own
  // threads (SQLite), and no limit when handlers wait on a database server (PostgreSQL); 0: no
  // limit.
  int handlers_at_once = -1;
  int io_threads = 2;                             // threads doing socket work
  // Sends an eNews confirmation token to its address (the outbound hook; tests capture it).
  std::function<void(const std::string& email, const std::string& token)> deliver_confirmation;
  // When set, Serve() also runs the library's scheduled jobs (carrel/jobs.h) while it serves,
  // and signs a final head when it stops. `carrel serve` sets it; tests that drive jobs with a
  // fake clock call Jobs themselves.
  std::optional<JobsOptions> jobs;
  // When set, every answer is checked against its route's declared contract (the tests set
  // it); a breach is reported here (the route's action, the status, what is wrong) and the
  // client gets a server error in place of the answer.
  std::function<void(std::string_view action, int status, const std::string& what)>
      contract_breach;
};

// The API's OpenAPI 3.1 document (YAML), written from the route table and its contracts.
const std::string& OpenApiDocument();

// The carrel HTTP API over a Library. Routes come from one table (api/routes.cc); the
// dispatcher applies authentication, authorization, CSRF, limits and the audit of denials.
class ApiServer {
 public:
  ApiServer(Library* library, ServerOptions options = {});
  ~ApiServer();

  // Dispatches without a socket.
  ApiResponse Handle(const ApiRequest& request);

  // Binds host:port (port 0 picks a free one); returns the bound port. Fails with one line
  // for an address in use, a certificate or key that does not load, a bad proxy block.
  StatusOr<int> Bind(const std::string& host, int port);
  // Serves until Stop(). REQUIRES: Bind succeeded.
  Status Serve();
  // Safe from any thread (not from a signal handler).
  void Stop();
  // Open connections now.
  size_t open_connections() const;

  const std::string& openapi_yaml() const;
  void DeliverConfirmation(const std::string& email, const std::string& token);

 private:
  ApiResponse Dispatch(const ApiRequest& request, const Route** route);

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace carrel
