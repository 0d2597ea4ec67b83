#include "carrel/inbox.h"

namespace carrel {

Status Inbox::PostIn(Transaction& tx, int64_t user_id, std::string_view reference,
                     std::string_view kind, Instant at) {
  return tx.Exec(
      "INSERT INTO inbox (user_id, case_reference, kind, created_at) VALUES (?, ?, ?, ?)",
      {user_id, std::string(reference), std::string(kind), FormatInstant(at)});
}

StatusOr<std::vector<InboxItem>> Inbox::ItemsIn(Transaction& tx, int64_t user_id, int limit) {
  std::vector<InboxItem> out;
  CARREL_RETURN_IF_ERROR(
      tx.Exec("SELECT id, case_reference, kind, created_at, read_at FROM inbox WHERE user_id = ? "
              "ORDER BY id DESC LIMIT ?",
              {user_id, int64_t{limit}}, [&](const Row& row) -> Status {
                InboxItem i;
                i.id = row.Int(0);
                i.case_reference = row.Text(1);
                i.kind = row.Text(2);
                CARREL_ASSIGN_OR_RETURN(i.created_at, ParseInstant(row.Text(3)));
                i.read = !row.IsNull(4);
                out.push_back(std::move(i));
                return Status::Ok();
              }));
  return out;
}

Status Inbox::MarkReadIn(Transaction& tx, int64_t user_id, int64_t item_id, Instant at) {
  CARREL_RETURN_IF_ERROR(
      tx.Exec("UPDATE inbox SET read_at = ? WHERE id = ? AND user_id = ? AND read_at IS NULL",
              {FormatInstant(at), item_id, user_id}));
  if (tx.changes() == 0) return NotFound("no unread item with that number in your inbox");
  return Status::Ok();
}

}  // namespace carrel
