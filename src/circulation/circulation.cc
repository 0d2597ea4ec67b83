#include "carrel/circulation.h"

#include <sodium.h>

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

std::string NormalizeEmail(std::string_view email) {
  size_t b = 0, e = email.size();
  while (b < e && std::isspace(static_cast<unsigned char>(email[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(email[e - 1]))) --e;
  std::string out(email.substr(b, e - b));
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
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
Value NullableText(const std::string& s) { return s.empty() ? Value() : Value(s); }

Patron ReadPatron(const Row& row) {
  Patron p;
  p.id = row.Int(0);
  p.card_barcode = row.Text(1);
  p.name = row.Text(2);
  p.email = row.Text(3);
  p.phone = row.Text(4);
  p.postal_address = row.Text(5);
  p.juvenile = row.Int(6) != 0;
  p.expires_on = DateColumn(row, 7);
  p.history_opt_in = row.Int(8) != 0;
  p.last_activity_on = DateColumn(row, 9);
  return p;
}

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
  RETURN_IF_ERROR(tx.Exec(sql, params, [&](const Row& row) {
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
  RETURN_IF_ERROR(tx.Exec(sql, params, [&](const Row& row) {
    out.push_back(read(row));
    return Status::Ok();
  }));
  return out;
}

StatusOr<Item> ItemByBarcode(Transaction& tx, std::string_view barcode) {
  RETURN_IF_ERROR(CheckBarcode(barcode, "item"));
  return QueryOne<Item>(tx, "SELECT id, barcode, title, author, call_number, item_type, status "
                            "FROM items WHERE barcode = ?",
                        {Text(std::string(barcode))}, ReadItem, "no item with that barcode");
}

StatusOr<Patron> PatronByBarcode(Transaction& tx, std::string_view barcode) {
  RETURN_IF_ERROR(CheckBarcode(barcode, "card"));
  return QueryOne<Patron>(
      tx,
      "SELECT id, card_barcode, name, email, phone, postal_address, juvenile, expires_on, "
      "history_opt_in, last_activity_on FROM patrons WHERE card_barcode = ?",
      {Text(std::string(barcode))}, ReadPatron, "no patron with that card barcode");
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
  return tx.Exec("UPDATE items SET status = ? WHERE id = ?",
                 {Text(std::string(status)), Int(item_id)});
}

Status TouchPatron(Transaction& tx, int64_t patron_id, Date today) {
  return tx.Exec("UPDATE patrons SET last_activity_on = ? WHERE id = ? AND last_activity_on <> ?",
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

Circulation::Circulation(Store* store, const Profile* profile, const Calendar* calendar,
                         const Clock* clock)
    : store_(store), profile_(profile), calendar_(calendar), clock_(clock) {}

Date Circulation::Today() const { return calendar_->LocalDate(clock_->Now()); }

StatusOr<Patron> Circulation::AddPatron(const NewPatron& in) {
  RETURN_IF_ERROR(CheckBarcode(in.card_barcode, "card"));
  RETURN_IF_ERROR(CheckText(in.name, "name", true));
  RETURN_IF_ERROR(CheckText(in.phone, "phone", false));
  RETURN_IF_ERROR(CheckText(in.postal_address, "postal address", false));
  std::string email = NormalizeEmail(in.email);
  if (!email.empty()) RETURN_IF_ERROR(CheckEmail(email));
  if (in.expires_on == Date{}) return InvalidArgument("expiry date is required");
  Patron out;
  Status s = WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    Status ins = tx.Exec(
        "INSERT INTO patrons (card_barcode, name, email, phone, postal_address, juvenile, "
        "expires_on, history_opt_in, last_activity_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "RETURNING id",
        {Text(in.card_barcode), Text(in.name), NullableText(email), NullableText(in.phone),
         NullableText(in.postal_address), Int(in.juvenile ? 1 : 0), DateValue(in.expires_on),
         Int(in.history_opt_in ? 1 : 0), DateValue(Today())},
        [&](const Row& row) {
          out.id = row.Int(0);
          return Status::Ok();
        });
    if (ins.code() == StatusCode::kAlreadyExists) {
      return AlreadyExists("a patron with that card barcode already exists");
    }
    return ins;
  });
  RETURN_IF_ERROR(s);
  out.card_barcode = in.card_barcode;
  out.name = in.name;
  out.email = email;
  out.phone = in.phone;
  out.postal_address = in.postal_address;
  out.juvenile = in.juvenile;
  out.expires_on = in.expires_on;
  out.history_opt_in = in.history_opt_in;
  out.last_activity_on = Today();
  return out;
}

StatusOr<Patron> Circulation::GetPatron(int64_t id) {
  std::optional<Patron> out;
  RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(out, QueryOne<Patron>(tx,
                                           "SELECT id, card_barcode, name, email, phone, "
                                           "postal_address, juvenile, expires_on, history_opt_in, "
                                           "last_activity_on FROM patrons WHERE id = ?",
                                           {Int(id)}, ReadPatron, "no such patron"));
    return Status::Ok();
  }));
  return std::move(*out);
}

StatusOr<Patron> Circulation::FindPatronByBarcode(std::string_view card_barcode) {
  std::optional<Patron> out;
  RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(out, PatronByBarcode(tx, card_barcode));
    return Status::Ok();
  }));
  return std::move(*out);
}

