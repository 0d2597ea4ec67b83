// A witness outside the server against the insider who holds everything: the data directory,
// the keyring and the master key, so that every head they make is signed with the real key.
// Putting an old copy back (a rollback) and growing a different history from it (a fork) are
// both caught by `carrel audit witness`, which trusts only the key it was given and the heads
// it kept.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/postgres.h"
#include "tests/support/run.h"
#include "tests/support/temp_dir.h"

namespace carrel {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using testing::RunCarrel;
using testing::RunCarrelWithInput;

std::string Slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The size a signed head covers: the note's second line.
int64_t HeadSize(const std::string& note) {
  size_t first = note.find('\n');
  if (first == std::string::npos) return -1;
  return std::stoll(note.substr(first + 1, note.find('\n', first + 1) - first - 1));
}

class AuditWitnessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = (dir_ / "library").string();
    CommandResult init = RunCarrel({"init", "--data", data_});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    // The verifier key, as `carrel init` printed it for the trustees to keep.
    const std::string label = "carrel: audit log key: ";
    size_t at = init.out.find(label);
    ASSERT_NE(at, std::string::npos) << init.out;
    vkey_ = init.out.substr(at + label.size(), init.out.find('\n', at) - at - label.size());
  }

  // An operator's action on the library's files (each is on the log), then a signed head.
  int64_t ActAndSign(const std::string& username, const std::string& role = "staff") {
    CommandResult add = RunCarrelWithInput(
        {"user", "add", "--data", data_, "--role", role, "--username", username},
        "a long enough password\n");
    EXPECT_EQ(add.exit_code, 0) << add.err;
    CommandResult head = RunCarrel({"audit", "head", "--data", data_});
    EXPECT_EQ(head.exit_code, 0) << head.err;
    return HeadSize(head.out);
  }

  // `carrel audit witness` against a server on the library as it is now.
  CommandResult Witness() {
    testing::ServeProcess serve(data_);
    EXPECT_TRUE(serve.started());
    return RunCarrel({"audit", "witness", "--url",
                      "http://127.0.0.1:" + std::to_string(serve.port()), "--key", vkey_,
                      "--store", (dir_ / "witness").string()});
  }

  testing::TempDir dir_;
  std::string data_, vkey_;
};

TEST_F(AuditWitnessTest, ARollbackAndAForkMadeWithTheRealKeysAreCaught) {
  CARREL_SQLITE_FILES_ONLY();
  int64_t first = ActAndSign("clerk1");
  ASSERT_GT(first, 0);
  // The insider's copy of everything, as it is now.
  fs::copy(data_, dir_ / "old-copy", fs::copy_options::recursive);

  int64_t second = ActAndSign("clerk2");
  ASSERT_GT(second, first);
  CommandResult r = Witness();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("witnessed size " + std::to_string(second)), std::string::npos) << r.out;
  int64_t third = ActAndSign("clerk3");
  r = Witness();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("consistent with the head kept at size " + std::to_string(second)),
            std::string::npos)
      << r.out;
  std::string kept = Slurp(dir_ / "witness" / "latest");
  ASSERT_EQ(HeadSize(kept), third);

  // Rollback: the old copy put back, keys and all. Its heads verify with the real key, and
  // the witness still refuses them.
  fs::remove_all(data_);
  fs::copy(dir_ / "old-copy", data_, fs::copy_options::recursive);
  r = Witness();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "carrel: rollback: the log's signed head went back from size " +
                       std::to_string(third) + " to " + std::to_string(first) + "\n");

  // Fork: a different history grown from the old copy past the size kept, signed for real.
  int64_t forked = first;
  // (Counsel accounts: entries that differ from the real ones whatever the clock says.)
  for (int i = 0; forked <= third && i < 20; ++i) {
    forked = ActAndSign("forger" + std::to_string(i), "counsel");
  }
  ASSERT_GT(forked, third);
  r = Witness();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "carrel: fork: the log signed at size " + std::to_string(forked) +
                       " does not extend the one kept at size " + std::to_string(third) + "\n");

  // The witness kept nothing it refused.
  EXPECT_EQ(Slurp(dir_ / "witness" / "latest"), kept);

  // A key that is not the log's: the checkpoint is refused, whatever it says.
  CommandResult other = RunCarrel({"init", "--data", (dir_ / "other").string()});
  size_t at = other.out.find("carrel: audit log key: ");
  ASSERT_NE(at, std::string::npos);
  vkey_ = other.out.substr(at + 23, other.out.find('\n', at) - at - 23);
  r = Witness();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not signed by the log's key"), std::string::npos) << r.err;
}

TEST_F(AuditWitnessTest, BadInputIsOneLine) {
  CommandResult r = RunCarrel({"audit", "witness", "--url", "http://127.0.0.1:1", "--key", vkey_,
                               "--store", (dir_ / "w").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "carrel: cannot reach the server at http://127.0.0.1:1\n");
  r = RunCarrel({"audit", "witness", "--url", "http://127.0.0.1:1", "--key", "not a key",
                 "--store", (dir_ / "w").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

// The server hands each new signed head to the profile's witness command (the checkpoint note
// as its last argument, nothing else), including the final one when it stops.
TEST(AuditWitnessCommandTest, TheServerHandsItsHeadsToTheWitnessCommand) {
  testing::TempDir dir;
  fs::path profile_dir = dir / "profile";
  fs::copy(fs::path(CARREL_SOURCE_DIR) / "profiles" / "westport", profile_dir,
           fs::copy_options::recursive);
  fs::path kept = dir / "kept-head.txt";
  {
    std::ofstream out(profile_dir / "library.toml", std::ios::app);
    out << "\n[audit]\nwitness_command = [\"/bin/sh\", \"-c\", \"printf '%s' \\\"$1\\\" > "
        << kept.string() << "\", \"witness\"]\n";
  }
  std::string data = (dir / "lib").string();
  CommandResult init =
      RunCarrel({"init", "--data", data, "--profile", (profile_dir / "library.toml").string()});
  ASSERT_EQ(init.exit_code, 0) << init.err << init.out;
  {
    testing::ServeProcess serve(data);
    ASSERT_TRUE(serve.started());
    EXPECT_EQ(serve.Stop(), 0);
  }
  std::ifstream in(kept);
  std::string note((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(note.empty()) << "the witness command was not run";
  EXPECT_EQ(note.rfind("carrel/", 0), 0u) << note;
  // What it kept is the log's own signed head, as the server signed it last.
  CommandResult head = RunCarrel({"audit", "head", "--data", data});
  ASSERT_EQ(head.exit_code, 0) << head.err;
  EXPECT_GT(HeadSize(note), 0);
  EXPECT_GE(HeadSize(head.out), HeadSize(note));
  EXPECT_EQ(note.substr(0, note.find('\n')), head.out.substr(0, head.out.find('\n')))
      << "the same log origin";
}

}  // namespace
}  // namespace carrel
