// A full disk (docs/reliability.md): the library's data directory on a small file system of its
// own (a size-limited tmpfs, mounted for the test; root only), filled to the last byte while the
// HTTP server runs. Writes are refused with a clear problem (503) and leave nothing half
// written, reads keep working, the server carries on once space returns, and the audit log
// verifies. The API answers over real loopback HTTP; the records are real SQLite files.

#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "carrel/library.h"
#include "carrel/server.h"
#include "tests/support/contract_check.h"
#include "tests/support/store_count.h"
#include "tests/support/temp_dir.h"

namespace carrel {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr char kPassword[] = "disk-full-test-password";

// A tmpfs of `megabytes` at `dir`, unmounted on destruction.
class SmallFileSystem {
 public:
  SmallFileSystem(const fs::path& dir, int megabytes) : dir_(dir) {
    fs::create_directories(dir);
    std::string options = "size=" + std::to_string(megabytes) + "m";
    mounted_ = ::mount("tmpfs", dir.c_str(), "tmpfs", 0, options.c_str()) == 0;
  }
  ~SmallFileSystem() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }

  // Writes a filler file until the file system refuses another byte.
  void Fill() {
    std::FILE* f = std::fopen((dir_ / "filler").c_str(), "ab");
    ASSERT_NE(f, nullptr);
    std::string chunk(64 * 1024, 'x');
    for (size_t size = chunk.size(); size >= 1; size /= 2) {
      while (std::fwrite(chunk.data(), 1, size, f) == size && std::fflush(f) == 0) {
      }
      std::clearerr(f);
    }
    std::fclose(f);
  }
  void Free() { fs::remove(dir_ / "filler"); }

 private:
  fs::path dir_;
  bool mounted_ = false;
};

class DiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "mounting a small file system needs root";
    if (testing::LibrariesOnPostgres()) GTEST_SKIP() << "the data directory's disk: SQLite only";
    disk_ = std::make_unique<SmallFileSystem>(tmp_ / "disk", 24);
    if (!disk_->mounted()) GTEST_SKIP() << "this machine does not let the test mount a tmpfs";
    dir_ = tmp_ / "disk" / "library";
    ASSERT_TRUE(Library::Init(dir_, testing::WestportProfile(), OperatorActor()).ok());
    Library::OpenOptions options;
    options.clock = &clock_;
    options.outbound = &outbound_;
    auto library = Library::Open(dir_, options);
    ASSERT_TRUE(library.ok()) << library.status().ToString();
    library_ = std::move(library).value();
    ASSERT_TRUE(
        library_->accounts().AddUser(OperatorActor(), "desk1", Role::kStaff, kPassword).ok());
    for (int i = 1; i <= 40; ++i) {
      char barcode[32];
      std::snprintf(barcode, sizeof barcode, "I-%03d", i);
      ASSERT_TRUE(library_->circulation()
                      .AddItem(testing::kStaff, {barcode, "Title", "A", "C", "book"})
                      .ok());
    }
    server_ = std::make_unique<ApiServer>(library_.get(), testing::ContractChecked());
    auto port = server_->Bind("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.status().ToString();
    thread_ = std::thread([this] { (void)server_->Serve(); });
    http_ = std::make_unique<httplib::Client>("127.0.0.1", *port);
    for (int i = 0; i < 100 && !http_->Get("/healthz"); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    auto login =
        http_->Post("/api/v1/session", json{{"username", "desk1"}, {"password", kPassword}}.dump(),
                    "application/json");
    ASSERT_TRUE(login);
    ASSERT_EQ(login->status, 201) << login->body;
    headers_ = {
        {"Authorization", "Bearer " + json::parse(login->body)["token"].get<std::string>()}};
  }
  void TearDown() override {
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
    library_.reset();
    disk_.reset();
  }

  httplib::Result Register(int n) {
    char card[32];
    std::snprintf(card, sizeof card, "C-%05d", n);
    return http_->Post("/api/v1/patrons", headers_,
                       json{{"card_barcode", card},
                            {"name", "Full Disk " + std::to_string(n)},
                            {"email", "reader" + std::to_string(n) + "@example.org"},
                            {"expires_on", "2030-01-01"}}
                           .dump(),
                       "application/json");
  }

  int64_t Count(const std::string& table) { return testing::RowCount(library_->store(), table); }

  testing::TempDir tmp_;
  FakeClock clock_{testing::DefaultTestTime()};
  testing::RecordingOutbound outbound_;
  std::unique_ptr<SmallFileSystem> disk_;
  fs::path dir_;
  std::unique_ptr<Library> library_;
  std::unique_ptr<ApiServer> server_;
  std::thread thread_;
  std::unique_ptr<httplib::Client> http_;
  httplib::Headers headers_;
};

