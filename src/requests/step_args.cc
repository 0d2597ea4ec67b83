#include "requests/step_args.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <type_traits>

#include "requests/fields.h"
#include "util/json_schema.h"

namespace carrel {

using json = nlohmann::json;

namespace {

// The step names, in the order of StepArgs' alternatives.
constexpr std::string_view kStepNames[] = {
    "acknowledge",     "consult_counsel",    "decline", "refer_to_counsel",    "advise",
    "decide",          "prepare_disclosure", "deliver", "acknowledge_receipt", "respond_media",
    "execute_warrant", "nondisclosure",      "close"};
static_assert(std::size(kStepNames) == std::variant_size_v<StepArgs>);

// An instant field: absent or null is nullopt; anything else must parse.
StatusOr<std::optional<Instant>> InstantOf(const json& j, std::string_view key) {
  if (!Given(j, key)) return std::optional<Instant>();
  const json& v = j[std::string(key)];
  if (!v.is_string()) return InvalidArgument(std::string(key) + " must be a time (RFC 3339)");
  CARREL_ASSIGN_OR_RETURN(Instant t, ParseInstant(v.get<std::string>()));
  return std::optional<Instant>(t);
}

// Adds `key` to `j` unless the value is empty (optional fields left out).
void PutText(json& j, const char* key, const std::string& v) {
  if (!v.empty()) j[key] = v;
}
void PutWords(json& j, const char* key, const std::vector<std::string>& v) {
  if (!v.empty()) j[key] = v;
}
void PutId(json& j, const char* key, int64_t v) {
  if (v != 0) j[key] = v;
}
void PutDate(json& j, const char* key, const std::optional<Date>& d) {
  if (d) j[key] = FormatDate(*d);
}
void PutInstant(json& j, const char* key, const std::optional<Instant>& t) {
  if (t) j[key] = FormatInstant(*t);
}

template <size_t I = 0>
StatusOr<StepArgs> EmptyArgs(std::string_view step) {
  if constexpr (I == std::variant_size_v<StepArgs>) {
    return InvalidArgument("there is no step called '" + std::string(step) + "'");
  } else {
    if (kStepNames[I] == step) return StepArgs(std::in_place_index<I>);
    return EmptyArgs<I + 1>(step);
  }
}

}  // namespace

std::string_view StepName(const StepArgs& args) { return kStepNames[args.index()]; }

StatusOr<ScopeChoice> ScopeChoiceFromJson(const json& j) {
  if (!j.is_object()) return InvalidArgument("scope must be an object");
  CARREL_RETURN_IF_ERROR(CheckAgainst(DecisionScopeSchema(), j));
  ScopeChoice s;
  s.categories = WordsOf(j, "categories");
  s.from = DateOf(j, "from");
  s.to = DateOf(j, "to");
  if (j.contains("card_barcodes")) {
    if (!j["card_barcodes"].is_array()) return InvalidArgument("card_barcodes must be a list");
    std::vector<std::string> cards;
    for (const json& card : j["card_barcodes"]) {
      if (!card.is_string()) return InvalidArgument("card_barcodes must be a list");
      cards.push_back(card.get<std::string>());
    }
    s.card_barcodes = std::move(cards);
  }
  return s;
}

json ScopeChoiceToJson(const ScopeChoice& s) {
  json j = json::object();
  PutWords(j, "categories", s.categories);
  PutDate(j, "from", s.from);
  PutDate(j, "to", s.to);
  if (s.card_barcodes) j["card_barcodes"] = *s.card_barcodes;
  return j;
}

json ScopeToJson(const CaseScope& s) {
  return {{"patrons", s.patron_ids},
          {"categories", s.categories},
          {"from", DateJson(s.from)},
          {"to", DateJson(s.to)}};
}

StatusOr<CaseScope> ScopeFromJson(const json& j) {
  CARREL_RETURN_IF_ERROR(CheckAgainst(CaseScopeSchema(), j));
  CaseScope s;
  if (Given(j, "patrons")) {
    for (const json& p : j["patrons"]) s.patron_ids.push_back(p.get<int64_t>());
  }
  std::sort(s.patron_ids.begin(), s.patron_ids.end());
  s.patron_ids.erase(std::unique(s.patron_ids.begin(), s.patron_ids.end()), s.patron_ids.end());
  s.categories = WordsOf(j, "categories");
  std::sort(s.categories.begin(), s.categories.end());
  s.categories.erase(std::unique(s.categories.begin(), s.categories.end()), s.categories.end());
  s.from = DateOf(j, "from");
  s.to = DateOf(j, "to");
  if (s.from && s.to && *s.to < *s.from) return InvalidArgument("the scope ends before it starts");
  return s;
}

StatusOr<StepArgs> StepArgsFromJson(std::string_view step, const json& body) {
  CARREL_ASSIGN_OR_RETURN(StepArgs args, EmptyArgs(step));
  const json& j = body.is_object() ? body : json::object();
  // A field the step does not take is refused here (the rest of its contract is checked by
  // the core on the typed step, whoever calls).
  if (SchemaRef schema = StepPayloadSchema(step); schema != nullptr) {
    std::vector<FieldError> unknown;
    for (const auto& [key, value] : j.items()) {
      bool known = false;
      for (const SchemaProperty& p : schema->properties) known = known || p.name == key;
      if (!known) unknown.push_back({"/" + key, "is not a field here", false});
    }
    if (!unknown.empty()) return InvalidArgument(DescribeErrors(unknown));
  }
  Status read = std::visit(
      [&](auto& a) -> Status {
        using T = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<T, steps::ConsultCounsel>) {
          a.counsel_id = IntOf(j, "counsel_id");
          a.consultation = TextOf(j, "consultation");
        } else if constexpr (std::is_same_v<T, steps::Decline>) {
          a.explanation = TextOf(j, "explanation");
        } else if constexpr (std::is_same_v<T, steps::ReferToCounsel>) {
          a.counsel_id = IntOf(j, "counsel_id");
        } else if constexpr (std::is_same_v<T, steps::Advise>) {
          a.proper_form = FlagOf(j, "proper_form");
          a.enforceable = FlagOf(j, "enforceable");
          a.court_order_compels = FlagOf(j, "court_order_compels");
          CARREL_ASSIGN_OR_RETURN(a.recommendation,
                                  ParseCounselRecommendation(TextOf(j, "recommendation")));
          a.advice = TextOf(j, "advice");
          if (Given(j, "recommended_scope")) {
            CARREL_ASSIGN_OR_RETURN(a.recommended_scope, ScopeFromJson(j["recommended_scope"]));
          }
        } else if constexpr (std::is_same_v<T, steps::Decide>) {
          CARREL_ASSIGN_OR_RETURN(a.outcome, ParseCaseOutcome(TextOf(j, "outcome")));
          a.basis = TextOf(j, "basis");
          a.advice_id = IntOf(j, "advice_id");
          a.permission_id = IntOf(j, "permission_id");
          if (j.contains("scope")) {
            CARREL_ASSIGN_OR_RETURN(a.scope, ScopeChoiceFromJson(j["scope"]));
          }
        } else if constexpr (std::is_same_v<T, steps::Deliver>) {
          a.to = TextOf(j, "to");
          a.how = TextOf(j, "how");
          CARREL_ASSIGN_OR_RETURN(a.at, InstantOf(j, "at"));
        } else if constexpr (std::is_same_v<T, steps::AcknowledgeReceipt>) {
          CARREL_ASSIGN_OR_RETURN(a.at, InstantOf(j, "at"));
        } else if constexpr (std::is_same_v<T, steps::RespondMedia>) {
          a.statement = TextOf(j, "statement");
        } else if constexpr (std::is_same_v<T, steps::ExecuteWarrant>) {
          a.officers = WordsOf(j, "officers");
          CARREL_ASSIGN_OR_RETURN(std::optional<Instant> at, InstantOf(j, "executed_at"));
          if (!at) return InvalidArgument("executed_at: a required field is missing");
          a.executed_at = *at;
          a.items_seized = WordsOf(j, "items_seized");
          a.devices = WordsOf(j, "devices");
          a.notes = TextOf(j, "notes");
        } else if constexpr (std::is_same_v<T, steps::Nondisclosure>) {
          a.order = FlagOf(j, "order");
          a.expires = DateOf(j, "expires");
          a.review = DateOf(j, "review");
        } else if constexpr (std::is_same_v<T, steps::Close>) {
          a.release_holds = FlagOf(j, "release_holds");
        }
        return Status::Ok();
      },
      args);
  CARREL_RETURN_IF_ERROR(read);
  return args;
}

