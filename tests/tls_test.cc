// HTTPS with a real certificate, and plain HTTP kept to loopback.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

#include "carrel/server.h"
#include "tests/support/contract_check.h"
#include "tests/support/run.h"
#include "tests/support/start_refusals.h"
#include "tests/support/temp_dir.h"

namespace carrel {
namespace {

TEST(TlsTest, ServesHttpsAndMarksCookiesSecure) {
  testing::TestLibrary lib;
  std::string cert = (lib.dir / "cert.pem").string(), key = (lib.dir / "key.pem").string();
  std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                    "-keyout " + key + " -out " + cert +
                    " -days 1 -subj /CN=127.0.0.1 >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl could not make a test certificate";
  ASSERT_TRUE(lib.library->accounts()
                  .AddUser({"os/test", "operator"}, "staff1", Role::kStaff, "long enough pw")
                  .ok());
  ServerOptions options;
  options.tls = true;
  options.tls_cert_file = cert;
  options.tls_key_file = key;
  ApiServer server(lib.library.get(), testing::ContractChecked(options));
  auto port = server.Bind("127.0.0.1", 0);
  ASSERT_TRUE(port.ok());
  std::thread thread([&] { (void)server.Serve(); });
  httplib::SSLClient client("127.0.0.1", *port);
  client.enable_server_certificate_verification(false);
  for (int i = 0; i < 100 && !client.Get("/healthz"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto login = client.Post("/api/v1/session",
                           nlohmann::json{{"username", "staff1"}, {"password", "long enough pw"}}.dump(),
                           "application/json");
  ASSERT_TRUE(login);
  EXPECT_EQ(login->status, 201);
  EXPECT_NE(login->get_header_value("Set-Cookie").find("; Secure"), std::string::npos);
  EXPECT_EQ(login->get_header_value("Set-Cookie").rfind("__Host-carrel_session=", 0), 0u);
  EXPECT_EQ(login->get_header_value("Strict-Transport-Security"), "max-age=63072000");
  // Plain HTTP to the HTTPS port gets nowhere.
  httplib::Client plain("127.0.0.1", *port);
  auto res = plain.Get("/healthz");
  EXPECT_TRUE(!res || res->status != 200);
  server.Stop();
  thread.join();
}

TEST(TlsTest, PlainHttpStaysOnLoopbackUnlessAsked) {
  testing::TempDir dir;
  std::string data = (dir / "lib").string();
  ASSERT_EQ(testing::RunCarrel({"init", "--data", data}).exit_code, 0);
  auto r = testing::RunCarrel({"serve", "--data", data, "--listen", "0.0.0.0:0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("loopback only"), std::string::npos) << r.err;
  auto half = testing::RunCarrel({"serve", "--data", data, "--tls-cert", "x.pem"});
  EXPECT_EQ(half.exit_code, 1);
  EXPECT_NE(half.err.find("both --tls-cert and --tls-key"), std::string::npos) << half.err;
}

// Bad input at start: one line on stderr, a non-zero exit, and no server left running.
TEST(TlsTest, ServeRefusesABadStartInOneLine) {
  testing::TempDir dir;
  std::string data = (dir / "lib").string();
  ASSERT_EQ(testing::RunCarrel({"init", "--data", data}).exit_code, 0);
  const auto& one_line = testing::ExpectOneLineRefusal;
  // A port in use.
  int fd = -1;
  std::string busy = testing::BusyLoopbackAddress(&fd);
  one_line(testing::RunCarrel({"serve", "--data", data, "--listen", busy}), "cannot listen on");
  close(fd);
  // A certificate that does not load, and a key that does not.
  std::string junk = (dir / "junk.pem").string();
  std::FILE* f = std::fopen(junk.c_str(), "w");
  std::fputs("not a certificate\n", f);
  std::fclose(f);
  one_line(testing::RunCarrel({"serve", "--data", data, "--listen", "127.0.0.1:0", "--tls-cert",
                               junk, "--tls-key", junk}),
           "cannot load the TLS certificate");
  one_line(testing::RunCarrel({"serve", "--data", data, "--listen", "127.0.0.1:0", "--tls-cert",
                               (dir / "missing.pem").string(), "--tls-key", junk}),
           "cannot load the TLS certificate");
  // A proxy block that is not one.
  one_line(testing::RunCarrel({"serve", "--data", data, "--listen", "127.0.0.1:0",
                               "--trusted-proxy", "10.0.0.0/99"}),
           "trusted proxy: '10.0.0.0/99' has a prefix length");
  one_line(testing::RunCarrel({"serve", "--data", data, "--listen", "127.0.0.1:0",
                               "--trusted-proxy", "proxy.example"}),
           "is not an address block");
  one_line(testing::RunCarrel({"serve", "--data", data, "--listen", "127.0.0.1:0",
                               "--max-connections-per-client", "0"}),
           "connection caps must be at least 1");
}

}  // namespace
}  // namespace carrel
