#include "api/kiosk_routes.h"

#include <gtest/gtest.h>

namespace carrel {
namespace {

TEST(KioskNameTest, TheProfileDecidesHowMuchOfTheNameAKioskShows) {
  EXPECT_EQ(KioskName("first", "Casey Quill"), "Casey");
  EXPECT_EQ(KioskName("first", "  Casey  Quill "), "Casey");
  EXPECT_EQ(KioskName("first", "Prince"), "Prince");
  EXPECT_EQ(KioskName("first", "   "), "");
  EXPECT_EQ(KioskName("full", "Casey Quill"), "Casey Quill");
  EXPECT_EQ(KioskName("none", "Casey Quill"), "");
}

}  // namespace
}  // namespace carrel
