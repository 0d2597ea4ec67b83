// libFuzzer target: a Koha patron export (CSV) as a library could hand it over, through
// carrel's reader (src/import/csv.cc), in UTF-8 or Latin-1 as the first byte says. Checks,
// beyond "no crash, no leak, no undefined behaviour":
//  - every field read is well-formed UTF-8 (Latin-1 converted) with no NUL byte;
//  - lines only go forward, and the reader never reads past the file's size;
//  - a refusal names a line, in carrel's own words (UTF-8 text, no control bytes).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/support/fuzz_support.h"
#include "import/csv.h"

using carrel::fuzz::Broken;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  carrel::TextEncoding encoding =
      (data[0] & 1) != 0 ? carrel::TextEncoding::kLatin1 : carrel::TextEncoding::kUtf8;
  std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  auto reader = carrel::CsvReader::Open(carrel::fuzz::InputFile("patrons.csv", bytes), encoding);
  if (!reader.ok()) {
    // Refused as a whole (NUL bytes at its start: not a text file), naming the file.
    if (reader.status().message().find("patrons.csv") == std::string::npos) {
      Broken("koha_csv", "a refusal of the whole file that does not name it");
    }
    return 0;
  }
  std::vector<std::string> fields;
  int64_t line = 0;
  for (int records = 0; records < 100000; ++records) {
    auto more = (*reader)->Next(&fields);
    if (!more.ok()) {
      const std::string& why = more.status().message();
      if (why.find("line") == std::string::npos) Broken("koha_csv", "a refusal names no line");
      // The message is carrel's own words: plain printable text, whatever bytes the file
      // held (a field's text could be quoted only by carrying its bytes along).
      if (!carrel::fuzz::IsUtf8(why)) Broken("koha_csv", "a refusal carries bytes of the file");
      for (char c : why) {
        if (static_cast<unsigned char>(c) < 0x20) Broken("koha_csv", "a control byte in a refusal");
      }
      return 0;
    }
    if (!*more) break;
    if ((*reader)->line() < line) Broken("koha_csv", "the line went backwards");
    line = (*reader)->line();
    if ((*reader)->bytes_read() > (*reader)->size()) Broken("koha_csv", "read past the end");
    for (const std::string& f : fields) {
      if (f.find('\0') != std::string::npos) Broken("koha_csv", "a field holds a NUL byte");
      if (!carrel::fuzz::IsUtf8(f)) Broken("koha_csv", "a field that is not UTF-8");
    }
  }
  return 0;
}
