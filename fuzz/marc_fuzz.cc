// libFuzzer target: MARC 21 records with Koha's item fields (ISO 2709 in MARC-8 or UTF-8, or
// MARCXML) as a library could hand them over, through carrel's reader over YAZ
// (src/import/marc.cc). Checks, beyond "no crash, no leak, no undefined behaviour":
//  - every title, author and item subfield read is well-formed UTF-8 with no NUL byte;
//  - records are numbered 1, 2, 3, ... and the reader never reads past the file's size;
//  - a refusal names the record by number.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/support/fuzz_support.h"
#include "import/marc.h"

using carrel::fuzz::Broken;

namespace {

void CheckText(const std::string& s) {
  if (s.find('\0') != std::string::npos) Broken("marc", "a value holds a NUL byte");
  if (!carrel::fuzz::IsUtf8(s)) Broken("marc", "a value that is not UTF-8");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto reader = carrel::MarcReader::Open(carrel::fuzz::InputFile("items.mrc", bytes));
  if (!reader.ok()) return 0;  // neither ISO 2709 nor MARCXML: refused as a whole
  for (int64_t expected = 1; expected < 100000; ++expected) {
    carrel::MarcRecord record;
    auto more = (*reader)->Next(&record);
    if (!more.ok()) {
      if (more.status().message().find("record") == std::string::npos) {
        Broken("marc", "a refusal names no record");
      }
      return 0;
    }
    if (!*more) break;
    if ((*reader)->record_number() != expected) Broken("marc", "records out of their order");
    if ((*reader)->bytes_read() > (*reader)->size()) Broken("marc", "read past the end");
    CheckText(record.title);
    CheckText(record.author);
    for (const auto& item : record.items) {
      for (const auto& [code, value] : item) CheckText(value);
    }
  }
  return 0;
}
