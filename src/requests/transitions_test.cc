// The workflow table on its own, without a library: every row a step can take has a handler,
// every state it names exists, and what a case's type or a role may not do is not in it.

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "carrel/requests.h"

namespace carrel {
namespace {

bool IsState(CaseState s) {
  const auto& states = CaseStates();
  return std::find(states.begin(), states.end(), s) != states.end();
}

TEST(WorkflowTableTest, EveryStepStartsAndEndsInAKnownState) {
  std::set<std::string_view> actions;
  for (const CaseTransition& t : CaseTransitions()) {
    EXPECT_TRUE(actions.insert(t.action).second) << "a step named twice: " << t.action;
    for (CaseState from : t.from) {
      EXPECT_TRUE(IsState(from)) << t.action << " " << static_cast<int>(from);
    }
    EXPECT_TRUE(t.to.kind != CaseNext::kTo || IsState(t.to.state)) << t.action;
    EXPECT_NE(t.types, 0u) << t.action;
    EXPECT_NE(t.actors, 0u) << t.action;
    EXPECT_FALSE(t.precondition.empty()) << t.action;
  }
  // Only intake makes a case; nothing leaves "closed" but a nondisclosure order's record.
  for (const CaseTransition& t : CaseTransitions()) {
    EXPECT_EQ(t.from.empty(), t.action == "intake") << t.action;
    if (std::find(t.from.begin(), t.from.end(), CaseState::kClosed) != t.from.end()) {
      EXPECT_EQ(t.action, "nondisclosure");
    }
  }
}

TEST(WorkflowTableTest, OnlyTheDirectorOrADesigneeSignsOrReleases) {
  for (const CaseTransition& t : CaseTransitions()) {
    bool releases =
        t.action == "decide" || t.action == "prepare_disclosure" || t.action == "deliver";
    if (t.signed_step || releases) {
      EXPECT_EQ(t.actors & (kCaseStaff | kCaseCounsel), 0u)
          << t.action << ": neither the desk nor counsel may take it";
    }
    if (releases) {
      EXPECT_EQ(t.types & kMedia, 0u) << t.action << ": no step of a media case discloses";
    }
  }
}

TEST(WorkflowTableTest, StatesAndOutcomesReadAndWriteTheSameNames) {
  std::set<std::string_view> names;
  for (CaseState state : CaseStates()) {
    std::string_view name = CaseStateName(state);
    EXPECT_TRUE(names.insert(name).second) << name;
    auto parsed = ParseCaseState(name);
    ASSERT_TRUE(parsed.ok()) << name;
    EXPECT_EQ(*parsed, state);
  }
  EXPECT_EQ(names.size(), 11u);
  EXPECT_FALSE(ParseCaseState("open").ok());
  EXPECT_FALSE(ParseCaseState("").ok());
  for (CaseOutcome outcome :
       {CaseOutcome::kNone, CaseOutcome::kRelease, CaseOutcome::kPartial, CaseOutcome::kRefuse,
        CaseOutcome::kDeclined, CaseOutcome::kMediaStatement}) {
    auto parsed = ParseCaseOutcome(CaseOutcomeName(outcome));
    ASSERT_TRUE(parsed.ok()) << CaseOutcomeName(outcome);
    EXPECT_EQ(*parsed, outcome);
  }
  EXPECT_EQ(CaseOutcomeName(CaseOutcome::kNone), "");
  EXPECT_EQ(ParseCaseOutcome("grant").status().code(), StatusCode::kInvalidArgument);
  // The API shows where a step leads by name, "" when the case stays, "*" when the step chooses.
  EXPECT_EQ(CaseNextName(CaseState::kDecided), "decided");
  EXPECT_EQ(CaseNextName(CaseNext::kStays), "");
  EXPECT_EQ(CaseNextName(CaseNext::kChosenByStep), "*");
}

TEST(WorkflowTableTest, CaseTypesReadAndWriteTheSameNames) {
  for (CaseType t : {kLawEnforcement, kMedia, kPatronAccess, kThirdParty}) {
    auto parsed = ParseCaseType(CaseTypeName(t));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, t);
  }
  EXPECT_EQ(ParseCaseType("police").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace carrel
