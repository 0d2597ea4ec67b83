#include "carrel/circulation.h"

#include <sodium.h>

#include "circulation/sealed_records.h"

#include <algorithm>
#include <cctype>

namespace carrel {
namespace {

constexpr size_t kMaxBarcode = 64;
constexpr size_t kMaxText = 1024;

Status CheckBarcode(std::string_view barcode, std::string_view what) {
  if (barcode.empty() || barcode.size() > kMaxBarcode) {
    return InvalidArgument(std::string(what) + " barcode must be 1 to 64 characters");
  }
  for (char c : barcode) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') {
      return InvalidArgument(std::string(what) +
                             " barcode may contain only letters, digits and '-'");
    }
  }
  return Status::Ok();
}

Status CheckText(std::string_view text, std::string_view field, bool required) {
  if (required && text.empty()) return InvalidArgument(std::string(field) + " is required");
  if (text.size() > kMaxText) return InvalidArgument(std::string(field) + " is too long");
  return Status::Ok();
}

Status CheckEmail(std::string_view email) {
  size_t at = email.find('@');
  if (email.size() > 254 || at == std::string_view::npos || at == 0 ||
      at + 1 >= email.size() || email.find('@', at + 1) != std::string_view::npos ||
      std::any_of(email.begin(), email.end(),
                  [](char c) { return std::isspace(static_cast<unsigned char>(c)); })) {
    return InvalidArgument("email address is not valid");
  }
  return Status::Ok();
}

std::string Hex(const unsigned char* p, size_t n) {
  std::string out(n * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), p, n);
  out.pop_back();
  return out;
}

std::string TokenHash(std::string_view token) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(token.data()), token.size());
  return Hex(digest, sizeof digest);
}

Date DateColumn(const Row& row, int c) {
  auto d = ParseDate(row.Text(c));
  return d.ok() ? *d : Date{};
}

std::optional<Date> OptionalDate(const Row& row, int c) {
  if (row.IsNull(c)) return std::nullopt;
  return DateColumn(row, c);
}

Instant InstantColumn(const Row& row, int c) {
  auto t = ParseInstant(row.Text(c));
  return t.ok() ? *t : Instant{};
}

Value Text(std::string s) { return Value(std::move(s)); }
Value Int(int64_t v) { return Value(v); }
Value DateValue(Date d) { return Value(FormatDate(d)); }

ItemStatus ParseItemStatus(std::string_view s) {
  if (s == "on_loan") return ItemStatus::kOnLoan;
  if (s == "on_hold_shelf") return ItemStatus::kOnHoldShelf;
  if (s == "missing") return ItemStatus::kMissing;
  if (s == "withdrawn") return ItemStatus::kWithdrawn;
  return ItemStatus::kAvailable;
}

Item ReadItem(const Row& row) {
  Item i;
  i.id = row.Int(0);
  i.barcode = row.Text(1);
  i.title = row.Text(2);
  i.author = row.Text(3);
  i.call_number = row.Text(4);
  i.item_type = row.Text(5);
  i.status = ParseItemStatus(row.Text(6));
  return i;
}

Loan ReadLoan(const Row& row) {
  Loan l;
  l.id = row.Int(0);
  l.item_id = row.Int(1);
  l.patron_id = row.Int(2);
  l.checked_out_on = DateColumn(row, 3);
  l.due_on = DateColumn(row, 4);
  l.renewals = static_cast<int>(row.Int(5));
  return l;
}

HoldStatus ParseHoldStatus(std::string_view s) {
  if (s == "ready") return HoldStatus::kReady;
  if (s == "fulfilled") return HoldStatus::kFulfilled;
  if (s == "cancelled") return HoldStatus::kCancelled;
  if (s == "expired") return HoldStatus::kExpired;
  return HoldStatus::kWaiting;
}

Hold ReadHold(const Row& row) {
  Hold h;
  h.id = row.Int(0);
  h.item_id = row.Int(1);
  h.patron_id = row.Int(2);
  h.status = ParseHoldStatus(row.Text(3));
  h.placed_at = InstantColumn(row, 4);
  h.ready_until = OptionalDate(row, 5);
  return h;
}

Fine ReadFine(const Row& row) {
  Fine f;
  f.id = row.Int(0);
  f.patron_id = row.Int(1);
  f.loan_history_id = row.Int(2);
  f.amount_cents = row.Int(3);
  f.accrued_on = DateColumn(row, 4);
  std::string s = row.Text(5);
  f.status = s == "paid" ? FineStatus::kPaid : s == "waived" ? FineStatus::kWaived
                                                             : FineStatus::kOwed;
  f.settled_on = OptionalDate(row, 6);
  return f;
}

// Reads at most one row with `read`; kNotFound with `missing` when there is none.
template <typename T>
StatusOr<T> QueryOne(Transaction& tx, std::string_view sql, std::initializer_list<Value> params,
                     T (*read)(const Row&), std::string missing) {
  std::optional<T> out;
  CARREL_RETURN_IF_ERROR(tx.Exec(sql, params, [&](const Row& row) {
    if (!out) out = read(row);
    return Status::Ok();
  }));
  if (!out) return NotFound(std::move(missing));
  return std::move(*out);
}

template <typename T>
StatusOr<std::vector<T>> QueryAll(Transaction& tx, std::string_view sql,
                                  std::initializer_list<Value> params, T (*read)(const Row&)) {
  std::vector<T> out;
  CARREL_RETURN_IF_ERROR(tx.Exec(sql, params, [&](const Row& row) {
    out.push_back(read(row));
    return Status::Ok();
  }));
  return out;
}

// The fine to pay or waive; one already settled is a state problem.
StatusOr<Fine> OwedFine(Transaction& tx, int64_t fine_id) {
  CARREL_ASSIGN_OR_RETURN(Fine fine, QueryOne<Fine>(tx,
                                                    "SELECT id, patron_id, loan_history_id, "
                                                    "amount_cents, accrued_on, status, settled_on "
                                                    "FROM fines WHERE id = ?",
                                                    {Int(fine_id)}, ReadFine, "no such fine"));
  if (fine.status != FineStatus::kOwed) return FailedPrecondition("the fine is already settled");
  return fine;
}

StatusOr<Item> ItemByBarcode(Transaction& tx, std::string_view barcode) {
  CARREL_RETURN_IF_ERROR(CheckBarcode(barcode, "item"));
  return QueryOne<Item>(tx, "SELECT id, barcode, title, author, call_number, item_type, status "
                            "FROM items WHERE barcode = ?",
                        {Text(std::string(barcode))}, ReadItem, "no item with that barcode");
}

StatusOr<Patron> PatronByBarcode(SealedRecords& records, Transaction& tx,
                                 std::string_view barcode) {
  CARREL_RETURN_IF_ERROR(CheckBarcode(barcode, "card"));
  return records.FindPatronByBarcode(tx, barcode);
}

// The item's active loan; an item that is not lent is a state problem, not a missing thing.
StatusOr<Loan> ActiveLoanOf(Transaction& tx, int64_t item_id) {
  auto loan = QueryOne<Loan>(tx,
                             "SELECT id, item_id, patron_id, checked_out_on, due_on, renewals "
                             "FROM loans WHERE item_id = ?",
                             {Int(item_id)}, ReadLoan, "");
  if (loan.status().code() == StatusCode::kNotFound) {
    return FailedPrecondition("the item is not on loan");
  }
  return loan;
}

Status SetItemStatus(Transaction& tx, int64_t item_id, std::string_view status) {
  return tx.Send("UPDATE items SET status = ? WHERE id = ?",
                 {Text(std::string(status)), Int(item_id)});
}

Status TouchPatron(Transaction& tx, int64_t patron_id, Date today) {
  return tx.Send("UPDATE patrons SET last_activity_on = ? WHERE id = ? AND last_activity_on <> ?",
                 {DateValue(today), Int(patron_id), DateValue(today)});
}

}  // namespace

