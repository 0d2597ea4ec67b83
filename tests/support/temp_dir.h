#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "carrel/clock.h"
#include "carrel/library.h"
#include "tests/support/postgres.h"

namespace carrel::testing {

// The actor of test operations: a member of the front-desk staff.
inline const Actor kStaff{"user/1", "staff"};

// A new SQLite store at `file` (created), for tests of one module's tables on their own; null,
// with a failed expectation, when it does not open.
std::unique_ptr<Store> NewScratchStore(const std::filesystem::path& file);

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

// Keeps what would leave the machine (the Director's alerts, patrons' notices) instead of
// running the profile's commands. Thread-safe: desks take requests in at once in a test.
class RecordingOutbound : public Outbound {
 public:
  void RequestArrived(const std::string& case_reference) override {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(case_reference);
  }
  void PatronNoticeDue(const std::string& notice_reference) override {
    std::lock_guard<std::mutex> lock(mu_);
    notices_.push_back(notice_reference);
  }
  std::vector<std::string> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  std::vector<std::string> notices() const {
    std::lock_guard<std::mutex> lock(mu_);
    return notices_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> requests_, notices_;
};

// Where a test library keeps its records: SQLite files in its directory, or, when the run
// drives libraries on PostgreSQL (LibrariesOnPostgres), two fresh databases on the tests'
// server that live as long as this.
struct TestDatabases {
  TestDatabases();
  Library::InitOptions where;
  std::unique_ptr<TestDatabase> data, keys;
};

// A new library in its own temp dir on the Westport profile, driven by a fake clock, its
// outbound messages recorded.
struct TestLibrary {
  TempDir dir;
  FakeClock clock{DefaultTestTime()};
  RecordingOutbound outbound;
  TestDatabases databases;
  std::unique_ptr<Library> library;

  TestLibrary();
  Circulation& circulation() { return library->circulation(); }
};

}  // namespace carrel::testing
