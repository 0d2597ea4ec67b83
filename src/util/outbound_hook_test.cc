#include "carrel/outbound_hook.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "tests/support/temp_dir.h"

namespace carrel {
namespace {

std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// What a hook sees: PATH and its argument, no secret of the server's environment, and no
// descriptor but its own three (all /dev/null).
TEST(OutboundHookTest, AHookGetsItsArgumentAndNothingElse) {
  testing::TempDir dir;
  setenv("CARREL_MASTER_KEY", "c2VjcmV0LWtleS1zaG91bGQtbm90LWxlYWs=", 1);
  setenv("CARREL_TEST_SECRET", "not for hooks", 1);
  // A descriptor open in the server without close-on-exec, as a library might leave one.
  int opened = open((dir / "leaked").c_str(), O_CREAT | O_WRONLY, 0600);
  int leaked = fcntl(opened, F_DUPFD, 20);  // well above anything ls opens itself
  close(opened);
  ASSERT_GE(leaked, 20);
  std::string out = (dir / "seen").string();
  int status = RunOutboundHookAndWait(
      {"/bin/sh", "-c",
       "env > \"$1.env\"; ls /proc/self/fd > \"$1.fds\"; echo \"$1\" > \"$1.arg\"; "
       "readlink /proc/self/fd/0 > \"$1.stdin\"; echo noise; echo noise >&2",
       "hook"},
      out);
  unsetenv("CARREL_MASTER_KEY");
  unsetenv("CARREL_TEST_SECRET");
  close(leaked);
  ASSERT_EQ(status, 0);
  EXPECT_EQ(Slurp(out + ".arg"), out + "\n");
  std::string env = Slurp(out + ".env");
  EXPECT_NE(env.find("PATH=/usr/local/bin:/usr/bin:/bin\n"), std::string::npos) << env;
  EXPECT_EQ(env.find("CARREL_MASTER_KEY"), std::string::npos) << env;
  EXPECT_EQ(env.find("c2VjcmV0"), std::string::npos);
  EXPECT_EQ(env.find("CARREL_TEST_SECRET"), std::string::npos);
  EXPECT_EQ(env.find("HOME="), std::string::npos);
  // Only what the shell itself sets besides PATH.
  std::istringstream lines(env);
  for (std::string line; std::getline(lines, line);) {
    std::string name = line.substr(0, line.find('='));
    EXPECT_TRUE(name == "PATH" || name == "PWD" || name == "SHLVL" || name == "_" ||
                name == "OLDPWD")
        << line;
  }
  // ls's own descriptors: 0, 1 (the redirect), 2 and the directory it reads. Nothing else.
  std::set<std::string> fds;
  std::istringstream fd_lines(Slurp(out + ".fds"));
  for (std::string fd; fd_lines >> fd;) fds.insert(fd);
  EXPECT_EQ(fds, (std::set<std::string>{"0", "1", "2", "3"}));
  EXPECT_EQ(fds.count(std::to_string(leaked)), 0u);
  EXPECT_EQ(Slurp(out + ".stdin"), "/dev/null\n");
}

// What must reach a hook but not the process list (a PIN reset code and where it goes) comes
// on its standard input; the arguments stay what they were, and nothing else leaks in.
TEST(OutboundHookTest, InputGoesOnStandardInputNotTheArguments) {
  testing::TempDir dir;
  std::string out = (dir / "seen").string();
  std::string input = R"({"code":"ABCD-EFGH","email":"reader@example.org"})";
  int status = RunOutboundHookWithInput(
      {"/bin/sh", "-c", "cat > \"$1.in\"; echo \"$*\" > \"$1.args\"; ls /proc/self/fd > \"$1.fds\"",
       "hook"},
      out, input);
  ASSERT_EQ(status, 0);
  EXPECT_EQ(Slurp(out + ".in"), input);
  EXPECT_EQ(Slurp(out + ".args").find("ABCD"), std::string::npos);
  // 0, 1, 2 and the descriptor ls opens to read the directory: no pipe end left over.
  std::istringstream fds(Slurp(out + ".fds"));
  int count = 0;
  for (std::string fd; std::getline(fds, fd);) ++count;
  EXPECT_LE(count, 4);
}

TEST(OutboundHookTest, AMissingCommandIsReportedNotFatal) {
  EXPECT_EQ(RunOutboundHookAndWait({"/nonexistent/hook"}, "x"), -1);
  EXPECT_EQ(RunOutboundHookAndWait({}, "x"), -1);
  EXPECT_EQ(RunOutboundHookAndWait({"/bin/sh", "-c", "exit 3"}, "x"), 3);
}

}  // namespace
}  // namespace carrel
