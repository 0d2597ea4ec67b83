// Accounts, sessions, signing and the authorization table over real HTTP on loopback.

#include <gtest/gtest.h>
#include <httplib.h>
#include <sodium.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "api/routes.h"
#include "carrel/encoding.h"
#include "carrel/server.h"
#include "tests/support/contract_check.h"
#include "tests/support/store_count.h"
#include "tests/support/temp_dir.h"

namespace carrel {
namespace {

using nlohmann::json;
constexpr char kPassword[] = "correct horse battery";
constexpr char kPatronPin[] = "432198";

Date D(int y, int m, int d) { return Date(std::chrono::year(y) / m / d); }

class ApiAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Library& lib = *lib_.library;
    Actor setup{"os/test", "operator"};
    for (auto [name, role] : {std::pair{"staff1", Role::kStaff}, {"director1", Role::kDirector},
                              {"counsel1", Role::kCounsel}, {"board1", Role::kBoard},
                              {"admin1", Role::kAdmin}, {"spare1", Role::kStaff},
                              {"deputy1", Role::kStaff}, {"standby1", Role::kStaff}}) {
      auto u = lib.accounts().AddUser(setup, name, role, kPassword);
      ASSERT_TRUE(u.ok()) << u.status().ToString();
      user_ids_[name] = u->id;
    }
    NewUserOptions kiosk;
    kiosk.location = "Main floor self-check 1";
    auto k = lib.accounts().AddUser(setup, "kiosk1", Role::kKiosk, kPassword, kiosk);
    ASSERT_TRUE(k.ok()) << k.status().ToString();
    user_ids_["kiosk1"] = k->id;
    for (auto card : {"P-A", "P-B", "P-SPARE"}) {
      NewPatron p;
      p.card_barcode = card;
      p.name = std::string("Patron ") + card;
      p.expires_on = D(2028, 1, 1);
      auto added = lib.circulation().AddPatron(testing::kStaff, p);
      ASSERT_TRUE(added.ok());
      patron_ids_[card] = added->id;
      ASSERT_TRUE(lib.accounts()
                      .SetPatronPin(setup, added->id, kPatronPin,
                                    Accounts::PinOrigin::kChosenByPatron)
                      .ok());
    }
    ASSERT_TRUE(lib.circulation().AddItem(testing::kStaff, {"I-1", "T", "A", "C", "book"}).ok());
    ServerOptions options;
    options.login_per_minute = 1000;
    options.public_writes_per_minute = 1000;
    options.deliver_confirmation = [this](const std::string&, const std::string& token) {
      last_token_ = token;
    };
    server_ = std::make_unique<ApiServer>(lib_.library.get(), testing::ContractChecked(options));
    auto port = server_->Bind("127.0.0.1", 0);
    ASSERT_TRUE(port.ok());
    thread_ = std::thread([this] { (void)server_->Serve(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", *port);
    for (int i = 0; i < 100 && !client_->Get("/healthz"); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  void TearDown() override {
    server_->Stop();
    if (thread_.joinable()) thread_.join();
  }

  std::string LoginUser(const std::string& name, const std::string& password = kPassword) {
    auto res = client_->Post("/api/v1/session",
                             json{{"username", name}, {"password", password}}.dump(),
                             "application/json");
    if (!res || res->status != 201) return "";
    return json::parse(res->body)["token"];
  }
  std::string LoginPatron(const std::string& card) {
    auto res = client_->Post("/api/v1/session", json{{"card_barcode", card}, {"pin", kPatronPin}}.dump(),
                             "application/json");
    if (!res || res->status != 201) return "";
    return json::parse(res->body)["token"];
  }

  httplib::Result Call(const std::string& method, const std::string& path,
                       const std::string& token, const std::string& body = "{}") {
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    if (method == "GET") return client_->Get(path, headers);
    if (method == "DELETE") return client_->Delete(path, headers);
    if (method == "PUT") return client_->Put(path, headers, body, "application/json");
    if (method == "PATCH") return client_->Patch(path, headers, body, "application/json");
    return client_->Post(path, headers, body, "application/json");
  }

  // Entries on the audit log with this action.
  int64_t AuditCount(const std::string& action) {
    return testing::AuditedCount(lib_.library->store(), action);
  }
  int64_t Denials() { return AuditCount("access.denied"); }

  testing::TestLibrary lib_;
  std::map<std::string, int64_t> user_ids_, patron_ids_;
  std::string last_token_;
  std::unique_ptr<ApiServer> server_;
  std::unique_ptr<httplib::Client> client_;
  std::thread thread_;
};

// Every route x every kind of caller, expected outcome from the table itself.
TEST_F(ApiAuthTest, AuthorizationMatrix) {
  struct Caller {
    std::string name;
    uint32_t bit;
    std::function<std::string()> login;
  };
  std::vector<Caller> callers = {
      {"anonymous", kAnonymous, [] { return std::string(); }},
      {"patron (self)", kPatronSelf, [&] { return LoginPatron("P-A"); }},
      {"patron (other)", kPatronSelf, [&] { return LoginPatron("P-B"); }},
      {"staff", kStaff, [&] { return LoginUser("staff1"); }},
      {"director", kDirector, [&] { return LoginUser("director1"); }},
      {"counsel", kCounsel, [&] { return LoginUser("counsel1"); }},
      {"board", kBoard, [&] { return LoginUser("board1"); }},
      {"admin", kAdmin, [&] { return LoginUser("admin1"); }},
      // A self-check kiosk: its own routes and its session, nothing of the desk's.
      {"kiosk", kKiosk, [&] { return LoginUser("kiosk1"); }},
      // A designee appointed in writing, and one appointed only for the Director's absence
      // while the Director is present: staff, nothing more.
      {"designee", kStaff | kDesignee, [&] { return LoginUser("deputy1"); }},
      {"designee (Director present)", kStaff, [&] { return LoginUser("standby1"); }},
  };
  Instant now = lib_.clock.Now();
  for (auto [who, scope] : {std::pair{"deputy1", "standing"}, {"standby1", "absence"}}) {
    auto appointed = lib_.library->requests().Appoint(
        user_ids_["director1"], kPassword, user_ids_[who], *ParseAppointmentScope(scope),
        now - std::chrono::hours(1), now + std::chrono::hours(24 * 30));
    ASSERT_TRUE(appointed.ok()) << appointed.status().ToString();
  }
  int checked = 0;
  for (Caller& caller : callers) {
    std::string token = caller.login();
    if (caller.bit != kAnonymous) {
      ASSERT_FALSE(token.empty()) << caller.name;
    }
    for (const Route& route : RouteTable()) {
      // Concrete paths: patron A's record, a spare user and patron for destructive routes.
      std::string path(route.pattern);
      bool destructive = route.action == "patron.delete" || route.action == "user.disable" ||
                         route.action == "user.enable" || route.action == "patron.pin_reset";
      auto fill = [&](const std::string& name, const std::string& value) {
        size_t at = path.find("{" + name + "}");
        if (at != std::string::npos) path.replace(at, name.size() + 2, value);
      };
      std::string id = std::to_string(patron_ids_["P-A"]);
      if (route.pattern.find("/users/") != std::string_view::npos) {
        id = std::to_string(user_ids_["spare1"]);
      } else if (destructive) {
        id = std::to_string(patron_ids_["P-SPARE"]);
      } else if (route.pattern.find("/holds/") != std::string_view::npos ||
                 route.pattern.find("/fines/") != std::string_view::npos ||
                 route.pattern.find("/computer-sessions/") != std::string_view::npos) {
        id = "999999";
      }
      fill("id", id);
      fill("barcode", "I-1");
      std::string body = "{}";
      if (route.action == "patron.delete") body = "";
      // Logging out must not end the session the rest of the matrix uses.
      std::string use = token;
      if (route.action == "session.logout" && (route.allowed & caller.bit)) use = caller.login();
      if (route.action == "audit.proof") path += "?size=1&index=0";
      int64_t denials_before = Denials();
      auto res = Call(std::string(route.method), path, use, body);
      ASSERT_TRUE(res) << route.method << " " << path;
      bool allowed = (route.allowed & caller.bit) != 0;
      if (allowed) {
        EXPECT_NE(res->status, 401) << caller.name << " " << route.method << " " << path << " "
                                    << res->body;
        EXPECT_NE(res->status, 403) << caller.name << " " << route.method << " " << path << " "
                                    << res->body;
      } else {
        EXPECT_EQ(res->status, caller.bit == kAnonymous ? 401 : 403)
            << caller.name << " " << route.method << " " << path;
        EXPECT_EQ(res->get_header_value("Content-Type"), "application/problem+json");
        EXPECT_EQ(res->body.find("Patron P-"), std::string::npos) << "no data in a refusal";
        EXPECT_EQ(Denials(), denials_before + 1)
            << "the refusal is on the audit log: " << caller.name << " " << route.action;
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, static_cast<int>(RouteTable().size() * callers.size()));
}

TEST_F(ApiAuthTest, TheAdministratorReadsNoPatronData) {
  for (const Route& route : RouteTable()) {
    std::string_view a = route.action;
    bool touches_patrons = a.starts_with("patron.") || a.starts_with("me.") ||
                           a.starts_with("loan.") || a.starts_with("hold.") ||
                           a.starts_with("fine.") || a.starts_with("computer_session.") ||
                           a.starts_with("audit.");
    // The signed head and consistency proofs are public by design: sizes and hashes only.
    if (a == "audit.checkpoint" || a == "audit.consistency") {
      EXPECT_NE(route.allowed & kAnonymous, 0u) << route.action;
      continue;
    }
    if (touches_patrons) {
      EXPECT_EQ(route.allowed & kAdmin, 0u) << route.action;
    }
  }
}

TEST_F(ApiAuthTest, SignaturesNeedThePasswordEvenWithEveryKeyOnTheServer) {
  Accounts& accounts = lib_.library->accounts();
  int64_t director = user_ids_["director1"];
  auto sig = accounts.Sign(director, kPassword, SignedPurpose::kSessionProof, "release case 7, scope S");
  ASSERT_TRUE(sig.ok());
  auto user = accounts.GetUser(director);
  ASSERT_TRUE(user.ok());
  EXPECT_TRUE(Accounts::VerifySignature(user->signing_public_key, SignedPurpose::kSessionProof, "release case 7, scope S", *sig));
  EXPECT_FALSE(Accounts::VerifySignature(user->signing_public_key, SignedPurpose::kSessionProof, "release case 8, scope S", *sig));
  EXPECT_EQ(accounts.Sign(director, "wrong password!", SignedPurpose::kSessionProof, "x").status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(accounts.Sign(director, "", SignedPurpose::kSessionProof, "x").status().code(), StatusCode::kPermissionDenied);

  // Holding the database, the keyring and the master key is not enough: no key the server
  // has opens the sealed signing key.
  std::string sealed;
  ASSERT_TRUE(WithReadTransaction(lib_.library->store(), [&](Transaction& tx) {
    return tx.Exec("SELECT signing_secret_sealed FROM users WHERE id = ?", {director},
                   [&](const Row& row) {
                     sealed = row.Bytes(0);
                     return Status::Ok();
                   });
  }).ok());
  ASSERT_EQ(sealed.size(), 24u + 64u + 16u);
  auto names = lib_.library->keyring().LiveKeys("");
  ASSERT_TRUE(names.ok());
  ASSERT_FALSE(names->empty());
  std::string ad = "carrel/signing-key/v1|" + std::to_string(director);
  for (const std::string& name : *names) {
    auto key = lib_.library->keyring().Get(name);
    ASSERT_TRUE(key.ok());
    unsigned char out[64];
    auto* p = reinterpret_cast<const unsigned char*>(sealed.data());
    EXPECT_NE(crypto_aead_xchacha20poly1305_ietf_decrypt(
                  out, nullptr, nullptr, p + 24, sealed.size() - 24,
                  reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), p, (*key)->data()),
              0)
        << name;
  }
  auto keys = MasterKeyPath(lib_.dir / "lib");
  EXPECT_TRUE(std::filesystem::exists(keys));
}

TEST_F(ApiAuthTest, StepUpSigningOverHttpAndPasswordChangeReseals) {
  std::string token = LoginUser("director1");
  auto signed_ok = Call("POST", "/api/v1/session/signature", token,
                        json{{"statement", "I appoint staff1"}, {"password", kPassword}}.dump());
  ASSERT_TRUE(signed_ok);
  EXPECT_EQ(signed_ok->status, 201) << signed_ok->body;
  auto no_password = Call("POST", "/api/v1/session/signature", token,
                          json{{"statement", "I appoint staff1"}, {"password", "guess guess!"}}.dump());
  EXPECT_EQ(no_password->status, 403);
  auto changed = Call("POST", "/api/v1/session/password", token,
                      json{{"password", kPassword}, {"new_password", "a brand new passphrase"}}.dump());
  ASSERT_EQ(changed->status, 200) << changed->body;
  Accounts& accounts = lib_.library->accounts();
  EXPECT_FALSE(accounts.Sign(user_ids_["director1"], kPassword, SignedPurpose::kSessionProof, "x").ok());
  EXPECT_TRUE(accounts.Sign(user_ids_["director1"], "a brand new passphrase", SignedPurpose::kSessionProof, "x").ok());
}

TEST_F(ApiAuthTest, BadInputGetsProblemDetailsAndChangesNothing) {
  std::string token = LoginUser("staff1");
  auto malformed = Call("POST", "/api/v1/patrons", token, "{\"card_barcode\": ");
  EXPECT_EQ(malformed->status, 400);
  EXPECT_EQ(malformed->get_header_value("Content-Type"), "application/problem+json");
  auto wrong_type = Call("POST", "/api/v1/patrons", token,
                         json{{"card_barcode", 12}, {"name", "X"}, {"expires_on", "2030-01-01"}}.dump());
  EXPECT_EQ(wrong_type->status, 400);
  EXPECT_NE(json::parse(wrong_type->body)["detail"].get<std::string>().find("card_barcode"),
            std::string::npos);
  auto unknown = Call("POST", "/api/v1/loans", token,
                      json{{"item_barcode", "I-1"}, {"card_barcode", "P-A"}, {"urgent", true}}.dump());
  EXPECT_EQ(unknown->status, 400);
  EXPECT_NE(unknown->body.find("urgent"), std::string::npos) << "names the unknown field";
  std::string deep(50, '[');
  deep += std::string(50, ']');
  auto nested = Call("POST", "/api/v1/loans", token, "{\"a\":" + deep + "}");
  EXPECT_EQ(nested->status, 400);
  auto huge = Call("POST", "/api/v1/patrons", token, std::string(200 * 1024, ' '));
  EXPECT_EQ(huge->status, 413);
  auto bad_token = Call("GET", "/api/v1/session", "not-a-token");
  EXPECT_EQ(bad_token->status, 401);
  // Nothing was lent by any of that.
  auto item = lib_.library->circulation().FindItemByBarcode("I-1");
  ASSERT_TRUE(item.ok());
  EXPECT_EQ(item->status, ItemStatus::kAvailable);
}

TEST_F(ApiAuthTest, SessionsExpireEndOnDisableAndLogout) {
  std::string token = LoginUser("staff1");
  ASSERT_EQ(Call("GET", "/api/v1/session", token)->status, 200);
  lib_.clock.Advance(std::chrono::minutes(31));  // idle expiry
  EXPECT_EQ(Call("GET", "/api/v1/session", token)->status, 401);
  token = LoginUser("staff1");
  for (int i = 0; i < 30; ++i) {  // kept alive, but not beyond the absolute expiry
    lib_.clock.Advance(std::chrono::minutes(25));
    if (Call("GET", "/api/v1/session", token)->status != 200) break;
    ASSERT_LT(i, 29);
  }
  EXPECT_EQ(Call("GET", "/api/v1/session", token)->status, 401);

  token = LoginUser("spare1");
  std::string admin = LoginUser("admin1");
  ASSERT_EQ(Call("POST", "/api/v1/users/" + std::to_string(user_ids_["spare1"]) + "/disable", admin)
                ->status,
            200);
  EXPECT_EQ(Call("GET", "/api/v1/session", token)->status, 401) << "disabled: session ended";
  EXPECT_EQ(LoginUser("spare1"), "");

  token = LoginUser("counsel1");
  EXPECT_EQ(Call("DELETE", "/api/v1/session", token)->status, 200);
  EXPECT_EQ(Call("GET", "/api/v1/session", token)->status, 401);
}

TEST_F(ApiAuthTest, RepeatedFailuresLockTheAccount) {
  for (int i = 0; i < 5; ++i) EXPECT_EQ(LoginUser("staff1", "not the password"), "");
  auto locked = client_->Post("/api/v1/session",
                              json{{"username", "staff1"}, {"password", kPassword}}.dump(),
                              "application/json");
  ASSERT_TRUE(locked);
  EXPECT_EQ(locked->status, 429);
  EXPECT_NE(locked->body.find("try again after"), std::string::npos);
  lib_.clock.Advance(std::chrono::minutes(16));
  EXPECT_NE(LoginUser("staff1"), "");
}

// Waits grow with each failure, per account and client, per account, and per client; someone
// who keeps guessing the Director's password from elsewhere slows themselves down, not the
// Director (who waits a minute at most); a client spraying many accounts is stopped; and many
// failures across the library raise an alarm in the Director's and administrator's inboxes.
TEST_F(ApiAuthTest, BackOffSlowsGuessersWithoutLockingTheOwnerOut) {
  Accounts& accounts = lib_.library->accounts();
  const std::string attacker = "198.51.100.7", office = "203.0.113.9";
  auto code = [](const StatusOr<Session>& s) { return s.ok() ? StatusCode::kOk : s.status().code(); };
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(code(accounts.LoginUser("director1", "a guess", attacker)),
              StatusCode::kUnauthenticated);
  }
  // Right after: the account waits a second for everyone, the guesser thirty.
  EXPECT_EQ(code(accounts.LoginUser("director1", kPassword, office)),
            StatusCode::kResourceExhausted);
  lib_.clock.Advance(std::chrono::seconds(2));
  EXPECT_EQ(code(accounts.LoginUser("director1", kPassword, office)), StatusCode::kOk);
  EXPECT_EQ(code(accounts.LoginUser("director1", kPassword, attacker)),
            StatusCode::kResourceExhausted)
      << "the guesser's own wait holds even with the right password";
  // One guess each time the guesser's wait ends, for hours: their waits double up to fifteen
  // minutes, and the Director never waits more than a minute after the latest guess.
  int guesses = 0;
  for (int round = 0; round < 12; ++round) {
    for (int tries = 0; tries < 200; ++tries) {
      auto r = accounts.LoginUser("director1", "another guess", attacker);
      if (code(r) == StatusCode::kUnauthenticated) {
        ++guesses;
        break;
      }
      ASSERT_EQ(code(r), StatusCode::kResourceExhausted);
      lib_.clock.Advance(std::chrono::seconds(15));
    }
    lib_.clock.Advance(std::chrono::seconds(61));
    EXPECT_EQ(code(accounts.LoginUser("director1", kPassword, office)), StatusCode::kOk)
        << "round " << round;
  }
  EXPECT_GE(guesses, 10);

  // Spraying: twenty accounts from one client, and the client waits, for any account; another
  // client does not.
  const std::string sprayer = "192.0.2.44";
  for (int i = 0; i < 20; ++i) {
    (void)accounts.LoginUser("nobody" + std::to_string(i), "a guess", sprayer);
  }
  EXPECT_EQ(code(accounts.LoginUser("staff1", kPassword, sprayer)), StatusCode::kResourceExhausted);
  EXPECT_EQ(code(accounts.LoginUser("staff1", kPassword, office)), StatusCode::kOk);

  // The alarm: a hundred failures within an hour, from anywhere.
  lib_.clock.Advance(std::chrono::hours(2));
  for (int i = 0; i < static_cast<int>(kFailureAlarmPerHour); ++i) {
    (void)accounts.LoginUser("visitor" + std::to_string(i), "a guess",
                             "10.9." + std::to_string(i / 200) + "." + std::to_string(i % 200));
  }
  for (const char* who : {"director1", "admin1"}) {
    std::string token = LoginUser(who);
    auto inbox = Call("GET", "/api/v1/inbox", token);
    ASSERT_EQ(inbox->status, 200);
    EXPECT_NE(inbox->body.find("failed_logins_alarm"), std::string::npos) << who;
  }
  EXPECT_EQ(Call("GET", "/api/v1/inbox", LoginUser("staff1"))->body.find("failed_logins_alarm"),
            std::string::npos);
}

// A password or PIN asked again (to sign, to change a password, to sign a permission) is
// guessed no faster than at login: the same count and lock, each failure on the log; and the
// count is kept under a keyed hash, never the typed name or card, and goes when its window ends.
TEST_F(ApiAuthTest, StepUpFailuresCountWithLoginsUnderKeyedNames) {
  Library& lib = *lib_.library;
  auto count = [&](const std::string& sql) { return testing::QueryCount(lib.store(), sql); };
  std::string director = LoginUser("director1");
  json sign = {{"statement", "a statement"}, {"password", "a guess at it"}};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Call("POST", "/api/v1/session/signature", director, sign.dump())->status, 403);
  }
  json change = {{"password", "another guess"}, {"new_password", "a new password here"}};
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(Call("POST", "/api/v1/session/password", director, change.dump())->status, 403);
  }
  EXPECT_EQ(count("SELECT count(*) FROM audit_log WHERE carrel_audit_field(entry, 2) = "
                  "'auth.step_up.failed'"),
            5);
  // Five failures in all: the account is locked for logins and signatures alike.
  auto locked = client_->Post("/api/v1/session",
                              json{{"username", "director1"}, {"password", kPassword}}.dump(),
                              "application/json");
  EXPECT_EQ(locked->status, 429);
  sign["password"] = kPassword;
  EXPECT_EQ(Call("POST", "/api/v1/session/signature", director, sign.dump())->status, 429);

  // A patron's PIN asked again counts with the card's logins.
  std::string patron = LoginPatron("P-A");
  json permission = {{"recipient", "my attorney"}, {"categories", {"loans"}},
                     {"valid_until", "2027-06-30"}, {"pin", "000000"}};
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(Call("POST", "/api/v1/me/permissions", patron, permission.dump())->status, 403);
  }
  EXPECT_EQ(client_
                ->Post("/api/v1/session", json{{"card_barcode", "P-A"}, {"pin", kPatronPin}}.dump(),
                       "application/json")
                ->status,
            429);
  // Nothing typed is kept: no username, no card number.
  EXPECT_EQ(count("SELECT count(*) FROM login_failures WHERE subject LIKE '%director1%' OR "
                  "subject LIKE '%P-A%'"),
            0);
  // The director's account, the patron's card (the library-wide hourly count aside).
  EXPECT_EQ(count("SELECT count(*) FROM login_failures WHERE subject NOT LIKE 'rate:%'"), 2);
  // When the locks and their windows have passed, the next failure clears the old rows: what
  // is left is staff1's account, staff1 from this client, and this client.
  lib_.clock.Advance(std::chrono::minutes(31));
  EXPECT_EQ(LoginUser("staff1", "not the password"), "");
  EXPECT_EQ(count("SELECT count(*) FROM login_failures WHERE subject NOT LIKE 'rate:%'"), 3);
  EXPECT_EQ(count("SELECT count(*) FROM login_failures WHERE subject LIKE 'rate:%'"), 1);
  EXPECT_NE(LoginUser("director1"), "");
}

// Strangers cannot grow the append-only log as fast as they can send: refusals of callers
// nobody knows (no session, a dead token, failed logins and the waits after them) are written
// as the first of each kind on a route in a minute and then one counted entry for the rest of
// that minute. Refusals of known callers (a cookie request without its CSRF token) are each
// on the log under their name.
TEST_F(ApiAuthTest, StrangersCannotGrowTheLogFasterThanAMinuteAtATime) {
  Library& lib = *lib_.library;
  auto anonymous_entries = [&] {
    std::vector<AuditEntry> out;
    EXPECT_TRUE(WithReadTransaction(lib.store(), [&](Transaction& tx) -> Status {
      AuditQuery q;
      q.actor_id = "anonymous";
      q.limit = 1000;
      CARREL_ASSIGN_OR_RETURN(out, lib.audit().Find(tx, q));
      return Status::Ok();
    }).ok());
    return out;
  };
  size_t before = anonymous_entries().size();
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(Call("GET", "/api/v1/me/loans", "")->status, 401);
    EXPECT_EQ(Call("GET", "/api/v1/me/loans", "made-up-token-" + std::to_string(i))->status, 401);
  }
  // Failed logins: five hashed and refused, then the account's wait refuses the rest at once.
  int refused = 0, waited = 0;
  for (int i = 0; i < 40; ++i) {
    auto res = client_->Post("/api/v1/session",
                             json{{"username", "staff1"}, {"password", "a guess"}}.dump(),
                             "application/json");
    if (res->status == 401) ++refused;
    if (res->status == 429) ++waited;
  }
  EXPECT_EQ(refused + waited, 40);
  EXPECT_GT(waited, 0);
  std::vector<AuditEntry> during = anonymous_entries();
  EXPECT_EQ(during.size() - before, 4u) << "one entry for each route and kind so far";

