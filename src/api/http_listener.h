#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/forwarded.h"
#include "carrel/server.h"
#include "carrel/status.h"

namespace carrel {

// An answer as it goes on the wire: status, every header, body.
struct HttpAnswer {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct ListenerLimits {
  // The whole request head must arrive within this time of its first byte (or of the
  // connection's opening).
  std::chrono::milliseconds head_timeout{10000};
  // A kept-alive connection may wait this long for the next request's first byte.
  std::chrono::milliseconds idle_timeout{5000};
  // A body must arrive at least this fast (after head_timeout of grace); an answer must be
  // taken at least this fast too.
  size_t min_bytes_per_second = 16 * 1024;
  size_t header_bytes = 16 * 1024;
  size_t max_connections = 2048;             // in all; more are refused at once
  size_t max_connections_per_client = 128;   // per client address
  int io_threads = 2;                        // socket work only
  int workers = 64;                          // handlers; they see complete requests only
  int handlers_at_once = 0;                  // handlers running at once (CpuGate); 0: all
};

// The HTTP/1.1 transport (Boost.Beast over Asio): sockets are read and written
// asynchronously on a few I/O threads under deadlines, and a complete request is handed to a
// worker thread, so a slow or idle client never holds a worker. Connections beyond the caps
// are answered 503 with Retry-After at once (over TLS, closed at once).
class HttpListener {
 public:
  // Runs on a worker; gets a complete request with its client address and scheme resolved.
  using Dispatch = std::function<HttpAnswer(ApiRequest& request)>;
  // The answer for a refusal made by the transport itself (limits, deadlines, bad syntax).
  using Refusal = std::function<HttpAnswer(const ApiRequest& request, int status,
                                           std::string_view detail)>;
  // The largest body a route accepts; bigger ones are refused before they are read.
  using BodyLimit = std::function<size_t(std::string_view method, std::string_view path)>;

  struct Options {
    ListenerLimits limits;
    bool tls = false;
    std::string tls_cert_file, tls_key_file;
    std::vector<AddressRange> trusted_proxies;
  };

  HttpListener(Options options, Dispatch dispatch, Refusal refusal, BodyLimit body_limit);
  ~HttpListener();

  // Loads the certificate (when TLS) and listens on host:port (0: any free port). Returns the
  // port. Fails with one line naming the cause: address in use, certificate not loaded.
  StatusOr<int> Bind(const std::string& host, int port);
  // Serves until Stop(); runs I/O on this thread and io_threads - 1 more.
  Status Serve();
  // Safe from any thread, before, during or after Serve.
  void Stop();

  // Open connections now (for tests and the operator's view).
  size_t open_connections() const;

 public:
  struct Impl;  // shared with the connections in http_listener.cc

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace carrel
