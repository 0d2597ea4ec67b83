#include "carrel/profile.h"

#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <system_error>
#include <utility>

#include "carrel/calendar.h"
#include "util/enum_names.h"

namespace carrel {

namespace {

namespace fs = std::filesystem;

constexpr std::array<std::string_view, 7> kWeekdayKeys = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"};
constexpr std::array<std::string_view, 7> kWeekdayNames = {
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
constexpr std::pair<PolicyEventKind, std::string_view> kPolicyEvents[] = {
    {PolicyEventKind::kAdopted, "adopted"},
    {PolicyEventKind::kAmended, "amended"},
    {PolicyEventKind::kReEndorsed, "re-endorsed"}};
constexpr std::string_view kClosed = "closed";

constexpr int kMinutesPerDay = 24 * 60;
// Sanity bounds: generous for any real library, small enough that no arithmetic overflows.
constexpr int64_t kMaxLoanDays = 3650;
constexpr int64_t kMaxRenewals = 1000;
constexpr int64_t kMaxPickupDays = 365;
constexpr int64_t kMaxCents = 100'000'000;
// Policy documents are a few pages; refuse anything that is clearly not one.
constexpr std::uintmax_t kMaxPolicyBytes = 1 << 20;

bool IsBlank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  });
}

std::string_view TypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

// "HH:MM" -> minutes after midnight; 24:00 only when `allow_midnight_end`.
std::optional<int> ParseClock(std::string_view s, bool allow_midnight_end) {
  if (s.size() != 5 || s[2] != ':') return std::nullopt;
  for (size_t i : {0, 1, 3, 4}) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
  }
  int h = (s[0] - '0') * 10 + (s[1] - '0');
  int m = (s[3] - '0') * 10 + (s[4] - '0');
  if (m > 59) return std::nullopt;
  if (h == 24 && m == 0 && allow_midnight_end) return kMinutesPerDay;
  if (h > 23) return std::nullopt;
  return h * 60 + m;
}

// Reads and validates the parsed TOML tree into a Profile. Every error names the file and,
// where a node is involved, its line.
class ProfileParser {
 public:
  ProfileParser(std::string_view source, fs::path base_dir)
      : source_(source), base_dir_(std::move(base_dir)) {}

  StatusOr<Profile> Parse(std::string_view text) {
    toml::table root;
    try {
      root = toml::parse(text, source_);
    } catch (const toml::parse_error& e) {
      return ErrorAtLine(e.source().begin.line, std::string(e.description()));
    }
    Profile p;
    CARREL_RETURN_IF_ERROR(
        CheckKeys(root, "",
                  {"library", "hours", "circulation", "policy", "statute", "retention", "requests",
                   "transparency", "audit", "patrons", "backup"}));
    CARREL_RETURN_IF_ERROR(ParseLibrary(root, &p));
    CARREL_RETURN_IF_ERROR(ParseHours(root, &p));
    CARREL_RETURN_IF_ERROR(ParseCirculation(root, &p));
    CARREL_RETURN_IF_ERROR(ParsePolicy(root, &p));
    CARREL_RETURN_IF_ERROR(ParseStatute(root, &p));
    CARREL_RETURN_IF_ERROR(ParseRetention(root, &p));
    CARREL_RETURN_IF_ERROR(ParseRequests(root, &p));
    CARREL_RETURN_IF_ERROR(ParseTransparency(root, &p));
    CARREL_RETURN_IF_ERROR(ParseAudit(root, &p));
    CARREL_RETURN_IF_ERROR(ParsePatrons(root, &p));
    CARREL_RETURN_IF_ERROR(ParseBackup(root, &p));
    return p;
  }

 private:
  Status ErrorAtLine(uint32_t line, std::string_view reason) const {
    std::string message = source_;
    if (line > 0) message += ":" + std::to_string(line);
    message += ": ";
    message += reason;
    return InvalidArgument(std::move(message));
  }

  Status ErrorAt(const toml::node& node, std::string_view reason) const {
    return ErrorAtLine(node.source().begin.line, reason);
  }

