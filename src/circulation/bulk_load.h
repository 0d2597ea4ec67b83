#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "carrel/calendar.h"
#include "carrel/circulation.h"
#include "carrel/clock.h"
#include "carrel/status.h"
#include "carrel/store.h"
#include "circulation/sealed_records.h"

// Rows written straight into circulation's tables, many to a transaction: for generating a
// demonstration library or importing one from Koha (src/import), where millions of rows go in at
// the speed of the storage engine. No audit entry per row and no checks beyond the schema's; the
// caller seals links and addresses through SealedRecords first. Nothing else may write these
// tables but circulation itself.
namespace carrel::bulk {

// Whether the library has neither patrons nor items yet (what a bulk load starts from).
StatusOr<bool> NoPatronsOrItems(Transaction& tx);

// An item on the shelf (or, brought over from another system, already missing).
Status InsertItem(Transaction& tx, int64_t id, const NewItem& item,
                  ItemStatus status = ItemStatus::kAvailable);

// The largest id in use, 0 when none: where a bulk load's own ids start.
StatusOr<int64_t> LargestItemId(Transaction& tx);
StatusOr<int64_t> LargestLoanHistoryId(Transaction& tx);
StatusOr<int64_t> LargestFineId(Transaction& tx);

// The item with this barcode, if any (barcodes are catalogue data, kept in the clear).
struct ShelfItem {
  int64_t id = 0;
  bool available = false;  // on the shelf: neither lent, held, missing nor withdrawn
};
StatusOr<std::optional<ShelfItem>> FindItem(Transaction& tx, std::string_view barcode);

// A returned loan in the history, its patron link sealed (under an epoch key, or the patron's
// own key when they keep a reading history).
Status InsertReturnedLoan(Transaction& tx, int64_t id, int64_t item_id, const SealedLink& link,
                          Date checked_out_on, Date due_on, Date returned_on);

// A fine on a returned loan: owed (the patron named in the clear) or paid on `settled_on` (the
// patron behind `settled_link`).
struct BulkFine {
  int64_t id = 0;
  int64_t loan_history_id = 0;  // 0: a fine on no loan carrel knows of
  int64_t amount_cents = 0;
  Date accrued_on{};
  int64_t owed_by = 0;                     // when owed
  std::optional<Date> settled_on;          // when paid
  std::optional<SealedLink> settled_link;  // when paid
};
Status InsertFine(Transaction& tx, const BulkFine& fine);

// An item lent now (the item marked on loan).
Status InsertLoan(Transaction& tx, int64_t item_id, int64_t patron_id, Date checked_out_on,
                  Date due_on, int64_t renewals);

// A patron waiting for an item.
Status InsertHold(Transaction& tx, int64_t item_id, int64_t patron_id, Instant placed_at);

// A computer session that has ended, its patron link sealed.
Status InsertComputerSession(Transaction& tx, int64_t id, const std::string& station,
                             Instant started_at, Instant ended_at, const SealedLink& link);

// A confirmed eNews subscription: the address's blind index and the address sealed.
Status InsertSubscription(Transaction& tx, int64_t id, const std::string& email_index,
                          const std::string& sealed_email, const std::string& token_hash,
                          Date created_on, Date confirmed_on);

}  // namespace carrel::bulk
