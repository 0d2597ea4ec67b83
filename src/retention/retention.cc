// The retention engine (docs/design.md §6): the Director's signed schedule, plans and runs,
// epoch-key shredding of links, legal holds, reclaiming dead ciphertext.
//
// A run is a sequence of small steps, each atomic on its own: move the held links out of one
// epoch and note the key (one data transaction), destroy the key (one keyring transaction),
// mark it destroyed and count it (one data transaction); delete a batch of rows and count it
// (one transaction); delete one patron (crypto-shredding, its own transaction). The run's row
// carries the counts so far, so a run killed anywhere is finished by the next one, which sees
// the state the killed one left and carries on from there.

#include "carrel/retention.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "carrel/encoding.h"
#include "circulation/sealed_records.h"

namespace carrel {

namespace {

constexpr char kScheduleFormat[] = "carrel-retention-schedule/1";
constexpr int kMaxDays = 36500;
constexpr int64_t kRowBatch = 500;
constexpr size_t kKeyBatch = 64;  // epoch keys destroyed per keyring transaction

// The kinds of sealed patron link (kept by circulation), each with its schedule category and
// the category its epoch keys are named by.
using LinkKind = Circulation::LinkKind;
struct LinkTable {
  LinkKind kind;
  const char* category;  // schedule category
  const char* epoch;     // epoch category
};
constexpr LinkTable kLinkTables[] = {
    {LinkKind::kLoan, "loan_link", "loan"},
    {LinkKind::kHold, "hold_link", "hold"},
    {LinkKind::kFine, "fine_link", "fine"},
    {LinkKind::kSession, "session_link", "session"},
};

const LinkTable* TableForEpochCategory(std::string_view epoch) {
  for (const LinkTable& t : kLinkTables) {
    if (epoch == t.epoch) return &t;
  }
  return nullptr;
}

std::string HeldEpoch(int64_t hold_id) { return "held/" + std::to_string(hold_id); }

Date AddDays(Date d, int days) { return d + std::chrono::days(days); }

// An epoch key's name, understood: "epoch/loan/2026-12-01" (a day's links of one kind),
// "epoch/2026-12-01" (before links had kinds: all kinds of that day), "epoch/held/7" (links
// kept by legal hold 7).
struct EpochKey {
  std::string name, epoch;
  std::string kind;  // "loan", "hold", "fine", "session", "day" (old), "held"
  Date day{};
  int64_t hold_id = 0;
};

std::optional<EpochKey> ParseEpochKey(const std::string& name) {
  if (name.rfind("epoch/", 0) != 0) return std::nullopt;
  EpochKey k;
  k.name = name;
  k.epoch = name.substr(6);
  size_t slash = k.epoch.find('/');
  if (slash == std::string::npos) {
    auto day = ParseDate(k.epoch);
    if (!day.ok()) return std::nullopt;
    k.kind = "day";
    k.day = *day;
    return k;
  }
  k.kind = k.epoch.substr(0, slash);
  std::string rest = k.epoch.substr(slash + 1);
  if (k.kind == "held") {
    try {
      k.hold_id = std::stoll(rest);
    } catch (...) {
      return std::nullopt;
    }
    return k;
  }
  if (TableForEpochCategory(k.kind) == nullptr) return std::nullopt;
  auto day = ParseDate(rest);
  if (!day.ok()) return std::nullopt;
  k.day = *day;
  return k;
}

nlohmann::json CountsJson(const std::vector<RetentionCount>& counts) {
  nlohmann::json out = nlohmann::json::object();
  for (const RetentionCount& c : counts) {
    out[c.category] = {{"days", c.days}, {"due", c.due},   {"held", c.held},
                       {"listed", c.listed}, {"keys", c.keys}};
  }
  return out;
}

std::vector<RetentionCount> CountsFromJson(const RetentionSchedule& schedule,
                                           const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  std::vector<RetentionCount> out;
  for (const RetentionRule& r : schedule.rules) {
    RetentionCount c;
    c.category = r.category;
    c.days = r.days;
    if (j.is_object() && j.contains(r.category)) {
      const auto& v = j[r.category];
      c.due = v.value("due", int64_t{0});
      c.held = v.value("held", int64_t{0});
      c.listed = v.value("listed", int64_t{0});
      c.keys = v.value("keys", int64_t{0});
    }
    out.push_back(c);
  }
  return out;
}

RetentionCount& CountFor(std::vector<RetentionCount>& counts, std::string_view category) {
  for (RetentionCount& c : counts) {
    if (c.category == category) return c;
  }
  counts.push_back(RetentionCount{std::string(category)});
  return counts.back();
}

}  // namespace

const std::vector<RetentionCategory>& RetentionCategories() {
  static const std::vector<RetentionCategory> categories = {
      {"loan_link", "return", "the link between a patron and a loan they returned", "loan",
       false},
      {"hold_link", "end of the hold", "the link between a patron and a hold that ended", "hold",
       false},
      {"fine_link", "payment or waiver", "the link between a patron and a settled fine", "fine",
       false},
      {"session_link", "end of the session",
       "the link between a patron and a public-computer session", "session", false},
      {"enews_unconfirmed", "sign-up", "an eNews address whose owner never confirmed it", "",
       false},
      {"enews_unsubscribed", "unsubscription", "an eNews address after unsubscribing", "", false},
      {"patron_account", "card expiry and last activity, whichever is later",
       "a patron account, expired and inactive", "", false},
      {"reading_history", "opt-out",
       "an opted-in reading history after the patron opts out (deleted at opt-out)", "", true},
      {"case_file", "closing of the case",
       "a request case file (requests for confidential information)", "", false},
  };
  return categories;
}

int RetentionSchedule::Days(std::string_view category) const {
  for (const RetentionRule& r : rules) {
    if (r.category == category) return r.days;
  }
  return -1;
}

RetentionSchedule ScheduleFromProfile(const Profile& profile) {
  RetentionSchedule s;
  for (const RetentionCategory& c : RetentionCategories()) {
    auto it = profile.retention_days.find(std::string(c.name));
    s.rules.push_back({std::string(c.name), it == profile.retention_days.end() ? 0 : it->second});
  }
  return s;
}

std::string ScheduleDocument(const RetentionSchedule& schedule) {
  nlohmann::ordered_json j;
  j["format"] = kScheduleFormat;
  j["rules"] = nlohmann::ordered_json::array();
  for (const RetentionCategory& c : RetentionCategories()) {
    int days = schedule.Days(c.name);
    j["rules"].push_back({{"category", c.name}, {"trigger", c.trigger}, {"days", days}});
  }
  return j.dump();
}

StatusOr<RetentionSchedule> ParseSchedule(std::string_view json) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgument("a retention schedule must be a JSON object");
  }
  if (j.value("format", std::string()) != kScheduleFormat) {
    return InvalidArgument(std::string("a retention schedule's format must be \"") +
                           kScheduleFormat + "\"");
  }
  if (!j.contains("rules") || !j["rules"].is_array()) {
    return InvalidArgument("a retention schedule needs a list of rules");
  }
  std::map<std::string, int> days;
  for (const auto& rule : j["rules"]) {
    if (!rule.is_object() || !rule.contains("category") || !rule["category"].is_string() ||
        !rule.contains("days") || !rule["days"].is_number_integer()) {
      return InvalidArgument("each rule needs a category and a whole number of days");
    }
    std::string category = rule["category"].get<std::string>();
    auto known = std::find_if(RetentionCategories().begin(), RetentionCategories().end(),
                              [&](const RetentionCategory& c) { return c.name == category; });
    if (known == RetentionCategories().end()) {
      return InvalidArgument("unknown retention category: " + category);
    }
    int64_t d = rule["days"].get<int64_t>();
    if (d < 0 || d > kMaxDays) {
      return InvalidArgument("days for " + category + " must be 0 to " +
                             std::to_string(kMaxDays));
    }
    if (known->immediate && d != 0) {
      return InvalidArgument(category + " is deleted at once: its days must be 0");
    }
    if (!days.emplace(category, static_cast<int>(d)).second) {
      return InvalidArgument("two rules for " + category);
    }
  }
  RetentionSchedule s;
  for (const RetentionCategory& c : RetentionCategories()) {
    auto it = days.find(std::string(c.name));
    if (it == days.end()) return InvalidArgument("no rule for " + std::string(c.name));
    s.rules.push_back({std::string(c.name), it->second});
  }
  return s;
}

