#include "carrel/koha_import.h"

#include <sodium.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "carrel/calendar.h"
#include "carrel/clock.h"
#include "carrel/library.h"
#include "carrel/progress.h"
#include "carrel/vault.h"
#include "circulation/bulk_load.h"
#include "circulation/sealed_records.h"
#include "import/csv.h"
#include "import/marc.h"

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

// The columns each CSV file must have.
const std::vector<const char*> kPatronRequired = {"cardnumber", "surname"};
const std::vector<const char*> kLoanRequired = {"cardnumber", "barcode", "issuedate", "date_due"};
const std::vector<const char*> kHistoryRequired = {"cardnumber", "barcode", "issuedate",
                                                   "returndate"};
const std::vector<const char*> kFineRequired = {"cardnumber", "amount"};

// A file's header, by lower-case column name.
class Columns {
 public:
  static StatusOr<Columns> Read(CsvReader& csv, const std::string& file,
                                const std::vector<const char*>& required) {
    std::vector<std::string> header;
    CARREL_ASSIGN_OR_RETURN(bool any, csv.Next(&header));
    if (!any) return InvalidArgument(file + " is empty: it has no header line");
    Columns c;
    for (size_t i = 0; i < header.size(); ++i) {
      std::string name = Lower(Trim(header[i]));
      if (name.empty()) continue;
      if (auto [at, added] = c.index_.emplace(name, i); !added) {
        // Positions, not the name: a file without its header would put a patron's data here.
        return InvalidArgument(file + ": columns " + std::to_string(at->second + 1) + " and " +
                               std::to_string(i + 1) + " of the header have the same name");
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
              {"dropped", c.dropped},
              {"notes", c.notes}};
}

// What an earlier run that stopped part way had counted.
void CountsFromJson(const json& j, KohaImportCounts* c) {
  c->already_done = j.value("imported", int64_t{0});
  c->refused = j.value("refused", int64_t{0});
  c->refused_earlier = c->refused;
  c->juvenile = j.value("juvenile", int64_t{0});
  c->history_opt_in = j.value("history_opt_in", int64_t{0});
  c->default_expiry = j.value("default_expiry", int64_t{0});
  for (const char* key : {"dropped", "notes"}) {
    if (!j.contains(key) || !j[key].is_object()) continue;
    auto& into = std::string_view(key) == "dropped" ? c->dropped : c->notes;
    for (const auto& [k, v] : j[key].items()) into[k] = v.get<int64_t>();
  }
}

// Amounts as Koha writes them ("12.5", "3.00"), in cents.
std::optional<int64_t> Cents(const std::string& text) {
  if (text.empty() || text.size() > 12) return std::nullopt;
  int64_t whole = 0, cents = 0;
  size_t i = 0;
  for (; i < text.size() && text[i] != '.'; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    whole = whole * 10 + (text[i] - '0');
  }
  if (i < text.size()) {
    std::string frac = text.substr(i + 1);
    if (frac.empty() || frac.size() > 6) return std::nullopt;
    for (char ch : frac) {
      if (ch < '0' || ch > '9') return std::nullopt;
    }
    frac.resize(2, '0');
    cents = std::stoll(frac.substr(0, 2));
  }
  return whole * 100 + cents;
}

// Work to do for one good row, in the write transaction of its batch, with the row's place in
// the batch.
using RowWrite = std::function<Status(Transaction&, size_t index)>;

// One kind of file: how progress is named, and what is done before a batch is written.
struct Kind {
  std::string name;  // "patrons", "items", ...
  KohaImportCounts* counts;
  std::function<Status(size_t rows)> before_batch;  // may be empty
};

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
    CARREL_RETURN_IF_ERROR(CheckFiles());
    if (options_.strict && !options_.dry_run) {
      // Every row of every file is checked before any is written (rows of later files against
      // what the earlier ones would bring): the first bad one stops the import.
      CARREL_RETURN_IF_ERROR(All(/*write=*/false));
      if (!report_.problems.empty()) return InvalidArgument(report_.problems.front());
      report_ = KohaImportReport{};
    }
    CARREL_RETURN_IF_ERROR(All(!options_.dry_run));
    if (options_.strict && !report_.problems.empty()) {
      return InvalidArgument(report_.problems.front());
    }
    return report_;
  }

