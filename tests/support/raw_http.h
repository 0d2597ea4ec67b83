#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace carrel::testing {

// A client socket from a chosen loopback source address (127.0.0.x), for tests that must look
// like many clients, or like a slow one. Closed when destroyed.
class RawConnection {
 public:
  RawConnection(const std::string& source, int port);
  ~RawConnection();
  RawConnection(RawConnection&& other) noexcept;
  RawConnection& operator=(RawConnection&& other) noexcept;

  bool connected() const { return fd_ >= 0; }
  // Sends all of `bytes`; false once the server has closed the connection.
  bool Send(std::string_view bytes);
  // What has arrived within `wait`, stopping early at the end of a whole HTTP answer.
  std::string Receive(std::chrono::milliseconds wait);
  // True when the server closes the connection within `wait` (whatever it sent first).
  bool ClosedWithin(std::chrono::milliseconds wait);

 private:
  int fd_ = -1;
  std::string pending_;
};

// One HTTP/1.1 request on a fresh connection from `source`, closed after the answer; the whole
// answer (head and body) as text, or "" when none came within `wait`.
std::string RawRequest(const std::string& source, int port, std::string_view request,
                       std::chrono::milliseconds wait = std::chrono::seconds(10));

// The value of header `name` (case-insensitive) in an answer's head; "" when absent.
std::string HeaderOf(std::string_view answer, std::string_view name);
// The status code of an answer; 0 when it is not an HTTP answer.
int StatusOf(std::string_view answer);

// Raises this process's open-file limit to its hard limit (tests that hold many sockets).
void RaiseFileLimit();

}  // namespace carrel::testing