TEST_F(DiskFullTest, WritesAreRefusedWholeReadsGoOnAndTheServerCarriesOnOnceSpaceReturns) {
  // Some records before the disk fills.
  ASSERT_EQ(Register(1)->status, 201);
  auto out = http_->Post("/api/v1/loans", headers_,
                         json{{"card_barcode", "C-00001"}, {"item_barcode", "I-001"}}.dump(),
                         "application/json");
  ASSERT_EQ(out->status, 201) << out->body;

  disk_->Fill();
  // Writes until one is refused: SQLite may still fit a few into pages it already has.
  int taken = 1, refused_at = 0;
  int64_t patrons_before = 0, audit_before = 0;
  for (int n = 2; n < 400 && refused_at == 0; ++n) {
    patrons_before = Count("patrons");
    audit_before = Count("audit_log");
    auto res = Register(n);
    ASSERT_TRUE(res) << "the server stopped answering on a full disk";
    if (res->status == 201) {
      ++taken;
      continue;
    }
    refused_at = n;
    EXPECT_TRUE(res->status == 503 || res->status == 507) << res->status << " " << res->body;
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/problem+json");
    json problem = json::parse(res->body);
    EXPECT_FALSE(problem.value("detail", "").empty());
    // No PII in the refusal: not the name, not the email of the patron refused.
    EXPECT_EQ(res->body.find("Full Disk"), std::string::npos) << res->body;
    EXPECT_EQ(res->body.find("@example.org"), std::string::npos) << res->body;
  }
  ASSERT_NE(refused_at, 0) << "the full disk never refused a write";
  // Nothing half written: no patron row, no audit entry of the refused registration.
  EXPECT_EQ(Count("patrons"), patrons_before);
  EXPECT_EQ(Count("audit_log"), audit_before);
  // Other writes are refused too, and leave the loan as it was.
  auto checkin = http_->Post("/api/v1/loans/checkin", headers_,
                             json{{"item_barcode", "I-001"}}.dump(), "application/json");
  ASSERT_TRUE(checkin);
  if (checkin->status != 200) {
    EXPECT_TRUE(checkin->status == 503 || checkin->status == 507) << checkin->body;
    auto item = http_->Get("/api/v1/items/I-001", headers_);
    ASSERT_TRUE(item);
    EXPECT_EQ(json::parse(item->body)["status"], "on_loan");
  }

  // Reads keep working.
  auto hours = http_->Get("/api/v1/hours");
  ASSERT_TRUE(hours);
  EXPECT_EQ(hours->status, 200);
  auto item = http_->Get("/api/v1/items/I-002", headers_);
  ASSERT_TRUE(item);
  EXPECT_EQ(item->status, 200) << item->body;

  // Space returns: the same registration goes through, and more after it.
  disk_->Free();
  auto again = Register(refused_at);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 201) << again->body;
  for (int n = refused_at + 1; n < refused_at + 5; ++n) EXPECT_EQ(Register(n)->status, 201);
  EXPECT_EQ(Count("patrons"), taken + 5);

  // The log verifies.
  auto verifier = library_->AuditVerifier();
  ASSERT_TRUE(verifier.ok());
  auto v = VerifyAuditLog(library_->store(), *verifier, std::nullopt);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_TRUE(v->intact) << v->problem;
}

}  // namespace
}  // namespace carrel
