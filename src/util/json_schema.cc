#include "util/json_schema.h"

#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>

#include "carrel/clock.h"

namespace carrel {

using json = nlohmann::json;
using ordered = nlohmann::ordered_json;

namespace {

// Where a checked value sits, kept on the stack and spelled out only for a refusal.
struct Where {
  const Where* parent = nullptr;
  std::string_view key;
  size_t index = 0;
  bool is_index = false;
};

void AppendEscaped(std::string_view key, std::string* out) {
  for (char c : key) {
    if (c == '~') {
      *out += "~0";
    } else if (c == '/') {
      *out += "~1";
    } else {
      out->push_back(c);
    }
  }
}

std::string Pointer(const Where* w) {
  std::vector<const Where*> chain;
  for (; w != nullptr && w->parent != nullptr; w = w->parent) chain.push_back(w);
  std::string out;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    out.push_back('/');
    if ((*it)->is_index) {
      out += std::to_string((*it)->index);
    } else {
      // A key the client made up is named by its first 40 bytes only.
      AppendEscaped((*it)->key.substr(0, 40), &out);
    }
  }
  return out;
}

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string_view TypeWord(SchemaType t) {
  switch (t) {
    case SchemaType::kString: return "a string";
    case SchemaType::kInteger: return "a whole number";
    case SchemaType::kNumber: return "a number";
    case SchemaType::kBoolean: return "true or false";
    case SchemaType::kObject: return "an object";
    case SchemaType::kArray: return "a list";
    case SchemaType::kAny: return "a value";
  }
  return "a value";
}

class Checker {
 public:
  Checker(std::vector<FieldError>* errors, size_t max) : errors_(errors), max_(max) {}

  bool ok() const { return ok_; }

  void Check(SchemaRef s, const json& v, const Where& where) {
    if (v.is_null()) {
      if (!s->nullable && s->type != SchemaType::kAny) Fail(where, "must not be null");
      return;
    }
    switch (s->type) {
      case SchemaType::kAny: return;
      case SchemaType::kString: return CheckString(s, v, where);
      case SchemaType::kInteger: return CheckInteger(s, v, where);
      case SchemaType::kBoolean:
        if (!v.is_boolean()) Fail(where, "must be true or false");
        return;
      case SchemaType::kNumber:
        if (!v.is_number()) Fail(where, "must be a number");
        return;
      case SchemaType::kArray: return CheckArray(s, v, where);
      case SchemaType::kObject: return CheckObject(s, v, where);
    }
  }

 private:
  void Fail(const Where& where, std::string reason) {
    ok_ = false;
    if (errors_ != nullptr && count_++ < max_) {
      errors_->push_back({Pointer(&where), std::move(reason), false});
    }
  }

  void CheckString(SchemaRef s, const json& v, const Where& where) {
    if (!v.is_string()) return Fail(where, "must be " + std::string(TypeWord(s->type)));
    const std::string& text = v.get_ref<const std::string&>();
    if (!s->enum_values.empty()) {
      for (const std::string& e : s->enum_values) {
        if (e == text) return;
      }
      std::string reason = "must be one of ";
      for (size_t i = 0; i < s->enum_values.size(); ++i) {
        reason += (i == 0 ? "" : i + 1 == s->enum_values.size() ? " or " : ", ");
        reason += s->enum_values[i];
      }
      return Fail(where, reason);
    }
    if (s->min_length > 0 || s->max_length > 0) {
      size_t n = text.size() > 4 * std::max(s->max_length, s->min_length) && s->max_length > 0
                     ? text.size()  // far too long: no need to count
                     : CodePoints(text);
      if (n < s->min_length) {
        return Fail(where, s->min_length == 1 ? "must not be empty"
                                               : "must be at least " +
                                                     std::to_string(s->min_length) +
                                                     " characters");
      }
      if (s->max_length > 0 && n > s->max_length) {
        return Fail(where, "must be at most " + std::to_string(s->max_length) + " characters");
      }
    }
    if (s->check != nullptr && !s->check(text)) Fail(where, s->check_reason);
  }

