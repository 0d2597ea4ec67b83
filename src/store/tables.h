// Helpers the engines share.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "carrel/store.h"

namespace carrel {

// Orders `tables` so that each comes after the tables it references (`references[name]`);
// a cycle is broken in name order.
std::vector<TableInfo> OrderByReferences(
    std::vector<TableInfo> tables, const std::map<std::string, std::set<std::string>>& references);

}  // namespace carrel
