#pragma once

#include <vector>

#include "carrel/store.h"

namespace carrel {

// The library database's schema: every module's migrations (each in its own folder) joined
// into one append-only sequence of versions. Every column is described in
// docs/data-inventory.md (purpose, PII, retention category).
const std::vector<Migration>& LibraryMigrations();

// Written into library_meta at init; a database without it is not a carrel library.
inline constexpr char kLibraryFormat[] = "carrel-library-1";

}  // namespace carrel