  // The root table has no header line, so problems with it carry no line number.
  Status ErrorIn(const toml::table& table, std::string_view table_name,
                 std::string_view reason) const {
    return ErrorAtLine(table_name.empty() ? 0 : table.source().begin.line, reason);
  }

  static std::string Where(std::string_view table_name, std::string_view key) {
    return table_name.empty() ? "[" + std::string(key) + "]"
                              : std::string(key) + " in " + std::string(table_name);
  }

  Status CheckKeys(const toml::table& table, std::string_view table_name,
                   const std::vector<std::string_view>& allowed) const {
    for (const auto& [key, node] : table) {
      if (std::find(allowed.begin(), allowed.end(), key.str()) != allowed.end()) continue;
      uint32_t line = key.source().begin.line;
      if (line == 0) line = node.source().begin.line;
      std::string reason = "unknown key '" + std::string(key.str()) + "'";
      if (!table_name.empty()) reason += " in " + std::string(table_name);
      return ErrorAtLine(line, reason);
    }
    return Status::Ok();
  }

  StatusOr<const toml::node*> Require(const toml::table& table, std::string_view table_name,
                                      std::string_view key) const {
    const toml::node* node = table.get(key);
    if (node == nullptr) {
      if (table_name.empty()) {
        return ErrorIn(table, table_name, "missing required table [" + std::string(key) + "]");
      }
      return ErrorIn(
          table, table_name,
          std::string(table_name) + " is missing required key '" + std::string(key) + "'");
    }
    return node;
  }

  StatusOr<const toml::table*> RequireTable(const toml::table& table, std::string_view table_name,
                                            std::string_view key) const {
    CARREL_ASSIGN_OR_RETURN(const toml::node* node, Require(table, table_name, key));
    if (!node->is_table()) {
      return ErrorAt(
          *node, Where(table_name, key) + " must be a table, not " + std::string(TypeName(*node)));
    }
    return node->as_table();
  }

  StatusOr<std::string> StringValue(const toml::node& node, std::string_view what) const {
    if (!node.is_string()) {
      return ErrorAt(node,
                     std::string(what) + " must be a string, not " + std::string(TypeName(node)));
    }
    const std::string& s = node.as_string()->get();
    if (IsBlank(s)) return ErrorAt(node, std::string(what) + " must not be empty");
    return s;
  }

  StatusOr<std::string> RequireString(const toml::table& table, std::string_view table_name,
                                      std::string_view key) const {
    CARREL_ASSIGN_OR_RETURN(const toml::node* node, Require(table, table_name, key));
    return StringValue(*node, Where(table_name, key));
  }

  StatusOr<int64_t> IntValue(const toml::node& node, std::string_view what, int64_t min,
                             int64_t max) const {
    if (!node.is_integer()) {
      return ErrorAt(node,
                     std::string(what) + " must be an integer, not " + std::string(TypeName(node)));
    }
    int64_t v = node.as_integer()->get();
    if (v < min || v > max) {
      return ErrorAt(node, std::string(what) + " must be between " + std::to_string(min) + " and " +
                               std::to_string(max) + ", not " + std::to_string(v));
    }
    return v;
  }

  StatusOr<int64_t> RequireInt(const toml::table& table, std::string_view table_name,
                               std::string_view key, int64_t min, int64_t max) const {
    CARREL_ASSIGN_OR_RETURN(const toml::node* node, Require(table, table_name, key));
    return IntValue(*node, Where(table_name, key), min, max);
  }

  StatusOr<Date> DateValue(const toml::node& node, std::string_view what) const {
    if (node.is_date()) {
      return ErrorAt(node, std::string(what) + ": write dates as quoted strings, \"YYYY-MM-DD\"");
    }
    CARREL_ASSIGN_OR_RETURN(std::string text, StringValue(node, what));
    StatusOr<Date> date = ParseDate(text);
    if (!date.ok()) {
      return ErrorAt(node, std::string(what) + " \"" + text + "\": " + date.status().message());
    }
    return *date;
  }

