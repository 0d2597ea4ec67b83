// The web UI as the server hands it out: the page at "/", its files under the build's own path
// with ETags and long caching, a strict Content-Security-Policy, and nothing else.

#include <gtest/gtest.h>
#include <httplib.h>

#include <thread>

#include "api/web_assets.h"
#include "carrel/server.h"
#include "tests/support/contract_check.h"
#include "tests/support/temp_dir.h"

namespace carrel {
namespace {

class WebUiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ApiServer>(lib_.library.get(), testing::ContractChecked());
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

  testing::TestLibrary lib_;
  std::unique_ptr<ApiServer> server_;
  std::unique_ptr<httplib::Client> client_;
  std::thread thread_;
};

TEST_F(WebUiTest, ThePageNamesThisBuildsFilesAndIsNeverCached) {
  auto page = client_->Get("/");
  ASSERT_TRUE(page);
  ASSERT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(page->get_header_value("Cache-Control"), "no-cache");
  std::string build(WebBuild());
  EXPECT_NE(page->body.find("/assets/" + build + "/app.js"), std::string::npos);
  EXPECT_EQ(page->body.find("%BUILD%"), std::string::npos);
  // No script or style written into the page, and none allowed by the policy.
  std::string csp = page->get_header_value("Content-Security-Policy");
  EXPECT_NE(csp.find("default-src 'self'"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
  EXPECT_EQ(page->body.find("<script>"), std::string::npos);
  EXPECT_EQ(page->body.find("style="), std::string::npos);
  EXPECT_EQ(page->body.find("http://"), std::string::npos);
  EXPECT_EQ(page->body.find("https://"), std::string::npos);
  // Revalidated, not fetched again.
  auto again = client_->Get("/", {{"If-None-Match", page->get_header_value("ETag")}});
  EXPECT_EQ(again->status, 304);
  EXPECT_TRUE(again->body.empty());
}

TEST_F(WebUiTest, FilesAreCachedForGoodUnderTheirBuildAndNotServedUnderAnother) {
  std::string base = "/assets/" + std::string(WebBuild()) + "/";
  for (auto [path, type] : {std::pair{"app.js", "text/javascript; charset=utf-8"},
                            {"style.css", "text/css; charset=utf-8"},
                            {"lib/api.js", "text/javascript; charset=utf-8"}}) {
    auto file = client_->Get(base + path);
    ASSERT_TRUE(file);
    ASSERT_EQ(file->status, 200) << path;
    EXPECT_EQ(file->get_header_value("Content-Type"), type);
    EXPECT_EQ(file->get_header_value("Cache-Control"), "public, max-age=31536000, immutable");
    EXPECT_FALSE(file->get_header_value("ETag").empty());
    EXPECT_EQ(client_->Get(base + path, {{"If-None-Match", file->get_header_value("ETag")}})->status,
              304);
  }
  EXPECT_EQ(client_->Get("/assets/0000000000000000/app.js")->status, 404);
  EXPECT_EQ(client_->Get(base + "no-such-file.js")->status, 404);
  EXPECT_EQ(client_->Get(base + "../CMakeLists.txt")->status, 404);
  EXPECT_EQ(client_->Get(base + "package.json")->status, 404) << "only the UI's own files";
  // The API still answers JSON with no-store.
  auto api = client_->Get("/api/v1/hours");
  EXPECT_EQ(api->get_header_value("Cache-Control"), "no-store");
}

// The UI's JavaScript talks to this origin only, and keeps nothing in browser storage.
TEST_F(WebUiTest, TheCodeNamesNoOtherHostAndUsesNoBrowserStorage) {
  for (const WebAsset& a : WebAssets()) {
    if (a.path.ends_with(".svg")) continue;  // an SVG names its XML namespace by URI
    std::string text(a.bytes);
    for (const char* banned : {"http://", "https://", "localStorage", "sessionStorage",
                               "indexedDB", "document.cookie", "innerHTML", "eval("}) {
      EXPECT_EQ(text.find(banned), std::string::npos) << a.path << " uses " << banned;
    }
  }
}

}  // namespace
}  // namespace carrel
