#include "util/json_schema.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace carrel {
namespace {

using nlohmann::json;
using namespace schema;

std::vector<FieldError> Errors(SchemaRef s, const json& v) {
  std::vector<FieldError> errors;
  CheckJson(s, v, &errors);
  return errors;
}

TEST(JsonSchemaTest, ObjectsHoldOnlyTheirFieldsAndNameEachRefusalByPointer) {
  SchemaRef s = Object({Req("name", Text(5)), Opt("age", Integer(0, 150)),
                        Opt("tags", Array(Text(3), 2))});
  EXPECT_TRUE(Errors(s, {{"name", "Ada"}}).empty());
  auto errors = Errors(s, {{"age", -1}, {"tags", {"ok", "long"}}, {"x/y~z", 1}});
  ASSERT_EQ(errors.size(), 4u);
  std::map<std::string, std::string> by;
  for (const FieldError& e : errors) by[e.pointer] = e.reason;
  EXPECT_EQ(by["/age"], "must be at least 0");
  EXPECT_EQ(by["/tags/1"], "must be at most 3 characters");
  EXPECT_EQ(by["/x~1y~0z"], "is not a field here") << "RFC 6901 escapes";
  EXPECT_EQ(by["/name"], "is required");
  EXPECT_EQ(Errors(s, json::array())[0].reason, "must be an object");
  EXPECT_EQ(Errors(s, {{"name", "Ada"}, {"tags", {"a", "b", "c"}}})[0].reason,
            "must hold at most 2 entries");
}

TEST(JsonSchemaTest, NullIsNotGivenForOptionalFieldsAndAValueWhereNullable) {
  SchemaRef s = Object({Req("due", Nullable(CalendarDate())), Opt("note", Text(10))});
  EXPECT_TRUE(Errors(s, {{"due", nullptr}, {"note", nullptr}}).empty());
  EXPECT_EQ(Errors(s, json::object())[0].reason, "is required");
  SchemaRef strict = Object({Req("note", Text(10))});
  EXPECT_EQ(Errors(strict, {{"note", nullptr}})[0].reason, "must not be null");
  // An empty string is a value: refused where text is required, kept where it may be empty.
  EXPECT_EQ(Errors(strict, {{"note", ""}})[0].reason, "must not be empty");
  EXPECT_TRUE(Errors(Object({Req("note", Text(10, 0))}), {{"note", ""}}).empty());
}

TEST(JsonSchemaTest, LengthsCountCharactersNotBytes) {
  SchemaRef s = Text(3);
  EXPECT_TRUE(Errors(s, "café").size() == 1);
  EXPECT_TRUE(Errors(s, "été").empty()) << "three characters in five bytes";
  EXPECT_TRUE(Errors(Text(2), "€€").empty());
}

TEST(JsonSchemaTest, FormatsAndChoicesAreChecked) {
  EXPECT_TRUE(Errors(CalendarDate(), "2026-02-28").empty());
  EXPECT_EQ(Errors(CalendarDate(), "2026-02-30")[0].reason, "must be a date, YYYY-MM-DD");
  EXPECT_TRUE(Errors(Timestamp(), "2026-12-02T15:00:00Z").empty());
  EXPECT_FALSE(Errors(Timestamp(), "tomorrow").empty());
  EXPECT_TRUE(Errors(Base64(0), "AAEC").empty());
  EXPECT_FALSE(Errors(Base64(0), "AA=C").empty());
  EXPECT_FALSE(Errors(Base64(0), "AAE").empty());
  EXPECT_TRUE(Errors(Email(), " reader@example.org ").empty());
  EXPECT_FALSE(Errors(Email(), "reader.example.org").empty());
  EXPECT_EQ(Errors(Enum({"for", "against", "abstain"}), "maybe")[0].reason,
            "must be one of for, against or abstain");
  EXPECT_EQ(Errors(Id(), 0)[0].reason, "must be at least 1");
  EXPECT_EQ(Errors(Id(), 1.5)[0].reason, "must be a whole number");
  EXPECT_EQ(Errors(Id(), json(uint64_t{1} << 63))[0].reason, "is too large");
  EXPECT_EQ(Errors(Boolean(), "true")[0].reason, "must be true or false");
}

TEST(JsonSchemaTest, AlternativesAreToldApartByTheirFirstRequiredField) {
  SchemaRef login = OneOf({Object({Req("username", Text(64)), Req("password", Text(100))}),
                           Object({Req("card_barcode", Text(64)), Req("pin", Text(12))})});
  EXPECT_TRUE(Errors(login, {{"card_barcode", "2100"}, {"pin", "1234"}}).empty());
  EXPECT_TRUE(Errors(login, {{"username", "desk"}, {"password", "x"}}).empty());
  auto errors = Errors(login, {{"card_barcode", "2100"}});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].pointer, "/pin");
  EXPECT_FALSE(Errors(login, {{"username", "desk"}, {"pin", "1"}}).empty());
}

TEST(JsonSchemaTest, ASearchNeedsOneTermAtLeast) {
  SchemaRef s = OneTermOf(Object({Opt("card", Text(9)), Opt("name", Text(9))}), {"card", "name"});
  EXPECT_TRUE(Errors(s, {{"name", "Ada"}}).empty());
  EXPECT_EQ(Errors(s, json::object())[0].reason, "give one of card or name");
}

TEST(JsonSchemaTest, RefusalsAreCappedAndNeverQuoteTheValue) {
  SchemaRef s = Array(Integer(0), 0);
  json many = json::array();
  for (int i = 0; i < 100; ++i) many.push_back("secret-value");
  std::vector<FieldError> errors;
  EXPECT_FALSE(CheckJson(s, many, &errors, 5));
  EXPECT_EQ(errors.size(), 5u);
  std::string all = DescribeErrors(errors);
  EXPECT_EQ(all.find("secret-value"), std::string::npos);
  EXPECT_NE(all.find("and 2 more"), std::string::npos);
  // A made-up key is named by its first 40 bytes only.
  std::vector<FieldError> keyed;
  CheckJson(Object({}), {{std::string(500, 'k'), 1}}, &keyed);
  EXPECT_EQ(keyed[0].pointer.size(), 41u);
}

TEST(JsonSchemaTest, ExamplesConformAndJsonSchemaNamesComponents) {
  SchemaRef loan = Named("Loan", Object({Req("id", Id()), Req("due_on", CalendarDate())}));
  SchemaRef answer = Object({Req("loan", loan), Opt("previous", Nullable(loan)),
                             Req("state", Enum({"out", "returned"}))});
  EXPECT_TRUE(CheckJson(answer, ExampleOf(answer), nullptr));
  std::vector<SchemaRef> named;
  auto doc = ToJsonSchema(answer, "#/c/", &named);
  EXPECT_EQ(doc["properties"]["loan"]["$ref"], "#/c/Loan");
  EXPECT_EQ(doc["properties"]["previous"]["oneOf"][1]["type"], "null");
  EXPECT_EQ(doc["additionalProperties"], false);
  EXPECT_EQ(doc["required"], nlohmann::ordered_json::array({"loan", "state"}));
  ASSERT_EQ(named.size(), 1u);
  EXPECT_EQ(named[0]->name, "Loan");
}

}  // namespace
}  // namespace carrel