 private:
  // Every file is read through once before anything is written, so that one that is not what
  // it should be (not CSV text, not in the encoding given, without its columns, not MARC 21)
  // stops the import with nothing written, wherever in the file the trouble is.
  Status CheckFiles() {
    for (const auto& [path, required] : {std::pair{&options_.patrons, &kPatronRequired},
                                         {&options_.loans, &kLoanRequired},
                                         {&options_.history, &kHistoryRequired},
                                         {&options_.fines, &kFineRequired}}) {
      if (path->empty()) continue;
      CARREL_ASSIGN_OR_RETURN(auto csv, CsvReader::Open(*path, options_.encoding));
      CARREL_RETURN_IF_ERROR(Columns::Read(*csv, path->filename().string(), *required).status());
      Progress bar("checking " + path->filename().string(), csv->size(),
                   options_.progress ? stderr : nullptr);
      std::vector<std::string> row;
      for (;;) {
        auto more = csv->Next(&row);
        if (!more.ok()) return more.status().WithContext(path->filename().string());
        if (!*more) break;
        bar.Set(csv->bytes_read());
      }
    }
    if (!options_.items.empty()) {
      CARREL_ASSIGN_OR_RETURN(auto marc, MarcReader::Open(options_.items));
      Progress bar("checking " + options_.items.filename().string(), marc->size(),
                   options_.progress ? stderr : nullptr);
      MarcRecord record;
      for (;;) {
        auto more = marc->Next(&record);
        if (!more.ok()) return more.status().WithContext(options_.items.filename().string());
        if (!*more) break;
        bar.Set(marc->bytes_read());
      }
    }
    return Status::Ok();
  }

  Status All(bool write) {
    write_ = write;
    known_patrons_.clear();
    known_items_.clear();
    dry_patrons_.clear();
    dry_items_.clear();
    seen_cards_.clear();
    seen_barcodes_.clear();
    lent_.clear();
    auto timed = [](KohaImportCounts& counts, auto run) -> Status {
      auto started = std::chrono::steady_clock::now();
      Status s = run();
      counts.seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      return s;
    };
    // What each file needs to find its own duplicates is let go once the file is done: a
    // million cards or barcodes are tens of megabytes.
    if (!options_.patrons.empty()) {
      CARREL_RETURN_IF_ERROR(timed(report_.patrons, [&] { return Patrons(); }));
      std::unordered_set<std::string>().swap(seen_cards_);
    }
    if (!options_.items.empty()) {
      CARREL_RETURN_IF_ERROR(timed(report_.items, [&] { return Items(); }));
      std::unordered_set<std::string>().swap(seen_barcodes_);
    }
    if (!options_.loans.empty()) {
      CARREL_RETURN_IF_ERROR(timed(report_.loans, [&] { return Loans(); }));
      std::unordered_set<std::string>().swap(lent_);
    }
    if (!options_.history.empty()) {
      CARREL_RETURN_IF_ERROR(timed(report_.history, [&] { return History(); }));
    }
    if (!options_.fines.empty()) {
      CARREL_RETURN_IF_ERROR(timed(report_.fines, [&] { return Fines(); }));
    }
    return Status::Ok();
  }

  // ----- the machinery every file shares -----

  // Reads how far an earlier run came on this file (0: not begun).
  StatusOr<int64_t> Begin(const std::string& progress_id, KohaImportCounts* counts) {
    int64_t next = 0;
    CARREL_RETURN_IF_ERROR(WithReadTransaction(library_.store(), [&](Transaction& tx) -> Status {
      return tx.Exec("SELECT next_line, counts FROM import_progress WHERE id = ?", {progress_id},
                     [&](const Row& r) {
                       next = r.Int(0);
                       json saved = json::parse(r.Text(1), nullptr, false);
                       if (!saved.is_discarded()) CountsFromJson(saved, counts);
                       return Status::Ok();
                     });
    }));
    return next;
  }

  // A refused row: listed, counted; with --strict the file stops here.
  void Refuse(KohaImportCounts* counts, const std::string& where, const std::string& why) {
    ++counts->refused;
    report_.problems.push_back(where + ": " + why);
  }

