// Problem details (RFC 9457): one catalogue of the kinds of refusal, each with a stable type
// URI that clients may rely on, and the one mapping from Status to HTTP.

#include <nlohmann/json.hpp>

#include "api/problem.h"
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

const std::vector<ProblemKind>& ProblemKinds() {
  static const std::vector<ProblemKind> kinds = {
      {"invalid-input", 400, "Invalid input",
       "A field, a parameter or the body is not what the route takes. `errors` lists each "
       "one: `pointer` (a JSON Pointer into the body) or `parameter` (a path or query "
       "parameter), and `detail`. Nothing was written."},
      {"login-needed", 401, "Log in first",
       "The route needs a session, and the request had none, or its session expired or was "
       "ended. Log in again."},
      {"login-failed", 401, "Not accepted",
       "The username and password, card number and PIN, or reset code were not accepted. The "
       "answer is the same whichever part was wrong."},
      {"forbidden", 403, "Not allowed",
       "Your role may not do this, or not to this record (counsel act only on their own "
       "cases, a patron only on their own record)."},
      {"signature-refused", 403, "Signature refused",
       "This step is signed with your password, asked again, and was refused: the password "
       "was not accepted, or you may not sign this step now. Nothing was signed."},
      {"password-change-due", 403, "Choose a new password first",
       "The password this account was given is good for choosing a new one only "
       "(POST /api/v1/session/password)."},
      {"csrf-token-missing", 403, "Missing CSRF token",
       "A browser request that changes anything must carry the X-CSRF-Token header of its "
       "session."},
      {"not-found", 404, "Not found", "There is no such resource, or it is not yours to see."},
      {"method-not-allowed", 405, "Method not allowed",
       "The path exists, but not for this method."},
      {"already-exists", 409, "Already exists",
       "A record with this barcode, card number or name already exists."},
      {"wrong-state", 409, "Not allowed in this state",
       "The record is not in a state where this step may be taken (an item already out, a "
       "request not yet referred to counsel, a vote already closed). `detail` says what must "
       "happen first."},
      {"too-large", 413, "Body too large", "The body is larger than this route takes."},
      {"unsupported-media-type", 415, "Unsupported media type",
       "The body must be JSON (Content-Type: application/json)."},
      {"idempotency-key-reused", 422, "Idempotency key reused",
       "This Idempotency-Key was used with a different request in the last 24 hours. Use a "
       "new key for a new request."},
      {"rate-limited", 429, "Too many requests",
       "Too many requests from this address in the last minute; wait for the time "
       "Retry-After gives."},
      {"locked", 429, "Locked for a while",
       "Too many failed attempts on this account, card or address; wait for the time "
       "Retry-After gives. The wait grows with each further failure."},
      {"server-error", 500, "Server error",
       "The server could not complete the request. Nothing is said of why; the operator's log "
       "has the cause."},
      {"not-implemented", 501, "Not implemented", "This is not available on this server."},
      {"unavailable", 503, "Unavailable",
       "The server is busy or not ready; try again after the time Retry-After gives."},
  };
  return kinds;
}

const ProblemKind& ProblemKindFor(std::string_view slug) {
  for (const ProblemKind& k : ProblemKinds()) {
    if (k.slug == slug) return k;
  }
  return ProblemKinds()[16];  // server-error
}

std::string ProblemTypeUri(std::string_view slug) {
  return "/api/docs#problem-" + std::string(slug);
}

std::string_view ProblemSlugFor(int http_status) {
  switch (http_status) {
    case 400: return "invalid-input";
    case 401: return "login-needed";
    case 403: return "forbidden";
    case 404: return "not-found";
    case 405: return "method-not-allowed";
    case 409: return "wrong-state";
    case 413: return "too-large";
    case 415: return "unsupported-media-type";
    case 422: return "idempotency-key-reused";
    case 429: return "rate-limited";
    case 431: return "too-large";
    case 501: return "not-implemented";
    case 503: return "unavailable";
    default: return http_status >= 500 ? "server-error" : "invalid-input";
  }
}

std::string_view ProblemSlugFor(StatusCode code) {
  switch (code) {
    case StatusCode::kAlreadyExists: return "already-exists";
    case StatusCode::kFailedPrecondition: return "wrong-state";
    case StatusCode::kResourceExhausted: return "locked";
    default: return ProblemSlugFor(HttpStatusFor(code));
  }
}

ApiResponse Problem(std::string_view slug, int http_status, std::string_view detail,
                    std::string_view instance, const std::vector<FieldError>* errors) {
  const ProblemKind& kind = ProblemKindFor(slug);
  nlohmann::ordered_json body = {
      {"type", ProblemTypeUri(kind.slug)},
      {"title", kind.title},
      {"status", http_status},
      {"detail", detail},
      {"instance", instance},
  };
  if (errors != nullptr && !errors->empty()) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const FieldError& e : *errors) {
      list.push_back({{e.parameter ? "parameter" : "pointer", e.pointer}, {"detail", e.reason}});
    }
    body["errors"] = std::move(list);
  }
  // A field's name may come from the request as bytes that are not UTF-8 (a query key sent as
  // %FF): written with U+FFFD in their place, never thrown over.
  return ApiResponse{http_status, "application/problem+json",
                     body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace)};
}

ApiResponse ProblemResponse(int http_status, std::string_view, std::string_view detail,
                            std::string_view instance) {
  return Problem(ProblemSlugFor(http_status), http_status, detail, instance);
}

ApiResponse ProblemResponse(const Status& status, std::string_view instance) {
  int http = HttpStatusFor(status.code());
  // Internal failures are described generically: their messages are for the operator's log.
  std::string detail = http >= 500 && status.code() != StatusCode::kUnavailable
                           ? "the server could not complete the request"
                           : status.message();
  return Problem(ProblemSlugFor(status.code()), http, detail, instance);
}

}  // namespace carrel