json StepArgsToJson(const StepArgs& args) {
  json j = json::object();
  std::visit(
      [&](const auto& a) {
        using T = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<T, steps::ConsultCounsel>) {
          j["counsel_id"] = a.counsel_id;
          j["consultation"] = a.consultation;
        } else if constexpr (std::is_same_v<T, steps::Decline>) {
          PutText(j, "explanation", a.explanation);
        } else if constexpr (std::is_same_v<T, steps::ReferToCounsel>) {
          PutId(j, "counsel_id", a.counsel_id);
        } else if constexpr (std::is_same_v<T, steps::Advise>) {
          j["proper_form"] = a.proper_form;
          j["enforceable"] = a.enforceable;
          j["court_order_compels"] = a.court_order_compels;
          j["recommendation"] = CounselRecommendationName(a.recommendation);
          j["advice"] = a.advice;
          if (a.recommended_scope) j["recommended_scope"] = ScopeToJson(*a.recommended_scope);
        } else if constexpr (std::is_same_v<T, steps::Decide>) {
          j["outcome"] = CaseOutcomeName(a.outcome);
          PutText(j, "basis", a.basis);
          j["scope"] = ScopeChoiceToJson(a.scope);
          PutId(j, "advice_id", a.advice_id);
          PutId(j, "permission_id", a.permission_id);
        } else if constexpr (std::is_same_v<T, steps::Deliver>) {
          j["to"] = a.to;
          j["how"] = a.how;
          PutInstant(j, "at", a.at);
        } else if constexpr (std::is_same_v<T, steps::AcknowledgeReceipt>) {
          PutInstant(j, "at", a.at);
        } else if constexpr (std::is_same_v<T, steps::RespondMedia>) {
          j["statement"] = a.statement;
        } else if constexpr (std::is_same_v<T, steps::ExecuteWarrant>) {
          j["officers"] = a.officers;
          j["executed_at"] = FormatInstant(a.executed_at);
          PutWords(j, "items_seized", a.items_seized);
          PutWords(j, "devices", a.devices);
          PutText(j, "notes", a.notes);
        } else if constexpr (std::is_same_v<T, steps::Nondisclosure>) {
          j["order"] = a.order;
          PutDate(j, "expires", a.expires);
          PutDate(j, "review", a.review);
        } else if constexpr (std::is_same_v<T, steps::Close>) {
          j["release_holds"] = a.release_holds;
        }
      },
      args);
  return j;
}

}  // namespace carrel
