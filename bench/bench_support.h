// Helpers shared by carrel's benchmark programs (carrel_bench and carrel_scale_bench).

#pragma once

#include <cstdint>
#include <filesystem>

#include "carrel/status.h"

namespace carrel::bench {

// The positive whole number in the environment variable `name`, or `fallback` when it is unset
// or empty. kInvalidArgument for anything else.
StatusOr<int64_t> EnvSize(const char* name, int64_t fallback);

// The process's scratch directory, carrel-bench-XXXXXX under $TMPDIR (default /tmp), made on
// first use and removed with everything in it when the process exits.
StatusOr<std::filesystem::path> ScratchDir();

}  // namespace carrel::bench
