#include "carrel/calendar.h"

#include <gtest/gtest.h>

#include <string>

#include "carrel/clock.h"
#include "carrel/profile.h"

namespace carrel {
namespace {

Instant At(const std::string& rfc3339) {
  StatusOr<Instant> t = ParseInstant(rfc3339);
  EXPECT_TRUE(t.ok()) << rfc3339;
  return *t;
}

Date D(const std::string& text) {
  StatusOr<Date> d = ParseDate(text);
  EXPECT_TRUE(d.ok()) << text;
  return *d;
}

OpeningPeriod Hours(int open_h, int close_h) { return {open_h * 60, close_h * 60}; }

class CalendarTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StatusOr<Profile> profile =
        LoadProfile(std::string(CARREL_SOURCE_DIR) + "/profiles/westport/library.toml");
    ASSERT_TRUE(profile.ok()) << profile.status().ToString();
    StatusOr<Calendar> calendar = Calendar::FromProfile(*profile);
    ASSERT_TRUE(calendar.ok()) << calendar.status().ToString();
    calendar_.emplace(std::move(calendar).value());
  }

  const Calendar& westport() const { return *calendar_; }

  std::optional<Calendar> calendar_;
};

TEST(CalendarWeekdayTest, MondayIsZero) {
  EXPECT_EQ(WeekdayIndex(D("2026-11-23")), 0);  // Monday
  EXPECT_EQ(WeekdayIndex(D("2026-11-26")), 3);  // Thursday
  EXPECT_EQ(WeekdayIndex(D("2026-11-29")), 6);  // Sunday
}

TEST_F(CalendarTest, LocalDateFollowsTheLibraryZone) {
  // 22:00 on Thursday 5 November in Westport is already Friday in UTC.
  EXPECT_EQ(westport().LocalDate(At("2026-11-06T03:00:00Z")), D("2026-11-05"));
  EXPECT_EQ(westport().LocalDate(At("2026-11-06T05:00:00Z")), D("2026-11-06"));
  EXPECT_EQ(westport().zone().name(), "America/New_York");
}

TEST_F(CalendarTest, LibraryOpensAtTheOpeningMinuteAndClosesAtTheClosingInstant) {
  // Monday 2026-11-23, 09:00-21:00 EST (UTC-5).
  EXPECT_FALSE(westport().IsLibraryOpen(At("2026-11-23T13:59:59Z")));
  EXPECT_TRUE(westport().IsLibraryOpen(At("2026-11-23T14:00:00Z")));
  EXPECT_TRUE(westport().IsLibraryOpen(At("2026-11-24T01:59:59Z")));
  EXPECT_FALSE(westport().IsLibraryOpen(At("2026-11-24T02:00:00Z")));
}

TEST_F(CalendarTest, SummerHoursAreInDaylightTime) {
  // Monday 2026-07-13, 09:00 EDT = 13:00Z.
  EXPECT_FALSE(westport().IsLibraryOpen(At("2026-07-13T12:59:59Z")));
  EXPECT_TRUE(westport().IsLibraryOpen(At("2026-07-13T13:00:00Z")));
}

TEST_F(CalendarTest, CafeKeepsItsOwnHours) {
  // Monday 17:45 EST: the library is open, the café (09:00-17:30) is not.
  Instant t = At("2026-11-23T22:45:00Z");
  EXPECT_TRUE(westport().IsLibraryOpen(t));
  EXPECT_FALSE(westport().IsCafeOpen(t));
  EXPECT_TRUE(westport().IsCafeOpen(At("2026-11-23T22:29:59Z")));
  EXPECT_FALSE(westport().IsCafeOpen(At("2026-11-23T22:30:00Z")));
  // Saturday 16:45: library open until 17:00, café closed at 16:30.
  Instant saturday = At("2026-11-28T21:45:00Z");
  EXPECT_TRUE(westport().IsLibraryOpen(saturday));
  EXPECT_FALSE(westport().IsCafeOpen(saturday));
  // Sunday 12:30: neither is open yet.
  EXPECT_FALSE(westport().IsLibraryOpen(At("2026-11-29T17:30:00Z")));
  EXPECT_FALSE(westport().IsCafeOpen(At("2026-11-29T17:30:00Z")));
}

