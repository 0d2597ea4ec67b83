// Internal: what a disclosure package must be to leave, checked against its signed decision at
// preparation and again at every download (and by the disclosure fuzz target). Each check
// takes the stored texts as they are, whatever they hold.

#ifndef CARREL_REQUESTS_PACKAGE_CHECK_H_
#define CARREL_REQUESTS_PACKAGE_CHECK_H_

#include <nlohmann/json.hpp>
#include <string_view>

#include "carrel/requests.h"
#include "carrel/status.h"

namespace carrel {

// `d` lies inside the scope's dates (either end may be open).
inline bool InRange(Date d, const CaseScope& s) {
  if (s.from && d < *s.from) return false;
  if (s.to && d > *s.to) return false;
  return true;
}

// Every record of a package (the disclosure's JSON) lies inside `scope`: its patron, its
// category, its day. kDataLoss when the package has no list of records, kPermissionDenied
// naming what falls outside.
Status CheckRecordsCovered(const nlohmann::json& package, const CaseScope& scope);

// The package is what its signed decision allows: the manifest names that decision (by id and
// SHA-256) and this case, lists every file of the package (disclosure.json and
// disclosure.html at least) with its SHA-256, and every record lies inside the decision's
// scope. kPermissionDenied saying what does not hold.
Status CheckPackageAgainstDecision(std::string_view manifest, std::string_view files,
                                   int64_t decision_id, std::string_view decision_document,
                                   std::string_view reference);

}  // namespace carrel

#endif  // CARREL_REQUESTS_PACKAGE_CHECK_H_
