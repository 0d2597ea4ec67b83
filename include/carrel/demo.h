#pragma once

#include <cstdint>

#include "carrel/library.h"
#include "carrel/status.h"

namespace carrel {

struct SeedOptions {
  int64_t patrons = 1000;
  int64_t items = 2000;
  int64_t history_loans = 10000;  // returned loans spread over `years`
  int years = 3;
  uint64_t seed = 1;
  bool progress = true;  // draw progress bars when stderr is a terminal
  // Demo logins (desk, demo-director, counsel, trustee, demo-admin, and the self-check kiosk
  // demo-kiosk) with kDemoPassword, and
  // PIN kDemoPin on the first five patrons' cards, as if each patron had chosen it (so the
  // portal's history and permissions open in the tour). Never on a real library.
  bool demo_accounts = true;
};

inline constexpr char kDemoPassword[] = "westport-demo-2026";
inline constexpr char kDemoPin[] = "246810";

struct SeedReport {
  int64_t patrons = 0;
  int64_t items = 0;
  int64_t history_loans = 0;
  int64_t active_loans = 0;
  int64_t holds = 0;
  int64_t fines = 0;
  int64_t computer_sessions = 0;
  int64_t subscriptions = 0;
  double seconds = 0;
};

// Fills an empty library with a synthetic but realistic population: patrons with invented
// names and addresses, a catalogue, years of returned loans, current loans (some overdue),
// holds, fines, computer sessions and eNews subscriptions. Deterministic for a given seed.
// Refuses a library that already has patrons or items. Never used on real data.
StatusOr<SeedReport> SeedDemoLibrary(Library& library, const SeedOptions& options);

}  // namespace carrel