StatusOr<Item> Circulation::AddItem(const NewItem& in) {
  RETURN_IF_ERROR(CheckBarcode(in.barcode, "item"));
  RETURN_IF_ERROR(CheckText(in.title, "title", true));
  RETURN_IF_ERROR(CheckText(in.author, "author", false));
  RETURN_IF_ERROR(CheckText(in.call_number, "call number", false));
  if (!profile_->loan_days.contains(in.item_type)) {
    return InvalidArgument("item type '" + in.item_type + "' has no loan period in the profile");
  }
  Item out{0, in.barcode, in.title, in.author, in.call_number, in.item_type,
           ItemStatus::kAvailable};
  RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
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
    return s;
  }));
  return out;
}

StatusOr<Item> Circulation::GetItem(int64_t id) {
  std::optional<Item> out;
  RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(out, QueryOne<Item>(tx,
                                         "SELECT id, barcode, title, author, call_number, "
                                         "item_type, status FROM items WHERE id = ?",
                                         {Int(id)}, ReadItem, "no such item"));
    return Status::Ok();
  }));
  return std::move(*out);
}

StatusOr<Item> Circulation::FindItemByBarcode(std::string_view barcode) {
  std::optional<Item> out;
  RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(out, ItemByBarcode(tx, barcode));
    return Status::Ok();
  }));
  return std::move(*out);
}

Status Circulation::WithdrawItem(std::string_view barcode) {
  return WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(Item item, ItemByBarcode(tx, barcode));
    if (item.status == ItemStatus::kOnLoan) {
      return FailedPrecondition("the item is on loan; check it in before withdrawing it");
    }
    if (item.status == ItemStatus::kWithdrawn) return Status::Ok();
    // Holds on a withdrawn item can never be filled.
    RETURN_IF_ERROR(tx.Exec(
        "UPDATE holds SET status = 'cancelled', ended_on = ? WHERE item_id = ? "
        "AND status IN ('waiting', 'ready')",
        {DateValue(Today()), Int(item.id)}));
    return SetItemStatus(tx, item.id, "withdrawn");
  });
}

Status Circulation::MarkItemMissing(std::string_view barcode) {
  Date today = Today();
  return WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(Item item, ItemByBarcode(tx, barcode));
    if (item.status == ItemStatus::kOnLoan) {
      RETURN_IF_ERROR(tx.Exec(
          "INSERT INTO loan_history (item_id, patron_id, checked_out_on, due_on, returned_on) "
          "SELECT item_id, patron_id, checked_out_on, due_on, ? FROM loans WHERE item_id = ?",
          {DateValue(today), Int(item.id)}));
      RETURN_IF_ERROR(tx.Exec("DELETE FROM loans WHERE item_id = ?", {Int(item.id)}));
    }
    return SetItemStatus(tx, item.id, "missing");
  });
}