std::string_view ItemStatusName(ItemStatus status) {
  switch (status) {
    case ItemStatus::kAvailable: return "available";
    case ItemStatus::kOnLoan: return "on_loan";
    case ItemStatus::kOnHoldShelf: return "on_hold_shelf";
    case ItemStatus::kMissing: return "missing";
    case ItemStatus::kWithdrawn: return "withdrawn";
  }
  return "available";
}

std::string_view HoldStatusName(HoldStatus status) {
  switch (status) {
    case HoldStatus::kWaiting: return "waiting";
    case HoldStatus::kReady: return "ready";
    case HoldStatus::kFulfilled: return "fulfilled";
    case HoldStatus::kCancelled: return "cancelled";
    case HoldStatus::kExpired: return "expired";
  }
  return "waiting";
}

std::string_view FineStatusName(FineStatus status) {
  switch (status) {
    case FineStatus::kOwed: return "owed";
    case FineStatus::kPaid: return "paid";
    case FineStatus::kWaived: return "waived";
  }
  return "owed";
}

std::string_view WaiverReasonName(WaiverReason reason) {
  switch (reason) {
    case WaiverReason::kStaffDiscretion: return "staff_discretion";
    case WaiverReason::kReturnDispute: return "return_dispute";
    case WaiverReason::kHardship: return "hardship";
    case WaiverReason::kSystemError: return "system_error";
  }
  return "staff_discretion";
}

StatusOr<WaiverReason> ParseWaiverReason(std::string_view name) {
  for (WaiverReason r : {WaiverReason::kStaffDiscretion, WaiverReason::kReturnDispute,
                         WaiverReason::kHardship, WaiverReason::kSystemError}) {
    if (WaiverReasonName(r) == name) return r;
  }
  return InvalidArgument(
      "waiver reason must be one of staff_discretion, return_dispute, hardship, system_error");
}

Circulation::Circulation(Store* store, Vault* vault, AuditLog* audit, const Profile* profile,
                         const Calendar* calendar, const Clock* clock)
    : store_(store),
      records_(std::make_unique<SealedRecords>(vault)),
      audit_(audit),
      profile_(profile),
      calendar_(calendar),
      clock_(clock) {}

Circulation::~Circulation() = default;

namespace {

struct LinkTableInfo {
  Circulation::LinkKind kind;
  const char* table;
  const char* day_column;
  bool tagged;
};
constexpr LinkTableInfo kLinkTableInfo[] = {
    {Circulation::LinkKind::kLoan, "loan_history", "returned_on", true},
    {Circulation::LinkKind::kHold, "holds", "ended_on", false},
    {Circulation::LinkKind::kFine, "fines", "settled_on", false},
    {Circulation::LinkKind::kSession, "computer_sessions", "ended_at", false},
};

const LinkTableInfo& InfoOf(Circulation::LinkKind kind) {
  for (const LinkTableInfo& t : kLinkTableInfo) {
    if (t.kind == kind) return t;
  }
  return kLinkTableInfo[0];
}

}  // namespace

std::string_view Circulation::LinkTableOf(LinkKind kind) { return InfoOf(kind).table; }

bool Circulation::LinksTagged(LinkKind kind) { return InfoOf(kind).tagged; }

StatusOr<int64_t> Circulation::CountLinksIn(Transaction& tx, LinkKind kind,
                                            std::string_view epoch) {
  return tx.QueryInt(
      std::string("SELECT count(*) FROM ") + InfoOf(kind).table + " WHERE link_epoch = ?",
      {std::string(epoch)});
}

StatusOr<std::vector<Circulation::LinkRow>> Circulation::LinksIn(Transaction& tx, LinkKind kind,
                                                                 std::string_view epoch,
                                                                 const std::string* tag) {
  const LinkTableInfo& t = InfoOf(kind);
  std::string sql = std::string("SELECT id, patron_link, ") + t.day_column + " FROM " + t.table +
                    " WHERE link_epoch = ?";
  std::vector<Value> params = {std::string(epoch)};
  if (tag != nullptr && t.tagged) {
    sql += " AND link_tag = ?";
    params.push_back(Blob{*tag});
  }
  std::vector<LinkRow> out;
  CARREL_RETURN_IF_ERROR(tx.Exec(sql, params, [&](const Row& row) {
    out.push_back({row.Int(0), row.Bytes(1), row.Text(2)});
    return Status::Ok();
  }));
  return out;
}

Status Circulation::ResealLinkIn(Transaction& tx, LinkKind kind, int64_t row,
                                 const std::string& link, const std::string& epoch,
                                 const std::string& tag) {
  const LinkTableInfo& t = InfoOf(kind);
  if (t.tagged) {
    return tx.Exec(std::string("UPDATE ") + t.table +
                       " SET patron_link = ?, link_epoch = ?, link_tag = ? WHERE id = ?",
                   {Blob{link}, epoch, Blob{tag}, row});
  }
  return tx.Exec(
      std::string("UPDATE ") + t.table + " SET patron_link = ?, link_epoch = ? WHERE id = ?",
      {Blob{link}, epoch, row});
}

StatusOr<int64_t> Circulation::ClearDeadLinksIn(Transaction& tx, LinkKind kind,
                                                std::string_view epoch, int64_t limit) {
  const LinkTableInfo& t = InfoOf(kind);
  std::string sql = std::string("UPDATE ") + t.table +
                    " SET patron_link = NULL, link_epoch = NULL" +
                    (t.tagged ? ", link_tag = NULL" : "") + " WHERE id IN (SELECT id FROM " +
                    t.table + " WHERE link_epoch = ? LIMIT ?)";
  CARREL_RETURN_IF_ERROR(tx.Exec(sql, {std::string(epoch), limit}));
  return tx.changes();
}

StatusOr<bool> Circulation::PatronExistsIn(Transaction& tx, int64_t patron_id) {
  CARREL_ASSIGN_OR_RETURN(int64_t n,
                          tx.QueryInt("SELECT count(*) FROM patrons WHERE id = ?", {patron_id}));
  return n > 0;
}

StatusOr<std::string> Circulation::CardIndexIn(Transaction& tx, int64_t patron_id) {
  std::string index;
  CARREL_RETURN_IF_ERROR(
      tx.Exec("SELECT card_bi FROM patrons WHERE id = ?", {patron_id}, [&](const Row& row) {
        index = row.Bytes(0);
        return Status::Ok();
      }));
  return index;
}

StatusOr<std::vector<int64_t>> Circulation::StaleSubscriptionsIn(Transaction& tx, bool unsubscribed,
                                                                 Date cutoff) {
  std::vector<int64_t> ids;
  CARREL_RETURN_IF_ERROR(tx.Exec(unsubscribed ? "SELECT id FROM enews_subscriptions WHERE status = "
                                                "'unsubscribed' AND unsubscribed_on < ? ORDER BY id"
                                              : "SELECT id FROM enews_subscriptions WHERE status = "
                                                "'pending' AND created_on < ? ORDER BY id",
                                 {FormatDate(cutoff)}, [&](const Row& row) {
                                   ids.push_back(row.Int(0));
                                   return Status::Ok();
                                 }));
  return ids;
}

StatusOr<bool> Circulation::RemoveSubscriptionIn(Transaction& tx, int64_t subscription_id) {
  CARREL_RETURN_IF_ERROR(
      tx.Exec("DELETE FROM enews_subscriptions WHERE id = ?", {subscription_id}));
  return tx.changes() > 0;
}

StatusOr<std::vector<Circulation::DormantAccount>> Circulation::DormantAccountsIn(Transaction& tx,
                                                                                  Date cutoff) {
  std::vector<DormantAccount> out;
  std::string day = FormatDate(cutoff);
  CARREL_RETURN_IF_ERROR(
      tx.Exec("SELECT p.id, (SELECT count(*) FROM loans l WHERE l.patron_id = p.id), "
              "(SELECT count(*) FROM fines f WHERE f.patron_id = p.id AND f.status = 'owed') "
              "FROM patrons p WHERE p.expires_on < ? AND p.last_activity_on < ? ORDER BY p.id",
              {day, day}, [&](const Row& row) {
                out.push_back({row.Int(0), row.Int(1), row.Int(2)});
                return Status::Ok();
              }));
  return out;
}