  // The minute ends: the next refusal writes the counts of the rest.
  lib_.clock.Advance(std::chrono::minutes(1));
  EXPECT_EQ(Call("GET", "/api/v1/me/loans", "")->status, 401);
  std::vector<AuditEntry> after = anonymous_entries();
  std::map<std::string, int64_t> counted;
  for (size_t i = before; i < after.size(); ++i) {
    json details = json::parse(after[i].details);
    EXPECT_EQ(details.size(), 2u) << after[i].details << ": a count and a minute, nothing else";
    counted[after[i].action + " " + after[i].object_id] += details["count"].get<int64_t>();
  }
  EXPECT_EQ(counted["access.denied me.loans"], 201);
  EXPECT_EQ(counted["session.invalid me.loans"], 200);
  EXPECT_EQ(counted["auth.failed session.login"], refused);
  EXPECT_EQ(counted["auth.backoff session.login"], waited);
  EXPECT_LE(after.size() - before, 9u);

  // A known caller's refusal is theirs: a cookie write without its CSRF token.
  auto login = client_->Post("/api/v1/session",
                             json{{"username", "director1"}, {"password", kPassword}}.dump(),
                             "application/json");
  ASSERT_EQ(login->status, 201);
  std::string cookie = login->get_header_value("Set-Cookie");
  auto forged = client_->Post("/api/v1/items", httplib::Headers{{"Cookie", cookie.substr(0, cookie.find(';'))}},
                              R"({"barcode":"I-9","title":"T","item_type":"book"})",
                              "application/json");
  EXPECT_EQ(forged->status, 403);
  EXPECT_EQ(AuditCount("access.csrf_refused"), 1);
}

// Subscribing to the eNews answers the same whether or not the address is already there, so
// the answer does not tell a stranger who subscribes; only a new address is sent a message.
TEST_F(ApiAuthTest, TheENewsDoesNotSayWhoSubscribes) {
  std::string body = R"({"email":"reader@example.org"})";
  auto first = Call("POST", "/api/v1/enews/subscribe", "", body);
  ASSERT_EQ(first->status, 202);
  EXPECT_FALSE(last_token_.empty());
  last_token_.clear();
  auto second = Call("POST", "/api/v1/enews/subscribe", "", R"({"email":" Reader@Example.org "})");
  EXPECT_EQ(second->status, first->status);
  EXPECT_EQ(second->body, first->body);
  EXPECT_TRUE(last_token_.empty()) << "nothing sent for an address already there";
  auto other = Call("POST", "/api/v1/enews/subscribe", "", R"({"email":"someone@example.org"})");
  EXPECT_EQ(other->body, first->body);
  EXPECT_FALSE(last_token_.empty());
}

// Signatures are domain-separated: each purpose signs behind its own context line, so text a
// user signs through /session/signature (even a decision document, word for word) verifies as
// nothing but a session proof, and no purpose's signature verifies as another's.
TEST_F(ApiAuthTest, NothingSignedForOnePurposeVerifiesAsAnother) {
  Accounts& accounts = lib_.library->accounts();
  const std::vector<SignedPurpose> purposes = {
      SignedPurpose::kDecision,    SignedPurpose::kDisclosure, SignedPurpose::kAppointment,
      SignedPurpose::kRuling,      SignedPurpose::kBallot,     SignedPurpose::kBallotClose,
      SignedPurpose::kSchedule,    SignedPurpose::kLegalHold,  SignedPurpose::kApproval,
      SignedPurpose::kSessionProof};
  const std::string decision = R"({"case":"R-2026-0001","outcome":"release","scope":{}})";
  auto res = Call("POST", "/api/v1/session/signature", LoginUser("director1"),
                  json{{"statement", decision}, {"password", kPassword}}.dump());
  ASSERT_EQ(res->status, 201) << res->body;
  json v = json::parse(res->body);
  EXPECT_EQ(v["signed_context"], "carrel/session-proof/v1");
  std::string pk = *Base64Decode(v["public_key"].get<std::string>());
  std::string sig = *Base64Decode(v["signature"].get<std::string>());
  for (SignedPurpose p : purposes) {
    EXPECT_EQ(Accounts::VerifySignature(pk, p, decision, sig), p == SignedPurpose::kSessionProof)
        << PurposeContext(p);
  }
  std::set<std::string> contexts;
  for (SignedPurpose signed_as : purposes) {
    contexts.insert(std::string(PurposeContext(signed_as)));
    auto s = accounts.Sign(user_ids_["director1"], kPassword, signed_as, decision);
    ASSERT_TRUE(s.ok());
    for (SignedPurpose checked_as : purposes) {
      EXPECT_EQ(Accounts::VerifySignature(pk, checked_as, decision, *s), signed_as == checked_as)
          << PurposeContext(signed_as) << " as " << PurposeContext(checked_as);
    }
  }
  EXPECT_EQ(contexts.size(), purposes.size());
}

// A page elsewhere can make a browser post a form or text/plain without asking first; such a
// login (login CSRF) is refused before any password is checked.
TEST_F(ApiAuthTest, LoginTakesJsonOnly) {
  std::string body = json{{"username", "staff1"}, {"password", kPassword}}.dump();
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"}) {
    auto res = client_->Post("/api/v1/session", body, type);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 415) << type;
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/problem+json");
    EXPECT_EQ(res->get_header_value("Set-Cookie"), "");
  }
  auto ok = client_->Post("/api/v1/session", body, "application/json; charset=utf-8");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 201);
}

