#include "carrel/accounts.h"

#include <sodium.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstring>
#include <mutex>
#include <semaphore>
#include <thread>
#include <unordered_map>

#include "carrel/circulation.h"
#include "carrel/encoding.h"
#include "carrel/inbox.h"
#include "carrel/vault.h"
#include "circulation/sealed_records.h"
#include "util/cpu_gate.h"

namespace carrel {

namespace {

constexpr size_t kSecretKey = crypto_sign_SECRETKEYBYTES;
constexpr size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kTag = crypto_aead_xchacha20poly1305_ietf_ABYTES;

std::string RandomToken(size_t bytes) {
  std::string raw(bytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  std::string out(sodium_base64_ENCODED_LEN(bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(raw.data()),
                    raw.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(out.find('\0'));
  return out;
}

Blob TokenHash(std::string_view token) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(token.data()), token.size());
  return Blob{std::string(reinterpret_cast<char*>(digest), sizeof digest)};
}

// Password hashes are long on purpose: a request handler gives its CpuGate slot up before one,
// rather than hold up the requests in line behind it. Each hash also takes 64 MiB, so no more
// run at once than there are cores: a crowd of logins (kiosks reconnecting, or someone trying
// passwords from many connections) waits in line instead of filling the memory.
class HashSlot {
 public:
  HashSlot() { Slots().acquire(); }
  ~HashSlot() { Slots().release(); }
  HashSlot(const HashSlot&) = delete;
  HashSlot& operator=(const HashSlot&) = delete;

 private:
  static std::counting_semaphore<256>& Slots() {
    static std::counting_semaphore<256> slots(
        std::clamp<std::ptrdiff_t>(std::thread::hardware_concurrency(), 1, 256));
    return slots;
  }
};

StatusOr<std::string> HashSecret(std::string_view secret) {
  CpuGate::Release();
  HashSlot slot;
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, secret.data(), secret.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    return ResourceExhausted("not enough memory to hash a password");
  }
  return std::string(out);
}

bool CheckSecret(const std::string& hash, std::string_view secret) {
  CpuGate::Release();
  HashSlot slot;
  return crypto_pwhash_str_verify(hash.c_str(), secret.data(), secret.size()) == 0;
}

// The key that seals a user's signing key: Argon2id of the password with the user's salt.
StatusOr<SecretKey> PasswordKey(std::string_view password, std::string_view salt) {
  CpuGate::Release();
  HashSlot slot;
  unsigned char key[32];
  if (salt.size() != crypto_pwhash_SALTBYTES ||
      crypto_pwhash(key, sizeof key, password.data(), password.size(),
                    reinterpret_cast<const unsigned char*>(salt.data()),
                    crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    sodium_memzero(key, sizeof key);
    return ResourceExhausted("not enough memory to derive a key");
  }
  auto k = SecretKey::FromBytes(std::string_view(reinterpret_cast<char*>(key), sizeof key));
  sodium_memzero(key, sizeof key);
  return k;
}

std::string SigningAd(int64_t user_id) { return "carrel/signing-key/v1|" + std::to_string(user_id); }

// Seals a fresh or given Ed25519 secret key under the password; returns (public, sealed, salt).
struct SealedSigningKey {
  std::string public_key, sealed, salt;
};

StatusOr<SealedSigningKey> SealSigningKey(int64_t user_id, std::string_view password,
                                          const unsigned char* secret_or_null) {
  SealedSigningKey out;
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[kSecretKey];
  if (secret_or_null != nullptr) {
    std::memcpy(sk, secret_or_null, kSecretKey);
    crypto_sign_ed25519_sk_to_pk(pk, sk);
  } else {
    crypto_sign_keypair(pk, sk);
  }
  out.public_key.assign(reinterpret_cast<char*>(pk), sizeof pk);
  out.salt.resize(crypto_pwhash_SALTBYTES);
  randombytes_buf(out.salt.data(), out.salt.size());
  auto key = PasswordKey(password, out.salt);
  if (!key.ok()) {
    sodium_memzero(sk, sizeof sk);
    return key.status();
  }
  std::string ad = SigningAd(user_id);
  out.sealed.resize(kNonce + kSecretKey + kTag);
  auto* p = reinterpret_cast<unsigned char*>(out.sealed.data());
  randombytes_buf(p, kNonce);
  crypto_aead_xchacha20poly1305_ietf_encrypt(p + kNonce, nullptr, sk, sizeof sk,
                                             reinterpret_cast<const unsigned char*>(ad.data()),
                                             ad.size(), nullptr, p, key->data());
  sodium_memzero(sk, sizeof sk);
  return out;
}

// Unseals into `sk` (kSecretKey bytes). False for a wrong password.
bool UnsealSigningKey(int64_t user_id, const SecretKey& key, std::string_view sealed,
                      unsigned char* sk) {
  if (sealed.size() != kNonce + kSecretKey + kTag) return false;
  std::string ad = SigningAd(user_id);
  auto* p = reinterpret_cast<const unsigned char*>(sealed.data());
  return crypto_aead_xchacha20poly1305_ietf_decrypt(
             sk, nullptr, nullptr, p + kNonce, sealed.size() - kNonce,
             reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), p, key.data()) == 0;
}

Status CheckUsername(std::string_view name) {
  if (name.size() < 3 || name.size() > 32) {
    return InvalidArgument("a username is 3 to 32 characters");
  }
  for (char c : name) {
    if (!std::islower(static_cast<unsigned char>(c)) && !std::isdigit(static_cast<unsigned char>(c)) &&
        c != '.' && c != '_' && c != '-') {
      return InvalidArgument("a username may hold only a-z, 0-9, '.', '_' and '-'");
    }
  }
  return Status::Ok();
}

Status CheckPassword(std::string_view password) {
  if (password.size() < 10) return InvalidArgument("a password must be at least 10 characters");
  if (password.size() > 1024) return InvalidArgument("a password must be at most 1024 characters");
  return Status::Ok();
}

const Status kNotAccepted = Unauthenticated("the username or password was not accepted");

}  // namespace

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kStaff: return "staff";
    case Role::kDirector: return "director";
    case Role::kCounsel: return "counsel";
    case Role::kBoard: return "board";
    case Role::kAdmin: return "admin";
    case Role::kPatron: return "patron";
    case Role::kKiosk:
      return "kiosk";
  }
  return "staff";
}

std::string NewOneTimePassword() {
  static constexpr char kAlphabet[] = "abcdefghjkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY345679";
  std::string out;
  for (int i = 0; i < 20; ++i) {
    out.push_back(kAlphabet[randombytes_uniform(sizeof kAlphabet - 1)]);
    if (i % 5 == 4 && i != 19) out.push_back('-');
  }
  return out;
}

StatusOr<Role> ParseRole(std::string_view name) {
  for (Role r :
       {Role::kStaff, Role::kDirector, Role::kCounsel, Role::kBoard, Role::kAdmin, Role::kKiosk}) {
    if (RoleName(r) == name) return r;
  }
  return InvalidArgument("a role is one of staff, director, counsel, board, admin, kiosk");
}

