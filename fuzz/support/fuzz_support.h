// What the fuzz targets share: a stop that says which property broke, and a file holding one
// input for the readers that take a path.

#ifndef CARREL_FUZZ_SUPPORT_H_
#define CARREL_FUZZ_SUPPORT_H_

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

namespace carrel::fuzz {

// Stops the run on a broken property: libFuzzer keeps the input that did it.
[[noreturn]] inline void Broken(const char* target, const char* what) {
  std::fprintf(stderr, "%s: %s\n", target, what);
  std::abort();
}

// A file of this process's own under the temporary directory, rewritten for each input.
inline std::filesystem::path InputFile(std::string_view name, std::string_view bytes) {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("carrel-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  std::filesystem::path file = dir / std::string(name);
  std::FILE* f = std::fopen(file.c_str(), "wb");
  if (f == nullptr) Broken("fuzz", "cannot write the input file");
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) {
    Broken("fuzz", "cannot write the input file");
  }
  std::fclose(f);
  return file;
}

// Well-formed UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF), checked here
// apart from the code under test.
inline bool IsUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k < n; ++k) {
      unsigned char d = static_cast<unsigned char>(s[i + k]);
      if ((d >> 6) != 0x2) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n;
  }
  return true;
}

}  // namespace carrel::fuzz

#endif  // CARREL_FUZZ_SUPPORT_H_