TEST_F(ApiAuthTest, CookieSessionsNeedTheCsrfToken) {
  auto res = client_->Post("/api/v1/session",
                           json{{"username", "staff1"}, {"password", kPassword}}.dump(),
                           "application/json");
  ASSERT_EQ(res->status, 201);
  std::string cookie = res->get_header_value("Set-Cookie");
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
  std::string csrf = json::parse(res->body)["csrf_token"];
  std::string pair = cookie.substr(0, cookie.find(';'));
  std::string body = json{{"barcode", "I-2"}, {"title", "T"}, {"item_type", "book"}}.dump();
  auto without = client_->Post("/api/v1/items", httplib::Headers{{"Cookie", pair}}, body,
                               "application/json");
  EXPECT_EQ(without->status, 403) << without->body;
  std::string wrong = csrf;
  wrong.back() = wrong.back() == 'a' ? 'b' : 'a';
  for (const std::string& bad : {wrong, csrf.substr(0, csrf.size() - 1), csrf + "x", std::string()}) {
    auto res = client_->Post("/api/v1/items", httplib::Headers{{"Cookie", pair}, {"X-CSRF-Token", bad}},
                             body, "application/json");
    EXPECT_EQ(res->status, 403);
  }
  EXPECT_FALSE(lib_.library->circulation().FindItemByBarcode("I-2").ok());
  auto with = client_->Post("/api/v1/items", httplib::Headers{{"Cookie", pair}, {"X-CSRF-Token", csrf}},
                            body, "application/json");
  EXPECT_EQ(with->status, 201) << with->body;
  EXPECT_EQ(client_->Get("/api/v1/session", httplib::Headers{{"Cookie", pair}})->status, 200);
}

