#include "tests/support/sip2_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>

namespace carrel::testing {
namespace {

// The length of the fixed fields of each answer, from the specification's message layouts.
int AnswerFixedLength(const std::string& code) {
  static const std::map<std::string, int> kLengths = {
      {"94", 1},  {"98", 34}, {"24", 35}, {"64", 59}, {"12", 22}, {"10", 22}, {"18", 24},
      {"30", 22}, {"66", 27}, {"38", 19}, {"16", 20}, {"36", 19}, {"96", 0},
  };
  auto it = kLengths.find(code);
  return it == kLengths.end() ? -1 : it->second;
}

SipAnswer Read(const std::string& raw) {
  SipAnswer a;
  a.raw = raw;
  std::string text = raw;
  size_t az = text.rfind("AZ");
  if (az != std::string::npos && az + 6 == text.size()) {
    a.checksum_present = true;
    a.checksum_ok = SipChecksum(text.substr(0, az + 2)) == text.substr(az + 2);
    text.resize(az);
    size_t ay = text.rfind("AY");
    if (ay != std::string::npos && ay + 3 == text.size()) {
      a.sequence = text[ay + 2];
      text.resize(ay);
    }
  }
  if (text.size() < 2) return a;
  a.code = text.substr(0, 2);
  int fixed = AnswerFixedLength(a.code);
  if (fixed < 0 || text.size() < 2 + static_cast<size_t>(fixed)) return a;
  a.fixed = text.substr(2, fixed);
  a.well_formed = true;
  std::string rest = text.substr(2 + fixed);
  size_t at = 0;
  while (at < rest.size()) {
    size_t bar = rest.find('|', at);
    if (bar == std::string::npos) bar = rest.size();
    if (bar - at >= 2)
      a.fields.emplace(rest.substr(at, 2), rest.substr(at + 2, bar - at - 2));
    else
      a.well_formed = false;
    at = bar + 1;
  }
  return a;
}

}  // namespace

std::string SipChecksum(const std::string& through_az) {
  unsigned total = 0;
  for (char c : through_az) total += static_cast<unsigned char>(c);
  unsigned value = (~total + 1u) & 0xFFFFu;
  char out[8];
  std::snprintf(out, sizeof out, "%04X", value);
  return out;
}

std::string SipAnswer::Field(const std::string& id) const {
  auto it = fields.find(id);
  return it == fields.end() ? std::string() : it->second;
}

std::vector<std::string> SipAnswer::All(const std::string& id) const {
  std::vector<std::string> out;
  auto [from, to] = fields.equal_range(id);
  for (auto it = from; it != to; ++it) out.push_back(it->second);
  return out;
}

SipClient::SipClient(int port, bool tls) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return;
  }
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (tls) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd);
    if (SSL_connect(ssl_) != 1) {
      close(fd);
      return;
    }
  }
  fd_ = fd;
}

SipClient::~SipClient() {
  if (ssl_ != nullptr) {
    SSL_shutdown(ssl_);
    SSL_free(ssl_);
  }
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
  if (fd_ >= 0) close(fd_);
}

bool SipClient::Write(const std::string& bytes) {
  if (fd_ < 0) return false;
  if (ssl_ != nullptr) return SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size())) > 0;
  return send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
}

std::string SipClient::ReadLine() {
  std::string line;
  char c;
  while (fd_ >= 0) {
    int n = ssl_ != nullptr ? SSL_read(ssl_, &c, 1) : static_cast<int>(recv(fd_, &c, 1, 0));
    if (n <= 0) break;
    if (c == '\r') return line;
    line.push_back(c);
  }
  return line;  // the connection ended (or timed out) before a whole answer
}

SipAnswer SipClient::Send(const std::string& body) {
  std::string text = body + "AY" + std::to_string(sequence_) + "AZ";
  text += SipChecksum(text);
  sequence_ = (sequence_ + 1) % 10;
  last_sent_ = text;
  return SendRaw(text);
}

SipAnswer SipClient::SendRaw(const std::string& bytes) {
  if (!Write(bytes + "\r")) return SipAnswer();
  return Read(ReadLine());
}

}  // namespace carrel::testing