  // Writes the rows waiting and, in the same transaction, how far the file has come.
  Status Flush(const Kind& kind, const std::string& progress_id, int64_t next) {
    if (!write_) {
      kind.counts->imported += static_cast<int64_t>(pending_.size());
      pending_.clear();
      return Status::Ok();
    }
    if (!pending_.empty() && kind.before_batch) {
      CARREL_RETURN_IF_ERROR(kind.before_batch(pending_.size()));
    }
    KohaImportCounts after = *kind.counts;
    after.imported += static_cast<int64_t>(pending_.size());
    CARREL_RETURN_IF_ERROR(WithWriteTransaction(library_.store(), [&](Transaction& tx) -> Status {
      for (size_t i = 0; i < pending_.size(); ++i) CARREL_RETURN_IF_ERROR(pending_[i](tx, i));
      return tx.Exec(
          "INSERT INTO import_progress (id, next_line, counts) VALUES (?, ?, ?) "
          "ON CONFLICT (id) DO UPDATE SET next_line = excluded.next_line, "
          "counts = excluded.counts",
          {progress_id, next, CountsToJson(after).dump()});
    }));
    kind.counts->imported = after.imported;
    pending_.clear();
    // A long import would otherwise grow the write-ahead log by gigabytes, and every read
    // and commit with it: the log is folded into the database every so many batches (best
    // effort: a server reading the library meanwhile may hold it).
    if (++batches_ % kBatchesPerCheckpoint == 0) (void)library_.store().Checkpoint();
    if (options_.after_batch) CARREL_RETURN_IF_ERROR(options_.after_batch());
    return Status::Ok();
  }

  // One good row, to be written with its batch (the caller flushes a full batch once the row
  // is counted, so that the counts saved with the batch include it).
  void Accept(RowWrite write) { pending_.push_back(std::move(write)); }

  // A CSV file of `kind`: each record after the header through `check`, which returns why the
  // row is refused, or queues its write with Accept (or neither: a row not brought over on
  // purpose, counted in notes).
  using CsvCheck = std::function<StatusOr<std::optional<std::string>>(
      const Columns&, const std::vector<std::string>&)>;
  Status CsvFile(const Kind& kind, const std::filesystem::path& path,
                 const std::vector<const char*>& required,
                 const std::unordered_set<std::string>& kept, const CsvCheck& check) {
    const std::string file = path.filename().string();
    CARREL_ASSIGN_OR_RETURN(std::string digest, FileDigest(path));
    const std::string progress_id = "koha/" + kind.name + "/" + digest;
    CARREL_ASSIGN_OR_RETURN(auto csv, CsvReader::Open(path, options_.encoding));
    CARREL_ASSIGN_OR_RETURN(Columns columns, Columns::Read(*csv, file, required));
    KohaImportCounts& counts = *kind.counts;
    CARREL_ASSIGN_OR_RETURN(int64_t next_line, Begin(progress_id, &counts));
    Progress bar(kind.name + ": " + file, csv->size(), options_.progress ? stderr : nullptr);
    std::vector<std::string> row;
    int64_t last_line = 0;
    for (;;) {
      CARREL_ASSIGN_OR_RETURN(bool more, csv->Next(&row));
      if (!more) break;
      ++counts.rows;
      last_line = csv->line();
      bar.Set(csv->bytes_read());
      resumed_ = csv->line() < next_line;
      std::optional<std::string> refused;
      if (row.size() > columns.width()) {
        refused = "more fields than the header has columns";
      } else {
        CARREL_ASSIGN_OR_RETURN(refused, check(columns, row));
      }
      if (resumed_) continue;  // imported (or refused) by an earlier run
      if (refused) {
        Refuse(&counts, file + ":" + std::to_string(csv->line()), *refused);
        if (options_.strict) return Status::Ok();
        continue;
      }
      // Columns carrel does not keep, counted (never their values).
      for (const std::string& name : columns.names()) {
        if (kept.count(name) == 0 && !columns.Get(row, name).empty()) ++counts.dropped[name];
      }
      if (static_cast<int64_t>(pending_.size()) >= options_.batch_rows) {
        CARREL_RETURN_IF_ERROR(Flush(kind, progress_id, csv->line() + 1));
      }
    }
    CARREL_RETURN_IF_ERROR(Flush(kind, progress_id, last_line + 1));
    bar.Finish();
    return Status::Ok();
  }