// What a run has to do, as found now.
struct Retention::Work {
  struct Key {
    EpochKey key;
    std::string category;  // schedule category the links count under
    int64_t links = 0;     // rows sealed under it
    int64_t held = 0;      // of which kept by a hold (moved out before destruction)
  };
  std::vector<Key> keys;
  std::vector<int64_t> enews_unconfirmed, enews_unsubscribed;
  std::vector<int64_t> patrons;
  std::vector<RetentionCount> counts;
};

Retention::Retention(const RetentionDeps& deps, std::string library_id)
    : store_(deps.store),
      vault_(deps.vault),
      audit_(deps.audit),
      accounts_(deps.accounts),
      circulation_(deps.circulation),
      calendar_(deps.calendar),
      clock_(deps.clock),
      library_id_(std::move(library_id)) {}

Date Retention::Today() const { return calendar_->LocalDate(clock_->Now()); }

std::string Retention::SignedMessage(int64_t version, std::string_view document,
                                     std::string_view reason) const {
  return "carrel retention schedule\n" + library_id_ + "\nversion " + std::to_string(version) +
         "\nreason " + std::string(reason) + "\n" + std::string(document);
}

StatusOr<std::pair<User, std::string>> Retention::DirectorSigns(int64_t user_id,
                                                                std::string_view password,
                                                                SignedPurpose purpose,
                                                                std::string_view message) {
  CARREL_ASSIGN_OR_RETURN(User user,
                          accounts_->ActiveInRole(user_id, Role::kDirector,
                                                  "only the Director may sign the retention "
                                                  "schedule and legal holds"));
  CARREL_ASSIGN_OR_RETURN(std::string signature,
                          accounts_->Sign(user_id, password, purpose, message));
  return std::make_pair(user, signature);
}

// Schedule versions as stored, oldest first; `order` picks which ("... LIMIT 1" for the newest).
static StatusOr<std::vector<ScheduleVersion>> ReadVersions(Transaction& tx,
                                                           const std::string& order) {
  std::vector<ScheduleVersion> out;
  CARREL_RETURN_IF_ERROR(tx.Exec(
      std::string("SELECT version, document, signed_by, signer, public_key, signature, reason, "
                  "signed_at FROM retention_schedules ") +
          order,
      {}, [&](const Row& row) -> Status {
        ScheduleVersion s;
        s.version = row.Int(0);
        s.document = row.Text(1);
        s.signed_by = row.Int(2);
        s.signer = row.Text(3);
        s.public_key = row.Bytes(4);
        s.signature = row.Bytes(5);
        s.reason = row.Text(6);
        CARREL_ASSIGN_OR_RETURN(s.signed_at, ParseInstant(row.Text(7)));
        auto parsed = ParseSchedule(s.document);
        if (parsed.ok()) s.schedule = *parsed;
        out.push_back(std::move(s));
        return Status::Ok();
      }));
  for (ScheduleVersion& s : out) {
    CARREL_ASSIGN_OR_RETURN(s.ruling, Governance::RulingOn(tx, "retention_schedule", s.version));
  }
  return out;
}

StatusOr<ScheduleVersion> Retention::CurrentVersion(Transaction& tx) {
  // A version the Board of Trustees reversed is never applied: the one before it stays in force.
  CARREL_ASSIGN_OR_RETURN(std::vector<int64_t> reversed,
                          Governance::ReversedIn(tx, "retention_schedule"));
  std::string skip;
  for (int64_t version : reversed) skip += (skip.empty() ? "" : ", ") + std::to_string(version);
  CARREL_ASSIGN_OR_RETURN(
      std::vector<ScheduleVersion> newest,
      ReadVersions(tx, (skip.empty() ? "" : "WHERE version NOT IN (" + skip + ") ") +
                           std::string("ORDER BY version DESC LIMIT 1")));
  if (newest.empty()) return NotFound("no retention schedule in force has been signed yet");
  ScheduleVersion& v = newest.front();
  // Trust nothing stored: the signature must cover exactly this version.
  if (!Accounts::VerifySignature(v.public_key, SignedPurpose::kSchedule,
                                 SignedMessage(v.version, v.document, v.reason),
                                 v.signature)) {
    return DataLoss("the retention schedule in force (version " + std::to_string(v.version) +
                    ") does not carry a valid signature");
  }
  CARREL_ASSIGN_OR_RETURN(v.schedule, ParseSchedule(v.document));
  return v;
}

StatusOr<ScheduleVersion> Retention::Current(const Actor& actor) {
  std::optional<ScheduleVersion> out;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(out, CurrentVersion(tx));
    return audit_->Append(tx, actor, {"retention.schedule.view", "retention_schedule",
                                      std::to_string(out->version), "", "{}"})
        .status();
  }));
  return *out;
}

