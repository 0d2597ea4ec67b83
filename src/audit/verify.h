// Internal: verification with a chosen chunk size, so tests can cut a small log into many
// chunks and exercise the joining of chunks and heads inside them.

#ifndef CARREL_AUDIT_VERIFY_H_
#define CARREL_AUDIT_VERIFY_H_

#include "carrel/audit.h"

namespace carrel {

// Chunks of 2^16 entries: 64 K entries of about 200 bytes, a few seconds of work at most
// between progress reports, and few enough chunks that joining them costs nothing.
inline constexpr int kVerifyChunkLevel = 16;

StatusOr<AuditVerification> VerifyAuditLogInChunks(
    Store& store, const NoteVerifier& verifier, const std::optional<Checkpoint>& earlier,
    const std::function<void(int64_t done, int64_t total)>& progress, int chunk_level);

}  // namespace carrel

#endif  // CARREL_AUDIT_VERIFY_H_
