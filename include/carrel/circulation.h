#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "carrel/audit.h"
#include "carrel/calendar.h"
#include "carrel/clock.h"
#include "carrel/profile.h"
#include "carrel/status.h"
#include "carrel/store.h"
#include "carrel/vault.h"

namespace carrel {

// Circulation (docs/design.md §3): patrons, items, loans, holds, fines, public-computer sessions
// and eNews subscriptions. Every operation is one durable transaction; a failed operation changes
// nothing. Status messages never contain patron data (barcodes, names, emails).
//
// Every operation that reads or changes confidential data names its `actor` and writes an
// audit entry in the same transaction (docs/design.md §5): if the entry cannot be written, the
// operation fails and returns nothing. Reads of the catalogue alone are not audited.

struct NewPatron {
  std::string card_barcode;
  std::string name;
  std::string email;           // optional
  std::string phone;           // optional
  std::string postal_address;  // optional, one string with newlines
  bool juvenile = false;
  Date expires_on{};
  bool history_opt_in = false;
};

// Changes to a patron record; fields left empty keep their value.
struct PatronChanges {
  std::optional<std::string> name, email, phone, postal_address;
  std::optional<bool> juvenile;
  std::optional<Date> expires_on;
};

struct Patron {
  int64_t id = 0;
  std::string card_barcode;
  std::string name;
  std::string email;
  std::string phone;
  std::string postal_address;
  bool juvenile = false;
  Date expires_on{};
  bool history_opt_in = false;
  Date last_activity_on{};
};

enum class ItemStatus { kAvailable, kOnLoan, kOnHoldShelf, kMissing, kWithdrawn };
std::string_view ItemStatusName(ItemStatus status);

struct NewItem {
  std::string barcode;
  std::string title;
  std::string author;
  std::string call_number;
  std::string item_type;  // must be a type the profile gives a loan period
};

struct Item {
  int64_t id = 0;
  std::string barcode;
  std::string title;
  std::string author;
  std::string call_number;
  std::string item_type;
  ItemStatus status = ItemStatus::kAvailable;
};

struct Loan {
  int64_t id = 0;
  int64_t item_id = 0;
  int64_t patron_id = 0;
  Date checked_out_on{};
  Date due_on{};
  int renewals = 0;
};

struct CheckinResult {
  int64_t history_id = 0;  // the returned loan's row in loan_history
  int64_t item_id = 0;
  Date returned_on{};
  int overdue_days = 0;  // open days past the due date
  int64_t fine_id = 0;   // 0 when no fine accrued
  int64_t fine_cents = 0;
  int64_t hold_ready_id = 0;  // 0 unless the item went to the hold shelf for the next patron
};

enum class HoldStatus { kWaiting, kReady, kFulfilled, kCancelled, kExpired };
std::string_view HoldStatusName(HoldStatus status);

struct Hold {
  int64_t id = 0;
  int64_t item_id = 0;
  int64_t patron_id = 0;  // 0 once the link is dropped by retention
  HoldStatus status = HoldStatus::kWaiting;
  Instant placed_at{};
  std::optional<Date> ready_until;
};

enum class FineStatus { kOwed, kPaid, kWaived };
std::string_view FineStatusName(FineStatus status);

// Waivers use fixed reasons, not free text, so no note about a patron can end up here.
enum class WaiverReason { kStaffDiscretion, kReturnDispute, kHardship, kSystemError };
std::string_view WaiverReasonName(WaiverReason reason);
StatusOr<WaiverReason> ParseWaiverReason(std::string_view name);

struct Fine {
  int64_t id = 0;
  int64_t patron_id = 0;
  int64_t loan_history_id = 0;
  int64_t amount_cents = 0;
  Date accrued_on{};
  FineStatus status = FineStatus::kOwed;
  std::optional<Date> settled_on;
};

struct ComputerSession {
  int64_t id = 0;
  int64_t patron_id = 0;
  std::string station;
  Instant started_at{};
  std::optional<Instant> ended_at;
};

// A returned loan as its patron (or a lawful disclosure) sees it.
struct ReturnedLoan {
  int64_t history_id = 0;
  int64_t item_id = 0;
  Date checked_out_on{};
  Date returned_on{};
};

class SealedRecords;

class Circulation {
 public:
  // None of the pointers is owned; all must outlive this object. Thread-safe. `audit` is
  // null only in the benchmark that measures what auditing costs; a Library always passes its
  // log.
  Circulation(Store* store, Vault* vault, AuditLog* audit, const Profile* profile,
              const Calendar* calendar, const Clock* clock);
  ~Circulation();

