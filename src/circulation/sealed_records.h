#pragma once

#include <optional>
#include <string>
#include <vector>

#include "carrel/circulation.h"
#include "carrel/store.h"
#include "carrel/vault.h"

namespace carrel {

// A patron link sealed for storage: who a returned loan, ended hold, settled fine or ended
// computer session belonged to.
// The epoch category of the links in `table`: "loan", "hold", "fine" or "session".
StatusOr<std::string_view> LinkCategory(std::string_view table);

struct SealedLink {
  std::string link;   // 24-byte nonce || sealed 8-byte patron id || tag
  std::string epoch;  // the epoch ("loan/YYYY-MM-DD"); empty when under the patron's own key
  std::string tag;    // Vault::LinkTag under the same key: finds one patron's links
};

// How circulation reads and writes the encrypted columns (docs/design.md §4): every PII field of a
// patron under that patron's key, blind indexes for lookups, links under epoch keys. The only
// code that knows which column is sealed under which key.
class SealedRecords {
 public:
  explicit SealedRecords(Vault* vault) : vault_(vault) {}

  // Inserts a patron with a fresh random id and a new patron key. kAlreadyExists if the card
  // barcode is taken.
  StatusOr<Patron> InsertPatron(Transaction& tx, const NewPatron& patron, Date today);
  // Makes `count` keys at once for seeding (one keyring transaction).
  StatusOr<std::vector<int64_t>> ReservePatronIds(int64_t count);
  Status InsertPatronWithId(Transaction& tx, int64_t id, const NewPatron& patron, Date today,
                            const SecretKey& key);

  StatusOr<Patron> GetPatron(Transaction& tx, int64_t id);
  // Rewrites every sealed field and blind index of an existing patron from `patron`.
  Status RewritePatron(Transaction& tx, const Patron& patron);
  StatusOr<Patron> FindPatronByBarcode(Transaction& tx, std::string_view card_barcode);
  StatusOr<std::vector<Patron>> FindPatronsByEmail(Transaction& tx, std::string_view email);
  StatusOr<std::vector<Patron>> FindPatronsByName(Transaction& tx, std::string_view name);

  // Seals `patron_id` as the link of `table` row `row`: under the patron's key when the patron
  // keeps a reading history (`own_history`), else under the key of `epoch_day`.
  // The link of `row` sealed under the key of `epoch` (created if need be): how retention
  // moves links kept by a legal hold out of an epoch about to be destroyed.
  StatusOr<SealedLink> SealLinkInEpoch(std::string_view table, int64_t row, int64_t patron_id,
                                       std::string_view epoch);
  StatusOr<SealedLink> SealLink(std::string_view table, int64_t row, int64_t patron_id,
                                Date epoch_day, bool own_history);
  // The patron of a sealed link, or nullopt when its epoch key was destroyed (unlinked).
  // Links under a patron's key open only with `patron_hint` (the patron asking for their own).
  // kDataLoss if the link was tampered with.
  StatusOr<std::optional<int64_t>> OpenLink(std::string_view table, int64_t row,
                                            std::string_view link, std::string_view epoch,
                                            std::optional<int64_t> patron_hint);
  // Every tag under which `patron_id`'s links may be stored: one per live epoch key, plus the
  // patron's own key.
  StatusOr<std::vector<std::string>> LinkTags(int64_t patron_id);

  // The eNews address key and blind index.
  StatusOr<std::string> SealSubscriptionEmail(int64_t row, std::string_view email);
  StatusOr<std::string> OpenSubscriptionEmail(int64_t row, std::string_view sealed);
  StatusOr<std::string> EmailIndex(std::string_view normalized_email);

  Vault& vault() { return *vault_; }

 private:
  StatusOr<std::vector<Patron>> ReadPatrons(Transaction& tx, std::string_view where,
                                            const Value& key);
  Status CheckPatronInput(const NewPatron& patron) const;
  // The email blind index as a column value: NULL for a patron without an address.
  StatusOr<Value> EmailIndexColumn(const std::string& normalized_email);
  Vault* vault_;
};

}  // namespace carrel
