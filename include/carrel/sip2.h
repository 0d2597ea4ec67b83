#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "carrel/library.h"
#include "carrel/server.h"
#include "carrel/status.h"

namespace carrel {

// SIP2 for self-check kiosks and automated returns (docs/sip2.md): `carrel serve --sip2`.
// Each message a kiosk sends is answered through the API's own routes for kiosks, under the
// session its login (93) opened, so a kiosk may do what the route table lets the kiosk role do
// and nothing else, and every operation is audited as the API's are.
struct Sip2Options {
  bool tls = true;  // plain TCP only when the caller says so (loopback, or an explicit flag)
  std::string tls_cert_file, tls_key_file;
  size_t max_connections = 256;
  size_t max_connections_per_address = 64;
  // A kiosk that has logged in may sit idle this long between messages (a connection that has
  // not, no longer than `message_timeout`); a message, once begun, must arrive whole within
  // `message_timeout`.
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(30)};
  std::chrono::milliseconds message_timeout{std::chrono::seconds(10)};
};

class Sip2Server {
 public:
  // Neither pointer is owned; both must outlive this object.
  Sip2Server(ApiServer* api, Library* library, Sip2Options options);
  ~Sip2Server();

  // Binds host:port (0 picks a free port); returns the port. One line for an address in use,
  // or a certificate or key that does not load.
  StatusOr<int> Bind(const std::string& host, int port);
  // Serves until Stop(); returns once every connection has closed.
  Status Serve();
  // Safe from any thread.
  void Stop();
  size_t open_connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace carrel
