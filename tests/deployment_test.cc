// The deployment of docs/deployment.md, run for real on loopback: nginx with the shipped site
// file (deploy/nginx/carrel.conf) terminating TLS in front of `carrel serve --trusted-proxy`,
// the master key in a file outside the data directory (as the systemd credential hands it).
// Checked through nginx: the client address carrel uses, the scheme, the cookie's flags and
// the headers; and that a client cannot name itself someone else through the proxy.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/raw_http.h"
#include "tests/support/run.h"
#include "tests/support/temp_dir.h"

namespace carrel {
namespace {

using testing::HeaderOf;
using testing::StatusOf;

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// Replaces `from` (which must be there) by `to`, everywhere.
void Replace(std::string* text, const std::string& from, const std::string& to) {
  size_t at = text->find(from);
  ASSERT_NE(at, std::string::npos) << "deploy/nginx/carrel.conf no longer has: " << from;
  for (; at != std::string::npos; at = text->find(from, at + to.size())) {
    text->replace(at, from.size(), to);
  }
}

// curl from a chosen loopback address; the answer's head (and body with `body`).
std::string Curl(const std::string& from, const std::string& url, const std::string& extra = "") {
  std::string cmd = "curl -sk --max-time 10 --interface " + from + " -D - " + extra + " '" + url +
                    "' 2>/dev/null";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

std::string LoginArgs(const std::string& username, const std::string& password,
                      const std::string& headers = "") {
  return "-X POST -H 'Content-Type: application/json' " + headers + " --data '{\"username\":\"" +
         username + "\",\"password\":\"" + password + "\"}'";
}

class NginxProcess {
 public:
  NginxProcess(const std::filesystem::path& dir, const std::string& conf) {
    std::ofstream(dir / "nginx.conf") << conf;
    pid_ = fork();
    if (pid_ == 0) {
      execl("/usr/sbin/nginx", "nginx", "-c", (dir / "nginx.conf").c_str(), "-p", dir.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  ~NginxProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGQUIT);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }

 private:
  pid_t pid_ = -1;
};

TEST(DeploymentTest, CarrelBehindNginxSeesTheClientTheSchemeAndNothingForged) {
  if (access("/usr/sbin/nginx", X_OK) != 0) {
    GTEST_FAIL() << "nginx is not installed (scripts/install-deps.sh installs it)";
  }
  testing::TempDir dir;
  // The master key in a file of its own outside the data directory, as systemd's
  // LoadCredential= hands it to the service.
  std::string key = (dir / "master.key").string();
  ASSERT_EQ(std::system(("openssl rand -base64 32 > " + key).c_str()), 0);
  ASSERT_EQ(chmod(key.c_str(), 0400), 0);
  setenv("CARREL_MASTER_KEY_FILE", key.c_str(), 1);
  std::string data = (dir / "library").string();
  ASSERT_EQ(testing::RunCarrel({"init", "--data", data}).exit_code, 0);
  EXPECT_FALSE(std::filesystem::exists(dir / "library" / "master.key"));
  // An account of the administrator's kind, which needs no approval to log in.
  ASSERT_EQ(testing::RunCarrelWithInput({"user", "add", "--data", data, "--role", "admin",
                                         "--username", "deskclerk"},
                                        "a long desk password\n")
                .exit_code,
            0);
  testing::ServeProcess carrel(data, {"--trusted-proxy", "127.0.0.1/32"});
  unsetenv("CARREL_MASTER_KEY_FILE");
  ASSERT_TRUE(carrel.started());

  // The shipped site file, with this test's ports, certificate and log paths.
  std::string cert = (dir / "cert.pem").string(), cert_key = (dir / "key.pem").string();
  ASSERT_EQ(std::system(("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                         "-keyout " + cert_key + " -out " + cert +
                         " -days 1 -subj /CN=127.0.0.1 >/dev/null 2>&1")
                            .c_str()),
            0);
  int https_port = FreePort(), http_port = FreePort();
  std::string site = ReadFile(std::filesystem::path(CARREL_SOURCE_DIR) / "deploy/nginx/carrel.conf");
  ASSERT_FALSE(site.empty());
  Replace(&site, "server 127.0.0.1:8080;", "server 127.0.0.1:" + std::to_string(carrel.port()) + ";");
  Replace(&site, "listen 443 ssl http2;", "listen 127.0.0.1:" + std::to_string(https_port) + " ssl http2;");
  Replace(&site, "listen [::]:443 ssl http2;", "");
  Replace(&site, "listen 80;", "listen 127.0.0.1:" + std::to_string(http_port) + ";");
  Replace(&site, "listen [::]:80;", "");
  Replace(&site, "/etc/ssl/carrel/fullchain.pem", cert);
  Replace(&site, "/etc/ssl/carrel/privkey.pem", cert_key);
  Replace(&site, "/var/log/nginx/", (dir / "").string());
  std::ofstream(dir / "carrel-site.conf") << site;
  std::string main_conf =
      std::string(geteuid() == 0 ? "user root;\n" : "") +
      "daemon off;\nworker_processes 1;\npid " + (dir / "nginx.pid").string() +
      ";\nerror_log " + (dir / "error.log").string() +
      ";\nevents { worker_connections 256; }\nhttp {\n"
      "  client_body_temp_path " + (dir / "body").string() + ";\n"
      "  proxy_temp_path " + (dir / "proxy").string() + ";\n"
      "  fastcgi_temp_path " + (dir / "fastcgi").string() + ";\n"
      "  uwsgi_temp_path " + (dir / "uwsgi").string() + ";\n"
      "  scgi_temp_path " + (dir / "scgi").string() + ";\n"
      "  include " + (dir / "carrel-site.conf").string() + ";\n}\n";
  NginxProcess nginx(dir.path(), main_conf);
  std::string base = "https://127.0.0.1:" + std::to_string(https_port);
  std::string hours;
  for (int i = 0; i < 100 && StatusOf(hours) != 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    hours = Curl("127.0.0.7", base + "/api/v1/hours");
  }
  ASSERT_EQ(StatusOf(hours), 200) << hours << ReadFile(dir / "error.log");

  // The scheme: carrel knows the client used HTTPS although nginx spoke plain HTTP to it.
  EXPECT_EQ(HeaderOf(hours, "Strict-Transport-Security"), "max-age=63072000");
  EXPECT_NE(HeaderOf(hours, "Content-Security-Policy").find("frame-ancestors 'none'"),
            std::string::npos);
  EXPECT_EQ(HeaderOf(hours, "Referrer-Policy"), "no-referrer");
  std::string login = Curl("127.0.0.7", base + "/api/v1/session",
                           LoginArgs("deskclerk", "a long desk password"));
  ASSERT_EQ(StatusOf(login), 201) << login;
  std::string cookie = HeaderOf(login, "Set-Cookie");
  EXPECT_EQ(cookie.rfind("__Host-carrel_session=", 0), 0u) << cookie;
  EXPECT_NE(cookie.find("; Secure"), std::string::npos);
  EXPECT_NE(cookie.find("; HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("; SameSite=Strict"), std::string::npos);

  // Plain HTTP is sent to HTTPS.
  std::string plain = Curl("127.0.0.7", "http://127.0.0.1:" + std::to_string(http_port) + "/api/v1/hours");
  EXPECT_EQ(StatusOf(plain), 301) << plain;
  EXPECT_EQ(HeaderOf(plain, "Location").rfind("https://", 0), 0u);

  // The address: logins are limited per client (20 a minute). 127.0.0.7 spends its own,
  // claiming each time to be someone else in both forwarding headers; the claims are thrown
  // away by nginx, so the 21st attempt is refused. 127.0.0.8, through the same nginx, is not.
  // (Each attempt names another unknown user, so no account's own lock plays a part.)
  for (int i = 0; i < 19; ++i) {
    std::string forged = "-H 'X-Forwarded-For: 203.0.113." + std::to_string(i) +
                         "' -H 'Forwarded: for=203.0.113." + std::to_string(i) + "'";
    EXPECT_EQ(StatusOf(Curl("127.0.0.7", base + "/api/v1/session",
                            LoginArgs("nobody" + std::to_string(i), "wrong", forged))),
              401);
  }
  std::string limited = Curl("127.0.0.7", base + "/api/v1/session",
                             LoginArgs("nobody", "wrong", "-H 'X-Forwarded-For: 192.0.2.1'"));
  EXPECT_EQ(StatusOf(limited), 429) << limited;
  EXPECT_EQ(StatusOf(Curl("127.0.0.8", base + "/api/v1/session", LoginArgs("nobody", "wrong"))),
            401);

  // nginx's own log keeps no client address.
  std::string access_log = ReadFile(dir / "carrel-access.log");
  EXPECT_NE(access_log.find("/api/v1/session"), std::string::npos);
  EXPECT_EQ(access_log.find("127.0.0.7"), std::string::npos);
  EXPECT_EQ(access_log.find("203.0.113"), std::string::npos);
}

}  // namespace
}  // namespace carrel