Actor Principal::actor() const {
  if (kind == Kind::kPatron) return Actor{"patron/" + std::to_string(id), "patron"};
  return Actor{"user/" + std::to_string(id), std::string(RoleName(role))};
}

// PINs accepted at kiosks in the last few minutes, by patron: a keyed hash of the PIN and of
// the stored hash it matched (so a changed PIN no longer matches), under a key made at start
// and never written anywhere.
struct Accounts::RecentPins {
  static constexpr std::chrono::minutes kKept{5};
  static constexpr size_t kMost = 10000;
  struct Entry {
    std::string mac;
    Instant until{};
  };
  unsigned char key[crypto_generichash_KEYBYTES];
  std::mutex mutex;
  std::unordered_map<int64_t, Entry> by_patron;

  RecentPins() { crypto_generichash_keygen(key); }
  ~RecentPins() { sodium_memzero(key, sizeof key); }
  std::string Mac(std::string_view stored_hash, std::string_view pin) const {
    crypto_generichash_state state;
    crypto_generichash_init(&state, key, sizeof key, 32);
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(stored_hash.data()),
                              stored_hash.size());
    const unsigned char separator = 0;
    crypto_generichash_update(&state, &separator, 1);
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(pin.data()),
                              pin.size());
    std::string out(32, '\0');
    crypto_generichash_final(&state, reinterpret_cast<unsigned char*>(out.data()), out.size());
    return out;
  }
  bool Holds(int64_t patron_id, const std::string& mac, Instant now) {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = by_patron.find(patron_id);
    return it != by_patron.end() && it->second.until > now &&
           sodium_memcmp(it->second.mac.data(), mac.data(), mac.size()) == 0;
  }
  void Keep(int64_t patron_id, std::string mac, Instant now) {
    std::lock_guard<std::mutex> lock(mutex);
    if (by_patron.size() >= kMost) {
      std::erase_if(by_patron, [&](const auto& e) { return e.second.until <= now; });
      if (by_patron.size() >= kMost) by_patron.clear();
    }
    by_patron[patron_id] = {std::move(mac), now + kKept};
  }
};

Accounts::Accounts(Store* store, AuditLog* audit, Vault* vault, const Clock* clock,
                   SessionPolicy policy)
    : store_(store),
      audit_(audit),
      vault_(vault),
      clock_(clock),
      policy_(policy),
      recent_pins_(std::make_shared<RecentPins>()) {}

bool NeedsApproval(Role role) {
  return role == Role::kStaff || role == Role::kCounsel || role == Role::kDirector ||
         role == Role::kBoard || role == Role::kKiosk;
}

StatusOr<User> Accounts::AddUser(const Actor& by, std::string_view username, Role role,
                                 std::string_view password, NewUserOptions options) {
  CARREL_RETURN_IF_ERROR(CheckUsername(username));
  CARREL_RETURN_IF_ERROR(CheckPassword(password));
  if (role == Role::kPatron) return InvalidArgument("patrons have cards, not user accounts");
  if ((role == Role::kKiosk) != !options.location.empty()) {
    return InvalidArgument(role == Role::kKiosk
                               ? "a kiosk account needs its location (where the kiosk stands)"
                               : "only a kiosk account has a location");
  }
  if (options.location.size() > 80 ||
      std::any_of(options.location.begin(), options.location.end(),
                  [](unsigned char c) { return c < 0x20 || c == 0x7f || c == '|'; })) {
    return InvalidArgument("a kiosk's location is one line of at most 80 characters, no '|'");
  }
  CARREL_ASSIGN_OR_RETURN(std::string hash, HashSecret(password));
  User user;
  user.username = std::string(username);
  user.role = role;
  user.pending = options.needs_approval && NeedsApproval(role);
  user.must_change_password = options.must_change_password;
  user.location = options.location;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(int64_t id, tx.QueryInt("SELECT coalesce(max(id), 0) + 1 FROM users"));
    user.id = id;
    Value pub, sealed, salt;
    // The administrator and kiosks sign nothing.
    if (role != Role::kAdmin && role != Role::kKiosk) {
      CARREL_ASSIGN_OR_RETURN(SealedSigningKey key, SealSigningKey(id, password, nullptr));
      user.signing_public_key = key.public_key;
      pub = Blob{key.public_key};
      sealed = Blob{key.sealed};
      salt = Blob{key.salt};
    }
    Status s = tx.Exec(
        "INSERT INTO users (id, username, role, password_hash, signing_public_key, "
        "signing_secret_sealed, signing_salt, created_at, approval, must_change_password, "
        "location) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        {id, user.username, std::string(RoleName(role)), hash, pub, sealed, salt,
         FormatInstant(clock_->Now()), std::string(user.pending ? "pending" : "approved"),
         int64_t{user.must_change_password ? 1 : 0},
         user.location.empty() ? Value() : Value(user.location)});
    if (s.code() == StatusCode::kAlreadyExists) {
      return AlreadyExists("a user with that username already exists");
    }
    CARREL_RETURN_IF_ERROR(s);
    return audit_->Append(tx, by, {"user.create", "user", std::to_string(id), "",
                                    R"({"role":")" + std::string(RoleName(role)) +
                                        R"(","pending":)" + (user.pending ? "true" : "false") +
                                        "}"})
        .status();
  }));
  return user;
}

namespace {
StatusOr<User> ReadUser(const Row& row) {
  User u;
  u.id = row.Int(0);
  u.username = row.Text(1);
  CARREL_ASSIGN_OR_RETURN(u.role, ParseRole(row.Text(2)));
  u.disabled = row.Int(3) != 0;
  u.signing_public_key = row.Bytes(4);
  u.pending = row.Text(5) != "approved";
  u.must_change_password = row.Int(6) != 0;
  if (!row.IsNull(7)) u.location = row.Text(7);
  return u;
}

constexpr char kUserColumns[] =
    "id, username, role, disabled, signing_public_key, approval, must_change_password, location";
}  // namespace

StatusOr<std::vector<User>> Accounts::ListUsers(const Actor& by) {
  std::vector<User> out;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_RETURN_IF_ERROR(
        tx.Exec(std::string("SELECT ") + kUserColumns + " FROM users ORDER BY id", {},
                [&](const Row& row) -> Status {
                  CARREL_ASSIGN_OR_RETURN(User u, ReadUser(row));
                  out.push_back(std::move(u));
                  return Status::Ok();
                }));
    return audit_->Append(tx, by, {"user.list", "user", "", "", "{}"}).status();
  }));
  return out;
}

StatusOr<User> Accounts::ActiveInRole(int64_t id, Role role, std::string_view refusal) {
  auto user = GetUser(id);
  if (!user.ok() || user->role != role || user->disabled || user->pending) {
    return PermissionDenied(std::string(refusal));
  }
  return *user;
}

StatusOr<User> Accounts::GetUser(int64_t id) {
  std::optional<User> out;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) {
    return tx.Exec(std::string("SELECT ") + kUserColumns + " FROM users WHERE id = ?", {id},
                   [&](const Row& row) -> Status {
                     CARREL_ASSIGN_OR_RETURN(out, ReadUser(row));
                     return Status::Ok();
                   });
  }));
  if (!out) return NotFound("no such user");
  return *out;
}