StatusOr<std::vector<int64_t>> Circulation::AllPatronIds() {
  std::vector<int64_t> ids;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) {
    return tx.Exec("SELECT id FROM patrons ORDER BY id", {}, [&](const Row& row) {
      ids.push_back(row.Int(0));
      return Status::Ok();
    });
  }));
  return ids;
}

Status Circulation::ForgetPatron(const Actor& actor, int64_t id) {
  Status s = DeletePatron(actor, id);
  if (s.code() != StatusCode::kFailedPrecondition) return s;
  // Items out or fines owed in the old backup: drop the plain links, then the patron.
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_RETURN_IF_ERROR(tx.Exec("DELETE FROM loans WHERE patron_id = ?", {id}));
    return tx.Exec("UPDATE fines SET patron_id = NULL WHERE patron_id = ?", {id});
  }));
  return DeletePatron(actor, id);
}

StatusOr<int64_t> Circulation::ClearLinksOutside(const std::set<std::string>& live_days) {
  int64_t cleared = 0;
  for (const char* table : {"loan_history", "holds", "fines", "computer_sessions"}) {
    std::vector<std::string> dead;
    CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) {
      return tx.Exec(std::string("SELECT DISTINCT link_epoch FROM ") + table +
                         " WHERE link_epoch IS NOT NULL AND link_epoch <> ''",
                     {}, [&](const Row& row) {
                       if (!live_days.contains(row.Text(0))) dead.push_back(row.Text(0));
                       return Status::Ok();
                     });
    }));
    std::string extra = std::string(table) == "loan_history" ? ", link_tag = NULL" : "";
    for (const std::string& day : dead) {
      CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
        CARREL_RETURN_IF_ERROR(tx.Exec(std::string("UPDATE ") + table +
                                           " SET patron_link = NULL, link_epoch = NULL" + extra +
                                           " WHERE link_epoch = ?",
                                       {day}));
        cleared += tx.changes();
        return Status::Ok();
      }));
    }
  }
  return cleared;
}

Date Circulation::Today() const { return calendar_->LocalDate(clock_->Now()); }

Status Circulation::Audit(Transaction& tx, const Actor& actor, std::string_view action,
                          std::string_view object_type, int64_t object_id,
                          std::string details) {
  if (audit_ == nullptr) return Status::Ok();  // benchmarks measuring the cost of auditing
  AuditEvent event;
  event.action = std::string(action);
  event.object_type = std::string(object_type);
  event.object_id = object_id == 0 ? "" : std::to_string(object_id);
  event.details = std::move(details);
  return audit_->Append(tx, actor, event).status();
}

template <typename T>
StatusOr<std::vector<T>> Circulation::AuditedQuery(const Actor& actor, std::string_view sql,
                                                   std::initializer_list<Value> params,
                                                   T (*read)(const Row&), std::string_view action,
                                                   std::string_view object_type,
                                                   int64_t object_id) {
  std::vector<T> out;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(out, QueryAll<T>(tx, sql, params, read));
    return Audit(tx, actor, action, object_type, object_id);
  }));
  return out;
}

StatusOr<Patron> Circulation::AddPatron(const Actor& actor, const NewPatron& in) {
  CARREL_RETURN_IF_ERROR(CheckBarcode(in.card_barcode, "card"));
  CARREL_RETURN_IF_ERROR(CheckText(in.name, "name", true));
  CARREL_RETURN_IF_ERROR(CheckText(in.phone, "phone", false));
  CARREL_RETURN_IF_ERROR(CheckText(in.postal_address, "postal address", false));
  std::string email = NormalizeEmail(in.email);
  if (!email.empty()) CARREL_RETURN_IF_ERROR(CheckEmail(email));
  if (in.expires_on == Date{}) return InvalidArgument("expiry date is required");
  std::optional<Patron> out;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(out, records_->InsertPatron(tx, in, Today()));
    return Audit(tx, actor, "patron.create", "patron", out->id);
  }));
  return std::move(*out);
}

StatusOr<Patron> Circulation::GetPatron(const Actor& actor, int64_t id) {
  std::optional<Patron> out;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(out, records_->GetPatron(tx, id));
    return Audit(tx, actor, "patron.view", "patron", id);
  }));
  return std::move(*out);
}

StatusOr<Patron> Circulation::FindPatronByBarcode(const Actor& actor, std::string_view card_barcode) {
  std::optional<Patron> out;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(out, PatronByBarcode(*records_, tx, card_barcode));
    return Audit(tx, actor, "patron.search", "patron", out->id, R"({"by":"card_barcode"})");
  }));
  return std::move(*out);
}

StatusOr<std::vector<Patron>> Circulation::FindPatronsByEmail(const Actor& actor, std::string_view email) {
  std::vector<Patron> out;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(out, records_->FindPatronsByEmail(tx, email));
    return Audit(tx, actor, "patron.search", "patron", 0,
                 R"({"by":"email","results":)" + std::to_string(out.size()) + "}");
  }));
  return out;
}

StatusOr<std::vector<Patron>> Circulation::FindPatronsByName(const Actor& actor, std::string_view name) {
  if (name.empty() || name.size() > kMaxText) return InvalidArgument("name must be 1 to 1024 characters");
  std::vector<Patron> out;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(out, records_->FindPatronsByName(tx, name));
    return Audit(tx, actor, "patron.search", "patron", 0,
                 R"({"by":"name","results":)" + std::to_string(out.size()) + "}");
  }));
  return out;
}

StatusOr<Patron> Circulation::UpdatePatron(const Actor& actor, int64_t id,
                                           const PatronChanges& changes) {
  if (changes.name) CARREL_RETURN_IF_ERROR(CheckText(*changes.name, "name", true));
  if (changes.phone) CARREL_RETURN_IF_ERROR(CheckText(*changes.phone, "phone", false));
  if (changes.postal_address) {
    CARREL_RETURN_IF_ERROR(CheckText(*changes.postal_address, "postal address", false));
  }
  if (changes.email && !changes.email->empty()) {
    CARREL_RETURN_IF_ERROR(CheckEmail(NormalizeEmail(*changes.email)));
  }
  std::optional<Patron> out;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(Patron p, records_->GetPatron(tx, id));
    if (changes.name) p.name = *changes.name;
    if (changes.email) p.email = NormalizeEmail(*changes.email);
    if (changes.phone) p.phone = *changes.phone;
    if (changes.postal_address) p.postal_address = *changes.postal_address;
    if (changes.juvenile) p.juvenile = *changes.juvenile;
    if (changes.expires_on) p.expires_on = *changes.expires_on;
    CARREL_RETURN_IF_ERROR(records_->RewritePatron(tx, p));
    out = p;
    return Audit(tx, actor, "patron.update", "patron", id);
  }));
  return std::move(*out);
}

Status Circulation::SetHistoryOptIn(const Actor& actor, int64_t patron_id, bool opt_in) {
  CARREL_ASSIGN_OR_RETURN(std::vector<std::string> tags, records_->LinkTags(patron_id));
  return WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(Patron p, records_->GetPatron(tx, patron_id));
    p.history_opt_in = opt_in;
    CARREL_RETURN_IF_ERROR(records_->RewritePatron(tx, p));
    int64_t deleted = 0;
    if (!opt_in && !tags.empty()) {
      // The history kept under the patron's own key (the last tag) goes at once.
      CARREL_RETURN_IF_ERROR(
          tx.Exec("DELETE FROM loan_history WHERE link_epoch IS NULL AND link_tag = ?",
                  {Blob{tags.back()}}));
      deleted = tx.changes();
    }
    return Audit(tx, actor, opt_in ? "patron.history.opt_in" : "patron.history.opt_out",
                 "patron", patron_id, R"({"deleted":)" + std::to_string(deleted) + "}");
  });
}

