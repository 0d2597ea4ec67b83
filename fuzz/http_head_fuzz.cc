// libFuzzer target: an HTTP/1.1 request head as a client (or a proxy in front of carrel) could
// send it, through what the listener does with it (src/api/http_listener.cc): Boost.Beast's
// parser with the listener's head limit, then the API's reading of the head
// (src/api/request_head.cc: the target's path and query, percent-decoded, the headers by
// lower-case name), the client's address behind trusted proxies (src/api/forwarded.cc) and
// the route it names. Checks, beyond "no crash, no leak, no undefined behaviour":
//  - a head taken has a path that begins with '/' and header names in lower case;
//  - the client's address is the peer's, or one a trusted peer forwarded for.

#include <boost/beast/core/buffers_prefix.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "api/forwarded.h"
#include "api/http_listener.h"
#include "api/request_head.h"
#include "api/routes.h"
#include "fuzz/support/fuzz_support.h"

using carrel::fuzz::Broken;

namespace {

namespace http = boost::beast::http;

const std::vector<carrel::AddressRange>& Trusted() {
  static const auto* ranges = new std::vector<carrel::AddressRange>{
      *carrel::AddressRange::Parse("127.0.0.0/8"), *carrel::AddressRange::Parse("fd00::/8")};
  return *ranges;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // The first byte: whether the peer is a trusted proxy, and whether it came over TLS.
  const bool trusted_peer = (data[0] & 1) != 0;
  const bool tls = (data[0] & 2) != 0;
  http::request_parser<http::string_body> parser;
  parser.header_limit(static_cast<uint32_t>(carrel::ListenerLimits{}.header_bytes));
  parser.body_limit(64 * 1024);
  boost::beast::error_code ec;
  boost::asio::const_buffer input(data + 1, size - 1);
  size_t used = parser.put(input, ec);
  (void)used;
  if (ec || !parser.is_header_done()) return 0;

  carrel::ApiRequest request;
  std::string refusal = carrel::ReadRequestHead(parser.get(), &request);
  if (!refusal.empty()) return 0;
  if (request.path.empty() || request.path.front() != '/')
    Broken("http_head", "a path that is not a path");
  for (const auto& [name, value] : request.headers) {
    for (char c : name) {
      if (std::isupper(static_cast<unsigned char>(c)))
        Broken("http_head", "a header name not lower-cased");
    }
  }
  const std::string peer = trusted_peer ? "127.0.0.1" : "203.0.113.9";
  carrel::ClientOrigin origin = carrel::ResolveClient(peer, tls, request.headers, Trusted());
  if (origin.address.empty()) Broken("http_head", "no client address");
  if (!trusted_peer && (origin.address != peer || origin.https != tls)) {
    Broken("http_head", "an untrusted peer was believed about whom it forwards for");
  }
  std::vector<std::string> params;
  bool path_known = false;
  const carrel::Route* route =
      carrel::FindRoute(request.method, request.path, &params, &path_known);
  if (route != nullptr && route->method != request.method)
    Broken("http_head", "a route of another method");
  for (const std::string& p : params) {
    if (p.empty() || p.find('/') != std::string::npos)
      Broken("http_head", "a path parameter that is no segment");
  }
  return 0;
}