TEST_F(CalendarTest, ClosedOnThanksgiving) {
  // Thursday 2026-11-26, noon local: a weekday with hours, but a closed date.
  Instant noon = At("2026-11-26T17:00:00Z");
  EXPECT_FALSE(westport().IsOpenDay(D("2026-11-26")));
  EXPECT_FALSE(westport().IsLibraryOpen(noon));
  EXPECT_FALSE(westport().IsCafeOpen(noon));
  EXPECT_TRUE(westport().IsOpenDay(D("2026-11-25")));
  EXPECT_EQ(westport().NextOpenDay(D("2026-11-26")), D("2026-11-27"));
  EXPECT_EQ(westport().NextOpenDay(D("2026-11-25")), D("2026-11-25"));
}

TEST_F(CalendarTest, DueDateMovesOverAClosedDate) {
  // Checked out Thursday 2026-11-05 at 22:00 local (03:00Z on the 6th): 21 days lands on
  // Thanksgiving, so the book is due the Friday after.
  EXPECT_EQ(westport().DueDate(At("2026-11-06T03:00:00Z"), 21), D("2026-11-27"));
  EXPECT_EQ(westport().DueDate(At("2026-11-06T03:00:00Z"), 7), D("2026-11-12"));
  // Christmas 2027 is a Saturday; the next day is a Sunday with hours.
  EXPECT_EQ(westport().DueDate(At("2027-12-18T15:00:00Z"), 7), D("2027-12-26"));
}

TEST_F(CalendarTest, NextOpeningFromSaturdayEveningIsSunday1300) {
  // Saturday 2026-11-28 19:00 EST; Sunday opens 13:00 EST = 18:00Z.
  EXPECT_EQ(westport().NextLibraryOpening(At("2026-11-29T00:00:00Z")), At("2026-11-29T18:00:00Z"));
  // Exactly at the opening instant: that instant.
  EXPECT_EQ(westport().NextLibraryOpening(At("2026-11-29T18:00:00Z")), At("2026-11-29T18:00:00Z"));
  // While open: the next day's opening.
  EXPECT_EQ(westport().NextLibraryOpening(At("2026-11-29T18:00:01Z")), At("2026-11-30T14:00:00Z"));
  // Wednesday evening before Thanksgiving: skips the Thursday.
  EXPECT_EQ(westport().NextLibraryOpening(At("2026-11-26T03:00:00Z")), At("2026-11-27T14:00:00Z"));
  // Sunday of the spring switch: 13:00 EDT = 17:00Z.
  EXPECT_EQ(westport().NextLibraryOpening(At("2026-03-08T05:00:00Z")), At("2026-03-08T17:00:00Z"));
}

TEST_F(CalendarTest, NextClosing) {
  // Monday 10:00 EST: closes 21:00 EST.
  EXPECT_EQ(westport().NextLibraryClosing(At("2026-11-23T15:00:00Z")), At("2026-11-24T02:00:00Z"));
  Instant closed = At("2026-11-24T03:00:00Z");
  EXPECT_EQ(westport().NextLibraryClosing(closed), closed);
}

