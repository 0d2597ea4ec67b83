#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "carrel/koha_import.h"
#include "carrel/status.h"

namespace carrel {

// Reads a CSV file (RFC 4180: comma-separated, fields optionally in double quotes, a quote in a
// quoted field doubled, line breaks inside quoted fields, LF or CRLF) one record at a time,
// without holding the file in memory. Refuses, naming the line, what is not text in the
// encoding given: a NUL byte, bytes that are not UTF-8, a quote left open at the end.
// Error messages name lines and never quote the file's content.
class CsvReader {
 public:
  static StatusOr<std::unique_ptr<CsvReader>> Open(const std::filesystem::path& file,
                                                   TextEncoding encoding);
  ~CsvReader();
  CsvReader(const CsvReader&) = delete;
  CsvReader& operator=(const CsvReader&) = delete;

  // The next record's fields into `fields`; false at the end of the file. A blank line is
  // skipped.
  StatusOr<bool> Next(std::vector<std::string>* fields);

  // The line the last record read began on, counting from 1.
  int64_t line() const { return record_line_; }
  // Bytes read so far and in all, for a progress bar.
  int64_t bytes_read() const { return offset_; }
  int64_t size() const { return size_; }

 private:
  CsvReader(std::FILE* f, TextEncoding encoding, int64_t size)
      : f_(f), encoding_(encoding), size_(size) {}
  int Get();  // the next byte, or EOF
  Status Append(std::string* field, unsigned char c);
  Status CheckField(const std::string& field) const;

  std::FILE* f_;
  TextEncoding encoding_;
  int64_t size_;
  int64_t offset_ = 0;
  int64_t line_ = 1;         // the line being read
  int64_t record_line_ = 0;  // where the last record began
  std::vector<char> buffer_;
  size_t pos_ = 0, end_ = 0;
};

}  // namespace carrel