Status Circulation::DeletePatron(const Actor& actor, int64_t patron_id,
                                 const std::function<Status(Transaction&)>& also) {
  // Outside the data transaction: the tags need the patron's key, which is about to go.
  CARREL_ASSIGN_OR_RETURN(std::vector<std::string> tags, records_->LinkTags(patron_id));
  return WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(
        int64_t exists, tx.QueryInt("SELECT count(*) FROM patrons WHERE id = ?", {Int(patron_id)}));
    if (exists == 0) return NotFound("no such patron");
    CARREL_ASSIGN_OR_RETURN(int64_t out_or_owed,
                            tx.QueryInt("SELECT (SELECT count(*) FROM loans WHERE patron_id = ?) + "
                                        "(SELECT count(*) FROM fines WHERE patron_id = ? AND "
                                        "status = 'owed')",
                                        {Int(patron_id), Int(patron_id)}));
    if (out_or_owed > 0) {
      return FailedPrecondition("the patron has items out or fines owed; settle them first");
    }
    CARREL_RETURN_IF_ERROR(
        Audit(tx, actor, "patron.delete", "patron", patron_id,
              R"({"destroyed_keys":["patron/)" + std::to_string(patron_id) + R"("]})"));
    // Key first: from this moment every sealed field of the patron is unreadable, in this
    // database and in every backup, even if the deletions below never happen.
    CARREL_RETURN_IF_ERROR(records_->vault().keyring().Destroy({Vault::PatronKeyName(patron_id)}));
    Date today = Today();
    // Open holds and sessions end now; their links go under today's epoch like any other.
    std::vector<int64_t> holds;
    CARREL_RETURN_IF_ERROR(
        tx.Exec("SELECT id FROM holds WHERE patron_id = ?", {Int(patron_id)}, [&](const Row& row) {
          holds.push_back(row.Int(0));
          return Status::Ok();
        }));
    for (int64_t h : holds) {
      CARREL_RETURN_IF_ERROR(
          tx.Exec("UPDATE holds SET status = 'cancelled', ended_on = ? WHERE id = ? AND status IN "
                  "('waiting', 'ready')",
                  {DateValue(today), Int(h)}));
      CARREL_RETURN_IF_ERROR(UnlinkRow(tx, "holds", h, patron_id, today));
    }
    std::vector<int64_t> sessions;
    CARREL_RETURN_IF_ERROR(tx.Exec("SELECT id FROM computer_sessions WHERE patron_id = ?",
                                   {Int(patron_id)}, [&](const Row& row) {
                                     sessions.push_back(row.Int(0));
                                     return Status::Ok();
                                   }));
    for (int64_t id : sessions) {
      CARREL_RETURN_IF_ERROR(
          tx.Exec("UPDATE computer_sessions SET ended_at = coalesce(ended_at, ?) WHERE id = ?",
                  {Text(FormatInstant(clock_->Now())), Int(id)}));
      CARREL_RETURN_IF_ERROR(UnlinkRow(tx, "computer_sessions", id, patron_id, today));
    }
    CARREL_RETURN_IF_ERROR(
        tx.Exec("UPDATE fines SET patron_id = NULL WHERE patron_id = ?", {Int(patron_id)}));
    // A reading history kept under the patron's own key is now noise: remove it.
    if (!tags.empty()) {
      CARREL_RETURN_IF_ERROR(
          tx.Exec("DELETE FROM loan_history WHERE link_epoch IS NULL AND link_tag = ?",
                  {Blob{tags.back()}}));
    }
    CARREL_RETURN_IF_ERROR(tx.Exec("DELETE FROM patrons WHERE id = ?", {Int(patron_id)}));
    return also ? also(tx) : Status::Ok();
  });
}

StatusOr<std::vector<ReturnedLoan>> Circulation::PatronHistory(const Actor& actor, int64_t patron_id) {
  CARREL_ASSIGN_OR_RETURN(std::vector<std::string> tags, records_->LinkTags(patron_id));
  std::vector<ReturnedLoan> out;
  // Fixed-size IN lists keep one cached statement; short lists are padded with a repeat.
  constexpr size_t kChunk = 128;
  static const std::string sql = [] {
    std::string q =
        "SELECT id, item_id, checked_out_on, returned_on, patron_link, link_epoch FROM "
        "loan_history WHERE link_tag IN (?";
    for (size_t i = 1; i < kChunk; ++i) q += ", ?";
    return q + ") ORDER BY returned_on DESC, id DESC";
  }();
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    for (size_t at = 0; at < tags.size(); at += kChunk) {
      std::vector<Value> params;
      for (size_t i = 0; i < kChunk; ++i) {
        params.push_back(Blob{tags[std::min(at + i, tags.size() - 1)]});
      }
      CARREL_RETURN_IF_ERROR(tx.Exec(sql, params, [&](const Row& row) -> Status {
        // A tag can collide; the sealed link decides.
        CARREL_ASSIGN_OR_RETURN(
            auto owner,
            records_->OpenLink("loan_history", row.Int(0), row.Bytes(4), row.Text(5), patron_id));
        if (!owner || *owner != patron_id) return Status::Ok();
        ReturnedLoan r;
        r.history_id = row.Int(0);
        r.item_id = row.Int(1);
        r.checked_out_on = DateColumn(row, 2);
        r.returned_on = DateColumn(row, 3);
        out.push_back(r);
        return Status::Ok();
      }));
    }
    return Audit(tx, actor, "patron.history.view", "patron", patron_id,
                 R"({"entries":)" + std::to_string(out.size()) + "}");
  }));
  std::sort(out.begin(), out.end(), [](const ReturnedLoan& a, const ReturnedLoan& b) {
    return a.returned_on != b.returned_on ? a.returned_on > b.returned_on
                                          : a.history_id > b.history_id;
  });
  return out;
}

StatusOr<std::optional<int64_t>> Circulation::ReturnedLoanPatron(const Actor& actor, int64_t history_id) {
  std::optional<int64_t> out;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    bool found = false;
    std::string link, epoch;
    CARREL_RETURN_IF_ERROR(tx.Exec("SELECT patron_link, link_epoch FROM loan_history WHERE id = ?",
                                   {Int(history_id)}, [&](const Row& row) {
                                     found = true;
                                     link = row.Bytes(0);
                                     epoch = row.Text(1);
                                     return Status::Ok();
                                   }));
    if (!found) return NotFound("no such returned loan");
    if (link.empty()) return Audit(tx, actor, "loan_history.link.read", "loan_history", history_id);
    CARREL_ASSIGN_OR_RETURN(
        out, records_->OpenLink("loan_history", history_id, link, epoch, std::nullopt));
    return Audit(tx, actor, "loan_history.link.read", "loan_history", history_id);
  }));
  return out;
}

Status Circulation::UnlinkRow(Transaction& tx, std::string_view table, int64_t row,
                              int64_t patron_id, Date day) {
  CARREL_ASSIGN_OR_RETURN(SealedLink sealed, records_->SealLink(table, row, patron_id, day, false));
  return tx.Exec("UPDATE " + std::string(table) +
                     " SET patron_id = NULL, patron_link = ?, link_epoch = ? WHERE id = ?",
                 {Blob{sealed.link}, Text(sealed.epoch), Int(row)});
}

Status Circulation::AddToHistory(Transaction& tx, const Loan& loan, Date returned_on,
                                 int64_t* history_id) {
  CARREL_ASSIGN_OR_RETURN(int64_t id,
                          tx.QueryInt("SELECT coalesce(max(id), 0) + 1 FROM loan_history"));
  CARREL_ASSIGN_OR_RETURN(Patron patron, records_->GetPatron(tx, loan.patron_id));
  CARREL_ASSIGN_OR_RETURN(
      SealedLink sealed,
      records_->SealLink("loan_history", id, loan.patron_id, returned_on, patron.history_opt_in));
  CARREL_RETURN_IF_ERROR(tx.Exec(
      "INSERT INTO loan_history (id, item_id, patron_link, link_epoch, link_tag, checked_out_on, "
      "due_on, returned_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      {Int(id), Int(loan.item_id), Blob{sealed.link},
       sealed.epoch.empty() ? Value() : Text(sealed.epoch), Blob{sealed.tag},
       DateValue(loan.checked_out_on), DateValue(loan.due_on), DateValue(returned_on)}));
  if (history_id != nullptr) *history_id = id;
  return Status::Ok();
}