  void CheckInteger(SchemaRef s, const json& v, const Where& where) {
    if (!v.is_number_integer()) return Fail(where, "must be a whole number");
    // Unsigned values past int64 are refused as too large.
    if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX)) {
      return Fail(where, "is too large");
    }
    int64_t n = v.get<int64_t>();
    if (s->minimum && n < *s->minimum) {
      return Fail(where, "must be at least " + std::to_string(*s->minimum));
    }
    if (s->maximum && n > *s->maximum) {
      return Fail(where, "must be at most " + std::to_string(*s->maximum));
    }
  }

  void CheckArray(SchemaRef s, const json& v, const Where& where) {
    if (!v.is_array()) return Fail(where, "must be a list");
    if (s->max_items > 0 && v.size() > s->max_items) {
      return Fail(where, "must hold at most " + std::to_string(s->max_items) + " entries");
    }
    if (s->items == nullptr) return;
    for (size_t i = 0; i < v.size(); ++i) {
      Where at{&where, {}, i, true};
      Check(s->items, v[i], at);
      if (s->unique_items) {
        for (size_t j = 0; j < i; ++j) {
          if (v[j] == v[i]) {
            Fail(at, "repeats an earlier entry");
            break;
          }
        }
      }
    }
  }

  void CheckObject(SchemaRef s, const json& v, const Where& where) {
    if (!v.is_object()) return Fail(where, "must be an object");
    if (s->open) return;
    if (!s->one_of.empty()) {
      // The alternative whose first required property is given; else the first.
      SchemaRef chosen = nullptr;
      for (SchemaRef alt : s->one_of) {
        for (const SchemaProperty& p : alt->properties) {
          if (!p.required) continue;
          if (v.contains(p.name)) chosen = alt;
          break;
        }
        if (chosen != nullptr) break;
      }
      return CheckObject(chosen != nullptr ? chosen : s->one_of.front(), v, where);
    }
    for (auto it = v.begin(); it != v.end(); ++it) {
      const std::string& key = it.key();
      Where at{&where, key, 0, false};
      SchemaRef property = nullptr;
      for (const SchemaProperty& p : s->properties) {
        if (p.name == key) {
          property = p.schema;
          if (it->is_null() && !p.required) property = nullptr;  // null: not given
          break;
        }
      }
      if (property != nullptr) {
        Check(property, *it, at);
      } else if (s->values != nullptr) {
        Check(s->values, *it, at);
      } else if (!Declared(s, key)) {
        Fail(at, "is not a field here");
      }
    }
    for (const SchemaProperty& p : s->properties) {
      if (!p.required) continue;
      auto found = v.find(p.name);
      if (found == v.end()) {
        Where at{&where, p.name, 0, false};
        Fail(at, "is required");
      }
    }
    if (!s->any_of_required.empty()) {
      for (const std::string& name : s->any_of_required) {
        auto found = v.find(name);
        if (found != v.end() && !found->is_null()) return;
      }
      std::string reason = "give one of ";
      for (size_t i = 0; i < s->any_of_required.size(); ++i) {
        reason += (i == 0 ? "" : i + 1 == s->any_of_required.size() ? " or " : ", ");
        reason += s->any_of_required[i];
      }
      Fail(where, reason);
    }
  }

  static bool Declared(SchemaRef s, std::string_view key) {
    for (const SchemaProperty& p : s->properties) {
      if (p.name == key) return true;
    }
    return false;
  }

  std::vector<FieldError>* errors_;
  size_t max_;
  size_t count_ = 0;
  bool ok_ = true;
};

// ---- the arena ---------------------------------------------------------------------------

std::mutex& ArenaMutex() {
  static std::mutex mu;
  return mu;
}

SchemaRef Keep(Schema s) {
  static std::deque<Schema>* arena = new std::deque<Schema>();  // lives as long as the process
  std::lock_guard<std::mutex> lock(ArenaMutex());
  arena->push_back(std::move(s));
  return &arena->back();
}

Schema Of(SchemaType type) {
  Schema s;
  s.type = type;
  return s;
}

bool IsDate(std::string_view text) { return text.size() == 10 && ParseDate(text).ok(); }
bool IsInstant(std::string_view text) { return text.size() <= 40 && ParseInstant(text).ok(); }

bool IsBase64(std::string_view text) {
  if (text.size() % 4 != 0) return false;
  size_t pad = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (c == '=') {
      if (i + 2 < text.size()) return false;
      ++pad;
    } else if (pad > 0 || !(alnum || c == '+' || c == '/')) {
      return false;
    }
  }
  return true;
}