TEST(CalendarCustomTest, NextOpenDayOverAClosedDateAndAWeekend) {
  // Open Monday-Friday only; Friday 2026-12-04 is a closed date.
  WeekHours weekdays{};
  for (int i = 0; i < 5; ++i) weekdays[static_cast<size_t>(i)] = Hours(10, 16);
  Calendar calendar(weekdays, WeekHours{}, {D("2026-12-04")}, TimeZone::Utc());
  EXPECT_EQ(calendar.NextOpenDay(D("2026-12-04")), D("2026-12-07"));
  EXPECT_EQ(calendar.NextOpenDay(D("2026-12-05")), D("2026-12-07"));
  EXPECT_EQ(calendar.NextOpenDay(D("2026-12-03")), D("2026-12-03"));
  EXPECT_EQ(calendar.DueDate(At("2026-12-01T12:00:00Z"), 3), D("2026-12-07"));
  EXPECT_EQ(calendar.NextLibraryOpening(At("2026-12-03T16:00:00Z")), At("2026-12-07T10:00:00Z"));
  // The café has no hours at all.
  EXPECT_FALSE(calendar.IsCafeOpen(At("2026-12-03T12:00:00Z")));
}

TEST(CalendarCustomTest, ClosedDatesAreSortedAndDeduplicated) {
  WeekHours every_day{};
  for (auto& day : every_day) day = Hours(9, 17);
  Calendar calendar(every_day, every_day, {D("2026-12-25"), D("2026-01-01"), D("2026-12-25")},
                    TimeZone::Utc());
  EXPECT_FALSE(calendar.IsOpenDay(D("2026-01-01")));
  EXPECT_FALSE(calendar.IsOpenDay(D("2026-12-25")));
  EXPECT_TRUE(calendar.IsOpenDay(D("2026-12-24")));
}

TEST(CalendarCustomTest, NoOpenDayAtAll) {
  WeekHours open_daily{};
  for (auto& day : open_daily) day = Hours(9, 17);
  Calendar never(WeekHours{}, open_daily, {}, TimeZone::Utc());
  Instant t = At("2026-06-01T12:00:00Z");
  EXPECT_EQ(never.NextOpenDay(D("2026-06-01")), std::nullopt);
  EXPECT_EQ(never.NextLibraryOpening(t), std::nullopt);
  EXPECT_FALSE(never.IsLibraryOpen(t));
  EXPECT_EQ(never.NextLibraryClosing(t), t);
  EXPECT_EQ(never.DueDate(t, 14), D("2026-06-15"));  // unmoved
}

TEST(CalendarCustomTest, FromProfileRefusesAnUnknownZone) {
  Profile profile;
  profile.time_zone = "Nowhere/Special";
  StatusOr<Calendar> calendar = Calendar::FromProfile(profile);
  ASSERT_FALSE(calendar.ok());
  EXPECT_EQ(calendar.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace carrel

namespace carrel {
namespace {

TEST_F(CalendarTest, OpenTimeCountsOnlyTheHoursTheLibraryIsOpen) {
  // Monday 23 November 2026, 20:30 in Westport (open until 21:00), to Tuesday 10:00 (opens 9:00):
  // half an hour on Monday evening and an hour on Tuesday morning.
  Instant monday_evening = At("2026-11-24T01:30:00Z");
  Instant tuesday_morning = At("2026-11-24T15:00:00Z");
  EXPECT_EQ(westport().OpenTimeBetween(monday_evening, tuesday_morning), std::chrono::minutes(90));
  EXPECT_EQ(westport().OpenTimeBetween(tuesday_morning, monday_evening), std::chrono::seconds(0));
  // Two open hours after Monday 20:30 fall at Tuesday 10:30.
  EXPECT_EQ(westport().AfterOpenTime(monday_evening, std::chrono::hours(2)),
            At("2026-11-24T15:30:00Z"));
  // Thanksgiving (26 November) is closed: from Wednesday 20:00 to Friday 10:00 the library is
  // open one hour on Wednesday and one on Friday.
  EXPECT_EQ(westport().OpenTimeBetween(At("2026-11-26T01:00:00Z"), At("2026-11-27T15:00:00Z")),
            std::chrono::hours(2));
  // A moment inside opening hours counts at once.
  EXPECT_EQ(westport().AfterOpenTime(tuesday_morning, std::chrono::hours(1)),
            At("2026-11-24T16:00:00Z"));
}

}  // namespace
}  // namespace carrel
