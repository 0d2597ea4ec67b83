#include "tests/support/raw_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace carrel::testing {
namespace {

using Clock = std::chrono::steady_clock;

// True when `text` holds a whole answer: a head, and as many body bytes as it announces.
bool WholeAnswer(const std::string& text) {
  size_t end = text.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  std::string length = HeaderOf(text, "content-length");
  if (length.empty()) return false;
  return text.size() >= end + 4 + std::strtoull(length.c_str(), nullptr, 10);
}

}  // namespace

RawConnection::RawConnection(const std::string& source, int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  sockaddr_in from{};
  from.sin_family = AF_INET;
  inet_pton(AF_INET, source.c_str(), &from.sin_addr);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0 ||
      connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    close(fd);
    return;
  }
  fd_ = fd;
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) close(fd_);
}

RawConnection::RawConnection(RawConnection&& other) noexcept
    : fd_(other.fd_), pending_(std::move(other.pending_)) {
  other.fd_ = -1;
}

RawConnection& RawConnection::operator=(RawConnection&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = other.fd_;
    pending_ = std::move(other.pending_);
    other.fd_ = -1;
  }
  return *this;
}

bool RawConnection::Send(std::string_view bytes) {
  while (!bytes.empty()) {
    if (fd_ < 0) return false;
    ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::string RawConnection::Receive(std::chrono::milliseconds wait) {
  auto deadline = Clock::now() + wait;
  std::string got = std::move(pending_);
  pending_.clear();
  while (fd_ >= 0 && !WholeAnswer(got)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[8192];
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

bool RawConnection::ClosedWithin(std::chrono::milliseconds wait) {
  auto deadline = Clock::now() + wait;
  while (fd_ >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[4096];
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return true;
    pending_.append(buf, static_cast<size_t>(n));
  }
  return true;
}

std::string RawRequest(const std::string& source, int port, std::string_view request,
                       std::chrono::milliseconds wait) {
  RawConnection c(source, port);
  if (!c.connected() || !c.Send(request)) return {};
  return c.Receive(wait);
}

std::string HeaderOf(std::string_view answer, std::string_view name) {
  size_t end = answer.find("\r\n\r\n");
  std::string_view head = answer.substr(0, end);
  size_t at = head.find("\r\n");
  while (at != std::string_view::npos) {
    size_t next = head.find("\r\n", at + 2);
    std::string_view line = head.substr(at + 2, next == std::string_view::npos ? next : next - at - 2);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos && colon == name.size() &&
        std::equal(name.begin(), name.end(), line.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      return std::string(value);
    }
    at = next;
  }
  return {};
}

int StatusOf(std::string_view answer) {
  // "HTTP/1.1 200 OK", or "HTTP/2 200" as curl prints an HTTP/2 answer.
  if (answer.substr(0, 5) != "HTTP/") return 0;
  size_t space = answer.find(' ');
  if (space == std::string_view::npos || answer.size() < space + 4) return 0;
  return std::atoi(std::string(answer.substr(space + 1, 3)).c_str());
}

void RaiseFileLimit() {
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
}

}  // namespace carrel::testing
