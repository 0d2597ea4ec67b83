#include "carrel/outbound_hook.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <thread>

namespace carrel {
namespace {

constexpr char kHookPath[] = "PATH=/usr/local/bin:/usr/bin:/bin";

}  // namespace

int RunOutboundHookAndWait(const std::vector<std::string>& command, const std::string& argument) {
  return RunOutboundHookWithInput(command, argument, "");
}

int RunOutboundHookWithInput(const std::vector<std::string>& command, const std::string& argument,
                             const std::string& input) {
  if (command.empty()) return -1;
  // What the hook reads on its standard input, when there is any: a pipe, never an argument
  // (arguments are visible to every user of the machine).
  int pipe_fds[2] = {-1, -1};
  if (!input.empty() && pipe2(pipe_fds, O_CLOEXEC) != 0) {
    spdlog::warn("outbound hook {} could not start", command.front());
    return -1;
  }
  std::vector<std::string> argv = command;
  argv.push_back(argument);
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  char path[sizeof kHookPath];
  std::copy(kHookPath, kHookPath + sizeof kHookPath, path);
  char* env[] = {path, nullptr};

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (input.empty()) {
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  } else {
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[0], 0);
  }
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  // Every other descriptor is closed in the child, whether or not it was opened close-on-exec.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), env);
  posix_spawn_file_actions_destroy(&actions);
  if (!input.empty()) {
    close(pipe_fds[0]);
    if (rc == 0) {
      size_t written = 0;
      while (written < input.size()) {
        ssize_t n = write(pipe_fds[1], input.data() + written, input.size() - written);
        if (n <= 0) break;  // the hook went away without reading: its exit status says so
        written += static_cast<size_t>(n);
      }
    }
    close(pipe_fds[1]);
  }
  if (rc != 0) {
    spdlog::warn("outbound hook {} could not start", command.front());
    return -1;
  }
  int status = 0;
  waitpid(pid, &status, 0);
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (code != 0) spdlog::warn("outbound hook {} exited with status {}", command.front(), code);
  return code;
}

void RunOutboundHook(const std::vector<std::string>& command, const std::string& argument) {
  if (command.empty()) return;
  std::thread([command, argument] { (void)RunOutboundHookAndWait(command, argument); }).detach();
}

}  // namespace carrel
