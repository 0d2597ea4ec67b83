// The OpenAPI 3.1 document, written from the route table and its contracts (never by hand), as
// YAML, and the human-readable reference the server renders from it at /api/docs.

#include <nlohmann/json.hpp>
#include <regex>

#include "api/problem.h"
#include "api/routes.h"
#include "api/schemas.h"

namespace carrel {
namespace {

using ordered = nlohmann::ordered_json;

constexpr char kRefPrefix[] = "#/components/schemas/";

struct Area {
  std::string_view prefix;  // the path begins with it
  std::string_view tag;
};

// Tags by area of the policy, first match wins.
const std::vector<Area>& Areas() {
  static const std::vector<Area> areas = {
      {"/api/v1/policy/proposals", "Board of Trustees"},
      {"/api/v1/board", "Board of Trustees"},
      {"/api/v1/policy", "Policy"},
      {"/api/v1/transparency", "Transparency"},
      {"/api/v1/me", "Patron portal"},
      {"/api/v1/session", "Sessions and accounts"},
      {"/api/v1/signing-keys", "Sessions and accounts"},
      {"/api/v1/users", "Sessions and accounts"},
      {"/api/v1/patrons/{id}/permissions", "Requests for records"},
      {"/api/v1/permissions", "Requests for records"},
      {"/api/v1/requests", "Requests for records"},
      {"/api/v1/request-steps", "Requests for records"},
      {"/api/v1/patrons", "Patrons"},
      {"/api/v1/pin-reset", "Patrons"},
      {"/api/v1/items", "Circulation"},
      {"/api/v1/catalogue", "Catalogue"},
      {"/api/v1/loans", "Circulation"},
      {"/api/v1/holds", "Circulation"},
      {"/api/v1/fines", "Circulation"},
      {"/api/v1/computer-sessions", "Circulation"},
      {"/api/v1/enews", "eNews"},
      {"/api/v1/retention", "Retention"},
      {"/api/v1/legal-holds", "Retention"},
      {"/api/v1/inbox", "Director and designees"},
      {"/api/v1/appointments", "Director and designees"},
      {"/api/v1/absences", "Director and designees"},
      {"/api/v1/audit", "Audit log"},
      {"/api/v1/openapi.yaml", "This API"},
      {"/api/docs", "This API"},
      {"/", "Library hours and health"},
  };
  return areas;
}

const std::vector<std::pair<std::string_view, std::string_view>>& TagDescriptions() {
  static const std::vector<std::pair<std::string_view, std::string_view>> tags = {
      {"Library hours and health", "Public: opening hours and whether the server is up."},
      {"Policy", "Public: the privacy policy in force, every version of it and what changed."},
      {"Transparency", "Public: requests for records counted per year; nobody identified."},
      {"Sessions and accounts", "Logging in and out, passwords, signing keys; staff accounts "
                                "(created by the administrator, approved by the Director or "
                                "the Board)."},
      {"Patrons", "Patron records at the desk: every read and change is on the audit log."},
      {"Circulation", "Items, loans, holds, fines and public-computer sessions."},
      {"Catalogue", "Public: searching what the library holds; the terms are kept nowhere."},
      {"eNews", "Public: subscribing to the newsletter, confirmed by email."},
      {"Patron portal", "A patron's own record: loans, holds, fines, the reading history they "
                        "chose to keep, an export, their permissions and notices."},
      {"Retention", "The signed retention schedule, retention runs and legal holds (policy "
                    "§3): what is kept, for how long, and what is held for a case."},
      {"Requests for records", "Requests for confidential information (policy §4): intake at "
                               "the desk, counsel's advice, the Director's signed decision, "
                               "the disclosure package, and patrons' written permissions."},
      {"Director and designees", "The Director's inbox and deadlines, designees' written "
                                 "appointments and the Director's absences."},
      {"Board of Trustees", "Review of every decision and amendments to the policy by signed "
                            "vote (policy §5, §6)."},
      {"Audit log", "The tamper-evident log: entries, signed tree heads and proofs."},
      {"This API", "This document and its readable rendering."},
  };
  return tags;
}

std::string_view TagFor(std::string_view pattern) {
  for (const Area& a : Areas()) {
    if (pattern.substr(0, a.prefix.size()) == a.prefix) return a.tag;
  }
  return "Library hours and health";
}

ordered Roles(uint32_t allowed) {
  ordered out = ordered::array();
  for (auto [bit, name] : {std::pair{kAnonymous, "anonymous"},
                           {kPatronSelf, "patron (self)"},
                           {kStaff, "staff"},
                           {kDirector, "director"},
                           {kDesignee, "designee"},
                           {kCounsel, "counsel"},
                           {kBoard, "board"},
                           {kAdmin, "admin"},
                           {kKiosk, "kiosk"}}) {
    if ((allowed & bit) != 0) out.push_back(name);
  }
  return out;
}

ordered ProblemRef() { return {{"$ref", "#/components/responses/Problem"}}; }

std::string Method(std::string_view m) {
  std::string out(m);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// An operation's parameters: its path's, its query's, and Idempotency-Key where retries are safe.
ordered Parameters(const Route& r, std::vector<SchemaRef>* named) {
  const Contract& k = r.contract;
  ordered params = ordered::array();
  for (size_t at = r.pattern.find('{'); at != std::string_view::npos;
       at = r.pattern.find('{', at + 1)) {
    size_t close = r.pattern.find('}', at);
    std::string_view name = r.pattern.substr(at + 1, close - at - 1);
    params.push_back({{"name", name},
                      {"in", "path"},
                      {"required", true},
                      {"schema", ToJsonSchema(PathParamSchema(name), kRefPrefix, named)}});
  }
  for (const QueryParamSpec& q : k.query) {
    ordered p = {{"name", q.name}, {"in", "query"}, {"required", q.required}};
    if (!q.description.empty()) p["description"] = q.description;
    p["schema"] = ToJsonSchema(q.schema, kRefPrefix, named);
    params.push_back(p);
  }
  if (k.idempotent) {
    params.push_back(
        {{"name", "Idempotency-Key"},
         {"in", "header"},
         {"required", false},
         {"description",
          "A key of the client's choosing (16 to 128 characters) that makes a retry safe: "
          "the same key with the same body within 24 hours gets the first answer again, "
          "without the work being done twice"},
         {"schema", {{"type", "string"}, {"minLength", 16}, {"maxLength", 128}}}});
  }
  return params;
}

// An operation's answers: those its contract declares, and the problems any route may give.
ordered Responses(const Route& r, std::vector<SchemaRef>* named) {
  const Contract& k = r.contract;
  ordered responses = ordered::object();
  for (const ResponseSpec& s : k.responses) {
    ordered resp = ordered::object();
    std::string description(s.description);
    if (description.empty()) {
      description = s.status == 201 ? "Created" : s.status == 202 ? "Accepted" : "OK";
    }
    resp["description"] = description;
    ordered media = ordered::object();
    if (s.schema != nullptr) {
      media["schema"] = ToJsonSchema(s.schema, kRefPrefix, named, false);
    } else if (s.content_type == "application/octet-stream") {
      media["schema"] = {{"type", "string"}, {"contentMediaType", "application/octet-stream"}};
    } else {
      media["schema"] = {{"type", "string"}};
    }
    std::string code = std::to_string(s.status);
    if (responses.contains(code)) {
      responses[code]["content"][std::string(s.content_type)] = media;
      responses[code]["description"] =
          responses[code]["description"].get<std::string>() + "; or " + description;
      continue;
    }
    resp["content"] = {{s.content_type, media}};
    responses[code] = resp;
  }
  const bool login = r.action == "session.login" || r.action == "pin_reset.finish";
  // Any route refuses a query parameter it does not take.
  responses["400"] = ProblemRef();
  if ((r.allowed & kAnonymous) == 0 || login) responses["401"] = ProblemRef();
  if ((r.allowed & kAnonymous) == 0) responses["403"] = ProblemRef();
  if (r.pattern.find('{') != std::string_view::npos) responses["404"] = ProblemRef();
  if (r.mutates) responses["409"] = ProblemRef();
  if (k.body != nullptr) responses["413"] = ProblemRef();
  if (r.action == "session.login") responses["415"] = ProblemRef();
  if (k.idempotent) responses["422"] = ProblemRef();
  if (r.mutates) responses["429"] = ProblemRef();
  responses["default"] = ProblemRef();
  return responses;
}

ordered Operation(const Route& r, std::vector<SchemaRef>* named) {
  const Contract& k = r.contract;
  ordered op = ordered::object();
  op["operationId"] = r.action;
  op["summary"] = r.summary;
  op["tags"] = ordered::array({TagFor(r.pattern)});
  op["x-carrel-roles"] = Roles(r.allowed);
  op["x-carrel-mutates"] = r.mutates;
  if ((r.allowed & kAnonymous) != 0) {
    op["security"] = ordered::array();
  } else {
    op["security"] =
        ordered::array({{{"bearer", ordered::array()}}, {{"cookie", ordered::array()}}});
  }
  ordered params = Parameters(r, named);
  if (!params.empty()) op["parameters"] = params;
  if (k.body != nullptr) {
    ordered media = {{"schema", ToJsonSchema(k.body, kRefPrefix, named, false)}};
    nlohmann::json example = ExampleOf(k.body);
    media["example"] = ordered::parse(example.dump());
    op["requestBody"] = {{"required", true}, {"content", {{"application/json", media}}}};
  }
  ordered responses = Responses(r, named);
  op["responses"] = responses;
  return op;
}

ordered BuildDocument() {
  std::vector<SchemaRef> named;
  ordered paths = ordered::object();
  for (const Route& r : RouteTable()) {
    std::string path(r.pattern);
    if (!paths.contains(path)) paths[path] = ordered::object();
    paths[path][Method(r.method)] = Operation(r, &named);
  }
  named.push_back(Schemas().problem);
  ordered schemas = ordered::object();
  // Components in name order; a component may name others, found as it is written.
  for (size_t i = 0; i < named.size(); ++i) {
    ToJsonSchema(named[i], kRefPrefix, &named, true);
  }
  std::sort(named.begin(), named.end(),
            [](SchemaRef a, SchemaRef b) { return a->name < b->name; });
  for (SchemaRef s : named) {
    if (!schemas.contains(s->name)) schemas[s->name] = ToJsonSchema(s, kRefPrefix, nullptr, true);
  }
  ordered tags = ordered::array();
  for (const auto& [name, description] : TagDescriptions()) {
    tags.push_back({{"name", name}, {"description", description}});
  }
  std::string problems =
      "Every refusal is problem details (RFC 9457, `application/problem+json`). Its `type` "
      "names the kind of refusal and stays the same from release to release:\n\n";
  for (const ProblemKind& k : ProblemKinds()) {
    problems += "- `" + ProblemTypeUri(k.slug) + "` (" + std::to_string(k.status) + ", " +
                std::string(k.title) + "): " + std::string(k.meaning) + "\n";
  }
  std::string description =
      "The HTTP API of carrel, a records system that enforces a public library's privacy "
      "policy. This document is written by carrel from its route table "
      "(`carrel openapi`); the server also renders it for reading at `/api/docs`.\n\n"
      "## Sessions\n\nLog in with `POST /api/v1/session`; send the token as "
      "`Authorization: Bearer <token>`, or let a browser keep the HttpOnly session cookie "
      "(`__Host-carrel_session` over HTTPS, `carrel_session` over plain HTTP) and send the "
      "`X-CSRF-Token` header of the session with every request that changes anything. Who may "
      "call an operation is in its `x-carrel-roles`.\n\n"
      "## Input\n\nBodies are JSON objects holding only the fields the operation names. A "
      "field that is absent or null is not given; an empty string is a value, refused where "
      "text is required. Search terms and anything about a patron travel in bodies, never in "
      "URLs.\n\n"
      "## Lists\n\nEvery list answers one page: an object with the list under its own name "
      "and `next`, the path of the next page or null on the last. Ask for a page size with "
      "`?limit=` (default 100, at most 1000) and follow `next` (it carries `?after=`, the "
      "cursor of the last entry seen: its id, or its number in the list where entries have "
      "none). Each list comes in one fixed order, the same on every page; filters are query "
      "parameters named on the operation, and there is no sort parameter.\n\n"
      "## Retries\n\nOperations that take an `Idempotency-Key` header may be retried with the "
      "same key and body: within 24 hours the first answer comes back and the work is not "
      "done twice. The key and the request are kept only as hashes, the answer only "
      "encrypted under the key itself.\n\n"
      "## Errors\n\n" +
      problems;
  ordered doc = ordered::object();
  doc["openapi"] = "3.1.0";
  doc["info"] = {{"title", "carrel API"},
                 {"version", CARREL_VERSION},
                 {"description", description},
                 {"license", {{"name", "Proprietary"}, {"identifier", "LicenseRef-carrel"}}}};
  doc["servers"] = ordered::array({{{"url", "/"}}});
  doc["tags"] = tags;
  doc["paths"] = paths;
  doc["components"] = {
      {"securitySchemes",
       {{"bearer", {{"type", "http"}, {"scheme", "bearer"},
                    {"description", "The token of POST /api/v1/session"}}},
        {"cookie", {{"type", "apiKey"}, {"in", "cookie"}, {"name", "carrel_session"},
                    {"description", "The session cookie (named __Host-carrel_session over "
                                    "HTTPS); writes also need the X-CSRF-Token header"}}}}},
      {"schemas", schemas},
      {"responses",
       {{"Problem",
         {{"description", "A refusal, as problem details (RFC 9457)"},
          {"content", {{"application/problem+json",
                        {{"schema", {{"$ref", std::string(kRefPrefix) + "Problem"}}}}}}}}}}}};
  return doc;
}

// ---- YAML --------------------------------------------------------------------------------

bool PlainKey(const std::string& key) {
  static const std::regex plain("^[A-Za-z_$/][A-Za-z0-9_.$/{}-]*$");
  return std::regex_match(key, plain) && key != "true" && key != "false" && key != "null" &&
         key != "yes" && key != "no" && key != "on" && key != "off" && key != "y" && key != "n";
}

void Yaml(const ordered& v, int indent, std::string* out);

// A scalar; text of several lines as a literal block, read back exactly.
void YamlScalar(const ordered& v, int indent, std::string* out) {
  if (!v.is_string()) {
    *out += v.dump();
    return;
  }
  const std::string& s = v.get_ref<const std::string&>();
  bool block = s.find('\n') != std::string::npos && s.find('\r') == std::string::npos &&
               s.find('\t') == std::string::npos && s.front() != ' ' && s.front() != '\n' &&
               s.find(" \n") == std::string::npos && s.find("\n\n\n") == std::string::npos &&
               (s.back() != '\n' || s.size() < 2 || s[s.size() - 2] != '\n');
  if (!block) {
    *out += v.dump();
    return;
  }
  *out += s.back() == '\n' ? "|" : "|-";
  std::string pad(indent + 2, ' ');
  size_t at = 0;
  while (at < s.size()) {
    size_t end = s.find('\n', at);
    if (end == std::string::npos) end = s.size();
    *out += "\n";
    if (end > at) *out += pad + s.substr(at, end - at);
    at = end + 1;
  }
}

bool Inline(const ordered& v) {
  return !(v.is_object() || v.is_array()) || v.empty();
}

void Yaml(const ordered& v, int indent, std::string* out) {
  std::string pad(indent, ' ');
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      *out += pad;
      *out += PlainKey(it.key()) ? it.key() : ordered(it.key()).dump();
      *out += ":";
      if (Inline(*it)) {
        *out += " ";
        YamlScalar(*it, indent, out);
        *out += "\n";
      } else {
        *out += "\n";
        Yaml(*it, indent + 2, out);
      }
    }
    return;
  }
  for (const ordered& e : v) {
    if (Inline(e)) {
      *out += pad + "- ";
      YamlScalar(e, indent, out);
      *out += "\n";
      continue;
    }
    std::string inner;
    Yaml(e, indent + 2, &inner);
    *out += pad + "- " + inner.substr(indent + 2);
  }
}

// ---- HTML --------------------------------------------------------------------------------

std::string Escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string Anchor(std::string_view s) {
  std::string out;
  for (char c : s) {
    out.push_back(std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c))
                                                              : '-');
  }
  return out;
}

