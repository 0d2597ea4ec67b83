// Secret keys in memory and the master key (KEK) on disk.

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "carrel/vault.h"

namespace carrel {

namespace fs = std::filesystem;

SecretKey::SecretKey() : bytes_(new unsigned char[kSize]) {
  // Best effort: where the memory-lock limit allows, the key is never swapped to disk.
  (void)sodium_mlock(bytes_, kSize);
}

SecretKey::~SecretKey() {
  if (bytes_ != nullptr) {
    sodium_munlock(bytes_, kSize);  // also wipes
    sodium_memzero(bytes_, kSize);
    delete[] bytes_;
  }
}

SecretKey::SecretKey(SecretKey&& other) noexcept : bytes_(other.bytes_) { other.bytes_ = nullptr; }

SecretKey& SecretKey::operator=(SecretKey&& other) noexcept {
  if (this != &other) {
    SecretKey dying(std::move(*this));
    bytes_ = other.bytes_;
    other.bytes_ = nullptr;
  }
  return *this;
}

SecretKey SecretKey::Random() {
  SecretKey key;
  randombytes_buf(key.bytes_, kSize);
  return key;
}

StatusOr<SecretKey> SecretKey::FromBytes(std::string_view bytes) {
  if (bytes.size() != kSize) return InvalidArgument("a key must be exactly 32 bytes");
  SecretKey key;
  std::memcpy(key.bytes_, bytes.data(), kSize);
  return key;
}

SecretKey SecretKey::Copy() const {
  SecretKey key;
  std::memcpy(key.bytes_, bytes_, kSize);
  return key;
}

std::string MasterKeyId(const SecretKey& kek) {
  static constexpr char kContext[] = "carrel master key id v1";
  unsigned char id[8];
  crypto_generichash(id, sizeof id, reinterpret_cast<const unsigned char*>(kContext),
                     sizeof kContext - 1, kek.data(), SecretKey::kSize);
  char hex[17];
  sodium_bin2hex(hex, sizeof hex, id, sizeof id);
  return std::string("kek-") + hex;
}

fs::path MasterKeyPath(const fs::path& dir) { return dir / "master.key"; }
fs::path NextMasterKeyPath(const fs::path& dir) { return dir / "master.key.next"; }
fs::path KeyringPath(const fs::path& dir) { return dir / "keyring.db"; }

std::string EncodeKeyBase64(const SecretKey& key) {
  char out[sodium_base64_ENCODED_LEN(SecretKey::kSize, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(out, sizeof out, key.data(), SecretKey::kSize, sodium_base64_VARIANT_ORIGINAL);
  std::string s(out);
  sodium_memzero(out, sizeof out);
  return s;
}

namespace {

StatusOr<SecretKey> DecodeKeyBase64(std::string_view text, std::string_view source) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.remove_suffix(1);
  }
  unsigned char buf[SecretKey::kSize + 8];
  size_t len = 0;
  int rc = sodium_base642bin(buf, sizeof buf, text.data(), text.size(), nullptr, &len, nullptr,
                             sodium_base64_VARIANT_ORIGINAL);
  if (rc != 0 || len != SecretKey::kSize) {
    sodium_memzero(buf, sizeof buf);
    return InvalidArgument(std::string(source) + " is not a base64-encoded 32-byte master key");
  }
  auto key = SecretKey::FromBytes(std::string_view(reinterpret_cast<char*>(buf), len));
  sodium_memzero(buf, sizeof buf);
  return key;
}

StatusOr<SecretKey> ReadKeyFile(const fs::path& file) {
  struct stat st;
  if (stat(file.c_str(), &st) != 0) {
    return NotFound("no master key at " + file.string() +
                    " (and CARREL_MASTER_KEY is not set)");
  }
  if ((st.st_mode & 077) != 0) {
    return PermissionDenied(file.string() +
                            " is readable or writable by others; run chmod 600 on it");
  }
  int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return PermissionDenied("cannot read " + file.string());
  char buf[128];
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  if (n <= 0) {
    return InvalidArgument(file.string() + " is not a base64-encoded 32-byte master key");
  }
  auto key = DecodeKeyBase64(std::string_view(buf, static_cast<size_t>(n)), file.string());
  sodium_memzero(buf, sizeof buf);
  return key;
}

}  // namespace

Status CreateMasterKeyFile(const fs::path& file) {
  int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return AlreadyExists(file.string() + " already exists");
    return FailedPrecondition("cannot create " + file.string());
  }
  SecretKey key = SecretKey::Random();
  std::string text = EncodeKeyBase64(key) + "\n";
  bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            fsync(fd) == 0;
  sodium_memzero(text.data(), text.size());
  close(fd);
  if (!ok) {
    unlink(file.c_str());
    return Unavailable("cannot write " + file.string());
  }
  return Status::Ok();
}

StatusOr<MasterKeys> LoadMasterKeys(const fs::path& dir) {
  const char* env = std::getenv("CARREL_MASTER_KEY");
  std::optional<SecretKey> current;
  // A file named by CARREL_MASTER_KEY_FILE: a systemd credential, say, kept outside the data
  // directory and readable by the service alone.
  const char* env_file = std::getenv("CARREL_MASTER_KEY_FILE");
  if (env != nullptr && *env != '\0') {
    CARREL_ASSIGN_OR_RETURN(current, DecodeKeyBase64(env, "CARREL_MASTER_KEY"));
  } else if (env_file != nullptr && *env_file != '\0') {
    CARREL_ASSIGN_OR_RETURN(current, ReadKeyFile(env_file));
  } else {
    CARREL_ASSIGN_OR_RETURN(current, ReadKeyFile(MasterKeyPath(dir)));
  }
  MasterKeys keys{std::move(*current), std::nullopt};
  std::error_code ec;
  if (fs::exists(NextMasterKeyPath(dir), ec)) {
    CARREL_ASSIGN_OR_RETURN(keys.next, ReadKeyFile(NextMasterKeyPath(dir)));
  }
  return keys;
}

}  // namespace carrel
