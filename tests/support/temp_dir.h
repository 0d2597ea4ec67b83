#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "carrel/clock.h"
#include "carrel/library.h"

namespace carrel::testing {

// The actor of test operations: a member of the front-desk staff.
inline const Actor kStaff{"user/1", "staff"};

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// The Westport demo profile shipped in the repository.
std::filesystem::path WestportProfile();

// 2026-12-01 15:00 UTC: a Tuesday, 10:00 in Westport, the library open.
Instant DefaultTestTime();

// A new library in its own temp dir on the Westport profile, driven by a fake clock.
struct TestLibrary {
  TempDir dir;
  FakeClock clock{DefaultTestTime()};
  std::unique_ptr<Library> library;

  TestLibrary();
  Circulation& circulation() { return library->circulation(); }
};

}  // namespace carrel::testing