StatusOr<Loan> Circulation::Checkout(std::string_view item_barcode,
                                     std::string_view patron_barcode) {
  Instant now = clock_->Now();
  Date today = calendar_->LocalDate(now);
  Loan loan;
  RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(Item item, ItemByBarcode(tx, item_barcode));
    ASSIGN_OR_RETURN(Patron patron, PatronByBarcode(tx, patron_barcode));
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
        RETURN_IF_ERROR(tx.Exec(
            "SELECT id FROM holds WHERE item_id = ? AND patron_id = ? AND status = 'ready'",
            {Int(item.id), Int(patron.id)}, [&](const Row& row) {
              hold_id = row.Int(0);
              return Status::Ok();
            }));
        if (hold_id == 0) {
          return FailedPrecondition("the item is on the hold shelf for another patron");
        }
        RETURN_IF_ERROR(tx.Exec(
            "UPDATE holds SET status = 'fulfilled', ended_on = ? WHERE id = ?",
            {DateValue(today), Int(hold_id)}));
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
    RETURN_IF_ERROR(tx.Exec(
        "INSERT INTO loans (item_id, patron_id, checked_out_on, due_on, renewals) "
        "VALUES (?, ?, ?, ?, 0) RETURNING id",
        {Int(item.id), Int(patron.id), DateValue(today), DateValue(loan.due_on)},
        [&](const Row& row) {
          loan.id = row.Int(0);
          return Status::Ok();
        }));
    RETURN_IF_ERROR(SetItemStatus(tx, item.id, "on_loan"));
    return TouchPatron(tx, patron.id, today);
  }));
  return loan;
}

StatusOr<Loan> Circulation::Renew(std::string_view item_barcode) {
  Instant now = clock_->Now();
  Date today = calendar_->LocalDate(now);
  Loan loan;
  RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(Item item, ItemByBarcode(tx, item_barcode));
    ASSIGN_OR_RETURN(loan, ActiveLoanOf(tx, item.id));
    if (loan.renewals >= profile_->renewal_limit) {
      return FailedPrecondition("the loan has reached the renewal limit of " +
                                std::to_string(profile_->renewal_limit));
    }
    ASSIGN_OR_RETURN(int64_t waiting,
                     tx.QueryInt("SELECT count(*) FROM holds WHERE item_id = ? AND "
                                 "status = 'waiting'",
                                 {Int(item.id)}));
    if (waiting > 0) {
      return FailedPrecondition("another patron is waiting for this item; it cannot be renewed");
    }
    ASSIGN_OR_RETURN(Patron patron,
                     QueryOne<Patron>(tx,
                                      "SELECT id, card_barcode, name, email, phone, "
                                      "postal_address, juvenile, expires_on, history_opt_in, "
                                      "last_activity_on FROM patrons WHERE id = ?",
                                      {Int(loan.patron_id)}, ReadPatron, "no such patron"));
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
    RETURN_IF_ERROR(tx.Exec("UPDATE loans SET due_on = ?, renewals = ? WHERE id = ?",
                            {DateValue(loan.due_on), Int(loan.renewals), Int(loan.id)}));
    return TouchPatron(tx, patron.id, today);
  }));
  return loan;
}

