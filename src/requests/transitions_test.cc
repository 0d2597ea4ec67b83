// The workflow table on its own, without a library: every row a step can take has a handler,
// every state it names exists, and what a case's type or a role may not do is not in it.

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "carrel/requests.h"

namespace carrel {
namespace {

bool IsState(std::string_view s) {
  const auto& states = CaseStates();
  return std::find(states.begin(), states.end(), s) != states.end();
}

TEST(WorkflowTableTest, EveryStepStartsAndEndsInAKnownState) {
  std::set<std::string_view> actions;
  for (const CaseTransition& t : CaseTransitions()) {
    EXPECT_TRUE(actions.insert(t.action).second) << "a step named twice: " << t.action;
    for (std::string_view from : t.from) EXPECT_TRUE(IsState(from)) << t.action << " " << from;
    EXPECT_TRUE(t.to.empty() || t.to == "*" || IsState(t.to)) << t.action << " " << t.to;
    EXPECT_NE(t.types, 0u) << t.action;
    EXPECT_NE(t.actors, 0u) << t.action;
    EXPECT_FALSE(t.precondition.empty()) << t.action;
  }
  // Only intake makes a case; nothing leaves "closed" but a nondisclosure order's record.
  for (const CaseTransition& t : CaseTransitions()) {
    EXPECT_EQ(t.from.empty(), t.action == "intake") << t.action;
    if (std::find(t.from.begin(), t.from.end(), "closed") != t.from.end()) {
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
