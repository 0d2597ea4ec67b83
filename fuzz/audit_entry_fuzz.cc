// libFuzzer target: an audit entry's bytes as they could be found in a database someone has
// altered, through the decoders the verifier and the log's readers use (src/audit/entry.cc:
// DecodeAuditEntry, and ViewAuditEntry, which verification of millions of entries uses).
// Checks, beyond "no crash, no leak, no undefined behaviour":
//  - the two decoders take and refuse the same bytes, and read the same fields;
//  - the encoding is canonical: an entry taken encodes back to exactly the bytes it came from
//    (one entry, one encoding, one leaf hash).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "carrel/audit.h"
#include "fuzz/support/fuzz_support.h"

using carrel::fuzz::Broken;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto entry = carrel::DecodeAuditEntry(bytes);
  auto view = carrel::ViewAuditEntry(bytes);
  if (entry.ok() != view.ok())
    Broken("audit_entry", "the decoders disagree on whether the entry reads");
  if (!entry.ok()) {
    if (entry.status().code() != view.status().code())
      Broken("audit_entry", "the decoders refuse differently");
    return 0;
  }
  if (entry->seq != view->seq || entry->time.time_since_epoch().count() != view->time ||
      entry->actor_id != view->actor_id || entry->actor_role != view->actor_role ||
      entry->action != view->action || entry->object_type != view->object_type ||
      entry->object_id != view->object_id || entry->case_id != view->case_id ||
      entry->policy_version != view->policy_version || entry->details != view->details) {
    Broken("audit_entry", "the decoders read different fields");
  }
  if (carrel::EncodeAuditEntry(*entry) != bytes)
    Broken("audit_entry", "an entry with two encodings");
  return 0;
}
