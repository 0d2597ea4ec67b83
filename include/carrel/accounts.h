#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "carrel/audit.h"
#include "carrel/clock.h"
#include "carrel/status.h"
#include "carrel/store.h"

namespace carrel {

class Vault;

// Accounts, sessions and personal signing keys (docs/design.md §2). Staff, the Director, counsel,
// the Board and the administrator have user accounts with one role each; patrons log in to the
// portal with their card barcode and PIN. Passwords and PINs are stored as Argon2id hashes
// (libsodium crypto_pwhash_str, interactive limits). Every user but the administrator holds an
// Ed25519 key pair whose secret half is sealed under a key derived from the user's own password, so
// the server cannot sign on anyone's behalf: signing asks for the password again.

// A kiosk is a self-check machine or an automated return, not a person: it speaks SIP2 to
// `carrel serve --sip2`, holds no signing key, stands at a location of its own, and reaches
// patron data only as far as the patron's card and PIN open it (docs/sip2.md).
enum class Role { kStaff, kDirector, kCounsel, kBoard, kAdmin, kPatron, kKiosk };
std::string_view RoleName(Role role);
StatusOr<Role> ParseRole(std::string_view name);  // users' roles only (not "patron")

// A password set for someone else (the first accounts, a reset): 20 letters and digits that
// cannot be misread, in groups of five, from libsodium's generator.
std::string NewOneTimePassword();

struct User {
  int64_t id = 0;
  std::string username;
  Role role = Role::kStaff;
  bool disabled = false;
  std::string signing_public_key;  // 32 bytes; empty for the administrator
  bool pending = false;                // awaits approval before it can log in
  bool must_change_password = false;  // its password was set for it: good for a change only
  std::string location;               // kiosks only: where it stands ("Main floor self-check 1")
};

// How a new account starts. The defaults (active, password kept) are for the library's own
// code: the demo seeder and tests. Accounts made by the administrator or on the command line
// need approval when their role reaches patron data or signs (staff, counsel, director,
// board), and always a new password at the first login.
struct NewUserOptions {
  bool needs_approval = false;
  bool must_change_password = false;
  std::string location;  // required for a kiosk, refused for anyone else
};

// Whether an account of `role` needs approval to become active (or active again).
bool NeedsApproval(Role role);

// What a signature is for. A statement is signed, and verified, behind a line naming its
// purpose ("carrel/decision/v1", newline, then the statement), so that nothing signed for one
// purpose verifies as another: in particular, text a user signs through /session/signature
// (whatever it says) is never a decision, an appointment or a ballot.
enum class SignedPurpose {
  kDecision,      // a release decision on a request
  kDisclosure,    // the manifest of a disclosure package
  kAppointment,   // a designee's appointment, or its revocation
  kRuling,        // a Board review's ruling
  kBallot,        // a Board member's vote
  kBallotClose,   // the closing tally of a vote
  kSchedule,      // a retention schedule
  kLegalHold,     // a legal hold placed or released
  kApproval,      // an account approved (or a Board vote for one)
  kSessionProof,  // anything else a user signs through /session/signature
};
std::string_view PurposeContext(SignedPurpose purpose);

// One approval given (or Board vote cast) for a pending account.
struct ApprovalResult {
  bool active = false;  // the account is now approved
  int votes = 0;        // Board votes so far (director and board accounts)
  int needed = 0;       // votes that make a majority of the active Board
};

// Who is making a request.
struct Principal {
  enum class Kind { kUser, kPatron };
  Kind kind = Kind::kUser;
  int64_t id = 0;  // user id or patron id
  Role role = Role::kStaff;
  std::string username;  // users only
  std::string csrf_token;
  bool must_change_password = false;  // users only: may do nothing but change it
  Actor actor() const;
};

struct Session {
  std::string token;       // 256 random bits, base64url; shown once, stored only as a hash
  std::string csrf_token;  // for cookie-authenticated writes
  Instant expires_at{};
  Principal principal;
};

struct PinReset {
  std::string code;  // "ABCD-EFGH": shown once, stored only as a hash
  Instant expires_at{};
};
inline constexpr std::chrono::seconds kPinResetValidity{15 * 60};

struct SessionPolicy {
  std::chrono::seconds idle{30 * 60};
  std::chrono::seconds absolute{12 * 60 * 60};
  // Failures allowed before waits begin. Then each failure doubles the wait: from one client,
  // 30 s up to `lockout`; for the account from anywhere, 1 s up to a minute (so that nobody's
  // guessing locks the owner out for long); one client across accounts after 20, up to
  // `lockout`. A window with no failure for `lockout` starts the count again.
  int max_failures = 5;
  std::chrono::seconds lockout{15 * 60};
};

// Failed logins and step-ups across the library within one hour that raise the alarm in the
// Director's and the administrator's inboxes.
inline constexpr int64_t kFailureAlarmPerHour = 100;

class Accounts {
 public:
  // Pointers are not owned and must outlive this object. Thread-safe.
  Accounts(Store* store, AuditLog* audit, Vault* vault, const Clock* clock,
           SessionPolicy policy = {});

