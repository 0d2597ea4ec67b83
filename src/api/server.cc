#include "carrel/server.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <unordered_map>

#include "api/http_listener.h"
#include "api/idempotency.h"
#include "api/problem.h"
#include "api/request_routes.h"
#include "api/routes.h"
#include "api/web_ui.h"
#include "carrel/encoding.h"
#include "carrel/vault.h"

namespace carrel {
namespace {

constexpr char kCookie[] = "carrel_session";

// Fixed one-minute windows of attempts per key (action class and client address). Each server
// counts in memory, and past the limit refuses the rest of the minute without touching the
// database, so that a flood costs no writes. When other servers share the library's database
// (PostgreSQL), the attempts it lets through are also counted there (rate_windows), so that the
// limit holds across servers: the row is found by a keyed hash of the key and the minute (an
// address is never stored, and rows of two minutes cannot be linked), and rows older than two
// minutes are deleted as attempts come. On SQLite, served by one process, addresses stay in
// memory only.
class RateLimiter {
 public:
  explicit RateLimiter(Library* library) : library_(library) {}

  bool Allow(const std::string& key, int per_minute) {
    auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (windows_.size() > 100000) windows_.clear();  // bounded memory under a flood
      Window& w = windows_[key];
      if (now - w.start >= std::chrono::minutes(1)) {
        w.start = now;
        w.count = 0;
      }
      if (++w.count > per_minute) return false;
    }
    if (!library_->store().shared()) return true;
    StatusOr<int64_t> shared = CountShared(key);
    // Without the database the request fails on its own; only this server's count holds.
    if (!shared.ok()) return true;
    return *shared <= per_minute;
  }

 private:
  // This attempt counted in the key's row for the library clock's current minute; the count.
  StatusOr<int64_t> CountShared(const std::string& key) {
    Instant now = library_->clock().Now();
    std::string minute = FormatInstant(now).substr(0, 16);
    std::string stale = FormatInstant(now - std::chrono::minutes(2)).substr(0, 16);
    CARREL_ASSIGN_OR_RETURN(std::string id,
                            library_->vault().BlindIndex("rate_window", minute + "|" + key));
    int64_t attempts = 0;
    CARREL_RETURN_IF_ERROR(WithWriteTransaction(library_->store(), [&](Transaction& tx) -> Status {
      CARREL_RETURN_IF_ERROR(
          tx.Send("DELETE FROM rate_windows WHERE id IN (SELECT id FROM rate_windows WHERE "
                  "minute < ? ORDER BY minute LIMIT 64)",
                  {stale}));
      return tx.Exec(
          "INSERT INTO rate_windows (id, minute, attempts) VALUES (?, ?, 1) ON CONFLICT (id) DO "
          "UPDATE SET attempts = rate_windows.attempts + 1 RETURNING attempts",
          {Blob{id}, minute}, [&](const Row& row) {
            attempts = row.Int(0);
            return Status::Ok();
          });
    }));
    return attempts;
  }

  struct Window {
    std::chrono::steady_clock::time_point start{};
    int count = 0;
  };
  Library* library_;
  std::mutex mu_;
  std::unordered_map<std::string, Window> windows_;
};

// Refusals of callers nobody knows (no session, a dead token, a failed login), counted so
// that strangers cannot grow the append-only log as fast as they can send: the first of each
// kind on a route in a minute is written at once, the rest of that minute as one entry with
// their count once the minute is over (at the next refusal after it, or when the server
// stops). At most two entries per route, kind and minute, however much is sent.
class RefusalTally {
 public:
  struct Entry {
    std::string action;  // the route's
    std::string kind;    // "access.denied", "session.invalid", "session.login.failed", ...
    std::string minute;  // "2026-12-02T10:28"
    int64_t count = 0;
  };

