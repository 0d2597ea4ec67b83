// The cost of checking a request against its route's contract (src/util/json_schema.h), on the
// bodies the issue names: a checkout, and the largest body a request step takes.

#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>

#include "api/routes.h"
#include "api/schemas.h"
#include "requests/fields.h"

namespace carrel {
namespace {

using nlohmann::json;

const Route& RouteFor(std::string_view action) {
  for (const Route& r : RouteTable()) {
    if (r.action == action) return r;
  }
  std::abort();
}

void CheckBody(benchmark::State& state, std::string_view action, const json& body) {
  const Route& route = RouteFor(action);
  ApiRequest request;
  request.method = std::string(route.method);
  request.path = std::string(route.pattern);
  for (size_t at = route.pattern.find('{'); at != std::string_view::npos;
       at = route.pattern.find('{', at + 1)) {
    request.path_params.push_back(action.substr(0, 8) == "request." ? "R-2026-0001" : "1");
  }
  std::vector<FieldError> errors;
  for (auto _ : state) {
    errors.clear();
    CheckRequest(route, request, body, true, &errors);
    benchmark::DoNotOptimize(errors.data());
  }
  if (!errors.empty()) state.SkipWithError(DescribeErrors(errors).c_str());
  state.counters["body_bytes"] = static_cast<double>(body.dump().size());
}

void BM_ValidateCheckoutBody(benchmark::State& state) {
  CheckBody(state, "loan.checkout",
            {{"item_barcode", "31000000000042"}, {"card_barcode", "21000000000007"}});
}

// Counsel's advice at its longest (20,000 characters, some of them not ASCII) with the widest
// recommended scope: the largest body any step takes.
void BM_ValidateLargestStepBody(benchmark::State& state) {
  std::string advice;
  while (advice.size() < 19990) advice += "The subpoena is defective; the library must refuse — ";
  json patrons = json::array();
  for (int i = 1; i <= 100; ++i) patrons.push_back(100000 + i);
  CheckBody(state, "request.advise",
            {{"proper_form", false},
             {"enforceable", false},
             {"court_order_compels", false},
             {"recommendation", "refuse"},
             {"advice", advice.substr(0, 19990)},
             {"recommended_scope",
              {{"patrons", patrons},
               {"categories", {"patron", "loans", "loan_history", "holds", "fines"}},
               {"from", "2025-01-01"},
               {"to", "2026-12-01"}}}});
}

// A warrant executed on the spot, at every list's limit.
void BM_ValidateWarrantStepBody(benchmark::State& state) {
  json officers = json::array(), seized = json::array(), devices = json::array();
  for (int i = 0; i < 20; ++i) officers.push_back("Officer " + std::to_string(i) + ", badge 00" + std::to_string(i));
  for (int i = 0; i < 200; ++i) seized.push_back("3100000000" + std::to_string(1000 + i));
  for (int i = 0; i < 50; ++i) devices.push_back("public computer " + std::to_string(i));
  CheckBody(state, "request.execute_warrant",
            {{"officers", officers},
             {"executed_at", "2026-12-02T15:00:00Z"},
             {"items_seized", seized},
             {"devices", devices},
             {"notes", std::string(4000, 'n')}});
}

// An intake naming a hundred cards, every field given.
void BM_ValidateIntakeBody(benchmark::State& state) {
  json cards = json::array();
  for (int i = 0; i < 100; ++i) cards.push_back("2100000000" + std::to_string(1000 + i));
  CheckBody(state, "request.intake",
            {{"type", "law_enforcement"}, {"agency", "County Police"}, {"name", "Officer on duty"},
             {"badge", "0000"}, {"contact", "desk sergeant"}, {"callback_number", "555-0100"},
             {"callback_source", "the county's published directory"},
             {"arrived_by", "in person"}, {"asked", std::string(4000, 'a')},
             {"card_barcodes", cards}, {"categories", {"loans", "loan_history"}},
             {"from", "2026-01-01"}, {"to", "2026-12-01"}, {"process", "subpoena"},
             {"issuing_authority", "Superior Court"}, {"process_date", "2026-11-30"},
             {"return_date", "2026-12-15"}, {"nondisclosure_order", true},
             {"nondisclosure_expires", "2027-12-01"}, {"nondisclosure_review", "2027-06-01"}});
}

BENCHMARK(BM_ValidateCheckoutBody)->MinTime(0.2)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_ValidateLargestStepBody)->MinTime(0.2)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ValidateWarrantStepBody)->MinTime(0.2)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ValidateIntakeBody)->MinTime(0.2)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace carrel
