#include "tests/support/temp_dir.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

namespace carrel::testing {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "carrel-test-XXXXXX").string();
  char* made = mkdtemp(tmpl.data());
  if (made == nullptr) std::abort();
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::filesystem::path WestportProfile() {
  return std::filesystem::path(CARREL_SOURCE_DIR) / "profiles" / "westport" / "library.toml";
}

Instant DefaultTestTime() {
  return Instant(Date(std::chrono::year(2026) / 12 / 1)) + std::chrono::hours(15);
}

TestDatabases::TestDatabases() {
  if (!LibrariesOnPostgres()) return;
  data = std::make_unique<TestDatabase>();
  keys = std::make_unique<TestDatabase>();
  where.database = data->conninfo();
  where.keys_database = keys->conninfo();
}

TestLibrary::TestLibrary() {
  Status s =
      Library::Init(dir / "lib", WestportProfile(), OperatorActor(), databases.where).status();
  if (!s.ok()) {
    ADD_FAILURE() << s.ToString();
    std::abort();
  }
  auto opened = Library::Open(
      dir / "lib", Library::OpenOptions{.clock = &clock, .outbound = &outbound, .store_layer = {}});
  if (!opened.ok()) {
    ADD_FAILURE() << opened.status().ToString();
    std::abort();
  }
  library = std::move(opened).value();
}

std::unique_ptr<Store> NewScratchStore(const std::filesystem::path& file) {
  SqliteOptions options;
  options.create_if_missing = true;
  auto store = OpenSqliteStore(file, options);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(store).value() : nullptr;
}

}  // namespace carrel::testing
