// Offline verification: recompute everything from the entries, trust only signatures.
//
// The log is cut into aligned chunks of 2^16 entries, each the leaves of one complete subtree
// of the RFC 9162 tree. Threads check and hash whole chunks on their own read connections;
// the calling thread then joins the chunk roots in order, which gives exactly the tree a
// sequential pass builds, and checks each signed head against the root at its size. Problems
// are reported as a sequential pass would meet them: by position in the log.

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "audit/verify.h"
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
  const std::vector<Hash>& stack() const { return stack_; }

 private:
  int64_t size_ = 0;
  std::vector<Hash> stack_;
};

// The root of a tree whose complete subtrees are `left` then `right`, each largest first.
Hash Fold(const std::vector<Hash>& left, const std::vector<Hash>& right) {
  std::vector<Hash> all(left);
  all.insert(all.end(), right.begin(), right.end());
  Hash r = all.back();
  for (size_t i = all.size() - 1; i-- > 0;) r = NodeHash(all[i], r);
  return r;
}

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

struct ChunkResult {
  std::vector<Hash> stack;  // the chunk's subtrees once scanned: its root when complete
  // For each head size inside the chunk reached before any problem: the chunk's subtrees at it.
  std::map<int64_t, std::vector<Hash>> at_heads;
  std::optional<AuditVerification> failure;  // the chunk's first problem, by position
};

// Checks and hashes entries [begin, end). Every entry must be there, decode, sit at the
// sequence number it was written at and match its stored leaf hash.
Status VerifyChunk(Transaction& tx, int64_t begin, int64_t end,
                   const std::map<int64_t, Hash>& signed_roots, ChunkResult* out) {
  TreeBuilder tree;
  int64_t expected = begin;
  auto head = signed_roots.upper_bound(begin);
  Status s = tx.Exec(
      "SELECT seq, entry, leaf_hash FROM audit_log WHERE seq >= ? AND seq < ? ORDER BY seq",
      {begin, end}, [&](const Row& row) -> Status {
        int64_t seq = row.Int(0);
        if (seq != expected) {
          out->failure = Bad(expected, "entry missing", expected);
          return Stop();
        }
        std::string_view entry = row.BytesView(1);
        auto decoded = ViewAuditEntry(entry);
        if (!decoded.ok()) {
          out->failure = Bad(seq,
                             decoded.status().code() == StatusCode::kFailedPrecondition
                                 ? "unknown entry format version"
                                 : "entry altered",
                             seq);
          return Stop();
        }
        Hash leaf = LeafHash(entry);
        std::string_view stored = row.BytesView(2);
        if (stored.size() != leaf.size() ||
            !std::equal(leaf.begin(), leaf.end(),
                        reinterpret_cast<const unsigned char*>(stored.data()))) {
          out->failure = Bad(seq, "entry altered", seq);
          return Stop();
        }
        if (decoded->seq < seq) {
          // This row's entry was written at decoded->seq: something was inserted before it,
          // after the last row that checked out.
          out->failure = Bad(decoded->seq, "entry inserted", seq);
          return Stop();
        }
        if (decoded->seq > seq) {
          out->failure = Bad(seq, "entry moved", seq);
          return Stop();
        }
        tree.Add(leaf);
        ++expected;
        if (head != signed_roots.end() && head->first == expected) {
          out->at_heads[expected] = tree.stack();
          ++head;
        }
        return Status::Ok();
      });
  if (out->failure) return Status::Ok();
  CARREL_RETURN_IF_ERROR(s);
  if (expected < end) out->failure = Bad(expected, "entry missing", expected);
  out->stack = tree.stack();
  return Status::Ok();
}

int VerifierThreads() {
  unsigned n = std::thread::hardware_concurrency();
  return static_cast<int>(std::clamp(n, 1u, 8u));
}

// The log's size and every signed head's root, each head's signature checked over exactly its
// size and root; the earlier head, if given, joins them.
struct SignedRoots {
  int64_t total = 0;
  int64_t heads = 0;
  std::map<int64_t, Hash> roots;
  std::optional<AuditVerification> failure;  // a head whose signature does not verify
};

StatusOr<SignedRoots> ReadSignedRoots(Store& store, const NoteVerifier& verifier,
                                      const std::optional<Checkpoint>& earlier) {
  std::vector<StoredHead> heads;
  SignedRoots out;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(store, [&](Transaction& tx) -> Status {
    // Entries are numbered from 0 without gaps, so the last number tells the size without
    // counting; a gap is found by the scan.
    CARREL_ASSIGN_OR_RETURN(out.total,
                            tx.QueryInt("SELECT coalesce(max(seq) + 1, 0) FROM audit_log"));
    return tx.Exec("SELECT size, root, note FROM audit_heads ORDER BY size", {},
                   [&](const Row& row) {
                     heads.push_back({row.Int(0), row.Bytes(1), row.Text(2)});
                     return Status::Ok();
                   });
  }));
  for (const StoredHead& h : heads) {
    auto c = OpenCheckpoint(h.note, verifier);
    if (!c.ok() || c->size != h.size || std::string(c->root.begin(), c->root.end()) != h.root) {
      out.failure = Bad(h.size, "head signature bad", 0);
      return out;
    }
    out.roots[h.size] = c->root;
  }
  if (earlier) out.roots.emplace(earlier->size, earlier->root);
  out.heads = static_cast<int64_t>(heads.size());
  return out;
}