  // Users. Usernames: 3-32 of [a-z0-9._-]. Passwords: at least 10 characters.
  StatusOr<User> AddUser(const Actor& by, std::string_view username, Role role,
                         std::string_view password, NewUserOptions options = {});
  // Accounts awaiting approval (for the Director, designees and the Board).
  StatusOr<std::vector<User>> PendingUsers(const Actor& by);
  // Approves a pending account with the approver's signature (their password again). Staff
  // and counsel accounts: the Director, or a designee (`acting_designee`: the caller checked
  // the appointment). Director and Board accounts: a majority of the active Board, each
  // member signing a vote; while the Board has no active member, the Director approves Board
  // accounts (the first Board). Nobody approves their own account. kPermissionDenied for an
  // approver who may not, or a wrong password.
  StatusOr<ApprovalResult> Approve(int64_t approver_id, std::string_view password,
                                   int64_t user_id, bool acting_designee);
  StatusOr<std::vector<User>> ListUsers(const Actor& by);
  StatusOr<User> GetUser(int64_t id);
  // Reads for other modules inside their own transaction (they never read the users table):
  // a user's username ("" when there is none), and the enabled users holding `role`.
  static StatusOr<std::string> UsernameIn(Transaction& tx, int64_t user_id);
  static StatusOr<std::vector<int64_t>> EnabledUsersIn(Transaction& tx, Role role);
  // The user, when they hold `role` and are not disabled; otherwise kPermissionDenied with
  // `refusal` (the Director's steps, the Board's).
  StatusOr<User> ActiveInRole(int64_t id, Role role, std::string_view refusal);
  // Disabling ends every session of the user at once. Enabling an account whose role needs
  // approval leaves it pending until it is approved again.
  Status SetDisabled(const Actor& by, int64_t user_id, bool disabled);
  // Requires the old password; reseals the signing key under the new one, and ends the
  // must-change state of an account whose password was set for it.
  Status ChangePassword(int64_t user_id, std::string_view old_password,
                        std::string_view new_password);
  // A patron's PIN set directly: 4-12 digits. Staff never do this (they start a reset
  // instead); it is for the demo seeder and for tests. A PIN not chosen by the patron opens
  // loans and holds only (RequireChosenPin).
  enum class PinOrigin { kSetForPatron, kChosenByPatron };
  Status SetPatronPin(const Actor& by, int64_t patron_id, std::string_view pin,
                      PinOrigin origin = PinOrigin::kSetForPatron);

  // A PIN reset started at the desk: a one-time code, shown once (printed on a slip for the
  // patron), valid kPinResetValidity. It replaces any earlier code of the patron's and ends
  // every session of theirs; the current PIN keeps working until the code is used.
  StatusOr<PinReset> StartPinReset(const Actor& by, int64_t patron_id);
  // The patron sets their own PIN with the code (once). A wrong or expired code is
  // kUnauthenticated and counts as a failed login of the card. Ends every session of theirs.
  Status FinishPinReset(std::string_view card_barcode, std::string_view code,
                        std::string_view new_pin, int min_pin_length,
                        std::string_view client = {});
  // The patron, logged in, changes their PIN (the current one again, counted as a login
  // failure when wrong). Ends their other sessions.
  Status ChangePatronPin(int64_t patron_id, std::string_view current_pin,
                         std::string_view new_pin, int min_pin_length,
                         std::string_view keep_session_token);
  // OK when the patron chose their PIN themselves and it has at least `min_pin_length`
  // digits; kPermissionDenied (saying what to do) otherwise. Guards the reading history, the
  // export, notices and permissions.
  Status RequireChosenPin(int64_t patron_id, int min_pin_length);

