#include "carrel/koha_import.h"

#include <sodium.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "carrel/calendar.h"
#include "carrel/clock.h"
#include "carrel/library.h"
#include "carrel/progress.h"
#include "carrel/vault.h"
#include "circulation/sealed_records.h"
#include "import/csv.h"

namespace carrel {
namespace {

using nlohmann::json;

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return std::string(s.substr(b, e - b));
}

std::string Lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

// Words joined by one space, the empty ones left out.
std::string JoinNonEmpty(std::initializer_list<std::string> parts, std::string_view by) {
  std::string out;
  for (const std::string& p : parts) {
    if (p.empty()) continue;
    if (!out.empty()) out += by;
    out += p;
  }
  return out;
}

// The SHA-256 of a file's content, in hex: an import's progress is kept under it, so that the
// same file continues and another file starts afresh, and the file's name is kept nowhere.
StatusOr<std::string> FileDigest(const std::filesystem::path& file) {
  std::FILE* f = std::fopen(file.c_str(), "rb");
  if (f == nullptr) return NotFound(file.filename().string() + " cannot be opened");
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  std::vector<unsigned char> buffer(1 << 20);
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), f)) > 0) {
    crypto_hash_sha256_update(&state, buffer.data(), n);
  }
  bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return Unavailable(file.filename().string() + " could not be read to its end");
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&state, digest);
  char hex[2 * sizeof digest + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return std::string(hex);
}

// Koha writes dates as YYYY-MM-DD, sometimes followed by a time of day.
StatusOr<Date> KohaDate(const std::string& text) {
  std::string_view day = text;
  if (day.size() > 10 && (day[10] == ' ' || day[10] == 'T')) day = day.substr(0, 10);
  return ParseDate(day);
}

// Whole years from `born` to `on`.
int AgeOn(Date born, Date on) {
  std::chrono::year_month_day b{born}, t{on};
  int years = static_cast<int>(t.year()) - static_cast<int>(b.year());
  if (t.month() < b.month() || (t.month() == b.month() && t.day() < b.day())) --years;
  return years;
}

bool LooksLikeEmail(const std::string& s) {
  size_t at = s.find('@');
  return at != std::string::npos && at > 0 && at + 1 < s.size() &&
         s.find_first_of(" \t\r\n", 0) == std::string::npos &&
         s.find('@', at + 1) == std::string::npos;
}

// The columns of Koha's borrowers table that carrel keeps, whole or in part.
const std::unordered_set<std::string>& KeptPatronColumns() {
  static const std::unordered_set<std::string> kept = {
      "cardnumber",   "surname",    "firstname",   "email",      "phone",  "mobile",
      "streetnumber", "streettype", "address",     "address2",   "city",   "state",
      "zipcode",      "country",    "dateofbirth", "dateexpiry", "privacy"};
  return kept;
}

// A file's header, by lower-case column name.
class Columns {
 public:
  static StatusOr<Columns> Read(CsvReader& csv, const std::string& file,
                                std::initializer_list<const char*> required) {
    std::vector<std::string> header;
    CARREL_ASSIGN_OR_RETURN(bool any, csv.Next(&header));
    if (!any) return InvalidArgument(file + " is empty: it has no header line");
    Columns c;
    for (size_t i = 0; i < header.size(); ++i) {
      std::string name = Lower(Trim(header[i]));
      if (name.empty()) continue;
      if (!c.index_.emplace(name, i).second) {
        return InvalidArgument(file + " names the column " + name + " twice");
      }
      c.names_.push_back(name);
    }
    for (const char* r : required) {
      if (c.index_.count(r) == 0) {
        return InvalidArgument(file + " has no " + r +
                               " column: is it a Koha export with its header line?");
      }
    }
    c.width_ = header.size();
    return c;
  }

  // The trimmed value of `name` in `row`, empty when the column is absent.
  std::string Get(const std::vector<std::string>& row, const std::string& name) const {
    auto it = index_.find(name);
    if (it == index_.end() || it->second >= row.size()) return "";
    return Trim(row[it->second]);
  }
  bool Has(const std::string& name) const { return index_.count(name) > 0; }
  const std::vector<std::string>& names() const { return names_; }
  size_t width() const { return width_; }