StatusOr<std::vector<ScheduleVersion>> Retention::History(const Actor& actor) {
  std::vector<ScheduleVersion> out;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(out, ReadVersions(tx, "ORDER BY version"));
    return audit_->Append(tx, actor, {"retention.schedule.history", "retention_schedule", "", "",
                                      "{}"})
        .status();
  }));
  return out;
}

StatusOr<ScheduleVersion> Retention::SignSchedule(const Actor& actor, int64_t user_id,
                                                  std::string_view password,
                                                  const RetentionSchedule& schedule,
                                                  std::string_view reason) {
  if (reason.empty() || reason.size() > 2000) {
    return InvalidArgument("say why the schedule changes (1 to 2000 characters)");
  }
  std::string document = ScheduleDocument(schedule);
  CARREL_RETURN_IF_ERROR(ParseSchedule(document).status());
  int64_t version = 0;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(
        version, tx.QueryInt("SELECT coalesce(max(version), 0) + 1 FROM retention_schedules"));
    return Status::Ok();
  }));
  CARREL_ASSIGN_OR_RETURN(auto signed_by, DirectorSigns(user_id, password, SignedPurpose::kSchedule,
                                                        SignedMessage(version, document, reason)));
  ScheduleVersion v;
  v.version = version;
  v.schedule = schedule;
  v.document = document;
  v.signed_by = user_id;
  v.signer = signed_by.first.username;
  v.reason = std::string(reason);
  v.signed_at = clock_->Now();
  v.public_key = signed_by.first.signing_public_key;
  v.signature = signed_by.second;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(int64_t next, tx.QueryInt("SELECT coalesce(max(version), 0) + 1 FROM "
                                                      "retention_schedules"));
    if (next != version) {
      return FailedPrecondition("another schedule version was signed meanwhile; sign again");
    }
    CARREL_RETURN_IF_ERROR(tx.Exec(
        "INSERT INTO retention_schedules (version, document, signed_by, signer, public_key, "
        "signature, reason, signed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        {version, document, user_id, v.signer, Blob{v.public_key}, Blob{v.signature}, v.reason,
         FormatInstant(v.signed_at)}));
    nlohmann::json details = {{"version", version}, {"rules", nlohmann::json::parse(document)["rules"]}};
    return audit_->Append(tx, actor, {"retention.schedule.sign", "retention_schedule",
                                      std::to_string(version), "", details.dump()})
        .status();
  }));
  return v;
}

// Legal holds as stored, in order; `where` selects which. The sealed reason is opened only when
// `reason_key` is given (listing them), not when retention only needs their scope.
static StatusOr<std::vector<LegalHold>> ReadHolds(Transaction& tx, const char* where,
                                                  const SecretKey* reason_key) {
  std::vector<LegalHold> out;
  CARREL_RETURN_IF_ERROR(tx.Exec(
      std::string("SELECT id, patron_id, from_day, to_day, reason, case_id, placed_at, "
                  "placed_by, released_at FROM legal_holds ") +
          where + " ORDER BY id",
      {}, [&](const Row& row) -> Status {
        LegalHold h;
        h.id = row.Int(0);
        h.patron_id = row.Int(1);
        if (!row.IsNull(2)) {
          CARREL_ASSIGN_OR_RETURN(h.from, ParseDate(row.Text(2)));
        }
        if (!row.IsNull(3)) {
          CARREL_ASSIGN_OR_RETURN(h.to, ParseDate(row.Text(3)));
        }
        if (reason_key != nullptr) {
          CARREL_ASSIGN_OR_RETURN(
              h.reason, Vault::Open(*reason_key, "legal_holds", "reason", h.id, row.BytesView(4)));
        }
        h.case_id = row.Text(5);
        CARREL_ASSIGN_OR_RETURN(h.placed_at, ParseInstant(row.Text(6)));
        h.placed_by = row.Text(7);
        h.released = !row.IsNull(8);
        out.push_back(std::move(h));
        return Status::Ok();
      }));
  return out;
}

StatusOr<std::vector<LegalHold>> Retention::ActiveHolds(Transaction& tx) {
  // A hold a clerk's intake placed lapses on its day unless the Director or a designee has
  // confirmed it by acting on the case.
  std::string today = FormatDate(calendar_->LocalDate(clock_->Now()));
  std::string where = "WHERE released_at IS NULL AND (expires_on IS NULL OR confirmed_at IS NOT "
                      "NULL OR expires_on >= '" + today + "')";
  return ReadHolds(tx, where.c_str(), nullptr);
}

namespace {

bool Covers(const LegalHold& h, int64_t patron_id, Date day) {
  return h.patron_id == patron_id && (!h.from || *h.from <= day) && (!h.to || day <= *h.to);
}

// The trigger day of a link row from its day column (a date, or an instant for sessions).
StatusOr<Date> LinkDay(const Calendar& calendar, const std::string& text) {
  if (text.size() == 10) return ParseDate(text);
  CARREL_ASSIGN_OR_RETURN(Instant t, ParseInstant(text));
  return calendar.LocalDate(t);
}

struct HeldRow {
  const LinkTable* table;
  int64_t row;
  int64_t patron_id;
  int64_t hold_id;
};

}  // namespace

// The rows under `epoch` that an active hold covers, with the hold keeping each (the oldest).
// Where links carry a tag, only the held patrons' rows are read (by their tag under the epoch's
// key); the others are opened one by one.
static StatusOr<std::vector<HeldRow>> FindHeldRows(Transaction& tx, Vault& vault,
                                                   const Calendar& calendar,
                                                   const std::string& epoch,
                                                   const std::vector<LegalHold>& holds) {
  std::vector<HeldRow> out;
  if (holds.empty()) return out;
  SealedRecords records(&vault);
  std::set<int64_t> patrons;
  for (const LegalHold& h : holds) patrons.insert(h.patron_id);
  auto key = vault.keyring().Get(Vault::EpochKeyName(epoch));
  for (const LinkTable& t : kLinkTables) {
    std::vector<Circulation::LinkRow> rows;
    if (Circulation::LinksTagged(t.kind) && key.ok()) {
      for (int64_t patron : patrons) {
        const std::string tag = Vault::LinkTag(**key, patron);
        CARREL_ASSIGN_OR_RETURN(auto mine, Circulation::LinksIn(tx, t.kind, epoch, &tag));
        rows.insert(rows.end(), mine.begin(), mine.end());
      }
    } else {
      CARREL_ASSIGN_OR_RETURN(rows, Circulation::LinksIn(tx, t.kind, epoch));
    }
    for (const Circulation::LinkRow& row : rows) {
      CARREL_ASSIGN_OR_RETURN(
          auto patron, records.OpenLink(Circulation::LinkTableOf(t.kind), row.row, row.link, epoch,
                                        std::nullopt));
      if (!patron) continue;
      CARREL_ASSIGN_OR_RETURN(Date day, LinkDay(calendar, row.day));
      for (const LegalHold& h : holds) {
        if (Covers(h, *patron, day)) {
          out.push_back({&t, row.row, *patron, h.id});
          break;
        }
      }
    }
  }
  return out;
}

