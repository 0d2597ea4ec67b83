#pragma once

#include <string>
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

}  // namespace carrel