  Status ParseLibrary(const toml::table& root, Profile* p) const {
    constexpr std::string_view kName = "[library]";
    CARREL_ASSIGN_OR_RETURN(const toml::table* t, RequireTable(root, "", "library"));
    CARREL_RETURN_IF_ERROR(CheckKeys(*t, kName, {"name", "address", "phone", "time_zone"}));
    CARREL_ASSIGN_OR_RETURN(p->name, RequireString(*t, kName, "name"));

    CARREL_ASSIGN_OR_RETURN(const toml::node* address, Require(*t, kName, "address"));
    const toml::array* lines = address->as_array();
    if (lines == nullptr) {
      return ErrorAt(*address, "address in [library] must be an array of strings, not " +
                                   std::string(TypeName(*address)));
    }
    if (lines->empty()) return ErrorAt(*address, "address in [library] must have a line");
    for (const toml::node& line : *lines) {
      CARREL_ASSIGN_OR_RETURN(std::string text, StringValue(line, "each address line"));
      p->address_lines.push_back(std::move(text));
    }

    CARREL_ASSIGN_OR_RETURN(p->phone, RequireString(*t, kName, "phone"));

    CARREL_ASSIGN_OR_RETURN(const toml::node* zone_node, Require(*t, kName, "time_zone"));
    CARREL_ASSIGN_OR_RETURN(p->time_zone, StringValue(*zone_node, "time_zone in [library]"));
    StatusOr<TimeZone> zone = TimeZone::Load(p->time_zone);
    if (!zone.ok()) return ErrorAt(*zone_node, "time_zone: " + zone.status().message());
    return Status::Ok();
  }

  StatusOr<std::optional<OpeningPeriod>> PeriodValue(const toml::node& node,
                                                     std::string_view what) const {
    CARREL_ASSIGN_OR_RETURN(std::string text, StringValue(node, what));
    if (text == kClosed) return std::optional<OpeningPeriod>();
    std::optional<int> open, close;
    if (text.size() == 11 && text[5] == '-') {
      open = ParseClock(std::string_view(text).substr(0, 5), false);
      close = ParseClock(std::string_view(text).substr(6, 5), true);
    }
    if (!open || !close) {
      return ErrorAt(node, std::string(what) + " \"" + text +
                               "\": hours must be written \"HH:MM-HH:MM\" or \"closed\"");
    }
    if (*close <= *open) {
      return ErrorAt(node, std::string(what) + " \"" + text +
                               "\": the closing time must be after the opening time");
    }
    return std::optional<OpeningPeriod>(OpeningPeriod{*open, *close});
  }

  StatusOr<WeekHours> ParseWeek(const toml::table& hours, std::string_view key) const {
    std::string name = "[hours." + std::string(key) + "]";
    CARREL_ASSIGN_OR_RETURN(const toml::table* t, RequireTable(hours, "[hours]", key));
    for (const auto& [day, node] : *t) {
      if (std::find(kWeekdayKeys.begin(), kWeekdayKeys.end(), day.str()) == kWeekdayKeys.end()) {
        uint32_t line = day.source().begin.line;
        return ErrorAtLine(line != 0 ? line : node.source().begin.line,
                           "unknown key '" + std::string(day.str()) + "' in " + name +
                               "; the keys are the weekdays monday..sunday");
      }
    }
    WeekHours week{};
    for (size_t i = 0; i < kWeekdayKeys.size(); ++i) {
      CARREL_ASSIGN_OR_RETURN(const toml::node* node, Require(*t, name, kWeekdayKeys[i]));
      CARREL_ASSIGN_OR_RETURN(week[i], PeriodValue(*node, Where(name, kWeekdayKeys[i])));
    }
    return week;
  }

