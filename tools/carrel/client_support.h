#pragma once

// What the client commands share (client.cc, board_client.cc): one authenticated call and its
// output, the common options, tables, path segments, JSON files.

#include <CLI/CLI.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "carrel/status.h"

namespace carrel::cli {

using Json = nlohmann::ordered_json;

// One authenticated call to the server logged in to (or --server), then the answer as JSON
// (--json) or through `show`. Returns the exit status; failures are one line on stderr.
int Run(const std::string& server_flag, bool json, const std::string& method,
        const std::string& path, const std::optional<Json>& body,
        const std::function<void(const Json&, const std::string& server)>& show);
// --server and --json.
void AddCommon(CLI::App* command, std::string* server, bool* json);
void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows);
// Percent-encodes one path segment.
std::string PathSegment(std::string_view text);
// A JSON object from a file, or from stdin for "-".
StatusOr<Json> ReadJsonFile(const std::string& file);

}  // namespace carrel::cli
