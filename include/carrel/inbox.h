#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "carrel/clock.h"
#include "carrel/status.h"
#include "carrel/store.h"

namespace carrel {

// An item in a staff member's inbox: what needs them. It names a reference (a case's, or the
// hour of an alarm) and a kind, never a patron.
struct InboxItem {
  int64_t id = 0;
  std::string case_reference;
  std::string kind;  // "new_request", "warrant_executed", "counsel_assigned", ...
  Instant created_at{};
  bool read = false;
};

// Staff inboxes, kept by this module alone: the request workflow posts what a step asks of
// someone, accounts post the alarm of many failed log-ins. Each call works inside the caller's
// own transaction, so an item is posted with the step that causes it, or not at all.
class Inbox {
 public:
  static Status PostIn(Transaction& tx, int64_t user_id, std::string_view reference,
                       std::string_view kind, Instant at);
  // The user's newest items first, at most `limit`.
  static StatusOr<std::vector<InboxItem>> ItemsIn(Transaction& tx, int64_t user_id,
                                                  int limit = 200);
  // kNotFound unless item `item_id` is the user's and unread.
  static Status MarkReadIn(Transaction& tx, int64_t user_id, int64_t item_id, Instant at);
};

}  // namespace carrel