  // Patrons.
  StatusOr<Patron> AddPatron(const Actor& actor, const NewPatron& patron);
  StatusOr<Patron> GetPatron(const Actor& actor, int64_t id);
  StatusOr<Patron> FindPatronByBarcode(const Actor& actor, std::string_view card_barcode);
  // Exact matches on the normalized address or full name (blind indexes, no prefix search).
  StatusOr<std::vector<Patron>> FindPatronsByEmail(const Actor& actor, std::string_view email);
  StatusOr<std::vector<Patron>> FindPatronsByName(const Actor& actor, std::string_view name);
  StatusOr<Patron> UpdatePatron(const Actor& actor, int64_t id, const PatronChanges& changes);
  // The patron's own choice. Opting out deletes the kept reading history at once.
  Status SetHistoryOptIn(const Actor& actor, int64_t patron_id, bool opt_in);
  // Crypto-shredding: destroys the patron's key first, then the patron's rows (blind indexes
  // included). Refused while the patron has items out or owes fines. `also`, when given, runs
  // inside the same transaction (retention counts the deletion there).
  Status DeletePatron(const Actor& actor, int64_t patron_id,
                      const std::function<Status(Transaction&)>& also = nullptr);

  // Returned loans still linked to the patron: under live epoch keys, or the patron's own key
  // when they keep a reading history.
  StatusOr<std::vector<ReturnedLoan>> PatronHistory(const Actor& actor, int64_t patron_id);
  // The patron a returned loan is linked to; nullopt once unlinked (its key destroyed).
  StatusOr<std::optional<int64_t>> ReturnedLoanPatron(const Actor& actor, int64_t history_id);

  // Items.
  StatusOr<Item> AddItem(const Actor& actor, const NewItem& item);
  StatusOr<Item> GetItem(int64_t id);
  // Many items at once, in one read transaction, keyed by id; ids that name no item are left
  // out. (The catalogue is not patron data: not audited.)
  StatusOr<std::map<int64_t, Item>> GetItems(const std::vector<int64_t>& ids);
  StatusOr<Item> FindItemByBarcode(std::string_view barcode);
  // An item with its due date when it is out and how many holds wait for it: what a
  // self-check kiosk may say about an item. Nobody is named (not audited).
  struct ItemCirculation {
    Item item;
    std::optional<Date> due_on;
    int64_t holds_waiting = 0;
  };
  StatusOr<ItemCirculation> ItemState(std::string_view barcode);
  // The public catalogue: items not withdrawn whose title, author or call number holds every
  // word of `terms` (case-insensitive), by title, at most `limit`. No patron data, and the terms
  // are neither logged nor audited (what someone looks for is their own business).
  StatusOr<std::vector<Item>> SearchCatalogue(std::string_view terms, int limit);
  // Changes catalogue data; fields left empty keep their value.
  StatusOr<Item> UpdateItem(const Actor& actor, std::string_view barcode, const NewItem& changes);
  // Takes an item out of circulation; refused while it is on loan.
  Status WithdrawItem(const Actor& actor, std::string_view barcode);
  // Marks an item missing (e.g. seized); an active loan on it is ended without a fine.
  Status MarkItemMissing(const Actor& actor, std::string_view barcode);