StatusOr<std::string> Accounts::UsernameIn(Transaction& tx, int64_t user_id) {
  std::string username;
  CARREL_RETURN_IF_ERROR(
      tx.Exec("SELECT username FROM users WHERE id = ?", {user_id}, [&](const Row& row) {
        username = row.Text(0);
        return Status::Ok();
      }));
  return username;
}

StatusOr<std::vector<int64_t>> Accounts::EnabledUsersIn(Transaction& tx, Role role) {
  std::vector<int64_t> ids;
  CARREL_RETURN_IF_ERROR(tx.Exec("SELECT id FROM users WHERE role = ? AND disabled = 0 ORDER BY id",
                                 {std::string(RoleName(role))}, [&](const Row& row) {
                                   ids.push_back(row.Int(0));
                                   return Status::Ok();
                                 }));
  return ids;
}

Status Accounts::SetDisabled(const Actor& by, int64_t user_id, bool disabled) {
  return WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    std::string role;
    CARREL_RETURN_IF_ERROR(
        tx.Exec("SELECT role FROM users WHERE id = ?", {user_id}, [&](const Row& r) {
          role = r.Text(0);
          return Status::Ok();
        }));
    if (role.empty()) return NotFound("no such user");
    CARREL_ASSIGN_OR_RETURN(Role r, ParseRole(role));
    CARREL_RETURN_IF_ERROR(tx.Exec("UPDATE users SET disabled = ? WHERE id = ?",
                                   {int64_t{disabled ? 1 : 0}, user_id}));
    if (!disabled && NeedsApproval(r)) {
      // Active again only once approved again, as a new account would be.
      CARREL_RETURN_IF_ERROR(
          tx.Exec("UPDATE users SET approval = 'pending', approval_round = "
                  "approval_round + 1 WHERE id = ?",
                  {user_id}));
    }
    if (disabled)
      CARREL_RETURN_IF_ERROR(tx.Exec("DELETE FROM sessions WHERE user_id = ?", {user_id}));
    return audit_->Append(tx, by, {disabled ? "user.disable" : "user.enable", "user",
                                    std::to_string(user_id), "", "{}"})
        .status();
  });
}

Status Accounts::ChangePassword(int64_t user_id, std::string_view old_password,
                                std::string_view new_password) {
  CARREL_RETURN_IF_ERROR(CheckPassword(new_password));
  std::string hash, sealed, salt;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) {
    return tx.Exec("SELECT password_hash, signing_secret_sealed, signing_salt FROM users "
                   "WHERE id = ? AND disabled = 0",
                   {user_id}, [&](const Row& row) {
                     hash = row.Text(0);
                     sealed = row.Bytes(1);
                     salt = row.Bytes(2);
                     return Status::Ok();
                   });
  }));
  if (hash.empty()) return PermissionDenied("the current password was not accepted");
  CARREL_RETURN_IF_ERROR(CheckUserLock(user_id));
  if (!CheckSecret(hash, old_password)) {
    CARREL_RETURN_IF_ERROR(RecordStepUpFailure(user_id, "password_change"));
    return PermissionDenied("the current password was not accepted");
  }
  CARREL_ASSIGN_OR_RETURN(std::string new_hash, HashSecret(new_password));
  Value new_sealed, new_salt;
  if (!sealed.empty()) {
    CARREL_ASSIGN_OR_RETURN(SecretKey old_key, PasswordKey(old_password, salt));
    unsigned char sk[kSecretKey];
    if (!UnsealSigningKey(user_id, old_key, sealed, sk)) {
      return DataLoss("the sealed signing key does not open with the password");
    }
    auto resealed = SealSigningKey(user_id, new_password, sk);
    sodium_memzero(sk, sizeof sk);
    CARREL_RETURN_IF_ERROR(resealed.status());
    new_sealed = Blob{resealed->sealed};
    new_salt = Blob{resealed->salt};
  }
  return WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_RETURN_IF_ERROR(
        tx.Exec("UPDATE users SET password_hash = ?, signing_secret_sealed = coalesce(?, "
                "signing_secret_sealed), signing_salt = coalesce(?, signing_salt), "
                "must_change_password = 0 WHERE id = ?",
                {new_hash, new_sealed, new_salt, user_id}));
    return audit_->Append(tx, {"user/" + std::to_string(user_id), "user"},
                          {"user.password_change", "user", std::to_string(user_id), "", "{}"})
        .status();
  });
}

namespace {

Status CheckPinShape(std::string_view pin, int min_length) {
  if (pin.size() < static_cast<size_t>(min_length) || pin.size() > 12 ||
      pin.find_first_not_of("0123456789") != std::string_view::npos) {
    return InvalidArgument("a PIN is " + std::to_string(min_length) + " to 12 digits");
  }
  return Status::Ok();
}

// Reset codes: eight characters from an alphabet without look-alikes (0/O, 1/I/L), shown as
// two groups of four; typed back in any case, with or without the hyphen.
constexpr std::string_view kCodeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";

std::string NewResetCode() {
  std::string code;
  for (int i = 0; i < 8; ++i) {
    if (i == 4) code += '-';
    code += kCodeAlphabet[randombytes_uniform(static_cast<uint32_t>(kCodeAlphabet.size()))];
  }
  return code;
}

std::string NormalizeResetCode(std::string_view typed) {
  std::string out;
  for (char c : typed) {
    if (c == '-' || c == ' ') continue;
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  if (out.size() != 8) return "";
  return out.substr(0, 4) + "-" + out.substr(4);
}

}  // namespace

namespace {

// A patron's PIN, as its hash, whether they chose it, and its length (for the profile's
// minimum): one row per patron, replaced whole.
Status StorePin(Transaction& tx, int64_t patron_id, const std::string& hash, bool chosen,
                size_t length) {
  return tx.Exec(
      "INSERT INTO patron_pins (patron_id, pin_hash, pin_chosen, pin_length) VALUES (?, ?, ?, ?) "
      "ON CONFLICT (patron_id) DO UPDATE SET pin_hash = excluded.pin_hash, pin_chosen = "
      "excluded.pin_chosen, pin_length = excluded.pin_length",
      {patron_id, hash, int64_t{chosen ? 1 : 0}, static_cast<int64_t>(length)});
}

// The hash of the patron's PIN; empty when they have none.
StatusOr<std::string> PinHashIn(Transaction& tx, int64_t patron_id) {
  std::string hash;
  CARREL_RETURN_IF_ERROR(tx.Exec("SELECT pin_hash FROM patron_pins WHERE patron_id = ?",
                                 {patron_id}, [&](const Row& row) {
                                   hash = row.Text(0);
                                   return Status::Ok();
                                 }));
  return hash;
}

}  // namespace

Status Accounts::SetPatronPin(const Actor& by, int64_t patron_id, std::string_view pin,
                              PinOrigin origin) {
  CARREL_RETURN_IF_ERROR(CheckPinShape(pin, 4));
  CARREL_ASSIGN_OR_RETURN(std::string hash, HashSecret(pin));
  bool chosen = origin == PinOrigin::kChosenByPatron;
  return WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(bool exists, Circulation::PatronExistsIn(tx, patron_id));
    if (!exists) return NotFound("no such patron");
    CARREL_RETURN_IF_ERROR(StorePin(tx, patron_id, hash, chosen, pin.size()));
    return audit_->Append(tx, by, {"patron.pin_set", "patron", std::to_string(patron_id), "", "{}"})
        .status();
  });
}

