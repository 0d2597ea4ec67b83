// The request workflow's steps as the API gives them: every step's body read into its type and
// written back the same, a field the step does not take refused, an unknown step refused, and
// every type named as the workflow table names its step.

#include "requests/step_args.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "requests/fields.h"

namespace carrel {
namespace {

using json = nlohmann::json;

TEST(StepArgsTest, EveryStepReadsBackWhatItWrites) {
  const std::vector<std::pair<std::string, json>> bodies = {
      {"acknowledge", json::object()},
      {"consult_counsel", {{"counsel_id", 4}, {"consultation", "called at once"}}},
      {"decline", {{"explanation", "no process"}}},
      {"refer_to_counsel", {{"counsel_id", 4}}},
      {"advise",
       {{"proper_form", true},
        {"enforceable", false},
        {"court_order_compels", false},
        {"recommendation", "narrow"},
        {"advice", "produce the loans only"},
        {"recommended_scope",
         {{"patrons", {7}}, {"categories", {"loans"}}, {"from", "2026-01-01"}, {"to", nullptr}}}}},
      {"decide",
       {{"outcome", "partial"},
        {"basis", "court_order"},
        {"scope", {{"categories", {"loans"}}, {"card_barcodes", {"P-1"}}}},
        {"advice_id", 2}}},
      {"prepare_disclosure", json::object()},
      {"deliver", {{"to", "the clerk"}, {"how", "by hand"}, {"at", "2026-12-01T15:00:00Z"}}},
      {"acknowledge_receipt", {{"at", "2026-12-02T15:00:00Z"}}},
      {"respond_media", {{"statement", "we do not comment on patrons"}}},
      {"execute_warrant",
       {{"officers", {"Officer A"}},
        {"executed_at", "2026-12-01T16:00:00Z"},
        {"items_seized", {"I-1"}}}},
      {"nondisclosure", {{"order", true}, {"expires", "2027-01-01"}}},
      {"close", {{"release_holds", true}}},
  };
  ASSERT_EQ(bodies.size(), std::variant_size_v<StepArgs>);
  for (const auto& [step, body] : bodies) {
    auto args = StepArgsFromJson(step, body);
    ASSERT_TRUE(args.ok()) << step << ": " << args.status().ToString();
    EXPECT_EQ(StepName(*args), step);
    EXPECT_EQ(StepArgsToJson(*args), body) << step;
    EXPECT_TRUE(CheckAgainst(StepPayloadSchema(step), StepArgsToJson(*args)).ok()) << step;
  }
}

TEST(StepArgsTest, AFieldTheStepDoesNotTakeIsRefused) {
  auto args = StepArgsFromJson("acknowledge", {{"surprise", 1}});
  ASSERT_EQ(args.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(args.status().message().find("surprise"), std::string::npos);
  EXPECT_EQ(StepArgsFromJson("fly", json::object()).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(
      StepArgsFromJson("deliver", {{"to", "x"}, {"how", "y"}, {"at", "noon"}}).status().code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(StepArgsFromJson("decide", {{"outcome", "release"}, {"scope", {{"all", true}}}})
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

TEST(StepArgsTest, RequiredFieldsLeftEmptyFailTheContract) {
  // What a caller in C++ could build: the core checks it against the same contract.
  for (const StepArgs& args : {StepArgs(steps::ConsultCounsel{}), StepArgs(steps::Deliver{}),
                               StepArgs(steps::RespondMedia{}), StepArgs(steps::Advise{})}) {
    EXPECT_FALSE(CheckAgainst(StepPayloadSchema(StepName(args)), StepArgsToJson(args)).ok())
        << StepName(args);
  }
}

}  // namespace
}  // namespace carrel