Status Retention::MoveHeldLinks(Transaction& tx, const std::string& epoch,
                                const std::vector<LegalHold>& holds, int64_t* moved) {
  CARREL_ASSIGN_OR_RETURN(std::vector<HeldRow> held,
                          FindHeldRows(tx, *vault_, *calendar_, epoch, holds));
  SealedRecords records(vault_);
  for (const HeldRow& h : held) {
    std::string target = HeldEpoch(h.hold_id);
    if (target == epoch) continue;  // already where its hold keeps it
    CARREL_ASSIGN_OR_RETURN(SealedLink link,
                            records.SealLinkInEpoch(Circulation::LinkTableOf(h.table->kind), h.row,
                                                    h.patron_id, target));
    CARREL_RETURN_IF_ERROR(
        Circulation::ResealLinkIn(tx, h.table->kind, h.row, link.link, link.epoch, link.tag));
    ++*moved;
  }
  return Status::Ok();
}

// The live epoch keys a run would destroy, with the links each seals (and those a standing
// hold keeps).
Status Retention::SurveyKeys(Transaction& tx, const RetentionSchedule& schedule, Date today,
                             const std::vector<std::string>& live,
                             const std::vector<LegalHold>& holds, Work* out) {
  Work& w = *out;
  int longest_link = 0;
  for (const LinkTable& t : kLinkTables) {
    longest_link = std::max(longest_link, schedule.Days(t.category));
  }
  std::set<int64_t> active_ids;
  for (const LegalHold& h : holds) active_ids.insert(h.id);
  for (const std::string& name : live) {
    std::optional<EpochKey> k = ParseEpochKey(name);
    if (!k) continue;
    Work::Key key{*k, "", 0, 0};
    bool due = false;
    if (k->kind == "held") {
      due = !active_ids.contains(k->hold_id);
    } else if (k->kind == "day") {
      due = AddDays(k->day, longest_link) < today;
      key.category = "loan_link";
    } else {
      const LinkTable* t = TableForEpochCategory(k->kind);
      key.category = t->category;
      due = AddDays(k->day, schedule.Days(t->category)) < today;
    }
    if (!due) {
      if (k->kind == "held") {
        // Links a standing hold keeps: past their period (they were moved when their day's
        // key went), so they count as held.
        for (const LinkTable& t : kLinkTables) {
          CARREL_ASSIGN_OR_RETURN(int64_t n, Circulation::CountLinksIn(tx, t.kind, k->epoch));
          CountFor(w.counts, t.category).held += n;
        }
      }
      continue;
    }
    std::map<std::string, int64_t> per_category;
    for (const LinkTable& t : kLinkTables) {
      CARREL_ASSIGN_OR_RETURN(int64_t n, Circulation::CountLinksIn(tx, t.kind, k->epoch));
      per_category[t.category] += n;
      key.links += n;
    }
    if (key.category.empty()) {
      // A held key: count its links under their own categories.
      key.category = "loan_link";
      for (const auto& [c, n] : per_category) {
        if (n > 0) key.category = c;
      }
    }
    CARREL_ASSIGN_OR_RETURN(std::vector<HeldRow> held,
                            FindHeldRows(tx, *vault_, *calendar_, k->epoch, holds));
    for (const HeldRow& h : held) {
      if (HeldEpoch(h.hold_id) != k->epoch) ++key.held;
    }
    RetentionCount& c = CountFor(w.counts, key.category);
    c.keys += 1;
    c.due += key.links - key.held;
    c.held += key.held;
    w.keys.push_back(std::move(key));
  }

  return Status::Ok();
}

// The rows a run would delete: eNews addresses past their period, and patron accounts expired
// and inactive for the whole period (those with loans or fines owed listed for staff instead).
Status Retention::SurveyRows(Transaction& tx, const RetentionSchedule& schedule, Date today,
                             const std::vector<LegalHold>& holds, Work* out) {
  Work& w = *out;
  CARREL_ASSIGN_OR_RETURN(w.enews_unconfirmed,
                          Circulation::StaleSubscriptionsIn(
                              tx, false, AddDays(today, -schedule.Days("enews_unconfirmed"))));
  CountFor(w.counts, "enews_unconfirmed").due = static_cast<int64_t>(w.enews_unconfirmed.size());
  CARREL_ASSIGN_OR_RETURN(w.enews_unsubscribed,
                          Circulation::StaleSubscriptionsIn(
                              tx, true, AddDays(today, -schedule.Days("enews_unsubscribed"))));
  CountFor(w.counts, "enews_unsubscribed").due = static_cast<int64_t>(w.enews_unsubscribed.size());

  // Patron accounts: expired and inactive for the whole period.
  std::set<int64_t> held_patrons;
  for (const LegalHold& h : holds) held_patrons.insert(h.patron_id);
  RetentionCount& accounts = CountFor(w.counts, "patron_account");
  CARREL_ASSIGN_OR_RETURN(
      std::vector<Circulation::DormantAccount> dormant,
      Circulation::DormantAccountsIn(tx, AddDays(today, -schedule.Days("patron_account"))));
  for (const Circulation::DormantAccount& d : dormant) {
    if (held_patrons.contains(d.patron_id)) {
      ++accounts.held;
    } else if (d.loans + d.fines_owed > 0) {
      ++accounts.listed;
    } else {
      w.patrons.push_back(d.patron_id);
      ++accounts.due;
    }
  }
  return Status::Ok();
}

StatusOr<Retention::Work> Retention::Survey(const RetentionSchedule& schedule, int64_t version,
                                            Date today) {
  (void)version;
  Work w;
  for (const RetentionRule& r : schedule.rules) w.counts.push_back({r.category, r.days});
  CARREL_ASSIGN_OR_RETURN(std::vector<std::string> live, vault_->keyring().LiveKeys("epoch/"));
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(std::vector<LegalHold> holds, ActiveHolds(tx));
    CARREL_RETURN_IF_ERROR(SurveyKeys(tx, schedule, today, live, holds, &w));
    return SurveyRows(tx, schedule, today, holds, &w);
  }));
  return w;
}