 private:
  std::unordered_map<std::string, size_t> index_;
  std::vector<std::string> names_;
  size_t width_ = 0;
};

json CountsToJson(const KohaImportCounts& c) {
  return json{{"rows", c.rows},
              {"imported", c.imported + c.already_done},
              {"refused", c.refused},
              {"juvenile", c.juvenile},
              {"history_opt_in", c.history_opt_in},
              {"default_expiry", c.default_expiry},
              {"dropped", c.dropped}};
}

// What an earlier run that stopped part way had counted.
void CountsFromJson(const json& j, KohaImportCounts* c) {
  c->already_done = j.value("imported", int64_t{0});
  c->refused = j.value("refused", int64_t{0});
  c->juvenile = j.value("juvenile", int64_t{0});
  c->history_opt_in = j.value("history_opt_in", int64_t{0});
  c->default_expiry = j.value("default_expiry", int64_t{0});
  if (j.contains("dropped") && j["dropped"].is_object()) {
    for (const auto& [k, v] : j["dropped"].items()) c->dropped[k] = v.get<int64_t>();
  }
}

class Importer {
 public:
  Importer(Library& library, const KohaImportOptions& options)
      : library_(library),
        options_(options),
        records_(&library.vault()),
        today_(library.calendar().LocalDate(library.clock().Now())) {
    report_.dry_run = options.dry_run;
  }

  StatusOr<KohaImportReport> Run() {
    if (!options_.patrons.empty()) {
      if (options_.strict && !options_.dry_run) {
        // Every row is checked before any is written: the first bad one stops the import.
        CARREL_RETURN_IF_ERROR(Patrons(/*write=*/false));
        if (!report_.problems.empty()) return InvalidArgument(report_.problems.front());
        report_ = KohaImportReport{};
      }
      CARREL_RETURN_IF_ERROR(Patrons(!options_.dry_run));
      if (options_.strict && !report_.problems.empty()) {
        return InvalidArgument(report_.problems.front());
      }
    }
    return report_;
  }

 private:
  struct Pending {
    int64_t line;
    NewPatron patron;
  };

  // One patron row, or the reason it is refused (no value from the row in it).
  std::optional<std::string> PatronFromRow(const Columns& c, const std::vector<std::string>& row,
                                           NewPatron* p, KohaImportCounts* counts) {
    if (row.size() > c.width()) return "more fields than the header has columns";
    p->card_barcode = c.Get(row, "cardnumber");
    if (p->card_barcode.empty()) return "no cardnumber";
    std::string surname = c.Get(row, "surname");
    if (surname.empty()) return "no surname";
    p->name = JoinNonEmpty({c.Get(row, "firstname"), surname}, " ");
    std::string email = c.Get(row, "email");
    if (!email.empty() && !LooksLikeEmail(email)) {
      ++pending_dropped_["email (not an address)"];
      email.clear();
    }
    p->email = email;
    p->phone = c.Get(row, "phone");
    std::string mobile = c.Get(row, "mobile");
    if (p->phone.empty()) {
      p->phone = mobile;
    } else if (!mobile.empty()) {
      ++pending_dropped_["mobile (a phone number is kept)"];
    }
    std::string city_line = JoinNonEmpty(
        {JoinNonEmpty({c.Get(row, "city"), c.Get(row, "state")}, ", "), c.Get(row, "zipcode")},
        " ");
    p->postal_address = JoinNonEmpty(
        {JoinNonEmpty({c.Get(row, "streetnumber"), c.Get(row, "streettype"), c.Get(row, "address")},
                      " "),
         c.Get(row, "address2"), city_line, c.Get(row, "country")},
        "\n");
    std::string born = c.Get(row, "dateofbirth");
    if (!born.empty()) {
      auto d = KohaDate(born);
      if (!d.ok()) return "dateofbirth is not a date (YYYY-MM-DD)";
      if (*d > today_) return "dateofbirth is in the future";
      p->juvenile = AgeOn(*d, today_) < library_.profile().juvenile_under_age;
    }
    std::string expiry = c.Get(row, "dateexpiry");
    if (expiry.empty()) {
      p->expires_on = today_ + std::chrono::days(365);
      ++pending_default_expiry_;
    } else {
      auto d = KohaDate(expiry);
      if (!d.ok()) return "dateexpiry is not a date (YYYY-MM-DD)";
      p->expires_on = *d;
    }
    std::string privacy = c.Get(row, "privacy");
    if (privacy != "" && privacy != "0" && privacy != "1" && privacy != "2") {
      return "privacy is not 0, 1 or 2";
    }
    // Koha's privacy 0 is "keep my reading history forever": the one asking to keep it.
    p->history_opt_in = privacy == "0";
    (void)counts;
    return std::nullopt;
  }

