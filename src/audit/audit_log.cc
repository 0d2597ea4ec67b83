#include <algorithm>
#include <functional>
#include <map>
#include <mutex>

#include "carrel/audit.h"

namespace carrel {

namespace {

// carrel_audit_field(entry, k): field k of an encoded entry (0 time, 1 actor id, 2 action,
// 3 object type, 4 object id, 5 case id); NULL for bytes that do not decode.
Value AuditField(std::string_view entry, int64_t k) {
  auto e = ViewAuditEntry(entry);
  if (!e.ok()) return Value();
  switch (k) {
    case 0: return Value(e->time);
    case 1: return Value(std::string(e->actor_id));
    case 2: return Value(std::string(e->action));
    case 3: return Value(std::string(e->object_type));
    case 4: return Value(std::string(e->object_id));
    case 5: return Value(std::string(e->case_id));
    default: return Value();
  }
}

const bool kAuditFieldRegistered = [] {
  RegisterSqlFunction("carrel_audit_field", &AuditField);
  return true;
}();

Hash ToHash(const std::string& bytes) {
  Hash h{};
  if (bytes.size() == h.size()) std::copy(bytes.begin(), bytes.end(), h.begin());
  return h;
}

Blob ToBlob(const Hash& h) { return Blob{std::string(h.begin(), h.end())}; }

int64_t LargestPowerOfTwoBelow(int64_t n) {
  int64_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

int Log2(int64_t n) {
  int l = 0;
  while ((int64_t{1} << l) < n) ++l;
  return l;
}

StatusOr<Hash> ReadLeaf(Transaction& tx, int64_t seq) {
  std::optional<Hash> h;
  CARREL_RETURN_IF_ERROR(
      tx.Exec("SELECT leaf_hash FROM audit_log WHERE seq = ?", {seq}, [&](const Row& row) {
        h = ToHash(row.Bytes(0));
        return Status::Ok();
      }));
  if (!h) return DataLoss("audit entry " + std::to_string(seq) + " is missing");
  return *h;
}

StatusOr<Hash> ReadNode(Transaction& tx, int level, int64_t idx) {
  if (level == 0) return ReadLeaf(tx, idx);
  std::optional<Hash> h;
  CARREL_RETURN_IF_ERROR(tx.Exec("SELECT hash FROM audit_nodes WHERE level = ? AND idx = ?",
                                 {int64_t{level}, idx}, [&](const Row& row) {
                                   h = ToHash(row.Bytes(0));
                                   return Status::Ok();
                                 }));
  if (!h) return DataLoss("an audit tree node is missing");
  return *h;
}

StatusOr<int64_t> LogSize(Transaction& tx) {
  return tx.QueryInt("SELECT coalesce(max(seq) + 1, 0) FROM audit_log");
}

StatusOr<Instant> EntryTime(Transaction& tx, int64_t seq) {
  std::optional<Instant> t;
  CARREL_RETURN_IF_ERROR(
      tx.Exec("SELECT entry FROM audit_log WHERE seq = ?", {seq}, [&](const Row& row) -> Status {
        CARREL_ASSIGN_OR_RETURN(auto e, ViewAuditEntry(row.BytesView(0)));
        t = Instant(std::chrono::seconds(e.time));
        return Status::Ok();
      }));
  if (!t) return DataLoss("audit entry " + std::to_string(seq) + " is missing");
  return *t;
}

// The first sequence number in [0, size] whose entry's time is at or after `t` (size when
// none is): a binary search, as entry times never decrease along the log.
StatusOr<int64_t> FirstAtOrAfter(Transaction& tx, Instant t, int64_t size) {
  int64_t lo = 0, hi = size;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    CARREL_ASSIGN_OR_RETURN(Instant at, EntryTime(tx, mid));
    if (at < t) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

}  // namespace

// The most recent node at each level, valid for a log of `size` entries: what an append
// needs (its left siblings), cached between appends so an append is O(log n) hashing and at
// most two inserts on average.
struct RightEdge {
  int64_t size = -1;
  std::map<int, std::pair<int64_t, Hash>> last;  // level -> (idx, hash)
  Instant last_time{};                           // the time of the latest entry
};

// What appends share, under one lock: the version in force and the right edge.
struct AuditLog::State {
  std::mutex mu;
  std::string policy_version;  // guarded by mu
  RightEdge edge;              // guarded by mu
  std::function<StatusOr<std::string>(Transaction&)> version_source;
};

AuditLog::AuditLog(const Clock* clock, std::string policy_version)
    : clock_(clock), state_(std::make_unique<State>()) {
  state_->policy_version = std::move(policy_version);
}

AuditLog::~AuditLog() = default;

void AuditLog::set_policy_version_source(
    std::function<StatusOr<std::string>(Transaction&)> source) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->version_source = std::move(source);
}

void AuditLog::set_policy_version(std::string version) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->policy_version = std::move(version);
}

StatusOr<int64_t> AuditLog::Append(Transaction& tx, const Actor& actor, const AuditEvent& event) {
  std::lock_guard<std::mutex> lock(state_->mu);
  // The latest entry, in one statement: its successor's number and its leaf, against which the
  // cached edge is checked (another server on the same database may have appended since, after
  // an append of ours rolled back, to the same size).
  int64_t seq = 0;
  std::string stored;
  CARREL_RETURN_IF_ERROR(tx.Exec("SELECT seq, leaf_hash FROM audit_log ORDER BY seq DESC LIMIT 1",
                                 {}, [&](const Row& row) {
                                   seq = row.Int(0) + 1;
                                   stored = row.Bytes(1);
                                   return Status::Ok();
                                 }));
  RightEdge& edge = state_->edge;
  if (edge.size == seq && seq > 0) {
    auto latest = edge.last.find(0);
    if (latest == edge.last.end() || latest->second.first != seq - 1 ||
        stored != std::string(latest->second.second.begin(), latest->second.second.end())) {
      edge.size = -1;
    }
  }
  if (edge.size != seq) {
    // First append, or the transaction of an earlier append rolled back: reload.
    edge = RightEdge{};
    for (int level = 0; (int64_t{1} << level) <= seq; ++level) {
      int64_t count = seq >> level;  // complete nodes at this level
      if (count == 0) break;
      CARREL_ASSIGN_OR_RETURN(Hash h, ReadNode(tx, level, count - 1));
      edge.last[level] = {count - 1, h};
    }
    if (seq > 0) {
      CARREL_ASSIGN_OR_RETURN(edge.last_time, EntryTime(tx, seq - 1));
    }
  }
  AuditEntry e;
  e.seq = seq;
  // Times never decrease along the log (time searches rely on it): if the system clock steps
  // back, entries carry the latest time already recorded until the clock passes it again.
  e.time = seq > 0 ? std::max(clock_->Now(), edge.last_time) : clock_->Now();
  e.actor_id = actor.id;
  e.actor_role = actor.role;
  e.action = event.action;
  e.object_type = event.object_type;
  e.object_id = event.object_id;
  e.case_id = event.case_id;
  e.policy_version = state_->policy_version;
  if (state_->version_source) {
    // Read in the transaction: a version another server's Board vote put in force counts at
    // once, here as there.
    auto in_force = state_->version_source(tx);
    if (in_force.ok()) e.policy_version = *in_force;
  }
  e.details = event.details.empty() ? "{}" : event.details;
  std::string bytes = EncodeAuditEntry(e);
  Hash leaf = LeafHash(bytes);
  // Until this append is done, the cached edge is not trusted: if a statement below fails, the
  // next append reloads it.
  edge.size = -1;
  CARREL_RETURN_IF_ERROR(tx.Send("INSERT INTO audit_log (seq, entry, leaf_hash) VALUES (?, ?, ?)",
                                 {seq, Blob{bytes}, ToBlob(leaf)}));

  int64_t idx = seq;
  int level = 0;
  Hash h = leaf;
  // Climb while the new node is a right child: combine it with its left sibling, the latest
  // node of its level. The new inner nodes go in with one statement.
  std::string insert_nodes = "INSERT INTO audit_nodes (level, idx, hash) VALUES ";
  std::vector<Value> nodes;
  while ((idx & 1) != 0) {
    auto left = edge.last.find(level);
    if (left == edge.last.end() || left->second.first != idx - 1) {
      return Internal("the audit tree's right edge is inconsistent");
    }
    Hash parent = NodeHash(left->second.second, h);
    edge.last[level] = {idx, h};
    h = parent;
    ++level;
    idx >>= 1;
    insert_nodes += nodes.empty() ? "(?, ?, ?)" : ", (?, ?, ?)";
    nodes.insert(nodes.end(), {int64_t{level}, idx, ToBlob(h)});
  }
  if (!nodes.empty()) CARREL_RETURN_IF_ERROR(tx.Send(insert_nodes, nodes));
  edge.last[level] = {idx, h};
  edge.last_time = e.time;
  edge.size = seq + 1;
  return seq;
}

StatusOr<Hash> AuditLog::SubtreeHash(Transaction& tx, int64_t begin, int64_t end) {
  int64_t n = end - begin;
  if (n <= 0) return InvalidArgument("empty subtree");
  if ((n & (n - 1)) == 0 && begin % n == 0) return ReadNode(tx, Log2(n), begin / n);
  int64_t k = LargestPowerOfTwoBelow(n);
  CARREL_ASSIGN_OR_RETURN(Hash left, SubtreeHash(tx, begin, begin + k));
  CARREL_ASSIGN_OR_RETURN(Hash right, SubtreeHash(tx, begin + k, end));
  return NodeHash(left, right);
}

StatusOr<Hash> AuditLog::RootAt(Transaction& tx, int64_t size) {
  CARREL_ASSIGN_OR_RETURN(int64_t have, LogSize(tx));
  if (size < 1 || size > have) {
    return InvalidArgument("tree size " + std::to_string(size) + " is outside the log (1.." +
                           std::to_string(have) + ")");
  }
  return SubtreeHash(tx, 0, size);
}

StatusOr<int64_t> AuditLog::Size(Transaction& tx) { return LogSize(tx); }

StatusOr<std::pair<int64_t, Hash>> AuditLog::Head(Transaction& tx) {
  CARREL_ASSIGN_OR_RETURN(int64_t size, LogSize(tx));
  if (size == 0) return FailedPrecondition("the audit log is empty");
  CARREL_ASSIGN_OR_RETURN(Hash root, SubtreeHash(tx, 0, size));
  return std::make_pair(size, root);
}

StatusOr<std::vector<Hash>> AuditLog::InclusionProof(Transaction& tx, int64_t index,
                                                     int64_t size) {
  CARREL_ASSIGN_OR_RETURN(int64_t have, LogSize(tx));
  if (size < 1 || size > have || index < 0 || index >= size) {
    return InvalidArgument("no entry " + std::to_string(index) + " in a tree of size " +
                           std::to_string(size) + " (the log has " + std::to_string(have) +
                           " entries)");
  }
  std::vector<Hash> path;
  // RFC 9162 §2.1.3.1, iteratively from the top; the path is listed bottom-up.
  int64_t begin = 0, end = size;
  while (end - begin > 1) {
    int64_t k = LargestPowerOfTwoBelow(end - begin);
    if (index - begin < k) {
      CARREL_ASSIGN_OR_RETURN(Hash h, SubtreeHash(tx, begin + k, end));
      path.push_back(h);
      end = begin + k;
    } else {
      CARREL_ASSIGN_OR_RETURN(Hash h, SubtreeHash(tx, begin, begin + k));
      path.push_back(h);
      begin += k;
    }
  }
  std::reverse(path.begin(), path.end());
  return path;
}

StatusOr<std::vector<Hash>> AuditLog::ConsistencyProof(Transaction& tx, int64_t size1,
                                                       int64_t size2) {
  CARREL_ASSIGN_OR_RETURN(int64_t have, LogSize(tx));
  if (size1 < 1 || size2 < size1 || size2 > have) {
    return InvalidArgument("no consistency proof from size " + std::to_string(size1) +
                           " to size " + std::to_string(size2) + " (the log has " +
                           std::to_string(have) + " entries)");
  }
  std::vector<Hash> proof;
  // RFC 9162 §2.1.4.1 SUBPROOF, iteratively; collected top-down, returned bottom-up.
  int64_t m = size1, begin = 0, end = size2;
  bool complete = true;
  while (m != end - begin) {
    int64_t k = LargestPowerOfTwoBelow(end - begin);
    if (m <= k) {
      CARREL_ASSIGN_OR_RETURN(Hash h, SubtreeHash(tx, begin + k, end));
      proof.push_back(h);
      end = begin + k;
    } else {
      CARREL_ASSIGN_OR_RETURN(Hash h, SubtreeHash(tx, begin, begin + k));
      proof.push_back(h);
      m -= k;
      begin += k;
      complete = false;
    }
  }
  if (!complete) {
    CARREL_ASSIGN_OR_RETURN(Hash h, SubtreeHash(tx, begin, end));
    proof.push_back(h);
  }
  std::reverse(proof.begin(), proof.end());
  return proof;
}

namespace {

// The stored signed head the query finds (its note as stored, not verified here).
StatusOr<std::optional<Checkpoint>> ReadHead(Transaction& tx, const std::string& where,
                                             const std::vector<Value>& params) {
  std::optional<Checkpoint> c;
  CARREL_RETURN_IF_ERROR(tx.Exec("SELECT size, root, note, signed_at FROM audit_heads " + where,
                                 params, [&](const Row& row) -> Status {
                                   Checkpoint h;
                                   h.size = row.Int(0);
                                   h.root = ToHash(row.Bytes(1));
                                   h.note = row.Text(2);
                                   CARREL_ASSIGN_OR_RETURN(h.signed_at, ParseInstant(row.Text(3)));
                                   size_t nl = h.note.find('\n');
                                   h.origin = h.note.substr(0, nl);
                                   c = std::move(h);
                                   return Status::Ok();
                                 }));
  return c;
}

}  // namespace

StatusOr<Checkpoint> AuditLog::LatestHead(Transaction& tx) {
  CARREL_ASSIGN_OR_RETURN(std::optional<Checkpoint> c,
                          ReadHead(tx, "ORDER BY size DESC LIMIT 1", {}));
  if (!c) return NotFound("no signed tree head yet");
  return *c;
}

StatusOr<Checkpoint> AuditLog::HeadOfSize(Transaction& tx, int64_t size) {
  CARREL_ASSIGN_OR_RETURN(std::optional<Checkpoint> c, ReadHead(tx, "WHERE size = ?", {size}));
  if (!c) return NotFound("no signed head of size " + std::to_string(size));
  return *c;
}

StatusOr<std::string> AuditLog::EncodedEntry(Transaction& tx, int64_t seq) {
  std::optional<std::string> entry;
  CARREL_RETURN_IF_ERROR(
      tx.Exec("SELECT entry FROM audit_log WHERE seq = ?", {seq}, [&](const Row& row) {
        entry = row.Bytes(0);
        return Status::Ok();
      }));
  if (!entry) return NotFound("no entry " + std::to_string(seq) + " in the log");
  return *entry;
}

StatusOr<Checkpoint> AuditLog::SignHead(Transaction& tx, const unsigned char* seed,
                                        std::string_view origin) {
  CARREL_ASSIGN_OR_RETURN(auto head, Head(tx));
  auto latest = LatestHead(tx);
  if (latest.ok()) {
    CARREL_ASSIGN_OR_RETURN(Hash then, RootAt(tx, latest->size));
    if (then != latest->root) {
      return DataLoss("refusing to sign: the log no longer matches the head signed at size " +
                      std::to_string(latest->size));
    }
    if (latest->size == head.first) return *latest;
  } else if (latest.status().code() != StatusCode::kNotFound) {
    return latest.status();
  }
  Checkpoint c = SignCheckpoint(origin, head.first, head.second, seed, origin);
  CARREL_RETURN_IF_ERROR(
      tx.Exec("INSERT INTO audit_heads (size, root, signed_at, note) VALUES (?, ?, ?, ?)",
              {c.size, ToBlob(c.root), FormatInstant(clock_->Now()), c.note}));
  return c;
}

StatusOr<std::vector<AuditEntry>> AuditLog::Find(Transaction& tx, const AuditQuery& q) {
  (void)kAuditFieldRegistered;
  std::string sql = "SELECT entry FROM audit_log WHERE seq > ?";
  std::vector<Value> params = {q.after_seq};
  auto where = [&](const char* clause, Value v) {
    sql += clause;
    params.push_back(std::move(v));
  };
  // A time range is a range of sequence numbers.
  if (q.from || q.to) {
    CARREL_ASSIGN_OR_RETURN(int64_t size, LogSize(tx));
    if (q.from) {
      CARREL_ASSIGN_OR_RETURN(int64_t first, FirstAtOrAfter(tx, *q.from, size));
      where(" AND seq >= ?", first);
    }
    if (q.to) {
      CARREL_ASSIGN_OR_RETURN(int64_t end, FirstAtOrAfter(tx, *q.to, size));
      where(" AND seq < ?", end);
    }
  }
  // Each clause is spelled as its index is, so that SQLite uses the index.
  if (!q.actor_id.empty()) where(" AND carrel_audit_field(entry, 1) = ?", q.actor_id);
  if (!q.object_type.empty()) where(" AND carrel_audit_field(entry, 3) = ?", q.object_type);
  if (!q.object_id.empty()) where(" AND carrel_audit_field(entry, 4) = ?", q.object_id);
  if (!q.case_id.empty()) {
    where(" AND carrel_audit_field(entry, 5) <> '' AND carrel_audit_field(entry, 5) = ?",
          q.case_id);
  }
  where(" ORDER BY seq LIMIT ?", int64_t{std::clamp(q.limit, 1, 1000)});
  std::vector<AuditEntry> out;
  CARREL_RETURN_IF_ERROR(tx.Exec(sql, params, [&](const Row& row) -> Status {
    CARREL_ASSIGN_OR_RETURN(AuditEntry e, DecodeAuditEntry(row.BytesView(0)));
    out.push_back(std::move(e));
    return Status::Ok();
  }));
  return out;
}

}  // namespace carrel
