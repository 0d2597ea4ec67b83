#pragma once

// A fixed set's names, as stored and shown: one table of {value, name} pairs per enum, read
// both ways. A name no value has is kInvalidArgument listing the names there are.

#include <string>
#include <string_view>
#include <utility>

#include "carrel/status.h"

namespace carrel {

template <typename E, size_t N>
constexpr std::string_view NameOf(const std::pair<E, std::string_view> (&names)[N], E value) {
  for (const auto& [v, n] : names) {
    if (v == value) return n;
  }
  return "unknown";
}

// `what` names the field in the refusal: "vote must be one of for, against, abstain".
template <typename E, size_t N>
StatusOr<E> ValueNamed(const std::pair<E, std::string_view> (&names)[N], std::string_view name,
                       std::string_view what) {
  for (const auto& [v, n] : names) {
    if (n == name) return v;
  }
  std::string known;
  for (const auto& [v, n] : names) {
    if (n.empty()) continue;
    known += (known.empty() ? "" : ", ") + std::string(n);
  }
  return InvalidArgument(std::string(what) + " must be one of " + known);
}

// A name read back from carrel's own files: one that no value has means the file was changed
// behind carrel's back, so it is kDataLoss, not a caller's mistake.
template <typename E>
StatusOr<E> Stored(StatusOr<E> parsed) {
  if (!parsed.ok()) {
    return DataLoss("a record holds a name carrel does not know (" +
                    std::string(parsed.status().message()) + ")");
  }
  return parsed;
}

}  // namespace carrel