StatusOr<PinReset> Accounts::StartPinReset(const Actor& by, int64_t patron_id) {
  PinReset reset;
  reset.code = NewResetCode();
  reset.expires_at = clock_->Now() + kPinResetValidity;
  CARREL_ASSIGN_OR_RETURN(std::string hash, HashSecret(reset.code));
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(bool found, Circulation::PatronExistsIn(tx, patron_id));
    if (!found) return NotFound("no such patron");
    // Codes past their time are of no use to anyone.
    CARREL_RETURN_IF_ERROR(
        tx.Exec("DELETE FROM pin_resets WHERE expires_at <= ?", {FormatInstant(clock_->Now())}));
    // One code at a time: a new one replaces any earlier one.
    CARREL_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO pin_resets (patron_id, code_hash, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (patron_id) DO UPDATE SET code_hash = excluded.code_hash, "
                "expires_at = excluded.expires_at",
                {patron_id, hash, FormatInstant(reset.expires_at)}));
    // Whoever holds a session of the patron's now holds it no longer.
    CARREL_RETURN_IF_ERROR(tx.Exec("DELETE FROM sessions WHERE patron_id = ?", {patron_id}));
    return audit_->Append(tx, by, {"patron.pin_reset.start", "patron", std::to_string(patron_id),
                                    "", "{}"})
        .status();
  }));
  return reset;
}

Status Accounts::FinishPinReset(std::string_view card_barcode, std::string_view code,
                                std::string_view new_pin, int min_pin_length,
                                std::string_view client) {
  const Status not_accepted =
      Unauthenticated("the card number or reset code was not accepted, or the code has expired");
  CARREL_RETURN_IF_ERROR(CheckPinShape(new_pin, min_pin_length));
  if (card_barcode.empty() || card_barcode.size() > 64 || code.size() > 32) return not_accepted;
  std::string normalized = NormalizeResetCode(code);
  CARREL_ASSIGN_OR_RETURN(std::string subject, CardSubject(card_barcode));
  CARREL_ASSIGN_OR_RETURN(std::vector<std::string> subjects, LoginSubjects(subject, client));
  SealedRecords records(vault_);
  int64_t patron_id = 0;
  std::string hash, expires;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_RETURN_IF_ERROR(CheckLocks(tx, subjects));
    auto patron = records.FindPatronByBarcode(tx, card_barcode);
    if (!patron.ok()) {
      return patron.status().code() == StatusCode::kNotFound ? Status::Ok() : patron.status();
    }
    patron_id = patron->id;
    return tx.Exec("SELECT code_hash, expires_at FROM pin_resets WHERE patron_id = ?",
                   {patron_id}, [&](const Row& row) {
                     hash = row.Text(0);
                     expires = row.Text(1);
                     return Status::Ok();
                   });
  }));
  static const std::string kDummy = *HashSecret("AAAA-AAAA");
  bool ok = CheckSecret(hash.empty() ? kDummy : hash, normalized) && !hash.empty() &&
            !normalized.empty() && FormatInstant(clock_->Now()) < expires;
  if (!ok) {
    CARREL_RETURN_IF_ERROR(WithWriteTransaction(
        *store_, [&](Transaction& tx) { return RecordFailures(tx, subjects); }));
    return not_accepted;
  }
  CARREL_ASSIGN_OR_RETURN(std::string pin_hash, HashSecret(new_pin));
  return WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    // Single use: the code goes in the same transaction as the PIN it set.
    CARREL_RETURN_IF_ERROR(
        tx.Exec("DELETE FROM pin_resets WHERE patron_id = ? AND code_hash = ?", {patron_id, hash}));
    if (tx.changes() == 0) return not_accepted;  // used by a request that came first
    CARREL_RETURN_IF_ERROR(StorePin(tx, patron_id, pin_hash, true, new_pin.size()));
    CARREL_RETURN_IF_ERROR(tx.Exec("DELETE FROM sessions WHERE patron_id = ?", {patron_id}));
    CARREL_RETURN_IF_ERROR(tx.Exec("DELETE FROM login_failures WHERE subject = ?", {subject}));
    return audit_->Append(tx, {"patron/" + std::to_string(patron_id), "patron"},
                          {"patron.pin_reset.finish", "patron", std::to_string(patron_id), "",
                           "{}"})
        .status();
  });
}

Status Accounts::ChangePatronPin(int64_t patron_id, std::string_view current_pin,
                                 std::string_view new_pin, int min_pin_length,
                                 std::string_view keep_session_token) {
  CARREL_RETURN_IF_ERROR(CheckPinShape(new_pin, min_pin_length));
  CARREL_RETURN_IF_ERROR(CheckPatronPin(patron_id, current_pin));
  CARREL_ASSIGN_OR_RETURN(std::string hash, HashSecret(new_pin));
  return WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_RETURN_IF_ERROR(
        tx.Exec("UPDATE patron_pins SET pin_hash = ?, pin_chosen = 1, pin_length = ? WHERE "
                "patron_id = ?",
                {hash, static_cast<int64_t>(new_pin.size()), patron_id}));
    if (tx.changes() == 0) return NotFound("no such patron");
    // Any other session (another device, or someone else) ends with the old PIN.
    CARREL_RETURN_IF_ERROR(tx.Exec("DELETE FROM sessions WHERE patron_id = ? AND token_hash <> ?",
                                   {patron_id, TokenHash(keep_session_token)}));
    return audit_->Append(tx, {"patron/" + std::to_string(patron_id), "patron"},
                          {"patron.pin_change", "patron", std::to_string(patron_id), "", "{}"})
        .status();
  });
}

Status Accounts::RequireChosenPin(int64_t patron_id, int min_pin_length) {
  int64_t chosen = 0, length = 0;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) {
    return tx.Exec("SELECT pin_chosen, pin_length FROM patron_pins WHERE patron_id = ?",
                   {patron_id}, [&](const Row& row) {
                     chosen = row.Int(0);
                     length = row.Int(1);
                     return Status::Ok();
                   });
  }));
  if (chosen == 1 && length >= min_pin_length) return Status::Ok();
  return PermissionDenied("choose a PIN of your own first (at least " +
                          std::to_string(min_pin_length) +
                          " digits): a PIN set at the desk, or a shorter one, opens loans and "
                          "holds but not your reading history, export, notices or permissions");
}

Status Accounts::CheckUserLock(int64_t user_id) {
  CARREL_ASSIGN_OR_RETURN(User user, GetUser(user_id));
  CARREL_ASSIGN_OR_RETURN(std::string subject, UserSubject(user.username));
  return WithReadTransaction(*store_, [&](Transaction& tx) { return CheckLock(tx, subject); });
}

