// Reading passwords without showing them.

#include <sodium.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "tools/carrel/commands.h"

namespace carrel::cli {
namespace {

std::string ReadLineNoEcho(const char* prompt) {
  std::fprintf(stderr, "%s", prompt);
  std::fflush(stderr);
  termios old_mode{};
  bool tty = tcgetattr(STDIN_FILENO, &old_mode) == 0;
  if (tty) {
    termios quiet = old_mode;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old_mode);
    std::fprintf(stderr, "\n");
  }
  return line;
}

}  // namespace

StatusOr<std::string> ReadNewPassword() {
  if (isatty(STDIN_FILENO) == 1) {
    std::string first = ReadLineNoEcho("New password: ");
    std::string second = ReadLineNoEcho("Again: ");
    if (first != second) return InvalidArgument("the two passwords differ");
    return first;
  }
  std::string line;
  if (!std::getline(std::cin, line)) return InvalidArgument("no password on standard input");
  return line;
}

StatusOr<std::string> ReadPassword(const char* prompt) {
  if (isatty(STDIN_FILENO) == 1) return ReadLineNoEcho(prompt);
  std::string line;
  if (!std::getline(std::cin, line)) return InvalidArgument("no password on standard input");
  return line;
}

}  // namespace carrel::cli
