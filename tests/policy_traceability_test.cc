// The maps from the policy to the code hold: every test docs/policy-traceability.md names
// exists, every row names one, and every column the schema creates is in
// docs/data-inventory.md (policy §3: only necessary records, each with its purpose).

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "carrel/library.h"
#include "tests/support/temp_dir.h"

namespace carrel {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Every "Suite.Name" defined by TEST, TEST_F or TEST_P in the project's test sources.
std::set<std::string> DefinedTests() {
  std::set<std::string> out;
  std::regex test(R"(TEST(?:_F|_P)?\(\s*(\w+)\s*,\s*(\w+)\s*\))");
  for (const char* dir : {"src", "tests"}) {
    for (const auto& entry : fs::recursive_directory_iterator(fs::path(CARREL_SOURCE_DIR) / dir)) {
      if (!entry.is_regular_file() || entry.path().extension() != ".cc") continue;
      std::string text = ReadFile(entry.path());
      for (std::sregex_iterator it(text.begin(), text.end(), test), end; it != end; ++it) {
        out.insert((*it)[1].str() + "." + (*it)[2].str());
      }
    }
  }
  return out;
}

TEST(PolicyTraceabilityTest, EveryTestTheMapNamesExistsAndEveryRowNamesOne) {
  std::string map = ReadFile(fs::path(CARREL_SOURCE_DIR) / "docs" / "policy-traceability.md");
  ASSERT_FALSE(map.empty());
  std::set<std::string> defined = DefinedTests();
  ASSERT_GT(defined.size(), 100u);
  std::regex name(R"(`([A-Z]\w*Test)\.(\w+)`)");
  std::set<std::string> refs;  // the "ref" column of every row
  int rows = 0;
  std::istringstream lines(map);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("| ", 0) != 0 || line.rfind("| ref ", 0) == 0) continue;
    ++rows;
    refs.insert(line.substr(2, line.find(" |", 2) - 2));
    int named = 0;
    for (std::sregex_iterator it(line.begin(), line.end(), name), end; it != end; ++it) {
      std::string test = (*it)[1].str() + "." + (*it)[2].str();
      EXPECT_TRUE(defined.count(test)) << "docs/policy-traceability.md names " << test
                                       << ", which no test source defines";
      ++named;
    }
    EXPECT_GT(named, 0) << "a row names no test: " << line.substr(0, 120);
  }
  EXPECT_GE(rows, 20);
  // Every section of the policy, its history, the hours and the statute are mapped.
  for (const char* ref : {"§1", "§2", "§3", "§4", "§5", "§6", "history", "hours", "statute"}) {
    EXPECT_TRUE(refs.count(ref)) << ref;
  }
}

TEST(DataInventoryTest, EveryColumnOfTheSchemaIsListedHere) {
  std::string inventory = ReadFile(fs::path(CARREL_SOURCE_DIR) / "docs" / "data-inventory.md");
  ASSERT_FALSE(inventory.empty());
  // Sections: a "## " heading naming its tables, and the text up to the next heading.
  std::vector<std::pair<std::string, std::string>> sections;
  std::istringstream lines(inventory);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("## ", 0) == 0) {
      sections.emplace_back(line.substr(0, line.find(" — ")), "");  // the tables it names
    } else if (!sections.empty()) {
      sections.back().second += line + "\n";
    }
  }
  auto word = [](const std::string& w) { return std::regex("(^|[^A-Za-z0-9_])" + w + "([^A-Za-z0-9_]|$)"); };
  testing::TestLibrary lib;
  std::map<std::string, std::vector<std::string>> columns;
  auto tables = lib.library->store().Tables();
  ASSERT_TRUE(tables.ok()) << tables.status().ToString();
  for (const TableInfo& t : *tables) columns[t.name] = t.columns;
  ASSERT_GT(columns.size(), 30u);
  for (const auto& [table, cols] : columns) {
    const std::string* body = nullptr;
    for (const auto& [heading, text] : sections) {
      if (std::regex_search(heading, word(table))) body = &text;
    }
    if (body == nullptr) {
      ADD_FAILURE() << "table " << table << " has no section in docs/data-inventory.md";
      continue;
    }
    for (const std::string& c : cols) {
      EXPECT_TRUE(std::regex_search(*body, word(c)))
          << table << "." << c << " is stored but not in docs/data-inventory.md";
    }
  }
}

}  // namespace
}  // namespace carrel