StatusOr<RetentionPlan> Retention::Plan(const Actor& actor, const RetentionSchedule* draft) {
  ScheduleVersion current;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    auto v = CurrentVersion(tx);
    if (v.status().code() == StatusCode::kNotFound) {
      return FailedPrecondition("no retention schedule is in force: the Director signs one first");
    }
    CARREL_RETURN_IF_ERROR(v.status());
    current = *v;
    return Status::Ok();
  }));
  RetentionPlan plan;
  plan.schedule_version = draft != nullptr ? current.version + 1 : current.version;
  plan.today = Today();
  CARREL_ASSIGN_OR_RETURN(Work w, Survey(draft != nullptr ? *draft : current.schedule,
                                         plan.schedule_version, plan.today));
  plan.counts = std::move(w.counts);
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_RETURN_IF_ERROR(tx.Exec(
        "SELECT k.epoch FROM retention_keys k WHERE k.destroyed = 1 AND k.reclaimed = 0", {},
        [&](const Row& row) -> Status {
          for (const LinkTable& t : kLinkTables) {
            CARREL_ASSIGN_OR_RETURN(int64_t n, Circulation::CountLinksIn(tx, t.kind, row.Text(0)));
            plan.awaiting_reclaim += n;
          }
          return Status::Ok();
        }));
    nlohmann::json details = {{"schedule_version", plan.schedule_version},
                              {"draft", draft != nullptr},
                              {"counts", CountsJson(plan.counts)}};
    return audit_->Append(tx, actor, {"retention.plan", "retention_schedule",
                                      std::to_string(plan.schedule_version), "", details.dump()})
        .status();
  }));
  return plan;
}

namespace {

// A run's counts so far, saved with each of its steps.
Status SaveRunCounts(Transaction& tx, const RetentionRun& run) {
  return tx.Exec("UPDATE retention_runs SET schedule_version = ?, counts = ? WHERE id = ?",
                 {run.schedule_version, CountsJson(run.counts).dump(), run.id});
}

}  // namespace

// The run to carry on: an unfinished one (the process ended during it) is finished by this
// one; otherwise a new run of the schedule in force, started and logged.
Status Retention::StartOrResumeRun(const Actor& actor, ScheduleVersion* version,
                                   RetentionRun* out) {
  ScheduleVersion& current = *version;
  RetentionRun& run = *out;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    auto v = CurrentVersion(tx);
    if (v.status().code() == StatusCode::kNotFound) {
      return FailedPrecondition("no retention schedule is in force: the Director signs one first");
    }
    CARREL_RETURN_IF_ERROR(v.status());
    current = *v;
    // An unfinished run (the process ended during it) is finished by this one.
    std::optional<RetentionRun> open;
    CARREL_RETURN_IF_ERROR(
        tx.Exec("SELECT id, schedule_version, run_day, started_at, counts, milliseconds FROM "
                "retention_runs WHERE finished_at IS NULL ORDER BY id LIMIT 1",
                {}, [&](const Row& row) -> Status {
                  RetentionRun r;
                  r.id = row.Int(0);
                  r.schedule_version = row.Int(1);
                  CARREL_ASSIGN_OR_RETURN(r.day, ParseDate(row.Text(2)));
                  CARREL_ASSIGN_OR_RETURN(r.started_at, ParseInstant(row.Text(3)));
                  r.counts = CountsFromJson(current.schedule, row.Text(4));
                  r.seconds = static_cast<double>(row.Int(5)) / 1000;
                  open = std::move(r);
                  return Status::Ok();
                }));
    if (open) {
      run = *open;
      run.schedule_version = current.version;
      return Status::Ok();
    }
    run.schedule_version = current.version;
    run.day = Today();
    run.started_at = clock_->Now();
    run.counts = CountsFromJson(current.schedule, "{}");
    CARREL_RETURN_IF_ERROR(tx.Exec(
        "INSERT INTO retention_runs (schedule_version, run_day, started_at) VALUES (?, ?, ?)",
        {run.schedule_version, FormatDate(run.day), FormatInstant(run.started_at)}));
    CARREL_ASSIGN_OR_RETURN(run.id, tx.QueryInt("SELECT max(id) FROM retention_runs"));
    return audit_->Append(tx, actor, {"retention.run.start", "retention_run",
                                      std::to_string(run.id), "",
                                      nlohmann::json{{"schedule_version", run.schedule_version}}
                                          .dump()})
        .status();
  }));
  return Status::Ok();
}

// Keys noted by an earlier attempt whose destruction went through but was not yet marked.
Status Retention::MarkNotedKeys(RetentionRun* out) {
  RetentionRun& run = *out;
  std::vector<std::pair<std::string, std::string>> noted;  // key name, category
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) {
    return tx.Exec("SELECT key_name, category FROM retention_keys WHERE destroyed = 0", {},
                   [&](const Row& row) {
                     noted.emplace_back(row.Text(0), row.Text(1));
                     return Status::Ok();
                   });
  }));
  for (const auto& noted_key : noted) {
    // Named apart, not as a structured binding: clang before 16 cannot capture those.
    const auto& name = noted_key.first;
    const auto& category = noted_key.second;
    if (!vault_->keyring().WasDestroyed(name)) continue;
    CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
      CARREL_ASSIGN_OR_RETURN(int64_t links, tx.QueryInt("SELECT links FROM retention_keys WHERE "
                                                         "key_name = ?",
                                                         {name}));
      CARREL_RETURN_IF_ERROR(
          tx.Exec("UPDATE retention_keys SET destroyed = 1, run_id = ? WHERE "
                  "key_name = ?",
                  {run.id, name}));
      RetentionCount& c = CountFor(run.counts, category);
      c.keys += 1;
      c.due += links;
      return SaveRunCounts(tx, run);
    }));
  }

  return Status::Ok();
}

