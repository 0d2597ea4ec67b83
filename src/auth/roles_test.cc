// Roles, approvals and signing purposes, without a library.

#include <gtest/gtest.h>

#include <set>

#include "carrel/accounts.h"

namespace carrel {
namespace {

TEST(RolesTest, UsersRolesReadAndWriteTheSameNamesAndPatronIsNotOne) {
  for (Role r :
       {Role::kStaff, Role::kDirector, Role::kCounsel, Role::kBoard, Role::kAdmin, Role::kKiosk}) {
    auto parsed = ParseRole(RoleName(r));
    ASSERT_TRUE(parsed.ok()) << RoleName(r);
    EXPECT_EQ(*parsed, r);
  }
  EXPECT_FALSE(ParseRole("patron").ok()) << "a user account is never a patron's";
  EXPECT_FALSE(ParseRole("root").ok());
}

TEST(RolesTest, EveryRoleThatReachesPatronDataOrSignsNeedsApproval) {
  EXPECT_TRUE(NeedsApproval(Role::kStaff));
  EXPECT_TRUE(NeedsApproval(Role::kDirector));
  EXPECT_TRUE(NeedsApproval(Role::kCounsel));
  EXPECT_TRUE(NeedsApproval(Role::kBoard));
  EXPECT_TRUE(NeedsApproval(Role::kKiosk)) << "a kiosk reaches patrons' loans with their PIN";
  EXPECT_FALSE(NeedsApproval(Role::kAdmin)) << "the administrator reads no patron data";
}

TEST(RolesTest, NoTwoPurposesShareASigningContext) {
  std::set<std::string_view> seen;
  for (SignedPurpose p :
       {SignedPurpose::kDecision, SignedPurpose::kDisclosure, SignedPurpose::kAppointment,
        SignedPurpose::kRuling, SignedPurpose::kBallot, SignedPurpose::kBallotClose,
        SignedPurpose::kSchedule, SignedPurpose::kLegalHold, SignedPurpose::kApproval,
        SignedPurpose::kSessionProof}) {
    EXPECT_TRUE(seen.insert(PurposeContext(p)).second) << PurposeContext(p);
  }
}

TEST(RolesTest, OneTimePasswordsAreLongUnambiguousAndFresh) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    std::string p = NewOneTimePassword();
    EXPECT_EQ(p.size(), 23u) << p;  // 20 characters in groups of five
    EXPECT_EQ(p.find_first_of("0O1lIi2Z8B"), std::string::npos) << p;
    EXPECT_TRUE(seen.insert(p).second);
  }
}

}  // namespace
}  // namespace carrel