  Status Patrons(bool write) {
    const std::string file = options_.patrons.filename().string();
    CARREL_ASSIGN_OR_RETURN(std::string digest, FileDigest(options_.patrons));
    const std::string progress_id = "koha/patrons/" + digest;
    CARREL_ASSIGN_OR_RETURN(auto csv, CsvReader::Open(options_.patrons, options_.encoding));
    CARREL_ASSIGN_OR_RETURN(Columns columns, Columns::Read(*csv, file, {"cardnumber", "surname"}));

    KohaImportCounts& counts = report_.patrons;
    int64_t next_line = 0;  // the first line not yet imported
    Store& store = library_.store();
    CARREL_RETURN_IF_ERROR(WithReadTransaction(store, [&](Transaction& tx) -> Status {
      return tx.Exec("SELECT next_line, counts FROM import_progress WHERE id = ?", {progress_id},
                     [&](const Row& r) {
                       next_line = r.Int(0);
                       json saved = json::parse(r.Text(1), nullptr, false);
                       if (!saved.is_discarded()) CountsFromJson(saved, &counts);
                       return Status::Ok();
                     });
    }));

    Progress bar("patrons: " + file, csv->size(), options_.progress ? stderr : nullptr);
    std::unordered_set<std::string> seen;  // cards earlier in the file
    std::vector<Pending> batch;
    std::vector<std::string> row;
    int64_t last_line = 0;
    for (;;) {
      CARREL_ASSIGN_OR_RETURN(bool more, csv->Next(&row));
      if (!more) break;
      ++counts.rows;
      last_line = csv->line();
      bar.Set(csv->bytes_read());
      std::string card = NormalizeBarcode(columns.Get(row, "cardnumber"));
      if (csv->line() < next_line) {
        seen.insert(card);
        continue;  // done by an earlier run
      }
      NewPatron p;
      pending_dropped_.clear();
      pending_default_expiry_ = 0;
      std::optional<std::string> refused = PatronFromRow(columns, row, &p, &counts);
      if (!refused && !seen.insert(card).second) refused = "the same cardnumber as an earlier row";
      if (!refused) {
        bool taken = false;
        CARREL_RETURN_IF_ERROR(WithReadTransaction(store, [&](Transaction& tx) -> Status {
          auto existing = records_.FindPatronByBarcode(tx, p.card_barcode);
          if (existing.ok()) {
            taken = true;
            return Status::Ok();
          }
          return existing.status().code() == StatusCode::kNotFound ? Status::Ok()
                                                                   : existing.status();
        }));
        if (taken) refused = "a patron with this cardnumber is already in carrel";
      }
      if (refused) {
        ++counts.refused;
        report_.problems.push_back(file + ":" + std::to_string(csv->line()) + ": " + *refused);
        if (options_.strict) return Status::Ok();
        continue;
      }
      // Columns carrel does not keep, counted (never their values).
      for (const std::string& name : columns.names()) {
        if (KeptPatronColumns().count(name) == 0 && !columns.Get(row, name).empty()) {
          ++counts.dropped[name];
        }
      }
      for (const auto& [what, n] : pending_dropped_) counts.dropped[what] += n;
      counts.default_expiry += pending_default_expiry_;
      if (p.juvenile) ++counts.juvenile;
      if (p.history_opt_in) ++counts.history_opt_in;
      if (!write) {
        ++counts.imported;
        continue;
      }
      batch.push_back({csv->line(), std::move(p)});
      if (static_cast<int64_t>(batch.size()) >= options_.batch_rows) {
        CARREL_RETURN_IF_ERROR(WritePatrons(batch, progress_id, csv->line() + 1));
        batch.clear();
      }
    }
    if (write) CARREL_RETURN_IF_ERROR(WritePatrons(batch, progress_id, last_line + 1));
    bar.Finish();
    return Status::Ok();
  }