  Status ParseHours(const toml::table& root, Profile* p) const {
    constexpr std::string_view kName = "[hours]";
    CARREL_ASSIGN_OR_RETURN(const toml::table* t, RequireTable(root, "", "hours"));
    CARREL_RETURN_IF_ERROR(CheckKeys(*t, kName, {"closed_dates", "library", "cafe"}));
    CARREL_ASSIGN_OR_RETURN(p->library_hours, ParseWeek(*t, "library"));
    CARREL_ASSIGN_OR_RETURN(p->cafe_hours, ParseWeek(*t, "cafe"));

    // Optional: a library may close on no dates at all.
    const toml::node* closed = t->get("closed_dates");
    if (closed == nullptr) return Status::Ok();
    const toml::array* dates = closed->as_array();
    if (dates == nullptr) {
      return ErrorAt(*closed, "closed_dates in [hours] must be an array of dates, not " +
                                  std::string(TypeName(*closed)));
    }
    for (const toml::node& node : *dates) {
      CARREL_ASSIGN_OR_RETURN(Date d, DateValue(node, "closed date"));
      if (std::find(p->closed_dates.begin(), p->closed_dates.end(), d) != p->closed_dates.end()) {
        return ErrorAt(node, "closed date " + FormatDate(d) + " is listed twice");
      }
      p->closed_dates.push_back(d);
    }
    std::sort(p->closed_dates.begin(), p->closed_dates.end());
    return Status::Ok();
  }

  Status ParseCirculation(const toml::table& root, Profile* p) const {
    constexpr std::string_view kName = "[circulation]";
    CARREL_ASSIGN_OR_RETURN(const toml::table* t, RequireTable(root, "", "circulation"));
    CARREL_RETURN_IF_ERROR(
        CheckKeys(*t, kName,
                  {"renewal_limit", "hold_pickup_days", "fine_per_day_cents", "fine_cap_cents",
                   "loan_days", "desk_idle_minutes", "juvenile_under_age"}));
    CARREL_ASSIGN_OR_RETURN(int64_t renewals,
                            RequireInt(*t, kName, "renewal_limit", 0, kMaxRenewals));
    CARREL_ASSIGN_OR_RETURN(int64_t pickup,
                            RequireInt(*t, kName, "hold_pickup_days", 1, kMaxPickupDays));
    CARREL_ASSIGN_OR_RETURN(p->fine_per_day_cents,
                            RequireInt(*t, kName, "fine_per_day_cents", 0, kMaxCents));
    CARREL_ASSIGN_OR_RETURN(p->fine_cap_cents,
                            RequireInt(*t, kName, "fine_cap_cents", 0, kMaxCents));
    p->renewal_limit = static_cast<int>(renewals);
    p->hold_pickup_days = static_cast<int>(pickup);
    if (const toml::node* n = t->get("desk_idle_minutes")) {
      CARREL_ASSIGN_OR_RETURN(int64_t minutes,
                              IntValue(*n, "desk_idle_minutes in [circulation]", 1, 240));
      p->desk_idle_minutes = static_cast<int>(minutes);
    }
    if (const toml::node* n = t->get("juvenile_under_age")) {
      CARREL_ASSIGN_OR_RETURN(int64_t age,
                              IntValue(*n, "juvenile_under_age in [circulation]", 1, 25));
      p->juvenile_under_age = static_cast<int>(age);
    }

    CARREL_ASSIGN_OR_RETURN(const toml::table* loans, RequireTable(*t, kName, "loan_days"));
    if (loans->empty()) {
      return ErrorAtLine(loans->source().begin.line,
                         "[circulation.loan_days] must give the loan period of at least one "
                         "item type");
    }
    for (const auto& [type, node] : *loans) {
      std::string what = "loan_days for '" + std::string(type.str()) + "'";
      if (IsBlank(type.str())) return ErrorAt(node, "an item type in loan_days must not be empty");
      CARREL_ASSIGN_OR_RETURN(int64_t days, IntValue(node, what, 1, kMaxLoanDays));
      p->loan_days[std::string(type.str())] = static_cast<int>(days);
    }
    return Status::Ok();
  }

