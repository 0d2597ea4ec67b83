#pragma once

// A SIP2 client for the tests, written from the protocol's specification (3M SIP2 2.00) and
// sharing no code with the server's codec (src/sip2): it frames, checksums and reads
// messages on its own, over plain TCP or TLS (OpenSSL, no certificate check: the tests'
// certificates are made on the spot).

#include <openssl/ssl.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace carrel::testing {

// The checksum SIP2 puts after "AZ": the two's complement of the byte sum, four hex digits.
std::string SipChecksum(const std::string& through_az);

struct SipAnswer {
  std::string raw;    // as received, without the carriage return
  std::string code;   // "12"
  std::string fixed;  // the fixed-length fields
  std::multimap<std::string, std::string> fields;
  std::optional<char> sequence;
  bool checksum_present = false;
  bool checksum_ok = false;
  bool well_formed = false;  // the fixed fields had the length the specification gives

  std::string Field(const std::string& id) const;  // "" when absent
  bool Has(const std::string& id) const { return fields.count(id) > 0; }
  std::vector<std::string> All(const std::string& id) const;
};

class SipClient {
 public:
  SipClient(int port, bool tls);
  ~SipClient();
  SipClient(const SipClient&) = delete;
  SipClient& operator=(const SipClient&) = delete;

  bool connected() const { return fd_ >= 0; }
  // Sends `body` (a message without error detection fields) with the next sequence number and
  // its checksum, and reads the answer.
  SipAnswer Send(const std::string& body);
  // Sends `bytes` exactly as given (a carriage return is added), and reads the answer.
  SipAnswer SendRaw(const std::string& bytes);
  // The text Send last put on the wire (without the carriage return).
  const std::string& last_sent() const { return last_sent_; }
  // The next message is sent with this sequence number.
  void set_sequence(int n) { sequence_ = n % 10; }

 private:
  bool Write(const std::string& bytes);
  std::string ReadLine();

  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int sequence_ = 0;
  std::string last_sent_;
};

// SIP2's "YYYYMMDDZZZZHHMMSS" for a message's date field.
inline constexpr char kSipDate[] = "20261201    100000";

}  // namespace carrel::testing
