// Audit log verification at scale (docs/design.md §5, §12). Builds a log of realistic entries in a
// scratch SQLite store of its own with AuditLog::Append (in large transactions, a signed head
// every 1,000,000 entries), then in the same process times:
//   - VerifyAuditLog over the whole log, as `carrel audit verify` runs it;
//   - raw SHA-256 over exactly the bytes verification hashes: every leaf's 0x00 || entry and
//     every interior node's 0x01 || left || right (n - 1 nodes of 65 bytes), with one reused
//     EVP_MD_CTX, the entries re-encoded in memory beforehand (not timed);
//   - the same hashing through carrel's LeafHash and NodeHash, as verification calls them;
//   - the SQLite scan alone: verification's SELECT stepped through the C API, every column
//     fetched and nothing else done (a count(*) checks that it saw every row).
// The raw root must equal the root verification computed: the same bytes were hashed.

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "audit/schema.h"
#include "bench/bench_support.h"
#include "bench/scale/scale.h"
#include "bench/scale/stats.h"
#include "carrel/audit.h"
#include "carrel/clock.h"
#include "carrel/library.h"
#include "carrel/store.h"

namespace carrel::bench {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kAppendsPerTransaction = 50000;
constexpr int64_t kHeadEvery = 1000000;
constexpr char kOrigin[] = "carrel/bench-audit-log/00000000";
constexpr char kPolicyVersion[] = "2010-09-15";

// What `carrel audit verify` needs beside the log: the verifier key in library_meta.
constexpr char kMetaSchema[] =
    "CREATE TABLE library_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);";

// What VerifyAuditLog reads (src/audit/verify.cc, there a chunk of the log at a time), for the
// scan-only measurement.
constexpr char kVerifySelect[] = "SELECT seq, entry, leaf_hash FROM audit_log ORDER BY seq";

uint64_t Mix(uint64_t x) {  // splitmix64: entry n's pseudo-random choices
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Entry `seq` of the synthetic log, a pure function of seq so that it can be rebuilt byte for
// byte: front-desk staff checking out and in loans, looking patrons up and viewing them, three
// entries a second, each with a request id and a station as an API server would record.
struct SyntheticEntry {
  Instant time;
  Actor actor;
  AuditEvent event;
};

SyntheticEntry EntryFor(int64_t seq) {
  const uint64_t r = Mix(static_cast<uint64_t>(seq));
  SyntheticEntry e;
  e.time = Instant(std::chrono::seconds(1767603600 + seq / 3));  // from 2026-01-05T09:00:00Z
  e.actor = Actor{"user/" + std::to_string(1 + (r >> 8) % 40), "staff"};
  char request[33];
  std::snprintf(request, sizeof request, "%016llx%016llx",
                static_cast<unsigned long long>(Mix(r)), static_cast<unsigned long long>(r));
  const std::string station = "circ-desk-" + std::to_string(1 + (r >> 20) % 6);
  const std::string common =
      std::string("\"request\":\"") + request + "\",\"station\":\"" + station + "\"}";
  const int kind = static_cast<int>(r % 100);
  if (kind < 76) {
    e.event.action = kind < 38 ? "loan.checkout" : "loan.checkin";
    e.event.object_type = "loan";
    e.event.object_id = std::to_string(1000000 + seq / 2);
    e.event.details = "{" + common;
  } else {
    e.event.action = kind < 92 ? "patron.search" : "patron.view";
    e.event.object_type = "patron";
    e.event.object_id = std::to_string(((r >> 16) & ((uint64_t{1} << 48) - 1)) | 1);
    e.event.details = kind < 92 ? "{\"by\":\"card_barcode\"," + common : "{" + common;
  }
  return e;
}

// The bytes AuditLog::Append stores for entry `seq`.
std::string EncodedEntry(int64_t seq) {
  SyntheticEntry s = EntryFor(seq);
  AuditEntry e;
  e.seq = seq;
  e.time = s.time;
  e.actor_id = s.actor.id;
  e.actor_role = s.actor.role;
  e.action = s.event.action;
  e.object_type = s.event.object_type;
  e.object_id = s.event.object_id;
  e.case_id = s.event.case_id;
  e.policy_version = kPolicyVersion;
  e.details = s.event.details;
  return EncodeAuditEntry(e);
}

const unsigned char* SigningSeed() {
  static const auto* const seed = [] {
    auto* s = new unsigned char[32];
    for (int i = 0; i < 32; ++i) s[i] = static_cast<unsigned char>(0xa0 + i);
    return s;
  }();
  return seed;
}

Status BuildLog(const fs::path& db, int64_t entries, nlohmann::json* out) {
  SqliteOptions options;
  options.create_if_missing = true;
  CARREL_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenSqliteStore(db, options));
  CARREL_RETURN_IF_ERROR(store->Migrate(AuditMigrations()));
  CARREL_RETURN_IF_ERROR(store->Migrate({{8, "library_meta", kMetaSchema}}));
  const NoteVerifier verifier = VerifierFromSeed(SigningSeed(), kOrigin);
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store, [&](Transaction& tx) {
    return tx.Exec("INSERT INTO library_meta (key, value) VALUES ('audit_verifier_key', ?)",
                   {verifier.ToString()});
  }));
  // A page cache of its own size for the builder (SQLite's default is 2 MiB): the log's four
  // indexes and the tree's nodes otherwise go back and forth between SQLite and the kernel.
  CARREL_ASSIGN_OR_RETURN(int64_t cache_mib, EnvSize("CARREL_BENCH_AUDIT_CACHE_MIB", 1024));
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store, [&](Transaction& tx) {
    return tx.Exec("PRAGMA cache_size = -" + std::to_string(cache_mib * 1024));
  }));
  (*out)["builder_cache_mib"] = cache_mib;
  FakeClock clock(EntryFor(0).time);
  AuditLog log(&clock, kPolicyVersion);
  int64_t heads = 0;
  auto start = std::chrono::steady_clock::now();
  double cpu_start = ProcessCpuSeconds();
  for (int64_t begin = 0; begin < entries; begin += kAppendsPerTransaction) {
    const int64_t end = std::min(begin + kAppendsPerTransaction, entries);
    CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store, [&](Transaction& tx) -> Status {
      for (int64_t seq = begin; seq < end; ++seq) {
        SyntheticEntry e = EntryFor(seq);
        clock.Set(e.time);
        CARREL_ASSIGN_OR_RETURN(int64_t appended, log.Append(tx, e.actor, e.event));
        if (appended != seq) return Internal("the log appended at an unexpected position");
        if ((seq + 1) % kHeadEvery == 0 || seq + 1 == entries) {
          CARREL_RETURN_IF_ERROR(log.SignHead(tx, SigningSeed(), kOrigin).status());
          ++heads;
        }
      }
      return Status::Ok();
    }));
    if ((end / kAppendsPerTransaction) % 20 == 0 || end == entries) {
      std::fprintf(stderr, "carrel_scale_bench: %lld entries appended, %.0f/s\n",
                   static_cast<long long>(end),
                   static_cast<double>(end) / SecondsSince(start));
    }
  }
  const double append_seconds = SecondsSince(start);
  const double append_cpu = ProcessCpuSeconds() - cpu_start;
  auto checkpoint_start = std::chrono::steady_clock::now();
  CARREL_RETURN_IF_ERROR(store->Checkpoint());
  store.reset();
  sync();
  (*out)["append_seconds"] = append_seconds;
  (*out)["append_cpu_seconds"] = append_cpu;
  (*out)["append_rate"] = static_cast<double>(entries) / append_seconds;
  (*out)["checkpoint_seconds"] = SecondsSince(checkpoint_start);
  (*out)["appends_per_transaction"] = kAppendsPerTransaction;
  (*out)["heads_signed"] = heads;
  (*out)["db_bytes"] = fs::file_size(db);
  return Status::Ok();
}

