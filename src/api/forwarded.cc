#include "api/forwarded.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <optional>

namespace carrel {
namespace {

using Bytes = std::array<uint8_t, 16>;

// An address as 16 bytes, IPv4 mapped into IPv6 (::ffff:a.b.c.d).
std::optional<Bytes> ParseAddress(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  std::string s(text);
  Bytes out{};
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    out[10] = out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    return out;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    return out;
  }
  return std::nullopt;
}

bool IsMappedV4(const Bytes& b) {
  return std::all_of(b.begin(), b.begin() + 10, [](uint8_t x) { return x == 0; }) &&
         b[10] == 0xff && b[11] == 0xff;
}

// The canonical text: dotted IPv4 for IPv4 and IPv4-mapped addresses.
std::string FormatAddress(const Bytes& b) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (IsMappedV4(b)) {
    inet_ntop(AF_INET, b.data() + 12, buf, sizeof buf);
  } else {
    inet_ntop(AF_INET6, b.data(), buf, sizeof buf);
  }
  return buf;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t at = 0;
  while (at <= s.size()) {
    size_t end = s.find(sep, at);
    if (end == std::string_view::npos) end = s.size();
    parts.push_back(Trim(s.substr(at, end - at)));
    at = end + 1;
  }
  return parts;
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// A node of Forwarded's for= ("192.0.2.1", "\"[2001:db8::1]:4711\"", "192.0.2.1:80") as an
// address; nullopt for "unknown", obfuscated names and anything else.
std::optional<Bytes> NodeAddress(std::string_view node) {
  if (node.size() >= 2 && node.front() == '"' && node.back() == '"') {
    node = node.substr(1, node.size() - 2);
  }
  if (!node.empty() && node.front() == '[') {
    size_t close = node.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    return ParseAddress(node.substr(1, close - 1));
  }
  if (std::count(node.begin(), node.end(), ':') == 1) node = node.substr(0, node.find(':'));
  return ParseAddress(node);
}

struct Hop {
  std::optional<Bytes> address;
  std::string proto;  // as the hop received it; empty when not said
};

// The hops a header names, client first. Forwarded wins over the X-Forwarded pair.
std::vector<Hop> HopsFrom(const std::map<std::string, std::string>& headers) {
  std::vector<Hop> hops;
  if (auto f = headers.find("forwarded"); f != headers.end()) {
    for (std::string_view element : Split(f->second, ',')) {
      Hop hop;
      for (std::string_view pair : Split(element, ';')) {
        size_t eq = pair.find('=');
        if (eq == std::string_view::npos) continue;
        std::string_view key = Trim(pair.substr(0, eq)), value = Trim(pair.substr(eq + 1));
        if (EqualsNoCase(key, "for")) hop.address = NodeAddress(value);
        if (EqualsNoCase(key, "proto")) {
          if (value.size() >= 2 && value.front() == '"') value = value.substr(1, value.size() - 2);
          hop.proto = std::string(value);
        }
      }
      hops.push_back(std::move(hop));
    }
    return hops;
  }
  if (auto x = headers.find("x-forwarded-for"); x != headers.end()) {
    for (std::string_view node : Split(x->second, ',')) hops.push_back({NodeAddress(node), ""});
  }
  if (auto p = headers.find("x-forwarded-proto"); p != headers.end() && !hops.empty()) {
    std::vector<std::string_view> protos = Split(p->second, ',');
    hops.back().proto = std::string(protos.back());
  }
  return hops;
}

bool Trusted(const Bytes& address, const std::vector<AddressRange>& trusted) {
  std::string text = FormatAddress(address);
  return std::any_of(trusted.begin(), trusted.end(),
                     [&](const AddressRange& r) { return r.Contains(text); });
}

}  // namespace

StatusOr<AddressRange> AddressRange::Parse(std::string_view cidr) {
  std::string_view address = cidr, bits_text;
  if (size_t slash = cidr.find('/'); slash != std::string_view::npos) {
    address = cidr.substr(0, slash);
    bits_text = cidr.substr(slash + 1);
  }
  std::optional<Bytes> bytes = ParseAddress(address);
  if (!bytes) {
    return InvalidArgument("'" + std::string(cidr).substr(0, 64) +
                           "' is not an address block such as 10.0.0.0/8 or fd00::/8");
  }
  bool v4 = address.find(':') == std::string_view::npos;
  int max_bits = v4 ? 32 : 128;
  int bits = max_bits;
  if (!bits_text.empty() || cidr.find('/') != std::string_view::npos) {
    if (bits_text.empty() || bits_text.size() > 3 ||
        bits_text.find_first_not_of("0123456789") != std::string_view::npos ||
        std::stoi(std::string(bits_text)) > max_bits) {
      return InvalidArgument("'" + std::string(cidr).substr(0, 64) + "' has a prefix length " +
                             "that is not a number from 0 to " + std::to_string(max_bits));
    }
    bits = std::stoi(std::string(bits_text));
  }
  AddressRange range;
  range.bytes_ = *bytes;
  range.bits_ = v4 ? bits + 96 : bits;
  range.text_ = std::string(cidr);
  // Host bits are ignored: 10.1.2.3/8 is 10.0.0.0/8.
  for (int i = range.bits_; i < 128; ++i) range.bytes_[i / 8] &= ~(0x80 >> (i % 8));
  return range;
}

bool AddressRange::Contains(std::string_view address) const {
  std::optional<Bytes> b = ParseAddress(address);
  if (!b) return false;
  for (int i = 0; i < bits_; ++i) {
    uint8_t mask = 0x80 >> (i % 8);
    if (((*b)[i / 8] & mask) != (bytes_[i / 8] & mask)) return false;
  }
  return true;
}

ClientOrigin ResolveClient(std::string_view peer, bool peer_tls,
                           const std::map<std::string, std::string>& headers,
                           const std::vector<AddressRange>& trusted) {
  std::optional<Bytes> peer_bytes = ParseAddress(peer);
  ClientOrigin origin{peer_bytes ? FormatAddress(*peer_bytes) : std::string(peer), peer_tls};
  if (!peer_bytes || !Trusted(*peer_bytes, trusted)) return origin;
  std::vector<Hop> hops = HopsFrom(headers);
  // The trusted peer says which scheme it received; each further trusted hop says the same of
  // the one before it.
  while (!hops.empty()) {
    Hop hop = std::move(hops.back());
    hops.pop_back();
    if (!hop.proto.empty()) origin.https = EqualsNoCase(hop.proto, "https");
    if (!hop.address) break;  // "unknown" or a name: the last address known stands
    origin.address = FormatAddress(*hop.address);
    if (!Trusted(*hop.address, trusted)) break;
  }
  return origin;
}

}  // namespace carrel