StatusOr<CheckinResult> Circulation::Checkin(std::string_view item_barcode) {
  Date today = Today();
  CheckinResult result;
  result.returned_on = today;
  RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(Item item, ItemByBarcode(tx, item_barcode));
    result.item_id = item.id;
    Loan loan;
    if (item.status == ItemStatus::kMissing) {
      // A missing item turned up: back into circulation, no loan to end.
    } else {
      ASSIGN_OR_RETURN(loan, ActiveLoanOf(tx, item.id));
      RETURN_IF_ERROR(tx.Exec(
          "INSERT INTO loan_history (item_id, patron_id, checked_out_on, due_on, returned_on) "
          "VALUES (?, ?, ?, ?, ?) RETURNING id",
          {Int(item.id), Int(loan.patron_id), DateValue(loan.checked_out_on),
           DateValue(loan.due_on), DateValue(today)},
          [&](const Row& row) {
            result.history_id = row.Int(0);
            return Status::Ok();
          }));
      RETURN_IF_ERROR(tx.Exec("DELETE FROM loans WHERE id = ?", {Int(loan.id)}));
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
        RETURN_IF_ERROR(tx.Exec(
            "INSERT INTO fines (patron_id, loan_history_id, amount_cents, accrued_on, status) "
            "VALUES (?, ?, ?, ?, 'owed') RETURNING id",
            {Int(loan.patron_id), Int(result.history_id), Int(result.fine_cents),
             DateValue(today)},
            [&](const Row& row) {
              result.fine_id = row.Int(0);
              return Status::Ok();
            }));
      }
      RETURN_IF_ERROR(TouchPatron(tx, loan.patron_id, today));
    }
    // The first patron waiting gets the item on the hold shelf.
    RETURN_IF_ERROR(tx.Exec(
        "SELECT id FROM holds WHERE item_id = ? AND status = 'waiting' "
        "ORDER BY placed_at, id LIMIT 1",
        {Int(item.id)}, [&](const Row& row) {
          result.hold_ready_id = row.Int(0);
          return Status::Ok();
        }));
    if (result.hold_ready_id != 0) {
      RETURN_IF_ERROR(tx.Exec(
          "UPDATE holds SET status = 'ready', ready_until = ? WHERE id = ?",
          {DateValue(today + std::chrono::days(profile_->hold_pickup_days)),
           Int(result.hold_ready_id)}));
      return SetItemStatus(tx, item.id, "on_hold_shelf");
    }
    return SetItemStatus(tx, item.id, "available");
  }));
  return result;
}

StatusOr<std::vector<Loan>> Circulation::ActiveLoans(int64_t patron_id) {
  std::vector<Loan> out;
  RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(out, QueryAll<Loan>(tx,
                                         "SELECT id, item_id, patron_id, checked_out_on, due_on, "
                                         "renewals FROM loans WHERE patron_id = ? ORDER BY due_on, id",
                                         {Int(patron_id)}, ReadLoan));
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::vector<Loan>> Circulation::OverdueLoans(int limit) {
  std::vector<Loan> out;
  RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(out, QueryAll<Loan>(tx,
                                         "SELECT id, item_id, patron_id, checked_out_on, due_on, "
                                         "renewals FROM loans WHERE due_on < ? "
                                         "ORDER BY due_on, id LIMIT ?",
                                         {DateValue(Today()), Int(limit)}, ReadLoan));
    return Status::Ok();
  }));
  return out;
}

StatusOr<Hold> Circulation::PlaceHold(std::string_view item_barcode,
                                      std::string_view patron_barcode) {
  Instant now = clock_->Now();
  Date today = calendar_->LocalDate(now);
  Hold hold;
  RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(Item item, ItemByBarcode(tx, item_barcode));
    ASSIGN_OR_RETURN(Patron patron, PatronByBarcode(tx, patron_barcode));
    if (patron.expires_on < today) {
      return FailedPrecondition("the patron's card has expired; renew the card first");
    }
    if (item.status == ItemStatus::kWithdrawn || item.status == ItemStatus::kMissing) {
      return FailedPrecondition("the item is not in circulation");
    }
    ASSIGN_OR_RETURN(int64_t own,
                     tx.QueryInt("SELECT count(*) FROM loans WHERE item_id = ? AND patron_id = ?",
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
    RETURN_IF_ERROR(s);
    if (ready_now) RETURN_IF_ERROR(SetItemStatus(tx, item.id, "on_hold_shelf"));
    return TouchPatron(tx, patron.id, today);
  }));
  return hold;
}

