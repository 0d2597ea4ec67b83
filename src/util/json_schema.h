#pragma once

// The contract of a JSON value: a small subset of JSON Schema (the one OpenAPI 3.1 uses),
// written once in C++ and used three ways: to check what a client sends before any handler
// runs, to check in tests what the server answers, and to write the OpenAPI document.
//
// Schemas are built once at start-up and never freed; a SchemaRef stays valid for the life of
// the process. Checking allocates nothing unless the value is refused.

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace carrel {

struct Schema;
using SchemaRef = const Schema*;

enum class SchemaType : uint8_t { kAny, kString, kInteger, kNumber, kBoolean, kObject, kArray };

struct SchemaProperty {
  std::string name;
  SchemaRef schema;
  bool required;
};

struct Schema {
  SchemaType type = SchemaType::kAny;
  std::string name;  // a shared component ("Loan"); "" when written inline
  std::string description;
  // null is a value here (an answer's "not yet"); in a request an optional field given as
  // null counts as not given, whatever this says.
  bool nullable = false;
  // Strings: length in characters (UTF-8 code points).
  size_t min_length = 0;
  size_t max_length = 0;  // 0: no limit
  std::string format;     // "date", "date-time", "byte", "email"
  std::string pattern;    // as documented (ECMA-262); `check` is what enforces it
  bool (*check)(std::string_view) = nullptr;
  std::string check_reason;  // said when `check` refuses ("must be a date, YYYY-MM-DD")
  std::vector<std::string> enum_values;
  // Integers.
  std::optional<int64_t> minimum, maximum;
  // Arrays.
  SchemaRef items = nullptr;
  size_t max_items = 0;  // 0: no limit
  bool unique_items = false;
  // Objects: the properties named, and no other unless `values` (a map: any key, each value
  // of that schema) or `open` (free-form: any key, any value).
  std::vector<SchemaProperty> properties;
  SchemaRef values = nullptr;
  bool open = false;
  // At least one of these properties must be given (and not null): a search by one term.
  std::vector<std::string> any_of_required;
  // Exactly one of these object schemas (alternatives told apart by the first property each
  // requires): a login by password or by card and PIN.
  std::vector<SchemaRef> one_of;
  nlohmann::ordered_json example;
};

// One reason a value was refused: where (a JSON Pointer, RFC 6901, "" for the whole value)
// and why, in words a form can show beside its field. Never the value itself.
struct FieldError {
  std::string pointer;  // or, when `parameter`, the name of a path or query parameter
  std::string reason;
  bool parameter = false;
};

// Checks `value` against `schema`. Returns true when it conforms; otherwise false, with up to
// `max_errors` reasons appended to `errors` (which may be null when only the answer matters).
bool CheckJson(SchemaRef schema, const nlohmann::json& value, std::vector<FieldError>* errors,
               size_t max_errors = 20);

// One line naming the first few refusals ("/card_barcode is required; /pin must be a string").
std::string DescribeErrors(const std::vector<FieldError>& errors);

// JSON Schema (2020-12, as OpenAPI 3.1 reads it) for `schema`. Named schemas other than the
// root become {"$ref": ref_prefix + name}; `named` collects them, for a components section. A
// named root is written as its component: without null, which its references add.
nlohmann::ordered_json ToJsonSchema(SchemaRef schema, std::string_view ref_prefix,
                                    std::vector<SchemaRef>* named, bool expand_root = true);

// A value that conforms to `schema`, for documents and generated tests: the schema's example
// where it has one, else the smallest value that conforms.
nlohmann::json ExampleOf(SchemaRef schema);

// Builders. Each returns a schema owned by the process.
namespace schema {

SchemaRef Text(size_t max_length, size_t min_length = 1);  // a string a person typed
SchemaRef Enum(std::initializer_list<std::string_view> values);
SchemaRef EnumOf(const std::vector<std::string>& values);
SchemaRef CalendarDate();     // YYYY-MM-DD
SchemaRef Timestamp();  // RFC 3339 in UTC, e.g. 2026-12-02T15:00:00Z
SchemaRef Base64(size_t max_length);
SchemaRef Email();
SchemaRef Digits(size_t min_length, size_t max_length);  // a PIN or a one-time code
SchemaRef Integer(int64_t minimum, std::optional<int64_t> maximum = std::nullopt);
SchemaRef Id();  // a record's id: a whole number of at least 1
SchemaRef Number();  // any number (a duration in seconds)
SchemaRef Boolean();
SchemaRef Any();  // any JSON value (documented, never checked)
SchemaRef Array(SchemaRef items, size_t max_items = 0);
SchemaRef Object(std::initializer_list<SchemaProperty> properties);
SchemaRef Object(std::vector<SchemaProperty> properties);
SchemaRef Map(SchemaRef values);  // an object with free keys
SchemaRef FreeObject();           // an object with any keys and values

// Copies with one thing changed.
SchemaRef Nullable(SchemaRef s);
SchemaRef Named(std::string_view name, SchemaRef s, std::string_view description = {});
SchemaRef Described(SchemaRef s, std::string_view description);
SchemaRef Example(SchemaRef s, nlohmann::ordered_json example);
SchemaRef Pattern(SchemaRef s, std::string_view pattern, bool (*check)(std::string_view),
                  std::string_view reason);
// An object schema with more properties (of `more`) after its own.
SchemaRef Extend(SchemaRef object, std::initializer_list<SchemaProperty> more);
// An object schema of which at least one of `names` must be given.
SchemaRef OneTermOf(SchemaRef object, std::initializer_list<std::string_view> names);
// A value that is one of `alternatives` (objects, each told by its first required property).
SchemaRef OneOf(std::initializer_list<SchemaRef> alternatives);

inline SchemaProperty Req(std::string_view name, SchemaRef s) {
  return {std::string(name), s, true};
}
inline SchemaProperty Opt(std::string_view name, SchemaRef s) {
  return {std::string(name), s, false};
}

}  // namespace schema

// Reading a value already checked against its schema: no further checks, and a sensible empty
// value for what was not given.
std::string TextOf(const nlohmann::json& object, std::string_view key);
bool FlagOf(const nlohmann::json& object, std::string_view key, bool fallback = false);
int64_t IntOf(const nlohmann::json& object, std::string_view key, int64_t fallback = 0);
bool Given(const nlohmann::json& object, std::string_view key);  // present and not null
std::vector<std::string> WordsOf(const nlohmann::json& object, std::string_view key);

}  // namespace carrel
