// The retention schedule as a document, without a library: what the Director signs reads back
// the same, and a schedule that misses a category, names one twice, or keeps an immediate
// category is refused with a reason.

#include <gtest/gtest.h>

#include "carrel/profile.h"
#include "carrel/retention.h"

namespace carrel {
namespace {

RetentionSchedule EveryCategory(int days) {
  RetentionSchedule s;
  for (const RetentionCategory& c : RetentionCategories()) {
    s.rules.push_back({std::string(c.name), c.immediate ? 0 : days});
  }
  return s;
}

TEST(ScheduleDocumentTest, ASignedDocumentReadsBackTheSame) {
  RetentionSchedule s = EveryCategory(30);
  std::string doc = ScheduleDocument(s);
  auto parsed = ParseSchedule(doc);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(ScheduleDocument(*parsed), doc);
  EXPECT_EQ(parsed->Days("loan_link"), 30);
  EXPECT_EQ(parsed->Days("no_such_category"), -1);
  EXPECT_EQ(doc.find('\n'), std::string::npos) << "canonical: one line";
  EXPECT_EQ(doc.find("\": "), std::string::npos) << "canonical: no space after a key";
}

TEST(ScheduleDocumentTest, IncompleteOrImpossibleSchedulesAreRefused) {
  RetentionSchedule missing = EveryCategory(30);
  missing.rules.pop_back();
  EXPECT_EQ(ParseSchedule(ScheduleDocument(missing)).status().code(), StatusCode::kInvalidArgument);
  // A document naming a category twice (which rule would apply?) is not a schedule.
  std::string doc = ScheduleDocument(EveryCategory(30));
  size_t first_rule = doc.find("{\"category\"");
  size_t end_of_first = doc.find('}', first_rule) + 1;
  std::string twice = doc.substr(0, end_of_first) + "," +
                      doc.substr(first_rule, end_of_first - first_rule) + doc.substr(end_of_first);
  EXPECT_EQ(ParseSchedule(twice).status().code(), StatusCode::kInvalidArgument) << twice;
  RetentionSchedule forever = EveryCategory(36501);
  EXPECT_EQ(ParseSchedule(ScheduleDocument(forever)).status().code(), StatusCode::kInvalidArgument);
  for (const RetentionCategory& c : RetentionCategories()) {
    if (!c.immediate) continue;
    RetentionSchedule kept = EveryCategory(30);
    for (RetentionRule& r : kept.rules) {
      if (r.category == c.name) r.days = 1;
    }
    EXPECT_EQ(ParseSchedule(ScheduleDocument(kept)).status().code(), StatusCode::kInvalidArgument)
        << c.name << " is deleted at its trigger";
  }
  EXPECT_EQ(ParseSchedule("not json").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace carrel
