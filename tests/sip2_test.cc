// SIP2 for self-check kiosks (docs/sip2.md), over real TCP and TLS on loopback, spoken by a
// client written from the specification (tests/support/sip2_client.h), never by the server's
// own codec.

#include "carrel/sip2.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <thread>

#include "carrel/server.h"
#include "tests/support/contract_check.h"
#include "tests/support/run.h"
#include "tests/support/sip2_client.h"
#include "tests/support/start_refusals.h"
#include "tests/support/store_count.h"
#include "tests/support/temp_dir.h"

namespace carrel {
namespace {

using testing::kSipDate;
using testing::SipAnswer;
using testing::SipClient;

constexpr char kKioskPassword[] = "kiosk password 1";
constexpr char kPin[] = "246810";
constexpr char kOtherPin[] = "135790";
const std::string kNoDate(18, ' ');

// What no answer to a kiosk may ever hold: the patron's surname, email, phone, address.
const char* const kNeverSent[] = {"Quillcanary", "canary@example.org", "555-0100", "Canary Lane",
                                  "Robin"};

class Sip2Test : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    Library& lib = *lib_.library;
    Actor setup{"os/test", "operator"};
    NewUserOptions kiosk;
    kiosk.location = "Main floor self-check 1";
    auto k = lib.accounts().AddUser(setup, "kiosk1", Role::kKiosk, kKioskPassword, kiosk);
    ASSERT_TRUE(k.ok()) << k.status().ToString();
    kiosk_id_ = k->id;
    ASSERT_TRUE(lib.accounts().AddUser(setup, "desk1", Role::kStaff, kKioskPassword).ok());
    NewPatron a;
    a.card_barcode = "P-1";
    a.name = "Casey Quillcanary";
    a.email = "canary@example.org";
    a.phone = "555-0100";
    a.postal_address = "1 Canary Lane\nWestport";
    a.expires_on = Date(std::chrono::year(2028) / 1 / 1);
    auto pa = lib.circulation().AddPatron(testing::kStaff, a);
    ASSERT_TRUE(pa.ok());
    patron_a_ = pa->id;
    NewPatron b = a;
    b.card_barcode = "P-2";
    b.name = "Robin Quillcanary";
    auto pb = lib.circulation().AddPatron(testing::kStaff, b);
    ASSERT_TRUE(pb.ok());
    patron_b_ = pb->id;
    ASSERT_TRUE(lib.accounts().SetPatronPin(setup, patron_a_, kPin).ok());
    ASSERT_TRUE(lib.accounts().SetPatronPin(setup, patron_b_, kOtherPin).ok());
    for (const char* item : {"I-1", "I-2", "I-3", "I-4", "I-5"}) {
      ASSERT_TRUE(lib.circulation()
                      .AddItem(testing::kStaff,
                               {item, std::string("Title of ") + item, "Author", "FIC 1", "book"})
                      .ok());
    }
    api_ = std::make_unique<ApiServer>(lib_.library.get(), testing::ContractChecked());
    Sip2Options options;
    options.tls = GetParam();
    if (options.tls) {
      options.tls_cert_file = (lib_.dir / "cert.pem").string();
      options.tls_key_file = (lib_.dir / "key.pem").string();
      std::string cmd =
          "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
          "-keyout " +
          options.tls_key_file + " -out " + options.tls_cert_file +
          " -days 1 -subj /CN=127.0.0.1 >/dev/null 2>&1";
      ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl could not make a test certificate";
    }
    sip2_ = std::make_unique<Sip2Server>(api_.get(), lib_.library.get(), options);
    auto port = sip2_->Bind("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.status().ToString();
    port_ = *port;
    thread_ = std::thread([this] { (void)sip2_->Serve(); });
  }
  void TearDown() override {
    if (sip2_) sip2_->Stop();
    if (thread_.joinable()) thread_.join();
  }