TEST_F(ApiAuthTest, PatronPortalShowsOnlyMyOwnData) {
  std::string staff = LoginUser("staff1");
  ASSERT_EQ(Call("POST", "/api/v1/loans", staff,
                 json{{"item_barcode", "I-1"}, {"card_barcode", "P-A"}}.dump())
                ->status,
            201);
  std::string a = LoginPatron("P-A"), b = LoginPatron("P-B");
  auto mine = Call("GET", "/api/v1/me/loans", a);
  ASSERT_EQ(mine->status, 200);
  EXPECT_EQ(json::parse(mine->body)["loans"].size(), 1u);
  auto theirs = Call("GET", "/api/v1/me/loans", b);
  EXPECT_EQ(json::parse(theirs->body)["loans"].size(), 0u);
  auto export_a = Call("GET", "/api/v1/me/export", a);
  ASSERT_EQ(export_a->status, 200);
  EXPECT_EQ(json::parse(export_a->body)["patron"]["card_barcode"], "P-A");
  EXPECT_EQ(Call("GET", "/api/v1/patrons/" + std::to_string(patron_ids_["P-A"]), b)->status, 403);
  // eNews: the token goes to the address, not back to the caller.
  auto sub = Call("POST", "/api/v1/enews/subscribe", "", json{{"email", "r@example.org"}}.dump());
  EXPECT_EQ(sub->status, 202);
  EXPECT_EQ(sub->body.find(last_token_), std::string::npos);
  EXPECT_EQ(Call("POST", "/api/v1/enews/confirm", "", json{{"token", last_token_}}.dump())->status,
            200);
}

