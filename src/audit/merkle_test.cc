// Merkle hashing and proofs against a second, independent computation: RFC 9162's recursive
// definitions applied literally to a list of leaves.

#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <map>

#include "carrel/audit.h"

namespace carrel {
namespace {

Hash Leaf(int i) { return LeafHash("entry " + std::to_string(i)); }

// MTH(D[begin:end]) straight from the definition, memoized.
class Reference {
 public:
  explicit Reference(int n) {
    for (int i = 0; i < n; ++i) leaves_.push_back(Leaf(i));
  }
  Hash Mth(int begin, int end) {
    if (end - begin == 1) return leaves_[begin];
    auto key = std::make_pair(begin, end);
    auto it = memo_.find(key);
    if (it != memo_.end()) return it->second;
    int k = 1;
    while (k * 2 < end - begin) k *= 2;
    Hash h = NodeHash(Mth(begin, begin + k), Mth(begin + k, end));
    memo_[key] = h;
    return h;
  }
  // PATH(m, D[begin:end]), RFC 9162 §2.1.3.1.
  std::vector<Hash> Path(int m, int begin, int end) {
    if (end - begin <= 1) return {};
    int k = 1;
    while (k * 2 < end - begin) k *= 2;
    std::vector<Hash> out;
    if (m < k) {
      out = Path(m, begin, begin + k);
      out.push_back(Mth(begin + k, end));
    } else {
      out = Path(m - k, begin + k, end);
      out.push_back(Mth(begin, begin + k));
    }
    return out;
  }
  // SUBPROOF(m, D[begin:end], b), RFC 9162 §2.1.4.1.
  std::vector<Hash> Subproof(int m, int begin, int end, bool b) {
    if (m == end - begin) return b ? std::vector<Hash>{} : std::vector<Hash>{Mth(begin, end)};
    int k = 1;
    while (k * 2 < end - begin) k *= 2;
    std::vector<Hash> out;
    if (m <= k) {
      out = Subproof(m, begin, begin + k, b);
      out.push_back(Mth(begin + k, end));
    } else {
      out = Subproof(m - k, begin + k, end, false);
      out.push_back(Mth(begin, begin + k));
    }
    return out;
  }
  const Hash& leaf(int i) const { return leaves_[i]; }
  const std::vector<Hash>& leaves() const { return leaves_; }