  // Writes a batch of patrons and, in the same transaction, how far the file has come.
  Status WritePatrons(const std::vector<Pending>& batch, const std::string& progress_id,
                      int64_t next_line) {
    std::vector<int64_t> ids;
    if (!batch.empty()) {
      // The patrons' keys first, in one keyring transaction (a key whose patron a crash left
      // unwritten seals nothing).
      CARREL_ASSIGN_OR_RETURN(ids, records_.ReservePatronIds(static_cast<int64_t>(batch.size())));
    }
    KohaImportCounts& counts = report_.patrons;
    CARREL_RETURN_IF_ERROR(WithWriteTransaction(library_.store(), [&](Transaction& tx) -> Status {
      for (size_t i = 0; i < batch.size(); ++i) {
        CARREL_ASSIGN_OR_RETURN(auto key, library_.keyring().Get(Vault::PatronKeyName(ids[i])));
        CARREL_RETURN_IF_ERROR(
            records_.InsertPatronWithId(tx, ids[i], batch[i].patron, today_, *key));
      }
      KohaImportCounts after = counts;
      after.imported += static_cast<int64_t>(batch.size());
      std::string saved = CountsToJson(after).dump();
      return tx.Exec(
          "INSERT INTO import_progress (id, next_line, counts) VALUES (?, ?, ?) "
          "ON CONFLICT (id) DO UPDATE SET next_line = excluded.next_line, "
          "counts = excluded.counts",
          {progress_id, next_line, saved});
    }));
    counts.imported += static_cast<int64_t>(batch.size());
    if (options_.after_batch) CARREL_RETURN_IF_ERROR(options_.after_batch());
    return Status::Ok();
  }

  Library& library_;
  const KohaImportOptions& options_;
  SealedRecords records_;
  Date today_;
  KohaImportReport report_;
  std::map<std::string, int64_t> pending_dropped_;
  int64_t pending_default_expiry_ = 0;
};

}  // namespace

std::string KohaImportReport::Text() const {
  std::string out =
      dry_run ? "carrel import koha: dry run, nothing written\n\n" : "carrel import koha\n\n";
  const KohaImportCounts& c = patrons;
  if (c.rows > 0 || c.already_done > 0) {
    out += "Patrons: " + std::to_string(c.rows) + " rows; " + std::to_string(c.imported) +
           (dry_run ? " would be imported" : " imported");
    if (c.already_done > 0) {
      out += " (and " + std::to_string(c.already_done) + " by an earlier run)";
    }
    out += ", " + std::to_string(c.refused) + " refused";
    int64_t earlier = c.refused - static_cast<int64_t>(problems.size());
    if (earlier > 0) {
      out += " (" + std::to_string(earlier) + " of them listed in the earlier run's report)";
    }
    out += "\n";
    out +=
        "  juvenile (from the birth date, which is not kept): " + std::to_string(c.juvenile) + "\n";
    out += "  keeping their reading history (Koha privacy 0): " + std::to_string(c.history_opt_in) +
           "\n";
    if (c.default_expiry > 0) {
      out += "  no expiry date, given one a year from the import: " +
             std::to_string(c.default_expiry) + "\n";
    }
    if (!c.dropped.empty()) {
      out += "  values not kept (policy §3: only what the library needs), by column:\n";
      for (const auto& [column, n] : c.dropped) {
        out += "    " + column + ": " + std::to_string(n) + "\n";
      }
    }
  }
  if (!problems.empty()) {
    out += "\nRefused rows (file:line: reason):\n";
    for (const std::string& p : problems) out += "  " + p + "\n";
  }
  return out;
}

std::string KohaImportReport::CountsJson() const {
  json j = {{"dry_run", dry_run}};
  if (patrons.rows > 0 || patrons.already_done > 0) j["patrons"] = CountsToJson(patrons);
  return j.dump();
}

StatusOr<KohaImportReport> ImportFromKoha(Library& library, const KohaImportOptions& options) {
  if (options.patrons.empty()) return InvalidArgument("name at least one file to import");
  if (options.batch_rows < 1) return InvalidArgument("a batch holds at least one row");
  Importer importer(library, options);
  return importer.Run();
}

}  // namespace carrel