// A clerk may not become a patron: there is no route to set a PIN, a reset gives the clerk a
// one-time code for the patron (not a PIN), and a PIN not chosen by the patron opens loans and
// holds but not the reading history, the export, notices or permissions.
TEST_F(ApiAuthTest, StaffCannotBecomeAPatron) {
  const std::string a = std::to_string(patron_ids_["P-A"]);
  std::string staff = LoginUser("staff1");
  // The old way in is gone, for every method.
  for (const char* method : {"PUT", "POST", "PATCH"}) {
    auto res = Call(method, "/api/v1/patrons/" + a + "/pin", staff, R"({"pin":"999999"})");
    ASSERT_TRUE(res);
    EXPECT_TRUE(res->status == 404 || res->status == 405) << method << " " << res->status;
  }

  // A reset ends the patron's sessions at once; the code is not a PIN and opens nothing.
  std::string patron = LoginPatron("P-A");
  ASSERT_EQ(Call("GET", "/api/v1/me/history", patron)->status, 409);  // opted out, but allowed
  auto started = Call("POST", "/api/v1/patrons/" + a + "/pin-reset", staff);
  ASSERT_EQ(started->status, 201) << started->body;
  std::string code = json::parse(started->body)["code"];
  ASSERT_EQ(code.size(), 9u);
  EXPECT_EQ(AuditCount("patron.pin_reset.start"), 1);
  EXPECT_EQ(started->body.find("Patron P-A"), std::string::npos);
  EXPECT_EQ(Call("GET", "/api/v1/me", patron)->status, 401) << "the patron's session ended";
  auto login_with = [&](const std::string& pin) {
    return client_->Post("/api/v1/session", json{{"card_barcode", "P-A"}, {"pin", pin}}.dump(),
                         "application/json")
        ->status;
  };
  EXPECT_EQ(login_with(code), 401) << "a code is not a PIN";

  auto finish = [&](const std::string& card, const std::string& c, const std::string& pin) {
    return client_->Post("/api/v1/pin-reset",
                         json{{"card_barcode", card}, {"code", c}, {"new_pin", pin}}.dump(),
                         "application/json");
  };
  // Bad input writes nothing; a wrong code or another card's is refused alike.
  EXPECT_EQ(finish("P-A", code, "1234")->status, 400) << "shorter than the profile's minimum";
  EXPECT_EQ(finish("P-A", code, "12ab56")->status, 400);
  EXPECT_EQ(finish("P-A", "ZZZZ-ZZZZ", "246802")->status, 401);
  EXPECT_EQ(finish("P-B", code, "246802")->status, 401);
  EXPECT_EQ(login_with(kPatronPin), 201) << "the old PIN works until the code is used";
  // The patron uses it (in lower case, without the hyphen): once.
  std::string typed = code.substr(0, 4) + code.substr(5);
  for (char& ch : typed) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  auto used = finish("P-A", typed, "246802");
  ASSERT_EQ(used->status, 200) << used->body;
  EXPECT_EQ(finish("P-A", code, "135791")->status, 401) << "single use";
  EXPECT_EQ(login_with(kPatronPin), 401) << "the old PIN is gone";
  EXPECT_EQ(login_with("246802"), 201);
  EXPECT_EQ(AuditCount("patron.pin_reset.finish"), 1);

  // A code expires after 15 minutes.
  auto again = Call("POST", "/api/v1/patrons/" + a + "/pin-reset", staff);
  ASSERT_EQ(again->status, 201);
  lib_.clock.Advance(std::chrono::minutes(16));
  staff = LoginUser("staff1");
  EXPECT_EQ(finish("P-A", json::parse(again->body)["code"], "864200")->status, 401);
  EXPECT_EQ(login_with("246802"), 201);

  // A PIN set for the patron (by the seeder, or before this rule) opens loans, not history,
  // export, notices or permissions, until the patron chooses one of at least six digits.
  const std::string b = std::to_string(patron_ids_["P-B"]);
  ASSERT_TRUE(lib_.library->accounts().SetPatronPin(testing::kStaff, patron_ids_["P-B"], "1234").ok());
  auto login_b = client_->Post("/api/v1/session",
                               json{{"card_barcode", "P-B"}, {"pin", "1234"}}.dump(),
                               "application/json");
  ASSERT_EQ(login_b->status, 201);
  std::string pb = json::parse(login_b->body)["token"];
  EXPECT_EQ(Call("GET", "/api/v1/me/loans", pb)->status, 200);
  for (auto [method, path] : {std::pair{"GET", "/api/v1/me/history"},
                              {"PUT", "/api/v1/me/history"},
                              {"DELETE", "/api/v1/me/history"},
                              {"GET", "/api/v1/me/export"},
                              {"GET", "/api/v1/me/notices"},
                              {"GET", "/api/v1/me/permissions"},
                              {"POST", "/api/v1/me/permissions"}}) {
    // A body the route takes, so that what refuses is the PIN.
    auto res = Call(method, path, pb,
                    std::string(path) == "/api/v1/me/permissions"
                        ? R"({"recipient":"my attorney","valid_until":"2027-06-30","pin":"1234"})"
                        : R"({"keep_history":true})");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 403) << method << " " << path;
    EXPECT_NE(res->body.find("choose a PIN of your own"), std::string::npos) << res->body;
  }
  EXPECT_EQ(Call("PUT", "/api/v1/me/pin", pb, R"({"current_pin":"1234","new_pin":"12345"})")->status,
            400);
  EXPECT_EQ(Call("PUT", "/api/v1/me/pin", pb, R"({"current_pin":"9999","new_pin":"123456"})")->status,
            403);
  EXPECT_EQ(Call("PUT", "/api/v1/me/pin", pb, R"({"current_pin":"1234","new_pin":"975310"})")->status,
            200);
  EXPECT_EQ(Call("GET", "/api/v1/me/export", pb)->status, 200);
  EXPECT_EQ(Call("GET", "/api/v1/me/permissions", pb)->status, 200);
  (void)b;
}

