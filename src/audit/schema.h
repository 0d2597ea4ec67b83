#pragma once

#include <string>
#include <vector>

#include "carrel/store.h"

namespace carrel {

// This module's part of the library database (docs/design.md §10): The audit log, its tree nodes
// and signed heads. Its tables are its own; other modules reach their data through its C++
// interface. Versions are the library's, one sequence for all modules (src/library/schema.cc joins
// them).
const std::vector<Migration>& AuditMigrations();

// The tables nothing may change once written: on PostgreSQL the server's role may only read
// them and add to them (the triggers refuse the rest to the owner too).
const std::vector<std::string>& AuditAppendOnlyTables();

}  // namespace carrel