bool IsEmail(std::string_view text) {
  // Spaces around the address are dropped where it is used.
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  size_t at = text.find('@');
  return at != std::string_view::npos && at > 0 && at + 1 < text.size() &&
         text.find('@', at + 1) == std::string_view::npos &&
         text.find_first_of(" \t\r\n<>") == std::string_view::npos;
}

bool IsDigits(std::string_view text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
}

// ---- JSON Schema -------------------------------------------------------------------------

std::string_view TypeName(SchemaType t) {
  switch (t) {
    case SchemaType::kString: return "string";
    case SchemaType::kInteger: return "integer";
    case SchemaType::kNumber: return "number";
    case SchemaType::kBoolean: return "boolean";
    case SchemaType::kObject: return "object";
    case SchemaType::kArray: return "array";
    case SchemaType::kAny: return "";
  }
  return "";
}

ordered WithNull(ordered s) {
  if (s.contains("$ref")) {
    return {{"oneOf", ordered::array({s, {{"type", "null"}}})}};
  }
  if (s.contains("type")) {
    ordered types = ordered::array({s["type"], "null"});
    s["type"] = types;
    if (s.contains("enum")) s["enum"].push_back(nullptr);
  }
  return s;
}

// One entry per name: a nullable copy of a component is the component (its references add null).
void AddNamed(SchemaRef s, std::vector<SchemaRef>* named) {
  if (named == nullptr) return;
  for (SchemaRef& n : *named) {
    if (n->name != s->name) continue;
    if (n->nullable && !s->nullable) n = s;
    return;
  }
  named->push_back(s);
}

}  // namespace

bool CheckJson(SchemaRef schema, const json& value, std::vector<FieldError>* errors,
               size_t max_errors) {
  Checker checker(errors, max_errors);
  Where root;
  checker.Check(schema, value, root);
  return checker.ok();
}

std::string DescribeErrors(const std::vector<FieldError>& errors) {
  std::string out;
  for (size_t i = 0; i < errors.size() && i < 3; ++i) {
    if (i > 0) out += "; ";
    out += errors[i].pointer.empty() ? "the body" : errors[i].pointer;
    if (errors[i].parameter) out.insert(out.size() - errors[i].pointer.size(), "parameter ");
    out += " ";
    out += errors[i].reason;
  }
  if (errors.size() > 3) out += "; and " + std::to_string(errors.size() - 3) + " more";
  return out;
}

ordered ToJsonSchema(SchemaRef s, std::string_view ref_prefix, std::vector<SchemaRef>* named,
                     bool expand_root) {
  if (!expand_root && !s->name.empty()) {
    AddNamed(s, named);
    ordered ref = {{"$ref", std::string(ref_prefix) + s->name}};
    return s->nullable ? WithNull(ref) : ref;
  }
  ordered out = ordered::object();
  std::string_view type = TypeName(s->type);
  if (!type.empty()) out["type"] = type;
  if (!s->description.empty()) out["description"] = s->description;
  switch (s->type) {
    case SchemaType::kString:
      if (!s->enum_values.empty()) out["enum"] = s->enum_values;
      if (s->min_length > 0) out["minLength"] = s->min_length;
      if (s->max_length > 0) out["maxLength"] = s->max_length;
      if (!s->format.empty()) out["format"] = s->format;
      if (!s->pattern.empty()) out["pattern"] = s->pattern;
      break;
    case SchemaType::kInteger:
      if (s->minimum) out["minimum"] = *s->minimum;
      if (s->maximum) out["maximum"] = *s->maximum;
      break;
    case SchemaType::kArray:
      if (s->items != nullptr) out["items"] = ToJsonSchema(s->items, ref_prefix, named, false);
      if (s->max_items > 0) out["maxItems"] = s->max_items;
      if (s->unique_items) out["uniqueItems"] = true;
      break;
    case SchemaType::kObject: {
      if (s->open) break;
      if (!s->one_of.empty()) {
        out.erase("type");
        ordered alts = ordered::array();
        for (SchemaRef alt : s->one_of) alts.push_back(ToJsonSchema(alt, ref_prefix, named, false));
        out["oneOf"] = alts;
        break;
      }
      ordered props = ordered::object();
      ordered required = ordered::array();
      for (const SchemaProperty& p : s->properties) {
        ordered ps = ToJsonSchema(p.schema, ref_prefix, named, false);
        props[p.name] = p.required || p.schema->nullable ? ps : WithNull(ps);
        if (p.required) required.push_back(p.name);
      }
      if (!props.empty()) out["properties"] = props;
      if (!required.empty()) out["required"] = required;
      if (!s->any_of_required.empty()) {
        ordered any = ordered::array();
        for (const std::string& n : s->any_of_required) {
          any.push_back({{"required", ordered::array({n})}});
        }
        out["anyOf"] = any;
      }
      if (s->values != nullptr) {
        out["additionalProperties"] = ToJsonSchema(s->values, ref_prefix, named, false);
      } else {
        out["additionalProperties"] = false;
      }
      break;
    }
    case SchemaType::kNumber:
    case SchemaType::kBoolean:
    case SchemaType::kAny:
      break;
  }
  if (!s->example.is_null()) out["examples"] = ordered::array({s->example});
  // A shared component is written without null; where it may be null, its reference says so.
  const bool component = expand_root && !s->name.empty();
  return s->nullable && !type.empty() && !component ? WithNull(out) : out;
}