std::string SchemaHtml(const ordered& s) {
  return "<pre>" + Escape(s.dump(2)) + "</pre>";
}

// One operation: method and path, what it does, who may call it, its parameters, body and answers.
std::string OperationHtml(const std::string& method, const std::string& path, const ordered& op) {
  std::string h;
  std::string id = op["operationId"].get<std::string>();
  h += "<h3 id=\"op-" + Anchor(id) + "\"><span class=\"method\">" + Escape(method) +
       "</span> <code>" + Escape(path) + "</code></h3>\n<p>" +
       Escape(op["summary"].get<std::string>()) +
       "</p>\n<p>Who may call it: " + Escape(op["x-carrel-roles"].dump()) + "</p>\n";
  if (op.contains("parameters")) {
    h += "<table><caption>Parameters</caption><tr><th scope=\"col\">Name</th>"
         "<th scope=\"col\">In</th><th scope=\"col\">Schema</th></tr>";
    for (const ordered& par : op["parameters"]) {
      h += "<tr><td><code>" + Escape(par["name"].get<std::string>()) + "</code></td><td>" +
           Escape(par["in"].get<std::string>()) + "</td><td><code>" + Escape(par["schema"].dump()) +
           "</code></td></tr>";
    }
    h += "</table>\n";
  }
  if (op.contains("requestBody")) {
    const ordered& media = op["requestBody"]["content"]["application/json"];
    h += "<details><summary>Request body</summary>" + SchemaHtml(media["schema"]) +
         "<p>Example</p>" + SchemaHtml(media["example"]) + "</details>\n";
  }
  h += "<details><summary>Answers</summary><ul>";
  for (auto r = op["responses"].begin(); r != op["responses"].end(); ++r) {
    if (r->contains("$ref")) {
      h += "<li>" + Escape(r.key()) + ": a <a href=\"#problems\">problem</a></li>";
      continue;
    }
    h += "<li>" + Escape(r.key()) + " " + Escape((*r)["description"].get<std::string>());
    for (auto c = (*r)["content"].begin(); c != (*r)["content"].end(); ++c) {
      h += " (" + Escape(c.key()) + ")" + SchemaHtml((*c)["schema"]);
    }
    h += "</li>";
  }
  h += "</ul></details>\n";
  return h;
}

