#include <httplib.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <mutex>
#include <unordered_map>

#include "api/request_routes.h"
#include "api/routes.h"
#include "carrel/server.h"

namespace carrel {
namespace {

constexpr char kCookie[] = "carrel_session";

// Fixed one-minute windows of attempts per key (action class and address). Kept in memory
// only: addresses are never written to disk.
class RateLimiter {
 public:
  bool Allow(const std::string& key, int per_minute) {
    auto now = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> lock(mu_);
    if (windows_.size() > 100000) windows_.clear();  // bounded memory under a flood
    Window& w = windows_[key];
    if (now - w.start >= std::chrono::minutes(1)) {
      w.start = now;
      w.count = 0;
    }
    return ++w.count <= per_minute;
  }

 private:
  struct Window {
    std::chrono::steady_clock::time_point start{};
    int count = 0;
  };
  std::mutex mu_;
  std::unordered_map<std::string, Window> windows_;
};

// Nesting depth of a JSON text (brackets outside strings); cheap, before parsing.
int JsonDepth(std::string_view text) {
  int depth = 0, max = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') in_string = true;
    if (c == '{' || c == '[') max = std::max(max, ++depth);
    if (c == '}' || c == ']') --depth;
  }
  return max;
}

std::string TokenFrom(const ApiRequest& request, bool* via_cookie) {
  *via_cookie = false;
  auto auth = request.headers.find("authorization");
  if (auth != request.headers.end() && auth->second.rfind("Bearer ", 0) == 0) {
    return auth->second.substr(7);
  }
  auto cookie = request.headers.find("cookie");
  if (cookie == request.headers.end()) return {};
  std::string_view all = cookie->second;
  std::string prefix = std::string(kCookie) + "=";
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

extern const char kOpenApiYaml[];

struct ApiServer::Impl {
  Library* library;
  ServerOptions options;
  std::unique_ptr<httplib::Server> http;
  RateLimiter limiter;
  std::string openapi = kOpenApiYaml;
};

ApiServer::ApiServer(Library* library, ServerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->library = library;
  impl_->options = std::move(options);
  if (impl_->options.tls) {
    impl_->http = std::make_unique<httplib::SSLServer>(impl_->options.tls_cert_file.c_str(),
                                                       impl_->options.tls_key_file.c_str());
  } else {
    impl_->http = std::make_unique<httplib::Server>();
  }
  auto dispatch = [this](const httplib::Request& req, httplib::Response& res) {
    ApiRequest request;
    request.method = req.method;
    request.path = req.path;
    request.body = req.body;
    request.remote_address = req.remote_addr;
    for (const auto& [k, v] : req.params) request.query.emplace(k, v);
    for (const auto& [k, v] : req.headers) {
      std::string name = k;
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      request.headers[name] = v;
    }
    ApiResponse response = Handle(request);
    res.status = response.status;
    res.set_content(response.body, response.content_type);
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Content-Type-Options", "nosniff");
    std::string secure = impl_->options.tls ? "; Secure" : "";
    if (!response.set_cookie.empty()) {
      res.set_header("Set-Cookie", std::string(kCookie) + "=" + response.set_cookie +
                                       "; Path=/; HttpOnly; SameSite=Strict" + secure);
    } else if (response.clear_cookie) {
      res.set_header("Set-Cookie", std::string(kCookie) +
                                       "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict" + secure);
    }
  };
  for (const char* pattern : {".*"}) {
    impl_->http->Get(pattern, dispatch);
    impl_->http->Post(pattern, dispatch);
    impl_->http->Put(pattern, dispatch);
    impl_->http->Patch(pattern, dispatch);
    impl_->http->Delete(pattern, dispatch);
  }
  // Errors raised by the HTTP layer itself (oversized bodies, bad requests) as problem details.
  impl_->http->set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string detail = res.status == 413 ? "the request body is too large"
                                           : "the request could not be read";
    ApiResponse p = ProblemResponse(res.status, "", detail, req.path);
    res.set_content(p.body, p.content_type);
  });
  impl_->http->set_payload_max_length(
      std::max(impl_->options.max_body_bytes, kDocumentBodyBytes));
  impl_->http->set_tcp_nodelay(true);  // small JSON answers must not wait for delayed ACKs
  impl_->http->set_read_timeout(10, 0);
  impl_->http->set_write_timeout(10, 0);
  impl_->http->set_idle_interval(0, 100000);
  impl_->http->set_keep_alive_timeout(5);
}

ApiServer::~ApiServer() { Stop(); }

const std::string& ApiServer::openapi_yaml() const { return impl_->openapi; }