// Epoch keys, a batch at a time: move held links out and note the keys (one transaction),
// destroy them (one keyring transaction), mark and count them (one transaction).
Status Retention::DestroyDueKeys(const Work& w, RetentionRun* out,
                                 const std::function<void()>& stepped) {
  RetentionRun& run = *out;
  for (size_t at = 0; at < w.keys.size(); at += kKeyBatch) {
    const size_t end = std::min(w.keys.size(), at + kKeyBatch);
    std::vector<int64_t> links(end - at, 0);
    std::vector<std::string> names;
    CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
      CARREL_ASSIGN_OR_RETURN(std::vector<LegalHold> holds, ActiveHolds(tx));
      for (size_t i = at; i < end; ++i) {
        const Work::Key& k = w.keys[i];
        int64_t moved = 0;
        CARREL_RETURN_IF_ERROR(MoveHeldLinks(tx, k.key.epoch, holds, &moved));
        // Past days gain no links, so what the survey counted, less what moved, is under it.
        links[i - at] = k.links - moved;
        CARREL_RETURN_IF_ERROR(
            tx.Exec("INSERT INTO retention_keys (key_name, epoch, category, run_id, links) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (key_name) DO UPDATE SET "
                    "links = excluded.links, run_id = excluded.run_id",
                    {k.key.name, k.key.epoch, k.category, run.id, links[i - at]}));
        names.push_back(k.key.name);
      }
      return Status::Ok();
    }));
    auto destroy_start = std::chrono::steady_clock::now();
    CARREL_RETURN_IF_ERROR(vault_->keyring().Destroy(names));
    run.key_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - destroy_start).count();
    CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
      for (size_t i = at; i < end; ++i) {
        const Work::Key& k = w.keys[i];
        CARREL_RETURN_IF_ERROR(
            tx.Exec("UPDATE retention_keys SET destroyed = 1 WHERE key_name = ?", {k.key.name}));
        RetentionCount& c = CountFor(run.counts, k.category);
        c.keys += 1;
        c.due += links[i - at];
      }
      return SaveRunCounts(tx, run);
    }));
    stepped();
  }

  return Status::Ok();
}

// eNews addresses past their period, in batches.
Status Retention::RemoveDueSubscriptions(const Work& w, RetentionRun* out,
                                         const std::function<void()>& stepped) {
  RetentionRun& run = *out;
  for (auto part : {std::pair{&w.enews_unconfirmed, "enews_unconfirmed"},
                    std::pair{&w.enews_unsubscribed, "enews_unsubscribed"}}) {
    const std::vector<int64_t>* ids = part.first;
    const char* category = part.second;
    for (size_t at = 0; at < ids->size(); at += kRowBatch) {
      CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
        int64_t removed = 0;
        for (size_t i = at; i < std::min(ids->size(), at + kRowBatch); ++i) {
          CARREL_ASSIGN_OR_RETURN(bool gone, Circulation::RemoveSubscriptionIn(tx, (*ids)[i]));
          removed += gone ? 1 : 0;
        }
        CountFor(run.counts, category).due += removed;
        return SaveRunCounts(tx, run);
      }));
      stepped();
    }
  }

  return Status::Ok();
}

// Patron accounts past their period: crypto-shredding, one patron at a time (each its own
// audit entry, the run's counts saved in the deletion's own transaction).
Status Retention::ShredDueAccounts(const Actor& actor, const Work& w, RetentionRun* out,
                                   const std::function<void()>& stepped) {
  RetentionRun& run = *out;
  auto save_counts = [&run](Transaction& tx) { return SaveRunCounts(tx, run); };
  for (int64_t id : w.patrons) {
    RetentionCount& accounts = CountFor(run.counts, "patron_account");
    accounts.due += 1;  // counted in the deletion's own transaction
    Status s = circulation_->DeletePatron(actor, id, save_counts);
    if (!s.ok()) accounts.due -= 1;
    if (s.code() == StatusCode::kNotFound) continue;  // gone meanwhile
    if (s.code() == StatusCode::kFailedPrecondition) continue;  // borrowed meanwhile
    CARREL_RETURN_IF_ERROR(s);
    stepped();
  }

  return Status::Ok();
}

// Done: one audit entry with the counts, the destroyed keys, the version and the time.
Status Retention::FinishRun(const Actor& actor, RetentionRun* out) {
  RetentionRun& run = *out;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    run.destroyed_keys.clear();
    CARREL_RETURN_IF_ERROR(
        tx.Exec("SELECT key_name FROM retention_keys WHERE run_id = ? AND "
                "destroyed = 1 ORDER BY key_name",
                {run.id}, [&](const Row& row) {
                  run.destroyed_keys.push_back(row.Text(0));
                  return Status::Ok();
                }));
    run.finished_at = clock_->Now();
    CARREL_RETURN_IF_ERROR(
        tx.Exec("UPDATE retention_runs SET finished_at = ?, counts = ?, milliseconds = ?, "
                "schedule_version = ? WHERE id = ?",
                {FormatInstant(*run.finished_at), CountsJson(run.counts).dump(),
                 static_cast<int64_t>(run.seconds * 1000), run.schedule_version, run.id}));
    nlohmann::json details = {{"schedule_version", run.schedule_version},
                              {"counts", CountsJson(run.counts)},
                              {"destroyed_keys", run.destroyed_keys},
                              {"seconds", run.seconds}};
    return audit_->Append(tx, actor, {"retention.run", "retention_run", std::to_string(run.id),
                                      "", details.dump()})
        .status();
  }));
  return Status::Ok();
}

StatusOr<RetentionRun> Retention::Run(const Actor& actor,
                                      const std::function<void(int64_t, int64_t)>& progress,
                                      const std::function<void(int64_t)>& after_step) {
  auto started = std::chrono::steady_clock::now();
  ScheduleVersion current;
  RetentionRun run;
  CARREL_RETURN_IF_ERROR(StartOrResumeRun(actor, &current, &run));
  CARREL_RETURN_IF_ERROR(MarkNotedKeys(&run));
  CARREL_ASSIGN_OR_RETURN(Work w, Survey(current.schedule, current.version, run.day));
  const int64_t total = (static_cast<int64_t>(w.keys.size()) + static_cast<int64_t>(kKeyBatch) - 1) /
                            static_cast<int64_t>(kKeyBatch) +
                        (static_cast<int64_t>(w.enews_unconfirmed.size() +
                                              w.enews_unsubscribed.size()) +
                         kRowBatch - 1) / kRowBatch +
                        static_cast<int64_t>(w.patrons.size());
  int64_t step = 0;
  auto stepped = [&]() {
    ++step;
    if (progress) progress(step, total);
    if (after_step) after_step(step);
  };
  // Held counts are what the run found held at the end, not a sum over attempts.
  for (RetentionCount& c : run.counts) {
    c.held = CountFor(w.counts, c.category).held;
    c.listed = CountFor(w.counts, c.category).listed;
  }

  CARREL_RETURN_IF_ERROR(DestroyDueKeys(w, &run, stepped));
  CARREL_RETURN_IF_ERROR(RemoveDueSubscriptions(w, &run, stepped));
  CARREL_RETURN_IF_ERROR(ShredDueAccounts(actor, w, &run, stepped));
  run.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  CARREL_RETURN_IF_ERROR(FinishRun(actor, &run));
  if (progress) progress(total, total);
  return run;
}

