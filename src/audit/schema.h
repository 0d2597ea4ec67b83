#pragma once

#include <vector>

#include "carrel/store.h"

namespace carrel {

// This module's part of the library database (docs/design.md §10): The audit log, its tree nodes
// and signed heads. Its tables are its own; other modules reach their data through its C++
// interface. Versions are the library's, one sequence for all modules (src/library/schema.cc joins
// them).
const std::vector<Migration>& AuditMigrations();

}  // namespace carrel