  // Counts one refusal; returns the entries due now (written by the caller, outside the lock).
  std::vector<Entry> Count(std::string_view action, std::string_view kind,
                           const std::string& minute) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Entry> due;
    if (minute != minute_) {
      due = TakeLocked();
      minute_ = minute;
    }
    int64_t& n = counts_[{std::string(action), std::string(kind)}];
    if (n++ == 0) due.push_back({std::string(action), std::string(kind), minute_, 1});
    return due;
  }

  // Whatever is counted and not yet written.
  std::vector<Entry> Take() {
    std::lock_guard<std::mutex> lock(mu_);
    return TakeLocked();
  }

 private:
  std::vector<Entry> TakeLocked() {
    std::vector<Entry> out;
    for (const auto& [key, n] : counts_) {
      if (n > 1) out.push_back({key.first, key.second, minute_, n - 1});
    }
    counts_.clear();
    return out;
  }

  std::mutex mu_;
  std::string minute_;
  std::map<std::pair<std::string, std::string>, int64_t> counts_;
};

std::string TokenFrom(const ApiRequest& request, bool* via_cookie) {
  *via_cookie = false;
  auto auth = request.headers.find("authorization");
  if (auth != request.headers.end() && auth->second.rfind("Bearer ", 0) == 0) {
    return auth->second.substr(7);
  }
  auto cookie = request.headers.find("cookie");
  if (cookie == request.headers.end()) return {};
  std::string_view all = cookie->second;
  // Over HTTPS only the __Host- cookie counts (a plain-HTTP cookie could have been planted
  // by anyone on the path); over plain HTTP the bare one.
  std::string prefix = std::string(request.scheme == "https" ? "__Host-" : "") + kCookie + "=";
  for (size_t at = 0; at < all.size();) {
    size_t end = all.find(';', at);
    if (end == std::string_view::npos) end = all.size();
    std::string_view part = all.substr(at, end - at);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part.substr(0, prefix.size()) == prefix) {
      *via_cookie = true;
      return std::string(part.substr(prefix.size()));
    }
    at = end + 1;
  }
  return {};
}

}  // namespace

namespace {

// The session cookie. Over HTTPS it is __Host- prefixed (Secure, Path=/, no Domain: a browser
// then keeps it to exactly this origin). A browser refuses __Host- without Secure, so plain
// HTTP (loopback, for trying carrel out) uses the bare name.
constexpr char kHostCookie[] = "__Host-carrel_session";

std::string SessionCookie(const std::string& value, bool https, bool clear) {
  std::string cookie = std::string(https ? kHostCookie : kCookie) + "=" + value + "; Path=/";
  if (clear) cookie += "; Max-Age=0";
  cookie += "; HttpOnly; SameSite=Strict";
  if (https) cookie += "; Secure";
  return cookie;
}

// Headers on every answer, whatever produced it. Nothing is kept in a cache unless the answer
// says it may be (the web UI's files).
void AddCommonHeaders(bool https, bool inline_styles, bool cache_given, HttpAnswer* answer) {
  if (!cache_given) answer->headers.emplace_back("Cache-Control", "no-store");
  answer->headers.emplace_back("X-Content-Type-Options", "nosniff");
  answer->headers.emplace_back("Referrer-Policy", "no-referrer");
  answer->headers.emplace_back(
      "Content-Security-Policy",
      // A printable page of carrel's own may be shown inside the web UI (same origin only).
      inline_styles ? "default-src 'self'; style-src 'self' 'unsafe-inline'; "
                      "frame-ancestors 'self'; base-uri 'none'; form-action 'self'"
                    : "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
                      "form-action 'self'");
  if (https) {
    answer->headers.emplace_back("Strict-Transport-Security", "max-age=63072000");
  }
}

HttpAnswer ToAnswer(const ApiRequest& request, ApiResponse response) {
  bool https = request.scheme == "https";
  HttpAnswer answer;
  answer.status = response.status;
  answer.headers.emplace_back("Content-Type", response.content_type);
  bool cache_given = false;
  for (const auto& h : response.headers) cache_given = cache_given || h.first == "Cache-Control";
  AddCommonHeaders(https, response.inline_styles, cache_given, &answer);
  if (!response.set_cookie.empty()) {
    answer.headers.emplace_back("Set-Cookie", SessionCookie(response.set_cookie, https, false));
  } else if (response.clear_cookie) {
    answer.headers.emplace_back("Set-Cookie", SessionCookie("", https, true));
  }
  if (response.status == 429 || response.status == 503) {
    bool given = false;
    for (const auto& h : response.headers) given = given || h.first == "Retry-After";
    if (!given) answer.headers.emplace_back("Retry-After", response.status == 429 ? "60" : "1");
  }
  for (auto& h : response.headers) answer.headers.push_back(std::move(h));
  answer.body = std::move(response.body);
  return answer;
}

// A handler's refusal as problem details, its kind told by the route where the status alone
// does not say it: a failed login, a refused signature.
bool TakesPassword(const Route& route) {
  if (route.contract.body == nullptr) return false;
  for (const SchemaProperty& p : route.contract.body->properties) {
    if (p.name == "password" && p.required) return true;
  }
  return false;
}

ApiResponse RefusalFor(const Route& route, const Status& status, std::string_view instance) {
  ApiResponse r = ProblemResponse(status, instance);
  const bool login = route.action == "session.login" || route.action == "pin_reset.finish";
  if (status.code() == StatusCode::kUnauthenticated && login) {
    return Problem("login-failed", 401, status.message(), instance);
  }
  if (status.code() == StatusCode::kPermissionDenied && TakesPassword(route) &&
      route.action != "session.password") {
    return Problem("signature-refused", 403, status.message(), instance);
  }
  return r;
}

}  // namespace