StatusOr<Item> Circulation::AddItem(const Actor& actor, const NewItem& in) {
  CARREL_RETURN_IF_ERROR(CheckBarcode(in.barcode, "item"));
  CARREL_RETURN_IF_ERROR(CheckText(in.title, "title", true));
  CARREL_RETURN_IF_ERROR(CheckText(in.author, "author", false));
  CARREL_RETURN_IF_ERROR(CheckText(in.call_number, "call number", false));
  if (!profile_->loan_days.contains(in.item_type)) {
    return InvalidArgument("item type '" + in.item_type + "' has no loan period in the profile");
  }
  Item out{0, in.barcode, in.title, in.author, in.call_number, in.item_type,
           ItemStatus::kAvailable};
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    Status s = tx.Exec(
        "INSERT INTO items (barcode, title, author, call_number, item_type, status) "
        "VALUES (?, ?, ?, ?, ?, 'available') RETURNING id",
        {Text(in.barcode), Text(in.title), Text(in.author), Text(in.call_number),
         Text(in.item_type)},
        [&](const Row& row) {
          out.id = row.Int(0);
          return Status::Ok();
        });
    if (s.code() == StatusCode::kAlreadyExists) {
      return AlreadyExists("an item with that barcode already exists");
    }
    CARREL_RETURN_IF_ERROR(s);
    return Audit(tx, actor, "item.create", "item", out.id);
  }));
  return out;
}

StatusOr<Item> Circulation::GetItem(int64_t id) {
  std::optional<Item> out;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(out, QueryOne<Item>(tx,
                                                "SELECT id, barcode, title, author, call_number, "
                                                "item_type, status FROM items WHERE id = ?",
                                                {Int(id)}, ReadItem, "no such item"));
    return Status::Ok();
  }));
  return std::move(*out);
}

StatusOr<Circulation::ItemCirculation> Circulation::ItemState(std::string_view barcode) {
  ItemCirculation out;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(out.item, ItemByBarcode(tx, barcode));
    CARREL_RETURN_IF_ERROR(tx.Exec("SELECT due_on FROM loans WHERE item_id = ?", {Int(out.item.id)},
                                   [&](const Row& row) -> Status {
                                     CARREL_ASSIGN_OR_RETURN(Date due, ParseDate(row.Text(0)));
                                     out.due_on = due;
                                     return Status::Ok();
                                   }));
    CARREL_ASSIGN_OR_RETURN(out.holds_waiting,
                            tx.QueryInt("SELECT count(*) FROM holds WHERE item_id = ? AND "
                                        "status IN ('waiting', 'ready')",
                                        {Int(out.item.id)}));
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::map<int64_t, Item>> Circulation::GetItems(const std::vector<int64_t>& ids) {
  std::map<int64_t, Item> out;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    for (int64_t id : ids) {
      if (out.contains(id)) continue;
      auto item = QueryOne<Item>(tx,
                                 "SELECT id, barcode, title, author, call_number, item_type, "
                                 "status FROM items WHERE id = ?",
                                 {Int(id)}, ReadItem, "no such item");
      if (item.ok()) {
        out.emplace(id, std::move(*item));
      } else if (item.status().code() != StatusCode::kNotFound) {
        return item.status();
      }
    }
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::vector<Item>> Circulation::SearchCatalogue(std::string_view terms, int limit) {
  std::vector<std::string> words;
  for (size_t at = 0; at < terms.size() && words.size() < 8;) {
    size_t end = terms.find(' ', at);
    if (end == std::string_view::npos) end = terms.size();
    if (end > at) words.emplace_back(terms.substr(at, end - at));
    at = end + 1;
  }
  std::vector<Item> out;
  if (words.empty()) return out;
  std::string sql =
      "SELECT id, barcode, title, author, call_number, item_type, status FROM items WHERE "
      "status != 'withdrawn'";
  std::vector<Value> params;
  for (const std::string& w : words) {
    std::string pattern = "%";
    for (char c : w) {
      if (c == '%' || c == '_' || c == '\\') pattern.push_back('\\');
      pattern.push_back(c);
    }
    pattern.push_back('%');
    sql += " AND (title LIKE ? ESCAPE '\\' OR author LIKE ? ESCAPE '\\' OR call_number LIKE ? "
           "ESCAPE '\\')";
    for (int i = 0; i < 3; ++i) params.push_back(Text(pattern));
  }
  sql += " ORDER BY title, id LIMIT ?";
  params.push_back(Int(limit));
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) {
    return tx.Exec(sql, params, [&](const Row& row) {
      out.push_back(ReadItem(row));
      return Status::Ok();
    });
  }));
  return out;
}

StatusOr<Item> Circulation::FindItemByBarcode(std::string_view barcode) {
  std::optional<Item> out;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(out, ItemByBarcode(tx, barcode));
    return Status::Ok();
  }));
  return std::move(*out);
}

StatusOr<Item> Circulation::UpdateItem(const Actor& actor, std::string_view barcode,
                                       const NewItem& changes) {
  CARREL_RETURN_IF_ERROR(CheckText(changes.title, "title", false));
  CARREL_RETURN_IF_ERROR(CheckText(changes.author, "author", false));
  CARREL_RETURN_IF_ERROR(CheckText(changes.call_number, "call number", false));
  if (!changes.item_type.empty() && !profile_->loan_days.contains(changes.item_type)) {
    return InvalidArgument("item type '" + changes.item_type + "' has no loan period in the profile");
  }
  std::optional<Item> out;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(Item item, ItemByBarcode(tx, barcode));
    if (!changes.title.empty()) item.title = changes.title;
    if (!changes.author.empty()) item.author = changes.author;
    if (!changes.call_number.empty()) item.call_number = changes.call_number;
    if (!changes.item_type.empty()) item.item_type = changes.item_type;
    CARREL_RETURN_IF_ERROR(tx.Exec(
        "UPDATE items SET title = ?, author = ?, call_number = ?, item_type = ? WHERE id = ?",
        {Text(item.title), Text(item.author), Text(item.call_number), Text(item.item_type),
         Int(item.id)}));
    out = item;
    return Audit(tx, actor, "item.update", "item", item.id);
  }));
  return std::move(*out);
}

Status Circulation::WithdrawItem(const Actor& actor, std::string_view barcode) {
  return WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(Item item, ItemByBarcode(tx, barcode));
    if (item.status == ItemStatus::kOnLoan) {
      return FailedPrecondition("the item is on loan; check it in before withdrawing it");
    }
    if (item.status == ItemStatus::kWithdrawn) return Status::Ok();
    // Holds on a withdrawn item can never be filled.
    CARREL_RETURN_IF_ERROR(
        tx.Exec("UPDATE holds SET status = 'cancelled', ended_on = ? WHERE item_id = ? "
                "AND status IN ('waiting', 'ready')",
                {DateValue(Today()), Int(item.id)}));
    CARREL_RETURN_IF_ERROR(Audit(tx, actor, "item.withdraw", "item", item.id));
    return SetItemStatus(tx, item.id, "withdrawn");
  });
}

Status Circulation::MarkItemMissing(const Actor& actor, std::string_view barcode) {
  Date today = Today();
  return WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(Item item, ItemByBarcode(tx, barcode));
    if (item.status == ItemStatus::kOnLoan) {
      CARREL_ASSIGN_OR_RETURN(Loan loan, ActiveLoanOf(tx, item.id));
      CARREL_RETURN_IF_ERROR(AddToHistory(tx, loan, today, nullptr));
      CARREL_RETURN_IF_ERROR(tx.Exec("DELETE FROM loans WHERE item_id = ?", {Int(item.id)}));
    }
    CARREL_RETURN_IF_ERROR(Audit(tx, actor, "item.missing", "item", item.id));
    return SetItemStatus(tx, item.id, "missing");
  });
}