Status Accounts::RecordStepUpFailure(int64_t user_id, std::string_view what) {
  CARREL_ASSIGN_OR_RETURN(User user, GetUser(user_id));
  CARREL_ASSIGN_OR_RETURN(std::string subject, UserSubject(user.username));
  return WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_RETURN_IF_ERROR(RecordFailures(tx, {subject}));
    return audit_->Append(tx, {"user/" + std::to_string(user_id), std::string(RoleName(user.role))},
                          {"auth.step_up.failed", "user", std::to_string(user_id), "",
                           R"({"for":")" + std::string(what) + R"("})"})
        .status();
  });
}

StatusOr<std::string> Accounts::UserSubject(std::string_view username) {
  CARREL_ASSIGN_OR_RETURN(std::string bi, vault_->BlindIndex("login_subject", username));
  return "user:" + HexEncode(bi);
}

namespace {
// A card's failure counter is named by the card's blind index (as stored in patrons.card_bi).
std::string CardSubjectOf(std::string_view card_bi) {
  return "card:" + HexEncode(card_bi.substr(0, 8));
}
}  // namespace

StatusOr<std::string> Accounts::CardSubject(std::string_view card_barcode) {
  CARREL_ASSIGN_OR_RETURN(std::string bi,
                          vault_->BlindIndex("card_barcode", NormalizeBarcode(card_barcode)));
  return CardSubjectOf(bi);
}

// Failed attempts are counted under several names at once, each with its own back-off:
//   user:<keyed hash> / card:<keyed hash>  the account from anywhere: short waits (at most a
//                                           minute), so that guessing from many addresses is
//                                           slowed, yet nobody else's failures lock its owner out;
//   pair:<account>@<address>               the account from one client: long waits (up to the
//                                           lockout), for whoever keeps guessing it;
//   addr:<address>                         one client, any account: for spraying many accounts;
//   rate:<hour>                            the whole library, for the alarm; never a wait.
// Addresses are keyed hashes (the pseudonym the audit log uses), never the address itself.
namespace {

struct Backoff {
  int64_t free;                // failures allowed before the first wait
  std::chrono::seconds first;  // the first wait; each further failure doubles it
  std::chrono::seconds cap;
};

Backoff BackoffFor(std::string_view subject, const SessionPolicy& policy) {
  if (subject.starts_with("pair:")) return {policy.max_failures, std::chrono::seconds(30), policy.lockout};
  if (subject.starts_with("addr:")) return {20, std::chrono::seconds(1), policy.lockout};
  if (subject.starts_with("rate:")) return {INT64_MAX, {}, {}};
  return {policy.max_failures, std::chrono::seconds(1), std::chrono::seconds(60)};
}

std::chrono::seconds WaitAfter(int64_t failures, const Backoff& b) {
  if (failures < b.free) return std::chrono::seconds(0);
  int64_t doublings = std::min<int64_t>(failures - b.free, 20);
  return std::min(b.cap, b.first * (int64_t{1} << doublings));
}

}  // namespace

Status Accounts::CheckLock(Transaction& tx, const std::string& subject) {
  std::string until;
  CARREL_RETURN_IF_ERROR(tx.Exec("SELECT locked_until FROM login_failures WHERE subject = ?",
                                 {subject}, [&](const Row& row) {
                                   until = row.Text(0);
                                   return Status::Ok();
                                 }));
  if (!until.empty() && FormatInstant(clock_->Now()) < until) {
    return ResourceExhausted("too many failed attempts: try again after " + until + " (UTC)");
  }
  return Status::Ok();
}

Status Accounts::CheckLocks(Transaction& tx, const std::vector<std::string>& subjects) {
  for (const std::string& subject : subjects) CARREL_RETURN_IF_ERROR(CheckLock(tx, subject));
  return Status::Ok();
}

StatusOr<int64_t> Accounts::RecordFailure(Transaction& tx, const std::string& subject) {
  Instant now = clock_->Now();
  CARREL_ASSIGN_OR_RETURN(
      int64_t n, tx.QueryInt("INSERT INTO login_failures (subject, failures, last_failed_at) "
                             "VALUES (?, 1, ?) ON CONFLICT (subject) DO UPDATE SET "
                             "failures = login_failures.failures + 1, last_failed_at = "
                             "excluded.last_failed_at RETURNING failures",
                             {subject, FormatInstant(now)}));
  std::chrono::seconds wait = WaitAfter(n, BackoffFor(subject, policy_));
  if (wait.count() > 0) {
    CARREL_RETURN_IF_ERROR(tx.Exec("UPDATE login_failures SET locked_until = ? WHERE subject = ?",
                                   {FormatInstant(now + wait), subject}));
  }
  return n;
}

Status Accounts::RecordFailures(Transaction& tx, const std::vector<std::string>& subjects) {
  Instant now = clock_->Now();
  // Rows whose window has ended (no wait in force, no failure within the lockout period) are
  // of no use to anyone: the count starts again.
  CARREL_RETURN_IF_ERROR(
      tx.Exec("DELETE FROM login_failures WHERE coalesce(locked_until, '') < ? AND "
              "coalesce(last_failed_at, '') < ?",
              {FormatInstant(now), FormatInstant(now - policy_.lockout)}));
  for (const std::string& subject : subjects)
    CARREL_RETURN_IF_ERROR(RecordFailure(tx, subject).status());
  // The library-wide count: past the alarm's threshold within an hour, the Director and the
  // administrator hear of it in their inboxes (once an hour).
  std::string hour = FormatInstant(now).substr(0, 13);
  CARREL_ASSIGN_OR_RETURN(int64_t n, RecordFailure(tx, "rate:" + hour));
  if (n == kFailureAlarmPerHour) {
    std::vector<int64_t> told;
    CARREL_RETURN_IF_ERROR(
        tx.Exec("SELECT id FROM users WHERE role IN ('director', 'admin') AND "
                "disabled = 0 AND approval = 'approved' ORDER BY id",
                {}, [&](const Row& row) {
                  told.push_back(row.Int(0));
                  return Status::Ok();
                }));
    for (int64_t user : told) {
      CARREL_RETURN_IF_ERROR(
          Inbox::PostIn(tx, user, hour + ":00Z", "failed_logins_alarm", clock_->Now()));
    }
    CARREL_RETURN_IF_ERROR(audit_
                               ->Append(tx, {"carrel", "system"},
                                        {"auth.failure_alarm", "library", "", "",
                                         R"({"failures_this_hour":)" + std::to_string(n) + "}"})
                               .status());
  }
  return Status::Ok();
}

StatusOr<std::vector<std::string>> Accounts::LoginSubjects(const std::string& account,
                                                           std::string_view client) {
  std::vector<std::string> subjects = {account};
  if (!client.empty()) {
    CARREL_ASSIGN_OR_RETURN(std::string pseudonym, vault_->BlindIndex("client_address", client));
    std::string address = HexEncode(pseudonym);
    subjects.push_back("pair:" + account + "@" + address);
    subjects.push_back("addr:" + address);
  }
  return subjects;
}

