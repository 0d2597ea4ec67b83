#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "carrel/clock.h"
#include "carrel/status.h"
#include "carrel/store.h"

namespace carrel {

// The tamper-evident audit log (docs/design.md §5). Every access to confidential data and every
// change is an entry, written in the same transaction as what it records (fail-closed). Entries are
// the leaves of an RFC 9162 Merkle tree; the server signs tree heads as C2SP tlog-checkpoint notes.
// Formats: docs/audit-log-format.md.

using Hash = std::array<unsigned char, 32>;

// Who acted. Ids are pseudonymous ("user/12", "patron/8812…", "os/root", "system/retention",
// "anonymous"), never a name, barcode or email.
struct Actor {
  std::string id;
  std::string role;  // staff, director, designee, counsel, board, admin, patron, operator, system, public
};

// The operating-system user running this process, as an audit actor ("os/<name>", operator).
Actor OperatorActor();
// carrel itself acting on schedule or on restore ("system/<what>", system).
Actor SystemActor(std::string_view what);

// What happened. object_id is a pseudonymous id or a count; details is a small JSON object
// (canonical: keys sorted, no spaces) that must hold no PII.
struct AuditEvent {
  std::string action;       // "patron.view", "loan.checkout", "key.destroy", ...
  std::string object_type;  // "patron", "item", "loan", "hold", "fine", "key", "library", ...
  std::string object_id;
  std::string case_id;
  std::string details = "{}";
};

struct AuditEntry {
  int64_t seq = 0;  // 0-based; the leaf index in the tree
  Instant time{};
  std::string actor_id;
  std::string actor_role;
  std::string action;
  std::string object_type;
  std::string object_id;
  std::string case_id;
  std::string policy_version;
  std::string details = "{}";
};

inline constexpr uint8_t kAuditFormatVersion = 1;

// The canonical byte encoding of an entry (docs/audit-log-format.md), and its inverse.
// Decode refuses an unknown version (kFailedPrecondition) or malformed bytes (kDataLoss).
std::string EncodeAuditEntry(const AuditEntry& entry);
StatusOr<AuditEntry> DecodeAuditEntry(std::string_view bytes);

// The fields of an encoded entry without copying them (views into `bytes`), for verifying
// millions of entries. Same refusals as DecodeAuditEntry.
struct AuditEntryView {
  int64_t seq = 0;
  int64_t time = 0;  // seconds since the epoch
  std::string_view actor_id, actor_role, action, object_type, object_id, case_id,
      policy_version, details;
};
StatusOr<AuditEntryView> ViewAuditEntry(std::string_view bytes);

// RFC 9162 hashing with OpenSSL's SHA-256 (CPU SHA extensions where present).
Hash LeafHash(std::string_view entry);
Hash NodeHash(const Hash& left, const Hash& right);
// The root of a list of leaf hashes, computed naively (for tests and cross-checks).
Hash NaiveRoot(const std::vector<Hash>& leaves);
std::string HashBase64(const Hash& h);
StatusOr<Hash> HashFromBase64(std::string_view text);

// Proof verification needs nothing but the proof (RFC 9162 §2.1.3.2 and §2.1.4.2).
bool VerifyInclusion(const Hash& leaf, int64_t index, int64_t size, const std::vector<Hash>& path,
                     const Hash& root);
bool VerifyConsistency(int64_t size1, int64_t size2, const Hash& root1, const Hash& root2,
                       const std::vector<Hash>& proof);

// A signed tree head as a C2SP tlog-checkpoint signed note:
//   <origin>\n<size>\n<base64 root>\n\n— <key name> <base64(key id || signature)>\n
struct Checkpoint {
  std::string origin;
  int64_t size = 0;
  Hash root{};
  std::string note;  // the whole signed note text
  std::optional<Instant> signed_at;  // when a stored head was signed
};

// An Ed25519 note verifier key: "<name>+<8 hex key id>+<base64(0x01 || public key)>".
struct NoteVerifier {
  std::string name;
  std::array<unsigned char, 32> public_key{};
  std::string ToString() const;
  static StatusOr<NoteVerifier> Parse(std::string_view vkey);
};

// Signs `origin/size/root` as a checkpoint. `secret_seed` is the 32-byte Ed25519 seed.
Checkpoint SignCheckpoint(std::string_view origin, int64_t size, const Hash& root,
                          const unsigned char* secret_seed, std::string_view key_name);
// Parses a checkpoint note and checks its signature by `verifier` (kDataLoss if bad,
// kInvalidArgument if it does not parse).
StatusOr<Checkpoint> OpenCheckpoint(std::string_view note, const NoteVerifier& verifier);
NoteVerifier VerifierFromSeed(const unsigned char* secret_seed, std::string_view key_name);

// A proof bundle as `carrel audit prove` writes it (JSON): a signed head "checkpoint", and an
// entry's "inclusion" (index, entry in base64, path) and/or the log's "consistency" with an
// earlier head (earlier, proof), checked with nothing but the verifier key. kInvalidArgument
// when it does not parse, kDataLoss when a signature or a proof does not verify.
struct ProofCheck {
  int64_t head_size = 0;  // of the signed head proven against
  std::string said;       // what was proven, in words
};
StatusOr<ProofCheck> VerifyProofBundle(std::string_view text, const NoteVerifier& verifier);

// Queries of the log for the Director and the Board (paged by sequence number).
struct AuditQuery {
  std::optional<Instant> from, to;  // time range, inclusive from, exclusive to
  std::string actor_id;
  std::string object_type, object_id;
  std::string case_id;
  int64_t after_seq = -1;  // paging: entries with seq > after_seq
  int limit = 100;
};

// The log inside one library database. Thread-safe; appends are serialized by the store's
// write transactions.
class AuditLog {
 public:
  // `policy_version` is recorded in every entry (the version in force).
  AuditLog(const Clock* clock, std::string policy_version);
  ~AuditLog();

