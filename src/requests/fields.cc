#include "requests/fields.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "carrel/profile.h"
#include "carrel/requests.h"

namespace carrel {

using json = nlohmann::json;

namespace {

using namespace schema;

SchemaRef Scope() {
  static SchemaRef s = Named(
      "CaseScope",
      Object({Opt("patrons", Array(Id(), 100)),
              Opt("categories", Array(EnumOf(std::vector<std::string>(
                                          DisclosureCategories().begin(),
                                          DisclosureCategories().end())),
                                      16)),
              Opt("from", CalendarDate()), Opt("to", CalendarDate())}),
      "Which records: the patrons (ids), the categories of record, and the period");
  return s;
}

SchemaRef Words(size_t max_items, size_t max_length = 200) {
  return Array(Text(max_length), max_items);
}

// What a decision releases: categories and dates, and optionally some of the cards asked
// about (never a patron outside the request).
SchemaRef DecisionScope() {
  static SchemaRef s = Named(
      "DecisionScope",
      Object({Opt("categories", Array(EnumOf(std::vector<std::string>(
                                          DisclosureCategories().begin(),
                                          DisclosureCategories().end())),
                                      16)),
              Opt("from", CalendarDate()), Opt("to", CalendarDate()),
              Opt("card_barcodes", Words(100, 64))}),
      "What a decision releases: the categories, the period, and optionally some of the "
      "cards the request asked about");
  return s;
}

const std::map<std::string, SchemaRef, std::less<>>& StepPayloads() {
  static const auto* steps = new std::map<std::string, SchemaRef, std::less<>>{
      {"acknowledge", Object({})},
      {"consult_counsel", Object({Req("counsel_id", Id()), Req("consultation", Text(4000))})},
      {"decline", Object({Opt("explanation", Text(4000))})},
      {"refer_to_counsel", Object({Opt("counsel_id", Id())})},
      {"advise", Object({Opt("proper_form", Boolean()), Opt("enforceable", Boolean()),
                         Opt("court_order_compels", Boolean()),
                         Req("recommendation", Enum({"comply", "narrow", "challenge", "refuse"})),
                         Req("advice", Text(20000)), Opt("recommended_scope", Scope())})},
      {"decide", Object({Req("outcome", Enum({"release", "partial", "refuse"})),
                         Opt("basis", Text(40)), Opt("scope", DecisionScope()),
                         Opt("advice_id", Id()),
                         Opt("permission_id", Id())})},
      {"prepare_disclosure", Object({})},
      {"deliver", Object({Req("to", Text(400)), Req("how", Text(400)), Opt("at", Timestamp())})},
      {"acknowledge_receipt", Object({Opt("at", Timestamp())})},
      {"respond_media", Object({Req("statement", Text(4000))})},
      {"execute_warrant",
       Object({Req("officers", Words(20)), Req("executed_at", Timestamp()),
               Opt("items_seized", Words(200, 64)), Opt("devices", Words(50)),
               Opt("notes", Text(4000))})},
      {"nondisclosure", Object({Req("order", Boolean()), Opt("expires", CalendarDate()),
                                Opt("review", CalendarDate())})},
      {"close", Object({Opt("release_holds", Boolean())})},
  };
  return *steps;
}

}  // namespace

SchemaRef StepPayloadSchema(std::string_view action) {
  auto it = StepPayloads().find(action);
  return it == StepPayloads().end() ? nullptr : it->second;
}

SchemaRef CaseScopeSchema() { return Scope(); }

SchemaRef DecisionScopeSchema() { return DecisionScope(); }

SchemaRef CaseIntakeSchema() {
  static SchemaRef s = Named(
      "CaseIntake",
      Object({Req("type", Enum({"law_enforcement", "media", "patron_access", "third_party"})),
              Opt("agency", Text(400)), Opt("name", Text(400)), Opt("badge", Text(400)),
              Opt("contact", Text(400)), Opt("callback_number", Text(400)),
              Opt("callback_source", Text(400)), Opt("arrived_by", Text(400)),
              Req("asked", Text(4000)), Opt("card_barcodes", Words(100, 64)),
              Opt("categories", Array(EnumOf(std::vector<std::string>(
                                          DisclosureCategories().begin(),
                                          DisclosureCategories().end())),
                                      8)),
              Opt("from", CalendarDate()), Opt("to", CalendarDate()),
              Opt("process", EnumOf(std::vector<std::string>(LegalProcessNames().begin(),
                                                           LegalProcessNames().end()))),
              Opt("issuing_authority", Text(400)), Opt("process_date", CalendarDate()),
              Opt("return_date", CalendarDate()), Opt("nondisclosure_order", Boolean()),
              Opt("nondisclosure_expires", CalendarDate()), Opt("nondisclosure_review", CalendarDate())}),
      "A request as taken in at the desk: who asks, what, under what legal process");
  return s;
}

SchemaRef PermissionTermsSchema() {
  static SchemaRef s = Object(
      {Req("recipient", Text(400)),
       Opt("categories", Array(EnumOf(std::vector<std::string>(DisclosureCategories().begin(),
                                                              DisclosureCategories().end())),
                               8)),
       Opt("from", CalendarDate()), Opt("to", CalendarDate()), Req("valid_until", CalendarDate())});
  return s;
}

Status CheckAgainst(SchemaRef schema, const json& value) {
  std::vector<FieldError> errors;
  if (CheckJson(schema, value, &errors, 5)) return Status::Ok();
  return InvalidArgument(DescribeErrors(errors));
}

std::optional<Date> DateOf(const json& j, std::string_view key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  auto d = ParseDate(it->get<std::string>());
  return d.ok() ? std::optional<Date>(*d) : std::nullopt;
}

json DateJson(const std::optional<Date>& d) { return d ? json(FormatDate(*d)) : json(nullptr); }

bool Has(const std::vector<std::string>& list, std::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

bool Has(const std::vector<std::string_view>& list, std::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

}  // namespace carrel