namespace {

// After a ready hold ends without a checkout, the item goes to the next patron waiting, or
// back to the shelf.
Status PassItemOn(Transaction& tx, int64_t item_id, Date today, int pickup_days) {
  int64_t next = 0;
  RETURN_IF_ERROR(tx.Exec(
      "SELECT id FROM holds WHERE item_id = ? AND status = 'waiting' "
      "ORDER BY placed_at, id LIMIT 1",
      {Int(item_id)}, [&](const Row& row) {
        next = row.Int(0);
        return Status::Ok();
      }));
  if (next != 0) {
    RETURN_IF_ERROR(tx.Exec("UPDATE holds SET status = 'ready', ready_until = ? WHERE id = ?",
                            {DateValue(today + std::chrono::days(pickup_days)), Int(next)}));
    return SetItemStatus(tx, item_id, "on_hold_shelf");
  }
  return tx.Exec("UPDATE items SET status = 'available' WHERE id = ? AND status = 'on_hold_shelf'",
                 {Int(item_id)});
}

}  // namespace

Status Circulation::CancelHold(int64_t hold_id) {
  Date today = Today();
  return WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(Hold hold, QueryOne<Hold>(tx,
                                               "SELECT id, item_id, patron_id, status, placed_at, "
                                               "ready_until FROM holds WHERE id = ?",
                                               {Int(hold_id)}, ReadHold, "no such hold"));
    if (hold.status != HoldStatus::kWaiting && hold.status != HoldStatus::kReady) {
      return FailedPrecondition("the hold has already ended");
    }
    RETURN_IF_ERROR(tx.Exec("UPDATE holds SET status = 'cancelled', ended_on = ? WHERE id = ?",
                            {DateValue(today), Int(hold_id)}));
    if (hold.status == HoldStatus::kReady) {
      return PassItemOn(tx, hold.item_id, today, profile_->hold_pickup_days);
    }
    return Status::Ok();
  });
}

StatusOr<int> Circulation::ExpireHolds() {
  Date today = Today();
  int expired = 0;
  RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    std::vector<Hold> due;
    ASSIGN_OR_RETURN(due, QueryAll<Hold>(tx,
                                         "SELECT id, item_id, patron_id, status, placed_at, "
                                         "ready_until FROM holds WHERE status = 'ready' AND "
                                         "ready_until < ? ORDER BY id",
                                         {DateValue(today)}, ReadHold));
    for (const Hold& h : due) {
      RETURN_IF_ERROR(tx.Exec("UPDATE holds SET status = 'expired', ended_on = ? WHERE id = ?",
                              {DateValue(today), Int(h.id)}));
      RETURN_IF_ERROR(PassItemOn(tx, h.item_id, today, profile_->hold_pickup_days));
      ++expired;
    }
    return Status::Ok();
  }));
  return expired;
}

StatusOr<std::vector<Hold>> Circulation::HoldQueue(int64_t item_id) {
  std::vector<Hold> out;
  RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(out, QueryAll<Hold>(tx,
                                         "SELECT id, item_id, patron_id, status, placed_at, "
                                         "ready_until FROM holds WHERE item_id = ? AND status IN "
                                         "('waiting', 'ready') ORDER BY status = 'waiting', "
                                         "placed_at, id",
                                         {Int(item_id)}, ReadHold));
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::vector<Hold>> Circulation::PatronHolds(int64_t patron_id) {
  std::vector<Hold> out;
  RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(out, QueryAll<Hold>(tx,
                                         "SELECT id, item_id, patron_id, status, placed_at, "
                                         "ready_until FROM holds WHERE patron_id = ? AND status "
                                         "IN ('waiting', 'ready') ORDER BY placed_at, id",
                                         {Int(patron_id)}, ReadHold));
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::vector<Fine>> Circulation::PatronFines(int64_t patron_id) {
  std::vector<Fine> out;
  RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(out, QueryAll<Fine>(tx,
                                         "SELECT id, patron_id, loan_history_id, amount_cents, "
                                         "accrued_on, status, settled_on FROM fines "
                                         "WHERE patron_id = ? ORDER BY id",
                                         {Int(patron_id)}, ReadFine));
    return Status::Ok();
  }));
  return out;
}

