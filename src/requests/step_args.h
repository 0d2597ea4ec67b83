#pragma once

// The request workflow's steps as JSON, for the API and the stored case notes: each step's
// body read into its type (after checking it against the step's contract), and written back.

#include <nlohmann/json.hpp>
#include <string_view>

#include "carrel/requests.h"
#include "carrel/status.h"

namespace carrel {

// Reads the body of step `step` (checked against StepPayloadSchema first: kInvalidArgument
// naming the bad fields; an unknown step is kInvalidArgument too).
StatusOr<StepArgs> StepArgsFromJson(std::string_view step, const nlohmann::json& body);
// The step as its body, omitting optional fields left empty: what StepArgsFromJson reads back.
nlohmann::json StepArgsToJson(const StepArgs& args);

// The decide step's scope (also what counting a scope takes).
StatusOr<ScopeChoice> ScopeChoiceFromJson(const nlohmann::json& scope);
nlohmann::json ScopeChoiceToJson(const ScopeChoice& scope);

// A scope as stored and shown: patrons, categories, from, to (dates or null).
nlohmann::json ScopeToJson(const CaseScope& scope);
StatusOr<CaseScope> ScopeFromJson(const nlohmann::json& j);

}  // namespace carrel
