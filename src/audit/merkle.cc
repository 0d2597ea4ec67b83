// RFC 9162 Merkle tree hashing and proof verification.

#include <openssl/evp.h>
#include <sodium.h>

#include "carrel/audit.h"

namespace carrel {
namespace {

// OpenSSL 3 looks algorithms up on every implicit use; fetch SHA-256 once and keep one
// context per thread, so hashing costs what SHA-256 costs.
const EVP_MD* Sha256() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

struct ThreadContext {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~ThreadContext() { EVP_MD_CTX_free(ctx); }
};

Hash Sha256Parts(unsigned char prefix, std::string_view a, std::string_view b) {
  thread_local ThreadContext context;
  Hash out;
  EVP_DigestInit_ex2(context.ctx, Sha256(), nullptr);
  EVP_DigestUpdate(context.ctx, &prefix, 1);
  EVP_DigestUpdate(context.ctx, a.data(), a.size());
  if (!b.empty()) EVP_DigestUpdate(context.ctx, b.data(), b.size());
  unsigned int len = 0;
  EVP_DigestFinal_ex(context.ctx, out.data(), &len);
  return out;
}

std::string_view View(const Hash& h) {
  return std::string_view(reinterpret_cast<const char*>(h.data()), h.size());
}

}  // namespace

Hash LeafHash(std::string_view entry) { return Sha256Parts(0x00, entry, {}); }

Hash NodeHash(const Hash& left, const Hash& right) {
  return Sha256Parts(0x01, View(left), View(right));
}

Hash NaiveRoot(const std::vector<Hash>& leaves) {
  if (leaves.empty()) return Sha256Parts(0, {}, {});  // not used: the empty tree
  if (leaves.size() == 1) return leaves[0];
  size_t k = 1;
  while (k * 2 < leaves.size()) k *= 2;
  std::vector<Hash> left(leaves.begin(), leaves.begin() + static_cast<long>(k));
  std::vector<Hash> right(leaves.begin() + static_cast<long>(k), leaves.end());
  return NodeHash(NaiveRoot(left), NaiveRoot(right));
}

std::string HashBase64(const Hash& h) {
  char out[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(out, sizeof out, h.data(), h.size(), sodium_base64_VARIANT_ORIGINAL);
  return out;
}

StatusOr<Hash> HashFromBase64(std::string_view text) {
  Hash h;
  size_t len = 0;
  if (sodium_base642bin(h.data(), h.size(), text.data(), text.size(), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      len != h.size()) {
    return InvalidArgument("not a base64 SHA-256 hash");
  }
  return h;
}

bool VerifyInclusion(const Hash& leaf, int64_t index, int64_t size, const std::vector<Hash>& path,
                     const Hash& root) {
  if (index < 0 || index >= size) return false;
  uint64_t fn = static_cast<uint64_t>(index);
  uint64_t sn = static_cast<uint64_t>(size - 1);
  Hash r = leaf;
  for (const Hash& p : path) {
    if (sn == 0) return false;
    if ((fn & 1) != 0 || fn == sn) {
      r = NodeHash(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

bool VerifyConsistency(int64_t size1, int64_t size2, const Hash& root1, const Hash& root2,
                       const std::vector<Hash>& proof) {
  if (size1 < 0 || size2 < size1) return false;
  if (size1 == size2) return proof.empty() && root1 == root2;
  if (size1 == 0) return proof.empty();  // everything is consistent with the empty tree
  std::vector<Hash> path = proof;
  uint64_t first = static_cast<uint64_t>(size1);
  if ((first & (first - 1)) == 0) path.insert(path.begin(), root1);
  if (path.empty()) return false;
  uint64_t fn = first - 1;
  uint64_t sn = static_cast<uint64_t>(size2 - 1);
  while ((fn & 1) != 0) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0], sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return false;
    if ((fn & 1) != 0 || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && fr == root1 && sr == root2;
}

}  // namespace carrel
