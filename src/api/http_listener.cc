// The HTTP transport. Every socket operation has a deadline (tcp_stream::expires_after):
//   - a new connection, or a kept-alive one once its next request has begun, has head_timeout
//     for the whole request head;
//   - a kept-alive connection waits idle_timeout at most for the next request's first byte;
//   - a body gets head_timeout of grace plus its length at min_bytes_per_second;
//   - an answer the same to be taken by the client.
// Handlers run on a worker pool and only ever see complete requests; a few at a time when the
// limits say so (CpuGate).

#include "api/http_listener.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <type_traits>
#include <unordered_map>

#include "api/request_head.h"
#include "util/cpu_gate.h"

namespace carrel {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using std::chrono::milliseconds;

constexpr size_t kBufferBytes = 64 * 1024;
// Refusals being written at once; past this, excess connections are closed without a word.
constexpr size_t kMaxRefusalsInFlight = 512;
constexpr auto kRefusalTimeout = std::chrono::seconds(2);
constexpr auto kShutdownTimeout = std::chrono::seconds(2);

// Open connections, in all and per client address. A connection from a trusted proxy counts
// in all at once, and against its client's address once its request says who that is.
class ConnectionCounts {
 public:
  enum class Admission { kAdmitted, kServerFull, kClientFull };

  Admission Add(const std::string& client, size_t max_total, size_t max_client) {
    std::lock_guard<std::mutex> lock(mu_);
    if (total_ >= max_total) return Admission::kServerFull;
    if (!client.empty()) {
      size_t& n = per_client_[client];
      if (n >= max_client) return Admission::kClientFull;
      ++n;
    }
    ++total_;
    return Admission::kAdmitted;
  }
  // Moves a connection from one client's count to another's; false (and no move) when the
  // new client is at its cap.
  bool Move(const std::string& from, const std::string& to, size_t max_client) {
    if (from == to) return true;
    std::lock_guard<std::mutex> lock(mu_);
    if (!to.empty()) {
      size_t& n = per_client_[to];
      if (n >= max_client) return false;
      ++n;
    }
    DropClientLocked(from);
    return true;
  }
  void Remove(const std::string& client) {
    std::lock_guard<std::mutex> lock(mu_);
    DropClientLocked(client);
    --total_;
  }
  size_t total() const {
    std::lock_guard<std::mutex> lock(mu_);
    return total_;
  }

 private:
  void DropClientLocked(const std::string& client) {
    if (client.empty()) return;
    auto it = per_client_.find(client);
    if (it != per_client_.end() && --it->second == 0) per_client_.erase(it);
  }
  mutable std::mutex mu_;
  size_t total_ = 0;
  std::unordered_map<std::string, size_t> per_client_;
};

}  // namespace

struct HttpListener::Impl {
  // Declared before the io_context so that they outlive the sessions it destroys.
  Options options;
  Dispatch dispatch;
  Refusal refusal;
  BodyLimit body_limit;
  ConnectionCounts counts;
  std::atomic<size_t> refusals_in_flight{0};
  std::optional<ssl::context> tls_context;

  net::io_context ioc;
  std::optional<tcp::acceptor> acceptor;
  std::optional<net::thread_pool> workers;
  std::optional<CpuGate> gate;  // when limits.handlers_at_once > 0
  net::steady_timer accept_pause{ioc};
  std::atomic<bool> stopped{false};

  bool TrustedPeer(const std::string& peer) const {
    for (const AddressRange& r : options.trusted_proxies) {
      if (r.Contains(peer)) return true;
    }
    return false;
  }

  void Accept();
  void OnAccept(beast::error_code ec, tcp::socket socket);
  void Refuse(tcp::socket socket, std::string_view detail);
  std::string RefusalText(int status, std::string_view detail, unsigned version = 11);
};

namespace {

// One connection: reads requests one after another, hands each complete one to a worker,
// writes its answer.
template <class Stream>
class Connection : public std::enable_shared_from_this<Connection<Stream>> {
 public:
  template <class... StreamArgs>
  Connection(HttpListener::Impl* impl, std::string peer, std::string counted_as,
          StreamArgs&&... stream_args)
      : impl_(impl),
        stream_(std::forward<StreamArgs>(stream_args)...),
        peer_(std::move(peer)),
        counted_as_(std::move(counted_as)),
        buffer_(kBufferBytes) {}