struct ApiServer::Impl {
  Impl(Library* l, ServerOptions o) : library(l), options(std::move(o)), limiter(l) {}

  Library* library;
  ServerOptions options;
  std::unique_ptr<HttpListener> http;
  RateLimiter limiter;
  RefusalTally refusals;

  std::optional<ApiResponse> Admit(const ApiRequest& request, const Route& route,
                                   const std::optional<Principal>& principal, const Actor& actor,
                                   bool via_cookie);
  ApiResponse Run(const Route& route, ApiContext& ctx, const std::string& path, bool stranger);
  std::optional<ApiResponse> CheckCsrf(const ApiRequest& request, const Route& route,
                                       const Principal& principal, const Actor& actor);

  // One anonymous refusal, counted (see RefusalTally).
  void CountRefusal(std::string_view action, std::string_view kind) {
    std::string minute = FormatInstant(library->clock().Now()).substr(0, 16);
    Write(refusals.Count(action, kind, minute));
  }
  void Write(const std::vector<RefusalTally::Entry>& entries) {
    for (const RefusalTally::Entry& e : entries) {
      Status logged = library->RecordOperation(
          {"anonymous", "public"},
          {e.kind, "route", e.action, "",
           R"({"count":)" + std::to_string(e.count) + R"(,"minute":")" + e.minute + R"("})"});
      if (!logged.ok()) spdlog::error("cannot record refusals: {}", logged.ToString());
    }
  }
};

ApiServer::ApiServer(Library* library, ServerOptions options)
    : impl_(std::make_unique<Impl>(library, std::move(options))) {}

ApiServer::~ApiServer() { Stop(); }

const std::string& ApiServer::openapi_yaml() const { return OpenApiYaml(); }

const std::string& OpenApiDocument() { return OpenApiYaml(); }

void ApiServer::DeliverConfirmation(const std::string& email, const std::string& token) {
  if (impl_->options.deliver_confirmation) {
    impl_->options.deliver_confirmation(email, token);
  } else {
    // No outbound hook configured: nothing leaves, and nothing about the address is logged.
    spdlog::info("eNews confirmation queued (no outbound hook configured)");
  }
}

