#pragma once

// Retries made safe (Idempotency-Key): a route that takes the header runs its handler inside
// one write transaction together with the record of its answer, so that the work and the
// record commit together. A retry with the same key and the same request gets the first
// answer back without the work being done again, even when the server stopped between its
// commit and its answer; the same key with another request is refused.
//
// Nothing stored names a patron or can be read without the key: the record is found by a keyed
// hash of (caller, route, key), the request is kept as a keyed hash, and the answer is sealed
// under a key derived from the Idempotency-Key itself, which is never stored. Records are
// deleted 24 hours after they are made.

#include <functional>
#include <string>
#include <string_view>

#include "carrel/library.h"
#include "carrel/server.h"

namespace carrel {

inline constexpr std::chrono::hours kIdempotencyKeyLifetime{24};

// Whether `key` is a usable Idempotency-Key: 16 to 128 visible ASCII characters.
bool ValidIdempotencyKey(std::string_view key);

// Runs `handler` once for (`caller`, `action`, `key`); see above. An error of the handler is
// answered as it is and not recorded (a retry runs again), and what the handler committed of
// its own (an audited refusal, a failed password counted) stays committed.
ApiResponse RunIdempotent(Library& library, std::string_view caller, std::string_view action,
                          std::string_view key, const ApiRequest& request,
                          const std::function<ApiResponse()>& handler);

}  // namespace carrel