Status Circulation::PayFine(int64_t fine_id) {
  Date today = Today();
  return WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(Fine fine, QueryOne<Fine>(tx,
                                               "SELECT id, patron_id, loan_history_id, "
                                               "amount_cents, accrued_on, status, settled_on "
                                               "FROM fines WHERE id = ?",
                                               {Int(fine_id)}, ReadFine, "no such fine"));
    if (fine.status != FineStatus::kOwed) return FailedPrecondition("the fine is already settled");
    return tx.Exec("UPDATE fines SET status = 'paid', settled_on = ? WHERE id = ?",
                   {DateValue(today), Int(fine_id)});
  });
}

Status Circulation::WaiveFine(int64_t fine_id, WaiverReason reason) {
  Date today = Today();
  return WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(Fine fine, QueryOne<Fine>(tx,
                                               "SELECT id, patron_id, loan_history_id, "
                                               "amount_cents, accrued_on, status, settled_on "
                                               "FROM fines WHERE id = ?",
                                               {Int(fine_id)}, ReadFine, "no such fine"));
    if (fine.status != FineStatus::kOwed) return FailedPrecondition("the fine is already settled");
    return tx.Exec(
        "UPDATE fines SET status = 'waived', settled_on = ?, waiver_reason = ? WHERE id = ?",
        {DateValue(today), Text(std::string(WaiverReasonName(reason))), Int(fine_id)});
  });
}

StatusOr<ComputerSession> Circulation::StartComputerSession(std::string_view patron_barcode,
                                                            std::string_view station) {
  if (station.empty() || station.size() > 32) {
    return InvalidArgument("station name must be 1 to 32 characters");
  }
  Instant now = clock_->Now();
  ComputerSession session;
  RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(Patron patron, PatronByBarcode(tx, patron_barcode));
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
    RETURN_IF_ERROR(s);
    return TouchPatron(tx, patron.id, calendar_->LocalDate(now));
  }));
  return session;
}

Status Circulation::EndComputerSession(int64_t session_id) {
  Instant now = clock_->Now();
  return WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.Exec(
        "UPDATE computer_sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL",
        {Text(FormatInstant(now)), Int(session_id)}));
    if (tx.changes() == 0) return NotFound("no computer session in progress with that id");
    return Status::Ok();
  });
}

StatusOr<std::string> Circulation::Subscribe(std::string_view raw_email) {
  std::string email = NormalizeEmail(raw_email);
  RETURN_IF_ERROR(CheckEmail(email));
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof bytes);
  std::string token = Hex(bytes, sizeof bytes);
  RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    Status s = tx.Exec(
        "INSERT INTO enews_subscriptions (email, token_hash, status, created_on) "
        "VALUES (?, ?, 'pending', ?)",
        {Text(email), Text(TokenHash(token)), DateValue(Today())});
    if (s.code() == StatusCode::kAlreadyExists) {
      return AlreadyExists("that address is already subscribed or awaiting confirmation");
    }
    return s;
  }));
  return token;
}

Status Circulation::ConfirmSubscription(std::string_view token) {
  return WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.Exec(
        "UPDATE enews_subscriptions SET status = 'confirmed', confirmed_on = ? "
        "WHERE token_hash = ? AND status = 'pending'",
        {DateValue(Today()), Text(TokenHash(token))}));
    if (tx.changes() == 0) return NotFound("no pending subscription for that token");
    return Status::Ok();
  });
}

Status Circulation::Unsubscribe(std::string_view token) {
  return WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.Exec(
        "UPDATE enews_subscriptions SET status = 'unsubscribed', unsubscribed_on = ? "
        "WHERE token_hash = ? AND status <> 'unsubscribed'",
        {DateValue(Today()), Text(TokenHash(token))}));
    if (tx.changes() == 0) return NotFound("no subscription for that token");
    return Status::Ok();
  });
}

}  // namespace carrel