// SHA-256 over the bytes verification hashes, the tree rebuilt leaf by leaf as verification
// rebuilds it, two ways: raw (one EVP_MD_CTX, one update per hash, over `0x00 || entry` laid out
// in memory) and through carrel's own LeafHash and NodeHash. Only the hashing is timed; the
// entries are re-encoded into memory, a chunk at a time, between timed stretches.
struct Hashing {
  double seconds = 0;
  double cpu_seconds = 0;
  int64_t leaves = 0;
  int64_t nodes = 0;
  int64_t bytes = 0;
  Hash root{};
  std::vector<Hash> stack;  // roots of the complete subtrees, largest first
};

class RawSha256 {
 public:
  RawSha256()
      : md_(EVP_MD_fetch(nullptr, "SHA256", nullptr)), ctx_(EVP_MD_CTX_new()) {}
  ~RawSha256() {
    EVP_MD_CTX_free(ctx_);
    EVP_MD_free(md_);
  }
  RawSha256(const RawSha256&) = delete;
  RawSha256& operator=(const RawSha256&) = delete;

  bool ok() const { return ok_ && md_ != nullptr && ctx_ != nullptr; }
  void Digest(const unsigned char* data, size_t size, unsigned char* digest) {
    ok_ = ok_ && EVP_DigestInit_ex2(ctx_, md_, nullptr) == 1 &&
          EVP_DigestUpdate(ctx_, data, size) == 1 &&
          EVP_DigestFinal_ex(ctx_, digest, nullptr) == 1;
  }