 private:
  std::vector<Hash> leaves_;
  std::map<std::pair<int, int>, Hash> memo_;
};

TEST(MerkleTest, HashesFollowRfc9162) {
  std::string entry = "hello";
  unsigned char expected[32];
  std::string prefixed = std::string(1, '\0') + entry;
  SHA256(reinterpret_cast<const unsigned char*>(prefixed.data()), prefixed.size(), expected);
  Hash leaf = LeafHash(entry);
  EXPECT_TRUE(std::equal(leaf.begin(), leaf.end(), expected));
  std::string node_input = std::string(1, '\1') + std::string(leaf.begin(), leaf.end()) +
                           std::string(leaf.begin(), leaf.end());
  SHA256(reinterpret_cast<const unsigned char*>(node_input.data()), node_input.size(), expected);
  Hash node = NodeHash(leaf, leaf);
  EXPECT_TRUE(std::equal(node.begin(), node.end(), expected));
}

TEST(MerkleTest, InclusionProofsVerifyForEveryLeafUpTo1000) {
  Reference ref(1000);
  for (int n = 1; n <= 1000; ++n) {
    Hash root = ref.Mth(0, n);
    for (int i = 0; i < n; ++i) {
      std::vector<Hash> path = ref.Path(i, 0, n);
      ASSERT_TRUE(VerifyInclusion(ref.leaf(i), i, n, path, root)) << i << " in " << n;
    }
    // Wrong ones fail: another leaf, another index, another tree, a damaged path.
    int i = n / 2;
    std::vector<Hash> path = ref.Path(i, 0, n);
    if (n > 1) {
      EXPECT_FALSE(VerifyInclusion(ref.leaf((i + 1) % n), i, n, path, root));
      EXPECT_FALSE(VerifyInclusion(ref.leaf(i), (i + 1) % n, n, path, root));
      if (n < 1000) {
        EXPECT_FALSE(VerifyInclusion(ref.leaf(i), i, n + 1, path, ref.Mth(0, n + 1)));
      }
      std::vector<Hash> bad = path;
      bad[0][0] ^= 1;
      EXPECT_FALSE(VerifyInclusion(ref.leaf(i), i, n, bad, root));
      bad = path;
      bad.pop_back();
      EXPECT_FALSE(VerifyInclusion(ref.leaf(i), i, n, bad, root));
    }
    EXPECT_FALSE(VerifyInclusion(ref.leaf(0), n, n, path, root));
  }
}

TEST(MerkleTest, ConsistencyProofsVerifyForEveryPairUpTo1000) {
  Reference ref(1000);
  for (int n = 1; n <= 1000; ++n) {
    Hash root2 = ref.Mth(0, n);
    for (int m = 1; m <= n; ++m) {
      Hash root1 = ref.Mth(0, m);
      std::vector<Hash> proof = m == n ? std::vector<Hash>{} : ref.Subproof(m, 0, n, true);
      ASSERT_TRUE(VerifyConsistency(m, n, root1, root2, proof)) << m << " -> " << n;
    }
    if (n > 2) {
      int m = n / 2 + 1;
      std::vector<Hash> proof = ref.Subproof(m, 0, n, true);
      Hash root1 = ref.Mth(0, m);
      Hash wrong = root1;
      wrong[5] ^= 0x40;
      EXPECT_FALSE(VerifyConsistency(m, n, wrong, root2, proof));
      EXPECT_FALSE(VerifyConsistency(m, n, root1, wrong, proof));
      EXPECT_FALSE(VerifyConsistency(m - 1, n, root1, root2, proof));
      if (!proof.empty()) {
        std::vector<Hash> bad = proof;
        bad.back()[0] ^= 1;
        EXPECT_FALSE(VerifyConsistency(m, n, root1, root2, bad));
      }
    }
  }
}

TEST(MerkleTest, NaiveRootMatchesReference) {
  Reference ref(77);
  EXPECT_EQ(NaiveRoot(ref.leaves()), ref.Mth(0, 77));
}

TEST(CheckpointTest, SignedNoteRoundTripsAndResistsTampering) {
  unsigned char seed[32] = {7};
  Hash root = LeafHash("root");
  Checkpoint c = SignCheckpoint("westport.example/carrel", 42, root, seed, "westport.example/carrel");
  EXPECT_EQ(c.note.substr(0, c.note.find("\n\n") + 1),
            "westport.example/carrel\n42\n" + HashBase64(root) + "\n");
  EXPECT_NE(c.note.find("\n\n\xE2\x80\x94 westport.example/carrel "), std::string::npos);
  NoteVerifier v = VerifierFromSeed(seed, "westport.example/carrel");
  auto parsed = NoteVerifier::Parse(v.ToString());
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  auto opened = OpenCheckpoint(c.note, *parsed);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->size, 42);
  EXPECT_EQ(opened->root, root);

  std::string altered = c.note;
  altered.replace(altered.find("\n42\n"), 4, "\n43\n");
  EXPECT_EQ(OpenCheckpoint(altered, v).status().code(), StatusCode::kDataLoss);
  unsigned char other_seed[32] = {8};
  EXPECT_EQ(OpenCheckpoint(c.note, VerifierFromSeed(other_seed, "westport.example/carrel"))
                .status()
                .code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(OpenCheckpoint("garbage", v).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenCheckpoint("a\nb\nc\n\n— x y\n", v).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(NoteVerifier::Parse("name+00000000+AAAA").ok());
}

TEST(AuditEntryTest, EncodingRoundTripsAndRefusesUnknownVersions) {
  AuditEntry e;
  e.seq = 12345;
  e.time = Instant(std::chrono::seconds(1764400000));
  e.actor_id = "user/3";
  e.actor_role = "staff";
  e.action = "loan.checkout";
  e.object_type = "loan";
  e.object_id = "981";
  e.policy_version = "2010-09-15";
  e.details = R"({"item":"77"})";
  std::string bytes = EncodeAuditEntry(e);
  auto back = DecodeAuditEntry(bytes);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->seq, 12345);
  EXPECT_EQ(back->action, "loan.checkout");
  EXPECT_EQ(back->details, R"({"item":"77"})");
  EXPECT_EQ(EncodeAuditEntry(*back), bytes);
  std::string v2 = bytes;
  v2[0] = 2;
  EXPECT_EQ(DecodeAuditEntry(v2).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(DecodeAuditEntry(bytes.substr(0, bytes.size() - 1)).status().code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(DecodeAuditEntry(bytes + "x").status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace carrel
