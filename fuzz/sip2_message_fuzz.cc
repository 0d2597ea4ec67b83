// libFuzzer target: SIP2 messages as a kiosk could send them, through carrel's codec
// (src/sip2/message.cc). Checks, beyond "no crash, no leak, no undefined behaviour":
//  - a message read without refusal has a known code and fixed fields of that code's length,
//    and no field longer than the limit;
//  - an answer written from any field value reads back with a matching checksum, its value
//    cut to the limit and free of '|' and control characters.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sip2/message.h"

using carrel::sip2::Message;
using carrel::sip2::Refusal;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  Message m;
  Refusal r = carrel::sip2::Parse(line, &m);
  if (r == Refusal::kNone) {
    int fixed = carrel::sip2::FixedLength(m.code);
    if (fixed < 0 || m.fixed.size() != static_cast<size_t>(fixed)) std::abort();
    for (const auto& [id, value] : m.fields) {
      if (id.size() != 2 || value.size() > carrel::sip2::kMaxFieldBytes) std::abort();
    }
  }
  (void)carrel::sip2::RefusalText(r);
  // Whatever a field holds, an answer carrying it is well formed.
  carrel::sip2::Writer w("98");
  w.Fixed("Y").Field("AF", line);
  std::string answer = w.Finish('3', true);
  if (answer.empty() || answer.back() != '\r') std::abort();
  std::string text = answer.substr(0, answer.size() - 1);
  std::string through = text.substr(0, text.size() - 4);
  if (carrel::sip2::Checksum(through) != text.substr(text.size() - 4)) std::abort();
  std::string_view body = std::string_view(text).substr(5, text.size() - 5 - 10);
  if (body.size() > carrel::sip2::kMaxFieldBytes) std::abort();
  for (char c : body) {
    auto u = static_cast<unsigned char>(c);
    if (c == '|' || u < 0x20 || u == 0x7f) std::abort();
  }
  return 0;
}