StatusOr<Loan> Circulation::Checkout(const Actor& actor, std::string_view item_barcode,
                                     std::string_view patron_barcode) {
  Instant now = clock_->Now();
  Date today = calendar_->LocalDate(now);
  Loan loan;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(Item item, ItemByBarcode(tx, item_barcode));
    CARREL_ASSIGN_OR_RETURN(Patron patron, PatronByBarcode(*records_, tx, patron_barcode));
    if (patron.expires_on < today) {
      return FailedPrecondition("the patron's card has expired; renew the card first");
    }
    switch (item.status) {
      case ItemStatus::kAvailable:
        break;
      case ItemStatus::kOnLoan:
        return FailedPrecondition("the item is already on loan");
      case ItemStatus::kMissing:
        return FailedPrecondition("the item is marked missing; check it in to make it available");
      case ItemStatus::kWithdrawn:
        return FailedPrecondition("the item has been withdrawn from circulation");
      case ItemStatus::kOnHoldShelf: {
        int64_t hold_id = 0;
        CARREL_RETURN_IF_ERROR(
            tx.Exec("SELECT id FROM holds WHERE item_id = ? AND patron_id = ? AND status = 'ready'",
                    {Int(item.id), Int(patron.id)}, [&](const Row& row) {
                      hold_id = row.Int(0);
                      return Status::Ok();
                    }));
        if (hold_id == 0) {
          return FailedPrecondition("the item is on the hold shelf for another patron");
        }
        CARREL_RETURN_IF_ERROR(
            tx.Exec("UPDATE holds SET status = 'fulfilled', ended_on = ? WHERE id = ?",
                    {DateValue(today), Int(hold_id)}));
        CARREL_RETURN_IF_ERROR(UnlinkRow(tx, "holds", hold_id, patron.id, today));
        break;
      }
    }
    auto days = profile_->loan_days.find(item.item_type);
    if (days == profile_->loan_days.end()) {
      return FailedPrecondition("the item's type has no loan period in the profile");
    }
    loan.item_id = item.id;
    loan.patron_id = patron.id;
    loan.checked_out_on = today;
    loan.due_on = calendar_->DueDate(now, days->second);
    CARREL_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO loans (item_id, patron_id, checked_out_on, due_on, renewals) "
                "VALUES (?, ?, ?, ?, 0) RETURNING id",
                {Int(item.id), Int(patron.id), DateValue(today), DateValue(loan.due_on)},
                [&](const Row& row) {
                  loan.id = row.Int(0);
                  return Status::Ok();
                }));
    CARREL_RETURN_IF_ERROR(SetItemStatus(tx, item.id, "on_loan"));
    CARREL_RETURN_IF_ERROR(Audit(tx, actor, "loan.checkout", "loan", loan.id));
    return TouchPatron(tx, patron.id, today);
  }));
  return loan;
}

StatusOr<Loan> Circulation::Renew(const Actor& actor, std::string_view item_barcode) {
  Instant now = clock_->Now();
  Date today = calendar_->LocalDate(now);
  Loan loan;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(Item item, ItemByBarcode(tx, item_barcode));
    CARREL_ASSIGN_OR_RETURN(loan, ActiveLoanOf(tx, item.id));
    if (loan.renewals >= profile_->renewal_limit) {
      return FailedPrecondition("the loan has reached the renewal limit of " +
                                std::to_string(profile_->renewal_limit));
    }
    CARREL_ASSIGN_OR_RETURN(int64_t waiting,
                            tx.QueryInt("SELECT count(*) FROM holds WHERE item_id = ? AND "
                                        "status = 'waiting'",
                                        {Int(item.id)}));
    if (waiting > 0) {
      return FailedPrecondition("another patron is waiting for this item; it cannot be renewed");
    }
    CARREL_ASSIGN_OR_RETURN(Patron patron, records_->GetPatron(tx, loan.patron_id));
    if (patron.expires_on < today) {
      return FailedPrecondition("the patron's card has expired; renew the card first");
    }
    auto days = profile_->loan_days.find(item.item_type);
    if (days == profile_->loan_days.end()) {
      return FailedPrecondition("the item's type has no loan period in the profile");
    }
    // A renewal never shortens a loan.
    loan.due_on = std::max(loan.due_on, calendar_->DueDate(now, days->second));
    loan.renewals += 1;
    CARREL_RETURN_IF_ERROR(tx.Exec("UPDATE loans SET due_on = ?, renewals = ? WHERE id = ?",
                                   {DateValue(loan.due_on), Int(loan.renewals), Int(loan.id)}));
    CARREL_RETURN_IF_ERROR(Audit(tx, actor, "loan.renew", "loan", loan.id));
    return TouchPatron(tx, patron.id, today);
  }));
  return loan;
}

StatusOr<CheckinResult> Circulation::Checkin(const Actor& actor, std::string_view item_barcode) {
  Date today = Today();
  CheckinResult result;
  result.returned_on = today;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(Item item, ItemByBarcode(tx, item_barcode));
    result.item_id = item.id;
    Loan loan;
    if (item.status == ItemStatus::kMissing) {
      // A missing item turned up: back into circulation, no loan to end.
      CARREL_RETURN_IF_ERROR(Audit(tx, actor, "item.found", "item", item.id));
    } else {
      CARREL_ASSIGN_OR_RETURN(loan, ActiveLoanOf(tx, item.id));
      CARREL_RETURN_IF_ERROR(AddToHistory(tx, loan, today, &result.history_id));
      CARREL_RETURN_IF_ERROR(tx.Exec("DELETE FROM loans WHERE id = ?", {Int(loan.id)}));
      // Fines accrue for each open day past the due date, up to the cap per loan.
      if (today > loan.due_on && profile_->fine_per_day_cents > 0) {
        int64_t fine = 0;
        for (Date d = loan.due_on + std::chrono::days(1); d <= today; d += std::chrono::days(1)) {
          if (!calendar_->IsOpenDay(d)) continue;
          ++result.overdue_days;
          fine += profile_->fine_per_day_cents;
          if (fine >= profile_->fine_cap_cents) break;
        }
        result.fine_cents = std::min(fine, profile_->fine_cap_cents);
      }
      if (result.fine_cents > 0) {
        CARREL_RETURN_IF_ERROR(tx.Exec(
            "INSERT INTO fines (patron_id, loan_history_id, amount_cents, accrued_on, status) "
            "VALUES (?, ?, ?, ?, 'owed') RETURNING id",
            {Int(loan.patron_id), Int(result.history_id), Int(result.fine_cents), DateValue(today)},
            [&](const Row& row) {
              result.fine_id = row.Int(0);
              return Status::Ok();
            }));
      }
      CARREL_RETURN_IF_ERROR(TouchPatron(tx, loan.patron_id, today));
      CARREL_RETURN_IF_ERROR(Audit(tx, actor, "loan.checkin", "loan", loan.id));
    }
    // The first patron waiting gets the item on the hold shelf.
    CARREL_RETURN_IF_ERROR(
        tx.Exec("SELECT id FROM holds WHERE item_id = ? AND status = 'waiting' "
                "ORDER BY placed_at, id LIMIT 1",
                {Int(item.id)}, [&](const Row& row) {
                  result.hold_ready_id = row.Int(0);
                  return Status::Ok();
                }));
    if (result.hold_ready_id != 0) {
      CARREL_RETURN_IF_ERROR(
          tx.Exec("UPDATE holds SET status = 'ready', ready_until = ? WHERE id = ?",
                  {DateValue(today + std::chrono::days(profile_->hold_pickup_days)),
                   Int(result.hold_ready_id)}));
      return SetItemStatus(tx, item.id, "on_hold_shelf");
    }
    return SetItemStatus(tx, item.id, "available");
  }));
  return result;
}

StatusOr<std::vector<Loan>> Circulation::ActiveLoans(const Actor& actor, int64_t patron_id) {
  return AuditedQuery<Loan>(actor,
                            "SELECT id, item_id, patron_id, checked_out_on, due_on, "
                            "renewals FROM loans WHERE patron_id = ? ORDER BY due_on, id",
                            {Int(patron_id)}, ReadLoan, "patron.loans.view", "patron", patron_id);
}

StatusOr<std::vector<Loan>> Circulation::OverdueLoans(const Actor& actor, int limit) {
  std::vector<Loan> out;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(out,
                            QueryAll<Loan>(tx,
                                           "SELECT id, item_id, patron_id, checked_out_on, due_on, "
                                           "renewals FROM loans WHERE due_on < ? "
                                           "ORDER BY due_on, id LIMIT ?",
                                           {DateValue(Today()), Int(limit)}, ReadLoan));
    return Audit(tx, actor, "loan.overdue.list", "loan", 0,
                 R"({"results":)" + std::to_string(out.size()) + "}");
  }));
  return out;
}

