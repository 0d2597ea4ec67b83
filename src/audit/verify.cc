// Offline verification: recompute everything from the entries, trust only signatures.

#include <map>

#include "carrel/audit.h"

namespace carrel {
namespace {

// The right edge of a Merkle tree being built leaf by leaf: the roots of the complete
// subtrees of the binary decomposition of the size, largest first.
class TreeBuilder {
 public:
  void Add(const Hash& leaf) {
    Hash h = leaf;
    int64_t n = size_;
    // Merge with each complete left sibling of equal size.
    while ((n & 1) != 0) {
      h = NodeHash(stack_.back(), h);
      stack_.pop_back();
      n >>= 1;
    }
    stack_.push_back(h);
    ++size_;
  }
  int64_t size() const { return size_; }
  Hash Root() const {
    Hash r = stack_.back();
    for (size_t i = stack_.size() - 1; i-- > 0;) r = NodeHash(stack_[i], r);
    return r;
  }

 private:
  int64_t size_ = 0;
  std::vector<Hash> stack_;
};

// Ends the scan early once a problem is recorded.
Status Stop() { return Internal("verification stopped at the first problem"); }

struct StoredHead {
  int64_t size;
  std::string root;
  std::string note;
};

AuditVerification Bad(int64_t seq, std::string problem, int64_t size) {
  AuditVerification v;
  v.intact = false;
  v.first_bad_seq = seq;
  v.problem = std::move(problem);
  v.size = size;
  return v;
}

}  // namespace

StatusOr<AuditVerification> VerifyAuditLog(
    Store& store, const NoteVerifier& verifier, const std::optional<Checkpoint>& earlier,
    const std::function<void(int64_t done, int64_t total)>& progress) {
  std::vector<StoredHead> heads;
  int64_t total = 0;
  RETURN_IF_ERROR(WithReadTransaction(store, [&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(total, tx.QueryInt("SELECT count(*) FROM audit_log"));
    return tx.Exec("SELECT size, root, note FROM audit_heads ORDER BY size", {},
                   [&](const Row& row) {
                     heads.push_back({row.Int(0), row.Bytes(1), row.Text(2)});
                     return Status::Ok();
                   });
  }));
  // Every stored head must carry a good signature over exactly its size and root.
  std::map<int64_t, Hash> signed_roots;
  for (const StoredHead& h : heads) {
    auto c = OpenCheckpoint(h.note, verifier);
    if (!c.ok() || c->size != h.size || std::string(c->root.begin(), c->root.end()) != h.root) {
      return Bad(h.size, "head signature bad", 0);
    }
    signed_roots[h.size] = c->root;
  }
  if (earlier) signed_roots.emplace(earlier->size, earlier->root);

  TreeBuilder tree;
  AuditVerification result;
  std::optional<AuditVerification> failure;
  int64_t expected = 0;
  auto check_heads_up_to = [&](int64_t size) -> bool {
    auto it = signed_roots.find(size);
    if (it == signed_roots.end()) return true;
    if (tree.Root() == it->second) return true;
    bool is_earlier = earlier && earlier->size == size && earlier->root == it->second;
    failure = Bad(size, is_earlier ? "not consistent with the earlier head"
                                   : "not consistent with the signed head",
                  size);
    return false;
  };
  Status s = WithReadTransaction(store, [&](Transaction& tx) {
    return tx.Exec(
        "SELECT seq, entry, leaf_hash, time, actor_id, action, object_type, object_id, case_id "
        "FROM audit_log ORDER BY seq",
        {}, [&](const Row& row) -> Status {
          int64_t seq = row.Int(0);
          if (seq != expected) {
            failure = Bad(expected, "entry missing", expected);
            return Stop();
          }
          std::string_view entry = row.BytesView(1);
          auto decoded = ViewAuditEntry(entry);
          if (!decoded.ok()) {
            failure = Bad(seq,
                          decoded.status().code() == StatusCode::kFailedPrecondition
                              ? "unknown entry format version"
                              : "entry altered",
                          seq);
            return Stop();
          }
          Hash leaf = LeafHash(entry);
          std::string_view stored = row.BytesView(2);
          auto time = ParseInstant(row.TextView(3));
          if (stored.size() != leaf.size() ||
              !std::equal(leaf.begin(), leaf.end(),
                          reinterpret_cast<const unsigned char*>(stored.data())) ||
              !time.ok() || time->time_since_epoch().count() != decoded->time ||
              row.TextView(4) != decoded->actor_id || row.TextView(5) != decoded->action ||
              row.TextView(6) != decoded->object_type || row.TextView(7) != decoded->object_id ||
              row.TextView(8) != decoded->case_id) {
            failure = Bad(seq, "entry altered", seq);
            return Stop();
          }
          if (decoded->seq < seq) {
            // This row's entry was written at decoded->seq: something was inserted before it,
            // after the last row that checked out.
            failure = Bad(decoded->seq, "entry inserted", seq);
            return Stop();
          }
          if (decoded->seq > seq) {
            failure = Bad(seq, "entry moved", seq);
            return Stop();
          }
          tree.Add(leaf);
          ++expected;
          if (!check_heads_up_to(tree.size())) return Stop();
          if (progress && (expected & 0xffff) == 0) progress(expected, total);
          return Status::Ok();
        });
  });
  if (failure) return *failure;
  RETURN_IF_ERROR(s);
  if (progress) progress(expected, total);
  // A signed head (or the earlier head) larger than the log: entries were removed from the end.
  if (!signed_roots.empty() && signed_roots.rbegin()->first > expected) {
    return Bad(expected, "entry missing", expected);
  }
  result.intact = true;
  result.size = expected;
  if (expected > 0) result.root = tree.Root();
  result.heads_checked = static_cast<int64_t>(heads.size());
  return result;
}

}  // namespace carrel
