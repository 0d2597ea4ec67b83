// Copying a store's rows into another of the same schema, on any engines: the portable backup
// of a PostgreSQL library and `carrel migrate-store` (docs/design.md §10).

#include <string>
#include <vector>

#include "carrel/store.h"

namespace carrel {

Status CopyRows(Store& from, Store& to,
                const std::function<void(int64_t done, int64_t total)>& progress) {
  CARREL_ASSIGN_OR_RETURN(std::vector<TableInfo> tables, from.Tables());
  std::erase_if(tables, [](const TableInfo& t) { return t.name == "schema_migrations"; });
  return WithReadTransaction(from, [&](Transaction& source) -> Status {
    int64_t total = 0, done = 0;
    for (const TableInfo& t : tables) {
      CARREL_ASSIGN_OR_RETURN(int64_t n, source.QueryInt("SELECT count(*) FROM " + t.name));
      total += n;
    }
    if (progress) progress(0, total);
    for (const TableInfo& t : tables) {
      std::string columns, marks;
      for (const std::string& c : t.columns) {
        columns += (columns.empty() ? "" : ", ") + c;
        marks += marks.empty() ? "?" : ", ?";
      }
      const std::string insert =
          "INSERT INTO " + t.name + " (" + columns + ") VALUES (" + marks + ")";
      CARREL_RETURN_IF_ERROR(
          to.Write([&](Transaction& target) -> Status {
              std::vector<Value> values(t.columns.size());
              return source.Exec("SELECT " + columns + " FROM " + t.name, {}, [&](const Row& row) {
                for (size_t i = 0; i < values.size(); ++i) values[i] = row.Get(static_cast<int>(i));
                CARREL_RETURN_IF_ERROR(target.Exec(insert, values, nullptr));
                if (progress && (++done % 1000 == 0)) progress(done, total);
                return Status::Ok();
              });
            }).WithContext("copying " + t.name));
    }
    if (progress) progress(total, total);
    return Status::Ok();
  });
}

Status CopyToSqliteFile(Store& from, const std::vector<Migration>& migrations,
                        const std::filesystem::path& out, const SqliteOptions& options,
                        const std::function<void(int64_t done, int64_t total)>& progress) {
  std::error_code ec;
  if (std::filesystem::exists(out, ec)) {
    return AlreadyExists(out.string() + " already exists; carrel will not overwrite it");
  }
  std::filesystem::path partial = out.string() + ".partial";
  auto remove_partial = [&] {
    std::error_code ignored;
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(partial.string() + suffix, ignored);
    }
  };
  remove_partial();
  Status s = [&]() -> Status {
    SqliteOptions create = options;
    create.create_if_missing = true;
    CARREL_ASSIGN_OR_RETURN(std::unique_ptr<Store> copy, OpenSqliteStore(partial, create));
    CARREL_RETURN_IF_ERROR(copy->Migrate(migrations));
    CARREL_RETURN_IF_ERROR(CopyRows(from, *copy, progress));
    // One self-contained file: everything in the WAL moved into it.
    return copy->Checkpoint();
  }();
  if (s.ok()) {
    std::filesystem::rename(partial, out, ec);
    if (ec) s = FailedPrecondition("cannot write " + out.string() + ": " + ec.message());
  }
  remove_partial();
  return s;
}

}  // namespace carrel
