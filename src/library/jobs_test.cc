// The server's scheduled jobs under a fake clock: nothing is signed or run before it is due,
// however often the jobs look, and what is due is done once.

#include "carrel/jobs.h"

#include <gtest/gtest.h>

#include <thread>

#include "carrel/library.h"
#include "tests/support/temp_dir.h"

namespace carrel {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

class JobsTest : public ::testing::Test {
 protected:
  Library& lib() { return *lib_.library; }

  int64_t AuditSize() {
    int64_t size = 0;
    EXPECT_TRUE(WithReadTransaction(lib().store(), [&](Transaction& tx) -> Status {
                  CARREL_ASSIGN_OR_RETURN(size, lib().audit().Size(tx));
                  return Status::Ok();
                }).ok());
    return size;
  }
  int64_t LatestHeadSize() {
    int64_t size = -1;
    EXPECT_TRUE(WithReadTransaction(lib().store(), [&](Transaction& tx) -> Status {
                  CARREL_ASSIGN_OR_RETURN(Checkpoint head, lib().audit().LatestHead(tx));
                  size = head.size;
                  return Status::Ok();
                }).ok());
    return size;
  }
  void Record(int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(
          lib().RecordOperation(OperatorActor(), {"library.backup", "library", "", "", "{}"}).ok());
    }
  }
  void SignSchedule() {
    auto director = lib().accounts().AddUser(OperatorActor(), "director2", Role::kDirector,
                                             "director-password-2026");
    ASSERT_TRUE(director.ok()) << director.status().ToString();
    Actor actor{"user/" + std::to_string(director->id), "director"};
    auto v = lib().retention().SignSchedule(actor, director->id, "director-password-2026",
                                            ScheduleFromProfile(lib().profile()), "the schedule");
    ASSERT_TRUE(v.ok()) << v.status().ToString();
  }

  testing::TestLibrary lib_;
  JobsOptions options_{.head_entries = 100,
                       .head_interval = seconds(60),
                       .duty_interval = seconds(30),
                       .tick = std::chrono::milliseconds(5)};
};

TEST_F(JobsTest, AHeadIsSignedAMinuteAfterTheLastAndNotBefore) {
  Jobs jobs(&lib(), options_);
  Record(3);
  EXPECT_EQ(jobs.RunDue().head_signed, std::nullopt);
  lib_.clock.Advance(seconds(59));
  EXPECT_EQ(jobs.RunDue().head_signed, std::nullopt);
  lib_.clock.Advance(seconds(1));
  EXPECT_EQ(jobs.RunDue().head_signed, AuditSize());
  EXPECT_EQ(LatestHeadSize(), AuditSize());
  // Nothing new: another minute signs nothing.
  lib_.clock.Advance(seconds(61));
  EXPECT_EQ(jobs.RunDue().head_signed, std::nullopt);
  // Something new, a minute on: signed.
  Record(1);
  lib_.clock.Advance(seconds(60));
  EXPECT_EQ(jobs.RunDue().head_signed, AuditSize());
}

TEST_F(JobsTest, ManyEntriesAreSignedWithoutWaitingForTheMinute) {
  Jobs jobs(&lib(), options_);
  lib_.clock.Advance(seconds(60));
  ASSERT_TRUE(jobs.RunDue().head_signed.has_value());
  Record(99);
  EXPECT_EQ(jobs.RunDue().head_signed, std::nullopt);
  Record(1);
  EXPECT_EQ(jobs.RunDue().head_signed, AuditSize());
}

TEST_F(JobsTest, SettingTheWallClockBackDoesNotStopHeadsOrRepeatRuns) {
  Jobs jobs(&lib(), options_);
  Record(1);
  lib_.clock.Set(lib_.clock.Now() - hours(24));  // the wall clock set back a day
  lib_.clock.Advance(seconds(59));
  EXPECT_EQ(jobs.RunDue().head_signed, std::nullopt);
  lib_.clock.Advance(seconds(1));
  EXPECT_EQ(jobs.RunDue().head_signed, AuditSize());
}

TEST_F(JobsTest, RetentionRunsOnceAClosedLibraryDay) {
  SignSchedule();
  Jobs jobs(&lib(), options_);
  // 10:00 in Westport: open. However often the jobs look, nothing runs.
  ASSERT_TRUE(lib().calendar().IsLibraryOpen(lib_.clock.Now()));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(jobs.RunDue().retention_run, std::nullopt);
    lib_.clock.Advance(minutes(1));
  }
  // That night: one run, and no second one however often they look.
  lib_.clock.Set(Instant(std::chrono::sys_days(std::chrono::year(2026) / 12 / 2)) + hours(4));
  ASSERT_FALSE(lib().calendar().IsLibraryOpen(lib_.clock.Now()));
  std::optional<int64_t> run = jobs.RunDue().retention_run;
  EXPECT_TRUE(run.has_value());
  for (int i = 0; i < 3; ++i) {
    lib_.clock.Advance(minutes(10));
    EXPECT_EQ(jobs.RunDue().retention_run, std::nullopt);
  }
  // Duties wait for their interval: looking again at once does not even ask.
  lib_.clock.Set(Instant(std::chrono::sys_days(std::chrono::year(2026) / 12 / 3)) + hours(4));
  std::optional<int64_t> next = jobs.RunDue().retention_run;
  ASSERT_TRUE(next.has_value());
  EXPECT_GT(*next, *run);
}

TEST_F(JobsTest, TheThreadFollowsTheFakeClockAndStopSignsAFinalHead) {
  Jobs jobs(&lib(), options_);
  Record(2);
  int64_t before = LatestHeadSize();
  jobs.Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(LatestHeadSize(), before) << "no head before the clock moves a minute";
  lib_.clock.Advance(seconds(60));
  for (int i = 0; i < 400 && LatestHeadSize() != AuditSize(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(LatestHeadSize(), AuditSize());
  Record(1);
  jobs.Stop();
  EXPECT_EQ(LatestHeadSize(), AuditSize()) << "the final head covers everything";
  jobs.Stop();  // again: nothing more
}

}  // namespace
}  // namespace carrel
