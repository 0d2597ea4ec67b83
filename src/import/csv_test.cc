#include "import/csv.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/support/temp_dir.h"

namespace carrel {
namespace {

class CsvReaderTest : public ::testing::Test {
 protected:
  std::filesystem::path Write(const std::string& bytes) {
    std::filesystem::path p = dir_ / "file.csv";
    std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
    return p;
  }
  // Every record with the line it began on, or the error.
  StatusOr<std::vector<std::pair<int64_t, std::vector<std::string>>>> ReadAll(
      const std::string& bytes, TextEncoding encoding = TextEncoding::kUtf8) {
    CARREL_ASSIGN_OR_RETURN(auto csv, CsvReader::Open(Write(bytes), encoding));
    std::vector<std::pair<int64_t, std::vector<std::string>>> out;
    std::vector<std::string> fields;
    for (;;) {
      CARREL_ASSIGN_OR_RETURN(bool more, csv->Next(&fields));
      if (!more) return out;
      out.emplace_back(csv->line(), fields);
    }
  }
  testing::TempDir dir_;
};

using Rows = std::vector<std::pair<int64_t, std::vector<std::string>>>;

TEST_F(CsvReaderTest, QuotedFieldsCommasQuotesAndLineBreaksAndTheLinesRecordsBeginOn) {
  auto rows = ReadAll(
      "a,b,c\r\n"
      "\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\n"
      "\n"
      ",,\n"
      "last,\"\",end");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(*rows, (Rows{{1, {"a", "b", "c"}},
                         {2, {"x, y", "say \"hi\"", "two\nlines"}},
                         {5, {"", "", ""}},
                         {6, {"last", "", "end"}}}));
}

TEST_F(CsvReaderTest, AByteOrderMarkIsNotPartOfTheFirstColumn) {
  auto rows = ReadAll(
      "\xEF\xBB\xBF"
      "cardnumber,surname\n1,Ng\n");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0].second[0], "cardnumber");
  auto tiny = ReadAll("a");
  ASSERT_TRUE(tiny.ok());
  EXPECT_EQ(*tiny, (Rows{{1, {"a"}}}));
  auto empty = ReadAll("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST_F(CsvReaderTest, Latin1IsConvertedAndUtf8IsChecked) {
  std::string latin1 =
      "name\nJos\xE9 Nu\xF1"
      "ez\n";
  auto refused = ReadAll(latin1);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("line 2 is not UTF-8"), std::string::npos)
      << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("--encoding latin-1"), std::string::npos);
  EXPECT_EQ(refused.status().message().find("Jos"), std::string::npos);  // no content quoted
  auto rows = ReadAll(latin1, TextEncoding::kLatin1);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[1].second[0],
            "Jos\xC3\xA9 Nu\xC3\xB1"
            "ez");
  // Well-formed UTF-8 of every length passes; overlong forms and surrogates do not.
  EXPECT_TRUE(ReadAll("\xC3\xA9,\xE2\x82\xAC,\xF0\x9F\x93\x9A\n").ok());
  EXPECT_FALSE(ReadAll("\xC0\xAF\n").ok());
  EXPECT_FALSE(ReadAll("\xED\xA0\x80\n").ok());
  EXPECT_FALSE(ReadAll("ok,\xE2\x82\n").ok());
}

TEST_F(CsvReaderTest, WhatIsNotCsvTextIsRefusedNamingTheLine) {
  auto binary = ReadAll(std::string("a,b\nc,\0d\n", 9));
  ASSERT_FALSE(binary.ok());
  EXPECT_EQ(binary.status().message(), "file.csv holds NUL bytes: it is not a CSV text file");
  // One past the first megabyte is refused by its line.
  std::string late(1 << 20, 'x');
  late = "a\n" + late + "\n" + std::string("b\0\n", 3);
  auto late_nul = ReadAll(late);
  ASSERT_FALSE(late_nul.ok());
  EXPECT_NE(late_nul.status().message().find("line 3 holds a NUL byte"), std::string::npos)
      << late_nul.status().ToString();
  auto open_quote = ReadAll("a\n\"never closed,\nb\n");
  ASSERT_FALSE(open_quote.ok());
  EXPECT_NE(open_quote.status().message().find("line 2 opens a quoted field"), std::string::npos);
  auto stray = ReadAll("a\nb\"c\n");
  ASSERT_FALSE(stray.ok());
  EXPECT_NE(stray.status().message().find("line 2 has a quote inside"), std::string::npos);
  auto missing = CsvReader::Open(dir_ / "absent.csv", TextEncoding::kUtf8);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("absent.csv"), std::string::npos);
  auto directory = CsvReader::Open(dir_.path(), TextEncoding::kUtf8);
  EXPECT_FALSE(directory.ok());
}

}  // namespace
}  // namespace carrel