StatusOr<Session> Accounts::StartSession(Transaction& tx, Principal principal) {
  Session session;
  session.token = RandomToken(32);
  session.csrf_token = RandomToken(24);
  principal.csrf_token = session.csrf_token;
  Instant now = clock_->Now();
  session.expires_at = now + policy_.idle;
  session.principal = principal;
  bool user = principal.kind == Principal::Kind::kUser;
  CARREL_RETURN_IF_ERROR(
      tx.Exec("INSERT INTO sessions (token_hash, user_id, patron_id, role, csrf_token, created_at, "
              "last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
              {TokenHash(session.token), user ? Value(principal.id) : Value(),
               user ? Value() : Value(principal.id), std::string(RoleName(principal.role)),
               session.csrf_token, FormatInstant(now), FormatInstant(now)}));
  CARREL_RETURN_IF_ERROR(
      audit_->Append(tx, principal.actor(), {"session.login", "session", "", "", "{}"}).status());
  return session;
}

StatusOr<Session> Accounts::FinishLogin(const std::vector<std::string>& subjects, bool accepted,
                                        const Principal& principal, const Status& refusal) {
  std::optional<Session> session;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    if (!accepted) return RecordFailures(tx, subjects);
    // The account's counts start again; the client's own count across accounts does not (a
    // valid login of one's own does not buy more guesses at others').
    for (const std::string& subject : subjects) {
      if (subject.starts_with("addr:")) continue;
      CARREL_RETURN_IF_ERROR(tx.Exec("DELETE FROM login_failures WHERE subject = ?", {subject}));
    }
    CARREL_ASSIGN_OR_RETURN(session, StartSession(tx, principal));
    return Status::Ok();
  }));
  if (!accepted) return refusal;
  return std::move(*session);
}

StatusOr<Session> Accounts::LoginUser(std::string_view username, std::string_view password,
                                      std::string_view client) {
  if (username.empty() || username.size() > 64 || password.size() > 1024) return kNotAccepted;
  CARREL_ASSIGN_OR_RETURN(std::string account, UserSubject(username));
  CARREL_ASSIGN_OR_RETURN(std::vector<std::string> subjects, LoginSubjects(account, client));
  std::string hash;
  Principal principal;
  bool disabled = false;
  // Reading the waits, the account and its hash commits nothing: a read transaction, which
  // never waits for the writer. Only the outcome is written, in FinishLogin.
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_RETURN_IF_ERROR(CheckLocks(tx, subjects));
    return tx.Exec("SELECT id, role, password_hash, disabled, approval, must_change_password "
                   "FROM users WHERE username = ?",
                   {std::string(username)}, [&](const Row& row) -> Status {
                     principal.id = row.Int(0);
                     CARREL_ASSIGN_OR_RETURN(principal.role, ParseRole(row.Text(1)));
                     hash = row.Text(2);
                     // An account awaiting approval is refused as a disabled one is.
                     disabled = row.Int(3) != 0 || row.Text(4) != "approved";
                     principal.must_change_password = row.Int(5) != 0;
                     return Status::Ok();
                   });
  }));
  // Hash even for unknown users, so timing does not tell which usernames exist.
  static const std::string kDummy = *HashSecret("carrel-dummy-password");
  bool ok = CheckSecret(hash.empty() ? kDummy : hash, password) && !hash.empty() && !disabled;
  principal.kind = Principal::Kind::kUser;
  principal.username = std::string(username);
  return FinishLogin(subjects, ok, principal, kNotAccepted);
}

Status Accounts::CheckPatronPin(int64_t patron_id, std::string_view pin) {
  // The same count as the card's logins: a PIN asked again is guessed no faster.
  std::string subject, hash;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(std::string card_index, Circulation::CardIndexIn(tx, patron_id));
    if (card_index.empty()) return NotFound("no such patron");
    subject = CardSubjectOf(card_index);
    CARREL_ASSIGN_OR_RETURN(hash, PinHashIn(tx, patron_id));
    // Reading the lock and the hash commits nothing; only a failure is written.
    return CheckLock(tx, subject);
  }));
  bool ok = !hash.empty() && pin.size() <= 12 && CheckSecret(hash, pin);
  if (ok) return Status::Ok();
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_RETURN_IF_ERROR(RecordFailures(tx, {subject}));
    return audit_->Append(tx, {"patron/" + std::to_string(patron_id), "patron"},
                          {"auth.step_up.failed", "patron", std::to_string(patron_id), "",
                           R"({"for":"pin"})"})
        .status();
  }));
  return PermissionDenied("the PIN was not accepted");
}

StatusOr<Session> Accounts::LoginPatron(std::string_view card_barcode, std::string_view pin,
                                        std::string_view client) {
  const Status not_accepted = Unauthenticated("the card number or PIN was not accepted");
  if (card_barcode.empty() || card_barcode.size() > 64 || pin.size() > 12) return not_accepted;
  SealedRecords records(vault_);
  CARREL_ASSIGN_OR_RETURN(std::string account, CardSubject(card_barcode));
  CARREL_ASSIGN_OR_RETURN(std::vector<std::string> subjects, LoginSubjects(account, client));
  std::string hash;
  int64_t patron_id = 0;
  bool expired = false;
  Date today = Date(std::chrono::floor<std::chrono::days>(clock_->Now()));
  // Reading the waits, the account and its hash commits nothing: a read transaction, which
  // never waits for the writer. Only the outcome is written, in FinishLogin.
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_RETURN_IF_ERROR(CheckLocks(tx, subjects));
    auto patron = records.FindPatronByBarcode(tx, card_barcode);
    if (!patron.ok()) {
      return patron.status().code() == StatusCode::kNotFound ? Status::Ok() : patron.status();
    }
    patron_id = patron->id;
    expired = patron->expires_on < today;
    CARREL_ASSIGN_OR_RETURN(hash, PinHashIn(tx, patron_id));
    return Status::Ok();
  }));
  static const std::string kDummy = *HashSecret("0000");
  bool ok = CheckSecret(hash.empty() ? kDummy : hash, pin) && !hash.empty() && !expired;
  Principal principal;
  principal.kind = Principal::Kind::kPatron;
  principal.id = patron_id;
  principal.role = Role::kPatron;
  return FinishLogin(subjects, ok, principal, not_accepted);
}

