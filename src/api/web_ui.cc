// Serves the web UI (web/, built into the binary): the page at "/", never cached so that a new
// build is picked up at once, and its files at "/assets/<build>/<path>", cached for good since
// the build hash changes with any file. The UI is a client of the JSON API and nothing more.

#include "api/web_ui.h"

#include <string>

#include "api/web_assets.h"

namespace carrel {
namespace {

constexpr std::string_view kAssets = "/assets/";

std::string_view TypeOf(std::string_view path) {
  auto ends = [&](std::string_view s) { return path.ends_with(s); };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  if (ends(".woff2")) return "font/woff2";
  if (ends(".json")) return "application/json";
  return "application/octet-stream";
}

const WebAsset* Find(std::string_view path) {
  for (const WebAsset& a : WebAssets()) {
    if (a.path == path) return &a;
  }
  return nullptr;
}

ApiResponse Serve(const ApiRequest& request, std::string_view type, std::string body,
                  std::string etag, std::string_view cache) {
  auto match = request.headers.find("if-none-match");
  ApiResponse r(200, std::string(type), std::move(body));
  if (match != request.headers.end() && match->second == etag) {
    r.status = 304;
    r.body.clear();
  }
  r.headers.emplace_back("ETag", std::move(etag));
  r.headers.emplace_back("Cache-Control", std::string(cache));
  return r;
}

}  // namespace

std::optional<ApiResponse> WebUiFile(const ApiRequest& request) {
  if (request.method != "GET") return std::nullopt;
  if (request.path == "/" || request.path == "/index.html") {
    const WebAsset* page = Find("index.html");
    if (page == nullptr) return std::nullopt;
    std::string html(page->bytes);
    // Every link of the page names this build's files.
    const std::string marker = "%BUILD%";
    for (size_t at = html.find(marker); at != std::string::npos; at = html.find(marker, at)) {
      html.replace(at, marker.size(), WebBuild());
    }
    return Serve(request, TypeOf("index.html"), std::move(html),
                 "\"" + std::string(WebBuild()) + "\"", "no-cache");
  }
  if (!request.path.starts_with(kAssets)) return std::nullopt;
  std::string_view rest = std::string_view(request.path).substr(kAssets.size());
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos || rest.substr(0, slash) != WebBuild()) return std::nullopt;
  std::string_view path = rest.substr(slash + 1);
  const WebAsset* file = Find(path);
  if (file == nullptr || path == "index.html") return std::nullopt;
  return Serve(request, TypeOf(path), std::string(file->bytes),
               "\"" + std::string(file->sha256.substr(0, 32)) + "\"",
               "public, max-age=31536000, immutable");
}

}  // namespace carrel
