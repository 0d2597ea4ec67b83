#pragma once

// The catalogue of problem types (RFC 9457): each kind of refusal the API gives, with a type
// URI that stays the same from release to release.

#include <string>
#include <string_view>
#include <vector>

#include "carrel/server.h"
#include "util/json_schema.h"

namespace carrel {

struct ProblemKind {
  std::string_view slug;  // the type URI is /api/docs#problem-<slug>
  int status;             // its usual HTTP status
  std::string_view title;
  std::string_view meaning;
};

const std::vector<ProblemKind>& ProblemKinds();
std::string ProblemTypeUri(std::string_view slug);
std::string_view ProblemSlugFor(StatusCode code);

// A problem of kind `slug`; `errors` (RFC 9457's extension member) names each bad body field by
// JSON Pointer, or a path or query parameter by name.
ApiResponse Problem(std::string_view slug, int http_status, std::string_view detail,
                    std::string_view instance, const std::vector<FieldError>* errors = nullptr);

}  // namespace carrel