 private:
  EVP_MD* md_;
  EVP_MD_CTX* ctx_;
  bool ok_ = true;
};

struct BothHashings {
  Hashing raw;
  Hashing carrel;
};

StatusOr<BothHashings> HashLog(int64_t entries) {
  RawSha256 sha;
  if (!sha.ok()) return Internal("OpenSSL has no SHA-256");
  unsigned char node[65];
  node[0] = 0x01;
  auto raw_node = [&](const Hash& left, Hash* right) {
    std::memcpy(node + 1, left.data(), 32);
    std::memcpy(node + 33, right->data(), 32);
    sha.Digest(node, sizeof node, right->data());
  };
  auto carrel_node = [](const Hash& left, Hash* right) { *right = NodeHash(left, *right); };
  // Adds leaf `h` to the tree in `t`; at the end of the log, also folds the right edge into
  // the root. `node_of` hashes one interior node.
  auto add_leaf = [](Hashing& t, Hash h, bool last, const auto& node_of) {
    for (int64_t n = t.leaves; (n & 1) != 0; n >>= 1) {
      node_of(t.stack.back(), &h);
      t.stack.pop_back();
      ++t.nodes;
    }
    t.stack.push_back(h);
    ++t.leaves;
    if (last) {
      Hash root = t.stack.back();
      for (size_t i = t.stack.size() - 1; i-- > 0;) {
        node_of(t.stack[i], &root);
        ++t.nodes;
      }
      t.root = root;
    }
  };
  BothHashings out;
  constexpr int64_t kChunk = 65536;
  std::string buffer;           // 0x00 || entry, for each entry of the chunk
  std::vector<size_t> offsets;  // where each begins; one past the end last
  for (int64_t begin = 0; begin < entries; begin += kChunk) {
    const int64_t end = std::min(begin + kChunk, entries);
    buffer.clear();
    offsets.clear();
    for (int64_t seq = begin; seq < end; ++seq) {
      offsets.push_back(buffer.size());
      buffer.push_back('\0');
      buffer += EncodedEntry(seq);
    }
    offsets.push_back(buffer.size());
    const auto* base = reinterpret_cast<const unsigned char*>(buffer.data());
    const int64_t count = end - begin;
    {
      auto start = std::chrono::steady_clock::now();
      const double cpu_start = ProcessCpuSeconds();
      for (int64_t i = 0; i < count; ++i) {
        Hash h;
        sha.Digest(base + offsets[i], offsets[i + 1] - offsets[i], h.data());
        add_leaf(out.raw, h, begin + i + 1 == entries, raw_node);
      }
      out.raw.seconds += SecondsSince(start);
      out.raw.cpu_seconds += ProcessCpuSeconds() - cpu_start;
    }
    {
      auto start = std::chrono::steady_clock::now();
      const double cpu_start = ProcessCpuSeconds();
      for (int64_t i = 0; i < count; ++i) {
        Hash h = LeafHash(std::string_view(buffer).substr(offsets[i] + 1,
                                                          offsets[i + 1] - offsets[i] - 1));
        add_leaf(out.carrel, h, begin + i + 1 == entries, carrel_node);
      }
      out.carrel.seconds += SecondsSince(start);
      out.carrel.cpu_seconds += ProcessCpuSeconds() - cpu_start;
    }
    out.raw.bytes += static_cast<int64_t>(buffer.size());
  }
  out.raw.bytes += 65 * out.raw.nodes;
  if (!sha.ok()) return Internal("OpenSSL SHA-256 failed");
  return out;
}

