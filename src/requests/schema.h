#pragma once

#include <vector>

#include "carrel/store.h"

namespace carrel {

// This module's part of the library database (docs/design.md §10): Cases and their events,
// documents, advice, decisions and disclosures; appointments, absences, permissions, the inbox and
// patron notices. Its tables are its own; other modules reach their data through its C++ interface.
// Versions are the library's, one sequence for all modules (src/library/schema.cc joins them).
const std::vector<Migration>& RequestsMigrations();

}  // namespace carrel