StatusOr<int64_t> Accounts::VerifyCardPin(std::string_view card_barcode, std::string_view pin,
                                          std::string_view client) {
  const Status not_accepted = Unauthenticated("the card number or PIN was not accepted");
  if (card_barcode.empty() || card_barcode.size() > 64 || pin.empty() || pin.size() > 12) {
    return not_accepted;
  }
  SealedRecords records(vault_);
  CARREL_ASSIGN_OR_RETURN(std::string account, CardSubject(card_barcode));
  CARREL_ASSIGN_OR_RETURN(std::vector<std::string> subjects, LoginSubjects(account, client));
  std::string hash;
  int64_t patron_id = 0;
  bool failures_on_file = false;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_RETURN_IF_ERROR(CheckLocks(tx, subjects));
    CARREL_ASSIGN_OR_RETURN(int64_t failures,
                            tx.QueryInt("SELECT count(*) FROM login_failures WHERE subject IN "
                                        "(?, ?)",
                                        {subjects[0], subjects.size() > 1 ? subjects[1] : ""}));
    failures_on_file = failures > 0;
    auto patron = records.FindPatronByBarcode(tx, card_barcode);
    if (!patron.ok()) {
      return patron.status().code() == StatusCode::kNotFound ? Status::Ok() : patron.status();
    }
    patron_id = patron->id;
    CARREL_ASSIGN_OR_RETURN(hash, PinHashIn(tx, patron_id));
    return Status::Ok();
  }));
  Instant now = clock_->Now();
  std::string mac = recent_pins_->Mac(hash, pin);
  bool ok = !hash.empty() && recent_pins_->Holds(patron_id, mac, now);
  if (!ok) {
    static const std::string kDummy = *HashSecret("0000");
    ok = CheckSecret(hash.empty() ? kDummy : hash, pin) && !hash.empty();
  }
  if (!ok || failures_on_file) {
    CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
      if (!ok) return RecordFailures(tx, subjects);
      // As a login: the card's counts start again, the kiosk's own count does not.
      for (const std::string& subject : subjects) {
        if (subject.starts_with("addr:")) continue;
        CARREL_RETURN_IF_ERROR(tx.Exec("DELETE FROM login_failures WHERE subject = ?", {subject}));
      }
      return Status::Ok();
    }));
  }
  if (!ok) return not_accepted;
  recent_pins_->Keep(patron_id, std::move(mac), now);
  return patron_id;
}

StatusOr<Principal> Accounts::Authenticate(std::string_view token) {
  const Status expired = Unauthenticated("the session has expired or was ended; log in again");
  if (token.empty() || token.size() > 128) return expired;
  std::optional<Principal> out;
  std::string created, seen;
  Instant now = clock_->Now();
  // Most requests only read the session: a read transaction, which waits for no writer's
  // commit. A write follows only to end an expired session or slide the idle expiry (at most
  // once a minute).
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    return tx.Exec(
        "SELECT s.user_id, s.patron_id, s.role, s.csrf_token, s.created_at, s.last_seen_at, "
        "u.username, coalesce(u.disabled, 0) + CASE WHEN coalesce(u.approval, 'approved') <> "
        "'approved' THEN 1 ELSE 0 END, coalesce(u.must_change_password, 0) FROM sessions s LEFT "
        "JOIN users u "
        "ON u.id = s.user_id WHERE s.token_hash = ?",
        {TokenHash(token)}, [&](const Row& row) -> Status {
          Principal p;
          p.kind = row.IsNull(0) ? Principal::Kind::kPatron : Principal::Kind::kUser;
          p.id = row.IsNull(0) ? row.Int(1) : row.Int(0);
          if (row.Text(2) == "patron") {
            p.role = Role::kPatron;
          } else {
            CARREL_ASSIGN_OR_RETURN(p.role, ParseRole(row.Text(2)));
          }
          p.csrf_token = row.Text(3);
          created = row.Text(4);
          seen = row.Text(5);
          p.username = row.Text(6);
          p.must_change_password = row.Int(8) != 0;
          if (row.Int(7) == 0) out = p;
          return Status::Ok();
        });
  }));
  if (!out) return expired;
  auto created_at = ParseInstant(created);
  auto seen_at = ParseInstant(seen);
  if (!created_at.ok() || !seen_at.ok() || now - *seen_at > policy_.idle ||
      now - *created_at > policy_.absolute) {
    CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) {
      return tx.Exec("DELETE FROM sessions WHERE token_hash = ?", {TokenHash(token)});
    }));
    return expired;
  }
  if (now - *seen_at >= std::chrono::minutes(1)) {
    CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) {
      return tx.Exec("UPDATE sessions SET last_seen_at = ? WHERE token_hash = ? AND "
                     "last_seen_at < ?",
                     {FormatInstant(now), TokenHash(token), FormatInstant(now)});
    }));
  }
  return *out;
}

Status Accounts::Logout(std::string_view token) {
  return WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    std::optional<Actor> actor;
    CARREL_RETURN_IF_ERROR(
        tx.Exec("SELECT user_id, patron_id, role FROM sessions WHERE token_hash = ?",
                {TokenHash(token)}, [&](const Row& row) {
                  actor = row.IsNull(0) ? Actor{"patron/" + std::to_string(row.Int(1)), "patron"}
                                        : Actor{"user/" + std::to_string(row.Int(0)), row.Text(2)};
                  return Status::Ok();
                }));
    if (!actor) return Unauthenticated("no such session");
    CARREL_RETURN_IF_ERROR(
        tx.Exec("DELETE FROM sessions WHERE token_hash = ?", {TokenHash(token)}));
    return audit_->Append(tx, *actor, {"session.logout", "session", "", "", "{}"}).status();
  });
}

std::string_view PurposeContext(SignedPurpose purpose) {
  switch (purpose) {
    case SignedPurpose::kDecision: return "carrel/decision/v1";
    case SignedPurpose::kDisclosure: return "carrel/disclosure-manifest/v1";
    case SignedPurpose::kAppointment: return "carrel/appointment/v1";
    case SignedPurpose::kRuling: return "carrel/board-ruling/v1";
    case SignedPurpose::kBallot: return "carrel/ballot/v1";
    case SignedPurpose::kBallotClose: return "carrel/ballot-close/v1";
    case SignedPurpose::kSchedule: return "carrel/retention-schedule/v1";
    case SignedPurpose::kLegalHold: return "carrel/legal-hold/v1";
    case SignedPurpose::kApproval: return "carrel/account-approval/v1";
    case SignedPurpose::kSessionProof: return "carrel/session-proof/v1";
  }
  return "carrel/unknown";
}

namespace {
std::string SignedBytes(SignedPurpose purpose, std::string_view message) {
  return std::string(PurposeContext(purpose)) + "\n" + std::string(message);
}
}  // namespace

StatusOr<std::string> Accounts::Sign(int64_t user_id, std::string_view password,
                                     SignedPurpose purpose, std::string_view message) {
  std::string sealed, salt;
  bool must_change = false;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) {
    return tx.Exec("SELECT signing_secret_sealed, signing_salt, must_change_password FROM users "
                   "WHERE id = ? AND disabled = 0 AND approval = 'approved'",
                   {user_id}, [&](const Row& row) {
                     sealed = row.Bytes(0);
                     salt = row.Bytes(1);
                     must_change = row.Int(2) != 0;
                     return Status::Ok();
                   });
  }));
  if (must_change) {
    // The password this account was given is good for choosing a new one, nothing else.
    return PermissionDenied("choose a new password first; nothing was signed");
  }
  if (sealed.empty()) return PermissionDenied("this account holds no signing key");
  if (password.empty() || password.size() > 1024) {
    return PermissionDenied("signing needs your password again");
  }
  // A password asked again is guessed no faster than at login: the same count, the same lock.
  CARREL_RETURN_IF_ERROR(CheckUserLock(user_id));
  CARREL_ASSIGN_OR_RETURN(SecretKey key, PasswordKey(password, salt));
  unsigned char sk[kSecretKey];
  if (!UnsealSigningKey(user_id, key, sealed, sk)) {
    sodium_memzero(sk, sizeof sk);
    CARREL_RETURN_IF_ERROR(RecordStepUpFailure(user_id, "signature"));
    return PermissionDenied("the password was not accepted; nothing was signed");
  }
  unsigned char sig[crypto_sign_BYTES];
  std::string bytes = SignedBytes(purpose, message);
  crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(bytes.data()),
                       bytes.size(), sk);
  sodium_memzero(sk, sizeof sk);
  return std::string(reinterpret_cast<char*>(sig), sizeof sig);
}

