// Signed tree heads as C2SP tlog-checkpoint signed notes (c2sp.org/tlog-checkpoint,
// c2sp.org/signed-note), Ed25519 signature type 0x01.

#include <openssl/evp.h>
#include <sodium.h>

#include <cstring>

#include "carrel/audit.h"
#include "carrel/encoding.h"

namespace carrel {
namespace {

constexpr char kEmDash[] = "\xE2\x80\x94";  // U+2014

std::array<unsigned char, 4> KeyId(std::string_view name, const unsigned char* public_key) {
  std::string material(name);
  material.push_back('\n');
  material.push_back('\x01');
  material.append(reinterpret_cast<const char*>(public_key), 32);
  unsigned char digest[32];
  unsigned int len = 0;
  EVP_Digest(material.data(), material.size(), digest, &len, EVP_sha256(), nullptr);
  return {digest[0], digest[1], digest[2], digest[3]};
}

bool ParseDecimal(std::string_view s, int64_t* v) {
  if (s.empty() || s.size() > 18 || (s.size() > 1 && s[0] == '0')) return false;
  int64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  *v = n;
  return true;
}

}  // namespace

std::string NoteVerifier::ToString() const {
  auto id = KeyId(name, public_key.data());
  char hex[9];
  sodium_bin2hex(hex, sizeof hex, id.data(), id.size());
  unsigned char typed[33];
  typed[0] = 0x01;
  std::memcpy(typed + 1, public_key.data(), 32);
  return name + "+" + hex + "+" + Base64Encode(std::string_view(reinterpret_cast<char*>(typed), sizeof typed));
}

StatusOr<NoteVerifier> NoteVerifier::Parse(std::string_view vkey) {
  size_t a = vkey.find('+');
  size_t b = a == std::string_view::npos ? a : vkey.find('+', a + 1);
  if (b == std::string_view::npos) {
    return InvalidArgument("a verifier key is written NAME+KEYID+BASE64KEY");
  }
  NoteVerifier v;
  v.name = std::string(vkey.substr(0, a));
  auto decoded = Base64Decode(vkey.substr(b + 1));
  std::string typed = decoded.ok() ? *decoded : std::string();
  if (typed.size() != 33 || typed[0] != '\x01') {
    return InvalidArgument("the verifier key is not an Ed25519 note key");
  }
  std::memcpy(v.public_key.data(), typed.data() + 1, 32);
  if (v.ToString() != vkey) return InvalidArgument("the verifier key's id does not match its key");
  return v;
}

NoteVerifier VerifierFromSeed(const unsigned char* secret_seed, std::string_view key_name) {
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_seed_keypair(pk, sk, secret_seed);
  sodium_memzero(sk, sizeof sk);
  NoteVerifier v;
  v.name = std::string(key_name);
  std::memcpy(v.public_key.data(), pk, 32);
  return v;
}

Checkpoint SignCheckpoint(std::string_view origin, int64_t size, const Hash& root,
                          const unsigned char* secret_seed, std::string_view key_name) {
  Checkpoint c;
  c.origin = std::string(origin);
  c.size = size;
  c.root = root;
  std::string body = c.origin + "\n" + std::to_string(size) + "\n" + HashBase64(root) + "\n";
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_seed_keypair(pk, sk, secret_seed);
  unsigned char sig[4 + crypto_sign_BYTES];
  auto id = KeyId(key_name, pk);
  std::memcpy(sig, id.data(), 4);
  crypto_sign_detached(sig + 4, nullptr, reinterpret_cast<const unsigned char*>(body.data()),
                       body.size(), sk);
  sodium_memzero(sk, sizeof sk);
  c.note = body + "\n" + kEmDash + " " + std::string(key_name) + " " + Base64Encode(std::string_view(reinterpret_cast<char*>(sig), sizeof sig)) +
           "\n";
  return c;
}

StatusOr<Checkpoint> OpenCheckpoint(std::string_view note, const NoteVerifier& verifier) {
  size_t split = note.find("\n\n");
  if (split == std::string_view::npos || note.empty() || note.back() != '\n') {
    return InvalidArgument("not a signed note: no blank line between text and signatures");
  }
  std::string_view body = note.substr(0, split + 1);
  std::string_view sigs = note.substr(split + 2);
  // Body: origin, size, root hash, then optional extension lines.
  std::vector<std::string_view> lines;
  for (size_t at = 0; at < body.size();) {
    size_t nl = body.find('\n', at);
    lines.push_back(body.substr(at, nl - at));
    at = nl + 1;
  }
  Checkpoint c;
  if (lines.size() < 3 || lines[0].empty() || !ParseDecimal(lines[1], &c.size)) {
    return InvalidArgument("not a checkpoint: expected origin, tree size and root hash lines");
  }
  c.origin = std::string(lines[0]);
  auto root = HashFromBase64(lines[2]);
  if (!root.ok()) return InvalidArgument("not a checkpoint: the root hash is not base64 SHA-256");
  c.root = *root;
  c.note = std::string(note);
  auto expected_id = KeyId(verifier.name, verifier.public_key.data());
  bool verified = false;
  for (size_t at = 0; at < sigs.size();) {
    size_t nl = sigs.find('\n', at);
    if (nl == std::string_view::npos) return InvalidArgument("a signature line does not end");
    std::string_view line = sigs.substr(at, nl - at);
    at = nl + 1;
    std::string prefix = std::string(kEmDash) + " ";
    if (line.substr(0, prefix.size()) != prefix) {
      return InvalidArgument("a signature line does not start with an em dash");
    }
    line.remove_prefix(prefix.size());
    size_t space = line.rfind(' ');
    if (space == std::string_view::npos) return InvalidArgument("a signature line is malformed");
    auto decoded_sig = Base64Decode(line.substr(space + 1));
    std::string sig = decoded_sig.ok() ? *decoded_sig : std::string();
    if (line.substr(0, space) != verifier.name || !decoded_sig.ok() ||
        sig.size() != 4 + crypto_sign_BYTES ||
        std::memcmp(sig.data(), expected_id.data(), 4) != 0) {
      continue;  // another key's signature: ignored
    }
    if (crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sig.data()) + 4,
                                    reinterpret_cast<const unsigned char*>(body.data()),
                                    body.size(), verifier.public_key.data()) != 0) {
      return DataLoss("the checkpoint's signature by " + verifier.name + " does not verify");
    }
    verified = true;
  }
  if (!verified) return DataLoss("the checkpoint carries no signature by " + verifier.name);
  return c;
}

}  // namespace carrel
