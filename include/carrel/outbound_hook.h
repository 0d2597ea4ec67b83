#pragma once

#include <string>
#include <utility>
#include <vector>

namespace carrel {

// Runs an outbound hook from the profile (a command and its arguments) with `argument`
// appended, on its own thread, so that a slow or failing hook never holds anyone up.
//
// The hook gets nothing it is not documented to get: its environment is PATH alone (the
// server's environment, which may have held the master key, is not passed on), its standard
// input, output and error are /dev/null, and no other descriptor of the server (sockets, the
// database, the keyring) is open in it. Only its exit status is logged, with the command's
// name.
void RunOutboundHook(const std::vector<std::string>& command, const std::string& argument);

// The same, waiting for the hook to end; returns its exit status (-1 when it could not start).
int RunOutboundHookAndWait(const std::vector<std::string>& command, const std::string& argument);

// The same with `input` on the hook's standard input (when not empty) instead of /dev/null:
// for what must reach the hook but not the process list, such as a PIN reset code and the
// address it goes to. Waits for the hook.
int RunOutboundHookWithInput(const std::vector<std::string>& command, const std::string& argument,
                             const std::string& input);

// What leaves the library's machine when a request arrives or a patron's notice may go out:
// a reference, and nothing else. A library runs its profile's commands (notify_command,
// patron_notice_command); a test gives one that records.
class Outbound {
 public:
  virtual ~Outbound() = default;
  // A request was taken in: the Director (and designees) are to be alerted.
  virtual void RequestArrived(const std::string& case_reference) = 0;
  // A patron's notice is due (no nondisclosure order holds it back).
  virtual void PatronNoticeDue(const std::string& notice_reference) = 0;
};

// The profile's commands, each run with RunOutboundHook; an empty command sends nothing.
class CommandOutbound : public Outbound {
 public:
  CommandOutbound(std::vector<std::string> notify_command,
                  std::vector<std::string> patron_notice_command)
      : notify_command_(std::move(notify_command)),
        patron_notice_command_(std::move(patron_notice_command)) {}
  void RequestArrived(const std::string& case_reference) override {
    RunOutboundHook(notify_command_, case_reference);
  }
  void PatronNoticeDue(const std::string& notice_reference) override {
    RunOutboundHook(patron_notice_command_, notice_reference);
  }

 private:
  std::vector<std::string> notify_command_;
  std::vector<std::string> patron_notice_command_;
};

}  // namespace carrel