// The administrator creates and disables accounts, but cannot make one that reaches patron
// data or signs: staff and counsel accounts wait for the Director (or a designee), Director
// and Board accounts for a majority of the Board, and a password set for an account is good
// only for choosing a new one.
TEST_F(ApiAuthTest, TheAdministratorCannotMakeAnAccountThatReachesPatrons) {
  Library& lib = *lib_.library;
  for (const char* name : {"board2", "board3"}) {
    ASSERT_TRUE(lib.accounts().AddUser({"os/test", "operator"}, name, Role::kBoard, kPassword).ok());
  }
  Instant now = lib_.clock.Now();
  ASSERT_TRUE(lib.requests()
                  .Appoint(user_ids_["director1"], kPassword, user_ids_["deputy1"],
                           AppointmentScope::kStanding, now - std::chrono::hours(1),
                           now + std::chrono::hours(24 * 30))
                  .ok());
  const std::string initial = "an initial password";
  std::string admin = LoginUser("admin1");
  auto create = [&](const std::string& name, const std::string& role) -> int64_t {
    auto res = Call("POST", "/api/v1/users", admin,
                    json{{"username", name}, {"role", role}, {"password", initial}}.dump());
    EXPECT_EQ(res->status, 201) << res->body;
    json v = json::parse(res->body);
    EXPECT_EQ(v["pending"], role != "admin") << role;
    EXPECT_EQ(v["must_change_password"], true);
    return v["id"];
  };
  auto approve = [&](const std::string& token, int64_t id, const std::string& password = kPassword) {
    return Call("POST", "/api/v1/users/" + std::to_string(id) + "/approve", token,
                json{{"password", password}}.dump());
  };
  const std::string search = R"({"card_barcode":"P-A"})";

  // A staff account made by the administrator: no login until approved.
  int64_t clerk = create("clerk9", "staff");
  EXPECT_EQ(LoginUser("clerk9", initial), "");
  // The administrator may not approve it, or see the list; nor may the Board, a designee only
  // for the Director's absence, or the clerk's own colleagues.
  int64_t denials = Denials();
  EXPECT_EQ(approve(admin, clerk)->status, 403);
  EXPECT_EQ(Call("GET", "/api/v1/users/pending", admin)->status, 403);
  EXPECT_EQ(Denials(), denials + 2);
  EXPECT_EQ(approve(LoginUser("board1"), clerk)->status, 403);
  EXPECT_EQ(approve(LoginUser("standby1"), clerk)->status, 403);
  EXPECT_EQ(approve(LoginUser("staff1"), clerk)->status, 403);
  EXPECT_EQ(AuditCount("user.approve.refused"), 1) << "the Board member's try";
  // The Director sees it waiting, and signs the approval with their password.
  std::string director = LoginUser("director1");
  auto pending = Call("GET", "/api/v1/users/pending", director);
  ASSERT_EQ(pending->status, 200);
  EXPECT_NE(pending->body.find("clerk9"), std::string::npos);
  EXPECT_EQ(approve(director, clerk, "not my password")->status, 403);
  EXPECT_EQ(AuditCount("user.approve.refused"), 2);
  auto approved = approve(director, clerk);
  ASSERT_EQ(approved->status, 200) << approved->body;
  EXPECT_EQ(json::parse(approved->body)["active"], true);
  EXPECT_EQ(AuditCount("user.approve"), 1);

  // Approved, the initial password logs in for one thing only: choosing a new one.
  std::string clerk_token = LoginUser("clerk9", initial);
  ASSERT_FALSE(clerk_token.empty());
  auto refused = Call("POST", "/api/v1/patrons/search", clerk_token, search);
  EXPECT_EQ(refused->status, 403);
  EXPECT_NE(refused->body.find("change your password first"), std::string::npos);
  EXPECT_EQ(refused->body.find("Patron P-A"), std::string::npos);
  EXPECT_EQ(Call("POST", "/api/v1/session/signature", clerk_token,
                 json{{"statement", "x"}, {"password", initial}}.dump())
                ->status,
            403);
  auto who = Call("GET", "/api/v1/session", clerk_token);
  ASSERT_EQ(who->status, 200);
  EXPECT_EQ(json::parse(who->body)["must_change_password"], true);
  ASSERT_EQ(Call("POST", "/api/v1/session/password", clerk_token,
                 json{{"password", initial}, {"new_password", "the clerk's own password"}}.dump())
                ->status,
            200);
  EXPECT_EQ(Call("POST", "/api/v1/patrons/search", clerk_token, search)->status, 200);
  EXPECT_EQ(LoginUser("clerk9", initial), "") << "the initial password is gone";

  // A second Director: the Director cannot approve it, nor can one Board member alone.
  int64_t rival = create("director2", "director");
  EXPECT_EQ(approve(director, rival)->status, 403);
  auto one = approve(LoginUser("board1"), rival);
  ASSERT_EQ(one->status, 200) << one->body;
  EXPECT_EQ(json::parse(one->body)["active"], false);
  EXPECT_EQ(json::parse(one->body)["needed"], 2);
  EXPECT_EQ(approve(LoginUser("board1"), rival)->status, 409) << "one vote per member";
  EXPECT_EQ(LoginUser("director2", initial), "");
  auto two = approve(LoginUser("board2"), rival);
  ASSERT_EQ(two->status, 200);
  EXPECT_EQ(json::parse(two->body)["active"], true);
  EXPECT_NE(LoginUser("director2", initial), "");

  // Disabling the real Director and enabling them again leaves them waiting for the Board.
  const std::string d1 = std::to_string(user_ids_["director1"]);
  ASSERT_EQ(Call("POST", "/api/v1/users/" + d1 + "/disable", admin)->status, 200);
  EXPECT_EQ(Call("GET", "/api/v1/users/pending", director)->status, 401) << "sessions end";
  auto enabled = Call("POST", "/api/v1/users/" + d1 + "/enable", admin);
  ASSERT_EQ(enabled->status, 200);
  EXPECT_EQ(json::parse(enabled->body)["pending"], true);
  EXPECT_EQ(LoginUser("director1"), "");
  ASSERT_EQ(approve(LoginUser("board1"), user_ids_["director1"])->status, 200);
  ASSERT_EQ(approve(LoginUser("board3"), user_ids_["director1"])->status, 200);
  EXPECT_NE(LoginUser("director1"), "");

  // A designee whose standing appointment covers it approves a counsel account.
  int64_t lawyer = create("counsel9", "counsel");
  auto by_deputy = approve(LoginUser("deputy1"), lawyer);
  ASSERT_EQ(by_deputy->status, 200) << by_deputy->body;
  EXPECT_EQ(json::parse(by_deputy->body)["active"], true);
  // Nobody approves their own account; an administrator's account needs no approval (it
  // reaches no patron data) but its password is good for a change only.
  int64_t admin2 = create("admin9", "admin");
  (void)admin2;
  std::string admin9 = LoginUser("admin9", initial);
  ASSERT_FALSE(admin9.empty());
  EXPECT_EQ(Call("GET", "/api/v1/users", admin9)->status, 403);
}