namespace {

// A run's row as Runs and LatestRun read it: these columns first, in this order.
constexpr std::string_view kRunColumns =
    "SELECT id, schedule_version, run_day, started_at, finished_at";

StatusOr<RetentionRun> RunFromRow(const Row& row) {
  RetentionRun r;
  r.id = row.Int(0);
  r.schedule_version = row.Int(1);
  CARREL_ASSIGN_OR_RETURN(r.day, ParseDate(row.Text(2)));
  CARREL_ASSIGN_OR_RETURN(r.started_at, ParseInstant(row.Text(3)));
  if (!row.IsNull(4)) {
    CARREL_ASSIGN_OR_RETURN(r.finished_at, ParseInstant(row.Text(4)));
  }
  return r;
}

}  // namespace

StatusOr<std::vector<RetentionRun>> Retention::Runs(const Actor& actor, int limit) {
  std::vector<RetentionRun> out;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    std::map<int64_t, RetentionSchedule> schedules;
    CARREL_RETURN_IF_ERROR(
        tx.Exec("SELECT version, document FROM retention_schedules", {}, [&](const Row& row) {
          auto s = ParseSchedule(row.Text(1));
          if (s.ok()) schedules[row.Int(0)] = *s;
          return Status::Ok();
        }));
    CARREL_RETURN_IF_ERROR(
        tx.Exec(std::string(kRunColumns) +
                    ", counts, milliseconds FROM retention_runs ORDER BY id DESC LIMIT ?",
                {int64_t{std::clamp(limit, 1, 1000)}}, [&](const Row& row) -> Status {
                  CARREL_ASSIGN_OR_RETURN(RetentionRun r, RunFromRow(row));
                  r.counts = CountsFromJson(schedules[r.schedule_version], row.Text(5));
                  r.seconds = static_cast<double>(row.Int(6)) / 1000;
                  out.push_back(std::move(r));
                  return Status::Ok();
                }));
    for (RetentionRun& r : out) {
      CARREL_RETURN_IF_ERROR(
          tx.Exec("SELECT key_name FROM retention_keys WHERE run_id = ? AND "
                  "destroyed = 1 ORDER BY key_name",
                  {r.id}, [&](const Row& row) {
                    r.destroyed_keys.push_back(row.Text(0));
                    return Status::Ok();
                  }));
    }
    return audit_->Append(tx, actor, {"retention.run.history", "retention_run", "", "", "{}"})
        .status();
  }));
  return out;
}

StatusOr<std::optional<RetentionRun>> Retention::LatestRun(Transaction& tx) {
  std::optional<RetentionRun> out;
  CARREL_RETURN_IF_ERROR(
      tx.Exec(std::string(kRunColumns) + " FROM retention_runs ORDER BY id DESC LIMIT 1", {},
              [&](const Row& row) -> Status {
                CARREL_ASSIGN_OR_RETURN(out, RunFromRow(row));
                return Status::Ok();
              }));
  return out;
}

StatusOr<int64_t> Retention::Reclaim(int64_t max_rows) {
  int64_t cleared = 0;
  std::vector<std::string> epochs;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) {
    return tx.Exec("SELECT epoch FROM retention_keys WHERE destroyed = 1 AND reclaimed = 0 "
                   "ORDER BY key_name LIMIT 64",
                   {}, [&](const Row& row) {
                     epochs.push_back(row.Text(0));
                     return Status::Ok();
                   });
  }));
  for (const std::string& epoch : epochs) {
    if (cleared >= max_rows) break;
    CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
      int64_t left = 0;
      for (const LinkTable& t : kLinkTables) {
        int64_t room = max_rows - cleared;
        if (room > 0) {
          CARREL_ASSIGN_OR_RETURN(int64_t n,
                                  Circulation::ClearDeadLinksIn(tx, t.kind, epoch, room));
          cleared += n;
        }
        CARREL_ASSIGN_OR_RETURN(int64_t n, Circulation::CountLinksIn(tx, t.kind, epoch));
        left += n;
      }
      if (left == 0) {
        CARREL_RETURN_IF_ERROR(
            tx.Exec("UPDATE retention_keys SET reclaimed = 1 WHERE epoch = ?", {epoch}));
      }
      return Status::Ok();
    }));
  }
  return cleared;
}

StatusOr<bool> Retention::RunDueToday() {
  bool due = false;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(int64_t schedules,
                            tx.QueryInt("SELECT count(*) FROM retention_schedules"));
    if (schedules == 0) return Status::Ok();
    CARREL_ASSIGN_OR_RETURN(int64_t done, tx.QueryInt("SELECT count(*) FROM retention_runs WHERE "
                                                      "run_day = ? AND finished_at IS NOT NULL",
                                                      {FormatDate(Today())}));
    due = done == 0;
    return Status::Ok();
  }));
  return due;
}

StatusOr<std::optional<RetentionRun>> Retention::RunIfDue(const Actor& actor) {
  if (calendar_->IsLibraryOpen(clock_->Now())) return std::optional<RetentionRun>();
  CARREL_ASSIGN_OR_RETURN(bool due, RunDueToday());
  if (!due) return std::optional<RetentionRun>();
  CARREL_ASSIGN_OR_RETURN(RetentionRun run, Run(actor));
  return std::optional<RetentionRun>(std::move(run));
}

StatusOr<LegalHold> Retention::PlaceHold(const Actor& actor, int64_t user_id,
                                         std::string_view password, LegalHold hold) {
  if (hold.reason.empty() || hold.reason.size() > 2000) {
    return InvalidArgument("a legal hold needs a reason (1 to 2000 characters)");
  }
  if (hold.from && hold.to && *hold.to < *hold.from) {
    return InvalidArgument("a legal hold's range ends before it starts");
  }
  int64_t id = 0;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(bool exists, Circulation::PatronExistsIn(tx, hold.patron_id));
    if (!exists) return NotFound("no such patron");
    CARREL_ASSIGN_OR_RETURN(id, tx.QueryInt("SELECT coalesce(max(id), 0) + 1 FROM legal_holds"));
    return Status::Ok();
  }));
  std::string statement = "carrel legal hold\n" + library_id_ + "\nhold " + std::to_string(id) +
                          "\npatron " + std::to_string(hold.patron_id) + "\nfrom " +
                          (hold.from ? FormatDate(*hold.from) : "-") + "\nto " +
                          (hold.to ? FormatDate(*hold.to) : "-") + "\nreason " + hold.reason;
  CARREL_ASSIGN_OR_RETURN(auto signed_by,
                          DirectorSigns(user_id, password, SignedPurpose::kLegalHold, statement));
  CARREL_ASSIGN_OR_RETURN(auto key, vault_->keyring().GetOrCreate("field/legal_holds"));
  hold.id = id;
  hold.placed_at = clock_->Now();
  hold.placed_by = actor.id;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_RETURN_IF_ERROR(tx.Exec(
        "INSERT INTO legal_holds (id, patron_id, from_day, to_day, reason, case_id, placed_by, "
        "placed_at, signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        {id, hold.patron_id, hold.from ? Value(FormatDate(*hold.from)) : Value(),
         hold.to ? Value(FormatDate(*hold.to)) : Value(),
         Blob{Vault::Seal(*key, "legal_holds", "reason", id, hold.reason)}, hold.case_id,
         hold.placed_by, FormatInstant(hold.placed_at), Blob{signed_by.second}}));
    return audit_->Append(tx, actor, {"legal_hold.place", "legal_hold", std::to_string(id),
                                      hold.case_id,
                                      nlohmann::json{{"patron", hold.patron_id}}.dump()})
        .status();
  }));
  return hold;
}

