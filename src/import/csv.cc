#include "import/csv.h"

#include <cstring>
#include <system_error>

namespace carrel {
namespace {

constexpr size_t kBufferBytes = 1 << 20;

// Whether `s` is well-formed UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF).
bool ValidUtf8(const std::string& s) {
  size_t i = 0, n = s.size();
  while (i < n) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int more;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      more = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      more = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      more = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    for (int k = 1; k <= more; ++k) {
      if (i + k >= n) return false;
      auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    static constexpr uint32_t kLeast[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kLeast[more] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += more + 1;
  }
  return true;
}

}  // namespace

StatusOr<std::unique_ptr<CsvReader>> CsvReader::Open(const std::filesystem::path& file,
                                                     TextEncoding encoding) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    return NotFound(file.filename().string() + " is not a file that can be read");
  }
  auto size = static_cast<int64_t>(std::filesystem::file_size(file, ec));
  if (ec) return NotFound(file.filename().string() + " cannot be read: " + ec.message());
  std::FILE* f = std::fopen(file.c_str(), "rb");
  if (f == nullptr) return NotFound(file.filename().string() + " cannot be opened");
  std::unique_ptr<CsvReader> reader(new CsvReader(f, encoding, size));
  reader->buffer_.resize(kBufferBytes);
  // Text has no NUL byte: a file whose beginning holds one is not an export but something else
  // (a spreadsheet, an image, a MARC file given as CSV). Later ones are refused by line.
  if (reader->Get() != EOF) {
    reader->pos_ = 0;
    reader->offset_ = 0;
    if (std::memchr(reader->buffer_.data(), '\0', reader->end_) != nullptr) {
      return InvalidArgument(file.filename().string() +
                             " holds NUL bytes: it is not a CSV text file");
    }
  }
  // A byte-order mark is not part of the first field.
  if (encoding == TextEncoding::kUtf8) {
    int a = reader->Get(), b = a == 0xEF ? reader->Get() : EOF, c = b == 0xBB ? reader->Get() : EOF;
    if (!(a == 0xEF && b == 0xBB && c == 0xBF)) {
      reader->pos_ = 0;
      reader->offset_ = 0;
    }
  }
  return reader;
}

CsvReader::~CsvReader() {
  if (f_ != nullptr) std::fclose(f_);
}

int CsvReader::Get() {
  if (pos_ == end_) {
    // The first fill of a file is kept whole until a refill, so Open can step back over it.
    end_ = std::fread(buffer_.data(), 1, buffer_.size(), f_);
    pos_ = 0;
    if (end_ == 0) return EOF;
  }
  ++offset_;
  return static_cast<unsigned char>(buffer_[pos_++]);
}

Status CsvReader::Append(std::string* field, unsigned char c) {
  if (c == 0) {
    return InvalidArgument("line " + std::to_string(line_) +
                           " holds a NUL byte: this is not a CSV text file");
  }
  if (encoding_ == TextEncoding::kLatin1 && c >= 0x80) {
    field->push_back(static_cast<char>(0xC0 | (c >> 6)));
    field->push_back(static_cast<char>(0x80 | (c & 0x3F)));
    return Status::Ok();
  }
  field->push_back(static_cast<char>(c));
  return Status::Ok();
}

Status CsvReader::CheckField(const std::string& field) const {
  if (encoding_ == TextEncoding::kUtf8 && !ValidUtf8(field)) {
    return InvalidArgument("line " + std::to_string(record_line_) +
                           " is not UTF-8; if the file is Latin-1, say so with --encoding latin-1");
  }
  return Status::Ok();
}

StatusOr<bool> CsvReader::Next(std::vector<std::string>* fields) {
  fields->clear();
  for (;;) {
    int c = Get();
    if (c == EOF) return false;
    if (c == '\n') {  // a blank line
      ++line_;
      continue;
    }
    if (c == '\r') continue;
    record_line_ = line_;
    std::string field;
    bool quoted = false, was_quoted = false;
    for (;;) {
      if (quoted) {
        if (c == EOF) {
          return InvalidArgument("line " + std::to_string(record_line_) +
                                 " opens a quoted field that is never closed");
        }
        if (c == '"') {
          int d = Get();
          if (d == '"') {
            field.push_back('"');
          } else {
            quoted = false;
            c = d;
            continue;
          }
        } else {
          if (c == '\n') ++line_;
          CARREL_RETURN_IF_ERROR(Append(&field, static_cast<unsigned char>(c)));
        }
        c = Get();
        continue;
      }
      if (c == ',' || c == '\n' || c == EOF || c == '\r') {
        if (c == '\r') {
          int d = Get();
          if (d != '\n' && d != EOF) {
            return InvalidArgument("line " + std::to_string(line_) +
                                   " has a carriage return inside a field that is not quoted");
          }
          c = d;
        }
        CARREL_RETURN_IF_ERROR(CheckField(field));
        fields->push_back(std::move(field));
        field.clear();
        was_quoted = false;
        if (c == ',') {
          c = Get();
          continue;
        }
        if (c == '\n') ++line_;
        return true;
      }
      if (c == '"' && field.empty() && !was_quoted) {
        quoted = was_quoted = true;
      } else if (c == '"') {
        return InvalidArgument("line " + std::to_string(line_) +
                               " has a quote inside a field that is not quoted");
      } else {
        CARREL_RETURN_IF_ERROR(Append(&field, static_cast<unsigned char>(c)));
      }
      c = Get();
    }
  }
}

}  // namespace carrel