  // Logins. A failure says only that the credentials were not accepted (kUnauthenticated), or
  // that the account is locked until a time (kResourceExhausted).
  // `client` is the client's address (after trusted proxies), or empty when there is none:
  // failures back off per account, per account and address, and per address.
  StatusOr<Session> LoginUser(std::string_view username, std::string_view password,
                              std::string_view client = {});
  StatusOr<Session> LoginPatron(std::string_view card_barcode, std::string_view pin,
                                std::string_view client = {});
  // Step-up for a patron in the portal: their PIN again, before they sign something (a
  // permission to release their records). kPermissionDenied for a wrong PIN; repeated
  // failures lock the card as failed logins do.
  Status CheckPatronPin(int64_t patron_id, std::string_view pin);
  // A card and PIN given at a kiosk: the patron's id when they are accepted; kUnauthenticated
  // otherwise (an unknown card and a wrong PIN alike), kResourceExhausted while the card or
  // the kiosk is made to wait. Failures count and back off as logins do, the kiosk (`client`)
  // standing for the address. A PIN accepted is remembered for a few minutes (a keyed hash in
  // memory, forgotten when the PIN changes), so that a patron's next items at the kiosk do
  // not each cost a password hash. Starts no session; an expired card is accepted (the kiosk
  // says so).
  StatusOr<int64_t> VerifyCardPin(std::string_view card_barcode, std::string_view pin,
                                  std::string_view client);
  // The principal of a live session, sliding its idle expiry; kUnauthenticated otherwise.
  StatusOr<Principal> Authenticate(std::string_view token);
  Status Logout(std::string_view token);

  // Step-up signing: the user's password unseals their secret key for this one signature.
  // kPermissionDenied for a wrong password (no session is affected).
  StatusOr<std::string> Sign(int64_t user_id, std::string_view password, SignedPurpose purpose,
                             std::string_view message);
  static bool VerifySignature(std::string_view public_key, SignedPurpose purpose,
                              std::string_view message, std::string_view signature);

 private:
  StatusOr<Session> StartSession(Transaction& tx, Principal principal);
  // The end of a login whose credentials were checked: a failure counts towards locking
  // `subject` out and returns `refusal`; a success clears the failures and starts a session.
  StatusOr<Session> FinishLogin(const std::vector<std::string>& subjects, bool accepted,
                                const Principal& principal, const Status& refusal);
  // Counts one failure under `subject` and starts its wait; returns the count so far.
  StatusOr<int64_t> RecordFailure(Transaction& tx, const std::string& subject);
  Status RecordFailures(Transaction& tx, const std::vector<std::string>& subjects);
  Status CheckLock(Transaction& tx, const std::string& subject);
  Status CheckLocks(Transaction& tx, const std::vector<std::string>& subjects);
  // The names a login's failures count under: the account, and with a client address the
  // account from that address and the address itself.
  StatusOr<std::vector<std::string>> LoginSubjects(const std::string& account,
                                                   std::string_view client);
  // The failure counter's name for a card or a username: a keyed hash, never the text.
  StatusOr<std::string> CardSubject(std::string_view card_barcode);
  StatusOr<std::string> UserSubject(std::string_view username);
  // A password asked again (to sign, or to change it) that was wrong: counted with the
  // account's failed logins and put on the log.
  Status RecordStepUpFailure(int64_t user_id, std::string_view what);
  Status CheckUserLock(int64_t user_id);

  // PINs accepted at kiosks lately (VerifyCardPin).
  struct RecentPins;
  void ForgetRecentPin(int64_t patron_id);

  Store* store_;
  AuditLog* audit_;
  Vault* vault_;
  const Clock* clock_;
  SessionPolicy policy_;
  std::shared_ptr<RecentPins> recent_pins_;
};

}  // namespace carrel