  // The id of the batch's `i`-th row: the largest in use when the batch began, plus i + 1.
  StatusOr<int64_t> NextId(Transaction& tx, size_t i, StatusOr<int64_t> (*largest)(Transaction&)) {
    if (i == 0) {
      CARREL_ASSIGN_OR_RETURN(base_id_, largest(tx));
    }
    return base_id_ + static_cast<int64_t>(i) + 1;
  }

  // A patron by card, read now (nullopt: none). In a run that writes nothing, the patrons it
  // would have written count too, so that loans of patrons in the same import are checked.
  StatusOr<std::optional<Patron>> PatronByCard(const std::string& card) {
    if (!write_) {
      auto dry = dry_patrons_.find(NormalizeBarcode(card));
      if (dry != dry_patrons_.end()) {
        Patron p;
        p.history_opt_in = dry->second;
        return std::optional<Patron>(p);
      }
    }
    // Loans, histories and fines name the same patrons again and again: each is read once (its
    // id and whether it keeps a history only; nothing else of the patron is kept here).
    std::string key = NormalizeBarcode(card);
    if (auto cached = known_patrons_.find(key); cached != known_patrons_.end()) {
      Patron p;
      p.id = cached->second.first;
      p.history_opt_in = cached->second.second;
      return std::optional<Patron>(p);
    }
    std::optional<Patron> found;
    CARREL_RETURN_IF_ERROR(WithReadTransaction(library_.store(), [&](Transaction& tx) -> Status {
      auto p = records_.FindPatronByBarcode(tx, card);
      if (p.ok()) {
        found = *std::move(p);
        return Status::Ok();
      }
      return p.status().code() == StatusCode::kNotFound ? Status::Ok() : p.status();
    }));
    if (found) {
      known_patrons_.emplace(key, std::pair{found->id, found->history_opt_in});
      Patron bare;  // no name or contact details are carried further
      bare.id = found->id;
      bare.history_opt_in = found->history_opt_in;
      return std::optional<Patron>(bare);
    }
    return found;
  }

  StatusOr<std::optional<bulk::ShelfItem>> ItemByBarcode(const std::string& barcode) {
    if (!write_) {
      auto dry = dry_items_.find(barcode);
      if (dry != dry_items_.end()) return std::optional<bulk::ShelfItem>({0, dry->second});
    }
    std::optional<bulk::ShelfItem> found;
    CARREL_RETURN_IF_ERROR(WithReadTransaction(library_.store(), [&](Transaction& tx) -> Status {
      CARREL_ASSIGN_OR_RETURN(found, bulk::FindItem(tx, barcode));
      return Status::Ok();
    }));
    return found;
  }

  // ----- patrons -----

  Status Patrons() {
    Kind kind{"patrons", &report_.patrons, [this](size_t n) -> Status {
                CARREL_ASSIGN_OR_RETURN(patron_ids_,
                                        records_.ReservePatronIds(static_cast<int64_t>(n)));
                return Status::Ok();
              }};
    return CsvFile(
        kind, options_.patrons, kPatronRequired, KeptPatronColumns(),
        [&](const Columns& c,
            const std::vector<std::string>& row) -> StatusOr<std::optional<std::string>> {
          std::string card = NormalizeBarcode(c.Get(row, "cardnumber"));
          if (resumed_) {
            seen_cards_.insert(card);
            return std::optional<std::string>();
          }
          NewPatron p;
          std::map<std::string, int64_t> dropped;
          bool default_expiry = false;
          std::optional<std::string> refused = PatronFromRow(c, row, &p, &dropped, &default_expiry);
          if (refused) return refused;
          if (!seen_cards_.insert(card).second) {
            return std::optional<std::string>("the same cardnumber as an earlier row");
          }
          CARREL_ASSIGN_OR_RETURN(auto existing, PatronByCard(p.card_barcode));
          if (existing) {
            return std::optional<std::string>("a patron with this cardnumber is already in carrel");
          }
          KohaImportCounts& counts = report_.patrons;
          for (const auto& [what, n] : dropped) counts.dropped[what] += n;
          if (default_expiry) ++counts.default_expiry;
          if (p.juvenile) ++counts.juvenile;
          if (p.history_opt_in) ++counts.history_opt_in;
          if (!write_) dry_patrons_.emplace(card, p.history_opt_in);
          Accept([this, p = std::move(p)](Transaction& tx, size_t i) {
            return WritePatron(tx, patron_ids_[i], p);
          });
          return std::optional<std::string>();
        });
  }

