#include "api/request_head.h"

#include <cctype>

namespace carrel {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding; '+' is a space only in a query.
std::string Decode(std::string_view s, bool query) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else if (query && s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

void ParseQuery(std::string_view query, std::multimap<std::string, std::string>* out) {
  size_t at = 0;
  while (at < query.size()) {
    size_t end = query.find('&', at);
    if (end == std::string_view::npos) end = query.size();
    std::string_view pair = query.substr(at, end - at);
    if (!pair.empty()) {
      size_t eq = pair.find('=');
      if (eq == std::string_view::npos) {
        out->emplace(Decode(pair, true), "");
      } else {
        out->emplace(Decode(pair.substr(0, eq), true), Decode(pair.substr(eq + 1), true));
      }
    }
    at = end + 1;
  }
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::string ReadRequestHead(const boost::beast::http::request_header<>& head, ApiRequest* request) {
  request->method = std::string(head.method_string());
  std::string_view target(head.target().data(), head.target().size());
  if (target.empty() || target.front() != '/') return "the request target must be a path";
  size_t q = target.find('?');
  request->path = Decode(target.substr(0, q), false);
  if (q != std::string_view::npos) ParseQuery(target.substr(q + 1), &request->query);
  for (const auto& field : head) {
    std::string name =
        Lower(std::string_view(field.name_string().data(), field.name_string().size()));
    std::string_view value(field.value().data(), field.value().size());
    auto [it, fresh] = request->headers.try_emplace(name, value);
    if (!fresh) it->second.append(name == "cookie" ? "; " : ", ").append(value);
  }
  return "";
}

}  // namespace carrel
