#include "carrel/vault.h"

#include <sodium.h>

#include <cctype>

namespace carrel {
namespace {

constexpr size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kTag = crypto_aead_xchacha20poly1305_ietf_ABYTES;
constexpr size_t kBlindIndexBytes = 8;

std::string FieldAd(std::string_view table, std::string_view column, int64_t row) {
  std::string ad = "carrel/v1|";
  ad += table;
  ad += '|';
  ad += column;
  ad += '|';
  ad += std::to_string(row);
  return ad;
}

}  // namespace

std::string Vault::Seal(const SecretKey& key, std::string_view table, std::string_view column,
                        int64_t row, std::string_view plaintext) {
  std::string ad = FieldAd(table, column, row);
  std::string out(kNonce + plaintext.size() + kTag, '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  randombytes_buf(p, kNonce);
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      p + kNonce, nullptr, reinterpret_cast<const unsigned char*>(plaintext.data()),
      plaintext.size(), reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nullptr, p,
      key.data());
  return out;
}

StatusOr<std::string> Vault::Open(const SecretKey& key, std::string_view table,
                                  std::string_view column, int64_t row,
                                  std::string_view ciphertext) {
  if (ciphertext.size() < kNonce + kTag) {
    return DataLoss("an encrypted field is truncated");
  }
  std::string ad = FieldAd(table, column, row);
  std::string out(ciphertext.size() - kNonce - kTag, '\0');
  auto* c = reinterpret_cast<const unsigned char*>(ciphertext.data());
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<unsigned char*>(out.data()), nullptr, nullptr, c + kNonce,
          ciphertext.size() - kNonce, reinterpret_cast<const unsigned char*>(ad.data()),
          ad.size(), c, key.data()) != 0) {
    // Says which field, never what it held.
    return DataLoss("an encrypted field of " + std::string(table) + "." + std::string(column) +
                    " does not decrypt: altered, moved, or under another key");
  }
  return out;
}

StatusOr<std::string> Vault::BlindIndex(std::string_view field, std::string_view normalized) {
  CARREL_ASSIGN_OR_RETURN(auto key, keyring_->GetOrCreate("blind/" + std::string(field)));
  unsigned char out[kBlindIndexBytes];
  crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(normalized.data()),
                     normalized.size(), key->data(), SecretKey::kSize);
  return std::string(reinterpret_cast<char*>(out), sizeof out);
}

std::string Vault::LinkTag(const SecretKey& key, int64_t patron_id) {
  unsigned char in[16] = {'l', 'i', 'n', 'k', 't', 'a', 'g', '1'};
  for (int i = 0; i < 8; ++i) in[8 + i] = static_cast<unsigned char>(patron_id >> (8 * i));
  unsigned char out[8];
  crypto_generichash(out, sizeof out, in, sizeof in, key.data(), SecretKey::kSize);
  return std::string(reinterpret_cast<char*>(out), sizeof out);
}

std::string Vault::EpochName(std::string_view category, Date day) {
  return std::string(category) + "/" + FormatDate(day);
}

std::string Vault::EpochKeyName(std::string_view epoch) { return "epoch/" + std::string(epoch); }

std::string Vault::EpochKeyName(std::string_view category, Date day) {
  return EpochKeyName(EpochName(category, day));
}
std::string Vault::PatronKeyName(int64_t patron_id) {
  return "patron/" + std::to_string(patron_id);
}

std::string NormalizeBarcode(std::string_view barcode) {
  std::string out;
  for (char c : barcode) {
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return out;
}

std::string NormalizeEmail(std::string_view email) {
  size_t b = 0, e = email.size();
  while (b < e && std::isspace(static_cast<unsigned char>(email[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(email[e - 1]))) --e;
  std::string out(email.substr(b, e - b));
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string NormalizeName(std::string_view name) {
  std::string out;
  bool space = false;
  for (char c : name) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

}  // namespace carrel
