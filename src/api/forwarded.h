#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "carrel/status.h"

namespace carrel {

// A block of addresses, such as 10.0.0.0/8 or fd00::/8 (an IPv4 block also matches the same
// addresses written as IPv4-mapped IPv6, ::ffff:10.1.2.3).
class AddressRange {
 public:
  // "ADDRESS/BITS" or a single "ADDRESS". InvalidArgument names what is wrong.
  static StatusOr<AddressRange> Parse(std::string_view cidr);
  bool Contains(std::string_view address) const;
  const std::string& text() const { return text_; }

 private:
  std::array<uint8_t, 16> bytes_{};  // IPv6, or IPv4-mapped
  int bits_ = 0;                     // of the 128
  std::string text_;
};

// Where a request comes from. `address` is the client's address as text; `https` is the scheme
// the client used.
struct ClientOrigin {
  std::string address;
  bool https = false;
};

// The client behind `peer` (the socket's other end). Only a trusted peer is believed about
// who it forwards for: then `Forwarded` (RFC 7239), or else `X-Forwarded-For` and
// `X-Forwarded-Proto`, are read from the right, skipping trusted proxies, and the first
// address not trusted is the client's. An untrusted peer is the client, whatever it says.
// `headers` are keyed by lower-case name; repeated headers are joined by ", ".
ClientOrigin ResolveClient(std::string_view peer, bool peer_tls,
                           const std::map<std::string, std::string>& headers,
                           const std::vector<AddressRange>& trusted);

}  // namespace carrel