TEST_F(ApiAuthTest, RetentionScheduleIsSignedByTheDirectorAlone) {
  Library& lib = *lib_.library;
  json schedule = json::parse(ScheduleDocument(ScheduleFromProfile(lib.profile())));
  json body = {{"schedule", schedule}, {"reason", "adopted"}, {"password", kPassword}};
  // Nobody else can, even with their own right password.
  for (const char* who : {"staff1", "counsel1", "board1", "admin1"}) {
    auto res = Call("POST", "/api/v1/retention/schedules", LoginUser(who), body.dump());
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 403) << who;
  }
  std::string director = LoginUser("director1");
  // Not without the password again, and not a malformed schedule.
  json no_password = body;
  no_password["password"] = "wrong password!";
  EXPECT_EQ(Call("POST", "/api/v1/retention/schedules", director, no_password.dump())->status, 403);
  json bad = body;
  bad["schedule"]["rules"] = json::array();
  EXPECT_EQ(Call("POST", "/api/v1/retention/schedules", director, bad.dump())->status, 400);
  EXPECT_EQ(Call("GET", "/api/v1/retention/plan", director)->status, 409);  // none signed yet

  auto signed_res = Call("POST", "/api/v1/retention/schedules", director, body.dump());
  ASSERT_TRUE(signed_res);
  ASSERT_EQ(signed_res->status, 201) << signed_res->body;
  json v = json::parse(signed_res->body);
  EXPECT_EQ(v["version"], 1);
  // Anyone on the staff can read it and check the signature with the Director's public key.
  auto read = Call("GET", "/api/v1/retention/schedule", LoginUser("staff1"));
  ASSERT_EQ(read->status, 200);
  json current = json::parse(read->body);
  auto pk = Base64Decode(current["public_key"].get<std::string>());
  auto sig = Base64Decode(current["signature"].get<std::string>());
  ASSERT_TRUE(pk.ok() && sig.ok());
  EXPECT_TRUE(Accounts::VerifySignature(
      *pk, SignedPurpose::kSchedule,
      lib.retention().SignedMessage(1, current["document"].get<std::string>(), "adopted"), *sig));
  // The Board reads plans and runs; the administrator runs; counts only, no patron data.
  auto plan = Call("GET", "/api/v1/retention/plan", LoginUser("board1"));
  ASSERT_EQ(plan->status, 200) << plan->body;
  EXPECT_EQ(plan->body.find("Patron "), std::string::npos);
  auto run = Call("POST", "/api/v1/retention/runs", LoginUser("admin1"));
  ASSERT_EQ(run->status, 201) << run->body;
  auto runs = Call("GET", "/api/v1/retention/runs", LoginUser("board1"));
  ASSERT_EQ(runs->status, 200);
  EXPECT_EQ(json::parse(runs->body)["runs"].size(), 1u);
  // Legal holds: the Director, with the password; counsel can see them.
  json hold = {{"patron_id", patron_ids_["P-A"]}, {"reason", "court order"},
               {"password", kPassword}};
  auto placed = Call("POST", "/api/v1/legal-holds", director, hold.dump());
  ASSERT_EQ(placed->status, 201) << placed->body;
  int64_t hold_id = json::parse(placed->body)["id"];
  auto listed = Call("GET", "/api/v1/legal-holds", LoginUser("counsel1"));
  ASSERT_EQ(listed->status, 200);
  EXPECT_EQ(json::parse(listed->body)["holds"].size(), 1u);
  EXPECT_EQ(Call("POST", "/api/v1/legal-holds/" + std::to_string(hold_id) + "/release", director,
                 json{{"password", "wrong password!"}}.dump())
                ->status,
            403);
  EXPECT_EQ(Call("POST", "/api/v1/legal-holds/" + std::to_string(hold_id) + "/release", director,
                 json{{"password", kPassword}}.dump())
                ->status,
            200);
}

