// The canonical byte encoding of an audit entry (docs/audit-log-format.md).

#include <pwd.h>
#include <unistd.h>

#include "carrel/audit.h"

namespace carrel {
namespace {

void PutU32(std::string* out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void PutU64(std::string* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void PutString(std::string* out, std::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool U64(uint64_t* v) {
    if (in_.size() < 8) return false;
    *v = 0;
    for (int i = 0; i < 8; ++i) *v = (*v << 8) | static_cast<unsigned char>(in_[i]);
    in_.remove_prefix(8);
    return true;
  }
  bool String(std::string_view* s) {
    if (in_.size() < 4) return false;
    uint32_t n = 0;
    for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<unsigned char>(in_[i]);
    in_.remove_prefix(4);
    if (in_.size() < n) return false;
    *s = in_.substr(0, n);
    in_.remove_prefix(n);
    return true;
  }
  bool done() const { return in_.empty(); }

 private:
  std::string_view in_;
};

}  // namespace

std::string EncodeAuditEntry(const AuditEntry& e) {
  std::string out;
  out.reserve(64 + e.actor_id.size() + e.action.size() + e.object_id.size() + e.details.size());
  out.push_back(static_cast<char>(kAuditFormatVersion));
  PutU64(&out, static_cast<uint64_t>(e.seq));
  PutU64(&out, static_cast<uint64_t>(e.time.time_since_epoch().count()));
  for (const std::string* s : {&e.actor_id, &e.actor_role, &e.action, &e.object_type,
                               &e.object_id, &e.case_id, &e.policy_version, &e.details}) {
    PutString(&out, *s);
  }
  return out;
}

StatusOr<AuditEntryView> ViewAuditEntry(std::string_view bytes) {
  if (bytes.empty()) return DataLoss("an audit entry is empty");
  if (static_cast<uint8_t>(bytes[0]) != kAuditFormatVersion) {
    return FailedPrecondition("audit entry format version " +
                              std::to_string(static_cast<uint8_t>(bytes[0])) +
                              " is unknown to this carrel");
  }
  Reader r(bytes.substr(1));
  AuditEntryView e;
  uint64_t seq = 0, time = 0;
  if (!r.U64(&seq) || !r.U64(&time)) return DataLoss("an audit entry is truncated");
  e.seq = static_cast<int64_t>(seq);
  e.time = static_cast<int64_t>(time);
  for (std::string_view* s : {&e.actor_id, &e.actor_role, &e.action, &e.object_type,
                              &e.object_id, &e.case_id, &e.policy_version, &e.details}) {
    if (!r.String(s)) return DataLoss("an audit entry is truncated");
  }
  if (!r.done()) return DataLoss("an audit entry has trailing bytes");
  return e;
}

StatusOr<AuditEntry> DecodeAuditEntry(std::string_view bytes) {
  CARREL_ASSIGN_OR_RETURN(AuditEntryView v, ViewAuditEntry(bytes));
  AuditEntry e;
  e.seq = v.seq;
  e.time = Instant(std::chrono::seconds(v.time));
  e.actor_id = std::string(v.actor_id);
  e.actor_role = std::string(v.actor_role);
  e.action = std::string(v.action);
  e.object_type = std::string(v.object_type);
  e.object_id = std::string(v.object_id);
  e.case_id = std::string(v.case_id);
  e.policy_version = std::string(v.policy_version);
  e.details = std::string(v.details);
  return e;
}

Actor OperatorActor() {
  struct passwd* pw = getpwuid(geteuid());
  return Actor{std::string("os/") + (pw != nullptr ? pw->pw_name : std::to_string(geteuid())),
               "operator"};
}

Actor SystemActor(std::string_view what) { return Actor{"system/" + std::string(what), "system"}; }

}  // namespace carrel