  // Appends an entry and its tree nodes within `tx` (a write transaction). If this fails the
  // caller must fail its transaction: nothing is recorded and nothing happened.
  StatusOr<int64_t> Append(Transaction& tx, const Actor& actor, const AuditEvent& event);

  // Entries in the log.
  StatusOr<int64_t> Size(Transaction& tx);
  // Size and root of the tree as stored.
  StatusOr<std::pair<int64_t, Hash>> Head(Transaction& tx);
  // Inclusion proof for leaf `index` in the tree of `size` leaves, and consistency proof
  // between two sizes, from stored nodes. kInvalidArgument when out of range.
  StatusOr<std::vector<Hash>> InclusionProof(Transaction& tx, int64_t index, int64_t size);
  StatusOr<std::vector<Hash>> ConsistencyProof(Transaction& tx, int64_t size1, int64_t size2);
  StatusOr<Hash> RootAt(Transaction& tx, int64_t size);

  StatusOr<std::vector<AuditEntry>> Find(Transaction& tx, const AuditQuery& query);

  // Signs the current head as a checkpoint and stores it, unless the latest stored head
  // already has this size (then returns that one). Refuses (kDataLoss) to sign a head whose
  // tree does not contain the latest signed head unchanged: two inconsistent heads are never
  // signed. REQUIRES: a write transaction; `seed` is the log's Ed25519 seed.
  StatusOr<Checkpoint> SignHead(Transaction& tx, const unsigned char* seed,
                                std::string_view origin);
  // The latest stored signed head; kNotFound if none.
  StatusOr<Checkpoint> LatestHead(Transaction& tx);
  // The stored signed head of exactly `size` entries, its note as stored (open it with
  // OpenCheckpoint to check the signature); kNotFound if none was signed at that size.
  StatusOr<Checkpoint> HeadOfSize(Transaction& tx, int64_t size);
  // Entry `seq` as stored (EncodeAuditEntry's bytes); kNotFound past the end.
  StatusOr<std::string> EncodedEntry(Transaction& tx, int64_t seq);

  void set_policy_version(std::string version);
  // Where each append reads the version in force, inside its own transaction (the Board's
  // module); the version set above when it has none to give.
  void set_policy_version_source(std::function<StatusOr<std::string>(Transaction&)> source);

 private:
  struct State;
  StatusOr<Hash> SubtreeHash(Transaction& tx, int64_t begin, int64_t end);
  const Clock* clock_;
  std::unique_ptr<State> state_;
};

}  // namespace carrel

namespace carrel {

// Offline verification of a library's audit log (`carrel audit verify`).
struct AuditVerification {
  bool intact = false;
  int64_t size = 0;  // entries checked
  Hash root{};       // root of the whole log when intact
  int64_t heads_checked = 0;
  int threads = 1;  // threads the entries were checked on
  // When not intact: the first bad sequence number (or the size of the bad head) and what is
  // wrong: "entry altered", "entry missing", "entry inserted", "entry moved", "head signature bad",
  // "not consistent with the signed head", "not consistent with the earlier head",
  // "unknown entry format version".
  int64_t first_bad_seq = -1;
  std::string problem;
};

// Recomputes every leaf and the tree, checks every stored signed head (signature by
// `verifier`, root equal to the recomputed root at its size) and, if given, that the log is
// consistent with `earlier` (a head kept outside the server). `progress` is called now and
// then with the number of entries read. Errors reading the store are returned as a status; a
// damaged log is a result with intact == false.
StatusOr<AuditVerification> VerifyAuditLog(
    Store& store, const NoteVerifier& verifier, const std::optional<Checkpoint>& earlier,
    const std::function<void(int64_t done, int64_t total)>& progress = nullptr);

}  // namespace carrel
