// The SIP2 listener: one thread per kiosk connection (kiosks are few and keep their connection
// open), plain sockets with deadlines on every read, TLS by OpenSSL.

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "carrel/sip2.h"
#include "sip2/session.h"
#include "util/cpu_gate.h"

namespace carrel {
namespace {

void SetTimeout(int fd, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

std::string PeerAddress(const sockaddr_storage& peer) {
  char text[INET6_ADDRSTRLEN] = {};
  if (peer.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(peer).sin_addr, text, sizeof text);
  } else if (peer.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(peer).sin6_addr, text, sizeof text);
  }
  return text;
}

// A connection's bytes, plain or through TLS.
class Channel {
 public:
  Channel(int fd, SSL* ssl) : fd_(fd), ssl_(ssl) {}
  ~Channel() {
    if (ssl_ != nullptr) {
      SSL_shutdown(ssl_);
      SSL_free(ssl_);
    }
  }
  // Bytes read (0 at the end or on a timeout or error).
  ssize_t Read(char* buf, size_t size) {
    if (ssl_ == nullptr) {
      ssize_t n;
      do {
        n = recv(fd_, buf, size, 0);
      } while (n < 0 && errno == EINTR);
      return n < 0 ? 0 : n;
    }
    int n = SSL_read(ssl_, buf, static_cast<int>(size));
    return n <= 0 ? 0 : n;
  }
  bool Write(const std::string& text) {
    size_t sent = 0;
    while (sent < text.size()) {
      ssize_t n;
      if (ssl_ == nullptr) {
        n = send(fd_, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
      } else {
        n = SSL_write(ssl_, text.data() + sent, static_cast<int>(text.size() - sent));
      }
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }

 private:
  int fd_;
  SSL* ssl_;
};

}  // namespace

struct Sip2Server::Impl {
  ApiServer* api;
  const Library* library;
  Sip2Options options;
  int listen_fd = -1;
  SSL_CTX* tls = nullptr;
  // As the HTTP server's: on SQLite, a few messages are answered at once and the rest wait in
  // line (docs/design.md, "The HTTP server").
  std::unique_ptr<CpuGate> gate;
  std::atomic<bool> stopping{false};
  mutable std::mutex mutex;
  std::condition_variable all_closed;
  std::set<int> open;  // connections' descriptors
  std::map<std::string, size_t> per_address;  // open connections from each address

  ~Impl() {
    if (listen_fd >= 0) close(listen_fd);
    if (tls != nullptr) SSL_CTX_free(tls);
  }

