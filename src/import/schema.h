#pragma once

#include <vector>

#include "carrel/store.h"

namespace carrel {

// This module's part of the library database (docs/design.md §10): how far each import has come,
// so that one stopped part way continues where it stopped. Versions are the library's, one
// sequence for all modules (src/library/schema.cc joins them).
const std::vector<Migration>& ImportMigrations();

}  // namespace carrel
