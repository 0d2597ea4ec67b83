#include <httplib.h>
#include <spdlog/spdlog.h>

#include <atomic>

#include "api/routes.h"
#include "carrel/server.h"

namespace carrel {

struct ApiServer::Impl {
  Library* library;
  httplib::Server http;
};

ApiServer::ApiServer(Library* library) : impl_(std::make_unique<Impl>()) {
  impl_->library = library;
  auto dispatch = [this](const httplib::Request& req, httplib::Response& res) {
    ApiRequest request;
    request.method = req.method;
    request.path = req.path;
    request.body = req.body;
    for (const auto& [k, v] : req.params) request.query.emplace(k, v);
    ApiResponse response = Handle(request);
    res.status = response.status;
    res.set_content(response.body, response.content_type);
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Content-Type-Options", "nosniff");
  };
  for (const char* pattern : {".*"}) {
    impl_->http.Get(pattern, dispatch);
    impl_->http.Post(pattern, dispatch);
    impl_->http.Put(pattern, dispatch);
    impl_->http.Patch(pattern, dispatch);
    impl_->http.Delete(pattern, dispatch);
  }
  impl_->http.set_payload_max_length(1 << 20);
  impl_->http.set_read_timeout(10, 0);
  impl_->http.set_write_timeout(10, 0);
  impl_->http.set_keep_alive_timeout(5);
}

ApiServer::~ApiServer() { Stop(); }

ApiResponse ApiServer::Handle(const ApiRequest& request) {
  std::vector<std::string> params;
  bool path_known = false;
  for (const Route& route : RouteTable()) {
    if (!MatchRoute(route.pattern, request.path, &params)) continue;
    path_known = true;
    if (route.method != request.method) continue;
    ApiRequest matched = request;
    matched.path_params = std::move(params);
    StatusOr<ApiResponse> response = route.handler(*impl_->library, matched);
    if (!response.ok()) {
      if (HttpStatusFor(response.status().code()) >= 500) {
        // The message names no patron data; it is the operator's lead to the cause.
        spdlog::error("{} {}: {}", route.method, route.action, response.status().ToString());
      }
      return ProblemResponse(response.status(), request.path);
    }
    return std::move(response).value();
  }
  if (path_known) {
    return ProblemResponse(405, "Method Not Allowed",
                           "the method " + request.method + " is not allowed on this path",
                           request.path);
  }
  return ProblemResponse(404, "Not Found", "there is no such resource", request.path);
}

StatusOr<int> ApiServer::Bind(const std::string& host, int port) {
  int bound = port == 0 ? impl_->http.bind_to_any_port(host) : 
      (impl_->http.bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    return Unavailable("cannot listen on " + host + ":" + std::to_string(port) +
                       " (address in use or not available)");
  }
  return bound;
}

Status ApiServer::Serve() {
  if (!impl_->http.listen_after_bind()) return Unavailable("the server stopped unexpectedly");
  return Status::Ok();
}

void ApiServer::Stop() {
  if (impl_->http.is_running()) impl_->http.stop();
}

}  // namespace carrel