std::string BuildReference(const ordered& doc) {
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>carrel API reference</title><style>"
      "body{font-family:system-ui,sans-serif;max-width:60em;margin:1em auto;padding:0 1em;"
      "line-height:1.45;color:#111}"
      "code,pre{font-family:ui-monospace,monospace;font-size:.9em}"
      "pre{background:#f4f4f4;padding:.6em;overflow-x:auto;border:1px solid #ccc}"
      "h2{border-bottom:2px solid #333;margin-top:2em}h3{margin-top:1.6em}"
      ".method{display:inline-block;min-width:4.5em;font-weight:bold}"
      "table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2em .5em;"
      "text-align:left;vertical-align:top}a{color:#0645ad}"
      "details{margin:.3em 0}summary{cursor:pointer}"
      "</style></head><body>\n<header><h1>carrel API reference</h1>"
      "<p>Version " +
      Escape(doc["info"]["version"].get<std::string>()) +
      ". The same contract as <a href=\"/api/v1/openapi.yaml\">the OpenAPI document</a>, "
      "written from the server's route table.</p></header>\n<main>\n<nav aria-label=\"Areas\">"
      "<h2 id=\"areas\">Areas</h2><ul>";
  for (const ordered& t : doc["tags"]) {
    std::string name = t["name"].get<std::string>();
    h += "<li><a href=\"#tag-" + Anchor(name) + "\">" + Escape(name) + "</a></li>";
  }
  h += "<li><a href=\"#problems\">Errors</a></li></ul></nav>\n";
  h += "<section aria-labelledby=\"overview\"><h2 id=\"overview\">Overview</h2><pre>" +
       Escape(doc["info"]["description"].get<std::string>()) + "</pre></section>\n";
  for (const ordered& t : doc["tags"]) {
    std::string name = t["name"].get<std::string>();
    h += "<section aria-labelledby=\"tag-" + Anchor(name) + "\"><h2 id=\"tag-" + Anchor(name) +
         "\">" + Escape(name) + "</h2><p>" + Escape(t["description"].get<std::string>()) +
         "</p>\n";
    for (auto p = doc["paths"].begin(); p != doc["paths"].end(); ++p) {
      for (auto m = p->begin(); m != p->end(); ++m) {
        const ordered& op = *m;
        if (op["tags"][0] == name) h += OperationHtml(m.key(), p.key(), op);
      }
    }
    h += "</section>\n";
  }
  h += "<section aria-labelledby=\"problems\"><h2 id=\"problems\">Errors</h2><p>Every refusal "
       "is problem details (RFC 9457). Its <code>type</code> is one of these:</p><dl>";
  for (const ProblemKind& k : ProblemKinds()) {
    h += "<dt id=\"problem-" + std::string(k.slug) + "\"><code>" +
         Escape(ProblemTypeUri(k.slug)) + "</code> (" + std::to_string(k.status) + ", " +
         Escape(k.title) + ")</dt><dd>" + Escape(k.meaning) + "</dd>";
  }
  h += "</dl></section>\n<section aria-labelledby=\"schemas\"><h2 id=\"schemas\">Schemas</h2>";
  for (auto s = doc["components"]["schemas"].begin(); s != doc["components"]["schemas"].end();
       ++s) {
    h += "<h3 id=\"schema-" + Anchor(s.key()) + "\">" + Escape(s.key()) + "</h3>" +
         SchemaHtml(*s);
  }
  h += "</section></main></body></html>\n";
  return h;
}

}  // namespace

nlohmann::ordered_json OpenApiJson() { return BuildDocument(); }

const std::string& OpenApiYaml() {
  static const std::string* yaml = [] {
    auto* out = new std::string();
    Yaml(BuildDocument(), 0, out);
    return out;
  }();
  return *yaml;
}

const std::string& ApiReferenceHtml() {
  static const std::string* html = new std::string(BuildReference(BuildDocument()));
  return *html;
}

}  // namespace carrel
