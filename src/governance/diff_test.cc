// The line diff the Board reads amendments through, on its own.

#include <gtest/gtest.h>

#include <string>

#include "carrel/governance.h"

namespace carrel {
namespace {

std::string Render(const std::vector<DiffLine>& lines) {
  std::string out;
  for (const DiffLine& l : lines) out += std::string(1, l.op) + l.text + "\n";
  return out;
}

TEST(PolicyDiffTest, KeepsWhatStaysAndMarksWhatChanged) {
  auto lines = DiffLines("one\ntwo\nthree\n", "one\n2\nthree\nfour\n");
  std::string shown = Render(lines);
  EXPECT_EQ(shown.find(" one\n"), 0u) << shown;
  EXPECT_NE(shown.find("-two\n"), std::string::npos) << shown;
  EXPECT_NE(shown.find("+2\n"), std::string::npos) << shown;
  EXPECT_NE(shown.find(" three\n+four\n"), std::string::npos) << shown;
  EXPECT_EQ(lines.size(), 5u) << "the longest common part kept, nothing else";
}

TEST(PolicyDiffTest, ApplyingTheDiffGivesBothTexts) {
  std::string before = "a\nb\nc\nd\ne\n", after = "b\nc\nx\ne\nf\n";
  std::string old_side, new_side;
  for (const DiffLine& l : DiffLines(before, after)) {
    if (l.op != '+') old_side += l.text + "\n";
    if (l.op != '-') new_side += l.text + "\n";
  }
  EXPECT_EQ(old_side, before);
  EXPECT_EQ(new_side, after);
  EXPECT_TRUE(DiffLines("", "").empty());
}

}  // namespace
}  // namespace carrel
