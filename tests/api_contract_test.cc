// The API contract: each route's schemas are checked before its handler runs, written into the
// OpenAPI document (docs/openapi.yaml is kept current by a test), and, in every HTTP test,
// checked against what the server answers (tests/support/contract_check.h).

#include <gtest/gtest.h>
#include <httplib.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "api/problem.h"
#include "api/routes.h"
#include "api/schemas.h"
#include "carrel/server.h"
#include "tests/support/contract_check.h"
#include "tests/support/temp_dir.h"

namespace carrel {
namespace {

using nlohmann::json;
constexpr char kPassword[] = "contract test password";
constexpr char kPin[] = "482915";

class ApiContractTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Library& lib = *lib_.library;
    Actor setup{"os/test", "operator"};
    for (auto [name, role] : {std::pair{"staff1", Role::kStaff}, {"director1", Role::kDirector},
                              {"counsel1", Role::kCounsel}, {"board1", Role::kBoard},
                              {"admin1", Role::kAdmin}}) {
      auto u = lib.accounts().AddUser(setup, name, role, kPassword);
      ASSERT_TRUE(u.ok()) << u.status().ToString();
    }
    NewUserOptions kiosk;
    kiosk.location = "Lobby";
    ASSERT_TRUE(lib.accounts().AddUser(setup, "kiosk1", Role::kKiosk, kPassword, kiosk).ok());
    for (int i = 0; i < 7; ++i) {
      auto u = lib.accounts().AddUser(setup, "clerk" + std::to_string(i), Role::kStaff, kPassword);
      ASSERT_TRUE(u.ok());
    }
    NewPatron p;
    p.card_barcode = "P-1";
    p.name = "Patron One";
    p.expires_on = Date(std::chrono::year(2029) / 1 / 1);
    auto added = lib.circulation().AddPatron(testing::kStaff, p);
    ASSERT_TRUE(added.ok());
    ASSERT_TRUE(lib.accounts()
                    .SetPatronPin(setup, added->id, kPin, Accounts::PinOrigin::kChosenByPatron)
                    .ok());
    ServerOptions options;
    options.login_per_minute = 100000;
    options.public_writes_per_minute = 100000;
    server_ = std::make_unique<ApiServer>(&lib, testing::ContractChecked(options));
    auto port = server_->Bind("127.0.0.1", 0);
    ASSERT_TRUE(port.ok());
    thread_ = std::thread([this] { (void)server_->Serve(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", *port);
    for (int i = 0; i < 100 && !client_->Get("/healthz"); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  void TearDown() override {
    server_->Stop();
    if (thread_.joinable()) thread_.join();
  }

  std::string Login(const json& body) {
    auto res = client_->Post("/api/v1/session", body.dump(), "application/json");
    if (!res || res->status != 201) return "";
    return json::parse(res->body)["token"];
  }

  httplib::Result Call(const std::string& method, const std::string& path,
                       const std::string& token, const std::string& body) {
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    if (method == "GET") return client_->Get(path, headers);
    if (method == "DELETE") return client_->Delete(path, headers, body, "application/json");
    if (method == "PUT") return client_->Put(path, headers, body, "application/json");
    if (method == "PATCH") return client_->Patch(path, headers, body, "application/json");
    return client_->Post(path, headers, body, "application/json");
  }

  // Rows in every table: what "wrote nothing" is checked against.
  std::string Fingerprint() {
    std::string out;
    auto tables = lib_.library->store().Tables();
    EXPECT_TRUE(tables.ok());
    if (!tables.ok()) return out;
    EXPECT_TRUE(WithReadTransaction(lib_.library->store(), [&](Transaction& tx) -> Status {
                  for (const TableInfo& t : *tables) {
                    CARREL_ASSIGN_OR_RETURN(int64_t n,
                                            tx.QueryInt("SELECT count(*) FROM \"" + t.name + "\""));
                    out += t.name + "=" + std::to_string(n) + " ";
                  }
                  return Status::Ok();
                }).ok());
    return out;
  }

  testing::TestLibrary lib_;
  std::unique_ptr<ApiServer> server_;
  std::unique_ptr<httplib::Client> client_;
  std::thread thread_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// docs/openapi.yaml is the document the server writes from its route table, byte for byte.
TEST_F(ApiContractTest, TheCommittedOpenApiDocumentIsCurrent) {
  auto res = client_->Get("/api/v1/openapi.yaml");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  std::string committed = ReadFile(std::string(CARREL_SOURCE_DIR) + "/docs/openapi.yaml");
  EXPECT_TRUE(res->body == committed)
      << "docs/openapi.yaml is stale: run `make openapi` and commit it";
}

// Every operation: its security, body, answers and every schema it names, from the table.
TEST_F(ApiContractTest, EveryRouteIsDocumentedFromItsContract) {
  nlohmann::ordered_json doc = OpenApiJson();
  const auto& schemas = doc["components"]["schemas"];
  std::function<void(const nlohmann::ordered_json&, const std::string&)> refs_resolve =
      [&](const nlohmann::ordered_json& v, const std::string& where) {
        if (v.is_object()) {
          for (auto it = v.begin(); it != v.end(); ++it) {
            if (it.key() == "$ref" && it->get<std::string>().rfind("#/components/schemas/", 0) == 0) {
              std::string name = it->get<std::string>().substr(21);
              EXPECT_TRUE(schemas.contains(name)) << where << " names " << name;
            }
            refs_resolve(*it, where);
          }
        } else if (v.is_array()) {
          for (const auto& e : v) refs_resolve(e, where);
        }
      };
  size_t operations = 0;
  for (const Route& r : RouteTable()) {
    std::string method(r.method);
    for (char& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    ASSERT_TRUE(doc["paths"].contains(std::string(r.pattern))) << r.pattern;
    const auto& op = doc["paths"][std::string(r.pattern)][method];
    ASSERT_TRUE(op.is_object()) << r.action;
    ++operations;
    EXPECT_EQ(op["operationId"], r.action);
    ASSERT_TRUE(op.contains("security")) << r.action;
    if ((r.allowed & kAnonymous) != 0) {
      EXPECT_TRUE(op["security"].empty()) << r.action << " is public: security: []";
    } else {
      EXPECT_EQ(op["security"].size(), 2u) << r.action;
    }
    EXPECT_EQ(op.contains("requestBody"), r.contract.body != nullptr) << r.action;
    EXPECT_FALSE(r.contract.responses.empty()) << r.action << " declares no answer";
    bool success = false;
    for (auto it = op["responses"].begin(); it != op["responses"].end(); ++it) {
      success = success || it.key()[0] == '2';
    }
    EXPECT_TRUE(success) << r.action;
    EXPECT_TRUE(op["responses"].contains("default")) << r.action;
    EXPECT_EQ(op["tags"].size(), 1u) << r.action;
    refs_resolve(op, std::string(r.action));
  }
  EXPECT_EQ(operations, RouteTable().size());
  refs_resolve(doc["components"], "components");
  // Each problem type is described once, in the document and in the readable reference.
  std::string description = doc["info"]["description"];
  auto page = client_->Get("/api/docs");
  ASSERT_TRUE(page);
  for (const ProblemKind& k : ProblemKinds()) {
    EXPECT_NE(description.find(ProblemTypeUri(k.slug)), std::string::npos) << k.slug;
    EXPECT_NE(page->body.find("id=\"problem-" + std::string(k.slug) + "\""), std::string::npos)
        << k.slug;
  }
}

// The reference is served by carrel itself and asks nothing of any other host.
TEST_F(ApiContractTest, TheReferenceIsServedWithNoRequestElsewhere) {
  auto page = client_->Get("/api/docs");
  ASSERT_TRUE(page);
  ASSERT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page->get_header_value("Content-Security-Policy").find("default-src 'self'"),
            std::string::npos);
  EXPECT_EQ(page->body.find("<script"), std::string::npos);
  EXPECT_EQ(page->body.find("src=\"http"), std::string::npos);
  EXPECT_EQ(page->body.find("href=\"http"), std::string::npos);
  EXPECT_EQ(page->body.find("@import"), std::string::npos);
  for (const Route& r : RouteTable()) {
    EXPECT_NE(page->body.find("<code>" + std::string(r.pattern) + "</code>"), std::string::npos)
        << r.pattern;
  }
}

// What a caller of each route is, for the table-driven tests: a role the route lets in.
struct Caller {
  uint32_t bit;
  json login;  // empty: anonymous
};

std::vector<Caller> Callers() {
  return {{kDirector, {{"username", "director1"}, {"password", kPassword}}},
          {kStaff, {{"username", "staff1"}, {"password", kPassword}}},
          {kAdmin, {{"username", "admin1"}, {"password", kPassword}}},
          {kBoard, {{"username", "board1"}, {"password", kPassword}}},
          {kCounsel, {{"username", "counsel1"}, {"password", kPassword}}},
          {kPatronSelf, {{"card_barcode", "P-1"}, {"pin", kPin}}},
          {kKiosk, {{"username", "kiosk1"}, {"password", kPassword}}},
          {kAnonymous, json()}};
}

// A path with each capture filled with a value of its schema.
std::string SamplePath(const Route& r) {
  std::string out;
  std::string_view p = r.pattern;
  for (size_t at = 0; at < p.size();) {
    size_t open = p.find('{', at);
    if (open == std::string_view::npos) {
      out += p.substr(at);
      break;
    }
    out += p.substr(at, open - at);
    size_t close = p.find('}', open);
    json v = ExampleOf(PathParamSchema(p.substr(open + 1, close - open - 1)));
    out += v.is_string() ? v.get<std::string>() : v.dump();
    at = close + 1;
  }
  return out;
}

// Bodies that break the schema in one way each, with the pointer that must be named.
std::vector<std::pair<json, std::string>> BadBodies(SchemaRef body) {
  std::vector<std::pair<json, std::string>> out;
  json good = ExampleOf(body);
  out.push_back({json::array(), ""});
  out.push_back({json("text"), ""});
  json unknown = good;
  unknown["no_such_field"] = 1;
  out.push_back({unknown, "/no_such_field"});
  std::vector<const Schema*> alternatives;
  if (!body->one_of.empty()) {
    for (SchemaRef alt : body->one_of) alternatives.push_back(alt);
  } else {
    alternatives.push_back(body);
  }
  for (const Schema* object : alternatives) {
    json base = object == body ? good : ExampleOf(object);
    for (const SchemaProperty& p : object->properties) {
      std::string pointer = "/" + p.name;
      SchemaRef s = p.schema;
      json wrong = base;
      switch (s->type) {
        case SchemaType::kString: wrong[p.name] = 42; break;
        case SchemaType::kInteger: wrong[p.name] = "7"; break;
        case SchemaType::kNumber: wrong[p.name] = "7"; break;
        case SchemaType::kBoolean: wrong[p.name] = "yes"; break;
        case SchemaType::kArray: wrong[p.name] = json::object(); break;
        case SchemaType::kObject: wrong[p.name] = "x"; break;
        case SchemaType::kAny: continue;
      }
      out.push_back({wrong, pointer});
      if (s->type == SchemaType::kString && s->max_length > 0 && s->max_length < 300000) {
        json longer = base;
        longer[p.name] = std::string(s->max_length + 1, 'a');
        out.push_back({longer, pointer});
      }
      if (s->type == SchemaType::kString && !s->enum_values.empty()) {
        json other = base;
        other[p.name] = "not-one-of-them";
        out.push_back({other, pointer});
      }
      if (s->type == SchemaType::kString && s->min_length > 0 && s->enum_values.empty()) {
        json empty = base;
        empty[p.name] = "";
        out.push_back({empty, pointer});
      }
      if (s->type == SchemaType::kInteger && s->minimum) {
        json small = base;
        small[p.name] = *s->minimum - 1;
        out.push_back({small, pointer});
      }
      if (p.required) {
        json missing = base;
        missing.erase(p.name);
        // Taking away the field that tells one login from the other leaves the other's.
        if (object != body && !missing.empty()) out.push_back({missing, ""});
        if (object == body) out.push_back({missing, pointer});
      }
    }
  }
  return out;
}

// Every route with a body: malformed JSON, wrong types, unknown fields, over-long strings, bad
// choices and missing fields, generated from the route's own schema, each refused as invalid
// input naming the field, and nothing written.
TEST_F(ApiContractTest, EveryRouteRefusesBadBodiesNamingTheFieldAndWritesNothing) {
  std::map<uint32_t, std::string> tokens;
  const std::vector<Caller> callers = Callers();
  for (const Caller& c : callers) {
    tokens[c.bit] = c.login.is_null() ? "" : Login(c.login);
    if (!c.login.is_null()) {
      ASSERT_FALSE(tokens[c.bit].empty()) << c.login.dump();
    }
  }
  std::string before = Fingerprint();
  size_t tried = 0;
  for (const Route& r : RouteTable()) {
    if (r.contract.body == nullptr) continue;
    const Caller* caller = nullptr;
    for (const Caller& c : callers) {
      if ((r.allowed & c.bit) != 0) {
        caller = &c;
        break;
      }
    }
    ASSERT_NE(caller, nullptr) << r.action;
    std::string path = SamplePath(r);
    std::string token = tokens[caller->bit];
    for (const auto& [body, pointer] : BadBodies(r.contract.body)) {
      ++tried;
      auto res = Call(std::string(r.method), path, token, body.dump());
      ASSERT_TRUE(res) << r.action;
      ASSERT_EQ(res->status, 400) << r.action << " " << body.dump() << "\n" << res->body;
      json problem = json::parse(res->body);
      EXPECT_EQ(problem["type"], "/api/docs#problem-invalid-input") << r.action;
      EXPECT_EQ(res->get_header_value("Content-Type"), "application/problem+json");
      if (!pointer.empty()) {
        bool named = false;
        for (const json& e : problem["errors"]) {
          named = named || (e.contains("pointer") && e["pointer"] == pointer);
        }
        EXPECT_TRUE(named) << r.action << " did not name " << pointer << ": " << res->body;
      }
      // The detail names fields and reasons, never what was sent.
      EXPECT_EQ(res->body.find("aaaaaaaaaa"), std::string::npos) << r.action;
    }
    auto malformed = Call(std::string(r.method), path, token, "{\"unterminated\": ");
    ASSERT_TRUE(malformed);
    EXPECT_EQ(malformed->status, 400) << r.action;
  }
  EXPECT_GT(tried, 500u);
  EXPECT_EQ(Fingerprint(), before) << "a refused body wrote something";
}

// Path and query parameters are checked too, by name.
TEST_F(ApiContractTest, BadParametersAreNamed) {
  std::string director = Login({{"username", "director1"}, {"password", kPassword}});
  auto res = Call("GET", "/api/v1/patrons/abc", Login({{"username", "staff1"},
                                                        {"password", kPassword}}), "");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  json problem = json::parse(res->body);
  EXPECT_EQ(problem["errors"][0]["parameter"], "id");
  res = Call("GET", "/api/v1/audit/entries?bogus=1", director, "");
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(json::parse(res->body)["errors"][0]["parameter"], "bogus");
  res = Call("GET", "/api/v1/audit/entries?limit=0", director, "");
  EXPECT_EQ(res->status, 400);
  res = Call("GET", "/api/v1/audit/entries?limit=1001", director, "");
  EXPECT_EQ(res->status, 400);
  res = Call("GET", "/api/v1/audit/proof", director, "");
  EXPECT_EQ(res->status, 400) << "size is required";
  EXPECT_EQ(json::parse(res->body)["errors"][0]["parameter"], "size");
  res = Call("POST", "/api/v1/users/abc/disable", Login({{"username", "admin1"},
                                                          {"password", kPassword}}), "{}");
  EXPECT_EQ(res->status, 400);
  // A route that takes no body refuses one.
  res = Call("POST", "/api/v1/retention/runs", director, R"({"now":true})");
  EXPECT_EQ(res->status, 400);
}

// Every list pages the same way: ?limit=, a next link carrying ?after=, to the end.
TEST_F(ApiContractTest, ListsPageByCursorToTheEnd) {
  std::string admin = Login({{"username", "admin1"}, {"password", kPassword}});
  auto all = Call("GET", "/api/v1/users", admin, "");
  ASSERT_EQ(all->status, 200);
  json everyone = json::parse(all->body);
  ASSERT_EQ(everyone["users"].size(), 15u) << "the test's 13 and the library's first two";
  EXPECT_TRUE(everyone["next"].is_null());
  std::vector<int64_t> seen;
  std::string next = "/api/v1/users?limit=5";
  int pages = 0;
  while (!next.empty() && pages < 10) {
    auto page = Call("GET", next, admin, "");
    ASSERT_EQ(page->status, 200) << next;
    json body = json::parse(page->body);
    EXPECT_LE(body["users"].size(), 5u);
    for (const json& u : body["users"]) seen.push_back(u["id"]);
    next = body["next"].is_null() ? "" : body["next"].get<std::string>();
    ++pages;
  }
  EXPECT_EQ(pages, 3);
  std::vector<int64_t> expected;
  for (const json& u : everyone["users"]) expected.push_back(u["id"]);
  EXPECT_EQ(seen, expected);
  auto lost = Call("GET", "/api/v1/users?after=999999", admin, "");
  EXPECT_EQ(lost->status, 400);
  // Every list route declares the same two parameters.
  for (const Route& r : RouteTable()) {
    if (!r.contract.paged) continue;
    std::set<std::string> names;
    for (const QueryParamSpec& q : r.contract.query) names.insert(std::string(q.name));
    EXPECT_TRUE(names.count("after") == 1 && names.count("limit") == 1) << r.action;
  }
}

// Each kind of refusal carries its catalogued type.
TEST_F(ApiContractTest, RefusalsCarryTheirCataloguedType) {
  auto type_of = [](const httplib::Result& res) {
    return json::parse(res->body)["type"].get<std::string>();
  };
  EXPECT_EQ(type_of(Call("GET", "/api/v1/me", "", "")), "/api/docs#problem-login-needed");
  EXPECT_EQ(type_of(client_->Post("/api/v1/session",
                                  json{{"username", "staff1"}, {"password", "wrong"}}.dump(),
                                  "application/json")),
            "/api/docs#problem-login-failed");
  std::string staff = Login({{"username", "staff1"}, {"password", kPassword}});
  EXPECT_EQ(type_of(Call("GET", "/api/v1/users", staff, "")), "/api/docs#problem-forbidden");
  EXPECT_EQ(type_of(Call("GET", "/api/v1/patrons/999999", staff, "")),
            "/api/docs#problem-not-found");
  EXPECT_EQ(type_of(Call("PUT", "/api/v1/hours", "", "{}")),
            "/api/docs#problem-method-not-allowed");
  EXPECT_EQ(type_of(Call("POST", "/api/v1/session/signature", staff,
                         json{{"statement", "s"}, {"password", "wrong"}}.dump())),
            "/api/docs#problem-signature-refused");
  ASSERT_TRUE(lib_.library->circulation().AddItem(testing::kStaff, {"I-1", "T", "A", "C", "book"})
                  .ok());
  EXPECT_EQ(type_of(Call("POST", "/api/v1/items", staff,
                         json{{"barcode", "I-1"}, {"title", "T"}, {"item_type", "book"}}.dump())),
            "/api/docs#problem-already-exists");
  EXPECT_EQ(type_of(Call("POST", "/api/v1/loans/checkin", staff,
                         json{{"item_barcode", "I-1"}}.dump())),
            "/api/docs#problem-wrong-state");
  auto plain = client_->Post("/api/v1/session", "username=staff1", "text/plain");
  EXPECT_EQ(type_of(plain), "/api/docs#problem-unsupported-media-type");
}

}  // namespace
}  // namespace carrel