// Scans the chunks on several threads, the calling one included (it alone reports progress).
// Chunks after a failed one need not be read. Returns the number of threads used.
StatusOr<int> ScanChunks(Store& store, const SignedRoots& signed_roots, int64_t chunk,
                         const std::function<void(int64_t done, int64_t total)>& progress,
                         std::vector<ChunkResult>* results) {
  const int64_t total = signed_roots.total;
  const int64_t chunks = static_cast<int64_t>(results->size());
  std::atomic<int64_t> next{0}, done{0};
  std::atomic<int64_t> first_failed{chunks};
  std::mutex error_mu;
  Status error;
  auto work = [&](bool report) {
    Status s = WithReadTransaction(store, [&](Transaction& tx) -> Status {
      for (;;) {
        int64_t c = next.fetch_add(1);
        if (c >= chunks || c > first_failed.load()) return Status::Ok();
        int64_t begin = c * chunk, end = std::min(total, begin + chunk);
        ChunkResult& r = (*results)[static_cast<size_t>(c)];
        CARREL_RETURN_IF_ERROR(VerifyChunk(tx, begin, end, signed_roots.roots, &r));
        if (r.failure) {
          int64_t seen = first_failed.load();
          while (c < seen && !first_failed.compare_exchange_weak(seen, c)) {
          }
        }
        int64_t now = done.fetch_add(end - begin) + (end - begin);
        if (report && progress) progress(now, total);
      }
    });
    if (!s.ok()) {
      std::lock_guard<std::mutex> lock(error_mu);
      if (error.ok()) error = s;
    }
  };
  std::vector<std::thread> helpers;
  int threads = static_cast<int>(std::min<int64_t>(VerifierThreads(), std::max<int64_t>(chunks, 1)));
  for (int t = 1; t < threads; ++t) helpers.emplace_back(work, false);
  work(true);
  for (std::thread& t : helpers) t.join();
  CARREL_RETURN_IF_ERROR(error);
  return threads;
}

}  // namespace

StatusOr<AuditVerification> VerifyAuditLogInChunks(
    Store& store, const NoteVerifier& verifier, const std::optional<Checkpoint>& earlier,
    const std::function<void(int64_t done, int64_t total)>& progress, int chunk_level) {
  const int64_t kChunk = int64_t{1} << chunk_level;
  CARREL_ASSIGN_OR_RETURN(SignedRoots signed_heads, ReadSignedRoots(store, verifier, earlier));
  if (signed_heads.failure) return *signed_heads.failure;
  const int64_t total = signed_heads.total;
  const std::map<int64_t, Hash>& signed_roots = signed_heads.roots;
  const int64_t chunks = (total + kChunk - 1) / kChunk;
  std::vector<ChunkResult> results(static_cast<size_t>(chunks));
  CARREL_ASSIGN_OR_RETURN(int threads, ScanChunks(store, signed_heads, kChunk, progress, &results));

  // Join the chunks in order, as a sequential pass would: the heads inside a chunk are checked
  // before the chunk's own problem, which lies after them.
  TreeBuilder chunk_roots;  // a tree whose leaves are the complete chunks' roots
  for (int64_t c = 0; c < chunks; ++c) {
    ChunkResult& r = results[static_cast<size_t>(c)];
    for (const auto& [size, stack] : r.at_heads) {
      const Hash& want = signed_roots.at(size);
      if (Fold(chunk_roots.stack(), stack) == want) continue;
      bool is_earlier = earlier && earlier->size == size && earlier->root == want;
      return Bad(size,
                 is_earlier ? "not consistent with the earlier head"
                            : "not consistent with the signed head",
                 size);
    }
    if (r.failure) return *r.failure;
    if (r.stack.size() == 1 && c * kChunk + kChunk <= total) {
      chunk_roots.Add(r.stack[0]);
    } else {
      // The last, partial chunk: its subtrees follow the complete chunks' ones.
      std::vector<Hash> all(chunk_roots.stack());
      all.insert(all.end(), r.stack.begin(), r.stack.end());
      results[static_cast<size_t>(c)].stack = std::move(all);
    }
  }
  if (progress) progress(total, total);
  // A signed head (or the earlier head) larger than the log: entries were removed from the end.
  if (!signed_roots.empty() && signed_roots.rbegin()->first > total) {
    return Bad(total, "entry missing", total);
  }
  AuditVerification result;
  result.intact = true;
  result.size = total;
  if (total > 0) {
    const std::vector<Hash>& last = results.back().stack;
    bool last_complete = total % kChunk == 0;
    result.root = last_complete ? Fold(chunk_roots.stack(), {}) : Fold(last, {});
  }
  result.heads_checked = signed_heads.heads;
  result.threads = threads;
  return result;
}

StatusOr<AuditVerification> VerifyAuditLog(
    Store& store, const NoteVerifier& verifier, const std::optional<Checkpoint>& earlier,
    const std::function<void(int64_t done, int64_t total)>& progress) {
  return VerifyAuditLogInChunks(store, verifier, earlier, progress, kVerifyChunkLevel);
}

}  // namespace carrel
