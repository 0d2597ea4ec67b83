#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace carrel {

// The error vocabulary of carrel, after absl::StatusCode. Each code says when it is used; the
// HTTP mapping lives in one place (api/problem.cc) and the CLI prints message() on one line.
enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // the caller's input is malformed or out of range
  kNotFound,            // the named patron, item, loan... does not exist
  kAlreadyExists,       // creating something whose unique key is taken
  kFailedPrecondition,  // the library's state forbids it (item already lent, renewal limit)
  kPermissionDenied,    // authenticated but not allowed
  kUnauthenticated,     // no valid credentials
  kResourceExhausted,   // rate or size limit reached
  kDataLoss,            // stored data is corrupt or was tampered with
  kUnavailable,         // transient: retrying may succeed (database busy)
  kInternal,            // an invariant of carrel itself broke
  kUnimplemented,
};

std::string_view StatusCodeName(StatusCode code);

// A Status is either OK or a code with a message. Messages are shown to people (API problem
// detail, CLI error line) and so must never contain personally identifiable information.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "not found: no item with that barcode"
  std::string ToString() const;

  // Prefixes the message with context ("profile.toml:12: ...").
  Status WithContext(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

Status InvalidArgument(std::string message);
Status NotFound(std::string message);
Status AlreadyExists(std::string message);
Status FailedPrecondition(std::string message);
Status PermissionDenied(std::string message);
Status Unauthenticated(std::string message);
Status ResourceExhausted(std::string message);
Status DataLoss(std::string message);
Status Unavailable(std::string message);
Status Internal(std::string message);
Status Unimplemented(std::string message);

// Either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(const T& value) : value_(value) {}                         // NOLINT: implicit by design
  StatusOr(T&& value) : value_(std::move(value)) {}                   // NOLINT
  StatusOr(Status status) : status_(std::move(status)) {              // NOLINT
    assert(!status_.ok() && "StatusOr needs a non-OK status or a value");
    if (status_.ok()) status_ = Internal("StatusOr built from an OK status without a value");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  // REQUIRES: ok()
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace carrel

#define CARREL_CONCAT_INNER(a, b) a##b
#define CARREL_CONCAT(a, b) CARREL_CONCAT_INNER(a, b)

#define CARREL_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::carrel::Status carrel_status_ = (expr);        \
    if (!carrel_status_.ok()) return carrel_status_; \
  } while (0)

#define CARREL_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()

#define CARREL_ASSIGN_OR_RETURN(lhs, expr) \
  CARREL_ASSIGN_OR_RETURN_IMPL(CARREL_CONCAT(carrel_statusor_, __LINE__), lhs, expr)