json ExampleOf(SchemaRef s) {
  if (!s->example.is_null()) return json::parse(s->example.dump());
  switch (s->type) {
    case SchemaType::kAny: return json::object();
    case SchemaType::kBoolean: return false;
    case SchemaType::kInteger: return s->minimum.value_or(0);
    case SchemaType::kNumber: return 0;
    case SchemaType::kString:
      if (!s->enum_values.empty()) return s->enum_values.front();
      if (s->format == "date") return "2026-12-02";
      if (s->format == "date-time") return "2026-12-02T15:00:00Z";
      if (s->format == "byte") return "AAAA";
      if (s->format == "email") return "reader@example.org";
      if (s->check != nullptr) return std::string(std::max<size_t>(s->min_length, 1), '1');
      return std::string(std::max<size_t>(s->min_length, 1), 'x');
    case SchemaType::kArray: return json::array();
    case SchemaType::kObject: {
      if (!s->one_of.empty()) return ExampleOf(s->one_of.front());
      json out = json::object();
      for (const SchemaProperty& p : s->properties) {
        if (p.required) out[p.name] = ExampleOf(p.schema);
      }
      if (!s->any_of_required.empty()) {
        for (const SchemaProperty& p : s->properties) {
          if (p.name == s->any_of_required.front()) out[p.name] = ExampleOf(p.schema);
        }
      }
      return out;
    }
  }
  return nullptr;
}