StatusOr<Hold> Circulation::PlaceHold(const Actor& actor, std::string_view item_barcode,
                                      std::string_view patron_barcode) {
  Instant now = clock_->Now();
  Date today = calendar_->LocalDate(now);
  Hold hold;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(Item item, ItemByBarcode(tx, item_barcode));
    CARREL_ASSIGN_OR_RETURN(Patron patron, PatronByBarcode(*records_, tx, patron_barcode));
    if (patron.expires_on < today) {
      return FailedPrecondition("the patron's card has expired; renew the card first");
    }
    if (item.status == ItemStatus::kWithdrawn || item.status == ItemStatus::kMissing) {
      return FailedPrecondition("the item is not in circulation");
    }
    CARREL_ASSIGN_OR_RETURN(
        int64_t own, tx.QueryInt("SELECT count(*) FROM loans WHERE item_id = ? AND patron_id = ?",
                                 {Int(item.id), Int(patron.id)}));
    if (own > 0) return FailedPrecondition("the patron already has this item on loan");
    hold.item_id = item.id;
    hold.patron_id = patron.id;
    hold.placed_at = now;
    bool ready_now = item.status == ItemStatus::kAvailable;
    hold.status = ready_now ? HoldStatus::kReady : HoldStatus::kWaiting;
    if (ready_now) hold.ready_until = today + std::chrono::days(profile_->hold_pickup_days);
    Status s = tx.Exec(
        "INSERT INTO holds (item_id, patron_id, placed_at, status, ready_until) "
        "VALUES (?, ?, ?, ?, ?) RETURNING id",
        {Int(item.id), Int(patron.id), Text(FormatInstant(now)),
         Text(std::string(HoldStatusName(hold.status))),
         ready_now ? DateValue(*hold.ready_until) : Value()},
        [&](const Row& row) {
          hold.id = row.Int(0);
          return Status::Ok();
        });
    if (s.code() == StatusCode::kAlreadyExists) {
      return AlreadyExists("the patron already has a hold on this item");
    }
    CARREL_RETURN_IF_ERROR(s);
    if (ready_now) CARREL_RETURN_IF_ERROR(SetItemStatus(tx, item.id, "on_hold_shelf"));
    CARREL_RETURN_IF_ERROR(Audit(tx, actor, "hold.place", "hold", hold.id));
    return TouchPatron(tx, patron.id, today);
  }));
  return hold;
}

// After a ready hold ends without a checkout, the item goes to the next patron waiting, or
// back to the shelf.
Status Circulation::PassItemOn(Transaction& tx, int64_t item_id, Date today) {
  int64_t next = 0;
  CARREL_RETURN_IF_ERROR(
      tx.Exec("SELECT id FROM holds WHERE item_id = ? AND status = 'waiting' "
              "ORDER BY placed_at, id LIMIT 1",
              {Int(item_id)}, [&](const Row& row) {
                next = row.Int(0);
                return Status::Ok();
              }));
  if (next != 0) {
    CARREL_RETURN_IF_ERROR(
        tx.Exec("UPDATE holds SET status = 'ready', ready_until = ? WHERE id = ?",
                {DateValue(today + std::chrono::days(profile_->hold_pickup_days)), Int(next)}));
    return SetItemStatus(tx, item_id, "on_hold_shelf");
  }
  return tx.Exec("UPDATE items SET status = 'available' WHERE id = ? AND status = 'on_hold_shelf'",
                 {Int(item_id)});
}

Status Circulation::CancelHold(const Actor& actor, int64_t hold_id) {
  Date today = Today();
  return WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(Hold hold,
                            QueryOne<Hold>(tx,
                                           "SELECT id, item_id, patron_id, status, placed_at, "
                                           "ready_until FROM holds WHERE id = ?",
                                           {Int(hold_id)}, ReadHold, "no such hold"));
    if (hold.status != HoldStatus::kWaiting && hold.status != HoldStatus::kReady) {
      return FailedPrecondition("the hold has already ended");
    }
    CARREL_RETURN_IF_ERROR(
        tx.Exec("UPDATE holds SET status = 'cancelled', ended_on = ? WHERE id = ?",
                {DateValue(today), Int(hold_id)}));
    CARREL_RETURN_IF_ERROR(UnlinkRow(tx, "holds", hold_id, hold.patron_id, today));
    CARREL_RETURN_IF_ERROR(Audit(tx, actor, "hold.cancel", "hold", hold_id));
    if (hold.status == HoldStatus::kReady) {
      return PassItemOn(tx, hold.item_id, today);
    }
    return Status::Ok();
  });
}

StatusOr<int> Circulation::ExpireHolds(const Actor& actor) {
  Date today = Today();
  int expired = 0;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    std::vector<Hold> due;
    CARREL_ASSIGN_OR_RETURN(due, QueryAll<Hold>(tx,
                                                "SELECT id, item_id, patron_id, status, placed_at, "
                                                "ready_until FROM holds WHERE status = 'ready' AND "
                                                "ready_until < ? ORDER BY id",
                                                {DateValue(today)}, ReadHold));
    for (const Hold& h : due) {
      CARREL_RETURN_IF_ERROR(
          tx.Exec("UPDATE holds SET status = 'expired', ended_on = ? WHERE id = ?",
                  {DateValue(today), Int(h.id)}));
      CARREL_RETURN_IF_ERROR(UnlinkRow(tx, "holds", h.id, h.patron_id, today));
      CARREL_RETURN_IF_ERROR(PassItemOn(tx, h.item_id, today));
      ++expired;
    }
    if (expired == 0) return Status::Ok();
    return Audit(tx, actor, "hold.expire", "hold", 0,
                 R"({"count":)" + std::to_string(expired) + "}");
  }));
  return expired;
}

StatusOr<std::vector<Hold>> Circulation::HoldQueue(const Actor& actor, int64_t item_id) {
  return AuditedQuery<Hold>(actor,
                            "SELECT id, item_id, patron_id, status, placed_at, "
                            "ready_until FROM holds WHERE item_id = ? AND status IN "
                            "('waiting', 'ready') ORDER BY status = 'waiting', "
                            "placed_at, id",
                            {Int(item_id)}, ReadHold, "hold.queue.view", "item", item_id);
}

StatusOr<std::vector<Hold>> Circulation::PatronHolds(const Actor& actor, int64_t patron_id) {
  return AuditedQuery<Hold>(actor,
                            "SELECT id, item_id, patron_id, status, placed_at, "
                            "ready_until FROM holds WHERE patron_id = ? AND status "
                            "IN ('waiting', 'ready') ORDER BY placed_at, id",
                            {Int(patron_id)}, ReadHold, "patron.holds.view", "patron", patron_id);
}

StatusOr<std::vector<Hold>> Circulation::ReadyHolds(const Actor& actor) {
  return AuditedQuery<Hold>(actor,
                            "SELECT id, item_id, patron_id, status, placed_at, ready_until FROM "
                            "holds WHERE status = 'ready' ORDER BY ready_until, id",
                            {}, ReadHold, "holds.shelf.view", "hold", 0);
}

StatusOr<std::vector<ComputerSession>> Circulation::OpenComputerSessions() {
  std::vector<ComputerSession> out;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) {
    return tx.Exec("SELECT id, station, started_at FROM computer_sessions WHERE ended_at IS NULL "
                   "ORDER BY station",
                   {}, [&](const Row& row) {
                     ComputerSession s;
                     s.id = row.Int(0);
                     s.station = row.Text(1);
                     s.started_at = InstantColumn(row, 2);
                     out.push_back(std::move(s));
                     return Status::Ok();
                   });
  }));
  return out;
}

