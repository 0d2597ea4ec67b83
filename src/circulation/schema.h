#pragma once

#include <vector>

#include "carrel/store.h"

namespace carrel {

// This module's part of the library database (docs/design.md §10): Patrons, items, loans, the loan
// history, holds, fines, computer sessions and eNews subscriptions. Its tables are its own; other
// modules reach their data through its C++ interface. Versions are the library's, one sequence for
// all modules (src/library/schema.cc joins them).
const std::vector<Migration>& CirculationMigrations();

}  // namespace carrel