  Status WritePatron(Transaction& tx, int64_t id, const NewPatron& p) {
    CARREL_ASSIGN_OR_RETURN(auto key, library_.keyring().Get(Vault::PatronKeyName(id)));
    return records_.InsertPatronWithId(tx, id, p, today_, *key);
  }

  // One patron row, or why it is refused (no value from the row in the reason).
  std::optional<std::string> PatronFromRow(const Columns& c, const std::vector<std::string>& row,
                                           NewPatron* p, std::map<std::string, int64_t>* dropped,
                                           bool* default_expiry) {
    p->card_barcode = c.Get(row, "cardnumber");
    if (p->card_barcode.empty()) return "no cardnumber";
    std::string surname = c.Get(row, "surname");
    if (surname.empty()) return "no surname";
    p->name = JoinNonEmpty({c.Get(row, "firstname"), surname}, " ");
    std::string email = c.Get(row, "email");
    if (!email.empty() && !LooksLikeEmail(email)) {
      ++(*dropped)["email (not an address)"];
      email.clear();
    }
    p->email = email;
    p->phone = c.Get(row, "phone");
    std::string mobile = c.Get(row, "mobile");
    if (p->phone.empty()) {
      p->phone = mobile;
    } else if (!mobile.empty()) {
      ++(*dropped)["mobile (a phone number is kept)"];
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
      *default_expiry = true;
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
    return std::nullopt;
  }

  // ----- items (MARC 21 with Koha's 952 fields) -----

  // The profile's item type for a Koha code, or nullopt.
  std::optional<std::string> ItemType(const std::string& code) const {
    auto mapped = options_.item_types.find(code);
    std::string type = mapped != options_.item_types.end() ? mapped->second : Lower(code);
    if (library_.profile().loan_days.count(type) == 0) return std::nullopt;
    return type;
  }

  Status Items() {
    KohaImportCounts& counts = report_.items;
    Kind kind{"items", &counts, {}};
    const std::string file = options_.items.filename().string();
    CARREL_ASSIGN_OR_RETURN(std::string digest, FileDigest(options_.items));
    const std::string progress_id = "koha/items/" + digest;
    CARREL_ASSIGN_OR_RETURN(auto marc, MarcReader::Open(options_.items));
    CARREL_ASSIGN_OR_RETURN(int64_t next_record, Begin(progress_id, &counts));
    Progress bar("items: " + file, marc->size(), options_.progress ? stderr : nullptr);
    MarcRecord record;
    int64_t last = 0;
    for (;;) {
      CARREL_ASSIGN_OR_RETURN(bool more, marc->Next(&record));
      if (!more) break;
      last = marc->record_number();
      bar.Set(marc->bytes_read());
      const bool resumed = last < next_record;
      const std::string where = file + ": record " + std::to_string(last);
      if (record.items.empty()) {
        if (!resumed) ++counts.notes["bibliographic records without a 952 item field"];
        continue;
      }
      for (size_t k = 0; k < record.items.size(); ++k) {
        auto& f = record.items[k];
        std::string barcode = Trim(f['p']);
        ++counts.rows;
        if (resumed) {
          if (!barcode.empty()) seen_barcodes_.insert(barcode);
          continue;
        }
        const std::string at = where + ", item " + std::to_string(k + 1);
        auto flag = [&](char code) { return !Trim(f[code]).empty() && Trim(f[code]) != "0"; };
        if (flag('0')) {
          ++counts.notes["withdrawn in Koha (952 $0): not brought over"];
          continue;
        }
        if (flag('7')) {
          ++counts.notes["not for loan in Koha (952 $7): not brought over"];
          continue;
        }
        std::optional<std::string> refused;
        std::optional<std::string> type;
        if (barcode.empty()) {
          refused = "no barcode (952 $p)";
        } else if (Trim(record.title).empty()) {
          refused = "the record has no title (245 $a)";
        } else if (!(type = ItemType(Trim(f['y'])))) {
          refused = Trim(f['y']).empty()
                        ? std::string("no item type (952 $y)")
                        : "item type " + Trim(f['y']) +
                              " is not one the profile lends: map it with --item-type " +
                              Trim(f['y']) + "=TYPE";
        } else if (!seen_barcodes_.insert(barcode).second) {
          refused = "the same barcode as an earlier item";
        } else {
          CARREL_ASSIGN_OR_RETURN(auto existing, ItemByBarcode(barcode));
          if (existing) refused = "an item with this barcode is already in carrel";
        }
        if (refused) {
          Refuse(&counts, at, *refused);
          if (options_.strict) return Status::Ok();
          continue;
        }
        for (char code : {'a', 'b'}) {
          if (!Trim(f[code]).empty()) {
            ++counts.dropped[std::string("952 $") + code + " (branch: carrel is one library)"];
          }
        }
        ItemStatus status = ItemStatus::kAvailable;
        if (flag('1')) {
          status = ItemStatus::kMissing;
          ++counts.notes["lost in Koha (952 $1): imported as missing"];
        }
        NewItem item{barcode, Trim(record.title), Trim(record.author), Trim(f['o']), *type};
        if (!write_) dry_items_.emplace(barcode, status == ItemStatus::kAvailable);
        // Written with the batch that ends after this record (below): a record's items are
        // never split between a run that stops and the next.
        pending_.push_back(
            [this, item = std::move(item), status](Transaction& tx, size_t i) -> Status {
              CARREL_ASSIGN_OR_RETURN(int64_t id, NextId(tx, i, bulk::LargestItemId));
              return bulk::InsertItem(tx, id, item, status);
            });
      }
      if (!pending_.empty() && static_cast<int64_t>(pending_.size()) >= options_.batch_rows) {
        CARREL_RETURN_IF_ERROR(Flush(kind, progress_id, last + 1));
      }
    }
    CARREL_RETURN_IF_ERROR(Flush(kind, progress_id, last + 1));
    bar.Finish();
    return Status::Ok();
  }

  // ----- loans, history, fines (CSV) -----

  Status Loans() {
    KohaImportCounts& counts = report_.loans;
    Kind kind{"loans", &counts, {}};
    static const std::unordered_set<std::string> kept = {"cardnumber", "barcode", "issuedate",
                                                         "date_due", "renewals"};
    return CsvFile(
        kind, options_.loans, kLoanRequired, kept,
        [&](const Columns& c,
            const std::vector<std::string>& row) -> StatusOr<std::optional<std::string>> {
          std::string barcode = c.Get(row, "barcode");
          if (resumed_) {
            lent_.insert(barcode);
            return std::optional<std::string>();
          }
          auto issued = KohaDate(c.Get(row, "issuedate"));
          if (!issued.ok()) return std::optional<std::string>("issuedate is not a date");
          auto due = KohaDate(c.Get(row, "date_due"));
          if (!due.ok()) return std::optional<std::string>("date_due is not a date");
          int64_t renewals = 0;
          std::string r = c.Get(row, "renewals");
          if (!r.empty()) {
            if (r.size() > 6 || r.find_first_not_of("0123456789") != std::string::npos) {
              return std::optional<std::string>("renewals is not a whole number");
            }
            renewals = std::stoll(r);
          }
          CARREL_ASSIGN_OR_RETURN(auto patron, PatronByCard(c.Get(row, "cardnumber")));
          if (!patron) return std::optional<std::string>("no patron with this cardnumber");
          CARREL_ASSIGN_OR_RETURN(auto item, ItemByBarcode(barcode));
          if (!item) return std::optional<std::string>("no item with this barcode");
          if (!lent_.insert(barcode).second) {
            return std::optional<std::string>("the same item as an earlier loan");
          }
          if (!item->available) {
            return std::optional<std::string>("the item is not on the shelf in carrel");
          }
          int64_t patron_id = patron->id, item_id = item->id;
          Date out = *issued, back = *due;
          Accept([=](Transaction& tx, size_t) {
            return bulk::InsertLoan(tx, item_id, patron_id, out, back, renewals);
          });
          return std::optional<std::string>();
        });
  }

  Status History() {
    KohaImportCounts& counts = report_.history;
    Kind kind{"history", &counts, {}};
    static const std::unordered_set<std::string> kept = {"cardnumber", "barcode", "issuedate",
                                                         "returndate", "date_due"};
    return CsvFile(
        kind, options_.history, kHistoryRequired, kept,
        [&](const Columns& c,
            const std::vector<std::string>& row) -> StatusOr<std::optional<std::string>> {
          if (resumed_) return std::optional<std::string>();
          auto issued = KohaDate(c.Get(row, "issuedate"));
          if (!issued.ok()) return std::optional<std::string>("issuedate is not a date");
          auto returned = KohaDate(c.Get(row, "returndate"));
          if (!returned.ok()) return std::optional<std::string>("returndate is not a date");
          Date due = *returned;
          if (std::string d = c.Get(row, "date_due"); !d.empty()) {
            auto parsed = KohaDate(d);
            if (!parsed.ok()) return std::optional<std::string>("date_due is not a date");
            due = *parsed;
          }
          if (*returned < *issued) {
            return std::optional<std::string>("returndate is before issuedate");
          }
          CARREL_ASSIGN_OR_RETURN(auto patron, PatronByCard(c.Get(row, "cardnumber")));
          if (!patron) return std::optional<std::string>("no patron with this cardnumber");
          if (!patron->history_opt_in) {
            // Policy §2 and §3: a returned loan is linked to its borrower only for a patron who
            // asked to keep a reading history. For everyone else there is nothing to bring.
            ++counts.notes
                  ["returned loans of patrons who keep no reading history: not brought "
                   "over (policy §2, §3)"];
            return std::optional<std::string>();
          }
          std::string barcode = c.Get(row, "barcode");
          int64_t item_id = 0;
          if (auto known = known_items_.find(barcode); known != known_items_.end()) {
            item_id = known->second;
          } else {
            CARREL_ASSIGN_OR_RETURN(auto item, ItemByBarcode(barcode));
            if (!item) return std::optional<std::string>("no item with this barcode");
            item_id = item->id;
            if (write_) known_items_.emplace(barcode, item_id);
          }
          int64_t patron_id = patron->id;
          Date out = *issued, back = *returned;
          Accept([=, this](Transaction& tx, size_t i) {
            CARREL_ASSIGN_OR_RETURN(int64_t row_id, NextId(tx, i, bulk::LargestLoanHistoryId));
            CARREL_ASSIGN_OR_RETURN(
                SealedLink link,
                records_.SealLink("loan_history", row_id, patron_id, back, /*own_history=*/true));
            return bulk::InsertReturnedLoan(tx, row_id, item_id, link, out, due, back);
          });
          return std::optional<std::string>();
        });
  }

  Status Fines() {
    KohaImportCounts& counts = report_.fines;
    Kind kind{"fines", &counts, {}};
    static const std::unordered_set<std::string> kept = {"cardnumber", "amount", "date"};
    return CsvFile(
        kind, options_.fines, kFineRequired, kept,
        [&](const Columns& c,
            const std::vector<std::string>& row) -> StatusOr<std::optional<std::string>> {
          if (resumed_) return std::optional<std::string>();
          auto cents = Cents(c.Get(row, "amount"));
          if (!cents) return std::optional<std::string>("amount is not a sum of money (12.50)");
          if (*cents == 0) {
            ++counts.notes["nothing owed (amount 0): not brought over"];
            return std::optional<std::string>();
          }
          Date accrued = today_;
          if (std::string d = c.Get(row, "date"); !d.empty()) {
            auto parsed = KohaDate(d);
            if (!parsed.ok()) return std::optional<std::string>("date is not a date");
            accrued = *parsed;
          }
          CARREL_ASSIGN_OR_RETURN(auto patron, PatronByCard(c.Get(row, "cardnumber")));
          if (!patron) return std::optional<std::string>("no patron with this cardnumber");
          int64_t patron_id = patron->id, amount = *cents;
          Accept([=, this](Transaction& tx, size_t i) {
            bulk::BulkFine fine;
            CARREL_ASSIGN_OR_RETURN(fine.id, NextId(tx, i, bulk::LargestFineId));
            fine.amount_cents = amount;
            fine.accrued_on = accrued;
            fine.owed_by = patron_id;
            return bulk::InsertFine(tx, fine);
          });
          return std::optional<std::string>();
        });
  }

  Library& library_;
  const KohaImportOptions& options_;
  SealedRecords records_;
  Date today_;
  KohaImportReport report_;
  bool write_ = false;
  bool resumed_ = false;  // the row at hand was done by an earlier run
  std::vector<RowWrite> pending_;
  std::vector<int64_t> patron_ids_;  // the batch's, reserved before it is written
  std::unordered_set<std::string> seen_cards_, seen_barcodes_, lent_;
  int64_t base_id_ = 0;
  int64_t batches_ = 0;
  static constexpr int64_t kBatchesPerCheckpoint = 50;
  // Patrons read for loans, histories and fines: card -> (id, keeps a history).
  std::unordered_map<std::string, std::pair<int64_t, bool>> known_patrons_;
  // Item ids for returned loans: barcode -> id.
  std::unordered_map<std::string, int64_t> known_items_;
  // What a run that writes nothing would have written: card -> keeps history; barcode -> on
  // the shelf.
  std::unordered_map<std::string, bool> dry_patrons_, dry_items_;
};

}  // namespace

