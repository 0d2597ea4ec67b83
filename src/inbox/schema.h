#pragma once

#include <vector>

#include "carrel/store.h"

namespace carrel {

// This module's part of the library database (docs/design.md §10): staff inboxes. Versions are
// the library's, one sequence for all modules (src/library/schema.cc joins them).
const std::vector<Migration>& InboxMigrations();

}  // namespace carrel
