#include "circulation/bulk_load.h"

namespace carrel::bulk {

StatusOr<bool> NoPatronsOrItems(Transaction& tx) {
  CARREL_ASSIGN_OR_RETURN(int64_t n, tx.QueryInt("SELECT (SELECT count(*) FROM patrons) + "
                                                 "(SELECT count(*) FROM items)"));
  return n == 0;
}

Status InsertItem(Transaction& tx, int64_t id, const NewItem& item, ItemStatus status) {
  return tx.Exec(
      "INSERT INTO items (id, barcode, title, author, call_number, item_type, status) "
      "VALUES (?, ?, ?, ?, ?, ?, ?)",
      {Value(id), Value(item.barcode), Value(item.title), Value(item.author),
       Value(item.call_number), Value(item.item_type), Value(std::string(ItemStatusName(status)))});
}

StatusOr<int64_t> LargestItemId(Transaction& tx) {
  return tx.QueryInt("SELECT coalesce(max(id), 0) FROM items");
}

StatusOr<int64_t> LargestLoanHistoryId(Transaction& tx) {
  return tx.QueryInt("SELECT coalesce(max(id), 0) FROM loan_history");
}

StatusOr<int64_t> LargestFineId(Transaction& tx) {
  return tx.QueryInt("SELECT coalesce(max(id), 0) FROM fines");
}

StatusOr<std::optional<ShelfItem>> FindItem(Transaction& tx, std::string_view barcode) {
  std::optional<ShelfItem> found;
  CARREL_RETURN_IF_ERROR(tx.Exec("SELECT id, status FROM items WHERE barcode = ?",
                                 {Value(std::string(barcode))}, [&](const Row& row) {
                                   found = ShelfItem{row.Int(0), row.Text(1) == "available"};
                                   return Status::Ok();
                                 }));
  return found;
}

Status InsertReturnedLoan(Transaction& tx, int64_t id, int64_t item_id, const SealedLink& link,
                          Date checked_out_on, Date due_on, Date returned_on) {
  return tx.Exec(
      "INSERT INTO loan_history (id, item_id, patron_link, link_epoch, link_tag, "
      "checked_out_on, due_on, returned_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      {Value(id), Value(item_id), Value(Blob{link.link}),
       link.epoch.empty() ? Value() : Value(link.epoch), Value(Blob{link.tag}),
       Value(FormatDate(checked_out_on)), Value(FormatDate(due_on)),
       Value(FormatDate(returned_on))});
}

Status InsertFine(Transaction& tx, const BulkFine& fine) {
  const bool settled = fine.settled_on.has_value();
  Value plain_link, sealed_link, epoch;
  if (settled && fine.settled_link) {
    sealed_link = Blob{fine.settled_link->link};
    epoch = fine.settled_link->epoch;
  } else {
    plain_link = fine.owed_by;
  }
  return tx.Exec(
      "INSERT INTO fines (id, patron_id, loan_history_id, amount_cents, accrued_on, "
      "status, settled_on, patron_link, link_epoch) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {Value(fine.id), plain_link,
       fine.loan_history_id != 0 ? Value(fine.loan_history_id) : Value(), Value(fine.amount_cents),
       Value(FormatDate(fine.accrued_on)), Value(std::string(settled ? "paid" : "owed")),
       settled ? Value(FormatDate(*fine.settled_on)) : Value(), sealed_link, epoch});
}

Status InsertLoan(Transaction& tx, int64_t item_id, int64_t patron_id, Date checked_out_on,
                  Date due_on, int64_t renewals) {
  CARREL_RETURN_IF_ERROR(
      tx.Exec("INSERT INTO loans (item_id, patron_id, checked_out_on, due_on, renewals) "
              "VALUES (?, ?, ?, ?, ?)",
              {Value(item_id), Value(patron_id), Value(FormatDate(checked_out_on)),
               Value(FormatDate(due_on)), Value(renewals)}));
  return tx.Exec("UPDATE items SET status = 'on_loan' WHERE id = ?", {Value(item_id)});
}

Status InsertHold(Transaction& tx, int64_t item_id, int64_t patron_id, Instant placed_at) {
  return tx.Exec(
      "INSERT INTO holds (item_id, patron_id, placed_at, status) VALUES (?, ?, ?, 'waiting')",
      {Value(item_id), Value(patron_id), Value(FormatInstant(placed_at))});
}

Status InsertComputerSession(Transaction& tx, int64_t id, const std::string& station,
                             Instant started_at, Instant ended_at, const SealedLink& link) {
  return tx.Exec(
      "INSERT INTO computer_sessions (id, station, started_at, ended_at, patron_link, "
      "link_epoch) VALUES (?, ?, ?, ?, ?, ?)",
      {Value(id), Value(station), Value(FormatInstant(started_at)), Value(FormatInstant(ended_at)),
       Value(Blob{link.link}), Value(link.epoch)});
}

Status InsertSubscription(Transaction& tx, int64_t id, const std::string& email_index,
                          const std::string& sealed_email, const std::string& token_hash,
                          Date created_on, Date confirmed_on) {
  return tx.Exec(
      "INSERT INTO enews_subscriptions (id, email_bi, email, token_hash, status, created_on, "
      "confirmed_on) VALUES (?, ?, ?, ?, 'confirmed', ?, ?)",
      {Value(id), Value(Blob{email_index}), Value(Blob{sealed_email}), Value(token_hash),
       Value(FormatDate(created_on)), Value(FormatDate(confirmed_on))});
}

}  // namespace carrel::bulk