namespace {

// The kinds of file, in the order they are imported, with their names in the report.
std::vector<std::pair<std::string, const KohaImportCounts*>> Parts(const KohaImportReport& r) {
  return {{"Patrons", &r.patrons},
          {"Items", &r.items},
          {"Current loans", &r.loans},
          {"Returned loans (reading histories)", &r.history},
          {"Fines", &r.fines}};
}

}  // namespace

std::string KohaImportReport::Text() const {
  std::string out =
      dry_run ? "carrel import koha: dry run, nothing written\n" : "carrel import koha\n";
  for (const auto& [title, part] : Parts(*this)) {
    const KohaImportCounts& c = *part;
    if (c.rows == 0 && c.already_done == 0 && c.refused == 0 && c.notes.empty()) continue;
    out += "\n" + title + ": " + std::to_string(c.rows) + " rows; " + std::to_string(c.imported) +
           (dry_run ? " would be imported" : " imported");
    if (c.already_done > 0) {
      out += " (and " + std::to_string(c.already_done) + " by an earlier run)";
    }
    out += ", " + std::to_string(c.refused) + " refused";
    if (c.refused_earlier > 0) {
      out +=
          " (" + std::to_string(c.refused_earlier) + " of them listed in the earlier run's report)";
    }
    out += "\n";
    if (part == &patrons) {
      out += "  juvenile (from the birth date, which is not kept): " + std::to_string(c.juvenile) +
             "\n";
      out +=
          "  keeping their reading history (Koha privacy 0): " + std::to_string(c.history_opt_in) +
          "\n";
      if (c.default_expiry > 0) {
        out += "  no expiry date, given one a year from the import: " +
               std::to_string(c.default_expiry) + "\n";
      }
    }
    for (const auto& [what, n] : c.notes) out += "  " + what + ": " + std::to_string(n) + "\n";
    if (!c.dropped.empty()) {
      out += "  values not kept (policy §3: only what the library needs), by column:\n";
      for (const auto& [column, n] : c.dropped) {
        out += "    " + column + ": " + std::to_string(n) + "\n";
      }
    }
  }
  if (!problems.empty()) {
    out += "\nRefused rows (file:line, or file: record and item: reason):\n";
    for (const std::string& p : problems) out += "  " + p + "\n";
  }
  return out;
}

std::string KohaImportReport::CountsJson() const {
  json j = {{"dry_run", dry_run}};
  const char* keys[] = {"patrons", "items", "loans", "history", "fines"};
  int k = 0;
  for (const auto& [title, part] : Parts(*this)) {
    const KohaImportCounts& c = *part;
    if (c.rows > 0 || c.already_done > 0) j[keys[k]] = CountsToJson(c);
    ++k;
  }
  return j.dump();
}

StatusOr<KohaImportReport> ImportFromKoha(Library& library, const KohaImportOptions& options) {
  if (options.patrons.empty() && options.items.empty() && options.loans.empty() &&
      options.history.empty() && options.fines.empty()) {
    return InvalidArgument("name at least one file to import");
  }
  if (options.batch_rows < 1) return InvalidArgument("a batch holds at least one row");
  Importer importer(library, options);
  return importer.Run();
}

}  // namespace carrel
