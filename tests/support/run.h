#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace carrel::testing {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs the built `carrel` binary with `args`, waits for it, and captures its output. Its
// standard input is /dev/null.
CommandResult RunCarrel(const std::vector<std::string>& args);

// Like RunCarrel, but the child reads `input` on its standard input (a pipe, not a terminal).
// The input must be small: it is written into the pipe before the child starts.
CommandResult RunCarrelWithInput(const std::vector<std::string>& args, std::string_view input);

// A `carrel serve` running in the background on a free loopback port.
class ServeProcess {
 public:
  // Starts `carrel serve --data DIR --listen 127.0.0.1:0 EXTRA...` and waits for its
  // "serving" line.
  explicit ServeProcess(const std::string& data_dir, const std::vector<std::string>& extra = {});
  ~ServeProcess();  // SIGTERM, then wait

  bool started() const { return port_ > 0; }
  int port() const { return port_; }
  // Sends SIGTERM and returns the exit code.
  int Stop();
  // Sends `signal` to the server.
  void Signal(int signal);
  // The next line of its standard output containing `needle`, waiting at most 20 s; empty if
  // none came.
  std::string NextLineWith(std::string_view needle);

 private:
  int pid_ = -1;
  int port_ = 0;
  int out_fd_ = -1;
  std::string unread_;  // output read past the last line asked for
};

}  // namespace carrel::testing