ApiResponse ApiServer::Handle(const ApiRequest& request) {
  const Route* route = nullptr;
  ApiResponse response = Dispatch(request, &route);
  if (impl_->options.contract_breach && route != nullptr) {
    std::string breach = CheckResponse(*route, response);
    if (!breach.empty()) {
      impl_->options.contract_breach(route->action, response.status, breach);
      return Problem("server-error", 500, "the answer broke the API contract", request.path);
    }
  }
  return response;
}

// A browser's write must carry its session's CSRF token (compared in constant time: how long a
// refusal takes says nothing about the token). A refusal to answer, or nullopt.
std::optional<ApiResponse> ApiServer::Impl::CheckCsrf(const ApiRequest& request,
                                                      const Route& route,
                                                      const Principal& principal,
                                                      const Actor& actor) {
  auto csrf = request.headers.find("x-csrf-token");
  if (csrf == request.headers.end() || csrf->second.size() != principal.csrf_token.size() ||
      sodium_memcmp(csrf->second.data(), principal.csrf_token.data(),
                    principal.csrf_token.size()) != 0) {
    Status logged = library->RecordOperation(
        actor, {"access.csrf_refused", "route", std::string(route.action), "",
                R"({"method":")" + request.method + R"("})"});
    if (!logged.ok()) spdlog::error("cannot record a refused request: {}", logged.ToString());
    return Problem("csrf-token-missing", 403,
                   "a browser request that changes anything needs the X-CSRF-Token header of "
                   "its session",
                   request.path);
  }
  return std::nullopt;
}

// Whether `principal` (or a stranger) may take `route` now: its role (or an acting designee's
// appointment), a password that must first be changed, a browser's CSRF token, the login's
// content type, the rates. A refusal to answer, or nullopt.
std::optional<ApiResponse> ApiServer::Impl::Admit(const ApiRequest& request, const Route& r,
                                                  const std::optional<Principal>& principal,
                                                  const Actor& actor, bool via_cookie) {
  const Route* route = &r;
  uint32_t bit = principal ? AccessBit(principal->role) : kAnonymous;
  if ((route->allowed & bit) == 0 && (route->allowed & kDesignee) != 0 && principal &&
      principal->kind == Principal::Kind::kUser && principal->role == Role::kStaff) {
    // A staff user may be acting as the Director's designee: only under a valid appointment.
    auto acting = library->requests().IsActingDesignee(principal->id);
    if (acting.ok() && *acting) bit |= kDesignee;
  }
  if ((route->allowed & bit) == 0 && !principal) {
    CountRefusal(route->action, "access.denied");
    return Problem("login-needed", 401, "log in to do this", request.path);
  }
  if ((route->allowed & bit) == 0) {
    // Every refusal of a known caller is on the log: who tried what, never with what data.
    // The client's address (behind a trusted proxy, the one it names) is kept as a keyed
    // pseudonym only, so that refusals from one client can be told apart without the log
    // holding any address.
    std::string client;
    if (auto pseudonym = library->vault().BlindIndex("client_address", request.remote_address);
        pseudonym.ok()) {
      client = HexEncode(*pseudonym);
    }
    Status logged = library->RecordOperation(
        actor, {"access.denied", "route", std::string(route->action), "",
                R"({"method":")" + request.method + R"(","client":")" + client + R"("})"});
    if (!logged.ok()) spdlog::error("cannot record a denied access: {}", logged.ToString());
    return ProblemResponse(403, "", "your role may not do this", request.path);
  }
  if (principal && principal->must_change_password && route->action != "session.password" &&
      route->action != "session.whoami" && route->action != "session.logout") {
    // A password set for the account (by the administrator, or printed on the command line)
    // is good for one thing: choosing a new one.
    Status logged = library->RecordOperation(
        actor, {"access.denied", "route", std::string(route->action), "",
                R"({"method":")" + request.method + R"(","reason":"password_change_due"})"});
    if (!logged.ok()) spdlog::error("cannot record a denied access: {}", logged.ToString());
    return Problem("password-change-due", 403,
                   "change your password first (POST /api/v1/session/password): the one this "
                   "account was given is good for that only",
                   request.path);
  }
  bool writes = request.method != "GET";
  if (principal && via_cookie && writes) {
    if (std::optional<ApiResponse> refused = CheckCsrf(request, r, *principal, actor)) {
      return refused;
    }
  }
  if (route->action == "session.login") {
    // A browser form can post text/plain or a URL-encoded form across sites without asking;
    // only JSON, which needs a preflight, can log anyone in (no login CSRF).
    auto type = request.headers.find("content-type");
    if (type == request.headers.end() || type->second.rfind("application/json", 0) != 0) {
      return ProblemResponse(415, "", "log in with a JSON body (Content-Type: application/json)",
                             request.path);
    }
  }
  if (route->action == "session.login" &&
      !limiter.Allow("login|" + request.remote_address, options.login_per_minute)) {
    return ProblemResponse(429, "", "too many login attempts from this address; wait a minute",
                           request.path);
  }
  if (!principal && writes && route->action != "session.login" &&
      !limiter.Allow("public|" + request.remote_address, options.public_writes_per_minute)) {
    return ProblemResponse(429, "", "too many requests from this address; wait a minute",
                           request.path);
  }
  return std::nullopt;
}

