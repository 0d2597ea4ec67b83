#pragma once

// Reading the JSON a request step or an intake carries, each field checked, and small helpers
// the request workflow shares between its core and its API handlers.

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "carrel/clock.h"
#include "carrel/status.h"

namespace carrel {

// A string field; absent, null or "" reads as "" (kInvalidArgument when `required`).
StatusOr<std::string> JsonText(const nlohmann::json& j, std::string_view key, bool required,
                               size_t max);
// A boolean field; absent or null reads as false.
StatusOr<bool> JsonFlag(const nlohmann::json& j, std::string_view key);
// A non-negative integer id; absent or null reads as 0.
StatusOr<int64_t> JsonId(const nlohmann::json& j, std::string_view key);
// A YYYY-MM-DD field; absent or null reads as nullopt.
StatusOr<std::optional<Date>> JsonDate(const nlohmann::json& j, std::string_view key);
// A list of at most `max_items` non-empty strings of at most 200 characters.
StatusOr<std::vector<std::string>> JsonWords(const nlohmann::json& j, std::string_view key,
                                             size_t max_items);
// An object holding no key but `keys`.
Status JsonOnlyKeys(const nlohmann::json& j, std::initializer_list<std::string_view> keys);
// A date, or null.
nlohmann::json DateJson(const std::optional<Date>& d);

// SQL: whether the nondisclosure order of case row `c` is in force on the day bound to `?` (an
// order without an expiry holds until it is recorded lifted).
inline constexpr char kOrderInForceSql[] =
    "(c.nondisclosure = 1 AND (c.nondisclosure_expires IS NULL OR c.nondisclosure_expires > ?))";

bool Has(const std::vector<std::string>& list, std::string_view v);
bool Has(const std::vector<std::string_view>& list, std::string_view v);

}  // namespace carrel