StatusOr<std::vector<User>> Accounts::PendingUsers(const Actor& by) {
  std::vector<User> out;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_RETURN_IF_ERROR(tx.Exec(std::string("SELECT ") + kUserColumns +
                                       " FROM users WHERE approval = 'pending' AND disabled = 0 "
                                       "ORDER BY id",
                                   {}, [&](const Row& row) -> Status {
                                     CARREL_ASSIGN_OR_RETURN(User u, ReadUser(row));
                                     out.push_back(std::move(u));
                                     return Status::Ok();
                                   }));
    return audit_->Append(tx, by, {"user.pending.list", "user", "", "", "{}"}).status();
  }));
  return out;
}

namespace {

// Why `approver` may not approve `target`'s account, or "" when they may: the Board approves a
// Director or a trustee by majority (the Director, the very first trustee); the Director or an
// acting designee approves staff and counsel.
std::string ApprovalRefusal(const User& approver, const User& target, bool acting_designee,
                            int64_t board_members) {
  if (target.role == Role::kDirector || target.role == Role::kBoard) {
    bool first_board = target.role == Role::kBoard && board_members == 0;
    if (first_board ? approver.role != Role::kDirector : approver.role != Role::kBoard) {
      return target.role == Role::kDirector
                 ? "a Director's account is approved by a majority of the Board"
                 : "a Board member's account is approved by a majority of the Board";
    }
    return "";
  }
  if (approver.role != Role::kDirector && !(approver.role == Role::kStaff && acting_designee)) {
    return "a staff, counsel or kiosk account is approved by the Director or a designee";
  }
  return "";
}

}  // namespace

StatusOr<ApprovalResult> Accounts::Approve(int64_t approver_id, std::string_view password,
                                           int64_t user_id, bool acting_designee) {
  CARREL_ASSIGN_OR_RETURN(User approver, GetUser(approver_id));
  auto target = GetUser(user_id);
  if (!target.ok()) return NotFound("no such user");
  Actor actor{"user/" + std::to_string(approver_id), std::string(RoleName(approver.role))};
  // Every attempt is on the log, refused or not.
  auto refuse = [&](const std::string& why) -> Status {
    Status logged = WithWriteTransaction(*store_, [&](Transaction& tx) {
      return audit_->Append(tx, actor, {"user.approve.refused", "user", std::to_string(user_id),
                                        "", "{}"})
          .status();
    });
    CARREL_RETURN_IF_ERROR(logged);
    return PermissionDenied(why);
  };
  if (!target->pending || target->disabled) {
    return FailedPrecondition("the account is not awaiting approval");
  }
  if (user_id == approver_id) return refuse("nobody approves their own account");
  if (approver.disabled || approver.pending) return refuse("your account may not approve");
  bool by_board = target->role == Role::kDirector || target->role == Role::kBoard;
  int64_t board_members = 0;
  CARREL_RETURN_IF_ERROR(WithReadTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(board_members,
                            tx.QueryInt("SELECT count(*) FROM users WHERE role = 'board' AND "
                                        "disabled = 0 AND approval = 'approved'"));
    return Status::Ok();
  }));
  if (std::string why = ApprovalRefusal(approver, *target, acting_designee, board_members);
      !why.empty()) {
    return refuse(why);
  }
  // The approval is the approver's own signed statement, bound to this purpose and account.
  Instant now = clock_->Now();
  std::string statement = "carrel account approval\nuser: " + std::to_string(user_id) +
                          "\nusername: " + target->username +
                          "\nrole: " + std::string(RoleName(target->role)) +
                          (target->location.empty() ? "" : "\nlocation: " + target->location) +
                          "\napproved_at: " + FormatInstant(now) + "\n";
  auto signature = Sign(approver_id, password, SignedPurpose::kApproval, statement);
  if (!signature.ok()) return refuse("the password was not accepted; nothing was approved");
  ApprovalResult result;
  CARREL_RETURN_IF_ERROR(WithWriteTransaction(*store_, [&](Transaction& tx) -> Status {
    CARREL_ASSIGN_OR_RETURN(int64_t round,
                            tx.QueryInt("SELECT approval_round FROM users WHERE id = ? AND "
                                        "approval = 'pending' AND disabled = 0",
                                        {user_id}));
    Status s = tx.Exec(
        "INSERT INTO account_approvals (user_id, round, approver_id, statement, signature, "
        "approved_at) VALUES (?, ?, ?, ?, ?, ?)",
        {user_id, round, approver_id, statement, Blob{*signature}, FormatInstant(now)});
    if (s.code() == StatusCode::kAlreadyExists) {
      return FailedPrecondition("you have already approved this account");
    }
    CARREL_RETURN_IF_ERROR(s);
    if (by_board && board_members > 0) {
      // Votes of members still active on the Board, in this round.
      CARREL_ASSIGN_OR_RETURN(
          int64_t votes, tx.QueryInt("SELECT count(*) FROM account_approvals a JOIN users u ON "
                                     "u.id = a.approver_id WHERE a.user_id = ? AND a.round = ? "
                                     "AND u.role = 'board' AND u.disabled = 0 AND "
                                     "u.approval = 'approved'",
                                     {user_id, round}));
      result.votes = static_cast<int>(votes);
      result.needed = static_cast<int>(board_members / 2 + 1);
      result.active = votes * 2 > board_members;
    } else {
      result.active = true;
    }
    if (result.active) {
      CARREL_RETURN_IF_ERROR(
          tx.Exec("UPDATE users SET approval = 'approved' WHERE id = ?", {user_id}));
    }
    return audit_->Append(tx, actor, {result.active ? "user.approve" : "user.approve.vote",
                                      "user", std::to_string(user_id), "",
                                      R"({"role":")" + std::string(RoleName(target->role)) +
                                          R"("})"})
        .status();
  }));
  return result;
}

bool Accounts::VerifySignature(std::string_view public_key, SignedPurpose purpose,
                               std::string_view message, std::string_view signature) {
  std::string bytes = SignedBytes(purpose, message);
  return public_key.size() == crypto_sign_PUBLICKEYBYTES &&
         signature.size() == crypto_sign_BYTES &&
         crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(signature.data()),
                                     reinterpret_cast<const unsigned char*>(bytes.data()),
                                     bytes.size(),
                                     reinterpret_cast<const unsigned char*>(public_key.data())) ==
             0;
}

}  // namespace carrel
