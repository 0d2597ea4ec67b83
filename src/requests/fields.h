#pragma once

// Reading the JSON a request step or an intake carries, each field checked, and small helpers
// the request workflow shares between its core and its API handlers.

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "carrel/clock.h"
#include "carrel/status.h"
#include "util/json_schema.h"

namespace carrel {

// What each step of the workflow carries (its payload), the intake, a scope and a patron's
// permission: the one contract of each, checked by the API before a handler runs and by the
// core again for any other caller (util/json_schema.h).
SchemaRef StepPayloadSchema(std::string_view action);  // nullptr for an unknown step
SchemaRef CaseIntakeSchema();
SchemaRef CaseScopeSchema();
// What a decision releases (the decide step's `scope`).
SchemaRef DecisionScopeSchema();
SchemaRef PermissionTermsSchema();  // recipient, categories, from, to, valid_until

// Checks `value` against `schema`; kInvalidArgument naming the first few bad fields.
Status CheckAgainst(SchemaRef schema, const nlohmann::json& value);

// A YYYY-MM-DD field already checked; absent or null reads as nullopt.
std::optional<Date> DateOf(const nlohmann::json& j, std::string_view key);
// A date, or null.
nlohmann::json DateJson(const std::optional<Date>& d);

// SQL: whether the nondisclosure order of case row `c` is in force on the day bound to `?` (an
// order without an expiry holds until it is recorded lifted).
inline constexpr char kOrderInForceSql[] =
    "(c.nondisclosure = 1 AND (c.nondisclosure_expires IS NULL OR c.nondisclosure_expires > ?))";

bool Has(const std::vector<std::string>& list, std::string_view v);
bool Has(const std::vector<std::string_view>& list, std::string_view v);

}  // namespace carrel
