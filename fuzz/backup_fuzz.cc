// libFuzzer target: a backup file opened for restore, damaged or altered in any way, through
// Library::Restore (src/library/library.cc): its checks of the file, the staging, the swap and
// the reconciliation after it. The target makes a small library and its data and key backups
// once; each input is an edit of one of those backups (or a whole file of its own), restored
// into a fresh copy of the library. Input: a 4-byte offset (little-endian), a flags byte
// (1: edit the key backup rather than the data backup; 2: cut the file after the edit; 4: the
// rest is the whole file), then the bytes written at that offset. Checks, beyond "no crash,
// no leak, no undefined behaviour":
//  - a refused restore leaves the library exactly as it was, byte for byte;
//  - a restore that is taken leaves a library that opens.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "carrel/library.h"
#include "fuzz/support/fuzz_support.h"

namespace fs = std::filesystem;
using carrel::fuzz::Broken;

namespace {

struct Template {
  fs::path root;                         // this process's directory
  fs::path library;                      // the library as made
  std::string data_backup, keys_backup;  // its backups' bytes
  std::string database, keyring;         // its live files' bytes
};

Template* made = nullptr;

std::string Slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A fresh copy of the small library. libFuzzer's timeout timer (SIGALRM, installed without
// SA_RESTART) can interrupt the copy, and std::filesystem does not try again on EINTR, so this
// does (`carrel serve` takes its signals on one thread with sigwait, so it meets no EINTR).
void CopyLibrary(const fs::path& from, const fs::path& to) {
  for (;;) {
    fs::remove_all(to);
    std::error_code ec;
    fs::copy(from, to, fs::copy_options::recursive, ec);
    if (!ec) return;
    if (ec != std::errc::interrupted) throw fs::filesystem_error("cannot copy", from, to, ec);
  }
}

void Write(const fs::path& file, const std::string& bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << bytes;
  if (!out) Broken("backup", "cannot write a file");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  made = new Template;
  made->root = carrel::fuzz::InputFile("placeholder", "").parent_path();
  made->library = made->root / "template";
  fs::remove_all(made->library);
  auto first = carrel::Library::Init(
      made->library, CARREL_SOURCE_DIR "/profiles/westport/library.toml", carrel::OperatorActor());
  if (!first.ok()) Broken("backup", first.status().message().c_str());
  {
    auto library = carrel::Library::Open(made->library, carrel::SystemClock());
    if (!library.ok()) Broken("backup", library.status().message().c_str());
    if (!(*library)->Backup(made->root / "data.backup").ok() ||
        !(*library)->BackupKeys(made->root / "keys.backup").ok()) {
      Broken("backup", "the template's backups were not made");
    }
  }
  made->data_backup = Slurp(made->root / "data.backup");
  made->keys_backup = Slurp(made->root / "keys.backup");
  made->database = Slurp(carrel::Library::DatabasePath(made->library));
  made->keyring = Slurp(made->library / "keyring.db");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 5) return 0;
  uint32_t offset = uint32_t{data[0]} | uint32_t{data[1]} << 8 | uint32_t{data[2]} << 16 |
                    uint32_t{data[3]} << 24;
  const uint8_t flags = data[4];
  std::string_view edit(reinterpret_cast<const char*>(data + 5), size - 5);
  const bool keys = (flags & 1) != 0;
  std::string file = keys ? made->keys_backup : made->data_backup;
  if ((flags & 4) != 0) {
    file.assign(edit);
  } else {
    offset %= static_cast<uint32_t>(file.size());
    file.replace(offset, std::min(edit.size(), file.size() - offset), edit);
    if ((flags & 2) != 0) file.resize(offset + edit.size());
  }

  fs::path work = made->root / "work";
  CopyLibrary(made->library, work);
  fs::path edited = made->root / (keys ? "keys.edited" : "data.edited");
  Write(edited, file);
  fs::path data_backup = keys ? made->root / "data.backup" : edited;
  fs::path keys_backup = edited;
  auto restored = carrel::Library::Restore(work, data_backup, keys ? &keys_backup : nullptr,
                                           carrel::SystemClock());
  if (!restored.ok()) {
    if (Slurp(carrel::Library::DatabasePath(work)) != made->database ||
        Slurp(work / "keyring.db") != made->keyring) {
      Broken("backup", "a refused restore changed the library");
    }
    return 0;
  }
  if (!carrel::Library::Open(work, carrel::SystemClock()).ok()) {
    Broken("backup", "a restore was taken but the library does not open");
  }
  return 0;
}
