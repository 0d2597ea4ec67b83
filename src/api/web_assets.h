#pragma once

// The web UI (web/), built into the binary by cmake/embed_web.cmake: a static client of the
// JSON API, served at / and /assets/<build>/<path>.

#include <string_view>
#include <vector>

namespace carrel {

struct WebAsset {
  std::string_view path;    // relative to web/, e.g. "app.js", "pages/desk.js"
  std::string_view bytes;
  std::string_view sha256;  // hex
};

const std::vector<WebAsset>& WebAssets();
// A hash of every asset: the path segment that changes with each build of the UI.
std::string_view WebBuild();

}  // namespace carrel