// Runs the route's handler; a failure becomes its problem answer (and a stranger's failed
// log-in is counted).
ApiResponse ApiServer::Impl::Run(const Route& route, ApiContext& ctx, const std::string& path,
                                 bool stranger) {
  StatusOr<ApiResponse> response = route.handler(ctx);
  if (!response.ok() && stranger) {
    // Failed logins, reset codes and the waits after them, counted.
    StatusCode code = response.status().code();
    if (code == StatusCode::kUnauthenticated) {
      CountRefusal(route.action, "auth.failed");
    } else if (code == StatusCode::kResourceExhausted) {
      CountRefusal(route.action, "auth.backoff");
    }
  }
  if (!response.ok()) {
    if (HttpStatusFor(response.status().code()) >= 500) {
      // The message names no patron data; it is the operator's lead to the cause.
      spdlog::error("{} {}: {}", route.method, route.action, response.status().ToString());
    }
    return RefusalFor(route, response.status(), path);
  }
  return std::move(response).value();
}

ApiResponse ApiServer::Dispatch(const ApiRequest& request, const Route** matched_route) {
  Library& library = *impl_->library;
  *matched_route = nullptr;
  if (std::optional<ApiResponse> page = WebUiFile(request)) return *std::move(page);
  std::vector<std::string> params;
  bool path_known = false;
  const Route* route = FindRoute(request.method, request.path, &params, &path_known);
  *matched_route = route;
  if (route == nullptr) {
    if (path_known) {
      return ProblemResponse(405, "", "the method " + request.method + " is not allowed here",
                             request.path);
    }
    return ProblemResponse(404, "", "there is no such resource", request.path);
  }

  // Who is asking.
  bool via_cookie = false;
  std::string token = TokenFrom(request, &via_cookie);
  std::optional<Principal> principal;
  if (!token.empty() && route->action != "session.login") {
    auto authenticated = library.accounts().Authenticate(token);
    if (authenticated.ok()) {
      principal = *authenticated;
    } else if ((route->allowed & kAnonymous) == 0) {
      // An expired, ended or made-up token: counted, as every refusal of a stranger is.
      impl_->CountRefusal(route->action, "session.invalid");
      return ProblemResponse(authenticated.status(), request.path);
    }
  }
  Actor actor = principal ? principal->actor() : Actor{"anonymous", "public"};
  if (std::optional<ApiResponse> refused =
          impl_->Admit(request, *route, principal, actor, via_cookie)) {
    return *std::move(refused);
  }
  const bool writes = request.method != "GET";
  ApiRequest matched = request;
  matched.path_params = std::move(params);
  ApiContext ctx{library, matched, principal, actor, nlohmann::json::object(), token, this, route};
  // The route's contract, checked before its handler runs: handlers get checked input.
  if (std::optional<ApiResponse> bad =
          ReadInput(*route, matched, writes, impl_->options.max_body_bytes,
                    impl_->options.max_json_depth, &ctx.body)) {
    return *std::move(bad);
  }
  auto run = [&]() -> ApiResponse {
    return impl_->Run(*route, ctx, request.path, /*stranger=*/!principal);
  };
  auto key = request.headers.find("idempotency-key");
  if (key == request.headers.end() || !writes) return run();
  if (!route->contract.idempotent || !principal || !ValidIdempotencyKey(key->second)) {
    std::vector<FieldError> bad = {
        {"Idempotency-Key",
         route->contract.idempotent ? "must be 16 to 128 visible characters"
                                    : "is not taken by this route (retrying it is not safe)",
         true}};
    return Problem("invalid-input", 400, DescribeErrors(bad), request.path, &bad);
  }
  return RunIdempotent(library, principal->actor().id, route->action, key->second, matched, run);
}

