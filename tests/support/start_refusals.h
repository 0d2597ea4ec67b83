#pragma once

// What the tests of a bad start (`carrel serve` with a port in use, a certificate that does
// not load, a flag that does not fit) share: the refusal's shape, and a port that is taken.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <string>
#include <string_view>

#include "tests/support/run.h"

namespace carrel::testing {

// One line on stderr, starting "carrel: " and saying `words`, and a non-zero exit.
inline void ExpectOneLineRefusal(const CommandResult& r, std::string_view words) {
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.rfind("carrel: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(words), std::string::npos) << r.err;
}

// A loopback address someone is listening on, "127.0.0.1:PORT"; `*fd` holds it until closed.
inline std::string BusyLoopbackAddress(int* fd) {
  *fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(*fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(listen(*fd, 1), 0);
  socklen_t len = sizeof addr;
  getsockname(*fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
}

}  // namespace carrel::testing
