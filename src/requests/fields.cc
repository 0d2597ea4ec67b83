#include "requests/fields.h"

#include <algorithm>

namespace carrel {

using json = nlohmann::json;

StatusOr<std::string> JsonText(const json& j, std::string_view key, bool required, size_t max) {
  if (!j.contains(key) || j[key].is_null() ||
      (j[key].is_string() && j[key].get<std::string>().empty())) {
    if (required) return InvalidArgument(std::string(key) + " is required");
    return std::string();
  }
  if (!j[key].is_string()) return InvalidArgument(std::string(key) + " must be a string");
  std::string s = j[key].get<std::string>();
  if (s.size() > max) {
    return InvalidArgument(std::string(key) + " is longer than " + std::to_string(max) +
                           " characters");
  }
  return s;
}

StatusOr<bool> JsonFlag(const json& j, std::string_view key) {
  if (!j.contains(key) || j[key].is_null()) return false;
  if (!j[key].is_boolean()) return InvalidArgument(std::string(key) + " must be true or false");
  return j[key].get<bool>();
}

StatusOr<int64_t> JsonId(const json& j, std::string_view key) {
  if (!j.contains(key) || j[key].is_null()) return int64_t{0};
  if (!j[key].is_number_integer() || j[key].get<int64_t>() < 0) {
    return InvalidArgument(std::string(key) + " must be a number");
  }
  return j[key].get<int64_t>();
}

StatusOr<std::optional<Date>> JsonDate(const json& j, std::string_view key) {
  if (!j.contains(key) || j[key].is_null()) return std::optional<Date>();
  if (!j[key].is_string()) return InvalidArgument(std::string(key) + " must be a date");
  ASSIGN_OR_RETURN(Date d, ParseDate(j[key].get<std::string>()));
  return std::optional<Date>(d);
}

StatusOr<std::vector<std::string>> JsonWords(const json& j, std::string_view key,
                                             size_t max_items) {
  std::vector<std::string> out;
  if (!j.contains(key) || j[key].is_null()) return out;
  if (!j[key].is_array() || j[key].size() > max_items) {
    return InvalidArgument(std::string(key) + " must be a list of at most " +
                           std::to_string(max_items) + " strings");
  }
  for (const json& w : j[key]) {
    if (!w.is_string() || w.get<std::string>().empty() || w.get<std::string>().size() > 200) {
      return InvalidArgument(std::string(key) + " must hold non-empty strings");
    }
    out.push_back(w.get<std::string>());
  }
  return out;
}

Status JsonOnlyKeys(const json& j, std::initializer_list<std::string_view> keys) {
  if (!j.is_object()) return InvalidArgument("the step's details must be an object");
  for (const auto& [k, v] : j.items()) {
    if (std::find(keys.begin(), keys.end(), k) == keys.end()) {
      return InvalidArgument("unknown field '" + k + "' for this step");
    }
  }
  return Status::Ok();
}

json DateJson(const std::optional<Date>& d) { return d ? json(FormatDate(*d)) : json(nullptr); }

bool Has(const std::vector<std::string>& list, std::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

bool Has(const std::vector<std::string_view>& list, std::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

}  // namespace carrel
