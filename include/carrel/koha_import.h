#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "carrel/status.h"

// Bringing a library's records over from Koha (docs/migrating-from-koha.md), keeping only what
// carrel's policy keeps (policy §3): a patron's name, card, contact details, postal address,
// expiry, whether a juvenile (never the birth date) and whether they asked to keep their reading
// history; every other column is dropped and counted.
namespace carrel {

class Library;

// The character encoding of a file brought in from elsewhere: UTF-8 unless the operator says the
// file is Latin-1 (ISO 8859-1), which is then converted to UTF-8 as it is read.
enum class TextEncoding { kUtf8, kLatin1 };

struct KohaImportOptions {
  // Each file is optional; they are imported in this order. Empty: not given.
  std::filesystem::path patrons;  // Koha's patron CSV (columns of its borrowers table)
  std::filesystem::path items;    // MARC 21 records with 952 item fields (ISO 2709 or MARCXML)
  std::filesystem::path
      loans;  // current loans: cardnumber, barcode, issuedate, date_due[, renewals]
  std::filesystem::path history;  // returned loans: cardnumber, barcode, issuedate, returndate
  std::filesystem::path fines;    // outstanding fines: cardnumber, amount[, description]
  // Koha item type codes (952 $y) to the profile's item types, e.g. BK -> book; a code not
  // given here is taken in lower case when the profile lends that type.
  std::map<std::string, std::string> item_types;
  TextEncoding encoding = TextEncoding::kUtf8;  // of the CSV files
  bool dry_run = false;  // check everything, write nothing
  bool strict = false;   // stop at the first bad row, having written nothing
  bool progress = true;  // a progress bar on standard error when it is a terminal
  int64_t batch_rows = 2000;
  // Called after each batch is committed; an error stops the import there, as a crash would
  // (tests).
  std::function<Status()> after_batch;
};

struct KohaImportCounts {
  int64_t rows = 0;          // records in the file, its header not counted
  int64_t imported = 0;      // by this run
  int64_t already_done = 0;  // imported by an earlier run that stopped part way
  int64_t refused = 0;       // bad rows, each listed in the report
  int64_t refused_earlier = 0;  // of those, refused (and listed) by an earlier run
  int64_t juvenile = 0;
  int64_t history_opt_in = 0;
  int64_t default_expiry = 0;  // no expiry date given: a year from the import
  // Values not kept, by Koha column (only columns that held a value).
  std::map<std::string, int64_t> dropped;
  // Rows not brought over on purpose, or brought over in another form, by why.
  std::map<std::string, int64_t> notes;
  double seconds = 0;  // this run's time on the file
};

struct KohaImportReport {
  bool dry_run = false;
  KohaImportCounts patrons, items, loans, history, fines;
  // "FILE:LINE: reason", by file name and line only: no value from the file.
  std::vector<std::string> problems;

  // The report file's text, and the counts as JSON for the audit entry.
  std::string Text() const;
  std::string CountsJson() const;
};

// Imports what the options name. Fails, writing nothing, on a file that cannot be read, is not
// CSV, is not in the encoding given or lacks a required column; with `strict`, also on the
// first bad row. A run stopped part way (killed, or by after_batch) continues where it stopped
// when run again on the same file.
StatusOr<KohaImportReport> ImportFromKoha(Library& library, const KohaImportOptions& options);

}  // namespace carrel