// When the library sends reset codes itself (the profile's pin_reset_command), the desk starts
// a reset and never sees the code: it goes to the command on standard input, with the address
// to send it to, and the patron uses it.
TEST(PinResetDeliveryTest, TheDeskNeverSeesACodeTheLibrarySends) {
  testing::TestLibrary lib;
  std::filesystem::path sent = lib.dir / "sent.json";
  {
    std::ofstream profile(Library::ProfilePath(lib.dir / "lib"), std::ios::app);
    profile << "\n[patrons]\npin_reset_command = [\"/bin/sh\", \"-c\", \"cat > "
            << sent.string() << ".part && mv " << sent.string() << ".part " << sent.string()
            << "\", \"deliver\"]\n";
  }
  lib.library.reset();
  auto reopened = Library::Open(lib.dir / "lib", &lib.clock);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  lib.library = std::move(reopened).value();
  ASSERT_TRUE(lib.library->accounts()
                  .AddUser({"os/test", "operator"}, "desk1", Role::kStaff, kPassword)
                  .ok());
  NewPatron with_email;
  with_email.card_barcode = "P-MAIL";
  with_email.name = "Patron by mail";
  with_email.email = "reader@example.org";
  with_email.expires_on = D(2028, 1, 1);
  auto reader = lib.circulation().AddPatron(testing::kStaff, with_email);
  ASSERT_TRUE(reader.ok());
  NewPatron unreachable = with_email;
  unreachable.card_barcode = "P-NONE";
  unreachable.email.clear();
  auto nobody = lib.circulation().AddPatron(testing::kStaff, unreachable);
  ASSERT_TRUE(nobody.ok());

  ApiServer server(lib.library.get(), testing::ContractChecked());
  auto port = server.Bind("127.0.0.1", 0);
  ASSERT_TRUE(port.ok());
  std::thread serving([&] { (void)server.Serve(); });
  httplib::Client client("127.0.0.1", *port);
  auto login = client.Post("/api/v1/session",
                           json{{"username", "desk1"}, {"password", kPassword}}.dump(),
                           "application/json");
  ASSERT_TRUE(login && login->status == 201);
  httplib::Headers bearer = {
      {"Authorization", "Bearer " + json::parse(login->body)["token"].get<std::string>()}};
  auto started = client.Post("/api/v1/patrons/" + std::to_string(reader->id) + "/pin-reset",
                             bearer, "{}", "application/json");
  ASSERT_TRUE(started);
  EXPECT_EQ(started->status, 201) << started->body;
  json answer = json::parse(started->body);
  EXPECT_EQ(answer["sent"], true);
  EXPECT_FALSE(answer.contains("code")) << "the desk never sees it";
  auto refused = client.Post("/api/v1/patrons/" + std::to_string(nobody->id) + "/pin-reset",
                             bearer, "{}", "application/json");
  EXPECT_EQ(refused->status, 409) << "no address to send it to";
  for (int i = 0; i < 200 && !std::filesystem::exists(sent); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::ifstream in(sent);
  json message = json::parse(in, nullptr, false);
  ASSERT_TRUE(message.is_object());
  EXPECT_EQ(message["email"], "reader@example.org");
  std::string code = message["code"];
  auto used = client.Post("/api/v1/pin-reset",
                          json{{"card_barcode", "P-MAIL"}, {"code", code}, {"new_pin", "258013"}}.dump(),
                          "application/json");
  EXPECT_EQ(used->status, 200) << used->body;
  server.Stop();
  serving.join();
}

// The first Board: while the Board has no active member, the Director approves Board accounts;
// from the first member on, only the Board does.
TEST(AccountApprovalTest, TheDirectorSeatsTheFirstBoardMemberAndNoMore) {
  testing::TestLibrary lib;
  Accounts& accounts = lib.library->accounts();
  Actor op{"os/test", "operator"};
  auto director = accounts.AddUser(op, "director9", Role::kDirector, kPassword);
  ASSERT_TRUE(director.ok());
  NewUserOptions pending;
  pending.needs_approval = true;
  auto first = accounts.AddUser(op, "trustee1", Role::kBoard, kPassword, pending);
  auto second = accounts.AddUser(op, "trustee2", Role::kBoard, kPassword, pending);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_TRUE(first->pending);
  auto seated = accounts.Approve(director->id, kPassword, first->id, false);
  ASSERT_TRUE(seated.ok()) << seated.status().ToString();
  EXPECT_TRUE(seated->active);
  EXPECT_EQ(accounts.Approve(director->id, kPassword, second->id, false).status().code(),
            StatusCode::kPermissionDenied);
  auto by_board = accounts.Approve(first->id, kPassword, second->id, false);
  ASSERT_TRUE(by_board.ok()) << by_board.status().ToString();
  EXPECT_TRUE(by_board->active);
  EXPECT_EQ(accounts.Approve(first->id, kPassword, first->id, false).status().code(),
            StatusCode::kFailedPrecondition)
      << "already approved";
}

}  // namespace
}  // namespace carrel
