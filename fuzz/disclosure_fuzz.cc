// libFuzzer target: a disclosure package as it is found at download, whatever its stored texts
// hold: the manifest, the package's files and the signed decision's document, through the
// check every download makes before anything leaves (src/requests/package_check.cc).
// Input: a flags byte, then the three texts separated by NUL bytes. The flags let the target
// put the right SHA-256s in place (of the decision, of each file listed) so that mutations
// reach the records. Checks, beyond "no crash, no leak, no undefined behaviour":
//  - a package taken discloses only what the decision names, judged here apart from the
//    checker: every record's patron is among the decision's patrons and its category among
//    its categories;
//  - a refusal is kPermissionDenied or kDataLoss (nothing leaves).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "carrel/encoding.h"
#include "fuzz/support/fuzz_support.h"
#include "requests/package_check.h"

using carrel::fuzz::Broken;

namespace {

using nlohmann::json;

constexpr int64_t kDecision = 7;
constexpr std::string_view kReference = "R-2026-0007";

bool Listed(const json& list, const json& value) {
  if (!list.is_array()) return false;
  for (const json& v : list) {
    if (v == value) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t flags = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  size_t a = rest.find('\0');
  if (a == std::string_view::npos) return 0;
  size_t b = rest.find('\0', a + 1);
  if (b == std::string_view::npos) return 0;
  std::string manifest(rest.substr(0, a));
  std::string files(rest.substr(a + 1, b - a - 1));
  std::string decision(rest.substr(b + 1));

  json m = json::parse(manifest, nullptr, false);
  json f = json::parse(files, nullptr, false);
  if (m.is_object() && (flags & 1) != 0) {
    m["decision_sha256"] = carrel::Sha256Hex(decision);
    manifest = m.dump();
  }
  if (m.is_object() && f.is_object() && (flags & 2) != 0 && m.contains("files") &&
      m["files"].is_array()) {
    for (json& file : m["files"]) {
      if (!file.is_object() || !file.contains("name") || !file["name"].is_string()) continue;
      auto it = f.find(file["name"].get<std::string>());
      if (it != f.end() && it->is_string()) {
        file["sha256"] = carrel::Sha256Hex(it->get<std::string>());
      }
    }
    manifest = m.dump();
  }

  carrel::Status s =
      carrel::CheckPackageAgainstDecision(manifest, files, kDecision, decision, kReference);
  if (!s.ok()) {
    if (s.code() != carrel::StatusCode::kPermissionDenied &&
        s.code() != carrel::StatusCode::kDataLoss) {
      Broken("disclosure", "a refusal of an unexpected kind");
    }
    return 0;
  }
  // Taken: judge the records against the decision's scope here, apart from the checker.
  json doc = json::parse(decision);
  const json& scope = doc["scope"];
  json package = json::parse(json::parse(files)["disclosure.json"].get<std::string>());
  for (const json& record : package["records"]) {
    if (!Listed(scope.value("patrons", json::array()), record["patron"])) {
      Broken("disclosure", "a record of a patron the decision does not name left");
    }
    if (!Listed(scope.value("categories", json::array()), record["category"])) {
      Broken("disclosure", "a record of a category the decision does not name left");
    }
  }
  return 0;
}