  ~Connection() { impl_->counts.Remove(counted_as_); }

  void Start() {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      ReadHead();
    } else {
      Lowest().expires_after(impl_->options.limits.head_timeout);
      stream_.async_handshake(ssl::stream_base::server,
                              beast::bind_front_handler(&Connection::OnHandshake, Self()));
    }
  }

 private:
  const ListenerLimits& Limits() const { return impl_->options.limits; }
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }
  std::shared_ptr<Connection> Self() { return this->shared_from_this(); }

  void OnHandshake(beast::error_code ec) {
    if (ec) return;  // a failed or too slow handshake: the socket closes with the session
    ReadHead();
  }

  // Waits for the next request: idle_timeout for its first byte on a kept-alive connection,
  // then head_timeout for the whole head.
  void WaitForRequest() {
    if (buffer_.size() > 0) return ReadHead();  // pipelined: it has begun already
    Lowest().expires_after(Limits().idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096),
                            beast::bind_front_handler(&Connection::OnFirstBytes, Self()));
  }

  void OnFirstBytes(beast::error_code ec, size_t n) {
    if (ec) return;  // idle too long, or the client went away
    buffer_.commit(n);
    ReadHead();
  }

  void ReadHead() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(Limits().header_bytes));
    parser_->body_limit(std::numeric_limits<uint64_t>::max());  // set per route below
    Lowest().expires_after(Limits().head_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Connection::OnHead, Self()));
  }

  void OnHead(beast::error_code ec, size_t) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted) {
      return;  // closed by the client, or by its deadline
    }
    if (ec == http::error::header_limit) return RefuseAndClose(431, "the request head is too large");
    if (ec) return RefuseAndClose(400, "the request could not be read");

    const auto& head = parser_->get();
    request_ = ApiRequest{};
    version_ = head.version();
    if (std::string refusal = ReadRequestHead(head, &request_); !refusal.empty()) {
      return RefuseAndClose(400, refusal);
    }
    ClientOrigin origin = ResolveClient(peer_, !std::is_same_v<Stream, beast::tcp_stream>,
                                        request_.headers, impl_->options.trusted_proxies);
    request_.remote_address = origin.address;
    request_.scheme = origin.https ? "https" : "http";
    if (impl_->TrustedPeer(peer_)) {
      // Behind a proxy the cap is the client's, known only now.
      std::string client = origin.address == peer_ ? std::string() : origin.address;
      if (!impl_->counts.Move(counted_as_, client, Limits().max_connections_per_client)) {
        return RefuseAndClose(503, "too many connections from this address; try again shortly");
      }
      counted_as_ = client;
    }

    size_t limit = impl_->body_limit(request_.method, request_.path);
    auto length = parser_->content_length();
    if (length && *length > limit) return RefuseAndClose(413, "the request body is too large");
    parser_->body_limit(limit);
    if (parser_->is_done()) return Dispatch();
    // Body time: the grace of a head plus its length at the slowest rate allowed.
    uint64_t expected = length ? *length : limit;
    Lowest().expires_after(Limits().head_timeout +
                           milliseconds(expected * 1000 / Limits().min_bytes_per_second));
    auto expect = head.find(http::field::expect);
    if (expect != head.end() && beast::iequals(expect->value(), "100-continue")) {
      continue_.emplace(http::status::continue_, version_);
      return http::async_write(stream_, *continue_,
                               beast::bind_front_handler(&Connection::OnContinue, Self()));
    }
    ReadBody();
  }

  void OnContinue(beast::error_code ec, size_t) {
    if (ec) return;
    ReadBody();
  }

  void ReadBody() {
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Connection::OnBody, Self()));
  }

  void OnBody(beast::error_code ec, size_t) {
    if (ec == http::error::body_limit) return RefuseAndClose(413, "the request body is too large");
    if (ec) return;  // too slow, or gone: nothing was handled
    request_.body = std::move(parser_->get().body());
    Dispatch();
  }

  // Hands the complete request to a worker; the answer comes back to this connection's strand.
  void Dispatch() {
    keep_alive_ = parser_->get().keep_alive();
    parser_.reset();
    Lowest().expires_never();
    net::post(*impl_->workers, [self = Self()] {
      HttpAnswer answer;
      try {
        CpuGate::Admission admitted(self->impl_->gate ? &*self->impl_->gate : nullptr);
        answer = self->impl_->dispatch(self->request_);
      } catch (...) {
        // Nothing of an exception reaches the client.
        spdlog::error("a request handler failed with an exception");
        answer = self->impl_->refusal(self->request_, 500,
                                      "the server could not complete the request");
      }
      net::post(self->Lowest().get_executor(), [self, answer = std::move(answer)]() mutable {
        self->Write(std::move(answer));
      });
    });
  }

  void RefuseAndClose(int status, std::string_view detail) {
    keep_alive_ = false;
    parser_.reset();
    Write(impl_->refusal(request_, status, detail));
  }

  void Write(HttpAnswer answer) {
    response_.emplace();
    response_->version(version_ == 10 ? 10 : 11);
    response_->result(static_cast<unsigned>(answer.status));
    for (auto& [name, value] : answer.headers) response_->insert(name, value);
    response_->body() = std::move(answer.body);
    response_->keep_alive(keep_alive_ && !impl_->stopped.load());
    response_->prepare_payload();
    Lowest().expires_after(Limits().head_timeout +
                           milliseconds(response_->body().size() * 1000 /
                                        Limits().min_bytes_per_second));
    http::async_write(stream_, *response_, beast::bind_front_handler(&Connection::OnWrite, Self()));
  }

  void OnWrite(beast::error_code ec, size_t) {
    bool again = !ec && response_->keep_alive();
    response_.reset();
    if (again) return WaitForRequest();
    if (!ec) Close();
  }

  void Close() {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    } else {
      Lowest().expires_after(kShutdownTimeout);
      stream_.async_shutdown([self = Self()](beast::error_code) {});
    }
  }

  HttpListener::Impl* impl_;
  Stream stream_;
  std::string peer_;
  std::string counted_as_;  // the address this connection counts against ("" for none)
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::empty_body>> continue_;
  std::optional<http::response<http::string_body>> response_;
  ApiRequest request_;
  unsigned version_ = 11;
  bool keep_alive_ = false;
};