  Status ReadPolicyDocument(const toml::node& node, Profile* p) const {
    fs::path relative(p->policy_document);
    if (relative.is_absolute()) {
      return ErrorAt(node, "document in [policy] must be a file name relative to the profile");
    }
    fs::path path = base_dir_ / relative;
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
      return ErrorAt(node, "policy document '" + p->policy_document + "' cannot be read");
    }
    std::uintmax_t size = fs::file_size(path, ec);
    if (ec || size > kMaxPolicyBytes) {
      return ErrorAt(node, "policy document '" + p->policy_document + "' is too large");
    }
    std::ifstream in(path, std::ios::binary);
    std::ostringstream buffer;
    if (in.is_open()) buffer << in.rdbuf();
    if (!in.is_open() || in.bad()) {
      return ErrorAt(node, "policy document '" + p->policy_document + "' cannot be read");
    }
    std::string text = std::move(buffer).str();
    if (IsBlank(text)) {
      return ErrorAt(node, "policy document '" + p->policy_document + "' is empty");
    }
    p->policy_text = std::move(text);
    return Status::Ok();
  }

  Status ParseHistory(const toml::table& policy, Profile* p) const {
    constexpr std::string_view kName = "[[policy.history]]";
    CARREL_ASSIGN_OR_RETURN(const toml::node* node, Require(policy, "[policy]", "history"));
    const toml::array* events = node->as_array();
    if (events == nullptr || !events->is_array_of_tables() || events->empty()) {
      return ErrorAt(*node, "history in [policy] must be one or more [[policy.history]] tables");
    }
    for (const toml::node& entry : *events) {
      const toml::table& t = *entry.as_table();
      CARREL_RETURN_IF_ERROR(CheckKeys(t, kName, {"event", "date", "note"}));
      PolicyEvent e;
      CARREL_ASSIGN_OR_RETURN(const toml::node* event_node, Require(t, kName, "event"));
      CARREL_ASSIGN_OR_RETURN(std::string event,
                              StringValue(*event_node, "event in [[policy.history]]"));
      auto kind = ParsePolicyEvent(event);
      if (!kind.ok()) {
        return ErrorAt(*event_node,
                       "event \"" + event + "\" must be one of adopted, amended, re-endorsed");
      }
      e.event = *kind;
      CARREL_ASSIGN_OR_RETURN(const toml::node* date_node, Require(t, kName, "date"));
      CARREL_ASSIGN_OR_RETURN(e.date, DateValue(*date_node, "date in [[policy.history]]"));
      if (!p->policy_history.empty() && e.date < p->policy_history.back().date) {
        return ErrorAt(*date_node, "policy history is not in date order: " + FormatDate(e.date) +
                                       " comes after " + FormatDate(p->policy_history.back().date));
      }
      if (const toml::node* note = t.get("note")) {
        if (!note->is_string()) {
          return ErrorAt(*note, "note in [[policy.history]] must be a string, not " +
                                    std::string(TypeName(*note)));
        }
        e.note = note->as_string()->get();
      }
      p->policy_history.push_back(std::move(e));
    }
    return Status::Ok();
  }

  Status ParsePolicy(const toml::table& root, Profile* p) const {
    constexpr std::string_view kName = "[policy]";
    CARREL_ASSIGN_OR_RETURN(const toml::table* t, RequireTable(root, "", "policy"));
    CARREL_RETURN_IF_ERROR(CheckKeys(*t, kName, {"title", "version", "document", "history"}));
    CARREL_ASSIGN_OR_RETURN(p->policy_title, RequireString(*t, kName, "title"));
    CARREL_ASSIGN_OR_RETURN(p->policy_version, RequireString(*t, kName, "version"));
    CARREL_ASSIGN_OR_RETURN(const toml::node* doc, Require(*t, kName, "document"));
    CARREL_ASSIGN_OR_RETURN(p->policy_document, StringValue(*doc, "document in [policy]"));
    CARREL_RETURN_IF_ERROR(ReadPolicyDocument(*doc, p));
    return ParseHistory(*t, p);
  }

  Status ParseStatute(const toml::table& root, Profile* p) const {
    constexpr std::string_view kName = "[statute]";
    CARREL_ASSIGN_OR_RETURN(const toml::table* t, RequireTable(root, "", "statute"));
    CARREL_RETURN_IF_ERROR(
        CheckKeys(*t, kName, {"citation", "summary", "lawful_bases", "court_orders"}));
    CARREL_ASSIGN_OR_RETURN(p->statute_citation, RequireString(*t, kName, "citation"));
    CARREL_ASSIGN_OR_RETURN(p->statute_summary, RequireString(*t, kName, "summary"));
    CARREL_ASSIGN_OR_RETURN(p->lawful_bases,
                            Words(*t, kName, "lawful_bases", LawfulBasisNames(), p->lawful_bases));
    CARREL_ASSIGN_OR_RETURN(p->court_orders,
                            Words(*t, kName, "court_orders", LegalProcessNames(), p->court_orders));
    return Status::Ok();
  }

  // An optional array of words, each one of `known`; `fallback` when the key is absent.
  StatusOr<std::vector<std::string>> Words(const toml::table& t, std::string_view table_name,
                                           std::string_view key,
                                           const std::vector<std::string_view>& known,
                                           std::vector<std::string> fallback) const {
    const toml::node* node = t.get(key);
    if (node == nullptr) return fallback;
    const toml::array* array = node->as_array();
    if (array == nullptr) return ErrorAt(*node, Where(table_name, key) + " must be an array");
    std::vector<std::string> out;
    for (const toml::node& item : *array) {
      CARREL_ASSIGN_OR_RETURN(std::string word, StringValue(item, Where(table_name, key)));
      if (std::find(known.begin(), known.end(), word) == known.end()) {
        std::string list;
        for (std::string_view k : known) list += (list.empty() ? "" : ", ") + std::string(k);
        return ErrorAt(item, "unknown value '" + word + "' in " + Where(table_name, key) +
                                 " (one of: " + list + ")");
      }
      if (std::find(out.begin(), out.end(), word) == out.end()) out.push_back(word);
    }
    return out;
  }

  // Optional: where each new signed head of the audit log is sent.
  Status ParseAudit(const toml::table& root, Profile* p) const {
    const toml::node* node = root.get("audit");
    if (node == nullptr) return Status::Ok();
    const toml::table* t = node->as_table();
    if (t == nullptr) return ErrorAt(*node, "[audit] must be a table");
    CARREL_RETURN_IF_ERROR(CheckKeys(*t, "[audit]", {"witness_command", "verifier_key_file"}));
    if (const toml::node* n = t->get("verifier_key_file")) {
      CARREL_ASSIGN_OR_RETURN(p->verifier_key_file,
                              StringValue(*n, "verifier_key_file in [audit]"));
    }
    return CommandValue(*t, "witness_command", &p->witness_command);
  }

  // Optional: the key backup carrel keeps current itself.
  Status ParseBackup(const toml::table& root, Profile* p) const {
    const toml::node* node = root.get("backup");
    if (node == nullptr) return Status::Ok();
    const toml::table* t = node->as_table();
    if (t == nullptr) return ErrorAt(*node, "[backup] must be a table");
    CARREL_RETURN_IF_ERROR(CheckKeys(*t, "[backup]", {"keys_file"}));
    if (const toml::node* n = t->get("keys_file")) {
      CARREL_ASSIGN_OR_RETURN(p->key_backup_file, StringValue(*n, "keys_file in [backup]"));
      if (p->key_backup_file.empty() || p->key_backup_file.front() != '/') {
        return ErrorAt(*n, "keys_file in [backup] must be an absolute path");
      }
    }
    return Status::Ok();
  }

  // Optional: patrons' PINs.
  Status ParsePatrons(const toml::table& root, Profile* p) const {
    const toml::node* node = root.get("patrons");
    if (node == nullptr) return Status::Ok();
    const toml::table* t = node->as_table();
    if (t == nullptr) return ErrorAt(*node, "[patrons] must be a table");
    CARREL_RETURN_IF_ERROR(
        CheckKeys(*t, "[patrons]", {"min_pin_length", "pin_reset_command", "kiosk_name"}));
    if (const toml::node* n = t->get("kiosk_name")) {
      CARREL_ASSIGN_OR_RETURN(std::string shown, StringValue(*n, "kiosk_name in [patrons]"));
      if (shown != "first" && shown != "full" && shown != "none") {
        return ErrorAt(*n, "kiosk_name in [patrons] must be \"first\", \"full\" or \"none\"");
      }
      p->kiosk_name = shown;
    }
    CARREL_RETURN_IF_ERROR(CommandValue(*t, "pin_reset_command", &p->pin_reset_command));
    if (const toml::node* n = t->get("min_pin_length")) {
      CARREL_ASSIGN_OR_RETURN(int64_t digits, IntValue(*n, "min_pin_length in [patrons]", 4, 12));
      p->min_pin_length = static_cast<int>(digits);
    }
    return Status::Ok();
  }

  // Optional: how the Director is told of a new request besides the in-app inbox.
  Status ParseRequests(const toml::table& root, Profile* p) const {
    constexpr std::string_view kName = "[requests]";
    const toml::node* node = root.get("requests");
    if (node == nullptr) return Status::Ok();
    const toml::table* t = node->as_table();
    if (t == nullptr) return ErrorAt(*node, "[requests] must be a table");
    CARREL_RETURN_IF_ERROR(
        CheckKeys(*t, kName,
                  {"notify_command", "notify_patrons", "patron_notice_command",
                   "acknowledge_within_open_hours", "deadline_warning_days", "intake_hold_days"}));
    CARREL_RETURN_IF_ERROR(CommandValue(*t, "notify_command", &p->notify_command));
    CARREL_RETURN_IF_ERROR(CommandValue(*t, "patron_notice_command", &p->patron_notice_command));
    if (const toml::node* n = t->get("notify_patrons")) {
      if (!n->is_boolean()) return ErrorAt(*n, "notify_patrons in [requests] must be true or false");
      p->notify_patrons = n->as_boolean()->get();
    }
    if (const toml::node* n = t->get("acknowledge_within_open_hours")) {
      CARREL_ASSIGN_OR_RETURN(int64_t hours,
                              IntValue(*n, "acknowledge_within_open_hours in [requests]", 1, 168));
      p->acknowledge_within_open_hours = static_cast<int>(hours);
    }
    if (const toml::node* n = t->get("intake_hold_days")) {
      CARREL_ASSIGN_OR_RETURN(int64_t days, IntValue(*n, "intake_hold_days in [requests]", 1, 365));
      p->intake_hold_days = static_cast<int>(days);
    }
    if (const toml::node* n = t->get("deadline_warning_days")) {
      CARREL_ASSIGN_OR_RETURN(int64_t days,
                              IntValue(*n, "deadline_warning_days in [requests]", 0, 90));
      p->deadline_warning_days = static_cast<int>(days);
    }
    return Status::Ok();
  }

  Status CommandValue(const toml::table& t, std::string_view key,
                      std::vector<std::string>* out) const {
    const toml::node* cmd = t.get(key);
    if (cmd == nullptr) return Status::Ok();
    std::string what = std::string(key) + " in [requests]";
    const toml::array* array = cmd->as_array();
    if (array == nullptr) return ErrorAt(*cmd, what + " must be an array");
    for (const toml::node& word : *array) {
      CARREL_ASSIGN_OR_RETURN(std::string w, StringValue(word, what));
      out->push_back(std::move(w));
    }
    return Status::Ok();
  }

  Status ParseTransparency(const toml::table& root, Profile* p) const {
    constexpr std::string_view kName = "[transparency]";
    const toml::node* node = root.get("transparency");
    if (node == nullptr) return Status::Ok();
    const toml::table* t = node->as_table();
    if (t == nullptr) return ErrorAt(*node, "[transparency] must be a table");
    CARREL_RETURN_IF_ERROR(CheckKeys(*t, kName, {"national_security_band", "under_nondisclosure"}));
    if (const toml::node* n = t->get("national_security_band")) {
      CARREL_ASSIGN_OR_RETURN(int64_t band,
                              IntValue(*n, "national_security_band in [transparency]", 1, 1000));
      p->national_security_band = static_cast<int>(band);
    }
    if (const toml::node* n = t->get("under_nondisclosure")) {
      CARREL_ASSIGN_OR_RETURN(std::string how,
                              StringValue(*n, "under_nondisclosure in [transparency]"));
      if (how != "exclude" && how != "band") {
        return ErrorAt(*n, "under_nondisclosure in [transparency] must be \"exclude\" or "
                           "\"band\"");
      }
      p->under_nondisclosure = how;
    }
    return Status::Ok();
  }

  // Optional: a library without it proposes 0 days everywhere until the Director signs.
  Status ParseRetention(const toml::table& root, Profile* p) const {
    constexpr std::string_view kName = "[retention]";
    const toml::node* node = root.get("retention");
    if (node == nullptr) return Status::Ok();
    const toml::table* t = node->as_table();
    if (t == nullptr) return ErrorAt(*node, "[retention] must be a table");
    std::vector<std::string_view> known(RetentionCategoryNames().begin(),
                                        RetentionCategoryNames().end());
    CARREL_RETURN_IF_ERROR(CheckKeys(*t, kName, known));
    for (const auto& [category, value] : *t) {
      CARREL_ASSIGN_OR_RETURN(int64_t days,
                              IntValue(value, "days for " + std::string(category.str()), 0, 36500));
      p->retention_days[std::string(category.str())] = static_cast<int>(days);
    }
    return Status::Ok();
  }

  std::string source_;
  fs::path base_dir_;
};

}  // namespace

