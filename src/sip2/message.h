#pragma once

// SIP2 messages as carrel reads and writes them (3M Standard Interchange Protocol 2.00): a
// two-digit code, fixed-length fields, then variable fields (a two-letter id, the value, "|"),
// then, with error detection on, "AY" and a sequence digit, "AZ" and a four-digit checksum,
// and a carriage return. docs/sip2.md lists what carrel reads and writes.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "carrel/status.h"

namespace carrel::sip2 {

inline constexpr size_t kMaxMessageBytes = 4096;
inline constexpr size_t kMaxFieldBytes = 255;

// The checksum of `text` (everything through "AZ"): the sum of its bytes, low 16 bits,
// negated, as four upper-case hex digits.
std::string Checksum(std::string_view text);

struct Message {
  std::string code;                                         // "11"
  std::string fixed;                                        // the fixed-length fields, as sent
  std::vector<std::pair<std::string, std::string>> fields;  // in the order sent
  std::optional<char> sequence;                             // AY, when error detection is on
  bool checksummed = false;                                 // AZ was there (and matched)

  // The first field with `id`, or "" when there is none.
  std::string Field(std::string_view id) const;
  bool Has(std::string_view id) const;
};

// Why a message was not read.
enum class Refusal {
  kNone,
  kBadChecksum,  // answered with 96: the kiosk sends it again
  kTruncated,    // shorter than its fixed fields
  kTooLong,      // a field longer than kMaxFieldBytes, or a message over kMaxMessageBytes
  kBadBytes,     // not UTF-8 text, or a control character inside
  kUnknownCode,  // no message carrel takes has this code
};
std::string_view RefusalText(Refusal refusal);

// Reads one message (without its carriage return). On a refusal `*out` still holds the code
// when it could be read, so that the answer can be of the right kind.
Refusal Parse(std::string_view line, Message* out);

// The length of the fixed fields of a request with `code`; -1 for a code carrel does not take.
int FixedLength(std::string_view code);

// Builds an answer: code, fixed fields, then variable fields; Finish adds AY/AZ when the request
// had them (and the carriage return).
class Writer {
 public:
  explicit Writer(std::string_view code) : text_(code) {}
  Writer& Fixed(std::string_view text) {
    text_ += text;
    return *this;
  }
  Writer& YesNo(bool yes) { return Fixed(yes ? "Y" : "N"); }
  // A whole number in `width` digits, zero-padded (capped at the largest that fits).
  Writer& Count(long long n, int width);
  // A variable field; '|' and control characters in the value are replaced by spaces, and the
  // value is cut to kMaxFieldBytes (on a UTF-8 boundary).
  Writer& Field(std::string_view id, std::string_view value);
  std::string Finish(std::optional<char> sequence, bool checksum);

 private:
  std::string text_;
};

// SIP2's date and time: "YYYYMMDD    HHMMSS", local time (four spaces for the zone).
std::string Timestamp(std::chrono::local_seconds local);

}  // namespace carrel::sip2
