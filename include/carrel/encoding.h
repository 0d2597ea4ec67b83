#pragma once

#include <string>
#include <string_view>

#include "carrel/status.h"

namespace carrel {

// Standard base64 (RFC 4648 §4, with padding), as keys, hashes and signatures are written in
// carrel's files, notes and API answers.
std::string Base64Encode(std::string_view bytes);
// kInvalidArgument for anything that is not standard base64.
StatusOr<std::string> Base64Decode(std::string_view text);
// Lower-case hex.
std::string HexEncode(std::string_view bytes);
// SHA-256 of `bytes`, in lower-case hex (how carrel records the digest of a document).
std::string Sha256Hex(std::string_view bytes);

}  // namespace carrel
