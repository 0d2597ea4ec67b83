#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "carrel/status.h"

namespace carrel {

// What carrel takes from a MARC 21 bibliographic record with Koha's item fields: title (245 $a
// and $b) and author (100, 110 or 111 $a), and each 952 field's subfields (the first value of
// each code): $p barcode, $o call number, $y item type, $a and $b branches, $0 withdrawn, $1
// lost, $7 not for loan.
struct MarcRecord {
  std::string title;
  std::string author;
  std::vector<std::map<char, std::string>> items;
};

// Reads MARC 21 records one at a time from ISO 2709 (MARC-8 or UTF-8, as each leader says) or
// MARCXML, whichever the file holds, decoded by YAZ (libyaz). Errors name the record by its
// number and never quote its content.
class MarcReader {
 public:
  static StatusOr<std::unique_ptr<MarcReader>> Open(const std::filesystem::path& file);
  virtual ~MarcReader() = default;

  // The next record; false at the end of the file.
  virtual StatusOr<bool> Next(MarcRecord* record) = 0;

  // The number of the last record read, counting from 1.
  int64_t record_number() const { return number_; }
  virtual int64_t bytes_read() const = 0;
  int64_t size() const { return size_; }

 protected:
  int64_t number_ = 0;
  int64_t size_ = 0;
};

}  // namespace carrel
