#include <nlohmann/json.hpp>

#include "carrel/server.h"

namespace carrel {

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kUnauthenticated: return 401;
    case StatusCode::kPermissionDenied: return 403;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kAlreadyExists: return 409;
    case StatusCode::kFailedPrecondition: return 409;
    case StatusCode::kResourceExhausted: return 429;
    case StatusCode::kUnimplemented: return 501;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kDataLoss: return 500;
    case StatusCode::kInternal: return 500;
  }
  return 500;
}

namespace {
std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 431: return "Request Header Fields Too Large";
    case 429: return "Too Many Requests";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
  }
}
}  // namespace

ApiResponse ProblemResponse(int http_status, std::string_view title, std::string_view detail,
                            std::string_view instance) {
  nlohmann::json body = {
      {"type", "about:blank"},
      {"title", title.empty() ? ReasonPhrase(http_status) : title},
      {"status", http_status},
      {"detail", detail},
      {"instance", instance},
  };
  return ApiResponse{http_status, "application/problem+json", body.dump()};
}

ApiResponse ProblemResponse(const Status& status, std::string_view instance) {
  int http = HttpStatusFor(status.code());
  // Internal failures are described generically: their messages are for the operator's log.
  std::string detail = http >= 500 && status.code() != StatusCode::kUnavailable
                           ? "the server could not complete the request"
                           : status.message();
  return ProblemResponse(http, ReasonPhrase(http), detail, instance);
}

}  // namespace carrel