// Verification's SELECT through the SQLite C API, every column fetched, nothing else done; and
// a count(*) of the rows to check the scan saw them all.
Status ScanOnly(const fs::path& db, nlohmann::json* out) {
  sqlite3* conn = nullptr;
  if (sqlite3_open_v2(db.c_str(), &conn, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK) {
    sqlite3_close_v2(conn);
    return FailedPrecondition("cannot open " + db.string());
  }
  // Read as verification reads: through a memory map.
  sqlite3_exec(conn, ("PRAGMA mmap_size=" + std::to_string(kScanMmapBytes)).c_str(), nullptr,
               nullptr, nullptr);
  Status s;
  int64_t rows = 0, bytes = 0, count = 0;
  double count_seconds = 0, scan_seconds = 0;
  for (const char* sql : {"SELECT count(*) FROM audit_log", kVerifySelect}) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(conn, sql, -1, &stmt, nullptr) != SQLITE_OK) {
      s = Internal(std::string("preparing the scan: ") + sqlite3_errmsg(conn));
      break;
    }
    const bool is_count = sql != kVerifySelect;
    auto start = std::chrono::steady_clock::now();
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      if (is_count) {
        count = sqlite3_column_int64(stmt, 0);
        continue;
      }
      ++rows;
      bytes += sqlite3_column_int64(stmt, 0);
      for (int c = 1; c <= 2; ++c) {
        if (sqlite3_column_blob(stmt, c) != nullptr) bytes += sqlite3_column_bytes(stmt, c);
      }
    }
    (is_count ? count_seconds : scan_seconds) = SecondsSince(start);
    if (rc != SQLITE_DONE) s = Internal(std::string("scanning: ") + sqlite3_errmsg(conn));
    sqlite3_finalize(stmt);
    if (!s.ok()) break;
  }
  sqlite3_close_v2(conn);
  CARREL_RETURN_IF_ERROR(s);
  (*out)["scan_seconds"] = scan_seconds;
  (*out)["count_seconds"] = count_seconds;
  (*out)["scan_rows"] = rows;
  (*out)["scan_checksum"] = bytes;
  if (count != rows) return DataLoss("count(*) and the scan disagree");
  return Status::Ok();
}

// Times VerifyAuditLog over the log in `db` (read-only, as the CLI opens it); returns the root.
StatusOr<Hash> TimeVerification(const fs::path& db, int64_t entries, nlohmann::json* out) {
  SqliteOptions options;
  options.read_only = true;
  options.mmap_bytes = kScanMmapBytes;
  CARREL_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenSqliteStore(db, options));
  const NoteVerifier verifier = VerifierFromSeed(SigningSeed(), kOrigin);
  auto start = std::chrono::steady_clock::now();
  const double cpu_start = ProcessCpuSeconds();
  CARREL_ASSIGN_OR_RETURN(AuditVerification v, VerifyAuditLog(*store, verifier, std::nullopt));
  const double seconds = SecondsSince(start);
  const double cpu = ProcessCpuSeconds() - cpu_start;
  if (!v.intact || (entries > 0 && v.size != entries)) {
    return DataLoss("the benchmark's log does not verify: " + v.problem + " at " +
                    std::to_string(v.first_bad_seq));
  }
  (*out)["verify_seconds"] = seconds;
  (*out)["verify_cpu_seconds"] = cpu;
  (*out)["verify_threads"] = v.threads;
  (*out)["verify_rate"] = static_cast<double>(v.size) / seconds;
  (*out)["verified_entries"] = v.size;
  (*out)["heads_checked"] = v.heads_checked;
  (*out)["root"] = HashBase64(v.root);
  return v.root;
}

}  // namespace