namespace schema {

SchemaRef Text(size_t max_length, size_t min_length) {
  Schema s = Of(SchemaType::kString);
  s.max_length = max_length;
  s.min_length = min_length;
  return Keep(std::move(s));
}

SchemaRef Enum(std::initializer_list<std::string_view> values) {
  Schema s = Of(SchemaType::kString);
  for (std::string_view v : values) s.enum_values.emplace_back(v);
  return Keep(std::move(s));
}

SchemaRef EnumOf(const std::vector<std::string>& values) {
  Schema s = Of(SchemaType::kString);
  s.enum_values = values;
  return Keep(std::move(s));
}

SchemaRef CalendarDate() {
  Schema s = Of(SchemaType::kString);
  s.format = "date";
  s.check = IsDate;
  s.check_reason = "must be a date, YYYY-MM-DD";
  return Keep(std::move(s));
}

SchemaRef Timestamp() {
  Schema s = Of(SchemaType::kString);
  s.format = "date-time";
  s.max_length = 40;
  s.check = IsInstant;
  s.check_reason = "must be a time in UTC, YYYY-MM-DDThh:mm:ssZ";
  return Keep(std::move(s));
}

SchemaRef Base64(size_t max_length) {
  Schema s = Of(SchemaType::kString);
  s.format = "byte";
  s.max_length = max_length;
  s.check = IsBase64;
  s.check_reason = "must be base64";
  return Keep(std::move(s));
}

SchemaRef Email() {
  Schema s = Of(SchemaType::kString);
  s.format = "email";
  s.max_length = 254;
  s.min_length = 3;
  s.check = IsEmail;
  s.check_reason = "must be an email address";
  return Keep(std::move(s));
}

SchemaRef Digits(size_t min_length, size_t max_length) {
  Schema s = Of(SchemaType::kString);
  s.min_length = min_length;
  s.max_length = max_length;
  s.pattern = "^[0-9]+$";
  s.check = IsDigits;
  s.check_reason = "must be digits only";
  return Keep(std::move(s));
}

SchemaRef Integer(int64_t minimum, std::optional<int64_t> maximum) {
  Schema s = Of(SchemaType::kInteger);
  s.minimum = minimum;
  s.maximum = maximum;
  return Keep(std::move(s));
}

SchemaRef Id() {
  static SchemaRef id = Integer(1);
  return id;
}

SchemaRef Boolean() { return Keep(Of(SchemaType::kBoolean)); }

SchemaRef Number() { return Keep(Of(SchemaType::kNumber)); }

SchemaRef Any() { return Keep(Of(SchemaType::kAny)); }

SchemaRef Array(SchemaRef items, size_t max_items) {
  Schema s = Of(SchemaType::kArray);
  s.items = items;
  s.max_items = max_items;
  return Keep(std::move(s));
}

SchemaRef Object(std::initializer_list<SchemaProperty> properties) {
  return Object(std::vector<SchemaProperty>(properties));
}

SchemaRef Object(std::vector<SchemaProperty> properties) {
  Schema s = Of(SchemaType::kObject);
  s.properties = std::move(properties);
  return Keep(std::move(s));
}

SchemaRef Map(SchemaRef values) {
  Schema s = Of(SchemaType::kObject);
  s.values = values;
  return Keep(std::move(s));
}

SchemaRef FreeObject() {
  Schema s = Of(SchemaType::kObject);
  s.open = true;
  return Keep(std::move(s));
}

SchemaRef Nullable(SchemaRef base) {
  Schema s = *base;
  s.nullable = true;
  return Keep(std::move(s));
}

SchemaRef Named(std::string_view name, SchemaRef base, std::string_view description) {
  Schema s = *base;
  s.name = std::string(name);
  if (!description.empty()) s.description = std::string(description);
  return Keep(std::move(s));
}

SchemaRef Described(SchemaRef base, std::string_view description) {
  Schema s = *base;
  s.description = std::string(description);
  return Keep(std::move(s));
}

SchemaRef Example(SchemaRef base, ordered example) {
  Schema s = *base;
  s.example = std::move(example);
  return Keep(std::move(s));
}

SchemaRef Pattern(SchemaRef base, std::string_view pattern, bool (*check)(std::string_view),
                  std::string_view reason) {
  Schema s = *base;
  s.pattern = std::string(pattern);
  s.check = check;
  s.check_reason = std::string(reason);
  return Keep(std::move(s));
}

SchemaRef Extend(SchemaRef object, std::initializer_list<SchemaProperty> more) {
  Schema s = *object;
  s.name.clear();
  s.example = nullptr;
  for (const SchemaProperty& p : more) s.properties.push_back(p);
  return Keep(std::move(s));
}

SchemaRef OneTermOf(SchemaRef object, std::initializer_list<std::string_view> names) {
  Schema s = *object;
  for (std::string_view n : names) s.any_of_required.emplace_back(n);
  return Keep(std::move(s));
}

SchemaRef OneOf(std::initializer_list<SchemaRef> alternatives) {
  Schema s = Of(SchemaType::kObject);
  s.one_of = alternatives;
  return Keep(std::move(s));
}

}  // namespace schema

std::string TextOf(const json& object, std::string_view key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool FlagOf(const json& object, std::string_view key, bool fallback) {
  auto it = object.find(key);
  return it != object.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

int64_t IntOf(const json& object, std::string_view key, int64_t fallback) {
  auto it = object.find(key);
  return it != object.end() && it->is_number_integer() ? it->get<int64_t>() : fallback;
}

bool Given(const json& object, std::string_view key) {
  auto it = object.find(key);
  return it != object.end() && !it->is_null();
}

std::vector<std::string> WordsOf(const json& object, std::string_view key) {
  std::vector<std::string> out;
  auto it = object.find(key);
  if (it == object.end() || !it->is_array()) return out;
  for (const json& w : *it) {
    if (w.is_string()) out.push_back(w.get<std::string>());
  }
  return out;
}

}  // namespace carrel