StatusOr<int> ApiServer::Bind(const std::string& host, int port) {
  const ServerOptions& o = impl_->options;
  HttpListener::Options options;
  options.tls = o.tls;
  options.tls_cert_file = o.tls_cert_file;
  options.tls_key_file = o.tls_key_file;
  for (const std::string& cidr : o.trusted_proxies) {
    auto range = AddressRange::Parse(cidr);
    if (!range.ok()) return range.status().WithContext("trusted proxy");
    options.trusted_proxies.push_back(*std::move(range));
  }
  ListenerLimits& limits = options.limits;
  limits.head_timeout = o.head_timeout;
  limits.idle_timeout = o.idle_timeout;
  limits.min_bytes_per_second = std::max<size_t>(1, o.min_bytes_per_second);
  limits.max_connections = o.max_connections;
  limits.max_connections_per_client = o.max_connections_per_client;
  limits.workers = o.workers;
  limits.io_threads = o.io_threads;
  limits.handlers_at_once = o.handlers_at_once;
  if (limits.handlers_at_once < 0) {
    limits.handlers_at_once =
        impl_->library->store().engine() == "sqlite"
            ? 2 * std::max(1, static_cast<int>(std::thread::hardware_concurrency()))
            : 0;
  }
  size_t default_body = o.max_body_bytes;
  impl_->http = std::make_unique<HttpListener>(
      std::move(options),
      [this](ApiRequest& request) { return ToAnswer(request, Handle(request)); },
      [](const ApiRequest& request, int status, std::string_view detail) {
        return ToAnswer(request, ProblemResponse(status, "", detail, request.path));
      },
      [default_body](std::string_view method, std::string_view path) -> size_t {
        std::vector<std::string> ignored;
        const Route* r = FindRoute(method, path, &ignored);
        // No route: refused by the dispatcher, and read no further than the default.
        return r != nullptr && r->contract.max_body != 0 ? r->contract.max_body : default_body;
      });
  return impl_->http->Bind(host, port);
}

Status ApiServer::Serve() {
  if (!impl_->http) return FailedPrecondition("the server is not bound to an address");
  std::optional<Jobs> jobs;
  if (impl_->options.jobs) {
    jobs.emplace(impl_->library, *impl_->options.jobs);
    jobs->Start();
  }
  Status served = impl_->http->Serve();
  if (jobs) jobs->Stop();  // after the last answer: the final head covers everything served
  return served;
}

void ApiServer::Stop() {
  if (impl_->http) impl_->http->Stop();
  impl_->Write(impl_->refusals.Take());
}

size_t ApiServer::open_connections() const {
  return impl_->http ? impl_->http->open_connections() : 0;
}

}  // namespace carrel