  // Loans. Checkout refuses an unknown or unavailable item, an unknown or expired patron, and
  // an item on the hold shelf for someone else; it fulfils the patron's own ready hold.
  StatusOr<Loan> Checkout(const Actor& actor, std::string_view item_barcode, std::string_view patron_barcode);
  // Renewal up to the profile's limit, refused while others wait for the item.
  StatusOr<Loan> Renew(const Actor& actor, std::string_view item_barcode);
  // Ends the loan: history row, fine for open days overdue (capped), next hold made ready.
  StatusOr<CheckinResult> Checkin(const Actor& actor, std::string_view item_barcode);
  StatusOr<std::vector<Loan>> ActiveLoans(const Actor& actor, int64_t patron_id);
  // Loans whose due date is before today (library time).
  StatusOr<std::vector<Loan>> OverdueLoans(const Actor& actor, int limit);

  // Holds, queued per item in the order placed.
  StatusOr<Hold> PlaceHold(const Actor& actor, std::string_view item_barcode, std::string_view patron_barcode);
  Status CancelHold(const Actor& actor, int64_t hold_id);
  // Ready holds not picked up by their date expire; the item passes to the next in line.
  StatusOr<int> ExpireHolds(const Actor& actor);
  StatusOr<std::vector<Hold>> HoldQueue(const Actor& actor, int64_t item_id);
  StatusOr<std::vector<Hold>> PatronHolds(const Actor& actor, int64_t patron_id);
  // The hold shelf: holds ready for pickup, soonest deadline first (audited: they name patrons).
  StatusOr<std::vector<Hold>> ReadyHolds(const Actor& actor);

  // Fines. A settled fine's link is sealed and no longer listed.
  StatusOr<std::vector<Fine>> PatronFines(const Actor& actor, int64_t patron_id);
  Status PayFine(const Actor& actor, int64_t fine_id);
  Status WaiveFine(const Actor& actor, int64_t fine_id, WaiverReason reason);

  // Public-computer sessions: one open session per station and per patron.
  StatusOr<ComputerSession> StartComputerSession(const Actor& actor, std::string_view patron_barcode,
                                                 std::string_view station);
  Status EndComputerSession(const Actor& actor, int64_t session_id);
  // Sessions not yet ended, by station (the patron is not named).
  StatusOr<std::vector<ComputerSession>> OpenComputerSessions();

  // eNews: Subscribe returns the confirmation token to mail out (only its hash is stored), or
  // an empty token when the address is already subscribed or awaiting confirmation (nothing
  // to send; the public answer is the same). Addresses not confirmed within 48 hours are
  // deleted (from the third day), whatever the retention schedule says.
  StatusOr<std::string> Subscribe(const Actor& actor, std::string_view email);
  Status ConfirmSubscription(const Actor& actor, std::string_view token);
  Status Unsubscribe(const Actor& actor, std::string_view token);

  Date Today() const;

  // Reads and removals for other modules inside their own transaction (they never name
  // circulation's tables). Whether the patron is on file (no audit entry: it reads nothing
  // about the patron).
  static StatusOr<bool> PatronExistsIn(Transaction& tx, int64_t patron_id);
  // The blind index of the patron's card (what names the card's failed log-ins); empty when
  // there is no such patron.
  static StatusOr<std::string> CardIndexIn(Transaction& tx, int64_t patron_id);

  // What retention applies its schedule to: eNews subscriptions left unconfirmed since
  // before `cutoff` (or unsubscribed before it), oldest id first; removing one returns whether
  // it was there.
  static StatusOr<std::vector<int64_t>> StaleSubscriptionsIn(Transaction& tx, bool unsubscribed,
                                                             Date cutoff);
  static StatusOr<bool> RemoveSubscriptionIn(Transaction& tx, int64_t subscription_id);
  // Patron accounts expired and inactive since before `cutoff`, with what they still have out
  // or owe, by patron id.
  struct DormantAccount {
    int64_t patron_id = 0;
    int64_t loans = 0;
    int64_t fines_owed = 0;
  };
  static StatusOr<std::vector<DormantAccount>> DormantAccountsIn(Transaction& tx, Date cutoff);