// A connection over a cap: one 503 with Retry-After, written under a short deadline.
class RefusedConnection : public std::enable_shared_from_this<RefusedConnection> {
 public:
  RefusedConnection(HttpListener::Impl* impl, tcp::socket socket, std::string text)
      : impl_(impl), stream_(std::move(socket)), text_(std::move(text)) {}
  ~RefusedConnection() { --impl_->refusals_in_flight; }
  void Start() {
    stream_.expires_after(kRefusalTimeout);
    net::async_write(stream_, net::buffer(text_),
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       beast::error_code ignored;
                       if (!ec) self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                     });
  }

 private:
  HttpListener::Impl* impl_;
  beast::tcp_stream stream_;
  std::string text_;
};

}  // namespace

std::string HttpListener::Impl::RefusalText(int status, std::string_view detail,
                                            unsigned version) {
  ApiRequest none;
  none.path = "/";
  HttpAnswer answer = refusal(none, status, detail);
  http::response<http::string_body> res;
  res.version(version);
  res.result(static_cast<unsigned>(answer.status));
  for (auto& [name, value] : answer.headers) res.insert(name, value);
  res.body() = std::move(answer.body);
  res.keep_alive(false);
  res.prepare_payload();
  std::ostringstream out;
  out << res;
  return out.str();
}

void HttpListener::Impl::Refuse(tcp::socket socket, std::string_view detail) {
  // Over TLS a refusal would cost a handshake: the connection is closed at once.
  if (options.tls || refusals_in_flight.load() >= kMaxRefusalsInFlight) {
    beast::error_code ignored;
    socket.close(ignored);
    return;
  }
  ++refusals_in_flight;
  std::make_shared<RefusedConnection>(this, std::move(socket), RefusalText(503, detail))->Start();
}

void HttpListener::Impl::Accept() {
  acceptor->async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket s) {
    OnAccept(ec, std::move(s));
  });
}

