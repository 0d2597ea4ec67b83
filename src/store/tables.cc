#include "store/tables.h"

#include <algorithm>
#include <functional>

namespace carrel {

std::vector<TableInfo> OrderByReferences(
    std::vector<TableInfo> tables, const std::map<std::string, std::set<std::string>>& references) {
  std::sort(tables.begin(), tables.end(),
            [](const TableInfo& a, const TableInfo& b) { return a.name < b.name; });
  std::map<std::string, const TableInfo*> by_name;
  for (const TableInfo& t : tables) by_name[t.name] = &t;
  std::vector<TableInfo> out;
  std::set<std::string> placed, visiting;
  std::function<void(const TableInfo&)> place = [&](const TableInfo& t) {
    if (placed.count(t.name) > 0 || !visiting.insert(t.name).second) return;
    auto refs = references.find(t.name);
    if (refs != references.end()) {
      for (const std::string& r : refs->second) {
        auto it = by_name.find(r);
        if (it != by_name.end() && r != t.name) place(*it->second);
      }
    }
    placed.insert(t.name);
    out.push_back(t);
  };
  for (const TableInfo& t : tables) place(t);
  return out;
}

}  // namespace carrel
