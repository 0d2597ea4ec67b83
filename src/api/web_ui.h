#pragma once

#include <optional>

#include "carrel/server.h"

namespace carrel {

// The web UI's page or one of its files for `request`; nullopt when the path is not the UI's
// (the API's routes answer it then).
std::optional<ApiResponse> WebUiFile(const ApiRequest& request);

}  // namespace carrel