void HttpListener::Impl::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || stopped.load() || !acceptor->is_open()) return;
  if (ec) {
    // Out of descriptors or memory: pause instead of spinning, then accept again.
    spdlog::warn("cannot accept a connection: {}", ec.message());
    accept_pause.expires_after(milliseconds(100));
    accept_pause.async_wait([this](beast::error_code wait_ec) {
      if (!wait_ec) Accept();
    });
    return;
  }
  beast::error_code peer_ec;
  tcp::endpoint peer = socket.remote_endpoint(peer_ec);
  if (peer_ec) {
    Accept();
    return;
  }
  std::string address = peer.address().is_v6() && peer.address().to_v6().is_v4_mapped()
                            ? net::ip::make_address_v4(net::ip::v4_mapped,
                                                       peer.address().to_v6()).to_string()
                            : peer.address().to_string();
  // A trusted proxy's connections count against the client each request names.
  std::string counted_as = TrustedPeer(address) ? std::string() : address;
  auto admission = counts.Add(counted_as, options.limits.max_connections,
                              options.limits.max_connections_per_client);
  if (admission == ConnectionCounts::Admission::kServerFull) {
    Refuse(std::move(socket), "the server is busy; try again shortly");
  } else if (admission == ConnectionCounts::Admission::kClientFull) {
    Refuse(std::move(socket), "too many connections from this address; try again shortly");
  } else {
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);  // small answers must not wait for ACKs
    if (options.tls) {
      std::make_shared<Connection<beast::ssl_stream<beast::tcp_stream>>>(
          this, address, counted_as, std::move(socket), *tls_context)
          ->Start();
    } else {
      std::make_shared<Connection<beast::tcp_stream>>(this, address, counted_as, std::move(socket))
          ->Start();
    }
  }
  Accept();
}

HttpListener::HttpListener(Options options, Dispatch dispatch, Refusal refusal,
                           BodyLimit body_limit)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->dispatch = std::move(dispatch);
  impl_->refusal = std::move(refusal);
  impl_->body_limit = std::move(body_limit);
}

HttpListener::~HttpListener() {
  Stop();
  if (impl_->workers) impl_->workers->join();
}

StatusOr<int> HttpListener::Bind(const std::string& host, int port) {
  beast::error_code ec;
  if (impl_->options.tls) {
    impl_->tls_context.emplace(ssl::context::tls_server);
    ssl::context& ctx = *impl_->tls_context;
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                    ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                    ssl::context::single_dh_use);
    ctx.use_certificate_chain_file(impl_->options.tls_cert_file, ec);
    if (ec) {
      return InvalidArgument("cannot load the TLS certificate " + impl_->options.tls_cert_file +
                             " (" + ec.message() + ")");
    }
    ctx.use_private_key_file(impl_->options.tls_key_file, ssl::context::pem, ec);
    if (ec) {
      return InvalidArgument("cannot load the TLS key " + impl_->options.tls_key_file + " (" +
                             ec.message() + ")");
    }
  }
  net::ip::address address = net::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) return InvalidArgument("cannot listen on '" + host + "': not an IP address");
  tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
  impl_->acceptor.emplace(impl_->ioc);
  auto fail = [&](const char* what) -> Status {
    impl_->acceptor.reset();
    return Unavailable("cannot listen on " + host + ":" + std::to_string(port) + " (" + what +
                       ": " + ec.message() + ")");
  };
  impl_->acceptor->open(endpoint.protocol(), ec);
  if (ec) return fail("open");
  impl_->acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (ec) return fail("reuse");
  impl_->acceptor->bind(endpoint, ec);
  if (ec) return fail("bind");
  impl_->acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen");
  return static_cast<int>(impl_->acceptor->local_endpoint().port());
}

Status HttpListener::Serve() {
  if (!impl_->acceptor) return FailedPrecondition("the server is not bound to an address");
  impl_->workers.emplace(static_cast<size_t>(std::max(1, impl_->options.limits.workers)));
  if (impl_->options.limits.handlers_at_once > 0) {
    impl_->gate.emplace(impl_->options.limits.handlers_at_once);
  }
  net::post(impl_->ioc, [impl = impl_.get()] { impl->Accept(); });
  std::vector<std::thread> io;
  for (int i = 1; i < impl_->options.limits.io_threads; ++i) {
    io.emplace_back([impl = impl_.get()] { impl->ioc.run(); });
  }
  impl_->ioc.run();
  for (std::thread& t : io) t.join();
  impl_->workers->join();
  return Status::Ok();
}

void HttpListener::Stop() {
  impl_->stopped.store(true);
  net::post(impl_->ioc, [impl = impl_.get()] {
    beast::error_code ignored;
    if (impl->acceptor) impl->acceptor->close(ignored);
  });
  impl_->ioc.stop();
}

size_t HttpListener::open_connections() const { return impl_->counts.total(); }

}  // namespace carrel