void ApiServer::DeliverConfirmation(const std::string& email, const std::string& token) {
  if (impl_->options.deliver_confirmation) {
    impl_->options.deliver_confirmation(email, token);
  } else {
    // No outbound hook configured: nothing leaves, and nothing about the address is logged.
    spdlog::info("eNews confirmation queued (no outbound hook configured)");
  }
}

ApiResponse ApiServer::Handle(const ApiRequest& request) {
  Library& library = *impl_->library;
  std::vector<std::string> params;
  const Route* route = nullptr;
  bool path_known = false;
  for (const Route& r : RouteTable()) {
    if (!MatchRoute(r.pattern, request.path, &params)) continue;
    path_known = true;
    if (r.method == request.method) {
      route = &r;
      break;
    }
  }
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
      return ProblemResponse(authenticated.status(), request.path);
    }
  }
  Actor actor = principal ? principal->actor() : Actor{"anonymous", "public"};
  uint32_t bit = principal ? AccessBit(principal->role) : kAnonymous;
  if ((route->allowed & bit) == 0 && (route->allowed & kDesignee) != 0 && principal &&
      principal->kind == Principal::Kind::kUser && principal->role == Role::kStaff) {
    // A staff user may be acting as the Director's designee: only under a valid appointment.
    auto acting = library.requests().IsActingDesignee(principal->id);
    if (acting.ok() && *acting) bit |= kDesignee;
  }
  if ((route->allowed & bit) == 0) {
    // Every refusal is on the log: who tried what, never with what data.
    Status logged = library.RecordOperation(
        actor, {"access.denied", "route", std::string(route->action), "",
                R"({"method":")" + request.method + R"("})"});
    if (!logged.ok()) spdlog::error("cannot record a denied access: {}", logged.ToString());
    if (!principal) {
      return ProblemResponse(401, "", "log in to do this", request.path);
    }
    return ProblemResponse(403, "", "your role may not do this", request.path);
  }
  bool writes = request.method != "GET";
  if (principal && via_cookie && writes) {
    auto csrf = request.headers.find("x-csrf-token");
    if (csrf == request.headers.end() || csrf->second != principal->csrf_token) {
      return ProblemResponse(403, "", "a browser request that changes anything needs the "
                                      "X-CSRF-Token header of its session", request.path);
    }
  }
  if (route->action == "session.login" &&
      !impl_->limiter.Allow("login|" + request.remote_address, impl_->options.login_per_minute)) {
    return ProblemResponse(429, "", "too many login attempts from this address; wait a minute",
                           request.path);
  }
  if (!principal && writes && route->action != "session.login" &&
      !impl_->limiter.Allow("public|" + request.remote_address,
                            impl_->options.public_writes_per_minute)) {
    return ProblemResponse(429, "", "too many requests from this address; wait a minute",
                           request.path);
  }

  ApiRequest matched = request;
  matched.path_params = std::move(params);
  ApiContext ctx{library, matched, principal, actor, nlohmann::json::object(), token, this};
  if (writes && !request.body.empty()) {
    if (request.body.size() >
        (route->max_body != 0 ? route->max_body : impl_->options.max_body_bytes)) {
      return ProblemResponse(413, "", "the request body is too large", request.path);
    }
    if (JsonDepth(request.body) > impl_->options.max_json_depth) {
      return ProblemResponse(400, "", "the JSON body is nested too deeply", request.path);
    }
    ctx.body = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
    if (ctx.body.is_discarded()) {
      return ProblemResponse(400, "", "the request body is not valid JSON", request.path);
    }
    if (!ctx.body.is_object()) {
      return ProblemResponse(400, "", "the request body must be a JSON object", request.path);
    }
  }
  StatusOr<ApiResponse> response = route->handler(ctx);
  if (!response.ok()) {
    if (HttpStatusFor(response.status().code()) >= 500) {
      // The message names no patron data; it is the operator's lead to the cause.
      spdlog::error("{} {}: {}", route->method, route->action, response.status().ToString());
    }
    return ProblemResponse(response.status(), request.path);
  }
  return std::move(response).value();
}

StatusOr<int> ApiServer::Bind(const std::string& host, int port) {
  int bound = port == 0 ? impl_->http->bind_to_any_port(host)
                        : (impl_->http->bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    return Unavailable("cannot listen on " + host + ":" + std::to_string(port) +
                       " (address in use or not available)");
  }
  return bound;
}

Status ApiServer::Serve() {
  if (!impl_->http->listen_after_bind()) return Unavailable("the server stopped unexpectedly");
  return Status::Ok();
}

void ApiServer::Stop() {
  if (impl_->http->is_running()) impl_->http->stop();
}

}  // namespace carrel