  std::unique_ptr<SipClient> Connect() {
    auto c = std::make_unique<SipClient>(port_, GetParam());
    EXPECT_TRUE(c->connected());
    return c;
  }
  // A connection logged in as the kiosk.
  std::unique_ptr<SipClient> Kiosk() {
    auto c = Connect();
    SipAnswer login = c->Send(std::string("9300CNkiosk1|CO") + kKioskPassword + "|CPmain|");
    EXPECT_EQ(login.code, "94");
    EXPECT_EQ(login.fixed, "1") << login.raw;
    return c;
  }

  // Every answer is checked as the specification says: its own fixed fields' length, the
  // sequence number of the message it answers, a checksum that matches, and nothing the kiosk
  // must not be told.
  SipAnswer Exchange(SipClient& c, const std::string& body) {
    std::string sent_sequence;
    SipAnswer a = c.Send(body);
    char sequence = c.last_sent()[c.last_sent().size() - 7];
    EXPECT_TRUE(a.well_formed) << a.raw;
    EXPECT_TRUE(a.checksum_present && a.checksum_ok) << a.raw;
    EXPECT_EQ(a.sequence, sequence) << a.raw;
    for (const char* never : kNeverSent) {
      EXPECT_EQ(a.raw.find(never), std::string::npos) << "sent " << never << ": " << a.raw;
    }
    for (const char* id : {"BD", "BE", "BF", "PB", "CY", "DA"}) {
      EXPECT_FALSE(a.Has(id)) << "field " << id << " in " << a.raw;
    }
    return a;
  }

  int64_t Count(const std::string& sql) { return testing::QueryCount(lib_.library->store(), sql); }
  int64_t Audited(const std::string& action) {
    return testing::AuditedCount(lib_.library->store(), action);
  }
  int64_t Loans() { return Count("SELECT count(*) FROM loans"); }
  std::string Checkout(const std::string& card, const std::string& pin, const std::string& item) {
    return std::string("11YN") + kSipDate + kNoDate + "AOwestport|AA" + card + "|AB" + item +
           "|AD" + pin + "|";
  }