  // Sealed patron links under epoch keys, for retention (docs/design.md §6): a returned loan,
  // an ended hold, a settled fine and an ended computer session each keep theirs in a table of
  // their own. The table's name is what a link's seal is bound to.
  enum class LinkKind : uint8_t { kLoan, kHold, kFine, kSession };
  static std::string_view LinkTableOf(LinkKind kind);
  // How many links of `kind` are sealed under `epoch`.
  static StatusOr<int64_t> CountLinksIn(Transaction& tx, LinkKind kind, std::string_view epoch);
  // The links of `kind` under `epoch`: the row, the sealed link and the day its period started
  // from (a date, or an instant for a computer session). Given a `tag` (Vault::LinkTag of one
  // patron under the epoch's key), only that patron's, where the kind's links carry a tag; the
  // others are all returned.
  struct LinkRow {
    int64_t row = 0;
    std::string link;
    std::string day;
  };
  static StatusOr<std::vector<LinkRow>> LinksIn(Transaction& tx, LinkKind kind,
                                                std::string_view epoch,
                                                const std::string* tag = nullptr);
  // Whether the links of `kind` carry a tag that finds one patron's.
  static bool LinksTagged(LinkKind kind);
  // The link of `row` sealed anew (under another epoch: a legal hold keeps it).
  static Status ResealLinkIn(Transaction& tx, LinkKind kind, int64_t row, const std::string& link,
                             const std::string& epoch, const std::string& tag);
  // Clears up to `limit` links of `kind` left under `epoch` once its key was destroyed (dead
  // ciphertext); returns how many.
  static StatusOr<int64_t> ClearDeadLinksIn(Transaction& tx, LinkKind kind, std::string_view epoch,
                                            int64_t limit);

  // A restore's reconciliation: every patron's id; a patron removed as DeletePatron does,
  // after dropping the plain links of loans out and fines owed in an old backup; and the links
  // sealed under epoch keys not in `live_days` (destroyed) cleared, returning how many.
  StatusOr<std::vector<int64_t>> AllPatronIds();
  Status ForgetPatron(const Actor& actor, int64_t id);
  StatusOr<int64_t> ClearLinksOutside(const std::set<std::string>& live_days);

 private:
  // Seals the patron link of an ended hold, settled fine or ended session under the key of
  // `day` and clears the plain link.
  Status UnlinkRow(Transaction& tx, std::string_view table, int64_t row, int64_t patron_id,
                   Date day);
  Status PassItemOn(Transaction& tx, int64_t item_id, Date today);
  // Deletes eNews addresses left unconfirmed past 48 hours.
  Status ExpireUnconfirmed(Transaction& tx);
  // Appends an audit entry within `tx`; object_id 0 means none.
  Status Audit(Transaction& tx, const Actor& actor, std::string_view action,
               std::string_view object_type, int64_t object_id, std::string details = "{}");
  Status AddToHistory(Transaction& tx, const Loan& loan, Date returned_on, int64_t* history_id);
  // Reads rows of confidential data and audits the read in one transaction: the rows are
  // returned only once the audit entry is written.
  template <typename T>
  StatusOr<std::vector<T>> AuditedQuery(const Actor& actor, std::string_view sql,
                                        std::initializer_list<Value> params,
                                        T (*read)(const Row&), std::string_view action,
                                        std::string_view object_type, int64_t object_id);

  Store* store_;
  std::unique_ptr<SealedRecords> records_;
  AuditLog* audit_;
  const Profile* profile_;
  const Calendar* calendar_;
  const Clock* clock_;
};

}  // namespace carrel