  Status LoadTls() {
    tls = SSL_CTX_new(TLS_server_method());
    if (tls == nullptr) return Internal("TLS could not be set up");
    SSL_CTX_set_min_proto_version(tls, TLS1_2_VERSION);
    if (SSL_CTX_use_certificate_chain_file(tls, options.tls_cert_file.c_str()) != 1) {
      ERR_clear_error();
      return InvalidArgument("the SIP2 certificate " + options.tls_cert_file +
                             " does not load (a PEM certificate chain is needed)");
    }
    if (SSL_CTX_use_PrivateKey_file(tls, options.tls_key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(tls) != 1) {
      ERR_clear_error();
      return InvalidArgument("the SIP2 key " + options.tls_key_file +
                             " does not load, or is not the certificate's key");
    }
    return Status::Ok();
  }

  void Serve(int fd, std::string peer) {
    SetTimeout(fd, options.message_timeout);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    SSL* ssl = nullptr;
    if (tls != nullptr) {
      ssl = SSL_new(tls);
      SSL_set_fd(ssl, fd);
      if (SSL_accept(ssl) != 1) {
        ERR_clear_error();
        SSL_free(ssl);
        spdlog::info("sip2: a TLS handshake failed; the connection is closed");
        return;
      }
    }
    Channel channel(fd, ssl);
    sip2::Session session(api, library, peer, tls != nullptr);
    std::string buffer;
    char chunk[4096];
    // When the message now arriving began: it must be whole within message_timeout, however
    // slowly its bytes come.
    auto began = std::chrono::steady_clock::now();
    while (!stopping.load()) {
      size_t end = buffer.find_first_of("\r\n");
      if (end != std::string::npos) {
        std::string line = buffer.substr(0, end);
        buffer.erase(0, end + 1);
        began = std::chrono::steady_clock::now();  // what is left is the next message's start
        if (line.empty()) continue;  // the \n of a \r\n
        std::string answer;
        {
          CpuGate::Admission admitted(gate.get());
          answer = session.Answer(line);
        }
        if (!channel.Write(answer)) return;
        continue;
      }
      if (buffer.size() > sip2::kMaxMessageBytes) {
        // No terminator in sight: ask for the message again, and start afresh.
        spdlog::info("sip2: a message longer than {} bytes was refused", sip2::kMaxMessageBytes);
        (void)channel.Write(session.Answer(buffer.substr(0, sip2::kMaxMessageBytes + 1)));
        return;
      }
      // Between messages a kiosk that has logged in may wait long; a connection that has not
      // gets no longer than a message would, so strangers cannot hold the places open.
      std::chrono::milliseconds wait = options.message_timeout;
      if (!buffer.empty()) {
        wait -= std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - began);
        if (wait <= std::chrono::milliseconds(0)) {
          spdlog::info("sip2: a message did not arrive whole in time; the connection is closed");
          return;
        }
      } else if (session.logged_in()) {
        wait = options.idle_timeout;
      }
      SetTimeout(fd, wait);
      ssize_t n = channel.Read(chunk, sizeof chunk);
      if (n <= 0) return;
      if (buffer.empty()) began = std::chrono::steady_clock::now();
      buffer.append(chunk, static_cast<size_t>(n));
    }
  }
};

Sip2Server::Sip2Server(ApiServer* api, Library* library, Sip2Options options)
    : impl_(std::make_unique<Impl>()) {
  impl_->api = api;
  impl_->library = library;
  impl_->options = std::move(options);
  if (library->store().engine() == "sqlite") {
    impl_->gate = std::make_unique<CpuGate>(
        2 * std::max(1, static_cast<int>(std::thread::hardware_concurrency())));
  }
}

Sip2Server::~Sip2Server() { Stop(); }

StatusOr<int> Sip2Server::Bind(const std::string& host, int port) {
  // OpenSSL writes with write(2): a kiosk gone away must end its connection, not the server.
  signal(SIGPIPE, SIG_IGN);
  if (impl_->options.tls) CARREL_RETURN_IF_ERROR(impl_->LoadTls());
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string service = std::to_string(port);
  if (getaddrinfo(host.c_str(), service.c_str(), &hints, &found) != 0 || found == nullptr) {
    return InvalidArgument("the SIP2 address " + host + " is not an address of this machine");
  }
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> hold(found, freeaddrinfo);
  int fd = socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, found->ai_protocol);
  if (fd < 0) return Internal(std::string("a socket could not be made: ") + std::strerror(errno));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, found->ai_addr, found->ai_addrlen) != 0 || listen(fd, 128) != 0) {
    int error = errno;
    close(fd);
    if (error == EADDRINUSE) {
      return FailedPrecondition("the SIP2 address " + host + ":" + service + " is already in use");
    }
    return FailedPrecondition("cannot listen for SIP2 on " + host + ":" + service + ": " +
                              std::strerror(error));
  }
  impl_->listen_fd = fd;
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
  return bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6&>(bound).sin6_port)
                                     : ntohs(reinterpret_cast<sockaddr_in&>(bound).sin_port);
}

Status Sip2Server::Serve() {
  Impl& s = *impl_;
  if (s.listen_fd < 0) return FailedPrecondition("the SIP2 server is not bound to an address");
  while (!s.stopping.load()) {
    pollfd waiting{s.listen_fd, POLLIN, 0};
    if (poll(&waiting, 1, 200) <= 0) continue;
    sockaddr_storage peer{};
    socklen_t length = sizeof peer;
    int fd = accept4(s.listen_fd, reinterpret_cast<sockaddr*>(&peer), &length, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::string address = PeerAddress(peer);
    {
      std::lock_guard<std::mutex> lock(s.mutex);
      size_t& from_there = s.per_address[address];
      if (s.open.size() >= s.options.max_connections ||
          from_there >= s.options.max_connections_per_address || s.stopping.load()) {
        if (from_there == 0) s.per_address.erase(address);
        close(fd);
        continue;
      }
      ++from_there;
      s.open.insert(fd);
    }
    std::thread([&s, fd, address] {
      s.Serve(fd, address);
      std::lock_guard<std::mutex> lock(s.mutex);
      if (--s.per_address[address] == 0) s.per_address.erase(address);
      s.open.erase(fd);
      close(fd);
      s.all_closed.notify_all();
    }).detach();
  }
  std::unique_lock<std::mutex> lock(s.mutex);
  for (int fd : s.open) shutdown(fd, SHUT_RDWR);
  s.all_closed.wait(lock, [&] { return s.open.empty(); });
  return Status::Ok();
}

void Sip2Server::Stop() {
  impl_->stopping = true;
  std::lock_guard<std::mutex> lock(impl_->mutex);
  for (int fd : impl_->open) shutdown(fd, SHUT_RDWR);
}

size_t Sip2Server::open_connections() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->open.size();
}

}  // namespace carrel