std::string_view PolicyEventName(PolicyEventKind kind) { return NameOf(kPolicyEvents, kind); }

StatusOr<PolicyEventKind> ParsePolicyEvent(std::string_view name) {
  return ValueNamed(kPolicyEvents, name, "event");
}

const std::vector<std::string_view>& LawfulBasisNames() {
  static const std::vector<std::string_view> names = {"court_order", "patron_permission"};
  return names;
}

const std::vector<std::string_view>& LegalProcessNames() {
  static const std::vector<std::string_view> names = {
      "none",          "subpoena",   "court_order", "search_warrant", "national_security_letter",
      "fisa_order",    "other"};
  return names;
}

const std::vector<std::string_view>& RetentionCategoryNames() {
  static const std::vector<std::string_view> names = {
      "loan_link",      "hold_link",      "fine_link",       "session_link", "enews_unconfirmed",
      "enews_unsubscribed", "patron_account", "reading_history", "case_file"};
  return names;
}

StatusOr<Profile> ParseProfile(std::string_view toml_text, std::string_view source,
                               const std::filesystem::path& base_dir) {
  return ProfileParser(source, base_dir).Parse(toml_text);
}

StatusOr<Profile> LoadProfile(const std::filesystem::path& file) {
  std::string source = file.string();
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return NotFound(source + ": no profile file here");
  std::ifstream in(file, std::ios::binary);
  if (!in.is_open()) return InvalidArgument(source + ": cannot read the profile");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return InvalidArgument(source + ": cannot read the profile");
  fs::path base_dir = file.parent_path();
  if (base_dir.empty()) base_dir = ".";
  return ParseProfile(text.str(), source, base_dir);
}

std::string FormatOpeningPeriod(const std::optional<OpeningPeriod>& period) {
  if (!period) return std::string(kClosed);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02d:%02d-%02d:%02d", period->open_minute / 60,
                period->open_minute % 60, period->close_minute / 60, period->close_minute % 60);
  return buf;
}

std::string_view WeekdayName(int index_from_monday) {
  if (index_from_monday < 0 || index_from_monday >= 7) return "";
  return kWeekdayNames[static_cast<size_t>(index_from_monday)];
}

}  // namespace carrel