Status Retention::ReleaseHold(const Actor& actor, int64_t user_id, std::string_view password,
                              int64_t hold_id) {
  std::string statement = "carrel legal hold release\n" + library_id_ + "\nhold " +
                          std::to_string(hold_id);
  CARREL_ASSIGN_OR_RETURN(auto signed_by,
                          DirectorSigns(user_id, password, SignedPurpose::kLegalHold, statement));
  (void)signed_by;
  return WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_RETURN_IF_ERROR(
        tx.Exec("UPDATE legal_holds SET released_by = ?, released_at = ? WHERE id = ? AND "
                "released_at IS NULL",
                {actor.id, FormatInstant(clock_->Now()), hold_id}));
    if (tx.changes() == 0) return NotFound("no standing legal hold with that number");
    return audit_->Append(tx, actor, {"legal_hold.release", "legal_hold",
                                      std::to_string(hold_id), "", "{}"})
        .status();
  });
}

StatusOr<std::shared_ptr<const SecretKey>> Retention::HoldReasonKey() {
  return vault_->keyring().GetOrCreate("field/legal_holds");
}

Status Retention::PlaceCaseHold(Transaction& tx, const Actor& actor, const SecretKey& reason_key,
                                const std::string& case_id, int64_t patron_id,
                                std::optional<Date> from, std::optional<Date> to,
                                std::optional<Date> expires_on) {
  CARREL_ASSIGN_OR_RETURN(int64_t id,
                          tx.QueryInt("SELECT coalesce(max(id), 0) + 1 FROM legal_holds"));
  std::string reason = "records in the scope of request " + case_id;
  CARREL_RETURN_IF_ERROR(tx.Exec(
      "INSERT INTO legal_holds (id, patron_id, from_day, to_day, reason, case_id, placed_by, "
      "placed_at, signature, expires_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {id, patron_id, from ? Value(FormatDate(*from)) : Value(),
       to ? Value(FormatDate(*to)) : Value(),
       Blob{Vault::Seal(reason_key, "legal_holds", "reason", id, reason)}, case_id, actor.id,
       FormatInstant(clock_->Now()), Blob{},
       expires_on ? Value(FormatDate(*expires_on)) : Value()}));
  nlohmann::json details = {{"patron", patron_id}};
  if (expires_on) details["unless_confirmed_by"] = FormatDate(*expires_on);
  return audit_->Append(tx, actor, {"legal_hold.place", "legal_hold", std::to_string(id), case_id,
                                    details.dump()})
      .status();
}

Status Retention::ConfirmCaseHolds(Transaction& tx, const Actor& actor,
                                   const std::string& case_id) {
  std::vector<int64_t> ids;
  CARREL_RETURN_IF_ERROR(
      tx.Exec("SELECT id FROM legal_holds WHERE case_id = ? AND released_at IS NULL "
              "AND expires_on IS NOT NULL AND confirmed_at IS NULL",
              {case_id}, [&](const Row& row) {
                ids.push_back(row.Int(0));
                return Status::Ok();
              }));
  for (int64_t id : ids) {
    CARREL_RETURN_IF_ERROR(
        tx.Exec("UPDATE legal_holds SET confirmed_by = ?, confirmed_at = ? WHERE id = ?",
                {actor.id, FormatInstant(clock_->Now()), id}));
    CARREL_RETURN_IF_ERROR(
        audit_
            ->Append(tx, actor,
                     {"legal_hold.confirm", "legal_hold", std::to_string(id), case_id, "{}"})
            .status());
  }
  return Status::Ok();
}

StatusOr<int64_t> Retention::ReleaseCaseHolds(Transaction& tx, const Actor& actor,
                                              const std::string& case_id) {
  std::vector<int64_t> ids;
  CARREL_RETURN_IF_ERROR(
      tx.Exec("SELECT id FROM legal_holds WHERE case_id = ? AND released_at IS NULL", {case_id},
              [&](const Row& row) {
                ids.push_back(row.Int(0));
                return Status::Ok();
              }));
  for (int64_t id : ids) {
    CARREL_RETURN_IF_ERROR(
        tx.Exec("UPDATE legal_holds SET released_by = ?, released_at = ? WHERE id = ?",
                {actor.id, FormatInstant(clock_->Now()), id}));
    CARREL_RETURN_IF_ERROR(
        audit_
            ->Append(tx, actor,
                     {"legal_hold.release", "legal_hold", std::to_string(id), case_id, "{}"})
            .status());
  }
  return static_cast<int64_t>(ids.size());
}

StatusOr<std::vector<LegalHold>> Retention::Holds(const Actor& actor, bool include_released) {
  std::vector<LegalHold> out;
  CARREL_ASSIGN_OR_RETURN(auto key, vault_->keyring().GetOrCreate("field/legal_holds"));
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(
        out, ReadHolds(tx, include_released ? "" : "WHERE released_at IS NULL", key.get()));
    return audit_->Append(tx, actor, {"legal_hold.list", "legal_hold", "", "", "{}"}).status();
  }));
  return out;
}

StatusOr<std::vector<AccountToSettle>> Retention::AccountsToSettle(const Actor& actor) {
  ScheduleVersion current;
  std::vector<AccountToSettle> out;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(current, CurrentVersion(tx));
    CARREL_ASSIGN_OR_RETURN(std::vector<Circulation::DormantAccount> dormant,
                            Circulation::DormantAccountsIn(
                                tx, AddDays(Today(), -current.schedule.Days("patron_account"))));
    for (const Circulation::DormantAccount& d : dormant) {
      if (d.loans + d.fines_owed > 0) out.push_back({d.patron_id, d.loans, d.fines_owed});
    }
    return audit_->Append(tx, actor, {"retention.accounts.view", "patron", "", "",
                                      nlohmann::json{{"results", out.size()}}.dump()})
        .status();
  }));
  return out;
}

}  // namespace carrel
