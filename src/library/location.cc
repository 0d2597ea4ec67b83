#include "library/location.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>

#include "carrel/library.h"

namespace carrel {

namespace fs = std::filesystem;

fs::path DatabaseConfigPath(const fs::path& dir) { return dir / "database.conf"; }

namespace {

std::string Trim(std::string s) {
  size_t a = s.find_first_not_of(" \t\r");
  if (a == std::string::npos) return "";
  size_t b = s.find_last_not_of(" \t\r");
  return s.substr(a, b - a + 1);
}

Status CheckConninfo(const std::string& conninfo, const std::string& which) {
  if (!IsPostgresConninfo(conninfo)) {
    return InvalidArgument(which + " is not a PostgreSQL connection string (postgresql://...)");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<StoreLocation> ReadStoreLocation(const fs::path& dir) {
  fs::path file = DatabaseConfigPath(dir);
  std::error_code ec;
  if (!fs::exists(file, ec)) return StoreLocation{};
  std::ifstream in(file);
  if (!in) return FailedPrecondition("cannot read " + file.string());
  StoreLocation where;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    line = Trim(line);
    if (line.empty() || line[0] == '#') continue;
    size_t eq = line.find('=');
    std::string key = eq == std::string::npos ? "" : Trim(line.substr(0, eq));
    std::string value = eq == std::string::npos ? "" : Trim(line.substr(eq + 1));
    if (key == "data") {
      where.data = value;
    } else if (key == "keys") {
      where.keys = value;
    } else if (key == "runtime_user") {
      where.runtime_user = value;
    } else {
      return InvalidArgument(file.string() + ":" + std::to_string(number) +
                             ": expected 'data = ...' or 'keys = ...'");
    }
  }
  if (where.data.empty() || where.keys.empty()) {
    return InvalidArgument(file.string() + " must name both the data and the keys database");
  }
  return where;
}

Status WriteStoreLocation(const fs::path& dir, const StoreLocation& where) {
  CARREL_RETURN_IF_ERROR(CheckConninfo(where.data, "--database"));
  CARREL_RETURN_IF_ERROR(CheckConninfo(where.keys, "--keys-database"));
  if (where.data == where.keys) {
    return InvalidArgument(
        "the keyring needs a database of its own (--keys-database), so that "
        "a dump of the records holds no keys");
  }
  std::string text =
      "# Where this library's records and keys are (carrel init --database). No passwords\n"
      "# here: libpq reads them from the passfile (PGPASSFILE or ~/.pgpass).\n"
      "data = " +
      where.data + "\nkeys = " + where.keys + "\n";
  fs::path file = DatabaseConfigPath(dir);
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return FailedPrecondition("cannot create " + file.string());
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return Unavailable("cannot write " + file.string());
  return Status::Ok();
}

StatusOr<std::unique_ptr<Store>> OpenRecordStore(const fs::path& dir, const StoreLocation& where,
                                                 bool create, bool as_owner) {
  if (!where.postgres()) {
    SqliteOptions options;
    options.create_if_missing = create;
    return OpenSqliteStore(Library::DatabasePath(dir), options);
  }
  PostgresOptions options;
  options.conninfo = where.data;
  if (!as_owner) options.user = where.runtime_user;
  return OpenPostgresStore(options);
}

StatusOr<std::unique_ptr<Store>> OpenKeyStore(const StoreLocation& where) {
  PostgresOptions options;
  options.conninfo = where.keys;
  options.scrub_deleted = true;
  options.max_connections = 8;
  return OpenPostgresStore(options);
}

}  // namespace carrel
