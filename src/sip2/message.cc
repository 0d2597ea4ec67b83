#include "sip2/message.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>

namespace carrel::sip2 {
namespace {

bool IsIdChar(char c) { return c >= 'A' && c <= 'Z'; }

// Valid UTF-8 with no control character (the terminator is not part of `text`).
bool CleanText(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) return false;
    size_t more = c < 0x80             ? 0
                  : (c & 0xe0) == 0xc0 ? 1
                  : (c & 0xf0) == 0xe0 ? 2
                  : (c & 0xf8) == 0xf0 ? 3
                                       : 4;
    if (more == 4) return false;
    if (more == 0) {
      ++i;
      continue;
    }
    if (i + more >= text.size()) return false;
    uint32_t code = c & (0x3fu >> more);
    for (size_t k = 1; k <= more; ++k) {
      unsigned char next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) return false;
      code = (code << 6) | (next & 0x3f);
    }
    // No overlong forms, no surrogates, nothing past U+10FFFF.
    static constexpr uint32_t kLeast[] = {0, 0x80, 0x800, 0x10000};
    if (code < kLeast[more] || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
      return false;
    }
    i += more + 1;
  }
  return true;
}

// `text` cut to at most `max` bytes without splitting a UTF-8 sequence.
std::string_view CutUtf8(std::string_view text, size_t max) {
  if (text.size() <= max) return text;
  size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xc0) == 0x80) --end;
  return text.substr(0, end);
}

}  // namespace

std::string Checksum(std::string_view text) {
  unsigned sum = 0;
  for (unsigned char c : text) sum += c;
  char out[5];
  std::snprintf(out, sizeof out, "%04X", (-sum) & 0xffffu);
  return out;
}

std::string Message::Field(std::string_view id) const {
  for (const auto& [key, value] : fields) {
    if (key == id) return value;
  }
  return "";
}

bool Message::Has(std::string_view id) const {
  return std::any_of(fields.begin(), fields.end(), [&](const auto& f) { return f.first == id; });
}

std::string_view RefusalText(Refusal refusal) {
  switch (refusal) {
    case Refusal::kNone:
      return "";
    case Refusal::kBadChecksum:
      return "the checksum does not match";
    case Refusal::kTruncated:
      return "the message is shorter than its fixed fields";
    case Refusal::kTooLong:
      return "a field or the message is too long";
    case Refusal::kBadBytes:
      return "the message holds bytes that are not UTF-8 text";
    case Refusal::kUnknownCode:
      return "carrel does not take this message";
  }
  return "";
}

int FixedLength(std::string_view code) {
  static const std::pair<std::string_view, int> kLengths[] = {
      {"93", 2},  {"99", 8},  {"23", 21}, {"63", 31}, {"11", 38}, {"09", 37}, {"17", 18},
      {"29", 38}, {"65", 18}, {"37", 25}, {"15", 19}, {"35", 18}, {"97", 0},
  };
  for (const auto& [c, n] : kLengths) {
    if (c == code) return n;
  }
  return -1;
}

Refusal Parse(std::string_view line, Message* out) {
  *out = Message();
  if (line.size() > kMaxMessageBytes) return Refusal::kTooLong;
  if (line.size() < 2) return Refusal::kTruncated;
  out->code = std::string(line.substr(0, 2));
  // Error detection: "AY" digit "AZ" four hex digits at the end, checked over everything
  // through "AZ".
  std::string_view body = line;
  if (line.size() >= 6 && line.substr(line.size() - 6, 2) == "AZ") {
    std::string_view through = line.substr(0, line.size() - 4);
    std::string given(line.substr(line.size() - 4));
    std::transform(given.begin(), given.end(), given.begin(), ::toupper);
    if (Checksum(through) != given) return Refusal::kBadChecksum;
    out->checksummed = true;
    body = line.substr(0, line.size() - 6);
    if (body.size() >= 3 && body.substr(body.size() - 3, 2) == "AY") {
      char digit = body.back();
      if (digit < '0' || digit > '9') return Refusal::kBadBytes;
      out->sequence = digit;
      body.remove_suffix(3);
    }
  }
  if (!CleanText(body)) return Refusal::kBadBytes;
  int fixed = FixedLength(out->code);
  if (fixed < 0) return Refusal::kUnknownCode;
  if (body.size() < 2 + static_cast<size_t>(fixed)) return Refusal::kTruncated;
  out->fixed = std::string(body.substr(2, fixed));
  std::string_view rest = body.substr(2 + fixed);
  while (!rest.empty()) {
    if (rest.size() < 2 || !IsIdChar(rest[0]) || !IsIdChar(rest[1])) return Refusal::kTruncated;
    size_t bar = rest.find('|');
    // The last field may go without its "|".
    std::string_view value =
        rest.substr(2, bar == std::string_view::npos ? std::string_view::npos : bar - 2);
    if (value.size() > kMaxFieldBytes) return Refusal::kTooLong;
    out->fields.emplace_back(std::string(rest.substr(0, 2)), std::string(value));
    rest = bar == std::string_view::npos ? std::string_view() : rest.substr(bar + 1);
  }
  return Refusal::kNone;
}

Writer& Writer::Count(long long n, int width) {
  long long most = 1;
  for (int i = 0; i < width; ++i) most *= 10;
  n = std::clamp(n, 0LL, most - 1);
  char buf[24];
  std::snprintf(buf, sizeof buf, "%0*lld", width, n);
  text_ += buf;
  return *this;
}

Writer& Writer::Field(std::string_view id, std::string_view value) {
  text_ += id;
  for (char c : CutUtf8(value, kMaxFieldBytes)) {
    unsigned char u = static_cast<unsigned char>(c);
    text_.push_back(c == '|' || u < 0x20 || u == 0x7f ? ' ' : c);
  }
  text_ += '|';
  return *this;
}

std::string Writer::Finish(std::optional<char> sequence, bool checksum) {
  std::string out = std::move(text_);
  if (checksum) {
    if (sequence) {
      out += "AY";
      out += *sequence;
    }
    out += "AZ";
    out += Checksum(out);
  }
  out += '\r';
  return out;
}

std::string Timestamp(std::chrono::local_seconds local) {
  auto day = std::chrono::floor<std::chrono::days>(local);
  std::chrono::year_month_day ymd{day};
  std::chrono::hh_mm_ss time{local - day};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d%02u%02u    %02lld%02lld%02lld", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<long long>(time.hours().count()),
                static_cast<long long>(time.minutes().count()),
                static_cast<long long>(time.seconds().count()));
  return buf;
}

}  // namespace carrel::sip2