StatusOr<std::vector<Fine>> Circulation::PatronFines(const Actor& actor, int64_t patron_id) {
  return AuditedQuery<Fine>(actor,
                            "SELECT id, patron_id, loan_history_id, amount_cents, "
                            "accrued_on, status, settled_on FROM fines "
                            "WHERE patron_id = ? AND status = 'owed' ORDER BY id",
                            {Int(patron_id)}, ReadFine, "patron.fines.view", "patron", patron_id);
}

Status Circulation::PayFine(const Actor& actor, int64_t fine_id) {
  Date today = Today();
  return WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(Fine fine, OwedFine(tx, fine_id));
    CARREL_RETURN_IF_ERROR(tx.Exec("UPDATE fines SET status = 'paid', settled_on = ? WHERE id = ?",
                                   {DateValue(today), Int(fine_id)}));
    CARREL_RETURN_IF_ERROR(Audit(tx, actor, "fine.pay", "fine", fine_id));
    return UnlinkRow(tx, "fines", fine_id, fine.patron_id, today);
  });
}

Status Circulation::WaiveFine(const Actor& actor, int64_t fine_id, WaiverReason reason) {
  Date today = Today();
  return WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(Fine fine, OwedFine(tx, fine_id));
    CARREL_RETURN_IF_ERROR(tx.Exec(
        "UPDATE fines SET status = 'waived', settled_on = ?, waiver_reason = ? WHERE id = ?",
        {DateValue(today), Text(std::string(WaiverReasonName(reason))), Int(fine_id)}));
    CARREL_RETURN_IF_ERROR(
        Audit(tx, actor, "fine.waive", "fine", fine_id,
              R"({"reason":")" + std::string(WaiverReasonName(reason)) + R"("})"));
    return UnlinkRow(tx, "fines", fine_id, fine.patron_id, today);
  });
}

StatusOr<ComputerSession> Circulation::StartComputerSession(const Actor& actor, std::string_view patron_barcode,
                                                            std::string_view station) {
  if (station.empty() || station.size() > 32) {
    return InvalidArgument("station name must be 1 to 32 characters");
  }
  Instant now = clock_->Now();
  ComputerSession session;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(Patron patron, PatronByBarcode(*records_, tx, patron_barcode));
    if (patron.expires_on < calendar_->LocalDate(now)) {
      return FailedPrecondition("the patron's card has expired; renew the card first");
    }
    session.patron_id = patron.id;
    session.station = std::string(station);
    session.started_at = now;
    Status s = tx.Exec(
        "INSERT INTO computer_sessions (patron_id, station, started_at) VALUES (?, ?, ?) "
        "RETURNING id",
        {Int(patron.id), Text(session.station), Text(FormatInstant(now))}, [&](const Row& row) {
          session.id = row.Int(0);
          return Status::Ok();
        });
    if (s.code() == StatusCode::kAlreadyExists) {
      return FailedPrecondition("the station or the patron already has a session in progress");
    }
    CARREL_RETURN_IF_ERROR(s);
    CARREL_RETURN_IF_ERROR(
        Audit(tx, actor, "computer_session.start", "computer_session", session.id));
    return TouchPatron(tx, patron.id, calendar_->LocalDate(now));
  }));
  return session;
}

Status Circulation::EndComputerSession(const Actor& actor, int64_t session_id) {
  Instant now = clock_->Now();
  return WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    int64_t patron_id = 0;
    CARREL_RETURN_IF_ERROR(
        tx.Exec("SELECT patron_id FROM computer_sessions WHERE id = ? AND ended_at IS NULL",
                {Int(session_id)}, [&](const Row& row) {
                  patron_id = row.Int(0);
                  return Status::Ok();
                }));
    if (patron_id == 0) return NotFound("no computer session in progress with that id");
    CARREL_RETURN_IF_ERROR(tx.Exec("UPDATE computer_sessions SET ended_at = ? WHERE id = ?",
                                   {Text(FormatInstant(now)), Int(session_id)}));
    CARREL_RETURN_IF_ERROR(
        Audit(tx, actor, "computer_session.end", "computer_session", session_id));
    return UnlinkRow(tx, "computer_sessions", session_id, patron_id, calendar_->LocalDate(now));
  });
}

StatusOr<std::string> Circulation::Subscribe(const Actor& actor, std::string_view raw_email) {
  std::string email = NormalizeEmail(raw_email);
  CARREL_RETURN_IF_ERROR(CheckEmail(email));
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof bytes);
  std::string token = Hex(bytes, sizeof bytes);
  CARREL_ASSIGN_OR_RETURN(std::string email_bi, records_->EmailIndex(email));
  bool taken = false;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_RETURN_IF_ERROR(ExpireUnconfirmed(tx));
    // The blind index is truncated: confirm each live candidate on its decrypted address.
    CARREL_RETURN_IF_ERROR(
        tx.Exec("SELECT id, email FROM enews_subscriptions WHERE email_bi = ? AND "
                "status <> 'unsubscribed'",
                {Blob{email_bi}}, [&](const Row& row) -> Status {
                  CARREL_ASSIGN_OR_RETURN(
                      std::string other, records_->OpenSubscriptionEmail(row.Int(0), row.Bytes(1)));
                  taken = taken || other == email;
                  return Status::Ok();
                }));
    // Already there: nothing changes and nothing is sent, and the caller is answered as for a
    // new address, so that the answer does not tell who subscribes.
    if (taken) return Status::Ok();
    CARREL_ASSIGN_OR_RETURN(
        int64_t id, tx.QueryInt("SELECT coalesce(max(id), 0) + 1 FROM enews_subscriptions"));
    CARREL_ASSIGN_OR_RETURN(std::string sealed, records_->SealSubscriptionEmail(id, email));
    CARREL_RETURN_IF_ERROR(tx.Exec(
        "INSERT INTO enews_subscriptions (id, email_bi, email, token_hash, status, created_on) "
        "VALUES (?, ?, ?, ?, 'pending', ?)",
        {Int(id), Blob{email_bi}, Blob{sealed}, Text(TokenHash(token)), DateValue(Today())}));
    return Audit(tx, actor, "enews.subscribe", "enews_subscription", id);
  }));
  if (taken) return std::string();
  return token;
}

// An address never confirmed is kept no longer than it takes to answer: from the third day
// after it was given (created_on is a date), 48 hours have surely passed, and it goes.
Status Circulation::ExpireUnconfirmed(Transaction& tx) {
  CARREL_RETURN_IF_ERROR(
      tx.Exec("DELETE FROM enews_subscriptions WHERE status = 'pending' AND "
              "created_on <= ?",
              {DateValue(Today() - std::chrono::days(3))}));
  if (tx.changes() > 0) {
    CARREL_RETURN_IF_ERROR(Audit(tx, {"carrel", "system"}, "enews.expire_unconfirmed",
                                 "enews_subscription", 0,
                                 R"({"deleted":)" + std::to_string(tx.changes()) + "}"));
  }
  return Status::Ok();
}

Status Circulation::ConfirmSubscription(const Actor& actor, std::string_view token) {
  // Expired addresses go first, in a transaction of their own (a refusal below keeps that).
  CARREL_RETURN_IF_ERROR(
      WithWriteTransaction(*store_, [&](Transaction& tx) { return ExpireUnconfirmed(tx); }));
  return WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_RETURN_IF_ERROR(
        tx.Exec("UPDATE enews_subscriptions SET status = 'confirmed', confirmed_on = ? "
                "WHERE token_hash = ? AND status = 'pending'",
                {DateValue(Today()), Text(TokenHash(token))}));
    if (tx.changes() == 0) return NotFound("no pending subscription for that token");
    return Audit(tx, actor, "enews.confirm", "enews_subscription", 0);
  });
}

Status Circulation::Unsubscribe(const Actor& actor, std::string_view token) {
  return WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_RETURN_IF_ERROR(
        tx.Exec("UPDATE enews_subscriptions SET status = 'unsubscribed', unsubscribed_on = ? "
                "WHERE token_hash = ? AND status <> 'unsubscribed'",
                {DateValue(Today()), Text(TokenHash(token))}));
    if (tx.changes() == 0) return NotFound("no subscription for that token");
    return Audit(tx, actor, "enews.unsubscribe", "enews_subscription", 0);
  });
}

}  // namespace carrel
