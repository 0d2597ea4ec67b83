#include "import/marc.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/support/marc_writer.h"
#include "tests/support/temp_dir.h"

namespace carrel {
namespace {

using testing::Iso2709;
using testing::MarcField;
using testing::MarcXml;

std::vector<MarcField> WarAndPeace() {
  return {{"001", "12345", {}},
          {"100", "", {{'a', "Tolstoy, Leo,"}, {'d', "1828-1910."}}},
          {"245", "", {{'a', "War and peace /"}, {'c', "Leo Tolstoy."}}},
          {"952", "", {{'p', "31000000001"}, {'o', "FIC TOL"}, {'y', "BK"}, {'a', "CPL"}}},
          {"952", "", {{'p', "31000000002"}, {'y', "BK"}, {'1', "1"}}}};
}

class MarcReaderTest : public ::testing::Test {
 protected:
  std::filesystem::path Write(const std::string& name, const std::string& bytes) {
    std::filesystem::path p = dir_ / name;
    std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
    return p;
  }
  StatusOr<std::vector<MarcRecord>> ReadAll(const std::filesystem::path& p) {
    CARREL_ASSIGN_OR_RETURN(auto reader, MarcReader::Open(p));
    std::vector<MarcRecord> out;
    MarcRecord r;
    for (;;) {
      CARREL_ASSIGN_OR_RETURN(bool more, reader->Next(&r));
      if (!more) return out;
      out.push_back(r);
    }
  }
  testing::TempDir dir_;
};

void ExpectWarAndPeace(const MarcRecord& r) {
  EXPECT_EQ(r.title, "War and peace");
  EXPECT_EQ(r.author, "Tolstoy, Leo");
  ASSERT_EQ(r.items.size(), 2u);
  EXPECT_EQ(r.items[0].at('p'), "31000000001");
  EXPECT_EQ(r.items[0].at('o'), "FIC TOL");
  EXPECT_EQ(r.items[0].at('y'), "BK");
  EXPECT_EQ(r.items[1].at('1'), "1");
}

TEST_F(MarcReaderTest, Iso2709AndMarcXmlGiveTheSameRecords) {
  std::vector<MarcField> second = {
      {"110", "", {{'a', "Westport Historical Society."}}},
      {"245", "", {{'a', "Café society :"}, {'b', "a history of Westport /"}}},
      {"952", "", {{'p', "31000000003"}, {'y', "DVD"}}}};
  auto iso = ReadAll(Write("items.mrc", Iso2709(WarAndPeace()) + Iso2709(second)));
  ASSERT_TRUE(iso.ok()) << iso.status().ToString();
  auto xml = ReadAll(Write("items.xml", MarcXml({WarAndPeace(), second})));
  ASSERT_TRUE(xml.ok()) << xml.status().ToString();
  for (const auto* records : {&*iso, &*xml}) {
    ASSERT_EQ(records->size(), 2u);
    ExpectWarAndPeace((*records)[0]);
    EXPECT_EQ((*records)[1].title, "Café society: a history of Westport");
    EXPECT_EQ((*records)[1].author, "Westport Historical Society.");
  }
}

TEST_F(MarcReaderTest, Marc8RecordsAreConvertedToUtf8) {
  // MARC-8 writes a combining acute accent (0xE2) before its letter.
  std::vector<MarcField> record = {{"245",
                                    "",
                                    {{'a',
                                      "Caf\xE2"
                                      "e society"}}},
                                   {"952", "", {{'p', "1"}, {'y', "BK"}}}};
  auto read = ReadAll(Write("marc8.mrc", Iso2709(record, /*marc8=*/true)));
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_EQ(read->size(), 1u);
  // e followed by a combining acute accent (U+0301).
  EXPECT_EQ((*read)[0].title, "Cafe\xCC\x81 society");
}

TEST_F(MarcReaderTest, WhatIsNotMarcIsRefusedNamingTheRecord) {
  auto csv = MarcReader::Open(Write("patrons.csv", "cardnumber,surname\n1,Ng\n"));
  ASSERT_FALSE(csv.ok());
  EXPECT_EQ(csv.status().message(), "patrons.csv is neither MARC 21 (ISO 2709) nor MARCXML");

  std::string good = Iso2709(WarAndPeace());
  auto cut = ReadAll(Write("cut.mrc", good + good.substr(0, good.size() / 2)));
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.status().message(), "record 2 is cut short: the file ends inside it");

  std::string wrong_length = good;
  wrong_length.replace(0, 5, "00030");
  auto bad = ReadAll(Write("bad.mrc", wrong_length));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("record 1"), std::string::npos);

  auto digits = ReadAll(Write("digits.mrc", "12a45 not a record"));
  ASSERT_FALSE(digits.ok());
  EXPECT_NE(digits.status().message().find("record 1 does not begin with"), std::string::npos);

  auto xml = ReadAll(Write("broken.xml", MarcXml({WarAndPeace()}).substr(0, 300)));
  ASSERT_FALSE(xml.ok());
  EXPECT_NE(xml.status().message().find("not well formed"), std::string::npos)
      << xml.status().ToString();
  // An external entity is never fetched or read.
  auto entity = ReadAll(Write("entity.xml",
                              "<?xml version=\"1.0\"?>\n<!DOCTYPE c [<!ENTITY x SYSTEM "
                              "\"file:///etc/hostname\">]>\n<collection><record><datafield "
                              "tag=\"245\" ind1=\" \" ind2=\" \"><subfield code=\"a\">&x;"
                              "</subfield></datafield></record></collection>\n"));
  if (entity.ok()) {
    for (const MarcRecord& r : *entity) EXPECT_EQ(r.title, "");
  }
}

}  // namespace
}  // namespace carrel
