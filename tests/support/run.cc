#include "tests/support/run.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "tests/support/temp_dir.h"

namespace carrel::testing {
namespace {

std::vector<char*> Argv(const std::vector<std::string>& args, std::vector<std::string>* storage) {
  storage->clear();
  storage->push_back(CARREL_BINARY);
  storage->insert(storage->end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& s : *storage) argv.push_back(s.data());
  argv.push_back(nullptr);
  return argv;
}

std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs the binary with `stdin_fd` as its standard input, and closes `stdin_fd`.
CommandResult Run(const std::vector<std::string>& args, int stdin_fd) {
  TempDir io;
  std::vector<std::string> storage;
  std::vector<char*> argv = Argv(args, &storage);
  std::string out_path = (io / "out").string();
  std::string err_path = (io / "err").string();
  pid_t pid = fork();
  if (pid == 0) {
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(stdin_fd, 0);
    dup2(out, 1);
    dup2(err, 2);
    // A server the tests start checks each answer against the API contract (its breach is
    // logged and answered as a server error, which fails the test that caused it).
    setenv("CARREL_CHECK_CONTRACT", "1", 1);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(stdin_fd);
  CommandResult result;
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = Slurp(out_path);
  result.err = Slurp(err_path);
  return result;
}

// `carrel init` as the test run asks: with two fresh PostgreSQL databases (kept until the
// process ends) when it drives libraries on PostgreSQL.
std::vector<std::string> WithTestDatabases(const std::vector<std::string>& args) {
  if (args.empty() || args[0] != "init" || !LibrariesOnPostgres()) return args;
  for (const std::string& a : args) {
    if (a == "--database") return args;  // the test chose its own
  }
  static auto* kept = new std::vector<std::unique_ptr<TestDatabases>>();
  kept->push_back(std::make_unique<TestDatabases>());
  std::vector<std::string> out = args;
  out.insert(out.end(), {"--database", kept->back()->where.database, "--keys-database",
                         kept->back()->where.keys_database});
  return out;
}

}  // namespace

CommandResult RunCarrel(const std::vector<std::string>& args) {
  int in = open("/dev/null", O_RDONLY);
  if (in < 0) return {};
  return Run(WithTestDatabases(args), in);
}

CommandResult RunCarrelWithInput(const std::vector<std::string>& args, std::string_view input) {
  // The input is small: it fits in the pipe before the child starts, so no write can block.
  int fds[2];
  if (pipe(fds) != 0) return {};
  bool written = write(fds[1], input.data(), input.size()) == static_cast<ssize_t>(input.size());
  close(fds[1]);
  if (!written) {
    close(fds[0]);
    return {};
  }
  return Run(WithTestDatabases(args), fds[0]);
}

ServeProcess::ServeProcess(const std::string& data_dir, const std::vector<std::string>& extra) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return;
  std::vector<std::string> storage;
  std::vector<std::string> args = {"serve", "--data", data_dir, "--listen", "127.0.0.1:0"};
  args.insert(args.end(), extra.begin(), extra.end());
  std::vector<char*> argv = Argv(args, &storage);
  pid_ = fork();
  if (pid_ == 0) {
    close(pipe_fds[0]);
    dup2(pipe_fds[1], 1);
    // A server the tests start checks each answer against the API contract (its breach is
    // logged and answered as a server error, which fails the test that caused it).
    setenv("CARREL_CHECK_CONTRACT", "1", 1);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  out_fd_ = pipe_fds[0];
  // Its "serving ... http://127.0.0.1:PORT/" line.
  std::string serving = NextLineWith("http://127.0.0.1:");
  if (size_t at = serving.find("http://127.0.0.1:"); at != std::string::npos) {
    port_ = std::atoi(serving.c_str() + at + std::strlen("http://127.0.0.1:"));
  }
}

void ServeProcess::Signal(int signal) {
  if (pid_ > 0) kill(pid_, signal);
}

std::string ServeProcess::NextLineWith(std::string_view needle) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (;;) {
    for (size_t end; (end = unread_.find('\n')) != std::string::npos;) {
      std::string line = unread_.substr(0, end);
      unread_.erase(0, end + 1);
      if (line.find(needle) != std::string::npos) return line;
    }
    if (out_fd_ < 0 || std::chrono::steady_clock::now() >= deadline) return {};
    pollfd pfd{out_fd_, POLLIN, 0};
    if (poll(&pfd, 1, 200) <= 0) continue;
    char buf[512];
    ssize_t n = read(out_fd_, buf, sizeof buf);
    if (n <= 0) return {};
    unread_.append(buf, n);
  }
}

int ServeProcess::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  if (out_fd_ >= 0) close(out_fd_);
  out_fd_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

ServeProcess::~ServeProcess() { Stop(); }

}  // namespace carrel::testing