StatusOr<nlohmann::json> RunAuditVerifyOnly(const fs::path& dir) {
  CARREL_RETURN_IF_ERROR(InitCrypto());
  nlohmann::json out;
  CARREL_RETURN_IF_ERROR(TimeVerification(Library::DatabasePath(dir), 0, &out).status());
  return out;
}

StatusOr<nlohmann::json> BuildAuditLog(const fs::path& dir) {
  CARREL_ASSIGN_OR_RETURN(int64_t entries, EnvSize("CARREL_BENCH_AUDIT_ENTRIES", 10000000));
  CARREL_RETURN_IF_ERROR(InitCrypto());
  std::error_code ec;
  fs::create_directories(dir, ec);
  const fs::path db = Library::DatabasePath(dir);
  if (ec || fs::exists(db)) {
    return FailedPrecondition("the audit log benchmark needs a new directory, not " +
                              dir.string());
  }
  nlohmann::json out;
  out["entries"] = entries;
  out["origin"] = kOrigin;
  std::fprintf(stderr, "carrel_scale_bench: appending %lld audit entries\n",
               static_cast<long long>(entries));
  CARREL_RETURN_IF_ERROR(BuildLog(db, entries, &out));
  return out;
}

StatusOr<nlohmann::json> RunAuditLogBench(const fs::path& dir) {
  CARREL_ASSIGN_OR_RETURN(int64_t entries, EnvSize("CARREL_BENCH_AUDIT_ENTRIES", 10000000));
  CARREL_RETURN_IF_ERROR(InitCrypto());
  const fs::path db = Library::DatabasePath(dir);
  nlohmann::json out;
  if (!fs::exists(db)) {
    CARREL_ASSIGN_OR_RETURN(out, BuildAuditLog(dir));
  }
  out["entries"] = entries;

  // Verification, as `carrel audit verify` does it: a read-only store, the stored key.
  std::fprintf(stderr, "carrel_scale_bench: verifying\n");
  CARREL_ASSIGN_OR_RETURN(Hash root, TimeVerification(db, entries, &out));
  std::fprintf(stderr, "carrel_scale_bench: SHA-256 over the same bytes, raw and as carrel\n");
  CARREL_ASSIGN_OR_RETURN(BothHashings hashed, HashLog(entries));
  const Hashing& raw = hashed.raw;
  if (raw.root != root || hashed.carrel.root != root || raw.nodes != hashed.carrel.nodes) {
    return Internal("hashing the same bytes reached another root than verification");
  }
  out["raw_seconds"] = raw.seconds;
  out["raw_cpu_seconds"] = raw.cpu_seconds;
  out["raw_rate"] = static_cast<double>(entries) / raw.seconds;
  out["raw_leaves"] = raw.leaves;
  out["raw_nodes"] = raw.nodes;
  out["raw_bytes"] = raw.bytes;
  out["entry_bytes_mean"] =
      static_cast<double>(raw.bytes - 65 * raw.nodes) / static_cast<double>(raw.leaves) - 1;
  out["carrel_hash_seconds"] = hashed.carrel.seconds;
  out["carrel_hash_cpu_seconds"] = hashed.carrel.cpu_seconds;
  out["roots_match"] = true;
  std::fprintf(stderr, "carrel_scale_bench: SQLite scan alone\n");
  CARREL_RETURN_IF_ERROR(ScanOnly(db, &out));
  out["openssl"] = OpenSSL_version(OPENSSL_VERSION);
  return out;
}

}  // namespace carrel::bench