  testing::TestLibrary lib_;
  int64_t kiosk_id_ = 0, patron_a_ = 0, patron_b_ = 0;
  std::unique_ptr<ApiServer> api_;
  std::unique_ptr<Sip2Server> sip2_;
  std::thread thread_;
  int port_ = 0;
};

INSTANTIATE_TEST_SUITE_P(Transport, Sip2Test, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Tls" : "Tcp"; });

TEST_P(Sip2Test, EveryMessagePairAnswersWithTheFieldsAKioskNeeds) {
  auto c = Kiosk();
  // 99/98: online, open (the test clock is a Tuesday morning), where the kiosk stands.
  SipAnswer status = Exchange(*c, "9900302.00");
  ASSERT_EQ(status.code, "98");
  EXPECT_EQ(status.fixed.substr(0, 3), "YYY") << status.raw;
  EXPECT_EQ(status.fixed.substr(30, 4), "2.00");
  EXPECT_EQ(status.Field("AN"), "Main floor self-check 1");
  EXPECT_EQ(status.Field("BX").size(), 16u);

  // 23/24: the card and PIN accepted; the first name only.
  SipAnswer patron =
      Exchange(*c, std::string("23001") + kSipDate + "AOwestport|AAP-1|AD" + kPin + "|");
  ASSERT_EQ(patron.code, "24");
  EXPECT_EQ(patron.fixed.substr(0, 14), std::string(14, ' '));
  EXPECT_EQ(patron.Field("AE"), "Casey");
  EXPECT_EQ(patron.Field("BL"), "Y");
  EXPECT_EQ(patron.Field("CQ"), "Y");
  EXPECT_EQ(patron.Field("AA"), "P-1");

  // 11/12: a checkout, with the title and due date.
  SipAnswer out = Exchange(*c, Checkout("P-1", kPin, "I-1"));
  ASSERT_EQ(out.code, "12");
  EXPECT_EQ(out.fixed[0], '1') << out.raw;
  EXPECT_EQ(out.fixed[1], 'N');
  EXPECT_EQ(out.Field("AJ"), "Title of I-1");
  EXPECT_EQ(out.Field("AH").size(), 18u);
  EXPECT_EQ(out.Field("AB"), "I-1");
  EXPECT_EQ(Exchange(*c, Checkout("P-1", kPin, "I-2")).fixed[0], '1');

  // 17/18: charged, with its due date; nobody named.
  SipAnswer item = Exchange(*c, std::string("17") + kSipDate + "AOwestport|ABI-1|");
  ASSERT_EQ(item.code, "18");
  EXPECT_EQ(item.fixed.substr(0, 2), "04");
  EXPECT_EQ(item.Field("AH"), out.Field("AH"));
  EXPECT_FALSE(item.Has("AA"));
  SipAnswer shelf = Exchange(*c, std::string("17") + kSipDate + "AOwestport|ABI-3|");
  EXPECT_EQ(shelf.fixed.substr(0, 2), "03");

  // 63/64: counts, and the charged items' list.
  SipAnswer info =
      Exchange(*c, std::string("63001") + kSipDate + "  Y       AOwestport|AAP-1|AD" + kPin + "|");
  ASSERT_EQ(info.code, "64");
  EXPECT_EQ(info.fixed.substr(35 + 8, 4), "0002") << info.raw;  // charged items
  std::vector<std::string> charged = info.All("AU");
  std::sort(charged.begin(), charged.end());
  EXPECT_EQ(charged, (std::vector<std::string>{"I-1", "I-2"}));

  // 29/30: a renewal with a new due date; 65/66: renew all.
  SipAnswer renewed = Exchange(
      *c, std::string("29NN") + kSipDate + kNoDate + "AOwestport|AAP-1|AD" + kPin + "|ABI-1|");
  ASSERT_EQ(renewed.code, "30");
  EXPECT_EQ(renewed.fixed.substr(0, 2), "1Y") << renewed.raw;
  SipAnswer all = Exchange(*c, std::string("65") + kSipDate + "AOwestport|AAP-1|AD" + kPin + "|");
  ASSERT_EQ(all.code, "66");
  EXPECT_EQ(all.fixed[0], '1');
  EXPECT_EQ(all.fixed.substr(1, 4), std::to_string(100000 + all.All("BM").size()).substr(2));

  // 15/16: patron B holds I-2 (out to A), and cancels; places it again.
  std::string hold_b = std::string("AOwestport|AAP-2|AD") + kOtherPin + "|ABI-2|";
  SipAnswer held = Exchange(*c, std::string("15+") + kSipDate + hold_b);
  ASSERT_EQ(held.code, "16");
  EXPECT_EQ(held.fixed[0], '1') << held.raw;
  EXPECT_EQ(Exchange(*c, std::string("15-") + kSipDate + hold_b).fixed[0], '1');
  EXPECT_EQ(Exchange(*c, std::string("15+") + "20261201    100001" + hold_b).fixed[0], '1');

  // 09/10: I-2 comes back and goes to the hold shelf; the returns machine is not told for whom.
  SipAnswer in =
      Exchange(*c, std::string("09N") + kSipDate + kSipDate + "APmain|AOwestport|ABI-2|");
  ASSERT_EQ(in.code, "10");
  EXPECT_EQ(in.fixed.substr(0, 4), "1YNY") << in.raw;
  EXPECT_EQ(in.Field("CV"), "01");
  EXPECT_EQ(in.Field("CL"), "hold-shelf");
  EXPECT_FALSE(in.Has("AA"));
  EXPECT_FALSE(in.Has("AE"));

  // 37/38: an overdue fine, listed (63 with fine items) and paid in full at the kiosk.
  lib_.clock.Set(lib_.clock.Now() + std::chrono::hours(24 * 90));
  ASSERT_EQ(
      Exchange(*c, std::string("09N") + kSipDate + kSipDate + "APmain|AOwestport|ABI-1|").fixed[0],
      '1');
  SipAnswer fines =
      Exchange(*c, std::string("63001") + kSipDate + "   Y      AOwestport|AAP-1|AD" + kPin + "|");
  ASSERT_EQ(fines.All("AV").size(), 1u) << fines.raw;
  std::string fee = fines.All("AV")[0];
  std::string fee_id = fee.substr(0, fee.find(' '));
  std::string amount = fee.substr(fee.find(' ') + 1);
  EXPECT_EQ(fines.Field("BV"), amount);
  SipAnswer paid = Exchange(*c, std::string("37") + kSipDate + "0100USDBV" + amount +
                                    "|AOwestport|AAP-1|AD" + kPin + "|CG" + fee_id + "|BKtx-1|");
  ASSERT_EQ(paid.code, "38");
  EXPECT_EQ(paid.fixed[0], 'Y') << paid.raw;
  EXPECT_EQ(paid.Field("BK"), "tx-1");
  EXPECT_EQ(Count("SELECT count(*) FROM fines WHERE status = 'owed'"), 0);

  // 35/36, and 97: the last answer again, byte for byte.
  SipAnswer end = Exchange(*c, std::string("35") + kSipDate + "AOwestport|AAP-1|");
  ASSERT_EQ(end.code, "36");
  EXPECT_EQ(end.fixed[0], 'Y');
  SipAnswer again = c->SendRaw("97AZ" + testing::SipChecksum("97AZ"));
  EXPECT_EQ(again.raw, end.raw);

  // Every operation is on the audit log as the kiosk's.
  EXPECT_EQ(Audited("loan.checkout"), 2);
  EXPECT_GE(Audited("loan.renew"), 1);
  EXPECT_EQ(Audited("loan.checkin"), 2);
  EXPECT_EQ(Audited("fine.pay"), 1);
}

TEST_P(Sip2Test, TheStatusSaysClosedWhenTheCalendarDoes) {
  auto c = Kiosk();
  // 01:00 on a Wednesday in Westport: the library is closed.
  lib_.clock.Set(
      Instant(std::chrono::sys_days(std::chrono::year(2026) / 12 / 2) + std::chrono::hours(6)));
  SipAnswer closed = Exchange(*c, "9900302.00");
  ASSERT_EQ(closed.code, "98");
  EXPECT_EQ(closed.fixed.substr(0, 3), "YYN") << "online, returns taken, nothing lent";
  EXPECT_NE(closed.Field("AF").find("closed"), std::string::npos) << closed.raw;
}

TEST_P(Sip2Test, ABadChecksumIsAskedForAgainAndDoesNothing) {
  auto c = Kiosk();
  std::string text = Checkout("P-1", kPin, "I-1") + "AY1AZ";
  std::string wrong = testing::SipChecksum(text) == "0000" ? "0001" : "0000";
  SipAnswer a = c->SendRaw(text + wrong);
  EXPECT_EQ(a.code, "96") << a.raw;
  EXPECT_TRUE(a.checksum_ok);
  EXPECT_EQ(Loans(), 0);
  // A lower-case checksum is the same number.
  std::string right = testing::SipChecksum(text);
  std::transform(right.begin(), right.end(), right.begin(), ::tolower);
  SipAnswer ok = c->SendRaw(text + right);
  EXPECT_EQ(ok.code, "12");
  EXPECT_EQ(ok.fixed[0], '1') << ok.raw;
  EXPECT_EQ(ok.sequence, '1');
  // Without error detection the answer carries none either.
  SipAnswer plain = c->SendRaw(std::string("17") + kSipDate + "AOwestport|ABI-1|");
  EXPECT_EQ(plain.code, "18");
  EXPECT_FALSE(plain.checksum_present);
}

TEST_P(Sip2Test, MalformedInputIsRefusedClearlyAndChangesNothing) {
  auto before_login = Connect();
  // A message before the kiosk has logged in.
  SipAnswer early = Exchange(*before_login, Checkout("P-1", kPin, "I-1"));
  EXPECT_EQ(early.code, "12");
  EXPECT_EQ(early.fixed[0], '0');
  EXPECT_NE(early.Field("AF").find("not logged in"), std::string::npos) << early.raw;
  // A wrong password logs nobody in; nor does a staff account (only kiosks speak SIP2).
  EXPECT_EQ(before_login->Send("9300CNkiosk1|COwrong password|").fixed, "0");
  EXPECT_EQ(before_login->Send(std::string("9300CNdesk1|CO") + kKioskPassword + "|").fixed, "0");
  EXPECT_EQ(Exchange(*before_login, Checkout("P-1", kPin, "I-1")).fixed[0], '0');

  auto c = Kiosk();
  // Truncated: fewer fixed characters than a checkout has.
  SipAnswer cut = Exchange(*c, "11YN2026");
  EXPECT_EQ(cut.code, "12");
  EXPECT_EQ(cut.fixed[0], '0');
  EXPECT_NE(cut.Field("AF").find("shorter"), std::string::npos) << cut.raw;
  // A field over 255 bytes.
  SipAnswer long_field = Exchange(*c, Checkout("P-1", kPin, std::string(300, '7')));
  EXPECT_EQ(long_field.fixed[0], '0');
  EXPECT_NE(long_field.Field("AF").find("too long"), std::string::npos) << long_field.raw;
  // Bytes that are not UTF-8 text, and a control character.
  SipAnswer bad = Exchange(*c, Checkout("P-1", kPin, "I-\xff\xfe"));
  EXPECT_EQ(bad.fixed[0], '0');
  EXPECT_NE(bad.Field("AF").find("UTF-8"), std::string::npos) << bad.raw;
  EXPECT_EQ(Exchange(*c, Checkout("P-1", kPin, std::string("I-1\x01", 4))).fixed[0], '0');
  // A message carrel does not take: asked for again.
  EXPECT_EQ(c->Send("01N20261201    100000AOwestport|AAP-1|").code, "96");
  // A message longer than any is asked for again.
  EXPECT_EQ(c->SendRaw(std::string(5000, 'A')).code, "96");
  // None of it lent, returned or paid anything.
  EXPECT_EQ(Loans(), 0);
  EXPECT_EQ(Audited("loan.checkout"), 0);
  // The connection still works.
  EXPECT_EQ(Exchange(*c, Checkout("P-1", kPin, "I-1")).fixed[0], '1');
}

TEST_P(Sip2Test, AMessageSentAgainIsDoneOnce) {
  auto c = Kiosk();
  c->set_sequence(4);
  SipAnswer first = Exchange(*c, Checkout("P-1", kPin, "I-1"));
  ASSERT_EQ(first.fixed[0], '1');
  // The same message, same sequence number and date: the kiosk did not hear the answer.
  SipAnswer retry = c->SendRaw(c->last_sent());
  EXPECT_EQ(retry.raw, first.raw);
  // On a new connection, as after a dropped line.
  auto again = Kiosk();
  SipAnswer later = again->SendRaw(c->last_sent());
  EXPECT_EQ(later.code, "12");
  EXPECT_EQ(later.fixed[0], '1') << later.raw;
  EXPECT_EQ(later.fixed[1], 'N') << "a retried checkout is not turned into a renewal";
  // 97: the last answer again.
  EXPECT_EQ(again->SendRaw("97").raw, later.raw);
  EXPECT_EQ(Loans(), 1);
  EXPECT_EQ(Audited("loan.checkout"), 1);
  EXPECT_EQ(Audited("loan.renew"), 0);
  EXPECT_EQ(Count("SELECT renewals FROM loans"), 0);
  // A new message (another sequence number) for the same item renews it, as kiosks expect.
  SipAnswer renewal = Exchange(*c, Checkout("P-1", kPin, "I-1"));
  EXPECT_EQ(renewal.fixed.substr(0, 2), "1Y") << renewal.raw;
  EXPECT_EQ(Count("SELECT renewals FROM loans"), 1);
}

TEST_P(Sip2Test, AKioskReachesAPatronOnlyWithTheirCardAndPin) {
  ASSERT_TRUE(lib_.circulation().Checkout(testing::kStaff, "I-3", "P-2").ok());
  auto c = Kiosk();
  // The card alone: whether it is valid, and nothing else.
  SipAnswer bare = Exchange(*c, std::string("63001") + kSipDate + "  Y       AOwestport|AAP-2|");
  EXPECT_EQ(bare.Field("BL"), "Y");
  EXPECT_EQ(bare.Field("AE"), "");
  EXPECT_FALSE(bare.Has("AU"));
  EXPECT_EQ(bare.fixed.substr(35, 24), std::string(24, '0'));
  // Borrowing, renewing and paying need the PIN.
  EXPECT_EQ(
      Exchange(*c, std::string("11YN") + kSipDate + kNoDate + "AOwestport|AAP-2|ABI-1|").fixed[0],
      '0');
  // Patron A's PIN does not open patron B's loans.
  SipAnswer other = Exchange(
      *c, std::string("29NN") + kSipDate + kNoDate + "AOwestport|AAP-1|AD" + kPin + "|ABI-3|");
  EXPECT_EQ(other.fixed[0], '0') << other.raw;
  EXPECT_EQ(Count("SELECT renewals FROM loans"), 0);
  // A kiosk guessing PINs is slowed as a login is: after five failures the card waits, the
  // right PIN included.
  for (int i = 0; i < 5; ++i) {
    SipAnswer wrong =
        Exchange(*c, std::string("23001") + kSipDate + "AOwestport|AAP-2|AD00000" + char('0' + i));
    EXPECT_EQ(wrong.Field("CQ"), "N");
  }
  SipAnswer locked =
      Exchange(*c, std::string("23001") + kSipDate + "AOwestport|AAP-2|AD" + kOtherPin + "|");
  EXPECT_NE(locked.Field("CQ"), "Y") << locked.raw;
  EXPECT_EQ(locked.Field("AE"), "");
  // The kiosk's session reaches none of the desk's routes.
  auto login = api_->Handle([] {
    ApiRequest r;
    r.method = "POST";
    r.path = "/api/v1/session";
    r.headers["content-type"] = "application/json";
    r.body = std::string(R"({"username":"kiosk1","password":")") + kKioskPassword + "\"}";
    return r;
  }());
  ASSERT_EQ(login.status, 201);
  std::string token = nlohmann::json::parse(login.body)["token"];
  for (auto [method, path] : {std::pair{"GET", "/api/v1/patrons/1"},
                              {"POST", "/api/v1/patrons/search"},
                              {"GET", "/api/v1/patrons/1/loans"},
                              {"POST", "/api/v1/loans"},
                              {"GET", "/api/v1/holds/shelf"},
                              {"POST", "/api/v1/patrons/1/pin-reset"},
                              {"GET", "/api/v1/me"},
                              {"GET", "/api/v1/inbox"},
                              {"POST", "/api/v1/requests"}}) {
    ApiRequest r;
    r.method = method;
    r.path = path;
    r.headers["authorization"] = "Bearer " + token;
    r.headers["content-type"] = "application/json";
    r.body = method == std::string("GET") ? "" : "{}";
    EXPECT_EQ(api_->Handle(r).status, 403) << method << " " << path;
  }
}

TEST_P(Sip2Test, AKioskIsMadeAndApprovedAsStaffAreAndChangesItsFirstPassword) {
  Library& lib = *lib_.library;
  Actor admin{"user/99", "admin"};
  ASSERT_TRUE(lib.accounts()
                  .AddUser({"os/test", "operator"}, "director1", Role::kDirector, kKioskPassword)
                  .ok());
  NewUserOptions fresh;
  fresh.needs_approval = true;
  fresh.must_change_password = true;
  EXPECT_FALSE(lib.accounts().AddUser(admin, "kiosk2", Role::kKiosk, "first password", fresh).ok())
      << "a kiosk needs its location";
  fresh.location = "Children's room";
  auto k = lib.accounts().AddUser(admin, "kiosk2", Role::kKiosk, "first password", fresh);
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_TRUE(k->pending);
  EXPECT_TRUE(k->signing_public_key.empty()) << "a kiosk signs nothing";
  auto c = Connect();
  EXPECT_EQ(c->Send("9300CNkiosk2|COfirst password|").fixed, "0") << "pending approval";
  auto director = lib.accounts().GetUser(k->id - 1);
  ASSERT_TRUE(director.ok());
  auto approved = lib.accounts().Approve(director->id, kKioskPassword, k->id, false);
  ASSERT_TRUE(approved.ok()) << approved.status().ToString();
  EXPECT_TRUE(approved->active);
  EXPECT_EQ(c->Send("9300CNkiosk2|COfirst password|").fixed, "0") << "its first password";
  ASSERT_TRUE(lib.accounts().ChangePassword(k->id, "first password", "kiosk2's own one").ok());
  EXPECT_EQ(c->Send("9300CNkiosk2|COkiosk2's own one|").fixed, "1");
  SipAnswer status = Exchange(*c, "9900302.00");
  EXPECT_EQ(status.Field("AN"), "Children's room");
  // Disabled by the administrator: its next message is refused, and so is its login.
  ASSERT_TRUE(lib.accounts().SetDisabled(admin, k->id, true).ok());
  SipAnswer after = Exchange(*c, Checkout("P-1", kPin, "I-4"));
  EXPECT_EQ(after.fixed[0], '0') << after.raw;
  EXPECT_EQ(c->Send("9300CNkiosk2|COkiosk2's own one|").fixed, "0");
  EXPECT_EQ(Loans(), 0);
}

// Strangers cannot hold the kiosks' places open: a connection that does not log in is closed
// after a message's time, and so is one that trickles a message in byte by byte.
TEST(Sip2LimitsTest, SilentAndTricklingConnectionsAreClosed) {
  testing::TestLibrary lib;
  ApiServer api(lib.library.get(), testing::ContractChecked());
  Sip2Options options;
  options.tls = false;
  options.message_timeout = std::chrono::milliseconds(400);
  Sip2Server server(&api, lib.library.get(), options);
  auto port = server.Bind("127.0.0.1", 0);
  ASSERT_TRUE(port.ok());
  std::thread serving([&] { (void)server.Serve(); });
  auto closed_within = [&](int fd, std::chrono::milliseconds limit, bool trickle) {
    auto start = std::chrono::steady_clock::now();
    char c;
    while (std::chrono::steady_clock::now() - start < limit) {
      if (trickle) (void)send(fd, "9", 1, MSG_NOSIGNAL);
      if (recv(fd, &c, 1, MSG_DONTWAIT) == 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  };
  for (bool trickle : {false, true}) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(*port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_TRUE(closed_within(fd, std::chrono::milliseconds(3000), trickle))
        << (trickle ? "trickling" : "silent");
    close(fd);
  }
  server.Stop();
  serving.join();
}

TEST(Sip2StartTest, BadInputAtStartIsOneLine) {
  testing::TempDir dir;
  std::string data = (dir / "lib").string();
  ASSERT_EQ(testing::RunCarrel({"init", "--data", data}).exit_code, 0);
  const auto& one_line = testing::ExpectOneLineRefusal;
  int fd = -1;
  std::string busy = testing::BusyLoopbackAddress(&fd);
  one_line(testing::RunCarrel({"serve", "--data", data, "--listen", "127.0.0.1:0", "--sip2", busy}),
           "already in use");
  close(fd);
  std::string junk = (dir / "junk.pem").string();
  std::FILE* f = std::fopen(junk.c_str(), "w");
  std::fputs("not a certificate\n", f);
  std::fclose(f);
  one_line(testing::RunCarrel({"serve", "--data", data, "--listen", "127.0.0.1:0", "--sip2",
                               "127.0.0.1:0", "--sip2-tls", junk, junk}),
           "SIP2 certificate");
  one_line(testing::RunCarrel(
               {"serve", "--data", data, "--listen", "127.0.0.1:0", "--sip2", "0.0.0.0:0"}),
           "--sip2-tls CERT KEY");
  one_line(
      testing::RunCarrel({"serve", "--data", data, "--listen", "127.0.0.1:0", "--sip2", "kiosks"}),
      "--sip2 must be HOST:PORT");
  one_line(testing::RunCarrel({"serve", "--data", data, "--listen", "127.0.0.1:0", "--sip2-plain"}),
           "need --sip2 HOST:PORT");
}

}  // namespace
}  // namespace carrel
