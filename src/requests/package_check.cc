#include "requests/package_check.h"

#include <algorithm>
#include <set>

#include "carrel/encoding.h"
#include "requests/fields.h"
#include "requests/step_args.h"

namespace carrel {

using json = nlohmann::json;

namespace {

// A member's text, or "" when `j` is not an object or the member is not a string.
std::string TextIn(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

Status CheckRecordsCovered(const json& package, const CaseScope& scope) {
  if (!package.is_object() || !package.contains("records") || !package["records"].is_array()) {
    return DataLoss("the disclosure has no list of records");
  }
  for (const json& r : package["records"]) {
    if (!r.is_object()) return DataLoss("the disclosure holds a record that is not an object");
    auto patron = r.find("patron");
    if (patron == r.end() || !patron->is_number_integer() ||
        !std::binary_search(scope.patron_ids.begin(), scope.patron_ids.end(),
                            patron->get<int64_t>())) {
      return PermissionDenied("the disclosure holds a record outside the signed scope");
    }
    std::string category = TextIn(r, "category");
    if (!Has(scope.categories, category)) {
      return PermissionDenied("the disclosure holds a record outside the signed scope");
    }
    if (r.contains("date") && !r["date"].is_string()) {
      return PermissionDenied("the disclosure holds a record outside the signed dates");
    }
    std::string day = TextIn(r, "date");
    if (!day.empty()) {
      auto d = ParseDate(day);
      if (!d.ok() || !InRange(*d, scope)) {
        return PermissionDenied("the disclosure holds a record outside the signed dates");
      }
    } else if (category != "patron") {
      return PermissionDenied("the disclosure holds an undated record");
    }
  }
  return Status::Ok();
}

Status CheckPackageAgainstDecision(std::string_view manifest_text, std::string_view files_text,
                                   int64_t decision_id, std::string_view decision_document,
                                   std::string_view reference) {
  json manifest = json::parse(manifest_text, nullptr, false);
  json files = json::parse(files_text, nullptr, false);
  json doc = json::parse(decision_document, nullptr, false);
  if (!manifest.is_object() || !files.is_object() || !doc.is_object() ||
      !manifest.contains("decision") || !manifest["decision"].is_number_integer() ||
      manifest["decision"].get<int64_t>() != decision_id ||
      TextIn(manifest, "decision_sha256") != Sha256Hex(decision_document) ||
      TextIn(manifest, "case") != reference) {
    return PermissionDenied("the manifest does not match the signed decision");
  }
  // The manifest lists each file of the package once, with its hash, and nothing else.
  if (!manifest.contains("files") || !manifest["files"].is_array()) {
    return PermissionDenied("the manifest lists no files");
  }
  std::set<std::string> listed;
  for (const json& file : manifest["files"]) {
    std::string name = TextIn(file, "name");
    auto it = files.find(name);
    if (it == files.end() || !it->is_string() || !listed.insert(name).second ||
        Sha256Hex(it->get<std::string>()) != TextIn(file, "sha256")) {
      return PermissionDenied("a file of the package does not match the manifest");
    }
  }
  if (listed.size() != files.size() || !listed.count("disclosure.json") ||
      !listed.count("disclosure.html")) {
    return PermissionDenied("the package's files are not those of its manifest");
  }
  if (!doc.contains("scope")) return PermissionDenied("the package does not parse");
  auto scope = ScopeFromJson(doc["scope"]);
  json package = json::parse(files["disclosure.json"].get<std::string>(), nullptr, false);
  if (!scope.ok() || package.is_discarded()) {
    return PermissionDenied("the package does not parse");
  }
  return CheckRecordsCovered(package, *scope);
}

}  // namespace carrel
